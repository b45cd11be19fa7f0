"""SVHN-like digits -> MNIST with the shipped DTN (Taigman et al. 2017, Sec. 5.1), measured.

    python examples/dtn_digits.py [--model pretrained/dtn-digits.safetensors] [--n 2000] [--out DIR] [--json out.json]
    python examples/dtn_digits.py --smoke --out /tmp/dtn_digits      # tiny untrained networks, seconds

Writes ``DIR/dtn_digits_grid.png`` (rows: procedural source digits, G(source), the grey source as the MNIST judge
sees it without transfer) and ``DIR/dtn_digits.html`` (offline plotly: the before/after grid, per-class transfer
accuracy, the ablations). ``--json`` holds transfer_accuracy (the MNIST judge's accuracy on G(source test)
against the source labels; the paper: 90.66%), no_transfer_accuracy (the judge on the grey source),
ablations ({condition: {mean, std, seeds}}), fd_ratio (Fréchet distance of G(source) vs real MNIST in the
judge's feature space over the real-vs-real floor) and seconds; and what the transfer keeps besides the class
(issue 32): ``readers`` (the judge and an RBF SVC on MNIST pixels, sharing no code with it: accuracy on G(x), on
the raw grey source and on the label-free normalised source, and their spread), ``no_transfer_accuracy_normalised``,
``within_class_diversity`` (mean pairwise distance within a class of G(x) over the same for real MNIST; 1 = as
varied as real digits), ``style_carry_over`` (stroke width and slant of source vs transfer: Pearson r pooled and
within class) and ``precision_recall`` (Kynkaenniemi et al. 2019, k = 3, in the judge's features). The ablations
(full / alpha = 0 / beta = 0 / the paper's Sec. 3 baseline) are too long for an example: they are read from the committed measurements
``pretrained/logs/dtn-digits-ablations.json`` (``pretrained/train_dtn.py ablations``). ``--smoke`` runs every
step on tiny untrained networks and 20 source digits; its numbers mean nothing.

``--uda`` adds the paper's domain adaptation (``domain_adaptation``: a classifier trained on G(source train)
with the source labels, tested on the 1,000 held-out real MNIST digits; the paper: 84.44%), and the same
classifier trained on the grey source as its floor (about 20 minutes on one thread).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latentlab.transfer.digits import (DIGITS_SOURCE, digits_eval_data, domain_adaptation, f_reads_mnist,  # noqa: E402
                                       mnist_readers, style_metrics, to_grey, transfer_metrics)

MODEL = ROOT / "pretrained" / "dtn-digits.safetensors"
JUDGE = ROOT / "pretrained" / "judges" / "mnist.safetensors"
ABLATIONS = ROOT / "pretrained" / "logs" / "dtn-digits-ablations.json"
LABELS = {"full": "full DTN", "alpha0": "alpha = 0 (no L_CONST)", "beta0": "beta = 0 (no L_TID)",
          "baseline": "Sec. 3 baseline (binary D, beta = 0)"}


def ablations_from(path: Path) -> dict:
    """{condition: {mean, std, seeds}} from ``train_dtn.py ablations``' JSON; {} when the file is absent."""
    if not path.exists():
        return {}
    summary = json.loads(path.read_text()).get("ablations", {})
    return {c: {"mean": v["mean"], "std": v["std"], "seeds": v["seeds"]} for c, v in summary.items()}


def grid_tensor(source: torch.Tensor, transferred: torch.Tensor, n: int = 16) -> torch.Tensor:
    """(3, H, W) in [0, 1]: source row, G(source) row, grey-source row."""
    from torchvision.utils import make_grid
    n = min(n, len(source))
    rows = torch.cat([source[:n], transferred[:n].expand(-1, 3, -1, -1), to_grey(source[:n]).expand(-1, 3, -1, -1)])
    return make_grid(rows * 0.5 + 0.5, nrow=n, padding=1, pad_value=1.0).clamp(0, 1)


