#!/usr/bin/python3
"""stale_eoa.py - make a finished compressed lapse output look like one whose run was killed
while HDF5 was writing a round's metadata: the chunk index locates chunks beyond the end of
allocation (EOA) that the superblock records.

Usage: stale_eoa.py OUT.h5 [--tasks K] [--unwritten] [--keep-marks]

Parallel HDF5 writes a round's metadata (the chunk index, the superblock with the EOA) from
several ranks; a SIGKILL in the middle can leave index entries of that round in the file while
the superblock still holds the previous round's EOA (seen in CI: docs/testing.md). Those tasks
are not marked done (marks come after the round's flush). This helper makes that state from a
finished output whose file ends at its EOA:
  1. takes the last K tasks (default 3) in (timepoint, tile) order;
  2. for every chunk of theirs in the data datasets (every dataset outside /lapse), appends a
     copy of its bytes at the end of the file and points the chunk's entry in the dataset's
     version 1 B-tree index to the copy (the entry is found by its key: chunk size, filter mask
     and chunk offset, followed by the chunk's address);
  3. marks those tasks not done in /lapse/done.
With --unwritten the entries point to the same places but nothing is written there: the index
locates chunks beyond the file's end, as a node crash can leave it (index pages on disk, the
chunks' pages lost). lapse does not handle that state (docs/reliability.md); the option is there
to show it. With --keep-marks the K tasks stay marked done: finished results that a node crash
made unreadable (what `lapse verify` finds and `lapse verify --repair` unmarks).
The superblock is untouched, so the copies lie beyond its EOA: the file opens, the marked tasks
read back as before and the K tasks' chunks cannot be read ("addr overflow"). A resume must not
hand out that file space again while the index locates chunks there.
Prints "stale_eoa: N chunks of K tasks beyond the EOA E, up to X (file end F)". Exit 0; 1 when the file
does not qualify (its end is not its EOA, chunks not one per task core, an entry not found
exactly once); 2 bad usage.
"""

import argparse
import os
import struct
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lapse_layout as L  # noqa: E402
from h5same import data_datasets  # noqa: E402


def eoa_of(path):
    """The EOA of a version 2 or 3 superblock with 8-byte addresses, else None."""
    with open(path, "rb") as f:
        sb = f.read(48)
    if sb[:8] != b"\x89HDF\r\n\x1a\n" or sb[8] < 2 or sb[9] != 8:
        return None
    return struct.unpack("<Q", sb[28:36])[0]


def task_chunks(h, tasks, tile):
    """[(path, chunk info)] of every chunk of the data datasets that holds one of tasks, a set of
    (t, tile number); None when a dataset's chunks are not one per task core."""
    out = []
    for p in data_datasets(h):
        d = h[p]
        if d.ndim != 4 or d.chunks is None or d.chunks[0] != 1 or list(d.chunks[1:]) != tile:
            print("stale_eoa: %s: chunks %s are not one per task core %s" % (p, d.chunks, tile))
            return None
        grid = [-(-d.shape[k + 1] // tile[k]) for k in range(3)]
        for i in range(d.id.get_num_chunks()):
            ci = d.id.get_chunk_info(i)
            iz, iy, ix = (ci.chunk_offset[k + 1] // tile[k] for k in range(3))
            if (ci.chunk_offset[0], (iz * grid[1] + iy) * grid[2] + ix) in tasks:
                out.append((p, ci))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tasks", type=int, default=3)
    ap.add_argument("--unwritten", action="store_true")
    ap.add_argument("--keep-marks", action="store_true")
    a = ap.parse_args()
    if a.tasks < 1:
        ap.error("--tasks must be at least 1")
    eoa = eoa_of(a.out)
    if eoa is None or eoa != os.path.getsize(a.out):
        print("stale_eoa: %s: EOA %s is not the file's end" % (a.out, eoa))
        return 1
    with h5py.File(a.out, "r+") as h:
        done = h[L.DONE]
        tile = [int(v) for v in done.attrs[L.DONE_TILE_ATTR]][:3]
        nt, ntiles = done.shape
        tasks = {divmod(i, ntiles) for i in range(nt * ntiles - a.tasks, nt * ntiles)}
        chunks = task_chunks(h, tasks, tile)
        if not chunks:
            return 1
        if not a.keep_marks:
            marks = done[...]
            for t, tl in tasks:
                marks[t, tl] = L.MARK_PENDING
            done[...] = marks
    if os.path.getsize(a.out) != eoa or eoa_of(a.out) != eoa:
        print("stale_eoa: unmarking the tasks moved the file's end")
        return 1
    with open(a.out, "r+b") as f:
        image = f.read()
        end = len(image)
        for p, ci in chunks:
            key = struct.pack("<II", ci.size, ci.filter_mask)
            key += b"".join(struct.pack("<Q", v) for v in tuple(ci.chunk_offset) + (0,))
            entry = key + struct.pack("<Q", ci.byte_offset)
            at = image.find(entry)
            if at < 0 or image.find(entry, at + 1) >= 0:
                print("stale_eoa: %s %s: index entry found %s" % (p, ci.chunk_offset, "never" if at < 0 else "twice"))
                return 1
            if not a.unwritten:
                f.seek(end)
                f.write(image[ci.byte_offset : ci.byte_offset + ci.size])
            f.seek(at + len(key))
            f.write(struct.pack("<Q", end))
            end += ci.size
    print(
        "stale_eoa: %d chunks of %d tasks beyond the EOA %d, up to %d (file end %d)"
        % (len(chunks), len(tasks), eoa, end, os.path.getsize(a.out))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
