#!/usr/bin/env bash
# test_base_identical.sh - the current lapse must give the same bits as a pinned base commit.
#
# Builds the `lapse` binary of the base commit (LAPSE_BASE_REF, see BASE_REF_DEFAULT) from
# `git archive` of $LAPSE_SRC (no worktree, nothing in the repository changes; the binary is
# cached per full commit hash), then runs it and the current $LAPSE on the same fixed,
# deterministic inputs (uint16 [t,z,y,x] from `lapse sample`; uint8 and float32 [t,z,y,x] and a
# uint16 [t,y,x] made with numpy from a fixed seed) and the same configs: every operation
# (Gaussian with anisotropic and zero sigmas; mean/min/max box with radius 1, radii <= 4 and
# larger, anisotropic and zero radii, i.e. the fused r=1, fused r<=4 and separable device
# paths; top-hat; the scalar ops; threshold; z-projection), chains with saved steps,
# output.dtype auto/uint8/uint16/float32, tiled and untiled, 1 and 2 ranks. The current binary
# also runs some configs with LAPSE_KERNELS=simple, compared with the base's default kernels.
# Every dataset outside /lapse must be bit-identical (dtype, shape and raw bits); a mismatch is
# reported per config and dataset with the number of differing voxels and the max abs
# difference. Skipped (77) when $LAPSE_SRC is not a git checkout or lacks the base commit.
# LAPSE_BASE_BIN=path compares against a base binary built elsewhere (the GPU machine has no
# git checkout; bench/gpu_check.sh uses it).
source "$(dirname "$0")/common.sh"

# The last commit before the operations-core refactor (operation registry, pipelines as
# graphs, per-file kernel programs): every operation must stay bit-identical to it. Move it
# only on purpose: to a later commit whose outputs were checked (by this test) to equal this
# one's, or when a change of results is intended and documented (docs/testing.md).
BASE_REF_DEFAULT=00471a2
BASE_REF=${LAPSE_BASE_REF:-$BASE_REF_DEFAULT}

if [ -n "${LAPSE_BASE_BIN:-}" ]; then
    # A base binary built elsewhere (e.g. for the GPU machine, which has no git checkout).
    [ -x "$LAPSE_BASE_BIN" ] || fail "LAPSE_BASE_BIN=$LAPSE_BASE_BIN is not an executable"
    need_device
    BASE=$LAPSE_BASE_BIN
    note "base: $BASE (LAPSE_BASE_BIN)"
else
    command -v git >/dev/null 2>&1 || skip "git not found: cannot build the base commit $BASE_REF"
    git -C "$LAPSE_SRC" rev-parse --git-dir >/dev/null 2>&1 ||
        skip "LAPSE_SRC=$LAPSE_SRC is not a git checkout: cannot build the base commit $BASE_REF"
    BASE_COMMIT=$(git -C "$LAPSE_SRC" rev-parse --verify --quiet "$BASE_REF^{commit}") ||
        skip "base commit $BASE_REF is not in $LAPSE_SRC (shallow clone? git fetch --unshallow)"
    need_device

    # ---- The base binary: cached in $CACHE/lapse, valid while $CACHE/commit holds BASE_COMMIT.
    CACHE=${LAPSE_BASE_CACHE:-$LAPSE_SRC/build/base-$BASE_COMMIT}
    BASE=$CACHE/lapse
    if [ -x "$BASE" ] && [ "$(cat "$CACHE/commit" 2>/dev/null)" = "$BASE_COMMIT" ]; then
        note "base $BASE_REF = $BASE_COMMIT: cached $BASE"
    else
        note "base $BASE_REF = $BASE_COMMIT: building the lapse target into $CACHE"
        SECONDS=0
        mkdir -p "$T/base" "$CACHE" || fail "cannot create $T/base or $CACHE"
        run_ok "$T/archive.log" git -C "$LAPSE_SRC" archive --format=tar -o "$T/base.tar" "$BASE_COMMIT"
        run_ok "$T/tar.log" tar -xf "$T/base.tar" -C "$T/base"
        run_ok "$T/cmake.log" cmake -S "$T/base" -B "$T/base/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DLAPSE_SANITIZE=OFF
        run_ok "$T/build.log" cmake --build "$T/base/build" --target lapse -j2
        # Binary first, stamp last, each by rename: a concurrent or interrupted build never leaves a
        # stamp next to a wrong or partial binary.
        if ! { cp "$T/base/build/lapse" "$CACHE/lapse.$$" && mv -f "$CACHE/lapse.$$" "$BASE" &&
            echo "$BASE_COMMIT" >"$CACHE/commit.$$" && mv -f "$CACHE/commit.$$" "$CACHE/commit"; }; then
            fail "cannot store the base binary in $CACHE"
        fi
        note "base built in ${SECONDS}s"
    fi
