#!/usr/bin/env bash
# deps.sh - install what lapse needs to build and test on Debian 12 / Ubuntu (idempotent).
# Builds: Open MPI, parallel HDF5, the OpenCL ICD loader + headers, libyaml, libtiff, c-blosc (Zarr
# input, output.compression: blosc) and zlib (Zarr input), Check.
# Runs tests: PoCL (OpenCL on the CPU), clinfo, hdf5-tools, clang + libclang-rt (tools/fuzz.sh),
# clang-format (tests/unit/format.sh), clang-tools (scan-build: tools/ci-extra.sh analyze),
# valgrind (tests/valgrind), strace (test_grow: fsync before rename), and Debian's Python 3 with
# h5py, NumPy, SciPy, scikit-image and zarr, used as /usr/bin/python3 (the reference
# implementations in tests/py), and matplotlib for the plots of `lapse report` and `lapse compare`
# (tools/lapse_report.py, tools/lapse_compare.py).
set -euo pipefail
pkgs=(build-essential cmake pkg-config git
      openmpi-bin libopenmpi-dev
      libhdf5-openmpi-dev hdf5-tools
      ocl-icd-opencl-dev opencl-headers ocl-icd-libopencl1 pocl-opencl-icd clinfo
      libyaml-dev libtiff-dev libblosc-dev zlib1g-dev check clang clang-format clang-tools libclang-rt-14-dev
      valgrind strace
      python3 python3-numpy python3-h5py python3-scipy python3-skimage python3-yaml python3-tifffile
      python3-zarr python3-numcodecs python3-matplotlib slurm-wlm munge)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
