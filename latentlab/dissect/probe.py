"""Logistic-regression probes on generator feature maps (DCGAN §6.3.1).

Features of one layer are recorded through a hook for N generated samples. Each spatial position of
the layer's grid is one example (a C-dim activation vector): positions inside an object's bounding
boxes are positives, the other positions of the same images are negatives (the paper). The classes
are balanced by weighting and the fit is L2-regularised. Maps whose weight is > 0 are the object's
maps (the paper dropped those, about 200 of 512 for windows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..hooks import get_module
from .boxes import boxes_to_grid, validate_boxes
from .removal import adapter

__all__ = ["collect_features", "fit_probe", "Probe", "ProbeResult"]


def collect_features(generator, layer: str, z: torch.Tensor, *, batch_size: int = 128, return_images: bool = True,
                     c=None, **adapter_kw):
    """Run ``generator`` on z and record ``layer``'s output.

    ``generator``: any generator module or a LatentModel (``prior=``, ``nz=``, ``device=`` go to the adapter,
    which also gives z as (N, nz, 1, 1) to a module whose first layer is a convolution); ``c``: AC-GAN classes.
    Returns ``(features (N, C, h, w) float32, images (N, ch, S, S) or None)``, on the CPU.
    """
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"z: expected a torch.Tensor, got {type(z).__name__}")
    lm = adapter(generator, batch_size=batch_size, **adapter_kw)
    images, feats = lm.trace(z, [layer], c, batch_size=batch_size)
    f = feats[layer]
    if f.dim() != 4:
        raise ValueError(f"layer: {layer!r} must output (N, C, h, w) feature maps, got {tuple(f.shape)}")
    return f, (images if return_images else None)


@dataclass
class ProbeResult:
    """A fitted probe. ``weights`` (C,) are in units of standardised activations."""

    layer: str
    weights: np.ndarray            # (C,) logistic-regression weight per feature map
    bias: float
    mean: np.ndarray               # (C,) activation mean used for standardisation
    std: np.ndarray                # (C,) activation std
    auc: float                     # held-out AUC (split by image)
    accuracy: float                # held-out balanced accuracy at 0.5
    n_samples: int
    n_boxes: int
    n_positives: int
    n_negatives: int
    grid: tuple = ()

    @property
    def positive_maps(self) -> np.ndarray:
        """Indices of maps with weight > 0 (the paper's selection), highest weight first."""
        order = np.argsort(-self.weights, kind="stable")
        return order[self.weights[order] > 0]

    @property
    def ranking(self) -> np.ndarray:
        """All map indices by weight, highest first."""
        return np.argsort(-self.weights, kind="stable")

    def top(self, k: int) -> np.ndarray:
        """The k highest-weight maps among the positive ones."""
        pos = self.positive_maps
        if not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"k: expected a non-negative int, got {k!r}")
        if k > len(pos):
            raise ValueError(f"k: {k} is larger than the number of positive-weight maps ({len(pos)})")
        return pos[:k]

    def to_dict(self) -> dict:
        return {"layer": self.layer, "weights": self.weights.tolist(), "bias": self.bias, "auc": self.auc,
                "accuracy": self.accuracy, "n_samples": self.n_samples, "n_boxes": self.n_boxes,
                "n_positives": self.n_positives, "n_negatives": self.n_negatives,
                "positive_maps": self.positive_maps.tolist(), "grid": list(self.grid)}


def _design(features: torch.Tensor, positives: np.ndarray):
    """(N, C, h, w) features + (N, h, w) bool -> X (N*h*w, C), y, image id per row."""
    n, c, h, w = features.shape
    X = features.permute(0, 2, 3, 1).reshape(-1, c).numpy().astype(np.float64)
    y = positives.reshape(-1).astype(np.int64)
    img = np.repeat(np.arange(n), h * w)
    return X, y, img


