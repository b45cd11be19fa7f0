"""The report's judge-free latent sections, for any generator (a converted foreign DCGAN without a D included):

* ``sefa``: SeFa's closed-form directions (Shen & Zhou 2021), measured in pixels only: how much the image moves
  per step along each direction, and each eigenvalue's share;
* ``labels`` (with ``--labels FILE``): the user's tags drive DCGAN §6.3.2's arithmetic and turn axis and
  InterFaceGAN boundaries; every number is measured with instruments fitted on those tags (cross-validated
  agreement of each boundary with the tags, pixel probes), and each says which.

``report.py`` registers them: ``sefa_section(subject, budget, seed)`` and ``labels_section(subject, budget, seed,
tags)``; ``load_report_tags(labels, subject, model)`` checks the file against the model before anything runs.
"""
from __future__ import annotations

import html
import math

import torch

__all__ = ["sefa_section", "labels_section", "load_report_tags", "pick_expression", "pick_turn", "SEFA_K",
           "SEFA_STEPS"]

SEFA_K = 5                          # directions shown
SEFA_STEPS = (-3.0, -1.5, 0.0, 1.5, 3.0)   # in units of sqrt(nz) x the prior's per-coordinate std (see _sefa_scale)
EDIT_STEPS = (-2.0, -1.0, 0.0, 1.0, 2.0)   # boundary edits, same units


def load_report_tags(labels, subject, model):
    """The tags file checked against the report's model (its name when it has one, nz, image size, weights)."""
    import os

    from ..latent.tags import TagsFile, load_tags, model_fingerprint
    if labels is None or isinstance(labels, TagsFile):
        return labels
    if subject.lm.conditional:
        raise ValueError("labels: tags are made on an unconditional model's samples; this model is class-conditional")
    name = str(model) if isinstance(model, (str, os.PathLike)) else None
    try:
        return load_tags(labels, model=name, nz=subject.lm.nz, image_size=subject.shape[-1],
                         fingerprint=model_fingerprint(subject.lm.module))
    except ValueError as e:
        raise ValueError(f"labels: {e}") from None


def _sefa_scale(lm) -> float:
    """One step unit: the typical length of z (sqrt(nz) x per-coordinate std), so steps mean the same for any nz."""
    std = 1.0 if lm.prior != "uniform" else 1 / math.sqrt(3)
    return std * math.sqrt(lm.nz) / 4


def _pixel_change(images: torch.Tensor) -> float:
    """Mean |image(+max step) - image(-max step)| over rows, in [-1, 1] pixel units."""
    return float((images[:, -1] - images[:, 0]).abs().mean())


def sefa_section(s, b, seed: int):
    from ..latent.directions import edit, sefa
    from ..viz.latent_figures import axis_figure
    from .report_sections import Section

    lm = s.lm
    k = min(SEFA_K, lm.nz)
    try:
        every = sefa(lm, k=lm.nz)             # all eigenvalues, for each direction's share of their sum
    except TypeError as e:
        raise ValueError(str(e)) from None
    dirs, total = every[:k], sum(d.eigenvalue for d in every)
    name = dirs[0].name[len("sefa0("):-1]
    unit = _sefa_scale(lm)
    steps = [c * unit for c in SEFA_STEPS]
    z = lm.sample_z(b.n_rotation, seed=seed + 2)
    c = 0 if lm.conditional else None
    figs, rows = [], []
    for i, d in enumerate(dirs):
        lat = edit(z, d, steps)
        images = lm.generate(lat.flatten(0, 1), c).reshape(len(z), len(steps), *s.shape)
        share, change = d.eigenvalue / total, _pixel_change(images)
        rows.append({"direction": i, "eigenvalue_share": round(share, 4), "pixel_change": round(change, 4)})
        figs.append((f"direction {i}: {100 * share:.1f}% of the eigenvalue sum; mean |pixel change| "
                     f"{change:.3f} end to end", axis_figure(images, steps, title="", scale=1)))
    numbers = (f"Measured in pixels, no judge: mean |G(z + {steps[-1]:.2f} d) - G(z + {steps[0]:.2f} d)| over "
               f"{len(z)} z per direction, images in [-1, 1]; eigenvalue shares of W<sup>T</sup>W of "
               f"{html.escape(name)}. What each direction means is for the eye: no judge names it.")
    return Section("sefa", "SeFa directions",
                   f"The {k} directions in z that the first layer ({html.escape(name)}) amplifies most: the top "
                   "eigenvectors of W<sup>T</sup>W (Shen &amp; Zhou 2021, closed-form factorization; unsupervised). "
                   f"Each row adds multiples of one direction to a random z; a step unit is sqrt(nz)/4 x the prior's "
                   f"standard deviation ({unit:.2f}).", figs, numbers=numbers,
                   data={"layer": name, "steps": [round(v, 4) for v in steps], "directions": rows,
                         "measured_with": "pixels (mean absolute change) and the layer's eigenvalues; no judge"})


