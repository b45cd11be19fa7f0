"""Walking in the latent space (DCGAN §6.1): interpolate between z's, generate, check smoothness.

"Sharp transitions would signal memorization": ``walk_smoothness`` measures the distance between
consecutive frames (judge features, or pixels) and reports a possible memorization jump when the
largest step exceeds ``factor`` (default ``JUMP_FACTOR`` = 3) times the median step.

Example::

    >>> walk = Walk(gan)                                     # prior read from the GAN's config  # doctest: +SKIP
    >>> images = walk.between(z0, z1, steps=10)              # (10, C, H, W), slerp  # doctest: +SKIP
    >>> walk.smoothness().jump                               # doctest: +SKIP
    >>> latentlab.viz.latent_figures.walk_figure(walk.images, walk.frame_labels)   # the figure  # doctest: +SKIP
    >>> Walk(my_netG, prior="normal").random(keyframes=3, steps=8, seed=0)  # (15, C, H, W)  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..models.adapter import LatentModel, as_latent_model
from ..rng import resolve_rng
from ..validate import int_at_least
from .interpolate import METHODS, interpolate, lerp, slerp

__all__ = ["Walk", "Smoothness", "walk_smoothness", "pixel_features", "JUMP_FACTOR", "resolve_features"]

# A walk along a constant-speed path through a smooth generator has steps of similar size (within ~2x
# on our models); a step above 3x the median is a sharp transition worth looking at. A heuristic.
JUMP_FACTOR = 3.0


def pixel_features(images: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) flattened to (N, C*H*W): the fallback distance when no judge fits."""
    return images.float().flatten(1)


@dataclass
class Smoothness:
    """Distances between consecutive frames of a walk and the memorization-jump verdict."""

    distances: torch.Tensor     # (T - 1,) distance between frame i and i + 1
    median: float
    max: float
    argmax: int                 # the largest step is between frames argmax and argmax + 1
    ratio: float                # max / median
    factor: float               # the threshold on ratio
    jump: bool                  # ratio > factor: a possible memorization jump
    features: str               # what the distance is measured on ("judge", "pixels", or a name)

    def __str__(self) -> str:
        verdict = (f"possible memorization jump between frames {self.argmax} and {self.argmax + 1}"
                   if self.jump else "smooth")
        return (f"walk smoothness ({self.features} distance): median step {self.median:.4g}, largest "
                f"{self.max:.4g} ({self.ratio:.2f}x median, threshold {self.factor}x): {verdict}")


def walk_smoothness(images: torch.Tensor, features: Callable | None = None, *, factor: float = JUMP_FACTOR,
                    name: str | None = None) -> Smoothness:
    """Euclidean distance between consecutive frames' features; ``features`` maps (T, C, H, W) -> (T, D)
    (default: pixels). A possible memorization jump is reported when max step > factor x median step."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images: expected a walk's frames (T, C, H, W), got {got}")
    if images.shape[0] < 2:
        raise ValueError(f"images: a walk needs at least 2 frames, got {images.shape[0]}")
    if not factor > 1:
        raise ValueError(f"factor: expected a number > 1, got {factor!r}")
    fn = features or pixel_features
    f = torch.as_tensor(fn(images)).detach().float().cpu().flatten(1)
    d = (f[1:] - f[:-1]).norm(dim=1)
    med, mx = float(d.median()), float(d.max())
    ratio = mx / med if med > 0 else (float("inf") if mx > 0 else 1.0)
    label = name or ("pixels" if features is None else getattr(features, "__name__", "features"))
    return Smoothness(d, med, mx, int(d.argmax()), ratio, float(factor), ratio > factor, label)


def resolve_features(features, model: LatentModel, image_shape) -> tuple[Callable | None, str]:
    """"auto": the judge of the model's dataset when its weights exist and the image size fits, else pixels."""
    if features is None or features == "pixels":
        return None, "pixels"
    if callable(features) and not hasattr(features, "features"):
        return features, getattr(features, "__name__", "features")
    if hasattr(features, "features"):
        return features.features, "judge"
    if features == "auto":
        if model.dataset:
            try:
                from ..judges import load_judge
                judge = load_judge(model.dataset)
            except (FileNotFoundError, ValueError, ImportError):
                judge = None
            shape = getattr(judge, "input_shape", None)
            if judge is not None and (shape is None or tuple(shape) == tuple(image_shape)):
                return judge.features, f"{model.dataset} judge"
        return None, "pixels"
    raise ValueError(f"features: expected 'auto', 'pixels', None, a judge or a callable, got {features!r}")


