"""Any generator as a latent-space model, and the default layer of any generator or discriminator.

Every analysis (``latent``, ``dissect``, ``metrics.evaluate``) goes through ``LatentModel`` so that it
works the same on our ``GAN`` / generators (prior and nz read from the config) and on a user's own
module (prior required, nz inferred from the first layer or given). It owns the z shape the module
takes ((N, nz), or (N, nz, 1, 1) as the pytorch/examples DCGAN ``netG``), batching, eval mode,
optional classes (AC-GAN) and the device.

Example::

    >>> lm = LatentModel(gan)                                   # doctest: +SKIP
    >>> lm = LatentModel(netG, prior="normal", device="cuda")   # a pytorch/examples Generator  # doctest: +SKIP
    >>> images = lm.generate(lm.sample_z(16, seed=0))            # (16, C, H, W) on the CPU  # doctest: +SKIP
    >>> images, feats = lm.trace(lm.sample_z(16, seed=0), ["main.5"])   # feats["main.5"]: (16, C, h, w)  # doctest: +SKIP
"""
from __future__ import annotations

import warnings
from typing import Callable, Iterable

import torch
from torch import nn

from ..config import PRIORS, ModelConfig
from ..hooks import TraceDict, eval_mode, get_module
from ..rng import rng_or_seed
from ..validate import positive_int
from .base import GeneratorBase, check_device, check_z, sample_prior

__all__ = ["LatentModel", "as_latent_model", "first_layer", "default_layer", "FeatureFn"]

FeatureFn = Callable[[torch.Tensor], torch.Tensor]
_LAYERS = (nn.ConvTranspose2d, nn.Conv2d, nn.Linear)


def _first(module: nn.Module) -> nn.Module | None:
    return next((m for m in module.modules() if isinstance(m, _LAYERS)), None)


