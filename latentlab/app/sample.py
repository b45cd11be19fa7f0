"""``latentlab sample``: a grid of samples from a model file, a run folder or a shipped model.

    latentlab sample --model runs/rooms --n 64 --seed 0 --out grid.png [--class K|NAME]

Import-light: torch is imported inside ``run``.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from .options import UsageError, _non_negative_int, _positive_int

__all__ = ["add_arguments", "run", "HELP", "DESCRIPTION"]

HELP = "write a grid of samples from a trained model"
DESCRIPTION = ("Sample a grid of images from a model file or a shipped model (torchvision save_image, values "
               "mapped from [-1, 1]).")
EXIT_OK = 0

def add_arguments(p: argparse.ArgumentParser) -> None:
    from .options import add_class_argument  # argparse only
    p.add_argument("--model", required=True, metavar="FILE_DIR_OR_NAME",
                   help="a latentlab .safetensors file (model or training checkpoint), a run folder written by "
                        "`latentlab train` (its model.safetensors) or a shipped model (rooms, faces, fashion)")
    p.add_argument("--n", type=_positive_int, default=64, help="number of samples (default 64)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed of z (default 0)")
    p.add_argument("--out", default="grid.png",
                   help="PNG file for the grid; missing folders are created (default grid.png)")
    add_class_argument(p)
    p.add_argument("--nrow", type=_positive_int, default=None,
                   help="images per grid row (default: sqrt(n), or the number of classes for an AC-GAN)")
    from .options import add_device_argument
    add_device_argument(p)


def _class_index(klass: str, names: tuple, k: int) -> int:
    """Index of ``--class``: an index 0..k-1 or one of the model's class names (exact, else ignoring case)."""
    from .options import class_index  # the one rule for every command (argparse only, no torch)
    try:
        return class_index(klass, names, k)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _model_file(model: str) -> str:
    """``--model``: a run folder stands for its ``model.safetensors``; anything else is passed on unchanged."""
    from .options import model_file  # the one rule for every command (no torch)
    try:
        return model_file(model)
    except ValueError as e:
        raise UsageError(str(e)) from None


def run(args) -> int:
    import torch
    from torchvision.utils import save_image

    from .options import resolve_device
    from ..models.adapter import LatentModel
    from ..pretrained import resolve_model

    try:
        device = resolve_device(args.device)    # before loading: a bad --device fails fast
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        gan = resolve_model(_model_file(args.model), name="--model")
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    cfg = gan.config
    classes = None
    if cfg.conditional:
        if args.klass is None:
            classes = torch.arange(args.n) % cfg.num_classes
        else:
            classes = torch.full((args.n,), _class_index(args.klass, cfg.class_names, cfg.num_classes))
    elif args.klass is not None:
        raise UsageError(f"--class: the model is a {cfg.arch!r} model without classes; only AC-GAN models take --class")
    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise UsageError(f"--out: {str(out)!r} is a directory, expected a PNG file name such as {str(out / 'grid.png')!r}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out: cannot create the folder {str(out.parent)!r} ({e.strerror or e})") from None
    model = LatentModel(gan, device=device)   # the same z as gan.sample(n, seed=...), generated on --device
    x = model.generate(model.sample_z(args.n, seed=args.seed), classes)
    nrow = args.nrow or (cfg.num_classes if cfg.conditional and args.klass is None else int(math.ceil(math.sqrt(args.n))))
    save_image(x.float(), out, nrow=nrow, normalize=True, value_range=(-1, 1))
    what = f", class {cfg.class_names[int(classes[0])] if cfg.class_names else int(classes[0])}" \
        if args.klass is not None else ""
    print(f"wrote {args.n} samples of {cfg.arch} {cfg.image_size}px (seed {args.seed}{what}) to {out}")
    return EXIT_OK
