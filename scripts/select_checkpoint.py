"""Pick a run's checkpoint on a validation split, so the shipped numbers are not the ones it was picked on.

    python scripts/select_checkpoint.py runs/keep/faces-r1-{44..72}000.safetensors --json select.json

Each candidate is scored with ``latentlab.evaluate`` on a *validation* draw: generator seed 1 (``evaluate``'s
reported numbers use seed 0) and the second held-out real set as the reference (``evaluate`` reports against
the first). The rule, fixed before the scores are read:

1. keep the candidates that meet every issue target other than the Fréchet distance on this draw:
   content rates within 10 points of the real data's and no near-copies (rooms, faces); class accuracy
   >= 85% and >= 90% of classes below the real data's highest MS-SSIM (fashion);
2. of those, pick the lowest Fréchet-distance ratio (generated vs real, over the real-vs-real floor).

The pick is then measured with ``latentlab evaluate`` (seed 0, first held-out set) as every shipped model is;
whether it replaces the shipped weights is decided on those numbers (pretrained/README.md).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latentlab import load  # noqa: E402
from latentlab.metrics.evaluate import EvalSettings, RealData, evaluate, load_real  # noqa: E402

VALIDATION_SEED = 1


def meets_non_fd_targets(r: dict) -> bool:
    """The issue's targets other than Fréchet distance, on one ``evaluate`` result."""
    if r["class_accuracy"] is not None:
        return r["class_accuracy"] >= 0.85 and r["share_classes_below_real_max"] >= 0.9
    return r["content"]["max_abs_difference"] <= 0.10 and r["near_copies"] == 0


def validation_split(real: RealData) -> RealData:
    """The reference swapped: the validation draw compares with ``heldout2``, evaluate's reports with ``heldout``."""
    return dataclasses.replace(real, heldout=real.heldout2, heldout2=real.heldout, heldout_truth=None)


def select(candidates, real: RealData, *, n: int, progress: bool = True, settings: EvalSettings | None = None,
           **evaluate_kw) -> tuple[list[dict], dict | None]:
    """Score (name, GAN) candidates on the validation draw; return the rows and the pick (None if no candidate
    meets the non-FD targets). ``settings`` (without its progress bars) and ``evaluate_kw`` go to ``evaluate``
    (e.g. a judge)."""
    validation = validation_split(real)
    rows = []
    for name, gan in candidates:
        t0 = time.time()
        r = evaluate(gan, n=n, seed=VALIDATION_SEED, real=validation, **evaluate_kw,
                     settings=dataclasses.replace(settings or EvalSettings(), progress=False)).to_dict()
        row = {"file": str(name), "step": gan.step, "fd_ratio": r["fd_ratio"], "meets_non_fd_targets": meets_non_fd_targets(r),
               "content_max_gap": r["content"]["max_abs_difference"] if r["content"] else None,
               "near_copies": r["near_copies"], "class_accuracy": r["class_accuracy"],
               "share_classes_below_real_max": r["share_classes_below_real_max"],
               "seconds": round(time.time() - t0, 1)}
        rows.append(row)
        if progress:
            print(json.dumps(row), flush=True)
    ok = [r for r in rows if r["meets_non_fd_targets"]]
    return rows, (min(ok, key=lambda r: r["fd_ratio"]) if ok else None)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", help=".safetensors checkpoints of one run")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    gans = [load(p) for p in a.checkpoints]
    datasets = {g.config.dataset for g in gans}
    if len(datasets) != 1:
        ap.error(f"checkpoints: expected one run's checkpoints, got datasets {sorted(map(str, datasets))}")
    real = load_real(datasets.pop(), n_heldout=a.n)
    rows, pick = select(zip(a.checkpoints, gans), real, n=a.n)
    print("pick:", pick["file"] if pick else "none (no candidate meets the non-FD targets on the validation draw)")
    if a.json:
        Path(a.json).write_text(json.dumps({"validation_seed": VALIDATION_SEED, "n": a.n, "rows": rows,
                                            "pick": pick}, indent=1))


if __name__ == "__main__":
    main()