def first_layer(module: nn.Module, layer: str | None = None) -> tuple[str, nn.Module]:
    """The first ConvTranspose2d / Conv2d / Linear sub-module in registration order (or the named one)."""
    if layer is not None:
        return layer, get_module(module, layer)
    for name, m in module.named_modules():
        if isinstance(m, _LAYERS):
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
        generator: ``GAN`` (its ``.generator`` is used), a latentlab generator, a ``LatentModel``, or any
            module mapping z (N, nz) or (N, nz, 1, 1) to images (N, C, H, W).
        prior: "normal" or "uniform". Read from the config for our models (a different value given here
            wins, with a warning); required for a foreign module unless ``need_prior=False`` (then only
            ``sample_z`` / ``clip`` refuse to work).
        nz: size of z. Read from the config, else inferred from the first ConvTranspose2d/Conv2d/Linear.
        z_dims: 2 to call the module with (N, nz), 4 with (N, nz, 1, 1). Default: 2 for our models,
            4 for a foreign module whose first layer is a convolution, else 2.
        batch_size: images generated per forward pass.
        device: where the module runs ("cpu", "cuda", "cuda:1", a torch.device). The caller's module itself
            is moved there (``Module.to``, in place, not a copy: hooks and edits on it keep working, and a
            ``GAN`` holding it moves too; pass ``copy.deepcopy(module)`` to keep the original where it is);
            outputs come back on the CPU as float32. Default: where the module's parameters are, nothing moved.
    """

    def __init__(self, generator, prior: str | None = None, *, nz: int | None = None, z_dims: int | None = None,
                 batch_size: int = 64, device=None, need_prior: bool = True):
        if isinstance(generator, LatentModel):  # re-wrap: keep its settings unless overridden
            prior, nz = prior or generator.prior, nz or generator.nz
            z_dims = z_dims or generator.z_dims
            generator = generator.module
        from . import GAN
        config = getattr(generator, "config", None)
        module = generator.generator if isinstance(generator, GAN) else generator
        if not isinstance(module, nn.Module):
            raise TypeError(f"generator: expected an nn.Module (or a latentlab GAN), got {type(generator).__name__}")
        self.module = module
        self.config = config if config is not None else getattr(module, "config", None)
        self.ours = isinstance(self.config, ModelConfig)
        self.prior = self._check_prior(prior, need_prior)
        self.nz = self._check_nz(nz)
        self.z_dims = self._check_z_dims(z_dims)
        self.batch_size = positive_int(batch_size, "batch_size")
        dev = check_device(device)
        if dev is not None:
            module.to(dev)
        self._device = dev

    def _check_prior(self, prior, need_prior: bool) -> str | None:
        if self.ours:
            if prior is not None and prior != self.config.prior:
                warnings.warn(f"prior: the model was trained with {self.config.prior!r}; using {prior!r} as given",
                              stacklevel=3)
            prior = prior or self.config.prior
        elif prior is None:
            if not need_prior:
                return None
            raise ValueError(f"prior: required for a generator that is not a latentlab model "
                             f"({type(self.module).__name__}); expected one of {PRIORS}")
        if prior not in PRIORS:
            raise ValueError(f"prior: expected one of {PRIORS}, got {prior!r}")
        return prior

    def _check_nz(self, nz) -> int:
        if self.ours:
            if nz is not None and nz != self.config.nz:
                raise ValueError(f"nz: the model's config has nz={self.config.nz}, got nz={nz}")
            return self.config.nz
        layer = _first(self.module)
        if nz is None:
            _, layer = first_layer(self.module)  # names the problem when there is no such layer
            nz = _in_features(layer)
        nz = positive_int(nz, "nz")
        if layer is not None and _in_features(layer) != nz:
            raise ValueError(f"nz: the generator's first layer ({type(layer).__name__}) takes "
                             f"{_in_features(layer)} inputs, got nz={nz}")
        return nz

    def _check_z_dims(self, z_dims) -> int:
        if z_dims is None:
            if self.ours:
                z_dims = 2
            else:
                z_dims = 4 if isinstance(_first(self.module), (nn.ConvTranspose2d, nn.Conv2d)) else 2
        if z_dims not in (2, 4):
            raise ValueError(f"z_dims: expected 2 or 4, got {z_dims!r}")
        return z_dims

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
        if self._device is not None:
            return self._device
        p = next(self.module.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        return next((p.dtype for p in self.module.parameters() if p.is_floating_point()), torch.float32)

    # -- latents -------------------------------------------------------------------------------
    def check_z(self, z, name: str = "z") -> torch.Tensor:
        """z (N, nz) or (N, nz, 1, 1) -> (N, nz); a single vector (nz,) becomes (1, nz)."""
        if isinstance(z, torch.Tensor) and z.dim() == 1:
            if z.shape[0] != self.nz:
                raise ValueError(f"{name}: expected shape ({self.nz},), (N, {self.nz}) or (N, {self.nz}, 1, 1), "
                                 f"got {tuple(z.shape)}")
            z = z[None]
        return check_z(z, self.nz, name)

    def _need_prior(self) -> str:
        if self.prior is None:
            raise ValueError(f"prior: required to draw z for a generator that is not a latentlab model "
                             f"({type(self.module).__name__}); expected one of {PRIORS}")
        return self.prior

    def sample_z(self, n: int, *, seed: int | None = None, rng: torch.Generator | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent vectors (n, nz) from the prior, on the CPU; randomness only from ``seed`` or ``rng`` (a
        torch.Generator; ``generator=`` is its deprecated old name)."""
        return sample_prior(n, self.nz, self._need_prior(), rng=rng_or_seed(seed, rng, generator))

    def clip(self, z: torch.Tensor) -> torch.Tensor:
        """Keep z inside the prior's support: the cube [-1, 1]^nz for "uniform"; unchanged for "normal"."""
        return z.clamp(-1.0, 1.0) if self._need_prior() == "uniform" else z

    # -- generation ----------------------------------------------------------------------------
    def forward(self, z: torch.Tensor, c=None, embedding=None) -> torch.Tensor:
        """One forward pass of the module on a batch already on its device: z (N, nz) -> images."""
        if self.conditional:
            if embedding is not None:
                return self.module(z, embedding=embedding)
            return self.module(z, c)
        if c is not None or embedding is not None:
            raise ValueError("c: this generator is not class-conditional; do not pass classes")
        return self.module(z[:, :, None, None] if self.z_dims == 4 else z)

    def _classes(self, c, embedding, n: int):
        if not self.conditional and (c is not None or embedding is not None):
            raise ValueError(f"c: this generator ({type(self.module).__name__}) is not class-conditional; "
                             f"do not pass classes, got c={c!r:.40}")
        if self.conditional and embedding is None:
            if c is None:
                raise ValueError(f"c: this AC-GAN needs a class (int or LongTensor of shape ({n},), "
                                 f"values 0..{self.num_classes - 1})")
            c = self.module.check_classes(c, n)
        return c

    def batches(self, z, c=None, *, embedding: torch.Tensor | None = None, batch_size: int | None = None):
        """Yield (images of one batch on the module's device, batch slice), in eval mode under no_grad.

        The module's training mode is restored when the iteration ends (also when it is abandoned or raises).
        """
        z = self.check_z(z)
        n = z.shape[0]
        c = self._classes(c, embedding, n)
        bs = positive_int(batch_size or self.batch_size, "batch_size")
        with eval_mode(self.module):
            dev, dtype = self.device, self.dtype  # z may come in float64 (slerp paths, numpy)
            for i in range(0, n, bs):
                sl = slice(i, i + bs)
                zi = z[sl].to(dev, dtype)
                ci = None if c is None or embedding is not None else c[sl].to(dev)
                ei = None if embedding is None else embedding[sl].to(dev)
                with torch.no_grad():
                    out = self.forward(zi, ci, ei)
                if not isinstance(out, torch.Tensor) or out.dim() != 4 or out.shape[0] != zi.shape[0]:
                    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise TypeError(f"generator: expected a module returning images (N, C, H, W) with "
                                    f"N={zi.shape[0]}, got {got}")
                yield out, sl

    def generate(self, z, c=None, *, embedding: torch.Tensor | None = None,
                 batch_size: int | None = None) -> torch.Tensor:
        """Images (N, C, H, W) float32 on the CPU for z (N, nz), batched, under no_grad, in eval mode.

        For AC-GAN models pass classes ``c`` (int or (N,)) or class ``embedding`` (N, embed_dim).
        """
        return torch.cat([out.float().cpu() for out, _ in
                          self.batches(z, c, embedding=embedding, batch_size=batch_size)])

    def trace(self, z, layers: Iterable[str], c=None, *, batch_size: int | None = None):
        """Images and the outputs of ``layers`` for z -> (images (N, C, H, W), {layer: (N, ...)}), CPU float32.

        Outputs are cloned as they are recorded, so a following in-place activation (``nn.ReLU(True)``)
        does not change them.
        """
        layers = list(dict.fromkeys(layers))
        for name in layers:
            get_module(self.module, name)
        images, feats = [], {name: [] for name in layers}
        with TraceDict(self.module, layers, clone=True) as td:
            for out, _ in self.batches(z, c, batch_size=batch_size):
                images.append(out.float().cpu())
                for name in layers:
                    feats[name].append(td[name].output.float().cpu())
        return torch.cat(images), {name: torch.cat(v) for name, v in feats.items()}

    def default_layer(self) -> str:
        """:func:`default_layer` of the generator (the output of its second up-sampling block)."""
        z = torch.zeros(1, self.nz, device=self.device, dtype=self.dtype)
        example = z[:, :, None, None] if self.z_dims == 4 else z
        if self.conditional:
            return default_layer(self.module, kind="generator")
        return default_layer(self.module, example, kind="generator")

    def __call__(self, z, c=None, **kw) -> torch.Tensor:
        return self.generate(z, c, **kw)

    def __repr__(self) -> str:
        return (f"LatentModel({type(self.module).__name__}, prior={self.prior!r}, nz={self.nz}, "
                f"conditional={self.conditional})")


