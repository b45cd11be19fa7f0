"""Forgetting to draw objects (DCGAN §6.3.1), measured, as small steps.

``forget`` runs: :func:`sample_and_box` (``n_probe`` samples; object boxes from the segmenter judge or drawn
by hand) -> :func:`fit_probes` (the box probe on one layer, and on the sweep / joint layers) ->
:func:`select_maps` (every positive-weight map) -> :func:`measure` (``n_eval`` fresh samples, same z with and
without the drop: the segmenter's object pixels, the share of object-bearing samples that lose >= 90% of them,
the change outside the original object regions, and the same for a random control) -> :func:`curves`
(beyond the paper: removal over k for the probe's ranking, a GAN-Dissection IoU ranking and an optional
causal ranking), plus a layer sweep and a joint drop over several layers. It returns a :class:`ForgetResult`.

Without a segmenter (boxes drawn by hand, e.g. with ``latentlab annotate``) only the probe's results and the
before/after images are produced; with one, removal is measured too.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from ..hooks import get_module
from ..validate import int_at_least
from .boxes import validate_boxes
from .probe import ProbeResult, fit_probe
from .removal import (DISAGREE, Before, Removal, _agreement, _fractions, adapter, boxes_from_masks, class_index,
                      detector_regions, generate, instrument_numbers, measure_removal, object_boxes, object_masks,
                      random_maps, removal_curve)  # noqa: F401 (re-exported)

__all__ = ["forget", "ForgetResult", "ForgetSettings", "Judge", "EvalSet", "ProbeSamples", "sample_and_box", "fit_probes", "select_maps", "measure",
           "curves", "layer_sweep", "joint_drop", "rank_by_iou", "default_layer", "paper_layer_note", "SCHEMA",
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

_ARRAYS = ("probe", "z_eval", "before", "fraction_before_per_sample", "fraction_after_per_sample",
           "fraction_after_random_per_sample", "random_maps")


@dataclass
class ForgetResult:
    """Everything ``forget`` found. ``to_dict()`` / ``to_json()`` give the JSON numbers (metrics.json);
    the arrays (``probe``, ``z_eval``, ``before`` ...) stay attributes and are not serialised.

    Removal numbers (``fraction_*``, ``reduction*``, ``share_samples_removed*``, ``outside_change*``,
    ``curves``) are None when no segmenter measured them (``measured`` False). With a second window instrument
    (``detector``), ``instruments`` holds both instruments' numbers per drop and their agreement, and
    ``instruments_disagree`` says whether they disagree about any drop (rule: ``removal.DISAGREE``).
    """

    object: str
    layer: str
    n_maps: int
    dropped_maps: list
    box_source: str                 # "segmenter" or "user"
    n_probe_samples: int
    n_boxes: int
    probe_auc: float
    probe_accuracy: float
    probe_weights: list
    n_eval_samples: int
    seed: int
    min_fraction: float
    measured: bool = False
    fraction_before: float | None = None          # mean object pixel share before the drop
    fraction_after: float | None = None           # ... after dropping the probe's positive maps
    fraction_after_random: float | None = None    # ... after dropping as many random maps
    reduction: float | None = None                # 1 - after / before (negative: the drop added pixels)
    reduction_random: float | None = None
    n_bearing: int | None = None                  # samples with >= min_fraction object pixels
    share_samples_removed: float | None = None    # share of those losing >= 90% of their object pixels
    share_samples_removed_random: float | None = None
    outside_change: float | None = None           # mean |after - before| away from the object (0..1)
    outside_change_random: float | None = None
    replaced_by: dict | None = None               # class -> share of the former object pixels
    curves: dict | None = None                    # {ranking: {"k": object pixel share}}
    n_curve_samples: int = 0
    min_k_90: dict | None = None
    quarter_of_maps: int = 0
    selection_within_quarter: dict | None = None
    layer_sweep: dict = field(default_factory=dict)
    iou: list | None = None
    causal: dict | None = None
    joint: dict | None = None
    detector: str | None = None                   # the second instrument (class name), None without one
    instruments: dict | None = None               # {"before": agreement, "probe"/"random"/...: both instruments}
    instruments_disagree: bool | None = None      # True when they disagree about any drop
    seconds: float = 0.0
    layer_note: str = paper_layer_note
    schema: int = SCHEMA
    probe: ProbeResult | None = field(default=None, repr=False, compare=False)
    z_eval: torch.Tensor | None = field(default=None, repr=False, compare=False)
    before: torch.Tensor | None = field(default=None, repr=False, compare=False)     # (n_eval, C, H, W) images
    fraction_before_per_sample: np.ndarray | None = field(default=None, repr=False, compare=False)
    fraction_after_per_sample: np.ndarray | None = field(default=None, repr=False, compare=False)
    fraction_after_random_per_sample: np.ndarray | None = field(default=None, repr=False, compare=False)
    random_maps: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def maps_dropped(self) -> int:
        return len(self.dropped_maps)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _ARRAYS}
        out["maps_dropped"] = self.maps_dropped
        out["curve"] = None if self.curves is None else self.curves["probe"]
        return out

    def to_json(self, path=None, *, indent: int = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            from pathlib import Path
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, d: dict) -> "ForgetResult":
        if d.get("schema") != SCHEMA:
            raise ValueError(f"schema: expected a forget result of schema {SCHEMA}, got {d.get('schema')!r}")
        names = {f.name for f in fields(cls)} - set(_ARRAYS)
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> "ForgetResult":
        return cls.from_dict(json.loads(text))


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
            c=None) -> tuple[dict, Removal, list]:
    """Drop ``maps`` of ``layer`` (which has ``n_maps``) vs ``n_random`` random controls of as many maps
    (seeds seed + 2 + r), on the samples of ``ev``.

    Returns (summary dict with the ``*_random`` means, the drop's Removal, the controls' Removals). With a
    detector the summary also has ``instruments`` = {"probe": ..., "random": ...} (both instruments).
    """
    rem = ev.removal(lm, {layer: maps}, judge, c)
    rand = [ev.removal(lm, {layer: random_maps(n_maps, len(maps), seed + 2 + r)}, judge, c) for r in range(n_random)]
    mf = judge.min_fraction
    s, sr = rem.summary(mf), [r.summary(mf) for r in rand]
    out = {"fraction_before": s["fraction_before"], "fraction_after": s["fraction_after"],
           "fraction_after_random": float(np.mean([r["fraction_after"] for r in sr])),
           "reduction": s["reduction"], "reduction_random": float(np.mean([r["reduction"] for r in sr])),
           "n_bearing": s["n_bearing"], "share_samples_removed": s["share_removed_90"],
           "share_samples_removed_random": float(np.mean([r["share_removed_90"] for r in sr])),
           "outside_change": s["outside_change"],
           "outside_change_random": float(np.mean([r["outside_change"] for r in sr])),
           "replaced_by": s["replaced_by"]}
    if judge.detector is not None:
        out["instruments"] = {"probe": s["instruments"], "random": _pooled_instruments(rand)}
    return out, rem, rand


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
               c=None) -> dict:
    """The positive maps of every layer in ``probes`` dropped together, against as many random maps per layer.

    With a detector the result has ``instruments`` = {"joint": ..., "joint_random": ...} (both instruments).
    """
    layers = list(probes)
    n_maps = {l: int(samples.features[l].shape[1]) for l in layers}
    drop = {l: probes[l].positive_maps for l in layers}
    out = {"layers": layers, "n_maps": n_maps, "maps_dropped": {l: int(len(drop[l])) for l in layers},
           "dropped_maps": {l: drop[l].tolist() for l in layers}, "probe_auc": {l: probes[l].auc for l in layers}}
    if judge is None:
        return out
    rnd = {l: random_maps(n_maps[l], len(drop[l]), seed + 2) for l in layers}
    rj, rr = (ev.removal(lm, d, judge, c).summary(judge.min_fraction) for d in (drop, rnd))
    out.update({"fraction_after": rj["fraction_after"], "reduction": rj["reduction"],
                "share_samples_removed": rj["share_removed_90"], "outside_change": rj["outside_change"],
                "fraction_after_random": rr["fraction_after"], "reduction_random": rr["reduction"],
                "share_samples_removed_random": rr["share_removed_90"], "outside_change_random": rr["outside_change"],
                "replaced_by": rj["replaced_by"]})
    if judge.detector is not None:
        out["instruments"] = {"joint": rj["instruments"], "joint_random": rr["instruments"]}
    return out


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


def _causal(lm, layer, judge: Judge, n_maps, steps, seed, c):
    from .causal import CausalSettings, causal_ranking
    rank, mask = causal_ranking(lm, layer, judge.segmenter, judge.obj, seed=seed + 3, c=c,
                                settings=CausalSettings(steps=steps))
    info = {"steps": steps, "ranking": rank.tolist(), "mask": mask.round(4).tolist(),
            "quarter_maps": sorted(rank[:n_maps // 4].tolist())}
    return rank, info


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
    from dataclasses import replace
    return replace(base, **options).check()


def _measured(lm, layer, pos, samples: ProbeSamples, ev: EvalSet, judge: Judge, s: ForgetSettings,
              steps) -> dict:
    """The segmenter's side of ``forget`` (the drop vs random controls, the curves, the causal quarter, and with
    a detector the second instrument's reading) -> ForgetResult fields."""
    n_maps = int(samples.features[layer].shape[1])
    numbers, rem, rand = measure(lm, layer, pos, n_maps, ev, judge, n_random=s.n_random, seed=s.seed, c=s.c)
    instruments = numbers.pop("instruments", None)
    steps.update(2)
    nc = min(s.n_curve, len(ev.z))
    rankings, extra_ks, iou, causal = {"probe": pos}, (), None, None
    if s.iou_selection:
        rankings["iou"], iou = rank_by_iou(samples.features[layer], samples.masks)
        iou = iou.tolist()
    if s.causal_steps:
        rankings["causal"], causal = _causal(lm, layer, judge, n_maps, s.causal_steps, s.seed, s.c)
        extra_ks = (n_maps // 4,)
        q = ev.removal(lm, {layer: causal["quarter_maps"]}, judge, s.c).summary(judge.min_fraction)
        causal.update({"quarter_reduction": q["reduction"], "quarter_share_samples_removed": q["share_removed_90"],
                       "quarter_outside_change": q["outside_change"]})
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
    return {**numbers, "measured": True, "instruments": instruments,
            "curves": {n: {str(k): v for k, v in cv[n].items()} for n in cv}, "n_curve_samples": nc,
            "min_k_90": best, "selection_within_quarter": {n: (k is not None and k <= n_maps // 4)
                                                           for n, k in best.items()},
            "iou": iou, "causal": causal, "fraction_before_per_sample": rem.fraction_before,
            "fraction_after_per_sample": rem.fraction_after,
            "fraction_after_random_per_sample": rand[0].fraction_after if rand else None}


def _joint(lm, probes, layer, joint, samples, ev, judge, s: ForgetSettings, m: dict):
    """The joint drop's numbers; its instruments' reading joins ``m["instruments"]``."""
    if not joint:
        return None
    out = joint_drop(lm, {l: probes[l] for l in [layer, *joint]}, samples, ev, judge, seed=s.seed, c=s.c)
    if m.get("instruments") is not None and "instruments" in out:
        m["instruments"].update(out.pop("instruments"))
    return out


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
    m = {"measured": False} if judge is None else _measured(lm, layer, pos, samples, ev, judge, s, steps)
    nc = m.get("n_curve_samples", 0)
    sweep_out = layer_sweep(lm, {l: probes[l] for l in sweep}, samples, ev.head(nc), judge, c=s.c)
    joint_out = _joint(lm, probes, layer, joint, samples, ev, judge, s, m)
    if m.get("instruments") is not None:
        m["instruments_disagree"] = any(v["disagree"] for k, v in m["instruments"].items()
                                        if isinstance(v, dict) and "disagree" in v)
    steps.update(steps.total - steps.n)
    steps.close()
    return ForgetResult(
        object=s.obj, layer=layer, n_maps=n_maps, dropped_maps=pos.tolist(), box_source=samples.box_source,
        n_probe_samples=s.n_probe, n_boxes=sum(len(b) for b in samples.boxes), probe_auc=probe.auc,
        probe_accuracy=probe.accuracy, probe_weights=probe.weights.tolist(), n_eval_samples=s.n_eval, seed=s.seed,
        min_fraction=s.min_fraction, quarter_of_maps=n_maps // 4, layer_sweep=sweep_out, joint=joint_out,
        probe=probe, z_eval=z_eval, before=ev.before, random_maps=random_maps(n_maps, len(pos), s.seed + 2),
        detector=None if detector is None else type(detector).__name__,
        seconds=round(time.time() - t0, 2), **m)


def _check_detector_shape(detector, images) -> None:
    shape = tuple(getattr(detector, "input_shape", ()))
    if detector is not None and shape and tuple(images.shape[1:]) != shape:
        raise ValueError(f"detector: it reads images of shape {shape}, the generator makes "
                         f"{tuple(images.shape[1:])}")
