#!/usr/bin/env python3
"""graph_ref.py - check lapse's graph test outputs against NumPy / SciPy (tests/mpi/test_graph.sh).

usage: graph_ref.py IN.h5 OUT.h5 CASE [DATASET]

CASE names a pipeline of test_graph.sh; the expected datasets are computed here from /raw of
IN.h5 (or DATASET) for every timepoint and compared with OUT.h5:
  dog     /result = gaussian(sigma 1) - gaussian(sigma 2.5) of the input (float64 SciPy,
          mode nearest, truncate 4): relative error <= 1e-5 of the range; /g1 likewise
  logic   /m1 = x > 500, /m2 = x > 1500, /xor = m1 xor m2 (uint8), /result = mask(x, m1 xor m2) (uint16): exact,
          plus /both = m1 and m2, /either = m1 or m2, /neither = not either: exact
  arith   /result = float32: 0.5 * x + (-2) * (3 x) computed in float32 like NumPy, and
          /prod = x * (3 x) in float32: bit for bit
The cases of test_ops_numpy.sh (issue 11's pointwise, comparison and projection operations; the
input x is [z, y, x] or [y, x] per timepoint, float32 f = x as the pipeline sees it):
  math    subtract_scalar, absolute, sqrt (NaN below 0), clip (NaN kept; minimum > maximum gives
          maximum), add_scalar (x + float32(value), one float32 addition; NaN stays NaN),
          multiply_scalar (x * float32(value), one float32 product; NaN stays NaN): bit for
          bit; power: 1e-5 relative of the range (OpenCL pow is not powf)
  compare greater / smaller / equal_constant, also on NaN (false): exact uint8; binary_and
          (a != 0) & (b != 0) as 0/1 uint8, NaN being non-zero (true): exact; threshold_fixed
          float32(x) > float32(threshold) as 0/1 uint8 (NaN: 0), of x, of x - 200 and of NaN: exact
  images2 divide_images (inf and NaN where the divisor is 0), maximum / minimum_images (NaN
          propagates), add_images_weighted float32(f1) * a + float32(f2) * b in float32 (two
          rounded products, then one rounded sum: no fused multiply-add): bit for bit
  project min / argmax along z: bit for bit; sum / mean of the values as float64 (NumPy's
          sequential float64 sums along axis 0) rounded to float32: bit for bit; std(ddof 0) as
          float64, rounded to float32: within one float32 unit of it per voxel;
          maximum_z_projection (input dtype) max(axis=0) of x and of x * float32(0.37): exact;
          on [y, x] data (one plane) it must equal its input
  morph   erode / dilate / opening / closing_box of c = clip(x - 200, 0, 5) and of m = x > 230
          (foreground: non-zero; radius 0 gives m), and opening r=[2,1,1] against SciPy's
          grey_opening(mode='nearest') of the 0/1 image: SciPy binary_erosion(border_value=1) and
          binary_dilation(border_value=0) with a box, composed for opening / closing (= grey
          morphology of the 0/1 image with mode='nearest'): exact uint8
The geometry cases of test_geometry.sh (issue 11's geometric operations; same pipelines on
[z, y, x] and on [y, x] data, x the raw uint16 values):
  geom    rotate (SciPy affine_transform of the composed rotation, mode 'constant', order 1 or
          0), flip (np.flip), input minus its mirror, affine_transform (3x4 matrix), a rotated
          blur: copies and nearest sampling exact, linear sampling within 1e-4 of the range
  crop    crop (slicing, clipped) then gaussian_blur (mode 'nearest' inside the crop): exact /
          1e-5
  bin     downsample_bin (block means, a partial block averages its own voxels): 1e-5
  resample  resample (SciPy zoom, grid_mode=True, mode 'nearest', order 1 and 0): 1e-4 / exact
  radial  radial_reslice (angle step 3 about the plane centre: map_coordinates of each plane,
          order 1, mode 'constant'): 1e-4
lapse computes sampling positions in float32 (docs/operations.md) and SciPy in double: voxels
whose two positions (lapse's recomputed here in float32) fall on different sides of the image
edge, or for order 0 of a voxel boundary, legitimately differ; they are left out and counted
(at most 1% of a result).
Integer results (a rotation of the uint16 input keeps uint16) are compared after the float
tolerance plus 0.5 for lapse's rounding.
The cases of test_filters_numpy.sh (issue 11's filters, FILTER_CASES below; SciPy through
tests/py/filters_ref.py):
  window  median_box / median_sphere, minimum / maximum_box (uniform, minimum / maximum_filter),
          minimum / maximum / top_hat_sphere and erode / dilate_sphere (of x > 230): exact;
          mean_box (uniform_filter of float32 x * 0.37), mean_sphere, variance_box,
          standard_deviation_box: 1e-5; on [y, x] data the 2-D filters (z radius left out)
  stencil top_hat_box, bottom_hat_box: exact; difference_of_gaussian,
          subtract_gaussian_background, sobel, laplace_box / diamond, gradient_x / y / z: 1e-5
          relative of the range
NaN and inf must be at the same places; float results are compared bit for bit elsewhere.
Exit 0 when everything matches, 1 with a message otherwise.
"""
import sys

