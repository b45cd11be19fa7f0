"""Shared by every judge: files (safetensors + JSON config + a tensor checksum, never pickle), the config's
JSON round trip and the conv unit of the convolutional judges."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

from latentlab.config import Config
from latentlab.hooks import eval_mode
from latentlab.io import FILE_KINDS, digest, load_part, module_tensors, read_model_file, write_model_file  # noqa: F401 (digest: re-exported)
from latentlab.models.base import check_device
from latentlab.validate import positive_int



JsonConfig = Config  # the judges' name for the config base class (to_json and a strict from_json)


class ConvNetConfig(JsonConfig):
    """Mixin for the config of a pooled CNN judge (``widths``, ``image_size``, ``feature_dim``, ``dropout``):
    ``__post_init__`` turns ``widths`` into a tuple of ints and checks the fields; ``positive_ints`` names
    the int fields that must be >= 1."""

    positive_ints: tuple[str, ...] = ("image_size", "feature_dim")

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        for name in self.positive_ints:
            positive_int(getattr(self, name), name)
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths must be positive channel counts, got {self.widths!r}")
        if self.image_size % 2 ** len(self.widths):
            raise ValueError(f"image_size must be divisible by 2**len(widths) = {2 ** len(self.widths)}, "
                             f"got {self.image_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")


@dataclasses.dataclass(frozen=True)
class AttributeJudgeConfig(ConvNetConfig):
    """Fields of an :class:`AttributeJudge`'s config. The defaults are the avatar judge's; a judge's
    subclass may set its own (``FaceJudgeConfig``: wider blocks and features)."""

    image_size: int = 64                         # input (N, 3, image_size, image_size) in [-1, 1]
    widths: tuple[int, ...] = (16, 32, 64, 128)  # channels of block1..blockK; each halves H and W
    feature_dim: int = 128                       # width of the penultimate layer (``features``)
    dropout: float = 0.1                         # before the head, only in training


class ConvUnit(nn.Module):
    """3x3 conv (no bias: BatchNorm follows) -> BatchNorm -> ReLU; keeps H and W."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()  # not in-place: hooks may keep the features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


FORMAT = FILE_KINDS["judge"].format
RESERVED = ("format", "judge", "config", "sha256", "format_version")


