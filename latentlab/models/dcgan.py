"""DCGAN (Radford, Metz, Chintala 2015, §3) generator and discriminator.

For image_size 64 and ngf = ndf = 64 (pytorch/examples dcgan):
    G: z (N, nz) -> block1 (N, 512, 4, 4) -> block2 (N, 256, 8, 8) -> block3 (N, 128, 16, 16)
       -> block4 (N, 64, 32, 32) -> to_rgb (N, 3, 64, 64), tanh
    D: x (N, 3, 64, 64) -> from_rgb (N, 64, 32, 32) -> block2 (N, 128, 16, 16) -> block3 (N, 256, 8, 8)
       -> block4 (N, 512, 4, 4) -> head (N,) logits
Blocks are named; activations are never in-place (retained features and attribution stay correct). The blocks
and the stacks live in :mod:`latentlab.models.blocks` (the DTN's decoder and discriminator are built from them too).
"""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .base import GeneratorBase, check_dtype, check_z, dcgan_init
from .blocks import DownBlock, UpBlock, add_down_stack, add_up_stack, run_blocks

__all__ = ["UpBlock", "DownBlock", "DCGANGenerator", "DCGANDiscriminator"]


class DCGANGenerator(GeneratorBase):
    """DCGAN generator. ``forward(z)`` with z of shape (N, nz) or (N, nz, 1, 1) -> (N, C, S, S) in [-1, 1].

    Example:
        >>> G = DCGANGenerator(ModelConfig(nz=8, ngf=8, image_size=32))
        >>> G(torch.randn(2, 8)).shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(self, config: ModelConfig, in_features: int | None = None):
        super().__init__()
        self.config = config
        cin = in_features if in_features is not None else config.nz
        add_up_stack(self, cin, config.ngf, config.n_blocks, config.channels)
        dcgan_init(self)

    def features_to_image(self, h: torch.Tensor) -> torch.Tensor:
        return self.to_rgb(run_blocks(self, h))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = check_dtype(check_z(z, self.config.nz), self, "z", "generator")
        return self.features_to_image(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator. ``forward(x)`` with x (N, C, S, S) -> logits (N,) (real > 0).

    Outputs logits rather than probabilities so the loss can use the numerically stable
    ``binary_cross_entropy_with_logits``; ``torch.sigmoid`` gives the paper's D(x).
    """

    def __init__(self, config: ModelConfig, n_outputs: int = 1):
        super().__init__()
        self.config = config
        self.feature_channels = c = add_down_stack(self, config.channels, config.ndf, config.n_blocks)
        self.head = nn.Conv2d(c, n_outputs, 4, 1, 0, bias=False)  # (N, c, 4, 4) -> (N, n_outputs, 1, 1)
        dcgan_init(self)

    def check_images(self, x) -> torch.Tensor:
        cfg = self.config
        exp = (cfg.channels, cfg.image_size, cfg.image_size)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"images: expected a torch.Tensor of shape (N, {exp[0]}, {exp[1]}, {exp[2]}), got {type(x).__name__}")
        if x.dim() != 4 or tuple(x.shape[1:]) != exp:
            raise ValueError(f"images: expected shape (N, {exp[0]}, {exp[1]}, {exp[2]}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"images: expected a float tensor in [-1, 1], got dtype {x.dtype}")
        return check_dtype(x, self, "images", "discriminator")

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        return run_blocks(self, self.check_images(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).flatten()
