"""``latentlab train``: train a DCGAN / AC-GAN / GAN on a built-in dataset or a folder of images.

    latentlab train --data rooms --arch dcgan --image-size 64 --out runs/rooms [--resume] [--steps 5000] ...

The driver turns flags into a ``ModelConfig`` and a ``TrainConfig`` (on ``--resume`` the run's run.json gives the
defaults) and calls :class:`latentlab.train.Trainer`, whose loop (:mod:`latentlab.train.loop`) handles
checkpoints, SIGINT/SIGTERM and resume. Import-light: torch is imported inside ``run``.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from .options import UsageError, _non_negative_int, _positive_float, _positive_int

__all__ = ["add_arguments", "run", "QUICK_PRESET", "HELP", "DESCRIPTION"]

HELP = "train a DCGAN / AC-GAN / GAN on a dataset or folder of images"
DESCRIPTION = ("Train a GAN. Checkpoints every --checkpoint-every steps (atomic safetensors), a sample grid per "
               "checkpoint, log.jsonl of losses, D(x), D(G(z)). SIGINT/SIGTERM save a checkpoint and exit with 130; "
               "--resume continues bit-exactly.")
EXIT_OK = 0

# The ModelConfig / TrainConfig fields `latentlab train` exposes as flags; their defaults are the dataclasses' own.
_MODEL_FLAGS = ("nz", "ngf", "ndf", "prior", "hidden", "embed_dim")
_TRAIN_FLAGS = ("steps", "batch_size", "lr", "beta1", "seed", "checkpoint_every", "keep_checkpoints", "num_threads",
                "grid_size", "log_every", "r1_gamma", "r1_every", "label_smoothing", "g_class_weight", "ema_decay",
                "progress_every")


def _defaults(cls) -> dict:
    """{field name: default} of a config dataclass."""
    return {f.name: f.default for f in dataclasses.fields(cls)}


# `latentlab train --quick`: a small model and fewer steps, for a first run on a laptop CPU.
QUICK_PRESET = {"image_size": 32, "ngf": 32, "ndf": 32, "batch_size": 32, "steps": 1500}
_QUICK_TEXT = "32 px, ngf=ndf=32, batch 32, 1500 steps"
# Measured on CPUs (no GPU was available): benchmarks/RESULTS.md for the defaults (2 quiet cores), and 1 thread on a
# loaded 2-core AVX512-BF16 machine for --quick (0.161 s/step; the defaults took 4.8 s/step there).
_DEFAULT_DURATION = ("about 40 min on 2 quiet cores with native bf16 (AVX512-BF16/AMX: 0.47 s/step) and about 2 h in "
                     "fp32 on an AVX2 CPU (1.2-1.4 s/step); several times longer on a busy machine")
_QUICK_DURATION = "about 4 min on one core with native bf16 (0.16 s/step)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("data")
    data.add_argument("--data", required=True, metavar="PATH_OR_NAME",
                      help="a built-in dataset (rooms, faces, fashion-mnist) or a folder of images (flat, or one "
                           "sub-folder per class); unreadable images are skipped with a warning")
    data.add_argument("--n", type=_positive_int, default=None,
                      help="procedural datasets (rooms, faces): number of images (default: the dataset's)")
    data.add_argument("--data-seed", type=_non_negative_int, default=0,
                      help="procedural datasets: the image family to render (default 0)")
    data.add_argument("--cache", default=None, metavar="DIR",
                      help="procedural datasets: render once into this directory and memory-map it afterwards "
                           "(default: none, render in memory)")
    _add_model_arguments(p.add_argument_group("model (on --resume, defaults come from the run's run.json)"))
    _add_training_arguments(p.add_argument_group("training"))
    p.epilog = (f"How long: the defaults (64 px, ngf=ndf=64, batch 64, 5000 steps) take {_DEFAULT_DURATION}. "
                f"--quick ({_QUICK_TEXT}) takes {_QUICK_DURATION}.")


def _add_optional(group, *flags: tuple) -> None:
    """Add ``(flag, type, help)`` rows as options that default to None (the config dataclass's default applies)."""
    for flag, kind, text in flags:
        group.add_argument(flag, type=kind, default=None, help=text)


def _add_model_arguments(model) -> None:
    from ..config import ARCHITECTURES, IMAGE_SIZES, PRIORS  # light: no torch

    model.add_argument("--arch", choices=ARCHITECTURES, default=None,
                       help="dcgan (Radford 2015), acgan (Odena 2017; classes from the dataset) or gan (2014 MLP); "
                            "default dcgan")
    model.add_argument("--image-size", type=int, choices=IMAGE_SIZES, default=None,
                       help="image side in pixels; images are resized and centre-cropped (default 64)")
    model.add_argument("--channels", type=int, choices=(1, 3), default=None,
                       help="image channels (default: the dataset's, 3 for folders)")
    _add_optional(model, ("--nz", _positive_int, "size of z (default 100)"),
                  ("--ngf", _positive_int, "generator width (default 64)"),
                  ("--ndf", _positive_int, "discriminator width (default 64)"))
    model.add_argument("--prior", choices=PRIORS, default=None,
                       help="distribution of z: normal N(0,1) (pytorch/examples) or uniform U(-1,1) (the paper); "
                            "default normal")
    _add_optional(model, ("--hidden", _positive_int, "gan (MLP) only: hidden units (default 1024)"))
    model.add_argument("--class-input", choices=("onehot", "embedding"), default=None,
                       help="acgan only: how G sees the class: a fixed one-hot vector appended to z (the AC-GAN "
                            "paper; default) or a learned embedding (collapsed within classes on Fashion-MNIST)")
    _add_optional(model, ("--embed-dim", _positive_int,
                          "acgan only: size of the learned class embedding (--class-input embedding; default 50)"))


def _add_training_arguments(tr) -> None:
    tr.add_argument("--out", required=True, metavar="RUN_DIR",
                    help="run directory: checkpoints/, samples/, log.jsonl, run.json, model.safetensors")
    tr.add_argument("--resume", action="store_true",
                    help="continue the run in RUN_DIR from its newest good checkpoint (same step, optimizer and "
                         "random streams: the result equals an uninterrupted run)")
    _add_optional(tr, ("--steps", _positive_int, "total optimizer steps (default 5000)"),
                  ("--batch-size", _positive_int, "batch per process (default 64)"),
                  ("--lr", _positive_float, "Adam learning rate (default 2e-4, DCGAN §4)"),
                  ("--beta1", float, "Adam beta1 (default 0.5, DCGAN §4)"),
                  ("--r1-gamma", float, "R1 penalty on D's input gradient at real images (Mescheder et al. "
                   "2018), applied lazily every --r1-every steps; brakes a D that outruns G (default 0 = off, the "
                   "DCGAN paper)"),
                  ("--r1-every", _positive_int, "steps between R1 penalties (default 16)"),
                  ("--label-smoothing", float,
                   "one-sided label smoothing: D's target for real images is 1 - this (default 0)"),
                  ("--g-class-weight", float, "AC-GAN: weight of the class term in G's loss (default 1, the paper); "
                   "below 1 trades class accuracy for within-class diversity"),
                  ("--ema-decay", float, "keep a moving average of G's weights with this decay (e.g. 0.999) and "
                   "export it as the model's generator; steadies a generator that oscillates between checkpoints "
                   "(default 0 = off)"))
    tr.add_argument("--init", default=None, metavar="FILE",
                    help="start from the G and D weights of this model file (fine-tuning; fresh optimizer state); "
                         "ignored when --resume finds a checkpoint (default: none, fresh DCGAN initialisation)")
    _add_optional(tr, ("--seed", _non_negative_int, "seeds the initial weights, data order and every z (default 0)"),
                  ("--checkpoint-every", _positive_int,
                   "steps between checkpoints (default 500; one is also written at the end and on SIGINT/SIGTERM)"),
                  ("--keep-checkpoints", _positive_int, "newest checkpoints kept (default 3)"))
    tr.add_argument("--fast", choices=("auto", "on", "off"), default=None,
                    help="channels_last + bfloat16 autocast: auto = only on CPUs with native bf16 (AVX512-BF16/AMX); "
                         "on an AVX2 CPU bf16 is emulated and much slower (default auto)")
    tr.add_argument("--channels-last", choices=("on", "off"), default=None,
                    help="fp32 channels_last (NHWC) memory format: 7-17%% faster per step on an AVX2 CPU, results "
                         "differ from NCHW in the last bits; keep one setting per run (default off; --fast on "
                         "implies it)")
    _add_optional(tr, ("--threads", _non_negative_int, "torch intra-op threads (default 0 = torch's default)"),
                  ("--grid-size", _positive_int, "samples in each checkpoint's grid (default 64)"),
                  ("--log-every", _positive_int, "steps between log.jsonl lines (default 1)"))
    tr.add_argument("--no-progress", action="store_true",
                    help="no progress output (default: a progress bar on a terminal, plain lines otherwise)")
    _add_optional(tr, ("--progress-every", _positive_int, "when stderr is not a terminal (a log file, nohup, CI): "
                       "steps between plain progress lines with losses, s/step and ETA (default 100)"))
    tr.add_argument("--device", default="auto", metavar="{auto,cpu,cuda,cuda:N}",
                    help="where to train: auto = CUDA when present, else the CPU; under torchrun each process takes "
                         "cuda:LOCAL_RANK (default auto)")
    tr.add_argument("--quick", action="store_true",
                    help=f"a small CPU preset for a first run: {_QUICK_TEXT}; flags given explicitly still win")


def _rank() -> int:
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _read_run_json(out: Path) -> dict:
    import json
    path = out / "run.json"
    if not path.exists():
        return {}
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"--resume: {str(path)!r} is unreadable ({e})") from None
    return d if isinstance(d, dict) else {}