def save_judge(module: nn.Module, path: str | os.PathLike, judge: str, config_json: str,
               dtype: torch.dtype | None = None, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``module``'s state atomically (:func:`latentlab.io.write_model_file`, kind "judge"). ``dtype``
    converts floating tensors; ``metadata`` adds str entries."""
    extra = dict(metadata or {})
    clash = set(extra) & set(RESERVED)
    if clash:
        raise ValueError(f"metadata may not set the reserved keys {sorted(clash)}")
    tensors = module_tensors([("", module)], dtype)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_model_file(path, "judge", tensors, config_json, {**extra, "judge": judge})


def read_judge(path, judge: str, label: str, config_from_json: Callable, error: type = ValueError):
    """Read and check a judge file -> (tensors, config). ``error`` (a ValueError type) names the file."""
    def identify(meta):
        if meta.get("format") != FORMAT or meta.get("judge") != judge:
            return (f"{path}: not a {label} judge (metadata format={meta.get('format')!r}, "
                    f"judge={meta.get('judge')!r}; expected {FORMAT!r}, {judge!r})")
        if "sha256" not in meta:  # every judge file carries one
            return f"{path}: tensor checksum missing from the metadata (corrupt file)"
        return None

    model_file = read_model_file(path, "judge", error=error, identify=identify)
    try:
        config = config_from_json(model_file.meta.get("config", ""))
    except (ValueError, TypeError) as e:
        raise error(f"{path}: bad config in metadata: {e}") from e
    return model_file.tensors, config


def load_checked(model: nn.Module, tensors: Mapping[str, torch.Tensor], path, error: type = ValueError) -> None:
    """Copy ``tensors`` into ``model`` after checking names, shapes, kinds and finiteness
    (:func:`latentlab.io.load_part`)."""
    load_part(model, dict(tensors), "", path, error)


def to_device(model: nn.Module, map_location) -> nn.Module:
    """``model.to(map_location)``, with a ValueError naming ``map_location`` for an unknown or absent device
    (torch raises a RuntimeError such as "Found no NVIDIA driver on your system")."""
    return model.to(check_device(map_location, "map_location"))


class JudgeFile:
    """``save`` / ``load`` for a judge module, shared by the three judges.

    A subclass (also an ``nn.Module`` with a ``config``) sets ``judge`` (the metadata tag), ``label`` (for
    messages), ``config_class`` (a :class:`JsonConfig`) and ``load_error`` (a ValueError type naming the
    file), and may override ``check_config`` to reject a config the current code cannot serve.
    """

    judge: str
    label: str
    config_class: type
    load_error: type = ValueError

    #: ``_batched`` feeds chunks in channels_last (oneDNN's convolutions run ~1.8x faster on CPUs for U-Nets)
    batch_channels_last: bool = False
    #: ``_batched`` refuses images outside [-1, 1] (NaN, [0, 255]) before judging them
    batch_check_range: bool = False

    def _check_images(self, images, check_range: bool = False) -> None:
        """TypeError / ValueError unless ``images`` is a float tensor of shape (N, *self.input_shape)
        (and, with ``check_range``, within [-1, 1])."""
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
        if not images.is_floating_point():
            raise TypeError(f"images must be a floating tensor in [-1, 1], got dtype {images.dtype}")
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(f"images must have shape (N, {', '.join(map(str, self.input_shape))}), "
                             f"got {tuple(images.shape)}")
        if check_range and images.numel():
            lo, hi = torch.aminmax(images.detach())
            if not (lo >= -1.001 and hi <= 1.001):  # catches NaN and [0, 255]; [0, 1] needs x * 2 - 1
                raise ValueError(f"images must be in [-1, 1], got values in [{lo:.3g}, {hi:.3g}]")

    @torch.no_grad()
    def _batched(self, fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                 batch_size: int) -> torch.Tensor:
        """``fn`` over chunks of ``batch_size`` images in eval mode (the mode is restored), no gradients;
        the outputs concatenated on the images' device."""
        self._check_images(images, check_range=self.batch_check_range)
        positive_int(batch_size, "batch_size")
        param = next(self.parameters())
        fmt = torch.channels_last if self.batch_channels_last else torch.contiguous_format
        with eval_mode(self):
            chunks = images.split(batch_size) or (images,)
            outs = [fn(c.to(param.device, param.dtype).contiguous(memory_format=fmt)).to(images.device)
                    for c in chunks]
            return torch.cat(outs) if len(outs) > 1 else outs[0]

    def save(self, path: str | os.PathLike, dtype: torch.dtype | None = None,
             metadata: Mapping[str, str] | None = None) -> None:
        """Write one safetensors file atomically (``latentlab.io.write_model_file``, kind "judge").

        ``dtype`` (e.g. torch.float16) converts the floating tensors; None keeps them. ``metadata``:
        extra str -> str entries (e.g. training provenance), not the reserved keys
        format/format_version/judge/config/sha256. Loading converts back to float32.
        """
        save_judge(self, path, self.judge, self.config.to_json(), dtype, metadata)

    @classmethod
    def check_config(cls, config, path) -> None:
        """Raise ``load_error`` naming ``path`` for a config this code cannot rebuild (default: accept)."""

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu"):
        """Rebuild a saved judge in eval mode, float32.

        Raises ``load_error`` (a ValueError; ``latentlab.io.CheckpointError`` for unreadable files) naming
        the file for a corrupt or truncated file, a foreign checkpoint, a bad config or mismatched
        tensors; FileNotFoundError if the file is absent.
        """
        tensors, config = read_judge(path, cls.judge, cls.label, cls.config_class.from_json, cls.load_error)
        cls.check_config(config, path)
        model = cls(config)
        load_checked(model, tensors, path, cls.load_error)
        return to_device(model, map_location).eval()


class PooledConvNet(JudgeFile):
    """A :class:`JudgeFile` whose trunk is ``block1``..``blockK`` (each halving H and W), ``flatten`` and
    ``fc`` + ``fc_act`` (the ``features``), then ``dropout`` before the subclass's last layer.

    ``cast_inputs``: ``_features`` moves the images to the parameters' device and dtype first.
    """

    cast_inputs: bool = False

    def _add_trunk(self, config, in_channels: int, make_block: Callable[[int, int], nn.Module]) -> None:
        """Register the blocks (``make_block(c_in, c_out)`` per width of ``config.widths``), ``flatten``,
        ``fc``, ``fc_act`` and ``dropout``, in this order (it fixes the state_dict keys and the
        initialisation's draws)."""
        self.blocks = []
        channels = in_channels
        for i, width in enumerate(config.widths, start=1):
            block = make_block(channels, width)
            self.add_module(f"block{i}", block)
            self.blocks.append(block)
            channels = width
        side = config.image_size // 2 ** len(config.widths)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels * side * side, config.feature_dim)
        self.fc_act = nn.ReLU()  # not in-place: hooks may keep the features
        self.dropout = nn.Dropout(config.dropout)

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        if self.cast_inputs:
            param = self.fc.weight
            x = x.to(param.device, param.dtype)
        for block in self.blocks:
            x = block(x)
        return self.fc_act(self.fc(self.flatten(x)))  # (N, feature_dim)


class AttributeJudge(PooledConvNet):
    """A :class:`PooledConvNet` on RGB images whose ``head`` gives one unit per name of ``outputs``
    (the face and avatar judges); outputs are dicts of (N,) tensors in that order."""

    outputs: tuple[str, ...]
    block_class: type  # (in_channels, out_channels) -> a block that halves H and W
    cast_inputs = True

    def __init__(self, config=None):
        super().__init__()
        self.config = config = config or self.config_class()
        self._add_trunk(config, 3, self.block_class)
        self.head = nn.Linear(config.feature_dim, len(self.outputs))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (3, self.config.image_size, self.config.image_size)

    def _named(self, out: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: out[:, i] for i, name in enumerate(self.outputs)}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 3, H, W) -> raw outputs, each (N,), named by ``outputs``."""
        self._check_images(images)
        return self._named(self.head(self.dropout(self._features(images))))

    def _judged(self, judge: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                batch_size: int) -> dict[str, torch.Tensor]:
        """``judge`` (chunk -> (n, len(outputs))) over batches, float32, named by ``outputs``."""
        return self._named(self._batched(judge, images, batch_size).float())

    def features(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Penultimate features (N, feature_dim), after the ReLU, for Fréchet distances."""
        return self._batched(self._features, images, batch_size).float()
