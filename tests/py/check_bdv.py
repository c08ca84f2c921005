#!/usr/bin/python3
"""check_bdv.py OUT.h5 VZ VY VX UNIT - check the BigDataViewer files lapse writes beside an
HDF5 output (src/io/bdv_xml.c) against BigDataViewer's conventions (bigdataviewer-core
XmlIoSpimDataMinimal, XmlIoHdf5ImageLoader, Hdf5ImageLoader; spimdata XmlKeys):

- OUT.xml parses (xml.etree) as <SpimData version="0.2"> with a relative <BasePath> ".", an
  <ImageLoader format="bdv.hdf5"> whose relative <hdf5> names OUT.bdv.h5 beside it;
- one <ViewSetup> per result dataset of OUT.h5 (every dataset outside /lapse, in the order
  of the output's dataset list: saved steps, then the result), with id k, the dataset's name,
  <size> x y z of one timepoint, <voxelSize> with UNIT and VX VY VZ, and <attributes> whose
  every id is defined in the matching <Attributes name=...> section;
- <Timepoints type="range"> from 0 to ntp - 1; one <ViewRegistration> per (timepoint, setup),
  an affine that scales x, y, z by the voxel size;
- OUT.bdv.h5 opens with h5py and holds, per setup, sKK/resolutions (float64 [1, 3]),
  sKK/subdivisions (int32 [1, 3], each in [1, size]) and the dataType attribute naming the
  dataset's dtype; per timepoint, tTTTTT/sKK/0/cells: a virtual dataset [z, y, x] of that
  dtype holding exactly timepoint t of lapse's dataset;
- every result dataset carries element_size_um = VZ VY VX (float32, z y x; three values also
  on a [t, y, x] one, as Fiji's HDF5 plugin reads them) and the string attribute axes, "tzyx"
  or "tyx".
Exit 0 when all holds; prints what fails and exits 1 otherwise.
"""
import os
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lapse_layout  # noqa: E402


def fail(msg):
    print("check_bdv: " + msg, file=sys.stderr)
    sys.exit(1)


def results(f):
    """Result dataset paths (outside /lapse), in creation order."""
    out = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not lapse_layout.reserved(name):
            out.append("/" + name)

    f.visititems(visit)
    return out


def floats(text):
    return [float(v) for v in text.split()]


