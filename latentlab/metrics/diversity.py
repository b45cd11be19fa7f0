"""Diversity: mean MS-SSIM of random pairs (Odena et al. 2017, §4.2) and a mode-collapse flag.

MS-SSIM (Wang, Simoncelli, Bovik 2003) compares two images at several scales; averaged over
random pairs of samples it measures how alike a model's samples are (higher = less diverse).
AC-GAN computes it within each class and compares it with the highest class value of the
training data (0.25 on ImageNet): classes above it are less diverse than any real class.

Small images: the paper's setting (5 scales, 11x11 Gaussian window) needs images of at least
161 pixels; ours are 32 or 64. ``msssim`` therefore defaults to a 7x7 window (sigma 1.5, the
standard sigma) and as many scales as keep the coarsest scale at least one window wide: 4 scales
(64, 32, 16, 8) for 64x64 images, 3 (32, 16, 8) for 32x32. The weights are the first of Wang's
five (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), renormalised to sum to 1. Both are parameters.

How it is computed: every SSIM term comes from ``pytorch_msssim.ssim``, the public function (separable
Gaussian window, valid region only, C1 = (K1 L)^2, C2 = (K2 L)^2; Wang et al. 2004), called once per scale
with the channels folded into the batch so each channel keeps its own term. At the finer scales MS-SSIM needs
the contrast-structure term cs, which ``ssim`` does not return; cs is SSIM without its luminance factor
l = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1), and with K1 = 1e6 (C1 = 1e12 L^2) l rounds to exactly 1 in
float32 for pixel values within 100 L, so ``ssim(..., K=(1e6, K2))`` returns cs. The scale loop is
``pytorch_msssim.ms_ssim``'s (2x2 average pooling between scales, ReLU on each term, product of
term ** weight, mean over channels); ``ms_ssim`` itself cannot be called because it asserts
``side > (win_size - 1) * 16`` whatever the number of weights (VainF/pytorch-msssim#28, #40), i.e. > 96 px
for our 7x7 window. torchmetrics' ``multiscale_structural_similarity_index_measure`` (1.9) cannot give a 7x7
window at sigma 1.5 (its Gaussian size follows sigma: 11x11) and averages the SSIM term over the
reflect-padded border; no torchmetrics option tried came within 0.2 of the shipped fashion numbers (0.005 to
0.054 on rooms and faces), while this path reproduces the former own core to 1e-9. Per option:
docs/evaluate.md, "How MS-SSIM is computed" (``benchmarks/msssim_public_api.py``).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim import ssim

from ..rng import resolve_rng
from ..validate import positive_int

__all__ = ["msssim", "msssim_pairs", "msssim_per_class", "mode_collapse", "msssim_settings", "ssim_terms",
           "WANG_WEIGHTS", "CS_K1"]

WANG_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, finest scale first


def msssim_settings(image_size: int, win_size: int = 7, weights=None) -> tuple[float, ...]:
    """The per-scale weights ``msssim`` uses for ``image_size`` (finest scale first).

    Default: as many scales (at most 5) as keep the coarsest scale >= ``win_size`` pixels, with
    Wang's weights renormalised. Raises ValueError when the given weights need more scales than fit.
    """
    if isinstance(win_size, bool) or not isinstance(win_size, int) or win_size < 1 or win_size % 2 == 0:
        raise ValueError(f"win_size: expected an odd positive int, got {win_size!r}")
    if image_size < win_size:
        raise ValueError(f"images: MS-SSIM with win_size={win_size} needs images of at least {win_size} pixels, "
                         f"got {image_size}")
    if weights is None:
        levels = 1
        while levels < len(WANG_WEIGHTS) and image_size // 2 ** levels >= win_size:
            levels += 1
        w = WANG_WEIGHTS[:levels]
        return tuple(x / sum(w) for x in w)
    weights = tuple(float(x) for x in weights)
    if not weights or min(weights) < 0:
        raise ValueError(f"weights: expected non-negative per-scale weights, got {weights!r}")
    coarsest = image_size // 2 ** (len(weights) - 1)
    if coarsest < win_size:
        raise ValueError(f"weights: {len(weights)} scales shrink {image_size}-pixel images to {coarsest} pixels, "
                         f"smaller than win_size={win_size}; use fewer scales or a smaller window")
    return weights


CS_K1 = 1e6  # K1 of the SSIM call that returns cs: C1 = (1e6 L)^2 turns the luminance factor into 1.0


def _ssim_per_channel(x: torch.Tensor, y: torch.Tensor, k1: float, k2: float, win_size: int, win_sigma: float,
                      data_range: float) -> torch.Tensor:
    """pytorch_msssim's public ``ssim`` per image and channel: (N, C, H, W) -> (N, C)."""
    n, c = x.shape[:2]
    fold = (n * c, 1, *x.shape[2:])  # one single-channel image per channel: ssim averages over channels
    v = ssim(x.reshape(fold), y.reshape(fold), data_range=data_range, size_average=False, win_size=win_size,
             win_sigma=win_sigma, K=(k1, k2))
    return v.view(n, c)