import os

import h5py
import numpy as np
from scipy import ndimage, special

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import filters_ref  # noqa: E402


def gauss(a, s):
    return ndimage.gaussian_filter(a.astype(np.float64), s, mode="nearest", truncate=4.0)


def expected(case, x):
    f = x.astype(np.float32)
    if case == "dog":
        g1 = gauss(x, 1.0)
        return {"/g1": (g1, 1e-5), "/result": (g1 - gauss(x, 2.5), 1e-5)}
    if case == "logic":
        m1 = f > 500
        m2 = f > 1500
        either = m1 | m2
        return {
            "/m1": (m1.astype(np.uint8), 0),
            "/m2": (m2.astype(np.uint8), 0),
            "/both": ((m1 & m2).astype(np.uint8), 0),
            "/either": (either.astype(np.uint8), 0),
            "/neither": ((~either).astype(np.uint8), 0),
            "/xor": ((m1 ^ m2).astype(np.uint8), 0),
            "/result": (np.where(m1 ^ m2, x, 0).astype(x.dtype), 0),
        }
    if case == "arith":
        three = f * np.float32(3)
        return {
            "/result": (np.float32(0.5) * f + np.float32(-2) * three, 0),
            "/prod": (f * three, 0),
        }
    return expected_issue11(case, x, f)


def expected_issue11(case, x, f):
    """The pipelines of test_ops_numpy.sh (see the module docstring)."""
    f32 = np.float32
    with np.errstate(all="ignore"):
        s = f - f32(200)
        r = np.sqrt(s)
        if case == "math":
            return {
                "/sub": (s, 0),
                "/abs": (np.abs(s), 0),
                "/sqrt": (r, 0),
                "/pow2": (np.power(s.astype(np.float64), 2.0), 1e-5),
                "/powh": (np.power(f.astype(np.float64), -0.5), 1e-5),
                "/clip": (np.clip(f, f32(150), f32(400)), 0),
                "/clipnan": (np.clip(r, f32(2), f32(5)), 0),
                "/clipinv": (np.clip(f, f32(400), f32(150)), 0),
                "/adds": (f + f32(0.1), 0),
                "/mul": (f * f32(0.37), 0),
                "/mulnan": (r * f32(-2.5), 0),
                "/addnan": (r + f32(-1234.567), 0),
                "/result": (f - f32(0.1), 0),
            }
        if case == "compare":
            g = (f > f32(250)).astype(np.uint8)
            l = (f < f32(300)).astype(np.uint8)  # noqa: E741
            return {
                "/gt": ((f > f32(250)).astype(np.uint8), 0),
                "/lt": ((f < f32(190.5)).astype(np.uint8), 0),
                "/eq": ((f == f32(200)).astype(np.uint8), 0),
                "/gtnan": ((r > f32(-1)).astype(np.uint8), 0),
                "/ltnan": ((r < f32(1e9)).astype(np.uint8), 0),
                "/and": (((g != 0) & (l != 0)).astype(np.uint8), 0),
                "/andnan": (((r != 0) & (l != 0)).astype(np.uint8), 0),
                "/thr": ((f > f32(250)).astype(np.uint8), 0),
                "/thrs": ((s > f32(-10.3)).astype(np.uint8), 0),
                "/thrnan": ((r > f32(-1)).astype(np.uint8), 0),
                "/result": ((r == f32(0)).astype(np.uint8), 0),
            }
        if case == "images2":
            n = s * f32(-1.5)
            return {
                "/div": (f / s, 0),
                "/div0": (s / s, 0),
                "/max": (np.maximum(s, n), 0),
                "/min": (np.minimum(s, n), 0),
                "/maxnan": (np.maximum(r, n), 0),
                "/wsum": (f32(0.3) * s + f32(-1.7) * n, 0),
                "/wsumnan": (f32(2.5e-3) * r + f32(0.1) * f, 0),
                "/wsum11": (f32(1) * f + f32(1) * r, 0),
                "/result": (np.minimum(n, r), 0),
            }
        if case == "project":
            x3 = x if x.ndim == 3 else x[None]
            f3 = x3.astype(np.float32)
            d3 = f3.astype(np.float64)  # the sum, mean and std accumulate in float64
            g3 = f3 * f32(0.37)
            return {
                # maximum_z_projection: of a [y, x] timepoint (one plane) the input itself
                "/max": (x3.max(axis=0) if x.ndim == 3 else x, 0),
                "/maxf": (g3.max(axis=0) if x.ndim == 3 else f * f32(0.37), 0),
                "/min": (x3.min(axis=0), 0),
                "/sum": (d3.sum(axis=0).astype(np.float32), 0),
                "/mean": (d3.mean(axis=0).astype(np.float32), 0),
                "/std": (d3.std(axis=0), ULP),
                "/meanf": (g3.astype(np.float64).mean(axis=0).astype(np.float32), 0),
                "/stdf": (g3.astype(np.float64).std(axis=0), ULP),
                "/result": (f3.argmax(axis=0).astype(np.float32), 0),
            }
        if case == "morph":
            return expected_morph(x, f)
    if case in ("geom", "crop", "bin", "resample", "radial"):
        return expected_geometry(case, x)
    if case in FILTER_CASES:
        return expected_filters(case, x, f)
    raise SystemExit("graph_ref.py: unknown case %r" % case)


