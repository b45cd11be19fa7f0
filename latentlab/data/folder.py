"""Any folder of images (flat, or ImageFolder-style class sub-folders) as a GAN dataset."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision import transforms

__all__ = ["ImageFolderDataset", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


class ImageFolderDataset(torch.utils.data.Dataset):
    """Images under ``root`` resized (shorter side) and centre-cropped to ``image_size``, scaled to [-1, 1].

    Class sub-folders (``root/cat/*.png``) give class indices in sorted order; a flat folder gives class 0.
    Unreadable files are skipped with a warning naming them; ``skipped`` lists them.
    ``__getitem__(i) -> (float tensor (channels, S, S), class int)``.
    """

    name = "folder"

    def __init__(self, root: str | os.PathLike, image_size: int = 64, channels: int = 3, verify: bool = True):
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"root: {str(root)!r} is not a directory of images")
        if channels not in (1, 3):
            raise ValueError(f"channels: expected 1 or 3, got {channels!r}")
        if not isinstance(image_size, int) or image_size <= 0:
            raise ValueError(f"image_size: expected a positive int, got {image_size!r}")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        subdirs = sorted({p.parent.relative_to(root).parts[0] for p in files if p.parent != root})
        self.classes = subdirs if subdirs and all(p.parent != root for p in files) else []
        self.skipped: list[str] = []
        good = []
        for p in files:
            if verify:
                try:
                    with Image.open(p) as im:
                        im.verify()
                except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
                    self.skipped.append(str(p))
                    warnings.warn(f"skipping unreadable image {p}: {e}")
                    continue
            good.append(p)
        if not good:
            raise ValueError(f"root: no readable images in {str(root)!r} (looked for {', '.join(IMAGE_EXTENSIONS)}; "
                             f"{len(self.skipped)} unreadable)")
        self.files = good
        self.targets = [self.classes.index(p.relative_to(root).parts[0]) if self.classes else 0 for p in good]
        self.channels = channels
        self.transform = transforms.Compose([
            transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor(),
            transforms.Normalize([0.5] * channels, [0.5] * channels),
        ])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        p = self.files[i]
        try:
            with Image.open(p) as im:
                im = im.convert("RGB" if self.channels == 3 else "L")
                return self.transform(im), self.targets[i]
        except (OSError, UnidentifiedImageError) as e:
            raise OSError(f"image {str(p)!r} could not be read: {e}") from None
