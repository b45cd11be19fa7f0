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
from .boxes import validate_boxes
from .probe import ProbeResult, fit_probe
from .removal import (DISAGREE, Removal, _agreement, _fractions, adapter, boxes_from_masks, class_index,
                      detector_regions, generate, instrument_numbers, measure_removal, object_boxes, object_masks,
                      random_maps, removal_curve)

__all__ = ["forget", "ForgetResult", "ProbeSamples", "sample_and_box", "fit_probes", "select_maps", "measure",
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


def measure(lm, layer, maps, n_maps: int, z, segmenter, obj, *, before, masks_before, n_random=1, seed=0,
            min_fraction=0.004, c=None, detector=None, detector_before=None) -> tuple[dict, Removal, list]:
    """Drop ``maps`` of ``layer`` (which has ``n_maps``) vs ``n_random`` random controls of as many maps
    (seeds seed + 2 + r), on the same z.

    Returns (summary dict with the ``*_random`` means, the drop's Removal, the controls' Removals). With a
    ``detector`` the summary also has ``instruments`` = {"probe": ..., "random": ...} (both instruments).
    """
    kw = dict(before=before, masks_before=masks_before, c=c, detector=detector, detector_before=detector_before)
    rem = measure_removal(lm, layer, maps, z, segmenter, obj, **kw)
    rand = [measure_removal(lm, layer, random_maps(n_maps, len(maps), seed + 2 + r), z, segmenter, obj, **kw)
            for r in range(n_random)]
    s, sr = rem.summary(min_fraction), [r.summary(min_fraction) for r in rand]
    out = {"fraction_before": s["fraction_before"], "fraction_after": s["fraction_after"],
           "fraction_after_random": float(np.mean([r["fraction_after"] for r in sr])),
           "reduction": s["reduction"], "reduction_random": float(np.mean([r["reduction"] for r in sr])),
           "n_bearing": s["n_bearing"], "share_samples_removed": s["share_removed_90"],
           "share_samples_removed_random": float(np.mean([r["share_removed_90"] for r in sr])),
           "outside_change": s["outside_change"],
           "outside_change_random": float(np.mean([r["outside_change"] for r in sr])),
           "replaced_by": s["replaced_by"]}
    if detector is not None:
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


def curves(lm, layer, rankings: dict, n_maps: int, n_pos: int, z, segmenter, obj, *, before, masks_before,
           extra_ks=(), seed=0, c=None) -> dict:
    """Object pixel share over k for each ranking (and a random one, seed + 2) -> {name: {k: fraction}}."""
    ks = sorted(set(_curve_ks(n_pos, n_maps)) | set(extra_ks))
    rankings = {**rankings, "random": random_maps(n_maps, n_maps, seed + 2)}
    return {name: removal_curve(lm, layer, r, ks, z, segmenter, obj, before=before, masks_before=masks_before, c=c)
            for name, r in rankings.items()}


def _drop_numbers(lm, drops, z, segmenter, obj, *, before, masks_before, min_fraction, c=None, detector=None,
                  detector_before=None) -> dict:
    return measure_removal(lm, None, None, z, segmenter, obj, before=before, masks_before=masks_before, drops=drops,
                           c=c, detector=detector, detector_before=detector_before).summary(min_fraction)


def layer_sweep(lm, probes: dict, samples: ProbeSamples, z, segmenter, obj, *, before, masks_before,
                min_fraction, c=None) -> dict:
    """Per layer: its probe's positive maps dropped on ``z`` (the curve samples)."""
    out = {}
    for l, p in probes.items():
        n_maps, pos = int(samples.features[l].shape[1]), p.positive_maps
        out[l] = {"n_maps": n_maps, "maps_dropped": int(len(pos)), "probe_auc": p.auc}
        if segmenter is None or len(pos) == 0:
            continue
        r = _drop_numbers(lm, {l: pos}, z, segmenter, obj, before=before, masks_before=masks_before,
                          min_fraction=min_fraction, c=c)
        out[l].update({"reduction": r["reduction"], "share_samples_removed": r["share_removed_90"]})
    return out


def joint_drop(lm, probes: dict, samples: ProbeSamples, z, segmenter, obj, *, before, masks_before, min_fraction,
               seed=0, c=None, detector=None, detector_before=None) -> dict:
    """The positive maps of every layer in ``probes`` dropped together, against as many random maps per layer.

    With a ``detector`` the result has ``instruments`` = {"joint": ..., "joint_random": ...} (both instruments).
    """
    layers = list(probes)
    n_maps = {l: int(samples.features[l].shape[1]) for l in layers}
    drop = {l: probes[l].positive_maps for l in layers}
    out = {"layers": layers, "n_maps": n_maps, "maps_dropped": {l: int(len(drop[l])) for l in layers},
           "dropped_maps": {l: drop[l].tolist() for l in layers}, "probe_auc": {l: probes[l].auc for l in layers}}
    if segmenter is None:
        return out
    rnd = {l: random_maps(n_maps[l], len(drop[l]), seed + 2) for l in layers}
    kw = dict(before=before, masks_before=masks_before, min_fraction=min_fraction, c=c, detector=detector,
              detector_before=detector_before)
    rj, rr = (_drop_numbers(lm, d, z, segmenter, obj, **kw) for d in (drop, rnd))
    out.update({"fraction_after": rj["fraction_after"], "reduction": rj["reduction"],
                "share_samples_removed": rj["share_removed_90"], "outside_change": rj["outside_change"],
                "fraction_after_random": rr["fraction_after"], "reduction_random": rr["reduction"],
                "share_samples_removed_random": rr["share_removed_90"], "outside_change_random": rr["outside_change"],
                "replaced_by": rj["replaced_by"]})
    if detector is not None:
        out["instruments"] = {"joint": rj["instruments"], "joint_random": rr["instruments"]}
    return out


# ------------------------------------------------------------------------------------------------ forget

def _check_counts(**counts) -> None:
    for name, (v, lo) in counts.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise ValueError(f"{name}: expected an int >= {lo}, got {v!r}")


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


def _causal(lm, layer, segmenter, obj, n_maps, steps, seed, c):
    from .causal import causal_ranking
    rank, mask = causal_ranking(lm, layer, segmenter, obj, steps=steps, seed=seed + 3, c=c)
    info = {"steps": steps, "ranking": rank.tolist(), "mask": mask.round(4).tolist(),
            "quarter_maps": sorted(rank[:n_maps // 4].tolist())}
    return rank, info


def _measured(lm, layer, pos, probe, samples, z_eval, before, segmenter, obj, *, n_maps, n_curve, n_random, seed,
              min_fraction, iou_selection, causal_steps, c, steps, detector=None) -> dict:
    """The segmenter's side of ``forget``: the drop vs random controls, the curves, the causal quarter (and,
    with a ``detector``, the second instrument's reading of the same images)."""
    masks_before = object_masks(segmenter, before, obj)
    det = {}
    if detector is not None:
        det = {"detector": detector, "detector_before": detector_regions(detector, before)}
    numbers, rem, rand = measure(lm, layer, pos, n_maps, z_eval, segmenter, obj, before=before, masks_before=masks_before,
                                 n_random=n_random, seed=seed, min_fraction=min_fraction, c=c, **det)
    instruments = numbers.pop("instruments", None)
    steps.update(2)
    nc = min(n_curve, len(z_eval))
    cur = dict(before=before[:nc], masks_before=masks_before[:nc])
    rankings, extra_ks, iou, causal = {"probe": pos}, (), None, None
    if iou_selection:
        rankings["iou"], iou = rank_by_iou(samples.features[layer], samples.masks)
        iou = iou.tolist()
    if causal_steps:
        rankings["causal"], causal = _causal(lm, layer, segmenter, obj, n_maps, causal_steps, seed, c)
        extra_ks = (n_maps // 4,)
        q = _drop_numbers(lm, {layer: causal["quarter_maps"]}, z_eval, segmenter, obj, before=before,
                          masks_before=masks_before, min_fraction=min_fraction, c=c, **det)
        causal.update({"quarter_reduction": q["reduction"], "quarter_share_samples_removed": q["share_removed_90"],
                       "quarter_outside_change": q["outside_change"]})
        if instruments is not None:
            instruments["causal_quarter"] = q["instruments"]
    order = ["probe", "iou", "causal"]
    rankings = {k: rankings[k] for k in order if k in rankings}
    cv = curves(lm, layer, rankings, n_maps, len(pos), z_eval[:nc], segmenter, obj, extra_ks=extra_ks, seed=seed,
                c=c, **cur)
    steps.update(1)
    best = {name: _min_k(v, 0.9) for name, v in cv.items()}
    quarter = n_maps // 4
    if instruments is not None:
        instruments = {"detector": type(detector).__name__, "thresholds": dict(DISAGREE),
                       "fraction_before": {"segmenter": float(rem.fraction_before.mean()),
                                           "detector": float(rem.detector_before.mean())},
                       "agreement_before": _agreement(masks_before, det["detector_before"]), **instruments}
    return {**numbers, "measured": True, "instruments": instruments, "_det": det,
            "curves": {n: {str(k): v for k, v in cv[n].items()} for n in cv},
            "n_curve_samples": nc, "min_k_90": best,
            "selection_within_quarter": {n: (k is not None and k <= quarter) for n, k in best.items()},
            "iou": iou, "causal": causal, "fraction_before_per_sample": rem.fraction_before,
            "fraction_after_per_sample": rem.fraction_after,
            "fraction_after_random_per_sample": rand[0].fraction_after if rand else None, "_cur": cur,
            "_masks": masks_before}


def forget(generator, segmenter=None, *, layer: str | None = None, obj: str = "window", n_probe: int = 150,
           n_eval: int = 1000, n_curve: int = 200, seed: int = 0, prior: str | None = None, nz: int | None = None,
           boxes=None, C: float = 1.0, min_area: int = 4, min_fraction: float = 0.004, sweep_layers=None,
           iou_selection: bool = True, n_random: int = 1, progress: bool = True, causal_steps: int = 0,
           joint_layers=None, device=None, c=None, detector=None) -> ForgetResult:
    """Run the DCGAN §6.3.1 experiment on any generator module and return a :class:`ForgetResult`.

    Args:
        generator: a latentlab generator / GAN, a LatentModel, or any module (``prior=`` and, unless it can be
            read from the first layer, ``nz=`` needed; z is given as (N, nz, 1, 1) to a module whose first
            layer is a convolution, e.g. the pytorch/examples netG).
        segmenter: a judge with ``classes`` and ``predict(images) -> (N, H, W)`` labels; None: boxes are
            required and only the probe's results and the images are produced.
        layer: default ``block2`` for ours, the second block's output for other generators (``main.5``).
        boxes: per probe sample, a list of (x0, y0, x1, y1) pixel boxes (the samples are ``n_probe`` z drawn
            from ``seed`` with the model's prior, in order); default: the segmenter's connected components.
        device: where the generator runs (the module is moved there); c: an AC-GAN's class for every sample.
        detector: a second, independently built window instrument (``judges.windows.WindowDetector``) that
            reads the same images as the segmenter: ``instruments`` then holds both instruments' numbers per
            drop (probe, random control, causal quarter, joint and its control), their agreement, and whether
            they disagree (``removal.DISAGREE``). Needs the segmenter and ``obj="window"``.
    Randomness: probe z from seed, eval z from seed + 1, random controls from seed + 2 (+ draw), causal z
    from seed + 3. ``causal_steps > 0`` adds a soft-ablation ranking (needs a differentiable segmenter);
    ``joint_layers`` drops the positive maps of ``layer`` and of those layers together.
    """
    from ..progress import progress_bar as tqdm

    t0 = time.time()
    _check_counts(n_probe=(n_probe, 2), n_eval=(n_eval, 1), n_curve=(n_curve, 1))
    lm = adapter(generator, prior=prior, nz=nz, device=device, need_prior=True)
    layer, sweep, joint = _layers(lm, layer, sweep_layers, joint_layers)
    if segmenter is not None:
        class_index(segmenter, obj)
    if detector is not None:
        _check_detector(detector, segmenter, obj)
    steps = tqdm(total=6, desc="forget", disable=not progress)
    samples = sample_and_box(lm, [layer, *sweep, *joint], n_probe, seed, segmenter, obj, boxes=boxes,
                             min_area=min_area, c=c)
    shape = tuple(getattr(detector, "input_shape", ()))
    if detector is not None and shape and tuple(samples.images.shape[1:]) != shape:
        raise ValueError(f"detector: it reads images of shape {shape}, the generator makes "
                         f"{tuple(samples.images.shape[1:])}")
    steps.update(1)
    probes = fit_probes(samples, [layer, *sweep, *joint], C=C, seed=seed)
    probe, n_maps = probes[layer], int(samples.features[layer].shape[1])
    pos = select_maps(probe)
    steps.update(1)
    z_eval = lm.sample_z(n_eval, seed=seed + 1)
    before = generate(lm, z_eval, c=c)
    m = {"measured": False}
    if segmenter is not None:
        m = _measured(lm, layer, pos, probe, samples, z_eval, before, segmenter, obj, n_maps=n_maps,
                      n_curve=n_curve, n_random=n_random, seed=seed, min_fraction=min_fraction,
                      iou_selection=iou_selection, causal_steps=causal_steps, c=c, steps=steps, detector=detector)
    cur, masks_before = m.pop("_cur", {"before": None, "masks_before": None}), m.pop("_masks", None)
    det = m.pop("_det", {})
    nc = m.get("n_curve_samples", 0)
    kw = dict(before=cur["before"], masks_before=cur["masks_before"], min_fraction=min_fraction, c=c)
    sweep_out = layer_sweep(lm, {l: probes[l] for l in sweep}, samples, z_eval[:nc], segmenter, obj, **kw)
    joint_out = None
    if joint:
        kw.update(before=before, masks_before=masks_before)
        joint_out = joint_drop(lm, {l: probes[l] for l in [layer, *joint]}, samples, z_eval, segmenter, obj,
                               seed=seed, **kw, **det)
        if m.get("instruments") is not None and "instruments" in joint_out:
            m["instruments"].update(joint_out.pop("instruments"))
    if m.get("instruments") is not None:
        m["instruments_disagree"] = any(v["disagree"] for k, v in m["instruments"].items()
                                        if isinstance(v, dict) and "disagree" in v)
    steps.update(steps.total - steps.n)
    steps.close()
    return ForgetResult(
        object=obj, layer=layer, n_maps=n_maps, dropped_maps=pos.tolist(), box_source=samples.box_source,
        n_probe_samples=n_probe, n_boxes=sum(len(b) for b in samples.boxes), probe_auc=probe.auc,
        probe_accuracy=probe.accuracy, probe_weights=probe.weights.tolist(), n_eval_samples=n_eval, seed=seed,
        min_fraction=min_fraction, quarter_of_maps=n_maps // 4, layer_sweep=sweep_out, joint=joint_out,
        probe=probe, z_eval=z_eval, before=before, random_maps=random_maps(n_maps, len(pos), seed + 2),
        detector=None if detector is None else type(detector).__name__,
        seconds=round(time.time() - t0, 2), **m)
