"""Forgetting to draw objects (DCGAN §6.3.1), measured, as small steps.

``forget`` runs: :func:`sample_and_box` (``n_probe`` samples; object boxes from the segmenter judge or drawn
by hand) -> :func:`fit_probes` (the box probe on one layer, and on the sweep / joint layers) ->
:func:`select_maps` (every positive-weight map) -> :func:`measure` (``n_eval`` fresh samples, same z with and
without the drop: the segmenter's object pixels, the share of object-bearing samples that lose >= 90% of them,
the change outside the original object regions, and the same for a random control) -> :func:`curves`
(beyond the paper: removal over k for the probe's ranking, a GAN-Dissection IoU ranking and an optional
causal ranking), plus a layer sweep and a joint drop over several layers. It returns a :class:`ForgetResult`
of small parts (:class:`ForgetSetup`, :class:`ProbeSelection`, :class:`DropReading`, :class:`Curves`,
:class:`CausalResult`, :class:`JointDrop`, :class:`DetectorReading`, :class:`ForgetArrays`).

Without a segmenter (boxes drawn by hand, e.g. with ``latentlab annotate``) only the probe's results and the
before/after images are produced; with one, removal is measured too.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch

from ..hooks import get_module
from ..validate import int_at_least
from .boxes import validate_boxes
from .probe import ProbeResult, fit_probe
from .removal import (DISAGREE, Before, Removal, _agreement, _fractions, adapter, boxes_from_masks, class_index,
                      detector_regions, generate, instrument_numbers, measure_removal, object_boxes, object_masks,
                      random_maps, removal_curve)  # noqa: F401 (re-exported)

__all__ = ["forget", "ForgetResult", "ForgetSetup", "ProbeSelection", "DropReading", "Curves", "CausalResult",
           "JointDrop", "DetectorReading", "ForgetArrays", "ForgetSettings", "Judge", "EvalSet", "ProbeSamples",
           "sample_and_box", "fit_probes", "select_maps", "measure", "instrument_pair", "curves", "layer_sweep",
           "joint_drop", "rank_by_iou", "default_layer", "paper_layer_note", "SCHEMA",
           "generate", "object_masks", "object_boxes", "measure_removal", "removal_curve", "random_maps", "Removal"]

SCHEMA = 3  # 2: object-neutral keys (fraction_*, n_bearing, share_samples_removed*), "schema" and "measured";
#            3: "detector", "instruments" and "instruments_disagree" (the second window instrument)

paper_layer_note = (
    "The paper fits its probe on the generator's 'second highest convolution layer'. In a generator the "
    "highest (most abstract) layer is the one closest to z; the second is the 8x8 layer (512 maps in the "
    "paper's LSUN model, of which ~200 had positive weight). In latentlab's DCGAN that is `block2` "
    "(ngf*4 maps at 8x8)."
)


def default_layer(generator, *, prior=None, nz=None) -> str:
    """The paper's layer: ``block2`` in latentlab's DCGAN, the second block's output in any other generator."""
    return adapter(generator, prior=prior, nz=nz).default_layer()