def ssim_terms(x: torch.Tensor, y: torch.Tensor, *, win_size: int = 7, win_sigma: float = 1.5,
               data_range: float = 2.0, k1: float = 0.01, k2: float = 0.03) -> tuple[torch.Tensor, torch.Tensor]:
    """SSIM and its contrast-structure term per image and channel (Wang et al. 2004, alpha = beta = gamma = 1).

    x, y: (N, C, H, W) float, H and W >= win_size. Returns (ssim (N, C), cs (N, C)): the means over the
    valid region of the SSIM map and of cs = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2), both from
    ``pytorch_msssim.ssim`` (cs with K1 = ``CS_K1``, see the module docstring).
    """
    kw = dict(win_size=win_size, win_sigma=win_sigma, data_range=data_range)
    return _ssim_per_channel(x, y, k1, k2, **kw), _ssim_per_channel(x, y, CS_K1, k2, **kw)


def _check_images(images, name: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor (N, C, H, W), got {type(images).__name__}")
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor (N, C, H, W) in [-1, 1], got {images.dtype} "
                         f"{tuple(images.shape)}")
    return images


def msssim(x: torch.Tensor, y: torch.Tensor, *, win_size: int = 7, win_sigma: float = 1.5, weights=None,
           data_range: float = 2.0) -> torch.Tensor:
    """MS-SSIM of image pairs: x, y (N, C, H, W) in [-1, 1] -> (N,) in [0, 1]; identical images give 1.

    Args:
        win_size, win_sigma: the Gaussian window (odd size); see the module docstring for the default.
        weights: per-scale exponents, finest first; default from ``msssim_settings``.
        data_range: max - min of the pixel values (2 for [-1, 1]).
    """
    x, y = _check_images(x, "x"), _check_images(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"y: expected the shape of x {tuple(x.shape)}, got {tuple(y.shape)}")
    w = x.new_tensor(msssim_settings(min(x.shape[-2:]), win_size, weights), dtype=torch.float32)
    x, y = x.float(), y.float()
    kw = dict(win_size=win_size, win_sigma=win_sigma, data_range=data_range)
    terms = []
    for _ in range(len(w) - 1):  # finer scales: cs only; pytorch_msssim.ms_ssim's loop
        terms.append(torch.relu(_ssim_per_channel(x, y, CS_K1, 0.03, **kw)))  # (N, C)
        pad = [s % 2 for s in x.shape[2:]]
        x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    terms.append(torch.relu(_ssim_per_channel(x, y, 0.01, 0.03, **kw)))  # luminance enters at the coarsest scale
    return torch.prod(torch.stack(terms) ** w.view(-1, 1, 1), dim=0).mean(dim=1)


def _rng(rng: torch.Generator | None, seed: int | None) -> torch.Generator:
    if rng is not None and seed is not None:
        raise ValueError("seed: give either seed= or rng=, not both")
    if rng is None:
        rng = torch.Generator().manual_seed(0 if seed is None else int(seed))
    return rng


