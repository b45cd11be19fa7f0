"""Folders of images: flat or class sub-folders, resize/crop to [-1, 1], unreadable files skipped and named."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.data import ImageFolderDataset, get_dataset


def _png(path, size=(24, 20), color=None, mode="RGB", seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    if color is None:
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    else:
        arr = np.full((h, w, 3), color, dtype=np.uint8)
    im = Image.fromarray(arr)
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path)
    return path


def test_flat_folder(tmp_path):
    for i in range(3):
        _png(tmp_path / f"{i}.png", seed=i)
    (tmp_path / "notes.txt").write_text("not an image")
    ds = ImageFolderDataset(tmp_path, image_size=16)
    assert len(ds) == 3 and ds.classes == [] and ds.skipped == []
    x, y = ds[0]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and y == 0
    assert -1 <= x.min() and x.max() <= 1
    assert get_dataset(tmp_path, image_size=16)[1][0].shape == (3, 16, 16)


def test_class_subfolders(tmp_path):
    for c in ("cat", "dog"):
        for i in range(2):
            _png(tmp_path / c / f"{i}.jpg", seed=i)
    ds = ImageFolderDataset(tmp_path, image_size=32)
    assert ds.classes == ["cat", "dog"] and sorted(ds.targets) == [0, 0, 1, 1]
    assert {ds[i][1] for i in range(4)} == {0, 1}


def test_resize_center_crop_and_scale(tmp_path):
    # a 40x20 image, white except black side bands that the centre crop (the middle 20x20) removes
    arr = np.zeros((20, 40, 3), dtype=np.uint8)
    arr[:, 5:35] = 255
    Image.fromarray(arr).save(tmp_path / "wide.png")
    x, _ = ImageFolderDataset(tmp_path, image_size=8)[0]
    assert x.shape == (3, 8, 8)
    assert torch.allclose(x, torch.ones_like(x))  # 255 -> +1
    _png(tmp_path / "black" / "b.png", color=0)
    x, _ = ImageFolderDataset(tmp_path / "black", image_size=8)[0]
    assert torch.allclose(x, -torch.ones_like(x))  # 0 -> -1


def test_modes_are_converted(tmp_path):
    _png(tmp_path / "grey.png", mode="L")
    _png(tmp_path / "rgba.png", mode="RGBA")
    _png(tmp_path / "pal.gif", mode="P")
    ds = ImageFolderDataset(tmp_path, image_size=16)
    assert [ds[i][0].shape for i in range(3)] == [(3, 16, 16)] * 3
    grey = ImageFolderDataset(tmp_path, image_size=16, channels=1)
    assert grey[0][0].shape == (1, 16, 16)


def test_unreadable_files_are_skipped_with_a_warning_naming_them(tmp_path):
    _png(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG but not really")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.warns(UserWarning) as rec:
        ds = ImageFolderDataset(tmp_path, image_size=16)
    msgs = sorted(str(w.message) for w in rec)
    assert len(msgs) == 2 and "skipping unreadable image" in msgs[0] and "broken.png" in msgs[0] \
        and "empty.jpg" in msgs[1]
    assert len(ds) == 1
    assert sorted(p.rsplit("/", 1)[1] for p in ds.skipped) == ["broken.png", "empty.jpg"]


def test_empty_or_unreadable_only_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"^root: no readable images in .*0 unreadable"):
        ImageFolderDataset(tmp_path, image_size=16)
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"1 unreadable"):
        ImageFolderDataset(tmp_path, image_size=16)


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^root: .*nothere.* is not a directory"):
        ImageFolderDataset(tmp_path / "nothere")
    _png(tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"^channels: expected 1 or 3, got 4"):
        ImageFolderDataset(tmp_path, channels=4)
    with pytest.raises(ValueError, match=r"^image_size: expected a positive int"):
        ImageFolderDataset(tmp_path, image_size=0)
    with pytest.raises(ValueError, match=r"^data: .* neither a built-in dataset"):
        get_dataset(tmp_path / "nothere")


def test_file_vanishing_after_listing(tmp_path):
    _png(tmp_path / "a.png")
    p = _png(tmp_path / "b.png")
    ds = ImageFolderDataset(tmp_path, image_size=16)
    p.unlink()
    with pytest.raises(OSError, match=r"b\.png' could not be read"):
        ds[1]
    assert ds[0][0].shape == (3, 16, 16)