fi
CUR=$LAPSE

# ---- Inputs (fixed): uint16 [3,20,48,56] from lapse sample; the others from numpy's legacy
# RandomState (a frozen stream), plain arithmetic only.
IN16=$T/in16.h5
INX=$T/inx.h5
run_ok "$T/sample.log" "$LAPSE" sample "$IN16" --timepoints 3 --shape 20,48,56 --seed 7
"$LAPSE_PY" - "$INX" <<'PY' || fail "cannot write the numpy inputs"
import sys, h5py, numpy as np
rs = np.random.RandomState(20261124)

def coarse(shape, f):
    """A blocky field in [0, 1): low-resolution noise repeated f times on each axis."""
    low = rs.random_sample(tuple(-(-s // f) for s in shape))
    for ax, s in enumerate(shape):
        low = np.repeat(low, f, axis=ax).take(range(s), axis=ax)
    return low

with h5py.File(sys.argv[1], "w") as h:
    u8 = np.stack([coarse((12, 40, 44), 4) * 200 + rs.randint(0, 56, (12, 40, 44))
                   for _ in range(3)])
    h["/u8"] = u8.astype(np.uint8)
    f32 = np.stack([(coarse((12, 40, 44), 3) - 0.3) * 8 + rs.standard_normal((12, 40, 44))
                    for _ in range(3)])
    h["/f32"] = (f32 * 1.37).astype(np.float32)
    y2 = np.stack([coarse((64, 72), 6) * 3000 + rs.randint(0, 700, (64, 72)) for _ in range(4)])
    h["/u16_2d"] = y2.astype(np.uint16)
PY

# ---- Configs. cfg NAME FILE DSET RANKS TILES DTYPE PIPELINE: one config, run on RANKS ranks.
NAMES=()
declare -A RANKS
cfg() {
    local name=$1 file=$2 dset=$3 n=$4 tiles=$5 dtype=$6 steps=$7 side
    for side in base cur simple; do
        mkdir -p "$T/$side"
        cat >"$T/$side/$name.yaml" <<YAML
input: {file: $file, dataset: $dset}
tiles: {shape: $tiles}
pipeline:
$steps
output: {file: $T/$side/$name.h5, dataset: /result, dtype: $dtype}
devices: any
YAML
    done
    NAMES+=("$name")
    RANKS[$name]=$n
}

# README's chain, saved intermediate steps, tiled.
cfg chain "$IN16" /raw 2 "[8, 24, 28]" auto \
'  - {op: gaussian_blur, sigma: [1, 2, 2], save: /blurred}
  - {op: top_hat_box, radius: [2, 5, 5], save: /tophat}
  - {op: threshold_fixed, threshold: 20}'
# Anisotropic and zero sigmas, r=1 mean, scalars, uint16 output (rounding, clamping at 0).
cfg gauss_u16out "$IN16" /raw 1 auto uint16 \
'  - {op: gaussian_blur, sigma: [1.5, 0, 0.7], save: /blur_z_x}
  - {op: gaussian_blur, sigma: [0, 1, 2.5], save: /blur_y_x}
  - {op: mean_box, radius: 1, save: /mean1}
  - {op: add_scalar, value: -150.25, save: /add}
  - {op: multiply_scalar, value: 3.3}'
# Radius (1, 1, 1): the fused r=1 kernels. (Steps are ordered so that no result is
# constant: a top-hat after an opening of the same radius, say, is all zero.)
cfg box_r1 "$IN16" /raw 2 "[7, 20, 23]" auto \
'  - {op: top_hat_box, radius: 1, save: /tophat1}
  - {op: mean_box, radius: 1, save: /mean1}
  - {op: minimum_box, radius: 1, save: /min1}
  - {op: maximum_box, radius: [1, 1, 1]}'
# Min/max/top-hat on uint16 data (they keep the input's dtype).
cfg morph_u16 "$IN16" /raw 1 auto auto \
'  - {op: maximum_box, radius: 1, save: /max1}
  - {op: minimum_box, radius: 1}'
cfg tophat_u16 "$IN16" /raw 2 "[10, 24, 28]" auto \
'  - {op: top_hat_box, radius: [0, 5, 5], save: /tophat055}
  - {op: top_hat_box, radius: 1}'
# Radii <= 4, not all 1 (anisotropic, zero): the fused general kernels; float32 output.
cfg box_small "$IN16" /raw 1 auto float32 \
'  - {op: minimum_box, radius: [1, 2, 3], save: /min123}
  - {op: maximum_box, radius: [1, 2, 3], save: /max123}
  - {op: mean_box, radius: [1, 2, 3], save: /mean123}
  - {op: maximum_box, radius: [0, 4, 1], save: /max041}
  - {op: mean_box, radius: [4, 0, 2], save: /mean402}
  - {op: top_hat_box, radius: [2, 1, 4]}'
# Radii > 4 on some axis: the separable path; tiled on 2 ranks (wide halos).
cfg box_large "$IN16" /raw 2 "[10, 24, 28]" auto \
'  - {op: minimum_box, radius: [0, 5, 5], save: /min055}
  - {op: mean_box, radius: [1, 2, 6], save: /mean126}
  - {op: maximum_box, radius: [5, 7, 6]}'
# Scalars into uint8 (rounding, clamping both ways).
cfg scalars_u8 "$IN16" /raw 2 "[10, 24, 28]" uint8 \
'  - {op: add_scalar, value: 10.5, save: /add}
  - {op: multiply_scalar, value: 0.37, save: /mul}
  - {op: add_scalar, value: -40.5}'
# z-projection in a chain (whole z columns per tile), uint16 output.
cfg proj "$IN16" /raw 2 "[20, 24, 28]" uint16 \
'  - {op: gaussian_blur, sigma: 1}
  - {op: maximum_z_projection, save: /projected}
  - {op: top_hat_box, radius: [1, 3, 3], save: /tophat}
  - {op: multiply_scalar, value: 2}'
cfg proj_raw "$IN16" /raw 1 auto auto \
'  - {op: maximum_z_projection, save: /projected}
  - {op: threshold_fixed, threshold: 300}'
# uint8 input.
cfg u8_ops "$INX" /u8 2 "[6, 20, 22]" auto \
'  - {op: minimum_box, radius: 1, save: /min1}
  - {op: maximum_box, radius: [1, 2, 3], save: /max123}
  - {op: top_hat_box, radius: [0, 5, 5], save: /tophat055}
  - {op: gaussian_blur, sigma: [1, 1, 1], save: /blurred}
  - {op: threshold_fixed, threshold: 20}'
cfg u8_proj "$INX" /u8 1 auto float32 \
'  - {op: maximum_z_projection, save: /projected}
  - {op: mean_box, radius: [0, 2, 2]}'
# float32 input (negative values).
cfg f32_ops "$INX" /f32 2 "[5, 16, 18]" auto \
'  - {op: gaussian_blur, sigma: [0.8, 1.2, 3], save: /blurred}
  - {op: mean_box, radius: [2, 2, 2], save: /mean2}
  - {op: minimum_box, radius: 1, save: /min1}
  - {op: maximum_box, radius: [0, 6, 5], save: /max065}
  - {op: top_hat_box, radius: [1, 2, 2], save: /tophat}
  - {op: multiply_scalar, value: -1.5, save: /mul}
  - {op: threshold_fixed, threshold: -0.1}'
cfg f32_u16out "$INX" /f32 1 auto uint16 \
'  - {op: multiply_scalar, value: 3000, save: /mul}
  - {op: add_scalar, value: 0.5}'
# [t, y, x] input.
cfg yx_ops "$INX" /u16_2d 2 "[1, 20, 24]" auto \
'  - {op: gaussian_blur, sigma: [0, 1.5, 2], save: /blurred}
  - {op: mean_box, radius: [3, 1, 1], save: /mean311}
  - {op: top_hat_box, radius: [0, 3, 3], save: /tophat}
  - {op: maximum_box, radius: [1, 6, 2], save: /max162}
  - {op: threshold_fixed, threshold: 150}'
cfg yx_proj "$INX" /u16_2d 1 auto uint8 \
'  - {op: maximum_z_projection, save: /projected}
  - {op: minimum_box, radius: 2, save: /min2}
  - {op: multiply_scalar, value: 0.05}'

# Configs also run by the current binary with LAPSE_KERNELS=simple (against the base default).
SIMPLE=(chain box_r1 box_small box_large)

# ---- Runs. lapse_as BIN SIDE NAME: run $T/SIDE/NAME.yaml with binary BIN.
lapse_as() {
    local LAPSE=$1
    lapse_run "${RANKS[$3]}" "$T/$2/$3.yaml"
}
PAIRS=()
for name in "${NAMES[@]}"; do
    note "$name (${RANKS[$name]} ranks): base, current"
    lapse_as "$BASE" base "$name"
    lapse_as "$CUR" cur "$name"
    PAIRS+=("$name" "$T/base/$name.h5" "$T/cur/$name.h5")
done
for name in "${SIMPLE[@]}"; do
    note "$name (${RANKS[$name]} ranks): current with LAPSE_KERNELS=simple"
    LAPSE_KERNELS=simple lapse_as "$CUR" simple "$name"
    PAIRS+=("${name}[LAPSE_KERNELS=simple]" "$T/base/$name.h5" "$T/simple/$name.h5")
done

# ---- Compare: every dataset outside /lapse, bit for bit; base datasets must not be constant.
"$LAPSE_PY" - "${PAIRS[@]}" <<'PY' || fail "the current lapse differs from base $BASE_REF ($BASE_COMMIT), see above"
import sys, h5py, numpy as np

def datasets(f):
    out = []
    f.visititems(lambda n, o: out.append("/" + n) if isinstance(o, h5py.Dataset)
                 and n != "lapse" and not n.startswith("lapse/") else None)
    return sorted(out)

bad = 0
args = sys.argv[1:]
for i in range(0, len(args), 3):
    label, pa, pb = args[i:i + 3]
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        da, db = datasets(fa), datasets(fb)
        if da != db:
            print("MISMATCH %s: datasets differ: base %s, current %s" % (label, da, db))
            bad += 1
            continue
        for d in da:
            a, b = fa[d][()], fb[d][()]
            what = "%s %s:" % (label, d)
            if a.dtype != b.dtype or a.shape != b.shape:
                print("MISMATCH %s base %s %s, current %s %s" % (what, a.dtype, a.shape,
                                                                 b.dtype, b.shape))
                bad += 1
                continue
            if a.size == 0 or a.min() == a.max():
                print("VACUOUS %s the base result is constant (pick other parameters)" % what)
                bad += 1
                continue
            u = np.dtype("u%d" % a.dtype.itemsize)
            ne = a.view(u) != b.view(u)
            n = int(np.count_nonzero(ne))
            if n:
                fa64, fb64 = a[ne].astype(np.float64), b[ne].astype(np.float64)
                diff = np.abs(fa64 - fb64)
                diff[np.isnan(fa64) != np.isnan(fb64)] = np.inf
                first = tuple(int(k) for k in np.argwhere(ne)[0])
                print("MISMATCH %s %d of %d voxels differ, max abs difference %g; first at %s: "
                      "base %r, current %r" % (what, n, a.size, np.nanmax(diff), list(first),
                                                a[first].item(), b[first].item()))
                bad += 1
            else:
                print("same %s %s %s" % (what, a.dtype, a.shape))
sys.exit(1 if bad else 0)
PY
echo "PASS ($TEST_NAME)"
