"""Any generator as a latent-space model: z (N, nz) -> images (N, C, H, W), batched, no_grad, eval mode.

Every analysis in ``latentlab.latent`` goes through ``LatentModel`` so that it works the same on our
``GAN`` / generators (prior and nz read from the config) and on a user's own module (prior required,
nz inferred from the first layer or given).

Example::

    >>> lm = LatentModel(gan)                                   # doctest: +SKIP
    >>> lm = LatentModel(my_netG, prior="normal")               # a pytorch/examples Generator  # doctest: +SKIP
    >>> images = lm.generate(lm.sample_z(16, seed=0))            # (16, C, H, W)  # doctest: +SKIP
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn

from ..config import PRIORS, ModelConfig
from ..models.base import check_z, sample_prior

__all__ = ["LatentModel", "as_latent_model", "first_layer"]


def first_layer(module: nn.Module, layer: str | None = None) -> tuple[str, nn.Module]:
    """The first ConvTranspose2d / Conv2d / Linear sub-module in registration order (or the named one)."""
    if layer is not None:
        from ..hooks import get_module
        return layer, get_module(module, layer)
    for name, m in module.named_modules():
        if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d, nn.Linear)):
            return name, m
    raise ValueError(f"generator: found no ConvTranspose2d, Conv2d or Linear layer in {type(module).__name__}; "
                     "give the layer name (layer=...) or nz")


def _in_features(m: nn.Module) -> int:
    if isinstance(m, nn.ConvTranspose2d):
        return m.weight.shape[0]       # (in, out, kh, kw)
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        return m.weight.shape[1]       # (out, in, ...)
    raise TypeError(f"layer: expected ConvTranspose2d, Conv2d or Linear, got {type(m).__name__}")


class LatentModel:
    """Wrap a generator (a latentlab ``GAN``, one of our generators, or any ``nn.Module``).

    Args:
        generator: ``GAN`` (its ``.generator`` is used), a latentlab generator, or any module mapping
            z (N, nz) or (N, nz, 1, 1) to images (N, C, H, W).
        prior: "normal" or "uniform". Read from the config for our models (a different value given here
            wins, with a warning); required for a foreign module.
        nz: size of z. Read from the config, else inferred from the first ConvTranspose2d/Conv2d/Linear.
        z_dims: 2 to call the module with (N, nz), 4 with (N, nz, 1, 1). Default: 2 for our models,
            4 for a foreign module whose first layer is a convolution, else 2.
        batch_size: images generated per forward pass.
    """

    def __init__(self, generator, prior: str | None = None, *, nz: int | None = None, z_dims: int | None = None,
                 batch_size: int = 64):
        if isinstance(generator, LatentModel):  # re-wrap: keep its settings unless overridden
            prior, nz = prior or generator.prior, nz or generator.nz
            z_dims = z_dims or generator.z_dims
            generator = generator.module
        from ..models import GAN
        config = getattr(generator, "config", None)
        module = generator.generator if isinstance(generator, GAN) else generator
        if not isinstance(module, nn.Module):
            raise TypeError(f"generator: expected an nn.Module (or a latentlab GAN), got {type(generator).__name__}")
        self.module = module
        self.config = config if config is not None else getattr(module, "config", None)
        self.ours = isinstance(self.config, ModelConfig)
        if self.ours:
            if prior is not None and prior != self.config.prior:
                warnings.warn(f"prior: the model was trained with {self.config.prior!r}; using {prior!r} as given",
                              stacklevel=2)
            prior = prior or self.config.prior
            if nz is not None and nz != self.config.nz:
                raise ValueError(f"nz: the model's config has nz={self.config.nz}, got nz={nz}")
            nz = self.config.nz
        elif prior is None:
            raise ValueError(f"prior: required for a generator that is not a latentlab model "
                             f"({type(module).__name__}); expected one of {PRIORS}")
        if prior not in PRIORS:
            raise ValueError(f"prior: expected one of {PRIORS}, got {prior!r}")
        self.prior = prior
        if nz is None:
            _, layer = first_layer(module)
            nz = _in_features(layer)
        if isinstance(nz, bool) or not isinstance(nz, int) or nz < 1:
            raise ValueError(f"nz: expected a positive int, got {nz!r}")
        self.nz = nz
        if z_dims is None:
            if self.ours:
                z_dims = 2
            else:
                _, layer = first_layer(module)
                z_dims = 4 if isinstance(layer, (nn.ConvTranspose2d, nn.Conv2d)) else 2
        if z_dims not in (2, 4):
            raise ValueError(f"z_dims: expected 2 or 4, got {z_dims!r}")
        self.z_dims = z_dims
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        self.batch_size = batch_size

    # -- properties ----------------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        return bool(self.ours and getattr(self.config, "conditional", False))

    @property
    def num_classes(self) -> int:
        return int(getattr(self.config, "num_classes", 0)) if self.conditional else 0

    @property
    def dataset(self) -> str:
        return str(getattr(self.config, "dataset", "") or "") if self.ours else ""

    @property
    def device(self) -> torch.device:
        p = next(self.module.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    # -- latents -------------------------------------------------------------------------------
    def check_z(self, z, name: str = "z") -> torch.Tensor:
        """z (N, nz) or (N, nz, 1, 1) -> (N, nz); a single vector (nz,) becomes (1, nz)."""
        if isinstance(z, torch.Tensor) and z.dim() == 1:
            if z.shape[0] != self.nz:
                raise ValueError(f"{name}: expected shape ({self.nz},), (N, {self.nz}) or (N, {self.nz}, 1, 1), "
                                 f"got {tuple(z.shape)}")
            z = z[None]
        return check_z(z, self.nz, name)

    def sample_z(self, n: int, *, seed: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent vectors (n, nz) from the prior; randomness only from ``seed`` or ``generator``."""
        if seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
        return sample_prior(n, self.nz, self.prior, generator=generator)

    def clip(self, z: torch.Tensor) -> torch.Tensor:
        """Keep z inside the prior's support: the cube [-1, 1]^nz for "uniform"; unchanged for "normal"."""
        return z.clamp(-1.0, 1.0) if self.prior == "uniform" else z

    # -- generation ----------------------------------------------------------------------------
    def _forward(self, z, c=None, embedding=None):
        if self.conditional:
            if embedding is not None:
                return self.module(z, embedding=embedding)
            return self.module(z, c)
        if c is not None or embedding is not None:
            raise ValueError("c: this generator is not class-conditional; do not pass classes")
        return self.module(z[:, :, None, None] if self.z_dims == 4 else z)

    @torch.no_grad()
    def generate(self, z, c=None, *, embedding: torch.Tensor | None = None,
                 batch_size: int | None = None) -> torch.Tensor:
        """Images (N, C, H, W) for z (N, nz), batched, under no_grad, in eval mode (training mode restored).

        For AC-GAN models pass classes ``c`` (int or (N,)) or class ``embedding`` (N, embed_dim).
        """
        z = self.check_z(z)
        n = z.shape[0]
        if not self.conditional and (c is not None or embedding is not None):
            raise ValueError(f"c: this generator ({type(self.module).__name__}) is not class-conditional; "
                             f"do not pass classes, got c={c!r:.40}")
        if self.conditional and embedding is None:
            if c is None:
                raise ValueError(f"c: this AC-GAN needs a class (int or LongTensor of shape ({n},), "
                                 f"values 0..{self.num_classes - 1})")
            c = self.module.check_classes(c, n)
        bs = batch_size or self.batch_size
        module = self.module
        was_training = module.training
        module.eval()
        try:
            dev = self.device
            # z may come in float64 (slerp paths, numpy): feed the generator its weights' dtype
            dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), z.dtype)
            outs = []
            for i in range(0, n, bs):
                zi = z[i:i + bs].to(dev, dtype)
                ci = None if c is None or embedding is not None else c[i:i + bs].to(dev)
                ei = None if embedding is None else embedding[i:i + bs].to(dev)
                out = self._forward(zi, ci, ei)
                if not isinstance(out, torch.Tensor) or out.dim() != 4 or out.shape[0] != zi.shape[0]:
                    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise TypeError(f"generator: expected a module returning images (N, C, H, W) with "
                                    f"N={zi.shape[0]}, got {got}")
                outs.append(out.float().cpu())
            return torch.cat(outs)
        finally:
            module.train(was_training)

    def __call__(self, z, c=None, **kw) -> torch.Tensor:
        return self.generate(z, c, **kw)

    def __repr__(self) -> str:
        return (f"LatentModel({type(self.module).__name__}, prior={self.prior!r}, nz={self.nz}, "
                f"conditional={self.conditional})")


def as_latent_model(generator, prior=None, *, nz=None, **kw) -> LatentModel:
    if isinstance(generator, LatentModel) and prior is None and nz is None and not kw:
        return generator
    return LatentModel(generator, prior, nz=nz, **kw)


FeatureFn = Callable[[torch.Tensor], torch.Tensor]
