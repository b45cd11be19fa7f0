"""The random-weight baseline of a network: the same architecture with fresh DCGAN initialisation (§4), which every
"compared with a random network" number of the analyses uses (the random generator's path length in ``evaluate``,
the random D of the filter report). One function, seeded, never touching the global RNG or the caller's module.

Example::

    >>> from latentlab import ModelConfig
    >>> G = random_weights(ModelConfig(nz=8, ngf=8, ndf=8, image_size=32), seed=0)    # a generator built afresh
    >>> R = random_weights(G, seed=1, draws="direct")                                # a re-initialised copy
    >>> R is not G
    True
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..config import ModelConfig
from .base import dcgan_init

__all__ = ["random_weights", "DRAWS"]

DRAWS = ("fresh", "direct")
_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


@torch.no_grad()
def random_weights(network, *, seed: int, draws: str = "fresh") -> nn.Module:
    """A network of the same architecture with random DCGAN-initialised weights, a function of ``seed``.

    Args:
        network: a ``ModelConfig`` (its generator is built under ``seed``) or any ``nn.Module`` (a deep copy is
            re-initialised; the module given is left as it is).
        seed: an int; the global RNG is restored afterwards (``torch.random.fork_rng``).
        draws: the order of the random draws (each order is what a published number was measured with):
            ``"fresh"``: as if built afresh under ``seed``: a config's constructor; a module's layers each run
            their own ``reset_parameters`` in module order, then the DCGAN init (:func:`~.base.dcgan_init`), all
            from the global RNG seeded with ``seed``. The random generator of ``evaluate``'s path length.
            ``"direct"``: the DCGAN init drawn straight from ``torch.Generator().manual_seed(seed)``, layer by
            layer (conv / linear weights N(0, 0.02), biases 0; BatchNorm scale N(1, 0.02), shift 0, running
            statistics reset; embeddings N(0, 1)), no ``reset_parameters``. The random D of the filter report.

    Returns the new module (``"direct"``: in eval mode; ``"fresh"``: as built).
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    if draws not in DRAWS:
        raise ValueError(f"draws: expected one of {DRAWS}, got {draws!r}")
    if isinstance(network, ModelConfig):
        if draws != "fresh":
            raise ValueError("draws: a ModelConfig is built afresh ('fresh'); pass a module for 'direct'")
        from . import build_generator
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_generator(network)
    if not isinstance(network, nn.Module):
        raise TypeError(f"network: expected a ModelConfig or an nn.Module, got {type(network).__name__}")
    clone = copy.deepcopy(network)
    if draws == "direct":
        _direct_dcgan_init(clone, torch.Generator().manual_seed(seed))
        return clone.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in clone.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        dcgan_init(clone)
    return clone


def _direct_dcgan_init(module: nn.Module, g: torch.Generator) -> None:
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.02)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.affine:
                m.weight.copy_(1.0 + 0.02 * torch.randn(m.weight.shape, generator=g))
                m.bias.zero_()
            if m.track_running_stats:
                m.reset_running_stats()
        elif isinstance(m, nn.Embedding):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g))