def _classes_of(ds, name: str) -> tuple[str, ...]:
    """Class names of a dataset for an AC-GAN, checked against the labels it actually returns."""
    classes = tuple(str(c) for c in (getattr(ds, "classes", None) or ()))
    if len(classes) < 2:
        raise UsageError(f"--arch acgan: the dataset {name!r} has no image classes (an AC-GAN needs >= 2, from its "
                         "`.classes`; for a folder use one sub-folder per class)")
    targets = getattr(ds, "targets", None)
    if targets is not None:
        labels = [int(t) for t in targets]
    else:  # check a few items: a `.classes` attribute may name something else (e.g. segmentation labels)
        import torch
        k = min(len(ds), 64)
        idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:k].tolist()
        labels = [int(ds[i][1]) for i in idx]
    if labels and (min(labels) < 0 or max(labels) >= len(classes)):
        raise UsageError(f"--arch acgan: dataset {name!r} returns labels {min(labels)}..{max(labels)}, outside its "
                         f"{len(classes)} classes")
    if len(set(labels)) < 2:
        raise UsageError(f"--arch acgan: dataset {name!r} lists classes {list(classes)[:5]}... but its items all "
                         f"carry label {labels[0] if labels else '?'}: it has no per-image classes")
    return classes


def _pick(args, prev: dict):
    """value of a flag: given on the command line > the run's run.json (--resume) > --quick > ``default``."""
    def pick(value, key, default):
        if value is not None:
            return value
        if key in prev:
            return prev[key]
        return QUICK_PRESET.get(key, default) if getattr(args, "quick", False) else default
    return pick


