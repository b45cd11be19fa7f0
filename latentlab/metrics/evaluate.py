"""``evaluate(model)``: quality, diversity, memorization and smoothness of a GAN as one dict of numbers.

The metrics follow the DCGAN and AC-GAN papers and later work (see latentlab/metrics/__init__.py);
the judge and the real data are chosen from ``model.config.dataset``:

============== ================== ================================ =====================================
dataset        judge              training images (reference)      held-out real images
============== ================== ================================ =====================================
rooms          RoomSegmenter      procedural seed 0, indices 0..    seed 1 (HELDOUT_SEED): indices 0..n-1
faces          FaceJudge          (the GANs train on seed 0,        and, disjoint, n..2n-1
                                  n=30000; the first ``n_train``)
fashion-mnist  FashionClassifier  train split, first ``n_train``   test split: halves 0..4999, 5000..9999
============== ================== ================================ =====================================

Generated samples, their judge features and the real sets are computed once and reused by every
metric. ``judge=`` and ``real=`` replace the defaults (e.g. stand-ins in tests).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
from torch import nn
from ..progress import progress_bar

from ..images import from_uint8
from ..models import GAN
from ..models.adapter import LatentModel, as_latent_model
from ..pretrained import resolve_model  # re-exported: the one model resolver
from ..validate import int_at_least, options_of
from .content import (FACE_RATES, ROOM_RATES, WINDOW_THRESHOLD, class_accuracy, compare_rates, face_content,
                      room_content)
from .diversity import mode_collapse, msssim_per_class, msssim_settings
from .frechet import frechet_distance, judge_features
from .memorization import flag_near_copies, near_copy_thresholds, nearest_distances
from .ppl import PPLSettings, perceptual_path_length, random_generator

__all__ = ["evaluate", "Evaluation", "EvalSettings", "RealData", "load_real", "resolve_model", "resolve_subject",
           "Subject", "HELDOUT_SEED", "DATASET_JUDGES"]

HELDOUT_SEED = 1      # procedural datasets: the scene/face family the GANs never saw (they train on seed 0)
TRAIN_SEED = 0
DATASET_JUDGES = {"rooms": "rooms", "faces": "faces", "fashion-mnist": "fashion", "fashion": "fashion"}
FASHION_TEST_HALF = 5000  # the 10,000 test images give two disjoint held-out sets of at most this size


@dataclass
class RealData:
    """Real images for ``evaluate``, all float (N, C, H, W) in [-1, 1] with the model's image shape.

    train:        training images (nearest-neighbour reference for memorization; MS-SSIM of real data)
    heldout:      held-out real images (reference of the Fréchet distance, content rates, thresholds
                  of the near-copy rule)
    heldout2:     a second held-out set, disjoint from ``heldout`` (Fréchet floor, near-copy baseline)
    train_labels: (len(train),) classes, for per-class MS-SSIM of real data (AC-GAN); None: one group
    heldout_truth: ground-truth content rates of ``heldout`` where the data has them (reported only)
    description:  where the images come from (reported)
    """

    train: torch.Tensor
    heldout: torch.Tensor
    heldout2: torch.Tensor
    train_labels: torch.Tensor | None = None
    heldout_truth: dict | None = None
    description: str = ""


# --------------------------------------------------------------------------------------------------
# inputs


def _to_float_images(arr: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) or (N, H, W) -> float32 (N, C, H, W) in [-1, 1]."""
    return from_uint8(arr[..., None] if arr.ndim == 3 else arr, channels_last=True)


def _render(ds, indices, desc: str, progress: bool, with_labels: bool = False):
    images, labels = [], []
    for i in progress_bar(indices, desc=desc, disable=not progress, leave=False):
        if with_labels:
            s = ds.sample(i)
            images.append(s.image)
            labels.append(s.labels)
        else:
            images.append(ds.image(i))
    out = _to_float_images(np.stack(images))
    return (out, np.stack(labels)) if with_labels else out