def as_latent_model(generator, prior=None, *, nz=None, **kw) -> LatentModel:
    """``generator`` itself if it is a LatentModel and nothing is overridden, else ``LatentModel(...)``."""
    if isinstance(generator, LatentModel) and prior is None and nz is None and not kw:
        return generator
    return LatentModel(generator, prior, nz=nz, **kw)


# -- default layers -------------------------------------------------------------------------------

def _leaf_outputs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, nn.Module, tuple]]:
    """(name, module, output shape) of every leaf module, in call order, for one forward pass on ``example``."""
    found: list[tuple[str, nn.Module, tuple]] = []
    handles = []
    try:
        for n, m in model.named_modules():
            if n and not any(True for _ in m.children()):
                handles.append(m.register_forward_hook(
                    lambda mod, i, o, n=n: found.append((n, mod, tuple(o.shape)))
                    if isinstance(o, torch.Tensor) else None))
        with eval_mode(model), torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return found


def _kind(model: nn.Module, example) -> str:
    if isinstance(model, GeneratorBase):
        return "generator"
    if isinstance(getattr(model, "config", None), ModelConfig):
        return "discriminator"
    if example is None:
        raise ValueError("layer: this model is not a latentlab model; pass layer= (a dotted name, see "
                         "latentlab.layer_names) or an example input to find the default layer")
    small = example.dim() == 2 or (example.dim() == 4 and example.shape[2:] == (1, 1))
    return "generator" if small else "discriminator"


