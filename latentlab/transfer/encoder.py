"""The DTN's fixed encoder f: a conv classifier whose penultimate layer is a bounded feature vector.

f (Taigman et al. 2017, digits: "four convolutional layers ... trained on SVHN", 128-d output) is trained as a
classifier on the labelled source; ``features`` is the layer before the class logits, squashed by
BatchNorm + tanh into (-1, 1). The bound matters: a feasibility run with an unbounded f let L_CONST dominate
and transfer stalled at 15% (issue 22); the bounded f reached 78% in 1,000 steps.

    x (N, C, S, S) -> block1 .. blockK (3x3 conv, BatchNorm, ReLU, 2x2 max-pool; widths) -> flatten
      -> fc (feature_dim) -> fc_bn (BatchNorm1d) -> fc_act (tanh) = features (N, feature_dim)
      -> classifier (num_classes logits, training only)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..config import Config
from ..hooks import eval_mode
from ..io import FILE_KINDS, load_part, module_tensors, read_model_file, write_model_file
from ..models.base import BatchNorm2d
from ..models.blocks import add_blocks
from ..rng import derive_seed, seeded_rng
from ..train.classify import LabelledBatches, ShuffledBatches, fit_classifier, progress_callbacks
from ..validate import number_in, positive_int

__all__ = ["EncoderConfig", "Encoder", "train_encoder", "save_encoder", "load_encoder", "encoder_accuracy",
           "encoder_logits", "ENCODER_FORMAT", "pseudo_labels", "self_train_encoder"]

ENCODER_FORMAT = FILE_KINDS["encoder"].format


DictConfig = Config  # the DTN's name for the config base class (to_dict / strict from_dict)


def check_ints(config, names, minimum: int) -> None:
    """ValueError naming the first field of ``names`` that is not an int >= ``minimum`` (bools refused)."""
    for name in names:
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            want = "a positive int" if minimum == 1 else f"an int >= {minimum}"
            raise ValueError(f"{name}: expected {want}, got {v!r}")


@dataclass(frozen=True)
class EncoderConfig(DictConfig):
    in_channels: int = 3                       # source images' channels
    image_size: int = 32                       # source images' side S (divisible by 2**len(widths))
    feature_dim: int = 128                     # f's output size (the paper's digits f: 128)
    widths: tuple = (64, 128, 256)             # channels of block1..blockK; each halves H and W
    num_classes: int = 10                      # classes of the labelled source f is trained on
    bounded: bool = True                       # BatchNorm1d + tanh on the features (False: raw linear output)

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        check_ints(self, ("in_channels", "image_size", "feature_dim", "num_classes"), minimum=1)
        if not isinstance(self.bounded, bool):
            raise ValueError(f"bounded: expected a bool, got {self.bounded!r}")
        depth = len(self.widths)
        if not depth or min(self.widths) < 1:
            raise ValueError(f"widths: expected positive channel counts, got {self.widths!r}")
        if self.image_size % 2 ** depth:
            raise ValueError(f"image_size: expected a multiple of 2**len(widths) = {2 ** depth}, got {self.image_size}")


class _EncBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = BatchNorm2d(cout)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.act(self.bn(self.conv(x))))


class Encoder(nn.Module):
    """f: ``features(x)`` (N, C, S, S) in [-1, 1] -> (N, feature_dim); ``forward(x)`` -> class logits."""

    def __init__(self, config: EncoderConfig | None = None):
        super().__init__()
        self.config = config = config or EncoderConfig()
        widths = (config.in_channels, *config.widths)
        self.block_names = add_blocks(self, [_EncBlock(a, b) for a, b in zip(widths, widths[1:])])
        side = config.image_size // 2 ** len(config.widths)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(widths[-1] * side * side, config.feature_dim)
        self.fc_bn = nn.BatchNorm1d(config.feature_dim) if config.bounded else nn.Identity()
        self.fc_act = nn.Tanh() if config.bounded else nn.Identity()
        self.classifier = nn.Linear(config.feature_dim, config.num_classes)

    @property
    def feature_dim(self) -> int:
        return self.config.feature_dim

    @property
    def input_shape(self) -> tuple:
        c = self.config
        return (c.in_channels, c.image_size, c.image_size)

    def check_images(self, x, name: str = "images") -> torch.Tensor:
        """``x`` if it is a float batch of f's input shape; else an error naming the argument ``name``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor (N, {', '.join(map(str, self.input_shape))}), "
                            f"got {type(x).__name__}")
        if x.dim() != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"{name}: expected shape (N, {', '.join(map(str, self.input_shape))}) for the "
                             f"encoder, got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name}: expected a float tensor in [-1, 1], got dtype {x.dtype}")
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_block(x)[0]

    def features_and_block(self, x: torch.Tensor, block: str | None = None) -> tuple:
        """``(features(x), output of block ``block``)`` in one pass (the second is None for ``block=None``);
        ``block`` is one of ``block_names`` (ValueError naming it otherwise). The DTN's style constancy
        (``DTNConfig.style_layer``) compares an earlier block's maps, which keep more than the class."""
        if block is not None and block not in self.block_names:
            raise ValueError(f"block: expected one of {self.block_names}, got {block!r}")
        h, kept = self.check_images(x), None
        for name in self.block_names:
            h = getattr(self, name)(h)
            if name == block:
                kept = h
        h = self.fc(self.flatten(h))
        if isinstance(self.fc_bn, nn.BatchNorm1d) and h.dtype != torch.float32:
            h = h.float()  # BatchNorm in float32 also under bf16 autocast
        return self.fc_act(self.fc_bn(h)), kept

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _check_labelled(images, labels, config: EncoderConfig):
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError("images, labels: expected torch.Tensors")
    exp = (config.in_channels, config.image_size, config.image_size)
    if images.dim() != 4 or tuple(images.shape[1:]) != exp:
        raise ValueError(f"images: expected shape (N, {exp[0]}, {exp[1]}, {exp[2]}), got {tuple(images.shape)}")
    if labels.shape != (images.shape[0],) or labels.dtype != torch.long:
        raise ValueError(f"labels: expected a long tensor of shape ({images.shape[0]},), got "
                         f"{labels.dtype} {tuple(labels.shape)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= config.num_classes):
        raise ValueError(f"labels: expected values in [0, {config.num_classes}), got [{int(labels.min())}, "
                         f"{int(labels.max())}]")


def train_encoder(config: EncoderConfig, images: torch.Tensor, labels: torch.Tensor, *, steps: int = 2000,
                  batch_size: int = 128, lr: float = 1e-3, seed: int = 0, progress: bool = False,
                  augment=None) -> Encoder:
    """Train f as a classifier (Adam, cross-entropy) on labelled source images; returns it in eval mode.

    ``augment``: None, or ``augment(batch, generator) -> batch`` applied to every training batch (e.g.
    :func:`latentlab.data.digits.augment_digits`), drawing from the same seeded generator as the batch order.
    Deterministic given ``seed`` (weights, batch order, augmentation; the global RNG is forked and restored).
    """
    _check_labelled(images, labels, config)
    positive_int(steps, "steps")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, 11))
        f = Encoder(config)
        order = ShuffledBatches(images.shape[0], batch_size, seeded_rng(seed, 12))
        opt = torch.optim.Adam(f.parameters(), lr=lr)
        fit_classifier(f, LabelledBatches(images, labels, order, augment), steps=steps, optimizer=opt,
                       scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps),
                       callbacks=progress_callbacks("encoder", bar=progress))
    return f.eval()


