"""Binary masks (bool or 0/1, numpy or torch) turned into boxes and region shares, and the agreement of two
instruments that mark the same object: pure functions with no models or data generators behind them, shared by
the judges (``latentlab.judges.rooms`` / ``windows``) and the dissection (``latentlab.dissect``).

``cv2`` (connected components) is imported by ``mask_to_boxes`` when it is called, so importing this module (and
``latentlab.dissect``) stays free of it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .validate import non_negative_int, number_in, positive_int

__all__ = ["Box", "mask_to_boxes", "region_fractions", "agreement"]

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), x1 and y1 exclusive


def mask_to_boxes(mask, min_area: int = 4) -> list[Box]:
    """Bounding boxes of the 8-connected components of a (H, W) mask.

    Args:
        mask: (H, W) bool, or integers / floats that are all 0 or 1; numpy array or tensor.
        min_area: components with fewer pixels are dropped (GAN speckle, not objects).

    Returns:
        ``[(x0, y0, x1, y1), ...]`` with x1, y1 exclusive (``mask[y0:y1, x0:x1]`` holds the
        component), sorted by pixel count, largest first (ties: top to bottom, left to right).

    Example::

        >>> m = np.zeros((8, 8), bool); m[1:3, 1:4] = True; m[6, 6] = True
        >>> mask_to_boxes(m), mask_to_boxes(m, min_area=1)
        ([(1, 1, 4, 3)], [(1, 1, 4, 3), (6, 6, 7, 7)])
    """
    min_area = non_negative_int(min_area, "min_area", numpy=True)
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().to("cpu").numpy()
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"mask must be a numpy array or torch.Tensor, got {type(mask).__name__}")
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    if mask.dtype != np.bool_:
        if not (np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
            raise ValueError(f"mask must be bool or 0/1 numbers, got dtype {mask.dtype}")
        if mask.size and not np.isin(mask, (0, 1)).all():
            raise ValueError(f"mask must be bool or 0/1 numbers, got values {np.unique(mask)[:5].tolist()}...")
    if mask.size == 0:
        return []
    import cv2  # here, not at the top: `import latentlab.dissect` stays free of cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(mask, dtype=np.uint8),
                                                      connectivity=8)
    boxes = []
    for x, y, w, h, area in stats[1:].tolist():  # row 0 is the background
        if area >= min_area:
            boxes.append((area, (x, y, x + w, y + h)))
    boxes.sort(key=lambda ab: (-ab[0], ab[1][1], ab[1][0]))
    return [b for _, b in boxes]


def region_fractions(masks, grid: int = 8) -> torch.Tensor:
    """Share of True pixels per region: bool/0-1 masks (N, H, W) -> float32 (N, grid, grid).

    H and W must be divisible by ``grid``. Turns the segmenter's ``class_mask(images, "window")`` into
    the detector's units (also the detector's training target).
    """
    if isinstance(masks, np.ndarray):
        masks = torch.from_numpy(masks)
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"masks: expected a torch.Tensor or numpy array (N, H, W), got {type(masks).__name__}")
    if masks.ndim != 3:
        raise ValueError(f"masks: expected shape (N, H, W), got {tuple(masks.shape)}")
    grid = positive_int(grid, "grid")
    n, h, w = masks.shape
    if h % grid or w % grid:
        raise ValueError(f"grid: expected a divisor of the mask size {h}x{w}, got {grid}")
    m = masks.float()
    if m.numel() and not bool(((m == 0) | (m == 1)).all()):
        raise ValueError("masks: expected bool or 0/1 values")
    return F.avg_pool2d(m[:, None], (h // grid, w // grid))[:, 0]


def agreement(fractions_a, fractions_b, regions_a, regions_b, min_fraction: float = 0.25,
              tolerance: float = 0.01) -> dict:
    """Agreement of two window instruments on the same N images (pure; no models).

    Args:
        fractions_a, fractions_b: (N,) per-image window shares (pixels) from instruments a and b.
        regions_a, regions_b: (N, G, G) per-region window shares in [0, 1].
        min_fraction: a region "has a window" when its share is >= this.
        tolerance: two per-image fractions agree when they differ by at most this (absolute).

    Returns a dict of floats (and one list):
        ``fraction_corr``: Pearson correlation of the per-image fractions (nan if either is constant);
        ``mean_fraction_a`` / ``mean_fraction_b``: the batch means; ``mean_abs_diff``: mean |a - b|;
        ``region_agreement``: share of (image, region) cells where both say window or both say none;
        ``region_kappa``: Cohen's kappa of that presence (nan when chance agreement is 1);
        ``region_iou``: cells both mark / cells either marks (nan if neither marks any);
        ``image_presence_agreement``: share of images where both see a window somewhere or both none;
        ``disagree``: indices of images whose fractions differ by more than ``tolerance`` or whose
        image-level presence differs (for the "instruments disagree" line of a report).
    """
    a = torch.as_tensor(fractions_a, dtype=torch.float64).flatten()
    b = torch.as_tensor(fractions_b, dtype=torch.float64).flatten()
    ra = torch.as_tensor(regions_a, dtype=torch.float64)
    rb = torch.as_tensor(regions_b, dtype=torch.float64)
    if a.shape != b.shape or a.numel() == 0:
        raise ValueError(f"fractions_a, fractions_b: expected two non-empty (N,) tensors of one length, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if ra.shape != rb.shape or ra.ndim != 3 or ra.shape[0] != a.numel():
        raise ValueError(f"regions_a, regions_b: expected two (N, G, G) tensors with N = {a.numel()}, got "
                         f"{tuple(ra.shape)} and {tuple(rb.shape)}")
    min_fraction = number_in(min_fraction, "min_fraction", 0, 1, low_open=True)
    pa, pb = ra >= min_fraction, rb >= min_fraction
    agree = float((pa == pb).double().mean())
    p_yes = float(pa.double().mean()) * float(pb.double().mean())
    p_no = (1 - float(pa.double().mean())) * (1 - float(pb.double().mean()))
    chance = p_yes + p_no
    kappa = (agree - chance) / (1 - chance) if chance < 1 else float("nan")
    union = int((pa | pb).sum())
    iou = int((pa & pb).sum()) / union if union else float("nan")
    ia, ib = pa.flatten(1).any(1), pb.flatten(1).any(1)
    if a.numel() > 1 and float(a.std()) > 0 and float(b.std()) > 0:
        corr = float(torch.corrcoef(torch.stack([a, b]))[0, 1])
    else:
        corr = float("nan")
    diff = (a - b).abs()
    disagree = torch.nonzero((diff > tolerance) | (ia != ib)).flatten().tolist()
    return {
        "n": int(a.numel()),
        "fraction_corr": corr,
        "mean_fraction_a": float(a.mean()),
        "mean_fraction_b": float(b.mean()),
        "mean_abs_diff": float(diff.mean()),
        "region_agreement": agree,
        "region_kappa": kappa,
        "region_iou": iou,
        "image_presence_agreement": float((ia == ib).double().mean()),
        "disagree": disagree,
    }