# ---------------------------------------------------------------- geometry

AFFINE = np.array([[0.9317, 0.0713, 0, 1.4031], [0.1109, 1.1287, -0.2113, -3.0917], [0, 0.3121, 0.8273, 4.3079]])


def rotation(ax, ay, az):
    """lapse rotate's matrix: Mx My Mz, each SciPy rotate's [[c, s], [-s, c]] on its plane."""
    m = np.eye(3)
    for deg, (p, q) in ((ax, (0, 1)), (ay, (0, 2)), (az, (1, 2))):
        r = np.eye(3)
        c, s = special.cosdg(deg), special.sindg(deg)
        r[p, p], r[p, q], r[q, p], r[q, q] = c, s, -s, c
        m = m @ r
    return m


# tol of a result computed in double and rounded once to float32: within one float32 unit of
# the float64 reference rounded to float32, voxel by voxel
ULP = "ulp"


def f32(a):
    """Rounded to float32, held as float64."""
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def positions(shape_out, mat, off, single):
    """Input position of every output voxel, (3,) + shape_out: mat @ index + off in double, or
    (single) as lapse computes it: the float32 matrix, fma(m0, z, fma(m1, y, fma(m2, x, m3)))
    rounded to float32 at each fma (a float32 product is exact in double)."""
    idx = np.indices(shape_out, dtype=np.float64)
    mat, off = np.asarray(mat, dtype=np.float64), np.asarray(off, dtype=np.float64)
    if not single:
        return np.einsum("ab,b...->a...", mat, idx) + off.reshape((3,) + (1,) * len(shape_out))
    m, o = f32(mat), f32(off)
    return np.stack([f32(m[a, 0] * idx[0] + f32(m[a, 1] * idx[1] + f32(m[a, 2] * idx[2] + o[a])))
                     for a in range(3)])


# Within this distance of a jump, a double position is on no particular side: SciPy's own
# arithmetic (its order of operations changed between versions) puts a position that is exactly
# on the edge or halfway between two voxels in exact arithmetic on either side. Seen: output
# voxel (13, 17, 83) of test_geometry's affine matrix samples y = 0 (-4.4e-16 in NumPy's order):
# outside for SciPy 1.10, inside for 1.17; y = 43.5 (43.49999999999999 in NumPy's order) rounds
# down in one and up in the other.
NEAR = 1e-9


