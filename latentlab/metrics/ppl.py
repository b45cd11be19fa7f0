"""Perceptual path length (Karras, Laine, Aila 2019, §3): how smoothly images change along latent walks.

    PPL = E[ d(G(slerp(z1, z2; t)), G(slerp(z1, z2; t + eps))) / eps² ],  t ~ U(0, 1), eps = 1e-4

d is a perceptual distance; Karras et al. used LPIPS (VGG features), which cannot be downloaded
here, so d is the squared L2 distance between judge features (``judge.features``). Values are
therefore comparable only under the same judge -- hence the same number for a randomly initialised
generator of the same architecture, a baseline with no learned structure. As in the paper, the
samples below the 1st and above the 99th percentile are dropped before averaging.
Interpolation: slerp for a Gaussian prior (White 2016: intermediate points keep a typical norm),
lerp for a uniform prior (the cube is convex; slerp could leave it).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..models import build_generator, sample_prior

__all__ = ["slerp", "lerp", "perceptual_path_length", "random_generator"]


def lerp(a: torch.Tensor, b: torch.Tensor, t) -> torch.Tensor:
    """Linear interpolation of rows: a, b (N, D), t scalar or (N,) -> (N, D)."""
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    t = t.reshape(-1, 1) if t.ndim else t
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t) -> torch.Tensor:
    """Spherical interpolation of rows (White 2016): a, b (N, D), t scalar or (N,) -> (N, D).

    ``sin((1-t) w) / sin(w) a + sin(t w) / sin(w) b`` with w the angle between a and b; rows with a
    (near) zero angle fall back to lerp.
    """
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    t = t.reshape(-1, 1) if t.ndim else t
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1, eps=1e-12).clamp(-1.0, 1.0).unsqueeze(1)
    omega = torch.arccos(cos)
    so = torch.sin(omega)
    small = so.abs() < 1e-6
    safe = torch.where(small, torch.ones_like(so), so)
    out = torch.sin((1.0 - t) * omega) / safe * a + torch.sin(t * omega) / safe * b
    return torch.where(small, lerp(a, b, t), out)


def _generate(generator: nn.Module, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    return generator(z) if c is None else generator(z, c)


@torch.no_grad()
def perceptual_path_length(generator: nn.Module, judge, n_samples: int = 500, *, nz: int, prior: str = "normal",
                           num_classes: int = 0, epsilon: float = 1e-4, seed: int | None = None,
                           rng: torch.Generator | None = None, batch_size: int = 64,
                           percentiles: tuple[float, float] = (1.0, 99.0), progress: bool = False) -> dict:
    """PPL of ``generator`` in the feature space of ``judge`` (Karras et al. 2019, "full" path sampling).

    Args:
        generator: any module ``G(z) -> (N, C, H, W)`` (or ``G(z, c)`` when num_classes > 0; each
            pair then keeps one random class). Called as it is: put it in eval mode first.
        judge: an object with ``features(images) -> (N, D)``.
        n_samples: number of (z1, z2, t) draws, >= 3 so that percentile filtering keeps some.
        nz, prior: the latent size and prior ("normal": slerp, "uniform": lerp).
        epsilon: step along the path (1e-4 as in the paper).
        seed / rng: randomness of z, t and classes (default seed 0).
        percentiles: samples outside [p_low, p_high] are dropped before the mean.

    Returns:
        {"ppl": filtered mean, "median", "n_samples", "n_kept", "epsilon", "interpolation"}.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 3:
        raise ValueError(f"n_samples: perceptual path length needs >= 3 samples (percentile filtering), "
                         f"got {n_samples!r}")
    if not epsilon > 0:
        raise ValueError(f"epsilon: expected a positive step, got {epsilon!r}")
    if prior not in ("normal", "uniform"):
        raise ValueError(f"prior: expected 'normal' or 'uniform', got {prior!r}")
    if rng is not None and seed is not None:
        raise ValueError("seed: give either seed= or rng=, not both")
    g = rng if rng is not None else torch.Generator().manual_seed(0 if seed is None else int(seed))
    interp = slerp if prior == "normal" else lerp
    try:
        device = next(generator.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    dists = []
    for start in tqdm(range(0, n_samples, batch_size), desc="path length", disable=not progress, leave=False):
        m = min(batch_size, n_samples - start)
        z1 = sample_prior(m, nz, prior, generator=g).double()
        z2 = sample_prior(m, nz, prior, generator=g).double()
        t = torch.rand(m, generator=g, dtype=torch.float64)
        c = torch.randint(0, num_classes, (m,), generator=g) if num_classes else None
        za = interp(z1, z2, t)             # in float64: the eps step must not drown in rounding
        zb = interp(z1, z2, t + epsilon)
        z = torch.cat([za, zb]).float().to(device)
        images = _generate(generator, z, None if c is None else torch.cat([c, c]).to(device))
        f = judge.features(images).detach().double().cpu()
        dists.append(((f[:m] - f[m:]) ** 2).sum(dim=1) / epsilon ** 2)
    d = torch.cat(dists).numpy()
    lo, hi = np.percentile(d, percentiles[0]), np.percentile(d, percentiles[1])
    kept = d[(d >= lo) & (d <= hi)]
    return {"ppl": float(kept.mean()) if kept.size else float("nan"), "median": float(np.median(d)),
            "n_samples": int(d.size), "n_kept": int(kept.size), "epsilon": epsilon,
            "interpolation": "slerp" if prior == "normal" else "lerp"}


@torch.no_grad()
def random_generator(config, seed: int = 0, calibration_samples: int = 256, batch_size: int = 128) -> nn.Module:
    """A randomly initialised generator of ``config`` (DCGAN init), seeded without touching global RNG.

    Its BatchNorm running statistics are re-estimated on ``calibration_samples`` prior draws: with
    the initial statistics (mean 0, variance 1) the small DCGAN-initialised weights make the
    eval-mode outputs nearly constant, which would make its path length trivially ~0.
    Returned in eval mode.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        G = build_generator(config)
    g = torch.Generator().manual_seed(int(seed) + 1)
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if norms and calibration_samples > 0:
        saved = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        G.train()
        try:
            for start in range(0, calibration_samples, batch_size):
                k = min(batch_size, calibration_samples - start)
                z = sample_prior(k, config.nz, config.prior, generator=g)
                c = torch.randint(0, config.num_classes, (k,), generator=g) if config.conditional else None
                _generate(G, z, c)
        finally:
            for m, mom in zip(norms, saved):
                m.momentum = mom
    return G.eval()
