#!/usr/bin/env python3
"""peer_table.py - issue 11's table from one device call's logs: lapse's bench_kernels (csv
lines) and bench_segment ("lapse NAME MS" lines) against ../shared/bench/peer_ops.py's
"LIB NAME MS" lines (CuPy, clesperanto OpenCL and CUDA), the best peer's time over lapse's
for every operation both have, the geometric mean of those speed-ups, and each lapse time as a
fraction of the device copy rate (bytes that must move / copy bandwidth).

usage: peer_table.py KERNELS.txt SEGMENT.txt PEERS.txt   (prints a Markdown table)
"""
import math
import re
import sys

# (peer key, lapse bench_kernels label or "seg:NAME" for bench_segment, row text)
PAIRS = [
    ("gaussian_s2", "gaussian_blur sigma=2", "gaussian_blur sigma 2"),
    ("mean_r1", "mean_box r=1", "mean_box r 1"),
    ("min_r1", "minimum_box r=1", "minimum_box r 1"),
    ("max_r1", "maximum_box r=1", "maximum_box r 1"),
    ("median_r1", "median_box r=1", "median_box r 1"),
    ("tophat_r5", "top_hat_box r=5", "top_hat_box r 5"),
    ("tophat_r133", "top_hat_box r=[1,3,3]", "top_hat_box r (1,3,3)"),
    ("zmax", "maximum_z_projection", "maximum_z_projection"),
    ("add_scalar", "add_scalar", "add_scalar"),
    ("weighted", "add_images_weighted", "add_images_weighted"),
    ("flip_x", "flip x", "flip x"),
    ("threshold", "greater_constant", "greater_constant (fixed threshold)"),
    ("binary_erode", "erode_box r=1", "erode_box r 1 (binary)"),
    ("rotate_z30", "rotate angle_z=30 linear", "rotate 30 degrees about z, linear"),
    ("sobel", "sobel", "sobel (lapse, cle: magnitude; CuPy: one axis)"),
    ("laplace", "laplace_box", "laplace_box (cle laplace)"),
    ("otsu_real", "seg:otsu_real", "threshold_otsu, nuclei 128 x 1024^2"),
    ("label_real", "seg:label_real", "Otsu + connected components, same"),
    ("vol_real", "seg:vol_real", "voronoi_otsu_labeling sigma 2, same"),
]
LIBS = [("cupy", "CuPy"), ("cle-opencl", "cle OpenCL"), ("cle-cuda", "cle CUDA")]


def kernels(path):
    ms, gbps, copy = {}, {}, None
    for line in open(path):
        if not line.startswith("csv,") or line.startswith("csv,device"):
            continue
        f = line.rstrip("\n").split(",")
        # csv,device,shape,operation (may contain commas),variant,median,min,gbps,ratio,launches,same
        tail = f[-7:]
        op = ",".join(f[3:-7])
        ms[op] = float(tail[1])
        gbps[op] = float(tail[3])
        if op.startswith("copy"):
            copy = float(tail[3])
    return ms, gbps, copy


def segment(path):
    out = {}
    for line in open(path):
        m = re.match(r"lapse (\w+) ([0-9.]+)$", line.strip())
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def peers(path):
    out = {}
    for line in open(path):
        m = re.match(r"(cupy|cle-opencl|cle-cuda|cucim) (\w+) ([0-9.]+)$", line.strip())
        if m:
            out.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
    # CuPy's Otsu is a histogram only and its labelling includes no threshold: keep them apart
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    kms, kgb, copy = kernels(sys.argv[1])
    seg = segment(sys.argv[2])
    pr = peers(sys.argv[3])
    print("| operation | lapse ms | " + " | ".join(n for _, n in LIBS) +
          " | best peer / lapse | lapse vs copy rate |")
    print("|---|---|" + "---|" * len(LIBS) + "---|---|")
    ratios = []
    for key, lab, text in PAIRS:
        if lab.startswith("seg:"):
            mine, frac = seg.get(lab[4:]), ""
        else:
            mine = kms.get(lab)
            frac = f"{kgb[lab] / copy:.2f}" if mine and copy else ""
        p = pr.get(key, {})
        if mine is None:
            print(f"| {text} | not measured | " + " | ".join(
                f"{p[l]:.3f}" if l in p else "" for l, _ in LIBS) + " | | |")
            continue
        best = min((p[l] for l, _ in LIBS if l in p), default=None)
        r = best / mine if best else None
        if r:
            ratios.append(r)
        cells = " | ".join(f"{p[l]:.3f}" if l in p else "" for l, _ in LIBS)
        rtext = f"{r:.2f}" if r else ""
        print(f"| {text} | {mine:.3f} | {cells} | {rtext} | {frac} |")
    if ratios:
        g = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        print(f"\ngeometric mean of best peer / lapse over {len(ratios)} operations: {g:.2f}; "
              f"below 3: {sum(1 for x in ratios if x < 3)}")


if __name__ == "__main__":
    main()
