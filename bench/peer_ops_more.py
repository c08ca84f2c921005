"""peer_ops_more.py - issue 11's comparison for the operations of lapse's bench_kernels that
../shared/bench/peer_ops.py does not time, where CuPy (cupyx.scipy.ndimage) or pyclesperanto
(OpenCL and CUDA) have them: the same 1 GiB float32 volume (SHAPE, seed 1, as peer_ops.py), the
same method (median of REPS device-synchronised wall times after one warm-up). Keys are
bench_kernels' --ops keys, so bench/peer_table.py pairs them. A library lacking an operation
prints an ERR line (a finding, not a crash). Where the peer's definition differs from lapse's,
the comment says so; bench/peer_table.py prints those rows but leaves them out of the
geometric mean only when marked there.

usage: python3 peer_ops_more.py cupy opencl cuda     (prints "LIB KEY MS" lines)
       OPS=roty30,flip python3 peer_ops_more.py cuda   (only those keys)
"""
import os
import statistics
import sys
import time

import numpy as np

SHAPE = tuple(int(v) for v in os.environ.get("SHAPE", "256,1024,1024").split(","))
REPS = int(os.environ.get("REPS", "5"))
ONLY = [k for k in os.environ.get("OPS", "").split(",") if k]  # OPS=a,b: only those (default all)


def bench(lib, name, fn, sync, reps=REPS):
    try:
        fn()
        sync()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            sync()
            ts.append((time.perf_counter() - t0) * 1e3)
        print(f"{lib} {name} {statistics.median(ts):.3f}", flush=True)
    except Exception as e:
        print(f"{lib} {name} ERR {type(e).__name__}: {str(e)[:120]}", flush=True)


rng = np.random.default_rng(1)
host = (rng.random(SHAPE, dtype=np.float32) * 1000).astype(np.float32)
host2 = (rng.random(SHAPE, dtype=np.float32) * 1000).astype(np.float32)


def ball(rz, ry, rx):
    z, y, x = np.ogrid[-rz:rz + 1, -ry:ry + 1, -rx:rx + 1]
    return ((z / max(rz, 1e-9)) ** 2 * (rz > 0) + (y / ry) ** 2 + (x / rx) ** 2 <= 1.0)


