"""``latentlab walk MODEL --out DIR [--steps N] [--method slerp|linear] [--seed S] [--class K|NAME]``.

Writes ``DIR/walk.html`` (offline: plotly.js embedded; slider over the steps and a play button),
``DIR/walk_smoothness.html`` and ``DIR/walk.json`` (the smoothness numbers). The CLI entry point wires
``add_arguments`` / ``run``. Vector arithmetic and rotation axes are not walks: they are in
``examples/faces_latent.py`` and in ``latentlab report``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .options import add_class_argument, add_device_argument, load_model, resolve_class, resolve_device

__all__ = ["add_arguments", "run", "jump_note", "DESCRIPTION"]

JUMP_FACTOR = 3.0     # = latentlab.latent.walk.JUMP_FACTOR (a test checks); not imported: that module imports torch

DESCRIPTION = ("DCGAN §6.1: walk through z between random points (or, for an AC-GAN, from one class to another "
               "with z fixed) and measure how smoothly the images change: the distance between consecutive frames "
               "in the dataset judge's features (or pixels), and a flag when one step is much larger than the "
               "median step (docs/walks.md).")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.description = DESCRIPTION
    parser.add_argument("model", help="shipped model name (rooms, faces, fashion), a .safetensors file or a run "
                                      "folder written by `latentlab train`")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--steps", type=int, default=16, help="frames per segment, endpoints included (>= 2)")
    parser.add_argument("--method", choices=("slerp", "linear"), default="slerp",
                        help="interpolation: slerp follows the great circle, linear is the paper's straight line")
    parser.add_argument("--seed", type=int, default=0, help="seed of the keyframes z")
    parser.add_argument("--keyframes", type=int, default=2, help="number of random keyframes (>= 2)")
    add_class_argument(parser, what="the walk (z moves, the class stays)", default_text="class 0")
    parser.add_argument("--class-walk", nargs=2, metavar=("C0", "C1"), default=None,
                        help="AC-GAN models: walk the class input from C0 to C1 (indices or names) with z fixed, "
                             "instead of walking z (default: off)")
    parser.add_argument("--jump-factor", type=float, default=JUMP_FACTOR,
                        help="flag a possible memorization jump when the largest step between frames exceeds this "
                             "many times the median step")
    return add_device_argument(parser)


def jump_note(s) -> str:
    """One line explaining the memorization-jump flag of a :class:`~latentlab.latent.walk.Smoothness`."""
    return (f"  what this means: the step from frame {s.argmax} to {s.argmax + 1} is {s.ratio:.1f}x the median step "
            f"(flagged above {s.factor:g}x), so the image changes abruptly there, as it would if the generator "
            f"jumped between memorized training images; look at those frames in walk.html (docs/walks.md: "
            f"how to tell a real jump from a judge effect)")


def run(args: argparse.Namespace) -> int:
    from ..latent.walk import Walk
    from ..viz.latent_figures import smoothness_figure, walk_figure

    device = resolve_device(args.device)     # before loading: a bad --device fails fast
    gan = load_model(args.model)
    cfg = gan.config
    klass = resolve_class(args.klass, cfg)
    class_walk = None
    if args.class_walk is not None:
        if cfg.conditional:
            class_walk = [resolve_class(c, cfg, option="--class-walk") for c in args.class_walk]
        else:   # Walk.classes names the problem (a class walk needs an AC-GAN)
            class_walk = [int(c) if str(c).lstrip("-").isdigit() else c for c in args.class_walk]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    walk = Walk(gan, c=(klass or 0) if cfg.conditional else None, device=device, factor=args.jump_factor)
    if class_walk is not None:
        z = walk.model.sample_z(1, seed=args.seed)
        walk.classes(z, class_walk[0], class_walk[1], steps=args.steps, method=args.method)
    else:
        walk.random(args.keyframes, args.steps, args.method, seed=args.seed)
    s = walk.smoothness()
    walk_figure(walk.images, walk.frame_labels, title=walk.title).write_html(
        out / "walk.html", include_plotlyjs=True, auto_play=False)
    smoothness_figure(s.distances, factor=s.factor, feature_name=s.features, title=f"Smoothness: {walk.title}"
                      ).write_html(out / "walk_smoothness.html", include_plotlyjs=True)
    summary = {"model": str(args.model), "step": int(getattr(gan, "step", 0)), "method": args.method,
               "steps": args.steps, "keyframes": args.keyframes, "seed": args.seed, "frames": len(walk.images),
               "class": klass, "class_walk": class_walk,
               "features": s.features, "distances": [round(float(d), 6) for d in s.distances],
               "median": s.median, "max": s.max, "ratio": s.ratio, "factor": s.factor, "jump": s.jump}
    (out / "walk.json").write_text(json.dumps(summary, indent=2))
    print(s)
    if s.jump:
        print(jump_note(s))
    print(f"wrote {out / 'walk.html'}, {out / 'walk_smoothness.html'}, {out / 'walk.json'}")
    return 0
