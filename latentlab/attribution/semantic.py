"""How semantic is each filter: IoU of its thresholded, upsampled activation with object classes.

Network dissection (Bau et al. 2017, §2.2), as GAN dissection (Bau et al. 2019) uses it: for filter
f, the threshold T_f is the top ``quantile`` level of its activation values over every spatial
location of every image in the dataset (P(a_f > T_f) = quantile; network dissection: 0.005, our
default). Each activation map is upsampled to image size (bilinear, ``align_corners=False``) and
thresholded, M_f(x) = {pixels where up(a_f(x)) > T_f}, and compared with each class's ground-truth
mask by a dataset-level IoU:

    IoU(f, c) = sum_i |M_f(x_i) ∩ L_c(x_i)| / sum_i |M_f(x_i) ∪ L_c(x_i)|

Choices, documented because the papers leave them open:
- T_f is taken over the raw (layer-resolution) values, as in network dissection, not over the
  upsampled ones. Upsampling smooths the peaks, so a mask covers less than ``quantile`` of the
  pixels: about a quarter of it for 4x4 maps upsampled to 64x64 (``SemanticScores.mask_share``;
  ``mask_area`` has the exact counts). Values tied with T_f are left out, so a constant, dead filter
  gets an empty mask and IoU 0.
- A mask covering a share m of all pixels has IoU(f, c) <= min(m, a_c) / max(m, a_c), where a_c is
  class c's share of the pixels (``SemanticScores.iou_bound``). With quantile = 0.5%, m < 0.5% and
  a class covering 3.8% of the pixels (rooms' windows) cannot reach an IoU above 0.13, beds (13%)
  not above 0.04: raise ``quantile`` towards a class's share to let large objects score.

Computed exactly without upsampling every map: a bilinear value is a convex combination of the
map's values, so only images whose map maximum exceeds T_f can have pixels above it; only those
(at most about quantile * N * h * w per filter) are upsampled, with two matrix products
(:func:`upsample`, same values as ``F.interpolate`` up to float rounding).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as Fn

from ..validate import class_position, positive_int

__all__ = ["SemanticScores", "filter_iou", "iou_bound", "upsample"]

_BUDGET = 1 << 23  # upsampled values held at once (32 MB of float32)


@dataclass
class SemanticScores:
    """Per-filter IoU with every class (F filters, C classes).

    Attributes:
        iou: (F, C) dataset-level IoU.
        thresholds: (F,) activation threshold T_f.
        mask_area: (F,) pixels above T_f over the dataset.
        class_area: (C,) pixels of each class over the dataset.
        class_names: C names.
        quantile: the top quantile used.
        n_images: images the scores come from.
    """

    iou: np.ndarray
    thresholds: np.ndarray
    mask_area: np.ndarray
    class_area: np.ndarray
    class_names: tuple
    quantile: float
    n_images: int

    @property
    def best_class(self) -> np.ndarray:
        """(F,) index of each filter's best class."""
        return self.iou.argmax(1)

    @property
    def best_iou(self) -> np.ndarray:
        """(F,) each filter's best IoU."""
        return self.iou.max(1)

    @property
    def mask_share(self) -> float:
        """Mean share of the dataset's pixels that a filter's mask covers (about ``quantile``)."""
        total = max(int(self.class_area.sum()), 1)
        return float(self.mask_area.mean() / total) if len(self.mask_area) else 0.0

    @property
    def iou_bound(self) -> np.ndarray:
        """(C,) the largest IoU a mask of the mean mask size can reach with each class."""
        return iou_bound(self.mask_share, self.class_area / max(self.class_area.sum(), 1))

    def class_index(self, name: str) -> int:
        return class_position(name, self.class_names, "classes")

    def semantic(self, classes=("window", "bed"), min_iou: float = 0.2) -> np.ndarray:
        """(F,) bool: filters whose IoU with any of ``classes`` is >= ``min_iou``."""
        cols = [self.class_index(c) for c in classes]
        return self.iou[:, cols].max(1) >= min_iou

    def count(self, classes=("window", "bed"), min_iou: float = 0.2) -> int:
        """Number of filters whose IoU with any of ``classes`` is >= ``min_iou``."""
        return int(self.semantic(classes, min_iou).sum())

    def per_filter(self) -> list[dict]:
        """One dict per filter: best class, its IoU, and the threshold."""
        bc, bi = self.best_class, self.best_iou
        return [{"filter": f, "best_class": self.class_names[bc[f]], "iou": round(float(bi[f]), 4),
                 "threshold": float(self.thresholds[f])} for f in range(len(bc))]


def _interp_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_in, n_out): 1-D linear interpolation weights of ``F.interpolate(..., align_corners=False)``."""
    return Fn.interpolate(torch.eye(n_in)[:, None, :], size=n_out, mode="linear", align_corners=False)[:, 0, :]


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling (align_corners=False) of maps (B, h, w) -> (B, H, W), as two matrix products.

    Same values as ``F.interpolate(mode="bilinear")`` up to float rounding, several times faster on
    CPU for small maps (it is two GEMMs with the separable interpolation weights).
    """
    B, h, w = maps.shape
    H, W = size
    wy, wx = _interp_matrix(h, H), _interp_matrix(w, W)       # (h, H), (w, W)
    rows = maps.reshape(B * h, w) @ wx                          # (B*h, W)
    return (wy.T @ rows.reshape(B, h, W))                      # (B, H, W)


