"""Measuring label-based edits without a judge: instruments fitted on the user's own tags only.

* ``tag_boundary``: InterFaceGAN's linear boundary in z for a tag, with its held-out agreement with the tags
  (stratified k-fold cross-validation: AUC of the held-out signed distances, balanced accuracy). It says how
  well a linear direction in z separates the tagged samples; it does not look at images.
* ``TagProbe``: a small instrument, logistic regression fitted on the tagged samples (positives: the concept's
  samples; negatives: the other seen samples, or a second concept's), reading either the images average-pooled
  to 16x16 (``PixelReader``, the default) or the generator's own features at z (``GeneratorReader``: for
  images too varied for a pixel probe on a few tags, e.g. real photographs). Its cross-validated AUC is reported
  with every number it gives; a figure no probe can read (AUC < ``MIN_PROBE_AUC``) is reported as unmeasured.
  ``benchmarks/bench_tag_probes.py`` checks the probes against the shipped face judge.

Every result carries ``measured_with``: a sentence naming the instrument.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .directions import Direction, boundary

__all__ = ["TagBoundary", "tag_boundary", "TagProbe", "PixelReader", "GeneratorReader", "cross_validated_scores",
           "best_probe", "label_directions", "MIN_PROBE_AUC", "PROBE_SIZE"]

MIN_PROBE_AUC = 0.7   # below this the probe's readings are not reported as measurements
PROBE_SIZE = 16       # the probe's input: images average-pooled to PROBE_SIZE x PROBE_SIZE


def _folds(y: np.ndarray, folds: int) -> int:
    return max(2, min(folds, int(y.sum()), int(len(y) - y.sum())))


def cross_validated_scores(X: np.ndarray, y: np.ndarray, make, *, folds: int = 5, seed: int = 0,
                           groups: np.ndarray | None = None) -> dict:
    """Held-out decision scores of ``make()`` (an sklearn classifier) by stratified k-fold -> {"auc",
    "balanced_accuracy", "folds"}; needs >= 2 samples of each class. ``groups``: rows of one group (e.g. an
    image and its mirror copy) stay in the same fold."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    k = _folds(y, folds)
    scores = np.zeros(len(y))
    if groups is None:
        splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y)
    else:
        splits = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(X, y, groups)
    for train, test in splits:
        scores[test] = make().fit(X[train], y[train]).decision_function(X[test])
    return {"auc": float(roc_auc_score(y, scores)), "folds": k,
            "balanced_accuracy": float(balanced_accuracy_score(y, scores > 0))}


@dataclass
class TagBoundary:
    """A tag's boundary in z and its held-out agreement with the user's tags."""

    direction: Direction        # unit normal towards the tag, fitted on all seen samples
    auc: float                  # cross-validated AUC of held-out signed distances against the tags
    balanced_accuracy: float    # cross-validated, at the boundary
    n_pos: int
    n_neg: int
    measured_with: str


def _split(tags, name: str, against: str | None):
    """(indices, bool labels) of the tag ``name`` against the other seen samples or the concept ``against``."""
    if against is None:
        idx, y = tags.binary(name)
    else:
        pos, neg = tags.indices(name), tags.indices(against)
        both = set(pos.tolist()) & set(neg.tolist())
        if both:
            raise ValueError(f"tags: samples {sorted(both)} carry both {name!r} and {against!r}")
        idx = torch.cat([pos, neg])
        y = torch.cat([torch.ones(len(pos), dtype=torch.bool), torch.zeros(len(neg), dtype=torch.bool)])
    if int(y.sum()) < 2 or int((~y).sum()) < 2:
        raise ValueError(f"tags: {name!r} needs >= 2 samples with and >= 2 without it; got {int(y.sum())} "
                         f"and {int((~y).sum())}")
    return idx, y


def tag_boundary(z: torch.Tensor, tags, name: str, *, against: str | None = None, folds: int = 5, seed: int = 0,
                 C: float = 1.0) -> TagBoundary:
    """The boundary of tag ``name`` in z (``z``: the file's n samples (n, nz), e.g. ``tags.z(model)``), fitted
    on all seen samples (negatives: the seen samples without it, or the concept ``against``)."""
    from sklearn.linear_model import LogisticRegression

    idx, y = _split(tags, name, against)
    X = z[idx].double().numpy()
    cv = cross_validated_scores(X, y.numpy(), lambda: LogisticRegression(C=C, max_iter=2000), folds=folds,
                                seed=seed)
    d = boundary(z[idx], y, name=name, C=C, holdout=0)
    d.accuracy = cv["balanced_accuracy"]
    neg = f"'{against}'" if against else "untagged"
    return TagBoundary(d, cv["auc"], cv["balanced_accuracy"], int(y.sum()), int((~y).sum()),
                       f"the user's tags: {int(y.sum())} '{name}' vs {int((~y).sum())} {neg} samples, "
                       f"{cv['folds']}-fold cross-validated logistic regression on z (no judge)")


def _features(images: torch.Tensor) -> np.ndarray:
    x = images.float()
    if x.dim() != 4:
        raise ValueError(f"images: expected (N, C, H, W), got {tuple(x.shape)}")
    return F.adaptive_avg_pool2d(x, PROBE_SIZE).flatten(1).double().numpy()


class PixelReader:
    """A probe's input from images (N, C, H, W): the images average-pooled to PROBE_SIZE x PROBE_SIZE."""

    reads = "images"
    mirrorable = True

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        return _features(images)

    def describe(self) -> str:
        return f"{PROBE_SIZE}x{PROBE_SIZE} pooled images"


