"""A small CNN that reads the procedural faces' attributes: yaw, smile, glasses, presentation.

It measures the DCGAN face experiments (Radford et al. 2015, §6.3.2): whether "smiling woman -
neutral woman + neutral man" decodes to a smiling man, whether "man with glasses - man + woman"
gives a woman with glasses, and how far the "turn" vector rotates the head. ``features`` (the
penultimate layer) stands in for Inception in a Fréchet distance on faces.

Trained on ``latentlab.data.faces`` by ``scripts/train_judge_faces.py``; see pretrained/JUDGES.md.

Example::

    >>> judge = FaceJudge.load("pretrained/judges/faces.safetensors")   # doctest: +SKIP
    >>> out = judge.predict(images)     # images (N, 3, 64, 64) in [-1, 1]  # doctest: +SKIP
    >>> out["yaw"].shape, out["smile"].shape                              # doctest: +SKIP
    (torch.Size([N]), torch.Size([N]))

Checkpoints are one safetensors file (never pickle) whose metadata holds
``{"format": "latentlab-judge", "judge": "faces", "config": <json>, "sha256": <tensor digest>}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from latentlab.judges._files import ConvUnit, JsonConfig, JudgeFile

__all__ = ["FaceJudge", "FaceJudgeConfig", "FACE_JUDGE_OUTPUTS"]

JUDGE = "faces"
FACE_JUDGE_OUTPUTS = ("yaw", "smile", "glasses", "feminine")  # one output unit each, in this order


@dataclass(frozen=True)
class FaceJudgeConfig(JsonConfig):
    image_size: int = 64                        # input (N, 3, image_size, image_size) in [-1, 1]
    widths: tuple[int, ...] = (32, 64, 96, 128)  # channels of block1..blockK; each halves H and W
    feature_dim: int = 256                      # width of the penultimate layer (``features``)
    dropout: float = 0.1                        # before the heads, only in training

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        for name in ("image_size", "feature_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths must be positive channel counts, got {self.widths!r}")
        if self.image_size % 2 ** len(self.widths):
            raise ValueError(f"image_size must be divisible by 2**len(widths) = {2 ** len(self.widths)}, "
                             f"got {self.image_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")


class ConvBlock(ConvUnit):
    """ConvUnit (3x3 conv, BatchNorm, ReLU) then 2x2 max-pool: (N, C_in, H, W) -> (N, C_out, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(super().forward(x))


class FaceJudge(JudgeFile, nn.Module):
    """CNN judge for (N, 3, 64, 64) face images in [-1, 1].

    Layers (default config): block1 (32 @ 32x32) -> block2 (64 @ 16x16) -> block3 (96 @ 8x8)
    -> block4 (128 @ 4x4) -> flatten (2048) -> fc + fc_act (256, the ``features``) -> dropout
    -> head (4 units: yaw, smile logit, glasses logit, feminine logit).

    ``forward`` returns raw outputs with gradients: ``{"yaw": (N,), "smile": (N,) logit,
    "glasses": (N,) logit, "feminine": (N,) logit}``. ``predict`` and ``features`` are for
    judging: eval mode, no_grad, batches of ``batch_size``, results on the input's device.
    """

    judge, label, config_class, load_error = JUDGE, 'faces', FaceJudgeConfig, ValueError

    def __init__(self, config: FaceJudgeConfig | None = None):
        super().__init__()
        self.config = config = config or FaceJudgeConfig()
        self.blocks = []
        channels = 3
        for i, width in enumerate(config.widths, start=1):
            block = ConvBlock(channels, width)
            self.add_module(f"block{i}", block)
            self.blocks.append(block)
            channels = width
        side = config.image_size // 2 ** len(config.widths)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels * side * side, config.feature_dim)
        self.fc_act = nn.ReLU()
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.feature_dim, len(FACE_JUDGE_OUTPUTS))

    # -- shapes -------------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (3, self.config.image_size, self.config.image_size)

    # -- computation --------------------------------------------------------------------------
    def _features(self, images: torch.Tensor) -> torch.Tensor:
        param = self.fc.weight
        x = images.to(param.device, param.dtype)
        for block in self.blocks:
            x = block(x)
        return self.fc_act(self.fc(self.flatten(x)))  # (N, feature_dim)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 3, 64, 64) -> raw outputs, each (N,): yaw (regression), smile/glasses/feminine logits."""
        self._check_images(images)
        out = self.head(self.dropout(self._features(images)))
        return {name: out[:, i] for i, name in enumerate(FACE_JUDGE_OUTPUTS)}

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
        """Judgements, each float32 (N,) on the input's device: ``yaw`` in [-1, 1] (-1 looks left),
        ``smile``, ``glasses``, ``feminine``: probabilities."""
        def judge(chunk):
            raw = self.forward(chunk)
            return torch.stack([raw["yaw"].clamp(-1.0, 1.0), raw["smile"].sigmoid(),
                                raw["glasses"].sigmoid(), raw["feminine"].sigmoid()], dim=1)

        out = self._batched(judge, images, batch_size).float()
        return {name: out[:, i] for i, name in enumerate(FACE_JUDGE_OUTPUTS)}

    def features(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Penultimate features (N, feature_dim), after the ReLU, for Fréchet distances."""
        return self._batched(self._features, images, batch_size).float()