def _rendered_real(make, name: str, unit: str, n_train: int, n_heldout: int, progress: bool,
                   with_labels: bool = False) -> tuple:
    """(train images, held-out dataset, its images (with ``with_labels``: (images, labels)), description) of a
    procedural dataset ``make(n, seed)``: train = scenes 0..n_train-1 of TRAIN_SEED, held-out = 2 * n_heldout
    scenes of HELDOUT_SEED (two halves)."""
    train = _render(make(n_train, TRAIN_SEED), range(n_train), f"real {name} (train)", progress)
    ds = make(2 * n_heldout, HELDOUT_SEED)
    held = _render(ds, range(2 * n_heldout), f"real {name} (held-out)", progress, with_labels=with_labels)
    note = (f"{name}: train = seed {TRAIN_SEED} {unit} 0..{n_train - 1}; held-out = seed {HELDOUT_SEED} {unit} "
            f"0..{n_heldout - 1} and {n_heldout}..{2 * n_heldout - 1}")
    return train, ds, held, note


def load_real(dataset: str, *, n_heldout: int, n_train: int = 5000, image_size: int | None = None,
              progress: bool = False, root=None) -> RealData:
    """The default real data of ``evaluate`` for a dataset name (see the module table).

    Fashion-MNIST held-out sets hold at most 5,000 images each (halves of the test split).
    ``root``: Fashion-MNIST folder (default ``$LATENTLAB_FASHION_MNIST`` or the system path).
    """
    key = str(dataset).lower().replace("_", "-")
    for name, v in (("n_heldout", n_heldout), ("n_train", n_train)):
        int_at_least(v, name, 2)
    if key == "rooms":
        from ..data.rooms import ROOM_CLASSES, RoomsDataset
        size = image_size or 64
        train, _, (held, labels), note = _rendered_real(lambda n, seed: RoomsDataset(n=n, size=size, seed=seed),
                                                        "rooms", "scenes", n_train, n_heldout, progress, True)
        window = (labels[:n_heldout] == ROOM_CLASSES.index("window")).reshape(n_heldout, -1).mean(1)
        bed = (labels[:n_heldout] == ROOM_CLASSES.index("bed")).reshape(n_heldout, -1).mean(1)
        truth = {"share_window": float((window > WINDOW_THRESHOLD).mean()),
                 "share_bed": float((bed > WINDOW_THRESHOLD).mean()), "mean_window_area": float(window.mean()),
                 "mean_bed_area": float(bed.mean())}
        return RealData(train, held[:n_heldout], held[n_heldout:], None, truth, note)
    if key == "faces":
        from ..data.faces import FacesDataset
        size = image_size or 64
        train, ds, held, note = _rendered_real(lambda n, seed: FacesDataset(n=n, size=size, seed=seed), "faces",
                                               "faces", n_train, n_heldout, progress)
        a = ds.attributes(range(n_heldout))
        truth = {"glasses": float(a["glasses"].mean()), "smiling": float((a["smile"] > 0.5).mean()),
                 "feminine": float(a["feminine"].mean()), "masculine": float(1 - a["feminine"].mean()),
                 "mean_yaw": float(a["yaw"].mean())}
        return RealData(train, held[:n_heldout], held[n_heldout:], None, truth, note)
    if key in ("fashion-mnist", "fashion"):
        from ..data.fashion import FashionMNIST
        size = image_size or 32
        tr, te = FashionMNIST(root=root, split="train", size=size), FashionMNIST(root=root, split="test", size=size)
        m = min(n_heldout, FASHION_TEST_HALF)
        train = _to_float_images(tr.images[:n_train].numpy())
        return RealData(train, _to_float_images(te.images[:m].numpy()),
                        _to_float_images(te.images[FASHION_TEST_HALF:FASHION_TEST_HALF + m].numpy()),
                        tr.targets[:n_train].clone(), None,
                        f"fashion-mnist: train = train split 0..{n_train - 1}; held-out = test split 0..{m - 1} and "
                        f"{FASHION_TEST_HALF}..{FASHION_TEST_HALF + m - 1}")
    raise ValueError(f"dataset: no default real data for {dataset!r}; known datasets are "
                     f"{sorted(set(DATASET_JUDGES) - {'fashion'})} (or pass real=RealData(...))")


