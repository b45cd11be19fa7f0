"""``latentlab filters MODEL --data rooms --out DIR``: the discriminator-filters report.

Wired into ``latentlab/cli.py`` as a sub-command: ``add_arguments(subparser)`` then ``run(args) -> int``.
Writes DIR/filters.json (n_filters, trained/random_semantic_filters, per_filter, seconds, ...),
DIR/filters.html (standalone, works offline) and PNGs. ``write_filter_report(rep, out_dir)`` does the same
for a :class:`~latentlab.attribution.FilterReport` computed in Python.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..validate import one_of
from .options import add_device_argument, load_model, resolve_device

DEFAULT_QUANTILE = 0.2   # = latentlab.attribution.report.DEFAULT_QUANTILE (a test checks; that module imports torch)

__all__ = ["add_arguments", "run", "filter_panels", "filter_figures", "write_filter_report", "PNG_MODES"]

PNG_MODES = ("auto", "kaleido", "grid", "none")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("model", help="shipped model name (rooms) or path to a .safetensors file with a discriminator")
    parser.add_argument("--data", default="rooms", help="labelled data (default: rooms)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--layer", default=None, help="discriminator layer (default: its last conv block, block4 at 64 px)")
    parser.add_argument("--n", type=int, default=2000, help="images for the IoU and top images (default: 2000)")
    parser.add_argument("--quantile", type=float, default=DEFAULT_QUANTILE,
                        help="top fraction of each filter's upsampled activations kept as its mask (default: 0.2 = "
                             "20%%, which finds the semantic filters of a 64 px DCGAN's 4x4 last block); "
                             "--quantile 0.005 is GAN Dissection's top 0.5%%, which caps the IoU near 0.026 on a 4x4 "
                             "map")
    parser.add_argument("--min-iou", type=float, default=0.2, help="IoU that makes a filter semantic (default: 0.2)")
    parser.add_argument("--classes", default="window,bed", help="classes counted as semantic (default: window,bed)")
    parser.add_argument("--top-k", type=int, default=4, help="top images per shown filter (default: 4)")
    parser.add_argument("--show", type=int, default=8, help="filters shown per discriminator (default: 8)")
    parser.add_argument("--views-from", choices=("data", "samples"), default="data",
                        help="top images from the data or from generated samples (default: data)")
    parser.add_argument("--data-seed", type=int, default=1, help="rooms scene family (default 1: held out)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random discriminator (default: 0)")
    parser.add_argument("--png", choices=PNG_MODES, default="auto",
                        help="PNG export: kaleido (needs chromium), torchvision grids, auto (default) or none")
    parser.add_argument("--cache", default=None, help="directory caching the rendered rooms scenes, e.g. runs/cache (default: none, render in "
                             "memory)")
    parser.add_argument("--batch-size", type=int, default=250, help="images per forward pass")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a shared, busy machine multi-threaded kernels stall "
                             "waiting for each other; 0 = torch's default)")
    return add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..attribution.report import FilterSettings, filter_report

    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    try:
        if args.threads and args.threads > 0:
            torch.set_num_threads(args.threads)
        device = resolve_device(args.device)     # before loading: a bad --device fails fast
        t, c = time.perf_counter(), time.process_time()
        gan = load_model(args.model)
        t_load, c_load = time.perf_counter() - t, time.process_time() - c
        classes = tuple(x.strip() for x in args.classes.split(",") if x.strip())
        rep = filter_report(gan, args.data, n=args.n, layer=args.layer, quantile=args.quantile, k=args.top_k,
                            n_show=args.show, device=device,
                            settings=FilterSettings(data_seed=args.data_seed, random_seed=args.seed,
                                                    views_from=args.views_from, min_iou=args.min_iou,
                                                    semantic_classes=classes, batch_size=args.batch_size,
                                                    cache=args.cache))
        rep.info["model"] = str(args.model)
        rep.timings = {"load": t_load, **rep.timings}
        rep.cpu_timings = {"load": c_load, **rep.cpu_timings}
        paths = write_filter_report(rep, args.out, png=args.png)
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


def filter_panels(rep) -> tuple[list, list]:
    """The data the two filter figures draw: (grid panels, bar panels), trained D then random D."""
    import numpy as np

    from ..attribution.filters import guided_overlay
    from ..viz.filter_figures import BarPanel, GridPanel
    grids, bars = [], []
    for title, s, v, top in (("trained D", rep.trained, rep.trained_views, rep.trained_top),
                             ("random D", rep.random, rep.random_views, rep.random_top)):
        f = v.filters.numpy()
        grids.append(GridPanel(title=title, tiles=guided_overlay(v.images, v.guided), filters=f.tolist(),
                               image_indices=v.top_indices.numpy(),
                               best_class=[s.class_names[c] for c in s.best_class[f]],
                               best_iou=s.best_iou[f].tolist()))
        order = np.argsort(-s.best_iou, kind="stable")
        bars.append(BarPanel(title=f"{title}: layer {rep.layer}", filters=order.tolist(),
                             best_class=[s.class_names[c] for c in s.best_class[order]],
                             best_iou=s.best_iou[order].tolist(), top_image=top[order].tolist()))
    return grids, bars


def filter_figures(rep):
    """(grid figure, bar figure) of a :class:`~latentlab.attribution.FilterReport` as ``go.Figure``."""
    from ..viz.filter_figures import filter_grid_figure, iou_bar_figure
    grids, bars = filter_panels(rep)
    return filter_grid_figure(grids), iou_bar_figure(bars, rep.trained.class_names, threshold=rep.min_iou)


def _kaleido_pngs(figs: dict, out: Path, png: str) -> dict:
    """{key: path} of PNGs written by plotly's kaleido; {} when it cannot start (unless png == "kaleido")."""
    import plotly.io as pio
    targets = {k: out / f"filters_{k[4:]}.png" for k in figs}
    try:
        pio.write_images(list(figs.values()), list(targets.values()), width=[f.layout.width for f in figs.values()],
                         height=[f.layout.height for f in figs.values()])
    except Exception as e:  # no browser / kaleido: fall back (or fail if kaleido was asked for)
        if png == "kaleido":
            raise RuntimeError(f"png: kaleido could not export PNGs ({type(e).__name__}: {e})") from e
        return {}
    return targets


