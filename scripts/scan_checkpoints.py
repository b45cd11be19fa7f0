"""Quick quality scan of a run's checkpoints: judge Fréchet distance and content rates per step.

    python scripts/scan_checkpoints.py runs/pretrained-rooms [--every 1000] [--n 500] [--json scan.json]

A light stand-in for `latentlab evaluate` (no MS-SSIM, memorisation or path length) to follow a run
while it trains, or to compare recipes at equal steps. Same seeds for every checkpoint; real data
and the judge are those `evaluate` uses for the run's dataset.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latentlab import load  # noqa: E402
from latentlab.judges import load_judge  # noqa: E402
from latentlab.metrics.content import face_content, room_content  # noqa: E402
from latentlab.metrics.evaluate import DATASET_JUDGES, _generate, load_real  # noqa: E402
from latentlab.metrics.frechet import frechet_distance, judge_features  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run directories (checkpoints/step-*.safetensors) or .safetensors files")
    ap.add_argument("--every", type=int, default=1000, help="only checkpoints at multiples of this step")
    ap.add_argument("--n", type=int, default=500, help="generated and held-out real images")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    files = []
    for r in map(Path, a.runs):
        if r.is_file():
            files.append(r)
            continue
        for p in sorted((r / "checkpoints").glob("step-*.safetensors")):
            if int(re.findall(r"\d+", p.stem)[0]) % a.every == 0:
                files.append(p)
    if not files:
        ap.error("runs: no checkpoints found")
    gans = [load(p) for p in files]
    dataset = gans[0].config.dataset
    if any(g.config.dataset != dataset for g in gans):
        ap.error("runs: the checkpoints are trained on different datasets")
    judge = load_judge(DATASET_JUDGES[dataset])
    real = load_real(dataset, n_heldout=a.n, n_train=2)
    real_feats = judge_features(judge, real.heldout)
    floor = frechet_distance(real_feats, judge_features(judge, real.heldout2))
    content = room_content if dataset == "rooms" else face_content if dataset == "faces" else None
    real_rates = content(judge, real.heldout) if content else {}
    rows = []
    print(f"{dataset}: FD floor (real vs real, n={a.n}) {floor:.4g}; real content {real_rates}")
    for p, gan in zip(files, gans):
        t0 = time.time()
        imgs, _ = _generate(gan, a.n, seed=0, batch_size=50, progress=False)
        fd = frechet_distance(judge_features(judge, imgs), real_feats)
        row = {"file": str(p), "step": gan.step, "fd": fd, "fd_ratio": fd / floor, "pixel_std": float(imgs.std(0).mean())}
        if content:
            row["content"] = {k: v for k, v in content(judge, imgs).items() if k != "threshold" and not isinstance(v, list)}
        row["seconds"] = round(time.time() - t0, 1)
        rows.append(row)
        print(json.dumps(row))
    if a.json:
        Path(a.json).write_text(json.dumps({"floor": floor, "real": real_rates, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
