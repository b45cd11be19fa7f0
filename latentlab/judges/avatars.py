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

from latentlab.judges._files import AttributeJudge, AttributeJudgeConfig
from latentlab.judges.faces import ConvBlock

__all__ = ["AvatarJudge", "AvatarJudgeConfig", "AVATAR_JUDGE_OUTPUTS"]

JUDGE = "avatars"
AVATAR_JUDGE_OUTPUTS = ("smile", "glasses", "feminine", "beard")  # one logit each, in this order


@dataclass(frozen=True)
class AvatarJudgeConfig(AttributeJudgeConfig):
    """Fields and their meaning: :class:`latentlab.judges._files.AttributeJudgeConfig`."""


class AvatarJudge(AttributeJudge, nn.Module):
    """CNN judge for (N, 3, 64, 64) avatar images in [-1, 1].

    Layers (default config): block1 (16 @ 32x32) -> block2 (32 @ 16x16) -> block3 (64 @ 8x8)
    -> block4 (128 @ 4x4) -> flatten (2048) -> fc + fc_act (128, the ``features``) -> dropout
    -> head (4 logits: smile, glasses, feminine, beard).

    ``forward`` returns raw logits with gradients, each (N,). ``predict`` (probabilities) and
    ``features`` are for judging: eval mode, no_grad, batches of ``batch_size``, results on the
    input's device.
    """

    judge, label, config_class, load_error = JUDGE, "avatars", AvatarJudgeConfig, ValueError
    outputs, block_class = AVATAR_JUDGE_OUTPUTS, ConvBlock

    def __init__(self, config: AvatarJudgeConfig | None = None):
        if config is not None and not isinstance(config, AvatarJudgeConfig):
            raise TypeError(f"config must be an AvatarJudgeConfig or None, got {type(config).__name__}")
        super().__init__(config)

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
        """Probabilities, each float32 (N,) on the input's device: smile, glasses, feminine, beard."""
        def judge(chunk):
            raw = self.forward(chunk)
            return torch.stack([raw[k] for k in AVATAR_JUDGE_OUTPUTS], dim=1).sigmoid()

        return self._judged(judge, images, batch_size)