class Walk:
    """Latent walks through any generator: ``between``/``path``/``random``, and ``classes`` for AC-GAN.

    Args:
        generator: a latentlab ``GAN``/generator or any module mapping z (N, nz) or (N, nz, 1, 1) to images.
        prior: "normal" or "uniform" (required for foreign modules; read from our configs).
        nz: size of z when it cannot be inferred.
        features: distance for ``smoothness``: "auto" (the dataset's judge when available, else pixels),
            "pixels", a judge (``.features``) or a callable (N, C, H, W) -> (N, D).
        factor: memorization-jump threshold (max step / median step), default ``JUMP_FACTOR``.
        clip: for the uniform prior, clip the path to the cube [-1, 1]^nz (see ``interpolate``).
        c: AC-GAN class used for z walks (int or (N,)).
        device: where the generator runs ("cpu", "cuda", ...; moved there in place); default where it is.

    Every call stores ``self.z`` (T, nz), ``self.images`` (T, C, H, W) and ``self.frame_labels``.
    """

    def __init__(self, generator, prior: str | None = None, *, nz: int | None = None, features="auto",
                 factor: float = JUMP_FACTOR, clip: bool = True, c=None, batch_size: int = 64,
                 device=None):
        self.model = as_latent_model(generator, prior, nz=nz, batch_size=batch_size, device=device)
        try:
            ok = not isinstance(factor, bool) and float(factor) > 1
        except (TypeError, ValueError):
            ok = False
        if not ok:  # checked here, not only when smoothness() is first called
            raise ValueError(f"factor: expected a number > 1 (max step / median step), got {factor!r}")
        self.features = features
        self.factor = factor
        self.clip = clip
        self.c = c
        self.z: torch.Tensor | None = None
        self.images: torch.Tensor | None = None
        self.frame_labels: list[str] = []
        self.title = ""
        self._smooth: Smoothness | None = None
        self._resolved: dict = {}  # image shape -> (features fn, name), so "auto" loads the judge once

    # -- walks ---------------------------------------------------------------------------------
    def _vector(self, z, name) -> torch.Tensor:
        z = self.model.check_z(z, name)
        if z.shape[0] != 1:
            raise ValueError(f"{name}: expected one latent vector ({self.model.nz},) or (1, {self.model.nz}), "
                             f"got {z.shape[0]} vectors {tuple(z.shape)}")
        return z[0]

    def path(self, keyframes, steps: int = 8, method: str = "slerp", c=None) -> torch.Tensor:
        """Images ((K-1)(steps-1)+1, C, H, W) along a path through keyframes (K, nz)."""
        kf = self.model.check_z(keyframes, "keyframes")
        z = interpolate(kf, steps, method)
        if self.clip:
            z = self.model.clip(z)
        c = self.c if c is None else c
        if self.model.conditional and isinstance(c, int):
            c = torch.full((z.shape[0],), c, dtype=torch.long)
        self.z = z
        self.images = self.model.generate(z, c)
        per, last = steps - 1, kf.shape[0] - 2
        self.frame_labels = []
        for i in range(len(z)):
            seg = min(i // per, last)
            t = f"t={(i - seg * per) / per:.2f}"
            self.frame_labels.append(t if last == 0 else f"{seg}->{seg + 1} {t}")
        self.title = f"{method} walk, {kf.shape[0]} keyframes, {steps} steps per segment"
        self._smooth = None
        return self.images

    def between(self, z0, z1, *more, steps: int = 8, method: str = "slerp", c=None) -> torch.Tensor:
        """Images (steps, C, H, W) from G(z0) to G(z1) (more z's continue the path through keyframes)."""
        zs = [self._vector(z, f"z{i}") for i, z in enumerate((z0, z1) + more)]
        return self.path(torch.stack(zs), steps, method, c)

    def random(self, keyframes: int = 2, steps: int = 8, method: str = "slerp", *, seed: int | None = 0,
               rng: torch.Generator | None = None, c=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """A walk through ``keyframes`` z's drawn from the prior (``seed``, or ``rng``: a torch.Generator, which
        then replaces the seed; ``generator=`` is its deprecated old name)."""
        rng = resolve_rng(rng, generator)
        int_at_least(keyframes, "keyframes", 2)
        kf = self.model.sample_z(keyframes, seed=None if rng is not None else seed, rng=rng)
        return self.path(kf, steps, method, c)

    def classes(self, z, c0: int, c1: int, steps: int = 8, method: str = "linear") -> torch.Tensor:
        """AC-GAN: z fixed, the class embedding interpolated from class c0 to c1 -> (steps, C, H, W).

        AC-GAN (Odena et al. 2017) used this to show that c changes the class, not the pose.
        """
        m = self.model
        if not m.conditional:
            raise TypeError("generator: class walks need an AC-GAN (a generator with a class embedding)")
        z = self._vector(z, "z")
        int_at_least(steps, "steps", 2)
        if method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
        k = m.num_classes
        for name, c in (("c0", c0), ("c1", c1)):
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < k:
                raise ValueError(f"{name}: expected a class index in 0..{k - 1}, got {c!r}")
        table = m.module.embed.weight.detach().float().cpu()
        t = torch.linspace(0, 1, steps, dtype=torch.float64)
        e = (slerp if method == "slerp" else lerp)(table[c0], table[c1], t).float()
        zz = z.expand(steps, -1).clone()
        self.z = zz
        self.images = m.generate(zz, embedding=e)
        names = getattr(m.config, "class_names", ()) or ()
        n0 = names[c0] if names else str(c0)
        n1 = names[c1] if names else str(c1)
        self.frame_labels = [f"{n0}->{n1} t={i / (steps - 1):.2f}" for i in range(steps)]
        self.title = f"class walk {n0} -> {n1}, z fixed"
        self._smooth = None
        return self.images

    # -- analysis (figures: latentlab.viz.latent_figures.walk_figure / smoothness_figure) --------
    def _need(self):
        if self.images is None:
            raise ValueError("walk: no walk yet; call between(), path(), random() or classes() first")

    def smoothness(self) -> Smoothness:
        """Distances between consecutive frames of the last walk (see ``walk_smoothness``)."""
        self._need()
        if self._smooth is None:
            shape = tuple(self.images.shape[1:])
            if shape not in self._resolved:
                self._resolved[shape] = resolve_features(self.features, self.model, shape)
            fn, name = self._resolved[shape]
            self._smooth = walk_smoothness(self.images, fn, factor=self.factor, name=name)
        return self._smooth
