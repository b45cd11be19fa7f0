"""`latentlab forget`: the DCGAN §6.3.1 experiment end to end, writing PNG, HTML and metrics.json."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

__all__ = ["add_arguments", "run", "run_experiment", "experiment_figures", "intro_sentence", "summary"]


def _write_html(figs: list, path: Path, title: str, intro: str) -> None:
    """One standalone HTML file (the shared page shell; plotly.js embedded once, works offline)."""
    from ..viz.page import page, write_page
    write_page(path, page(title, [f"<p>{intro}</p>"] + [x for h, fig in figs for x in (f"<h2>{h}</h2>", fig)]))


def run_experiment(gan, segmenter, out: str | os.PathLike, *, boxes=None, boxes_json=None, detector=None,
                   sweep: bool = True, n_show: int = 10, **options):
    """Run ``forget`` on ``gan`` (a GAN, a generator or any module with ``prior=``/``nz=``) and write
    ``out/forget_<obj>s.png``, ``.html`` and ``metrics.json``; returns the ForgetResult.

    ``segmenter`` None: ``boxes`` (or ``boxes_json``) are required; the probe and the before/after images
    are written, nothing is measured. ``detector``: the second window instrument (``WindowDetector``), read on
    the same images as the segmenter (``forget(detector=...)``). ``options``: fields of
    :class:`latentlab.dissect.forget.ForgetSettings` (``layer``, ``obj``, ``n_probe``, ``seed``, ``prior`` ...);
    ``sweep``: also sweep every block of our generators.
    """
    from PIL import Image

    from ..dissect.forget import ForgetSettings, forget

    t0 = time.time()
    out = Path(out)
    G = gan.generator if hasattr(gan, "generator") else gan
    s = ForgetSettings(**{k: v for k, v in options.items() if k in ForgetSettings.__dataclass_fields__})
    if boxes_json:  # checked before anything is written
        boxes = _read_boxes(boxes_json, G, s.n_probe, s.seed, prior=s.prior, nz=s.nz)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: expected a folder, got the file {str(out)!r}")
    blocks = list(getattr(G, "block_names", []))
    options.setdefault("sweep_layers", blocks if sweep else None)
    r = forget(G, segmenter, boxes=boxes, detector=detector, **options)
    out.mkdir(parents=True, exist_ok=True)  # after forget: a bad layer or count leaves no empty folder behind
    figs, image, _ = experiment_figures(G, segmenter, r, n_show=n_show)
    obj = r.setup.object
    png = out / f"forget_{obj}s.png"
    Image.fromarray(image).save(png.with_suffix(".tmp.png"))
    os.replace(png.with_suffix(".tmp.png"), png)
    _write_html(figs, out / f"forget_{obj}s.html", f"Forgetting to draw {obj}s", intro_sentence(r))
    r.seconds = round(time.time() - t0, 2)
    tmp = out / "metrics.json.tmp"
    r.to_json(tmp)
    os.replace(tmp, out / "metrics.json")
    return r


def _read_boxes(path, G, n_probe: int, seed: int, *, prior=None, nz=None, whole: bool = False):
    """Boxes drawn on the probe samples (a ``latentlab annotate`` file), checked against the samples they must
    have been drawn on: ``n_probe`` samples of ``seed`` at the generator's image size (``whole``: the BoxesFile)."""
    from ..dissect.boxes_json import load_boxes
    from ..dissect.removal import adapter
    lm = adapter(G, prior=prior, nz=nz, need_prior=True)
    size = lm.generate(lm.sample_z(1, seed=seed)).shape[-1]
    f = load_boxes(path, n=n_probe, seed=seed, image_size=size)
    return f if whole else f.boxes


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _change(before: float, after: float) -> str:
    """The relative change of the object pixels in words, with its sign: "down 64.6%" / "up 54.3%"."""
    if not before:
        return "no object pixels before"
    rel = after / before - 1
    return f"{'down' if rel < 0 else 'up' if rel > 0 else 'unchanged,'} {100 * abs(rel):.1f}%"


