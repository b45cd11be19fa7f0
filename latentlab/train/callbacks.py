"""The trainers' bookkeeping as callbacks (minGPT style): the training loop (:mod:`latentlab.train.loop`, shared by
the GAN and the DTN trainer) only trains; logging, progress, sample grids and checkpoints are objects that react to
events. Replace or extend them through ``Trainer(callbacks=..., default_callbacks=...)`` (``DTNTrainer`` takes the
same two arguments).

A callback is any object with some of these methods (missing ones are skipped):

- ``on_train_start(trainer)``: before the first step (every rank; ``trainer.start_step`` is set, > 0 on resume).
- ``on_step(trainer, step, record)``: after each optimizer step ``step`` (1-based, every rank); ``record`` holds
  ``step, loss_d, loss_g, d_x, d_g_z, time`` (+ ``r1`` on penalty steps) for the GAN, ``step, loss_d, loss_g,
  loss_gang, loss_const, loss_tid, loss_tv, time`` (+ ``loss_div``) for the DTN.
- ``on_save(trainer, step)``: at a save point (every ``checkpoint_every`` steps, the last step, a stop signal), on
  rank 0 only. An exception here stops every rank.
- ``on_checkpoint(trainer, path)``: after the checkpoint file ``path`` was written (rank 0).
- ``on_train_end(trainer)``: always, also when training raised (close files here).

The stock callbacks read only ``trainer.run_dir``, ``resume``, ``is_rank0``, ``start_step`` and ``total_steps``
(and call ``trainer.save_checkpoint(step)`` / ``trainer.grid_samples(n)``), so both trainers use them.
"""
from __future__ import annotations

import io
import json
import math
import sys
import time

from ..io import atomic_write_bytes

__all__ = ["JsonlLog", "ProgressBar", "ProgressLines", "Checkpointer", "SampleGrid", "default_callbacks"]


class JsonlLog:
    """``run_dir/log.jsonl``: one JSON record every ``every`` steps (and at the last step), rank 0.

    Line-buffered, so ``tail -f`` shows each finished step and after a kill the last line is the last completed
    step. On resume, records past the checkpoint's step are dropped first (they are about to be recomputed).
    """

    def __init__(self, every: int = 1):
        self.every = every
        self.file = None

    def on_train_start(self, trainer):
        if not trainer.is_rank0:
            return
        if trainer.resume:
            truncate_log(trainer.run_dir / "log.jsonl", trainer.start_step)
        self.file = open(trainer.run_dir / "log.jsonl", "a", buffering=1)

    def on_step(self, trainer, step, record):
        if self.file is not None and (step % self.every == 0 or step == trainer.total_steps):
            self.file.write(json.dumps(record) + "\n")

    def on_save(self, trainer, step):
        if self.file is not None:
            self.file.flush()

    def on_train_end(self, trainer):
        if self.file is not None:
            self.file.close()
            self.file = None


def truncate_log(path, step: int) -> None:
    """Keep the records of ``path`` (a log.jsonl) with ``step <= step``; lines cut short by a kill are dropped."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:  # a line cut short by a kill
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] <= step:
            keep.append(line)
    atomic_write_bytes(path, "".join(k + "\n" for k in keep).encode())


def gan_postfix(record: dict) -> dict:
    """The GAN's progress-bar postfix: D's and G's losses."""
    return {"loss_d": f"{record['loss_d']:.3f}", "loss_g": f"{record['loss_g']:.3f}"}


class ProgressBar:
    """A progress bar on rank 0 (``latentlab.progress.progress_bar``: tqdm on a terminal, plain lines in a log);
    ``postfix(record) -> dict`` (default: D's and G's losses) in its postfix every ``postfix_every`` steps."""

    def __init__(self, postfix_every: int = 10, desc: str = "train", postfix=gan_postfix):
        self.postfix_every, self.desc, self.postfix = postfix_every, desc, postfix
        self.bar = None

    def on_train_start(self, trainer):
        from ..progress import progress_bar
        if trainer.is_rank0:
            self.bar = progress_bar(total=trainer.total_steps, initial=trainer.start_step, desc=self.desc,
                                    dynamic_ncols=True)

    def on_step(self, trainer, step, record):
        if self.bar is None:
            return
        self.bar.update(1)
        if step % self.postfix_every == 0 and self.postfix is not None:
            self.bar.set_postfix(**self.postfix(record))

    def on_train_end(self, trainer):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def gan_line(step: int, total: int, record: dict, per_step: float) -> str:
    """``step 200/5000  loss_d 1.213  loss_g 2.871  D(x) 0.61  D(G(z)) 0.32  0.412 s/step  ETA 32m58s``"""
    return (f"step {step}/{total}  loss_d {record['loss_d']:.3f}  loss_g {record['loss_g']:.3f}  "
            f"D(x) {record['d_x']:.2f}  D(G(z)) {record['d_g_z']:.2f}  {per_step:.3f} s/step  "
            f"ETA {_duration(per_step * (total - step))}")


class ProgressLines:
    """Plain progress lines on rank 0 for logs (stderr not a terminal, where a tqdm bar is noise or silent):
    ``line(step, total, record, seconds_per_step)`` (default :func:`gan_line`) every ``every`` steps and at the
    last step. s/step is the mean since this process started training."""

    def __init__(self, every: int = 100, stream=None, line=gan_line):
        self.every, self.stream, self.line = every, stream, line
        self.t0 = self.first = None

    def on_train_start(self, trainer):
        self.t0, self.first = time.perf_counter(), trainer.start_step

    def on_step(self, trainer, step, record):
        total = trainer.total_steps
        if not trainer.is_rank0 or not (step % self.every == 0 or step == total):
            return
        per = (time.perf_counter() - self.t0) / max(1, step - self.first)
        print(self.line(step, total, record, per), file=self.stream or sys.stderr, flush=True)


class Checkpointer:
    """Writes the training checkpoint (weights, BatchNorm buffers, Adam state, moving average) at each save point
    and prunes old ones (``TrainConfig.keep_checkpoints``). Without it, ``resume`` has nothing to continue from."""

    def on_save(self, trainer, step):
        trainer.save_checkpoint(step)


class SampleGrid:
    """``run_dir/samples/step-XXXXXXXX.png``: a grid of ``n`` samples from fixed z at each save point (the moving
    average of G when there is one); AC-GAN grids show one class per column."""

    def __init__(self, n: int = 64):
        self.n = n

    def on_save(self, trainer, step):
        from torchvision.utils import save_image
        x = trainer.grid_samples(self.n)
        mc = trainer.mc
        buf = io.BytesIO()
        save_image(x.float().contiguous(), buf, format="png",
                   nrow=mc.num_classes if mc.conditional else int(math.ceil(math.sqrt(self.n))),
                   normalize=True, value_range=(-1, 1))
        atomic_write_bytes(trainer.run_dir / "samples" / f"step-{step:08d}.png", buf.getvalue())


def default_callbacks(train_config, *, tty: bool | None = None) -> list:
    """The callbacks a Trainer uses unless told otherwise: JSONL log, progress (a tqdm bar when stderr is a terminal,
    plain lines every ``progress_every`` steps otherwise; none when ``progress=False``), checkpoints, sample grids.
    """
    tc = train_config
    out: list = [JsonlLog(tc.log_every)]
    if tc.progress:
        tty = bool(getattr(sys.stderr, "isatty", lambda: False)()) if tty is None else tty
        out.append(ProgressBar() if tty else ProgressLines(tc.progress_every))
    out += [Checkpointer(), SampleGrid(tc.grid_size)]
    return out