class GeneratorReader:
    """A probe's input from latents z (N, nz): the generator's own ``layer`` output at z, pooled to 4x4.

    It reads what the generator computes on the way to the image, not the pixels: a second instrument where
    the images are too varied for a pixel probe fitted on a few tags (real photographs)."""

    reads = "z"
    mirrorable = False

    def __init__(self, model, layer: str | None = None, pool: int = 4):
        self.model, self.layer, self.pool = model, layer or model.default_layer(), pool

    def __call__(self, z: torch.Tensor) -> np.ndarray:
        _, feats = self.model.trace(z, [self.layer])
        a = feats[self.layer].float()
        a = F.adaptive_avg_pool2d(a, self.pool) if a.dim() == 4 else a
        return a.flatten(1).double().numpy()

    def describe(self) -> str:
        return f"the generator's own '{self.layer}' features pooled to {self.pool}x{self.pool}"


class TagProbe:
    """A reader of one tag, fitted on the tagged samples only (no judge).

    ``TagProbe(inputs, labels)``: ``labels`` (M,) bool; ``inputs`` what ``reader`` reads: images (M, C, H, W)
    in [-1, 1] for the default :class:`PixelReader`, latents (M, nz) for a :class:`GeneratorReader`. ``auc`` is
    its cross-validated AUC; ``predict(inputs)`` -> P(tag) (N,); ``readable``: AUC >= MIN_PROBE_AUC.
    ``mirror`` (pixels only): also fit on mirrored images with the opposite label (for left / right tags).
    """

    def __init__(self, inputs: torch.Tensor, labels, *, name: str = "", C: float = 0.05, folds: int = 5,
                 seed: int = 0, mirror: bool = False, reader=None):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.reader = reader or PixelReader()
        y = torch.as_tensor(labels).bool().numpy()
        if len(y) != inputs.shape[0] or y.sum() < 2 or (~y).sum() < 2:
            raise ValueError(f"labels: expected one bool per input with >= 2 of each class, got {int(y.sum())} "
                             f"positive and {int((~y).sum())} negative for {inputs.shape[0]} inputs")
        if mirror and not self.reader.mirrorable:
            raise ValueError("mirror: only a probe reading images can learn from mirrored copies")
        self.n_pos, self.n_neg = int(y.sum()), int((~y).sum())
        X, groups = self.reader(inputs), None
        if mirror:   # left/right concepts: a mirrored image carries the other label (twice the examples)
            X = np.concatenate([X, self.reader(inputs.flip(-1))])
            y, groups = np.concatenate([y, ~y]), np.tile(np.arange(len(inputs)), 2)

        def make():
            return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))

        cv = cross_validated_scores(X, y, make, folds=folds, seed=seed, groups=groups)
        self.auc, self.folds, self.name, self.mirror = cv["auc"], cv["folds"], name, mirror
        self.clf = make().fit(X, y)

    @property
    def readable(self) -> bool:
        return self.auc >= MIN_PROBE_AUC

    @property
    def reads(self) -> str:
        return self.reader.reads

    @property
    def measured_with(self) -> str:
        mirror = ", each also mirrored with the opposite label" if self.mirror else ""
        return (f"a probe fitted on the user's tags ({self.n_pos} '{self.name}' vs {self.n_neg} other "
                f"samples{mirror}; logistic regression on {self.reader.describe()}; "
                f"{self.folds}-fold cross-validated AUC {self.auc:.2f}; no judge)")

    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.clf.predict_proba(self.reader(inputs))[:, 1], dtype=torch.float32)

    def read(self, *, images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """P(tag) of generated images, given both the images and their z (each reader takes what it reads)."""
        return self.predict(images if self.reads == "images" else z)

    @classmethod
    def from_tags(cls, model, tags, name: str, *, against: str | None = None, layer: str | None = None,
                  pixels: bool = True, **kw) -> "TagProbe":
        """Fit on the tags' samples of ``model`` (a LatentModel): on their images (``pixels=True``), or on the
        generator's ``layer`` features at their z (``pixels=False``, a :class:`GeneratorReader`)."""
        idx, y = _split(tags, name, against)
        z = tags.z(model)[idx]
        if pixels:
            return cls(model.generate(z), y, name=name, **kw)
        return cls(z, y, name=name, reader=GeneratorReader(model, layer), **kw)


def best_probe(model, tags, name: str, *, against: str | None = None, mirror: bool = False) -> list:
    """[pixel probe] when it can read the tag (AUC >= MIN_PROBE_AUC), else [pixel probe, generator-feature
    probe]: the last one is the instrument to use (if it is readable), the others are reported beside it."""
    first = TagProbe.from_tags(model, tags, name, against=against, mirror=mirror)
    if first.readable:
        return [first]
    return [first, TagProbe.from_tags(model, tags, name, against=against, pixels=False)]


def label_directions(generator, tags, *, prior: str | None = None, folds: int = 5, seed: int = 0) -> dict:
    """{tag: TagBoundary} for every tag with >= 2 samples with and >= 2 without it: InterFaceGAN boundaries from
    the user's tags on any generator (``generator``: a GAN, a LatentModel or a module with ``prior``)."""
    from ..models.adapter import as_latent_model
    model = as_latent_model(generator, prior)
    z = tags.z(model)
    out = {}
    for name in tags.tags:
        try:
            out[name] = tag_boundary(z, tags, name, folds=folds, seed=seed)
        except ValueError:
            continue
    return out
