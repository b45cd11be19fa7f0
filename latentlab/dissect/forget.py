"""Forgetting to draw objects (DCGAN §6.3.1), measured.

Pipeline (``forget``): generate ``n_probe`` samples -> object boxes from the segmenter judge (or the
user's JSON) -> fit the box probe on one layer -> drop every positive-weight map -> on ``n_eval``
fresh samples (same z with and without the drop) measure the segmenter's object pixels, the share
of object-bearing samples that lose >= 90% of them, the change outside the original object regions,
and the same for a control that drops as many randomly chosen maps. Beyond the paper: a removal
curve over k (top-k maps by probe weight), a layer sweep, and a selection ranked by IoU of
thresholded activations with the object masks (GAN-Dissection style) on the same curve.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import TraceDict, get_module
from ..models.base import sample_prior
from .ablate import ablate_layers, check_drops
from .probe import fit_probe

__all__ = ["generate", "object_masks", "object_boxes", "measure_removal", "rank_by_iou", "removal_curve",
           "random_maps", "forget", "default_layer", "paper_layer_note"]

paper_layer_note = (
    "The paper fits its probe on the generator's 'second highest convolution layer'. In a generator the "
    "highest (most abstract) layer is the one closest to z; the second is the 8x8 layer (512 maps in the "
    "paper's LSUN model, of which ~200 had positive weight). In latentlab's DCGAN that is `block2` "
    "(ngf*4 maps at 8x8)."
)


def default_layer(generator: nn.Module) -> str:
    """The paper's layer for latentlab DCGANs (``block2``); other generators must name a layer."""
    names = dict(generator.named_modules())
    if "block2" in names:
        return "block2"
    raise ValueError("layer: this generator has no `block2`; pass the layer name explicitly "
                     f"(top-level layers: {[n for n in names if n and '.' not in n]})")


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, *, layer: str | None = None, maps=None, value: float = 0.0,
             drops: dict | None = None, batch_size: int = 200, **gen_kwargs) -> torch.Tensor:
    """Images for z (eval mode), optionally with ``maps`` of ``layer`` set to ``value`` -> (N, C, S, S).

    ``drops`` ({layer: maps}) sets maps of several layers at once (together with ``layer``/``maps``).
    """
    drops = _drops(layer, maps, drops)
    was = generator.training
    generator.eval()
    out = []
    try:
        for i in range(0, z.shape[0], batch_size):
            zb = z[i:i + batch_size]
            kw = {k: (v[i:i + batch_size] if isinstance(v, torch.Tensor) else v) for k, v in gen_kwargs.items()}
            with ablate_layers(generator, drops, value):
                x = generator(zb, **kw)
            if not isinstance(x, torch.Tensor) or x.dim() != 4:
                raise TypeError(f"generator: expected images (N, C, H, W), got {type(x).__name__}")
            out.append(x.float())
    finally:
        generator.train(was)
    return torch.cat(out)


def _drops(layer, maps, drops) -> dict:
    """{layer: maps} from a single (layer, maps) and/or a ``drops`` mapping; layers with no maps are left out."""
    out = {} if drops is None else check_drops(drops)
    if layer is not None and maps is not None:
        if layer in out:
            raise ValueError(f"drops: layer {layer!r} is given both as layer= and in drops")
        out[layer] = maps
    return {name: m for name, m in out.items() if len(m)}


def _class_index(segmenter, obj: str) -> int:
    classes = list(getattr(segmenter, "classes", ()))
    if obj not in classes:
        raise ValueError(f"object: {obj!r} is not a class of the segmenter; classes are {classes}")
    return classes.index(obj)


@torch.no_grad()
def object_masks(segmenter, images: torch.Tensor, obj: str = "window", batch_size: int = 250) -> torch.Tensor:
    """Segmenter's per-pixel mask of ``obj`` -> bool (N, H, W)."""
    k = _class_index(segmenter, obj)
    out = []
    for i in range(0, images.shape[0], batch_size):
        out.append(segmenter.predict(images[i:i + batch_size]) == k)
    return torch.cat(out)


