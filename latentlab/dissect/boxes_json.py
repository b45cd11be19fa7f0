"""The file of boxes drawn by hand on a model's samples (DCGAN §6.3.1: 52 window boxes on 150 samples).

``latentlab annotate MODEL --n 150 --seed 0`` writes a page that saves this JSON; ``latentlab forget MODEL --boxes
FILE`` reads it. The samples are forget's probe samples: z = ``sample_prior(n, nz, prior,
generator=torch.Generator().manual_seed(seed))``, generated in eval mode, so the file only fits the same model,
``n`` (forget's ``--n-probe``) and ``seed``::

    {"format": "latentlab-boxes", "version": 1, "model": "rooms", "seed": 0, "n": 150, "image_size": 64,
     "boxes": [[[x0, y0, x1, y1], ...],    # sample 0: its boxes in image pixels, x1/y1 exclusive
               [], ...]}                   # one list per sample (n lists), empty where nothing was drawn

Coordinates follow :mod:`latentlab.dissect.boxes`: whole pixels, 0 <= x0 < x1 <= image_size, same for y.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..io import JsonHeader, check_json_header, int_field, read_samples_file, write_samples_file
from .boxes import Box, validate_boxes

__all__ = ["BoxesFile", "load_boxes", "save_boxes", "FORMAT", "VERSION"]

FORMAT = "latentlab-boxes"
VERSION = 1
KEYS = ("model", "seed", "n", "image_size", "boxes")
HEADER = JsonHeader("boxes", FORMAT, VERSION, KEYS, hint=" (as `latentlab annotate` saves it)")


@dataclass(frozen=True)
class BoxesFile:
    model: str                    # the model the samples came from (a shipped name or the file given to annotate)
    seed: int                     # seed of the probe z (forget's --seed)
    n: int                        # number of samples (forget's --n-probe)
    image_size: int               # side of the images in pixels
    boxes: list                   # n lists of (x0, y0, x1, y1) int tuples

    @property
    def n_boxes(self) -> int:
        return sum(len(b) for b in self.boxes)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "model": self.model, "seed": self.seed, "n": self.n,
                "image_size": self.image_size, "boxes": [[list(b) for b in bs] for bs in self.boxes]}


def _check(data, where: str = "") -> BoxesFile:
    model, seed, n = check_json_header(data, HEADER, where)
    size = int_field("image_size", data["image_size"], 1, where)
    try:
        boxes = validate_boxes(data["boxes"], n, size)
    except ValueError as e:
        raise ValueError(f"{e}{where}") from None
    return BoxesFile(model=model, seed=seed, n=n, image_size=size, boxes=boxes)


def load_boxes(path: str | os.PathLike, *, model: str | None = None, seed: int | None = None, n: int | None = None,
               image_size: int | None = None) -> BoxesFile:
    """Read and check a boxes file. The keyword arguments, when given, must match the file's: the boxes were
    drawn on the samples of that model, seed and n. Raises FileNotFoundError or ValueError naming the field."""
    f, where = read_samples_file(path, "boxes", _check)
    for name, want in (("model", model), ("seed", seed), ("n", n), ("image_size", image_size)):
        if want is not None and getattr(f, name) != want:
            raise ValueError(f"{name}: the boxes{where} were drawn on samples with {name}={getattr(f, name)!r}, "
                             f"but {name}={want!r} was asked for; annotate again or use the file's settings")
    return f


def save_boxes(path: str | os.PathLike, boxes: list[list[Box]], *, model: str, seed: int, image_size: int) -> Path:
    """Check and write ``boxes`` (one list of (x0, y0, x1, y1) per sample) atomically; n = len(boxes)."""
    if not isinstance(boxes, (list, tuple)):
        raise ValueError(f"boxes: expected a list with one list of boxes per sample, got {type(boxes).__name__}")
    f = _check({"model": model, "seed": seed, "n": len(boxes), "image_size": image_size, "boxes": list(boxes)})
    return write_samples_file(path, f.to_dict())