def intro_sentence(r, *, n_probe: int | None = None, n_eval: int | None = None) -> str:
    """One HTML sentence stating what the forget experiment did and found (``r``: ForgetResult or its dict)."""
    m = r.to_dict() if hasattr(r, "to_dict") else r
    obj = m["object"]
    head = (f"DCGAN §6.3.1 (Fig. 6) reproduced on layer <code>{m['layer']}</code>: a logistic-regression probe "
            f"fitted on {m['n_boxes']} {obj} boxes ({m['box_source']}) in {m['n_probe_samples']} samples selects "
            f"{m['maps_dropped']} of {m['n_maps']} feature maps")
    if not m["measured"]:
        return head + " (no segmenter: removal was not measured)."
    return (head + f"; dropping them takes {obj} pixels from {_pct(m['fraction_before'])} to "
            f"{_pct(m['fraction_after'])} of the image over {m['n_eval_samples']} samples "
            f"(random control: {_pct(m['fraction_after_random'])}).")


OUTLINE_COLOR = (1.0, -1.0, 1.0)   # magenta in [-1, 1]: where the segmenter sees the object


def experiment_figures(G, segmenter, r, *, n_show: int = 10):
    """Figures of a finished ``forget`` run ``r`` (a ForgetResult): ([(heading, figure)], labelled PNG, per row).

    The static image (uint8 (H, W, 3)) has three labelled rows (before / the probe's maps dropped / as many
    random maps dropped) of the first ``n_show`` evaluation samples that contain the object (any samples
    without a segmenter), as the paper's Fig. 6; with a segmenter, the object's outline as the segmenter sees
    it is painted on every image (magenta), so a reader can check the judge by eye. The interactive figures are
    the same rows (outlined and plain), a slider over k, the removal curves, both instruments' reading of each
    drop (with a detector) and the probe's weight ranking.
    """
    import numpy as np
    import torch

    from ..dissect.removal import generate, object_masks
    from ..judges.outline import overlay_outline
    from ..viz.forget_figures import (forget_rows_figure, instruments_figure, k_slider_figure, labelled_rows_image,
                                      probe_weights_figure, removal_curve_figure)
    from ..viz.images import to_uint8_grid

    obj, layer, n_maps, a = r.setup.object, r.setup.layer, r.setup.n_maps, r.arrays
    fb = a.fraction_before_per_sample
    show = np.arange(0) if fb is None else np.flatnonzero(fb >= r.setup.min_fraction)[:n_show]
    if len(show) == 0:
        show = np.arange(min(n_show, r.setup.n_eval_samples))
    z = a.z_eval[torch.as_tensor(show)]
    pos = np.array(r.selection.dropped_maps)
    orig = a.before[torch.as_tensor(show)]
    dropped = generate(G, z, layer=layer, maps=pos)
    control = generate(G, z, layer=layer, maps=a.random_maps)
    rows = {"before": orig, f"probe's maps dropped ({len(pos)} of {n_maps})": dropped,
            f"random maps dropped ({len(pos)} of {n_maps})": control}
    outlined = None
    if segmenter is not None:
        outlined = {k: overlay_outline(x, object_masks(segmenter, x, obj), color=OUTLINE_COLOR)
                    for k, x in rows.items()}
    shown = outlined or rows
    png = labelled_rows_image({k: to_uint8_grid(x, nrow=len(show), scale=2) for k, x in shown.items()},
                              caption=(f"magenta outlines: where the room segmenter sees {obj}s" if outlined else
                                       "no segmenter: nothing outlined") + f"; layer {layer}")
    figs = [(f"Before / the probe's maps dropped / random maps dropped"
             + (f" (magenta: where the segmenter sees {obj}s)" if outlined else ""),
             forget_rows_figure(rows, nrow=len(show), outlined=outlined, image_size=orig.shape[-1]))]
    if r.measured:
        grids, fracs = {}, {}
        for k in sorted(int(k) for k in r.curves.by_ranking["probe"]):
            x = generate(G, z, layer=layer, maps=pos[:k]) if k else orig
            masks = object_masks(segmenter, x, obj)
            grids[k] = overlay_outline(x, masks, color=OUTLINE_COLOR)
            fracs[k] = masks.flatten(1).sum(1).numpy() / (x.shape[-1] * x.shape[-2])
        figs += [("Drop the top-k maps by probe weight (magenta: the segmenter's outlines)",
                  k_slider_figure(grids, fracs, title=f"{obj}s", object_name=obj)),
                 ("Removal curve: probe ranking vs IoU ranking vs random",
                  removal_curve_figure(r.curves.by_ranking, n_maps, object_name=obj))]
    if r.instruments:
        keys = [k for k in VARIANTS if r.instruments.numbers.get(k)]
        v = [r.instruments.numbers[k] for k in keys]
        figs.append(("Two instruments: the room segmenter and the window detector",
                     instruments_figure([VARIANTS[k] for k in keys],
                                        [-100 * x["segmenter"]["reduction"] for x in v],
                                        [-100 * x["detector"]["reduction"] for x in v],
                                        [x["disagree"] for x in v], object_name=obj)))
    iou = None if r.curves is None else r.curves.iou
    figs.append(("Probe weight per feature map", probe_weights_figure(a.probe.weights, iou)))
    return figs, png, len(show)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="pretrained name (rooms) or path to a .safetensors model")
    p.add_argument("--object", default="window", help="segmenter class to remove (window, bed, ...)")
    p.add_argument("--layer", default=None, help="generator layer (default block2, the paper's 'second highest')")
    p.add_argument("--n-probe", type=int, default=None,
                   help="samples for the probe (default: 150 as in the paper; with --boxes: the boxes file's n)")
    p.add_argument("--n-eval", type=int, default=1000, help="fresh samples to measure on")
    p.add_argument("--n-curve", type=int, default=200, help="samples per point of the removal curves")
    p.add_argument("--boxes", default=None, metavar="FILE",
                   help="boxes drawn on the probe samples, as `latentlab annotate MODEL --n N_PROBE --seed SEED` "
                        "saves them (the file's seed must match --seed, and its n --n-probe when given). Then forget is "
                        "measured from your boxes only (train / held-out split, a box-only detector, locality, "
                        "random controls, a sweep of k) and OUT/images.npz holds every probe sample before and "
                        "after (default: the room segmenter's window boxes, measured by the segmenter)")
    p.add_argument("--no-segmenter", action="store_true",
                   help="do not load the room segmenter (with --boxes: nothing is compared with it; everything is "
                        "measured from your boxes) (default: off)")
    p.add_argument("--label", default=None,
                   help="with --boxes: the name of what you boxed (default: the boxes file's name without "
                        "'_boxes', e.g. glasses_boxes.json -> glasses)")
    p.add_argument("--seed", type=int, default=0,
                   help="probe z from SEED, evaluation z from SEED+1, random controls from SEED+2 (default: 0)")
    p.add_argument("--no-sweep", action="store_true", help="skip the layer sweep")
    p.add_argument("--causal-steps", type=int, default=0,
                   help="also rank maps by an ablation mask optimised for causal effect (GAN Dissection), "
                        "this many Adam steps (e.g. 150; 0 = off)")
    add_joint_argument(p)
    from .options import add_device_argument
    add_device_argument(p)
    p.add_argument("--out", default="out/forget", help="output directory")