def object_boxes(segmenter, images: torch.Tensor, obj: str = "window", min_area: int = 4):
    """Bounding boxes of the connected components of the segmenter's ``obj`` mask, per image."""
    from ..judges.rooms import mask_to_boxes
    masks = object_masks(segmenter, images, obj)
    return [mask_to_boxes(m.numpy(), min_area=min_area) for m in masks]


def random_maps(n_maps: int, k: int, seed: int) -> np.ndarray:
    if k > n_maps:
        raise ValueError(f"k: cannot choose {k} random maps from a layer with {n_maps}")
    return np.sort(np.random.default_rng(seed).choice(n_maps, size=k, replace=False))


@dataclass
class Removal:
    fraction_before: np.ndarray   # (N,) object pixel share per sample before the drop
    fraction_after: np.ndarray    # (N,) after
    outside_change: float         # mean |after - before| (0..1 pixel scale) outside the original object pixels
    replaced_by: dict             # class -> share of former object pixels it became

    def summary(self, min_fraction: float) -> dict:
        b, a = self.fraction_before, self.fraction_after
        bearing = b >= min_fraction
        lost = (a[bearing] <= 0.1 * b[bearing]) if bearing.any() else np.array([])
        return {
            "fraction_before": float(b.mean()), "fraction_after": float(a.mean()),
            "reduction": float(1 - a.mean() / b.mean()) if b.mean() > 0 else float("nan"),
            "n_bearing": int(bearing.sum()),
            "share_removed_90": float(lost.mean()) if len(lost) else float("nan"),
            "outside_change": self.outside_change, "replaced_by": self.replaced_by,
        }


@torch.no_grad()
def measure_removal(generator, layer, maps, z, segmenter, obj="window", *, before=None, masks_before=None,
                    drops=None, batch_size=200, **gen_kwargs) -> Removal:
    """Compare generations with and without dropping ``maps`` of ``layer`` on the same z.

    ``drops`` ({layer: maps}, with ``layer=maps=None``) drops maps of several layers at once.
    """
    if before is None:
        before = generate(generator, z, batch_size=batch_size, **gen_kwargs)
    if masks_before is None:
        masks_before = object_masks(segmenter, before, obj)
    after = generate(generator, z, layer=layer, maps=maps, drops=drops, batch_size=batch_size, **gen_kwargs)
    labels_after = torch.cat([segmenter.predict(after[i:i + 250]) for i in range(0, len(after), 250)])
    k = _class_index(segmenter, obj)
    masks_after = labels_after == k
    hw = masks_before.shape[1] * masks_before.shape[2]
    fb = masks_before.flatten(1).sum(1).double().numpy() / hw
    fa = masks_after.flatten(1).sum(1).double().numpy() / hw
    # Outside = away from the original object pixels (dilated by one pixel: edges move a little).
    grown = F.max_pool2d(masks_before.float()[:, None], 3, 1, 1)[:, 0] > 0
    outside = ~grown
    diff = (after - before).abs().mean(1) / 2  # (N, H, W), pixel scale 0..1
    outside_change = float((diff * outside).sum() / outside.sum().clamp(min=1))
    former = labels_after[masks_before]
    classes = list(segmenter.classes)
    replaced = {}
    if former.numel():
        counts = torch.bincount(former, minlength=len(classes)).double() / former.numel()
        replaced = {classes[i]: round(float(c), 4) for i, c in enumerate(counts) if c > 0}
    return Removal(fb, fa, outside_change, replaced)


