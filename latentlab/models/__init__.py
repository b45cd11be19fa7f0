"""Models: DCGAN, AC-GAN and the original MLP GAN, built from a ModelConfig."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from ..hooks import eval_mode
from ..rng import resolve_rng
from ..validate import positive_int
from .acgan import ACGANDiscriminator, ACGANGenerator
from .base import GeneratorBase, check_device, check_dtype, check_z, sample_prior
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .gan import MLPDiscriminator, MLPGenerator

__all__ = [
    "GAN", "build_generator", "build_discriminator", "DCGANGenerator", "DCGANDiscriminator",
    "ACGANGenerator", "ACGANDiscriminator", "MLPGenerator", "MLPDiscriminator", "sample_prior", "check_z",
    "check_device", "check_dtype", "GeneratorBase",
]

_G = {"dcgan": DCGANGenerator, "acgan": ACGANGenerator, "gan": MLPGenerator}
_D = {"dcgan": DCGANDiscriminator, "acgan": ACGANDiscriminator, "gan": MLPDiscriminator}


def build_generator(config: ModelConfig) -> nn.Module:
    return _G[config.arch](config)


def build_discriminator(config: ModelConfig) -> nn.Module:
    return _D[config.arch](config)


class GAN(nn.Module):
    """A generator and (optionally) its discriminator, with their shared config.

    ``latentlab.load(path)`` returns one of these. ``gan.generator`` is an ordinary ``nn.Module``.
    """

    def __init__(self, config: ModelConfig, generator: nn.Module | None = None,
                 discriminator: nn.Module | None = None, *, with_discriminator: bool = True):
        super().__init__()
        self.config = config
        self.generator = generator if generator is not None else build_generator(config)
        if discriminator is None and with_discriminator:
            discriminator = build_discriminator(config)
        self.discriminator = discriminator
        self.step = 0          # training step the weights come from
        self.dataset = config.dataset
        self.info: dict = {}   # extra metadata read from the checkpoint

    @property
    def prior(self) -> str:
        return self.config.prior

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None, rng: torch.Generator | None = None,
               classes=None, batch_size: int = 256, generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate n images (n, C, S, S) in [-1, 1] in eval mode; classes required for AC-GAN. Randomness from
        ``seed`` or ``rng`` (a torch.Generator; ``generator=`` is its deprecated old name)."""
        rng = resolve_rng(rng, generator)
        positive_int(n, "n")
        positive_int(batch_size, "batch_size")
        G = self.generator
        with eval_mode(G):
            z = G.sample_z(n, rng=rng, seed=seed)
            if self.config.conditional:
                c = G.check_classes(classes, n)
                return torch.cat([G(z[i:i + batch_size], c[i:i + batch_size]) for i in range(0, n, batch_size)])
            return torch.cat([G(z[i:i + batch_size]) for i in range(0, n, batch_size)])

    def forward(self, *args, **kw):
        return self.generator(*args, **kw)
