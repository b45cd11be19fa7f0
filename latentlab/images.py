"""Image conversions in one place: range, dtype and channels (after kornia's ``color/`` and ``image.py``).

latentlab's float images are tensors (..., C, H, W) in [-1, 1], a generator's tanh output; files, PIL and the
procedural datasets hold uint8 in [0, 255], often channels-last (..., H, W, C). Every conversion between them
is one function here, checked up front, with a message naming the argument, what was expected and what came::

    x = from_uint8(arr, channels_last=True)     # uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1]
    arr = to_uint8(x, channels_last=True)       # float (N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3)
    rgb = grey_to_rgb(x)                        # (N, 1, H, W) -> (N, 3, H, W), a view
    grey = rgb_to_grey(x)                       # (N, 3, H, W) -> (N, 1, H, W), ITU-R 601 luma

The arithmetic is fixed, so results are bit for bit those of the code it replaced: ``x / 127.5 - 1`` one
way, ``round((clamp(x, -1, 1) + 1) * 127.5)`` the other (exact at -1, 0 and 1; 0 -> 128 after rounding).
"""
from __future__ import annotations

import numpy as np
import torch

from .validate import float_tensor

__all__ = ["from_uint8", "to_uint8", "to_unit_range", "grey_to_rgb", "rgb_to_grey", "match_channels",
           "LUMA_WEIGHTS"]

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma (kornia's rgb_to_grayscale, PIL's "L")


def _as_tensor(images, name: str) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy array, got {type(images).__name__}")
    return images


def _check_channels(x: torch.Tensor, name: str, allowed: tuple[int, ...]) -> int:
    """The channel count of (..., C, H, W) ``x``; ValueError unless it has >= 3 dims and C in ``allowed``."""
    if x.ndim < 3 or x.shape[-3] not in allowed:
        want = " or ".join(f"(..., {c}, H, W)" for c in allowed)
        raise ValueError(f"{name}: expected images {want}, got shape {tuple(x.shape)}")
    return x.shape[-3]


def _moved(x: torch.Tensor, source: int, destination: int, expected: str) -> torch.Tensor:
    """``x.movedim(source, destination)``; ValueError "images: expected <expected>" for fewer than 3 dims."""
    if x.ndim < 3:
        raise ValueError(f"images: expected {expected}, got shape {tuple(x.shape)}")
    return x.movedim(source, destination)


def from_uint8(images, *, channels_last: bool = False) -> torch.Tensor:
    """uint8 images in [0, 255] -> float32 in [-1, 1] (``x / 127.5 - 1``; 0 -> -1, 255 -> 1).

    Args:
        images: a uint8 tensor or numpy array, (..., C, H, W); with ``channels_last=True`` (..., H, W, C)
            (as PIL, numpy and the procedural datasets store them), moved to (..., C, H, W).

    Returns:
        float32 tensor (..., C, H, W) in [-1, 1], on the input's device (a new tensor).

    Example:
        >>> from_uint8(torch.tensor([[[[0, 255]]]], dtype=torch.uint8))
        tensor([[[[-1.,  1.]]]])
    """
    x = _as_tensor(images, "images")
    if x.dtype != torch.uint8:
        raise TypeError(f"images: expected uint8 values in [0, 255], got dtype {x.dtype}")
    if channels_last:
        x = _moved(x, -1, -3, "channels-last images (..., H, W, C)")
    return x.to(torch.float32).div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor, *, channels_last: bool = False) -> torch.Tensor:
    """Float images in [-1, 1] -> uint8 in [0, 255] (``round((clamp(x, -1, 1) + 1) * 127.5)``), detached.

    Args:
        images: floating tensor (..., C, H, W); values outside [-1, 1] are clipped.
        channels_last: return (..., H, W, C), the layout of PIL, numpy and PNG writers.

    Returns:
        uint8 tensor (..., C, H, W), or (..., H, W, C) with ``channels_last``, on the input's device.

    Example:
        >>> to_uint8(torch.tensor([[[[-1.0, 0.0, 1.0]]]]))
        tensor([[[[  0, 128, 255]]]], dtype=torch.uint8)
    """
    float_tensor(images, "images", floating="a floating tensor in [-1, 1]")
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return _moved(x, -3, -1, "images (..., C, H, W)") if channels_last else x


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] -> float32 in [0, 1] (``(clamp(x, -1, 1) + 1) / 2``), for plotting and blending.

    images: floating tensor of any shape; returns the same shape.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        got = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise TypeError(f"images: expected a floating tensor in [-1, 1], got {got}")
    return (images.float().clamp(-1, 1) + 1) / 2


def grey_to_rgb(images: torch.Tensor) -> torch.Tensor:
    """(..., 1, H, W) -> (..., 3, H, W), the grey channel repeated (an expanded view: copy it before writing
    in place); (..., 3, H, W) comes back unchanged. Any dtype and range."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images: expected a torch.Tensor, got {type(images).__name__}")
    if _check_channels(images, "images", (1, 3)) == 3:
        return images
    return images.expand(*images.shape[:-3], 3, *images.shape[-2:])


def rgb_to_grey(images: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) -> (..., 1, H, W) luma with :data:`LUMA_WEIGHTS` (ITU-R 601), in the input's range and
    dtype (a luma of [-1, 1] images is again in [-1, 1]); (..., 1, H, W) comes back unchanged.

    Example:
        >>> rgb_to_grey(torch.ones(1, 3, 2, 2)).shape
        torch.Size([1, 1, 2, 2])
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        got = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise TypeError(f"images: expected a floating tensor, got {got}")
    if _check_channels(images, "images", (1, 3)) == 1:
        return images
    w = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype, device=images.device).view(3, 1, 1)
    return (images * w).sum(-3, keepdim=True)


def match_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """``images`` (..., 1 or 3, H, W) with ``channels`` (1 or 3) channels: :func:`grey_to_rgb` or
    :func:`rgb_to_grey` as needed, unchanged if they already match."""
    if channels not in (1, 3):
        raise ValueError(f"channels: expected 1 or 3, got {channels!r}")
    return grey_to_rgb(images) if channels == 3 else rgb_to_grey(images)