def figure(grid, per_class: dict, ablations: dict, metrics: dict):
    """Plotly figure from arrays: the grid image (H, W, 3) uint8, per-class accuracy, ablation means +- std."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    fig = make_subplots(rows=1, cols=3, column_widths=[0.5, 0.25, 0.25],
                        subplot_titles=("source / G(source) / grey source (no transfer)",
                                        "transfer accuracy per class", "ablations (test accuracy)"))
    fig.add_trace(go.Image(z=grid), row=1, col=1)
    fig.add_trace(go.Bar(x=list(per_class), y=list(per_class.values()), name="per class"), row=1, col=2)
    if ablations:
        conds = list(ablations)
        fig.add_trace(go.Bar(x=[LABELS.get(c, c) for c in conds], y=[ablations[c]["mean"] for c in conds],
                             error_y=dict(type="data", array=[ablations[c]["std"] for c in conds]),
                             text=[f"n={len(ablations[c]['seeds'])}" for c in conds], name="ablations"), row=1, col=3)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=3)
    fig.update_layout(title=f"DTN digits -> MNIST: transfer accuracy {metrics['transfer_accuracy']:.1%} "
                            f"(no transfer {metrics['no_transfer_accuracy']:.1%}), Fréchet ratio "
                            f"{metrics['fd_ratio']:.2f}x", showlegend=False, height=460, width=1400)
    return fig


def _smoke_models():
    from latentlab.judges.mnist import MNISTJudge
    from latentlab.transfer import DTN, DTNConfig, Encoder, EncoderConfig
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        f = Encoder(EncoderConfig(widths=(4, 8, 8), feature_dim=8)).eval()
        dtn = DTN(DTNConfig(feature_dim=8, ngf=4, ndf=4), f).eval()
        judge = MNISTJudge().eval()
    return dtn, judge


def uda(dtn, smoke: bool) -> dict:
    """The domain-adaptation numbers: G(source train) -> classifier -> the 1,000 held-out MNIST digits."""
    from latentlab.data.digits import MNISTDigits, SourceDigits
    n = 20 if smoke else DIGITS_SOURCE["train"]
    src = SourceDigits(n=n, seed=DIGITS_SOURCE["seed"], split="train")
    test = MNISTDigits("test")
    return domain_adaptation(dtn, src.images, src.labels, test.images, test.labels, steps=2 if smoke else None,
                             batch_size=8 if smoke else None)


def beyond_the_class(dtn, judge, src, labels, smoke: bool, transferred=None) -> dict:
    """Issue 32's measures: two readers (the judge and an RBF SVC on MNIST pixels that shares no code with it)
    with their spread, the no-transfer floor raw and label-free normalised, within-class diversity against the
    1,000 held-out MNIST digits, stroke-width / slant carry-over and precision / recall in the judge's features."""
    from latentlab.data.digits import MNISTDigits
    real = MNISTDigits("test")
    readers = mnist_readers(judge, kinds=("svc",), n_train=200 if smoke else None)
    m = style_metrics(dtn, src, labels, real.images, real.labels, readers, judge=judge, transferred=transferred)
    acc = m["accuracy"]
    return {"readers": {k: v for k, v in acc.items()}, "reader_accuracy_on_real_mnist": m["real_accuracy"],
            "f_accuracy_on_real_mnist": f_reads_mnist(dtn, real.images, real.labels),
            "no_transfer_accuracy_normalised": acc["judge"]["no_transfer_normalised"],
            "within_class_diversity": m["diversity"]["mean"],
            "within_class_diversity_per_class": m["diversity"]["per_class"],
            "within_class_diversity_normalised_source": m["diversity_source_normalised"],
            "style_carry_over": m["style"], "precision_recall": m["precision_recall"]}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(MODEL), help="DTN file")
    p.add_argument("--judge", default=str(JUDGE), help="MNIST judge file")
    p.add_argument("--ablations", default=str(ABLATIONS), help="ablation results JSON (train_dtn.py ablations)")
    p.add_argument("--n", type=int, default=None, help="source test digits (default 2,000)")
    p.add_argument("--out", default="dtn_digits_out", help="folder for the PNG grid and the HTML figure")
    p.add_argument("--json", default=None, help="write the metrics to this JSON file")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--smoke", action="store_true", help="tiny untrained networks, 20 digits, seconds")
    p.add_argument("--uda", action="store_true", help="also the paper's domain adaptation: a classifier trained on "
                   "G(source train) with source labels, tested on real MNIST (about 20 minutes)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    if args.smoke:
        dtn, judge = _smoke_models()
        src, labels, mt, mtr = digits_eval_data("test", 20)
        mt, mtr = mt[:10], mtr[:10]
    else:
        from latentlab.judges.mnist import MNISTJudge
        from latentlab.transfer import load_dtn
        dtn, judge = load_dtn(args.model), MNISTJudge.load(args.judge)
        src, labels, mt, mtr = digits_eval_data("test", args.n)
    transferred = dtn.transfer(src)  # G(source) once, for both measurements
    m = transfer_metrics(dtn, judge, src, labels, mt, mtr, transferred=transferred)
    ablations = ablations_from(Path(args.ablations))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    g = grid_tensor(src, transferred[:16])
    from torchvision.utils import save_image
    save_image(g, out / "dtn_digits_grid.png")
    fig = figure((g.permute(1, 2, 0) * 255).round().byte().numpy(), m["per_class_transfer_accuracy"], ablations, m)
    fig.write_html(out / "dtn_digits.html", include_plotlyjs=True)
    result = {"transfer_accuracy": m["transfer_accuracy"], "no_transfer_accuracy": m["no_transfer_accuracy"],
              "ablations": ablations, "fd_ratio": m["fd_ratio"], "seconds": round(time.time() - t0, 2),
              "fd": m["fd"], "fd_real_floor": m["fd_real_floor"], "n": m["n"],
              "per_class_transfer_accuracy": m["per_class_transfer_accuracy"], "smoke": bool(args.smoke)}
    result.update(beyond_the_class(dtn, judge, src, labels, args.smoke, transferred))
    result["seconds"] = round(time.time() - t0, 2)
    if args.uda:
        result["domain_adaptation"] = uda(dtn, args.smoke)
        result["seconds"] = round(time.time() - t0, 2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    r = result["readers"]
    print(f"transfer accuracy {result['transfer_accuracy']:.4f} by the judge, {r['svc']['transfer']:.4f} by the SVC "
          f"(no transfer: raw {result['no_transfer_accuracy']:.4f}, "
          f"normalised {r['judge']['no_transfer_normalised']:.4f}"
          f" / {r['svc']['no_transfer_normalised']:.4f}); within-class diversity {result['within_class_diversity']:.2f}"
          f" of real MNIST; stroke-width correlation source -> transfer (within class) "
          f"{result['style_carry_over']['stroke_width']['within_class']:.2f}; "
          f"Fréchet ratio {result['fd_ratio']:.2f}x, "
          f"{result['seconds']:.1f} s -> {out}")
    if args.uda:
        d = result["domain_adaptation"]
        print(f"domain adaptation: classifier trained on G(source) {d['uda_accuracy']:.4f} on real MNIST "
              f"(trained on the grey source: {d['source_only_accuracy']:.4f}; paper 0.8444)")
    return result


if __name__ == "__main__":
    main()
