"""Bounding boxes: validation, JSON input, and mapping to a feature map's grid.

A box is ``(x0, y0, x1, y1)`` in pixels with x1/y1 exclusive (so a box covering pixel column 5
only is ``x0=5, x1=6``). Boxes come per sample: ``boxes[i]`` is the list of boxes of sample i.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import read_json_file

__all__ = ["validate_boxes", "load_boxes_json", "boxes_to_grid", "box_to_grid", "boxes_to_pixel_mask"]

Box = tuple[int, int, int, int]


def _check_box(box, image_size: int, where: str) -> Box:
    if not isinstance(box, (list, tuple, np.ndarray)) or len(box) != 4:
        raise ValueError(f"{where}: expected a box (x0, y0, x1, y1), got {box!r}")
    vals = []
    for v in box:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{where}: box coordinates must be numbers, got {box!r}")
        if not np.isfinite(v):
            raise ValueError(f"{where}: box coordinates must be finite, got {box!r}")
        if float(v) != int(v):
            raise ValueError(f"{where}: box coordinates must be whole pixels, got {box!r}")
        vals.append(int(v))
    x0, y0, x1, y1 = vals
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"{where}: box {tuple(vals)} is empty or inverted (need x0 < x1 and y0 < y1)")
    if x0 < 0 or y0 < 0 or x1 > image_size or y1 > image_size:
        raise ValueError(f"{where}: box {tuple(vals)} lies outside the {image_size}x{image_size} image "
                         f"(need 0 <= x0 < x1 <= {image_size}, 0 <= y0 < y1 <= {image_size})")
    return x0, y0, x1, y1


def validate_boxes(boxes, n_samples: int, image_size: int) -> list[list[Box]]:
    """Check ``boxes`` (a list with one list of boxes per sample) and return it as tuples of ints."""
    if not isinstance(boxes, (list, tuple)):
        raise ValueError(f"boxes: expected a list with one list of boxes per sample, got {type(boxes).__name__}")
    if len(boxes) != n_samples:
        raise ValueError(f"boxes: expected one entry per sample ({n_samples}), got {len(boxes)}")
    out = []
    for i, sample_boxes in enumerate(boxes):
        if not isinstance(sample_boxes, (list, tuple)):
            raise ValueError(f"boxes[{i}]: expected a list of boxes, got {type(sample_boxes).__name__}")
        out.append([_check_box(b, image_size, f"boxes[{i}][{j}]") for j, b in enumerate(sample_boxes)])
    return out


def load_boxes_json(path: str | os.PathLike, n_samples: int, image_size: int) -> list[list[Box]]:
    """Read boxes drawn by hand: ``[[[x0, y0, x1, y1], ...], ...]`` or ``{"boxes": [...]}`` (one list per sample)."""
    path = Path(path)
    data = read_json_file(path, "boxes")
    if isinstance(data, dict):
        if "boxes" not in data:
            raise ValueError(f"boxes: {str(path)!r} is a JSON object without a 'boxes' key")
        data = data["boxes"]
    return validate_boxes(data, n_samples, image_size)


def box_to_grid(box: Box, image_size: int, grid: tuple[int, int]) -> np.ndarray:
    """Cells of an (h, w) feature grid that a pixel box covers -> bool (h, w).

    A cell is inside when its centre lies inside the box; a box too small to contain any cell
    centre marks the one cell containing the box's centre, so every box gives >= 1 positive.
    """
    # an inverted or outside box would mark a wrong cell (negative indices wrap around) instead of failing
    x0, y0, x1, y1 = _check_box(box, image_size, "box")
    h, w = grid
    cy = (np.arange(h) + 0.5) * image_size / h
    cx = (np.arange(w) + 0.5) * image_size / w
    m = ((cy >= y0) & (cy < y1))[:, None] & ((cx >= x0) & (cx < x1))[None, :]
    if not m.any():
        i = min(int((y0 + y1) / 2 * h / image_size), h - 1)
        j = min(int((x0 + x1) / 2 * w / image_size), w - 1)
        m[i, j] = True
    return m


def boxes_to_grid(boxes: Sequence[Sequence[Box]], image_size: int, grid: tuple[int, int]) -> np.ndarray:
    """Per-sample union of box cells -> bool (N, h, w)."""
    out = np.zeros((len(boxes), *grid), dtype=bool)
    for i, bs in enumerate(boxes):
        for b in bs:
            out[i] |= box_to_grid(b, image_size, grid)
    return out


def boxes_to_pixel_mask(boxes: Sequence[Sequence[Box]], image_size: int) -> np.ndarray:
    """Per-sample union of boxes as a pixel mask -> bool (N, S, S)."""
    out = np.zeros((len(boxes), image_size, image_size), dtype=bool)
    for i, bs in enumerate(boxes):
        for x0, y0, x1, y1 in bs:
            out[i, y0:y1, x0:x1] = True
    return out
