#!/usr/bin/env python3
"""probe_check.py - check the JSON of `lapse plan CONFIG --probe --json` (tests/mpi/test_probe.sh).

probe_check.py P.json --ntasks N --ntps T --ranks R [--rpg K] --tile Z,Y,X [--global-steps G]
    every field present; the probe task is the middle selected timepoint's first tile; the
    per-task phases, the model's limits, the rounds, the totals, the bound and the advice follow
    from the measured phases as docs/tools.md states the model (recomputed here).
probe_check.py P.json --compare SECONDS [--low L]
    the run's measured "tasks in S s" is within L (default 0.2) to 5 times predicted_tasks_s
    (PoCL timings of tasks of milliseconds on a shared CPU are noisy: the factor is generous on
    purpose).
Exit 0 when all holds, else 1 with the reasons.
"""
import argparse
import json
import math
import sys

PHASES = ["read_s", "upload_s", "compute_s", "download_s", "write_s"]
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def close(a, b, what, rel=2e-3, abs_=2e-6):
    check(abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_), "%s: %r != %r" % (what, a, b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--ntasks", type=int)
    ap.add_argument("--ntps", type=int)
    ap.add_argument("--ranks", type=int)
    ap.add_argument("--rpg", type=int)
    ap.add_argument("--tile")
    ap.add_argument("--global-steps", type=int, default=0)
    ap.add_argument("--compare", type=float)
    ap.add_argument("--overlap", type=int, choices=[0, 1], default=1)
    ap.add_argument("--low", type=float, default=0.2, help="lowest measured / predicted")
    a = ap.parse_args()
    with open(a.json) as f:
        d = json.load(f)

    if a.compare is not None:
        pred = d["predicted_tasks_s"]
        ratio = a.compare / pred if pred > 0 else math.inf
        print("measured %.4f s, predicted %.4f s: measured / predicted = %.2f" %
              (a.compare, pred, ratio))
        check(a.low <= ratio <= 5, "measured / predicted = %.2f outside [%g, 5]" % (ratio, a.low))
        return

    for k in ["config", "device", "probe_task", "cold", "warm", "per_task", "scale_read",
              "scale_core", "read_MBps", "write_MBps", "tasks", "timepoints",
              "tiles_per_timepoint", "ranks", "ranks_per_gpu", "gpus", "overlap", "rank_task_s",
              "device_bytes_per_task",
              "device_bytes_per_rank", "global", "model", "predicted_total_s",
              "predicted_tasks_s", "bound", "processing_over_loading", "advice"]:
        check(k in d, "missing field " + k)
    if errors:
        return
    for name in ["cold", "warm", "per_task"]:
        for k in PHASES + ["total_s"]:
            check(k in d[name] and d[name][k] >= 0, "%s.%s missing or negative" % (name, k))
    check("setup_s" in d["cold"], "cold.setup_s missing")
    if errors:
        return
    check(d["warm"]["compute_s"] > 0 and d["cold"]["compute_s"] > 0, "no compute time measured")

    # the probe task: the middle selected timepoint (all timepoints selected here), tile 0
    pt = d["probe_task"]
    tile = [int(v) for v in a.tile.split(",")]
    check(d["timepoints"] == a.ntps, "timepoints %d != %d" % (d["timepoints"], a.ntps))
    check(pt["t"] == a.ntps // 2, "probe timepoint %d, expected %d" % (pt["t"], a.ntps // 2))
    check(pt["tile"] == 0 and pt["core_offset"] == [0, 0, 0], "probe tile is not the first")
    check(pt["core_shape"] == tile, "probe core %s is not the full tile %s" % (pt["core_shape"],
                                                                              tile))
    rs = pt["read_shape"]
    check(all(r >= c for r, c in zip(rs, tile)), "read box smaller than the core")
    check(pt["bytes_in"] == rs[0] * rs[1] * rs[2] * 2, "bytes_in is not the uint16 read box")
    check(pt["bytes_out"] > 0, "no bytes written")
    check(d["tasks"] == a.ntasks, "tasks %d != %d" % (d["tasks"], a.ntasks))
    check(d["tiles_per_timepoint"] * a.ntps >= a.ntasks, "tiles per timepoint too small")

    # per-task phases: the cold read, the warm rest, scaled by voxels
    q, c, w = d["per_task"], d["cold"], d["warm"]
    sr, sc = d["scale_read"], d["scale_core"]
    check(sr > 0 and 0 < sc <= 1 + 1e-9, "scales %r %r" % (sr, sc))
    close(q["read_s"], c["read_s"] * sr, "per_task.read_s")
    close(q["upload_s"], w["upload_s"] * sr, "per_task.upload_s")
    close(q["compute_s"], w["compute_s"] * sr, "per_task.compute_s")
    close(q["download_s"], w["download_s"] * sc, "per_task.download_s")
    close(q["write_s"], w["write_s"] * sc, "per_task.write_s")
    for name in ["warm", "per_task"]:
        close(d[name]["total_s"], sum(d[name][k] for k in PHASES), name + ".total_s")
    close(c["total_s"], sum(c[k] for k in PHASES) + c["setup_s"], "cold.total_s")

    # the model
    n, ranks, rpg, gpus = d["tasks"], d["ranks"], d["ranks_per_gpu"], d["gpus"]
    check(ranks == a.ranks, "ranks %d != %d" % (ranks, a.ranks))
    if a.rpg:
        check(rpg == a.rpg, "ranks_per_gpu %d != %d" % (rpg, a.rpg))
    check(1 <= rpg <= ranks and gpus == -(-ranks // rpg), "gpus %d != ceil(%d / %d)" %
          (gpus, ranks, rpg))
    dev = q["upload_s"] + q["compute_s"] + q["download_s"]
    sto = q["read_s"] + q["write_s"]
    m = d["model"]
    check(d["overlap"] == bool(a.overlap), "overlap %r, expected %d" % (d["overlap"], a.overlap))
    # a rank overlaps its read and write with the device work (two staging slots) or not
    rank_task = max(sto, dev) if d["overlap"] else q["total_s"]
    close(d["rank_task_s"], rank_task, "rank_task_s")
    # a task runs whole on one rank and one GPU: the busiest takes ceil(tasks / workers)
    close(m["ranks_s"], -(-n // ranks) * rank_task,
          "model.ranks_s = ceil(tasks / ranks) x rank-task")
    close(m["storage_s"], n * sto, "model.storage_s = tasks x (read + write)")
    close(m["device_s"], -(-n // gpus) * dev, "model.device_s = ceil(tasks / gpus) x device")
    if n > 0:  # however many ranks, the run takes at least one whole task (both as printed:
        # rank_task above is recomputed from phases rounded to 6 digits)
        check(m["ranks_s"] >= d["rank_task_s"] * (1 - 1e-9), "model.ranks_s %.6g below one "
              "task's time %.6g" % (m["ranks_s"], d["rank_task_s"]))
    lim = max(m["ranks_s"], m["storage_s"], m["device_s"])
    check(m[m["limit"] + "_s"] == lim, "model.limit %s is not the largest" % m["limit"])
    g = d["global"]
    check(g["steps"] == a.global_steps, "global steps %d != %d" % (g["steps"], a.global_steps))
    if g["rounds"]:
        check(g["passes"] >= g["steps"], "fewer passes than global steps")
        close(g["rounds_s"], -(-n // gpus) * g["passes"] * (q["upload_s"] + q["compute_s"]),
              "rounds_s = ceil(tasks / gpus) x passes x (upload + compute)")
    else:
        check(g["rounds_s"] == 0, "rounds_s without rounds")
    if g["steps"] == 0:
        check(not g["rounds"], "rounds without global steps")
    elif d["tiles_per_timepoint"] > 1:
        check(g["rounds"], "no rounds for global steps over several tiles")
    close(d["predicted_tasks_s"], lim + g["rounds_s"], "predicted_tasks_s = limit + rounds")
    close(d["predicted_total_s"], m["setup_s"] + d["predicted_tasks_s"], "predicted_total_s")
    close(m["setup_s"], c["setup_s"], "model.setup_s is the measured setup")

    # the bound, from the phases
    if m["limit"] == "device":
        want = "device"
    elif m["limit"] == "storage":
        want = "read" if q["read_s"] >= q["write_s"] else "write"
    else:
        want = ("device" if dev >= q["read_s"] and dev >= q["write_s"] else
                "read" if q["read_s"] >= q["write_s"] else "write")
    check(d["bound"] == want, "bound %s, the phases say %s" % (d["bound"], want))
    if sto > 0:
        close(d["processing_over_loading"], dev / sto, "processing_over_loading")
    adv = d["advice"]
    check(adv["ranks"] == adv["ranks_per_gpu"] * adv["gpus"], "advice ranks")
    if dev > 0:
        want_rpg = min(max(1, math.ceil(rank_task / dev)), max(1, -(-n // adv["gpus"])))
        check(abs(adv["ranks_per_gpu"] - want_rpg) <= 1, "advice ranks_per_gpu")
    if sto > 0:
        check(abs(adv["storage_gpus"] - max(1, math.ceil(dev / sto))) <= 1, "advice storage_gpus")
    # never more GPUs or ranks than tasks to share out
    check(adv["gpus"] == max(1, min(adv["storage_gpus"], n)), "advice gpus %d: storage %d, %d tasks"
          % (adv["gpus"], adv["storage_gpus"], n))
    check(adv["ranks"] <= max(1, n) + adv["gpus"] - 1, "advice: %d ranks for %d tasks"
          % (adv["ranks"], n))
    check(0 < d["device_bytes_per_task"] <= d["device_bytes_per_rank"], "device bytes")


if __name__ == "__main__":
    main()
    if errors:
        print("probe_check: " + "\n  ".join(errors))
        sys.exit(1)
    print("probe_check: ok")