def _check_real(real, shape: tuple) -> RealData:
    if isinstance(real, Mapping):
        try:
            real = RealData(**real)
        except TypeError as e:
            raise ValueError(f"real: expected the fields of RealData (train, heldout, heldout2, ...): {e}") from None
    if not isinstance(real, RealData):
        raise TypeError(f"real: expected a RealData or a dict of its fields, got {type(real).__name__}")
    for name, minimum in (("train", 1), ("heldout", 2), ("heldout2", 2)):
        x = getattr(real, name)
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 4:
            raise ValueError(f"real: {name} must be a float tensor (N, C, H, W) in [-1, 1], got "
                             f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
        if tuple(x.shape[1:]) != shape:
            raise ValueError(f"real: {name} images are {tuple(x.shape[1:])}, the model generates {shape}")
        if x.shape[0] < minimum:
            raise ValueError(f"real: {name} needs at least {minimum} images, got {x.shape[0]}")
    if real.train_labels is not None and len(real.train_labels) != real.train.shape[0]:
        raise ValueError(f"real: train_labels has {len(real.train_labels)} entries for {real.train.shape[0]} "
                         "train images")
    return real


def _minimums(num_classes: int) -> dict[str, tuple[int, str]]:
    k = max(num_classes, 1)
    per_class = f"2 samples in each of {k} classes" if num_classes else "2 samples to form a pair"
    return {
        "fd_judge": (2, "a covariance needs 2 samples"),
        "msssim_per_class": (2 * k, per_class),
        "ppl": (3, "3 paths so that 1st/99th-percentile filtering keeps some"),
    }


def _check_int(name: str, value, minimum: int) -> int:
    return int_at_least(value, name, minimum, numpy=True)


# --------------------------------------------------------------------------------------------------
# evaluate


@dataclass
class Subject:
    """What ``evaluate`` measures: a generator behind the adapter, and what is known about it."""

    lm: LatentModel                 # the generator (prior, nz, z shape, classes, device)
    shape: tuple                    # (C, H, W) of its images
    info: dict                      # the result's "model" section
    gan: GAN | None = None          # a latentlab model, when it is one
    class_names: list | None = None

    @property
    def num_classes(self) -> int:
        return self.lm.num_classes


def resolve_subject(model, *, prior: str | None = None, nz: int | None = None, device=None, seed: int = 0) -> Subject:
    """A GAN / shipped name / .safetensors path (see :func:`resolve_model`), a LatentModel, or any generator
    module (``prior=`` required, ``nz=`` unless the first layer tells) -> :class:`Subject`."""
    if isinstance(model, (GAN, str, os.PathLike)):
        gan = resolve_model(model)
        cfg = gan.config
        lm = LatentModel(gan, prior, nz=nz, device=device)
        info = {"arch": cfg.arch, "dataset": cfg.dataset or gan.dataset or "", "image_size": cfg.image_size,
                "channels": cfg.channels, "nz": cfg.nz, "prior": lm.prior, "num_classes": cfg.num_classes,
                "step": int(gan.step), "source": getattr(gan, "source_path", None)}
        names = list(cfg.class_names) if cfg.class_names else None
        return Subject(lm, (cfg.channels, cfg.image_size, cfg.image_size), info, gan, names)
    if not isinstance(model, (LatentModel, nn.Module)):
        raise TypeError(f"model: expected a latentlab GAN, a generator module (with prior=), a shipped model name "
                        f"or a path, got {type(model).__name__}")
    lm = as_latent_model(model, prior, nz=nz, device=device, need_prior=True)
    c = 0 if lm.conditional else None
    shape = tuple(lm.generate(lm.sample_z(1, seed=seed), c).shape[1:])
    info = {"arch": type(lm.module).__name__, "dataset": lm.dataset, "image_size": shape[-1], "channels": shape[0],
            "nz": lm.nz, "prior": lm.prior, "num_classes": lm.num_classes, "step": None, "source": None}
    return Subject(lm, shape, info)


def _generate(subject: Subject, n: int, seed: int, batch_size: int, progress: bool):
    """n images from z of ``seed`` (AC-GAN: classes 0, 1, ..., k-1 in turn) -> (images on the CPU, classes)."""
    lm, k = subject.lm, subject.num_classes
    z = lm.sample_z(n, seed=seed)
    c = torch.arange(n) % k if k else None
    bar = progress_bar(total=n, desc="generate", disable=not progress, leave=False)
    out = []
    for x, sl in lm.batches(z, c, batch_size=batch_size):
        out.append(x.detach().float().cpu())
        bar.update(x.shape[0])
    bar.close()
    return torch.cat(out), c


def _random_copy(subject: Subject, seed: int, calibration_samples: int = 256, batch_size: int = 128) -> LatentModel:
    """The same architecture with random DCGAN-initialised weights (BatchNorm statistics re-estimated), from
    :func:`~latentlab.metrics.ppl.random_generator`: ours built from its config, a foreign module copied and
    re-initialised as if built afresh under ``seed``."""
    if subject.gan is not None:
        return LatentModel(random_generator(subject.gan.config, seed=seed), subject.lm.prior)
    lm = subject.lm
    return LatentModel(random_generator(lm, seed, calibration_samples, batch_size), lm.prior, nz=lm.nz,
                       z_dims=lm.z_dims)


def _check_settings(n, k: int, ppl_samples, pairs_per_class, n_train, seed, batch_size, near_copy_quantile):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n: expected an int number of samples, got {n!r}")
    n = int(n)
    n_ppl = min(n, 500) if ppl_samples is None else ppl_samples
    too_small = [(metric, m, why) for metric, (m, why) in _minimums(k).items()
                 if (n_ppl if metric == "ppl" else n) < m]
    if too_small:
        which = "ppl_samples" if ppl_samples is not None and [x[0] for x in too_small] == ["ppl"] else "n"
        value = n_ppl if which == "ppl_samples" else n
        raise ValueError(f"{which}: {value} is too small for "
                         + "; ".join(f"{metric} (needs >= {m}: {why})" for metric, m, why in too_small))
    for name, v, lo in (("pairs_per_class", pairs_per_class, 1), ("n_train", n_train, 1), ("seed", seed, 0),
                        ("batch_size", batch_size, 1)):
        _check_int(name, v, lo)
    if not 0 < near_copy_quantile < 1:
        raise ValueError(f"near_copy_quantile: expected a value in (0, 1), got {near_copy_quantile!r}")
    return n, n_ppl


def _judge_and_real(subject: Subject, data_name: str, judge, real, n: int, n_train: int, progress: bool):
    if judge is None:
        if data_name not in DATASET_JUDGES:
            raise ValueError(f"model: its dataset is {data_name!r}, which has no judge (judges exist for "
                             f"{sorted(set(DATASET_JUDGES) - {'fashion'})}); pass judge= and real=")
        from ..judges import check_domain, load_judge
        judge = load_judge(DATASET_JUDGES[data_name])
        check_domain(DATASET_JUDGES[data_name], subject.info.get("dataset"), stacklevel=3)
    if not hasattr(judge, "features"):
        raise TypeError(f"judge: expected an object with features(images), got {type(judge).__name__}")
    if real is None:
        if data_name not in DATASET_JUDGES:
            raise ValueError(f"real: model dataset {data_name!r} has no default real data; pass real=RealData(...)")
        real = load_real(data_name, n_heldout=n, n_train=n_train, image_size=subject.shape[-1], progress=progress)
    return judge, _check_real(real, subject.shape)


class _Clock:
    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.last, 3)
        self.last = now


