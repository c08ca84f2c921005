#!/usr/bin/python3
"""input_fixtures.py - files for the input layouts test (tests/unit/test_reader_inputs.c).

Usage: input_fixtures.py DIR

Written with tifffile, h5py and numpy; values from the same formula as the C test:
    v(t, c, z, y, x) = (t*7 + c*11 + z*5 + y*3 + x) % 251
shape z=4, y=37, x=45 unless said otherwise. Good files:
    ij_zcyx.tif      ImageJ hyperstack ZCYX uint16, 3 channels, t=1 (planes c fastest)
    ij_tzcyx.tif     ImageJ hyperstack TZCYX uint8, t=2, 2 channels
    ome_tczyx.ome.tif  OME-TIFF TCZYX uint16 (DimensionOrder XYZCT), t=2, 3 channels,
                     PhysicalSizeX/Y 0.25 um, PhysicalSizeZ 2 um
    ij_spacing.tif   ImageJ ZYX uint16, unit=micron, spacing=1.5, resolution 4 px/um (0.25 um)
    i16.tif          int16 ZYX, v - 100 (negative values)
    ij_s16.tif       ImageJ ZYX uint16 pages v - 100 + 32768 with ImageJ's signed 16-bit
                     calibration (cf=0, c0=-32768, c1=1): Fiji's values are i16.tif's
    ij_cal.tif       the same pages with another calibration (c0=10, c1=2): not applied
    ij_one.tif       ImageJ TZYX uint16 [3, 4, 37, 45] with one IFD (as ImageJ writes stacks
                     beyond 4 GiB; tifffile truncate=True): the planes follow page 0's data
    ij_one_be.tif    the same, big-endian (ImageJ's byte order), float32 v / 4
    ij_one_cut.tif   ij_one.tif less its last 100 bytes: refused (truncated)
    ome_series.ome.tif  an OME-TIFF of two images (series): refused, naming the series
    ij_one_ifd.tif   one page written data first, IFD after (libtiff's order), images=3, padded
                     to 3 planes: refused (its IFD lies among the planes)
    u32.tif          uint32 ZYX, v * 100000 + 7 (beyond 2^24: float32 rounds)
    f64.tif          float64 ZYX, v / 3 + 1e-12
    d.h5             /tczyx uint16 [2, 3, 4, 37, 45] with element_size_um [2, 0.5, 0.25];
                     /i16 /u32 /f64 [2, 4, 37, 45] (formulas as the TIFF ones, c = 0)
    bdv.h5           BigDataViewer layout: 2 setups, 3 timepoints, /tT/sS/0/cells int16 holding
                     v * 200 + 5 as uint16 bits (above 32767 for most voxels), levels 0 and 1;
                     setup 1 says dataType "uint16" (BigDataViewer 10.4.6+), setup 0 nothing
    bdv_i16.h5       BigDataViewer, 1 setup, 3 timepoints, int16 cells v * 200 - 20000 (signed)
                     with dataType "int16": read as int16, as BigDataViewer 10.4.6+ does
    bdv_types.h5     refused: t00001's cells float32 where t00000's are int16
    tp/tp_0.tif ... tp/tp_11.tif   one ZYX uint16 file per timepoint (natural order)
Bad sets (one directory each):
    gap/       tp_0, tp_1, tp_3            (tp_2 missing)
    extra/     tp_0, tp_1, tp_x            (a file without a number)
    dup/       tp_1, tp_01                 (two files for timepoint 1)
    shape/     tp_0, tp_1 (y = 36)         (a file of another shape)
    multi/     tp_0, tp_1 (each 2 timepoints)
"""
import os
import sys

import h5py
import numpy as np
import tifffile


def vals(t, c, z, y, x):
    """v over the grid [t, c, z, y, x] (as int64)."""
    T, C, Z, Y, X = np.meshgrid(np.arange(t), np.arange(c), np.arange(z), np.arange(y),
                                np.arange(x), indexing="ij")
    return (T * 7 + C * 11 + Z * 5 + Y * 3 + X) % 251


