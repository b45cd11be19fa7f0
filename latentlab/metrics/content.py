"""What the samples show, read by the judges: content rates of rooms and faces, AC-GAN class accuracy.

Each function takes a judge and images (N, C, H, W) in [-1, 1] and returns plain numbers, so the
same call measures generated and real images; ``compare_rates`` puts the two side by side.

- Rooms (DCGAN §6.3.1): share of images with a window / a bed and the mean window area, from
  the segmenter's label maps. An image "has a window" when more than ``threshold`` = 0.5 % of its
  pixels (20 of 64x64) are labelled window: this ignores speckle of a few stray pixels while every
  real window is larger (the smallest 1 % of real windows cover 1.3 % of the image).
- Faces (DCGAN §6.3.2): rates of glasses, smiling and each presentation (judge probability > 0.5)
  and the histogram of the judged yaw.
- AC-GAN (Odena et al. 2017, §4.1 "Inception accuracy"): share of samples the classifier assigns
  to the class they were generated for.
"""
from __future__ import annotations

import numpy as np
import torch
from ..progress import progress_bar
from ..validate import positive_int

__all__ = ["room_content", "face_content", "class_accuracy", "compare_rates", "WINDOW_THRESHOLD",
           "ROOM_RATES", "FACE_RATES"]

WINDOW_THRESHOLD = 0.005   # fraction of pixels: above it an image counts as showing the object
ROOM_RATES = ("share_window", "share_bed")
FACE_RATES = ("glasses", "smiling", "feminine", "masculine")


def _chunks(images: torch.Tensor, batch_size: int, progress: bool, desc: str):
    positive_int(batch_size, "batch_size")
    return progress_bar(images.split(batch_size), desc=desc, disable=not progress, leave=False)


def _class_masks(judge, images: torch.Tensor, names) -> dict[str, torch.Tensor]:
    """{name: (n, H, W) bool}; one segmentation pass when the judge exposes ``class_index``."""
    if hasattr(judge, "class_index") and hasattr(judge, "predict"):
        labels = judge.predict(images)
        return {name: labels == judge.class_index(name) for name in names}
    return {name: judge.class_mask(images, name).bool() for name in names}


@torch.no_grad()
def room_content(judge, images: torch.Tensor, *, threshold: float = WINDOW_THRESHOLD, batch_size: int = 256,
                 progress: bool = False) -> dict:
    """Rooms content from a segmenter (``class_mask(images, name) -> (N, H, W) bool``).

    Args:
        judge: a RoomSegmenter (or any object with ``class_mask``).
        images: (N, 3, H, W) in [-1, 1].
        threshold: pixel fraction above which an image counts as showing a window / a bed.

    Returns:
        {"share_window", "share_bed": shares of images in [0, 1], "mean_window_area",
         "mean_bed_area": mean pixel fraction over all images, "threshold"}.
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold: expected a pixel fraction in [0, 1), got {threshold!r}")
    window, bed = [], []
    for chunk in _chunks(images, batch_size, progress, "rooms content"):
        m = _class_masks(judge, chunk, ("window", "bed"))
        window.append(m["window"].flatten(1).float().mean(1).cpu())
        bed.append(m["bed"].flatten(1).float().mean(1).cpu())
    window, bed = torch.cat(window).double(), torch.cat(bed).double()
    return {
        "share_window": float((window > threshold).double().mean()),
        "share_bed": float((bed > threshold).double().mean()),
        "mean_window_area": float(window.mean()),
        "mean_bed_area": float(bed.mean()),
        "threshold": threshold,
    }


@torch.no_grad()
def face_content(judge, images: torch.Tensor, *, yaw_bins: int = 8, batch_size: int = 256,
                 progress: bool = False) -> dict:
    """Faces content from a FaceJudge (``predict -> {"yaw", "smile", "glasses", "feminine"}``, each (N,)).

    Rates count images whose judged probability is > 0.5; ``masculine`` = 1 - ``feminine``.
    ``yaw_histogram``: shares of images in ``yaw_bins`` equal bins over [-1, 1] (-1 looks left).
    """
    positive_int(yaw_bins, "yaw_bins")
    keys = ("yaw", "smile", "glasses", "feminine")
    acc = {k: [] for k in keys}
    for chunk in _chunks(images, batch_size, progress, "faces content"):
        out = judge.predict(chunk)
        for k in keys:
            acc[k].append(torch.as_tensor(out[k]).double().cpu().reshape(-1))
    p = {k: torch.cat(v) for k, v in acc.items()}
    edges = np.linspace(-1.0, 1.0, yaw_bins + 1)
    hist, _ = np.histogram(p["yaw"].clamp(-1, 1).numpy(), bins=edges)
    feminine = float((p["feminine"] > 0.5).double().mean())
    return {
        "glasses": float((p["glasses"] > 0.5).double().mean()),
        "smiling": float((p["smile"] > 0.5).double().mean()),
        "feminine": feminine,
        "masculine": 1.0 - feminine,
        "mean_yaw": float(p["yaw"].mean()),
        "yaw_histogram": (hist / max(len(p["yaw"]), 1)).tolist(),
        "yaw_bin_edges": edges.tolist(),
    }


@torch.no_grad()
def class_accuracy(judge, images: torch.Tensor, classes, *, num_classes: int | None = None, batch_size: int = 256,
                   progress: bool = False) -> dict:
    """AC-GAN "Inception accuracy": share of images the classifier assigns to their intended class.

    Args:
        judge: a classifier with ``predict(images) -> (n,)`` class indices (FashionClassifier).
        images: (N, C, H, W) in [-1, 1]; classes: (N,) the classes they were generated for.

    Returns:
        {"accuracy": float, "per_class": [accuracy of class 0, 1, ...] (None for absent classes),
         "predicted_share": [share of all images predicted as class k]}.
    """
    classes = torch.as_tensor(classes).long().reshape(-1).cpu()
    if classes.shape[0] != images.shape[0]:
        raise ValueError(f"classes: expected one class per image ({images.shape[0]}), got {classes.shape[0]}")
    pred = torch.cat([torch.as_tensor(judge.predict(chunk)).long().cpu().reshape(-1)
                      for chunk in _chunks(images, batch_size, progress, "class accuracy")])
    k = num_classes or int(max(classes.max(), pred.max())) + 1
    hit = (pred == classes).double()
    per_class = [float(hit[classes == c].mean()) if (classes == c).any() else None for c in range(k)]
    share = torch.bincount(pred.clamp(0, k - 1), minlength=k).double() / max(len(pred), 1)
    return {"accuracy": float(hit.mean()), "per_class": per_class, "predicted_share": share.tolist()}


def compare_rates(generated: dict, real: dict, keys) -> dict:
    """Per-rate difference generated - real and the largest absolute one (both as fractions)."""
    diff = {k: generated[k] - real[k] for k in keys}
    return {"difference": diff, "max_abs_difference": max(abs(v) for v in diff.values()) if diff else None}