def pseudo_labels(f: "Encoder", images: torch.Tensor, share: float, batch_size: int = 500) -> tuple:
    """Class-balanced pseudo-labels for unlabelled ``images``: f's predicted class, kept for the
    ``round(share * N / num_classes)`` most confident images of each predicted class (fewer where f predicts a class
    less often). Returns (indices into images, their labels), both long tensors, grouped by class."""
    number_in(share, "share", 0, 1, low_open=True)
    prob = encoder_logits(f, images, batch_size).softmax(1)
    conf, pred = prob.max(1)
    per = int(round(share * len(images) / f.config.num_classes))
    keep = []
    for c in range(f.config.num_classes):
        idx = (pred == c).nonzero().flatten()
        keep.append(idx[conf[idx].argsort(descending=True)][:per])
    keep = torch.cat(keep)
    return keep, pred[keep]


def self_train_encoder(f: "Encoder", images: torch.Tensor, labels: torch.Tensor, target_images: torch.Tensor, *,
                       shares=(0.4, 0.7, 0.9), repeat: int = 3, **train_kw) -> tuple:
    """Self-training on an unlabelled target (unsupervised domain adaptation by pseudo-labels): in round r, the
    current f labels ``target_images`` (:func:`pseudo_labels` with ``shares[r]``) and a fresh f is trained
    (:func:`train_encoder` with ``train_kw``: steps, batch_size, lr, seed, augment, progress) on the labelled
    source plus the kept target images repeated ``repeat`` times. No target label is used.
    Returns (f, [{round, share, kept}, ...])."""
    if not isinstance(f, Encoder):
        raise TypeError(f"f: expected a latentlab.transfer.Encoder, got {type(f).__name__}")
    f.check_images(target_images, "target_images")
    positive_int(repeat, "repeat")
    rounds = []
    for r, share in enumerate(shares, 1):
        keep, pseudo = pseudo_labels(f, target_images, share)
        x = torch.cat([images] + [target_images[keep]] * repeat)
        y = torch.cat([labels] + [pseudo] * repeat)
        f = train_encoder(f.config, x, y, **train_kw)
        rounds.append({"round": r, "share": share, "kept": int(len(keep))})
    return f, rounds


