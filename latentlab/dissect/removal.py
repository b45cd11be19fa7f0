"""Generating with feature maps dropped, and measuring what the segmenter sees disappear (DCGAN §6.3.1).

Every generator goes through :class:`~latentlab.models.adapter.LatentModel` (z shape, batching, eval mode,
device), so these work on our models and on any module (e.g. the pytorch/examples ``netG``, z (N, nz, 1, 1)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..masks import agreement, mask_to_boxes, region_fractions
from ..models.adapter import LatentModel, as_latent_model
from .ablate import ablate_layers, check_drops

__all__ = ["adapter", "generate", "object_masks", "object_boxes", "measure_removal", "removal_curve", "random_maps",
           "Before", "Removal", "class_index", "boxes_from_masks", "detector_regions", "instrument_numbers",
           "disagreement", "DISAGREE"]

BATCH = 200        # generator batch of the forget experiment (its published numbers were taken with it)
SEG_BATCH = 250    # segmenter batch


def adapter(generator, *, prior=None, nz=None, device=None, batch_size: int = BATCH,
            need_prior: bool = False) -> LatentModel:
    """The LatentModel every dissection function runs the generator through."""
    if isinstance(generator, LatentModel):
        if device is not None or (prior is not None and prior != generator.prior) or \
                (nz is not None and nz != generator.nz):
            return LatentModel(generator, prior, nz=nz, device=device, batch_size=generator.batch_size)
        return generator
    return as_latent_model(generator, prior, nz=nz, device=device, batch_size=batch_size, need_prior=need_prior)


def _drops(layer, maps, drops) -> dict:
    """{layer: maps} from a single (layer, maps) and/or a ``drops`` mapping; layers with no maps are left out."""
    out = {} if drops is None else check_drops(drops)
    if layer is not None and maps is not None:
        if layer in out:
            raise ValueError(f"drops: layer {layer!r} is given both as layer= and in drops")
        out[layer] = maps
    return {name: m for name, m in out.items() if len(m)}


def generate(generator, z: torch.Tensor, *, layer: str | None = None, maps=None, value: float = 0.0,
             drops: dict | None = None, batch_size: int = BATCH, c=None, **adapter_kw) -> torch.Tensor:
    """Images for z (eval mode, CPU float32), optionally with ``maps`` of ``layer`` set to ``value`` -> (N, C, S, S).

    ``drops`` ({layer: maps}) sets maps of several layers at once (together with ``layer``/``maps``).
    ``generator``: any generator module or a LatentModel (``prior=``, ``nz=``, ``device=`` go to the adapter);
    ``c``: classes of an AC-GAN.
    """
    drops = _drops(layer, maps, drops)
    lm = adapter(generator, **adapter_kw)
    with ablate_layers(lm.module, drops, value):
        return lm.generate(z, c, batch_size=batch_size)


def class_index(segmenter, obj: str, name: str = "object") -> int:
    classes = list(getattr(segmenter, "classes", ()))
    if obj not in classes:
        raise ValueError(f"{name}: {obj!r} is not a class of the segmenter; classes are {classes}")
    return classes.index(obj)


def _labels(segmenter, images: torch.Tensor, batch_size: int = SEG_BATCH) -> torch.Tensor:
    """Segmenter labels (N, H, W) on the CPU; images go to the segmenter's device (its first parameter's)."""
    p = next(segmenter.parameters(), None) if hasattr(segmenter, "parameters") else None
    dev = p.device if p is not None else images.device
    return torch.cat([segmenter.predict(images[i:i + batch_size].to(dev)).cpu()
                      for i in range(0, images.shape[0], batch_size)])


@torch.no_grad()
def object_masks(segmenter, images: torch.Tensor, obj: str = "window", batch_size: int = SEG_BATCH) -> torch.Tensor:
    """Segmenter's per-pixel mask of ``obj`` -> bool (N, H, W)."""
    return _labels(segmenter, images, batch_size) == class_index(segmenter, obj)


def boxes_from_masks(masks: torch.Tensor, min_area: int = 4) -> list:
    """Bounding boxes (x0, y0, x1, y1) of the connected components of bool masks (N, H, W), per image."""
    return [mask_to_boxes(m.numpy(), min_area=min_area) for m in masks]


