"""Image degradations that resemble what generator edits do to samples: the judges' stress suite.

Dropping feature maps, early checkpoints and weak generators produce images that are washed out,
blurred, colour-shifted, noisy at low and high frequencies, blotchy, marked by transposed-conv
checkerboards, and missing parts of objects. A judge that measures such images must not invent
objects in them. This module gives each degradation as a pure function of a batch (N, 3, H, W) in
[-1, 1] and an explicit ``torch.Generator`` (never global randomness), the fixed conditions of the
suite (``SUITE``, ``degrade``) and the random mixture used as training augmentation
(``random_degradation``).

Erasure is the one edit that changes the truth: ``erase_class`` paints over objects of a class with
the surrounding wall (normalized convolution of the wall pixels, so the fill follows the lighting) and
relabels those pixels as wall, so the ground truth says "no window there".

Example::

    >>> from latentlab.data.rooms import render_room, ROOM_CLASSES
    >>> s = render_room(7, seed=1)
    >>> x = torch.from_numpy(s.image).permute(2, 0, 1)[None].float() / 127.5 - 1
    >>> y = torch.from_numpy(s.labels)[None].long()
    >>> xd, yd = degrade(x, "wash+blur+lowfreq", labels=y, seed=0)
    >>> xd.shape, bool((yd == y).all())
    (torch.Size([1, 3, 64, 64]), True)

See pretrained/JUDGES.md ("The degradation suite") for the conditions and their strengths.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..rng import resolve_rng
from ..validate import float_tensor, int_at_least, non_negative_int, number_in, positive_int

__all__ = [
    "wash", "colour_shift", "blur", "pixel_noise", "lowfreq_noise", "blotches", "checkerboard", "erase_class",
    "SUITE", "CONDITIONS", "degrade", "random_degradation", "WALL", "WINDOW",
]

WALL, WINDOW = 0, 3  # indices in latentlab.data.rooms.ROOM_CLASSES (checked in the tests)


# -- checks --------------------------------------------------------------------------------------


def _check_images(images, name: str = "images") -> None:
    float_tensor(images, name, hint="(N, 3, H, W) in [-1, 1]", floating="a floating tensor in [-1, 1]")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"{name}: expected shape (N, 3, H, W), got {tuple(images.shape)}")


def _check_batch(images, rng, generator=None) -> torch.Generator:
    """The checks of a random degradation: ``images`` then ``rng`` (or its deprecated old name ``generator``);
    returns the torch.Generator."""
    _check_images(images)
    return resolve_rng(rng, generator, required=True)


def _rand(rng: torch.Generator, *shape) -> torch.Tensor:
    return torch.rand(*shape, generator=rng)


# -- the degradations (pure functions of the batch and a torch.Generator rng) -------------------------------


def wash(images: torch.Tensor, amount: float = 0.5) -> torch.Tensor:
    """Mix each image toward its own mean grey: colour and contrast fade together.

    images (N, 3, H, W) in [-1, 1], amount in [0, 1] (0: unchanged, 1: a flat grey) -> same shape.
    """
    _check_images(images)
    amount = number_in(amount, "amount", 0.0, 1.0)
    grey = images.mean(dim=(1, 2, 3), keepdim=True)
    return (1 - amount) * images + amount * grey


def colour_shift(images: torch.Tensor, strength: float = 0.25, *, rng: torch.Generator | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Random per-image, per-channel gain in [1 - s, 1 + s] and offset in [-s/2, s/2] (in [0, 1] units)."""
    rng = _check_batch(images, rng, generator)
    s = number_in(strength, "strength", 0.0, 1.0)
    n = images.shape[0]
    gain = 1 + s * (2 * _rand(rng, n, 3, 1, 1) - 1)
    offset = s * (_rand(rng, n, 3, 1, 1) - 0.5)
    u = (images + 1) / 2
    return ((u * gain + offset) * 2 - 1).clamp(-1, 1)


