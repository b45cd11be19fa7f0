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

import torch
from torch import nn

from latentlab.judges._files import AttributeJudge, AttributeJudgeConfig, ConvUnit

__all__ = ["FaceJudge", "FaceJudgeConfig", "FACE_JUDGE_OUTPUTS"]

JUDGE = "faces"
FACE_JUDGE_OUTPUTS = ("yaw", "smile", "glasses", "feminine")  # one output unit each, in this order


@dataclass(frozen=True)
class FaceJudgeConfig(AttributeJudgeConfig):
    """Fields and their meaning: :class:`latentlab.judges._files.AttributeJudgeConfig`."""

    widths: tuple[int, ...] = (32, 64, 96, 128)
    feature_dim: int = 256


class ConvBlock(ConvUnit):
    """ConvUnit (3x3 conv, BatchNorm, ReLU) then 2x2 max-pool: (N, C_in, H, W) -> (N, C_out, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(super().forward(x))


class FaceJudge(AttributeJudge, nn.Module):
    """CNN judge for (N, 3, 64, 64) face images in [-1, 1].

    Layers (default config): block1 (32 @ 32x32) -> block2 (64 @ 16x16) -> block3 (96 @ 8x8)
    -> block4 (128 @ 4x4) -> flatten (2048) -> fc + fc_act (256, the ``features``) -> dropout
    -> head (4 units: yaw, smile logit, glasses logit, feminine logit).

    ``forward`` returns raw outputs with gradients: ``{"yaw": (N,), "smile": (N,) logit,
    "glasses": (N,) logit, "feminine": (N,) logit}``. ``predict`` and ``features`` are for
    judging: eval mode, no_grad, batches of ``batch_size``, results on the input's device.
    """

    judge, label, config_class, load_error = JUDGE, 'faces', FaceJudgeConfig, ValueError
    outputs, block_class = FACE_JUDGE_OUTPUTS, ConvBlock

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
        """Judgements, each float32 (N,) on the input's device: ``yaw`` in [-1, 1] (-1 looks left),
        ``smile``, ``glasses``, ``feminine``: probabilities."""
        def judge(chunk):
            raw = self.forward(chunk)
            return torch.stack([raw["yaw"].clamp(-1.0, 1.0), raw["smile"].sigmoid(),
                                raw["glasses"].sigmoid(), raw["feminine"].sigmoid()], dim=1)

        return self._judged(judge, images, batch_size)
