"""The judges under the degradation suite: per-condition precision / recall / IoU (rooms), accuracy / MAE (faces).

Pure measurement on arrays the caller provides (procedural images with their exact ground truth); the
data loading, generator samples and the JSON report live in ``benchmarks/bench_judges.py``. Every
condition of ``latentlab.judges.degrade.SUITE`` is applied with one seed, so the same inputs and seed
give the same numbers.

Example::

    >>> seg = RoomSegmenter.load("pretrained/judges/rooms.safetensors")          # doctest: +SKIP
    >>> rows = room_suite(seg, images, labels, seed=0)                           # doctest: +SKIP
    >>> rows["lowfreq_noise"]["window"]["precision"]                              # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from latentlab.judges.degrade import CONDITIONS, SUITE, WINDOW, degrade
from latentlab.masks import region_fractions

__all__ = ["pixel_scores", "room_suite", "detector_suite", "face_suite"]


def _conditions(conditions) -> tuple[str, ...]:
    if conditions is None:
        return CONDITIONS
    if isinstance(conditions, str) or not isinstance(conditions, Sequence) or not conditions:
        raise TypeError(f"conditions: expected a non-empty list of names from {list(CONDITIONS)}, got {conditions!r}")
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad:
        raise ValueError(f"conditions: unknown {bad}; the suite has {list(CONDITIONS)}")
    return tuple(conditions)


def _check_pair(images, labels) -> None:
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(f"images, labels: expected torch.Tensors, got {type(images).__name__} and "
                        f"{type(labels).__name__}")
    if images.ndim != 4 or labels.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(f"labels: expected shape (N, H, W) = {(images.shape[0], *images.shape[2:])} for images "
                         f"{tuple(images.shape)}, got {tuple(labels.shape)}")


def pixel_scores(pred: torch.Tensor, truth: torch.Tensor, index: int) -> dict:
    """Precision, recall, IoU of class ``index`` over all pixels of (N, H, W) label maps, plus the
    predicted and true shares of pixels and the false-positive rate on pixels of other classes.
    Precision is nan when nothing is predicted; recall is nan when nothing is true."""
    p, t = pred == index, truth == index
    tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
    neg = int((~t).sum())
    nan = float("nan")
    return {"precision": tp / (tp + fp) if tp + fp else nan, "recall": tp / (tp + fn) if tp + fn else nan,
            "iou": tp / (tp + fp + fn) if tp + fp + fn else nan,
            "predicted_share": float(p.double().mean()), "true_share": float(t.double().mean()),
            "false_positive_rate": fp / neg if neg else nan}


def room_suite(segmenter, images: torch.Tensor, labels: torch.Tensor, conditions=None, seed: int = 0,
               classes: Sequence[str] = ("window", "bed"), batch_size: int = 250) -> dict:
    """The room segmenter under every condition: {condition: {class: pixel_scores, "erased_called_window":
    share of erased pixels the judge still calls window (erasure conditions only)}}.

    images (N, 3, 64, 64) in [-1, 1] with their exact labels (N, 64, 64) from ``latentlab.data.rooms``.
    """
    _check_pair(images, labels)
    out = {}
    for cond in _conditions(conditions):
        xd, yd = degrade(images, cond, labels=labels, seed=seed)
        pred = segmenter.predict(xd, batch_size=batch_size).cpu()
        row = {name: pixel_scores(pred, yd, segmenter.class_index(name)) for name in classes}
        erased = (labels == WINDOW) & (yd != WINDOW)
        if bool(erased.any()):
            row["erased_pixels"] = int(erased.sum())
            row["erased_called_window"] = float((pred[erased] == WINDOW).double().mean())
        out[cond] = row
    return out


def detector_suite(detector, images: torch.Tensor, labels: torch.Tensor, conditions=None, seed: int = 0,
                   min_fraction: float = 0.25, batch_size: int = 250) -> dict:
    """The window detector under every condition: region-presence precision / recall (a region has a
    window at >= ``min_fraction`` window pixels) and per-image window-share MAE and correlation."""
    _check_pair(images, labels)
    grid = detector.config.grid
    out = {}
    for cond in _conditions(conditions):
        xd, yd = degrade(images, cond, labels=labels, seed=seed)
        true = region_fractions(yd == WINDOW, grid)
        pred = detector.region_fraction(xd, batch_size=batch_size).cpu()
        pt, pp = true >= min_fraction, pred >= min_fraction
        tp, fp, fn = int((pt & pp).sum()), int((~pt & pp).sum()), int((pt & ~pp).sum())
        ft, fp_ = true.mean((1, 2)).double(), pred.mean((1, 2)).double()
        corr = float(torch.corrcoef(torch.stack([ft, fp_]))[0, 1]) if len(ft) > 1 else float("nan")
        nan = float("nan")
        out[cond] = {"precision": tp / (tp + fp) if tp + fp else nan, "recall": tp / (tp + fn) if tp + fn else nan,
                     "fraction_mae": float((ft - fp_).abs().mean()), "fraction_corr": corr,
                     "predicted_share": float(fp_.mean()), "true_share": float(ft.mean())}
    return out


def face_suite(judge, images: torch.Tensor, targets: dict, conditions=None, seed: int = 0,
               batch_size: int = 250) -> dict:
    """The face judge under every condition without labels to change (erasure is skipped for faces):
    {condition: {"yaw_mae", "smile_acc", "glasses_acc", "presentation_acc"}}.

    targets: ``yaw`` (N,) in [-1, 1] and 0/1 ``smile``, ``glasses``, ``feminine`` (N,).
    """
    if not isinstance(targets, dict) or not {"yaw", "smile", "glasses", "feminine"} <= set(targets):
        raise ValueError(f"targets: expected a dict with yaw, smile, glasses, feminine, got "
                         f"{sorted(targets) if isinstance(targets, dict) else type(targets).__name__}")
    out = {}
    for cond in _conditions(conditions):
        if all(step == "erase" for step, _ in SUITE[cond]) and SUITE[cond]:
            continue  # erasure alone needs a label map: not defined for faces ("all" runs without it)
        xd, _ = degrade(images, cond, seed=seed)
        p = judge.predict(xd, batch_size=batch_size)
        out[cond] = {
            "yaw_mae": float((p["yaw"] - targets["yaw"]).abs().mean()),
            "smile_acc": float(((p["smile"] > 0.5) == (targets["smile"] > 0.5)).double().mean()),
            "glasses_acc": float(((p["glasses"] > 0.5) == (targets["glasses"] > 0.5)).double().mean()),
            "presentation_acc": float(((p["feminine"] > 0.5) == (targets["feminine"] > 0.5)).double().mean()),
        }
    return out
