#!/usr/bin/env bash
# Run from the repository root on the GPU machine:  source .gpu/env.sh; bash gpu-bin-zstd/sweep.sh
# standard_deviation_z_projection: lapse_zstd_l (old default) against lapse_zstd_p (branch h-zstd)
# in several geometries; sum_z_projection is the read-bound reference. Per configuration: a "=="
# header, then "operation,median_ms,min_ms,ratio_to_copy,bits_same" rows and a "#" line naming
# the kernel that ran (and lapse_zstd_p's work-groups: 132 CUs x groups per CU).
B=${B:-gpu-bin-zstd/bench_kernels}
SHAPE=${SHAPE:-256,1024,1024}
export LD_LIBRARY_PATH=$PWD/gpu-bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
run() {
    echo "== $*"
    env "$@" "$B" --shape "$SHAPE" --device-kind gpu --variant tiled --ops zstd,zsum 2>&1 |
        awk -F, '/^csv,/ && $4 != "operation" {print $4 "," $6 "," $7 "," $9 "," $11; next}
                 /^#/ || /rror|bench_kernels:/ {print}'
}
run LAPSE_ZSTD_KERNEL=l                                   # old default: C 32, R 8, U 32, V 5
run LAPSE_ZSTD_KERNEL=p                                   # new default: C 16, R 8, U 16, V 5, PF 1, G 6
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_PF=0                   # no prefetch across the barrier
for g in 2 3 4 5 7 8; do run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_G=$g; done
for g in 4 7; do run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_PF=0 LAPSE_ZSTD_G=$g; done
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_R=4 LAPSE_ZSTD_U=32    # one round, fewer loaders
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_R=2 LAPSE_ZSTD_U=64
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_R=6 LAPSE_ZSTD_U=22
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_R=16 LAPSE_ZSTD_U=8    # 544 work-items: G 3 by default
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_R=16 LAPSE_ZSTD_U=8 LAPSE_ZSTD_G=2
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_R=8 LAPSE_ZSTD_U=8     # two rounds per block
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_C=8 LAPSE_ZSTD_R=4 LAPSE_ZSTD_U=16   # 2 x 8 KiB: G 12 by default
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_C=8 LAPSE_ZSTD_R=4 LAPSE_ZSTD_U=16 LAPSE_ZSTD_G=8
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_C=8 LAPSE_ZSTD_R=2 LAPSE_ZSTD_U=32 LAPSE_ZSTD_G=10
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_V=3
run LAPSE_ZSTD_KERNEL=p LAPSE_ZSTD_V=8
run LAPSE_ZSTD_KERNEL=p LAPSE_NV_MAXRREG=32               # registers for 6-7 groups of 288
run LAPSE_ZSTD_KERNEL=p LAPSE_NV_MAXRREG=32 LAPSE_ZSTD_G=7
run LAPSE_ZSTD_KERNEL=p LAPSE_NV_MAXRREG=0                # no register cap
run LAPSE_ZSTD_KERNEL=l                                   # again, for drift
run LAPSE_ZSTD_KERNEL=p
