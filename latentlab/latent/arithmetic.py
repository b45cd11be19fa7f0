"""Vector arithmetic on face samples (DCGAN §6.3.2): concepts as mean z's, combined with + and -.

"Single samples gave unstable arithmetic; averaging the z's of three exemplars per concept worked":
mean(smiling woman) - mean(neutral woman) + mean(neutral man) = Y decodes to a smiling man. The result
is shown as in the paper: G(Y) in the centre of a 3x3 grid, the 8 others G(Y + noise) with noise of
scale 0.25 (``result_latents``).

Noise kind: the paper's prior was U(-1, 1) and its noise uniform in [-0.25, 0.25]. ``noise="prior"``
(default) keeps that correspondence: uniform noise for a uniform prior and Gaussian noise with standard
deviation ``scale`` for a normal prior (the same relative jitter: 0.25 of the prior's scale per
coordinate); ``noise="uniform"`` / ``"normal"`` force a kind.

Example::

    >>> ar = Arithmetic(gan)                       # the faces judge labels a seeded pool  # doctest: +SKIP
    >>> ar.concept("smiling_woman", smile=1, presentation="feminine", glasses=0)      # doctest: +SKIP
    >>> ar.concept("neutral_woman", smile=0, presentation="feminine", glasses=0)      # doctest: +SKIP
    >>> ar.concept("neutral_man", smile=0, presentation="masculine", glasses=0)       # doctest: +SKIP
    >>> res = ar.evaluate("smiling_woman - neutral_woman + neutral_man")             # doctest: +SKIP
    >>> res.images.shape, ar.success(res, smile=1, presentation="masculine")         # doctest: +SKIP
    (torch.Size([9, 3, 64, 64]), 0.89)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from ..models.adapter import as_latent_model
from ..validate import options_of, positive_int
from .labels import label_images, match
from .pool import JudgedPool, LatentPool

__all__ = ["Arithmetic", "ArithmeticOptions", "Concept", "ArithmeticResult", "concept_vector", "combine_vectors",
           "parse_expression", "result_latents", "NOISE_KINDS", "GRID_CENTER"]

NOISE_KINDS = ("prior", "uniform", "normal")
GRID_CENTER = 4  # index of G(Y) in the row-major 3x3 grid


def concept_vector(z: torch.Tensor) -> torch.Tensor:
    """The concept vector: the mean (nz,) of exemplar z's (k, nz)."""
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[0] < 1:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z: expected exemplars as a (k, nz) tensor with k >= 1, got {got}")
    return z.mean(0)


def combine_vectors(vectors: dict, coefficients: dict) -> torch.Tensor:
    """Y = sum_i coefficients[i] * vectors[i] (nz,)."""
    if not coefficients:
        raise ValueError("coefficients: expected at least one concept, got none")
    y = None
    for name, coef in coefficients.items():
        if name not in vectors:
            raise ValueError(f"coefficients: unknown concept {name!r}; defined concepts: {sorted(vectors)}")
        term = float(coef) * vectors[name].double()
        y = term if y is None else y + term
    return y.float()


_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\S))")


def parse_expression(expression: str) -> dict[str, float]:
    """"a - b + c" or "c + 1.5*d" -> {"a": 1, "b": -1, "c": 1, "d": 1.5} (repeated names add up)."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f"expression: expected a non-empty string like 'a - b + c', got {expression!r}")
    tokens = []
    for num, name, other in _TOKEN.findall(expression):
        if other and other not in "+-*":
            raise ValueError(f"expression: unexpected character {other!r} in {expression!r}; "
                             "use concept names, numbers, +, - and *")
        tokens.append(("num", float(num)) if num else ("name", name) if name else ("op", other))
    out: dict[str, float] = {}
    i, sign, expect_term = 0, 1.0, True
    while i < len(tokens):
        kind, val = tokens[i]
        if kind == "op" and val in "+-":
            if not expect_term and val in "+-":
                expect_term = True
                sign = 1.0 if val == "+" else -1.0
            else:  # unary sign
                sign *= 1.0 if val == "+" else -1.0
            i += 1
            continue
        if not expect_term:
            raise ValueError(f"expression: expected + or - before {val!r} in {expression!r}")
        coef = 1.0
        if kind == "num":
            coef = val
            i += 1
            if i < len(tokens) and tokens[i] == ("op", "*"):
                i += 1
            if i >= len(tokens) or tokens[i][0] != "name":
                raise ValueError(f"expression: expected a concept name after {val} in {expression!r}")
            kind, val = tokens[i]
        if kind != "name":
            raise ValueError(f"expression: unexpected {val!r} in {expression!r}")
        out[val] = out.get(val, 0.0) + sign * coef
        i, sign, expect_term = i + 1, 1.0, False
    if expect_term:
        raise ValueError(f"expression: {expression!r} ends without a concept")
    return out


def result_latents(y: torch.Tensor, *, scale: float = 0.25, noise: str = "uniform", size: int = 3,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """The paper's result grid in z: (size*size, nz), row-major; the centre (index size*size // 2) is
    exactly Y, the others Y + noise: U(-scale, scale) ("uniform") or N(0, scale^2) ("normal")."""
    if not isinstance(y, torch.Tensor) or y.dim() != 1:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"y: expected a latent vector (nz,), got {got}")
    if noise not in ("uniform", "normal"):
        raise ValueError(f"noise: expected 'uniform' or 'normal', got {noise!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"size: expected an odd positive int (grid side), got {size!r}")
    if not scale >= 0:
        raise ValueError(f"scale: expected a non-negative number, got {scale!r}")
    n = size * size
    if noise == "uniform":
        eps = (torch.rand(n, y.shape[0], generator=generator) * 2 - 1) * scale
    else:
        eps = torch.randn(n, y.shape[0], generator=generator) * scale
    eps[n // 2] = 0
    return y.float()[None] + eps


@dataclass
class Concept:
    """A named concept: exemplar z's (k, nz) and their mean ``vector`` (nz,), or a given vector/direction."""

    name: str
    vector: torch.Tensor
    z: torch.Tensor | None = None          # exemplars (k, nz); None for a given vector
    indices: torch.Tensor | None = None    # exemplars' indices into the pool, when chosen from it
    query: dict | None = None              # the query that chose them

    @property
    def k(self) -> int:
        return 0 if self.z is None else self.z.shape[0]


