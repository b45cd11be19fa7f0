"""Perceptual path length in z (Karras et al. 2019, StyleGAN §4.1), a small local version.

PPL = E[ d(G(i(z1, z2; t)), G(i(z1, z2; t + eps))) / eps^2 ], t ~ U(0, 1), i = slerp or lerp, d the
squared Euclidean distance between ``features`` of the two images (Karras used LPIPS; we take a judge's
features, or pixels). Values outside the 1st..99th percentiles are dropped before the mean, as Karras did.

``latentlab.metrics`` (the evaluate issue) is the library's home for PPL; this version exists so the
latent experiments can compare linear and spherical walks without depending on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .interpolate import METHODS, lerp, slerp
from .model import as_latent_model
from .walk import pixel_features

__all__ = ["path_length", "PathLength"]


@dataclass
class PathLength:
    mean: float                 # the PPL: mean of the kept values
    values: torch.Tensor        # (n,) all per-pair values before filtering
    method: str
    eps: float

    def __float__(self) -> float:
        return self.mean


def path_length(generator, prior: str | None = None, *, n: int = 256, method: str = "slerp", eps: float = 1e-4,
                features: Callable | None = None, seed: int | None = 0, nz: int | None = None, c=None,
                percentiles: tuple = (1.0, 99.0), batch_size: int = 64) -> PathLength:
    """PPL of n random pairs (see the module docstring). Computed in float32; ``eps`` = 1e-4 as Karras."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n: expected an int >= 2, got {n!r}")
    if not 0 < eps < 1:
        raise ValueError(f"eps: expected a small positive number, got {eps!r}")
    lm = as_latent_model(generator, prior, nz=nz, batch_size=batch_size)
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    z = lm.sample_z(2 * n, generator=gen)
    t = torch.rand(n, generator=gen, dtype=torch.float64) * (1 - eps)
    fn = slerp if method == "slerp" else lerp
    za = fn(z[:n], z[n:], t)
    zb = fn(z[:n], z[n:], t + eps)
    if isinstance(c, int) and lm.conditional:
        c = torch.full((n,), c, dtype=torch.long)
    f = features or pixel_features
    fa = torch.as_tensor(f(lm.generate(za, c))).float().flatten(1)
    fb = torch.as_tensor(f(lm.generate(zb, c))).float().flatten(1)
    values = (fa - fb).pow(2).sum(1).double() / eps ** 2
    lo, hi = torch.quantile(values, torch.tensor([percentiles[0] / 100, percentiles[1] / 100], dtype=torch.float64))
    kept = values[(values >= lo) & (values <= hi)]
    return PathLength(float(kept.mean()), values.float(), method, eps)
