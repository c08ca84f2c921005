#!/usr/bin/env bash
# wm_probe.sh - bench/write_modes.c's table in docs/io.md: N processes writing 2.7 GB (20 tasks
# of 128 MiB) into one file by each mode, or into one file per process, at 1, 2, 4 and 8
# processes, in pieces of 1 and 128 MiB. Run from the repository root on the machine to measure,
# with the binary in $BIN (default gpu-bin); files go to $DIR (default /tmp, the file system the
# benchmarks write to). One line per mode and count.
set -u
W=${BIN:-gpu-bin}/write_modes
D=${DIR:-/tmp}
uname -r
df -T "$D" | tail -1
sync
for np in 1 2 4 8; do "$W" "$D" "$np" 20 128 1 pwrite falloc-pwrite mmap-pop direct falloc-direct files; done
"$W" "$D" 4 20 128 128 pwrite falloc-pwrite mmap mmap-pop files
