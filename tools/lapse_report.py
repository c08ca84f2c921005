#!/usr/bin/python3
"""lapse_report.py - `lapse report OUT.h5 [-o report.png] [--run ID]`: one PNG of a run of a
lapse output, and its numbers as text (docs/tools.md).

The PNG (matplotlib, Agg backend, no display) has four panels: a Gantt chart of the tasks per
rank with their read / upload / compute / download / write phases (and "other": the rest of the
task's t_total), the throughput over time (core voxels per second, summed over ranks), the
phase breakdown (summed seconds per phase and rank) and the counts and thresholds per timepoint
of the output's summary tables (/<name>_summary), when it has any. The summary tables keep no
run id: they hold each timepoint's latest values, and a note says so when runs came after the
one shown.

The task table /lapse/tasks (io/layout.h: lapse_task_row_t) records per task the seconds of each
phase and, in outputs written since the overlapped task loop, t_start: when the task started,
from the start of the rank's task loop. With t_start the Gantt chart puts every task where it
ran, alternating between two half-height rows of its rank's lane, so that a task read and
written while the device runs its neighbour shows as overlapping bars (its phases drawn one after
the other from its start; the rest of t_total is "other", mostly waiting for the device).
Without it (older outputs) the chart lays each rank's tasks end to end in the order the rank ran
them (its rows are appended in that order), so its time axis is the rank's task time; waits
between tasks and the global steps' rounds are then not in it.

Exit codes: 0, 2 (bad usage, a missing file, not a lapse output, no such run).
"""
import argparse
import os
import signal
import sys

PHASES = ("read", "upload", "compute", "download", "write")
COLORS = {"read": "#4e79a7", "upload": "#f28e2b", "compute": "#59a14f", "download": "#e15759",
          "write": "#b07aa1", "other": "#bab0ac"}
STATUS = {0: "done", 1: "failed", 2: "abandoned"}


def fail(msg):
    """Print msg as lapse's usage/input error and exit 2."""
    print("lapse report: " + msg, file=sys.stderr)
    sys.exit(2)


