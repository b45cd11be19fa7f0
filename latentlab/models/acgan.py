"""AC-GAN (Odena, Olah, Shlens 2017): class-conditional DCGAN with an auxiliary classifier in D."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .base import check_dtype, check_z, dcgan_init
from .dcgan import DCGANDiscriminator, DCGANGenerator

__all__ = ["ACGANGenerator", "ACGANDiscriminator"]


class OneHot(nn.Module):
    """The fixed class table of ``class_input="onehot"``: class c -> the c-th row of the identity.

    A buffer, not a parameter, so no optimiser or ``requires_grad_`` loop can change it; it is called
    ``weight`` like ``nn.Embedding``'s, so code reading ``G.embed.weight`` (class walks) works for both.
    """

    def __init__(self, num_classes: int):
        super().__init__()
        self.register_buffer("weight", torch.eye(num_classes))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(c, self.weight)


class ACGANGenerator(DCGANGenerator):
    """G(z, c): a class vector (N, class_dim) is concatenated to z (N, nz), then a DCGAN generator.

    The class vector is one-hot (``class_input="onehot"``, the AC-GAN paper's choice and the default) or a
    learned embedding (``"embedding"``). With a learned N(0, 1) embedding the generator drew its variety from
    the ten class codes and ignored z (see pretrained/README.md, "fashion"), so one-hot is the default.

    ``forward(z, c)`` takes integer classes (N,); ``forward(z, embedding=e)`` takes class vectors (N, class_dim)
    directly, which lets walks interpolate between classes with z fixed.
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config, in_features=config.nz + config.class_dim)
        if config.class_input == "onehot":
            self.embed = OneHot(config.num_classes)
        else:
            self.embed = nn.Embedding(config.num_classes, config.embed_dim)
            dcgan_init(self.embed)

    def forward(self, z: torch.Tensor, c: torch.Tensor | int | None = None, *, embedding: torch.Tensor | None = None):
        z = check_dtype(check_z(z, self.config.nz), self, "z", "generator")
        if embedding is None:
            embedding = self.embed(self.check_classes(c, z.shape[0]).to(z.device))
        elif embedding.shape != (z.shape[0], self.config.class_dim):
            raise ValueError(
                f"embedding: expected shape ({z.shape[0]}, {self.config.class_dim}) (class_input="
                f"{self.config.class_input!r}), got {tuple(embedding.shape)}"
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
