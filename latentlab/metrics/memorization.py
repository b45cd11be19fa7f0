"""Memorization: how close samples come to their nearest training image (DCGAN §6.1's worry, measured).

For each generated sample we find the nearest training image, in pixel space (L2 over the
flattened [-1, 1] pixels) and in judge-feature space (L2), and compare those distances with the
same distances of held-out real images, which are new to the model by construction.

Near-copy rule: a generated sample is flagged when it is closer to its nearest training image than
the ``quantile`` (default 1 %) of held-out real-to-train distances *in both spaces*. A generator
that produced fresh samples from the data distribution would still get about ``quantile`` x N
flags or fewer (the held-out images themselves do), so ``evaluate`` also counts the flags of a
second held-out set as a baseline; copies show up as a count far above it, at distances near 0.
"""
from __future__ import annotations

import numpy as np
import torch
from ..progress import progress_bar
from ..validate import positive_int

__all__ = ["nearest_distances", "near_copy_thresholds", "flag_near_copies"]


def _flat(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim < 2:
        raise ValueError(f"{name}: expected (N, D) vectors or (N, C, H, W) images, got shape {tuple(x.shape)}")
    return x.detach().reshape(x.shape[0], -1).to("cpu", torch.float32)


@torch.no_grad()
def nearest_distances(queries, reference, *, chunk_size: int = 512, progress: bool = False,
                      desc: str = "nearest neighbours") -> tuple[torch.Tensor, torch.Tensor]:
    """Distance of each query to its nearest reference vector, chunked ``torch.cdist``.

    Args:
        queries: (Q, D) vectors or (Q, C, H, W) images (flattened).
        reference: (M, D) or (M, C, H, W), M >= 1, same D.
        chunk_size: queries per cdist call (memory: chunk_size x M floats).

    Returns:
        (distances (Q,) float32 L2, indices (Q,) long into reference).
    """
    q, r = _flat(queries, "queries"), _flat(reference, "reference")
    if r.shape[0] < 1:
        raise ValueError("reference: expected at least one reference vector")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"reference: expected vectors of size {q.shape[1]} like the queries, got {r.shape[1]}")
    positive_int(chunk_size, "chunk_size")
    dists, idx = [], []
    for chunk in progress_bar(q.split(chunk_size), desc=desc, disable=not progress, leave=False):
        d = torch.cdist(chunk, r)
        m = d.min(dim=1)
        dists.append(m.values)
        idx.append(m.indices)
    if not dists:
        return torch.zeros(0), torch.zeros(0, dtype=torch.long)
    return torch.cat(dists), torch.cat(idx)


def near_copy_thresholds(real_pixel, real_feature, quantile: float = 0.01) -> tuple[float, float]:
    """The ``quantile`` of held-out real images' nearest-training distances, (pixel, feature)."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile: expected a value in (0, 1), got {quantile!r}")
    rp, rf = np.asarray(real_pixel, np.float64), np.asarray(real_feature, np.float64)
    if rp.size < 1 or rf.size < 1:
        raise ValueError("real_pixel: need at least one held-out distance to set a threshold")
    return float(np.quantile(rp, quantile)), float(np.quantile(rf, quantile))


def flag_near_copies(pixel, feature, thresholds: tuple[float, float]) -> np.ndarray:
    """Bool (N,): samples below both thresholds (pixel, feature) -- closer to a training image than
    almost every held-out real image is."""
    p, f = np.asarray(pixel, np.float64), np.asarray(feature, np.float64)
    if p.shape != f.shape:
        raise ValueError(f"feature: expected one distance per sample like pixel {p.shape}, got {f.shape}")
    return (p < thresholds[0]) & (f < thresholds[1])
