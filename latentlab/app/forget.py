"""`latentlab forget`: the DCGAN §6.3.1 experiment end to end, writing PNG, HTML and metrics.json."""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

__all__ = ["add_arguments", "run", "run_experiment", "experiment_figures", "intro_sentence", "StandInSegmenter"]


class StandInSegmenter(torch.nn.Module):
    """For smoke tests only: calls a pixel 'window' where its red channel is in the image's top ``share``."""

    classes = ("wall", "window")

    def __init__(self, share: float = 0.05):
        super().__init__()
        self.share = share

    @torch.no_grad()
    def predict(self, images):
        r = images[:, 0].flatten(1)
        thr = r.quantile(1 - self.share, dim=1)
        return (images[:, 0] > thr[:, None, None]).long()


def _write_html(figs: list, path: Path, title: str, intro: str) -> None:
    """One standalone HTML file (plotly.js embedded once; works offline)."""
    parts = [f"<html><head><meta charset='utf-8'><title>{title}</title></head><body style='font-family:sans-serif'>",
             f"<h1>{title}</h1><p>{intro}</p>"]
    for i, (heading, fig) in enumerate(figs):
        parts.append(f"<h2>{heading}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    parts.append("</body></html>")
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, path)


def run_experiment(gan, segmenter, out: str | os.PathLike, *, layer=None, obj="window", n_probe=150, n_eval=1000,
                   n_curve=200, seed=0, boxes_json=None, sweep=True, n_show=10, progress=True,
                   causal_steps=0, joint_layers=None) -> dict:
    """Run ``forget`` on ``gan`` and write ``out/forget_windows.png``, ``.html`` and ``metrics.json``."""
    from torchvision.utils import save_image

    from ..dissect.boxes import load_boxes_json
    from ..dissect.forget import default_layer, forget

    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    G = gan.generator if hasattr(gan, "generator") else gan
    layer = layer or default_layer(G)
    boxes = None
    if boxes_json:
        boxes = load_boxes_json(boxes_json, n_probe, G.config.image_size)
    blocks = [n for n in getattr(G, "block_names", [])]
    m = forget(G, segmenter, layer=layer, obj=obj, n_probe=n_probe, n_eval=n_eval, n_curve=n_curve, seed=seed,
               boxes=boxes, sweep_layers=blocks if sweep else None, progress=progress, causal_steps=causal_steps,
               joint_layers=joint_layers)
    arr = m.pop("_arrays")
    figs, grid, nrow = experiment_figures(G, segmenter, m, arr, obj=obj, n_show=n_show)
    save_image(grid, out / f"forget_{obj}s.png.tmp.png", nrow=nrow, normalize=True, value_range=(-1, 1),
               pad_value=1.0)
    os.replace(out / f"forget_{obj}s.png.tmp.png", out / f"forget_{obj}s.png")
    intro = intro_sentence(m, n_probe=n_probe, n_eval=n_eval)
    _write_html(figs, out / f"forget_{obj}s.html", f"Forgetting to draw {obj}s", intro)
    m["seconds"] = round(time.time() - t0, 2)
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(m, indent=2))
    os.replace(tmp, out / "metrics.json")
    return m


def intro_sentence(m: dict, *, n_probe: int, n_eval: int) -> str:
    """One HTML sentence stating what the forget experiment did and found."""
    obj = m["object"]
    return (f"DCGAN §6.3.1 (Fig. 6) reproduced on layer <code>{m['layer']}</code>: a logistic-regression probe "
            f"fitted on {m['n_boxes']} {obj} boxes in {n_probe} samples selects {m['maps_dropped']} of "
            f"{m['n_maps']} feature maps; dropping them cuts {obj} pixels from "
            f"{100 * m['window_fraction_before']:.2f}% to {100 * m['window_fraction_after']:.2f}% of the image "
            f"over {n_eval} samples (random control: {100 * m['window_fraction_after_random']:.2f}%).")


