"""Perceptual path length (Karras, Laine, Aila 2019, §3): how smoothly images change along latent walks.

    PPL = E[ d(G(i(z1, z2; t)), G(i(z1, z2; t + eps))) / eps² ],  t ~ U(0, 1), eps = 1e-4

i is slerp or lerp (``latentlab.latent.interpolate``, the library's one implementation of both).
d is a perceptual distance; Karras et al. used LPIPS (VGG features), which cannot be downloaded
here, so d is the squared L2 distance between judge features (``judge.features``), or between
pixels. Values are therefore comparable only under the same judge -- hence the same number for a
randomly initialised generator of the same architecture, a baseline with no learned structure. As
in the paper, the samples below the 1st and above the 99th percentile are dropped before averaging.
Default interpolation: slerp for a Gaussian prior (White 2016: intermediate points keep a typical
norm), lerp for a uniform prior (the cube is convex; slerp could leave it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from ..progress import progress_bar
from ..validate import options_of

from ..latent.interpolate import lerp, slerp
from ..models.adapter import LatentModel, as_latent_model
from ..models.baseline import random_weights
from ..models import sample_prior
from .frechet import judge_features

__all__ = ["slerp", "lerp", "perceptual_path_length", "PPLSettings", "random_generator", "recalibrate_batchnorm",
           "INTERPOLATIONS"]

INTERPOLATIONS = {"slerp": slerp, "linear": lerp, "lerp": lerp}


def _feature_fn(judge) -> Callable[[torch.Tensor], torch.Tensor]:
    """(N, C, H, W) -> (N, D) float64: a judge's features (``judge.features``), a callable's, or pixels."""
    if judge is None or judge == "pixels":
        return lambda images: images.double().flatten(1)
    if hasattr(judge, "features"):
        return lambda images: judge_features(judge, images, max(len(images), 1)).double()
    if callable(judge):
        return lambda images: torch.as_tensor(judge(images)).detach().double().cpu().flatten(1)
    raise TypeError(f"judge: expected a judge with features(images), a callable or None (pixels), "
                    f"got {type(judge).__name__}")


def _check_ppl_args(n_samples, epsilon, method, seed, rng) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 3:
        raise ValueError(f"n_samples: perceptual path length needs >= 3 samples (percentile filtering), "
                         f"got {n_samples!r}")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon: expected a small positive step, got {epsilon!r}")
    if method is not None and method not in INTERPOLATIONS:
        raise ValueError(f"method: expected one of {tuple(INTERPOLATIONS)} (or None: by the prior), got {method!r}")
    if rng is not None and seed is not None:
        raise ValueError("seed: give either seed= or rng=, not both")


def _classes(c, num_classes: int, start: int, m: int, g: torch.Generator):
    """Classes of the pairs start..start+m: the fixed ``c`` (int or (n_samples,)), random ones, or None."""
    if isinstance(c, int):
        return torch.full((m,), c, dtype=torch.long)
    if c is not None:
        return torch.as_tensor(c, dtype=torch.long)[start:start + m]
    return torch.randint(0, num_classes, (m,), generator=g) if num_classes else None


@dataclass(frozen=True)
class PPLSettings:
    """How :func:`perceptual_path_length` walks and averages (the paper's values by default)."""

    epsilon: float = 1e-4                          # step along the path (1e-4 as in the paper)
    batch_size: int = 64                           # pairs per forward pass (2 x batch_size images)
    percentiles: tuple[float, float] = (1.0, 99.0)  # samples outside [p_low, p_high] are dropped before the mean
    progress: bool = False                         # a progress bar over the batches


@torch.no_grad()
def perceptual_path_length(generator, judge=None, n_samples: int = 500, *, prior: str | None = None,
                           method: str | None = None, num_classes: int = 0, c=None, seed: int | None = None,
                           rng: torch.Generator | None = None, settings: PPLSettings | None = None) -> dict:
    """PPL of ``generator`` in the feature space of ``judge`` (Karras et al. 2019, "full" path sampling).

    Args:
        generator: a latentlab ``GAN``/generator, a ``LatentModel`` or any module mapping z (N, nz) or
            (N, nz, 1, 1) to images (N, C, H, W); run in eval mode (its mode is restored). A module whose nz
            cannot be read off its first layer, or that should run on another device, comes wrapped:
            ``LatentModel(module, prior, nz=, device=)``.
        judge: an object with ``features(images) -> (N, D)``, a callable doing the same, or None (pixels).
        n_samples: number of (z1, z2, t) draws, >= 3 so that percentile filtering keeps some.
        prior: the prior of z (read from our models' configs).
        method: "slerp" or "linear" (alias "lerp"); default by the prior (normal: slerp, uniform: lerp).
        num_classes: AC-GAN: each pair keeps one random class; or ``c``: a fixed class (int or (n_samples,)).
        seed / rng: randomness of z, t and classes (default seed 0).
        settings: a :class:`PPLSettings` (epsilon, batch size, percentiles, progress); default ``PPLSettings()``.

    Returns:
        {"ppl": filtered mean, "median", "n_samples", "n_kept", "epsilon", "interpolation"}.
    """
    settings = options_of(settings, PPLSettings, "settings", "latentlab.metrics.ppl")
    epsilon, batch_size, percentiles = settings.epsilon, settings.batch_size, settings.percentiles
    _check_ppl_args(n_samples, epsilon, method, seed, rng)
    lm = as_latent_model(generator, prior)
    method = method or ("slerp" if lm.prior == "normal" else "linear")
    interp, features = INTERPOLATIONS[method], _feature_fn(judge)
    g = rng if rng is not None else torch.Generator().manual_seed(0 if seed is None else int(seed))
    dists = []
    for start in progress_bar(range(0, n_samples, batch_size), desc="path length", disable=not settings.progress,
                             leave=False):
        m = min(batch_size, n_samples - start)
        z1 = sample_prior(m, lm.nz, lm.prior, rng=g).double()
        z2 = sample_prior(m, lm.nz, lm.prior, rng=g).double()
        t = torch.rand(m, generator=g, dtype=torch.float64)
        cm = _classes(c, num_classes, start, m, g)
        z = torch.cat([interp(z1, z2, t), interp(z1, z2, t + epsilon)])   # float64: eps must not drown in rounding
        images = lm.generate(z, None if cm is None else torch.cat([cm, cm]), batch_size=2 * m)
        f = features(images)
        dists.append(((f[:m] - f[m:]) ** 2).sum(dim=1) / epsilon ** 2)
    d = torch.cat(dists).numpy()
    lo, hi = np.percentile(d, percentiles[0]), np.percentile(d, percentiles[1])
    kept = d[(d >= lo) & (d <= hi)]
    return {"ppl": float(kept.mean()) if kept.size else float("nan"), "median": float(np.median(d)),
            "n_samples": int(d.size), "n_kept": int(kept.size), "epsilon": epsilon,
            "interpolation": "slerp" if method == "slerp" else "lerp"}


@torch.no_grad()
def recalibrate_batchnorm(module: nn.Module, run_batch: Callable[[int], object], n: int = 256,
                          batch_size: int = 128) -> nn.Module:
    """Re-estimate ``module``'s BatchNorm running statistics from scratch; returns it in eval mode.

    The statistics become the plain (cumulative) average over forward passes ``run_batch(k)`` of k inputs
    each, n inputs in all, in train mode; each layer's momentum is restored afterwards (also on error).
    A module without BatchNorm, or n = 0, is only put in eval mode.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if norms and n > 0:
        saved = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        module.train()
        try:
            for start in range(0, n, batch_size):
                run_batch(min(batch_size, n - start))
        finally:
            for m, mom in zip(norms, saved):
                m.momentum = mom
    return module.eval()


@torch.no_grad()
def random_generator(config, seed: int = 0, calibration_samples: int = 256, batch_size: int = 128) -> nn.Module:
    """A randomly initialised generator of the same architecture (DCGAN init), seeded without touching global RNG:
    the random-generator baseline of ``evaluate``.

    ``config``: a ``ModelConfig`` (the generator is built under ``seed``) or a ``LatentModel`` (its module is copied
    and re-initialised as if built afresh under ``seed``); both through
    :func:`latentlab.models.baseline.random_weights` (``draws="fresh"``). Its BatchNorm running statistics are
    re-estimated on ``calibration_samples`` prior draws from ``torch.Generator(seed + 1)``
    (:func:`recalibrate_batchnorm`): with the initial statistics (mean 0, variance 1) the small
    DCGAN-initialised weights make the eval-mode outputs nearly constant, which would make its path
    length trivially ~0. Returns the module, in eval mode.
    """
    if isinstance(config, LatentModel):
        G = random_weights(config.module, seed=int(seed))
        lm = LatentModel(G, config.prior, nz=config.nz, z_dims=config.z_dims)
    else:
        G = random_weights(config, seed=int(seed))
        lm = LatentModel(G, config.prior)
    g = torch.Generator().manual_seed(int(seed) + 1)

    def run_batch(k: int):
        z = lm.sample_z(k, rng=g).to(lm.device, lm.dtype)
        c = torch.randint(0, lm.num_classes, (k,), generator=g) if lm.conditional else None
        return lm.forward(z, c)

    return recalibrate_batchnorm(G, run_batch, calibration_samples, batch_size)
