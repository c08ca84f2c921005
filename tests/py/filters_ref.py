#!/usr/bin/python3
"""filters_ref.py - SciPy float64 references of lapse's filters of issue 11 (src/ops/op_window.c,
op_stencil.c, op_filters.c), shared by the unit test (tests/unit/test_filters.c runs this file as
a program), reference.py (chains) and graph_ref.py (test_filters_numpy.sh).

apply(op, a, p0, p1) computes the step on a float64 [z, y, x] array a with parameter vectors p0
(radius or sigma / sigma1, [z, y, x]) and p1 (sigma2), following SciPy (mode='nearest'):
  median_box        median_filter(size=2r+1)
  mean_box          uniform_filter(size=2r+1)
  minimum_box       minimum_filter(size=2r+1)      maximum_box     maximum_filter(size=2r+1)
  median_sphere     median_filter(footprint=ellipsoid(r))
  mean_sphere       correlate(footprint / count)
  minimum_sphere    minimum_filter(footprint)      maximum_sphere  maximum_filter(footprint)
  top_hat_sphere    white_tophat(footprint)
  erode_sphere      binary_erosion(a != 0, footprint, border_value=1)
  dilate_sphere     binary_dilation(a != 0, footprint, border_value=0)
  variance_box      generic_filter(np.var) (two passes); standard_deviation_box its sqrt
  sobel             sqrt(sum over axes of sobel(a, axis)^2)
  laplace_box       correlate with ones(3^k), 1 - 3^k at the centre
  laplace_diamond   laplace
  gradient_x|y|z    correlate1d([-1, 0, 1]) along the axis
  difference_of_gaussian        gaussian_filter(sigma1) - gaussian_filter(sigma2), truncate 4
  subtract_gaussian_background  a - gaussian_filter(sigma)
  bottom_hat_box    black_tophat(size=2r+1)
  top_hat_box       white_tophat(size=2r+1)
Axes of extent 1 are dropped before the window and stencil filters (lapse's rule for 2-D data:
the filter of the 2-D array, a z radius left out: so mean / minimum / maximum_box of a plane are
SciPy's 2-D filters of it), except the gradients, Gaussians and bottom_hat_box, which SciPy's
clamping makes equal anyway. ellipsoid(r) is the exact rule sum over axes with r > 0 of
(d / r)^2 <= 1, checked here against skimage.morphology.ball / disk for equal radii.

As a program: filters_ref.py MANIFEST; each line of MANIFEST is
  OP NZ NY NX P0Z P0Y P0X P1Z P1Y P1X IN.f64 OUT.f64
(raw float64 C-order arrays); OUT is written with apply's result as float64.
"""
import sys

import numpy as np
from scipy import ndimage

WINDOW = {"median_box", "mean_box", "minimum_box", "maximum_box", "median_sphere", "mean_sphere",
          "minimum_sphere", "maximum_sphere", "top_hat_sphere", "erode_sphere", "dilate_sphere",
          "variance_box", "standard_deviation_box"}
STENCIL = {"sobel", "laplace_box", "laplace_diamond"}
GRADIENT_AXIS = {"gradient_z": 0, "gradient_y": 1, "gradient_x": 2}
OPS = WINDOW | STENCIL | set(GRADIENT_AXIS) | {"difference_of_gaussian",
                                               "subtract_gaussian_background", "bottom_hat_box",
                                               "top_hat_box"}


