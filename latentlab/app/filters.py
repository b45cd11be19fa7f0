"""``latentlab filters MODEL --data rooms --out DIR``: the discriminator-filters report.

Wired into ``latentlab/cli.py`` as a sub-command: ``add_arguments(subparser)`` then ``run(args) -> int``.
Writes DIR/filters.json (n_filters, trained/random_semantic_filters, per_filter, seconds, ...),
DIR/filters.html (standalone, works offline) and PNGs.
"""
from __future__ import annotations

import argparse
import sys
import time

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("model", help="shipped model name (rooms) or path to a .safetensors file with a discriminator")
    parser.add_argument("--data", default="rooms", help="labelled data (default: rooms)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--layer", default=None, help="discriminator layer (default: its last conv block, block4 at 64 px)")
    parser.add_argument("--n", type=int, default=2000, help="images for the IoU and top images (default: 2000)")
    parser.add_argument("--quantile", type=float, default=0.005,
                        help="top quantile of upsampled activations kept per filter (default: 0.005 = 0.5%%)")
    parser.add_argument("--min-iou", type=float, default=0.2, help="IoU that makes a filter semantic (default: 0.2)")
    parser.add_argument("--classes", default="window,bed", help="classes counted as semantic (default: window,bed)")
    parser.add_argument("--top-k", type=int, default=4, help="top images per shown filter (default: 4)")
    parser.add_argument("--show", type=int, default=8, help="filters shown per discriminator (default: 8)")
    parser.add_argument("--views-from", choices=("data", "samples"), default="data",
                        help="top images from the data or from generated samples (default: data)")
    parser.add_argument("--data-seed", type=int, default=1, help="rooms scene family (default 1: held out)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random discriminator (default: 0)")
    parser.add_argument("--png", choices=("auto", "kaleido", "grid", "none"), default="auto",
                        help="PNG export: kaleido (needs chromium), torchvision grids, auto (default) or none")
    parser.add_argument("--cache", default=None, help="directory caching the rendered rooms scenes (e.g. runs/cache)")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a shared, busy machine multi-threaded kernels stall "
                             "waiting for each other; 0 = torch's default)")
    return parser


def run(args: argparse.Namespace) -> int:
    import torch

    from ..pretrained import load_pretrained
    from ..attribution.report import filter_report

    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    try:
        if args.threads and args.threads > 0:
            torch.set_num_threads(args.threads)
        t, c = time.perf_counter(), time.process_time()
        gan = load_pretrained(args.model)
        t_load, c_load = time.perf_counter() - t, time.process_time() - c
        rep = filter_report(gan, args.data, n=args.n, layer=args.layer, quantile=args.quantile,
                            data_seed=args.data_seed, random_seed=args.seed, k=args.top_k, n_show=args.show,
                            views_from=args.views_from, min_iou=args.min_iou,
                            semantic_classes=tuple(x.strip() for x in args.classes.split(",") if x.strip()),
                            batch_size=args.batch_size, cache=args.cache)
        rep.info["model"] = str(args.model)
        rep.timings = {"load": t_load, **rep.timings}
        rep.cpu_timings = {"load": c_load, **rep.cpu_timings}
        paths = rep.write(args.out, png=args.png)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as e:
        print(f"latentlab filters: error: {e}", file=sys.stderr)
        return 2
    finally:
        torch.set_num_threads(threads)
    s = rep.summary()
    print(f"layer {s['layer']}: {s['n_filters']} filters, {s['n_images']} images, quantile {s['quantile']}; "
          f"semantic ({'/'.join(s['semantic_classes'])} IoU >= {s['min_iou']}): trained {s['trained_semantic_filters']}, "
          f"random {s['random_semantic_filters']}; best IoU trained {s['trained_best_iou']}, random {s['random_best_iou']}; "
          f"{time.perf_counter() - t0:.1f} s wall, {s['cpu_seconds']:.1f} s CPU")
    for kind, p in paths.items():
        print(f"  {kind}: {p}")
    return 0
