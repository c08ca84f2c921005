#!/usr/bin/env bash
# Run AS: lapse_geom_affine_c (copied-axis sampler) against the default kernels, with peers.
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/gpu-bin/lib:$LD_LIBRARY_PATH
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/device.txt 2>&1
gpu-bin/test_variants > $OUT/variants.txt 2>&1; echo "test_variants rc=$?" >> $OUT/variants.txt
B="gpu-bin/bench_kernels --shape 256,1024,1024 --device-kind gpu --variant tiled"
for cj in 0 8 1 2 4 16 32 64 8 0; do
  echo "== LAPSE_GEOM_CJ=$cj"; LAPSE_GEOM_CJ=$cj $B --ops roty30,rotz30,affine,resample05 2>&1 | grep -vE "^(GB/s|device)"
done > $OUT/cj.txt 2>&1
pip install -q --target /tmp/site .whl/*.whl > $OUT/pip.txt 2>&1
export PYTHONPATH=/tmp/site
OPS=rotate_z30 timeout 300 python3 .peer/peer_ops.py cupy opencl cuda > $OUT/peers.txt 2>&1
OPS=roty30 timeout 300 python3 bench/peer_ops_more.py cupy opencl cuda > $OUT/peers_more.txt 2>&1
for cj in 8 0; do
  echo "== LAPSE_GEOM_CJ=$cj (after the peers)"; LAPSE_GEOM_CJ=$cj $B --ops roty30,rotz30 2>&1 | grep -vE "^(GB/s|device)"
done >> $OUT/cj.txt 2>&1
tail -3 $OUT/variants.txt; cat $OUT/cj.txt; grep -E "rotate|roty|cuda device" $OUT/peers*.txt