@torch.no_grad()
def msssim_pairs(images: torch.Tensor, n_pairs: int = 100, *, rng: torch.Generator | None = None,
                 seed: int | None = None, batch_size: int = 256, generator: torch.Generator | None = None,
                 **msssim_kw) -> float:
    """Mean MS-SSIM over ``n_pairs`` random pairs of distinct samples of ``images`` (N >= 2, C, H, W).

    Pairs are drawn with replacement (i != j within a pair) from ``rng`` (a torch.Generator; ``generator=``
    is its deprecated old name) or ``seed`` (default 0). Keyword arguments go to ``msssim``. Identical images
    give 1.0.
    """
    rng = resolve_rng(rng, generator)
    images = _check_images(images, "images")
    n = images.shape[0]
    if n < 2:
        raise ValueError(f"images: MS-SSIM of pairs needs at least 2 images, got {n}")
    n_pairs = positive_int(n_pairs, "n_pairs")
    g = _rng(rng, seed)
    i = torch.randint(0, n, (n_pairs,), generator=g)
    j = (i + torch.randint(1, n, (n_pairs,), generator=g)) % n  # never equal to i
    vals = [msssim(images[i[k:k + batch_size]], images[j[k:k + batch_size]], **msssim_kw)
            for k in range(0, n_pairs, batch_size)]
    return float(torch.cat(vals).double().mean())


def msssim_per_class(images: torch.Tensor, labels, n_pairs: int = 100, *, class_names=None,
                     rng: torch.Generator | None = None, seed: int | None = None,
                     generator: torch.Generator | None = None, **msssim_kw) -> dict[str, float]:
    """Mean MS-SSIM of ``n_pairs`` random pairs within each class (AC-GAN's diversity measure); pairs drawn
    from ``rng`` (a torch.Generator; ``generator=`` is its deprecated old name) or ``seed`` (default 0).

    Args:
        images: (N, C, H, W) in [-1, 1].
        labels: (N,) int classes, or None for one group ("all").
        class_names: a name per class index (default the index as a string).

    Returns:
        {class name: mean MS-SSIM}, classes in index order; every class present needs >= 2 images.
    """
    rng = resolve_rng(rng, generator)
    images = _check_images(images, "images")
    g = _rng(rng, seed)
    if labels is None:
        return {"all": msssim_pairs(images, n_pairs, rng=g, **msssim_kw)}
    labels = torch.as_tensor(labels).long().reshape(-1)
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels: expected {images.shape[0]} labels (one per image), got {labels.shape[0]}")
    out = {}
    for c in torch.unique(labels).tolist():
        name = str(class_names[c]) if class_names else str(c)
        members = images[labels == c]
        if members.shape[0] < 2:
            raise ValueError(f"labels: class {name!r} has {members.shape[0]} image(s); MS-SSIM needs >= 2 per class")
        out[name] = msssim_pairs(members, n_pairs, rng=g, **msssim_kw)
    return out


def mode_collapse(msssim_by_class: dict, gen_feats=None, real_feats=None, *, msssim_threshold: float = 0.9,
                  variance_ratio_threshold: float = 0.01) -> dict:
    """Flag mode collapse (Goodfellow et al. 2014: G produces few distinct outputs).

    A class is collapsed when its mean pair MS-SSIM is >= ``msssim_threshold`` (near-identical
    samples; real classes of our datasets stay far below). Independently, the whole model is
    flagged when the total variance of its judge features (trace of the covariance, gen_feats
    (N, D)) is below ``variance_ratio_threshold`` times that of real images (real_feats (M, D)).

    Returns:
        {"collapsed": bool, "collapsed_classes": [names], "feature_variance_ratio": float | None,
         "msssim_threshold": ..., "variance_ratio_threshold": ...}
    """
    classes = [k for k, v in msssim_by_class.items() if v >= msssim_threshold]
    ratio = None
    if gen_feats is not None and real_feats is not None:
        g = np.asarray(torch.as_tensor(gen_feats, dtype=torch.float64))
        r = np.asarray(torch.as_tensor(real_feats, dtype=torch.float64))
        real_var = float(r.var(axis=0).sum())
        ratio = float(g.var(axis=0).sum()) / real_var if real_var > 0 else float("nan")
    collapsed = bool(classes) or (ratio is not None and ratio < variance_ratio_threshold)
    return {"collapsed": collapsed, "collapsed_classes": classes, "feature_variance_ratio": ratio,
            "msssim_threshold": msssim_threshold, "variance_ratio_threshold": variance_ratio_threshold}
