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

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..io import atomic_write_bytes
from .boxes import Box, validate_boxes

__all__ = ["BoxesFile", "load_boxes", "save_boxes", "FORMAT", "VERSION"]

FORMAT = "latentlab-boxes"
VERSION = 1
KEYS = ("model", "seed", "n", "image_size", "boxes")


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


def _int(name: str, v, lo: int, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{name}: expected an int >= {lo}{where}, got {v!r}")
    return v


def _check(data, where: str = "") -> BoxesFile:
    if not isinstance(data, dict):
        raise ValueError(f"boxes: expected a JSON object with the keys {list(KEYS)}{where} (as `latentlab annotate` "
                         f"saves it), got a JSON {type(data).__name__}")
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise ValueError(f"boxes: the keys {missing} are missing{where}; expected {list(KEYS)}")
    if data.get("format", FORMAT) != FORMAT:
        raise ValueError(f"boxes: format {data['format']!r}{where} is not {FORMAT!r}")
    if _int("version", data.get("version", VERSION), 1, where) > VERSION:
        raise ValueError(f"version: boxes file version {data['version']}{where} is newer than this latentlab "
                         f"reads ({VERSION}); upgrade latentlab")
    if not isinstance(data["model"], str) or not data["model"]:
        raise ValueError(f"model: expected the model's name or file{where}, got {data['model']!r}")
    seed = _int("seed", data["seed"], 0, where)
    n = _int("n", data["n"], 1, where)
    size = _int("image_size", data["image_size"], 1, where)
    try:
        boxes = validate_boxes(data["boxes"], n, size)
    except ValueError as e:
        raise ValueError(f"{e}{where}") from None
    return BoxesFile(model=data["model"], seed=seed, n=n, image_size=size, boxes=boxes)


def load_boxes(path: str | os.PathLike, *, model: str | None = None, seed: int | None = None, n: int | None = None,
               image_size: int | None = None) -> BoxesFile:
    """Read and check a boxes file. The keyword arguments, when given, must match the file's: the boxes were
    drawn on the samples of that model, seed and n. Raises FileNotFoundError or ValueError naming the field."""
    path = Path(path)
    where = f" in {str(path)!r}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"boxes: file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"boxes: {str(path)!r} is a directory, expected a JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"boxes: {str(path)!r} is not valid JSON ({e})") from None
    f = _check(data, where)
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
    path = Path(path)
    atomic_write_bytes(path, (json.dumps(f.to_dict(), separators=(",", ":")) + "\n").encode("utf-8"))
    return path