def load(path, run):
    """The rows of run `run` (None: the latest run with rows) of path's /lapse/tasks, the run's
    attributes, the summary tables {path: structured array} and the ids of the runs after it in
    /lapse/runs (the summary tables hold each timepoint's latest values, of whichever run).
    Exits 2 on a bad file."""
    import h5py
    import numpy as np
    if not os.path.isfile(path):
        fail("%s: no such file" % path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        fail("%s: cannot be opened as HDF5 (%s)" % (path, e))
    with f:
        if "lapse" not in f or "tasks" not in f["lapse"]:
            fail("%s: not a lapse output (no /lapse/tasks)" % path)
        rows = f["/lapse/tasks"][()]
        if rows.size == 0:
            fail("%s: the task table is empty: a run writes its tasks' rows when it ends, so a "
                 "run still going has none yet (lapse info shows the tasks already done)" % path)
        runs = np.unique(rows["run_id"])
        if run is None:
            run = int(runs.max())
        elif run not in runs:
            fail("%s: no rows of run %d (runs with rows: %s)" % (path, run,
                                                               ", ".join(map(str, runs))))
        attrs = {}
        g = f.get("/lapse/runs/%d" % run)
        if g is not None:
            for k, v in g.attrs.items():
                attrs[k] = v.decode() if isinstance(v, bytes) else v
        later = sorted(int(k) for k in f["/lapse"].get("runs", {}) if k.isdigit() and int(k) > run)
        summaries = {}
        for name, obj in f.items():
            if (name.endswith("_summary") and isinstance(obj, h5py.Dataset)
                    and obj.dtype.names and "timepoint" in obj.dtype.names):
                summaries["/" + name] = obj[()]
    return run, rows[rows["run_id"] == run], attrs, summaries, later


def per_rank(rows):
    """{rank: dict(tasks, done, failed, abandoned, voxels, read.., other, total)} plus 'all'."""
    import numpy as np
    out = {}
    groups = [(int(r), rows[rows["rank"] == r]) for r in np.unique(rows["rank"])]
    for key, g in groups + [("all", rows)]:
        s = {"tasks": len(g)}
        for code, name in STATUS.items():
            s[name] = int((g["status"] == code).sum())
        s["voxels"] = int(np.prod(g["core_shape"], axis=1)[g["status"] == 0].sum())
        for p in PHASES + ("total",):
            s[p] = float(np.sum(g["t_" + p], dtype=np.float64))
        s["other"] = s["total"] - sum(s[p] for p in PHASES)
        out[key] = s
    return out


def print_text(path, run, rows, attrs, summaries, sums, png, later=()):
    cols = PHASES + ("other", "total")
    print("lapse report: %s, run %d (%s, %s ranks), %d task rows" % (
        path, run, attrs.get("status", "?"), attrs.get("nranks", "?"), len(rows)))
    print("seconds per phase:")
    print("  %6s %6s %6s %6s %9s" % ("rank", "tasks", "failed", "abandon", "voxels")
          + "".join(" %10s" % c for c in cols))
    for key, s in sums.items():
        print("  %6s %6d %6d %6d %9d" % (key, s["tasks"], s["failed"], s["abandoned"],
                                          s["voxels"]) + "".join(" %10.6f" % s[c] for c in cols))
    a = sums["all"]
    if a["total"] > 0:
        print("  share of task time: " + ", ".join(
            "%s %.1f%%" % (c, 100.0 * a[c] / a["total"]) for c in cols[:-1]))
        # over each rank's task loop (the end of its last task): with overlap (the default) the
        # tasks' totals overlap each other, and their sum is not the rank's time
        if recorded_starts(rows):
            import numpy as np
            walls = sum(float(np.max(g["t_start"] + g["t_total"]))
                        for g in (rows[rows["rank"] == r] for r in np.unique(rows["rank"])))
            how = "over each rank's task loop"
        else:
            walls, how = a["total"], "summed task seconds"
        if walls > 0:
            print("  throughput: %.4g core voxels/s per rank (%s)" % (a["voxels"] / walls, how))
        if recorded_starts(rows) and a["total"] > 1.05 * walls:
            # the overlapped loop: a task's total runs from its read to its write, which
            # includes waiting while the device ran the task before it
            print("  overlapped: the tasks' totals (%.6f s) exceed the ranks' task loops "
                  "(%.6f s); \"other\" is then mostly each task's wait for the device while "
                  "the previous task ran on it" % (a["total"], walls))
    if summaries and later:
        print("note: the summary tables hold each timepoint's latest values, which run%s %s may "
              "have recomputed: not necessarily run %d's" % (
                  "s" if len(later) > 1 else "", ", ".join(map(str, later)), run))
    for name, t in summaries.items():
        print("per timepoint (%s):" % name)
        names = [c for c in t.dtype.names if c != "timepoint"]
        print("  %9s" % "timepoint" + "".join(" %17s" % c for c in names))
        for r in t:
            print("  %9d" % r["timepoint"] + "".join(
                " %17.6g" % r[c] if t.dtype[c].kind == "f" else " %17d" % r[c] for c in names))
    print("report: %s" % png)


def recorded_starts(rows):
    """Whether the rows carry when each task started (t_start, not all zero)."""
    return "t_start" in rows.dtype.names and bool((rows["t_start"] != 0).any())


def timeline(rows):
    """Per rank, the (start, rows) of its tasks: their recorded starts, else laid end to end in
    table order."""
    import numpy as np
    lanes = {}
    real = recorded_starts(rows)
    for r in np.unique(rows["rank"]):
        g = rows[rows["rank"] == r]
        if real:
            starts = g["t_start"].astype(np.float64)
        else:
            starts = np.concatenate([[0.0], np.cumsum(g["t_total"])[:-1]])
        lanes[int(r)] = (starts, g)
    return lanes


def lane_name(g, r):
    """Tick label of rank r's lane: the rank, and its failed or abandoned tasks."""
    parts = ["%d %s" % (int((g["status"] == code).sum()), STATUS[code]) for code in (1, 2)
             if (g["status"] == code).any()]
    return "rank %d" % r + "".join("\n" + p for p in parts)


def plot_gantt(ax, lanes):
    """One lane per rank; each phase of all its tasks is one broken_barh collection (fast for
    thousands of tasks)."""
    import numpy as np
    h = 0.8
    real = any(recorded_starts(g) for _, g in lanes.values())
    for r, (starts, g) in lanes.items():
        # with recorded starts, tasks alternate between two half rows (overlap shows)
        rowsel = [(np.arange(len(g)) % 2 == k, r - h / 2 + k * h / 2, h / 2) for k in (0, 1)] \
            if real else [(np.ones(len(g), bool), r - h / 2, h)]
        for sel, y0, hh in rowsel:
            s0, gs = starts[sel], g[sel]
            left = s0.copy()
            for p in PHASES + ("other",):
                d = gs["t_" + p] if p != "other" else np.maximum(gs["t_total"] - (left - s0), 0)
                ax.broken_barh(list(zip(left, d)), (y0, hh), facecolors=COLORS[p], linewidth=0)
                left = left + d
        bad = g["status"] != 0
        if bad.any():
            ax.broken_barh(list(zip(starts[bad], g["t_total"][bad])), (r - h / 2, h),
                           facecolors="none", edgecolors="red", hatch="//", linewidth=1)
            ax.plot(starts[bad], np.full(bad.sum(), r), "|", color="red", markersize=24)
        if len(g) <= 300:  # task borders, while they can still be told apart
            ax.vlines(starts[1:], r - h / 2, r + h / 2, colors="white", linewidth=0.5)
    span = max(float((s + g["t_total"]).max()) for s, g in lanes.values())
    ax.set_xlim(0, span * 1.01 if span > 0 else 1)
    ax.set_ylim(min(lanes) - 0.6, max(lanes) + 0.6)
    ax.set_yticks(sorted(lanes))
    ax.set_yticklabels([lane_name(lanes[r][1], r) for r in sorted(lanes)])
    ax.invert_yaxis()
    ax.set_xlabel("seconds from the start of the rank's task loop" if real else
                  "task time on the rank (s; tasks end to end, waits between them not recorded)")
    ax.set_title("tasks per rank and their phases (red, hatched: failed or abandoned)", loc="left")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=COLORS[p], label=p) for p in PHASES + ("other",)], ncol=6,
              loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)


