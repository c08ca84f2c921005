#!/usr/bin/python3
"""reference.py - check a lapse output against a SciPy float64 reference of its pipeline.

Usage: reference.py CONFIG [--timepoints SEL] [--output OUT.h5] [--rtol 1e-4] [--quiet]

Reads the config (input, timepoints, pipeline, output), computes every result the run writes
(each step's `save:` dataset and the final output dataset) from the input with scipy.ndimage in
float64, clamp-to-edge borders (mode='nearest'), and compares them with the lapse output for the
selected timepoints (--timepoints overrides the config's, like `lapse run --timepoints`):
  - float32 results: |lapse - ref| / max(|ref|, 1e-2 * M) < rtol per voxel, where M is the
    magnitude of the values that flowed into the result (max |input|, carried through the
    steps: scaled by multiply_scalar, shifted by add_scalar, raised to the max |result|);
  - threshold (0/1) results: equal, except voxels whose reference value before the threshold
    lies within max(1e-3, 1e-5 * M) of the threshold (counted and reported);
  - other integer results: equal to rint(clip(ref)), except where ref lies within
    max(1e-6, 1e-6 * M) of a rounding boundary (x.5) or the clip limits.
Also checks each dataset's dtype (dtype: auto rules) and shape ([T, z, y, x], or [T, y, x] after
a maximum_z_projection, with the input's full time axis). Of the geometric operations, flip,
crop (NumPy slicing) and downsample_bin (block means, a partial block averaging its own voxels)
are known here; the sampling ones (rotate, resample, ...) are compared by graph_ref.py, which
accounts for float32 sampling positions.
Exit: 0 match, 1 mismatch (with the place and values of the worst voxel), 2 bad usage/config.
"""

import argparse
import os
import subprocess
import sys

import h5py
import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import filters_ref  # noqa: E402
import lapsecfg  # noqa: E402
from lapsecfg import UsageError, vec3  # noqa: E402

INT_RANGE = {"uint8": (0, 255), "uint16": (0, 65535)}


def dtype_rules():
    """{op: "same" | "float32" | "uint8"}: the output dtype rules, read from the registry of the
    lapse binary in $LAPSE (`lapse ops --tsv`), so that they exist in one place only."""
    exe = os.environ.get("LAPSE")
    if not exe:
        raise UsageError("set LAPSE to the lapse binary (the output dtype rules come from it)")
    text = subprocess.run([exe, "ops", "--tsv"], check=True, capture_output=True, text=True)
    return {f[0]: f[2] for f in (line.split("\t") for line in text.stdout.splitlines()) if f}


def radius_sizes(step, i):
    r = vec3(step.get("radius"), "pipeline[%d].radius" % i)
    if any(int(v) != v or v < 0 for v in r):
        raise UsageError("pipeline[%d].radius must be non-negative integers" % i)
    return [2 * int(v) + 1 for v in r]