def add_joint_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--joint-layers", type=lambda v: [x for x in v.split(",") if x], default=None,
                   metavar="NAMES", help="beyond the paper: also drop the probe-positive maps of these layers "
                                         "(comma-separated, e.g. block1) together with --layer's "
                                         "(default: none, --layer only)")


def run(args) -> int:
    from ..judges import load_judge
    from .options import load_model, resolve_device
    device = resolve_device(args.device)  # checked before anything is loaded
    gan = load_model(args.model)
    if not args.no_segmenter:
        from ..judges import check_domain
        check_domain("rooms", gan.config.dataset)  # JudgeDomainWarning outside latentlab's procedural rooms
    if args.no_segmenter and not args.boxes:
        raise ValueError("--no-segmenter: without the segmenter the probe needs your boxes; pass --boxes FILE "
                         "(draw them with `latentlab annotate`)")
    if args.boxes:
        return _run_boxes(args, gan, device)
    seg = det = None
    if not args.no_segmenter:
        seg = load_judge("rooms").to(device)  # forget hands it images on the CPU, moved to its device per batch
        det = load_detector(args.object, device)
    r = run_experiment(gan, seg, args.out, boxes_json=args.boxes, detector=det, sweep=not args.no_sweep,
                       layer=args.layer, obj=args.object, n_eval=args.n_eval,
                       n_probe=150 if args.n_probe is None else args.n_probe,
                       n_curve=args.n_curve, seed=args.seed, causal_steps=args.causal_steps,
                       joint_layers=args.joint_layers, device=device)
    print(summary(r))
    return 0