def main(out, vz, vy, vx, unit):
    vox = [float(vz), float(vy), float(vx)]
    stem = out[:-3] if out.endswith(".h5") else out
    xml, bdv = stem + ".xml", stem + ".bdv.h5"
    for p in (xml, bdv):
        if not os.path.isfile(p):
            fail(p + " missing")
        if os.path.exists(p + ".tmp"):
            fail(p + ".tmp left behind")
    root = ET.parse(xml).getroot()
    if root.tag != "SpimData" or root.get("version") != "0.2":
        fail("root is <%s version=%s>" % (root.tag, root.get("version")))
    bp = root.find("BasePath")
    if bp is None or bp.get("type") != "relative" or bp.text.strip() != ".":
        fail("BasePath is not relative '.'")
    seq = root.find("SequenceDescription")
    loader = seq.find("ImageLoader")
    if loader.get("format") != "bdv.hdf5":
        fail("ImageLoader format " + str(loader.get("format")))
    h5el = loader.find("hdf5")
    if h5el.get("type") != "relative":
        fail("hdf5 path is not relative")
    if os.path.join(os.path.dirname(xml), h5el.text.strip()) != bdv:
        fail("hdf5 path %s is not %s" % (h5el.text, bdv))

    with h5py.File(out, "r") as f:
        paths = results(f)
        data = {p: f[p][...] for p in paths}
        for p in paths:
            e = f[p].attrs.get("element_size_um")
            if e is None or e.dtype != np.float32 or list(e) != list(np.float32(vox)):
                fail("%s: element_size_um %s, expected %s (float32)" % (p, e, vox))
            ax = f[p].attrs.get("axes")
            ax = ax.decode() if isinstance(ax, bytes) else ax
            if ax != ("tzyx" if f[p].ndim == 4 else "tyx"):
                fail("%s: axes attribute %r for a %d-D dataset" % (p, ax, f[p].ndim))
    # lapse's order: the output dataset list of the job (saved steps, then the result); the
    # XML names each setup, so match by name and check every dataset has exactly one setup.
    setups = seq.find("ViewSetups")
    attr_ids = {}
    for a in setups.findall("Attributes"):
        attr_ids[a.get("name")] = {int(e.find("id").text) for e in a}
    vs = setups.findall("ViewSetup")
    names = ["/" + s.find("name").text for s in vs]
    if sorted(names) != sorted(paths) or len(vs) != len(paths):
        fail("setups %s, datasets %s" % (names, paths))
    ntp = next(iter(data.values())).shape[0]
    for k, s in enumerate(vs):
        if int(s.find("id").text) != k:
            fail("setup ids are not 0..n-1")
        a = data[names[k]]
        zyx = a.shape[1:] if a.ndim == 4 else (1,) + a.shape[1:]
        if [int(v) for v in s.find("size").text.split()] != list(zyx[::-1]):
            fail("setup %d size %s, dataset %s" % (k, s.find("size").text, a.shape))
        v = s.find("voxelSize")
        if v.find("unit").text != unit or floats(v.find("size").text) != vox[::-1]:
            fail("setup %d voxelSize %s %s" % (k, v.find("unit").text, v.find("size").text))
        for e in s.find("attributes"):
            if int(e.text) not in attr_ids.get(e.tag, set()):
                fail("setup %d: attribute %s=%s not defined" % (k, e.tag, e.text))
    tp = seq.find("Timepoints")
    if tp.get("type") != "range" or int(tp.find("first").text) != 0 or \
            int(tp.find("last").text) != ntp - 1:
        fail("Timepoints are not the range 0..%d" % (ntp - 1))
    regs = root.find("ViewRegistrations").findall("ViewRegistration")
    seen = set()
    want = [vox[2], 0, 0, 0, 0, vox[1], 0, 0, 0, 0, vox[0], 0]
    for r in regs:
        seen.add((int(r.get("timepoint")), int(r.get("setup"))))
        vt = r.findall("ViewTransform")
        if len(vt) != 1 or vt[0].get("type") != "affine" or \
                floats(vt[0].find("affine").text) != want:
            fail("registration t=%s setup=%s is not the calibration" % (r.get("timepoint"),
                                                                       r.get("setup")))
    if seen != {(t, k) for t in range(ntp) for k in range(len(vs))} or len(regs) != len(seen):
        fail("registrations do not cover every (timepoint, setup) once")

    with h5py.File(bdv, "r") as b:
        if b.attrs.get("lapse_bdv_for") not in (os.path.basename(out),
                                                os.path.basename(out).encode()):
            fail("no lapse marker in " + bdv)
        for k, name in enumerate(names):
            a = data[name]
            g = b["s%02d" % k]
            dt = g.attrs.get("dataType")
            dt = dt.decode() if isinstance(dt, bytes) else dt
            if dt != str(a.dtype):
                fail("s%02d dataType %s, dataset %s" % (k, dt, a.dtype))
            res, sub = g["resolutions"], g["subdivisions"]
            if res.shape != (1, 3) or res.dtype != np.float64 or list(res[0]) != [1, 1, 1]:
                fail("s%02d/resolutions %s %s" % (k, res.dtype, res[...]))
            zyx = a.shape[1:] if a.ndim == 4 else (1,) + a.shape[1:]
            if sub.shape != (1, 3) or sub.dtype != np.int32 or \
                    not all(1 <= sub[0, i] <= zyx[2 - i] for i in range(3)):
                fail("s%02d/subdivisions %s %s" % (k, sub.dtype, sub[...]))
            for t in range(ntp):
                c = b["t%05d/s%02d/0/cells" % (t, k)]
                if not c.is_virtual or c.shape != zyx or c.dtype != a.dtype:
                    fail("t%05d/s%02d/0/cells: virtual %s, %s %s" % (t, k, c.is_virtual,
                                                                     c.shape, c.dtype))
                if not np.array_equal(c[...].reshape(a[t].shape), a[t]):
                    fail("t%05d/s%02d/0/cells differs from %s[%d]" % (t, k, name, t))
    print("check_bdv: %s: %d setups x %d timepoints, voxel %s %s: ok" % (xml, len(vs), ntp,
                                                                        vox, unit))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
