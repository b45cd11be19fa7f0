"""``latentlab convert``: a foreign DCGAN checkpoint (.pth state dict) -> one latentlab .safetensors file.

Reads with ``torch.load(weights_only=True)`` (no code from the file runs), maps the keys onto latentlab's named
blocks, checks that the source module and the converted model give the same images from the same z, and writes
the file with ``latentlab.save``. See :mod:`latentlab.convert`.
"""
from __future__ import annotations

import argparse
from pathlib import Path


# The layouts latentlab.convert.LAYOUTS knows (a test checks they agree): named here so that `latentlab convert
# --help` and its usage errors do not import torch; convert() itself rejects an unknown layout by name.
SOURCES = {"pytorch-examples": "pytorch/examples dcgan/main.py"}

__all__ = ["add_arguments", "run", "SOURCES"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("netG", help="the generator's state dict, saved with torch.save(netG.state_dict(), path)")
    p.add_argument("--netD", default=None, help="the discriminator's state dict (default: none; the file then holds "
                                                "the generator only)")
    p.add_argument("--from", dest="source", default="pytorch-examples", metavar="LAYOUT",
                   help="layout of the source checkpoint: " + "; ".join(f"{k} ({v})" for k, v in SOURCES.items())
                        + " (default pytorch-examples)")
    p.add_argument("--nz", type=int, default=100, help="size of z in the source model (default 100)")
    p.add_argument("--ngf", type=int, default=64, help="generator width in the source model (default 64)")
    p.add_argument("--ndf", type=int, default=64, help="discriminator width in the source model (default 64)")
    p.add_argument("--nc", type=int, default=3, help="image channels (default 3)")
    p.add_argument("--prior", default="normal", choices=("normal", "uniform"),
                   help="distribution z was drawn from in training (default normal: torch.randn, as pytorch/examples)")
    p.add_argument("--dataset", default="", help="name stored in the config, e.g. rooms (default: empty)")
    p.add_argument("--out", required=True, help="the .safetensors file to write")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists (default: refuse)")
    p.add_argument("--half", action="store_true", help="store weights as fp16 (default: float32, exact)")
    p.add_argument("--seed", type=int, default=0, help="seed of the z used for the check (default 0)")
    p.add_argument("--n-verify", type=int, default=16, help="number of z for the check (default 16)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the comparison with the source module (default: compare, fail above 1e-5)")
    return p


def run(args) -> int:
    from ..convert import LAYOUTS, convert

    if args.source not in LAYOUTS:
        raise ValueError(f"--from: unknown checkpoint layout {args.source!r}; known layouts are {sorted(LAYOUTS)}")

    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(f"--out: {str(out)!r} exists; pass --force to overwrite it")
    r = convert(args.netG, args.netD, source=args.source, nz=args.nz, ngf=args.ngf, ndf=args.ndf, nc=args.nc,
                out=out, prior=args.prior, dataset=args.dataset, check=not args.no_verify, n_verify=args.n_verify,
                seed=args.seed, half=args.half)
    cfg = r.gan.config
    parts = "generator + discriminator" if r.gan.discriminator is not None else "generator"
    print(f"converted {args.source} DCGAN ({parts}; nz {cfg.nz}, ngf {cfg.ngf}, ndf {cfg.ndf}, {cfg.channels} "
          f"channels, {cfg.image_size} px, prior {cfg.prior}) -> {r.path}")
    for part, d in r.max_abs_diff.items():
        what = "images" if part == "generator" else "D(x)"
        print(f"  check: {part} vs the {args.source} module, {args.n_verify} z (seed {args.seed}): "
              f"max abs difference of the {what} {d:.3g}")
    if not r.max_abs_diff:
        print("  check: skipped (--no-verify)")
    return 0
