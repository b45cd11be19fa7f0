"""Supervised fits on the shared training loop: the DTN's encoder f, the face encoder, the domain-adaptation
classifier and the judges' training scripts (``scripts/train_judge_*.py``) train a network on labelled batches
through :class:`~latentlab.train.loop.TrainingLoop` (callbacks, progress, optional save points).

A batch source is any object with ``next() -> (x, y)``. :class:`LabelledBatches` draws them from tensors in the
order of an index sampler:

- :class:`ShuffledBatches`: a permutation drawn from ``rng``; when fewer than ``batch_size`` items remain, a fresh
  permutation (the tail of the old one is skipped) - the encoders' and the avatar judge's order;
- :class:`EpochBatches`: one permutation per epoch split into batches, the last one smaller - the MNIST and
  Fashion-MNIST judges' order.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Callable, Sequence

import torch

from .callbacks import ProgressBar, ProgressLines
from .loop import TrainingLoop

__all__ = ["ShuffledBatches", "EpochBatches", "LabelledBatches", "EpochHistory", "RunningLog", "fit_classifier",
           "progress_callbacks"]

RECORD_KEYS = ("step", "loss", "n", "correct", "time")  # the rest of a record are the loss terms


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


class EpochBatches:
    """Epochs of ``n`` items: each a permutation from ``rng`` (drawn when the epoch starts) split into batches of
    ``batch_size`` (the last one smaller). ``steps_per_epoch`` = ceil(n / batch_size); ``epoch`` counts from 1."""

    def __init__(self, n: int, batch_size: int, rng: torch.Generator):
        self.n, self.batch_size, self.rng = n, batch_size, rng
        self.steps_per_epoch = math.ceil(n / batch_size)
        self.epoch, self._left = 0, []

    def next(self) -> torch.Tensor:
        if not self._left:
            self.epoch += 1
            self._left = list(torch.randperm(self.n, generator=self.rng).split(self.batch_size))
        return self._left.pop(0)


class LabelledBatches:
    """``next()`` -> (images[idx] or ``augment(images[idx], order.rng)``, labels[idx]) for ``idx = order.next()``;
    ``labels`` may be a tensor or a dict of tensors (indexed alike)."""

    def __init__(self, images: torch.Tensor, labels, order, augment: Callable | None = None):
        self.images, self.labels, self.order, self.augment = images, labels, order, augment

    def next(self) -> tuple:
        idx = self.order.next()
        x = self.images[idx] if self.augment is None else self.augment(self.images[idx], self.order.rng)
        y = {k: v[idx] for k, v in self.labels.items()} if isinstance(self.labels, dict) else self.labels[idx]
        return x, y


class EpochHistory:
    """A callback for epoch-based fits (:class:`EpochBatches`): ``history`` gets one row per epoch, {epoch,
    train_loss (mean over items), train_accuracy, seconds (since ``t0``)}, and a line ``epoch  E/N  loss L  train
    acc A  Ts`` is printed every ``print_every`` epochs and after the last."""

    def __init__(self, steps_per_epoch: int, n_items: int, epochs: int, print_every: int = 1, t0: float | None = None):
        self.steps_per_epoch, self.n_items, self.epochs, self.print_every = steps_per_epoch, n_items, epochs, print_every
        self.t0 = time.time() if t0 is None else t0
        self.history: list[dict] = []
        self.total_loss, self.correct = 0.0, 0

    def on_step(self, trainer, step, record):
        self.total_loss += record["loss"] * record["n"]
        self.correct += record["correct"]
        if step % self.steps_per_epoch:
            return
        epoch = step // self.steps_per_epoch
        row = {"epoch": epoch, "train_loss": self.total_loss / self.n_items,
               "train_accuracy": self.correct / self.n_items, "seconds": time.time() - self.t0}
        self.history.append(row)
        self.total_loss, self.correct = 0.0, 0
        if epoch % self.print_every == 0 or epoch == self.epochs:
            print(f"epoch {epoch:2d}/{self.epochs}  loss {row['train_loss']:.4f}  "
                  f"train acc {row['train_accuracy']:.4f}  {row['seconds']:.0f}s", flush=True)


class RunningLog:
    """A callback that keeps a running mean (``decay`` old + 1 - ``decay`` new) of each loss term of the records,
    or of ``keys`` (e.g. ("loss",)), in ``running``, and prints ``step S/N  term v ...  lr LR  Ts`` every
    ``every`` steps and at step N: the judges' training log.

    ``scheduler``: its last lr is shown; ``t0``: the start time (earlier on resume); ``running``: the means so far
    (resume); ``total``: N (default the loop's total); ``exact_first``: a term's first mean is its value (else
    the blend of the value with itself)."""

    def __init__(self, every: int, scheduler=None, t0: float | None = None, running: dict | None = None, *,
                 decay: float = 0.9, keys: Sequence[str] | None = None, total: int | None = None,
                 exact_first: bool = False):
        self.every, self.scheduler, self.decay, self.keys, self.total = every, scheduler, decay, keys, total
        self.t0 = time.time() if t0 is None else t0
        self.running: dict[str, float] = dict(running or {})
        self.exact_first = exact_first

    def on_step(self, trainer, step, record):
        for k in (self.keys or [k for k in record if k not in RECORD_KEYS]):
            v = record[k]
            first = k not in self.running
            self.running[k] = v if first and self.exact_first else \
                self.decay * self.running.get(k, v) + (1 - self.decay) * v
        total = self.total or trainer.total_steps
        if step % self.every == 0 or step == total:
            lr = f"  lr {self.scheduler.get_last_lr()[0]:.2e}" if self.scheduler is not None else ""
            print(f"step {step}/{total}  " + "  ".join(f"{k} {v:.4f}" for k, v in self.running.items())
                  + f"{lr}  {time.time() - self.t0:.0f}s", flush=True)


def progress_callbacks(desc: str, *, bar: bool = False, every: int = 0, stream=None) -> list:
    """A progress bar (``bar``; ``latentlab.progress``: tqdm on a terminal, lines in a log) and/or a plain line
    ``<desc> step S/N loss L Ts`` every ``every`` steps (0 = none) on ``stream`` (default stdout)."""
    out: list = [ProgressBar(desc=desc, postfix=None)] if bar else []
    if every:
        def line(step, total, record, per_step):
            return f"{desc} step {step}/{total} loss {record['loss']:.4f} {per_step * step:.0f}s"
        out.append(ProgressLines(every, stream=stream or sys.stdout, line=line))
    return out


def _record(step: int, loss, out, x, y, t0: float) -> dict:
    """The log record of one step: loss, batch size, (N, C) logits' correct count, the loss terms."""
    parts = {}
    if isinstance(loss, tuple):  # loss_fn -> (loss, {term: float})
        loss, parts = loss
    rec = {"step": step, "loss": float(loss.detach()), "n": len(x), **parts}
    if isinstance(out, torch.Tensor) and out.dim() == 2 and isinstance(y, torch.Tensor) and y.dim() == 1:
        rec["correct"] = int((out.detach().argmax(1) == y).sum())
    rec["time"] = round(time.time() - t0, 3)
    return rec


def fit_classifier(model: torch.nn.Module, batches, *, steps: int, optimizer: torch.optim.Optimizer,
                   scheduler=None, loss_fn: Callable = torch.nn.functional.cross_entropy,
                   callbacks: Sequence[object] = (), start: int = 0, checkpoint_every: int | None = None):
    """Optimizer steps ``start .. steps - 1`` of ``loss_fn(model(x), y)`` on ``x, y = batches.next()``;
    ``scheduler.step()`` after each. ``loss_fn`` may return ``(loss, {term: float})``: the terms join the record.
    Records ``{"step", "loss", "n", "correct" (class logits), terms..., "time"}`` go to ``callbacks``; with
    ``checkpoint_every`` the loop makes save points (``on_save``; SIGINT/SIGTERM stop at one). The model is put
    in train mode before every step (a save point may have evaluated it) and returned as it ends. The caller seeds
    the model and the batch source."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    loop = TrainingLoop(steps, callbacks=callbacks, checkpoint_every=checkpoint_every)

    def step(s: int) -> dict:
        model.train()
        x, y = batches.next()
        out = model(x)
        res = loss_fn(out, y)
        loss = res[0] if isinstance(res, tuple) else res
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return _record(s + 1, res, out, x, y, loop.t0)

    loop.run(start, step)
    return model
