"""The GAN trainer: DCGAN / AC-GAN / MLP GAN, checkpoint + exact resume, DDP, fast CPU path.

Determinism: the data order and every z are pure functions of (seed, step, rank), so a run that is
killed and resumed from a checkpoint (weights, BatchNorm buffers and Adam state are stored bit-exact)
continues exactly as the uninterrupted run would have.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch.optim.swa_utils import AveragedModel

from ..checkpoint import load as load_model, load_part, save as save_model, state_to_gan
from ..config import Config, ModelConfig
from ..io import atomic_write_bytes, load_safetensors, write_model_file
from ..models import GAN, sample_prior
from ..rng import derive_seed, seeded_rng
from . import callbacks as _callbacks, losses
from .devices import autocast_dtype, dist_backend, local_rank, native_bf16, resolve_device
from .loop import TrainingLoop
from .optim import adam, check_train_settings, frozen, optimizer_from_tensors, optimizer_to_tensors
# the run directory layout, shared with the DTN trainer (re-exported here, where it used to live)
from .rundir import (RunExistsError, TrainingDiverged, checkpoint_name, latest_checkpoint, list_checkpoints,  # noqa: F401
                     checkpoint_written, make_run_dir, previous_run, prune_checkpoints, resume_from)

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "RunExistsError", "train", "latest_checkpoint",
           "native_bf16", "ema_average"]


@dataclass(frozen=True)
class TrainConfig(Config):
    steps: int = 5000                 # total optimizer steps (one D and one G update each)
    batch_size: int = 64              # per process; DCGAN §4 used 128, pytorch/examples 64
    lr: float = 2e-4                  # Adam learning rate (DCGAN §4)
    beta1: float = 0.5                # Adam beta1 (0.9 oscillated, DCGAN §4)
    beta2: float = 0.999
    seed: int = 0                     # seeds data order, z and the initial weights
    checkpoint_every: int = 500       # steps between checkpoints (plus one at the end)
    keep_checkpoints: int = 3         # newest training checkpoints kept; older ones are deleted after a good write
    fast: object = "auto"             # channels_last + bfloat16 autocast (BatchNorm, losses fp32): True, False or
                                      # "auto" = on only where the CPU has native bf16 (AVX512-BF16/AMX); without
                                      # it bf16 is emulated and ~20x slower (measured on this AVX2 machine)
    num_threads: int = 0              # torch intra-op threads; 0 = leave torch's default
    grid_size: int = 64               # samples in the per-checkpoint grid (fixed z)
    progress: bool = True             # progress on rank 0: a tqdm bar when stderr is a terminal, else plain lines
    progress_every: int = 100         # steps between plain progress lines (stderr not a terminal, e.g. a log file)
    log_every: int = 1                # steps between JSONL log lines
    channels_last: bool = False       # keep G, D and batches in channels_last (NHWC) memory format in fp32 as well
                                      # (`fast` implies it). Measured 7-17% faster per step on this AVX2 CPU
                                      # (oneDNN); sums in another order, so results differ from NCHW in the last
                                      # bits: keep one setting for a run (resume stays bit-exact either way)
    skip_d_grads_in_g_step: bool = True  # G step: D's weights are frozen so backward computes only the input
                                      # gradients G needs, not D's weight gradients (which the next D step would
                                      # discard). Same G gradients to the bit, ~7% fewer FLOPs per step.
    label_smoothing: float = 0.0      # one-sided label smoothing (Salimans et al. 2016): D's target for real images
                                      # is 1 - label_smoothing; fakes keep 0. 0 = the DCGAN paper's loss
    r1_gamma: float = 0.0             # R1 penalty (Mescheder et al. 2018): gamma/2 * E|grad_x D(x)|^2 on real images,
                                      # a brake on a discriminator that outruns G. 0 = off (the DCGAN paper)
    r1_every: int = 16                # lazy R1 (Karras et al. 2020): the penalty, scaled by r1_every, every k-th step
    g_class_weight: float = 1.0       # AC-GAN: weight of the class term in G's loss (1 = the paper); below 1 trades
                                      # class accuracy for within-class diversity. D's class loss is unchanged
    ema_decay: float = 0.0            # exponential moving average of G's weights (Karras et al. 2018; Yazici et al.
                                      # 2019), updated after every G step with decay min(ema_decay, (1+t)/(10+t));
                                      # BatchNorm buffers are averaged too. The exported model's generator is the
                                      # average. 0 = off (the DCGAN paper); 0.999 averages over ~1,000 steps

    def __post_init__(self):
        for name in ("steps", "batch_size", "checkpoint_every", "keep_checkpoints", "grid_size", "log_every",
                     "r1_every", "progress_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        check_train_settings(self)
        if not (isinstance(self.label_smoothing, (int, float)) and 0 <= self.label_smoothing < 0.5):
            raise ValueError(f"label_smoothing: expected a float in [0, 0.5), got {self.label_smoothing!r}")
        for name in ("r1_gamma", "g_class_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= 0 and math.isfinite(v)):
                raise ValueError(f"{name}: expected a finite float >= 0, got {v!r}")
        if isinstance(self.ema_decay, bool) or not isinstance(self.ema_decay, (int, float)) \
                or not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay: expected a float in [0, 1) (0 = off), got {self.ema_decay!r}")
        if self.num_threads < 0:
            raise ValueError(f"num_threads: expected >= 0, got {self.num_threads}")
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"channels_last: expected a bool, got {self.channels_last!r}")
        if not isinstance(self.skip_d_grads_in_g_step, bool):
            raise ValueError(f"skip_d_grads_in_g_step: expected a bool, got {self.skip_d_grads_in_g_step!r}")

    strict = False  # from_dict drops keys it does not know (a run.json from another latentlab version)



_derive_seed, _rng = derive_seed, seeded_rng  # the old private names (latentlab.rng has the public ones)


class _Dist:
    """torch.distributed wrapper: inactive in a single process.

    The backend follows the device (``dist_backend``): NCCL for CUDA tensors, gloo otherwise, and the flags it
    reduces live on that device (NCCL cannot reduce CPU tensors).
    """

    def __init__(self, device: torch.device | None = None):
        import torch.distributed as dist
        self.dist = dist
        self.active = False
        self.rank, self.world = 0, 1
        self.owned = False
        self.device = torch.device("cpu") if device is None else torch.device(device)
        if dist.is_available() and dist.is_initialized():
            self.active = True
            if dist.get_backend() == "nccl" and self.device.type != "cuda":
                raise ValueError(f"device: the process group uses NCCL, which needs CUDA tensors, but training runs "
                                 f"on {str(self.device)!r}; pass device='cuda' or initialise the group with gloo")
        elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            dist.init_process_group(dist_backend(self.device))
            self.active, self.owned = True, True
        if self.active:
            self.rank, self.world = dist.get_rank(), dist.get_world_size()

    def barrier(self):
        if self.active:
            self.dist.barrier()

    def any_flag(self, flag: bool) -> bool:
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        self.dist.all_reduce(t)
        return bool(t.item() > 0)

    def on_rank0(self, fn, message: str) -> None:
        """Run ``fn`` on rank 0 only; an error there is raised on every rank (with ``message`` on the others)."""
        error = None
        if self.rank == 0:
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - re-raised below, after telling the other ranks
                error = e
        _raise_if_any(self, error, message)

    def close(self):
        if self.owned:
            self.dist.destroy_process_group()


def ema_average(decay: float):
    """``avg_fn`` for AveragedModel: G_ema <- d * G_ema + (1 - d) * G, d = min(decay, (1+t)/(10+t)) at step t.

    AveragedModel counts updates in ``n_averaged``; the Trainer starts it at 1 (the copy of G's initial weights is
    the first average) so that t = n_averaged - 1 is the 0-based step. Integer buffers (BatchNorm's
    num_batches_tracked) are copied.
    """
    def avg(averaged: torch.Tensor, current: torch.Tensor, n_averaged: torch.Tensor) -> torch.Tensor:
        if not averaged.is_floating_point():
            return current
        t = int(n_averaged) - 1
        d = min(decay, (1 + t) / (10 + t))
        return torch.lerp(averaged, current, 1 - d)
    return avg


class Trainer:
    """Train a GAN on a dataset of ``(image in [-1, 1], class)`` items.

    Each step is ``d_step`` (D on a real and a fake batch, the exported ``losses.d_loss_dcgan`` / ``d_loss_acgan``,
    optional lazy R1) then ``g_step`` (G against the updated D, ``losses.g_loss_dcgan`` / ``g_loss_acgan``), then the
    moving average of G (``torch.optim.swa_utils.AveragedModel``) when ``ema_decay > 0``. Everything else (the JSONL
    log, progress, sample grids, checkpoints) is a callback (``latentlab.train.callbacks``), so it can be replaced.

    Args:
        model_config: architecture (see ModelConfig).
        train_config: optimisation and bookkeeping (see TrainConfig).
        dataset: a ``torch.utils.data.Dataset`` returning (image (C, S, S), class int).
        run_dir: where ``checkpoints/``, ``samples/``, ``log.jsonl`` and ``model.safetensors`` go.
        resume: continue from the newest good checkpoint in ``run_dir``.
        init: a model file (``latentlab.save`` / a shipped model) whose G and D weights the run starts from,
            with fresh optimizer state (fine-tuning). Ignored when ``resume`` finds a checkpoint.
        callbacks: extra callbacks, run after the default ones. A callback is any object with some of
            ``on_train_start(trainer)``, ``on_step(trainer, step, record)``, ``on_save(trainer, step)`` (rank 0, at
            each save point), ``on_checkpoint(trainer, path)``, ``on_train_end(trainer)`` (see
            ``latentlab.train.callbacks``).
        default_callbacks: replaces ``callbacks.default_callbacks(train_config)`` (JSONL log, progress, checkpoints,
            sample grids) when given; ``[]`` trains without any bookkeeping (and without resumable checkpoints).
        device: "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:N" or a torch.device. Under torchrun,
            LOCAL_RANK picks each process's GPU. Data order and every z are drawn on the CPU, so they do not
            depend on the device.

    Example (runnable; a few seconds on a CPU)::

        import tempfile
        import torch
        from latentlab import ModelConfig
        from latentlab.train import TrainConfig, Trainer
        from latentlab.train.callbacks import SampleGrid, default_callbacks

        data = torch.utils.data.TensorDataset(torch.rand(32, 3, 32, 32) * 2 - 1, torch.zeros(32, dtype=torch.long))

        class PrintLosses:                      # a callback: only the events it needs
            def on_step(self, trainer, step, record):
                if step % 2 == 0:
                    print(step, round(record["loss_d"], 3), round(record["loss_g"], 3))

        mc = ModelConfig(nz=8, ngf=8, ndf=8, image_size=32)
        tc = TrainConfig(steps=4, batch_size=8, checkpoint_every=2, grid_size=4, progress=False)
        # keep the JSONL log and the checkpoints, drop the sample grids, add the printer
        keep = [c for c in default_callbacks(tc) if not isinstance(c, SampleGrid)]
        gan = Trainer(mc, tc, data, tempfile.mkdtemp(), default_callbacks=keep, callbacks=[PrintLosses()],
                      device="cpu").fit()
    """

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, dataset, run_dir: str | os.PathLike,
                 *, resume: bool = False, callbacks: Sequence[object] = (), dataset_name: str = "",
                 init: str | os.PathLike | None = None, default_callbacks: Sequence[object] | None = None,
                 device="auto"):
        self.mc, self.tc = model_config, train_config
        self.init = None if init is None else Path(init)
        if self.init is not None and not self.init.is_file():
            raise FileNotFoundError(f"init: {str(self.init)!r} is not a file (expected a latentlab model file)")
        self.device = resolve_device(device, local_rank=local_rank(), world_size=int(os.environ.get("WORLD_SIZE", "1")))
        self.dataset = dataset
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.callbacks = list(callbacks)
        self.default_callbacks = (_callbacks.default_callbacks(train_config) if default_callbacks is None
                                  else list(default_callbacks))
        self.dataset_name = dataset_name or model_config.dataset or getattr(dataset, "name", "")
        self.step = self.start_step = 0
        self.skipped_items = 0
        self.is_rank0 = True
        self.last_checkpoint: Path | None = None
        self._loop: TrainingLoop | None = None
        if len(dataset) == 0:
            raise ValueError("dataset: is empty")
        sample, _ = dataset[0]
        exp = (model_config.channels, model_config.image_size, model_config.image_size)
        if tuple(sample.shape) != exp:
            raise ValueError(f"dataset: items have shape {tuple(sample.shape)}, the model expects {exp} "
                             f"(channels={exp[0]}, image_size={exp[1]})")

    # ---------------------------------------------------------------- run directory
    def _prepare_run_dir(self, rank0: bool):
        rd = self.run_dir
        run_json = rd / "run.json"
        if rank0:
            make_run_dir(rd, self.resume)
            n_params = sum(p.numel() for p in self.gan.parameters())
            need = n_params * 4 * 3 * 2  # weights + 2 Adam moments, twice (old + new checkpoint)
            free = shutil.disk_usage(rd).free
            if free < need:
                raise OSError(f"run_dir: {str(rd)!r} has {free / 1e6:.1f} MB free, a checkpoint needs about "
                              f"{need / 1e6:.1f} MB: free some space before training")
            old = previous_run(rd, ("checkpoints/.step-*.tmp", ".model.safetensors.*.tmp", ".run.json.*.tmp",
                                    ".log.jsonl.*.tmp", "samples/.step-*.tmp"))
            if old is not None:
                before, now_rt = old.get("runtime") or {}, self._runtime()
                if "bf16_autocast" in before and before["bf16_autocast"] != now_rt["bf16_autocast"]:
                    warnings.warn(f"resume: this run was trained with bf16_autocast={before['bf16_autocast']} and "
                                  f"continues with {now_rt['bf16_autocast']} (fast={self.tc.fast!r} on this CPU); the "
                                  "continuation is not the trajectory an uninterrupted run would take. Pass fast="
                                  f"{before['bf16_autocast']} to keep the precision", RuntimeWarning, stacklevel=2)
                if old.get("model") != self.mc.to_dict():
                    prev, now = old.get("model") or {}, self.mc.to_dict()
                    diff = {k: (prev.get(k), now.get(k)) for k in sorted(set(prev) | set(now)) if prev.get(k) != now.get(k)}
                    raise ValueError(f"resume: the model config in {str(run_json)!r} differs from the requested one "
                                     f"(run.json vs requested: {diff}); resume with the same architecture options")
            else:
                atomic_write_bytes(run_json, json.dumps({"model": self.mc.to_dict(), "train": self.tc.to_dict(),
                                                         "dataset": self.dataset_name, "runtime": self._runtime()},
                                                        indent=2).encode())

    def _runtime(self) -> dict:
        """What ``fast="auto"`` resolved to on this machine: the trajectory depends on it."""
        return {"bf16_autocast": bool(self.fast), "channels_last": bool(self.channels_last),
                "torch": torch.__version__, "device": str(self.device)}


    # ---------------------------------------------------------------- data
    def _batch_indices(self, step: int, rank: int, world: int) -> list[int]:
        """Indices of this rank's batch at ``step``: epochs are seeded permutations, sharded by rank."""
        n, b = len(self.dataset), self.tc.batch_size
        start = (step * world + rank) * b
        out = []
        pos = start
        while len(out) < b:
            epoch, off = divmod(pos, n)
            if getattr(self, "_perm_epoch", None) != epoch:
                self._perm = torch.randperm(n, generator=_rng(self.tc.seed, 1, epoch))
                self._perm_epoch = epoch
            take = min(b - len(out), n - off)
            out.extend(self._perm[off:off + take].tolist())
            pos += take
        return out

    def _load_batch(self, indices):
        imgs, ys = [], []
        for i in indices:
            try:
                x, y = self.dataset[i]
            except (OSError, ValueError) as e:  # e.g. a file that vanished mid-run
                self.skipped_items += 1
                warnings.warn(f"skipping dataset item {i}: {e}")
                continue
            imgs.append(x)
            ys.append(int(y))
        if len(imgs) < 2:
            raise RuntimeError(f"dataset: could not load a batch at step {self.step} ({self.skipped_items} items "
                               "skipped so far); check that the data is still readable")
        return torch.stack(imgs), torch.tensor(ys, dtype=torch.long)

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(self, step: int) -> Path:
        """Write ``checkpoints/step-XXXXXXXX.safetensors`` (G, D, moving average, Adam state; bit-exact resume) and
        prune the oldest beyond ``keep_checkpoints``. Called by the ``Checkpointer`` callback."""
        tensors = {}
        parts = [("generator", self.G), ("discriminator", self.D)]
        if self.G_ema is not None:
            parts.append(("generator_ema", self.G_ema))
        for prefix, m in parts:
            for k, v in m.state_dict().items():
                tensors[f"{prefix}.{k}"] = v.detach().cpu().contiguous(memory_format=torch.contiguous_format)
        tg, gg = optimizer_to_tensors(self.opt_g, "optim_g")
        td, gd = optimizer_to_tensors(self.opt_d, "optim_d")
        tensors.update(tg)
        tensors.update(td)
        bad = [k for k, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:  # never replace a good checkpoint by one that cannot be loaded or resumed
            ck = latest_checkpoint(self.run_dir)
            raise TrainingDiverged(
                f"training diverged by step {step}: {bad[:3]} contain NaN/inf, so no checkpoint was written; the last "
                f"good checkpoint is kept ({ck if ck else 'none written yet'}). Try a lower learning rate "
                f"(now lr={self.tc.lr}) and resume."
            )
        meta = {
            "kind": "training", "step": str(step), "dataset": self.dataset_name,
            "train_config": json.dumps(self.tc.to_dict()),
            "optim_g_groups": json.dumps(gg), "optim_d_groups": json.dumps(gd),
            "skipped_items": str(self.skipped_items), "info": json.dumps({}),
        }
        path = self.run_dir / "checkpoints" / checkpoint_name(step)
        write_model_file(path, "gan", tensors, json.dumps(self.mc.to_dict()), meta)
        self.last_checkpoint = checkpoint_written(self.run_dir, path, self.tc.keep_checkpoints, self._loop)
        return path

    def _load_checkpoint(self, path: Path):
        tensors, meta = load_safetensors(path)
        gan = state_to_gan(tensors, meta, path, ema=False)
        if gan.config != self.mc:
            raise ValueError(f"resume: checkpoint {str(path)!r} has config {gan.config}, expected {self.mc}")
        self.G.load_state_dict(gan.generator.state_dict())
        self.D.load_state_dict(gan.discriminator.state_dict())
        if self.G_ema is not None:
            if any(k.startswith("generator_ema.") for k in tensors):
                load_part(self.G_ema, tensors, "generator_ema", path)
            else:  # a checkpoint written without EMA: the average starts from the current weights
                self.G_ema.load_state_dict(self.G.state_dict())
            self.ema.n_averaged.fill_(int(meta["step"]) + 1)  # the next update is step t = meta["step"]
        optimizer_from_tensors(self.opt_g, tensors, json.loads(meta["optim_g_groups"]), "optim_g")
        optimizer_from_tensors(self.opt_d, tensors, json.loads(meta["optim_d_groups"]), "optim_d")
        # The optimizer hyper-parameters come from the current TrainConfig (e.g. a lower lr after a divergence);
        # when unchanged this is a no-op and the resumed run stays bit-exact.
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"], group["betas"] = self.tc.lr, (self.tc.beta1, self.tc.beta2)
        self.skipped_items = int(meta.get("skipped_items", "0"))
        return int(meta["step"])

    # ---------------------------------------------------------------- setup
    def _build(self, dist: "_Dist") -> None:
        """G and D (seeded initial weights, or ``init``), the moving average of G, both Adam optimizers."""
        tc, mc = self.tc, self.mc
        self.autocast_dtype = autocast_dtype(self.device, tc.fast)
        self.fast = self.autocast_dtype is not None
        self.is_rank0 = dist.rank == 0
        if tc.num_threads:
            torch.set_num_threads(tc.num_threads)
        torch.manual_seed(_derive_seed(tc.seed, 0))  # initial weights (global RNG forked by fit()), on the CPU
        self.gan = GAN(mc)
        self.G, self.D = self.gan.generator.to(self.device), self.gan.discriminator.to(self.device)
        self.channels_last = self.fast or tc.channels_last
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        if self.init is not None:
            src = load_model(self.init, ema=False)
            if src.config != mc:
                diff = {k: (v, mc.to_dict().get(k)) for k, v in src.config.to_dict().items() if mc.to_dict().get(k) != v}
                raise ValueError(f"init: {str(self.init)!r} has another architecture (file vs requested: {diff})")
            if src.discriminator is None:
                raise ValueError(f"init: {str(self.init)!r} holds no discriminator; training needs both networks")
            self.G.load_state_dict(src.generator.state_dict())
            self.D.load_state_dict(src.discriminator.state_dict())
        self.ema = self.G_ema = None
        if tc.ema_decay > 0:
            self.ema = AveragedModel(self.G, avg_fn=ema_average(tc.ema_decay), use_buffers=True)
            self.ema.n_averaged.fill_(1)  # the copy of G's initial weights is the first average (see ema_average)
            self.G_ema = self.ema.module.requires_grad_(False)
        self.opt_g = adam(self.G.parameters(), tc.lr, (tc.beta1, tc.beta2))
        self.opt_d = adam(self.D.parameters(), tc.lr, (tc.beta1, tc.beta2))

    def _start(self, dist: "_Dist") -> int:
        """Prepare the run directory (rank 0) and load the newest checkpoint on resume; returns the first step."""
        self._on_rank0(dist, lambda: self._prepare_run_dir(True),
                       f"run_dir: rank 0 could not prepare {str(self.run_dir)!r} (see its error)")
        start = resume_from(self.run_dir, self._load_checkpoint, announce=self.is_rank0) if self.resume else 0
        self.step = self.start_step = start
        return start

    def _wrap(self, dist: "_Dist") -> None:
        """The modules each step calls: DDP wrappers under torch.distributed, the plain modules otherwise."""
        self._G_run, self._D_run = self.G, self.D
        if dist.active:
            from torch.nn.parallel import DistributedDataParallel as DDP
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._G_run, self._D_run = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
        # G step: the plain module (not the DDP wrapper) when D's weights are frozen, since DDP would wait for
        # gradients of parameters that do not require any.
        self._D_for_g = self.D if self.tc.skip_d_grads_in_g_step else self._D_run
        self._d_params = [p for p in self.D.parameters() if p.requires_grad]

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # ---------------------------------------------------------------- one step
    def _inputs(self, step: int) -> tuple:
        """(real, y_real, z, y_fake) of this rank at ``step``: pure functions of (seed, step, rank), on the device."""
        tc, mc, rank = self.tc, self.mc, self._dist.rank
        # Modules that draw from the global RNG (dropout in the MLP discriminator) get a stream that is a function of
        # (seed, step, rank), so a resumed run draws the same masks as an uninterrupted one.
        seed = _derive_seed(tc.seed, 4, step, rank)
        torch.default_generator.manual_seed(seed)
        if self.device.type == "cuda":
            torch.cuda.manual_seed(seed)
        real, y_real = self._load_batch(self._batch_indices(step, rank, self._dist.world))
        real, y_real = real.to(self.device), y_real.to(self.device)
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        g = _rng(tc.seed, 2, step, rank)
        z = sample_prior(real.shape[0], mc.nz, mc.prior, rng=g)
        y_fake = torch.randint(0, max(mc.num_classes, 1), (real.shape[0],), generator=g)
        return real, y_real, z.to(self.device), y_fake.to(self.device)

    def d_step(self, real, y_real, z, y_fake, step: int) -> dict:
        """One update of D: real and fake batches back-propagated separately (as pytorch/examples does), the loss
        from ``losses.d_loss_dcgan`` / ``d_loss_acgan`` (real target 1 - label_smoothing), plus the lazy R1
        penalty on every ``r1_every``-th step.

        Returns {"fake": G(z) with its graph (for ``g_step``), "loss_d" (the GAN loss, without the penalty),
        "real_src" / "fake_src" (D's source logits, detached), "r1" (the penalty, None off penalty steps)}.
        """
        tc, mc = self.tc, self.mc
        self.opt_d.zero_grad(set_to_none=True)
        r1_step = tc.r1_gamma > 0 and step % tc.r1_every == 0
        if r1_step:
            real.requires_grad_(True)
        target = 1.0 - tc.label_smoothing
        with self._autocast():
            fake = self._G_run(z, y_fake) if mc.conditional else self._G_run(z)
            out_real = self._D_run(real)
            l_real = (losses.d_loss_acgan(*out_real, y_real, None, None, None, real_target=target) if mc.conditional
                      else losses.d_loss_dcgan(out_real, None, real_target=target))
        loss_d_real = l_real.detach()
        real_src = out_real[0] if mc.conditional else out_real
        r1 = None
        if r1_step:
            r1 = losses.r1_penalty(real_src, real)
            l_real = l_real + (0.5 * tc.r1_gamma * tc.r1_every) * r1
        l_real.backward()
        with self._autocast():
            out_fake = self._D_run(fake.detach())
            l_fake = (losses.d_loss_acgan(None, None, None, *out_fake, y_fake) if mc.conditional
                      else losses.d_loss_dcgan(None, out_fake))
        l_fake.backward()
        loss_d = loss_d_real + l_fake.detach()
        self._check_finite(self._dist, step, loss_d, "loss_d")
        self.opt_d.step()
        return {"fake": fake, "loss_d": loss_d, "real_src": real_src.detach(),
                "fake_src": (out_fake[0] if mc.conditional else out_fake).detach(),
                "r1": None if r1 is None else r1.detach()}

    def g_step(self, fake, y_fake, step: int) -> torch.Tensor:
        """One update of G against the updated D (as in pytorch/examples), ``losses.g_loss_dcgan`` /
        ``g_loss_acgan``. With ``skip_d_grads_in_g_step`` D's weights are frozen meanwhile, so backward computes only
        the input gradients G needs. Returns the loss (detached)."""
        tc, mc = self.tc, self.mc
        self.opt_g.zero_grad(set_to_none=True)
        with frozen(self._d_params, tc.skip_d_grads_in_g_step):
            with self._autocast():
                out = self._D_for_g(fake)
                loss_g = (losses.g_loss_acgan(out[0], out[1], y_fake, tc.g_class_weight) if mc.conditional
                          else losses.g_loss_dcgan(out))
            self._check_finite(self._dist, step, loss_g.detach(), "loss_g")
            loss_g.backward()  # without the freeze this also fills D's grads; the next zero_grad clears them
        self.opt_g.step()
        return loss_g.detach()

    def train_step(self, step: int) -> dict:
        """Step ``step`` (0-based): D, then G, then the moving average; returns the log record of step + 1."""
        real, y_real, z, y_fake = self._inputs(step)
        self.step = step
        d = self.d_step(real, y_real, z, y_fake, step)
        loss_g = self.g_step(d["fake"], y_fake, step)
        if self.ema is not None:
            self.ema.update_parameters(self.G)
        self.step = step + 1
        rec = {"step": step + 1, "loss_d": float(d["loss_d"]), "loss_g": float(loss_g),
               "d_x": float(torch.sigmoid(d["real_src"].float()).mean()),
               "d_g_z": float(torch.sigmoid(d["fake_src"].float()).mean()),
               "time": round(time.time() - self._loop.t0, 3)}
        if d["r1"] is not None:
            rec["r1"] = float(d["r1"])
        return rec

    @torch.no_grad()
    def grid_samples(self, n: int) -> torch.Tensor:
        """(n, C, S, S) samples from fixed z (the same at every save point) of the moving average, else of G; for an
        AC-GAN, class i % num_classes."""
        G = self.G_ema if self.G_ema is not None else self.G
        G.eval()
        try:
            z = sample_prior(n, self.mc.nz, self.mc.prior, rng=_rng(self.tc.seed, 3)).to(self.device)
            if self.mc.conditional:
                return G(z, (torch.arange(n) % self.mc.num_classes).to(self.device))
            return G(z)
        finally:
            G.train()

    # ---------------------------------------------------------------- training
    @property
    def total_steps(self) -> int:
        """The step at which training ends (``train_config.steps``); callbacks read it."""
        return self.tc.steps

    def _check_finite(self, dist, step, value, name):
        if dist.any_flag(not bool(torch.isfinite(value))):
            ck = latest_checkpoint(self.run_dir)
            raise TrainingDiverged(
                f"{name} became NaN/inf at step {step} ({name}={float(value):.4g}); the last good checkpoint is kept "
                f"({ck if ck else 'none written yet'}). Try a lower learning rate (now lr={self.tc.lr}) and resume."
            )

    def _on_rank0(self, dist: "_Dist", fn, message: str) -> None:
        """Run ``fn`` on rank 0 only; an error there is raised on every rank (with ``message`` on the others)."""
        dist.on_rank0(fn, message)

    def fit(self) -> GAN:
        """Run (or continue) training up to ``train_config.steps``; returns the trained GAN.

        The caller's global torch RNG state is left untouched (all randomness is derived from the seed).
        """
        threads = torch.get_num_threads()
        devices = [self.device.index] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            dist = _Dist(self.device)
            try:
                gan = self._fit(dist)
                dist.barrier()  # no rank tears the process group down while another may still be using it
                return gan
            finally:
                dist.close()
                torch.set_num_threads(threads)  # num_threads applies to this run only

    def _fit(self, dist: "_Dist") -> GAN:
        self._dist = dist
        self._loop = TrainingLoop(self.tc.steps, trainer=self, callbacks=[*self.default_callbacks, *self.callbacks],
                                  checkpoint_every=self.tc.checkpoint_every, sync=dist)
        self._build(dist)
        start = self._start(dist)
        self._wrap(dist)
        self._loop.run(start, self.train_step, finish=self._export)
        return self._result()

    def _export(self) -> None:
        """Rank 0 writes ``model.safetensors`` (the moving average as its generator when there is one)."""
        tc, error = self.tc, None
        if self.is_rank0:
            try:
                if self.start_step >= tc.steps and not list_checkpoints(self.run_dir):
                    self._loop.save_point(tc.steps)
                self.gan.step = self.step
                self.gan.dataset = self.dataset_name
                info = {"train": tc.to_dict(), "skipped_items": self.skipped_items}
                if self.G_ema is not None:
                    info["generator"] = f"ema {tc.ema_decay}"
                save_model(self.gan, self.run_dir / "model.safetensors", step=self.step,
                           dataset=self.dataset_name, info=info, generator=self.G_ema)
            except Exception as e:  # noqa: BLE001
                error = e
        _raise_if_any(self._dist, error, "rank 0 failed to write the final model (see its error)")

    def _result(self) -> GAN:
        self.gan.step = self.step
        self.G.to(memory_format=torch.contiguous_format)
        self.D.to(memory_format=torch.contiguous_format)
        if self.G_ema is not None:  # the returned GAN samples from the average, as the saved model does
            self.gan.generator.load_state_dict(self.G_ema.state_dict())
        return self.gan.eval()


def _raise_if_any(dist: "_Dist", error: Exception | None, message: str) -> None:
    """Every rank learns whether any rank failed: the failing rank re-raises its error, the others ``message``."""
    if dist.any_flag(error is not None):
        if error is not None:
            raise error
        raise RuntimeError(message)


def train(model_config: ModelConfig, dataset, run_dir, **kw) -> GAN:
    """Convenience: ``train(ModelConfig(...), dataset, "runs/x", steps=1000, resume=False, device="auto")``."""
    resume = kw.pop("resume", False)
    callbacks = kw.pop("callbacks", ())
    name = kw.pop("dataset_name", "")
    device = kw.pop("device", "auto")
    return Trainer(model_config, TrainConfig(**kw), dataset, run_dir, resume=resume, callbacks=callbacks,
                   dataset_name=name, device=device).fit()