def plot_throughput(ax, lanes):
    import numpy as np
    ends, vox = [], []
    for starts, g in lanes.values():
        ends.append(starts + g["t_total"])
        vox.append(np.where(g["status"] == 0, np.prod(g["core_shape"], axis=1), 0))
    ends, vox = np.concatenate(ends), np.concatenate(vox).astype(np.float64)
    span = float(ends.max()) if ends.size else 0.0
    if span <= 0:
        ax.text(0.5, 0.5, "no task time recorded", ha="center", transform=ax.transAxes)
        return
    nb = int(min(40, max(5, len(ends) // 2)))
    edges = np.linspace(0, span, nb + 1)
    hist, _ = np.histogram(ends, bins=edges, weights=vox)
    rate = hist / (edges[1] - edges[0]) / 1e6
    ax.stairs(rate, edges, fill=True, alpha=0.35, color="#4e79a7")
    ax.stairs(rate, edges, color="#4e79a7")
    ax2 = ax.twinx()
    order = np.argsort(ends)
    ax2.plot(ends[order], np.cumsum(vox[order]) / 1e6, color="#e15759", label="done (Mvoxel)")
    ax2.set_ylabel("core voxels done (M)", color="#e15759")
    real = any(recorded_starts(g) for _, g in lanes.values())
    ax.set_xlabel("seconds from the start of the task loop" if real else "task time (s)")
    ax.set_ylabel("throughput (Mvoxel/s)")
    ax.set_title("throughput over time")


def plot_phases(ax, sums):
    import numpy as np
    keys = list(sums)
    y = np.arange(len(keys))
    left = np.zeros(len(keys))
    for p in PHASES + ("other",):
        v = np.array([max(sums[k][p], 0.0) for k in keys])
        ax.barh(y, v, left=left, color=COLORS[p], label=p)
        left += v
    ax.set_yticks(y)
    ax.set_yticklabels(["rank %s" % k if k != "all" else "all ranks" for k in keys])
    ax.invert_yaxis()
    ax.set_xlabel("summed seconds")
    ax.set_title("phase breakdown")


def plot_summaries(ax, summaries):
    if not summaries:
        ax.text(0.5, 0.5, "no per-timepoint summary table\n(measure steps write /<name>_summary)",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    ax2 = None
    for name, t in summaries.items():
        if "label_count" in t.dtype.names:
            ax.plot(t["timepoint"], t["label_count"], "o-", label="labels " + name)
        if "threshold" in t.dtype.names:
            ax2 = ax2 or ax.twinx()
            ax2.plot(t["timepoint"], t["threshold"], "s--", color="#e15759",
                     label="threshold " + name)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("timepoint")
    ax.set_ylabel("labels")
    handles, labels = ax.get_legend_handles_labels()
    if ax2 is not None:
        ax2.set_ylabel("threshold", color="#e15759")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    # one legend for the lines of both axes, on the twin axis (drawn last) when there is one,
    # so that its lines do not cover the legend
    if handles:
        (ax2 if ax2 is not None else ax).legend(handles, labels, fontsize="small",
                                                loc="lower left")
    ax.set_title("counts and thresholds per timepoint")


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lapse report ... | head`: no traceback
    ap = argparse.ArgumentParser(prog="lapse report", description=__doc__.split("\n\n")[0])
    ap.add_argument("output", help="a lapse output file (HDF5)")
    ap.add_argument("-o", dest="png", help="PNG to write (default: OUTPUT without .h5 + "
                    "_report.png)")
    ap.add_argument("--run", type=int, help="run id (default: the latest run with task rows)")
    a = ap.parse_args(argv)
    png = a.png or os.path.splitext(a.output)[0] + "_report.png"
    run, rows, attrs, summaries, later = load(a.output, a.run)
    sums = per_rank(rows)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(15, 9.5), dpi=100, layout="constrained")
    gs = fig.add_gridspec(2, 3, height_ratios=[1.1, 1])
    lanes = timeline(rows)
    plot_gantt(fig.add_subplot(gs[0, :]), lanes)
    plot_throughput(fig.add_subplot(gs[1, 0]), lanes)
    plot_phases(fig.add_subplot(gs[1, 1]), sums)
    plot_summaries(fig.add_subplot(gs[1, 2]), summaries)
    fig.suptitle("lapse report: %s, run %d (%s), %d tasks on %d ranks" % (
        os.path.basename(a.output), run, attrs.get("status", "?"), len(rows), len(lanes)))
    try:
        fig.savefig(png)
    except OSError as e:
        fail("cannot write %s: %s" % (png, e))
    print_text(a.output, run, rows, attrs, summaries, sums, png, later)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