def run_cupy():
    import cupy as cp
    import cupyx.scipy.ndimage as nd
    x = cp.asarray(host)
    y = cp.asarray(host2)
    s = cp.cuda.Device().synchronize
    m = "nearest"
    b1 = cp.asarray(ball(1, 1, 1))
    b2 = cp.asarray(ball(2, 2, 2))
    b133 = cp.asarray(ball(1, 3, 3))
    b122 = cp.asarray(ball(1, 2, 2))
    w2 = b2.astype(cp.float32) / float(b2.sum())
    ops = {
        "gauss122": lambda: nd.gaussian_filter(x, (1, 2, 2), mode=m, truncate=4.0),
        "min5": lambda: nd.minimum_filter(x, 11, mode=m),
        "max50": lambda: nd.maximum_filter(x, (1, 101, 101), mode=m),
        "mean2": lambda: nd.uniform_filter(x, (5, 3, 7), mode=m),
        "sub": lambda: x - 1.5,
        "mul": lambda: x * 1.5,
        "abs": lambda: cp.abs(x),
        "pow": lambda: x ** 1.5,
        "sqrt": lambda: cp.sqrt(x),
        "clip": lambda: cp.clip(x, 100, 900),
        "lt": lambda: (x < 500).astype(cp.uint8),
        "eq": lambda: (x == 500).astype(cp.uint8),
        "div": lambda: x / y,
        "maxi": lambda: cp.maximum(x, y),
        "mini": lambda: cp.minimum(x, y),
        "and": lambda: cp.logical_and(x, y),
        "or": lambda: cp.logical_or(x, y),
        "xor": lambda: cp.logical_xor(x, y),
        "not": lambda: cp.logical_not(x),
        "subi": lambda: x - y,
        "muli": lambda: x * y,
        "mask": lambda: cp.where(y != 0, x, cp.float32(0)),
        "zmin": lambda: x.min(axis=0),
        "zsum": lambda: x.sum(axis=0),
        "zmean": lambda: x.mean(axis=0),
        "zstd": lambda: x.std(axis=0),
        "zargmax": lambda: x.argmax(axis=0),
        "dilate1": lambda: nd.binary_dilation(x > 500),
        "open1": lambda: nd.binary_opening(x > 500, structure=cp.ones((3, 3, 3), bool)),
        "close133": lambda: nd.binary_closing(x > 500, structure=cp.ones((3, 7, 7), bool)),
        "median122": lambda: nd.median_filter(x, (3, 5, 5), mode=m),
        "medsph1": lambda: nd.median_filter(x, footprint=b1, mode=m),
        "medsph122": lambda: nd.median_filter(x, footprint=b122, mode=m),
        "meansph2": lambda: nd.correlate(x, w2, mode=m),
        "minsph1": lambda: nd.minimum_filter(x, footprint=b1, mode=m),
        "maxsph2": lambda: nd.maximum_filter(x, footprint=b2, mode=m),
        "thsph": lambda: nd.white_tophat(x, footprint=b133, mode=m),
        "bothat": lambda: nd.black_tophat(x, size=(3, 7, 7), mode=m),
        "var1": lambda: nd.uniform_filter(x * x, 3, mode=m) - nd.uniform_filter(x, 3, mode=m) ** 2,
        "lapdia": lambda: nd.laplace(x, mode=m),
        "dog": lambda: nd.gaussian_filter(x, 1, mode=m) - nd.gaussian_filter(x, 2, mode=m),
        "sgb": lambda: x - nd.gaussian_filter(x, 2, mode=m),
        "erodesph1": lambda: nd.binary_erosion(x > 500, structure=b1),
        "dilatesph1": lambda: nd.binary_dilation(x > 500, structure=b1),
        "flip": lambda: cp.ascontiguousarray(x[::-1, ::-1, ::-1]),
        "roty30": lambda: nd.rotate(x, 30, axes=(0, 2), reshape=False, order=1, mode=m),
        "bin2": lambda: x.reshape(SHAPE[0] // 2, 2, SHAPE[1] // 2, 2, SHAPE[2] // 2, 2).mean((1, 3, 5)),
        "resample05": lambda: nd.zoom(x, 0.5, order=1, mode=m),
    }
    for k, f in ops.items():
        if k in ONLY or not ONLY:
            bench("cupy", k, f, s)


def run_cle(backend):
    import pyclesperanto as cle
    cle.select_backend(backend)
    dev = cle.select_device("NVIDIA") if backend == "opencl" else cle.select_device()
    print(f"cle-{backend} device {dev}", flush=True)
    x = cle.push(host)
    y = cle.push(host2)
    out = []

    def keep(r):
        out[:] = [r]
        return r

    def sync():
        if out:
            cle.pull(cle.crop(out[0], start_x=0, start_y=0, start_z=0, width=1, height=1, depth=1))

    ops = {
        "gauss122": lambda: keep(cle.gaussian_blur(x, sigma_x=2, sigma_y=2, sigma_z=1)),
        "min5": lambda: keep(cle.minimum_box(x, radius_x=5, radius_y=5, radius_z=5)),
        "max50": lambda: keep(cle.maximum_box(x, radius_x=50, radius_y=50, radius_z=0)),
        "mean2": lambda: keep(cle.mean_box(x, radius_x=3, radius_y=1, radius_z=2)),
        "sub": lambda: keep(cle.add_image_and_scalar(x, scalar=-1.5)),
        "mul": lambda: keep(cle.multiply_image_and_scalar(x, scalar=1.5)),
        "abs": lambda: keep(cle.absolute(x)),
        "pow": lambda: keep(cle.power(x, scalar=1.5)),
        "sqrt": lambda: keep(cle.square_root(x)),
        "clip": lambda: keep(cle.clip(x, min_intensity=100, max_intensity=900)),
        "lt": lambda: keep(cle.smaller_constant(x, scalar=500)),
        "eq": lambda: keep(cle.equal_constant(x, scalar=500)),
        "div": lambda: keep(cle.divide_images(x, y)),
        "maxi": lambda: keep(cle.maximum_images(x, y)),
        "mini": lambda: keep(cle.minimum_images(x, y)),
        "and": lambda: keep(cle.binary_and(x, y)),
        "or": lambda: keep(cle.binary_or(x, y)),
        "xor": lambda: keep(cle.binary_xor(x, y)),
        "not": lambda: keep(cle.binary_not(x)),
        "subi": lambda: keep(cle.subtract_images(x, y)),
        "muli": lambda: keep(cle.multiply_images(x, y)),
        "mask": lambda: keep(cle.mask(x, y)),
        # CuPy has no strict-maximum detector (a maximum_filter comparison keeps plateaus)
        "maxima0": lambda: keep(cle.detect_maxima_box(x, radius_x=0, radius_y=0, radius_z=0)),
        "maxima2": lambda: keep(cle.detect_maxima_box(x, radius_x=2, radius_y=2, radius_z=2)),
        "zmin": lambda: keep(cle.minimum_z_projection(x)),
        "zsum": lambda: keep(cle.sum_z_projection(x)),
        "zmean": lambda: keep(cle.mean_z_projection(x)),
        "zstd": lambda: keep(cle.standard_deviation_z_projection(x)),
        "zargmax": lambda: keep(cle.z_position_of_maximum_z_projection(x)),
        "dilate1": lambda: keep(cle.dilate_box(cle.greater_constant(x, scalar=500))),
        "open1": lambda: keep(cle.opening_box(x, radius_x=1, radius_y=1, radius_z=1)),
        "close133": lambda: keep(cle.closing_box(x, radius_x=3, radius_y=3, radius_z=1)),
        "median122": lambda: keep(cle.median_box(x, radius_x=2, radius_y=2, radius_z=1)),
        "medsph1": lambda: keep(cle.median_sphere(x, radius_x=1, radius_y=1, radius_z=1)),
        "medsph122": lambda: keep(cle.median_sphere(x, radius_x=2, radius_y=2, radius_z=1)),
        "meansph2": lambda: keep(cle.mean_sphere(x, radius_x=2, radius_y=2, radius_z=2)),
        "minsph1": lambda: keep(cle.minimum_sphere(x, radius_x=1, radius_y=1, radius_z=1)),
        "maxsph2": lambda: keep(cle.maximum_sphere(x, radius_x=2, radius_y=2, radius_z=2)),
        "thsph": lambda: keep(cle.top_hat_sphere(x, radius_x=3, radius_y=3, radius_z=1)),
        "bothat": lambda: keep(cle.bottom_hat_box(x, radius_x=3, radius_y=3, radius_z=1)),
        "var1": lambda: keep(cle.variance_box(x, radius_x=1, radius_y=1, radius_z=1)),
        "std1": lambda: keep(cle.standard_deviation_box(x, radius_x=1, radius_y=1, radius_z=1)),
        "lapdia": lambda: keep(cle.laplace_diamond(x)),
        "gradx": lambda: keep(cle.gradient_x(x)),
        "grady": lambda: keep(cle.gradient_y(x)),
        "gradz": lambda: keep(cle.gradient_z(x)),
        "dog": lambda: keep(cle.difference_of_gaussian(x, sigma1_x=1, sigma1_y=1, sigma1_z=1,
                                                       sigma2_x=2, sigma2_y=2, sigma2_z=2)),
        "sgb": lambda: keep(cle.subtract_gaussian_background(x, sigma_x=2, sigma_y=2, sigma_z=2)),
        "erodesph1": lambda: keep(cle.erode_sphere(cle.greater_constant(x, scalar=500))),
        "dilatesph1": lambda: keep(cle.dilate_sphere(cle.greater_constant(x, scalar=500))),
        "flip": lambda: keep(cle.flip(x, flip_x=True, flip_y=True, flip_z=True)),
        "roty30": lambda: keep(cle.rotate(x, angle_y=30, centered=True, interpolate=True)),
        "resample05": lambda: keep(cle.scale(x, factor_x=0.5, factor_y=0.5, factor_z=0.5,
                                             centered=False, interpolate=True, resize=True)),
    }
    for k, f in ops.items():
        if k in ONLY or not ONLY:
            bench(f"cle-{backend}", k, f, sync)


if __name__ == "__main__":
    for w in sys.argv[1:] or ["cupy", "opencl", "cuda"]:
        try:
            run_cupy() if w == "cupy" else run_cle(w)
        except Exception as e:
            print(f"{w} FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
