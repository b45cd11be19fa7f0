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
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from tqdm.auto import tqdm

from ..checkpoint import load
from ..io import CheckpointError
from ..models import GAN
from ..pretrained import PRETRAINED, load_pretrained
from .content import (FACE_RATES, ROOM_RATES, WINDOW_THRESHOLD, class_accuracy, compare_rates, face_content,
                      room_content)
from .diversity import mode_collapse, msssim_per_class, msssim_settings
from .frechet import frechet_distance, judge_features
from .memorization import flag_near_copies, near_copy_thresholds, nearest_distances
from .ppl import perceptual_path_length, random_generator

__all__ = ["evaluate", "RealData", "load_real", "resolve_model", "HELDOUT_SEED", "DATASET_JUDGES"]

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


def resolve_model(model) -> GAN:
    """A GAN, a shipped model name ("rooms", "faces", "fashion") or a path to a latentlab .safetensors."""
    if isinstance(model, GAN):
        return model
    if isinstance(model, (str, os.PathLike)):
        p = Path(model)
        if p.is_dir():
            raise ValueError(f"model: {str(p)!r} is a directory, expected a .safetensors model file or a "
                             f"shipped model name {PRETRAINED}")
        if p.is_file():
            try:
                return load(p)
            except CheckpointError as e:
                raise ValueError(f"model: {str(p)!r} is not a latentlab GAN checkpoint ({e})") from None
        if p.suffix == ".safetensors":
            raise FileNotFoundError(f"model: no such file {str(p)!r}")
        if str(model) in PRETRAINED:
            return load_pretrained(str(model))
        raise ValueError(f"model: {str(model)!r} is neither a shipped model {PRETRAINED} nor an existing file")
    raise TypeError(f"model: expected a latentlab GAN, a shipped model name or a path, got {type(model).__name__}")


def _to_float_images(arr: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) or (N, H, W) -> float32 (N, C, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(arr))
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.to(torch.float32).div_(127.5).sub_(1.0)


def _render(ds, indices, desc: str, progress: bool, with_labels: bool = False):
    images, labels = [], []
    for i in tqdm(indices, desc=desc, disable=not progress, leave=False):
        if with_labels:
            s = ds.sample(i)
            images.append(s.image)
            labels.append(s.labels)
        else:
            images.append(ds.image(i))
    out = _to_float_images(np.stack(images))
    return (out, np.stack(labels)) if with_labels else out


