"""Readers of target-domain digits that share no code with latentlab's MNIST judge (issue 32).

A DTN's transfer accuracy is a reader's opinion of its outputs; one CNN judge that also picked the checkpoint is
not enough. :class:`PixelReader` wraps a scikit-learn classifier fitted on raw pixels of real MNIST digits:

* ``"svc"`` - an RBF support vector classifier (C = 5, gamma "scale"): the second *reporting* reader.
* ``"forest"`` - a random forest (300 trees): the *validation* reader that picks checkpoints, so that neither
  reporting reader chose the model it reports.

Example::

    >>> from latentlab.data.digits import MNISTDigits
    >>> train = MNISTDigits("train")                                       # doctest: +SKIP
    >>> svc = PixelReader("svc").fit(train.images, train.labels)           # doctest: +SKIP
    >>> svc.predict(images)            # (N, 1, 32, 32) in [-1, 1] -> (N,) long  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import torch

from .measures import check_batch

__all__ = ["PixelReader", "READERS"]

READERS = ("svc", "forest")


class PixelReader:
    """A scikit-learn classifier on the flattened pixels (in [0, 1]) of grey digits (N, 1, H, W) in [-1, 1]."""

    def __init__(self, kind: str = "svc", seed: int = 0):
        if kind not in READERS:
            raise ValueError(f"kind: expected one of {READERS}, got {kind!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
        self.kind, self.seed = kind, seed
        if kind == "svc":
            from sklearn.svm import SVC
            self.model = SVC(C=5.0, gamma="scale")
        else:
            from sklearn.ensemble import RandomForestClassifier
            self.model = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
        self.shape = None

    @staticmethod
    def _pixels(images, name: str) -> np.ndarray:
        x = check_batch(images, name, channels=1, layout="(N, 1, H, W) in [-1, 1]",
                        batch="grey digits of shape (N, 1, H, W)")
        return ((x.clamp(-1, 1) + 1) / 2).flatten(1).numpy()

    def fit(self, images, labels) -> "PixelReader":
        x = self._pixels(images, "images")
        y = torch.as_tensor(labels).numpy()
        if len(y) != len(x):
            raise ValueError(f"labels: expected {len(x)} labels (one per image), got {len(y)}")
        self.model.fit(x, y)
        self.shape = tuple(images.shape[1:])
        return self

    def predict(self, images) -> torch.Tensor:
        if self.shape is None:
            raise RuntimeError("PixelReader: call fit(images, labels) before predict")
        if tuple(images.shape[1:]) != self.shape:
            raise ValueError(f"images: expected shape (N, {', '.join(map(str, self.shape))}) as at fit, "
                             f"got {tuple(images.shape)}")
        return torch.as_tensor(self.model.predict(self._pixels(images, "images")), dtype=torch.long)