def _grid_pngs(rep, out: Path) -> dict:
    """{key: path} of torchvision grids: per shown filter its k top images, then their guided overlays."""
    import torch
    from torchvision.utils import save_image

    from ..attribution.filters import guided_overlay
    from ..images import grey_to_rgb, to_unit_range
    res = {}
    for name, v in (("trained", rep.trained_views), ("random", rep.random_views)):
        tiles = torch.from_numpy(guided_overlay(v.images, v.guided))          # (F', k, H, W, 3)
        F_, k = tiles.shape[:2]
        imgs = grey_to_rgb(to_unit_range(v.images))                           # (F', k, 3, H, W)
        over = tiles.permute(0, 1, 4, 2, 3).float() / 255
        rows = torch.cat([imgs, over], 1).reshape(F_ * 2 * k, *over.shape[2:])
        res[f"png_{name}"] = out / f"filters_{name}.png"
        save_image(rows, res[f"png_{name}"], nrow=2 * k, padding=2, pad_value=1.0)
    return res


def write_filter_report(rep, out_dir, *, png: str = "auto") -> dict:
    """Write filters.json, filters.html and PNGs of ``rep`` to ``out_dir``; returns {kind: path}.

    Args:
        rep: a :class:`~latentlab.attribution.FilterReport` (``latentlab.attribution.filter_report``).
        png: "auto" (kaleido if it can start a browser, else torchvision grids), "kaleido",
            "grid" (torchvision ``save_image`` grids of the tiles, no browser needed) or "none".
    """
    from ..io import atomic_write_bytes
    from ..viz.page import page, write_page
    one_of(png, "png", PNG_MODES)
    t0, c0 = time.perf_counter(), time.process_time()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grid, bars = filter_figures(rep)
    paths = {"html": write_page(out / "filters.html", page(f"Discriminator filters ({rep.layer})", [bars, grid]))}
    png_paths, method = {}, None
    if png in ("auto", "kaleido"):
        png_paths = _kaleido_pngs({"png_iou": bars, "png_grid": grid}, out, png)
        method = "kaleido" if png_paths else None
    if png == "grid" or (png == "auto" and method is None):
        png_paths, method = _grid_pngs(rep, out), "torchvision"
    paths.update(png_paths)
    rep.timings["write"], rep.cpu_timings["write"] = time.perf_counter() - t0, time.process_time() - c0
    summary = rep.summary()
    summary["png"] = {"method": method, "files": sorted(p.name for p in png_paths.values())}
    paths["json"] = out / "filters.json"
    atomic_write_bytes(paths["json"], json.dumps(summary, indent=1).encode("utf-8"))
    return {k: str(v) for k, v in paths.items()}
