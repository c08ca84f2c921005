#!/usr/bin/python3
"""tiff_fixtures.py - small TIFF files for the TIFF reader's unit test (tests/unit/test_reader_tiff.c).

Usage: tiff_fixtures.py DIR

Written with tifffile, values from the same formula as the C test:
    v(t, z, y, x) = (t*7 + z*5 + y*3 + x) % 251   (float32 files: v / 4 + 0.25)
Good files:
    plain.tif      multi-page, ZYX uint16 (4, 37, 45), 5 rows per strip   -> [1, 4, 37, 45]
    ij_tzyx.tif    ImageJ hyperstack TZYX uint16 (3, 4, 37, 45)           -> [3, 4, 37, 45]
    ij_tyx.tif     ImageJ TYX uint8 (5, 37, 45), frames only              -> [5, 37, 45]
    big.tif        BigTIFF, tiled 16x16, zlib, ZYX float32 (3, 37, 45)    -> [1, 3, 37, 45]
    ome_tzyx.ome.tif  OME-TIFF TZYX uint16 (2, 3, 37, 45) (XYCZT)         -> [2, 3, 37, 45]
    ome_ztyx.ome.tif  OME-TIFF ZTYX uint8 (3, 2, 37, 45) (XYCTZ)          -> [2, 3, 37, 45]
    bigendian.tif  multi-page big-endian ZYX uint16 (2, 37, 45)           -> [1, 2, 37, 45]
    tiff_named.dat plain.tif's bytes under a name no backend claims
  tifffile's default JSON description ({"shape": [...], "axes": "..."}, imwrite without imagej/ome):
    json_tzyx.tif  TZYX uint16 (3, 4, 37, 45)                             -> [3, 4, 37, 45]
    json_tyx.tif   TYX uint8 (5, 37, 45)                                  -> [5, 37, 45]
    zlib_tzyx.tif  TZYX uint16 (3, 4, 37, 45), zlib, 5 rows per strip     -> [3, 4, 37, 45]
    zlib_bad.tif   zlib_tzyx.tif with page 1's strip 2 garbled (a read of it fails)
    json_zcyx.tif  ZCYX uint16 (4, 2, 37, 45), channel c holds v + 100*c  -> [1, 4, 37, 45] a channel
    json_ctzyx.tif "ctzyx" (lower case) uint16 (2, 2, 3, 37, 45), v + 100*c -> [2, 3, 37, 45] a channel
    json_shape3.tif  shape only [4, 37, 45]: a plain multi-page file       -> [1, 4, 37, 45]
Bad files (the probe must refuse them, saying why):
    channels.tif   ImageJ TZCYX with 2 channels (refused without input.channel)
    int8.tif       int8 pages
    rgb.tif        3 samples per pixel
    mismatch.tif   ImageJ description frames=3 slices=2 over 4 pages
    ome_mismatch.ome.tif  OME-XML SizeZ=3 over 2 pages
    codec.tif      Compression tag set to 65000 (no such codec)
    bomb.tif       a zlib strip of 1 x 70000 float64 zeros whose ImageWidth says 2^28: the strip
                   would decode to 2 GiB (a decompression bomb of a 1 KB file)
    mixed.tif      pages of different sizes
    truncated.tif  plain.tif cut in half
    short_data.tif plain.tif with a page's last strip running past the file's end
    text.tif       a text file
    fifo           a FIFO without a suffix (the sniff must not open it: that would block)
    json_shape4.tif  shape only [3, 4, 37, 45]: two page axes, no "axes"
    json_shape1x4.tif  shape only [1, 4, 37, 45] (tifffile's imwrite(a[None])): one page axis
                   of more than one plane, read as json_shape3.tif
    json_q.tif     axes "QYX" (a letter lapse does not read)
    json_dup.tif   axes "ZZYX"
    json_yzx.tif   axes "YZX" (not ending in YX)
    json_count.tif shape [3, 5, 37, 45] "TZYX" over 4 pages
    json_size.tif  shape [4, 45, 37] "ZYX" over 4 pages of 37x45
"""
import struct
import os
import sys

import numpy as np
import tifffile


def vals(t, z, y, x):
    """v over the grid [t, z, y, x] (as int64)."""
    T, Z, Y, X = np.meshgrid(np.arange(t), np.arange(z), np.arange(y), np.arange(x), indexing="ij")
    return (T * 7 + Z * 5 + Y * 3 + X) % 251


