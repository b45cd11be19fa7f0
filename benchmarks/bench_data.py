"""Images per second of a procedural dataset's renderer at 64x64.

    python benchmarks/bench_data.py --dataset rooms --n 2000 --json bench_rooms.json
    python benchmarks/bench_data.py --dataset faces --workers 2

Times ``render_room(index, seed, size)`` (or ``latentlab.data.faces.render_face``) for indices
0..n-1 after a short warm-up, in one process or split over ``--workers`` processes. Reports
wall-clock images/s and, for one process, CPU images/s (what the renderer costs when the machine
is shared with other jobs).
"""
from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

try:  # run from a checkout without installing: make the repository root importable
    import latentlab  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RENDERERS = {"rooms": ("latentlab.data.rooms", "render_room"), "faces": ("latentlab.data.faces", "render_face")}


def get_renderer(dataset: str):
    module, name = RENDERERS[dataset]
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise SystemExit(f"bench_data: {module}.{name}(index, seed, size) is not available yet ({e})") from e


def _render_range(args) -> int:
    dataset, start, stop, seed, size = args
    render = get_renderer(dataset)
    for i in range(start, stop):
        render(i, seed, size)
    return stop - start


def bench(dataset: str, n: int, size: int = 64, seed: int = 0, workers: int = 1, warmup: int = 50) -> dict:
    render = get_renderer(dataset)
    for i in range(warmup):  # imports, per-size tables, allocator
        render(n + i, seed, size)
    if workers <= 1:
        t0, c0 = time.perf_counter(), time.process_time()
        _render_range((dataset, 0, n, seed, size))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    else:
        bounds = [n * k // workers for k in range(workers + 1)]
        jobs = [(dataset, a, b, seed, size) for a, b in zip(bounds, bounds[1:])]
        with mp.get_context("fork" if sys.platform.startswith("linux") else "spawn").Pool(workers) as pool:
            pool.map(_render_range, [(dataset, n, n + warmup, seed, size)] * workers)  # warm the workers
            t0 = time.perf_counter()
            pool.map(_render_range, jobs)
            wall, cpu = time.perf_counter() - t0, None
    return {
        "dataset": dataset, "n": n, "size": size, "seed": seed, "workers": workers,
        "seconds": round(wall, 4), "images_per_s": round(n / wall, 1),
        "cpu_images_per_s": None if cpu is None else round(n / max(cpu, 1e-9), 1),
        "cpus": os.cpu_count(), "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Images/s of a procedural dataset renderer.")
    p.add_argument("--dataset", choices=sorted(RENDERERS), default="rooms")
    p.add_argument("--n", type=int, default=2000, help="images to render (default 2000)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--json", type=str, default=None, help="also write the result to this JSON file")
    args = p.parse_args(argv)
    if args.n <= 0:
        p.error(f"--n must be positive, got {args.n}")
    r = bench(args.dataset, args.n, args.size, args.seed, args.workers)
    cpu = "" if r["cpu_images_per_s"] is None else f" ({r['cpu_images_per_s']:.0f} images/s of CPU time)"
    print(f"{r['dataset']}: {r['n']} images at {r['size']}x{r['size']} in {r['seconds']:.2f} s with "
          f"{r['workers']} process(es): {r['images_per_s']:.0f} images/s{cpu}; load average {r['load_avg_1min']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
