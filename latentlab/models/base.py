"""Shared pieces of every generator: z validation, prior sampling, init."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from ..rng import resolve_rng, rng_or_seed
from ..validate import finite, float_tensor

__all__ = ["GeneratorBase", "sample_prior", "check_z", "check_device", "parse_device", "check_dtype", "dcgan_init", "BatchNorm2d"]


def parse_device(device, name: str = "device", expected: str = "e.g. 'cpu' or 'cuda'") -> torch.device:
    """``torch.device(device)``, or a ValueError ``"<name>: unknown device <device>; expected <expected>"`` for a
    string torch does not read (whether the device exists here is :func:`check_device`'s job)."""
    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name}: unknown device {device!r}; expected {expected}") from None


def check_device(device, name: str = "device") -> torch.device | None:
    """``None`` or a ``torch.device`` that exists on this machine; ValueError naming ``name`` otherwise.

    Torch itself fails later and deeper (RuntimeError "Invalid device string" / "Found no NVIDIA driver").
    """
    if device is None:
        return None
    dev = parse_device(device, name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}: {str(device)!r} was asked for, but CUDA is not available on this machine; "
                         "use 'cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"{name}: {str(device)!r} was asked for, but this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}: {str(device)!r} was asked for, but MPS is not available on this machine; use 'cpu'")
    return dev


def check_dtype(x: torch.Tensor, module: nn.Module, name: str, what: str) -> torch.Tensor:
    """A floating input must match the module's weights (outside autocast): TypeError instead of torch's
    "expected scalar type Double but found Float" from inside a layer."""
    p = next((q for q in module.parameters() if q.is_floating_point()), None)
    if p is None or x.dtype == p.dtype or torch.is_autocast_enabled(x.device.type):
        return x
    raise TypeError(f"{name}: expected dtype {p.dtype} (the {what}'s weights), got {x.dtype}; "
                    f"convert it with .to({p.dtype})")


def sample_prior(n: int, nz: int, prior: str = "normal", *, rng: torch.Generator | None = None,
                 device=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``n`` latent vectors (n, nz) from the prior ("normal" N(0,1) or "uniform" U(-1,1)); randomness from
    ``rng`` (a torch.Generator; ``generator=`` is its deprecated old name)."""
    generator = resolve_rng(rng, generator)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n: expected a non-negative int, got {n!r}")
    device = check_device(device)
    if prior == "normal":
        return torch.randn(n, nz, generator=generator, device=device)
    if prior == "uniform":
        return torch.rand(n, nz, generator=generator, device=device) * 2 - 1
    raise ValueError(f"prior: expected 'normal' or 'uniform', got {prior!r}")


def check_z(z, nz: int, name: str = "z") -> torch.Tensor:
    """Validate z of shape (N, nz) or (N, nz, 1, 1); return it as (N, nz)."""
    float_tensor(z, name, hint=f"of shape (N, {nz})")
    if z.dim() == 4 and z.shape[2:] == (1, 1):
        z = z.flatten(1)
    if z.dim() != 2 or z.shape[1] != nz:
        raise ValueError(f"{name}: expected shape (N, {nz}) or (N, {nz}, 1, 1), got {tuple(z.shape)}")
    if z.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one vector, got an empty batch {tuple(z.shape)}")
    return finite(z, name)


class BatchNorm2d(nn.BatchNorm2d):
    """BatchNorm that always normalises in float32, also inside a bfloat16 autocast region."""

    def forward(self, x):
        if x.dtype != torch.float32:
            with torch.autocast(x.device.type, enabled=False):
                return super().forward(x.float())
        return super().forward(x)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN §4: weights from N(0, 0.02); BatchNorm scale N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 1.0)


class GeneratorBase(nn.Module):
    """A generator maps z (N, nz) [and classes (N,)] to images (N, C, H, W) in [-1, 1]."""

    config: ModelConfig

    @property
    def nz(self) -> int:
        return self.config.nz

    @property
    def prior(self) -> str:
        return self.config.prior

    def sample_z(self, n: int, *, rng: torch.Generator | None = None, seed: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n latent vectors from this model's prior (explicit randomness: ``seed`` or ``rng``, a
        torch.Generator; ``generator=`` is its deprecated old name)."""
        device = next(self.parameters()).device
        return sample_prior(n, self.nz, self.prior, rng=rng_or_seed(seed, rng, generator)).to(device)

    def check_classes(self, c, n: int) -> torch.Tensor:
        k = self.config.num_classes
        if c is None:
            raise ValueError(f"c: this AC-GAN needs a class per sample (LongTensor of shape ({n},), values 0..{k - 1})")
        if isinstance(c, int):
            c = torch.full((n,), c, dtype=torch.long)
        if not isinstance(c, torch.Tensor):
            c = torch.as_tensor(c)
        if c.is_floating_point() or c.dtype == torch.bool:
            raise TypeError(f"c: expected integer class labels, got dtype {c.dtype}")
        if c.shape != (n,):
            raise ValueError(f"c: expected shape ({n},) to match z, got {tuple(c.shape)}")
        if n and (c.min() < 0 or c.max() >= k):
            raise ValueError(f"c: class labels must be in 0..{k - 1}, got values in {int(c.min())}..{int(c.max())}")
        return c.long()