# ------------------------------------------------------------------------------------------ labels

def pick_expression(tags) -> tuple[str, str] | None:
    """(expression, expected concept) of DCGAN §6.3.2's form ``A_B - no_A_B + no_A_C`` -> ``A_C``, for tags B, C
    with no sample in common (e.g. man, woman) and an attribute A (e.g. glasses); the triple whose smallest
    concept has the most samples (ties: file order). None when no triple has >= 2 samples per concept."""
    t = _pick_triple(tags)
    return None if t is None else (f"{t[0]}_{t[1]} - no_{t[0]}_{t[1]} + no_{t[0]}_{t[2]}", f"{t[0]}_{t[2]}")


def _pick_triple(tags) -> tuple[str, str, str] | None:
    names = list(tags.tags)
    best, best_n = None, 1
    for a in names:
        for bb in names:
            for cc in names:
                if len({a, bb, cc}) < 3 or set(tags.tags[bb]) & set(tags.tags[cc]):
                    continue
                try:
                    n = min(len(tags.indices(x, 0)) for x in (f"{a}_{bb}", f"no_{a}_{bb}", f"no_{a}_{cc}"))
                except ValueError:      # a name that reads two ways with these tags: not this triple
                    continue
                if n > best_n:
                    best, best_n = (a, bb, cc), n
    return best


def pick_turn(tags) -> tuple[str, str] | None:
    """(left tag, right tag): the tags whose names contain 'left' and 'right' (e.g. looks_left, looks_right)."""
    left = [t for t in tags.tags if "left" in t.lower() and len(tags.tags[t]) >= 2]
    right = [t for t in tags.tags if "right" in t.lower() and len(tags.tags[t]) >= 2]
    return (left[0], right[0]) if left and right else None


def _pairs(tags) -> list[tuple[str, str]]:
    """Disjoint tag pairs worth a boundary of one against the other (tags are rarely exhaustive: 'woman vs
    untagged' mixes in untagged women): the arithmetic's two groups and the turn axis's sides."""
    pairs = []
    triple = _pick_triple(tags)
    if triple is not None:
        pairs.append((triple[2], triple[1]))
    turn = pick_turn(tags)
    if turn is not None:
        pairs.append((turn[1], turn[0]))
    return [(a, b) for a, b in pairs if a in tags.tags and b in tags.tags]


def _boundaries(s, tags):
    """{row name: TagBoundary or None}: each tag against the untagged seen samples, then the disjoint pairs."""
    from ..latent.tag_measures import tag_boundary
    z = tags.z(s.lm)
    out = {}
    for t, against in [(t, None) for t in tags.tags] + _pairs(tags):
        try:
            out[t if against is None else f"{t} vs {against}"] = tag_boundary(z, tags, t, against=against)
        except ValueError:       # fewer than 2 samples with or without it: listed as such
            out[t if against is None else f"{t} vs {against}"] = None
    return out


def _boundary_table(tags, bounds):
    import plotly.graph_objects as go
    rows = [[t, f"{r.n_pos} vs {r.n_neg}" if r else "-"] +
            ([f"{r.auc:.2f}", f"{r.balanced_accuracy:.2f}"] if r else ["-", "-"]) for t, r in bounds.items()]
    cols = list(zip(*rows)) if rows else [[]] * 4
    fig = go.Figure(go.Table(header=dict(values=["tag (vs untagged, or vs a tag)", "samples", "held-out AUC",
                                                 "held-out balanced acc."], align="left"),
                             cells=dict(values=[list(c) for c in cols], align="left")))
    fig.update_layout(height=70 + 30 * len(rows), margin=dict(l=10, r=10, t=10, b=10))
    return fig


def _arith_part(s, tags, seed: int):
    from ..viz.latent_figures import arithmetic_figure
    from .label_edits import arithmetic_from_tags, measure_expect
    pick = pick_expression(tags)
    if pick is None:
        return [], "Arithmetic: no tags A, B, C with >= 2 samples in A_B, no_A_B and no_A_C (B and C disjoint).", {}
    expr, expect = pick
    ar, res = arithmetic_from_tags(s.lm, tags, expr, seed=seed)
    m = measure_expect(s.lm, tags, res.images, expect, res.z)
    fig = arithmetic_figure(ar.term_images(res), res.images, title=expr)
    text = f"Arithmetic {html.escape(expr)} (expected: {html.escape(expect)}): " + "; ".join(
        f"{p['tag']} {p['wanted']}: " + (f"unmeasured ({html.escape(p['unmeasured'])})" if "unmeasured" in p else
                                         f"{100 * p['share']:.0f}% of the 9 (vs {100 * p['share_of_all_samples']:.0f}%"
                                         f" of the labelled samples), measured with {html.escape(p['measured_with'])}")
        for p in m["parts"])
    return [(f"Arithmetic from your tags: {expr}", fig)], text, {"expression": expr, "expect": expect, **m}


