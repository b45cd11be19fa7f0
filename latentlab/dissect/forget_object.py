"""Forgetting an object as an object: probe on the user's boxes, rank maps, drop them, measure (DCGAN §6.3.1).

What is fixed goes to the constructor (the generator, its layer, the label's name, the seed), what varies to the
call (captum style)::

    f = Forget(G, "block2", label="glasses", seed=0)
    fit = f.probe(boxes)                           # the probe samples are f.samples(len(boxes)); split train/held-out
    inst = f.box_instrument(fit)                   # a detector fitted on the train part's boxes only
    rank = f.rank(fit, by="probe")                 # or by="causal" (first-order effect on the instrument)
    d = f.drop(rank, 20, where="boxes", off="mean_at", fit=fit)
    m = f.measure(inst, d, fit)                    # held-out: removal, locality, and a random control of each
    curve = f.curve(inst, rank, [5, 10, 20, 40], fit, where="boxes", off="mean_at")

Randomness: the probe samples' z from ``seed``; the split from ``seed``; random controls from ``seed + 2`` (+ draw).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..hooks import Trace, eval_mode, get_module
from ..validate import int_in
from .boxes import boxes_to_grid, boxes_to_pixel_mask, validate_boxes
from .edits import OFF, WHERE, Drop, generate_dropped
from .instruments import BoxInstrument, check_instrument
from .probe import ProbeResult, fit_probe
from .removal import BATCH, adapter, random_maps

__all__ = ["Forget", "ProbeFit", "Ranking", "Measurement", "Curve", "InstrumentComparison", "split_samples"]


def split_samples(boxes, held_out: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (train, held-out), deterministic under ``seed``, stratified: the samples with
    boxes and those without are split separately, so both parts have some of each (>= 1 boxed sample each)."""
    if not 0 < held_out < 1:
        raise ValueError(f"held_out: expected a share in (0, 1), got {held_out!r}")
    rng = np.random.default_rng(seed)
    boxed = np.array([i for i, b in enumerate(boxes) if len(b)], dtype=int)
    empty = np.array([i for i, b in enumerate(boxes) if not len(b)], dtype=int)
    if len(boxed) < 2:
        raise ValueError(f"boxes: need boxes on at least 2 samples to split them into train and held-out, got "
                         f"{len(boxed)}")
    train, test = [], []
    for group in (boxed, empty):
        g = rng.permutation(group)
        n_test = int(round(len(g) * held_out))
        if group is boxed:
            n_test = min(max(n_test, 1), len(g) - 1)
        test.append(g[:n_test])
        train.append(g[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@dataclass
class ProbeFit:
    """The box probe fitted on the train part of the labelled samples."""

    label: str
    layer: str
    probe: ProbeResult
    train: np.ndarray               # sample indices the probe (and a box instrument) were fitted on
    held_out: np.ndarray            # sample indices every number is measured on
    held_out_auc: float             # the probe's cell AUC on the held-out samples' boxes
    boxes: list = field(repr=False)                     # per sample (all n), (x0, y0, x1, y1)
    z: torch.Tensor = field(repr=False, default=None)   # (n, nz)
    images: torch.Tensor = field(repr=False, default=None)    # (n, C, S, S) unedited
    features: torch.Tensor = field(repr=False, default=None)  # (n, C_l, h, w) of ``layer``

    @property
    def held_out_boxed(self) -> np.ndarray:
        """Held-out sample indices that carry boxes (where removal and locality are measured)."""
        return self.boxed("held_out")

    def boxed(self, part: str = "held_out") -> np.ndarray:
        """Sample indices of ``part`` ("train" or "held_out") that carry boxes."""
        if part not in ("train", "held_out"):
            raise ValueError(f"part: expected 'train' or 'held_out', got {part!r}")
        return np.array([i for i in getattr(self, part) if len(self.boxes[i])], dtype=int)

    def cells(self, idx) -> torch.Tensor:
        """bool (len(idx), h, w): the box cells of those samples on the layer's grid."""
        h, w = self.features.shape[2:]
        return torch.from_numpy(boxes_to_grid([self.boxes[i] for i in idx], self.images.shape[-1], (h, w)))

    def probe_cells(self, idx, features: torch.Tensor | None = None) -> torch.Tensor:
        """bool (len(idx), h, w): cells whose probe logit is > 0 (where the probe sees the object)."""
        f = self.features[torch.as_tensor(np.asarray(idx))] if features is None else features
        p = self.probe
        x = (f.permute(0, 2, 3, 1).double().numpy() - p.mean) / p.std
        return torch.from_numpy(x @ p.weights + p.bias > 0)


@dataclass
class Ranking:
    by: str                          # "probe" (weight), "causal" (first-order effect on an instrument), "random"
    order: np.ndarray                # (C,) map indices, strongest first
    scores: np.ndarray               # (C,) the score each map was ranked by
    n_positive: int                  # maps with a positive score (the paper's selection for the probe)


@dataclass
class Measurement:
    """One drop on the held-out labelled samples, and as many random maps dropped the same way."""

    instrument: str                  # what measured removal
    drop: str                        # Drop.describe()
    k: int
    n_samples: int                   # held-out samples with boxes
    before: float                    # instrument: share of box cells seen as the object, before the edit
    after: float                     # ... after
    after_random: float              # ... after the random control
    removal: float                   # 1 - after / before
    removal_random: float
    locality: float                  # mean |change| inside the boxes / mean |change| outside
    locality_random: float
    change_outside: float            # mean |change| outside the boxes, pixel scale 0..1 (the collateral)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Curve:
    """Measurements over k for one ranking and one way of dropping."""

    ranking: str
    where: str
    off: str
    points: list                     # [Measurement] in k order
    layer: str = ""

    @property
    def ks(self) -> list[int]:
        return [p.k for p in self.points]

    def to_dict(self) -> dict:
        return {"layer": self.layer, "ranking": self.ranking, "where": self.where, "off": self.off,
                "points": [p.to_dict() for p in self.points]}


@dataclass
class InstrumentComparison:
    """Two instruments' removal over the same sweep of k (e.g. a box-only detector against a segmenter)."""

    reference: str
    instrument: str
    ks: list
    reference_removal: list
    instrument_removal: list
    correlation: float               # Pearson correlation of the two removal series

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def locality(before: torch.Tensor, after: torch.Tensor, boxes) -> tuple[float, float, float]:
    """(inside / outside, mean |change| inside the boxes, mean |change| outside), pooled over the images.

    before/after (N, C, S, S) in [-1, 1]; change is per pixel, channel mean, on the 0..1 scale.
    """
    diff = (after - before).abs().mean(1) / 2
    inside = torch.from_numpy(boxes_to_pixel_mask(boxes, before.shape[-1]))
    if not inside.any() or inside.all():
        raise ValueError("boxes: locality needs pixels both inside and outside the boxes")
    din, dout = float(diff[inside].mean()), float(diff[~inside].mean())
    return (din / dout if dout > 0 else float("inf")), din, dout


def _check_labelled(boxes, n: int | None, size: int) -> list:
    if hasattr(boxes, "boxes") and hasattr(boxes, "n"):     # a BoxesFile
        boxes = boxes.boxes
    if not isinstance(boxes, (list, tuple)) or not boxes:
        raise ValueError(f"boxes: expected one list of boxes per probe sample, got {boxes!r:.60}")
    boxes = validate_boxes(list(boxes), len(boxes) if n is None else n, size)
    if sum(len(b) for b in boxes) == 0:
        raise ValueError(f"boxes: all {len(boxes)} lists are empty; draw the object's boxes on some samples")
    return boxes


class Forget:
    """Forget one object of a generator layer, from the user's boxes (see the module docstring).

    Args:
        generator: a latentlab GAN / generator, a LatentModel, or any module (``prior=``, ``nz=`` as LatentModel).
        layer: default: the paper's layer (``block2`` in ours).
        label: the object's name, as the user calls it ("glasses"); every number names it.
        seed: the probe samples are ``n`` z drawn from ``seed`` with the model's prior, in order (as
            ``latentlab annotate --seed`` shows them); the split and the random controls follow it.
    """

    def __init__(self, generator, layer: str | None = None, *, label: str = "object", seed: int = 0, prior=None,
                 nz=None, device=None, c=None):
        self.lm = adapter(generator, prior=prior, nz=nz, device=device, need_prior=True)
        self.layer = layer or self.lm.default_layer()
        get_module(self.lm.module, self.layer)
        if not isinstance(label, str) or not label:
            raise ValueError(f"label: expected the object's name, got {label!r}")
        self.label, self.seed, self.c = label, int(seed), c
        self._samples: dict = {}

    # -- samples and probe ------------------------------------------------------------------------------
    def samples(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ``n`` probe samples: (z (n, nz), images (n, C, S, S), features (n, C_l, h, w) of the layer)."""
        if n not in self._samples:
            z = self.lm.sample_z(n, seed=self.seed)
            images, feats = self.lm.trace(z, [self.layer], self.c, batch_size=BATCH)
            self._samples[n] = (z, images, feats[self.layer])
        return self._samples[n]

    def probe(self, boxes, *, held_out: float = 0.5, C: float = 1.0) -> ProbeFit:
        """Fit the box probe on the train part of the labelled samples (``boxes``: one list per probe sample, or
        a BoxesFile); measure its cell AUC on the held-out part."""
        from sklearn.metrics import roc_auc_score
        n = len(getattr(boxes, "boxes", boxes) or [])
        z, images, feats = self.samples(max(n, 1))
        boxes = _check_labelled(boxes, n, images.shape[-1])
        train, test = split_samples(boxes, held_out, self.seed)
        probe = fit_probe(feats[train], [boxes[i] for i in train], images.shape[-1], layer=self.layer, C=C,
                          seed=self.seed)
        fit = ProbeFit(self.label, self.layer, probe, train, test, float("nan"), boxes, z, images, feats)
        y = fit.cells(test).numpy().ravel()
        x = (feats[torch.as_tensor(test)].permute(0, 2, 3, 1).double().numpy() - probe.mean) / probe.std
        if 0 < y.sum() < len(y):
            fit.held_out_auc = float(roc_auc_score(y, (x @ probe.weights).ravel()))
        return fit

    def box_instrument(self, fit: ProbeFit, **kw) -> BoxInstrument:
        """A :class:`BoxInstrument` fitted on the train samples' images and boxes only (``kw``: its settings)."""
        kw.setdefault("seed", self.seed)
        return BoxInstrument(self.label, **kw).fit(fit.images[torch.as_tensor(fit.train)],
                                                   [fit.boxes[i] for i in fit.train])

    # -- ranking and dropping ---------------------------------------------------------------------------
    def rank(self, fit: ProbeFit, by: str = "probe", instrument: BoxInstrument | None = None,
             off: str = "zero") -> Ranking:
        """Order the layer's maps: ``by="probe"`` weight; ``"causal"``: first-order effect of setting each map to
        its ``off`` value in the box cells of the train samples on ``instrument``'s object logits there
        (gradient x (activation - off))."""
        if by == "probe":
            s = np.asarray(fit.probe.weights, dtype=float)
        elif by == "causal":
            if instrument is None or not hasattr(instrument, "logits"):
                raise ValueError("instrument: the causal ranking needs a differentiable instrument (a fitted "
                                 "BoxInstrument)")
            s = self._causal_scores(fit, instrument, off)
        else:
            raise ValueError(f"by: expected 'probe' or 'causal', got {by!r}")
        order = np.argsort(-s, kind="stable")
        return Ranking(by if by == "probe" or off == "zero" else f"{by} ({off})", order, s, int((s > 0).sum()))

    def _causal_scores(self, fit: ProbeFit, instrument: BoxInstrument, off: str = "zero") -> np.ndarray:
        idx = np.array([i for i in fit.train if len(fit.boxes[i])])
        z, cells = fit.z[torch.as_tensor(idx)], fit.cells(idx)
        target = instrument._targets([fit.boxes[i] for i in idx], fit.images.shape[-1])[:, 0].bool()
        with eval_mode(self.lm.module), torch.enable_grad(), \
                Trace(self.lm.module, self.layer, detach=False,
                      edit_output=lambda o: o.requires_grad_(True) if not o.requires_grad else o) as t:
            images = self.lm.forward(z.to(self.lm.device, self.lm.dtype), self.c)
            score = instrument.logits(images.float())[target].sum()
            a = t.output
            grad, = torch.autograd.grad(score, a)
        v = self.off_values(fit, np.arange(a.shape[1]), off)
        v = torch.zeros(()) if v is None else (v[:, None, None] if v.dim() == 1 else v)
        eff = ((a.detach().cpu() - v) * grad.cpu()) * cells[:, None]   # setting a to v changes the score by -(a-v) grad
        return eff.sum(dim=(0, 2, 3)).double().numpy()

    def off_values(self, fit: ProbeFit, maps, off: str) -> torch.Tensor | None:
        """The "off" value of each map: None (zero), its mean over the train samples' cells outside the boxes
        ((k,), "mean"), or that mean at each position ((k, h, w), "mean_at"; positions every train box covers
        fall back to "mean"). "nearest" depends on the sample: None here, :meth:`nearest_values` at apply time."""
        if off not in OFF:
            raise ValueError(f"off: expected one of {OFF}, got {off!r}")
        if off in ("zero", "nearest"):
            return None
        f = fit.features[torch.as_tensor(fit.train)][:, torch.as_tensor(np.asarray(maps, dtype=np.int64))]
        free = ~fit.cells(fit.train)[:, None]                      # (n, 1, h, w) no-object cells
        mean = (f * free).sum(dim=(0, 2, 3)) / free.sum().clamp(min=1)
        if off == "mean":
            return mean
        n_at = free.sum(0)                                         # (1, h, w)
        at = (f * free).sum(0) / n_at.clamp(min=1)
        return torch.where(n_at > 0, at, mean[:, None, None])

    def drop(self, ranking: Ranking, k: int, *, where: str = "everywhere", off: str = "zero",
             fit: ProbeFit | None = None) -> Drop:
        """The top-``k`` maps of ``ranking`` set to ``off`` in ``where`` cells (see :class:`Drop`)."""
        k = int_in(k, "k", 0, len(ranking.order), numpy=True)
        if where not in WHERE:
            raise ValueError(f"where: expected one of {WHERE}, got {where!r}")
        if off != "zero" and fit is None:
            raise ValueError(f"fit: off={off!r} needs the ProbeFit whose samples define 'no object'")
        maps = np.asarray(ranking.order[:k])
        values = None if fit is None else self.off_values(fit, maps, off)
        return Drop(self.layer, maps, where, off, values, ranking.by)

    def random_like(self, drop: Drop, fit: ProbeFit | None = None, draw: int = 0) -> Drop:
        """As many random maps (from ``seed + 2 + draw``), dropped the same way (same place, same kind of off)."""
        n_maps = int(self.samples_shape()[0])
        maps = random_maps(n_maps, drop.k, self.seed + 2 + draw)
        values = None if drop.off == "zero" else self.off_values(fit, maps, drop.off)
        return Drop(drop.layer, maps, drop.where, drop.off, values, "random")

    def samples_shape(self) -> tuple:
        """(C, h, w) of the layer's output."""
        feats = next(iter(self._samples.values()))[2] if self._samples else self.samples(1)[2]
        return tuple(feats.shape[1:])

    def cells_for(self, drop: Drop, fit: ProbeFit, idx) -> torch.Tensor | None:
        """Where ``drop`` acts on samples ``idx``: None (everywhere), their box cells, or their probe cells."""
        if drop.where == "everywhere":
            return None
        return fit.cells(idx) if drop.where == "boxes" else fit.probe_cells(idx)

    def nearest_values(self, fit: ProbeFit, maps, idx, cells: torch.Tensor | None) -> torch.Tensor:
        """(len(idx), k, h, w): for each sample, the ``maps`` of the train sample without a box whose features
        (all maps) are nearest (L2) to its own outside ``cells`` (None: over all cells) - a feature transplant
        from a look-alike without the object. Samples that are themselves such train samples skip themselves."""
        free = np.array([i for i in fit.train if not len(fit.boxes[i])], dtype=int)
        if len(free) == 0:
            raise ValueError("boxes: off='nearest' needs train samples without a box to take the values from")
        fr = fit.features[torch.as_tensor(free)]                                  # (F, C, h, w)
        m = torch.as_tensor(np.asarray(maps, dtype=np.int64))
        out = []
        for j, i in enumerate(np.asarray(idx)):
            keep = torch.ones(fr.shape[2:], dtype=torch.bool) if cells is None else ~cells[j]
            d = ((fr - fit.features[int(i)]) ** 2 * keep).sum(dim=(1, 2, 3))
            d[torch.as_tensor(free == i)] = float("inf")
            out.append(fr[int(torch.argmin(d)), m])
        return torch.stack(out)

    def apply(self, drop: Drop | None, fit: ProbeFit, idx=None) -> torch.Tensor:
        """Images of the probe samples ``idx`` (default: all, in order) with ``drop`` applied."""
        idx = np.arange(len(fit.boxes)) if idx is None else np.asarray(idx)
        if drop is None:
            return fit.images[torch.as_tensor(idx)]
        cells = self.cells_for(drop, fit, idx)
        if drop.off == "nearest":
            drop = replace(drop, values=self.nearest_values(fit, drop.maps, idx, cells))
        return generate_dropped(self.lm, fit.z[torch.as_tensor(idx)], drop, cells, c=self.c)

    # -- measuring --------------------------------------------------------------------------------------
    def measure(self, instrument, drop: Drop, fit: ProbeFit, part: str = "held_out", n_random: int = 1) -> Measurement:
        """``drop`` and as many random maps dropped the same way (``n_random`` draws, averaged), on the held-out
        samples with boxes (``part`` "train": the train ones, to choose a drop without looking at the held-out
        part): removal read by ``instrument`` inside the boxes (``read_in``; a whole-image ``read`` when it has
        none), and locality (|change| inside the boxes / outside)."""
        check_instrument(instrument)
        if isinstance(n_random, bool) or not isinstance(n_random, int) or n_random < 1:
            raise ValueError(f"n_random: expected an int >= 1, got {n_random!r}")
        idx = fit.boxed(part)
        boxes = [fit.boxes[i] for i in idx]
        before = fit.images[torch.as_tensor(idx)]
        after = self.apply(drop, fit, idx)
        rand = [self.apply(self.random_like(drop, fit, r), fit, idx) for r in range(n_random)]
        read = (lambda x: instrument.read_in(x, boxes)) if hasattr(instrument, "read_in") else instrument.read
        b, a = float(np.nanmean(read(before))), float(np.nanmean(read(after)))
        r = float(np.mean([np.nanmean(read(x)) for x in rand]))
        loc, _, out = locality(before, after, boxes)
        loc_r = float(np.mean([locality(before, x, boxes)[0] for x in rand]))
        rem = (lambda x: 1 - x / b if b > 0 else float("nan"))
        return Measurement(instrument.name, drop.describe(), drop.k, len(idx), b, a, r, rem(a), rem(r), loc, loc_r,
                           out)

    def curve(self, instrument, ranking: Ranking, ks, fit: ProbeFit, *, where: str = "everywhere",
              off: str = "zero", part: str = "held_out", n_random: int = 1) -> Curve:
        """:meth:`measure` for the top-k maps of ``ranking`` at each k of ``ks``."""
        pts = [self.measure(instrument, self.drop(ranking, int(k), where=where, off=off, fit=fit), fit, part,
                            n_random) for k in ks if k > 0]
        return Curve(ranking.by, where, off, pts, self.layer)

    def compare(self, reference, instrument, ranking: Ranking, ks, fit: ProbeFit) -> InstrumentComparison:
        """Whole-image removal (``read``) by two instruments over the same sweep of k (drops everywhere, zero),
        on the held-out samples; their Pearson correlation says whether ``instrument`` can stand in for
        ``reference``."""
        idx = fit.held_out
        before = fit.images[torch.as_tensor(idx)]
        rb, ib = float(np.mean(reference.read(before))), float(np.mean(instrument.read(before)))
        ref, ins = [], []
        for k in ks:
            x = self.apply(self.drop(ranking, int(k)), fit, idx)
            ref.append(1 - float(np.mean(reference.read(x))) / rb if rb > 0 else float("nan"))
            ins.append(1 - float(np.mean(instrument.read(x))) / ib if ib > 0 else float("nan"))
        a, b = np.asarray(ref), np.asarray(ins)
        ok = len(ks) > 2 and np.isfinite(a).all() and np.isfinite(b).all() and a.std() > 0 and b.std() > 0
        corr = float(np.corrcoef(a, b)[0, 1]) if ok else float("nan")   # undefined for a constant series
        return InstrumentComparison(reference.name, instrument.name, [int(k) for k in ks], ref, ins, corr)