def load_real(dataset: str, *, n_heldout: int, n_train: int = 5000, image_size: int | None = None,
              progress: bool = False, root=None) -> RealData:
    """The default real data of ``evaluate`` for a dataset name (see the module table).

    Fashion-MNIST held-out sets hold at most 5,000 images each (halves of the test split).
    ``root``: Fashion-MNIST folder (default ``$LATENTLAB_FASHION_MNIST`` or the system path).
    """
    key = str(dataset).lower().replace("_", "-")
    for name, v in (("n_heldout", n_heldout), ("n_train", n_train)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise ValueError(f"{name}: expected an int >= 2, got {v!r}")
    if key == "rooms":
        from ..data.rooms import ROOM_CLASSES, RoomsDataset
        size = image_size or 64
        train = _render(RoomsDataset(n=n_train, size=size, seed=TRAIN_SEED), range(n_train), "real rooms (train)",
                        progress)
        held, labels = _render(RoomsDataset(n=2 * n_heldout, size=size, seed=HELDOUT_SEED), range(2 * n_heldout),
                               "real rooms (held-out)", progress, with_labels=True)
        window = (labels[:n_heldout] == ROOM_CLASSES.index("window")).reshape(n_heldout, -1).mean(1)
        bed = (labels[:n_heldout] == ROOM_CLASSES.index("bed")).reshape(n_heldout, -1).mean(1)
        truth = {"share_window": float((window > WINDOW_THRESHOLD).mean()),
                 "share_bed": float((bed > WINDOW_THRESHOLD).mean()), "mean_window_area": float(window.mean()),
                 "mean_bed_area": float(bed.mean())}
        return RealData(train, held[:n_heldout], held[n_heldout:], None, truth,
                        f"rooms: train = seed {TRAIN_SEED} scenes 0..{n_train - 1}; held-out = seed {HELDOUT_SEED} "
                        f"scenes 0..{n_heldout - 1} and {n_heldout}..{2 * n_heldout - 1}")
    if key == "faces":
        from ..data.faces import FacesDataset
        size = image_size or 64
        train = _render(FacesDataset(n=n_train, size=size, seed=TRAIN_SEED), range(n_train), "real faces (train)",
                        progress)
        ds = FacesDataset(n=2 * n_heldout, size=size, seed=HELDOUT_SEED)
        held = _render(ds, range(2 * n_heldout), "real faces (held-out)", progress)
        a = ds.attributes(range(n_heldout))
        truth = {"glasses": float(a["glasses"].mean()), "smiling": float((a["smile"] > 0.5).mean()),
                 "feminine": float(a["feminine"].mean()), "masculine": float(1 - a["feminine"].mean()),
                 "mean_yaw": float(a["yaw"].mean())}
        return RealData(train, held[:n_heldout], held[n_heldout:], None, truth,
                        f"faces: train = seed {TRAIN_SEED} faces 0..{n_train - 1}; held-out = seed {HELDOUT_SEED} "
                        f"faces 0..{n_heldout - 1} and {n_heldout}..{2 * n_heldout - 1}")
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
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------------
# evaluate


@torch.no_grad()
def _generate(gan: GAN, n: int, seed: int, batch_size: int, progress: bool):
    G = gan.generator
    was_training = G.training
    G.eval()
    try:
        z = G.sample_z(n, seed=seed)
        c = (torch.arange(n) % gan.config.num_classes).to(z.device) if gan.config.conditional else None
        out = []
        for i in tqdm(range(0, n, batch_size), desc="generate", disable=not progress, leave=False):
            zi = z[i:i + batch_size]
            out.append((G(zi) if c is None else G(zi, c[i:i + batch_size])).detach().float().cpu())
        return torch.cat(out), (None if c is None else c.cpu())
    finally:
        G.train(was_training)


def evaluate(model, n: int = 2000, seed: int = 0, real=None, judge=None, progress: bool = True,
             pairs_per_class: int = 100, *, n_train: int = 5000, ppl_samples: int | None = None,
             near_copy_quantile: float = 0.01, msssim_win_size: int = 7, dataset: str | None = None,
             batch_size: int = 32) -> dict:
    """Evaluate a GAN with the metrics of the DCGAN / AC-GAN papers and later work.

    Args:
        model: a GAN, a shipped model name ("rooms", "faces", "fashion") or a .safetensors path.
        n: generated samples (AC-GAN: classes 0, 1, ..., k-1 in turn); also the size of each
            held-out real set (Fashion-MNIST: at most 5,000).
        seed: all randomness (z, pairs, path-length draws, the random generator) derives from it.
        real: RealData (or a dict of its fields); default ``load_real(model.config.dataset, ...)``.
        judge: object with ``features`` (and ``predict`` / ``class_mask``); default the dataset's judge.
        progress: tqdm bars on the long loops.
        pairs_per_class: MS-SSIM pairs per class (unconditional models: pairs over the whole set).
        n_train: training images used as the nearest-neighbour reference (the first n_train of the
            training set: copies of later training images are not detected).
        ppl_samples: path-length draws per generator (default min(n, 500)).
        near_copy_quantile: quantile of held-out-to-train distances below which (in both pixel and
            feature space) a sample counts as a near-copy.
        msssim_win_size: Gaussian window of MS-SSIM (scales and weights follow, see diversity.py).
        dataset: override ``model.config.dataset`` (chooses judge, real data and content statistics).
        batch_size: images per generator / judge call. Small batches are faster on CPU here: large
            activations are fresh memory every batch (page faults cost as much as the maths at 256).

    Returns:
        A JSON-serialisable dict; top-level keys include ``n``, ``fd_judge``, ``fd_real_floor``,
        ``content``, ``class_accuracy``, ``msssim_per_class``, ``msssim_real_max``,
        ``share_classes_below_real_max``, ``near_copies``, ``ppl``, ``ppl_random_generator``, ``seconds``.

    Example::

        >>> result = latentlab.evaluate("fashion", n=2000)            # doctest: +SKIP
        >>> result["class_accuracy"], result["fd_judge"] / result["fd_real_floor"]  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - clock[0], 3)
        clock[0] = now

    gan = resolve_model(model)
    cfg = gan.config
    k = cfg.num_classes if cfg.conditional else 0
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
    pairs_per_class = _check_int("pairs_per_class", pairs_per_class, 1)
    n_train = _check_int("n_train", n_train, 1)
    seed = _check_int("seed", seed, 0)
    batch_size = _check_int("batch_size", batch_size, 1)
    if not 0 < near_copy_quantile < 1:
        raise ValueError(f"near_copy_quantile: expected a value in (0, 1), got {near_copy_quantile!r}")
    shape = (cfg.channels, cfg.image_size, cfg.image_size)
    msssim_kw = {"win_size": msssim_win_size}
    msssim_weights = msssim_settings(cfg.image_size, msssim_win_size)

    data_name = (dataset if dataset is not None else (cfg.dataset or gan.dataset or "")).lower().replace("_", "-")
    if judge is None:
        if data_name not in DATASET_JUDGES:
            raise ValueError(f"model: its dataset is {data_name!r}, which has no judge (judges exist for "
                             f"{sorted(set(DATASET_JUDGES) - {'fashion'})}); pass judge= and real=")
        from ..judges import load_judge
        judge = load_judge(DATASET_JUDGES[data_name])
    if not hasattr(judge, "features"):
        raise TypeError(f"judge: expected an object with features(images), got {type(judge).__name__}")
    if real is None:
        if data_name not in DATASET_JUDGES:
            raise ValueError(f"real: model dataset {data_name!r} has no default real data; pass real=RealData(...)")
        real = load_real(data_name, n_heldout=n, n_train=n_train, image_size=cfg.image_size, progress=progress)
    real = _check_real(real, shape)
    lap("load")  # model, judge, real data

    # 1. samples and features, computed once -------------------------------------------------------
    gen, gen_classes = _generate(gan, n, seed, batch_size, progress)
    lap("generate")
    jb = batch_size
    f_gen = judge_features(judge, gen, jb, progress=progress, desc="features (generated)")
    f_held = judge_features(judge, real.heldout, jb, progress=progress, desc="features (held-out)")
    f_held2 = judge_features(judge, real.heldout2, jb, progress=progress, desc="features (held-out 2)")
    f_train = judge_features(judge, real.train, jb, progress=progress, desc="features (train)")
    lap("features")

    # 2. Fréchet distance in judge space -----------------------------------------------------------
    fd = frechet_distance(f_gen, f_held)
    fd_floor = frechet_distance(f_held, f_held2)
    lap("frechet")

    # 3. content statistics / class accuracy -------------------------------------------------------
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
        acc = class_accuracy(judge, gen, gen_classes, num_classes=k, batch_size=jb, progress=progress)
    lap("content")

    # 4. diversity: MS-SSIM within classes (AC-GAN §4.2) -------------------------------------------
    names = list(cfg.class_names) if cfg.class_names else None
    if names is None and k and data_name in ("fashion-mnist", "fashion"):
        from ..data.fashion import FASHION_CLASSES
        names = list(FASHION_CLASSES) if k == len(FASHION_CLASSES) else None
    ms_gen = msssim_per_class(gen, gen_classes, pairs_per_class, class_names=names, seed=seed + 1, **msssim_kw)
    real_names = names if real.train_labels is not None else None
    ms_real = msssim_per_class(real.train, real.train_labels, pairs_per_class, class_names=real_names,
                               seed=seed + 2, **msssim_kw)
    real_max = max(ms_real.values())
    below = float(np.mean([v < real_max for v in ms_gen.values()]))
    collapse = mode_collapse(ms_gen, f_gen, f_held)
    lap("msssim")

    # 5. memorization ------------------------------------------------------------------------------
    pix_gen, pix_gen_idx = nearest_distances(gen, real.train, progress=progress, desc="pixel NN (generated)")
    pix_held, _ = nearest_distances(real.heldout, real.train, progress=progress, desc="pixel NN (held-out)")
    pix_held2, _ = nearest_distances(real.heldout2, real.train, progress=progress, desc="pixel NN (held-out 2)")
    feat_gen, feat_gen_idx = nearest_distances(f_gen, f_train)
    feat_held, _ = nearest_distances(f_held, f_train)
    feat_held2, _ = nearest_distances(f_held2, f_train)
    thresholds = near_copy_thresholds(pix_held, feat_held, near_copy_quantile)
    flagged = flag_near_copies(pix_gen, feat_gen, thresholds)
    baseline = flag_near_copies(pix_held2, feat_held2, thresholds)
    flagged_idx = np.flatnonzero(flagged)
    memorization = {
        "near_copies": int(flagged.sum()),
        "fraction": float(flagged.mean()),
        "heldout_baseline_count": int(baseline.sum()),
        "heldout_baseline_n": int(baseline.size),
        "quantile": near_copy_quantile,
        "threshold_pixel": thresholds[0],
        "threshold_feature": thresholds[1],
        "median_pixel_distance": {"generated": float(pix_gen.median()), "heldout": float(pix_held.median())},
        "median_feature_distance": {"generated": float(feat_gen.median()), "heldout": float(feat_held.median())},
        "min_pixel_distance": {"generated": float(pix_gen.min()), "heldout": float(pix_held.min())},
        "flagged": [{"sample": int(i), "train_index_pixel": int(pix_gen_idx[i]),
                     "train_index_feature": int(feat_gen_idx[i]), "pixel_distance": float(pix_gen[i]),
                     "feature_distance": float(feat_gen[i])} for i in flagged_idx[:20]],
        "n_train_reference": int(real.train.shape[0]),
        "pixel_metric": "L2 over flattened pixels in [-1, 1]",
    }
    lap("memorization")

    # 6. perceptual path length, trained vs random weights ----------------------------------------
    ppl_kw = dict(nz=cfg.nz, prior=cfg.prior, num_classes=k, batch_size=max(jb // 2, 1), progress=progress)
    G = gan.generator
    was_training = G.training
    G.eval()
    try:
        ppl = perceptual_path_length(G, judge, n_ppl, seed=seed + 3, **ppl_kw)
    finally:
        G.train(was_training)
    G_rand = random_generator(cfg, seed=seed)
    ppl_rand = perceptual_path_length(G_rand, judge, n_ppl, seed=seed + 3, **ppl_kw)
    lap("ppl")

    def _finite(x):
        return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x

    return {
        "n": n,
        "model": {"arch": cfg.arch, "dataset": data_name, "image_size": cfg.image_size, "channels": cfg.channels,
                  "nz": cfg.nz, "prior": cfg.prior, "num_classes": cfg.num_classes, "step": int(gan.step),
                  "source": getattr(gan, "source_path", None)},
        "judge": type(judge).__name__,
        "real": {"description": real.description, "n_train": int(real.train.shape[0]),
                 "n_heldout": int(real.heldout.shape[0]), "n_heldout2": int(real.heldout2.shape[0])},
        "fd_judge": fd,
        "fd_real_floor": fd_floor,
        "fd_ratio": _finite(fd / fd_floor) if fd_floor > 0 else None,
        "content": content,
        "class_accuracy": None if acc is None else acc["accuracy"],
        "class_accuracy_detail": acc,
        "msssim_per_class": ms_gen,
        "msssim_real_per_class": ms_real,
        "msssim_real_max": real_max,
        "share_classes_below_real_max": below,
        "mode_collapse": collapse,
        "near_copies": memorization["near_copies"],
        "memorization": memorization,
        "ppl": _finite(ppl["ppl"]),
        "ppl_random_generator": _finite(ppl_rand["ppl"]),
        "ppl_detail": {"model": ppl, "random_generator": ppl_rand,
                       "distance": "squared L2 of judge features / epsilon^2"},
        "settings": {"seed": seed, "pairs_per_class": pairs_per_class, "ppl_samples": n_ppl,
                     "near_copy_quantile": near_copy_quantile, "msssim_win_size": msssim_win_size,
                     "msssim_weights": list(msssim_weights), "window_threshold": WINDOW_THRESHOLD},
        "timings": timings,
        "seconds": round(time.perf_counter() - t_start, 3),
    }
