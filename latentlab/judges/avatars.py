"""A small CNN that reads the cartoon avatars' attributes: smile, glasses, presentation, beard.

It measures faces -> avatars transfer (the DTN paper's faces -> emoji, Taigman et al. 2017): the
attributes of G(face) are read by this judge and compared with the source face's true attributes,
and ``features`` (the penultimate layer) gives a Fréchet distance on avatars.

Trained on ``latentlab.data.avatars`` ground truth by ``scripts/train_judge_avatars.py``; see
pretrained/JUDGES.md and pretrained/cards/judge-avatars.md.

Example::

    >>> judge = AvatarJudge.load("pretrained/judges/avatars.safetensors")   # doctest: +SKIP
    >>> out = judge.predict(images)      # images (N, 3, 64, 64) in [-1, 1]   # doctest: +SKIP
    >>> sorted(out)                                                            # doctest: +SKIP
    ['beard', 'feminine', 'glasses', 'smile']

Checkpoints are one safetensors file (never pickle) whose metadata holds
``{"format": "latentlab-judge", "judge": "avatars", "config": <json>, "sha256": <tensor digest>}``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.judges._files import JsonConfig, JudgeFile
from latentlab.judges.faces import ConvBlock

__all__ = ["AvatarJudge", "AvatarJudgeConfig", "AVATAR_JUDGE_OUTPUTS"]

JUDGE = "avatars"
AVATAR_JUDGE_OUTPUTS = ("smile", "glasses", "feminine", "beard")  # one logit each, in this order


@dataclass(frozen=True)
class AvatarJudgeConfig(JsonConfig):
    image_size: int = 64                         # input (N, 3, image_size, image_size) in [-1, 1]
    widths: tuple[int, ...] = (16, 32, 64, 128)  # channels of block1..blockK; each halves H and W
    feature_dim: int = 128                       # width of the penultimate layer (``features``)
    dropout: float = 0.1                         # before the head, only in training

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


class AvatarJudge(JudgeFile, nn.Module):
    """CNN judge for (N, 3, 64, 64) avatar images in [-1, 1].

    Layers (default config): block1 (16 @ 32x32) -> block2 (32 @ 16x16) -> block3 (64 @ 8x8)
    -> block4 (128 @ 4x4) -> flatten (2048) -> fc + fc_act (128, the ``features``) -> dropout
    -> head (4 logits: smile, glasses, feminine, beard).

    ``forward`` returns raw logits with gradients, each (N,). ``predict`` (probabilities) and
    ``features`` are for judging: eval mode, no_grad, batches of ``batch_size``, results on the
    input's device.
    """

    judge, label, config_class, load_error = JUDGE, "avatars", AvatarJudgeConfig, ValueError

    def __init__(self, config: AvatarJudgeConfig | None = None):
        super().__init__()
        if config is not None and not isinstance(config, AvatarJudgeConfig):
            raise TypeError(f"config must be an AvatarJudgeConfig or None, got {type(config).__name__}")
        self.config = config = config or AvatarJudgeConfig()
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
        self.head = nn.Linear(config.feature_dim, len(AVATAR_JUDGE_OUTPUTS))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (3, self.config.image_size, self.config.image_size)

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        param = self.fc.weight
        x = images.to(param.device, param.dtype)
        for block in self.blocks:
            x = block(x)
        return self.fc_act(self.fc(self.flatten(x)))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 3, 64, 64) -> logits, each (N,): smile, glasses, feminine, beard."""
        self._check_images(images)
        out = self.head(self.dropout(self._features(images)))
        return {name: out[:, i] for i, name in enumerate(AVATAR_JUDGE_OUTPUTS)}

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
        """Probabilities, each float32 (N,) on the input's device: smile, glasses, feminine, beard."""
        def judge(chunk):
            raw = self.forward(chunk)
            return torch.stack([raw[k] for k in AVATAR_JUDGE_OUTPUTS], dim=1).sigmoid()

        out = self._batched(judge, images, batch_size).float()
        return {name: out[:, i] for i, name in enumerate(AVATAR_JUDGE_OUTPUTS)}

    def features(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Penultimate features (N, feature_dim), after the ReLU, for Fréchet distances."""
        return self._batched(self._features, images, batch_size).float()