def _train_data(args, image_size: int, channels):
    """The dataset of ``--data``, its channel count and the name recorded in the model file."""
    from ..data import get_dataset

    key = str(args.data).lower().replace("_", "-")
    builtin = key in ("rooms", "faces", "fashion-mnist", "fashion", "fashionmnist")
    if not builtin and not Path(args.data).exists():
        raise UsageError(f"--data: {args.data!r} is neither a built-in dataset (rooms, faces, fashion-mnist) nor "
                         "an existing folder of images")
    if not builtin and not Path(args.data).is_dir():
        raise UsageError(f"--data: {args.data!r} is a file; expected a folder of images or a built-in dataset name")
    if args.cache:
        Path(args.cache).mkdir(parents=True, exist_ok=True)
    try:
        ds = get_dataset(args.data, image_size=image_size, channels=channels or 3, n=args.n, seed=args.data_seed,
                         cache=args.cache)
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(f"--data {args.data!r}: {e}") from None
    x0, _ = ds[0]
    if channels is None:
        channels = int(x0.shape[0])
    if tuple(x0.shape) != (channels, image_size, image_size):
        raise UsageError(f"--data {args.data!r}: items have shape {tuple(x0.shape)}, but --channels {channels} "
                         f"--image-size {image_size} need ({channels}, {image_size}, {image_size})")
    skipped = getattr(ds, "skipped", None)
    if skipped and _rank() == 0:
        names = ", ".join(str(s) for s in skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        print(f"warning: skipped {len(skipped)} unreadable image(s) in {args.data}: {names}", file=sys.stderr)
    name = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}.get(key, key) if builtin \
        else (Path(args.data).resolve().name or str(args.data))
    return ds, channels, name