def experiment_figures(G, segmenter, m: dict, arr: dict, *, obj: str = "window", n_show: int = 10):
    """Figures of a finished ``forget`` run: ([(heading, figure)], static grid tensor, samples per row).

    The static grid has three rows (original / objects dropped / random control) of the first ``n_show``
    evaluation samples that contain the object, as the paper's Fig. 6; the interactive figures are the
    same samples under a slider over k, the removal curves and the probe's weight ranking.
    """
    from ..viz.forget_figures import forget_rows_figure, k_slider_figure, probe_weights_figure, removal_curve_figure
    from ..dissect.forget import generate, object_masks

    layer = m["layer"]
    probe = arr["probe"]
    fb = arr["fraction_before"]
    show = np.flatnonzero(fb >= m["min_fraction"])[:n_show]
    if len(show) == 0:
        show = np.arange(min(n_show, len(fb)))
    z = arr["z_eval"][torch.as_tensor(show)]
    pos = np.array(m["dropped_maps"])
    orig = arr["before"][torch.as_tensor(show)]
    dropped = generate(G, z, layer=layer, maps=pos)
    control = generate(G, z, layer=layer, maps=arr["random_maps"])
    rows = {"original": orig, f"{obj}s dropped ({len(pos)} maps)": dropped, f"random control ({len(pos)} maps)": control}
    grid = torch.cat([orig, dropped, control])
    ks = sorted(int(k) for k in m["curve"])
    grids, fracs = {}, {}
    for k in ks:
        x = generate(G, z, layer=layer, maps=pos[:k]) if k else orig
        grids[k] = x
        hw = x.shape[-1] * x.shape[-2]
        fracs[k] = object_masks(segmenter, x, obj).flatten(1).sum(1).numpy() / hw
    figs = [
        (f"Original / {obj}s dropped / random control", forget_rows_figure(rows, nrow=len(show))),
        ("Drop the top-k maps by probe weight", k_slider_figure(grids, fracs, title=f"{obj}s")),
        ("Removal curve: probe ranking vs IoU ranking vs random", removal_curve_figure(m["curves"], m["n_maps"])),
        ("Probe weight per feature map", probe_weights_figure(probe.weights, m.get("iou"))),
    ]
    return figs, grid, len(show)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="pretrained name (rooms) or path to a .safetensors model")
    p.add_argument("--object", default="window", help="segmenter class to remove (window, bed, ...)")
    p.add_argument("--layer", default=None, help="generator layer (default block2, the paper's 'second highest')")
    p.add_argument("--n-probe", type=int, default=150, help="samples for the probe (paper: 150)")
    p.add_argument("--n-eval", type=int, default=1000, help="fresh samples to measure on")
    p.add_argument("--n-curve", type=int, default=200, help="samples per point of the removal curves")
    p.add_argument("--boxes", default=None, help="JSON of hand-drawn boxes, one list per probe sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-sweep", action="store_true", help="skip the layer sweep")
    p.add_argument("--causal-steps", type=int, default=0,
                   help="also rank maps by an ablation mask optimised for causal effect (GAN Dissection), "
                        "this many Adam steps (e.g. 150; 0 = off)")
    add_joint_argument(p)
    p.add_argument("--out", default="out/forget", help="output directory")


def add_joint_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--joint-layers", type=lambda v: [x for x in v.split(",") if x], default=None,
                   metavar="NAMES", help="beyond the paper: also drop the probe-positive maps of these layers "
                                         "(comma-separated, e.g. block1) together with --layer's")


def run(args) -> int:
    from ..judges import load_judge
    from ..pretrained import load_pretrained
    gan = load_pretrained(args.model)
    if gan.config.dataset not in ("rooms", "") and args.object in ("window", "bed"):
        print(f"warning: model was trained on {gan.config.dataset!r}; the rooms segmenter may not apply")
    seg = load_judge("rooms")
    m = run_experiment(gan, seg, args.out, layer=args.layer, obj=args.object, n_probe=args.n_probe,
                       n_eval=args.n_eval, n_curve=args.n_curve, seed=args.seed, boxes_json=args.boxes,
                       sweep=not args.no_sweep, causal_steps=args.causal_steps, joint_layers=args.joint_layers)
    print(summary(m))
    return 0


def summary(m: dict) -> str:
    o = m["object"]
    return "\n".join([
        f"layer {m['layer']}: {m['maps_dropped']} of {m['n_maps']} maps have positive probe weight "
        f"(probe AUC {m['probe_auc']:.3f} on held-out images, {m['n_boxes']} boxes in {m['n_probe_samples']} samples)",
        f"{o} pixels: {100 * m['window_fraction_before']:.3f}% -> {100 * m['window_fraction_after']:.3f}% "
        f"(reduction {100 * m['reduction']:.1f}%); random control {100 * m['window_fraction_after_random']:.3f}% "
        f"(reduction {100 * m['reduction_random']:.1f}%)",
        f"samples with {o}s losing >= 90% of their {o} pixels: {100 * m['share_samples_windows_removed']:.1f}% "
        f"of {m['n_window_bearing']} (random control {100 * m['share_samples_windows_removed_random']:.1f}%)",
        f"change outside the original {o}s: {m['outside_change']:.4f} (random control {m['outside_change_random']:.4f})",
        f"{o} pixels became: {m['replaced_by']}",
        f"fewest maps for >= 90% removal: {m['min_k_90']} (a quarter of the layer = {m['quarter_of_maps']})",
    ] + ([] if not m.get("causal") else [
        f"causal selection (mask optimised {m['causal']['steps']} steps), top quarter = {m['quarter_of_maps']} maps: "
        f"{o} pixels -{100 * m['causal']['quarter_reduction']:.1f}%, "
        f"{100 * m['causal']['quarter_share_samples_removed']:.1f}% of samples lose >= 90%, "
        f"outside change {m['causal']['quarter_outside_change']:.4f}",
    ]) + ([] if not m.get("joint") else [
        f"joint drop at {' + '.join(m['joint']['layers'])} "
        f"({' + '.join(str(n) for n in m['joint']['maps_dropped'].values())} maps): {o} pixels "
        f"{-100 * m['joint']['reduction']:+.1f}% (random control {-100 * m['joint']['reduction_random']:+.1f}%), "
        f"{100 * m['joint']['share_samples_windows_removed']:.1f}% of samples lose >= 90% "
        f"(random {100 * m['joint']['share_samples_windows_removed_random']:.1f}%), outside change "
        f"{m['joint']['outside_change']:.4f} (random {m['joint']['outside_change_random']:.4f})",
    ]) + [
        f"seconds: {m['seconds']}",
    ])
