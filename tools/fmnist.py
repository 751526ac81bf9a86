"""Fashion-MNIST loader (IDX gzip files) shared by the tfmq training scripts.

Looks for train-images-idx3-ubyte.gz etc. in, in order: $FMNIST_DIR,
<repo>/.data/fashion-mnist, /usr/share/datasets/fashion-mnist (Debian package
dataset-fashion-mnist).
"""
import gzip
import hashlib
import os

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def find_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    cands = [os.environ.get("FMNIST_DIR"),
             os.path.join(here, "..", ".data", "fashion-mnist"),
             "/usr/share/datasets/fashion-mnist"]
    for c in cands:
        if c and os.path.exists(os.path.join(c, FILES["train_images"])):
            return os.path.abspath(c)
    raise FileNotFoundError("Fashion-MNIST IDX files not found; set FMNIST_DIR")


def _parse_idx(raw):
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    assert raw[2] == 0x08, "expected unsigned byte IDX data"
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split="train", directory=None):
    """Returns (images uint8 [N,28,28], labels uint8 [N], sha256 of the decompressed IDX bytes)."""
    d = directory or find_dir()
    h = hashlib.sha256()
    out = []
    for part in ("images", "labels"):
        with gzip.open(os.path.join(d, FILES["%s_%s" % (split, part)]), "rb") as f:
            raw = f.read()
        h.update(raw)
        out.append(_parse_idx(raw))
    return out[0], out[1], h.hexdigest()