def _train_config(args, prev_train: dict):
    """TrainConfig from the flags (run.json's values on --resume, --quick's, then the dataclass defaults)."""
    from ..train import TrainConfig
    pick, defaults = _pick(args, prev_train), _defaults(TrainConfig)
    on_off = {"on": True, "off": False}
    fast = pick(args.fast, "fast", defaults["fast"])
    channels_last = pick(args.channels_last, "channels_last", defaults["channels_last"])
    names = dict(num_threads="threads")
    tkw = {k: pick(getattr(args, names.get(k, k)), k, defaults[k]) for k in _TRAIN_FLAGS}
    if tkw["batch_size"] < 2:
        raise UsageError("--batch-size: BatchNorm needs at least 2 images per batch")
    try:
        return TrainConfig(fast=on_off.get(fast, fast), channels_last=on_off.get(channels_last, channels_last),
                           progress=not args.no_progress, **tkw)
    except ValueError as e:  # TrainConfig names its field ("r1_gamma: ..."); the user typed a flag (--r1-gamma)
        field, sep, rest = str(e).partition(":")
        if sep and field.isidentifier():
            raise UsageError(f"--{names.get(field, field).replace('_', '-')}:{rest}") from None
        raise


def _train_device(args):
    from ..train.devices import local_rank, resolve_device
    try:
        return resolve_device(args.device, local_rank=local_rank(), world_size=int(os.environ.get("WORLD_SIZE", "1")))
    except (ValueError, TypeError) as e:
        raise UsageError(f"--{e}") from None


def run(args) -> int:
    from ..config import IMAGE_SIZES, ModelConfig

    out = Path(args.out)
    if not args.resume and (out / "run.json").exists():  # fail before building the dataset
        from ..train import RunExistsError
        raise RunExistsError(f"--out: {str(out)!r} already holds a run (run.json); pass --resume to continue it, "
                             "or choose another directory")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {str(out)!r} is a file; expected a run directory")
    device = _train_device(args)
    prev = _read_run_json(out) if args.resume else {}
    prev_model, prev_train = ModelConfig.upgrade(prev.get("model") or {}), prev.get("train") or {}
    pick = _pick(args, prev_model)
    arch = pick(args.arch, "arch", "dcgan")
    image_size = pick(args.image_size, "image_size", 64)
    if image_size not in IMAGE_SIZES:
        raise UsageError(f"--image-size: expected one of {IMAGE_SIZES}, got {image_size!r}")
    ds, channels, dataset_name = _train_data(args, image_size, pick(args.channels, "channels", None))
    model_defaults = _defaults(ModelConfig)
    kw = {k: pick(getattr(args, k), k, model_defaults[k]) for k in _MODEL_FLAGS}
    if arch == "acgan":
        kw["class_input"] = pick(args.class_input, "class_input", model_defaults["class_input"])
        classes = _classes_of(ds, str(args.data))
        kw.update(num_classes=len(classes), class_names=classes)
    mc = ModelConfig(arch=arch, image_size=image_size, channels=channels, dataset=dataset_name, **kw)
    tc = _train_config(args, prev_train)
    if _rank() == 0:
        from ..train.devices import native_bf16
        if tc.fast is True and device.type == "cpu" and not native_bf16():
            print("warning: --fast on: this CPU has no native bfloat16 (AVX512-BF16/AMX), so bf16 is emulated and "
                  "training is many times slower than --fast off", file=sys.stderr)
        print(f"training {mc.arch} {mc.image_size}px on {dataset_name} ({len(ds)} images) for {tc.steps} steps "
              f"on {device} -> {out}", file=sys.stderr)
    from ..train import Trainer
    try:
        trainer = Trainer(mc, tc, ds, out, resume=args.resume, dataset_name=dataset_name, init=args.init,
                          device=device)
    except FileNotFoundError as e:
        raise UsageError(f"--{e}") from None
    try:
        gan = trainer.fit()
    except ValueError as e:
        if str(e).startswith("init:"):
            raise UsageError(f"--{e}") from None
        raise
    if _rank() == 0:
        print(f"done: step {gan.step}; model written to {out / 'model.safetensors'}"
              + (f" ({trainer.skipped_items} unreadable items skipped during training)" if trainer.skipped_items
                 else ""))
    return EXIT_OK