@torch.no_grad()
def encoder_logits(f: Encoder, images: torch.Tensor, batch_size: int = 500, prepare=None) -> torch.Tensor:
    """f's class logits (N, num_classes) for ``images``, in eval mode (f's mode is restored) and in batches of
    ``batch_size``; ``prepare`` (optional) maps each batch to f's input first (e.g. uint8 -> [-1, 1] floats)."""
    with eval_mode(f):
        return torch.cat([f(x if prepare is None else prepare(x)) for x in images.split(batch_size)])


def encoder_accuracy(f: Encoder, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Share of ``images`` that f's classifier head labels correctly (eval mode)."""
    pred = encoder_logits(f, images, batch_size).argmax(1)
    return float((pred == labels).float().mean())


def save_encoder(f: Encoder, path: str | os.PathLike, *, half: bool = False, info: dict | None = None) -> Path:
    """One safetensors file (:func:`latentlab.io.write_model_file`, kind "encoder"): f's tensors, metadata
    format, format_version, config, sha256, info (JSON). Atomic, never pickle."""
    if not isinstance(f, Encoder):
        raise TypeError(f"f: expected a latentlab.transfer.Encoder, got {type(f).__name__}")
    tensors = module_tensors([("", f)], torch.float16 if half else None)
    return write_model_file(path, "encoder", tensors, json.dumps(f.config.to_dict()), {"info": json.dumps(info or {})})


def encoder_from_tensors(tensors: dict, config: EncoderConfig, path, prefix: str = "") -> Encoder:
    f = Encoder(config)
    load_part(f, tensors, prefix, path)
    return f.eval()


def load_encoder(path: str | os.PathLike) -> Encoder:
    """Rebuild f (eval mode, float32) from :func:`save_encoder`'s file; CheckpointError naming the file for a
    foreign, corrupt or newer file."""
    model_file = read_model_file(path, "encoder")
    config = model_file.config(EncoderConfig, label="bad encoder config")
    return encoder_from_tensors(model_file.tensors, config, path)
