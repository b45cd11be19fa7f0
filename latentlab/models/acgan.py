"""AC-GAN (Odena, Olah, Shlens 2017): class-conditional DCGAN with an auxiliary classifier in D."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .base import check_dtype, check_z, dcgan_init
from .dcgan import DCGANDiscriminator, DCGANGenerator

__all__ = ["ACGANGenerator", "ACGANDiscriminator"]


class ACGANGenerator(DCGANGenerator):
    """G(z, c): the class embedding (N, embed_dim) is concatenated to z (N, nz), then a DCGAN generator.

    ``forward(z, c)`` takes integer classes (N,); ``forward(z, embedding=e)`` takes embeddings directly,
    which lets walks interpolate between classes with z fixed.
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config, in_features=config.nz + config.embed_dim)
        self.embed = nn.Embedding(config.num_classes, config.embed_dim)
        dcgan_init(self.embed)

    def forward(self, z: torch.Tensor, c: torch.Tensor | int | None = None, *, embedding: torch.Tensor | None = None):
        z = check_dtype(check_z(z, self.config.nz), self, "z", "generator")
        if embedding is None:
            embedding = self.embed(self.check_classes(c, z.shape[0]).to(z.device))
        elif embedding.shape != (z.shape[0], self.config.embed_dim):
            raise ValueError(
                f"embedding: expected shape ({z.shape[0]}, {self.config.embed_dim}), got {tuple(embedding.shape)}"
            )
        h = torch.cat([z, embedding.to(z.dtype)], 1)
        return self.features_to_image(h[:, :, None, None])


class ACGANDiscriminator(DCGANDiscriminator):
    """D(x) -> (source logits (N,), class logits (N, num_classes)) from a shared DCGAN trunk."""

    def __init__(self, config: ModelConfig):
        super().__init__(config, n_outputs=1)
        self.class_head = nn.Conv2d(self.feature_channels, config.num_classes, 4, 1, 0, bias=True)
        dcgan_init(self.class_head)

    def forward(self, x: torch.Tensor):
        h = self.trunk(x)
        return self.head(h).flatten(), self.class_head(h).flatten(1)