def _features(judge, gen, real: RealData, jb: int, progress: bool) -> dict:
    return {name: judge_features(judge, x, jb, progress=progress, desc=f"features ({label})")
            for name, x, label in (("gen", gen, "generated"), ("held", real.heldout, "held-out"),
                                   ("held2", real.heldout2, "held-out 2"), ("train", real.train, "train"))}


def _content(data_name: str, judge, gen, classes, real: RealData, k: int, jb: int, progress: bool):
    """Content statistics against held-out real images (rooms, faces) and class accuracy (AC-GAN)."""
    content = None
    if data_name == "rooms":
        g = room_content(judge, gen, batch_size=jb, progress=progress)
        r = room_content(judge, real.heldout, batch_size=jb, progress=progress)
        content = {"generated": g, "real": r, **compare_rates(g, r, ROOM_RATES)}
    elif data_name == "faces":
        g = face_content(judge, gen, batch_size=jb, progress=progress)
        r = face_content(judge, real.heldout, batch_size=jb, progress=progress)
        tv = 0.5 * float(np.abs(np.subtract(g["yaw_histogram"], r["yaw_histogram"])).sum())
        content = {"generated": g, "real": r, **compare_rates(g, r, FACE_RATES), "yaw_total_variation": tv}
    if content is not None and real.heldout_truth:
        content["real_ground_truth"] = real.heldout_truth
    acc = None
    if k:
        acc = class_accuracy(judge, gen, classes, num_classes=k, batch_size=jb, progress=progress)
    return content, acc


