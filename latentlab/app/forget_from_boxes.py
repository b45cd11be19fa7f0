"""`latentlab forget MODEL --boxes FILE`: forget the user's label, measured from the user's boxes only.

Writes OUT/metrics.json (``BoxForget.to_dict()``), OUT/images.npz (``before``, ``after``, ``after_random``: uint8
(n_probe, H, W, 3) of every probe sample in sample order, as the default edit made them), OUT/forget_<label>.png
(held-out boxed samples: before / the default drop / as many random maps dropped the same way) and
OUT/forget_<label>.html (those rows and the removal / locality curves).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["run_from_boxes", "box_figures", "box_summary", "label_from_path", "write_images"]


def label_from_path(path) -> str:
    """The label a boxes file names: its stem without a "_boxes"/"-boxes" suffix ("glasses_boxes.json" ->
    "glasses")."""
    stem = Path(path).stem
    for suffix in ("_boxes", "-boxes", ".boxes"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def write_images(path, images: dict) -> Path:
    """``images.npz`` with uint8 ``before``, ``after``, ``after_random`` (n, H, W, 3), written atomically."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, **{k: images[k] for k in ("before", "after", "after_random")})
    os.replace(tmp, path)
    return path


def box_figures(r, n_show: int = 10):
    """(labelled PNG uint8, [(heading, figure)]) of a BoxForget ``r``: rows of the held-out boxed samples (the
    first ``n_show``) and the curves."""
    import torch

    from ..viz.forget_figures import box_curves_figure, forget_rows_figure, labelled_rows_image
    from ..viz.images import to_uint8_grid
    show = np.asarray(r.probe["held_out_boxed"], dtype=int)[:n_show]
    to_t = lambda a: torch.from_numpy(a[show]).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
    d = r.default
    rows = {"before": to_t(r.images["before"]), f"default drop ({d.k} maps)": to_t(r.images["after"]),
            f"{d.k} random maps, same way": to_t(r.images["after_random"])}
    png = labelled_rows_image({k: to_uint8_grid(x, nrow=len(show), scale=2) for k, x in rows.items()},
                              caption=f"held-out {r.label} samples; {r.choice['drop']}")
    figs = [(f"Held-out {r.label} samples: before / {r.choice['drop']} / random maps dropped the same way",
             forget_rows_figure(rows, nrow=len(show), image_size=r.images["before"].shape[1])),
            (f"Removal and locality over k, held-out samples (read by {r.instrument['name']})",
             box_curves_figure([c.to_dict() for c in r.curves], r.label, r.instrument["name"], r.choice))]
    return png, figs


def _pct(x: float) -> str:
    """A signed percentage, or why there is none (the instrument saw no object before the edit: 1 - after/before
    is undefined)."""
    return f"{100 * x:+.1f}%" if np.isfinite(x) else "unmeasured (the instrument finds none before the edit)"


def box_summary(r) -> str:
    """The from-boxes run in plain lines; every number says what measured it."""
    p, d, i = r.probe, r.default, r.instrument
    lines = [f"{r.label}: {p['n_boxes']} boxes on {p['n_samples']} probe samples, split {p['n_train']} train / "
             f"{p['n_held_out']} held-out ({p['n_held_out_boxed']} held-out with boxes); probe on {r.layer}: "
             f"held-out cell AUC {p['held_out_auc']:.3f}, {p['n_positive_maps']} of {p['n_maps']} maps positive",
             f"instrument: {i['name']} (fitted on {i['fitted_on']}): finds {100 * i['box_cells_found']:.1f}% of the "
             f"held-out box cells, calls {100 * i['false_cells_without_boxes']:.1f}% of cells {r.label} on held-out "
             "samples without boxes",
             f"default ({r.choice['rule']}): {r.choice['drop']}",
             f"  held-out: {r.label} removal {_pct(d.removal)} (random maps {_pct(d.removal_random)}), "
             f"read by the box-only detector",
             f"  held-out: locality {d.locality:.2f}x (random maps {d.locality_random:.2f}x), mean |change| inside "
             f"the user's boxes / outside, pixels; change outside {d.change_outside:.4f}"]
    if r.reference_default is not None:
        ref = r.reference_default
        lines.append(f"  held-out: the same drop read by {ref.instrument}: {_pct(ref.removal)} removal (random maps "
                     f"{_pct(ref.removal_random)})")
    if r.comparison is not None:
        c = r.comparison
        lines.append(f"box-only detector vs {c.reference}, {r.label} removal over k={c.ks} (probe ranking, dropped "
                     f"everywhere, held-out samples): correlation {c.correlation:.3f}")
    return "\n".join(lines)


def run_from_boxes(gan, boxes_file, out, *, label: str, layer=None, seed: int = 0, reference=None,
                   device=None):
    """Run ``forget_from_boxes`` and write its files to ``out`` (see the module); returns the BoxForget."""
    from PIL import Image

    from ..dissect.forget_boxes import forget_from_boxes
    G = gan.generator if hasattr(gan, "generator") else gan
    r = forget_from_boxes(G, boxes_file, label=label, layers=layer, seed=seed, reference=reference, device=device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    png, figs = box_figures(r)
    Image.fromarray(png).save(out / f"forget_{label}.tmp.png")
    os.replace(out / f"forget_{label}.tmp.png", out / f"forget_{label}.png")
    from ..viz.page import page, write_page
    write_page(out / f"forget_{label}.html", page(f"Forgetting {label}", [f"<pre>{box_summary(r)}</pre>"] +
                                                  [x for h, fig in figs for x in (f"<h2>{h}</h2>", fig)]))
    write_images(out / "images.npz", r.images)
    r.to_json(out / "metrics.json.tmp")
    os.replace(out / "metrics.json.tmp", out / "metrics.json")
    return r
