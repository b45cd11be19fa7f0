"""Train the second window instrument (latentlab.judges.windows.WindowDetector) on procedural bedrooms.

Independent of the room segmenter by construction where it can be: another architecture (strided
GroupNorm/SiLU CNN, no skips, per-region outputs), another target (the share of window pixels per
region of an 8 x 8 grid, never a per-pixel map), another scene family (``--data-seed 3``; the segmenter
trains on 0) and another weight seed (1). Shared with the segmenter: the renderer and the family of
degradations (``latentlab.judges.degrade.random_degradation``, with erased-window negatives whose
targets say "no window"), because both must survive the same generator edits.

Model selection: on ``--val-seed`` scenes, the weakest region-presence precision or recall (a region
"has a window" at >= 25% window pixels) over the conditions of the degradation suite. Reported: the
same on ``--eval-n`` scenes of ``--eval-seed`` (1, the segmenter's held-out family).

    python scripts/train_window_detector.py --steps 3000 --out pretrained/judges/windows.safetensors
    python scripts/train_window_detector.py --smoke --out /tmp/windows.safetensors   # seconds
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
from latentlab.judges.degrade import CONDITIONS, degrade, erase_class, random_degradation  # noqa: E402
from latentlab.judges.windows import WindowDetector, WindowDetectorConfig, region_fractions  # noqa: E402
from latentlab.train.classify import RunningLog, fit_classifier  # noqa: E402

WINDOW = ROOM_CLASSES.index("window")
MIN_FRACTION = 0.25


def load_batch(ds: RoomsDataset, indices) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, S, S) float32 in [-1, 1] and labels (N, S, S) int64."""
    indices = sorted(int(i) for i in indices)
    x = torch.from_numpy(np.stack([ds.image(i) for i in indices])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return x, torch.from_numpy(ds.label_maps(indices)).long()


def make_batch(x, y, gen, p_erase: float, grid: int):
    n = x.shape[0]
    pick = torch.nonzero(torch.rand(n, generator=gen) < p_erase).flatten().tolist()
    if pick:
        x[pick], y[pick] = erase_class(x[pick], y[pick], p=0.7, part=bool(torch.rand(1, generator=gen) < 0.4),
                                       rng=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    y = torch.where(flip[:, None, None], y.flip(2), y)
    x, _ = random_degradation(x, None, rng=gen, p_each=0.4, p_erase=0.0)
    return x, region_fractions(y == WINDOW, grid)


def presence_scores(det: WindowDetector, x, y, grid: int, seed: int = 0) -> dict:
    """Per condition: region-presence precision/recall and per-image fraction MAE / correlation."""
    out = {}
    for cond in CONDITIONS:
        xd, yd = degrade(x, cond, labels=y, seed=seed)
        true = region_fractions(yd == WINDOW, grid)
        pred = det.region_fraction(xd, batch_size=250)
        pt, pp = true >= MIN_FRACTION, pred >= MIN_FRACTION
        tp, fp, fn = int((pt & pp).sum()), int((~pt & pp).sum()), int((pt & ~pp).sum())
        ft, fpred = true.mean((1, 2)), pred.mean((1, 2))
        out[cond] = {"precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4),
                     "fraction_mae": round(float((ft - fpred).abs().mean()), 5),
                     "fraction_corr": round(float(torch.corrcoef(torch.stack([ft, fpred]))[0, 1]), 4),
                     "mean_fraction_true": round(float(ft.mean()), 5),
                     "mean_fraction_pred": round(float(fpred.mean()), 5)}
    return out


def weakest(scores: dict) -> float:
    return min(min(r["precision"], r["recall"]) for r in scores.values())


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3000, help="optimizer steps")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate (warmup, cosine decay)")
    ap.add_argument("--seed", type=int, default=1, help="seeds the weights, batch order and augmentation")
    ap.add_argument("--data-n", type=int, default=30000)
    ap.add_argument("--data-seed", type=int, default=3, help="scene family of the training data")
    ap.add_argument("--cache", default="runs/cache", help="RoomsDataset cache directory ('' renders on the fly)")
    ap.add_argument("--val-seed", type=int, default=4)
    ap.add_argument("--val-n", type=int, default=300)
    ap.add_argument("--eval-seed", type=int, default=1)
    ap.add_argument("--eval-n", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--p-erase", type=float, default=0.3, help="share of images with windows erased")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="pretrained/judges/windows.safetensors")
    ap.add_argument("--state", default=None, help="resumable state (default: OUT stem + .state.pt beside OUT)")
    ap.add_argument("--resume", action="store_true", help="continue from --state if it exists")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--smoke", action="store_true", help="a few steps on tiny sets (seconds)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.steps, args.batch_size, args.data_n, args.val_n, args.eval_n = 3, 4, 16, 4, 4
        args.eval_every, args.log_every, args.cache = 2, 1, ""
    for name in ("steps", "batch_size", "data_n", "val_n", "eval_n", "eval_every", "threads", "log_every"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if len({args.data_seed, args.val_seed, args.eval_seed}) != 3:
        ap.error("--data-seed, --val-seed and --eval-seed must differ (held-out scenes)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the script owns its process; the library never seeds globally
    gen = torch.Generator().manual_seed(args.seed)
    out = Path(args.out)
    best_path = out.with_name(out.stem + ".best.safetensors")
    state_path = Path(args.state) if args.state else out.with_name(out.stem + ".state.pt")
    metrics_path = out.with_name(out.stem + ".metrics.json")
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    cache = args.cache or None

    train = RoomsDataset(n=args.data_n, seed=args.data_seed, cache=cache)
    x_val, y_val = load_batch(RoomsDataset(n=args.val_n, seed=args.val_seed, cache=cache), range(args.val_n))
    x_ev, y_ev = load_batch(RoomsDataset(n=args.eval_n, seed=args.eval_seed, cache=cache), range(args.eval_n))
    config = WindowDetectorConfig()
    det = WindowDetector(config).to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in det.parameters())
    print(f"WindowDetector {config.widths} grid {config.grid}: {n_params} parameters", flush=True)
    opt = torch.optim.AdamW(det.parameters(), lr=args.lr, weight_decay=1e-4)
    warmup = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (
        1.0 + math.cos(math.pi * min(1.0, s / args.steps))))
    provenance = {k: getattr(args, k) for k in ("steps", "batch_size", "lr", "seed", "data_n", "data_seed",
                                                 "val_seed", "eval_seed", "p_erase")}
    provenance["command"] = command

    t0, start, best, best_step, history, running = time.time(), 0, -1.0, 0, [], None
    if args.resume and state_path.exists():
        st = torch.load(state_path, weights_only=True)  # our own, never shipped
        det.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        gen.set_state(st["gen"])
        start, best, best_step = int(st["step"]), float(st["best"]), int(st["best_step"])
        history, running = json.loads(st["history"]), float(st["running"])
        t0 -= float(st["elapsed"])
        print(f"resumed from {state_path} at step {start}", flush=True)
    log = RunningLog(args.log_every, t0=t0, running=None if running is None else {"loss": running}, decay=0.95,
                     keys=("loss",), exact_first=True)

    class Batches:  # a fresh random draw of training scenes every step, erased and cut into the detector's grid
        def next(self):
            idx = torch.randint(0, args.data_n, (args.batch_size,), generator=gen).tolist()
            x, target = make_batch(*load_batch(train, idx), gen, args.p_erase, config.grid)
            return x.contiguous(memory_format=torch.channels_last), target

    def loss_fn(logits, target):
        weight = 1.0 + 2.0 * (target > 0).float()  # regions holding some window weigh 3x: most regions hold none
        return F.binary_cross_entropy_with_logits(logits, target, weight=weight)

    class Validate:  # at the loop's save points: every --eval-every steps, the last step (and SIGINT/SIGTERM)
        def on_save(self, trainer, step):
            nonlocal best, best_step
            if step % args.eval_every == 0 or step == args.steps:
                scores = presence_scores(det, x_val, y_val, config.grid)
                s = weakest(scores)
                history.append({"step": step, "time_s": round(time.time() - t0, 1), "weakest": s, "suite": scores})
                tag = ""
                if s > best:
                    best, best_step, tag = s, step, "  (best, saved)"
                    det.save(best_path, metadata={"training": json.dumps({**provenance, "step": step})})
                print(f"  val@{step}: weakest presence P/R {s:.4f}  clean P {scores['clean']['precision']:.4f} "
                      f"R {scores['clean']['recall']:.4f}{tag}", flush=True)
            state_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"model": det.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "gen": gen.get_state(), "step": step, "best": best, "best_step": best_step,
                        "history": json.dumps(history), "running": log.running["loss"],
                        "elapsed": time.time() - t0}, str(state_path) + ".tmp")
            Path(str(state_path) + ".tmp").replace(state_path)

    # the shared loop (latentlab.train.loop) via fit_classifier; resumable from --state
    if start < args.steps:
        fit_classifier(det, Batches(), steps=args.steps, optimizer=opt, scheduler=sched, loss_fn=loss_fn,
                       callbacks=[log, Validate()], start=start, checkpoint_every=args.eval_every)
    train_time = time.time() - t0

    det = WindowDetector.load(best_path)
    provenance["best_step"] = best_step
    det.save(out, dtype=torch.float16, metadata={"training": json.dumps(provenance)})
    shipped = WindowDetector.load(out)
    ev = presence_scores(shipped, x_ev, y_ev, config.grid)
    for cond, r in ev.items():
        print(f"  {cond:<20} P {r['precision']:.3f} R {r['recall']:.3f} fraction MAE {r['fraction_mae']:.4f} "
              f"corr {r['fraction_corr']:.3f}", flush=True)
    report = {"judge": "windows", "weights": str(out), "dtype": "float16", "bytes": out.stat().st_size,
              "parameters": n_params, "eval_n": args.eval_n, "min_fraction": MIN_FRACTION, "suite": ev,
              "weakest": weakest(ev), "train_wall_time_s": round(train_time, 1), "threads": args.threads,
              "validation": history, "config": json.loads(config.to_json()), **provenance}
    metrics_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out} and {metrics_path}; weakest held-out presence P/R {report['weakest']:.4f}", flush=True)
    return report


if __name__ == "__main__":
    main()