def object_boxes(segmenter, images: torch.Tensor, obj: str = "window", min_area: int = 4):
    """Bounding boxes of the connected components of the segmenter's ``obj`` mask, per image."""
    return boxes_from_masks(object_masks(segmenter, images, obj), min_area)


def random_maps(n_maps: int, k: int, seed: int) -> np.ndarray:
    """``k`` distinct map indices of ``n_maps``, sorted, drawn from ``seed`` (the random control)."""
    if k > n_maps:
        raise ValueError(f"k: cannot choose {k} random maps from a layer with {n_maps}")
    return np.sort(np.random.default_rng(seed).choice(n_maps, size=k, replace=False))


# When the two window instruments disagree about a drop (any reason is enough):
DISAGREE = {
    "max_points": 0.15,             # their reductions differ by more than 15 percentage points
    "min_sign": 0.05,               # or differ in sign while both are at least 5 points away from 0
    "min_presence_agreement": 0.80,  # or, on the edited images, they agree on "window somewhere or none" in
    #                                  < 80% of images (0.92 on the shipped model's unedited samples)
}


def disagreement(reduction_a, reduction_b, presence_agreement=None, *, names=("segmenter", "detector"),
                 max_points: float = DISAGREE["max_points"], min_sign: float = DISAGREE["min_sign"],
                 min_presence_agreement: float = DISAGREE["min_presence_agreement"]) -> list[str]:
    """Why two instruments disagree about one drop: a list of reasons in words, empty when they agree.

    ``reduction_a`` / ``reduction_b``: 1 - after / before of each instrument (negative: more object pixels);
    ``presence_agreement``: the share of edited images where both see the object somewhere or both nowhere
    (``agreement(...)["image_presence_agreement"]``), None to skip that test. Thresholds: :data:`DISAGREE`.
    """
    a, b = float(reduction_a), float(reduction_b)
    na, nb = names
    if not (np.isfinite(a) and np.isfinite(b)):
        return [f"a reduction is undefined ({na} {a}, {nb} {b}: no object pixels before the drop)"]
    change = f"{na} {-100 * a:+.1f}%, {nb} {-100 * b:+.1f}% object pixels"
    reasons = []
    if a * b < 0 and min(abs(a), abs(b)) >= min_sign:
        reasons.append(f"the reductions differ in sign ({change})")
    if abs(a - b) > max_points:
        reasons.append(f"the reductions differ by {100 * abs(a - b):.1f} points (> {100 * max_points:.0f}; {change})")
    if presence_agreement is not None and float(presence_agreement) < min_presence_agreement:
        reasons.append(f"they agree on which edited images show the object in only {100 * presence_agreement:.1f}% "
                       f"of them (< {100 * min_presence_agreement:.0f}%)")
    return reasons


@torch.no_grad()
def detector_regions(detector, images: torch.Tensor) -> torch.Tensor:
    """The second instrument's window share per region (N, G, G) on the CPU (a WindowDetector's
    ``region_fraction``; images go to its device)."""
    return detector.region_fraction(images).cpu()


def _agreement(masks: torch.Tensor, regions: torch.Tensor) -> dict:
    """``agreement`` of the segmenter's masks (a) and the detector's regions (b) on the same images, the way
    ``judges.windows.instrument_agreement`` computes it; the per-image list of disagreeing images is counted."""
    fa = masks.float().mean(dim=(1, 2))
    out = agreement(fa, regions.mean(dim=(1, 2)), region_fractions(masks, regions.shape[-1]), regions)
    out["n_disagree"] = len(out.pop("disagree"))
    return out


def instrument_numbers(seg: dict, det: dict, agreement_after: dict | None) -> dict:
    """Both instruments' numbers for one drop, and whether they disagree (:func:`disagreement`).

    ``seg`` / ``det``: {"fraction_before", "fraction_after", "reduction"} of the segmenter and the detector.
    """
    reasons = disagreement(seg["reduction"], det["reduction"],
                           None if agreement_after is None else agreement_after["image_presence_agreement"])
    return {"segmenter": {k: seg[k] for k in ("fraction_before", "fraction_after", "reduction")},
            "detector": {k: det[k] for k in ("fraction_before", "fraction_after", "reduction")},
            "agreement_after": agreement_after, "disagree": bool(reasons), "reasons": reasons}


