"""Train the rooms judge (latentlab.judges.rooms.RoomSegmenter) on procedural bedrooms.

Batches are drawn from a cached ``RoomsDataset`` (``--data-n`` scenes of ``--data-seed``; by default
the same 30k scenes the DCGAN trains on: the judge reads the GAN's output, it need not be blind to
its data) and augmented to look like GAN samples: horizontal flips, shifts of up to 4 px, colour
jitter (brightness, contrast, per-channel gain, saturation), Gaussian blur or a down/up-sample,
checkerboard (transposed-conv) artefacts, blotchy low-frequency colour noise and pixel noise. The loss is cross-entropy weighted by
(median class frequency / class frequency) ** ``--class-weight-power`` (windows cover ~4% of pixels).

The best weights on a validation set (``--val-seed``) are checkpointed during training; the final
numbers are per-class IoUs on ``--eval-n`` held-out scenes of another set (``--eval-seed``), clean
and degraded (fixed blur + noise). The weights are shipped as fp16 safetensors if the fp16 model
still meets the targets (else fp32), with the metrics beside them as ``<out stem>.metrics.json``.

    python scripts/train_judge_rooms.py --steps 1500 --out pretrained/judges/rooms.safetensors
    python scripts/train_judge_rooms.py --smoke --out /tmp/rooms_judge.safetensors   # seconds

``--robust`` (the shipped judge since issue 25) adds the degradation suite's edits
(``latentlab.judges.degrade.random_degradation``: wash, colour shift, blur, pixel and low-frequency
noise, blotches, checkerboards) on top of that augmentation, plus negatives where windows are painted
over with wall (``erase_class``; those pixels are labelled wall), and selects the checkpoint by the
weakest of: clean window/bed IoU and window/bed precision and recall under every condition of the
suite on the validation scenes. ``--state`` keeps a resumable training state (weights, optimizer,
schedule, random generator, history); ``--resume`` continues from it.

Issue-25 follow-up knobs (all off by default; see pretrained/JUDGES.md, "Tried, not shipped"):
``--p-hard`` gives that share of images one of the suite's combined chains (wash + blur + low-frequency
noise, or the chain of ``all``) at 0.6-1.4x the suite's strength instead of the random mixture, which
rarely combines them; ``--erased-weight`` multiplies the loss on painted-over window pixels (labelled
wall), where partial erasure makes false windows; ``--calibrate-window-bias`` adds to the window logit the
offset (-1.0..1.0) that maximises the weakest target quantity on the validation scenes (seed
``--val-seed``, never the held-out ones) and folds it into the head's bias; ``--widths`` trains another
architecture (e.g. a fifth stage).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from latentlab.data.rooms import ROOM_CLASSES, RoomsDataset  # noqa: E402
from latentlab.judges.degrade import (  # noqa: E402
    CONDITIONS, blotches, blur, checkerboard, colour_shift, degrade as suite_degrade, erase_class, lowfreq_noise,
    pixel_noise, random_degradation, wash,
)
from latentlab.judges.rooms import RoomSegmenter, RoomSegmenterConfig, mask_to_boxes  # noqa: E402
from latentlab.train.classify import RunningLog, fit_classifier  # noqa: E402

TARGETS = {"window": 0.90, "bed": 0.90}  # held-out IoU
IGNORE = 255  # label of pixels shifted in from outside the image
ERASED = 100  # robust_batch: label offset that marks erased (painted-over) pixels through the augmentation
WINDOW = ROOM_CLASSES.index("window")


# -- data -------------------------------------------------------------------------------------


def load_batch(ds: RoomsDataset, indices) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, S, S) float32 in [-1, 1] and labels (N, S, S) int64."""
    indices = sorted(int(i) for i in indices)  # sequential reads from the memory-mapped cache
    x = torch.from_numpy(np.stack([ds.image(i) for i in indices])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    y = torch.from_numpy(ds.label_maps(indices)).long()
    return x, y


def class_weights(labels: np.ndarray, power: float) -> torch.Tensor:
    """(median frequency / frequency) ** power, scaled so the average pixel weighs 1."""
    freq = np.bincount(labels.reshape(-1), minlength=len(ROOM_CLASSES)).astype(np.float64)
    freq = np.maximum(freq / freq.sum(), 1e-6)
    w = (np.median(freq) / freq) ** power
    return torch.tensor(w / (w * freq).sum(), dtype=torch.float32)


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with one sigma per image: x (N, C, H, W), sigma (N,) in pixels."""
    n, c, h, w = x.shape
    r = 3
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None].clamp_min(1e-3) ** 2))
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (N*C, 2r+1)
    y = F.pad(x.reshape(1, n * c, h, w), (r, r, r, r), mode="replicate")
    y = F.conv2d(y, k[:, None, None, :], groups=n * c)
    y = F.conv2d(y, k[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def augment(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator, shift: int = 4):
    """GAN-like degradations. x (N, 3, S, S) in [-1, 1], y (N, S, S) -> same shapes."""
    n, _, size, _ = x.shape
    rand = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
    flip = rand(n) < 0.5  # a mirrored bedroom is still a bedroom
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    y = torch.where(flip[:, None, None], y.flip(2), y)
    if shift:  # labels of pixels that enter from outside are ignored
        px = F.pad(x, (shift,) * 4, mode="replicate")
        py = F.pad(y, (shift,) * 4, value=IGNORE)
        d = torch.randint(0, 2 * shift + 1, (n, 2), generator=gen).tolist()
        x = torch.stack([px[i, :, a:a + size, b:b + size] for i, (a, b) in enumerate(d)])
        y = torch.stack([py[i, a:a + size, b:b + size] for i, (a, b) in enumerate(d)])
    # colour: saturation, per-channel gain, contrast, brightness (in [0, 1] units, then back)
    u = (x + 1) / 2
    gray = u.mean(1, keepdim=True)
    u = gray + (u - gray) * (0.7 + 0.6 * rand(n, 1, 1, 1))
    u = u * (0.9 + 0.2 * rand(n, 3, 1, 1))
    mean = u.mean((1, 2, 3), keepdim=True)
    u = mean + (u - mean) * (0.8 + 0.4 * rand(n, 1, 1, 1)) + 0.16 * (rand(n, 1, 1, 1) - 0.5)
    x = u * 2 - 1
    # softness: Gaussian blur (50%) or a 2x down/up-sample (15%)
    kind = rand(n)
    blur = kind < 0.5
    if blur.any():
        x[blur] = _gaussian_blur(x[blur], 0.3 + 0.7 * rand(int(blur.sum())))
    resample = (kind >= 0.5) & (kind < 0.65)
    if resample.any():
        small = F.interpolate(x[resample], scale_factor=0.5, mode="bilinear", align_corners=False, antialias=True)
        x[resample] = F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    # transposed-conv checkerboard: a periodic 2x2 or 4x4 colour pattern under a smooth envelope.
    # Without it the judge reads GAN grid artefacts as window mullions.
    chk = rand(n) < 0.5
    if chk.any():
        m, period = int(chk.sum()), 2 if rand(1).item() < 0.5 else 4
        tile = torch.randn(m, 3, period, period, generator=gen)
        envelope = F.interpolate(rand(m, 1, 4, 4), size=(size, size), mode="bilinear", align_corners=False)
        x[chk] += 0.25 * rand(m, 1, 1, 1) * envelope * tile.repeat(1, 1, size // period, size // period)
    # noise: blotchy low-frequency colour noise (GAN samples wander in colour) plus pixel noise
    blotch = F.interpolate(torch.randn(n, 3, 8, 8, generator=gen), size=(size, size), mode="bilinear",
                           align_corners=False)
    x = x + 0.08 * rand(n, 1, 1, 1) * blotch
    x = x + 0.06 * rand(n, 1, 1, 1) * torch.randn(x.shape, generator=gen)
    return x.clamp(-1.0, 1.0), y


def degrade(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A fixed degradation for the robustness numbers: blur sigma 0.8 + pixel noise 0.05."""
    gen = torch.Generator().manual_seed(seed)
    x = _gaussian_blur(x, torch.full((x.shape[0],), 0.8))
    return (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(-1.0, 1.0)


# -- evaluation -------------------------------------------------------------------------------


def confusion(pred: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """(k, k) counts, rows = truth, columns = prediction."""
    return torch.bincount((target.reshape(-1) * k + pred.reshape(-1)).long(), minlength=k * k).reshape(k, k)


def evaluate(seg: RoomSegmenter, x: torch.Tensor, y: torch.Tensor, batch_size: int = 250) -> dict:
    """Per-class IoU over all pixels of the set, pixel accuracy, and image-level window presence."""
    k = len(ROOM_CLASSES)
    pred = seg.predict(x, batch_size=batch_size)
    cm = confusion(pred, y, k).double()
    tp = cm.diag()
    union = cm.sum(0) + cm.sum(1) - tp
    iou = {c: (float(tp[i] / union[i]) if union[i] > 0 else float("nan")) for i, c in enumerate(ROOM_CLASSES)}
    # does the judge see a window (a box of >= 4 px) exactly in the scenes that show one?
    has = [(y[i] == WINDOW).sum().item() >= 4 for i in range(len(y))]
    found = [bool(mask_to_boxes((pred[i] == WINDOW).numpy())) for i in range(len(y))]
    return {
        "iou": {c: round(v, 4) for c, v in iou.items()},
        "mean_iou": round(float(np.nanmean(list(iou.values()))), 4),
        "pixel_acc": round(float(tp.sum() / cm.sum()), 4),
        "window_presence_acc": round(float(np.mean([a == b for a, b in zip(has, found)])), 4),
    }


def target_precision_recall(pred: torch.Tensor, y: torch.Tensor) -> dict:
    """{window|bed: {precision, recall}} over all pixels of predicted and true label maps."""
    row = {}
    for name in TARGETS:
        k = ROOM_CLASSES.index(name)
        tp = int(((pred == k) & (y == k)).sum())
        fp = int(((pred == k) & (y != k)).sum())
        fn = int(((pred != k) & (y == k)).sum())
        row[name] = {"precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4)}
    return row


def suite_scores(seg: RoomSegmenter, x: torch.Tensor, y: torch.Tensor, seed: int = 0) -> dict:
    """Window/bed precision and recall (all pixels of the set) under every condition of the suite."""
    out = {}
    for cond in CONDITIONS:
        xd, yd = suite_degrade(x, cond, labels=y, seed=seed)
        pred = seg.predict(xd, batch_size=250)
        out[cond] = target_precision_recall(pred, yd)
    return out


def robust_score(metrics: dict, suite: dict) -> float:
    """The weakest target quantity: clean window/bed IoU, window/bed precision and recall per condition."""
    worst = min(metrics["iou"][c] for c in TARGETS)
    for row in suite.values():
        for pr in row.values():
            worst = min(worst, pr["precision"], pr["recall"])
    return worst + 1e-3 * metrics["mean_iou"]


def hard_degradation(x: torch.Tensor, gen: torch.Generator, low: float = 0.6, high: float = 1.4) -> torch.Tensor:
    """The suite's two combined chains at one random strength (``low``..``high`` x the suite's) per call:
    wash + blur + low-frequency noise, or the chain of ``all`` without its erasure (that is done before).
    x (N, 3, S, S) in [-1, 1] -> same shape. These combinations are rare under ``random_degradation``
    (each family at p 0.35 and a uniform strength), and they are where the judge fails."""
    s = low + (high - low) * float(torch.rand(1, generator=gen))
    if float(torch.rand(1, generator=gen)) < 0.5:
        x = wash(x, min(1.0, 0.4 * s))
        x = blur(x, 0.8 * s)
        return lowfreq_noise(x, 0.2 * s, 8, rng=gen)
    x = wash(x, min(1.0, 0.4 * s))
    x = colour_shift(x, min(1.0, 0.2 * s), rng=gen)
    x = blur(x, 0.8 * s)
    x = lowfreq_noise(x, 0.12 * s, 8, rng=gen)
    x = blotches(x, 4, min(1.0, 0.4 * s), rng=gen)
    x = checkerboard(x, 0.12 * s, 2, rng=gen)
    return pixel_noise(x, 0.06 * s, rng=gen)


def robust_batch(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator, p_erase: float = 0.3,
                 part_share: float = 0.4, p_hard: float = 0.0):
    """Erase windows (painted over with wall, labelled wall) in a fraction of the batch, then the usual
    augmentation, then the suite's degradations at random strengths (labels untouched by those); with
    ``p_hard`` > 0 that share of the images gets one of the suite's combined chains instead
    (``hard_degradation``). Returns (x, y, erased): ``erased`` (N, S, S) bool marks painted-over pixels."""
    n = x.shape[0]
    y0 = y.clone()
    pick = torch.nonzero(torch.rand(n, generator=gen) < p_erase).flatten().tolist()
    if pick:
        part = bool(torch.rand(1, generator=gen).item() < part_share)
        x[pick], y[pick] = erase_class(x[pick], y[pick], p=0.7, part=part, rng=gen)
    y = torch.where((y0 == WINDOW) & (y != WINDOW), y + ERASED, y)  # carried through flips and shifts
    x, y = augment(x, y, gen)
    erased = (y >= ERASED) & (y != IGNORE)
    y = torch.where(erased, y - ERASED, y)
    hard = torch.rand(n, generator=gen) < p_hard
    soft = torch.nonzero(~hard).flatten().tolist()
    if soft:
        x[soft], _ = random_degradation(x[soft], None, rng=gen, p_erase=0.0)
    if bool(hard.any()):
        idx = torch.nonzero(hard).flatten().tolist()
        x[idx] = hard_degradation(x[idx], gen)
    return x.clamp(-1.0, 1.0), y, erased


def window_bias_scores(seg: RoomSegmenter, x: torch.Tensor, y: torch.Tensor, biases, seed: int = 0) -> dict:
    """Window/bed precision and recall per condition (as ``suite_scores``) for each offset added to the
    window logit: {bias: suite}. One forward pass per condition; used to calibrate the decision on
    validation scenes, never on the benchmark's."""
    out = {b: {} for b in biases}
    for cond in CONDITIONS:
        xd, yd = suite_degrade(x, cond, labels=y, seed=seed)
        logits = seg._batched(lambda t: seg._logits(t).float(), xd, 250)
        for b in biases:
            lg = logits.clone()
            lg[:, WINDOW] += b
            out[b][cond] = target_precision_recall(lg.argmax(1), yd)
    return out


def pick_window_bias(by_bias: dict) -> tuple[float, float]:
    """(bias, weakest quantity) maximising the weakest of: clean window/bed IoU (from clean precision and
    recall) and window/bed precision and recall under every condition; ties go to the smallest |bias|."""
    def weakest(suite):
        ious = [1.0 / (1.0 / max(pr["precision"], 1e-9) + 1.0 / max(pr["recall"], 1e-9) - 1.0)
                for pr in suite["clean"].values()]
        return min(min(ious), *(v for row in suite.values() for pr in row.values() for v in pr.values()))
    return max(((b, weakest(s)) for b, s in by_bias.items()), key=lambda t: (round(t[1], 4), -abs(t[0])))


def meets(metrics: dict) -> bool:
    return all(metrics["iou"][c] >= t for c, t in TARGETS.items())


def score(metrics: dict) -> float:
    """Model selection: the weaker of the two target classes, then mean IoU."""
    return min(metrics["iou"][c] for c in TARGETS) + 1e-3 * metrics["mean_iou"]


# -- main -------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1500, help="optimizer steps")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate (warmup, cosine decay)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the weights, batch order and augmentation")
    ap.add_argument("--data-n", type=int, default=30000, help="training scenes (indices 0..n-1)")
    ap.add_argument("--data-seed", type=int, default=0, help="scene family of the training data")
    ap.add_argument("--cache", default="runs/cache", help="RoomsDataset cache directory ('' renders on the fly)")
    ap.add_argument("--val-seed", type=int, default=2, help="scenes used to pick the best checkpoint")
    ap.add_argument("--val-n", type=int, default=500)
    ap.add_argument("--eval-seed", type=int, default=1, help="held-out scenes for the reported IoUs")
    ap.add_argument("--eval-n", type=int, default=2000)
    ap.add_argument("--eval-every", type=int, default=250, help="steps between validations/checkpoints")
    ap.add_argument("--class-weight-power", type=float, default=0.3, help="0 = unweighted cross-entropy")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--out", default="pretrained/judges/rooms.safetensors")
    ap.add_argument("--checkpoint", default=None, help="best-so-far weights (default: OUT stem + .best.safetensors "
                                                        "under runs/judges/)")
    ap.add_argument("--metrics", default=None, help="JSON path (default: OUT stem + .metrics.json)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--robust", action="store_true",
                    help="train on the degradation suite's edits + erased-window negatives; select by the suite")
    ap.add_argument("--p-erase", type=float, default=0.3, help="--robust: share of images with windows erased")
    ap.add_argument("--suite-val-n", type=int, default=300, help="--robust: validation scenes run through the suite")
    ap.add_argument("--state", default=None, help="resumable training state (default: OUT stem + .state.pt "
                                                   "beside the checkpoint)")
    ap.add_argument("--resume", action="store_true", help="continue from --state if it exists")
    ap.add_argument("--stop-after", type=int, default=None, help="end this run after this step (the schedule "
                    "still spans --steps); the best checkpoint so far is what it leaves")
    ap.add_argument("--erase-part-share", type=float, default=0.4,
                    help="--robust: share of erasing batches that erase parts of windows instead of whole ones")
    ap.add_argument("--suite-eval-n", type=int, default=1000, help="--robust: held-out scenes for the final suite")
    ap.add_argument("--init", default=None, help="start from this judge file's weights (fine-tuning), e.g. "
                                                  "pretrained/judges/rooms-v1.safetensors")
    ap.add_argument("--p-hard", type=float, default=0.0, help="--robust: share of images given one of the suite's "
                    "combined chains (wash+blur+lowfreq, or all) at 0.6-1.4x its strength instead of the random mixture")
    ap.add_argument("--erased-weight", type=float, default=1.0, help="--robust: loss weight multiplier on erased "
                    "(painted-over, labelled wall) pixels: the false windows of partial erasure")
    ap.add_argument("--calibrate-window-bias", action="store_true", help="--robust: after training, add to the "
                    "window logit the offset (grid -1.0..1.0) that maximises the weakest target quantity on the "
                    "--val-n validation scenes under the suite, folded into the head's bias (same file format)")
    ap.add_argument("--widths", type=int, nargs="+", default=None, help="channels per encoder stage (a new "
                    "architecture; default the config's (16, 24, 40, 56)); not with --init of another shape")
    ap.add_argument("--smoke", action="store_true", help="a few steps on tiny sets (seconds)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.steps, args.batch_size, args.data_n, args.val_n, args.eval_n = 3, 4, 16, 8, 8
        args.eval_every, args.log_every, args.cache = 2, 1, ""
        args.suite_val_n = min(args.suite_val_n, 4)
    for name in ("steps", "batch_size", "data_n", "val_n", "eval_n", "eval_every", "threads", "log_every"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if len({args.data_seed, args.val_seed, args.eval_seed}) != 3:
        ap.error("--data-seed, --val-seed and --eval-seed must differ (held-out scenes)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the script owns its process; the library never seeds globally
    gen = torch.Generator().manual_seed(args.seed)
    out_path = Path(args.out)
    metrics_path = Path(args.metrics) if args.metrics else out_path.with_name(out_path.stem + ".metrics.json")
    ckpt_path = Path(args.checkpoint) if args.checkpoint else (
        out_path.with_name(out_path.stem + ".best.safetensors") if args.smoke
        else Path("runs/judges") / (out_path.stem + ".best.safetensors"))
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    cache = args.cache or None
    state_path = Path(args.state) if args.state else ckpt_path.with_name(out_path.stem + ".state.pt")

    t_data = time.time()
    train = RoomsDataset(n=args.data_n, size=64, seed=args.data_seed, cache=cache)
    x_val, y_val = load_batch(RoomsDataset(n=args.val_n, seed=args.val_seed, cache=cache), range(args.val_n))
    x_eval, y_eval = load_batch(RoomsDataset(n=args.eval_n, seed=args.eval_seed, cache=cache), range(args.eval_n))
    probe = train.label_maps(range(0, args.data_n, max(1, args.data_n // 2000)))
    weights = class_weights(probe, args.class_weight_power)
    print(f"data ready in {time.time() - t_data:.0f}s; class weights "
          + " ".join(f"{c}={w:.2f}" for c, w in zip(ROOM_CLASSES, weights.tolist())), flush=True)

    config = RoomSegmenterConfig() if args.widths is None else RoomSegmenterConfig(widths=tuple(args.widths))
    seg = RoomSegmenter(config)
    if args.init:
        init = RoomSegmenter.load(args.init)
        if args.widths is None:
            config = init.config
            seg = RoomSegmenter(config)
        seg.load_state_dict(init.state_dict())
        print(f"initialised from {args.init}", flush=True)
    seg = seg.to(memory_format=torch.channels_last)  # ~1.5x faster convs on CPU
    n_params = sum(p.numel() for p in seg.parameters())
    print(f"RoomSegmenter {config.widths}: {n_params} parameters", flush=True)
    opt = torch.optim.AdamW(seg.parameters(), lr=args.lr, weight_decay=1e-4)
    warmup = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (
        1.0 + math.cos(math.pi * min(1.0, s / args.steps))))
    provenance = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                  "data_n": args.data_n, "data_seed": args.data_seed, "val_seed": args.val_seed,
                  "eval_seed": args.eval_seed, "class_weight_power": args.class_weight_power,
                  "robust": args.robust, "p_erase": args.p_erase if args.robust else 0.0, "init": args.init,
                  "erase_part_share": args.erase_part_share, "stop_after": args.stop_after,
                  "p_hard": args.p_hard, "erased_weight": args.erased_weight, "widths": list(config.widths),
                  "calibrate_window_bias": args.calibrate_window_bias,
                  "command": command}
    x_sval, y_sval = x_val[:args.suite_val_n], y_val[:args.suite_val_n]

    t0 = time.time()
    best, best_step, history, running, start = -1.0, 0, [], None, 0
    if args.resume and state_path.exists():
        # torch's own format for the optimizer state; this file is ours, never shipped (weights_only)
        st = torch.load(state_path, weights_only=True)
        seg.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        gen.set_state(st["gen"])
        start, best, best_step = int(st["step"]), float(st["best"]), int(st["best_step"])
        history, running = json.loads(st["history"]), float(st["running"])
        t0 -= float(st["elapsed"])
        print(f"resumed from {state_path} at step {start}", flush=True)
    log = RunningLog(args.log_every, sched, t0, None if running is None else {"loss": running}, decay=0.95,
                     keys=("loss",), total=args.steps, exact_first=True)

    class Batches:  # a fresh random draw of training scenes every step, augmented (or the robust mixture)
        def next(self):
            idx = torch.randint(0, args.data_n, (args.batch_size,), generator=gen).tolist()
            if args.robust:
                x, y, erased = robust_batch(*load_batch(train, idx), gen, args.p_erase, args.erase_part_share,
                                            args.p_hard)
            else:
                (x, y), erased = augment(*load_batch(train, idx), gen), None
            return x.contiguous(memory_format=torch.channels_last), (y, erased)

    def loss_fn(logits, target):
        y, erased = target
        if erased is None or args.erased_weight == 1.0:
            return F.cross_entropy(logits, y, weight=weights, ignore_index=IGNORE)
        # weighted mean as F.cross_entropy(weight=...) computes it, erased pixels count erased_weight times
        pix = F.cross_entropy(logits, y, weight=weights, ignore_index=IGNORE, reduction="none")
        valid = y != IGNORE
        w_pix = torch.where(valid, weights[y.clamp_max(len(ROOM_CLASSES) - 1)], torch.zeros(()))
        return (pix * torch.where(erased, args.erased_weight, 1.0)).sum() / w_pix.sum().clamp_min(1e-6)

    class Validate:  # at the loop's save points: every --eval-every steps, the last step (and SIGINT/SIGTERM)
        def on_save(self, trainer, step):
            nonlocal best, best_step
            if step % args.eval_every == 0 or step == args.steps:
                best, best_step = validate(step, best, best_step)
            state_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"model": seg.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "gen": gen.get_state(), "step": step, "best": best, "best_step": best_step,
                        "history": json.dumps(history), "running": log.running["loss"],
                        "elapsed": time.time() - t0}, str(state_path) + ".tmp")
            Path(str(state_path) + ".tmp").replace(state_path)

    def validate(step, best, best_step):
        m = evaluate(seg, x_val, y_val)
        extra, worst = {}, ""
        if args.robust:
            suite = suite_scores(seg, x_sval, y_sval)
            s_now = robust_score(m, suite)
            extra = {"suite": suite, "robust_score": round(s_now, 4)}
            worst = f"  weakest target quantity {s_now:.4f}"
        else:
            s_now = score(m)
        history.append({"step": step, "time_s": round(time.time() - t0, 1), **m, **extra})
        tag = ""
        if s_now > best:
            best, best_step, tag = s_now, step, "  (best, saved)"
            ckpt_path.parent.mkdir(parents=True, exist_ok=True)
            seg.save(ckpt_path, metadata={"training": json.dumps({**provenance, "step": step})})
        print(f"  val@{step}: window {m['iou']['window']:.4f}  bed {m['iou']['bed']:.4f}  "
              f"mIoU {m['mean_iou']:.4f}{worst}{tag}", flush=True)
        return best, best_step

    # the shared loop (latentlab.train.loop) via fit_classifier; resumable from --state, --stop-after ends early
    end = args.steps if args.stop_after is None else min(args.steps, args.stop_after)
    if start < end:
        fit_classifier(seg, Batches(), steps=end, optimizer=opt, scheduler=sched, loss_fn=loss_fn,
                       callbacks=[log, Validate()], start=start, checkpoint_every=args.eval_every)
    train_time = time.time() - t0

    seg = RoomSegmenter.load(ckpt_path)
    if args.robust and args.calibrate_window_bias:
        # the decision threshold, calibrated on the validation scenes (seed --val-seed), never on held-out ones
        by_bias = window_bias_scores(seg, x_val, y_val, [round(0.1 * i, 1) for i in range(-10, 11)])
        bias, weakest = pick_window_bias(by_bias)
        with torch.no_grad():
            seg.head.bias[WINDOW] += bias
        provenance["window_bias"] = bias
        provenance["window_bias_weakest_val"] = round(weakest, 4)
        print(f"window logit offset {bias:+.1f} (weakest validation quantity {weakest:.4f}; "
              f"{pick_window_bias({0.0: by_bias[0.0]})[1]:.4f} without)", flush=True)
    m32 = evaluate(seg, x_eval, y_eval)
    print(f"held-out fp32 (step {best_step}):", json.dumps(m32), flush=True)
    provenance["best_step"] = best_step
    meta = {"training": json.dumps(provenance)}
    seg.save(out_path, dtype=torch.float16, metadata=meta)
    shipped, dtype = RoomSegmenter.load(out_path), "float16"
    m16 = evaluate(shipped, x_eval, y_eval)
    if meets(m32) and not meets(m16):  # fp16 rounding cost a target: ship fp32 instead
        seg.save(out_path, metadata=meta)
        shipped, m16, dtype = RoomSegmenter.load(out_path), m32, "float32"
    print(f"held-out {dtype} (shipped):", json.dumps(m16), flush=True)
    mdeg = evaluate(shipped, degrade(x_eval), y_eval)
    print("held-out degraded (blur 0.8 + noise 0.05):", json.dumps(mdeg), flush=True)
    msuite = suite_scores(shipped, x_eval[:args.suite_eval_n], y_eval[:args.suite_eval_n]) if args.robust else None
    if msuite:
        print(f"held-out suite ({args.suite_eval_n} scenes of the eval seed):", json.dumps(msuite), flush=True)

    print("per-class IoU (held-out, shipped):")
    for c in ROOM_CLASSES:
        print(f"  {c:<11} {m16['iou'][c]:.4f}   degraded {mdeg['iou'][c]:.4f}")
    report = {
        "judge": "rooms", "weights": str(out_path), "dtype": dtype, "bytes": out_path.stat().st_size,
        "parameters": n_params, "eval_n": args.eval_n, "metrics": m16, "metrics_fp32": m32,
        "metrics_degraded": mdeg, "metrics_suite": msuite, "targets_iou": TARGETS, "meets_targets": meets(m16),
        "train_wall_time_s": round(train_time, 1), "threads": args.threads,
        "class_weights": {c: round(w, 4) for c, w in zip(ROOM_CLASSES, weights.tolist())},
        "validation": history, "config": json.loads(config.to_json()), **provenance,
    }
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out_path} ({report['bytes']} bytes, {dtype}) and {metrics_path}; "
          f"meets targets: {report['meets_targets']}", flush=True)
    return report


if __name__ == "__main__":
    main()
