"""How the threshold rule changes the discriminator-filter count of issue 6 (trained vs random D).

    python scripts/filter_threshold_rules.py [--model rooms] [--layer block4] [--n 2000]

For every filter of the layer and for window and bed, the upsampled activation is thresholded at the top
quantiles 0.005 ... 0.5 (levels taken over the raw maps, as ``latentlab.attribution.semantic`` does), and
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
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from latentlab.attribution.filters import layer_activations, random_like  # noqa: E402
from latentlab.attribution.report import load_labelled_images  # noqa: E402
from latentlab.metrics.evaluate import resolve_model  # noqa: E402

QUANTILES = np.array([0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.075, 0.05, 0.03, 0.02, 0.01, 0.005])  # thresholds ascending


def _entropy(p):
    p = np.clip(p, 1e-300, 1.0)
    return -p * np.log(p)


def iou_by_rule(acts: torch.Tensor, labels: torch.Tensor, class_ids, fixed_q: float = 0.2) -> dict:
    """{rule: (F, len(class_ids)) IoU} for the rules "fixed", "iqr" and "max" (see the module docstring)."""
    n_classes = int(labels.max()) + 1
    flat = labels.flatten()
    total = flat.numel()
    class_px = np.bincount(flat.numpy(), minlength=n_classes).astype(float)
    fixed_j = int(np.flatnonzero(QUANTILES == fixed_q)[0])
    out = {rule: np.zeros((acts.shape[1], len(class_ids))) for rule in ("fixed", "iqr", "max")}
    for f in range(acts.shape[1]):
        a = acts[:, f:f + 1]
        t = torch.quantile(a.flatten().double(), torch.tensor(1 - QUANTILES, dtype=torch.float64)).float()
        up = F.interpolate(a, size=labels.shape[-2:], mode="bilinear", align_corners=False).flatten()
        level = torch.bucketize(up, t, right=True)  # up > t[j]  <=>  level > j
        counts = torch.bincount(level * n_classes + flat, minlength=(len(t) + 1) * n_classes)
        counts = counts.reshape(len(t) + 1, n_classes).double().numpy()
        above = np.cumsum(counts[::-1], axis=0)[::-1][1:]  # above[j]: pixels with up > t[j], per class
        mask_px = above.sum(1)
        for i, c in enumerate(class_ids):
            inter, lab_px = above[:, c], class_px[c]
            union = mask_px + lab_px - inter
            iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
            p = [inter / total, (mask_px - inter) / total, (lab_px - inter) / total]
            p.append(1 - sum(p))
            joint = sum(_entropy(q) for q in p)
            m, l_ = mask_px / total, lab_px / total
            mutual = _entropy(m) + _entropy(1 - m) + _entropy(l_) + _entropy(1 - l_) - joint
            iqr = np.where(joint > 0, mutual / np.maximum(joint, 1e-300), 0.0)
            out["fixed"][f, i], out["iqr"][f, i], out["max"][f, i] = iou[fixed_j], iou[iqr.argmax()], iou.max()
    return out


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
    labels = torch.as_tensor(labels).long()
    ids = [classes.index("window"), classes.index("bed")]
    for name, model in (("trained", D), ("random", random_like(D, seed=0))):
        r = iou_by_rule(layer_activations(model, x, a.layer, batch_size=64).float(), labels, ids)
        counts = {rule: int((v.max(1) >= a.min_iou).sum()) for rule, v in r.items()}
        print(f"{name} D, {a.layer}: filters with window/bed IoU >= {a.min_iou}: fixed quantile 0.2 {counts['fixed']}, "
              f"IQR threshold {counts['iqr']}, best of grid {counts['max']} ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
