#!/usr/bin/python3
"""check_schema.py - does the Python copy of the output schema match the C one?

Usage: check_schema.py LAPSE_BINARY

Runs `LAPSE_BINARY info --schema` (src/io/layout.c prints src/io/layout.h as JSON) and compares
it key by key with SCHEMA of tests/py/lapse_layout.py, which tasks.py, check_done.py and
h5same.py read the names from. Prints every difference.
Exit: 0 identical, 1 different, 2 bad usage or the binary failed.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lapse_layout  # noqa: E402


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        out = subprocess.run([argv[0], "info", "--schema"], check=True, capture_output=True,
                             text=True, timeout=60).stdout
        c = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        print("check_schema: %s info --schema failed: %s" % (argv[0], e))
        return 2
    py = lapse_layout.SCHEMA
    bad = []
    for k in sorted(set(c) | set(py)):
        if k not in py:
            bad.append("%s: in src/io/layout.h (%r), missing in lapse_layout.py" % (k, c[k]))
        elif k not in c:
            bad.append("%s: in lapse_layout.py (%r), missing in src/io/layout.h" % (k, py[k]))
        elif c[k] != py[k]:
            bad.append("%s: src/io/layout.h says %r, lapse_layout.py says %r" % (k, c[k], py[k]))
    for b in bad:
        print("check_schema: FAIL: %s" % b)
    if not bad:
        print("check_schema: %d schema entries agree" % len(c))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
