"""A second reader of cartoon avatars that shares no code with the avatar judge (issue 32).

The faces DTN's smile and glasses numbers are the avatar judge's opinion (``latentlab.judges.avatars``). This
reader is built independently of it: a plain CNN (3x3 convs, ReLU, max pooling, no BatchNorm, global average
pooling, one logit each for smiling and glasses), trained here with its own data (an avatar set the judge never
saw, rendered on the fly), its own augmentation (flips and shifts only) and its own loop. Two instances serve
the faces experiment (``pretrained/train_dtn_faces.py reader``):

* seed 0 on avatar set 404: the second *reporting* reader (``measure``);
* seed 1 on avatar set 405: the *validation* reader that picks checkpoints (``select``), so neither reporting
  reader chose the model it reports.

Files: one model file (``latentlab.io``, kind "avatar-reader": the weights, metadata ``format`` =
``latentlab-avatar-reader``, ``config`` (JSON), a tensor checksum and ``info``); never pickle.

Example::

    >>> reader = train_avatar_reader(AvatarReaderConfig(n=6000, seed=0, avatar_seed=404))   # doctest: +SKIP
    >>> reader.predict(images)["smiling"]     # images (N, 3, 64, 64) in [-1, 1] -> (N,) probabilities  # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import eval_mode
from ..io import FILE_KINDS, format_identify, load_part, module_tensors, read_model_file, write_model_file

__all__ = ["AvatarReader", "AvatarReaderConfig", "train_avatar_reader", "save_avatar_reader", "load_avatar_reader",
           "READER_OUTPUTS", "READER_FORMAT"]

READER_FORMAT = FILE_KINDS["avatar-reader"].format
READER_OUTPUTS = ("smiling", "glasses")  # one logit each, in this order


@dataclass(frozen=True)
class AvatarReaderConfig:
    n: int = 6000              # training avatars (rendered from avatar set ``avatar_seed``)
    avatar_seed: int = 404     # the avatar set (the judge was trained on set 0; the DTN on set 0; FD uses 202/203)
    seed: int = 0              # weights, batch order and augmentation
    steps: int = 900           # Adam updates
    batch_size: int = 64
    lr: float = 2e-3
    widths: tuple = (16, 32, 64, 64)
    size: int = 64

    def __post_init__(self):
        for name in ("n", "steps", "batch_size", "size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        for name in ("avatar_seed", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name}: expected an int >= 0, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr: expected a float > 0, got {self.lr!r}")
        if len(self.widths) < 1 or not all(isinstance(w, int) and w > 0 for w in self.widths):
            raise ValueError(f"widths: expected positive ints, got {self.widths!r}")


class AvatarReader(nn.Module):
    """Avatars (N, 3, S, S) in [-1, 1] -> logits (N, 2) for :data:`READER_OUTPUTS`."""

    def __init__(self, config: AvatarReaderConfig = AvatarReaderConfig()):
        super().__init__()
        self.config = config
        layers, c = [], 3
        for i, w in enumerate(config.widths):
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU()]
            if i < len(config.widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, len(READER_OUTPUTS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"images: expected shape (N, 3, H, W) in [-1, 1], got {tuple(x.shape)}")
        return self.head(self.body(x).mean((2, 3)))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 250) -> dict:
        """``{"smiling": (N,), "glasses": (N,)}`` probabilities (eval mode, float32)."""
        with eval_mode(self):
            logits = torch.cat([self(c.float()) for c in images.split(batch_size)]) if len(images) else \
                torch.zeros(0, len(READER_OUTPUTS))
        return {k: torch.sigmoid(logits[:, i]) for i, k in enumerate(READER_OUTPUTS)}


def _augment(x: torch.Tensor, gen: torch.Generator, shift: int = 2) -> torch.Tensor:
    """Left-right flips (p = 1/2) and shifts of up to ``shift`` px (replicated border)."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    size = x.shape[-1]
    padded = F.pad(x, (shift,) * 4, mode="replicate")
    d = torch.randint(0, 2 * shift + 1, (2,), generator=gen)  # one shift per batch: cheap on one core
    return padded[:, :, d[0]:d[0] + size, d[1]:d[1] + size]


def train_avatar_reader(config: AvatarReaderConfig = AvatarReaderConfig(), images=None, labels=None,
                        log_every: int = 0) -> AvatarReader:
    """Train a reader on avatars of set ``config.avatar_seed`` (rendered, or ``images`` (N, 3, S, S) in [-1, 1]
    with ``labels`` (N, 2) in {0, 1} for tests). Deterministic given ``config.seed``; the global RNG is untouched.
    Returns the reader in eval mode."""
    if images is None:
        from ..data.avatars import AvatarsDataset
        ds = AvatarsDataset(n=config.n, size=config.size, seed=config.avatar_seed)
        images = ds.images()
        a = ds.attributes()
        labels = torch.stack([torch.as_tensor(a[k]) for k in READER_OUTPUTS], 1)
    labels = torch.as_tensor(labels).float()
    if labels.shape != (len(images), len(READER_OUTPUTS)):
        raise ValueError(f"labels: expected shape ({len(images)}, {len(READER_OUTPUTS)}), got {tuple(labels.shape)}")
    gen = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        reader = AvatarReader(config)
    opt = torch.optim.Adam(reader.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.steps, pct_start=0.1)
    reader.train()
    for step in range(config.steps):
        idx = torch.randint(0, len(images), (config.batch_size,), generator=gen)
        loss = F.binary_cross_entropy_with_logits(reader(_augment(images[idx], gen)), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log_every and (step + 1) % log_every == 0:
            print(f"avatar reader step {step + 1}/{config.steps} loss {loss.item():.4f}", flush=True)
    return reader.eval()


def save_avatar_reader(reader: AvatarReader, path: str | os.PathLike, info: dict | None = None) -> Path:
    """One model file (``latentlab.io.write_model_file``, kind "avatar-reader"): the weights, the config and
    ``info`` (JSON), written atomically, so a failure never replaces an existing file."""
    if not isinstance(reader, AvatarReader):
        raise TypeError(f"reader: expected an AvatarReader, got {type(reader).__name__}")
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_model_file(path, "avatar-reader", module_tensors([("", reader)]), asdict(reader.config),
                            {"info": json.dumps(info or {})})


def load_avatar_reader(path: str | os.PathLike) -> AvatarReader:
    """The reader saved by :func:`save_avatar_reader` (eval mode). FileNotFoundError if absent; ValueError naming
    the file for another kind of file or a corrupt one."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"reader: {str(path)!r} does not exist; train it with `python "
                                f"pretrained/train_dtn_faces.py reader`")
    model_file = read_model_file(path, "avatar-reader", error=ValueError, identify=format_identify(
        "avatar-reader", f"reader: {str(path)!r} is not an avatar reader file"))
    cfg = json.loads(model_file.meta["config"])
    reader = AvatarReader(AvatarReaderConfig(**{**cfg, "widths": tuple(cfg["widths"])}))
    load_part(reader, model_file.tensors, "", path, ValueError)
    return reader.eval()