def rank_by_iou(features: torch.Tensor, masks: torch.Tensor, quantile: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Rank maps by IoU of their thresholded, upsampled activation with object masks (GAN Dissection).

    Args:
        features: (N, C, h, w) activations; masks: bool (N, H, W) object masks of the same samples.
        quantile: each map is thresholded at its top ``quantile`` of upsampled activations over all samples.
    Returns: (ranking (C,) best first, iou (C,)).
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile: expected a value in (0, 1), got {quantile!r}")
    n, c, h, w = features.shape
    H, W = masks.shape[1:]
    ious = np.zeros(c)
    m = masks.bool()
    for j in range(c):
        up = F.interpolate(features[:, j:j + 1].float(), size=(H, W), mode="bilinear", align_corners=False)[:, 0]
        flat = up.flatten()
        kth = max(1, int(round(flat.numel() * (1 - quantile))))
        thr = flat.kthvalue(kth).values
        on = up > thr
        inter = (on & m).sum().item()
        union = (on | m).sum().item()
        ious[j] = inter / union if union else 0.0
    return np.argsort(-ious, kind="stable"), ious


def removal_curve(generator, layer, ranking, ks, z, segmenter, obj="window", *, before=None, masks_before=None,
                  **gen_kwargs) -> dict:
    """Object pixel share after dropping the top-k maps of ``ranking`` for each k -> {k: fraction}."""
    if before is None:
        before = generate(generator, z, **gen_kwargs)
    if masks_before is None:
        masks_before = object_masks(segmenter, before, obj)
    out = {}
    for k in ks:
        if k == 0:
            out[0] = float(masks_before.float().mean())
            continue
        r = measure_removal(generator, layer, ranking[:k], z, segmenter, obj, before=before,
                            masks_before=masks_before, **gen_kwargs)
        out[int(k)] = float(r.fraction_after.mean())
    return out


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


def forget(generator: nn.Module, segmenter, *, layer: str | None = None, obj: str = "window",
           n_probe: int = 150, n_eval: int = 1000, n_curve: int = 200, seed: int = 0, prior: str | None = None,
           nz: int | None = None, boxes=None, C: float = 1.0, min_area: int = 4, min_fraction: float = 0.004,
           sweep_layers=None, iou_selection: bool = True, n_random: int = 1, progress: bool = True,
           causal_steps: int = 0, joint_layers=None, **gen_kwargs) -> dict:
    """Run the whole DCGAN §6.3.1 experiment and return every number (JSON-serialisable) plus arrays.

    Randomness: probe z from seed, eval z from seed + 1, random controls from seed + 2 (+ draw).
    ``causal_steps > 0`` adds a third ranking, a soft ablation mask optimised for causal effect
    (:func:`latentlab.dissect.causal.causal_ranking`, z from seed + 3), to the curves, and measures its
    top quarter of the maps on all eval samples (``causal_quarter``). It needs a differentiable segmenter.
    ``joint_layers`` (beyond the paper) names more layers: each gets its own probe on the same samples and
    boxes, and the positive maps of ``layer`` and of every joint layer are dropped *together*, against a
    random control with as many random maps per layer (``metrics["joint"]``).
    """
    from tqdm.auto import tqdm

    t0 = time.time()
    for name, v, lo in (("n_probe", n_probe, 2), ("n_eval", n_eval, 1), ("n_curve", n_curve, 1)):
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise ValueError(f"{name}: expected an int >= {lo}, got {v!r}")
    cfg = getattr(generator, "config", None)
    prior = prior or getattr(cfg, "prior", None)
    nz = nz or getattr(cfg, "nz", None)
    if prior is None or nz is None:
        raise ValueError("prior/nz: give prior= and nz= for a generator that is not a latentlab model")
    layer = layer or default_layer(generator)
    get_module(generator, layer)
    steps = tqdm(total=6, desc="forget", disable=not progress)

    # 1) probe samples and boxes
    z_probe = sample_prior(n_probe, nz, prior, generator=torch.Generator().manual_seed(seed))
    sweep = list(sweep_layers) if sweep_layers else []
    if isinstance(joint_layers, str):
        joint_layers = [joint_layers]
    joint = [l for l in dict.fromkeys(joint_layers or []) if l != layer]
    layers = list(dict.fromkeys([layer, *sweep, *joint]))
    for l in layers:
        get_module(generator, l)
    feats_all, imgs = {}, []
    was = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            for i in range(0, n_probe, 200):
                with TraceDict(generator, layers) as td:
                    zb = z_probe[i:i + 200]
                    kw = {k: (v[i:i + 200] if isinstance(v, torch.Tensor) else v) for k, v in gen_kwargs.items()}
                    imgs.append(generator(zb, **kw).float())
                for l in layers:
                    feats_all.setdefault(l, []).append(td[l].output.float())
    finally:
        generator.train(was)
    probe_images = torch.cat(imgs)
    feats_all = {l: torch.cat(v) for l, v in feats_all.items()}
    image_size = probe_images.shape[-1]
    probe_masks = object_masks(segmenter, probe_images, obj)
    if boxes is None:
        from ..judges.rooms import mask_to_boxes
        boxes = [mask_to_boxes(m.numpy(), min_area=min_area) for m in probe_masks]
        box_source = "segmenter"
    else:
        from .boxes import validate_boxes
        boxes = validate_boxes(boxes, n_probe, image_size)
        box_source = "user"
    n_boxes = sum(len(b) for b in boxes)
    if n_boxes == 0:
        raise ValueError(f"boxes: no {obj} was found in the {n_probe} samples searched; raise n_probe or check "
                         "the model / segmenter")
    steps.update(1)

    # 2) probe (one per layer, fitted once: the sweep and the joint drop reuse them)
    probes = {}

    def probe_of(l):
        if l not in probes:
            probes[l] = fit_probe(feats_all[l], boxes, image_size, layer=l, C=C, seed=seed)
        return probes[l]

    probe = probe_of(layer)
    n_maps = int(feats_all[layer].shape[1])
    pos = probe.positive_maps
    if len(pos) == 0:
        raise ValueError(f"probe: no feature map of {layer!r} has a positive weight; nothing to drop")
    steps.update(1)

    # 3) evaluation: drop positive maps vs random control, same z
    z_eval = sample_prior(n_eval, nz, prior, generator=torch.Generator().manual_seed(seed + 1))
    before = generate(generator, z_eval, **gen_kwargs)
    masks_before = object_masks(segmenter, before, obj)
    rem = measure_removal(generator, layer, pos, z_eval, segmenter, obj, before=before, masks_before=masks_before,
                          **gen_kwargs)
    steps.update(1)
    rand = [measure_removal(generator, layer, random_maps(n_maps, len(pos), seed + 2 + r), z_eval, segmenter, obj,
                            before=before, masks_before=masks_before, **gen_kwargs) for r in range(n_random)]
    steps.update(1)
    s, sr = rem.summary(min_fraction), [r.summary(min_fraction) for r in rand]

    # 4) curves over k on the first n_curve eval samples: probe ranking vs IoU ranking vs random
    nc = min(n_curve, n_eval)
    zc, bc, mc = z_eval[:nc], before[:nc], masks_before[:nc]
    ckw = {k: (v[:nc] if isinstance(v, torch.Tensor) else v) for k, v in gen_kwargs.items()}
    ks = _curve_ks(len(pos), n_maps)
    causal_rank = causal = None
    if causal_steps:
        from .causal import causal_ranking
        causal_rank, causal_mask = causal_ranking(generator, layer, segmenter, obj, nz=nz, prior=prior,
                                                  steps=causal_steps, seed=seed + 3, **gen_kwargs)
        ks = sorted(set(ks) | {n_maps // 4})
    curve = removal_curve(generator, layer, pos, ks, zc, segmenter, obj, before=bc, masks_before=mc, **ckw)
    curves = {"probe": curve}
    iou = None
    if iou_selection:
        iou_rank, iou = rank_by_iou(feats_all[layer], probe_masks)
        curves["iou"] = removal_curve(generator, layer, iou_rank, ks, zc, segmenter, obj, before=bc,
                                      masks_before=mc, **ckw)
    if causal_rank is not None:
        curves["causal"] = removal_curve(generator, layer, causal_rank, ks, zc, segmenter, obj, before=bc,
                                         masks_before=mc, **ckw)
        q = causal_rank[:n_maps // 4]
        cq = measure_removal(generator, layer, q, z_eval, segmenter, obj, before=before, masks_before=masks_before,
                             **gen_kwargs).summary(min_fraction)
        causal = {"steps": causal_steps, "ranking": causal_rank.tolist(), "mask": causal_mask.round(4).tolist(),
                  "quarter_maps": sorted(q.tolist()), "quarter_reduction": cq["reduction"],
                  "quarter_share_samples_removed": cq["share_removed_90"],
                  "quarter_outside_change": cq["outside_change"]}
    curves["random"] = removal_curve(generator, layer, random_maps(n_maps, n_maps, seed + 2), ks, zc, segmenter,
                                     obj, before=bc, masks_before=mc, **ckw)
    steps.update(1)

    # 5) layer sweep: probe each layer on the same samples, drop its positive maps
    sweep_out = {}
    for l in sweep:
        p_l = probe_of(l)
        if len(p_l.positive_maps) == 0:
            sweep_out[l] = {"n_maps": int(feats_all[l].shape[1]), "maps_dropped": 0}
            continue
        r_l = measure_removal(generator, l, p_l.positive_maps, zc, segmenter, obj, before=bc, masks_before=mc,
                              **ckw).summary(min_fraction)
        sweep_out[l] = {"n_maps": int(feats_all[l].shape[1]), "maps_dropped": int(len(p_l.positive_maps)),
                        "probe_auc": p_l.auc, "reduction": r_l["reduction"],
                        "share_samples_removed": r_l["share_removed_90"]}
    joint_out = None
    if joint:
        jl = [layer, *joint]
        drop = {l: probe_of(l).positive_maps for l in jl}
        rnd = {l: random_maps(int(feats_all[l].shape[1]), len(drop[l]), seed + 2) for l in jl}
        rj, rr = (measure_removal(generator, None, None, z_eval, segmenter, obj, before=before,
                                  masks_before=masks_before, drops=d, **gen_kwargs).summary(min_fraction)
                  for d in (drop, rnd))
        joint_out = {"layers": jl, "n_maps": {l: int(feats_all[l].shape[1]) for l in jl},
                     "maps_dropped": {l: int(len(drop[l])) for l in jl},
                     "dropped_maps": {l: drop[l].tolist() for l in jl},
                     "probe_auc": {l: probes[l].auc for l in jl},
                     "window_fraction_after": rj["fraction_after"], "reduction": rj["reduction"],
                     "share_samples_windows_removed": rj["share_removed_90"], "outside_change": rj["outside_change"],
                     "window_fraction_after_random": rr["fraction_after"], "reduction_random": rr["reduction"],
                     "share_samples_windows_removed_random": rr["share_removed_90"],
                     "outside_change_random": rr["outside_change"], "replaced_by": rj["replaced_by"]}
    steps.update(1)
    steps.close()

    quarter = n_maps // 4
    best = {name: _min_k(c, 0.9) for name, c in curves.items()}
    metrics = {
        "object": obj, "layer": layer, "layer_note": paper_layer_note, "n_maps": n_maps,
        "maps_dropped": int(len(pos)), "dropped_maps": pos.tolist(), "box_source": box_source,
        "n_probe_samples": n_probe, "n_boxes": n_boxes, "probe_auc": probe.auc, "probe_accuracy": probe.accuracy,
        "n_eval_samples": n_eval,
        "window_fraction_before": s["fraction_before"], "window_fraction_after": s["fraction_after"],
        "window_fraction_after_random": float(np.mean([r["fraction_after"] for r in sr])),
        "reduction": s["reduction"], "reduction_random": float(np.mean([r["reduction"] for r in sr])),
        "n_window_bearing": s["n_bearing"], "share_samples_windows_removed": s["share_removed_90"],
        "share_samples_windows_removed_random": float(np.mean([r["share_removed_90"] for r in sr])),
        "outside_change": s["outside_change"], "outside_change_random": float(np.mean([r["outside_change"] for r in sr])),
        "replaced_by": s["replaced_by"],
        "curve": {str(k): v for k, v in curves["probe"].items()},
        "curves": {name: {str(k): v for k, v in c.items()} for name, c in curves.items()},
        "n_curve_samples": nc, "min_k_90": best, "quarter_of_maps": quarter,
        "selection_within_quarter": {name: (k is not None and k <= quarter) for name, k in best.items()},
        "layer_sweep": sweep_out, "probe_weights": probe.weights.tolist(),
        "iou": None if iou is None else iou.tolist(), "causal": causal, "joint": joint_out,
        "min_fraction": min_fraction, "seed": seed,
        "seconds": round(time.time() - t0, 2),
    }
    if obj != "window":  # keep the generic names too
        metrics["object_fraction_before"] = metrics["window_fraction_before"]
        metrics["object_fraction_after"] = metrics["window_fraction_after"]
    metrics["_arrays"] = {"z_eval": z_eval, "before": before, "fraction_before": rem.fraction_before,
                          "fraction_after": rem.fraction_after,
                          "fraction_after_random": rand[0].fraction_after, "probe": probe,
                          "random_maps": random_maps(n_maps, len(pos), seed + 2)}
    return metrics
