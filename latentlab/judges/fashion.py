"""A small CNN that judges Fashion-MNIST images: class accuracy of samples and features for distances.

Used as the "Inception" of the Fashion-MNIST experiments: AC-GAN's class accuracy of generated
samples (Odena et al. 2017, the share a pretrained classifier assigns to the intended class),
a Fréchet distance on ``features`` (Heusel et al. 2017, with this network in place of Inception),
and nearest-neighbour memorization checks in feature space.

Example::

    >>> judge = FashionClassifier.load("pretrained/judges/fashion.safetensors")  # doctest: +SKIP
    >>> judge.predict(images)           # images (N, 1, 32, 32) in [-1, 1]  # doctest: +SKIP
    tensor([9, 2, 1, ...])

Checkpoints are one safetensors file (never pickle); its metadata holds
``{"format": "latentlab-judge", "judge": "fashion", "config": <json>, "sha256": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.judges._files import ConvNetConfig, ConvUnit, PooledConvNet
from latentlab.judges._files import digest as _digest  # noqa: F401 (tests build files with it)

__all__ = ["FashionClassifier", "FashionClassifierConfig"]

JUDGE = "fashion"


@dataclass(frozen=True)
class FashionClassifierConfig(ConvNetConfig):
    in_channels: int = 1                 # grayscale
    image_size: int = 32                 # Fashion-MNIST padded 28 -> 32 (latentlab.data.fashion)
    num_classes: int = 10                # FASHION_CLASSES
    widths: tuple[int, ...] = (16, 32, 64)  # channels of block1..blockK; each block halves H and W
    convs_per_block: int = 2             # 3x3 conv + BatchNorm + ReLU units per block
    feature_dim: int = 256               # width of the penultimate layer that features() returns
    dropout: float = 0.3                 # before the last layer, active only in training

    positive_ints = ("in_channels", "image_size", "num_classes", "convs_per_block", "feature_dim")


class ConvBlock(nn.Module):
    """``conv1``..``convK`` (ConvUnit) then 2x2 max-pool: (N, C_in, H, W) -> (N, C_out, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int, num_convs: int):
        super().__init__()
        self.units = []
        for i in range(1, num_convs + 1):
            unit = ConvUnit(in_channels if i == 1 else out_channels, out_channels)
            self.add_module(f"conv{i}", unit)
            self.units.append(unit)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for unit in self.units:
            x = unit(x)
        return self.pool(x)


class FashionClassifier(PooledConvNet, nn.Module):
    """CNN classifier for (N, 1, 32, 32) images in [-1, 1] (background -1).

    Layers (default config): block1 (16 @ 16x16) -> block2 (32 @ 8x8) -> block3 (64 @ 4x4)
    -> flatten (1024) -> fc + fc_act (256, the ``features``) -> dropout -> classifier (10 logits).

    ``forward`` returns logits with gradients (for training or guidance). ``predict``,
    ``predict_proba`` and ``features`` are for judging: they run in eval mode under no_grad, in
    batches of ``batch_size``, on the model's device, and return tensors on the input's device.
    """

    judge, label, config_class, load_error = JUDGE, 'Fashion-MNIST', FashionClassifierConfig, ValueError
    batch_check_range = True

    def __init__(self, config: FashionClassifierConfig | None = None):
        super().__init__()
        self.config = config = config or FashionClassifierConfig()
        self._add_trunk(config, config.in_channels,
                        lambda c_in, c_out: ConvBlock(c_in, c_out, config.convs_per_block))
        self.classifier = nn.Linear(config.feature_dim, config.num_classes)

    # -- shapes -------------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        c = self.config
        return (c.in_channels, c.image_size, c.image_size)

    # -- computation --------------------------------------------------------------------------
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) -> logits (N, num_classes)."""
        self._check_images(images)
        return self.classifier(self.dropout(self._features(images)))

    def logits(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Eval-mode logits (N, num_classes), no gradients."""
        return self._batched(self.forward, images, batch_size)

    def predict_proba(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Class probabilities (N, num_classes), rows sum to 1."""
        return F.softmax(self.logits(images, batch_size), dim=1)

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Predicted class indices, LongTensor (N,)."""
        return self.logits(images, batch_size).argmax(dim=1)

    def features(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Penultimate features (N, feature_dim), after the ReLU, for Fréchet / nearest-neighbour use."""
        return self._batched(self._features, images, batch_size)


