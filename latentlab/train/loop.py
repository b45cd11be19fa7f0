"""One training loop for every trainer: the GAN :class:`~latentlab.train.Trainer`, the
:class:`~latentlab.transfer.DTNTrainer` and the classifier fits (:func:`fit_classifier`: the DTN's encoder f, the
face encoder, the domain-adaptation classifier).

A trainer gives the loop ``step_fn(step) -> record`` (one optimisation step, 0-based; the record is the log line
of step + 1); the loop owns everything around it:

- the step range ``start .. total_steps - 1`` (``start`` > 0 on resume),
- the callback events (below), in the order the callbacks were given,
- save points: every ``checkpoint_every`` steps, at the last step and when a stop signal arrived,
- SIGINT / SIGTERM (main thread only): the step in flight finishes, a save point is made, then
  ``KeyboardInterrupt`` ("resume with --resume"); the previous handlers are restored,
- ``on_train_end`` always, also when a step or a callback raised.

The callback protocol (minGPT style; every method is optional; ``trainer`` is the object that owns the loop)::

    on_train_start(trainer)            before the first step (trainer.start_step is set, > 0 on resume)
    on_step(trainer, step, record)     after step ``step`` (1-based)
    on_save(trainer, step)             at a save point (rank 0 only; an error here stops every rank)
    on_checkpoint(trainer, path)       after a save point wrote the checkpoint ``path`` (see ``TrainingLoop.wrote``)
    on_train_end(trainer)              always (close files here)

A callback reads ``trainer.run_dir``, ``trainer.resume``, ``trainer.is_rank0``, ``trainer.start_step`` and
``trainer.total_steps``; :mod:`latentlab.train.callbacks` holds the stock ones (JSONL log, progress, checkpoints,
sample grids).

Example (a loop without a trainer object: the loop itself is passed to the callbacks)::

    loop = TrainingLoop(3, callbacks=[PrintRecords()])
    loop.run(0, lambda step: {"step": step + 1, "loss": 1.0 / (step + 1)})
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

__all__ = ["TrainingLoop", "LocalSync", "EVENTS"]

EVENTS = ("on_train_start", "on_step", "on_save", "on_checkpoint", "on_train_end")


class LocalSync:
    """The loop's view of the other processes, for a single process: every flag is local, rank 0 is this one.
    (The GAN trainer passes its torch.distributed wrapper, which has the same two methods.)"""

    def any_flag(self, flag: bool) -> bool:
        return flag

    def on_rank0(self, fn: Callable[[], None], message: str) -> None:
        fn()


class TrainingLoop:
    """Run ``step_fn`` for steps ``start .. total_steps - 1`` with callbacks, save points and stop signals.

    Args:
        total_steps: the step count at which training ends.
        trainer: the object callbacks receive (default: the loop itself, which has ``start_step``,
            ``total_steps`` and ``is_rank0``).
        callbacks: objects with some of the methods of the protocol above.
        checkpoint_every: steps between save points; None = no save points (and no signal handling).
        sync: ``any_flag(bool) -> bool`` (is the flag set on any rank) and ``on_rank0(fn, message)``;
            default :class:`LocalSync`.
        handle_signals: catch SIGINT / SIGTERM and stop at a save point (needs ``checkpoint_every``).
    """

    def __init__(self, total_steps: int, *, trainer=None, callbacks: Sequence[object] = (),
                 checkpoint_every: int | None = None, sync=None, handle_signals: bool = True):
        self.total_steps = total_steps
        self.trainer = self if trainer is None else trainer
        self.callbacks = list(callbacks)
        self.checkpoint_every = checkpoint_every
        self.sync = LocalSync() if sync is None else sync
        self.handle_signals = handle_signals and checkpoint_every is not None
        self.start_step = 0
        self.is_rank0 = True
        self.stop_signal: int | None = None
        self.written: Path | None = None
        self.t0 = time.time()

    # ---------------------------------------------------------------- events
    def emit(self, event: str, *args) -> None:
        """Call ``event`` (one of EVENTS) on every callback that has it, with the trainer first."""
        for cb in self.callbacks:
            fn = getattr(cb, event, None)
            if fn is not None:
                fn(self.trainer, *args)

    def wrote(self, path: Path) -> None:
        """Called by the checkpoint writer (an ``on_save`` callback): ``on_checkpoint(path)`` follows the save."""
        self.written = path

    def save_point(self, step: int) -> None:
        """``on_save`` (this process), then ``on_checkpoint`` if a checkpoint was written."""
        self.written = None
        self.emit("on_save", step)
        if self.written is not None:
            self.emit("on_checkpoint", self.written)

    def _on_signal(self, signum, frame):
        self.stop_signal = signum

    def _install(self) -> dict:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    # ---------------------------------------------------------------- the loop
    def run(self, start: int, step_fn: Callable[[int], dict], finish: Callable[[], None] | None = None) -> None:
        """Steps ``start .. total_steps - 1``; then ``finish()`` (e.g. write the final model), then
        ``on_train_end``. A stop signal ends the run with KeyboardInterrupt after a save point."""
        self.start_step, self.stop_signal = start, None
        old_handlers = {}
        try:
            old_handlers = self._install()
            self.emit("on_train_start")
            self.t0 = time.time()
            for step in range(start, self.total_steps):
                record = step_fn(step)
                self._after_step(step + 1, record)
            if finish is not None:
                finish()
        finally:
            for s, h in old_handlers.items():
                signal.signal(s, h)
            self.emit("on_train_end")

    def _after_step(self, done: int, record: dict) -> None:
        self.emit("on_step", done, record)
        every = self.checkpoint_every
        stop = self.sync.any_flag(self.stop_signal is not None) if self.handle_signals else False
        if every is not None and (done % every == 0 or done == self.total_steps or stop):
            self.sync.on_rank0(lambda: self.save_point(done),
                               f"rank 0 failed to write the checkpoint at step {done} (see its error)")
        if stop:
            if getattr(self.trainer, "is_rank0", True):
                print(f"stopped by signal at step {done}; checkpoint saved, resume with --resume", file=sys.stderr)
            raise KeyboardInterrupt(f"training stopped by signal at step {done} (checkpoint saved)")
