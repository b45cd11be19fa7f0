"""Outlines of judge masks, so a figure can show where a judge sees an object (and a reader can check it).

``mask_outline`` is a pure function: a mask -> the mask's boundary pixels (pixels of the mask with a
4-neighbour outside it; the image border counts as outside). ``overlay_outline`` paints those pixels in
one colour on a copy of the images. Both accept numpy arrays and torch tensors and return the same kind.

Example::

    >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True
    >>> mask_outline(m).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 0, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.validate import positive_int

__all__ = ["mask_outline", "overlay_outline"]


def _as_bool_tensor(mask, name: str = "mask") -> tuple[torch.Tensor, bool]:
    is_numpy = isinstance(mask, np.ndarray)
    if is_numpy:
        t = torch.from_numpy(np.ascontiguousarray(mask))
    elif isinstance(mask, torch.Tensor):
        t = mask
    else:
        raise TypeError(f"{name}: expected a numpy array or torch.Tensor (H, W) or (N, H, W), got {type(mask).__name__}")
    if t.ndim not in (2, 3):
        raise ValueError(f"{name}: expected shape (H, W) or (N, H, W), got {tuple(t.shape)}")
    if t.dtype != torch.bool:
        if t.is_complex() or (t.numel() and not bool(((t == 0) | (t == 1)).all())):
            raise ValueError(f"{name}: expected bool or 0/1 values")
        t = t != 0
    return t, is_numpy


def mask_outline(mask, thickness: int = 1):
    """Boundary pixels of a mask: (H, W) or (N, H, W) bool / 0-1, numpy or torch -> bool of the same
    shape and kind. ``thickness`` k marks mask pixels within k 4-neighbour steps of the outside."""
    positive_int(thickness, "thickness")
    t, is_numpy = _as_bool_tensor(mask)
    squeeze = t.ndim == 2
    m = t[None] if squeeze else t
    inner = m.float()[:, None]
    cross = torch.tensor([[0., 1., 0.], [1., 1., 1.], [0., 1., 0.]])[None, None]
    for _ in range(thickness):  # erosion by the 4-neighbourhood, outside the image = background
        inner = (F.conv2d(F.pad(inner, (1, 1, 1, 1)), cross) >= 5).float()
    out = m & ~(inner[:, 0] > 0)
    out = out[0] if squeeze else out
    return out.numpy() if is_numpy else out.to(t.device)


def overlay_outline(images, mask, color=(1.0, 0.0, 1.0), thickness: int = 1):
    """Paint the outline of ``mask`` on a copy of ``images`` in ``color``.

    images: torch float (N, 3, H, W) or (3, H, W) in [-1, 1] with ``color`` in [-1, 1] (default magenta),
    or numpy uint8 (N, H, W, 3) or (H, W, 3) with ``color`` in 0..255 (e.g. (255, 0, 255)).
    mask: the matching (N, H, W) or (H, W) mask. Returns the same kind, shape and dtype as ``images``.
    """
    if not isinstance(color, (tuple, list)) or len(color) != 3 or not all(
            isinstance(c, (int, float)) and not isinstance(c, bool) for c in color):
        raise ValueError(f"color: expected three numbers, got {color!r}")
    edge = mask_outline(mask, thickness)
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8 or images.ndim not in (3, 4) or images.shape[-1] != 3:
            raise ValueError(f"images: expected a numpy uint8 array (H, W, 3) or (N, H, W, 3), got "
                             f"{images.dtype} {images.shape}")
        edge = np.asarray(edge.numpy() if isinstance(edge, torch.Tensor) else edge)
        if edge.shape != images.shape[:-1]:
            raise ValueError(f"mask: expected shape {images.shape[:-1]} to match images, got {edge.shape}")
        out = images.copy()
        out[edge] = np.clip(np.asarray(color, dtype=np.float64), 0, 255).round().astype(np.uint8)
        return out
    if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim not in (3, 4) \
            or images.shape[-3] != 3:
        raise ValueError(f"images: expected a float tensor (3, H, W) or (N, 3, H, W) in [-1, 1] or a uint8 "
                         f"numpy image, got {type(images).__name__} "
                         f"{tuple(images.shape) if hasattr(images, 'shape') else ''}")
    edge = torch.as_tensor(edge).to(images.device)
    if tuple(edge.shape) != tuple(images.shape[:-3]) + tuple(images.shape[-2:]):
        raise ValueError(f"mask: expected shape {tuple(images.shape[:-3]) + tuple(images.shape[-2:])} to match "
                         f"images, got {tuple(edge.shape)}")
    col = torch.tensor(color, dtype=images.dtype, device=images.device).view(3, 1, 1)
    return torch.where(edge.unsqueeze(-3), col, images)