def default_layer(model: nn.Module, example: torch.Tensor | None = None, *, kind: str | None = None) -> str:
    """The layer an analysis uses when none is named.

    Generators: the paper's "second highest convolution layer" (DCGAN §6.3.1), the output of the second
    up-sampling block: ``block2`` in latentlab's DCGAN; in any other module, the last leaf module before
    the third ConvTranspose2d/Conv2d (e.g. ``main.5`` in the pytorch/examples netG).
    Discriminators: the last convolution block before the output (DCGAN §6.2): ``block_names[-1]`` in
    ours; in any other module, the last module (in call order) whose output is (N, C, H, W) with H*W > 1.

    ``example``: one input for a foreign module (z (1, nz) / (1, nz, 1, 1) for a generator, an image
    (1, C, H, W) for a discriminator); ``kind``: "generator" or "discriminator" (default: from the class,
    else from the example's shape).
    """
    kind = kind or _kind(model, example)
    if kind not in ("generator", "discriminator"):
        raise ValueError(f"kind: expected 'generator' or 'discriminator', got {kind!r}")
    names = dict(model.named_modules())
    blocks = getattr(model, "block_names", None)
    if kind == "generator" and "block2" in names and blocks:
        return "block2"
    if kind == "discriminator" and blocks:
        return blocks[-1]
    if example is None:
        raise ValueError(f"layer: this {kind} has no named blocks; pass the layer name explicitly "
                         f"(top-level layers: {[n for n in names if n and '.' not in n]}) or an example input")
    found = _leaf_outputs(model, example[:1])
    if kind == "generator":
        convs = [i for i, (_, m, _) in enumerate(found) if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d))]
        if len(convs) >= 3:
            return found[convs[2] - 1][0]
        raise ValueError(f"layer: found {len(convs)} convolution layers in {type(model).__name__}, need 3 to "
                         "pick the second block's output; pass layer=")
    conv = [n for n, _, s in found if len(s) == 4 and s[2] * s[3] > 1]
    if not conv:
        raise ValueError("layer: found no layer with a spatial (N, C, H, W) output; pass layer=")
    return conv[-1]