def _diversity(subject: Subject, data_name: str, gen, classes, real: RealData, f: dict, pairs: int, seed: int,
               win: int) -> dict:
    """MS-SSIM within classes (AC-GAN §4.2) for generated and training images, and the mode-collapse check."""
    k, names = subject.num_classes, subject.class_names
    if names is None and k and data_name in ("fashion-mnist", "fashion"):
        from ..data.fashion import FASHION_CLASSES
        names = list(FASHION_CLASSES) if k == len(FASHION_CLASSES) else None
    ms_gen = msssim_per_class(gen, classes, pairs, class_names=names, seed=seed + 1, win_size=win)
    real_names = names if real.train_labels is not None else None
    ms_real = msssim_per_class(real.train, real.train_labels, pairs, class_names=real_names, seed=seed + 2,
                               win_size=win)
    real_max = max(ms_real.values())
    return {"msssim_per_class": ms_gen, "msssim_real_per_class": ms_real, "msssim_real_max": real_max,
            "share_classes_below_real_max": float(np.mean([v < real_max for v in ms_gen.values()])),
            "mode_collapse": mode_collapse(ms_gen, f["gen"], f["held"])}


def _memorization(gen, real: RealData, f: dict, quantile: float, progress: bool) -> dict:
    """Near-copies of training images: pixel and judge-feature nearest neighbours, thresholds from held-out data."""
    pix_gen, pix_gen_idx = nearest_distances(gen, real.train, progress=progress, desc="pixel NN (generated)")
    pix_held, _ = nearest_distances(real.heldout, real.train, progress=progress, desc="pixel NN (held-out)")
    pix_held2, _ = nearest_distances(real.heldout2, real.train, progress=progress, desc="pixel NN (held-out 2)")
    feat_gen, feat_gen_idx = nearest_distances(f["gen"], f["train"])
    feat_held, _ = nearest_distances(f["held"], f["train"])
    feat_held2, _ = nearest_distances(f["held2"], f["train"])
    thresholds = near_copy_thresholds(pix_held, feat_held, quantile)
    flagged = flag_near_copies(pix_gen, feat_gen, thresholds)
    baseline = flag_near_copies(pix_held2, feat_held2, thresholds)
    return {
        "near_copies": int(flagged.sum()), "fraction": float(flagged.mean()),
        "heldout_baseline_count": int(baseline.sum()), "heldout_baseline_n": int(baseline.size),
        "quantile": quantile, "threshold_pixel": thresholds[0], "threshold_feature": thresholds[1],
        "median_pixel_distance": {"generated": float(pix_gen.median()), "heldout": float(pix_held.median())},
        "median_feature_distance": {"generated": float(feat_gen.median()), "heldout": float(feat_held.median())},
        "min_pixel_distance": {"generated": float(pix_gen.min()), "heldout": float(pix_held.min())},
        "flagged": [{"sample": int(i), "train_index_pixel": int(pix_gen_idx[i]),
                     "train_index_feature": int(feat_gen_idx[i]), "pixel_distance": float(pix_gen[i]),
                     "feature_distance": float(feat_gen[i])} for i in np.flatnonzero(flagged)[:20]],
        "n_train_reference": int(real.train.shape[0]), "pixel_metric": "L2 over flattened pixels in [-1, 1]",
    }