def main():
    d = sys.argv[1]
    p = lambda n: os.path.join(d, n)  # noqa: E731
    v = vals(2, 3, 4, 37, 45)  # T C Z Y X

    tifffile.imwrite(p("ij_zcyx.tif"), v[0].transpose(1, 0, 2, 3).astype(np.uint16), imagej=True,
                     metadata={"axes": "ZCYX"})
    tifffile.imwrite(p("ij_tzcyx.tif"), v[:, :2].transpose(0, 2, 1, 3, 4).astype(np.uint8),
                     imagej=True, metadata={"axes": "TZCYX"})
    tifffile.imwrite(p("ome_tczyx.ome.tif"), v.astype(np.uint16), ome=True,
                     metadata={"axes": "TCZYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25,
                               "PhysicalSizeZ": 2.0})
    tifffile.imwrite(p("ij_spacing.tif"), v[0, 0].astype(np.uint16), imagej=True,
                     resolution=(4.0, 4.0),
                     metadata={"axes": "ZYX", "unit": "micron", "spacing": 1.5})
    z = v[0, 0]
    plain = dict(metadata=None, photometric="minisblack")
    tifffile.imwrite(p("i16.tif"), (z - 100).astype(np.int16), **plain)
    with tifffile.TiffWriter(p("ome_series.ome.tif"), ome=True) as tw:
        tw.write(vals(1, 1, 4, 37, 45)[0, 0].astype(np.uint16), metadata={"axes": "ZYX"})
        tw.write(vals(1, 1, 2, 37, 45)[0, 0].astype(np.uint16), metadata={"axes": "ZYX"})
    # ij_one_ifd.tif by hand: header, plane 0, the IFD, its description, padding to 3 planes
    import struct
    ny, nx = 37, 45
    plane = vals(1, 1, 1, ny, nx)[0, 0, 0].astype("<u2").tobytes()
    desc = b"ImageJ=1.53c\nimages=3\nslices=3\nloop=false\n\0"
    ifd_at = 8 + len(plane)
    tags = [(256, 4, 1, nx), (257, 4, 1, ny), (258, 3, 1, 16), (259, 3, 1, 1), (262, 3, 1, 1),
            (270, 2, len(desc), ifd_at + 2 + 10 * 12 + 4), (273, 4, 1, 8), (277, 3, 1, 1),
            (278, 4, 1, ny), (279, 4, 1, len(plane))]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *t) for t in tags)
    ifd += struct.pack("<I", 0)
    body = b"II*\0" + struct.pack("<I", ifd_at) + plane + ifd + desc
    with open(p("ij_one_ifd.tif"), "wb") as f:
        f.write(body + b"\0" * max(0, 8 + 3 * len(plane) + 64 - len(body)))
    one = vals(3, 1, 4, 37, 45)[:, 0]  # T Z Y X
    tifffile.imwrite(p("ij_one.tif"), one.astype(np.uint16), imagej=True, truncate=True,
                     metadata={"axes": "TZYX"})
    tifffile.imwrite(p("ij_one_be.tif"), (one / 4).astype(np.float32), imagej=True,
                     truncate=True, byteorder=">", metadata={"axes": "TZYX"})
    with open(p("ij_one.tif"), "rb") as f:
        whole = f.read()
    with open(p("ij_one_cut.tif"), "wb") as f:
        f.write(whole[:-100])
    for name, cal in (("ij_s16.tif", "cf=0\nc0=-32768.0\nc1=1.0\nvunit=Gray Value\n"),
                      ("ij_cal.tif", "cf=0\nc0=10.0\nc1=2.0\nvunit=nM\n")):
        tifffile.imwrite(p(name), (z - 100 + 32768).astype(np.uint16), **plain,
                         description="ImageJ=1.53c\nimages=4\nslices=4\n" + cal + "loop=false\n")
    tifffile.imwrite(p("u32.tif"), (z * 100000 + 7).astype(np.uint32), **plain)
    tifffile.imwrite(p("f64.tif"), (z / 3 + 1e-12).astype(np.float64), **plain)

    with h5py.File(p("d.h5"), "w") as f:
        ds = f.create_dataset("tczyx", data=v.astype(np.uint16))
        ds.attrs["element_size_um"] = np.array([2.0, 0.5, 0.25])
        t0 = v[:, 0]
        f.create_dataset("i16", data=(t0 - 100).astype(np.int16))
        f.create_dataset("u32", data=(t0 * 100000 + 7).astype(np.uint32))
        f.create_dataset("f64", data=(t0 / 3 + 1e-12).astype(np.float64))

    bv = vals(3, 2, 4, 37, 45) * 200 + 5  # T S Z Y X, up to 50005: beyond int16
    with h5py.File(p("bdv.h5"), "w") as f:
        for s in range(2):
            f.create_dataset("s%02d/resolutions" % s, data=np.array([[1, 1, 1], [2, 2, 1]], float))
            f.create_dataset("s%02d/subdivisions" % s, data=np.array([[16, 16, 4], [16, 16, 4]]))
        for t in range(3):
            for s in range(2):
                cells = bv[t, s].astype(np.uint16).view(np.int16)
                f.create_dataset("t%05d/s%02d/0/cells" % (t, s), data=cells, chunks=(4, 16, 16))
                f.create_dataset("t%05d/s%02d/1/cells" % (t, s), data=cells[:, ::2, ::2])
        f["s01"].attrs["dataType"] = np.bytes_(b"uint16")
    with h5py.File(p("bdv_i16.h5"), "w") as f:
        f.create_dataset("s00/resolutions", data=np.array([[1, 1, 1]], float))
        f.create_dataset("s00/subdivisions", data=np.array([[16, 16, 4]]))
        f["s00"].attrs["dataType"] = np.bytes_(b"int16")
        for t in range(3):
            f.create_dataset("t%05d/s00/0/cells" % t, data=(bv[t, 0] - 20005).astype(np.int16))
    with h5py.File(p("bdv_types.h5"), "w") as f:
        f.create_dataset("s00/resolutions", data=np.array([[1, 1, 1]], float))
        f.create_dataset("s00/subdivisions", data=np.array([[16, 16, 4]]))
        for t in range(2):
            cells = bv[t, 0].astype(np.uint16).view(np.int16)
            f.create_dataset("t%05d/s00/0/cells" % t, data=cells.astype(np.float32) if t else cells)

    # refused: a gap in the timepoints (t00001 missing), a timepoint of another extent
    for name, tps, odd in (("bdv_gap.h5", (0, 2), None), ("bdv_extent.h5", (0, 1, 2), 1)):
        with h5py.File(p(name), "w") as f:
            f.create_dataset("s00/resolutions", data=np.array([[1, 1, 1]], float))
            f.create_dataset("s00/subdivisions", data=np.array([[16, 16, 4]]))
            for t in tps:
                cells = bv[t, 0].astype(np.uint16).view(np.int16)
                f.create_dataset("t%05d/s00/0/cells" % t, data=cells[:, :-1] if t == odd else cells)

    def tp(sub, names, arr=None):
        os.makedirs(p(sub), exist_ok=True)
        for i, n in enumerate(names):
            a = vals(12, 1, 4, 37, 45)[i, 0] if arr is None else arr(i)
            tifffile.imwrite(os.path.join(p(sub), n), a.astype(np.uint16), **plain)

    tp("tp", ["tp_%d.tif" % i for i in range(12)])
    tp("gap", ["tp_0.tif", "tp_1.tif", "tp_3.tif"])
    tp("extra", ["tp_0.tif", "tp_1.tif", "tp_x.tif"])
    tp("dup", ["tp_1.tif", "tp_01.tif"])
    tp("shape", ["tp_0.tif", "tp_1.tif"], lambda i: vals(1, 1, 4, 37 - i, 45)[0, 0])
    os.makedirs(p("multi"), exist_ok=True)
    for i in range(2):
        tifffile.imwrite(os.path.join(p("multi"), "tp_%d.tif" % i),
                         vals(2, 1, 4, 37, 45)[:, 0].astype(np.uint16), imagej=True,
                         metadata={"axes": "TZYX"})


if __name__ == "__main__":
    main()
