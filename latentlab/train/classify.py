"""Supervised fits on the shared training loop: the DTN's encoder f, the face encoder and the domain-adaptation
classifier all train a classifier on labelled images in seeded shuffled batches, through
:class:`~latentlab.train.loop.TrainingLoop` (callbacks, progress); none keeps checkpoints (they take seconds to
minutes and are retrained from their seed).

The batch order is the one every caller has used: a permutation drawn from ``rng``; when fewer than
``batch_size`` items remain, a fresh permutation (the tail of the old one is skipped).
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Sequence

import torch

from .callbacks import ProgressBar, ProgressLines
from .loop import TrainingLoop

__all__ = ["ShuffledBatches", "fit_classifier", "progress_callbacks"]


class ShuffledBatches:
    """Index batches of ``batch_size`` out of ``n`` items: ``next()`` -> (min(batch_size, n),) long tensor."""

    def __init__(self, n: int, batch_size: int, rng: torch.Generator):
        self.n, self.batch_size, self.rng = n, batch_size, rng
        self.perm, self.pos = torch.randperm(n, generator=rng), 0

    def next(self) -> torch.Tensor:
        if self.pos + self.batch_size > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.rng), 0
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx


def progress_callbacks(desc: str, *, bar: bool = False, every: int = 0, stream=None) -> list:
    """A progress bar (``bar``; ``latentlab.progress``: tqdm on a terminal, lines in a log) and/or a plain line
    ``<desc> step S/N loss L Ts`` every ``every`` steps (0 = none) on ``stream`` (default stdout)."""
    out: list = [ProgressBar(desc=desc, postfix=None)] if bar else []
    if every:
        def line(step, total, record, per_step):
            return f"{desc} step {step}/{total} loss {record['loss']:.4f} {per_step * step:.0f}s"
        out.append(ProgressLines(every, stream=stream or sys.stdout, line=line))
    return out


def fit_classifier(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, *, steps: int,
                   batches: ShuffledBatches, optimizer: torch.optim.Optimizer, scheduler=None,
                   loss_fn: Callable = torch.nn.functional.cross_entropy, augment: Callable | None = None,
                   callbacks: Sequence[object] = ()) -> torch.nn.Module:
    """``steps`` optimizer steps of ``loss_fn(model(x), labels[idx])`` on batches ``idx = batches.next()``, ``x =
    images[idx]`` or ``augment(images[idx], batches.rng)``; ``scheduler.step()`` after each. Returns ``model``
    (still in train mode). Records ``{"step", "loss", "time"}`` go to the callbacks (see ``progress_callbacks``).

    images (N, ...) and labels (N, ...) are indexed together; the caller seeds the model and ``batches.rng``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    loop = TrainingLoop(steps, callbacks=callbacks)

    def step(s: int) -> dict:
        idx = batches.next()
        x = images[idx] if augment is None else augment(images[idx], batches.rng)
        loss = loss_fn(model(x), labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return {"step": s + 1, "loss": float(loss.detach()), "time": round(time.time() - loop.t0, 3)}

    model.train()
    loop.run(0, step)
    return model