def _run_boxes(args, gan, device) -> int:
    """``--boxes``: forget the user's label measured from the boxes (``app.forget_from_boxes``)."""
    from ..dissect.instruments import SegmenterInstrument
    from .forget_from_boxes import box_summary, label_from_path, run_from_boxes
    label = args.label or label_from_path(args.boxes)
    bf = _read_boxes(args.boxes, gan.generator, args.n_probe, args.seed, whole=True)  # checked before writing
    reference = None
    if not args.no_segmenter:
        from ..judges import load_judge
        seg = load_judge("rooms")
        if label in seg.classes:
            reference = SegmenterInstrument(seg, label)
    r = run_from_boxes(gan, bf, args.out, label=label, layer=args.layer, seed=args.seed, reference=reference,
                       device=device)
    print(box_summary(r))
    print(f"wrote {args.out}/metrics.json, images.npz, forget_{label}.png, forget_{label}.html")
    return 0


def load_detector(obj: str, device=None):
    """The shipped second window instrument (pretrained/judges/windows.safetensors) when ``obj`` is "window",
    else None (it measures windows only)."""
    if obj != "window":
        return None
    from ..judges import judge_path
    from ..judges.windows import WindowDetector
    det = WindowDetector.load(judge_path("windows")).eval()
    return det if device is None else det.to(device)


def _vs(m: dict, key: str, fmt: str = "{:.4f}") -> str:
    return f"{fmt.format(m[key])} (random control {fmt.format(m[key + '_random'])})"


def summary(r) -> str:
    """The forget run in plain lines (``r``: ForgetResult or its dict); changes are signed, in words."""
    m = r.to_dict() if hasattr(r, "to_dict") else r
    o = m["object"]
    lines = [f"layer {m['layer']}: {m['maps_dropped']} of {m['n_maps']} maps have positive probe weight "
             f"(probe AUC {m['probe_auc']:.3f} on held-out images, {m['n_boxes']} {m['box_source']} boxes in "
             f"{m['n_probe_samples']} samples)"]
    if not m["measured"]:
        return "\n".join(lines + ["no segmenter: removal not measured (see the before/after images)",
                                   f"seconds: {m['seconds']}"])
    pct = "{:.1%}"
    lines += [
        f"{o} pixels: {100 * m['fraction_before']:.3f}% -> {100 * m['fraction_after']:.3f}% "
        f"({_change(m['fraction_before'], m['fraction_after'])}); random control "
        f"{100 * m['fraction_after_random']:.3f}% ({_change(m['fraction_before'], m['fraction_after_random'])})",
        f"samples with {o}s losing >= 90% of their {o} pixels: {_vs(m, 'share_samples_removed', pct)} "
        f"of {m['n_bearing']}",
        f"change outside the original {o}s: {_vs(m, 'outside_change')}",
        f"former {o} pixels became: {_shares(m['replaced_by'])}",
        f"fewest maps for >= 90% removal (a quarter of the layer = {m['quarter_of_maps']}): "
        + "; ".join(f"{RANKINGS.get(name, name)} {_min_k_words(k)}" for name, k in m["min_k_90"].items()),
    ]
    if m.get("causal"):
        c = m["causal"]
        lines.append(f"causal selection (mask optimised {c['steps']} steps), top quarter = {m['quarter_of_maps']} "
                     f"maps: {o} pixels {_signed(c['quarter_reduction'])}, "
                     f"{100 * c['quarter_share_samples_removed']:.1f}% of samples lose >= 90%, "
                     f"outside change {c['quarter_outside_change']:.4f}")
    if m.get("instruments"):
        lines += instrument_lines(m)
    if m.get("joint") and "reduction" in m["joint"]:
        j = m["joint"]
        lines.append(f"joint drop at {' + '.join(j['layers'])} "
                     f"({' + '.join(str(n) for n in j['maps_dropped'].values())} maps): {o} pixels "
                     f"{_signed(j['reduction'])} (random control {_signed(j['reduction_random'])}), "
                     f"{_vs(j, 'share_samples_removed', pct)} of samples lose >= 90%, outside change "
                     f"{_vs(j, 'outside_change')}")
    return "\n".join(lines + [f"seconds: {m['seconds']}"])