@dataclass
class Removal:
    fraction_before: np.ndarray   # (N,) object pixel share per sample before the drop
    fraction_after: np.ndarray    # (N,) after
    outside_change: float         # mean |after - before| (0..1 pixel scale) outside the original object pixels
    replaced_by: dict             # class -> share of former object pixels it became
    detector_before: np.ndarray | None = None   # (N,) the second instrument's window share before the drop
    detector_after: np.ndarray | None = None    # (N,) ... after
    agreement_after: dict | None = None         # the two instruments' agreement on the edited images

    def instruments(self) -> dict | None:
        """Both instruments' numbers and their (dis)agreement (:func:`instrument_numbers`); None without a detector."""
        if self.detector_after is None:
            return None
        return instrument_numbers(_fractions(self.fraction_before, self.fraction_after),
                                  _fractions(self.detector_before, self.detector_after), self.agreement_after)

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
            "instruments": self.instruments(),
        }


def _fractions(before: np.ndarray, after: np.ndarray) -> dict:
    b, a = float(np.mean(before)), float(np.mean(after))
    return {"fraction_before": b, "fraction_after": a, "reduction": 1 - a / b if b > 0 else float("nan")}


@dataclass(frozen=True)
class Before:
    """The unedited images of z and what the instruments read on them (each computed from ``images`` when None),
    so that several drops on the same z read the "before" once."""

    images: torch.Tensor                     # (N, C, S, S) unedited images
    masks: torch.Tensor | None = None        # the segmenter's object masks on them (N, S, S)
    detector: torch.Tensor | None = None     # the detector's regions on them (N, G, G)


def _check_before(before) -> None:
    if before is not None and not isinstance(before, Before):
        raise TypeError(f"before: expected a latentlab.dissect.removal.Before (the unedited images and their "
                        f"readings) or None, got {type(before).__name__}")


@torch.no_grad()
def measure_removal(generator, drops: dict, z, segmenter, obj="window", *, before: Before | None = None,
                    batch_size=BATCH, c=None, detector=None, **adapter_kw) -> Removal:
    """Compare generations with and without dropping ``drops`` ({layer: maps}, one layer or several at once) on the
    same z.

    ``before``: the unedited images and their readings when already known (:class:`Before`; computed when None).
    ``detector``: a second window instrument (``WindowDetector``) read on the same images (its regions on the
    unedited images: ``before.detector``, computed when None).
    """
    _check_before(before)
    lm = adapter(generator, **adapter_kw)
    before = Before(generate(lm, z, batch_size=batch_size, c=c)) if before is None else before
    masks_before = before.masks if before.masks is not None else object_masks(segmenter, before.images, obj)
    detector_before, before = before.detector, before.images
    after = generate(lm, z, drops=drops, batch_size=batch_size, c=c)
    labels_after = _labels(segmenter, after)
    masks_after = labels_after == class_index(segmenter, obj)
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
        replaced = {classes[i]: round(float(v), 4) for i, v in enumerate(counts) if v > 0}
    if detector is None:
        return Removal(fb, fa, outside_change, replaced)
    if detector_before is None:
        detector_before = detector_regions(detector, before)
    regions_after = detector_regions(detector, after)
    return Removal(fb, fa, outside_change, replaced, detector_before.mean(dim=(1, 2)).double().numpy(),
                   regions_after.mean(dim=(1, 2)).double().numpy(), _agreement(masks_after, regions_after))


def removal_curve(generator, layer, ranking, ks, z, segmenter, obj="window", *, before: Before | None = None,
                  c=None, **adapter_kw) -> dict:
    """Object pixel share after dropping the top-k maps of ``ranking`` for each k -> {k: fraction}.
    ``before``: the unedited images of z and their masks when already known (:class:`Before`)."""
    _check_before(before)
    lm = adapter(generator, **adapter_kw)
    if before is None:
        before = Before(generate(lm, z, c=c))
    if before.masks is None:
        before = Before(before.images, object_masks(segmenter, before.images, obj))
    out = {}
    for k in ks:
        if k == 0:
            out[0] = float(before.masks.float().mean())
            continue
        r = measure_removal(lm, {layer: ranking[:k]}, z, segmenter, obj, before=Before(before.images, before.masks),
                            c=c)
        out[int(k)] = float(r.fraction_after.mean())
    return out
