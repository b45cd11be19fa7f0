"""Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, arXiv 1708.07747) read from local IDX files.

The data is never downloaded. On Debian/Ubuntu the files come with the package
``dataset-fashion-mnist`` (``apt-get install dataset-fashion-mnist``), which puts
``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` under ``/usr/share/datasets/fashion-mnist``.
Elsewhere, point ``root=`` (or the environment variable ``LATENTLAB_FASHION_MNIST``) at a folder
holding the four IDX files, gzipped or not.

Example::

    >>> ds = FashionMNIST(split="test")          # doctest: +SKIP
    >>> x, y = ds[0]; x.shape, x.min().item(), ds.classes[y]   # doctest: +SKIP
    (torch.Size([1, 32, 32]), -1.0, 'Ankle boot')
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from ..images import from_uint8

__all__ = ["FASHION_CLASSES", "DEFAULT_ROOT", "FashionMNIST", "load_fashion_mnist", "read_idx", "resolve_root"]

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "LATENTLAB_FASHION_MNIST"

# split -> (images stem, labels stem); the official files call the test split "t10k".
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGE_SIDE = 28
_PAD = 2  # 28 + 2 * 2 = 32: the size the DCGAN-style models use

_GET_IT = (
    "Fashion-MNIST is never downloaded. Install it with "
    "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu: files in {default}), "
    "or pass root= (or set {env}) pointing at a folder with the four idx files "
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte (each optionally .gz)."
).format(default=DEFAULT_ROOT, env=ENV_VAR)


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """``root`` if given, else ``$LATENTLAB_FASHION_MNIST`` if set and non-empty, else DEFAULT_ROOT."""
    if root is None:
        root = os.environ.get(ENV_VAR) or DEFAULT_ROOT
    return Path(root).expanduser()


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Parse one IDX file of unsigned bytes (gzip-compressed if the name ends in ``.gz``).

    Format (LeCun's MNIST page): magic = two zero bytes, type code 0x08 (ubyte), number of dims;
    then one big-endian uint32 per dim; then the data, row-major. Returns a writable uint8
    array of that shape. Raises ValueError naming the file if it is truncated, has trailing
    bytes, a bad magic number, a type other than ubyte, or (when ``ndim`` is given) another rank.
    """
    path = Path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:  # truncated or not gzip at all
        raise ValueError(f"{path}: not a readable gzip file ({e})") from e

    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    zero, dtype_code, rank = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()}, expected 0x000008NN (unsigned bytes)"
        )
    if ndim is not None and rank != ndim:
        raise ValueError(f"{path}: IDX file has {rank} dimensions, expected {ndim}")
    header = 4 + 4 * rank
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "trailing bytes"
        raise ValueError(
            f"{path}: {what}: header says shape {shape} ({expected} bytes), file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (root / name).is_file():
            return root / name
    return None


def load_fashion_mnist(
    root: str | os.PathLike | None = None, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Read one split: images uint8 (N, 28, 28) with 0 = background, labels int64 (N,) in 0..9."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = resolve_root(root)
    stems = _FILES[split]
    paths = [_find(root, stem) for stem in stems]
    missing = [stem for stem, p in zip(stems, paths) if p is None]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST {split} split not found in {root} (searched for "
            f"{', '.join(s + '[.gz]' for s in missing)}). {_GET_IT}"
        )
    images_path, labels_path = paths
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[1:] != (_IMAGE_SIDE, _IMAGE_SIDE):
        raise ValueError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}"
        )
    if len(labels) and labels.max() >= len(FASHION_CLASSES):
        raise ValueError(f"{labels_path}: label {labels.max()} out of range 0..9")
    return images, labels.astype(np.int64)


class FashionMNIST(torch.utils.data.Dataset):
    """Fashion-MNIST split as a map-style dataset.

    Args:
        root: folder with the idx files; default ``$LATENTLAB_FASHION_MNIST``, then DEFAULT_ROOT.
        split: "train" (60,000 images) or "test" (the official 10,000).
        size: 32 pads the 28x28 images with 2 background pixels per side; 28 keeps them as stored.

    ``ds[i]`` is ``(image, label)``: float32 (1, size, size) in [-1, 1] (background -1, 0 -> -1 and
    255 -> 1 exactly) and an int in 0..9. Attributes: ``images`` uint8 tensor (N, size, size),
    ``targets`` int64 tensor (N,), ``classes`` = FASHION_CLASSES, ``root``, ``split``, ``size``.
    """

    name = "fashion-mnist"
    classes = FASHION_CLASSES

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", size: int = 32):
        if isinstance(size, bool) or not isinstance(size, int) or size not in (28, 32):
            raise ValueError(f"size must be 32 (padded) or 28 (as stored), got {size!r}")
        images, labels = load_fashion_mnist(root, split)
        if size == 32:
            images = np.pad(images, ((0, 0), (_PAD, _PAD), (_PAD, _PAD)))  # pads with 0 = background
        self.root = resolve_root(root)
        self.split = split
        self.size = size
        self.images = torch.from_numpy(images)
        self.targets = torch.from_numpy(labels)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = from_uint8(self.images[index]).unsqueeze(0)
        return image, int(self.targets[index])

    def __repr__(self) -> str:
        return f"FashionMNIST(split={self.split!r}, size={self.size}, n={len(self)}, root='{self.root}')"
