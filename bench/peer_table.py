#!/usr/bin/env python3
"""peer_table.py - issue 11's table from one device call's logs: lapse's bench_kernels (csv
lines) and bench_segment ("lapse NAME MS" lines) against ../shared/bench/peer_ops.py's
"LIB NAME MS" lines (CuPy, clesperanto OpenCL and CUDA), the best peer's time over lapse's
for every operation both have, the geometric mean of those speed-ups, and each lapse time as a
fraction of the device copy rate (bytes that must move / copy bandwidth).

usage: peer_table.py KERNELS.txt SEGMENT.txt PEERS.txt [MORE.txt...]   (prints a Markdown table;
       MORE: bench/peer_ops_more.py's lines)
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
    ("laplace", "laplace_box", "laplace_box (cle laplace; CuPy's laplace is the diamond)"),
    # bench/peer_ops_more.py: its keys are bench_kernels' --ops keys
    ("gauss122", "gaussian_blur sigma=[1,2,2]", "gaussian_blur sigma (1,2,2)"),
    ("min5", "minimum_box r=5 (separable)", "minimum_box r 5"),
    ("max50", "maximum_box r=[0,50,50] (van Herk)", "maximum_box r (0,50,50)"),
    ("mean2", "mean_box r=[2,1,3]", "mean_box r (2,1,3)"),
    ("sub", "subtract_scalar", "subtract_scalar"),
    ("mul", "multiply_scalar", "multiply_scalar"),
    ("abs", "absolute", "absolute"),
    ("pow", "power exponent=1.5", "power 1.5"),
    ("sqrt", "sqrt", "sqrt"),
    ("clip", "clip [100, 900]", "clip [100, 900]"),
    ("lt", "smaller_constant", "smaller_constant"),
    ("eq", "equal_constant", "equal_constant"),
    ("div", "divide_images", "divide_images"),
    ("maxi", "maximum_images", "maximum_images"),
    ("mini", "minimum_images", "minimum_images"),
    ("and", "binary_and", "binary_and"),
    ("or", "binary_or", "binary_or"),
    ("xor", "binary_xor", "binary_xor"),
    ("not", "binary_not", "binary_not"),
    ("subi", "subtract_images", "subtract_images"),
    ("muli", "multiply_images", "multiply_images"),
    ("mask", "mask", "mask"),
    ("maxima0", "detect_maxima_box r=0", "detect_maxima_box r 0"),
    ("maxima2", "detect_maxima_box r=2", "detect_maxima_box r 2"),
    ("zmin", "minimum_z_projection", "minimum_z_projection"),
    ("zsum", "sum_z_projection", "sum_z_projection"),
    ("zmean", "mean_z_projection", "mean_z_projection"),
    ("zstd", "stddev_z_projection", "standard_deviation_z_projection"),
    ("zargmax", "argmax_z_projection", "argmax_z_projection"),
    ("dilate1", "dilate_box r=1", "dilate_box r 1 (binary)"),
    ("open1", "opening_box r=1", "opening_box r 1"),
    ("close133", "closing_box r=[1,3,3]", "closing_box r (1,3,3)"),
    ("median122", "median_box r=[1,2,2]", "median_box r (1,2,2)"),
    ("medsph1", "median_sphere r=1", "median_sphere r 1"),
    ("medsph122", "median_sphere r=[1,2,2]", "median_sphere r (1,2,2)"),
    ("meansph2", "mean_sphere r=2", "mean_sphere r 2"),
    ("minsph1", "minimum_sphere r=1", "minimum_sphere r 1"),
    ("maxsph2", "maximum_sphere r=2", "maximum_sphere r 2"),
    ("thsph", "top_hat_sphere r=[1,3,3]", "top_hat_sphere r (1,3,3)"),
    ("bothat", "bottom_hat_box r=[1,3,3]", "bottom_hat_box r (1,3,3)"),
    ("var1", "variance_box r=1", "variance_box r 1"),
    ("std1", "standard_deviation_box r=1", "standard_deviation_box r 1"),
    ("lapdia", "laplace_diamond", "laplace_diamond (CuPy laplace)"),
    ("gradx", "gradient_x", "gradient_x"),
    ("grady", "gradient_y", "gradient_y"),
    ("gradz", "gradient_z", "gradient_z"),
    ("dog", "difference_of_gaussian 1, 2", "difference_of_gaussian 1, 2"),
    ("sgb", "subtract_gaussian_bg sigma=2", "subtract_gaussian_background 2"),
    ("erodesph1", "erode_sphere r=1", "erode_sphere r 1 (binary)"),
    ("dilatesph1", "dilate_sphere r=1", "dilate_sphere r 1 (binary)"),
    ("flip", "flip z, y, x", "flip z, y and x"),
    ("roty30", "rotate angle_y=30 linear", "rotate 30 degrees about y, linear"),
    ("bin2", "downsample_bin 2", "downsample_bin 2"),
    ("resample05", "resample 0.5 linear", "resample 0.5, linear"),
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


def peers(paths):
    out = {}
    for line in (l for p in paths for l in open(p)):
        m = re.match(r"(cupy|cle-opencl|cle-cuda|cucim) (\w+) ([0-9.]+)$", line.strip())
        if m:
            out.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
    # CuPy's Otsu is a histogram only and its labelling includes no threshold: keep them apart
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    kms, kgb, copy = kernels(sys.argv[1])
    seg = segment(sys.argv[2])
    pr = peers(sys.argv[3:])
    pr.get("laplace", {}).pop("cupy", None)  # CuPy's laplace is the diamond: its own row
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
