"""DTN training loop: checkpoint + bit-exact resume, seeded data order, JSONL log, progress.

One *step* is one D update on a source batch and a target batch, followed by ``g_steps_per_d_step`` G
updates on the same batches (f(x) and f(t) are computed once per step: f is fixed). The data order of each
domain is a pure function of (seed, domain, epoch); g's and D's initial weights of (seed); so a run killed
and resumed from a checkpoint (g, D, Adam state, all stored bit-exact) continues as the uninterrupted run.

Run directory: ``run.json`` (config, encoder config, datasets, runtime), ``log.jsonl`` (one record per
``log_every`` steps), ``checkpoints/step-XXXXXXXX.safetensors`` (training state, also loadable with
:func:`~latentlab.transfer.load_dtn`), ``samples/step-XXXXXXXX.png`` (source row, G(source) row) and
``model.safetensors`` (the final DTN).
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Sequence

import torch
from torch.optim.swa_utils import AveragedModel

from ..io import atomic_write_bytes, load_safetensors
from ..rng import derive_seed, seeded_rng
# Shared with the GAN trainer: the loop (signals, save points, callbacks), the stock callbacks, the run directory,
# optimizer state <-> flat tensors, errors.
from ..train.callbacks import Checkpointer, JsonlLog, ProgressBar, ProgressLines
from ..train.devices import native_bf16
from ..train.loop import TrainingLoop
from ..train.optim import adam, frozen, optimizer_from_tensors, optimizer_to_tensors
from ..train.trainer import ema_average
from ..train.rundir import (RunExistsError, TrainingDiverged, checkpoint_name, latest_checkpoint, list_checkpoints,
                            checkpoint_written, make_run_dir, previous_run, resume_from)
from . import losses
from .dtn import DTN, DTNConfig, dtn_from_state, match_channels, save_dtn
from .encoder import Encoder
from .measures import backdrop_frequency

__all__ = ["DTNTrainer", "DTNSampleGrid", "default_callbacks", "latest_checkpoint", "RunExistsError",
           "TrainingDiverged"]

SOURCE_STREAM, TARGET_STREAM = 21, 22  # seed-derivation tags of the two data orders
LAYOUT_IMAGES = 2000  # targets that measure DTNConfig.mask_layout's map
TRAINED_G = "trained_decoder."  # with DTNConfig.ema_decay > 0: checkpoint prefix of the trained (not averaged) g


def _check_dataset(ds, name: str, channels: int, size: int):
    if not hasattr(ds, "__len__") or not hasattr(ds, "__getitem__"):
        raise TypeError(f"{name}: expected a dataset of (image, label) items, got {type(ds).__name__}")
    if len(ds) < 2:
        raise ValueError(f"{name}: needs at least 2 images, got {len(ds)}")
    x = ds[0][0]
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        raise ValueError(f"{name}: items must be (image (C, S, S) tensor, label), got an image of "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if tuple(x.shape) != (channels, size, size):
        raise ValueError(f"{name}: images have shape {tuple(x.shape)}, the config expects ({channels}, {size}, {size})"
                         f" (source_channels / target_channels, image_size); source and target must share the size")


def dtn_postfix(record: dict) -> dict:
    return {"loss_d": f"{record['loss_d']:.3f}", "const": f"{record['loss_const']:.4f}",
            "tid": f"{record['loss_tid']:.4f}"}


def dtn_line(step: int, total: int, record: dict, per_step: float) -> str:
    return (f"dtn step {step}/{total} loss_d {record['loss_d']:.3f} loss_gang {record['loss_gang']:.3f} "
            f"const {record['loss_const']:.4f} tid {record['loss_tid']:.4f} {per_step:.2f} s/step")


class DTNSampleGrid:
    """``run_dir/samples/step-XXXXXXXX.png`` at each save point: the first ``n`` source images (top rows) and
    their G(x) (bottom rows), 16 per row."""

    def __init__(self, n: int = 64):
        self.n = n

    def on_save(self, trainer, step):
        from torchvision.utils import save_image
        n = min(self.n, len(trainer.source))
        x = trainer._batch(trainer.source, range(n))
        y = match_channels(trainer.dtn.transfer(x), x.shape[1])
        buf = io.BytesIO()
        save_image(torch.cat([x, y]) * 0.5 + 0.5, buf, format="png", nrow=min(n, 16), padding=1)
        atomic_write_bytes(trainer.run_dir / "samples" / f"step-{step:08d}.png", buf.getvalue())


def default_callbacks(config: DTNConfig, *, tty: bool | None = None) -> list:
    """The DTN's stock callbacks (the GAN trainer's, with the DTN's progress text and grid): the JSONL log,
    progress (a bar on a terminal, a line every ``print_every`` steps otherwise; none with ``progress=False``),
    checkpoints, sample grids."""
    out: list = [JsonlLog(config.log_every)]
    if config.progress:
        tty = bool(getattr(sys.stderr, "isatty", lambda: False)()) if tty is None else tty
        out.append(ProgressBar(desc="dtn", postfix=dtn_postfix) if tty
                   else ProgressLines(config.print_every, line=dtn_line))
    return out + [Checkpointer(), DTNSampleGrid(config.grid_size)]


_default_callbacks = default_callbacks  # DTNTrainer's keyword of the same name shadows it


class DTNTrainer:
    """Train a DTN on unpaired ``source`` and ``target`` datasets with a fixed encoder f.

    Args:
        config: :class:`DTNConfig` (architecture, loss weights, optimisation); saved in every checkpoint.
        encoder: f, an :class:`~latentlab.transfer.Encoder` (kept frozen; its weights and BatchNorm buffers are
            never changed). On resume it must equal the one stored in the checkpoint.
        source, target: datasets of ``(image (C, S, S) in [-1, 1], label)``; labels are never used.
        run_dir: the run directory (created). An existing run needs ``resume=True``.
        callbacks: extra callbacks, run after the default ones; the protocol of :mod:`latentlab.train.loop`
            (``on_train_start``, ``on_step``, ``on_save``, ``on_checkpoint``, ``on_train_end``), as for the GAN
            trainer.
        default_callbacks: replaces :func:`default_callbacks` (JSONL log, progress, checkpoints, sample grids).
    """

    def __init__(self, config: DTNConfig, *, encoder: Encoder, source, target, run_dir: str | os.PathLike,
                 resume: bool = False, callbacks: Sequence[object] = (), source_name: str = "",
                 target_name: str = "", default_callbacks: Sequence[object] | None = None):
        if not isinstance(config, DTNConfig):
            raise TypeError(f"config: expected a DTNConfig, got {type(config).__name__}")
        if not isinstance(encoder, Encoder):
            raise TypeError(f"encoder: expected a latentlab.transfer.Encoder, got {type(encoder).__name__}")
        _check_dataset(source, "source", config.source_channels, config.image_size)
        _check_dataset(target, "target", config.target_channels, config.image_size)
        self.config, self.encoder = config, encoder
        self.source, self.target = source, target
        self.source_name = source_name or getattr(source, "name", "")
        self.target_name = target_name or getattr(target, "name", "")
        self.run_dir = Path(run_dir).expanduser()
        self.resume = resume
        self.callbacks = list(callbacks)
        self.default_callbacks = (_default_callbacks(config) if default_callbacks is None
                                  else list(default_callbacks))
        self.step = self.start_step = 0
        self.is_rank0 = True
        self.last_checkpoint: Path | None = None
        self._loop: TrainingLoop | None = None
        self._perm: dict = {}
        self._warm: tuple | None = None
        self._ema_offset = 0  # a warm-started run's EMA count goes on from the file's step

    def warm_start(self, path: str | os.PathLike, *, mask: float = 0.95) -> "DTNTrainer":
        """Start a fresh run from another run's DTN file or checkpoint instead of the seeded initial weights: g (the
        trained g and, with ``ema_decay``, the averaged g, whose average goes on at the file's step) and D, each
        when the file holds it with the same shapes (a D of another kind, e.g. ``d_edges``, starts fresh). A
        layered g started from a plain one gets the plain g as its foreground, its mask at ``mask`` everywhere
        (so G starts at that fraction of the old image) and a background colour of 0. Adam starts fresh and the
        step count at 0; ``run.json`` records the file and its step. Applied by :meth:`fit` on a fresh run only (a
        resumed run continues from its own checkpoints). Returns the trainer."""
        if isinstance(mask, bool) or not isinstance(mask, (int, float)) or not 0 < mask < 1:
            raise ValueError(f"mask: expected a float in (0, 1) (the layered g's starting mask), got {mask!r}")
        tensors, meta = load_safetensors(path)
        saved = dtn_from_state(tensors, meta, path)  # the model-file checks: format, version, sha256
        other = self._other_f_tensor(saved)
        if other is not None:
            raise ValueError(f"path: {str(path)!r} holds another f than the encoder given (tensor {other!r}); a warm "
                             "start needs the same f")
        trained = {k[len(TRAINED_G):]: v for k, v in tensors.items() if k.startswith(TRAINED_G)}
        self._warm = (Path(path), saved, trained or saved.decoder.state_dict(), float(mask))
        return self

    def _other_f_tensor(self, saved: DTN) -> str | None:
        """The name of the first tensor of ``saved``'s f that differs from the trainer's encoder, or None."""
        cur = self.encoder.state_dict()
        return next((k for k, v in saved.encoder.state_dict().items() if k not in cur or not torch.equal(v, cur[k])),
                    None)

    def _apply_warm_start(self) -> None:
        path, saved, trained, mask = self._warm
        averaged = saved.decoder.state_dict()
        heads = ("to_mask.", "to_background.")
        for module, state in {id(m): (m, st) for m, st in ((self.dtn.decoder, averaged), (self.g, trained))}.values():
            here = module.state_dict()
            odd = [f"{k} {tuple(v.shape)} in the file, {tuple(here[k].shape)} here" for k, v in state.items()
                   if k in here and v.shape != here[k].shape]
            if odd:
                raise ValueError(f"path: the g in {str(path)!r} has other shapes than this config's g ({odd[0]}); "
                                 "a warm start needs the same widths (ngf, feature_dim, image_size)")
            missing, unexpected = module.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
            if unexpected or any(not k.startswith(heads) for k in missing):
                raise ValueError(f"path: the g in {str(path)!r} does not fit this config's g (missing {missing[:3]}, "
                                 f"unexpected {unexpected[:3]})")
            if missing:  # a plain g's file for a layered g: the foreground is the old image
                with torch.no_grad():
                    module.to_mask.bias.fill_(math.log(mask / (1 - mask)))
        self._ema_offset = saved.step
        if self.ema is not None:
            self.ema.n_averaged.fill_(saved.step + 1)
        if self._warm_d_fits():
            self.dtn.discriminator.load_state_dict(saved.discriminator.state_dict())

    def _warm_d_fits(self) -> bool:
        """Whether the warm-start file holds a D with this config's D's tensors and shapes."""
        saved, here = self._warm[1].discriminator, self.dtn.discriminator.state_dict()
        if saved is None:
            return False
        there = saved.state_dict()
        return set(there) == set(here) and all(there[k].shape == here[k].shape for k in here)

    @property
    def total_steps(self) -> int:
        """The step at which training ends (``config.steps``); callbacks read it."""
        return self.config.steps

    # ---------------------------------------------------------------- data
    def _indices(self, n: int, stream: int, step: int) -> list[int]:
        b = self.config.batch_size
        out, pos = [], step * b
        while len(out) < b:
            epoch, off = divmod(pos, n)
            key = (stream, epoch)
            if key not in self._perm:
                self._perm = {k: v for k, v in self._perm.items() if k[0] != stream}
                self._perm[key] = torch.randperm(n, generator=seeded_rng(self.config.seed, stream, epoch))
            take = min(b - len(out), n - off)
            out.extend(self._perm[key][off:off + take].tolist())
            pos += take
        return out

    @staticmethod
    def _batch(ds, idx) -> torch.Tensor:
        return torch.stack([ds[i][0] for i in idx]).float()

    # ---------------------------------------------------------------- run directory / checkpoints
    def _runtime(self) -> dict:
        return {"bf16_autocast": bool(self.fast), "channels_last": bool(self.fast), "torch": torch.__version__}

    def _prepare_run_dir(self):
        rd = self.run_dir
        make_run_dir(rd, self.resume)
        old = previous_run(rd, ("checkpoints/.step-*.tmp", ".*.tmp", "samples/.*.tmp"))
        if old is None:
            atomic_write_bytes(rd / "run.json", json.dumps({
                "config": self.config.to_dict(), "encoder_config": self.encoder.config.to_dict(),
                "source": self.source_name, "target": self.target_name, "runtime": self._runtime(),
                **({"warm_start": {"path": str(self._warm[0]), "step": self._warm[1].step,
                                   "discriminator": self._warm_d_fits()}} if self._warm is not None else {})},
                indent=2).encode())
            return
        self._ema_offset = int((old.get("warm_start") or {}).get("step", 0))
        prev, now = old.get("config") or {}, self.config.to_dict()
        default = DTNConfig().to_dict()  # a field added after the run was started counts as its default
        diff = {k: (prev.get(k, default.get(k)), now.get(k)) for k in sorted(set(prev) | set(now))
                if prev.get(k, default.get(k)) != now.get(k) and k not in DTNConfig.RESUMABLE}
        if diff:
            raise ValueError(f"resume: the config in {str(rd / 'run.json')!r} differs from the requested one "
                             f"(run.json vs requested: {diff}); resume with the same options")
        if (old.get("runtime") or {}).get("bf16_autocast") not in (None, bool(self.fast)):
            warnings.warn(f"resume: this run was trained with bf16_autocast={old['runtime']['bf16_autocast']} and "
                          f"continues with {bool(self.fast)}; the continuation is not the uninterrupted trajectory",
                          RuntimeWarning, stacklevel=5)  # the caller of fit()

    def save_checkpoint(self, step: int) -> Path:
        """Write ``checkpoints/step-XXXXXXXX.safetensors`` (g, D, f, both Adam states; bit-exact resume) and prune
        the oldest beyond ``keep_checkpoints`` (0 keeps all). Called by the ``Checkpointer`` callback."""
        tg, gg = optimizer_to_tensors(self.opt_g, "optim_g")
        td, gd = optimizer_to_tensors(self.opt_d, "optim_d")
        extra = {**tg, **td, **self._trained_g_tensors()}
        bad = [k for k, t in [*self.dtn.decoder.state_dict().items(), *self.dtn.discriminator.state_dict().items(),
                              *extra.items()] if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:
            raise TrainingDiverged(f"training diverged by step {step}: {bad[:3]} contain NaN/inf, so no checkpoint "
                                   f"was written; the last good one is kept ({latest_checkpoint(self.run_dir)}). "
                                   f"Try a lower learning rate (now lr={self.config.lr}) and resume.")
        self.dtn.step = step
        path = self.run_dir / "checkpoints" / checkpoint_name(step)
        save_dtn(self.dtn, path, info={"kind": "training", "source": self.source_name, "target": self.target_name},
                 extra_tensors=extra, extra_meta={"kind": "training", "optim_g_groups": json.dumps(gg),
                                                  "optim_d_groups": json.dumps(gd)})
        self.last_checkpoint = checkpoint_written(self.run_dir, path, self.config.keep_checkpoints, self._loop)
        return path

    def _load_checkpoint(self, path: Path) -> int:
        tensors, meta = load_safetensors(path)
        saved = dtn_from_state(tensors, meta, path)
        other = self._other_f_tensor(saved)
        if other is not None:
            raise ValueError(f"encoder: differs from the f stored in {str(path)!r} (tensor {other!r}); resume with "
                             "the same encoder")
        self.dtn.decoder.load_state_dict(saved.decoder.state_dict())
        self.dtn.discriminator.load_state_dict(saved.discriminator.state_dict())
        if self.g is not self.dtn.decoder:  # with ema: the trained g, stored beside the averaged one
            missing = [k for k in self.g.state_dict() if TRAINED_G + k not in tensors]
            if missing:
                raise ValueError(f"resume: {str(path)!r} holds no trained g ({TRAINED_G}*; ema_decay="
                                 f"{self.config.ema_decay} needs it), e.g. {missing[0]!r} is missing")
            self.g.load_state_dict({k: tensors[TRAINED_G + k] for k in self.g.state_dict()})
            # the next update is step t = meta["step"] (+ the warm-start file's step)
            self.ema.n_averaged.fill_(int(meta["step"]) + 1 + self._ema_offset)
        optimizer_from_tensors(self.opt_g, tensors, json.loads(meta["optim_g_groups"]), "optim_g")
        optimizer_from_tensors(self.opt_d, tensors, json.loads(meta["optim_d_groups"]), "optim_d")
        return int(meta["step"])

    # ---------------------------------------------------------------- training
    def fit(self) -> DTN:
        """Train (or continue) up to ``config.steps``; returns the DTN in eval mode. The caller's global RNG
        state and thread count are left untouched."""
        threads = torch.get_num_threads()
        with torch.random.fork_rng(devices=[]):
            try:
                return self._fit()
            finally:
                torch.set_num_threads(threads)

    def _fit(self) -> DTN:
        c = self.config
        self._loop = TrainingLoop(c.steps, trainer=self, callbacks=[*self.default_callbacks, *self.callbacks],
                                  checkpoint_every=c.checkpoint_every)
        self._build()
        start = self._start()
        self._loop.run(start, self.train_step, finish=self._export)
        return self.dtn.eval()

    def _build(self) -> None:
        """g and D (their initial weights a function of the seed), their Adam optimizers and the precision."""
        c = self.config
        self.fast = native_bf16() if c.fast == "auto" else bool(c.fast)
        if c.num_threads:
            torch.set_num_threads(c.num_threads)
        torch.manual_seed(derive_seed(c.seed, 0))
        self.dtn = dtn = DTN(c, self.encoder)
        # g is the decoder that the optimizer trains; with ema_decay > 0 the DTN's decoder is its moving average
        # (the GAN trainer's: AveragedModel over weights and BatchNorm buffers, decay min(ema_decay, (1+t)/(10+t)))
        self.g, self.ema = dtn.decoder, None
        if c.ema_decay > 0:
            self.ema = AveragedModel(self.g, avg_fn=ema_average(c.ema_decay), use_buffers=True)
            self.ema.n_averaged.fill_(1)  # the copy of g's initial weights is the first average
            dtn.decoder = self.ema.module.requires_grad_(False)
        if self.fast:
            for m in {id(x): x for x in (dtn.decoder, self.g, dtn.discriminator)}.values():
                m.to(memory_format=torch.channels_last)
        self._layout = None
        if c.mask_layout:  # where the targets show their backdrop (the first 2,000, in dataset order)
            self._layout = backdrop_frequency(self._batch(self.target, range(min(len(self.target), LAYOUT_IMAGES))))
        self._d_params = list(dtn.discriminator.parameters())
        self.opt_g = adam(list(self.g.parameters()), c.lr, (c.beta1, c.beta2))
        self.opt_d = adam(self._d_params, c.lr, (c.beta1, c.beta2))

    def _start(self) -> int:
        """Prepare the run directory; on resume load the newest checkpoint (the JsonlLog callback drops the log
        records past it). Returns the first step."""
        self._prepare_run_dir()
        start = resume_from(self.run_dir, self._load_checkpoint) if self.resume else 0
        if self._warm is not None and start == 0:
            self._apply_warm_start()
        self.step = self.start_step = start
        self.dtn.train()
        self.g.train()
        return start

    def _autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16) if self.fast else contextlib.nullcontext()

    # ---------------------------------------------------------------- one step
    def _inputs(self, step: int) -> tuple:
        """(t, f(s), f(t), maps) at ``step``: the target batch t, the features of both batches and, with
        ``style`` > 0, the source batch's maps of f's ``style_layer`` (L_STYLE's target; else None), computed once
        per step in the same pass (f never changes). The batches are pure functions of (seed, step)."""
        s = self._batch(self.source, self._indices(len(self.source), SOURCE_STREAM, step))
        t = self._batch(self.target, self._indices(len(self.target), TARGET_STREAM, step))
        if self.fast:
            s = s.contiguous(memory_format=torch.channels_last)
            t = t.contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), self._autocast():
            f_s, maps = self.dtn.f_and_block(s, self.config.style_layer if self.config.style > 0 else None)
            f_s = f_s.float()
            f_t = self.dtn.f(t).float()
        return t, f_s, f_t, None if maps is None else maps.float()

    def d_step(self, t: torch.Tensor, f_s: torch.Tensor, f_t: torch.Tensor, step: int) -> dict:
        """One update of D: ``losses.d_loss`` of D on G(s), G(t) (not for the binary baseline) and the real t, plus
        ``r1`` times the R1 penalty at the real t when ``r1`` > 0. Returns L_D and, with ``r1`` > 0, the penalty
        (detached), named as in the log."""
        dtn, binary = self.dtn, self.config.binary_d
        D = dtn.discriminator
        self.opt_d.zero_grad(set_to_none=True)
        r1 = self.config.r1
        if r1 > 0:
            t = t.detach().requires_grad_(True)
        with self._autocast():
            with torch.no_grad():
                gs = self.g(f_s)
                gt = self.g(f_t) if not binary else None
            logits_gs, logits_gt = D(gs), D(gt) if gt is not None else None  # D sees G(s), G(t), t in this order
            logits_real = D(t)                                                 # (BatchNorm's running statistics)
            loss_d = losses.d_loss(logits_gs, logits_gt, logits_real, binary=binary)
        l_r1 = losses.r1_penalty(logits_real, t, binary=binary) if r1 > 0 else None
        self._check_finite(step, loss_d, "loss_d")
        (loss_d + r1 * l_r1 if l_r1 is not None else loss_d).backward()
        self.opt_d.step()
        return {"loss_d": loss_d.detach(), **({"loss_r1": l_r1.detach()} if l_r1 is not None else {})}

    def g_step(self, t: torch.Tensor, f_s: torch.Tensor, f_t: torch.Tensor, step: int,
               source_maps: torch.Tensor | None = None) -> dict:
        """One update of g: L_G = L_GANG + alpha L_CONST + beta L_TID + gamma L_TV + diversity L_DIV
        + style L_STYLE + mask_weight L_MASK (``losses.mask_loss``, weighted by the targets' backdrop layout with
        ``mask_layout``; a term whose weight is 0 is not computed; ``source_maps``: L_STYLE's
        target, from :meth:`_inputs`). D's weights are frozen meanwhile, so backward computes only the input
        gradients G needs. Returns the loss and its terms (detached), named as in the log."""
        c, dtn = self.config, self.dtn
        if c.style > 0 and source_maps is None:
            raise ValueError(f"source_maps: style={c.style} needs the source batch's {c.style_layer} maps, got None")
        D, binary = dtn.discriminator, c.binary_d
        self.opt_g.zero_grad(set_to_none=True)
        with frozen(self._d_params):
            with self._autocast():
                gs, mask_s = self.g.forward_with_mask(f_s)
                gt, mask_t = self.g.forward_with_mask(f_t) if not binary or c.beta > 0 else (None, None)
                l_gan = losses.g_adv_loss(D(gs), D(gt) if not binary else None, binary=binary)
                f_gs, maps_gs = (dtn.f_and_block(gs, c.style_layer if c.style > 0 else None)
                                 if c.alpha > 0 or c.style > 0 else (None, None))
                l_const = self._const_loss(f_s, f_gs.float()) if c.alpha > 0 else torch.zeros(())
                l_style = (losses.style_const_loss(source_maps, maps_gs) if c.style > 0
                           else torch.zeros(()))
            l_tid = losses.tid_loss(t, gt, c.tid_distance) if c.beta > 0 else torch.zeros(())
            l_tv = losses.tv_loss(gs if gt is None else torch.cat([gs, gt])) if c.gamma > 0 else torch.zeros(())
            l_div = losses.diversity_loss(f_s, gs, f_t, t) if c.diversity > 0 else torch.zeros(())
            l_mask = (losses.mask_loss(torch.cat([m for m in (mask_s, mask_t) if m is not None]), self._layout)
                      if c.mask_weight > 0 else torch.zeros(()))
            loss_g = (l_gan + c.alpha * l_const + c.beta * l_tid + c.gamma * l_tv + c.diversity * l_div
                      + c.style * l_style + c.mask_weight * l_mask)
            self._check_finite(step, loss_g.detach(), "loss_g")
            loss_g.backward()
        self.opt_g.step()
        out = {"loss_g": loss_g.detach(), "loss_gang": l_gan.detach(), "loss_const": l_const.detach(),
               "loss_tid": l_tid.detach(), "loss_tv": l_tv.detach()}
        if c.diversity > 0:  # logged only when used: the log of a paper-recipe run keeps its former records
            out["loss_div"] = l_div.detach()
        if c.style > 0:
            out["loss_style"] = l_style.detach()
        if c.mask_weight > 0:
            out["loss_mask"] = l_mask.detach()
        return out

    def _const_pair(self, f_s: torch.Tensor, f_gs: torch.Tensor) -> tuple:
        """What L_CONST compares: (f(s), f(G(s))), or with ``const_on`` "logits" / "groups" f's class logits of
        both."""
        if self.config.const_on in ("logits", "groups"):
            head = self.dtn.encoder.classifier
            return head(f_s).float(), head(f_gs).float()
        return f_s, f_gs

    def _const_loss(self, f_s: torch.Tensor, f_gs: torch.Tensor) -> torch.Tensor:
        """L_CONST: ``const_distance`` between :meth:`_const_pair`, or the groups' KL (``losses.group_kl``)."""
        c = self.config
        if c.const_on == "groups":
            return losses.group_kl(*self._const_pair(f_s, f_gs), c.const_groups)
        return losses.const_loss(*self._const_pair(f_s, f_gs), c.const_distance)

    def train_step(self, step: int) -> dict:
        """Step ``step`` (0-based): one D update, then ``g_steps_per_d_step`` G updates on the same batches.
        Returns the log record of step + 1 (G's numbers from its last update)."""
        self.step = step
        t, f_s, f_t, source_maps = self._inputs(step)
        d = self.d_step(t, f_s, f_t, step)
        for _ in range(self.config.g_steps_per_d_step):
            g = self.g_step(t, f_s, f_t, step, source_maps)
        if self.ema is not None:
            self.ema.update_parameters(self.g)
        self.step = self.dtn.step = step + 1
        return {"step": step + 1, **{k: float(v) for k, v in d.items()}, **{k: float(v) for k, v in g.items()},
                "time": round(time.time() - self._loop.t0, 3)}

    def _trained_g_tensors(self) -> dict:
        """``trained_decoder.*`` (the trained g, float32) when g is averaged (ema_decay > 0), else nothing."""
        if self.g is self.dtn.decoder:
            return {}
        return {TRAINED_G + k: v.detach().clone() for k, v in self.g.state_dict().items()}

    # ---------------------------------------------------------------- bookkeeping
    def _export(self) -> None:
        """``model.safetensors`` (g, D and f, contiguous); a checkpoint first if a finished run has none."""
        c, dtn = self.config, self.dtn
        if self.start_step >= c.steps and not list_checkpoints(self.run_dir):
            self._loop.save_point(c.steps)
        dtn.decoder.to(memory_format=torch.contiguous_format)
        dtn.discriminator.to(memory_format=torch.contiguous_format)
        save_dtn(dtn, self.run_dir / "model.safetensors", info={"source": self.source_name, "target": self.target_name})

    def _check_finite(self, step: int, value: torch.Tensor, name: str):
        if not bool(torch.isfinite(value)):
            raise TrainingDiverged(f"{name} became NaN/inf at step {step}; the last good checkpoint is kept "
                                   f"({latest_checkpoint(self.run_dir)}). Try a lower learning rate (now "
                                   f"lr={self.config.lr}) and resume.")