def straddles(p32, p64, shape_in, order, clamp):
    """Voxels whose float32 (lapse) and double (SciPy) positions fall on different sides of a
    place where the result jumps - the image edge (mode 'constant') or, for order 0, the
    boundary between two voxels (lapse and SciPy both round halves up) - or whose double
    position lies within NEAR of such a place but not exactly on it (a position computed exactly
    is on the same side in every order)."""
    bad = np.zeros(p32.shape[1:], dtype=bool)
    for a in range(3):
        top = shape_in[a] - 1
        q32, q64 = p32[a], p64[a]
        if clamp:
            q32, q64 = np.clip(q32, 0, top), np.clip(q64, 0, top)
        else:
            bad |= ((q32 >= 0) & (q32 <= top)) != ((q64 >= 0) & (q64 <= top))
            # (a position of exactly 0 or top is inside in every order: an axis that the
            # transform keeps samples it exactly)
            bad |= (q64 != 0) & (np.abs(q64) < NEAR)
            bad |= (q64 != top) & (np.abs(q64 - top) < NEAR)
        if order == 0:
            i32 = np.floor(q32) + (q32 - np.floor(q32) >= 0.5)
            bad |= i32 != np.floor(q64 + 0.5)
            h = q64 - np.floor(q64) - 0.5  # exactly 0: a half both round up (resample 0.5)
            bad |= (h != 0) & (np.abs(h) < NEAR)
    return bad


def sampled(x3, mat, off, order):
    """SciPy affine_transform (mode 'constant', cval 0) and the voxels to compare."""
    want = ndimage.affine_transform(x3.astype(np.float64), mat, offset=off, order=order,
                                    mode="constant", cval=0.0)
    p64 = positions(x3.shape, mat, off, False)
    p32 = positions(x3.shape, mat, off, True)
    return want, ~straddles(p32, p64, x3.shape, order, False)


def rotated(x3, ax, ay, az, order):
    m = rotation(ax, ay, az)
    c = (np.array(x3.shape, dtype=np.float64) - 1) / 2
    return sampled(x3, m, c - m @ c, order)


def zoomed(x3, scale, order):
    """SciPy zoom(grid_mode=True, mode='nearest') and the voxels to compare."""
    want = ndimage.zoom(x3.astype(np.float64), scale, order=order, mode="nearest",
                        grid_mode=True)
    r = np.array(x3.shape, dtype=np.float64) / np.array(want.shape)
    p64 = positions(want.shape, np.diag(r), 0.5 * r - 0.5, False)
    p32 = positions(want.shape, np.diag(r), 0.5 * r - 0.5, True)
    return want, ~straddles(p32, p64, x3.shape, order, True)


