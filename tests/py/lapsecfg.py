"""lapsecfg.py - shared helpers of the Python test tools (run with /usr/bin/python3).

Reads a lapse YAML config (PyYAML, python3-yaml), parses timepoint selections with the
grammar of src/tpsel.h, and opens HDF5 files with h5py. No lapse code is used: these helpers
are an independent view of the config and the output layout (docs/config.md, src/h5out.h).
"""

import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - reported to the user
    sys.stderr.write("lapse test tools need PyYAML for /usr/bin/python3 "
                     "(apt-get install python3-yaml; tools/deps.sh installs it)\n")
    sys.exit(2)


class UsageError(Exception):
    """A bad argument or config: the tools exit with 2."""


def load_config(path):
    """The config as a dict; relative file paths resolved like lapse (see resolve_path)."""
    try:
        with open(path, encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
    except OSError as e:
        raise UsageError("cannot read config %s: %s" % (path, e))
    except yaml.YAMLError as e:
        raise UsageError("config %s is not valid YAML: %s" % (path, e))
    if not isinstance(cfg, dict):
        raise UsageError("config %s: top level must be a mapping" % path)
    return cfg


def resolve_path(cfg_path, p):
    """An input/output path from the config: absolute paths as they are; a relative path is
    taken relative to the current directory if it exists there, else to the config's folder.
    (The tests write absolute paths, so the choice does not matter to them.)"""
    if os.path.isabs(p) or os.path.exists(p):
        return p
    return os.path.join(os.path.dirname(os.path.abspath(cfg_path)), p)


_ITEM = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*(?::\s*(\d+)\s*)?)?$")


def parse_tpsel(sel, ntp):
    """Sorted unique timepoints selected by sel ("0-9:2, 12", "all", "") among ntp."""
    if sel is None:
        return list(range(ntp))
    sel = str(sel).strip()
    if sel in ("", "all"):
        return list(range(ntp))
    out = set()
    for item in sel.split(","):
        m = _ITEM.match(item)
        if not m:
            raise UsageError("bad timepoint item %r in %r" % (item, sel))
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        s = int(m.group(3)) if m.group(3) is not None else 1
        if b < a or s < 1:
            raise UsageError("bad timepoint item %r in %r" % (item, sel))
        if b >= ntp:
            raise UsageError("timepoint %d out of range (%d timepoints)" % (b, ntp))
        out.update(range(a, b + 1, s))
    return sorted(out)


def vec3(v, name):
    """A scalar or [z, y, x] parameter as a list of 3 numbers."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return [v, v, v]
    if isinstance(v, list) and len(v) == 3:
        return list(v)
    raise UsageError("parameter %s must be a number or [z, y, x], got %r" % (name, v))


def first_diff(a, b):
    """Index tuple of the first element where arrays a and b (same shape) differ, or None.
    NaNs compare equal to NaNs at the same place (bitwise comparison is done elsewhere)."""
    import numpy as np
    ne = a != b
    if a.dtype.kind == "f":
        ne &= ~(np.isnan(a) & np.isnan(b))
    idx = np.argwhere(ne)
    if idx.size == 0:
        return None
    return tuple(int(i) for i in idx[0])
