"""``latentlab convert``: a foreign DCGAN checkpoint (a state dict or a training checkpoint) -> one latentlab
.safetensors file.

Reads with ``torch.load(map_location="cpu", weights_only=True)`` (no code from the file runs; tensors saved on a GPU
load on the CPU), picks the generator's entry of a training checkpoint (``--key``), reads the sizes off the tensors,
maps the keys onto latentlab's named blocks, checks that the source module and the converted model give the same
images from the same z, and writes the file with ``latentlab.save``. See :mod:`latentlab.convert`.

    latentlab convert weights.tar                         # -> weights.safetensors beside it
    latentlab convert ckpt.pth --key netG_state_dict --netD ckpt.pth --out model.safetensors
    latentlab convert cgan.pth --from cdcgan --num-classes 10 --out cgan.safetensors
"""
from __future__ import annotations

import argparse
from pathlib import Path


# The layouts latentlab.convert.LAYOUTS knows (a test checks they agree): named here so that `latentlab convert
# --help` and its usage errors do not import torch; convert() itself rejects an unknown layout by name.
SOURCES = {"pytorch-examples": "pytorch/examples dcgan/main.py; 32, 64 or 128 px",
           "dcgan-tutorial": "the PyTorch DCGAN faces tutorial, the same modules",
           "cdcgan": "a class-conditional DCGAN generator, z and a one-hot class (or an embedding) concatenated",
           "cdcgan-class-first": "the same with the class before z"}

__all__ = ["add_arguments", "run", "SOURCES"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("netG", help="the generator's weights: a torch.save(netG.state_dict(), path) file (or a .safetensors "
                                "state dict), or a training checkpoint holding them (see --key)")
    p.add_argument("--key", default=None, metavar="ENTRY",
                   help="the entry of a training checkpoint holding G's state dict, e.g. netG_state_dict or a nested "
                        "path models/G (default: the one entry that can be the generator; an ambiguous file is "
                        "refused with the list of its entries)")
    p.add_argument("--netD", default=None, help="the discriminator's weights (default: none; the file then holds "
                                                "the generator only). May be the same training checkpoint as netG")
    p.add_argument("--netD-key", dest="d_key", default=None, metavar="ENTRY",
                   help="the entry of --netD holding D's state dict (default: the one that can be the discriminator)")
    p.add_argument("--from", dest="source", default="pytorch-examples", metavar="LAYOUT",
                   help="layout of the source checkpoint: " + "; ".join(f"{k} ({v})" for k, v in SOURCES.items())
                        + " (default pytorch-examples)")
    for flag, what in (("nz", "size of z"), ("ngf", "generator width"), ("ndf", "discriminator width"),
                       ("nc", "image channels")):
        p.add_argument(f"--{flag}", type=int, default=None,
                       help=f"{what} in the source model (default: read off the tensors; given, it is checked)")
    p.add_argument("--num-classes", type=int, default=None,
                   help="--from cdcgan*: number of classes of a one-hot class input (G's first layer takes nz + this "
                        "many inputs; one of --num-classes / --nz is needed; default: read off a class embedding)")
    p.add_argument("--class-names", default=None, help="--from cdcgan*: comma-separated name per class (default: none)")
    p.add_argument("--prior", default="normal", choices=("normal", "uniform"),
                   help="distribution z was drawn from in training (default normal: torch.randn, as pytorch/examples)")
    p.add_argument("--dataset", default="", help="name stored in the config, e.g. rooms (default: empty)")
    p.add_argument("--out", default=None, help="the .safetensors file to write (default: netG's file name with the "
                                               "suffix .safetensors, in the same folder)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists (default: refuse)")
    p.add_argument("--half", action="store_true", help="store weights as fp16 (default: float32, exact)")
    p.add_argument("--seed", type=int, default=0, help="seed of the z used for the check (default 0)")
    p.add_argument("--n-verify", type=int, default=16, help="number of z for the check (default 16)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the comparison with the source module (default: compare, fail above 1e-5)")
    return p


def run(args) -> int:
    from ..convert import LAYOUTS, ConvertOptions, convert

    if args.source not in LAYOUTS:
        raise ValueError(f"--from: unknown checkpoint layout {args.source!r}; known layouts are {sorted(LAYOUTS)}")
    out = Path(args.out) if args.out is not None else Path(args.netG).with_suffix(".safetensors")
    if out.exists() and not args.force:
        raise ValueError(f"--out: {str(out)!r} exists; pass --force to overwrite it")
    names = tuple(n.strip() for n in args.class_names.split(",")) if args.class_names else ()
    r = convert(args.netG, args.netD, source=args.source, key=args.key, nz=args.nz, ngf=args.ngf, ndf=args.ndf,
                num_classes=args.num_classes, out=out,
                options=ConvertOptions(d_key=args.d_key, nc=args.nc, class_names=names, prior=args.prior,
                                       dataset=args.dataset, check=not args.no_verify, n_verify=args.n_verify,
                                       seed=args.seed, half=args.half))
    cfg = r.gan.config
    parts = "generator + discriminator" if r.gan.discriminator is not None else "generator"
    classes = f", {cfg.num_classes} classes ({cfg.class_input})" if cfg.conditional else ""
    ndf = f", ndf {cfg.ndf}" if r.gan.discriminator is not None else ""
    print(f"converted {args.source} DCGAN ({parts}; nz {cfg.nz}, ngf {cfg.ngf}{ndf}, {cfg.channels} "
          f"channels, {cfg.image_size} px{classes}, prior {cfg.prior}) -> {r.path}")
    for note in r.notes:
        print(f"  {note}")
    for part, d in r.max_abs_diff.items():
        what = "images" if part == "generator" else "D(x)"
        print(f"  check: {part} vs the {args.source} module, {args.n_verify} z (seed {args.seed}): "
              f"max abs difference of the {what} {d:.3g}")
    if not r.max_abs_diff:
        print("  check: skipped (--no-verify)")
    return 0