def ellipsoid(r):
    """Boolean footprint of radii r (any number of axes): exact integer rule."""
    r = [int(k) for k in r]
    d = np.meshgrid(*[np.arange(-k, k + 1, dtype=np.int64) for k in r], indexing="ij")
    p = 1
    for k in r:
        if k > 0:
            p *= k * k
    s = np.zeros(d[0].shape, dtype=np.int64) if d else np.zeros((), dtype=np.int64)
    for dk, k in zip(d, r):
        if k > 0:
            s += dk * dk * (p // (k * k))
    fp = s <= p
    if len(set(r)) == 1 and r[0] > 0 and len(r) in (2, 3):
        try:
            from skimage.morphology import ball, disk
            ref = (ball if len(r) == 3 else disk)(r[0]).astype(bool)
            assert np.array_equal(fp, ref), "ellipsoid %s differs from skimage" % r
        except ImportError:
            pass
    return fp


def squeeze(a, r):
    """a without its axes of extent 1 (at least one axis kept), and r for the kept axes."""
    keep = [i for i in range(a.ndim) if a.shape[i] > 1] or [a.ndim - 1]
    return a.reshape([a.shape[i] for i in keep]), [r[i] for i in keep]


def window(op, b, r):
    size = [2 * int(k) + 1 for k in r]
    fp = ellipsoid(r)
    nearest = {"mode": "nearest"}
    if op == "median_box":
        return ndimage.median_filter(b, size=size, **nearest)
    if op == "mean_box":
        return ndimage.uniform_filter(b, size=size, **nearest)
    if op == "minimum_box":
        return ndimage.minimum_filter(b, size=size, **nearest)
    if op == "maximum_box":
        return ndimage.maximum_filter(b, size=size, **nearest)
    if op == "median_sphere":
        return ndimage.median_filter(b, footprint=fp, **nearest)
    if op == "mean_sphere":
        return ndimage.correlate(b, fp / fp.sum(), **nearest)
    if op == "minimum_sphere":
        return ndimage.minimum_filter(b, footprint=fp, **nearest)
    if op == "maximum_sphere":
        return ndimage.maximum_filter(b, footprint=fp, **nearest)
    if op == "top_hat_sphere":
        return ndimage.white_tophat(b, footprint=fp, **nearest)
    if op == "erode_sphere":
        return ndimage.binary_erosion(b != 0, fp, border_value=1).astype(np.float64)
    if op == "dilate_sphere":
        return ndimage.binary_dilation(b != 0, fp, border_value=0).astype(np.float64)
    # two passes per window (np.var: the mean, then the mean square deviation): the one-pass
    # uniform_filter(b^2) - uniform_filter(b)^2 leaves ~1e-12 where a window is constant, and
    # its sqrt then differs from the exact 0 of the C reference by 1e-6 (seed 5547161)
    var = ndimage.generic_filter(b, np.var, size=size, **nearest)
    return var if op == "variance_box" else np.sqrt(var)


def stencil(op, b):
    if op == "sobel":
        return np.sqrt(sum(ndimage.sobel(b, axis=i, mode="nearest") ** 2 for i in range(b.ndim)))
    if op == "laplace_box":
        k = np.ones((3,) * b.ndim)
        k[(1,) * b.ndim] = 1.0 - 3.0 ** b.ndim
        return ndimage.correlate(b, k, mode="nearest")
    return ndimage.laplace(b, mode="nearest")


def gauss(a, s):
    return ndimage.gaussian_filter(a, [float(v) for v in s], mode="nearest", truncate=4.0)


def apply(op, a, p0=(0, 0, 0), p1=(0, 0, 0)):
    """The SciPy reference of step op on float64 [z, y, x] array a (see the module doc); a 2-D
    [y, x] array is taken as one plane."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        return apply(op, a[None], p0, p1)[0]
    if op in WINDOW or op in STENCIL:
        b, r = squeeze(a, list(p0))
        out = window(op, b, r) if op in WINDOW else stencil(op, b)
        return out.reshape(a.shape)
    if op in GRADIENT_AXIS:
        return ndimage.correlate1d(a, [-1.0, 0.0, 1.0], axis=GRADIENT_AXIS[op], mode="nearest")
    if op == "difference_of_gaussian":
        return gauss(a, p0) - gauss(a, p1)
    if op == "subtract_gaussian_background":
        return a - gauss(a, p0)
    if op == "bottom_hat_box":
        return ndimage.black_tophat(a, size=[2 * int(k) + 1 for k in p0], mode="nearest")
    if op == "top_hat_box":
        return ndimage.white_tophat(a, size=[2 * int(k) + 1 for k in p0], mode="nearest")
    raise KeyError(op)


def main(argv):
    if len(argv) != 1:
        raise SystemExit(__doc__)
    with open(argv[0]) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            op, dims = w[0], [int(v) for v in w[1:4]]
            p0, p1 = [float(v) for v in w[4:7]], [float(v) for v in w[7:10]]
            a = np.fromfile(w[10], dtype=np.float64).reshape(dims)
            apply(op, a, p0, p1).astype(np.float64).tofile(w[11])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
