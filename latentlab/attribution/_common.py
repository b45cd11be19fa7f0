"""Argument checks and small helpers shared by the attribution modules."""
from __future__ import annotations

import torch
from torch import nn

from ..hooks import get_module, layer_names
from ..models.adapter import default_layer
from ..models.base import check_device


def resolve_layer(model: nn.Module, layer: str) -> nn.Module:
    """``get_module`` whose error lists every valid dotted name (up to 60)."""
    try:
        return get_module(model, layer)
    except ValueError:
        names = layer_names(model)
        shown = names if len(names) <= 60 else names[:60] + [f"... ({len(names) - 60} more)"]
        raise ValueError(f"layer: unknown layer name {layer!r}; valid names are {shown}") from None


def model_device(model: nn.Module, device=None) -> torch.device:
    """The device ``model`` runs on; with ``device`` given, the model is first moved there (in place, as
    ``Module.to``). A model without parameters or buffers runs on the CPU."""
    dev = check_device(device)
    if dev is not None:
        model.to(dev)
    t = next(model.parameters(), None)
    if t is None:
        t = next(model.buffers(), None)
    return t.device if t is not None else torch.device("cpu")


def prepare(model: nn.Module, images, layer: str | None, device=None) -> tuple[torch.device, torch.Tensor, str]:
    """(device the model runs on, checked images, layer name) for an analysis of ``model``'s ``layer``.

    ``device`` moves the model there first (see :func:`model_device`); ``layer=None`` picks the
    discriminator's default layer (``models.adapter.default_layer``: its last spatial block).
    """
    dev = model_device(model, device)
    images = check_images(model, images)
    layer = default_layer(model, images[:1].to(dev), kind="discriminator") if layer is None else layer
    resolve_layer(model, layer)
    return dev, images, layer


def check_filter(index, n_filters: int, layer: str) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"filter: expected an int filter index, got {type(index).__name__}")
    if not 0 <= index < n_filters:
        raise ValueError(f"filter: expected 0 <= filter < {n_filters} (layer {layer!r} has {n_filters} filters), "
                         f"got {index}")
    return index


def _first_conv(model: nn.Module):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            return m
    return None


def check_images(model: nn.Module, images, name: str = "images") -> torch.Tensor:
    """Images (N, C, H, W) float for ``model``: our models check size and channels themselves; for any
    other model the channel count is checked against its first Conv2d."""
    if isinstance(images, (tuple, list)) and len(images) == 1:
        images = images[0]
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor (N, C, H, W), got {type(images).__name__}")
    if hasattr(model, "check_images"):
        return model.check_images(images)
    if images.dim() != 4:
        raise ValueError(f"{name}: expected shape (N, C, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"{name}: expected a float tensor, got dtype {images.dtype}")
    first = _first_conv(model)
    if isinstance(first, nn.Conv2d) and images.shape[1] != first.in_channels:
        raise ValueError(f"{name}: the model takes {first.in_channels} channels, got shape {tuple(images.shape)}")
    return images


