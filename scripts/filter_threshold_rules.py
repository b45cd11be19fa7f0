"""How the threshold rule changes the discriminator-filter count of issue 6 (trained vs random D).

    python scripts/filter_threshold_rules.py [--model rooms] [--layer block4] [--n 2000]

For every filter of the layer and for window and bed, the upsampled activation is thresholded at the top
quantiles 0.005 ... 0.5 (``latentlab.attribution.semantic.filter_iou`` at each quantile), and
the dataset-level IoU is read at three rules: one fixed quantile (0.2, the README's setting), the quantile
maximising the information-quality ratio I(M; L) / H(M, L) (GAN dissection, Bau et al. 2019, §3.1), and the
best IoU over the grid (an optimistic bound). Prints the number of filters with IoU >= 0.2 per rule for the
trained D and a randomly initialised D of the same architecture.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from latentlab.attribution.filters import layer_activations, random_like  # noqa: E402
from latentlab.attribution.report import load_labelled_images  # noqa: E402
from latentlab.attribution.semantic import filter_iou  # noqa: E402
from latentlab.metrics.evaluate import resolve_model  # noqa: E402

QUANTILES = (0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.075, 0.05, 0.03, 0.02, 0.01, 0.005)


def _entropy(p):
    p = np.clip(p, 1e-300, 1.0)
    return -p * np.log(p)


def iou_by_rule(acts: torch.Tensor, labels, class_names, classes, fixed_q: float = 0.2) -> dict:
    """{rule: (F, len(classes)) IoU} for the rules "fixed", "iqr" and "max" (see the module docstring).

    Each quantile's masks and IoUs are ``latentlab.attribution.semantic.filter_iou``'s; the information-quality
    ratio needs the intersections, which follow from IoU = I / (M + L - I).
    """
    ids = [class_names.index(c) for c in classes]
    scores = [filter_iou(acts, labels, class_names, quantile=q) for q in QUANTILES]   # one per threshold
    iou = np.stack([s.iou[:, ids] for s in scores])                                  # (Q, F, K)
    mask_px = np.stack([s.mask_area for s in scores]).astype(float)[:, :, None]      # (Q, F, 1)
    lab_px = scores[0].class_area[ids].astype(float)                                 # (K,)
    total = scores[0].class_area.sum()
    inter = iou * (mask_px + lab_px) / (1 + iou)
    p = [inter / total, (mask_px - inter) / total, (lab_px - inter) / total]
    p.append(1 - sum(p))
    joint = sum(_entropy(q) for q in p)
    m, l_ = mask_px / total, lab_px / total
    mutual = _entropy(m) + _entropy(1 - m) + _entropy(l_) + _entropy(1 - l_) - joint
    iqr = np.where(joint > 0, mutual / np.maximum(joint, 1e-300), 0.0)
    at_best_iqr = np.take_along_axis(iou, iqr.argmax(0)[None], 0)[0]
    return {"fixed": iou[QUANTILES.index(fixed_q)], "iqr": at_best_iqr, "max": iou.max(0)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="rooms")
    ap.add_argument("--layer", default="block4")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--min-iou", type=float, default=0.2)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    D = resolve_model(a.model).discriminator.eval()
    x, labels, classes = load_labelled_images("rooms", a.n)
    for name, model in (("trained", D), ("random", random_like(D, seed=0))):
        r = iou_by_rule(layer_activations(model, x, a.layer, batch_size=64), labels, classes, ("window", "bed"))
        counts = {rule: int((v.max(1) >= a.min_iou).sum()) for rule, v in r.items()}
        print(f"{name} D, {a.layer}: filters with window/bed IoU >= {a.min_iou}: fixed quantile 0.2 {counts['fixed']}, "
              f"IQR threshold {counts['iqr']}, best of grid {counts['max']} ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