def fit_probe(features: torch.Tensor, boxes, image_size: int, *, layer: str = "", C: float = 1.0,
              holdout: float = 0.2, seed: int = 0, max_iter: int = 2000) -> ProbeResult:
    """Fit the bounding-box probe.

    Args:
        features: (N, C, h, w) activations of one layer for N samples.
        boxes: per sample, a list of (x0, y0, x1, y1) pixel boxes of the object (may be empty).
        image_size: S of the generated images (boxes are in its pixels).
        C: inverse L2 strength (sklearn convention).
        holdout: share of images held out to report AUC/accuracy; the final probe is refit on all.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    if not isinstance(features, torch.Tensor) or features.dim() != 4:
        raise ValueError(f"features: expected (N, C, h, w), got {tuple(getattr(features, 'shape', ()))}")
    n, c, h, w = features.shape
    if len(boxes) != n:
        raise ValueError(f"boxes: expected one list per sample ({n}), got {len(boxes)}")
    boxes = validate_boxes(boxes, n, image_size)  # names the bad box (boxes[i][j]) before any fitting
    n_boxes = sum(len(b) for b in boxes)
    if n_boxes == 0:
        raise ValueError(f"boxes: no object boxes were found in the {n} samples searched; generate more samples "
                         "(n_probe) or check the model / segmenter")
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout: expected a share in [0, 1), got {holdout!r}")
    pos = boxes_to_grid(boxes, image_size, (h, w))
    X, y, img = _design(features.detach().cpu().float(), pos)
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("boxes: the boxes cover none or all of the feature grid; cannot fit a probe")
    mean, std = X.mean(0), X.std(0) + 1e-6
    Xs = (X - mean) / std

    def make():
        return LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter)

    auc = acc = float("nan")
    rng = np.random.default_rng(seed)
    with_obj = np.unique(img[y == 1])
    if holdout > 0 and len(with_obj) >= 2:
        perm = rng.permutation(n)
        test_imgs = perm[: max(1, int(round(n * holdout)))]
        test = np.isin(img, test_imgs)
        if y[test].min() != y[test].max() and y[~test].min() != y[~test].max():
            m = make().fit(Xs[~test], y[~test])
            p = m.predict_proba(Xs[test])[:, 1]
            auc = float(roc_auc_score(y[test], p))
            acc = float(balanced_accuracy_score(y[test], p > 0.5))
    model = make().fit(Xs, y)
    return ProbeResult(layer=layer, weights=model.coef_[0].copy(), bias=float(model.intercept_[0]), mean=mean,
                       std=std, auc=auc, accuracy=acc, n_samples=n, n_boxes=n_boxes, n_positives=int(y.sum()),
                       n_negatives=int(len(y) - y.sum()), grid=(h, w))


class Probe:
    """Record a layer, fit the box probe, and expose the object's maps.

    >>> probe = Probe(G, "block2").fit(z, boxes, image_size=64)   # doctest: +SKIP
    >>> probe.result.positive_maps                                 # doctest: +SKIP
    """

    def __init__(self, generator, layer: str, *, C: float = 1.0, holdout: float = 0.2, seed: int = 0,
                 **adapter_kw):
        self.generator = adapter(generator, **adapter_kw)  # prior=, nz=, device= for any module
        get_module(self.generator.module, layer)  # clear error for unknown layer names, before any work
        self.layer = layer
        self.C, self.holdout, self.seed = C, holdout, seed
        self.result: ProbeResult | None = None

    def fit(self, z: torch.Tensor, boxes, image_size: int, features: torch.Tensor | None = None) -> "Probe":
        if features is None:
            features, _ = collect_features(self.generator, self.layer, z, return_images=False)
        self.result = fit_probe(features, boxes, image_size, layer=self.layer, C=self.C, holdout=self.holdout,
                                seed=self.seed)
        return self

    def _need(self) -> ProbeResult:
        if self.result is None:
            raise RuntimeError("Probe: call fit() first")
        return self.result

    @property
    def positive_maps(self) -> np.ndarray:
        return self._need().positive_maps

    @property
    def ranking(self) -> np.ndarray:
        return self._need().ranking

    def top(self, k: int) -> np.ndarray:
        return self._need().top(k)
