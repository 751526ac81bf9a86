"""Minimal safetensors reader/writer in plain Python + numpy.

File layout:
  8 bytes   little-endian uint64 N = header length
  N bytes   UTF-8 JSON header {name: {"dtype", "shape", "data_offsets": [b, e]},
                               "__metadata__": {str: str}}  (padded with spaces)
  rest      raw little-endian tensor bytes; offsets are relative to the data start

The writer lays tensors out contiguously in header order (sorted by name, as the
reference implementation does) and pads the header to a multiple of 8 bytes.
"""
import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _bf16_to_f32(raw):
    u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32)
    return (u16 << 16).view(np.float32)


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).decode("utf-8"))
    return n, header


def load(path, with_metadata=False):
    """Returns {name: numpy array} (BF16 is widened to float32)."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = blob[base + b:base + e]
        shape = tuple(info["shape"])
        if info["dtype"] == "BF16":
            arr = _bf16_to_f32(raw).reshape(shape)
        else:
            dt = _DTYPES[info["dtype"]]
            arr = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
        out[name] = arr
    return (out, meta) if with_metadata else out


def save(path, tensors, metadata=None):
    """tensors: {name: numpy array or torch tensor}. Writes little-endian data."""
    arrays = {}
    for name, t in tensors.items():
        if hasattr(t, "detach"):  # torch tensor
            t = t.detach().cpu().contiguous().numpy()
        a = np.ascontiguousarray(t)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        key = a.dtype
        if key not in _NAMES:
            raise ValueError("unsupported dtype %s for %s" % (a.dtype, name))
        arrays[name] = (a, _NAMES[key])
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    order = sorted(arrays)
    for name in order:
        a, dname = arrays[name]
        nbytes = a.nbytes
        header[name] = {"dtype": dname, "shape": list(a.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (-(8 + len(hbytes))) % 8
    hbytes += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for name in order:
            f.write(arrays[name][0].tobytes(order="C"))


if __name__ == "__main__":
    import sys
    n, h = read_header(sys.argv[1])
    print("header bytes:", n, "metadata:", h.pop("__metadata__", None))
    for k, v in h.items():
        print(k, v["dtype"], v["shape"])