def rank_by_iou(features: torch.Tensor, masks: torch.Tensor, quantile: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Rank maps by the IoU of their thresholded, upsampled activation with object masks (GAN Dissection).

    One implementation: :func:`latentlab.attribution.semantic.filter_iou` (threshold = each map's top
    ``quantile`` of raw activations over all samples) with the two classes "other" and the object.
    Args: features (N, C, h, w); masks bool (N, H, W). Returns (ranking (C,) best first, iou (C,)).
    """
    from ..attribution.semantic import filter_iou
    if not isinstance(masks, torch.Tensor) or masks.dim() != 3:
        raise ValueError(f"masks: expected bool object masks (N, H, W), got {tuple(getattr(masks, 'shape', ()))}")
    iou = filter_iou(features, masks.long(), ("other", "object"), quantile=quantile).iou[:, 1]
    return np.argsort(-iou, kind="stable"), iou


# ------------------------------------------------------------------------------------------------ result

@dataclass(frozen=True)
class ForgetSetup:
    """What was forgotten where, and on how many evaluation samples."""

    object: str                     # the segmenter's class (or the boxed object)
    layer: str
    n_maps: int                     # feature maps of ``layer``
    n_eval_samples: int             # fresh samples every drop is measured on (z from seed + 1)
    seed: int
    min_fraction: float             # object share that makes a sample object-bearing
    layer_note: str = paper_layer_note

    @property
    def quarter_of_maps(self) -> int:
        return self.n_maps // 4


@dataclass(frozen=True)
class ProbeSelection:
    """The box probe on ``layer`` (fitted on the probe samples' boxes) and the maps it selects."""

    box_source: str                 # "segmenter" or "user"
    n_samples: int                  # probe samples (``n_probe``)
    n_boxes: int
    auc: float                      # on held-out images
    accuracy: float
    weights: list                   # one per map
    dropped_maps: list              # every map with a positive weight, highest first (the paper's selection)


@dataclass(frozen=True)
class DropReading:
    """The segmenter's reading of a drop against random controls of as many maps (the ``*_random`` numbers are
    means over the controls). Fractions are object pixel shares of the image."""

    fraction_before: float | None               # mean object pixel share before the drop
    fraction_after: float                       # ... after dropping the selected maps
    fraction_after_random: float                # ... after dropping as many random maps
    reduction: float                            # 1 - after / before (negative: the drop added pixels)
    reduction_random: float
    n_bearing: int | None                       # samples with >= min_fraction object pixels
    share_samples_removed: float                # share of those losing >= 90% of their object pixels
    share_samples_removed_random: float
    outside_change: float                       # mean |after - before| away from the object (0..1)
    outside_change_random: float
    replaced_by: dict                           # class -> share of the former object pixels

    @classmethod
    def of(cls, drop: dict, controls: list) -> "DropReading":
        """From ``Removal.summary`` dicts of the drop and of its random controls."""
        mean = lambda key: float(np.mean([r[key] for r in controls]))  # noqa: E731
        return cls(drop["fraction_before"], drop["fraction_after"], mean("fraction_after"), drop["reduction"],
                   mean("reduction"), drop["n_bearing"], drop["share_removed_90"], mean("share_removed_90"),
                   drop["outside_change"], mean("outside_change"), drop["replaced_by"])

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Curves:
    """Object pixel share over k per ranking (probe, IoU, causal, random), on the first ``n_samples`` eval samples."""

    by_ranking: dict                # {ranking: {"k": object pixel share}}
    n_samples: int
    min_k_90: dict                  # {ranking: fewest k on the curve removing >= 90%, or None}
    selection_within_quarter: dict  # {ranking: min_k_90 <= a quarter of the layer's maps}
    iou: list | None = None         # GAN Dissection's IoU per map (the "iou" ranking), None without it


@dataclass(frozen=True)
class CausalResult:
    """The soft-ablation causal ranking (GAN Dissection) and its top quarter of maps dropped."""

    steps: int
    ranking: list
    mask: list
    quarter_maps: list
    quarter_reduction: float | None = None
    quarter_share_samples_removed: float | None = None
    quarter_outside_change: float | None = None

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_JOINT_READING = ("fraction_after", "reduction", "share_samples_removed", "outside_change", "fraction_after_random",
                  "reduction_random", "share_samples_removed_random", "outside_change_random", "replaced_by")


@dataclass(frozen=True)
class JointDrop:
    """The probe-positive maps of several layers dropped together, against as many random maps per layer."""

    layers: list
    n_maps: dict                    # {layer: maps}
    dropped_maps: dict              # {layer: the probe's positive maps}
    probe_auc: dict                 # {layer: the probe's AUC}
    reading: DropReading | None = None   # None without a segmenter
    instruments: dict | None = field(default=None, compare=False)  # {"joint", "joint_random"}: both instruments

    @property
    def maps_dropped(self) -> dict:
        return {l: len(m) for l, m in self.dropped_maps.items()}

    def to_dict(self) -> dict:
        """The JSON of ``metrics.json["joint"]`` (the instruments' reading is in ``ForgetResult.instruments``)."""
        out = {"layers": self.layers, "n_maps": self.n_maps, "maps_dropped": self.maps_dropped,
               "dropped_maps": self.dropped_maps, "probe_auc": self.probe_auc}
        if self.reading is not None:
            out.update({k: getattr(self.reading, k) for k in _JOINT_READING})
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "JointDrop":
        reading = None
        if "reduction" in d:  # fraction_before and n_bearing are not in the file (they equal the main drop's)
            reading = DropReading(fraction_before=None, n_bearing=None, **{k: d[k] for k in _JOINT_READING})
        return cls(d["layers"], d["n_maps"], d["dropped_maps"], d["probe_auc"], reading)


@dataclass(frozen=True)
class DetectorReading:
    """The second window instrument read beside the segmenter on the same images."""

    detector: str                   # its class name
    numbers: dict                   # {"detector", "thresholds", "fraction_before", "agreement_before",
    #                                  "probe", "random", ["causal_quarter", "joint", "joint_random"]}
    disagree: bool                  # the instruments disagree about any drop (rule: ``removal.DISAGREE``)


@dataclass(frozen=True)
class ForgetArrays:
    """What ``forget`` keeps beside the JSON numbers (not serialised)."""

    probe: ProbeResult                          # the fitted probe on ``layer``
    z_eval: torch.Tensor                        # (n_eval, nz), from seed + 1
    before: torch.Tensor                        # (n_eval, C, H, W) unedited images
    random_maps: np.ndarray                     # the first random control's maps (seed + 2)
    fraction_before_per_sample: np.ndarray | None = None    # object share per sample; None without a segmenter
    fraction_after_per_sample: np.ndarray | None = None
    fraction_after_random_per_sample: np.ndarray | None = None


@dataclass
class ForgetResult:
    """Everything ``forget`` found, in parts. ``to_dict()`` / ``to_json()`` give the JSON numbers (metrics.json,
    flat, the same keys in the same order as before the parts existed); ``arrays`` are not serialised.

    ``drop``, ``curves`` and ``causal`` are None when no segmenter measured anything (``measured`` False);
    ``instruments`` is None without a second window instrument (``detector``); ``joint`` None without joint layers.
    """

    setup: ForgetSetup
    selection: ProbeSelection
    drop: DropReading | None = None              # the segmenter's reading of the drop vs random controls
    curves: Curves | None = None
    causal: CausalResult | None = None
    layer_sweep: dict = field(default_factory=dict)   # {layer: its own probe's positive maps dropped}
    joint: JointDrop | None = None
    instruments: DetectorReading | None = None
    seconds: float = 0.0
    arrays: ForgetArrays | None = field(default=None, repr=False, compare=False)

    @property
    def measured(self) -> bool:
        return self.drop is not None

    @property
    def maps_dropped(self) -> int:
        return len(self.selection.dropped_maps)

    def to_dict(self) -> dict:
        s, p, c, ins = self.setup, self.selection, self.curves, self.instruments
        drop = self.drop.to_dict() if self.drop is not None else dict.fromkeys(_DROP_KEYS)
        return {"object": s.object, "layer": s.layer, "n_maps": s.n_maps, "dropped_maps": p.dropped_maps,
                "box_source": p.box_source, "n_probe_samples": p.n_samples, "n_boxes": p.n_boxes,
                "probe_auc": p.auc, "probe_accuracy": p.accuracy, "probe_weights": p.weights,
                "n_eval_samples": s.n_eval_samples, "seed": s.seed, "min_fraction": s.min_fraction,
                "measured": self.measured, **drop, "curves": c and c.by_ranking,
                "n_curve_samples": c.n_samples if c else 0, "min_k_90": c and c.min_k_90, "quarter_of_maps": s.quarter_of_maps,
                "selection_within_quarter": c and c.selection_within_quarter, "layer_sweep": self.layer_sweep,
                "iou": c and c.iou, "causal": self.causal and self.causal.to_dict(),
                "joint": self.joint and self.joint.to_dict(), "detector": ins and ins.detector,
                "instruments": ins and ins.numbers, "instruments_disagree": ins and ins.disagree,
                "seconds": self.seconds, "layer_note": s.layer_note, "schema": SCHEMA,
                "maps_dropped": self.maps_dropped, "curve": c and c.by_ranking["probe"]}

    def to_json(self, path=None, *, indent: int = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            from pathlib import Path
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, d: dict) -> "ForgetResult":
        """A ForgetResult (without ``arrays``) from :meth:`to_dict`'s dict, e.g. a metrics.json."""
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            got = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"schema: expected a forget result of schema {SCHEMA}, got {got!r}")
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise ValueError(f"d: not a forget result: keys {missing} are missing")
        setup = ForgetSetup(d["object"], d["layer"], d["n_maps"], d["n_eval_samples"], d["seed"], d["min_fraction"],
                            d.get("layer_note", paper_layer_note))
        sel = ProbeSelection(d["box_source"], d["n_probe_samples"], d["n_boxes"], d["probe_auc"],
                             d["probe_accuracy"], d["probe_weights"], d["dropped_maps"])
        measured = bool(d.get("measured"))
        g = d.get
        return cls(setup, sel, DropReading(**{k: d[k] for k in _DROP_KEYS}) if measured else None,
                   Curves(d["curves"], d["n_curve_samples"], d["min_k_90"], d["selection_within_quarter"], g("iou"))
                   if measured else None, CausalResult(**d["causal"]) if g("causal") else None,
                   g("layer_sweep") or {}, JointDrop.from_dict(d["joint"]) if g("joint") else None,
                   DetectorReading(d["detector"], d["instruments"], d["instruments_disagree"])
                   if g("detector") is not None else None, g("seconds", 0.0))

    @classmethod
    def from_json(cls, text: str) -> "ForgetResult":
        return cls.from_dict(json.loads(text))


_DROP_KEYS = tuple(f.name for f in fields(DropReading))
_REQUIRED = ("object", "layer", "n_maps", "n_eval_samples", "seed", "min_fraction", "box_source",
             "n_probe_samples", "n_boxes", "probe_auc", "probe_accuracy", "probe_weights", "dropped_maps")


# ------------------------------------------------------------------------------------------------ steps

@dataclass
class ProbeSamples:
    z: torch.Tensor                 # (n, nz) from the seed
    images: torch.Tensor            # (n, C, S, S)
    features: dict                  # {layer: (n, C_l, h, w)}
    masks: torch.Tensor | None      # segmenter's object masks (n, S, S), or None without a segmenter
    boxes: list                     # per sample, a list of (x0, y0, x1, y1)
    box_source: str


def sample_and_box(lm, layers, n: int, seed: int, segmenter=None, obj: str = "window", *, boxes=None,
                   min_area: int = 4, c=None) -> ProbeSamples:
    """Generate ``n`` samples from ``seed``, record ``layers``, and box the object (segmenter or ``boxes``)."""
    z = lm.sample_z(n, seed=seed)
    images, feats = lm.trace(z, layers, c)
    masks = None if segmenter is None else object_masks(segmenter, images, obj)
    size = images.shape[-1]
    if boxes is not None:
        boxes, source = validate_boxes(boxes, n, size), "user"
    elif masks is not None:
        boxes, source = boxes_from_masks(masks, min_area), "segmenter"
    else:
        raise ValueError("boxes: without a segmenter, give the object boxes drawn on the probe samples "
                         f"(one list per sample, {n} lists; e.g. from `latentlab annotate`)")
    if sum(len(b) for b in boxes) == 0:
        raise ValueError(f"boxes: no {obj} was found in the {n} samples searched; raise n_probe or check "
                         "the model / segmenter")
    return ProbeSamples(z, images, feats, masks, boxes, source)


def fit_probes(samples: ProbeSamples, layers, *, C: float = 1.0, seed: int = 0) -> dict:
    """One box probe per layer on the same samples and boxes -> {layer: ProbeResult}."""
    size = samples.images.shape[-1]
    return {l: fit_probe(samples.features[l], samples.boxes, size, layer=l, C=C, seed=seed)
            for l in dict.fromkeys(layers)}


def select_maps(probe: ProbeResult) -> np.ndarray:
    """The paper's selection: every map with a positive probe weight, highest first."""
    pos = probe.positive_maps
    if len(pos) == 0:
        raise ValueError(f"probe: no feature map of {probe.layer!r} has a positive weight; nothing to drop")
    return pos


@dataclass
class Judge:
    """What reads the segmenter's side of ``forget``: the segmenter, the object's class, the threshold of an
    object-bearing sample, and optionally the second window instrument."""

    segmenter: object
    obj: str = "window"
    min_fraction: float = 0.004
    detector: object | None = None


@dataclass
class EvalSet:
    """The evaluation samples of ``forget`` and what the instruments saw on them before any drop."""

    z: torch.Tensor                          # (n_eval, nz)
    before: torch.Tensor                     # (n_eval, C, S, S) unedited images
    masks: torch.Tensor | None = None        # the segmenter's object masks on ``before`` (n_eval, S, S)
    detector_before: torch.Tensor | None = None   # the detector's regions on ``before`` (n_eval, G, G)

    @classmethod
    def read(cls, z, before, judge: Judge | None) -> "EvalSet":
        if judge is None:
            return cls(z, before)
        det = None if judge.detector is None else detector_regions(judge.detector, before)
        return cls(z, before, object_masks(judge.segmenter, before, judge.obj), det)

    def head(self, n: int) -> "EvalSet":
        """The first ``n`` samples (the curves' samples); the detector's regions are not carried over."""
        return EvalSet(self.z[:n], self.before[:n], None if self.masks is None else self.masks[:n])

    def removal(self, lm, drops: dict, judge: Judge, c=None, *, detector: bool = True) -> Removal:
        """``measure_removal`` of ``drops`` ({layer: maps}) on these samples."""
        use = detector and self.detector_before is not None
        before = Before(self.before, self.masks, self.detector_before if use else None)
        return measure_removal(lm, drops, self.z, judge.segmenter, judge.obj, before=before, c=c,
                               detector=judge.detector if use else None)


def measure(lm, layer, maps, n_maps: int, ev: EvalSet, judge: Judge, *, n_random=1, seed=0,
            c=None) -> tuple[DropReading, Removal, list]:
    """Drop ``maps`` of ``layer`` (which has ``n_maps``) vs ``n_random`` random controls of as many maps
    (seeds seed + 2 + r), on the samples of ``ev``.

    Returns (the segmenter's :class:`DropReading`, the drop's Removal, the controls' Removals); with a detector,
    :func:`instrument_pair` of the two Removals gives both instruments' numbers.
    """
    rem = ev.removal(lm, {layer: maps}, judge, c)
    rand = [ev.removal(lm, {layer: random_maps(n_maps, len(maps), seed + 2 + r)}, judge, c) for r in range(n_random)]
    mf = judge.min_fraction
    return DropReading.of(rem.summary(mf), [r.summary(mf) for r in rand]), rem, rand


def instrument_pair(rem: Removal, rand: list) -> dict:
    """Both instruments on a drop and its random controls: {"probe": ..., "random": ...}."""
    return {"probe": rem.instruments(), "random": _pooled_instruments(rand)}


def _pooled_instruments(removals: list) -> dict | None:
    """Both instruments over several random controls: fractions pooled (= mean of the means), agreement averaged."""
    if not removals:
        return None
    if len(removals) == 1:
        return removals[0].instruments()
    cat = lambda name: np.concatenate([getattr(r, name) for r in removals])  # noqa: E731
    agree = {k: float(np.mean([r.agreement_after[k] for r in removals])) for k in removals[0].agreement_after}
    return instrument_numbers(_fractions(cat("fraction_before"), cat("fraction_after")),
                              _fractions(cat("detector_before"), cat("detector_after")), agree)


def _curve_ks(n_pos: int, n_maps: int, points: int = 8) -> list[int]:
    ks = sorted({0, n_pos, *[int(round(x)) for x in np.geomspace(max(1, n_maps / 64), max(1, n_pos), points)]})
    return [k for k in ks if 0 <= k <= n_pos]


def _min_k(curve: dict, target: float) -> int | None:
    base = curve.get(0)
    if not base:
        return None
    for k in sorted(curve):
        if k and 1 - curve[k] / base >= target:
            return k
    return None


def curves(lm, layer, rankings: dict, n_maps: int, n_pos: int, ev: EvalSet, judge: Judge, *, extra_ks=(), seed=0,
           c=None) -> dict:
    """Object pixel share over k for each ranking (and a random one, seed + 2) -> {name: {k: fraction}}."""
    ks = sorted(set(_curve_ks(n_pos, n_maps)) | set(extra_ks))
    rankings = {**rankings, "random": random_maps(n_maps, n_maps, seed + 2)}
    before = Before(ev.before, ev.masks)
    return {name: removal_curve(lm, layer, r, ks, ev.z, judge.segmenter, judge.obj, before=before, c=c)
            for name, r in rankings.items()}


def layer_sweep(lm, probes: dict, samples: ProbeSamples, ev: EvalSet | None, judge: Judge | None, c=None) -> dict:
    """Per layer: its probe's positive maps dropped on the samples of ``ev`` (the curve samples)."""
    out = {}
    for l, p in probes.items():
        n_maps, pos = int(samples.features[l].shape[1]), p.positive_maps
        out[l] = {"n_maps": n_maps, "maps_dropped": int(len(pos)), "probe_auc": p.auc}
        if judge is None or len(pos) == 0:
            continue
        r = ev.removal(lm, {l: pos}, judge, c, detector=False).summary(judge.min_fraction)
        out[l].update({"reduction": r["reduction"], "share_samples_removed": r["share_removed_90"]})
    return out


def joint_drop(lm, probes: dict, samples: ProbeSamples, ev: EvalSet, judge: Judge | None, *, seed=0,
               c=None) -> JointDrop:
    """The positive maps of every layer in ``probes`` dropped together, against as many random maps per layer.

    With a detector the result's ``instruments`` = {"joint": ..., "joint_random": ...} (both instruments).
    """
    layers = list(probes)
    n_maps = {l: int(samples.features[l].shape[1]) for l in layers}
    drop = {l: probes[l].positive_maps for l in layers}
    out = JointDrop(layers, n_maps, {l: drop[l].tolist() for l in layers}, {l: probes[l].auc for l in layers})
    if judge is None:
        return out
    rnd = {l: random_maps(n_maps[l], len(drop[l]), seed + 2) for l in layers}
    rj, rr = (ev.removal(lm, d, judge, c).summary(judge.min_fraction) for d in (drop, rnd))
    ins = None if judge.detector is None else {"joint": rj["instruments"], "joint_random": rr["instruments"]}
    return replace(out, reading=DropReading.of(rj, [rr]), instruments=ins)


# ------------------------------------------------------------------------------------------------ forget

def _layers(lm, layer, sweep_layers, joint_layers) -> tuple[str, list, list]:
    layer = layer or lm.default_layer()
    sweep = list(sweep_layers) if sweep_layers else []
    joint = [joint_layers] if isinstance(joint_layers, str) else list(joint_layers or [])
    joint = [l for l in dict.fromkeys(joint) if l != layer]
    for l in (layer, *sweep, *joint):
        get_module(lm.module, l)
    return layer, sweep, joint


def _check_detector(detector, segmenter, obj) -> None:
    if not callable(getattr(detector, "region_fraction", None)):
        raise TypeError(f"detector: expected a window detector with region_fraction(images) (a "
                        f"latentlab.judges.windows.WindowDetector), got {type(detector).__name__}")
    if segmenter is None:
        raise ValueError("detector: the second instrument is read beside the segmenter; give a segmenter too "
                         "(without one nothing is measured)")
    if obj != "window":
        raise ValueError(f"detector: the window detector measures windows, but obj={obj!r}; drop the detector")


def _causal(lm, layer, judge: Judge, n_maps, steps, seed, c) -> tuple[np.ndarray, CausalResult]:
    from .causal import CausalSettings, causal_ranking
    rank, mask = causal_ranking(lm, layer, judge.segmenter, judge.obj, seed=seed + 3, c=c,
                                settings=CausalSettings(steps=steps))
    return rank, CausalResult(steps, rank.tolist(), mask.round(4).tolist(), sorted(rank[:n_maps // 4].tolist()))


@dataclass
class ForgetSettings:
    """What ``forget`` does besides the generator and its instruments (every field is also a keyword of
    ``forget``). Randomness: probe z from seed, eval z from seed + 1, random controls from seed + 2 (+ draw),
    causal z from seed + 3."""

    layer: str | None = None        # default: ``block2`` for ours, the second block's output for other generators
    obj: str = "window"             # the segmenter's class to remove
    n_probe: int = 150              # probe samples (the paper: 150)
    n_eval: int = 1000              # fresh samples every drop is measured on
    n_curve: int = 200              # the first n_curve of them: samples per point of the removal curves
    seed: int = 0
    C: float = 1.0                  # the probe's inverse L2 strength
    min_area: int = 4               # smallest segmenter component turned into a box
    min_fraction: float = 0.004     # object share that makes a sample object-bearing
    sweep_layers: list | None = None  # layers whose own probes are dropped in turn (the layer sweep)
    iou_selection: bool = True      # also rank by GAN Dissection's IoU
    n_random: int = 1               # random controls of the main drop
    causal_steps: int = 0           # > 0: a soft-ablation causal ranking (needs a differentiable segmenter)
    joint_layers: list | None = None  # drop the positive maps of these layers together with ``layer``'s
    prior: str | None = None        # for a module that is not ours (see LatentModel)
    nz: int | None = None
    device: object = None           # where the generator runs (the module is moved there)
    c: object = None                # an AC-GAN's class for every sample
    progress: bool = True

    def check(self) -> "ForgetSettings":
        int_at_least(self.n_probe, "n_probe", 2)
        int_at_least(self.n_eval, "n_eval", 1)
        int_at_least(self.n_curve, "n_curve", 1)
        return self


def _settings(settings, options: dict) -> ForgetSettings:
    names = set(ForgetSettings.__dataclass_fields__)
    bad = sorted(set(options) - names)
    if bad:
        raise TypeError(f"forget: unexpected keyword arguments {bad}; the settings are {sorted(names)}")
    base = settings if settings is not None else ForgetSettings()
    if not isinstance(base, ForgetSettings):
        raise TypeError(f"settings: expected a ForgetSettings, got {type(base).__name__}")
    return replace(base, **options).check()


@dataclass(frozen=True)
class Measured:
    """The segmenter's side of ``forget``: the parts of a :class:`ForgetResult` that need a segmenter."""

    drop: DropReading
    curves: Curves
    causal: CausalResult | None
    instruments: dict | None        # both instruments per drop (with a detector; the joint drop's join later)
    per_sample: tuple               # object share per sample: before, after the drop, after the first control


def _measured(lm, layer, pos, samples: ProbeSamples, ev: EvalSet, judge: Judge, s: ForgetSettings,
              steps) -> Measured:
    """The drop vs random controls, the curves, the causal quarter, and with a detector the second instrument's
    reading."""
    n_maps = int(samples.features[layer].shape[1])
    drop, rem, rand = measure(lm, layer, pos, n_maps, ev, judge, n_random=s.n_random, seed=s.seed, c=s.c)
    instruments = None if judge.detector is None else instrument_pair(rem, rand)
    steps.update(2)
    nc = min(s.n_curve, len(ev.z))
    rankings, extra_ks, iou, causal = {"probe": pos}, (), None, None
    if s.iou_selection:
        rankings["iou"], iou = rank_by_iou(samples.features[layer], samples.masks)
        iou = iou.tolist()
    if s.causal_steps:
        rankings["causal"], causal = _causal(lm, layer, judge, n_maps, s.causal_steps, s.seed, s.c)
        extra_ks = (n_maps // 4,)
        q = ev.removal(lm, {layer: causal.quarter_maps}, judge, s.c).summary(judge.min_fraction)
        causal = replace(causal, quarter_reduction=q["reduction"], quarter_share_samples_removed=q["share_removed_90"],
                         quarter_outside_change=q["outside_change"])
        if instruments is not None:
            instruments["causal_quarter"] = q["instruments"]
    cv = curves(lm, layer, rankings, n_maps, len(pos), ev.head(nc), judge, extra_ks=extra_ks, seed=s.seed, c=s.c)
    steps.update(1)
    best = {name: _min_k(v, 0.9) for name, v in cv.items()}
    if instruments is not None:
        instruments = {"detector": type(judge.detector).__name__, "thresholds": dict(DISAGREE),
                       "fraction_before": {"segmenter": float(rem.fraction_before.mean()),
                                           "detector": float(rem.detector_before.mean())},
                       "agreement_before": _agreement(ev.masks, ev.detector_before), **instruments}
    within = {n: (k is not None and k <= n_maps // 4) for n, k in best.items()}
    cvs = Curves({n: {str(k): v for k, v in cv[n].items()} for n in cv}, nc, best, within, iou)
    return Measured(drop, cvs, causal, instruments, (rem.fraction_before, rem.fraction_after,
                                                     rand[0].fraction_after if rand else None))


def _instruments(m: Measured | None, joint: JointDrop | None, detector) -> DetectorReading | None:
    """Both instruments' numbers per drop (the joint drop's too) and whether they disagree about any."""
    if m is None or m.instruments is None:
        return None
    numbers = {**m.instruments, **(joint.instruments if joint is not None and joint.instruments else {})}
    disagree = any(v["disagree"] for v in numbers.values() if isinstance(v, dict) and "disagree" in v)
    return DetectorReading(type(detector).__name__, numbers, disagree)


def forget(generator, segmenter=None, *, boxes=None, detector=None, settings: ForgetSettings | None = None,
           **options) -> ForgetResult:
    """Run the DCGAN §6.3.1 experiment on any generator module and return a :class:`ForgetResult`.

    Args:
        generator: a latentlab generator / GAN, a LatentModel, or any module (``prior=`` and, unless it can be
            read from the first layer, ``nz=`` needed; z is given as (N, nz, 1, 1) to a module whose first
            layer is a convolution, e.g. the pytorch/examples netG).
        segmenter: a judge with ``classes`` and ``predict(images) -> (N, H, W)`` labels; None: boxes are
            required and only the probe's results and the images are produced.
        boxes: per probe sample, a list of (x0, y0, x1, y1) pixel boxes (the samples are ``n_probe`` z drawn
            from ``seed`` with the model's prior, in order); default: the segmenter's connected components.
        detector: a second, independently built window instrument (``judges.windows.WindowDetector``) that
            reads the same images as the segmenter: ``instruments`` then holds both instruments' numbers per
            drop (probe, random control, causal quarter, joint and its control), their agreement, and whether
            they disagree (``removal.DISAGREE``). Needs the segmenter and ``obj="window"``.
        settings / options: a :class:`ForgetSettings`, and any of its fields as keywords (``layer=``,
            ``n_probe=``, ``seed=``, ``joint_layers=``, ``prior=``, ``device=``, ``c=`` ...), which win.
    Measured from the user's boxes alone (no segmenter, a train / held-out split, locality and a box-only
    instrument): :func:`latentlab.dissect.forget_boxes.forget_from_boxes`.
    """
    from ..progress import progress_bar as tqdm

    t0 = time.time()
    s = _settings(settings, options)
    lm = adapter(generator, prior=s.prior, nz=s.nz, device=s.device, need_prior=True)
    layer, sweep, joint = _layers(lm, s.layer, s.sweep_layers, s.joint_layers)
    judge = None if segmenter is None else Judge(segmenter, s.obj, s.min_fraction, detector)
    if segmenter is not None:
        class_index(segmenter, s.obj)
    if detector is not None:
        _check_detector(detector, segmenter, s.obj)
    steps = tqdm(total=6, desc="forget", disable=not s.progress)
    samples = sample_and_box(lm, [layer, *sweep, *joint], s.n_probe, s.seed, segmenter, s.obj, boxes=boxes,
                             min_area=s.min_area, c=s.c)
    _check_detector_shape(detector, samples.images)
    steps.update(1)
    probes = fit_probes(samples, [layer, *sweep, *joint], C=s.C, seed=s.seed)
    probe, n_maps = probes[layer], int(samples.features[layer].shape[1])
    pos = select_maps(probe)
    steps.update(1)
    z_eval = lm.sample_z(s.n_eval, seed=s.seed + 1)
    ev = EvalSet.read(z_eval, generate(lm, z_eval, c=s.c), judge)
    m = None if judge is None else _measured(lm, layer, pos, samples, ev, judge, s, steps)
    nc = 0 if m is None else m.curves.n_samples
    sweep_out = layer_sweep(lm, {l: probes[l] for l in sweep}, samples, ev.head(nc), judge, c=s.c)
    joint_out = None if not joint else joint_drop(lm, {l: probes[l] for l in [layer, *joint]}, samples, ev, judge,
                                                  seed=s.seed, c=s.c)
    steps.update(steps.total - steps.n)
    steps.close()
    setup = ForgetSetup(s.obj, layer, n_maps, s.n_eval, s.seed, s.min_fraction)
    selection = ProbeSelection(samples.box_source, s.n_probe, sum(len(b) for b in samples.boxes), probe.auc,
                               probe.accuracy, probe.weights.tolist(), pos.tolist())
    arrays = ForgetArrays(probe, z_eval, ev.before, random_maps(n_maps, len(pos), s.seed + 2),
                          *(() if m is None else m.per_sample))
    return ForgetResult(setup, selection, None if m is None else m.drop, None if m is None else m.curves,
                        None if m is None else m.causal, sweep_out, joint_out, _instruments(m, joint_out, detector),
                        round(time.time() - t0, 2), arrays)


def _check_detector_shape(detector, images) -> None:
    shape = tuple(getattr(detector, "input_shape", ()))
    if detector is not None and shape and tuple(images.shape[1:]) != shape:
        raise ValueError(f"detector: it reads images of shape {shape}, the generator makes "
                         f"{tuple(images.shape[1:])}")
