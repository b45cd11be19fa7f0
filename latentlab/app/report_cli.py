"""``latentlab report MODEL --out DIR [--quick] [--png] [--sections ...]``: the model's interactive HTML report."""
from __future__ import annotations

import argparse
import json
import sys

from .report_sections import SECTIONS  # torch-free: `latentlab report --help` imports no torch

__all__ = ["add_arguments", "run", "SECTIONS"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("model", help="shipped model name (rooms, faces, fashion; DTNs dtn-digits, dtn-faces) or a "
                                 ".safetensors file (a GAN or a DTN)")
    p.add_argument("--out", required=True, help="output folder; the page is OUT/index.html")
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=None,
                   help="sections to build (default: all that apply to the model)")
    p.add_argument("--data", default=None, choices=("rooms", "faces", "fashion-mnist"),
                   help="the data domain the generator draws, for a file that does not record it (e.g. a "
                        "`latentlab convert`ed one without --dataset): switches on the judged sections "
                        "(default: the model's own dataset)")
    p.add_argument("--quick", action="store_true", help="tiny sample counts: a smoke run in seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of every sample, walk and random draw")
    p.add_argument("--log", default=None, help="training JSONL log (default: the run's log.jsonl when found)")
    p.add_argument("--metrics", default=None,
                   help="JSON of a finished `latentlab evaluate --json` to reuse (default: compute the metrics)")
    p.add_argument("--png", action="store_true", help="also export every figure as PNG to OUT/png (kaleido)")
    p.add_argument("--json", default=None, help="write the build summary (sections, timings, size) here "
                                                "(default: none)")
    p.add_argument("--labels", default=None,
                   help="your tags JSON (latentlab annotate MODEL --tags ...): adds the 'labels' section, arithmetic, "
                        "turn axis and directions from your tags, measured without judges (default: none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--live", action="store_true", help="also write OUT/live.html, where the generator runs in the "
                                                       "page (pip install 'latentlab[live]')")
    p.add_argument("--boxes", default=None, metavar="FILE",
                   help="boxes drawn on the forget probe samples (`latentlab annotate MODEL --n 150 --seed SEED`): adds "
                        "the 'forget-boxes' section, measured from your boxes (default: none)")
    return p


def run(args: argparse.Namespace) -> int:
    from .report import ReportOptions, build_report
    if args.live:  # before the report's minutes: a missing extra or a model the page cannot run is named at once
        from ..live import require_live
        from .report import load_dtn_model
        try:
            require_live()
        except ImportError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if load_dtn_model(args.model) is not None:
            print(f"error: --live: the live page runs a GAN's generator (z -> image); {args.model!r} is a Domain "
                  "Transfer Network (source image -> target image). Build its report without --live.",
                  file=sys.stderr)
            return 2
    r = build_report(args.model, args.out, sections=args.sections, quick=args.quick, data=args.data,
                     options=ReportOptions(seed=args.seed, log=args.log, metrics=args.metrics, png=args.png,
                                           progress=not args.no_progress, labels=args.labels, boxes=args.boxes,
                                           live=args.live))
    for k, reason in r["failed"].items():
        print(f"warning: section {k!r} could not be built: {reason}", file=sys.stderr)
    print(f"wrote {r['html']} ({r['bytes'] / 1e6:.1f} MB; sections {', '.join(r['sections'])}; "
          f"{r['total_seconds']:.0f} s)")
    if r["png"]:
        print(f"wrote {len(r['png'])} PNGs to {args.out}/png")
    if args.live:
        from ..live.build import build_live
        lp = build_live(args.model, args.out, seed=args.seed, quick=args.quick)
        r["live"] = {"html": lp.path, "bytes": lp.bytes, "seconds": lp.seconds}
        print(f"wrote {lp.path} ({lp.bytes / 1e6:.1f} MB; the generator runs in the page)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0