VARIANTS = {"probe": "probe's maps dropped", "random": "random control", "causal_quarter": "causal top quarter",
            "joint": "joint drop", "joint_random": "joint random control"}


def instrument_lines(m: dict) -> list[str]:
    """The second instrument's reading and the two instruments' (dis)agreement, one line per drop."""
    ins, o = m["instruments"], m["object"]
    fb, ab = ins["fraction_before"], ins["agreement_before"]
    lines = [f"second instrument ({ins['detector']}, built independently of the segmenter): {o} pixels before "
             f"{100 * fb['detector']:.3f}% (segmenter {100 * fb['segmenter']:.3f}%); on the unedited samples the two "
             f"agree on {o} presence in {100 * ab['image_presence_agreement']:.1f}% of images, per-image "
             f"correlation {ab['fraction_corr']:.2f}"]
    for key, name in VARIANTS.items():
        v = ins.get(key)
        if not v:
            continue
        s, d, a = v["segmenter"], v["detector"], v["agreement_after"]
        verdict = ("the instruments disagree: " + "; ".join(v["reasons"])) if v["disagree"] else "instruments agree"
        lines.append(f"  {name}: segmenter {_signed(s['reduction'])}, detector {_signed(d['reduction'])} {o} pixels "
                     f"(presence agreement {100 * a['image_presence_agreement']:.1f}%, correlation "
                     f"{a['fraction_corr']:.2f}) - {verdict}")
    if any(ins.get(key, {}).get("disagree") for key in VARIANTS):
        lines.append(TRUST)
    return lines


# Why the segmenter's figure is the headline when the two instruments disagree (README, docs/results.md).
TRUST = ("  which to trust: the segmenter (the headline figure). On the degradation suite (1,000 held-out rooms, "
         "pretrained/judges/bench_judges.json) its window precision and recall stay >= 0.90 under every edit, while "
         "the detector's fall below that where windows are partly painted over; read the gap as the figure's "
         "uncertainty")


RANKINGS = {"probe": "probe ranking", "iou": "IoU ranking", "causal": "causal ranking", "random": "random order"}


def _min_k_words(k) -> str:
    return "not reached on the curve" if k is None else f"{k} maps"


def _shares(shares: dict) -> str:
    """{"wall": 0.52, "floor": 0.2} -> "wall 52.0%, floor 20.0%" (largest first)."""
    if not shares:
        return "(none)"
    return ", ".join(f"{k} {100 * v:.1f}%" for k, v in sorted(shares.items(), key=lambda kv: -kv[1]))


def _signed(reduction: float) -> str:
    """A reduction as the signed change of the pixels: 0.646 -> "-64.6%", -0.543 -> "+54.3%"."""
    return f"{-100 * reduction:+.1f}%"