def _turn_part(s, tags, b, seed: int):
    from ..viz.latent_figures import axis_figure
    from .label_edits import TURN_COEFFICIENTS, measure_turn, turn_from_tags
    pick = pick_turn(tags)
    if pick is None:
        return [], "Turn axis: no pair of tags named *left* / *right* with >= 2 samples each.", {}
    left, right = pick
    _, images, latents = turn_from_tags(s.lm, tags, left, right, rows=b.n_rotation, seed=seed + 1)
    m = measure_turn(s.lm, tags, left, right, images, TURN_COEFFICIENTS, latents)
    fig = axis_figure(images, TURN_COEFFICIENTS, title=f"mean z({right}) - mean z({left})")
    text = (f"Turn axis {html.escape(right)} - {html.escape(left)}: " +
            (f"unmeasured ({html.escape(m['unmeasured'])})" if "unmeasured" in m else
             f"P({html.escape(right)}) per column {m['p_right_per_column']}, rank correlation with the coefficient "
             f"{m['spearman_coefficient_vs_p_right']:+.2f}; measured with {html.escape(m['measured_with'])}"))
    return [(f"Turn axis from your tags: {left} to {right}", fig)], text, {"left": left, "right": right, **m}


def _direction_part(s, tags, bounds, b, seed: int):
    """The best-agreeing boundary as an edit figure, read by a probe of the same tag (pixels, else G features)."""
    from ..latent.directions import edit
    from ..latent.tag_measures import best_probe
    from ..viz.latent_figures import axis_figure
    from .label_edits import instrument_summary
    ok = {t: r for t, r in bounds.items() if r is not None and t in tags.tags}   # single tags: a probe reads them
    if not ok:
        return [], "Directions: no tag has >= 2 samples with and >= 2 without it.", {}
    t = max(ok, key=lambda k: ok[k].auc)
    steps = [c * _sefa_scale(s.lm) for c in EDIT_STEPS]
    z = s.lm.sample_z(b.n_rotation, seed=seed + 3)
    lat = edit(z, ok[t].direction, steps)
    images = s.lm.generate(lat.flatten(0, 1)).reshape(len(z), len(steps), *s.shape)
    probes = best_probe(s.lm, tags, t)
    m = {"tag": t, "steps": [round(v, 3) for v in steps], **instrument_summary(probes)}
    if "unmeasured" not in m:
        p = probes[-1].read(images=images.flatten(0, 1), z=lat.flatten(0, 1)).reshape(len(z), len(steps))
        m["p_tag_per_column"] = [round(float(v), 3) for v in p.mean(0)]
        text = (f"Boundary of {html.escape(t)} (best held-out AUC {ok[t].auc:.2f}): P({html.escape(t)}) per column "
                f"{m['p_tag_per_column']}, measured with {html.escape(m['measured_with'])}")
    else:
        text = f"Boundary of {html.escape(t)}: edits unmeasured ({html.escape(m['unmeasured'])})"
    return [(f"Moving along the boundary normal of '{t}' (InterFaceGAN)", axis_figure(images, steps, title=""))], \
        text, m


def labels_section(s, b, seed: int, tags):
    from .report_sections import Section
    bounds = _boundaries(s, tags)
    figs, texts, data = [("Each tag's boundary in z, held-out agreement with your tags", _boundary_table(tags,
                                                                                                      bounds))], [], {}
    texts.append("Boundaries: logistic regression on z per tag (negatives: the samples without it among those you "
                 "looked at, all of them unless the file lists 'seen'; and for disjoint tags such as man / woman, one "
                 "against the other), agreement measured on held-out samples by stratified cross-validation on your "
                 "tags (no judge).")
    data["boundaries"] = {t: None if r is None else {"auc": round(r.auc, 3), "balanced_accuracy":
                          round(r.balanced_accuracy, 3), "n_pos": r.n_pos, "n_neg": r.n_neg,
                          "measured_with": r.measured_with} for t, r in bounds.items()}
    for key, part in (("arithmetic", lambda: _arith_part(s, tags, seed)),
                      ("turn", lambda: _turn_part(s, tags, b, seed)),
                      ("direction", lambda: _direction_part(s, tags, bounds, b, seed))):
        f, text, d = part()
        figs += f
        texts.append(text)
        data[key] = d
    counts = ", ".join(f"{html.escape(t)} {n}" for t, n in tags.counts().items())
    return Section("labels", "Your labels: arithmetic, turn axis, directions",
                   f"Your tags on {tags.n} samples (seed {tags.seed}; {counts}) replace a judge: concepts are means "
                   "of the tagged z's (DCGAN §6.3.2, Fig. 7: G(Y) in the centre, Y + noise of scale 0.25 around), "
                   "the turn axis is mean z(right) - mean z(left) (Fig. 8), and each tag gets an InterFaceGAN "
                   "boundary. Every number below names the instrument that measured it; all were fitted on your "
                   "tags only.", figs, numbers="<br>".join(texts), data=data)
