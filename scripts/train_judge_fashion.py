"""Train the Fashion-MNIST judge (latentlab.judges.fashion.FashionClassifier).

Trains on the official train split (60,000) with random shifts of up to --max-shift pixels,
evaluates once, at the end, on the official test split (10,000): no model selection on test.
Ships fp16 weights when their test accuracy is within 0.1 point of float32, else float32.
The accuracy printed and written to the JSON metrics is that of the saved file, reloaded.

    python scripts/train_judge_fashion.py --epochs 12 --seed 0 --out pretrained/judges/fashion.safetensors
    python scripts/train_judge_fashion.py --smoke --out /tmp/judge.safetensors   # seconds, for tests
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
import torch.nn.functional as F

try:
    import latentlab  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentlab.data.fashion import FASHION_CLASSES, FashionMNIST
from latentlab.judges.fashion import FashionClassifier, FashionClassifierConfig
from latentlab.train.classify import EpochBatches, EpochHistory, LabelledBatches, fit_classifier

DEFAULT_OUT = "pretrained/judges/fashion.safetensors"


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image of (N, C, H, W) by its own integer offset in [-max_shift, max_shift]^2.

    The uncovered border is filled with -1, the background of the [-1, 1] images.
    """
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n, 1), generator=generator)
    rows = (dy + torch.arange(h))[:, :, None]          # (N, H, 1)
    cols = (dx + torch.arange(w))[:, None, :]          # (N, 1, W)
    batch = torch.arange(n)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (N, C, H, W)


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) -> float32 (N, 1, H, W) in [-1, 1], as FashionMNIST.__getitem__ does."""
    return images_uint8.to(torch.float32).div(127.5).sub(1.0).unsqueeze(1)


@torch.no_grad()
def evaluate(model: FashionClassifier, images: torch.Tensor, targets: torch.Tensor) -> dict:
    pred = model.predict(to_float(images), batch_size=500)
    confusion = torch.zeros(10, 10, dtype=torch.int64)
    confusion.index_put_((targets, pred), torch.ones_like(targets), accumulate=True)
    per_class = (confusion.diag().float() / confusion.sum(1).clamp(min=1)).tolist()
    return {
        "accuracy": (pred == targets).float().mean().item(),
        "per_class_accuracy": {c: round(a, 4) for c, a in zip(FASHION_CLASSES, per_class)},
        "confusion_matrix": confusion.tolist(),  # rows: true class, columns: predicted
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help=f"weights file (default {DEFAULT_OUT}; a temp dir with --smoke)")
    p.add_argument("--metrics", default=None, help="JSON metrics file (default: --out with .json)")
    p.add_argument("--root", default=None, help="folder with the Fashion-MNIST idx files")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--max-shift", type=int, default=2, help="random shift augmentation, pixels")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared machine)")
    p.add_argument("--fp32", action="store_true", help="always save float32 weights")
    p.add_argument("--smoke", action="store_true", help="512 train / 500 test images, 1 epoch")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")
    if args.out is None:
        args.out = (os.path.join(tempfile.mkdtemp(prefix="latentlab-smoke-"), "fashion.safetensors")
                    if args.smoke else DEFAULT_OUT)
    out = Path(args.out)
    metrics_path = Path(args.metrics) if args.metrics else out.with_suffix(".json")
    command = "python " + shlex.join([sys.argv[0] if argv is None else "scripts/train_judge_fashion.py",
                                      *(sys.argv[1:] if argv is None else argv)])

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # model initialisation; data order and shifts use `generator`
    generator = torch.Generator().manual_seed(args.seed)

    train, test = FashionMNIST(args.root, "train"), FashionMNIST(args.root, "test")
    train_x, train_y, test_x, test_y = train.images, train.targets, test.images, test.targets
    if args.smoke:
        args.epochs = 1
        train_x, train_y, test_x, test_y = train_x[:512], train_y[:512], test_x[:500], test_y[:500]

    config = FashionClassifierConfig()
    model = FashionClassifier(config)
    order = EpochBatches(len(train_y), args.batch_size, generator)
    steps_per_epoch = order.steps_per_epoch
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2)
    print(f"training {sum(p.numel() for p in model.parameters()):,} parameters on {len(train_y):,} "
          f"images, {args.epochs} epochs x {steps_per_epoch} steps, {args.threads} thread(s)", flush=True)

    start = time.time()
    epochs = EpochHistory(steps_per_epoch, len(train_y), args.epochs, t0=start)
    # the shared loop (latentlab.train.loop) via fit_classifier: cross-entropy, one-cycle lr, per-epoch rows
    fit_classifier(model, LabelledBatches(train_x, train_y, order,
                                          lambda x, gen: random_shift(to_float(x), args.max_shift, gen)),
                   steps=args.epochs * steps_per_epoch, optimizer=optimizer, scheduler=schedule, callbacks=[epochs])
    history = epochs.history
    train_seconds = time.time() - start

    fp32 = evaluate(model, test_x, test_y)
    dtype = torch.float32
    if not args.fp32:
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / "fp16.safetensors", dtype=torch.float16)
            fp16_acc = evaluate(FashionClassifier.load(Path(tmp) / "fp16.safetensors"), test_x, test_y)["accuracy"]
        if fp16_acc >= fp32["accuracy"] - 0.001:
            dtype = torch.float16
        print(f"test accuracy float32 {fp32['accuracy']:.4f}, float16 {fp16_acc:.4f} -> saving {dtype}")

    training = {"dataset": "fashion-mnist", "train_images": len(train_y), "epochs": args.epochs,
                "seed": args.seed, "command": command}
    model.save(out, dtype=dtype, metadata={"training": json.dumps(training, sort_keys=True)})
    shipped = evaluate(FashionClassifier.load(out), test_x, test_y)  # what a user of the file gets

    metrics = {
        **training,
        "test_images": len(test_y),
        "test_accuracy": shipped["accuracy"],
        "test_accuracy_float32": fp32["accuracy"],
        "weights_dtype": str(dtype).replace("torch.", ""),
        "weights_file": str(out),
        "weights_bytes": out.stat().st_size,
        "train_seconds": round(train_seconds, 1),
        "threads": args.threads,
        "hyperparameters": {k: getattr(args, k) for k in ("batch_size", "lr", "weight_decay", "max_shift")},
        "config": json.loads(config.to_json()),
        "history": history,
        "per_class_accuracy": shipped["per_class_accuracy"],
        "confusion_matrix": shipped["confusion_matrix"],
    }
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"test accuracy {shipped['accuracy']:.4f} on {len(test_y):,} test images "
          f"({metrics['weights_dtype']}, {metrics['weights_bytes'] / 1e6:.2f} MB) -> {out}, {metrics_path}")
    print("per class: " + ", ".join(f"{c} {a:.3f}" for c, a in shipped["per_class_accuracy"].items()))
    return metrics


if __name__ == "__main__":
    main()
