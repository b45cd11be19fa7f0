"""Per-filter views of a layer: activations, top images, activation maps and guided-backprop maps.

DCGAN §6.2 shows, for filters of the discriminator's last convolution layer, guided-backprop maps of
their maximal responses on bedroom images, next to a randomly initialised D of the same
architecture. Here: for filter k of a layer, the k images (of a dataset or of generated samples)
whose maximal activation is largest, their activation maps and their guided-backprop maps.

Example::

    >>> D = gan.discriminator
    >>> acts = layer_activations(D, images, "block4")            # (N, 256, 4, 4)
    >>> views = filter_views(D, images, "block4", filters=[0, 1, 2], k=4, activations=acts)
    >>> views.top_indices.shape, views.guided.shape               # (3, 4), (3, 4, 3, 64, 64)
    >>> R = random_like(D, seed=0)                               # same architecture, DCGAN init
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import images as images_
from ..hooks import Trace, eval_mode
from ..models.baseline import random_weights
from ._common import check_filter, prepare
from .guided import FilterGuidedBackprop

__all__ = ["layer_activations", "filter_scores", "top_images", "random_like", "FilterViews", "filter_views",
           "guided_overlay", "to_uint8"]


@torch.no_grad()
def layer_activations(model: nn.Module, images: torch.Tensor, layer: str | None = None, *,
                      batch_size: int = 250, device=None) -> torch.Tensor:
    """Output of ``layer`` for every image, in eval mode: (N, F, h, w) float32 on the CPU.

    Args:
        model: any nn.Module (our discriminators, or a user's).
        images: (N, C, H, W) float, as the model expects them ([-1, 1] for ours).
        layer: dotted layer name; default ``models.adapter.default_layer`` (D's last conv block).
        batch_size: images per forward pass (the forward stops after the layer).
        device: where the model runs ("cpu", "cuda", ...; moved there in place); default where it is.
            Batches are moved there; the result is on the CPU.
    """
    dev, images, layer = prepare(model, images, layer, device)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    out = []
    with eval_mode(model):
        for i in range(0, len(images), batch_size):
            with Trace(model, layer, stop=True) as t:
                model(images[i:i + batch_size].to(dev))
            o = t.output
            if isinstance(o, (tuple, list)):
                o = o[0]
            out.append(o.float().cpu())
    return torch.cat(out)


def filter_scores(activations: torch.Tensor) -> torch.Tensor:
    """Each image's maximal response per filter: (N, F, h, w) -> (N, F) (or (N, F) unchanged)."""
    if not isinstance(activations, torch.Tensor) or activations.dim() < 2:
        raise ValueError(f"activations: expected a tensor (N, F, ...), got "
                         f"{tuple(activations.shape) if isinstance(activations, torch.Tensor) else type(activations).__name__}")
    return activations.flatten(2).amax(2) if activations.dim() > 2 else activations


def top_images(activations: torch.Tensor, k: int, filters=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The k images with the largest maximal response of each filter.

    Args:
        activations: (N, F, h, w) layer outputs (or (N, F) scores).
        k: images per filter, 1 <= k <= N.
        filters: filter indices (default all F).
    Returns:
        values (len(filters), k) and indices (len(filters), k), best first; ties go to the lower
        image index (a stable sort), so the selection is exact and deterministic.
    """
    s = filter_scores(activations)
    n, F = s.shape
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k: expected an int with 1 <= k <= {n} (number of images), got {k!r}")
    filters = list(range(F)) if filters is None else [check_filter(f, F, "activations") for f in filters]
    cols = s[:, filters]
    values, order = torch.sort(cols, dim=0, descending=True, stable=True)
    return values[:k].T.contiguous(), order[:k].T.contiguous()


@torch.no_grad()
def random_like(model: nn.Module, *, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with fresh DCGAN initialisation (§4), drawn from ``torch.Generator(seed)``.

    Conv/linear weights ~ N(0, 0.02), biases 0; BatchNorm scale ~ N(1, 0.02), shift 0, running
    statistics reset. The paper's "randomly initialised D of the same architecture"; the global RNG
    is not touched. Returned in eval mode. (:func:`latentlab.models.baseline.random_weights`, ``draws="direct"``.)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    return random_weights(model, seed=seed, draws="direct")


@dataclass
class FilterViews:
    """Views of some filters of one layer (F' filters, k images each).

    Attributes:
        layer: the layer's dotted name.
        filters: (F',) filter indices.
        top_indices: (F', k) image indices, best first.
        top_values: (F', k) their maximal activations.
        activation_maps: (F', k, h, w) the filter's activation map on each top image.
        guided: (F', k, C, H, W) guided-backprop maps of the filter's maximal response on each top image.
        images: (F', k, C, H, W) the top images themselves.
    """

    layer: str
    filters: torch.Tensor
    top_indices: torch.Tensor
    top_values: torch.Tensor
    activation_maps: torch.Tensor
    guided: torch.Tensor
    images: torch.Tensor


def filter_views(model: nn.Module, images: torch.Tensor, layer: str | None = None, *, filters=None, k: int = 4,
                 activations: torch.Tensor | None = None, batch_size: int = 250, device=None) -> FilterViews:
    """Top-k images per filter with their activation maps and guided-backprop maps (DCGAN Fig. 5).

    Args:
        model: the discriminator (any nn.Module); evaluated in eval mode.
        images: (N, C, H, W) candidate images (a dataset's or generated samples).
        layer: dotted name; default ``models.adapter.default_layer`` (D's last conv block).
        filters: filter indices (default: all filters of the layer).
        k: top images per filter.
        activations: precomputed ``layer_activations(model, images, layer)`` (saves a pass).
        device: where the model runs (moved there in place); default where it is. Results are on the CPU.
    """
    dev, images, layer = prepare(model, images, layer, device)
    if activations is None:
        activations = layer_activations(model, images, layer, batch_size=batch_size, device=dev)
    if activations.shape[0] != images.shape[0]:
        raise ValueError(f"activations: expected {images.shape[0]} rows (one per image), got {tuple(activations.shape)}")
    F = activations.shape[1]
    filters = list(range(F)) if filters is None else [check_filter(int(f) if isinstance(f, (np.integer, torch.Tensor)) else f, F, layer) for f in filters]
    values, idx = top_images(activations, k, filters)
    maps = torch.stack([activations[idx[i], f] for i, f in enumerate(filters)])
    gbp = FilterGuidedBackprop(model, layer)
    guided = []
    with eval_mode(model):
        for i, f in enumerate(filters):
            guided.append(gbp.attribute(images[idx[i]].detach().to(dev, copy=True), filter=f).detach().cpu())
    return FilterViews(layer=layer, filters=torch.tensor(filters), top_indices=idx, top_values=values,
                       activation_maps=maps, guided=torch.stack(guided), images=images[idx].detach().clone())


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images (..., C, H, W) in [-1, 1] -> (..., H, W, 3) uint8 (grey images repeated to RGB)."""
    return images_.to_uint8(images_.grey_to_rgb(images), channels_last=True).cpu().numpy()


def guided_overlay(images: torch.Tensor, guided: torch.Tensor, *, alpha: float = 0.65,
                   percentile: float = 99.0) -> np.ndarray:
    """Blend images with the magnitude of their guided-backprop maps, as uint8 RGB tiles.

    images, guided: (..., C, H, W). The magnitude (L2 over channels) is scaled per map by its
    ``percentile`` (so one hot pixel does not wash out the rest), clipped to [0, 1] and drawn as a
    black -> red -> yellow heat map over a darkened grey copy of the image. Returns (..., H, W, 3) uint8.
    """
    if images.shape != guided.shape:
        raise ValueError(f"guided: expected the images' shape {tuple(images.shape)}, got {tuple(guided.shape)}")
    mag = guided.detach().float().norm(dim=-3)                                   # (..., H, W)
    flat = mag.flatten(-2)
    scale = torch.quantile(flat, percentile / 100.0, dim=-1).clamp_min(1e-12)
    m = (mag / scale[..., None, None]).clamp(0, 1)
    heat = torch.stack([(m * 2).clamp(max=1), (m * 2 - 1).clamp(min=0), torch.zeros_like(m)], -1)  # red -> yellow
    grey = images_.to_unit_range(images.detach()).mean(-3, keepdim=True).movedim(-3, -1)
    out = grey * (1 - alpha * m[..., None]) * 0.6 + alpha * m[..., None] * heat
    return (out.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
