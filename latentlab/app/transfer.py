"""``latentlab transfer``: train and measure a Domain Transfer Network (Taigman et al. 2017) on digits.

    latentlab transfer train --run-dir ~/latentlab-runs/dtn [--steps N] [--ngf 16 --ndf 16] [--resume]
    latentlab transfer eval  --model pretrained/dtn-digits.safetensors [--json]

``train`` trains f (the source encoder, cached as RUN_DIR/encoder.safetensors) if needed, then the DTN
(SVHN-like procedural digits -> MNIST); ``eval`` gives the MNIST judge's accuracy on G(source test),
the same judge on the grey source (no transfer), and the Fréchet ratio of G(source) vs real MNIST in the
judge's feature space against the real-vs-real floor. Measurement helpers (``transfer_metrics``,
``digits_eval_data``, ...) live in :mod:`latentlab.transfer.digits`; the names stay importable from here.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


__all__ = ["add_arguments", "run"]

# defined in latentlab.transfer.digits; still importable from here
_MOVED = {"transfer_metrics", "to_grey", "digits_eval_data", "train_digits_encoder", "domain_adaptation",
          "DIGITS_ENCODER", "DIGITS_SOURCE", "UDA_CLASSIFIER", "style_metrics", "mnist_readers", "reader_accuracies",
          "load_mnist_judge"}


def __getattr__(name: str):
    """The measurement helpers, imported on first use (``latentlab transfer --help`` stays free of torch)."""
    if name in _MOVED or name == "_load_mnist_judge":
        from ..transfer import digits
        return getattr(digits, name.lstrip("_"))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="transfer_command", required=True, metavar="{train,eval}")
    fmt = argparse.ArgumentDefaultsHelpFormatter
    t = sub.add_parser("train", help="train f (if needed) and a DTN, SVHN-like digits -> MNIST", formatter_class=fmt)
    t.add_argument("--run-dir", required=True, help="run directory (checkpoints, log.jsonl, samples, model)")
    t.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its newest checkpoint")
    t.add_argument("--steps", type=int, default=4000, help="D updates (each followed by --g-steps G updates)")
    t.add_argument("--ngf", type=int, default=16, help="width of g")
    t.add_argument("--ndf", type=int, default=16, help="width of D")
    t.add_argument("--alpha", type=float, default=15.0, help="weight of L_CONST (f-constancy)")
    t.add_argument("--beta", type=float, default=15.0, help="weight of L_TID (identity on the target)")
    t.add_argument("--gamma", type=float, default=0.0, help="weight of L_TV (total variation)")
    t.add_argument("--binary-d", action="store_true", help="the paper's Sec. 3 baseline: a binary D")
    t.add_argument("--g-steps", type=int, default=2, help="G updates per D update")
    t.add_argument("--batch-size", type=int, default=64, help="source and target images per batch")
    t.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate")
    t.add_argument("--seed", type=int, default=0, help="seed of g's and D's weights and of the data order")
    t.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    t.add_argument("--keep-checkpoints", type=int, default=0, help="newest checkpoints kept (0 = all)")
    t.add_argument("--threads", type=int, default=1, help="torch threads")
    t.add_argument("--fast", choices=["auto", "true", "false"], default="auto",
                   help="bf16 autocast + channels_last (auto: only on a CPU with native bf16)")
    e = sub.add_parser("eval", help="MNIST-judge accuracy of G(source test), no-transfer floor, Fréchet ratio",
                       formatter_class=fmt)
    e.add_argument("--model", required=True, help="a DTN file (model.safetensors, a checkpoint or pretrained/dtn-digits)")
    e.add_argument("--judge", default=None, help="MNIST judge weights (default pretrained/judges/mnist.safetensors)")
    e.add_argument("--split", choices=["test", "val"], default="test", help="source split measured")
    e.add_argument("--n", type=int, default=None, help="source images (default: the split's size, 2,000 / 1,000)")
    e.add_argument("--threads", type=int, default=1, help="torch threads")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")


def run(args) -> int:
    import torch
    torch.set_num_threads(max(1, args.threads))
    if args.transfer_command == "train":
        from ..data.digits import MNISTDigits, SourceDigits
        from ..transfer import DTNConfig, DTNTrainer
        from ..transfer.digits import DIGITS_SOURCE, train_digits_encoder
        run_dir = Path(args.run_dir).expanduser()
        source = SourceDigits(n=DIGITS_SOURCE["train"], seed=DIGITS_SOURCE["seed"], split="train")
        f, _ = train_digits_encoder(run_dir, source=source)
        fast = {"auto": "auto", "true": True, "false": False}[args.fast]
        cfg = DTNConfig(ngf=args.ngf, ndf=args.ndf, alpha=args.alpha, beta=args.beta, gamma=args.gamma,
                        binary_d=args.binary_d, g_steps_per_d_step=args.g_steps, steps=args.steps,
                        batch_size=args.batch_size, lr=args.lr, seed=args.seed, checkpoint_every=args.checkpoint_every,
                        keep_checkpoints=args.keep_checkpoints, num_threads=args.threads, fast=fast)
        DTNTrainer(cfg, encoder=f, source=source, target=MNISTDigits("train"), run_dir=run_dir,
                   resume=args.resume).fit()
        print(f"model: {run_dir / 'model.safetensors'}")
        return 0
    from ..transfer import load_dtn
    dtn = load_dtn(args.model)
    from ..transfer.digits import digits_eval_data, load_mnist_judge, transfer_metrics
    judge = load_mnist_judge(args.judge)
    t0 = time.time()
    m = transfer_metrics(dtn, judge, *digits_eval_data(args.split, args.n))
    m["seconds"] = round(time.time() - t0, 2)
    if args.json:
        print(json.dumps(m, indent=1))
    else:
        print(f"transfer accuracy {m['transfer_accuracy']:.4f} (no transfer {m['no_transfer_accuracy']:.4f}) on "
              f"{m['n']} source {args.split} digits; Fréchet ratio {m['fd_ratio']:.2f}x "
              f"(FD {m['fd']:.3g}, real floor {m['fd_real_floor']:.3g})")
    return 0