def filter_params(step, i):
    """(p0, p1) of a filters_ref operation: radius (whole numbers), sigma or sigma1, and sigma2."""
    if "radius" in step:
        return [(k - 1) // 2 for k in radius_sizes(step, i)], [0, 0, 0]
    p0 = step.get("sigma", step.get("sigma1"))
    p0 = [0, 0, 0] if p0 is None else [float(v) for v in vec3(p0, "pipeline[%d].sigma" % i)]
    p1 = step.get("sigma2")
    p1 = [0, 0, 0] if p1 is None else [float(v) for v in vec3(p1, "pipeline[%d].sigma2" % i)]
    return p0, p1


def apply_step(step, i, a, mag):
    """Apply step i to float64 array a [z, y, x]; return (result, magnitude, pre-threshold)."""
    op = step.get("op")
    if op == "gaussian_blur":
        sigma = [float(s) for s in vec3(step.get("sigma"), "pipeline[%d].sigma" % i)]
        return ndimage.gaussian_filter(a, sigma, mode="nearest", truncate=4.0), mag
    if op == "mean_box":
        return ndimage.uniform_filter(a, size=radius_sizes(step, i), mode="nearest"), mag
    if op == "minimum_box":
        return ndimage.minimum_filter(a, size=radius_sizes(step, i), mode="nearest"), mag
    if op == "maximum_box":
        return ndimage.maximum_filter(a, size=radius_sizes(step, i), mode="nearest"), mag
    if op == "top_hat_box":
        size = radius_sizes(step, i)
        opened = ndimage.maximum_filter(
            ndimage.minimum_filter(a, size=size, mode="nearest"), size=size, mode="nearest")
        return a - opened, mag
    if op == "add_scalar":
        v = float(step["value"])
        return a + v, mag + abs(v)
    if op == "multiply_scalar":
        v = float(step["value"])
        return a * v, mag * abs(v)
    if op == "threshold_fixed":
        thr = float(step["threshold"])
        return (a > thr).astype(np.float64), 1.0
    if op == "maximum_z_projection":
        return a.max(axis=0, keepdims=True), mag
    if op in filters_ref.OPS:  # issue 11's filters (tests/py/filters_ref.py)
        return filters_ref.apply(op, a, *filter_params(step, i)), mag
    if op == "flip":
        axes = step.get("axes")
        if isinstance(axes, dict):
            axes = [bool(axes.get(k, False)) for k in ("z", "y", "x")]
        return np.flip(a, axis=tuple(k for k in range(3) if axes[k])), mag
    if op == "crop":
        start = [int(v) for v in vec3(step.get("start", 0), "pipeline[%d].start" % i)]
        size = [int(v) for v in vec3(step.get("size"), "pipeline[%d].size" % i)]
        return a[tuple(slice(b, b + n) for b, n in zip(start, size))], mag
    if op == "downsample_bin":
        f = [int(v) for v in vec3(step.get("factor"), "pipeline[%d].factor" % i)]
        out = [-(-n // k) for n, k in zip(a.shape, f)]
        pad = [(0, o * k - n) for o, k, n in zip(out, f, a.shape)]
        blocks = (out[0], f[0], out[1], f[1], out[2], f[2])
        s = np.pad(a, pad).reshape(blocks).sum(axis=(1, 3, 5))
        return s / np.pad(np.ones(a.shape), pad).reshape(blocks).sum(axis=(1, 3, 5)), mag
    raise UsageError("pipeline[%d]: unknown op %r" % (i, op))


def natural_dtypes(steps, in_dtype):
    """dtype: auto of each step's result (a chain), by the registry's rules."""
    out, cur, rules = [], in_dtype, dtype_rules()
    for i, s in enumerate(steps):
        op = s.get("op")
        if op not in rules:
            raise UsageError("pipeline[%d]: unknown op %r" % (i, op))
        if rules[op] != "same":
            cur = rules[op]
        out.append(cur)
    return out


class Result:
    """One dataset the run writes: its step, dtype, and the reference per timepoint."""

    def __init__(self, path, step, dtype):
        self.path, self.step, self.dtype = path, step, dtype
        self.ref, self.pre, self.mag = {}, {}, 0.0
        self.thr, self.thr_mag = None, 0.0  # threshold results: the threshold, M before it


def plan_results(cfg):
    steps = cfg.get("pipeline")
    if not isinstance(steps, list) or not steps:
        raise UsageError("config has no pipeline")
    out = cfg.get("output") or {}
    return steps, out


def compute_refs(cfg, raw, tps):
    steps, out = plan_results(cfg)
    nat = natural_dtypes(steps, str(raw.dtype))
    results = []
    for i, s in enumerate(steps):
        if s.get("save"):
            results.append(Result(s["save"], i, nat[i]))
    final_dt = out.get("dtype", "auto") or "auto"
    results.append(Result(out.get("dataset", "/result"), len(steps) - 1,
                          nat[-1] if final_dt == "auto" else final_dt))
    for t in tps:
        a = raw[t].astype(np.float64)
        mag = float(np.abs(a).max()) if a.size else 0.0
        for i, s in enumerate(steps):
            prev, prev_mag = a, mag
            a, mag = apply_step(s, i, a, mag)
            mag = max(mag, float(np.abs(a).max()))
            projected = steps_project_before(steps, i)
            for r in results:
                if r.step == i:
                    r.ref[t] = a[0] if projected else a
                    is_thr = s.get("op") == "threshold_fixed"
                    r.pre[t] = (prev[0] if projected else prev) if is_thr else None
                    r.thr = float(s["threshold"]) if is_thr else None
                    r.thr_mag = max(r.thr_mag, prev_mag)
                    r.mag = max(r.mag, mag)
    return steps, results


def steps_project_before(steps, i):
    return any(s.get("op") == "maximum_z_projection" for s in steps[: i + 1])


def compare_float(r, t, got, ref, rtol):
    denom = np.maximum(np.abs(ref), 1e-2 * r.mag)
    denom[denom == 0] = 1.0
    err = np.abs(got.astype(np.float64) - ref) / denom
    bad = ~(err < rtol)  # NaN counts as bad
    return err, bad, ""


def compare_int(r, t, got, ref, rtol):
    lo, hi = INT_RANGE[r.dtype]
    g = got.astype(np.float64)
    if r.thr is not None:
        want = ref
        pre = r.pre[t]
        tol = max(1e-3, 1e-5 * r.thr_mag)
        near = np.abs(pre - r.thr) <= tol
        bad = (g != want) & ~near
        mism = int(np.count_nonzero((g != want) & near))
        note = " (threshold %g: %d voxels within %g of it, %d of them differ: allowed)" % (
            r.thr, int(np.count_nonzero(near)), tol, mism)
        return np.abs(g - want), bad, note
    want = np.clip(np.rint(ref), lo, hi)
    tol = max(1e-6, 1e-6 * r.mag)
    frac = np.abs(ref - np.floor(ref) - 0.5)
    edge = (frac <= tol) | (np.abs(ref - lo) <= tol) | (np.abs(ref - hi) <= tol)
    bad = (g != want) & ~(edge & (np.abs(g - want) <= 1))
    return np.abs(g - want), bad, ""


def check_dataset(f, r, tps, ntp, rtol, quiet):
    if r.path not in f:
        print("reference: %s: dataset missing in the output" % r.path)
        return False
    d = f[r.path]
    ok = True
    if str(d.dtype) != r.dtype:
        print("reference: %s: dtype %s, expected %s" % (r.path, d.dtype, r.dtype))
        ok = False
    shape = (ntp,) + r.ref[tps[0]].shape
    if d.shape != shape:
        print("reference: %s: shape %s, expected %s" % (r.path, d.shape, shape))
        return False
    worst, nbad_total = 0.0, 0
    notes = []
    for t in tps:
        got = d[t]
        ref = r.ref[t]
        if r.dtype == "float32":
            err, bad, note = compare_float(r, t, got, ref, rtol)
        else:
            err, bad, note = compare_int(r, t, got, ref, rtol)
        if note:
            notes.append("t=%d%s" % (t, note))
        nbad = int(np.count_nonzero(bad))
        nbad_total += nbad
        if err.size:
            worst = max(worst, float(np.nanmax(err)) if not np.isnan(err).all() else np.inf)
        if nbad:
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            print("reference: %s: MISMATCH at t=%d index %s: lapse %r, reference %.9g "
                  "(%d bad voxels at this timepoint)"
                  % (r.path, t, idx, got[idx].item(), ref[idx], nbad))
            ok = False
    if not quiet or not ok:
        kind = "max rel err" if r.dtype == "float32" else "max abs diff"
        print("reference: %s %s %s over timepoints %s: %s %.3g, %d bad voxels -> %s"
              % (r.path, r.dtype, "x".join(map(str, shape[1:])), tps, kind, worst, nbad_total,
                 "OK" if ok else "FAIL"))
        for n in notes:
            print("reference:   " + n)
    return ok


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("--timepoints", help="selection; default: the config's (else all)")
    ap.add_argument("--output", help="output file; default: the config's output.file")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        cfg = lapsecfg.load_config(a.config)
        inp = cfg.get("input") or {}
        in_file = lapsecfg.resolve_path(a.config, str(inp.get("file", "")))
        out_file = a.output or lapsecfg.resolve_path(a.config,
                                                     str((cfg.get("output") or {}).get("file")))
        with h5py.File(in_file, "r") as fi:
            raw = fi[inp.get("dataset", "/raw")]
            ntp = raw.shape[0]
            sel = a.timepoints if a.timepoints is not None else cfg.get("timepoints")
            tps = lapsecfg.parse_tpsel(sel, ntp)
            if not tps:
                raise UsageError("no timepoints selected")
            steps, results = compute_refs(cfg, raw, tps)
        with h5py.File(out_file, "r") as fo:
            ok = all([check_dataset(fo, r, tps, ntp, a.rtol, a.quiet) for r in results])
    except UsageError as e:
        print("reference: %s" % e, file=sys.stderr)
        return 2
    except (OSError, KeyError) as e:
        print("reference: %s" % e, file=sys.stderr)
        return 2
    if not ok:
        print("reference: lapse output %s does NOT match the SciPy reference" % out_file)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
