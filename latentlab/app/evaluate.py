"""``latentlab evaluate MODEL [--n 2000] [--seed 0] [--json out.json]``: the metrics as a table.

Wired into ``latentlab/cli.py`` through ``add_arguments(parser)`` and ``run(args) -> int``;
``python -m latentlab.app.evaluate MODEL`` runs it on its own.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_arguments", "run", "format_table", "table_rows", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("model", help="shipped model name (rooms, faces, fashion) or path to a .safetensors GAN")
    parser.add_argument("--n", type=int, default=2000, help="generated samples and held-out real images (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument("--json", metavar="OUT", default=None,
                        help="write every number to this JSON file; missing folders are created (default: none)")
    parser.add_argument("--pairs-per-class", type=int, default=100, help="MS-SSIM pairs per class (default 100)")
    parser.add_argument("--n-train", type=int, default=5000,
                        help="training images used as the nearest-neighbour reference (default 5000)")
    parser.add_argument("--ppl-samples", type=int, default=None, help="path-length draws (default min(n, 500))")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def _f(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) >= 1000 or (x != 0 and abs(x) < 1e-3) else f"{x:.{digits}f}"
    return str(x)


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def table_rows(r: dict) -> tuple[str, list[tuple[str, str, str, str]]]:
    """(heading, rows of (metric, model, real, note)) summarising an ``evaluate`` result."""
    m = r["model"]
    rows: list[tuple[str, str, str, str]] = []
    add = rows.append
    add(("Fréchet distance (judge features)", _f(r["fd_judge"]), _f(r["fd_real_floor"]),
         f"ratio {_f(r['fd_ratio'], 2)}x (real column: real vs real floor)"))
    c = r.get("content")
    if c:
        keys = [k for k in ("share_window", "share_bed", "mean_window_area", "glasses", "smiling", "feminine",
                            "masculine") if k in c["generated"]]
        truth = c.get("real_ground_truth") or {}
        for k in keys:
            note = f"truth {_pct(truth[k])}" if k in truth else ""
            add((k.replace("_", " "), _pct(c["generated"][k]), _pct(c["real"][k]), note))
        if "yaw_total_variation" in c:
            add(("yaw histogram (total variation)", _f(c["yaw_total_variation"]), "", "0 = same histogram"))
        diff = c["max_abs_difference"]
        add(("largest rate difference", "-" if diff is None else f"{100 * diff:.1f} pp", "",
             "generated vs real, percentage points"))
    if r["class_accuracy"] is not None:
        add(("class accuracy (judge)", _pct(r["class_accuracy"]), "", "share assigned to the requested class"))
    ms = r["msssim_per_class"]
    if len(ms) == 1:
        add(("MS-SSIM of random pairs", _f(next(iter(ms.values()))), _f(r["msssim_real_max"]), "lower = more diverse"))
    else:
        add(("MS-SSIM per class (mean / max)", f"{_f(sum(ms.values()) / len(ms))} / {_f(max(ms.values()))}",
             _f(r["msssim_real_max"]), "real column: highest real class"))
    add(("classes below real max MS-SSIM", _pct(r["share_classes_below_real_max"]), "", ""))
    mc = r["mode_collapse"]
    add(("mode collapse", "YES" if mc["collapsed"] else "no", "",
         f"feature variance ratio {_f(mc['feature_variance_ratio'])}"))
    mem = r["memorization"]
    add(("near-copies of training images", str(r["near_copies"]),
         f"{mem['heldout_baseline_count']}/{mem['heldout_baseline_n']}",
         f"real column: held-out images flagged by the same rule (reference {mem['n_train_reference']} train images)"))
    add(("median pixel distance to train", _f(mem["median_pixel_distance"]["generated"]),
         _f(mem["median_pixel_distance"]["heldout"]), ""))
    add(("perceptual path length", _f(r["ppl"]), "", f"random-weight generator {_f(r['ppl_random_generator'])}"))
    head = (f"{m['arch']} {m['image_size']}x{m['image_size']}, dataset {m['dataset']!r}, step {m['step']}; "
            f"judge {r['judge']}; n = {r['n']}; {r['seconds']:.1f} s")
    return head, rows


def format_table(r: dict) -> str:
    """A readable summary of an ``evaluate`` result."""
    head, rows = table_rows(r)
    w = [max(len(row[i]) for row in rows + [("metric", "model", "real", "")]) for i in range(3)]
    lines = [head, f"{'metric':<{w[0]}}  {'model':>{w[1]}}  {'real':>{w[2]}}  note"]
    lines.append("-" * len(lines[-1]))
    lines += [f"{a:<{w[0]}}  {b:>{w[1]}}  {c_:>{w[2]}}  {d}".rstrip() for a, b, c_, d in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..io import atomic_write_bytes
    from ..metrics.evaluate import EvalSettings, evaluate

    if args.json:  # create the folder (or fail) before minutes of work
        target = Path(args.json)
        if target.is_dir():
            print(f"latentlab evaluate: error: --json: {args.json!r} is a directory, expected a file name such as "
                  f"{str(target / 'metrics.json')!r}", file=sys.stderr)
            return 2
        try:
            target.resolve().parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            print(f"latentlab evaluate: error: --json: cannot create the folder {str(target.parent)!r} "
                  f"({e.strerror or e})", file=sys.stderr)
            return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        result = evaluate(args.model, n=args.n, seed=args.seed,
                          settings=EvalSettings(progress=not args.no_progress, pairs_per_class=args.pairs_per_class,
                                                n_train=args.n_train, ppl_samples=args.ppl_samples)).to_dict()
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"latentlab evaluate: error: {e}", file=sys.stderr)
        return 2
    print(format_table(result))
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(result, indent=1) + "\n").encode())
        print(f"wrote {args.json}")
    return 0


def main(argv=None) -> int:
    from .options import HelpFormatter
    parser = argparse.ArgumentParser(prog="latentlab evaluate", description=__doc__.splitlines()[0],
                                     formatter_class=HelpFormatter)
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
