"""A seeded pool of latent vectors with judge labels: where exemplars for concepts come from.

DCGAN §6.3.2 picked exemplars by eye among generated samples; here a pool of ``n`` samples is drawn
from the prior (seeded), labelled by a judge, and ``k`` exemplars matching a query are picked from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..models.adapter import LatentModel
from ..rng import resolve_rng
from ..validate import one_of, positive_int
from .labels import describe_query, label_images, match

__all__ = ["LatentPool", "sample_pool", "PICKS", "JudgedPool"]

PICKS = ("random", "confident")


@dataclass
class LatentPool:
    """``z`` (N, nz) and ``labels`` {name: (N,)}; ``seed`` records where the pool came from."""

    z: torch.Tensor
    labels: dict = field(default_factory=dict)
    seed: int | None = None

    def __len__(self) -> int:
        return self.z.shape[0]

    def matching(self, margin: float = 0.0, **query) -> torch.Tensor:
        """Indices (M,) of the pool samples that satisfy the query (see ``latentlab.latent.labels``)."""
        return match(self.labels, margin, **query).nonzero().flatten()

    def select(self, k: int, *, margin: float = 0.0, pick: str = "random", rng: torch.Generator | None = None,
               generator: torch.Generator | None = None, **query) -> torch.Tensor:
        """Indices (k,) of k samples matching the query; ValueError saying how many matched out of how many.

        ``pick="random"``: a random choice among the matches (with ``rng``, a torch.Generator; ``generator=``
        is its deprecated old name), as a person picking exemplars by eye would; ``"confident"``: the matches
        whose 0/1-queried labels lie farthest from 0.5.
        """
        rng = resolve_rng(rng, generator)
        positive_int(k, "k", hint="(number of exemplars)")
        one_of(pick, "pick", PICKS)
        idx = self.matching(margin, **query)
        if len(idx) < k:
            raise ValueError(f"query {describe_query(query)}: {len(idx)} of {len(self)} pool samples match, "
                             f"fewer than the k={k} exemplars asked for; use a larger pool (pool_size), a smaller "
                             f"margin (now {margin}) or a looser query")
        if pick == "random":
            order = torch.randperm(len(idx), generator=rng)
        else:
            from .labels import _normalise_query
            score = torch.zeros(len(idx))
            for name, v in _normalise_query(query).items():
                if isinstance(v, (bool, int, float)) and v in (0, 1):
                    score += (self.labels[name][idx] - 0.5).abs()
            order = torch.argsort(score, descending=True, stable=True)
        return idx[order[:k]]


def sample_pool(model: LatentModel, judge, n: int, *, seed: int | None = 0, rng: torch.Generator | None = None,
                c=None, generator: torch.Generator | None = None) -> LatentPool:
    """Draw n z's from the prior (``seed``, or ``rng``: a torch.Generator; ``generator=`` is its deprecated
    old name), generate and label them (N images at a time in batches; images are not kept)."""
    rng = resolve_rng(rng, generator)
    positive_int(n, "pool_size")
    z = model.sample_z(n, seed=seed if rng is None else None, rng=rng)
    chunks: dict[str, list] = {}
    bs = max(model.batch_size, 256)
    for i in range(0, n, bs):
        ci = c if c is None or isinstance(c, int) else c[i:i + bs]
        labels = label_images(judge, model.generate(z[i:i + bs], ci))
        for k, v in labels.items():
            chunks.setdefault(k, []).append(v)
    return LatentPool(z, {k: torch.cat(v) for k, v in chunks.items()}, seed)


class JudgedPool:
    """Mixin for analyses that pick exemplars from a judged pool (``Arithmetic``, ``RotationAxis``).

    Needs ``self.model`` (a LatentModel); :meth:`_init_pool` stores the judge (loaded on first use when
    None) and the pool (sampled on first use from ``pool_size`` and ``seed``, with classes ``c``).
    """

    def _init_pool(self, judge, pool, pool_size: int, seed: int, c) -> None:
        if pool is not None and (not isinstance(pool, LatentPool) or pool.z.shape[1] != self.model.nz):
            raise ValueError(f"pool: expected a LatentPool with nz={self.model.nz}, got {pool!r:.80}")
        self._judge = judge
        self._pool: LatentPool | None = pool
        self.pool_size, self.seed, self.c = pool_size, seed, c
        self.tags = None

    def use_tags(self, tags) -> None:
        """Take exemplars from the user's tags (a ``latentlab.latent.tags.TagsFile``) instead of a judge: the
        pool becomes the file's n samples (z from its seed), unlabelled; concepts/sides are then named by tag."""
        from .tags import TagsFile
        if not isinstance(tags, TagsFile):
            raise TypeError(f"tags: expected a TagsFile (latentlab.latent.tags.load_tags), got {type(tags).__name__}")
        if self.c is not None:
            raise ValueError("tags: the tags' samples are unconditional; leave options.c at None")
        self._pool = LatentPool(tags.z(self.model), {}, tags.seed)
        self.tags = tags

    def tagged_z(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices (M,), z (M, nz)) of the samples carrying concept ``name`` in the tags (M >= 2)."""
        if self.tags is None:
            raise ValueError(f"{name!r}: no tags given; call use_tags(load_tags(FILE)) or build with from_tags")
        idx = self.tags.indices(name)
        return idx, self.pool.z[idx]

    @classmethod
    def from_tags(cls, generator, tags, prior: str | None = None, **kw):
        """The analysis on ``generator`` with exemplars from the user's ``tags`` (no judge)."""
        obj = cls(generator, prior, **kw)
        obj.use_tags(tags)
        return obj

    @property
    def judge(self):
        if self._judge is None:
            from .labels import load_default_judge
            self._judge = load_default_judge(self.model.dataset or "faces")
        return self._judge

    @property
    def pool(self) -> LatentPool:
        """The labelled pool (sampled with ``seed`` on first use)."""
        if self._pool is None:
            self._pool = sample_pool(self.model, self.judge, self.pool_size, seed=self.seed, c=self.c)
        return self._pool