@dataclass
class ArithmeticResult:
    """Y and its 3x3 grid: ``z`` (9, nz) with ``z[4] == y``, ``images`` (9, C, H, W) with G(Y) at index 4."""

    expression: str
    coefficients: dict
    y: torch.Tensor
    z: torch.Tensor
    images: torch.Tensor
    terms: list = field(default_factory=list)   # the Concepts used, in order

    @property
    def center(self) -> torch.Tensor:
        return self.images[GRID_CENTER]


@dataclass(frozen=True)
class ArithmeticOptions:
    """The less common knobs of :class:`Arithmetic`."""

    pick: str = "random"      # "random" among matches (seeded by the Arithmetic's seed) or "confident"
    scale: float = 0.25       # the result grid's noise scale (see the module docstring)
    noise: str = "prior"      # the grid's noise: "prior" (follows the model's prior), "uniform" or "normal"
    c: object = None          # AC-GAN class for every generated image
    batch_size: int = 64      # images per generator call


class Arithmetic(JudgedPool):
    """Concept vectors and their arithmetic on any generator (DCGAN §6.3.2).

    Args:
        generator: a latentlab ``GAN``/generator, a ``LatentModel`` or any module z -> images (a module whose nz
            its first layer does not tell comes as ``LatentModel(module, prior, nz=)``).
        prior: "normal" / "uniform" (required for foreign modules).
        judge: labels the pool for automatic exemplars (``predict(images) -> dict``); default the shipped
            faces judge, loaded on first use.
        k: exemplars per concept (the paper's 3).
        pool_size, seed: the seeded pool exemplars are chosen from (sampled on first use).
        margin: a 0/1 query needs the label >= 0.5 + margin (or <= 0.5 - margin): clear exemplars.
        pool: a labelled ``LatentPool`` to reuse (e.g. shared with a ``RotationAxis``) instead of sampling one.
        device: where the generator runs ("cpu", "cuda", ...; moved there in place); default where it is.
        options: an :class:`ArithmeticOptions` (pick, the grid's noise scale and kind, AC-GAN class, batch size).
    """

    def __init__(self, generator, prior: str | None = None, judge=None, *, k: int = 3, pool_size: int = 1000,
                 seed: int = 0, margin: float = 0.2, pool: LatentPool | None = None, device=None,
                 options: ArithmeticOptions | None = None):
        o = options_of(options, ArithmeticOptions, "options", "latentlab.latent")
        self.model = as_latent_model(generator, prior, batch_size=o.batch_size, device=device)
        positive_int(k, "k", hint="(exemplars per concept)")
        if o.noise not in NOISE_KINDS:
            raise ValueError(f"noise: expected one of {NOISE_KINDS}, got {o.noise!r}")
        self._init_pool(judge, pool, pool_size, seed, o.c)
        self.k, self.margin, self.pick, self.scale, self.noise = k, margin, o.pick, o.scale, o.noise
        self._pick_gen = torch.Generator().manual_seed(int(seed))
        self.concepts: dict[str, Concept] = {}

    @property
    def noise_kind(self) -> str:
        return self.model.prior if self.noise == "prior" else self.noise

    # -- concepts ------------------------------------------------------------------------------
    def concept(self, name: str, *, z=None, indices=None, vector=None, tag: str | None = None, k: int | None = None,
                **query) -> Concept:
        """Define a concept from exemplar ``z`` (k, nz), pool ``indices``, a ``vector``/direction (nz,), the user's
        ``tag`` (all its samples, after ``use_tags``; ``"glasses_man"``, ``"no_glasses_woman"``: see
        ``latentlab.latent.tags``), or automatically from a query on the judged pool (``smile=1, glasses=0``)."""
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"name: expected an identifier (letters, digits, _), got {name!r}")
        if tag is not None:
            if any(v is not None for v in (z, indices, vector, k)) or query:
                raise ValueError(f"{name}: give exemplars one way: tag= alone, got more")
            idx, zz = self.tagged_z(tag)
            self.concepts[name] = Concept(name, concept_vector(zz), zz, idx, {"tag": tag})
            return self.concepts[name]
        given = [a for a, v in (("z", z), ("indices", indices), ("vector", vector)) if v is not None]
        if len(given) > 1 or (given and query):
            raise ValueError(f"{name}: give exemplars one way: z=, indices=, vector= or a query, got "
                             f"{given + sorted(query)}")
        if k is not None:
            positive_int(k, "k")
        if vector is not None:
            v = getattr(vector, "vector", vector)
            v = self.model.check_z(torch.as_tensor(v), "vector")
            if v.shape[0] != 1:
                raise ValueError(f"vector: expected one vector ({self.model.nz},), got {tuple(v.shape)}")
            c = Concept(name, v[0].float().cpu())
        elif z is not None:
            zz = self.model.check_z(z, "z").float().cpu()
            if k is not None and zz.shape[0] < k:
                raise ValueError(f"z: expected at least k={k} exemplars for {name!r}, got {zz.shape[0]}")
            zz = zz[:k] if k is not None else zz
            c = Concept(name, concept_vector(zz), zz)
        elif indices is not None:
            idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
            n = len(self.pool)
            if len(idx) == 0 or idx.min() < 0 or idx.max() >= n:
                raise ValueError(f"indices: expected indices into the pool of {n} samples (0..{n - 1}), "
                                 f"got {idx.tolist()}")
            if k is not None and len(idx) < k:
                raise ValueError(f"indices: expected at least k={k} exemplars for {name!r}, got {len(idx)}")
            idx = idx[:k] if k is not None else idx
            zz = self.pool.z[idx]
            c = Concept(name, concept_vector(zz), zz, idx)
        else:
            if not query:
                raise ValueError(f"{name}: give exemplars (z=, indices=, vector=) or a query such as "
                                 "smile=1, presentation='feminine'")
            idx = self.pool.select(k or self.k, margin=self.margin, pick=self.pick, rng=self._pick_gen, **query)
            zz = self.pool.z[idx]
            c = Concept(name, concept_vector(zz), zz, idx, dict(query))
        self.concepts[name] = c
        return c

    # -- arithmetic ----------------------------------------------------------------------------
    def combine(self, coefficients: dict, *, seed: int | None = None,
                expression: str | None = None) -> ArithmeticResult:
        """Y = sum coefficient * concept vector; its 3x3 grid (noise seeded by ``seed``, default ``self.seed``)."""
        coefficients = {getattr(k, "name", k): float(v) for k, v in coefficients.items()}
        y = combine_vectors({n: c.vector for n, c in self.concepts.items()}, coefficients)
        gen = torch.Generator().manual_seed(int(self.seed if seed is None else seed))
        z = result_latents(y, scale=self.scale, noise=self.noise_kind, generator=gen)
        images = self.model.generate(z, self._classes(len(z)))
        expr = expression or " ".join(f"{'+' if v >= 0 else '-'} {abs(v):g}*{n}" for n, v in coefficients.items())
        return ArithmeticResult(expr, coefficients, y, z, images, [self.concepts[n] for n in coefficients])

    def evaluate(self, expression: str, *, seed: int | None = None) -> ArithmeticResult:
        """``ar.evaluate("smiling_woman - neutral_woman + neutral_man")`` (see ``parse_expression``)."""
        coefficients = parse_expression(expression)
        if self.tags is not None:   # concepts not defined yet come from the user's tags
            for n in coefficients:
                if n not in self.concepts:
                    self.concept(n, tag=n)
        unknown = [n for n in coefficients if n not in self.concepts]
        if unknown:
            raise ValueError(f"expression: unknown concept(s) {unknown}; defined: {sorted(self.concepts)} "
                             "(define them with ar.concept(name, ...))")
        return self.combine(coefficients, seed=seed, expression=expression)

    def _classes(self, n):
        if self.model.conditional and isinstance(self.c, int):
            return torch.full((n,), self.c, dtype=torch.long)
        return self.c

    def success(self, result: ArithmeticResult, **query) -> float:
        """Share of the grid's images the judge reads as the target (0/1 queries at threshold 0.5)."""
        labels = label_images(self.judge, result.images)
        return float(match(labels, 0.0, **query).float().mean())

    def term_images(self, result: ArithmeticResult) -> list[tuple]:
        """Per term of ``result``: (name, coefficient, exemplar images (k, C, H, W), G(mean z) (C, H, W)); the
        two images are None for a concept given as a vector. What ``viz.latent_figures.arithmetic_figure`` draws."""
        terms = []
        for c in result.terms:
            coef = result.coefficients[c.name]
            ex = self.model.generate(c.z, self._classes(c.k)) if c.z is not None else None
            mean = self.model.generate(c.vector[None], self._classes(1))[0] if c.z is not None else None
            terms.append((c.name, coef, ex, mean))
        return terms
