"""Fréchet distance between two feature sets (Heusel et al. 2017, "FID"), with a judge in place of Inception.

The Inception network of FID cannot be downloaded here, so latentlab measures the distance in the
feature space of its own judges (``latentlab.judges``: the penultimate layer of a small CNN trained
on the dataset's ground truth). The numbers are therefore comparable only between models judged by
the same judge, never with published FIDs.

Example::

    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(500, 4))
    >>> round(frechet_distance(a, a), 6)
    0.0
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch
from ..progress import progress_bar

from ..validate import finite, positive_int

__all__ = ["frechet_distance", "feature_statistics", "judge_features"]


def _as_features(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected features of shape (N, D), got {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"{name}: a covariance needs at least 2 feature vectors, got {x.shape[0]}")
    finite(x, name)
    return x


def feature_statistics(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), float64, unbiased (N - 1) like the FID code."""
    x = _as_features(feats, "feats")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance(feats_a, feats_b, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    ``d² = |mu_a - mu_b|² + Tr(S_a + S_b - 2 (S_a S_b)^½)`` (Dowson & Landau 1982; Heusel et al. 2017).

    Args:
        feats_a: (N, D) array or tensor, N >= 2.
        feats_b: (M, D) array or tensor, M >= 2, same D.
        eps: added to both diagonals when the matrix square root is not finite (singular
            covariances, e.g. dead ReLU units or N < D), as in the reference FID code.

    Returns:
        float >= 0 (tiny negative round-off is clipped to 0). The estimate is biased upwards for
        small N, so compare only numbers computed with the same N (see ``fd_real_floor``).
    """
    a = _as_features(feats_a, "feats_a")
    b = _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_b: expected {a.shape[1]} features per row like feats_a, got {b.shape[1]}")
    mu1, s1 = a.mean(axis=0), np.atleast_2d(np.cov(a, rowvar=False))
    mu2, s2 = b.mean(axis=0), np.atleast_2d(np.cov(b, rowvar=False))
    diff = mu1 - mu2
    with warnings.catch_warnings():  # sqrtm warns on singular input; we check the result instead
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(s1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        # Numerical error gives small imaginary parts; large ones mean the result is meaningless.
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"frechet_distance: the matrix square root has an imaginary component "
                             f"{np.max(np.abs(covmean.imag)):.3g}; the covariances are ill-conditioned")
        covmean = covmean.real
    d = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    return max(d, 0.0)


@torch.no_grad()
def judge_features(judge, images: torch.Tensor, batch_size: int = 256, *, progress: bool = False,
                   desc: str = "judge features") -> torch.Tensor:
    """``judge.features`` of images (N, C, H, W) in [-1, 1] -> (N, D) float32 on the CPU, in batches.

    ``judge`` is any object with ``features(images) -> (n, D)`` (every latentlab judge has one).
    """
    if not hasattr(judge, "features"):
        raise TypeError(f"judge: expected an object with a features(images) method, got {type(judge).__name__}")
    positive_int(batch_size, "batch_size")
    out = [judge.features(chunk).detach().to("cpu", torch.float32)
           for chunk in progress_bar(images.split(batch_size), desc=desc, disable=not progress, leave=False)]
    feats = torch.cat(out) if out else torch.zeros(0, 0)
    if feats.ndim != 2 or feats.shape[0] != images.shape[0]:
        raise ValueError(f"judge: features() returned shape {tuple(feats.shape)} for {images.shape[0]} images; "
                         "expected (N, D)")
    return feats