def _finite(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


@dataclass(frozen=True)
class EvalSettings:
    """How :func:`evaluate` measures (recorded under ``result["settings"]``), beyond n and seed."""

    pairs_per_class: int = 100         # MS-SSIM pairs per class (unconditional models: pairs over the whole set)
    n_train: int = 5000                # training images used as the nearest-neighbour reference (the first n_train)
    ppl_samples: int | None = None     # path-length draws per generator (default min(n, 500))
    # quantile of held-out-to-train distances below which (in both pixel and feature space) a sample counts as
    # a near-copy
    near_copy_quantile: float = 0.01
    msssim_win_size: int = 7           # Gaussian window of MS-SSIM (scales and weights follow, see diversity.py)
    batch_size: int = 32               # images per generator / judge call (small batches are faster on CPU here)
    progress: bool = True              # progress bars


_FRECHET = ("fd_judge", "fd_real_floor", "fd_ratio")
_CLASSES = ("class_accuracy", "class_accuracy_detail")
_DIVERSITY = ("msssim_per_class", "msssim_real_per_class", "msssim_real_max", "share_classes_below_real_max",
              "mode_collapse")
_PATH_LENGTH = ("ppl", "ppl_random_generator", "ppl_detail")


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` measured, in groups. ``to_dict()`` is the JSON ``latentlab evaluate --json`` writes
    (the same keys in the same order as before the groups existed); ``from_dict`` reads such a file back."""

    n: int                  # generated samples; also the size of each held-out real set
    model: dict             # the model's info, with the dataset it was measured against
    judge: str              # the judge's class name
    real: dict              # the real sets: description, n_train, n_heldout, n_heldout2
    frechet: dict           # fd_judge, fd_real_floor (held-out vs held-out), fd_ratio (None when not finite)
    content: dict | None    # content statistics against the real data (rooms, faces), else None
    classes: dict           # class_accuracy (None for an unconditional model) and class_accuracy_detail
    diversity: dict         # MS-SSIM per class (generated, real), the real maximum, share below it, mode_collapse
    memorization: dict      # near-copies of training images ("near_copies": the count, thresholds, flagged samples)
    path_length: dict       # ppl, ppl_random_generator (same architecture, random weights), ppl_detail
    settings: dict          # what was measured with (seed, pairs, ppl samples, MS-SSIM window and weights, ...)
    timings: dict           # seconds per stage
    seconds: float          # seconds in all

    def to_dict(self) -> dict:
        """The flat JSON-serialisable dict (23 top-level keys) of ``latentlab evaluate --json``."""
        return {"n": self.n, "model": self.model, "judge": self.judge, "real": self.real, **self.frechet,
                "content": self.content, **self.classes, **self.diversity,
                "near_copies": self.memorization["near_copies"], "memorization": self.memorization,
                **self.path_length, "settings": self.settings, "timings": self.timings, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> "Evaluation":
        """An Evaluation from :meth:`to_dict`'s dict (e.g. a ``metrics.json`` read with ``json.load``)."""
        if not isinstance(d, dict):
            raise TypeError(f"d: expected the dict of Evaluation.to_dict() / latentlab evaluate --json, got "
                            f"{type(d).__name__}")
        missing = [k for k in ("n", "model", "judge", "real", "content", "memorization", "settings", "timings",
                               "seconds", *_FRECHET, *_CLASSES, *_DIVERSITY, *_PATH_LENGTH) if k not in d]
        if missing:
            raise ValueError(f"d: not an evaluate result: keys {missing} are missing")
        pick = lambda keys: {k: d[k] for k in keys}  # noqa: E731
        return cls(n=d["n"], model=d["model"], judge=d["judge"], real=d["real"], frechet=pick(_FRECHET),
                   content=d["content"], classes=pick(_CLASSES), diversity=pick(_DIVERSITY),
                   memorization=d["memorization"], path_length=pick(_PATH_LENGTH), settings=d["settings"],
                   timings=d["timings"], seconds=d["seconds"])


def evaluate(model, n: int = 2000, seed: int = 0, real=None, judge=None, *, dataset: str | None = None,
             prior: str | None = None, nz: int | None = None, device=None,
             settings: EvalSettings | None = None) -> Evaluation:
    """Evaluate a generator with the metrics of the DCGAN / AC-GAN papers and later work.

    Args:
        model: a GAN, a shipped model name ("rooms", "faces", "fashion"), a .safetensors path, a LatentModel or
            any generator module (then ``prior=`` is required, ``nz=`` unless its first layer tells, and the
            judge comes from ``dataset=`` or ``judge=``; e.g. the pytorch/examples netG).
        n: generated samples (AC-GAN: classes 0, 1, ..., k-1 in turn); also the size of each
            held-out real set (Fashion-MNIST: at most 5,000).
        seed: all randomness (z, pairs, path-length draws, the random generator) derives from it.
        real: RealData (or a dict of its fields); default ``load_real(dataset, ...)``.
        judge: object with ``features`` (and ``predict`` / ``class_mask``); default the dataset's judge.
        dataset: override the model's dataset (chooses judge, real data and content statistics).
        prior, nz: for a raw generator module.
        device: where the generator runs (the module is moved there); judges stay where they are.
        settings: an :class:`EvalSettings` (MS-SSIM pairs and window, training reference size, path-length draws,
            near-copy quantile, batch size, progress bars); default ``EvalSettings()``.

    Returns:
        An :class:`Evaluation`: the numbers in groups (``frechet``, ``content``, ``classes``, ``diversity``,
        ``memorization``, ``path_length``, ...); ``.to_dict()`` is the JSON of ``latentlab evaluate --json``.

    Example::

        >>> result = latentlab.evaluate("fashion", n=2000)            # doctest: +SKIP
        >>> result.classes["class_accuracy"], result.frechet["fd_ratio"]  # doctest: +SKIP
    """
    clock = _Clock()
    st = options_of(settings, EvalSettings, "settings", "latentlab.metrics")
    pairs_per_class, msssim_win_size, batch_size, progress = (st.pairs_per_class, st.msssim_win_size, st.batch_size,
                                                              st.progress)
    subject = resolve_subject(model, prior=prior, nz=nz, device=device, seed=seed)
    k = subject.num_classes
    n, n_ppl = _check_settings(n, k, st.ppl_samples, pairs_per_class, st.n_train, seed, batch_size,
                               st.near_copy_quantile)
    msssim_weights = msssim_settings(subject.shape[-1], msssim_win_size)
    data_name = (dataset if dataset is not None else subject.info["dataset"]).lower().replace("_", "-")
    judge, real = _judge_and_real(subject, data_name, judge, real, n, st.n_train, progress)
    clock.lap("load")  # model, judge, real data
    gen, classes = _generate(subject, n, seed, batch_size, progress)
    clock.lap("generate")
    f = _features(judge, gen, real, batch_size, progress)
    clock.lap("features")
    fd, fd_floor = frechet_distance(f["gen"], f["held"]), frechet_distance(f["held"], f["held2"])
    clock.lap("frechet")
    content, acc = _content(data_name, judge, gen, classes, real, k, batch_size, progress)
    clock.lap("content")
    diversity = _diversity(subject, data_name, gen, classes, real, f, pairs_per_class, seed, msssim_win_size)
    clock.lap("msssim")
    memorization = _memorization(gen, real, f, st.near_copy_quantile, progress)
    clock.lap("memorization")
    ppl_kw = dict(num_classes=k, settings=PPLSettings(batch_size=max(batch_size // 2, 1), progress=progress))
    ppl = perceptual_path_length(subject.lm, judge, n_ppl, seed=seed + 3, **ppl_kw)
    ppl_rand = perceptual_path_length(_random_copy(subject, seed), judge, n_ppl, seed=seed + 3, **ppl_kw)
    clock.lap("ppl")
    return Evaluation(
        n=n, model={**subject.info, "dataset": data_name}, judge=type(judge).__name__,
        real={"description": real.description, "n_train": int(real.train.shape[0]),
              "n_heldout": int(real.heldout.shape[0]), "n_heldout2": int(real.heldout2.shape[0])},
        frechet={"fd_judge": fd, "fd_real_floor": fd_floor,
                 "fd_ratio": _finite(fd / fd_floor) if fd_floor > 0 else None},
        content=content,
        classes={"class_accuracy": None if acc is None else acc["accuracy"], "class_accuracy_detail": acc},
        diversity=diversity, memorization=memorization,
        path_length={"ppl": _finite(ppl["ppl"]), "ppl_random_generator": _finite(ppl_rand["ppl"]),
                     "ppl_detail": {"model": ppl, "random_generator": ppl_rand,
                                    "distance": "squared L2 of judge features / epsilon^2"}},
        settings={"seed": seed, "pairs_per_class": pairs_per_class, "ppl_samples": n_ppl,
                  "near_copy_quantile": st.near_copy_quantile, "msssim_win_size": msssim_win_size,
                  "msssim_weights": list(msssim_weights),
                  "window_threshold": WINDOW_THRESHOLD},
        timings=clock.timings, seconds=round(time.perf_counter() - clock.start, 3),
    )
