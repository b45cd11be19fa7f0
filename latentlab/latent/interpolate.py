"""Linear and spherical interpolation of latent vectors (White 2016, "Sampling Generative Networks").

Shapes: ``z0``, ``z1`` are (..., D); ``t`` is a float or a tensor broadcastable to the batch shape
``z0.shape[:-1]``; the result has shape ``broadcast(z0.shape[:-1], z1.shape[:-1], t.shape) + (D,)``.
So ``slerp(z0, z1, torch.linspace(0, 1, 8))`` with z0, z1 of shape (D,) gives the (8, D) path.

Why slerp: for z ~ N(0, I_D) the norm concentrates at sqrt(D) and two independent z's are nearly
orthogonal, so the midpoint of a straight line has norm ~ sqrt(D / 2): a point the generator almost
never saw in training. Along the great circle the norm stays at the endpoints' (exactly so for
equal-norm endpoints). For U(-1, 1)^D the norm also concentrates (at sqrt(D / 3)), so the same
argument holds; ``Walk`` then clips the path to the cube [-1, 1]^D, the prior's support (White's
recommendation is slerp for both priors; the clipping is our choice, ``clip=False`` turns it off).

Example::

    >>> z0, z1 = torch.randn(2, 100)
    >>> path = slerp(z0, z1, torch.linspace(0, 1, 5))      # (5, 100)
    >>> torch.allclose(path[0], z0) and torch.allclose(path[-1], z1)
    True
"""
from __future__ import annotations

import torch

from ..validate import finite, float_tensor, int_at_least

__all__ = ["lerp", "slerp", "interpolate", "METHODS", "PARALLEL_EPS"]

METHODS = ("slerp", "linear")
PARALLEL_EPS = 1e-6  # |cos(angle)| > 1 - eps counts as (anti)parallel: slerp falls back to lerp


def _check_pair(z0, z1):
    for name, z in (("z0", z0), ("z1", z1)):
        float_tensor(z, name, hint="(..., D)")
        if z.dim() == 0:
            raise ValueError(f"{name}: expected a vector (..., D), got a scalar")
        finite(z, name)
    if z0.shape[-1] != z1.shape[-1]:
        raise ValueError(f"z1: expected the same size as z0 in the last dimension ({z0.shape[-1]}), "
                         f"got shape {tuple(z1.shape)}")


def _as_t(t, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=torch.float64, device=like.device)
    finite(t, "t")
    return t[..., None]  # broadcast over the batch shape, constant along D


def lerp(z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    """Straight line (1 - t) z0 + t z1. Shapes as in the module docstring."""
    _check_pair(z0, z1)
    tt = _as_t(t, z0)
    out = (1 - tt) * z0.double() + tt * z1.double()
    return out.to(torch.promote_types(z0.dtype, z1.dtype))


def slerp(z0: torch.Tensor, z1: torch.Tensor, t, *, eps: float = PARALLEL_EPS) -> torch.Tensor:
    """Spherical interpolation (White 2016): sin((1-t)W)/sin W z0 + sin(tW)/sin W z1, W the angle.

    Applied to the unnormalised vectors, as in White's code: for equal norms every point keeps that
    norm; for unequal norms the norm moves smoothly between them. (Near-)parallel or antiparallel
    pairs (|cos W| > 1 - eps, where the great circle is ill-defined) fall back to ``lerp``; zero vectors
    too. Computed in float64, returned in the inputs' dtype.
    """
    _check_pair(z0, z1)
    a, b = z0.double(), z1.double()
    tt = _as_t(t, z0)
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    cos = ((a * b).sum(-1, keepdim=True) / (na * nb).clamp_min(1e-300)).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    so = torch.sin(omega)
    degenerate = (cos.abs() > 1 - eps) | (na == 0) | (nb == 0)
    safe = torch.where(degenerate, torch.ones_like(so), so)
    sph = torch.sin((1 - tt) * omega) / safe * a + torch.sin(tt * omega) / safe * b
    lin = (1 - tt) * a + tt * b
    out = torch.where(degenerate, lin, sph)
    return out.to(torch.promote_types(z0.dtype, z1.dtype))


def interpolate(keyframes: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """A path through K keyframes (K, D): ``steps`` points per segment, endpoints included and shared.

    Returns ((K - 1) * (steps - 1) + 1, D); two keyframes give exactly ``steps`` points.
    """
    if not isinstance(keyframes, torch.Tensor):
        raise TypeError(f"keyframes: expected a torch.Tensor (K, D), got {type(keyframes).__name__}")
    if keyframes.dim() == 4 and keyframes.shape[2:] == (1, 1):
        keyframes = keyframes.flatten(1)
    if keyframes.dim() != 2 or keyframes.shape[0] < 2:
        raise ValueError(f"keyframes: expected at least 2 vectors as a (K, D) tensor, got {tuple(keyframes.shape)}")
    int_at_least(steps, "steps", 2, hint="(points per segment, endpoints included)")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    fn = slerp if method == "slerp" else lerp
    t = torch.linspace(0, 1, steps, dtype=torch.float64)
    parts = []
    for k in range(keyframes.shape[0] - 1):
        seg = fn(keyframes[k], keyframes[k + 1], t)
        seg[0], seg[-1] = keyframes[k], keyframes[k + 1]  # exact keyframes, no rounding
        parts.append(seg if k == 0 else seg[1:])
    return torch.cat(parts)
