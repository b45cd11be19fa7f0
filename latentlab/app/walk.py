"""``latentlab walk MODEL --out DIR [--steps N] [--method slerp|linear] [--seed S]``.

Writes ``DIR/walk.html`` (offline: plotly.js embedded; slider over the steps and a play button),
``DIR/walk_smoothness.html`` and ``DIR/walk.json`` (the smoothness numbers). The CLI entry point wires
``add_arguments`` / ``run``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .options import add_device_argument, resolve_device

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("model", help="shipped model name (rooms, faces, fashion) or a .safetensors file")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--steps", type=int, default=16, help="frames per segment, endpoints included (>= 2)")
    parser.add_argument("--method", choices=("slerp", "linear"), default="slerp", help="interpolation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the keyframes z")
    parser.add_argument("--keyframes", type=int, default=2, help="number of random keyframes (>= 2)")
    parser.add_argument("--class", dest="klass", type=int, default=0, help="AC-GAN models: class to walk in")
    parser.add_argument("--class-walk", nargs=2, type=int, metavar=("C0", "C1"), default=None,
                        help="AC-GAN models: walk the class embedding from C0 to C1 with z fixed instead")
    return add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from ..pretrained import load_pretrained
    from ..latent.walk import Walk
    from ..viz.latent_figures import smoothness_figure, walk_figure

    device = resolve_device(args.device)     # before loading: a bad --device fails fast
    gan = load_pretrained(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    walk = Walk(gan, c=args.klass if gan.config.conditional else None, device=device)
    if args.class_walk is not None:
        z = walk.model.sample_z(1, seed=args.seed)
        walk.classes(z, args.class_walk[0], args.class_walk[1], steps=args.steps, method=args.method)
    else:
        walk.random(args.keyframes, args.steps, args.method, seed=args.seed)
    s = walk.smoothness()
    walk_figure(walk.images, walk.frame_labels, title=walk.title).write_html(
        out / "walk.html", include_plotlyjs=True, auto_play=False)
    smoothness_figure(s.distances, factor=s.factor, feature_name=s.features, title=f"Smoothness: {walk.title}"
                      ).write_html(out / "walk_smoothness.html", include_plotlyjs=True)
    summary = {"model": str(args.model), "step": int(getattr(gan, "step", 0)), "method": args.method,
               "steps": args.steps, "keyframes": args.keyframes, "seed": args.seed, "frames": len(walk.images),
               "features": s.features, "distances": [round(float(d), 6) for d in s.distances],
               "median": s.median, "max": s.max, "ratio": s.ratio, "factor": s.factor, "jump": s.jump}
    (out / "walk.json").write_text(json.dumps(summary, indent=2))
    print(s)
    print(f"wrote {out / 'walk.html'}, {out / 'walk_smoothness.html'}, {out / 'walk.json'}")
    return 0
