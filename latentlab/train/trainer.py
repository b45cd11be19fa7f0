"""The GAN trainer: DCGAN / AC-GAN / MLP GAN, checkpoint + exact resume, DDP, fast CPU path.

Determinism: the data order and every z are pure functions of (seed, step, rank), so a run that is
killed and resumed from a checkpoint (weights, BatchNorm buffers and Adam state are stored bit-exact)
continues exactly as the uninterrupted run would have.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..checkpoint import FORMAT, FORMAT_VERSION, load as load_model, load_part, save as save_model, state_to_gan
from ..config import ModelConfig
from ..io import CheckpointError, atomic_write_bytes, load_safetensors, save_safetensors
from ..models import GAN, sample_prior
from . import losses

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "RunExistsError", "train", "latest_checkpoint"]


class TrainingDiverged(RuntimeError):
    """A loss became NaN/inf; the last good checkpoint is kept."""


class RunExistsError(FileExistsError):
    """The run directory already holds a run and resume was not requested."""


@dataclass(frozen=True)
class TrainConfig:
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
    progress: bool = True             # tqdm progress bar (rank 0)
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
                     "r1_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr: expected a positive finite float, got {self.lr!r}")
        for name in ("beta1", "beta2"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise ValueError(f"{name}: expected a value in [0, 1), got {v!r}")
        if self.fast not in (True, False, "auto"):
            raise ValueError(f"fast: expected True, False or 'auto', got {self.fast!r}")
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

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def native_bf16() -> bool:
    """True where the CPU computes bfloat16 natively (AVX512-BF16 or AMX); False where torch would emulate it."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def _derive_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def _rng(*parts: int) -> torch.Generator:
    return torch.Generator().manual_seed(_derive_seed(*parts))


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.safetensors"


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Training checkpoints in ``run_dir/checkpoints``, newest first."""
    d = Path(run_dir) / "checkpoints"
    if not d.is_dir():
        return []
    return sorted((p for p in d.glob("step-*.safetensors")), reverse=True)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """Newest checkpoint in ``run_dir`` that loads; corrupt ones are skipped with a warning."""
    for p in list_checkpoints(run_dir):
        try:
            load_safetensors(p)
            return p
        except (CheckpointError, OSError) as e:
            warnings.warn(f"skipping unreadable checkpoint {p}: {e}")
    return None


# --------------------------------------------------------------------------------------------------
# optimizer state <-> flat tensors (safetensors cannot hold nested dicts)

def _optim_to_tensors(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict, list]:
    sd = opt.state_dict()
    tensors = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            t = v if isinstance(v, torch.Tensor) else torch.tensor(v)
            tensors[f"{prefix}.{pid}.{k}"] = t
    return tensors, sd["param_groups"]


def _optim_from_tensors(opt: torch.optim.Optimizer, tensors: dict, groups: list, prefix: str) -> None:
    state: dict = {}
    for k, v in tensors.items():
        if not k.startswith(prefix + "."):
            continue
        _, pid, key = k.split(".", 2)
        state.setdefault(int(pid), {})[key] = v
    opt.load_state_dict({"state": state, "param_groups": groups})


# --------------------------------------------------------------------------------------------------

class _Dist:
    """torch.distributed wrapper: inactive in a single process."""

    def __init__(self):
        import torch.distributed as dist
        self.dist = dist
        self.active = False
        self.rank, self.world = 0, 1
        self.owned = False
        if dist.is_available() and dist.is_initialized():
            self.active = True
        elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend)
            self.active, self.owned = True, True
        if self.active:
            self.rank, self.world = dist.get_rank(), dist.get_world_size()

    def barrier(self):
        if self.active:
            self.dist.barrier()

    def any_flag(self, flag: bool) -> bool:
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0])
        self.dist.all_reduce(t)
        return bool(t.item() > 0)

    def close(self):
        if self.owned:
            self.dist.destroy_process_group()


class Trainer:
    """Train a GAN on a dataset of ``(image in [-1, 1], class)`` items.

    Args:
        model_config: architecture (see ModelConfig).
        train_config: optimisation and bookkeeping (see TrainConfig).
        dataset: a ``torch.utils.data.Dataset`` returning (image (C, S, S), class int).
        run_dir: where ``checkpoints/``, ``samples/``, ``log.jsonl`` and ``model.safetensors`` go.
        resume: continue from the newest good checkpoint in ``run_dir``.
        init: a model file (``latentlab.save`` / a shipped model) whose G and D weights the run starts from,
            with fresh optimizer state (fine-tuning). Ignored when ``resume`` finds a checkpoint.
        callbacks: objects with optional ``on_step(trainer, step, record)`` / ``on_checkpoint(trainer, path)``.
    """

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, dataset, run_dir: str | os.PathLike,
                 *, resume: bool = False, callbacks: Sequence[object] = (), dataset_name: str = "",
                 init: str | os.PathLike | None = None):
        self.mc, self.tc = model_config, train_config
        self.init = None if init is None else Path(init)
        if self.init is not None and not self.init.is_file():
            raise FileNotFoundError(f"init: {str(self.init)!r} is not a file (expected a latentlab model file)")
        self.dataset = dataset
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.callbacks = list(callbacks)
        self.dataset_name = dataset_name or model_config.dataset or getattr(dataset, "name", "")
        self.step = 0
        self.skipped_items = 0
        self._stop_signal = None
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
            if run_json.exists() and not self.resume:
                raise RunExistsError(f"run_dir: {str(rd)!r} already holds a run (run.json); pass resume=True / "
                                     "--resume to continue it, or choose another directory")
            try:
                (rd / "checkpoints").mkdir(parents=True, exist_ok=True)
                (rd / "samples").mkdir(exist_ok=True)
                probe = rd / ".write-test"
                probe.write_bytes(b"x" * 1024)
                probe.unlink()
            except OSError as e:
                raise OSError(f"run_dir: {str(rd)!r} is not writable: {e}") from None
            n_params = sum(p.numel() for p in self.gan.parameters())
            need = n_params * 4 * 3 * 2  # weights + 2 Adam moments, twice (old + new checkpoint)
            free = shutil.disk_usage(rd).free
            if free < need:
                raise OSError(f"run_dir: {str(rd)!r} has {free / 1e6:.1f} MB free, a checkpoint needs about "
                              f"{need / 1e6:.1f} MB: free some space before training")
            # Temp files left by a process killed mid-write (atomic_write_bytes names them ".<name>.*.tmp").
            for stale in [*(rd / "checkpoints").glob(".step-*.tmp"), *rd.glob(".model.safetensors.*.tmp"),
                          *rd.glob(".run.json.*.tmp"), *rd.glob(".log.jsonl.*.tmp"),
                          *(rd / "samples").glob(".step-*.tmp")]:
                with contextlib.suppress(OSError):
                    stale.unlink()
            if run_json.exists():
                try:
                    old = json.loads(run_json.read_text())
                except (OSError, ValueError) as e:
                    raise ValueError(f"resume: {str(run_json)!r} is unreadable ({e})") from None
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
                "torch": torch.__version__}

    def _truncate_log(self, step: int):
        """On resume, drop log records past the checkpoint's step (they are about to be recomputed)."""
        path = self.run_dir / "log.jsonl"
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
    def _save_checkpoint(self, step: int) -> Path:
        tensors = {}
        parts = [("generator", self.G), ("discriminator", self.D)]
        if self.G_ema is not None:
            parts.append(("generator_ema", self.G_ema))
        for prefix, m in parts:
            for k, v in m.state_dict().items():
                tensors[f"{prefix}.{k}"] = v.contiguous(memory_format=torch.contiguous_format)
        tg, gg = _optim_to_tensors(self.opt_g, "optim_g")
        td, gd = _optim_to_tensors(self.opt_d, "optim_d")
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
            "format": FORMAT, "format_version": str(FORMAT_VERSION), "kind": "training",
            "config": json.dumps(self.mc.to_dict()), "step": str(step), "dataset": self.dataset_name,
            "train_config": json.dumps(self.tc.to_dict()),
            "optim_g_groups": json.dumps(gg), "optim_d_groups": json.dumps(gd),
            "skipped_items": str(self.skipped_items), "info": json.dumps({}),
        }
        path = self.run_dir / "checkpoints" / checkpoint_name(step)
        save_safetensors(path, tensors, meta)
        # Only after the new file is safely in place, prune older ones.
        for old in list_checkpoints(self.run_dir)[self.tc.keep_checkpoints:]:
            with contextlib.suppress(OSError):
                old.unlink()
        self._save_grid(step)
        for cb in self.callbacks:
            if hasattr(cb, "on_checkpoint"):
                cb.on_checkpoint(self, path)
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
        _optim_from_tensors(self.opt_g, tensors, json.loads(meta["optim_g_groups"]), "optim_g")
        _optim_from_tensors(self.opt_d, tensors, json.loads(meta["optim_d_groups"]), "optim_d")
        # The optimizer hyper-parameters come from the current TrainConfig (e.g. a lower lr after a divergence);
        # when unchanged this is a no-op and the resumed run stays bit-exact.
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"], group["betas"] = self.tc.lr, (self.tc.beta1, self.tc.beta2)
        self.skipped_items = int(meta.get("skipped_items", "0"))
        return int(meta["step"])

    @torch.no_grad()
    def _update_ema(self, step: int):
        """G_ema <- d * G_ema + (1 - d) * G for weights and float buffers, d = min(ema_decay, (1+t)/(10+t))."""
        d = min(self.tc.ema_decay, (1 + step) / (10 + step))
        for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
            pe.lerp_(p.detach(), 1 - d)
        for be, b in zip(self.G_ema.buffers(), self.G.buffers()):
            if be.is_floating_point():
                be.lerp_(b, 1 - d)
            else:
                be.copy_(b)

    def _save_grid(self, step: int):
        from torchvision.utils import save_image
        n = self.tc.grid_size
        G = self.G_ema if self.G_ema is not None else self.G
        G.eval()
        try:
            with torch.no_grad():
                z = sample_prior(n, self.mc.nz, self.mc.prior, generator=_rng(self.tc.seed, 3))
                if self.mc.conditional:
                    c = torch.arange(n) % self.mc.num_classes
                    x = G(z, c)
                else:
                    x = G(z)
        finally:
            G.train()
        import io
        buf = io.BytesIO()
        save_image(x.float().contiguous(), buf, format="png",
                   nrow=int(math.ceil(math.sqrt(n))) if not self.mc.conditional else self.mc.num_classes,
                   normalize=True, value_range=(-1, 1))
        atomic_write_bytes(self.run_dir / "samples" / f"step-{step:08d}.png", buf.getvalue())

    # ---------------------------------------------------------------- training
    def _on_signal(self, signum, frame):
        self._stop_signal = signum

    def _check_finite(self, dist, step, value, name):
        if dist.any_flag(not bool(torch.isfinite(value))):
            ck = latest_checkpoint(self.run_dir)
            raise TrainingDiverged(
                f"{name} became NaN/inf at step {step} ({name}={float(value):.4g}); the last good checkpoint is kept "
                f"({ck if ck else 'none written yet'}). Try a lower learning rate (now lr={self.tc.lr}) and resume."
            )

    def fit(self) -> GAN:
        """Run (or continue) training up to ``train_config.steps``; returns the trained GAN.

        The caller's global torch RNG state is left untouched (all randomness is derived from the seed).
        """
        threads = torch.get_num_threads()
        with torch.random.fork_rng(devices=[]):
            dist = _Dist()
            try:
                return self._fit(dist)
            finally:
                dist.close()
                torch.set_num_threads(threads)  # num_threads applies to this run only

    def _fit(self, dist: "_Dist") -> GAN:
        from tqdm.auto import tqdm

        tc, mc = self.tc, self.mc
        fast = native_bf16() if tc.fast == "auto" else bool(tc.fast)
        self.fast = fast
        rank0 = dist.rank == 0
        if tc.num_threads:
            torch.set_num_threads(tc.num_threads)
        torch.manual_seed(_derive_seed(tc.seed, 0))  # initial weights (global RNG forked by fit())
        self.gan = GAN(mc)
        self.G, self.D = self.gan.generator, self.gan.discriminator
        channels_last = self.channels_last = fast or tc.channels_last
        if channels_last:
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
        self.G_ema = None
        if tc.ema_decay > 0:
            import copy
            self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=tc.lr, betas=(tc.beta1, tc.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=tc.lr, betas=(tc.beta1, tc.beta2))
        error = None
        if rank0:
            try:
                self._prepare_run_dir(True)
            except Exception as e:  # noqa: BLE001 - re-raised below, after telling the other ranks
                error = e
        if dist.any_flag(error is not None):  # other ranks must not wait for rank 0 forever
            if error is not None:
                raise error
            raise RuntimeError(f"run_dir: rank 0 could not prepare {str(self.run_dir)!r} (see its error)")
        start = 0
        if self.resume:
            ck = latest_checkpoint(self.run_dir)
            if ck is not None:
                start = self._load_checkpoint(ck)
                if rank0:
                    print(f"resuming from {ck} at step {start}", file=sys.stderr)
            if rank0:
                self._truncate_log(start)
        self.step = start
        G, D = self.G, self.D
        if dist.active:
            from torch.nn.parallel import DistributedDataParallel as DDP
            G, D = DDP(self.G), DDP(self.D)
        # G step: the plain module (not the DDP wrapper) when D's weights are frozen, since DDP would wait for
        # gradients of parameters that do not require any.
        D_for_g = self.D if tc.skip_d_grads_in_g_step else D
        d_params = [p for p in self.D.parameters() if p.requires_grad]
        # Line-buffered: the log shows every finished step at once (tail -f), and after a kill its last line is
        # the last step that completed.
        log = open(self.run_dir / "log.jsonl", "a", buffering=1) if rank0 else None
        old_handlers = {}
        try:
            import threading
            if threading.current_thread() is threading.main_thread():
                for s in (signal.SIGINT, signal.SIGTERM):
                    old_handlers[s] = signal.signal(s, self._on_signal)
            bar = tqdm(total=tc.steps, initial=start, disable=not (rank0 and tc.progress), desc="train",
                       dynamic_ncols=True)
            autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if fast else contextlib.nullcontext
            t0 = time.time()
            for step in range(start, tc.steps):
                self.step = step
                # Modules that draw from the global RNG (dropout in the MLP discriminator) get a stream that is a
                # function of (seed, step, rank), so a resumed run draws the same masks as an uninterrupted one.
                torch.default_generator.manual_seed(_derive_seed(tc.seed, 4, step, dist.rank))
                real, y_real = self._load_batch(self._batch_indices(step, dist.rank, dist.world))
                if channels_last:
                    real = real.contiguous(memory_format=torch.channels_last)
                g = _rng(tc.seed, 2, step, dist.rank)
                b = real.shape[0]
                z = sample_prior(b, mc.nz, mc.prior, generator=g)
                y_fake = torch.randint(0, max(mc.num_classes, 1), (b,), generator=g)
                # ---- D step (real and fake batches separately, as pytorch/examples does)
                self.opt_d.zero_grad(set_to_none=True)
                r1_step = tc.r1_gamma > 0 and step % tc.r1_every == 0
                if r1_step:
                    real.requires_grad_(True)
                real_target = 1.0 - tc.label_smoothing
                with autocast():
                    fake = G(z, y_fake) if mc.conditional else G(z)
                    out_real = D(real)
                    if mc.conditional:
                        l_real = (losses._bce(out_real[0], real_target)
                                  + nn.functional.cross_entropy(out_real[1].float(), y_real))
                    else:
                        l_real = losses._bce(out_real, real_target)
                loss_d_real = l_real.detach()  # the GAN loss, logged without the penalty
                r1 = None
                if r1_step:
                    r1 = losses.r1_penalty(out_real[0] if mc.conditional else out_real, real)
                    l_real = l_real + (0.5 * tc.r1_gamma * tc.r1_every) * r1
                l_real.backward()
                with autocast():
                    out_fake = D(fake.detach())
                    if mc.conditional:
                        l_fake = losses._bce(out_fake[0], 0.0) + nn.functional.cross_entropy(out_fake[1].float(), y_fake)
                    else:
                        l_fake = losses._bce(out_fake, 0.0)
                l_fake.backward()
                loss_d = loss_d_real + l_fake.detach()
                self._check_finite(dist, step, loss_d, "loss_d")
                self.opt_d.step()
                # ---- G step (against the updated D, as in pytorch/examples)
                self.opt_g.zero_grad(set_to_none=True)
                if tc.skip_d_grads_in_g_step:
                    for p in d_params:
                        p.requires_grad_(False)
                try:
                    with autocast():
                        out_g = D_for_g(fake)
                        loss_g = (losses.g_loss_acgan(out_g[0], out_g[1], y_fake, tc.g_class_weight) if mc.conditional
                                  else losses.g_loss_dcgan(out_g))
                    self._check_finite(dist, step, loss_g.detach(), "loss_g")
                    loss_g.backward()  # without the freeze this also fills D's grads; zero_grad clears them
                finally:
                    for p in d_params:
                        p.requires_grad_(True)
                self.opt_g.step()
                if self.G_ema is not None:
                    self._update_ema(step)
                done = step + 1
                self.step = done
                src_real = out_real[0] if mc.conditional else out_real
                src_fake = out_fake[0] if mc.conditional else out_fake
                rec = {"step": done, "loss_d": float(loss_d), "loss_g": float(loss_g.detach()),
                       "d_x": float(torch.sigmoid(src_real.detach().float()).mean()),
                       "d_g_z": float(torch.sigmoid(src_fake.detach().float()).mean()),
                       "time": round(time.time() - t0, 3)}
                if r1 is not None:
                    rec["r1"] = float(r1.detach())
                if log is not None and (done % tc.log_every == 0 or done == tc.steps):
                    log.write(json.dumps(rec) + "\n")
                for cb in self.callbacks:
                    if hasattr(cb, "on_step"):
                        cb.on_step(self, done, rec)
                bar.update(1)
                if rank0 and done % 10 == 0:
                    bar.set_postfix(loss_d=f"{rec['loss_d']:.3f}", loss_g=f"{rec['loss_g']:.3f}")
                stop = dist.any_flag(self._stop_signal is not None)
                if done % tc.checkpoint_every == 0 or done == tc.steps or stop:
                    if log is not None:
                        log.flush()
                    error = None
                    if rank0:
                        try:
                            self._save_checkpoint(done)
                        except Exception as e:  # noqa: BLE001 - re-raised below, after telling the other ranks
                            error = e
                    if dist.any_flag(error is not None):
                        if error is not None:
                            raise error
                        raise RuntimeError(f"rank 0 failed to write the checkpoint at step {done} (see its error)")
                if stop:
                    if rank0:
                        print(f"stopped by signal at step {done}; checkpoint saved, resume with --resume",
                              file=sys.stderr)
                    raise KeyboardInterrupt(f"training stopped by signal at step {done} (checkpoint saved)")
            bar.close()
            error = None
            if rank0:
                try:
                    if start >= tc.steps and not list_checkpoints(self.run_dir):
                        self._save_checkpoint(tc.steps)
                    self.gan.step = self.step
                    self.gan.dataset = self.dataset_name
                    info = {"train": tc.to_dict(), "skipped_items": self.skipped_items}
                    if self.G_ema is not None:
                        info["generator"] = f"ema {tc.ema_decay}"
                    save_model(self.gan, self.run_dir / "model.safetensors", step=self.step,
                               dataset=self.dataset_name, info=info, generator=self.G_ema)
                except Exception as e:  # noqa: BLE001
                    error = e
            if dist.any_flag(error is not None):
                if error is not None:
                    raise error
                raise RuntimeError("rank 0 failed to write the final model (see its error)")
        finally:
            for s, h in old_handlers.items():
                signal.signal(s, h)
            if log is not None:
                log.close()
        self.gan.step = self.step
        self.G.to(memory_format=torch.contiguous_format)
        self.D.to(memory_format=torch.contiguous_format)
        if self.G_ema is not None:  # the returned GAN samples from the average, as the saved model does
            self.gan.generator.load_state_dict(self.G_ema.state_dict())
        return self.gan.eval()


def train(model_config: ModelConfig, dataset, run_dir, **kw) -> GAN:
    """Convenience: ``train(ModelConfig(...), dataset, "runs/x", steps=1000, resume=False)``."""
    resume = kw.pop("resume", False)
    callbacks = kw.pop("callbacks", ())
    name = kw.pop("dataset_name", "")
    return Trainer(model_config, TrainConfig(**kw), dataset, run_dir, resume=resume, callbacks=callbacks,
                   dataset_name=name).fit()
