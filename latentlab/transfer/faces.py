"""Faces -> cartoon avatars with a Domain Transfer Network: the experiment's f and measurements (Taigman et al. 2017,
faces -> emoji). The drivers are ``pretrained/train_dtn_faces.py``, ``examples/dtn_faces.py`` and the report.

The paper's f was a face-identity network and its emoji were judged by how well f retrieves the source face
from the emoji. Here the source is latentlab's procedural faces (:mod:`latentlab.data.faces`), the target the
cartoon avatars (:mod:`latentlab.data.avatars`), and everything is measured against ground truth:

* **f** (:func:`train_face_encoder`): a :class:`latentlab.transfer.Encoder` (bounded: BatchNorm + tanh,
  128-d) trained on procedural faces to classify the attributes a person keeps across domains: smiling,
  glasses style, presentation, hair length, beard style, hair colour, skin tone and lipstick (8 softmax
  groups sharing one logit vector, :data:`FACE_GROUPS`). It is the stand-in for the paper's identity
  network: an identity here *is* the attribute set (yaw, the background and the face shape are left out:
  avatars are frontal and the paper's f is pose-invariant). Why not the shipped face judge's 256-d
  features: they are unbounded (ReLU), encode yaw strongly, and only an ``Encoder`` can be stored inside
  a DTN file; the judge stays an independent referee on the face side.
* **Attribute transfer** (:func:`measure`): the avatar judge (:mod:`latentlab.judges.avatars`) reads
  smile / glasses / presentation on G(face); balanced accuracy against the face's truth. The **ceiling** is
  the same judge on the avatars drawn directly from the faces' attributes (:func:`ceiling_images`).
* **Retrieval** (the paper's measure): for each of N test faces, the rank of the true face among all N by
  the cosine distance between f(G(x_i)) and f(x_j) (1 = best; chance median ~ N/2).
* **Realism**: Fréchet distance in the avatar judge's features between G(faces) and held-out real avatars,
  divided by the real-vs-real floor (as ``latentlab evaluate``'s ``fd_ratio``).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..images import from_uint8
from ..data.avatars import HAIR_COLORS, SKINS, AvatarsDataset, avatar_from_face, default_cache_dir, render_spec
from ..data.faces import BEARD_STYLES, HAIR_LENGTHS, PRESENTATIONS, face_attributes
from ..metrics.frechet import frechet_distance
from ..train.classify import LabelledBatches, ShuffledBatches, fit_classifier, progress_callbacks
from .encoder import Encoder, EncoderConfig, encoder_logits
from .measures import backdrop_region, backdrop_std, region_std

__all__ = ["FACE_GROUPS", "face_labels", "face_encoder_config", "train_face_encoder", "group_accuracy",
           "ceiling_images", "balanced_accuracy", "retrieval_ranks", "measure", "JUDGED", "Reference", "reader_scores",
           "readers_summary"]

# (name, number of classes): one softmax group each, concatenated in the Encoder's classifier logits
FACE_GROUPS: tuple[tuple[str, int], ...] = (
    ("smiling", 2), ("glasses", 4), ("presentation", 2), ("hair_length", len(HAIR_LENGTHS)),
    ("beard_style", len(BEARD_STYLES)), ("hair_color", len(HAIR_COLORS)), ("skin", len(SKINS)), ("lipstick", 2),
)
JUDGED = (("smile", "smiling"), ("glasses", "glasses"), ("presentation", "feminine"))  # (metric, judge/truth key)


def face_labels(attributes: Sequence[Mapping]) -> torch.Tensor:
    """Face attribute dicts -> (N, len(FACE_GROUPS)) long class indices (hair colour and skin as the avatar
    map bins them, so f's groups are exactly the attributes an avatar can show)."""
    rows = []
    for a in attributes:
        spec = avatar_from_face(a)
        rows.append([int(a["smiling"]), int(a["glasses"]), PRESENTATIONS.index(a["presentation"]),
                     HAIR_LENGTHS.index(a["hair_length"]), BEARD_STYLES.index(a["beard_style"]),
                     HAIR_COLORS.index(spec["hair_color"]), SKINS.index(spec["skin"]), int(a["lipstick"])])
    return torch.tensor(rows, dtype=torch.long).reshape(-1, len(FACE_GROUPS))


def face_encoder_config(image_size: int = 64, feature_dim: int = 128, widths=(32, 64, 128, 128)) -> EncoderConfig:
    return EncoderConfig(in_channels=3, image_size=image_size, feature_dim=feature_dim, widths=tuple(widths),
                         num_classes=sum(k for _, k in FACE_GROUPS), bounded=True)


def _group_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    loss, start = 0.0, 0
    for g, (_, k) in enumerate(FACE_GROUPS):
        loss = loss + F.cross_entropy(logits[:, start:start + k], labels[:, g])
        start += k
    return loss / len(FACE_GROUPS)


def _to_float(images: torch.Tensor) -> torch.Tensor:
    if images.dtype == torch.uint8:  # (N, H, W, 3) uint8 -> (N, 3, H, W) in [-1, 1]
        return from_uint8(images, channels_last=True)
    return images.float()


def _flip_and_shift(images: torch.Tensor, gen: torch.Generator, shift: int = 3) -> torch.Tensor:
    """A batch as floats in [-1, 1], each image flipped left-right with p = 1/2 and shifted by up to ``shift``
    px (replicated border), all drawn from ``gen``."""
    x = _to_float(images)
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    size = x.shape[-1]
    padded = F.pad(x, (shift,) * 4, mode="replicate")
    dx = torch.randint(0, 2 * shift + 1, (len(x),), generator=gen)
    dy = torch.randint(0, 2 * shift + 1, (len(x),), generator=gen)
    return torch.stack([padded[i, :, dy[i]:dy[i] + size, dx[i]:dx[i] + size] for i in range(len(x))])


def train_face_encoder(images: torch.Tensor, labels: torch.Tensor, config: EncoderConfig | None = None, *,
                       steps: int = 1500, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                       log_every: int = 0) -> Encoder:
    """f for faces: an Encoder trained on the attribute groups (summed cross-entropies), with horizontal flips
    and shifts of up to 3 px (all groups are flip-invariant). ``images``: (N, 64, 64, 3) uint8 or (N, 3, 64, 64)
    float in [-1, 1]; ``labels``: (N, len(FACE_GROUPS)) long from :func:`face_labels`. Deterministic given
    ``seed`` (the global RNG is forked). Returns f in eval mode."""
    config = config or face_encoder_config()
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long or labels.shape != (len(images),
                                                                                              len(FACE_GROUPS)):
        raise ValueError(f"labels: expected a long tensor ({len(images)}, {len(FACE_GROUPS)}) from face_labels(), "
                         f"got {getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        f = Encoder(config)
        order = ShuffledBatches(len(images), batch_size, torch.Generator().manual_seed(seed + 1))
        opt = torch.optim.AdamW(f.parameters(), lr=lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
        fit_classifier(f, LabelledBatches(images, labels, order, _flip_and_shift), steps=steps, optimizer=opt,
                       scheduler=sched, loss_fn=_group_loss, callbacks=progress_callbacks("encoder", every=log_every))
    return f.eval()


@torch.no_grad()
def group_accuracy(f: Encoder, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 250) -> dict:
    """Per-group accuracy of f's classifier (eval mode) on (images, :func:`face_labels`)."""
    logits = encoder_logits(f, images, batch_size, prepare=_to_float)
    out, start = {}, 0
    for g, (name, k) in enumerate(FACE_GROUPS):
        out[name] = float((logits[:, start:start + k].argmax(1) == labels[:, g]).float().mean())
        start += k
    return out


def ceiling_images(attributes: Sequence[Mapping], size: int = 64) -> torch.Tensor:
    """The avatars drawn directly from the faces' attributes: (N, 3, size, size) float32 in [-1, 1]."""
    arr = np.stack([render_spec(avatar_from_face(a), size) for a in attributes]) if len(attributes) else \
        np.zeros((0, size, size, 3), np.uint8)
    return from_uint8(arr, channels_last=True)


def balanced_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean recall over the classes present in ``truth`` (bool arrays)."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape or pred.ndim != 1 or len(pred) == 0:
        raise ValueError(f"pred, truth: expected two non-empty 1-d arrays of one shape, got {pred.shape} and "
                         f"{truth.shape}")
    return float(np.mean([(pred[truth == c] == c).mean() for c in (False, True) if (truth == c).any()]))


def retrieval_ranks(f_query: torch.Tensor, f_gallery: torch.Tensor) -> np.ndarray:
    """Rank (1 = nearest) of gallery item i for query i by cosine distance; (N,) int."""
    if f_query.shape != f_gallery.shape or f_query.dim() != 2:
        raise ValueError(f"f_query, f_gallery: expected two (N, D) tensors of one shape, got {tuple(f_query.shape)} "
                         f"and {tuple(f_gallery.shape)}")
    q, g = F.normalize(f_query.double(), dim=1), F.normalize(f_gallery.double(), dim=1)
    dist = 1.0 - q @ g.T
    true = dist.diagonal()[:, None]
    return (1 + (dist < true).sum(1)).numpy().astype(np.int64)


def _truth(attributes: Sequence[Mapping]) -> dict:
    return {"smiling": np.array([a["smiling"] for a in attributes], bool),
            "glasses": np.array([a["glasses"] > 0 for a in attributes], bool),
            "feminine": np.array([a["presentation"] == "feminine" for a in attributes], bool)}


def _judged(judge, images: torch.Tensor, truth: dict) -> dict:
    p = judge.predict(images)
    return {metric: balanced_accuracy(p[key if key != "smiling" else "smile"].numpy() > 0.5, truth[key])
            for metric, key in JUDGED}


class Reference:
    """What a measurement compares against, computed once: test faces, their ceiling avatars, real avatars."""

    def __init__(self, n: int = 1000, face_seed: int = 1, avatar_seeds: tuple[int, int] = (202, 203),
                 size: int = 64, cache=None, judge=None):
        from ..data.faces import FacesDataset
        from ..judges import load_judge
        self.n = n
        self.judge = judge if judge is not None else load_judge("avatars")
        faces = FacesDataset(n=n, size=size, seed=face_seed)
        self.attributes = [face_attributes(i, face_seed) for i in range(n)]
        self.faces = torch.stack([faces[i][0] for i in range(n)])
        self.truth = _truth(self.attributes)
        self.ceiling = ceiling_images(self.attributes, size)
        cache = default_cache_dir() if cache is None else cache
        build = cache is not False
        real = [AvatarsDataset(n=n, size=size, seed=s, cache=cache if build else None, build=build)
                for s in avatar_seeds]
        self.real_feats = [self.judge.features(r.images()) for r in real]
        self.fd_floor = frechet_distance(*self.real_feats)
        self.ceiling_scores = _judged(self.judge, self.ceiling, self.truth)
        self.ceiling_backdrop_std = backdrop_std(self.ceiling)
        self.ceiling_backdrop = backdrop_region(self.ceiling, erode=2)  # each drawn avatar's backdrop, edges left out


def reader_scores(reader, images: torch.Tensor, truth: dict) -> dict:
    """Smile and glasses balanced accuracy of a second reader (``avatar_reader.AvatarReader``: ``predict(images)``
    -> ``{"smiling", "glasses"}`` probabilities) on ``images`` against ``truth`` (:class:`Reference`'s)."""
    p = reader.predict(images)
    return {metric: balanced_accuracy(p[key].numpy() > 0.5, truth[key]) for metric, key in JUDGED[:2]}


def _second_reader(reader, g: torch.Tensor, ref: Reference) -> dict:
    scores, ceiling = reader_scores(reader, g, ref.truth), reader_scores(reader, ref.ceiling, ref.truth)
    return {"attribute_balanced_accuracy": scores, "attribute_ceiling": ceiling,
            "ratio_to_ceiling": {k: scores[k] / ceiling[k] for k in scores}}


def readers_summary(result: dict) -> dict:
    """Smile and glasses as ratios to the ceiling by the avatar judge and by the second reader of a
    :func:`measure` result, and the spread between them (max - min) per attribute: ``{"judge": {attr: r},
    "reader": {attr: r}, "spread": {attr: d}}``. ValueError if ``result`` was measured without a reader."""
    if "reader" not in result:
        raise ValueError("result: measured without a second reader; call measure(dtn, ref, reader)")
    second = result["reader"]["ratio_to_ceiling"]
    judge = {k: result["ratio_to_ceiling"][k] for k in second}
    return {"judge": judge, "reader": dict(second),
            "spread": {k: max(judge[k], second[k]) - min(judge[k], second[k]) for k in second}}


@torch.no_grad()
def measure(dtn, ref: Reference, reader=None) -> dict:
    """Attribute balanced accuracy of G(faces) (and its ratio to the ceiling), retrieval median rank, FD ratio,
    the backdrop's flatness (:func:`~latentlab.transfer.measures.backdrop_std` of G(faces) and of the ceiling
    avatars, 0.0: a clean avatar's backdrop is one colour; ``backdrop_std_whole``: G(face)'s over the whole backdrop
    of the face's drawn avatar, :func:`~latentlab.transfer.measures.region_std`); with ``reader`` (a second reader,
    :func:`reader_scores`) also its smile / glasses numbers under "reader"."""
    g = dtn.transfer(ref.faces)
    scores = _judged(ref.judge, g, ref.truth)
    f_x = dtn.f(ref.faces).float()
    ranks = retrieval_ranks(torch.cat([dtn.f(c).float() for c in g.split(250)]), f_x)
    fd = frechet_distance(ref.judge.features(g), ref.real_feats[0])
    return {
        "n": ref.n,
        "attribute_balanced_accuracy": scores,
        "attribute_ceiling": ref.ceiling_scores,
        "ratio_to_ceiling": {k: scores[k] / ref.ceiling_scores[k] for k in scores},
        "retrieval_median_rank": float(np.median(ranks)),
        "retrieval_top1": float((ranks == 1).mean()),
        "retrieval_chance_median": (ref.n + 1) / 2,
        "fd": fd, "fd_real_floor": ref.fd_floor,
        "fd_ratio": fd / ref.fd_floor if ref.fd_floor > 0 and math.isfinite(fd) else None,
        "backdrop_std": backdrop_std(g), "backdrop_std_ceiling": ref.ceiling_backdrop_std,
        "backdrop_std_whole": region_std(g, ref.ceiling_backdrop),
        **({"reader": _second_reader(reader, g, ref)} if reader is not None else {}),
    }
