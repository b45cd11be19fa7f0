"""Rank feature maps by their causal effect on an object, by optimising a soft ablation mask (GAN Dissection).

The probe of DCGAN §6.3.1 ranks maps by how well they *predict* where windows are. Bau et al. (GAN
Dissection, 2019, §3.2 "ablation") instead ask which maps *cause* them: a mask m in [0, 1]^C scales the
layer's maps by (1 - m) while generating, and m is optimised so that the segmenter sees as little of the
object as possible, with an L1 price per map and a penalty on changing pixels outside the original
object. Maps are then ranked by m; the forget experiment drops the top-k of that ranking with hard zeros
and compares it with the probe's and the IoU ranking at equal k.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..hooks import Trace
from ..validate import options_of
from .removal import adapter, class_index

__all__ = ["causal_ranking", "CausalSettings"]


@dataclass(frozen=True)
class CausalSettings:
    """The optimisation of :func:`causal_ranking` (Adam on a soft mask)."""

    steps: int = 150          # Adam steps, each on fresh prior samples (z from the seed)
    batch_size: int = 16      # samples per step
    lr: float = 0.1
    sparsity: float = 4e-4    # L1 price per unit of mask (keeps the selection small)
    preserve: float = 0.05    # weight of the mean absolute pixel change outside the object in the unablated image


def causal_ranking(generator, layer: str, segmenter, obj: str = "window", *, nz: int | None = None,
                   prior: str | None = None, seed: int = 0, device=None, c=None,
                   settings: CausalSettings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Optimise a soft ablation mask over the maps of ``layer``; returns (ranking, mask values).

    Args:
        generator: any generator module or a LatentModel (``nz``/``prior`` as for ``LatentModel``;
            ``device``: where it runs); ``c``: an AC-GAN's class for every sample.
        segmenter: a differentiable module, ``segmenter(images) -> logits (N, classes, H, W)``, with ``classes``.
        seed: the z of every step.
        settings: a :class:`CausalSettings` (steps, batch size, learning rate, sparsity and preserve weights);
            default ``CausalSettings()``.
    Returns:
        ranking: map indices, most causal first; mask: the optimised m (C,) in [0, 1].
    """
    st = options_of(settings, CausalSettings, "settings", "latentlab.dissect.causal")
    steps, batch_size, lr, sparsity, preserve = st.steps, st.batch_size, st.lr, st.sparsity, st.preserve
    for name, v in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive int, got {v!r}")
    if not callable(segmenter) or not hasattr(segmenter, "classes"):
        raise TypeError("segmenter: expected a differentiable module returning per-pixel class logits, "
                        "with a `classes` attribute (e.g. the rooms judge)")
    idx = class_index(segmenter, obj, "obj")
    lm = adapter(generator, prior=prior, nz=nz, device=device, need_prior=True)
    generator = lm.module
    g = torch.Generator().manual_seed(seed)
    was_g, was_s = generator.training, getattr(segmenter, "training", False)
    generator.eval()
    if isinstance(segmenter, nn.Module):
        segmenter.eval()
    p0 = next(segmenter.parameters(), None) if isinstance(segmenter, nn.Module) else None
    seg_dev = p0.device if p0 is not None else torch.device("cpu")
    logits = None
    mask_box = {}

    def edit(out: torch.Tensor) -> torch.Tensor:
        return out * (1 - mask_box["m"].to(out.device))[None, :, None, None]

    def run(z):  # the generator on its device, one batch; images on the segmenter's device
        zz = z.to(lm.device, lm.dtype)
        cc = None if c is None else lm.module.check_classes(c, len(z)).to(lm.device)
        return lm.forward(zz, cc).float().to(seg_dev)

    try:
        with torch.no_grad(), Trace(generator, layer) as t:
            run(lm.sample_z(1, rng=g))
        n_maps = int(t.output.shape[1])
        logits = torch.full((n_maps,), -4.0, requires_grad=True)
        opt = torch.optim.Adam([logits], lr=lr)
        for _ in range(steps):
            z = lm.sample_z(batch_size, rng=g)
            with torch.no_grad():
                x0 = run(z)
                outside = (segmenter(x0).argmax(1) != idx).float()[:, None]
            mask_box["m"] = torch.sigmoid(logits)
            with Trace(generator, layer, retain_output=False, edit_output=edit):
                x = run(z)
            p = segmenter(x).float().softmax(1)[:, idx]
            loss = (p.mean() + preserve * ((x - x0).abs() * outside).mean()
                    + sparsity * mask_box["m"].sum())
            (grad,) = torch.autograd.grad(loss, [logits])
            logits.grad = grad
            opt.step()
            opt.zero_grad(set_to_none=True)
    finally:
        generator.train(was_g)
        if isinstance(segmenter, nn.Module):
            segmenter.train(was_s)
    m = torch.sigmoid(logits.detach()).numpy()
    ranking = np.lexsort((np.arange(len(m)), -m))
    return ranking, m
