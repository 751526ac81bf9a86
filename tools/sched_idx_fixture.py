#!/usr/bin/env python3
"""Writes the small IDX test fixture: the first 32 images and labels of the Fashion-MNIST test set, gzip'd
(mtime 0, so the bytes are reproducible), plus the same data decoded by NumPy as .npy for the Java test.

Usage: /usr/bin/python3 tools/sched_idx_fixture.py [SRC_DIR] [OUT_DIR]
"""
import gzip
import os
import struct
import sys

import numpy as np

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(__file__), "..", "model", "src", "test", "resources", "data", "idx")
N = 32


def main():
    os.makedirs(OUT, exist_ok=True)
    with gzip.open(os.path.join(SRC, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, hex(magic)
        images = np.frombuffer(f.read(N * h * w), dtype=np.uint8).reshape(N, h, w)
    with gzip.open(os.path.join(SRC, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        assert magic == 0x801, hex(magic)
        labels = np.frombuffer(f.read(N), dtype=np.uint8)
    for name, header, data in (("t10k-32-images-idx3-ubyte.gz", struct.pack(">IIII", 0x803, N, h, w), images),
                               ("t10k-32-labels-idx1-ubyte.gz", struct.pack(">II", 0x801, N), labels)):
        with open(os.path.join(OUT, name), "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(header + data.tobytes())
    np.save(os.path.join(OUT, "t10k-32-images.npy"), images)
    np.save(os.path.join(OUT, "t10k-32-labels.npy"), labels.astype(np.int64))
    print("labels", labels.tolist())


if __name__ == "__main__":
    main()
