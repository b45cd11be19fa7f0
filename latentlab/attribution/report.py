"""The discriminator-filters report (DCGAN §6.2, made quantitative): trained D vs a random D.

``filter_report(gan, "rooms", n=2000)`` computes, for one layer of the trained discriminator and of a
randomly initialised one of the same architecture (seeded):

1. activations of every filter on n images with ground-truth label maps;
2. per-filter IoU with every class (:func:`~latentlab.attribution.semantic.filter_iou`);
3. views of the most window/bed-like filters: top images, activation maps, guided-backprop maps.

The result holds arrays and numbers; its figures and files (``filters.json``, ``filters.html``, PNGs) are
written by the application layer, ``latentlab.app.filters.write_filter_report``. Example::

    >>> gan = latentlab.load_pretrained("rooms")
    >>> rep = filter_report(gan, "rooms", n=2000)          # block4, top 20% per filter
    >>> rep.summary()["trained_semantic_filters"], rep.summary()["random_semantic_filters"]   # (10, 1)

The default threshold keeps the top 20% of each filter's upsampled activations (``quantile=0.2``). GAN
Dissection's top 0.5% (``quantile=0.005``) is meant for large feature maps: on the 4x4 maps of a 64 px DCGAN's
last block it caps a filter's IoU near 0.026 (``iou_bound``), so no filter of either D counts as semantic.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..images import from_uint8
from ..models.base import check_device
from ..validate import options_of, positive_int
from ._common import check_images, prepare, resolve_layer
from .filters import FilterViews, filter_views, layer_activations, random_like, top_images
from .semantic import SemanticScores, filter_iou

__all__ = ["FilterReport", "FilterSettings", "filter_report", "load_labelled_images", "DEFAULT_QUANTILE"]


def load_labelled_images(data, n: int, *, size: int = 64, seed: int = 1, cache=None):
    """Images (n, 3, S, S) float in [-1, 1], label maps (n, S, S) uint8 and class names.

    Args:
        data: "rooms" (procedural scenes of family ``seed``; the rooms model trains on seed 0, so
            the default seed 1 gives held-out scenes) or a dataset with ``ds[i] -> (image, _)``,
            ``label_maps(indices)`` and ``classes``.
        n: number of images (the first n).
    """
    positive_int(n, "n")
    if isinstance(data, str):
        if data.lower() != "rooms":
            raise ValueError(f"data: filter dissection needs label maps; built-in labelled datasets are ('rooms',), "
                             f"got {data!r}")
        from ..data.rooms import RoomsDataset
        ds = RoomsDataset(n=n, size=size, seed=seed, cache=cache)
        if ds.cache is None:  # render each scene once (image and labels together)
            scenes = [ds.sample(i) for i in range(n)]
            img = np.stack([s.image for s in scenes])
            lab = np.stack([s.labels for s in scenes])
        else:
            img = np.stack([ds.image(i) for i in range(n)])
            lab = ds.label_maps(range(n))
        x = from_uint8(img, channels_last=True)
        return x, lab, tuple(ds.classes)
    if not (hasattr(data, "label_maps") and hasattr(data, "classes") and hasattr(data, "__getitem__")):
        raise TypeError(f"data: expected 'rooms' or a dataset with label_maps() and classes, got {type(data).__name__}")
    if n > len(data):
        raise ValueError(f"n: the dataset has {len(data)} images, got n={n}")
    x = torch.stack([data[i][0] for i in range(n)])
    return x, np.asarray(data.label_maps(range(n))), tuple(data.classes)


@dataclass
class FilterReport:
    """Result of :func:`filter_report`; ``summary()`` is what ``filters.json`` holds."""

    layer: str
    trained: SemanticScores
    random: SemanticScores
    trained_views: FilterViews
    random_views: FilterViews
    trained_top: np.ndarray          # (F,) index of each trained filter's top image
    random_top: np.ndarray
    semantic_classes: tuple
    min_iou: float
    info: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)      # wall-clock seconds per stage
    cpu_timings: dict = field(default_factory=dict)  # CPU seconds (user + system, all threads) per stage

    @property
    def n_filters(self) -> int:
        return int(self.trained.iou.shape[0])

    def _per_filter(self, s: SemanticScores, top: np.ndarray) -> list[dict]:
        cols = {c: s.class_index(c) for c in self.semantic_classes}
        out = []
        for f, d in enumerate(s.per_filter()):
            d["top_image"] = int(top[f])
            for c, j in cols.items():
                d[f"{c}_iou"] = round(float(s.iou[f, j]), 4)
            out.append(d)
        return out

    def summary(self) -> dict:
        t, r = self.trained, self.random
        share = t.class_area / max(t.class_area.sum(), 1)
        return {
            **self.info,
            "layer": self.layer,
            "n_filters": self.n_filters,
            "n_images": t.n_images,
            "quantile": t.quantile,
            "semantic_classes": list(self.semantic_classes),
            "min_iou": self.min_iou,
            "trained_semantic_filters": t.count(self.semantic_classes, self.min_iou),
            "random_semantic_filters": r.count(self.semantic_classes, self.min_iou),
            "trained_semantic_fraction": round(t.count(self.semantic_classes, self.min_iou) / self.n_filters, 4),
            "trained_best_iou": round(float(t.best_iou.max()), 4),
            "random_best_iou": round(float(r.best_iou.max()), 4),
            "class_share": {c: round(float(a), 5) for c, a in zip(t.class_names, share)},
            "mask_share": {"trained": round(t.mask_share, 5), "random": round(r.mask_share, 5)},
            "iou_bound": {c: round(float(b), 4) for c, b in zip(t.class_names, t.iou_bound)},
            "per_filter": self._per_filter(t, self.trained_top),
            "random_per_filter": self._per_filter(r, self.random_top),
            "shown_filters": {"trained": self.trained_views.filters.tolist(),
                              "random": self.random_views.filters.tolist()},
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "cpu_timings": {k: round(v, 3) for k, v in self.cpu_timings.items()},
            "seconds": round(sum(self.timings.values()), 3),
            "cpu_seconds": round(sum(self.cpu_timings.values()), 3),
        }


def _rank(s: SemanticScores, classes) -> np.ndarray:
    """Filters by IoU with the semantic classes (then by best IoU), most semantic first."""
    sem = s.iou[:, [s.class_index(c) for c in classes]].max(1)
    return np.lexsort((np.arange(len(sem)), -s.best_iou, -sem))


DEFAULT_QUANTILE = 0.2      # top 20% per filter; GAN Dissection's 0.005 caps the IoU near 0.026 on a 4x4 map


@dataclass(frozen=True)
class FilterSettings:
    """The less common knobs of :func:`filter_report`."""

    data_seed: int = 1            # rooms scene family (1 = held out; the rooms model trains on 0)
    random_seed: int = 0          # seed of the random D's DCGAN initialisation
    # "data" (top images among the n dataset images) or "samples" (among n samples of the GAN's generator,
    # seeded by sample_seed)
    views_from: str = "data"
    sample_seed: int = 0
    # a filter is semantic when its IoU with one of these classes is >= min_iou
    semantic_classes: tuple = ("window", "bed")
    min_iou: float = 0.2
    batch_size: int = 250         # images per forward pass for the activations
    cache: object = None          # where rendered rooms are cached (see load_labelled_images)


def filter_report(model, data="rooms", *, n: int = 2000, layer: str | None = None, quantile: float = DEFAULT_QUANTILE,
                  k: int = 4, n_show: int = 8, device=None, settings: FilterSettings | None = None) -> FilterReport:
    """Filter views and per-filter IoU for a trained discriminator and a random one (DCGAN §6.2).

    Args:
        model: a latentlab ``GAN`` (its ``discriminator`` is used) or any discriminator ``nn.Module``.
        data: "rooms" or a dataset with label maps (see :func:`load_labelled_images`).
        n: images for the IoU (and for the top images when ``settings.views_from="data"``).
        layer: dotted layer name; default D's last conv block (``block4`` for 64 px).
        quantile: top fraction of upsampled activations kept per filter (see ``semantic.py``); default 0.2,
            GAN Dissection's is 0.005.
        k: top images per shown filter; n_show: filters shown per D (its most window/bed-like).
        device: where both discriminators run ("cpu", "cuda", ...; D is moved there in place); results on the CPU.
        settings: a :class:`FilterSettings` (seeds, where the views come from, the semantic classes and their
            IoU threshold, batch size, cache); default ``FilterSettings()``.
    """
    st = options_of(settings, FilterSettings, "settings", "latentlab.attribution")
    data_seed, random_seed, views_from, semantic_classes = st.data_seed, st.random_seed, st.views_from, \
        st.semantic_classes
    clock = _Clock()
    with clock.stage("data"):
        D, gen, info = _discriminator(model)
        check_device(device)                 # before the data are rendered: a bad device fails fast
        _check_report_args(views_from, gen, k, n_show, quantile)
        if layer is not None:
            resolve_layer(D, layer)
        size = getattr(getattr(D, "config", None), "image_size", 64)
        images, labels, classes = load_labelled_images(data, n, size=size, seed=data_seed, cache=st.cache)
        check_images(D, images, name="data images")
        for c in semantic_classes:
            if c not in classes:
                raise ValueError(f"semantic_classes: unknown class {c!r}; the data's classes are {list(classes)}")
    with clock.stage("activations"):
        dev, images, layer = prepare(D, images, layer, device)
        pair = {"trained": D, "random": random_like(D, seed=random_seed)}
        acts = {key: layer_activations(m, images, layer, batch_size=st.batch_size, device=dev)
                for key, m in pair.items()}
    with clock.stage("iou"):
        scores = {key: filter_iou(a, labels, classes, quantile=quantile) for key, a in acts.items()}
    with clock.stage("views"):
        if views_from == "samples":
            images = gen.sample(n, seed=st.sample_seed)
            acts = {key: layer_activations(m, images, layer, batch_size=st.batch_size, device=dev)
                    for key, m in pair.items()}
        n_show, k = min(n_show, acts["trained"].shape[1]), min(k, len(images))
        views = {key: filter_views(m, images, layer, filters=_rank(scores[key], semantic_classes)[:n_show].tolist(),
                                   k=k, activations=acts[key], device=dev) for key, m in pair.items()}
        top = {key: top_images(a, 1)[1][:, 0].numpy() for key, a in acts.items()}
    info.update({"data": data if isinstance(data, str) else type(data).__name__, "data_seed": data_seed,
                 "random_seed": random_seed, "views_from": views_from, "torch_threads": torch.get_num_threads()})
    return FilterReport(layer=layer, trained=scores["trained"], random=scores["random"], trained_views=views["trained"],
                        random_views=views["random"], trained_top=top["trained"], random_top=top["random"],
                        semantic_classes=tuple(semantic_classes), min_iou=float(st.min_iou), info=info,
                        timings=clock.wall, cpu_timings=clock.cpu)


class _Clock:
    """Wall-clock and CPU seconds (user + system, all threads) per named stage."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str):
        tw, tc = time.perf_counter(), time.process_time()
        yield
        self.wall[name], self.cpu[name] = time.perf_counter() - tw, time.process_time() - tc


def _discriminator(model) -> tuple[nn.Module, object, dict]:
    """(discriminator, the GAN or None, info) of a latentlab GAN or a bare discriminator module."""
    if hasattr(model, "discriminator") and hasattr(model, "generator"):
        if model.discriminator is None:
            raise ValueError("model: this GAN has no discriminator (the file was saved without it)")
        return model.discriminator, model, {"step": int(getattr(model, "step", 0)),
                                            "dataset": getattr(model, "dataset", "")}
    if isinstance(model, nn.Module):
        return model, None, {}
    raise TypeError(f"model: expected a latentlab GAN or a discriminator nn.Module, got {type(model).__name__}")


def _check_report_args(views_from, gen, k, n_show, quantile) -> None:
    if views_from not in ("data", "samples"):
        raise ValueError(f"views_from: expected 'data' or 'samples', got {views_from!r}")
    if views_from == "samples" and gen is None:
        raise ValueError("views_from: 'samples' needs a GAN with a generator, got a bare discriminator")
    for name, v in (("k", k), ("n_show", n_show)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive int, got {v!r}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile: expected a fraction 0 < quantile < 1 (0.005 = top 0.5%), got {quantile!r}")
