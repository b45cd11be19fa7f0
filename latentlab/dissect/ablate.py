"""Dropping (or setting) feature maps of a generator layer during generation (DCGAN §6.3.1, GAN Dissection).

Ablation is an edit function on a traced layer, not a modified copy of the model:

    with ablate(G, "block2", maps=[3, 17]):
        images = G(z)            # maps 3 and 17 of block2 are zero at every position

    with ablate(G, "block2", maps=[3], value=5.0, region=(0, 0, 32, 32)):   # insertion in a region
        images = G(z)

    with ablate_layers(G, {"block1": [0, 9], "block2": [3, 17]}):            # several layers at once
        images = G(z)
"""
from __future__ import annotations

import contextlib
from typing import Sequence

import torch
from torch import nn

from ..hooks import Trace, get_module

__all__ = ["ablation_edit", "ablate", "ablate_layers", "check_drops", "check_maps", "layer_channels",
           "declared_channels"]

# Layers that keep the number of feature maps of their input (a Sequential ending in one reports the one before).
_KEEP_CHANNELS = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid,
                  nn.Hardtanh, nn.Identity, nn.Dropout, nn.Dropout2d, nn.Upsample, nn.MaxPool2d, nn.AvgPool2d)


def check_layer_output(output) -> None:
    """ValueError unless a traced layer's ``output`` is a (N, C, H, W) tensor (what map edits act on)."""
    if not isinstance(output, torch.Tensor) or output.dim() != 4:
        raise ValueError(f"layer output: expected a (N, C, H, W) tensor, got "
                         f"{tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__}")


def check_maps(maps, n_maps: int | None, name: str = "maps") -> torch.Tensor:
    """Validate channel indices -> unique sorted LongTensor (``n_maps`` None: the layer's count is not known yet,
    only types and signs are checked)."""
    if isinstance(maps, torch.Tensor):
        maps = maps.tolist()
    try:
        idx = [int(m) for m in maps]
    except TypeError:
        raise TypeError(f"{name}: expected a sequence of feature-map indices, got {type(maps).__name__}") from None
    for m, orig in zip(idx, maps):
        if isinstance(orig, float) and not float(orig).is_integer():
            raise ValueError(f"{name}: indices must be integers, got {orig!r}")
    bad = [m for m in idx if m < 0 or (n_maps is not None and m >= n_maps)]
    if bad and n_maps is None:
        raise ValueError(f"{name}: indices {bad[:5]} out of range; indices are >= 0")
    if bad:
        raise ValueError(f"{name}: indices {bad[:5]} out of range; the layer has {n_maps} maps (0..{n_maps - 1})")
    return torch.tensor(sorted(set(idx)), dtype=torch.long)


def ablation_edit(maps: Sequence[int] | torch.Tensor, value: float = 0.0,
                  region: tuple[int, int, int, int] | None = None, image_size: int | None = None):
    """Return ``edit(output) -> output`` that sets ``maps`` of a (N, C, H, W) output to ``value``.

    ``region`` (x0, y0, x1, y1) in pixels of an ``image_size`` image restricts the edit to the feature
    cells whose centres lie inside it (GAN-Dissection-style insertion); ``None`` means everywhere.
    The edit is out-of-place, so features retained elsewhere are not corrupted.
    """
    if region is not None and image_size is None:
        raise ValueError("image_size: needed to map a pixel region onto the feature grid")
    if region is not None:
        from .boxes import _check_box
        region = _check_box(region, image_size, "region")
    checked: dict[int, torch.Tensor] = {}  # number of maps of the layer -> validated indices

    def edit(output: torch.Tensor) -> torch.Tensor:
        check_layer_output(output)
        n_maps = output.shape[1]
        if n_maps not in checked:  # negative indices would silently wrap around to the last maps
            checked[n_maps] = check_maps(maps, n_maps)
        idx = checked[n_maps].to(output.device)
        mask = torch.zeros(output.shape[1], *output.shape[2:], dtype=torch.bool, device=output.device)
        if region is None:
            mask[idx] = True
        else:
            from .boxes import box_to_grid
            cells = torch.from_numpy(box_to_grid(region, image_size, tuple(output.shape[2:]))).to(output.device)
            mask[idx] = cells
        return torch.where(mask, torch.as_tensor(value, dtype=output.dtype, device=output.device), output)

    return edit


def layer_channels(model: nn.Module, layer: str, probe_input: torch.Tensor) -> int:
    """Number of feature maps a layer outputs (runs one forward pass on ``probe_input``)."""
    with Trace(model, layer, stop=True) as t:
        model(probe_input)
    return int(t.output.shape[1])


def declared_channels(module: nn.Module) -> int | None:
    """The feature maps a layer outputs, read from its definition without a forward pass: ``out_channels`` (a
    conv, a latentlab block), ``num_features`` (BatchNorm), or the last such layer of a Sequential followed only by
    activations, dropout or resampling; None when the definition does not say (checked at the forward pass)."""
    for attr in ("out_channels", "num_features"):
        n = getattr(module, attr, None)
        if isinstance(n, int) and not isinstance(n, bool):
            return n
    if isinstance(module, nn.Sequential):
        for child in reversed(list(module)):
            n = declared_channels(child)
            if n is not None or not isinstance(child, _KEEP_CHANNELS):
                return n
    return None


def _check_on_entry(model: nn.Module, layer: str, maps, name: str = "maps") -> None:
    """Map indices checked when the ``with`` block is entered: the layer must exist, the indices must be
    non-negative integers, and below the layer's map count when its definition gives one."""
    n = declared_channels(get_module(model, layer))
    check_maps(maps, n, name)  # n None: types and signs only; the edit checks the range at the forward pass


@contextlib.contextmanager
def ablate(model: nn.Module, layer: str, maps, value: float = 0.0, region=None, image_size: int | None = None):
    """Context manager: while open, ``maps`` of ``layer`` are set to ``value`` (default: dropped to 0).

    The hook is removed on exit, also when generation raises. Bad ``maps`` (out of range for the layer's
    definition, negative, not integers) raise ValueError/TypeError on entry, before any forward pass.
    """
    _check_on_entry(model, layer, maps)
    with Trace(model, layer, retain_output=False, edit_output=ablation_edit(maps, value, region, image_size)) as t:
        yield t


def check_drops(drops) -> dict:
    """Validate a ``{layer name: map indices}`` mapping -> a plain dict of it."""
    if not hasattr(drops, "items"):
        raise TypeError(f"drops: expected a mapping {{layer name: map indices}}, got {type(drops).__name__}")
    return dict(drops.items())


@contextlib.contextmanager
def ablate_layers(model: nn.Module, drops, value: float = 0.0):
    """Context manager: ``drops`` maps layer names to feature-map indices; while open, those maps of every
    named layer are set to ``value`` (default: dropped to 0). Yields ``{layer: Trace}``.

    Every hook is removed on exit, also when generation raises or a later layer name is unknown.
    """
    drops = check_drops(drops)
    for name, maps in drops.items():
        _check_on_entry(model, name, maps, f"drops[{name!r}]")
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(Trace(model, name, retain_output=False,
                                               edit_output=ablation_edit(maps, value)))
               for name, maps in drops.items()}