def iou_bound(quantile: float, class_share) -> np.ndarray:
    """Largest IoU between a mask covering ``quantile`` of all pixels and a class covering ``class_share``."""
    a = np.asarray(class_share, dtype=np.float64)
    return np.where(np.maximum(a, quantile) > 0, np.minimum(a, quantile) / np.maximum(np.maximum(a, quantile), 1e-300), 0.0)


def _check(activations, labels, n_classes, quantile):
    if not isinstance(activations, torch.Tensor) or activations.dim() != 4:
        got = tuple(activations.shape) if isinstance(activations, torch.Tensor) else type(activations).__name__
        raise ValueError(f"activations: expected a tensor (N, F, h, w), got {got}")
    labels = torch.as_tensor(np.asarray(labels)) if not isinstance(labels, torch.Tensor) else labels
    if labels.dim() != 3 or labels.shape[0] != activations.shape[0]:
        raise ValueError(f"labels: expected label maps ({activations.shape[0]}, H, W) (one per image), "
                         f"got {tuple(labels.shape)}")
    if labels.is_floating_point():
        raise TypeError(f"labels: expected integer class indices, got dtype {labels.dtype}")
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) or not 0 < quantile < 1:
        raise ValueError(f"quantile: expected a fraction 0 < quantile < 1 (0.005 = top 0.5%), got {quantile!r}")
    positive_int(n_classes, "n_classes")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"labels: expected values in [0, {n_classes}), got [{int(labels.min())}, {int(labels.max())}]")
    return labels.long()


@torch.no_grad()
def filter_iou(activations: torch.Tensor, labels, class_names, *, quantile: float = 0.005) -> SemanticScores:
    """Dataset-level IoU of each filter's top-quantile mask with each class (network dissection).

    Args:
        activations: (N, F, h, w) layer outputs (``layer_activations``).
        labels: (N, H, W) integer label maps (class indices into ``class_names``), e.g.
            ``RoomsDataset.label_maps(range(N))``.
        class_names: the C class names.
        quantile: top quantile level of each filter's activations over the dataset (default 0.005).
    Returns:
        :class:`SemanticScores` with ``iou`` (F, C).

    Example::

        >>> s = filter_iou(acts, ds.label_maps(range(len(acts))), ROOM_CLASSES, quantile=0.005)
        >>> s.best_class, s.best_iou, s.count(("window", "bed"), 0.2)
    """
    class_names = tuple(class_names)
    C = len(class_names)
    labels = _check(activations, labels, C, quantile)
    N, F, h, w = activations.shape
    H, W = labels.shape[1:]
    P = H * W
    labels_flat = labels.reshape(-1)
    class_area = torch.bincount(labels_flat, minlength=C)
    acts = activations.float()
    # T_f: exactly k of the N*h*w raw values of filter f lie above it (ties at T_f are left out)
    raw = acts.transpose(0, 1).reshape(F, -1)                       # (F, N*h*w)
    M = raw.shape[1]
    k = min(M - 1, max(1, int(round(quantile * M)))) if M > 1 else 0
    thresholds = torch.kthvalue(raw, M - k, dim=1).values if M > 1 else raw[:, 0]
    # Only images whose map maximum exceeds T_f can have upsampled pixels above it
    # (bilinear values are convex combinations of the map's values).
    scores = acts.flatten(2).amax(2)                                # (N, F)
    img, filt = (scores > thresholds[None, :]).nonzero(as_tuple=True)
    inter = torch.zeros(F * C, dtype=torch.long)
    mask_area = torch.zeros(F, dtype=torch.long)
    # A few large tensor ops rather than many small ones: on a busy machine small multi-threaded
    # ops spend most of their time waiting for each other.
    step = max(1, _BUDGET // P)
    for c0 in range(0, len(img), step):
        i, f = img[c0:c0 + step], filt[c0:c0 + step]
        keep = upsample(acts[i, f], (H, W)).reshape(len(i), P) > thresholds[f, None]
        row, col = keep.nonzero(as_tuple=True)
        lab = labels_flat[i[row] * P + col]
        inter += torch.bincount(f[row] * C + lab, minlength=F * C)
        mask_area += torch.bincount(f[row], minlength=F)
    inter = inter.reshape(F, C)
    union = mask_area[:, None] + class_area[None, :] - inter
    iou = torch.where(union > 0, inter.double() / union.clamp_min(1).double(), torch.zeros((), dtype=torch.float64))
    return SemanticScores(iou=iou.numpy(), thresholds=thresholds.numpy(), mask_area=mask_area.numpy(),
                          class_area=class_area.numpy(), class_names=class_names, quantile=float(quantile),
                          n_images=int(N))