def main():
    d = sys.argv[1]
    p = lambda n: os.path.join(d, n)  # noqa: E731
    v = vals(3, 4, 37, 45)
    tifffile.imwrite(p("plain.tif"), v[0].astype(np.uint16), rowsperstrip=5, metadata=None, photometric="minisblack")
    tifffile.imwrite(p("ij_tzyx.tif"), v.astype(np.uint16), imagej=True, metadata={"axes": "TZYX"})
    v5 = vals(5, 1, 37, 45)[:, 0]
    tifffile.imwrite(p("ij_tyx.tif"), v5.astype(np.uint8), imagej=True, metadata={"axes": "TYX"})
    f = (vals(1, 3, 37, 45)[0] / 4 + 0.25).astype(np.float32)
    tifffile.imwrite(p("big.tif"), f, bigtiff=True, tile=(16, 16), compression="zlib", metadata=None, photometric="minisblack")
    o = vals(2, 3, 37, 45)
    tifffile.imwrite(p("ome_tzyx.ome.tif"), o.astype(np.uint16), ome=True, metadata={"axes": "TZYX"})
    tifffile.imwrite(p("ome_ztyx.ome.tif"), o.transpose(1, 0, 2, 3).astype(np.uint8), ome=True,
                     metadata={"axes": "ZTYX"})
    tifffile.imwrite(p("bigendian.tif"), v[0, :2].astype(">u2"), byteorder=">", metadata=None, photometric="minisblack")
    with open(p("plain.tif"), "rb") as src, open(p("tiff_named.dat"), "wb") as dst:
        dst.write(src.read())

    c = np.stack([v[:2], v[:2]], axis=2).astype(np.uint16)  # T Z C Y X
    tifffile.imwrite(p("channels.tif"), c, imagej=True, metadata={"axes": "TZCYX"})
    tifffile.imwrite(p("int8.tif"), v[0].astype(np.int8), metadata=None, photometric="minisblack")
    tifffile.imwrite(p("rgb.tif"), np.zeros((37, 45, 3), np.uint8), photometric="rgb",
                     metadata=None)
    tifffile.imwrite(p("mismatch.tif"), v[0].astype(np.uint16), metadata=None, photometric="minisblack",
                     description="ImageJ=1.11a\nimages=6\nslices=2\nframes=3\n")
    tifffile.imwrite(p("ome_mismatch.ome.tif"), o[0, :2].astype(np.uint16), metadata=None, photometric="minisblack",
                     description='<?xml version="1.0"?><OME><Image ID="Image:0"><Pixels '
                                 'DimensionOrder="XYZCT" Type="uint16" SizeX="45" SizeY="37" '
                                 'SizeC="1" SizeZ="3" SizeT="1"/></Image></OME>')
    tifffile.imwrite(p("codec.tif"), v[0].astype(np.uint16), metadata=None, photometric="minisblack")
    with tifffile.TiffFile(p("codec.tif"), mode="r+b") as t:
        t.pages[0].tags["Compression"].overwrite(65000)
    tifffile.imwrite(p("bomb.tif"), np.zeros((1, 70000)), compression="zlib", metadata=None,
                     photometric="minisblack")
    with tifffile.TiffFile(p("bomb.tif"), mode="r+b") as t:  # its one strip now claims 2 GiB
        t.pages[0].tags["ImageWidth"].overwrite(2**28)
    with tifffile.TiffWriter(p("mixed.tif")) as w:
        w.write(v[0, 0].astype(np.uint16), metadata=None)
        w.write(v[0, 1, :20].astype(np.uint16), metadata=None)

    tifffile.imwrite(p("json_tzyx.tif"), v.astype(np.uint16), metadata={"axes": "TZYX"}, photometric="minisblack")
    tifffile.imwrite(p("zlib_tzyx.tif"), v.astype(np.uint16), metadata={"axes": "TZYX"},
                     photometric="minisblack", compression="zlib", rowsperstrip=5)
    with open(p("zlib_tzyx.tif"), "rb") as src, open(p("zlib_bad.tif"), "wb") as dst:
        dst.write(src.read())
    with tifffile.TiffFile(p("zlib_bad.tif")) as t:
        page = t.pages[1]
        off, cnt = page.dataoffsets[2], page.databytecounts[2]
    with open(p("zlib_bad.tif"), "r+b") as fh:  # the zlib stream's header and body garbled
        fh.seek(off)
        fh.write(bytes([0xDE, 0xAD]) * (cnt // 2))
    tifffile.imwrite(p("json_tyx.tif"), v5.astype(np.uint8), metadata={"axes": "TYX"}, photometric="minisblack")
    zc = np.stack([v[0], v[0] + 100], axis=1).astype(np.uint16)  # Z C Y X
    tifffile.imwrite(p("json_zcyx.tif"), zc, metadata={"axes": "ZCYX"}, photometric="minisblack")
    ctz = np.stack([o, o + 100]).astype(np.uint16)  # C T Z Y X
    tifffile.imwrite(p("json_ctzyx.tif"), ctz, metadata={"axes": "ctzyx"}, photometric="minisblack")
    tifffile.imwrite(p("json_shape3.tif"), v[0].astype(np.uint16), metadata={}, photometric="minisblack")
    tifffile.imwrite(p("json_shape4.tif"), v.astype(np.uint16), metadata={}, photometric="minisblack")
    tifffile.imwrite(p("json_shape1x4.tif"), v[:1].astype(np.uint16), metadata={}, photometric="minisblack")
    tifffile.imwrite(p("json_q.tif"), v[0].astype(np.uint16), metadata={"axes": "QYX"}, photometric="minisblack")
    for name, desc in (("json_dup.tif", '{"shape": [2, 2, 37, 45], "axes": "ZZYX"}'),
                       ("json_yzx.tif", '{"shape": [37, 4, 45], "axes": "YZX"}'),
                       ("json_count.tif", '{"shape": [3, 5, 37, 45], "axes": "TZYX"}'),
                       ("json_size.tif", '{"shape": [4, 45, 37], "axes": "ZYX"}')):
        tifffile.imwrite(p(name), v[0].astype(np.uint16), metadata=None, photometric="minisblack",
                         description=desc)
    # sizes whose product wraps round to the page count modulo 2^64: (2^63 - 1)^2 x 2 = 2
    big = 2**63 - 1
    tifffile.imwrite(p("ij_wrap.tif"), v[0, :2].astype(np.uint16), metadata=None,
                     photometric="minisblack",
                     description=f"ImageJ=1.11a\nimages=2\nchannels={big}\nslices={big}\nframes=2\n")
    tifffile.imwrite(p("ome_wrap.ome.tif"), v[0, :2].astype(np.uint16), metadata=None,
                     photometric="minisblack",
                     description='<?xml version="1.0"?><OME><Image><Pixels DimensionOrder="XYCZT" '
                                 f'SizeX="45" SizeY="37" SizeZ="{big}" SizeC="{big}" SizeT="2" '
                                 'Type="uint16"></Pixels></Image></OME>')
    # "Pixels" at the very start of the description (the search looked one byte before it)
    tifffile.imwrite(p("ome_pixels_first.tif"), v[0, :2].astype(np.uint16), metadata=None,
                     photometric="minisblack", description='Pixels <OME SizeX="45" SizeY="37"')
    data = open(p("plain.tif"), "rb").read()
    with open(p("truncated.tif"), "wb") as out:
        out.write(data[: len(data) // 2])
    # a file cut inside its pixel data with its page directories whole (as when they come first,
    # as PIL writes them): plain.tif with the last strip of a page running past the file's end
    with tifffile.TiffFile(p("plain.tif")) as t:
        tag = t.pages[3].tags["StripByteCounts"]
        order, code, at = t.byteorder, tag.dtype, tag.valueoffset
    size = {3: 2, 4: 4, 16: 8}[int(code)]
    fmt = order + {2: "H", 4: "I", 8: "Q"}[size]
    cut = bytearray(data)
    at += size * 7
    cut[at:at + size] = struct.pack(fmt, 60000)
    with open(p("short_data.tif"), "wb") as out:
        out.write(bytes(cut))
    with open(p("text.tif"), "w") as out:
        out.write("not a TIFF\n")
    os.mkfifo(p("fifo"))  # no suffix: sniffed, and a FIFO must not block the sniff


if __name__ == "__main__":
    main()
