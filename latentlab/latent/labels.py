"""Labelling generated samples with a judge, and choosing the samples that match a query.

A *judge* is anything with ``predict(images) -> {name: (N,) tensor}`` (e.g. ``latentlab.judges.faces.
FaceJudge``: ``yaw`` in [-1, 1], ``smile``/``glasses``/``feminine`` probabilities) or a callable returning
such a dict. Its ``features(images) -> (N, D)`` (when present) measures walk smoothness.

Queries (``match(labels, smile=1, glasses=0, presentation="feminine")``):

* ``name=1`` / ``name=True``: the label is >= 0.5 + margin; ``name=0``: <= 0.5 - margin (probabilities);
* ``name=(lo, hi)``: lo <= label <= hi (``None`` leaves a side open), e.g. ``yaw=(0.5, None)``;
* ``name=callable``: ``callable(label_tensor) -> bool tensor``;
* ``presentation="feminine" | "masculine"`` is shorthand for ``feminine=1`` / ``feminine=0``.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

__all__ = ["label_images", "match", "describe_query", "load_default_judge", "ImageStatsJudge"]

_PRESENTATION = {"feminine": 1, "masculine": 0, "female": 1, "male": 0, "woman": 1, "man": 0}


def load_default_judge(dataset: str = "faces"):
    """The shipped judge for ``dataset`` (default "faces"); FileNotFoundError with the fix when absent."""
    from ..judges import load_judge
    return load_judge(dataset or "faces")


def label_images(judge, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Judge ``images`` (N, C, H, W) -> {name: float (N,) tensor on the CPU}."""
    if hasattr(judge, "predict"):
        out = judge.predict(images)
    elif callable(judge):
        out = judge(images)
    else:
        raise TypeError(f"judge: expected an object with predict(images) -> dict or a callable, "
                        f"got {type(judge).__name__}")
    if not isinstance(out, Mapping):
        raise TypeError(f"judge: expected predict(images) to return a dict of (N,) tensors, got {type(out).__name__}")
    labels = {}
    for k, v in out.items():
        v = torch.as_tensor(v).detach().float().cpu().reshape(-1)
        if v.shape[0] != images.shape[0]:
            raise ValueError(f"judge: label {k!r} has {v.shape[0]} values for {images.shape[0]} images")
        labels[k] = v
    return labels


def _normalise_query(query: Mapping) -> dict:
    q = {}
    for k, v in query.items():
        if k == "presentation":
            if not isinstance(v, str) or v.lower() not in _PRESENTATION:
                raise ValueError(f"presentation: expected 'feminine' or 'masculine', got {v!r}")
            k, v = "feminine", _PRESENTATION[v.lower()]
        q[k] = v
    return q


def describe_query(query: Mapping) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in query.items()) or "(empty query)"


def match(labels: Mapping[str, torch.Tensor], margin: float = 0.0, **query) -> torch.Tensor:
    """Boolean mask (N,) of samples whose labels satisfy every condition of the query."""
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin: expected a number in [0, 0.5), got {margin!r}")
    q = _normalise_query(query)
    n = len(next(iter(labels.values()))) if labels else 0
    mask = torch.ones(n, dtype=torch.bool)
    for k, v in q.items():
        if k not in labels:
            raise ValueError(f"{k}: the judge gives no label {k!r}; it gives {sorted(labels)}")
        x = labels[k]
        if callable(v):
            m = torch.as_tensor(v(x), dtype=torch.bool)
        elif isinstance(v, tuple) and len(v) == 2:
            lo, hi = v
            m = torch.ones_like(x, dtype=torch.bool)
            if lo is not None:
                m &= x >= lo
            if hi is not None:
                m &= x <= hi
        elif isinstance(v, (bool, int, float)) and v in (0, 1):
            m = x >= 0.5 + margin if v else x <= 0.5 - margin
        else:
            raise ValueError(f"{k}: expected 0/1, a (low, high) range or a predicate, got {v!r}")
        mask &= m
    return mask


class ImageStatsJudge:
    """A deterministic stand-in judge that reads image statistics (for smoke runs and tests, not science).

    ``yaw`` = tanh of the right-minus-left brightness difference; ``smile``, ``glasses`` and ``feminine`` =
    sigmoids of the first three principal components of the images average-pooled to 4x4 (computed on
    ``reference`` images, e.g. samples of the generator), so the three labels are uncorrelated on the
    reference and about half of the samples get each. Every statistic is centred on the reference
    median and scaled by its spread times ``gain``. ``features`` = the 4x4-pooled images, flattened.
    """

    names = ("yaw", "smile", "glasses", "feminine")

    def __init__(self, reference: torch.Tensor, gain: float = 3.0):
        f = self.features(reference).double()
        self.mean = f.mean(0)
        c = f - self.mean
        _, vecs = torch.linalg.eigh(c.T @ c)                       # ascending; cheaper than an SVD
        self.components = vecs.flip(1)[:, :3].T.contiguous()       # (3, D): the top principal axes
        s = self._stats(reference)
        self.center = s.median(0).values
        self.scale = s.std(0).clamp_min(1e-12)
        self.gain = gain

    def _stats(self, x: torch.Tensor) -> torch.Tensor:
        x = x.double()
        w = x.shape[-1]
        yaw = x[..., w // 2:].mean((1, 2, 3)) - x[..., :w // 2].mean((1, 2, 3))
        pcs = (self.features(x).double() - self.mean) @ self.components.T
        return torch.cat([yaw[:, None], pcs], 1)

    def predict(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        s = ((self._stats(images) - self.center) / self.scale * self.gain).float()
        return {"yaw": torch.tanh(s[:, 0] / 2), "smile": torch.sigmoid(s[:, 1]),
                "glasses": torch.sigmoid(s[:, 2]), "feminine": torch.sigmoid(s[:, 3])}

    @staticmethod
    def features(images: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(images.float(), 4).flatten(1)

    def __call__(self, images):
        return self.predict(images)