def blur(images: torch.Tensor, sigma) -> torch.Tensor:
    """Separable Gaussian blur; sigma a number or a (N,) tensor, in pixels (0 = unchanged)."""
    _check_images(images)
    n, c, h, w = images.shape
    if isinstance(sigma, torch.Tensor):
        if sigma.shape != (n,):
            raise ValueError(f"sigma: expected a number or a tensor of shape ({n},), got {tuple(sigma.shape)}")
        sig = sigma.to(images.dtype)
    else:
        sig = torch.full((n,), number_in(sigma, "sigma", 0.0, 16.0), dtype=images.dtype)
    if n == 0:
        return images.clone()
    r = max(1, int(math.ceil(3 * float(sig.max()))))
    t = torch.arange(-r, r + 1, dtype=images.dtype, device=images.device)
    k = torch.exp(-(t[None] ** 2) / (2 * sig[:, None].to(images.device).clamp_min(1e-3) ** 2))
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (N*C, 2r+1)
    y = F.pad(images.reshape(1, n * c, h, w), (r, r, r, r), mode="replicate")
    y = F.conv2d(y, k[:, None, None, :], groups=n * c)
    y = F.conv2d(y, k[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def pixel_noise(images: torch.Tensor, sigma: float = 0.1, *, rng: torch.Generator | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """High-frequency noise: i.i.d. Gaussian per pixel and channel, std ``sigma`` in [-1, 1] units."""
    rng = _check_batch(images, rng, generator)
    sigma = number_in(sigma, "sigma", 0.0, 2.0)
    return (images + sigma * torch.randn(images.shape, generator=rng).to(images)).clamp(-1, 1)


def lowfreq_noise(images: torch.Tensor, sigma: float = 0.25, grid: int = 8, *,
                  rng: torch.Generator | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Low-frequency colour noise: a (grid x grid) Gaussian field per channel, bilinearly upsampled.

    GAN colours wander smoothly across the image; on a wall this makes the bright/dark, tinted patches
    a window detector can mistake for sky. ``sigma`` is the std of the field in [-1, 1] units.
    """
    rng = _check_batch(images, rng, generator)
    sigma = number_in(sigma, "sigma", 0.0, 2.0)
    grid = positive_int(grid, "grid")
    n, _, h, w = images.shape
    field = torch.randn(n, 3, grid, grid, generator=rng)
    field = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False).to(images)
    return (images + sigma * field).clamp(-1, 1)


def blotches(images: torch.Tensor, count: int = 6, strength: float = 0.6, radius: tuple[float, float] = (2.0, 7.0),
             *, rng: torch.Generator | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """``count`` soft elliptical blobs per image, each of a random colour, mixed in with weight up to
    ``strength``; radii (pixels) drawn from ``radius``. Some blobs are bright and sky-coloured."""
    rng = _check_batch(images, rng, generator)
    count = non_negative_int(count, "count")
    strength = number_in(strength, "strength", 0.0, 1.0)
    if (not isinstance(radius, (tuple, list)) or len(radius) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in radius)
            or not 0 < radius[0] <= radius[1]):
        raise ValueError(f"radius: expected (low, high) with 0 < low <= high, got {radius!r}")
    n, _, h, w = images.shape
    if count == 0 or n == 0:
        return images.clone()
    cy = _rand(rng, n, count, 1, 1) * h
    cx = _rand(rng, n, count, 1, 1) * w
    ry = radius[0] + (radius[1] - radius[0]) * _rand(rng, n, count, 1, 1)
    rx = radius[0] + (radius[1] - radius[0]) * _rand(rng, n, count, 1, 1)
    colour = _rand(rng, n, count, 3) * 2 - 1
    weight = strength * (0.5 + 0.5 * _rand(rng, n, count, 1, 1))
    yy = torch.arange(h, dtype=torch.float32)[None, None, :, None] + 0.5
    xx = torch.arange(w, dtype=torch.float32)[None, None, None, :] + 0.5
    alpha = weight * torch.exp(-0.5 * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2))  # (N, K, H, W)
    out = images.float()
    for k in range(count):  # painter's order
        a = alpha[:, k, None]
        out = (1 - a) * out + a * colour[:, k, :, None, None]
    return out.to(images.dtype).clamp(-1, 1)


def checkerboard(images: torch.Tensor, strength: float = 0.15, period: int = 2, *,
                 rng: torch.Generator | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Transposed-conv artefacts: a random periodic (period x period) colour tile of std ``strength``
    under a smooth random envelope (stronger in some regions, as in GAN samples)."""
    rng = _check_batch(images, rng, generator)
    strength = number_in(strength, "strength", 0.0, 2.0)
    period = int_at_least(period, "period", 2)
    n, _, h, w = images.shape
    tile = torch.randn(n, 3, period, period, generator=rng)
    tile = tile - tile.mean(dim=(2, 3), keepdim=True)
    envelope = F.interpolate(0.5 + _rand(rng, n, 1, 4, 4), size=(h, w), mode="bilinear",
                             align_corners=False)
    pattern = tile.repeat(1, 1, -(-h // period), -(-w // period))[:, :, :h, :w]
    return (images + (strength * envelope * pattern).to(images)).clamp(-1, 1)


def _components(mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """8-connected components of a (H, W) bool mask -> (int32 (H, W) ids 0..k, k)."""
    import cv2
    import numpy as np
    k, ids = cv2.connectedComponents(np.ascontiguousarray(mask.cpu().numpy(), dtype=np.uint8), connectivity=8)
    return torch.from_numpy(ids), k - 1


def _wall_fill(image: torch.Tensor, wall: torch.Tensor) -> torch.Tensor:
    """(3, H, W) colours interpolated from the ``wall`` pixels by normalized convolution: the smallest
    Gaussian scale that reaches a pixel decides its colour, so the fill follows the nearby lit wall."""
    x = image.float()[None]
    m = wall.float()[None, None]
    out = torch.zeros_like(x)
    done = torch.zeros_like(m, dtype=torch.bool)
    for sigma in (1.5, 3.0, 6.0, 12.0):
        num = blur(x * m, sigma)
        den = blur(m.expand(-1, 3, -1, -1).contiguous(), sigma)[:, :1]
        ok = (den > 0.05) & ~done
        out = torch.where(ok, num / den.clamp_min(1e-6), out)
        done |= ok
    if not bool(done.all()):  # no wall anywhere near: the image's mean wall (or mean) colour
        fallback = (x * m).sum((2, 3), keepdim=True) / m.sum().clamp_min(1) if m.sum() > 0 \
            else x.mean((2, 3), keepdim=True)
        out = torch.where(done, out, fallback.expand_as(out))
    return out[0].to(image.dtype)


def erase_class(images: torch.Tensor, labels: torch.Tensor, cls: int = WINDOW, p: float = 0.5,
                part: bool = False, fill_cls: int = WALL, *,
                rng: torch.Generator | None = None,
        generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Paint over objects of class ``cls`` with the surrounding ``fill_cls`` (wall) and relabel them.

    Each 8-connected component of ``labels == cls`` is erased with probability ``p`` (whole), or, with
    ``part=True``, a random side (left/right/top/bottom, 30-70% of its box) of every component is.
    Images without wall pixels are left as they are.

    Returns (images, labels) of the input shapes; the labels of erased pixels become ``fill_cls``.
    """
    rng = _check_batch(images, rng, generator)
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point():
        raise TypeError(f"labels: expected an integer torch.Tensor (N, H, W), got "
                        f"{type(labels).__name__ if not isinstance(labels, torch.Tensor) else labels.dtype}")
    if labels.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(f"labels: expected shape {(images.shape[0], *images.shape[2:])} (N, H, W) to match "
                         f"images {tuple(images.shape)}, got {tuple(labels.shape)}")
    p = number_in(p, "p", 0.0, 1.0)
    x, y = images.clone(), labels.clone()
    for i in range(images.shape[0]):
        ids, k = _components(labels[i] == cls)
        erase = torch.zeros(labels.shape[1:], dtype=torch.bool)
        for c in range(1, k + 1):
            comp = ids == c
            coin, side, frac = _rand(rng, 3).tolist()
            if not part:
                if coin < p:
                    erase |= comp
                continue
            ys, xs = torch.nonzero(comp, as_tuple=True)
            y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
            frac = 0.3 + 0.4 * frac
            box = torch.zeros_like(comp)
            if side < 0.25:
                box[:, x0:x0 + max(1, round(frac * (x1 - x0)))] = True
            elif side < 0.5:
                box[:, x1 - max(1, round(frac * (x1 - x0))):x1] = True
            elif side < 0.75:
                box[y0:y0 + max(1, round(frac * (y1 - y0))), :] = True
            else:
                box[y1 - max(1, round(frac * (y1 - y0))):y1, :] = True
            erase |= comp & box
        wall = labels[i] == fill_cls
        if not bool(erase.any()) or not bool(wall.any()):
            continue
        fill = _wall_fill(images[i], wall)
        x[i] = torch.where(erase[None], fill, x[i])
        y[i][erase] = fill_cls
    return x, y


# -- the suite -----------------------------------------------------------------------------------

# Each condition is a list of (degradation, parameters), applied in order with one torch.Generator.
# Strengths are fixed: they are the suite's definition (pretrained/JUDGES.md), not tuned to a judge.
SUITE: dict[str, list[tuple[str, dict]]] = {
    "clean": [],
    "wash": [("wash", {"amount": 0.5})],
    "colour_shift": [("colour_shift", {"strength": 0.3})],
    "blur": [("blur", {"sigma": 1.0})],
    "pixel_noise": [("pixel_noise", {"sigma": 0.1})],
    "lowfreq_noise": [("lowfreq_noise", {"sigma": 0.2, "grid": 8})],
    "blotches": [("blotches", {"count": 6, "strength": 0.6})],
    "checkerboard": [("checkerboard", {"strength": 0.2, "period": 2})],
    "erase_windows": [("erase", {"p": 0.5})],
    "erase_window_parts": [("erase", {"part": True})],
    "wash+blur+lowfreq": [("wash", {"amount": 0.4}), ("blur", {"sigma": 0.8}),
                          ("lowfreq_noise", {"sigma": 0.2, "grid": 8})],
    "all": [("erase", {"p": 0.5}), ("wash", {"amount": 0.4}), ("colour_shift", {"strength": 0.2}),
            ("blur", {"sigma": 0.8}), ("lowfreq_noise", {"sigma": 0.12, "grid": 8}),
            ("blotches", {"count": 4, "strength": 0.4}), ("checkerboard", {"strength": 0.12, "period": 2}),
            ("pixel_noise", {"sigma": 0.06})],
}
CONDITIONS: tuple[str, ...] = tuple(SUITE)


def _apply(name: str, params: dict, x: torch.Tensor, y, gen: torch.Generator):
    if name == "erase":
        if y is None:
            return x, None  # no labels (faces, generator samples): nothing to erase honestly
        return erase_class(x, y, rng=gen, **params)
    if name in ("wash", "blur"):
        return {"wash": wash, "blur": blur}[name](x, **params), y
    fn = {"colour_shift": colour_shift, "pixel_noise": pixel_noise, "lowfreq_noise": lowfreq_noise,
          "blotches": blotches, "checkerboard": checkerboard}[name]
    return fn(x, rng=gen, **params), y


def degrade(images: torch.Tensor, condition: str, labels: torch.Tensor | None = None, seed: int = 0):
    """Apply the suite's ``condition`` (a key of ``SUITE``) with randomness from ``seed``.

    images (N, 3, H, W) in [-1, 1]; labels (N, H, W) integer room labels or None (faces, generator
    samples: erasure is then skipped). Returns (images, labels) — labels changed only by erasure.
    The same (images, condition, seed) gives the same result.
    """
    if not isinstance(condition, str) or condition not in SUITE:
        raise ValueError(f"condition: expected one of {list(CONDITIONS)}, got {condition!r}")
    seed = non_negative_int(seed, "seed")
    _check_images(images)
    gen = torch.Generator().manual_seed(seed)
    x, y = images, labels
    for name, params in SUITE[condition]:
        x, y = _apply(name, params, x, y, gen)
    x = x.clamp(-1, 1)
    return (x if x is not images else images.clone()), (None if y is None else y)


def random_degradation(images: torch.Tensor, labels: torch.Tensor | None = None, *, rng: torch.Generator | None = None,
                       generator: torch.Generator | None = None,
                       p_each: float = 0.35, scale: float = 1.3, p_erase: float = 0.3):
    """Training augmentation: each degradation of the suite applied with probability ``p_each`` at a
    random strength between 0 and ``scale`` x the suite's (so the suite's levels lie inside the range),
    in a random order of families; erasure (whole windows or parts) with probability ``p_erase`` per image.

    images (N, 3, H, W), labels (N, H, W) or None -> (images, labels); per-image decisions.
    """
    rng = _check_batch(images, rng, generator)
    n = images.shape[0]
    x, y = images.clone(), (None if labels is None else labels.clone())
    if y is not None and p_erase > 0:
        pick = torch.nonzero(_rand(rng, n) < p_erase).flatten().tolist()
        if pick:
            part = bool(_rand(rng, 1).item() < 0.4)
            xe, ye = erase_class(x[pick], y[pick], p=0.7, part=part, rng=rng)
            x[pick], y[pick] = xe, ye

    def sel():
        return torch.nonzero(_rand(rng, n) < p_each).flatten().tolist()

    def amt(hi):
        return float(_rand(rng, 1).item()) * hi * scale

    order = torch.randperm(7, generator=rng).tolist()
    for step in order:
        idx = sel()
        if not idx:
            continue
        xi = x[idx]
        if step == 0:
            xi = wash(xi, min(1.0, amt(0.5)))
        elif step == 1:
            xi = colour_shift(xi, min(1.0, amt(0.3)), rng=rng)
        elif step == 2:
            xi = blur(xi, 0.2 + amt(1.0))
        elif step == 3:
            xi = pixel_noise(xi, amt(0.1), rng=rng)
        elif step == 4:
            grid = [4, 6, 8, 12][int(torch.randint(0, 4, (1,), generator=rng))]
            xi = lowfreq_noise(xi, amt(0.2), grid, rng=rng)
        elif step == 5:
            count = int(torch.randint(1, 9, (1,), generator=rng))
            xi = blotches(xi, count, min(1.0, amt(0.6)), rng=rng)
        else:
            period = 2 if _rand(rng, 1).item() < 0.6 else 4
            xi = checkerboard(xi, amt(0.2), period, rng=rng)
        x[idx] = xi
    return x.clamp(-1, 1), y
