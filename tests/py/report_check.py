#!/usr/bin/python3
"""report_check.py - check `lapse report`'s text summary and PNG against the output file.

Usage: report_check.py OUT.h5 REPORT.txt PNG RUN

Reads /lapse/tasks with h5py (not through the tool) and checks, for run RUN, that the "seconds
per phase" lines of REPORT.txt say per rank and for all ranks the same number of tasks (and of
failed and abandoned ones), the same core voxels done, and the same summed seconds of each
phase (to the printed 6 decimals; "other" is total minus the five phases); that every summary
table /<name>_summary is printed row for row; that PNG is a PNG (signature, IHDR) of at
least 1000 x 600 pixels that decodes to a picture with more than a few colours; and that the
"counts and thresholds" panel, drawn by the tool's own plot_summaries on the output's summary
tables (the script imported from $LAPSE_TOOLS, else the source tree's tools/), has one legend
naming every line: the label counts and the thresholds on the twin axis. Exit 1 with the
differences.
"""
import math
import os
import re
import struct
import sys

import h5py
import numpy as np

PHASES = ("read", "upload", "compute", "download", "write")
BAD = []


def expected(rows):
    """Per rank (and 'all') the numbers the report must print."""
    out = {}
    ranks = sorted(set(int(r) for r in rows["rank"]))
    for key in [str(r) for r in ranks] + ["all"]:
        g = rows if key == "all" else rows[rows["rank"] == int(key)]
        e = {"tasks": len(g), "failed": int((g["status"] == 1).sum()),
             "abandon": int((g["status"] == 2).sum()),
             "voxels": int(sum(int(np.prod(r["core_shape"])) for r in g if r["status"] == 0))}
        for p in PHASES + ("total",):
            e[p] = math.fsum(float(v) for v in g["t_" + p])
        e["other"] = e["total"] - sum(e[p] for p in PHASES)
        out[key] = e
    return out


def parse(text):
    """The rows of the 'seconds per phase' block: {rank: {column: value}}."""
    lines = text.splitlines()
    i = lines.index("seconds per phase:")
    head = lines[i + 1].split()
    got = {}
    for ln in lines[i + 2:]:
        f = ln.split()
        if len(f) != len(head) or not (f[0].isdigit() or f[0] == "all"):
            break
        got[f[0]] = dict(zip(head[1:], f[1:]))
    return got


def check_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        BAD.append("%s: not a PNG" % path)
        return
    w, h = struct.unpack(">II", data[16:24])
    if w < 1000 or h < 600 or w > 6000 or h > 6000:
        BAD.append("%s: %d x %d pixels" % (path, w, h))
    import matplotlib.image
    img = matplotlib.image.imread(path)
    ncol = len(np.unique(img.reshape(-1, img.shape[-1]), axis=0))
    if img.shape[:2] != (h, w) or ncol < 16:
        BAD.append("%s: decodes to %s with %d colours" % (path, img.shape, ncol))
    print("report_check: %s is a %d x %d PNG, %d bytes, %d colours" % (path, w, h, len(data),
                                                                        ncol))


def check_legend(summaries):
    """The summary panel's legend, through the tool's plot_summaries (matplotlib objects)."""
    want = []
    for name, t in summaries.items():
        if t.dtype.names and "timepoint" in t.dtype.names:
            want += ["%s %s" % (w, name) for c, w in (("label_count", "labels"),
                                                      ("threshold", "threshold"))
                     if c in t.dtype.names]
    if not want:
        return
    tools = os.environ.get("LAPSE_TOOLS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
    sys.path.insert(0, tools)
    import lapse_report
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    lapse_report.plot_summaries(ax, summaries)
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    got = [[t.get_text() for t in lg.get_texts()] for lg in legends]
    plt.close(fig)
    if len(got) != 1 or sorted(got[0]) != sorted(want):
        BAD.append("summary panel (%s): legends %s, want one with %s"
                   % (lapse_report.__file__, got, want))


def main(out, report, png, run):
    text = open(report).read()
    with h5py.File(out, "r") as f:
        rows = f["/lapse/tasks"][()]
        summaries = {"/" + n: f[n][()] for n in f if n.endswith("_summary")}
    rows = rows[rows["run_id"] == int(run)]
    if not re.search(r"^lapse report: .*, run %s \(" % run, text, re.M):
        BAD.append("the report does not name run %s" % run)
    want, got = expected(rows), parse(text)
    if sorted(want) != sorted(got):
        BAD.append("ranks printed %s, in the table %s" % (sorted(got), sorted(want)))
    for k, e in want.items():
        g = got.get(k, {})
        for c in ("tasks", "failed", "abandon", "voxels"):
            if g.get(c) is None or int(g[c]) != e[c]:
                BAD.append("rank %s %s: printed %s, table %d" % (k, c, g.get(c), e[c]))
        for c in PHASES + ("other", "total"):
            if g.get(c) is None or abs(float(g[c]) - e[c]) > 0.5e-6 + 1e-12:
                BAD.append("rank %s %s: printed %s, table %.9f" % (k, c, g.get(c), e[c]))
    # the overlapped loop's note: tasks' totals above 1.05 x the ranks' task loops (t_start)
    if "t_start" in rows.dtype.names and (rows["t_start"] != 0).any():
        walls = sum(float(np.max(rows["t_start"][rows["rank"] == r] +
                                 rows["t_total"][rows["rank"] == r]))
                    for r in np.unique(rows["rank"]))
        note = re.search(r"^  overlapped: the tasks' totals \(([0-9.]+) s\) exceed the ranks' "
                         r"task loops \(([0-9.]+) s\)", text, re.M)
        over = want["all"]["total"] > 1.05 * walls
        if over != bool(note):
            BAD.append("overlap note %s, but totals %.6f s over task loops %.6f s" % (
                "printed" if note else "missing", want["all"]["total"], walls))
        elif note and abs(float(note.group(2)) - walls) > 1e-5:
            BAD.append("overlap note: task loops %s s, table %.6f s" % (note.group(2), walls))
    for name, t in summaries.items():
        m = re.search(r"^per timepoint \(%s\):\n.*\n((?:  .*\n?)*)" % re.escape(name), text,
                      re.M)
        lines = m.group(1).splitlines() if m else []
        if len(lines) != len(t):
            BAD.append("%s: %d rows printed, %d in the table" % (name, len(lines), len(t)))
            continue
        for ln, r in zip(lines, t):
            f = ln.split()
            if int(f[0]) != r["timepoint"] or int(f[1]) != r["label_count"] or \
                    int(f[2]) != r["foreground_voxels"] or \
                    not np.isclose(float(f[3]), r["threshold"], rtol=1e-5, equal_nan=True):
                BAD.append("%s: printed %s, table %s" % (name, ln.strip(), r))
    check_png(png)
    check_legend(summaries)
    for b in BAD:
        print("report_check: " + b)
    print("report_check: %d ranks, %d task rows of run %s, %d summary tables: %s" % (
        len(want) - 1, len(rows), run, len(summaries), "FAIL" if BAD else "agree"))
    return 1 if BAD else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