def binned(x3, f):
    """Block means; a partial last block averages the voxels it has."""
    out = [-(-n // k) for n, k in zip(x3.shape, f)]
    pad = [(0, o * k - n) for o, k, n in zip(out, f, x3.shape)]
    s = np.pad(x3.astype(np.float64), pad).reshape(out[0], f[0], out[1], f[1], out[2], f[2])
    c = np.pad(np.ones(x3.shape), pad).reshape(s.shape)
    return s.sum(axis=(1, 3, 5)) / c.sum(axis=(1, 3, 5))


def resliced(x3, step):
    """Radial reslice about the plane's centre, angles a * step degrees for a < round(360 /
    step), radii up to one past the farthest corner: map_coordinates(order=1, mode='constant')
    of each plane, and the voxels to compare."""
    n = x3.shape
    c = (np.array(n[1:], dtype=np.float64) - 1) / 2
    radius = int(np.floor(np.hypot(*np.maximum(c, np.array(n[1:]) - 1 - c)))) + 1
    ang = np.arange(int(round(360 / step))) * step
    cs = np.stack([special.cosdg(ang), special.sindg(ang)])  # (2, angles)
    r = np.arange(radius, dtype=np.float64)
    p64 = c[:, None, None] + cs[:, :, None] * r[None, None, :]  # (2, angles, radius)
    p32 = f32(f32(cs)[:, :, None] * r[None, None, :] + f32(c)[:, None, None])
    want = np.stack([ndimage.map_coordinates(x3[z].astype(np.float64), p64, order=1,
                                             mode="constant", cval=0.0)
                     for z in range(n[0])], axis=1)  # (angles, z, radius)
    bad = np.zeros(p64.shape[1:], dtype=bool)
    for k in range(2):
        top = n[1 + k] - 1
        bad |= ((p32[k] >= 0) & (p32[k] <= top)) != ((p64[k] >= 0) & (p64[k] <= top))
    return want, np.broadcast_to(~bad[:, None, :], want.shape)


def expected_geometry(case, x):
    """The geometry pipelines of test_geometry.sh: {path: (want, tol, dtype, compared voxels)}."""
    flat = x.ndim == 2
    x3 = x[None] if flat else x
    u16 = x.dtype
    f32 = np.dtype(np.float32)
    sq = (lambda a: a[0]) if flat else (lambda a: a)  # noqa: E731
    out = {}

    def put(path, want_mask, tol, dtype):
        want, mask = want_mask if isinstance(want_mask, tuple) else (want_mask, None)
        out[path] = (sq(want), tol, dtype, None if mask is None else sq(mask))

    if case == "geom":
        # on one plane (2-D data) the test turns by 180 degrees about x and y (a flip), since
        # other angles there are refused
        put("/rot", rotated(x3, 180 if flat else 7, 0 if flat else -4, 33, 1), 1e-4, u16)
        put("/rot90", rotated(x3, 0, 0, 90, 0), 0, u16)
        put("/rotn", rotated(x3, 0, 180 if flat else -12, 21, 0), 0, u16)
        mirror = np.flip(x3, axis=(1, 2))
        put("/flip", mirror, 0, u16)
        put("/asym", x3.astype(np.float64) - mirror, 0, f32)
        put("/aff", sampled(x3, AFFINE[:, :3], AFFINE[:, 3], 1), 1e-4, u16)
        put("/affn", sampled(x3, AFFINE[:, :3], AFFINE[:, 3], 0), 0, u16)
        # a shift of half a voxel in y and x: exact means of 4 integers, half of them ties,
        # which SciPy's uint16 output rounds away from zero (lapse too, since 2026-12-02)
        half = ndimage.affine_transform(x3, np.eye(3), offset=[0, 0.5, 0.5], order=1,
                                        mode="constant", cval=0.0, output=x3.dtype)
        put("/half", half.astype(np.float64), 0, u16)
        g = ndimage.gaussian_filter(x3.astype(np.float64), 1.0, mode="nearest", truncate=4.0)
        if flat:  # the blur of one plane: z has one voxel
            g = ndimage.gaussian_filter(x3.astype(np.float64), [0, 1.0, 1.0], mode="nearest",
                                        truncate=4.0)
        put("/result", rotated(g, 0, 0, -50, 1), 1e-4, f32)
    elif case == "crop":
        c = x3[0:15, 10:60, 20:120]
        put("/crop", c, 0, u16)
        sig = [0 if flat else 1.5, 1.5, 1.5]
        put("/result", ndimage.gaussian_filter(c.astype(np.float64), sig, mode="nearest",
                                               truncate=4.0), 1e-5, f32)
    elif case == "bin":
        put("/result", binned(x3, [2, 3, 4]), 1e-5, f32)
    elif case == "radial":
        want, mask = resliced(x3, 3.0)
        out["/result"] = (want, 1e-4, u16, mask)  # [angles, z, radius] also for 2-D input
    elif case == "resample":
        scale = [1 if flat else 2, 0.5, 0.75]
        put("/lin", zoomed(x3, scale, 1), 1e-4, u16)
        put("/result", zoomed(x3, scale, 0), 0, u16)
    return out


def box(r, ndim):
    """The (2r+1) box of radius r = [z, y, x] on ndim axes (the last ndim of z, y, x)."""
    return np.ones([2 * k + 1 for k in r[3 - ndim:]], dtype=bool)


def erode(b, r):
    return ndimage.binary_erosion(b != 0, box(r, b.ndim), border_value=1)


def dilate(b, r):
    return ndimage.binary_dilation(b != 0, box(r, b.ndim), border_value=0)


def expected_morph(x, f):
    """The morph pipeline of test_ops_numpy.sh: binary morphology, clamp to edge."""
    f32 = np.float32
    c = np.clip(f - f32(200), f32(0), f32(5))  # 0 and values 1..5: binarized first
    m = f > f32(230)
    u8 = lambda b: (b.astype(np.uint8), 0)  # noqa: E731
    return {
        "/ero": u8(erode(c, [1, 1, 1])),
        "/dil": u8(dilate(m, [1, 2, 1])),
        "/open": u8(dilate(erode(m, [1, 1, 1]), [1, 1, 1])),
        "/close": u8(erode(dilate(m, [1, 1, 2]), [1, 1, 2])),
        "/open0": u8(m),
        "/grey": u8(ndimage.grey_opening(m.astype(np.uint8), size=box([2, 1, 1], m.ndim).shape,
                                         mode="nearest") != 0),
        "/result": u8(erode(dilate(c, [2, 1, 1]), [2, 1, 1])),
    }


# The graphs of test_filters_numpy.sh (issue 11's filters): dataset -> (op, p0, p1, source, tol);
# source "input" is the image, "scaled" the float32 image float32(x) * float32(0.37) (the step
# multiply_scalar 0.37 of the pipeline), "mask" x > 230 as 0/1; tol 0 is bit for bit (the dtype
# is the step's natural one: the source's for medians, minima, maxima and top-hats), else
# relative. On [t, y, x] data every filter is SciPy's 2-D filter of the plane, its z radius left
# out (filters_ref.squeeze): e.g. mean_box [1, 2, 2] is uniform_filter(size=[5, 5]).
FILTER_CASES = {
    "window": {
        "/mean_box": ("mean_box", [1, 2, 2], None, "scaled", 1e-5),
        "/mean_box013": ("mean_box", [0, 1, 3], None, "scaled", 1e-5),
        "/minimum_box": ("minimum_box", [1, 1, 2], None, "input", 0),
        "/minimum_boxf": ("minimum_box", [0, 2, 1], None, "scaled", 0),
        "/maximum_box": ("maximum_box", [2, 1, 0], None, "scaled", 0),
        "/maximum_boxi": ("maximum_box", [1, 2, 2], None, "input", 0),
        "/median_box": ("median_box", [1, 1, 1], None, "input", 0),
        "/median_sphere": ("median_sphere", [1, 2, 2], None, "input", 0),
        "/mean_sphere": ("mean_sphere", [1, 2, 2], None, "input", 1e-5),
        "/minimum_sphere": ("minimum_sphere", [2, 2, 2], None, "input", 0),
        "/maximum_sphere": ("maximum_sphere", [2, 1, 1], None, "input", 0),
        "/top_hat_sphere": ("top_hat_sphere", [1, 2, 2], None, "input", 0),
        "/variance_box": ("variance_box", [1, 2, 1], None, "input", 1e-5),
        "/std_box": ("standard_deviation_box", [1, 1, 1], None, "input", 1e-5),
        "/erode": ("erode_sphere", [1, 1, 1], None, "mask", 0),
        "/result": ("dilate_sphere", [1, 2, 2], None, "mask", 0),
    },
    "stencil": {
        "/bottom_hat_box": ("bottom_hat_box", [1, 3, 3], None, "input", 0),
        "/top_hat_box": ("top_hat_box", [1, 3, 3], None, "input", 0),
        "/dog": ("difference_of_gaussian", [1, 1, 1], [1.5, 3, 3], "input", 1e-5),
        "/sgb": ("subtract_gaussian_background", [2, 4, 4], None, "input", 1e-5),
        "/sobel": ("sobel", None, None, "input", 1e-5),
        "/laplace_box": ("laplace_box", None, None, "input", 1e-5),
        "/laplace_diamond": ("laplace_diamond", None, None, "input", 1e-5),
        "/gx": ("gradient_x", None, None, "input", 1e-5),
        "/gy": ("gradient_y", None, None, "input", 1e-5),
        "/result": ("gradient_z", None, None, "input", 1e-5),
    },
}
SAME_DTYPE = {"median_box", "median_sphere", "minimum_sphere", "maximum_sphere", "top_hat_sphere",
              "bottom_hat_box", "top_hat_box", "minimum_box", "maximum_box"}


def expected_filters(case, x, f):
    """The window and stencil graphs of test_filters_numpy.sh: SciPy through filters_ref.py on
    the float64 image (z, y, x, or y, x for 2-D data)."""
    out = {}
    sources = {"input": x, "scaled": f * np.float32(0.37), "mask": (f > np.float32(230))}
    for path, (op, p0, p1, source, tol) in FILTER_CASES[case].items():
        src = sources[source]
        want = filters_ref.apply(op, src.astype(np.float64), p0 or [0, 0, 0], p1 or [0, 0, 0])
        if op in ("erode_sphere", "dilate_sphere"):
            want = want.astype(np.uint8)
        elif op in SAME_DTYPE:
            want = want.astype(src.dtype)  # exact: values of the source, in its dtype
        out[path] = (want, tol)
    return out


def check_geometry(path, t, have, want, tol, dtype, mask):
    """One geometry result: dtype and shape, then the compared voxels (mask, None: all) exact
    (tol 0, after casting the reference to dtype) or within tol of the range (integers: plus
    0.5 for rounding). Returns the number of problems (printed)."""
    if have.shape != want.shape or have.dtype != np.dtype(dtype):
        print("%s t=%d: shape/dtype %s %s, want %s %s" % (path, t, have.shape, have.dtype,
                                                          want.shape, np.dtype(dtype)))
        return 1
    if mask is None:
        mask = np.ones(want.shape, dtype=bool)
    skipped = int(mask.size - np.count_nonzero(mask))
    if skipped > 0.01 * mask.size:
        print("%s t=%d: %d of %d voxels ambiguous (more than 1%%)" % (path, t, skipped, mask.size))
        return 1
    h, w = have[mask].astype(np.float64), want[mask]
    if skipped:
        print("%s t=%d: %d voxels where the float32 and double positions straddle a jump left "
              "out" % (path, t, skipped))
    if tol == 0:
        wc = w.astype(dtype).astype(np.float64)
        diff = int(np.count_nonzero(h != wc))
        if diff:
            i = int(np.argmax(h != wc))
            print("%s t=%d: %d voxels differ (e.g. lapse %r, reference %r)" % (path, t, diff, h[i],
                                                                                 w[i]))
            return 1
        return 0
    scale = max(float(np.abs(want).max(initial=0.0)), 1.0)
    slack = 0.5 if np.dtype(dtype).kind in "ui" else 0.0
    err = float(np.maximum(np.abs(h - w) - slack, 0.0).max(initial=0.0)) / scale
    if not err <= tol:
        print("%s t=%d: relative error %g > %g" % (path, t, err, tol))
        return 1
    return 0


def main():
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    raw = h5py.File(sys.argv[1], "r")[sys.argv[4] if len(sys.argv) == 5 else "/raw"]
    out = h5py.File(sys.argv[2], "r")
    bad = 0
    for t in range(raw.shape[0]):
        for path, entry in expected(sys.argv[3], raw[t]).items():
            have = out[path][t]
            if len(entry) == 4:  # geometry: explicit dtype and the voxels compared
                bad += check_geometry(path, t, have, *entry)
                continue
            want, tol = entry
            want_dt = np.dtype(np.float32) if tol else want.dtype
            if have.shape != want.shape or have.dtype != want_dt:
                print("%s t=%d: shape/dtype %s %s, want %s %s" % (path, t, have.shape, have.dtype,
                                                                  want.shape, want_dt))
                bad += 1
                continue
            if have.dtype.kind == "f":  # NaN and inf at the same places, the rest compared
                odd = ~np.isfinite(have) | ~np.isfinite(want)
                if not np.array_equal(have[odd], want[odd].astype(have.dtype), equal_nan=True):
                    print("%s t=%d: NaN / inf at other places" % (path, t))
                    bad += 1
                    continue
                have, want = have[~odd], want[~odd]
            if tol == ULP:
                w32 = want.astype(np.float32)
                far = np.abs(have - w32) > np.spacing(np.abs(w32))
                if far.any():
                    print("%s t=%d: %d voxels more than one float32 unit from the float64 result, "
                          "e.g. %r for %r" % (path, t, np.count_nonzero(far), have[far][0],
                                              want[far][0]))
                    bad += 1
            elif tol == 0:
                diff = np.count_nonzero(have.view(np.uint8) != want.view(np.uint8))
                if diff:
                    print("%s t=%d: %d bytes differ" % (path, t, diff))
                    bad += 1
            else:
                scale = max(float(np.abs(want).max(initial=0.0)), 1.0)
                err = float(np.abs(have.astype(np.float64) - want).max(initial=0.0)) / scale
                if not err <= tol:
                    print("%s t=%d: relative error %g > %g" % (path, t, err, tol))
                    bad += 1
    if bad:
        print("graph_ref.py: %d mismatches" % bad)
        return 1
    print("graph_ref.py: %s matches the NumPy/SciPy reference" % sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
