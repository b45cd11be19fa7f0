"""The ``rng=`` keyword: every function that takes a torch random-number generator calls it ``rng``.

``generator`` names a network in latentlab (``Walk(generator)``, ``LatentModel(generator)``); the RNG keyword
used to be ``generator=`` too. It still works, with a DeprecationWarning::

    z = sample_prior(4, 100, rng=torch.Generator().manual_seed(0))
    z = sample_prior(4, 100, generator=torch.Generator().manual_seed(0))   # DeprecationWarning, same z
"""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import torch

_SKIP = (os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.abspath(torch.__file__)))


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside latentlab and torch (decorators such as torch.no_grad
    add frames), so the warning names the user's line."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_SKIP):
        frame, level = frame.f_back, level + 1
    return level

__all__ = ["resolve_rng", "rng_or_seed", "derive_seed", "seeded_rng"]


def derive_seed(*parts: int) -> int:
    """A 32-bit seed that is a pure function of ``parts`` (numpy's SeedSequence): the trainers derive every
    stream (initial weights, data order per epoch, z per step and rank) as ``derive_seed(seed, tag, ...)``, which
    is what makes a resumed run bit-exact. ``derive_seed(0, 1) != derive_seed(1, 0)``."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def seeded_rng(*parts: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`derive_seed` of ``parts``."""
    return torch.Generator().manual_seed(derive_seed(*parts))


def resolve_rng(rng, generator=None, *, required: bool = False) -> torch.Generator | None:
    """The torch.Generator of a call that takes ``rng=`` and still accepts the old ``generator=`` keyword.

    ``generator`` (not None) gives a DeprecationWarning pointing at the first caller outside latentlab and is
    used as ``rng``; both at once is a TypeError. A value that is not a torch.Generator is a TypeError naming the
    keyword the caller used; with ``required=True`` a missing one is a TypeError too.
    """
    name = "rng"
    if generator is not None:
        if rng is not None:
            raise TypeError("rng: pass the torch.Generator as rng= only (generator= is its old name)")
        warnings.warn("generator= for a torch.Generator is renamed rng= (generator names a network); "
                      "generator= will be removed", DeprecationWarning, stacklevel=_caller_level())
        rng, name = generator, "generator"
    if rng is None:
        if required:
            raise TypeError("rng: required, a torch.Generator (e.g. torch.Generator().manual_seed(0))")
        return None
    if not isinstance(rng, torch.Generator):
        raise TypeError(f"{name}: expected a torch.Generator, got {type(rng).__name__}")
    return rng


def rng_or_seed(seed: int | None = None, rng=None, generator=None) -> torch.Generator | None:
    """The torch.Generator a ``sample_z(n, seed=, rng=)`` call draws from: a fresh one seeded with ``seed`` when
    it is given, else ``rng`` (``generator=``: its deprecated old name, see :func:`resolve_rng`), else None."""
    rng = resolve_rng(rng, generator)
    return torch.Generator().manual_seed(int(seed)) if seed is not None else rng
