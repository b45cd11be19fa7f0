"""Figures for the forgetting-objects experiment (DCGAN Fig. 6): static rows and an interactive page.

Figures take arrays: where a judge sees the object is drawn by the caller (outlines painted on copies of the
images, ``latentlab.judges.outline.overlay_outline``) and passed in beside the plain images.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .images import png_data_uri, to_uint8_grid

__all__ = ["forget_rows_figure", "k_slider_figure", "probe_weights_figure", "removal_curve_figure",
           "labelled_rows_image", "instruments_figure", "box_curves_figure", "OUTLINE_SUFFIX"]

OUTLINE_SUFFIX = " (judge's outlines)"   # trace names of the outlined copies


def _font(size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def labelled_rows_image(rows: dict, *, label_width: int = 170, caption: str = "", font_size: int = 14,
                        background: int = 255) -> np.ndarray:
    """Stack image rows under each other with their label on the left (and an optional caption below).

    rows: {label: (H, W_i, 3) uint8 row image} (e.g. ``to_uint8_grid`` of each row). Returns (H', W', 3) uint8:
    a white strip of ``label_width`` px holding each label (wrapped at spaces), then the row.
    """
    from PIL import Image, ImageDraw
    if not rows:
        raise ValueError("rows: expected at least one {label: image} row, got none")
    for name, arr in rows.items():
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"rows[{name!r}]: expected a uint8 (H, W, 3) array, got "
                             f"{getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}")
    font = _font(font_size)
    width = label_width + max(a.shape[1] for a in rows.values())
    cap_h = (font_size + 8) * (1 + caption.count("\n")) if caption else 0
    height = sum(a.shape[0] for a in rows.values()) + cap_h
    canvas = Image.new("RGB", (width, height), (background,) * 3)
    draw = ImageDraw.Draw(canvas)
    y = 0
    for name, arr in rows.items():
        canvas.paste(Image.fromarray(arr), (label_width, y))
        lines, line = [], ""
        for word in str(name).split():
            trial = f"{line} {word}".strip()
            if line and draw.textlength(trial, font=font) > label_width - 12:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
        top = y + max(0, (arr.shape[0] - len(lines) * (font_size + 4)) // 2)
        for i, text in enumerate(lines):
            draw.text((6, top + i * (font_size + 4)), text, fill=(0, 0, 0), font=font)
        y += arr.shape[0]
    if caption:
        draw.text((6, y + 4), caption, fill=(0, 0, 0), font=font)
    return np.asarray(canvas, dtype=np.uint8).copy()


def forget_rows_figure(rows: dict, nrow: int, scale: int = 3, outlined: dict | None = None,
                       image_size: int | None = None) -> go.Figure:
    """Rows of samples, e.g. {"before": x0, "probe's maps dropped": x1, "random maps dropped": x2}, each
    (n, C, H, W) in [-1, 1].

    ``outlined``: the same rows with a judge's outlines painted on (same keys); then both versions are in the
    figure (trace names get :data:`OUTLINE_SUFFIX`), the outlined ones shown first, with buttons to switch.
    """
    if outlined is not None and list(outlined) != list(rows):
        raise ValueError(f"outlined: expected the same rows as rows ({list(rows)}), got {list(outlined)}")
    fig = make_subplots(rows=len(rows), cols=1, subplot_titles=list(rows), vertical_spacing=0.06)
    versions = [(outlined, OUTLINE_SUFFIX), (rows, "")] if outlined is not None else [(rows, "")]
    for j, (version, suffix) in enumerate(versions):
        for i, (name, x) in enumerate(version.items(), 1):
            fig.add_trace(go.Image(source=png_data_uri(to_uint8_grid(x, nrow=nrow, scale=scale)), name=name + suffix,
                                   visible=(j == 0), hoverinfo="skip"), i, 1)
    if outlined is not None:
        n = len(rows)
        fig.update_layout(updatemenus=[dict(type="buttons", direction="right", x=0, y=1.08, xanchor="left",
                                            buttons=[dict(label="judge's outlines", method="restyle",
                                                          args=[{"visible": [True] * n + [False] * n}]),
                                                     dict(label="plain images", method="restyle",
                                                          args=[{"visible": [False] * n + [True] * n}])])])
    size = f"{image_size}x{image_size} px each, " if image_size else ""
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False,
                     title_text=f"evaluation samples ({size}shown {scale}x)")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, title_text="")
    fig.update_layout(height=280 * len(rows), margin=dict(l=10, r=10, t=70, b=10))
    return fig


def k_slider_figure(grids: dict, fractions: dict, title: str = "", object_name: str = "window") -> go.Figure:
    """A slider over k: grids {k: (n, C, H, W)} and per-sample object fractions {k: (n,)} shown on hover."""
    ks = sorted(grids)
    fig = go.Figure()
    for j, k in enumerate(ks):
        arr = to_uint8_grid(grids[k], nrow=len(grids[k]), scale=3)
        fig.add_trace(go.Image(source=png_data_uri(arr), visible=(j == 0), name=f"k={k}",
                               hovertemplate=f"k={k}<extra></extra>"))
    n = len(grids[ks[0]])
    for j, k in enumerate(ks):
        fr = np.asarray(fractions[k])
        # invisible markers over each sample carry its object fraction on hover
        tile = (grids[k].shape[-1] + 2) * 3
        fig.add_trace(go.Scatter(x=[(i + 0.5) * tile for i in range(n)], y=[tile / 2] * n, mode="markers",
                                 marker=dict(size=tile * 0.8, opacity=0.0), visible=(j == 0),
                                 text=[f"sample {i}: {object_name} pixels {100 * f:.2f}%" for i, f in enumerate(fr)],
                                 hoverinfo="text", showlegend=False))
    steps = []
    for j, k in enumerate(ks):
        vis = [False] * (2 * len(ks))
        vis[j] = vis[len(ks) + j] = True
        steps.append(dict(method="update", label=str(k), args=[{"visible": vis},
                                                                 {"title": f"{title} — top {k} maps dropped"}]))
    fig.update_layout(sliders=[dict(active=0, currentvalue=dict(prefix="maps dropped k = "), steps=steps)],
                      title=f"{title} — top {ks[0]} maps dropped", height=360,
                      margin=dict(l=10, r=10, t=50, b=10))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False,
                     title_text=f"evaluation samples (pixels, shown 3x; hover: the segmenter's {object_name} share)")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    return fig


def probe_weights_figure(weights, iou=None, title: str = "probe weight per feature map") -> go.Figure:
    """Bar chart of the probe's weight per map, sorted; hover shows the map index (and IoU)."""
    w = np.asarray(weights)
    order = np.argsort(-w, kind="stable")
    text = [f"map {m}: weight {w[m]:.3f}" + (f", IoU {iou[m]:.3f}" if iou is not None else "") for m in order]
    fig = go.Figure(go.Bar(x=list(range(len(w))), y=w[order], text=text, hoverinfo="text", textposition="none",
                           marker_color=np.where(w[order] > 0, "#d62728", "#7f7f7f")))
    fig.update_layout(title=title, xaxis_title="rank of the feature map (sorted by weight; red = weight > 0, dropped)",
                      yaxis_title="probe weight<br>(per standardised unit)", height=350)
    return fig


def removal_curve_figure(curves: dict, n_maps: int, title: str | None = None,
                         object_name: str = "window") -> go.Figure:
    """Curves {name: {k: fraction}} (object pixel share after dropping the top-k maps)."""
    fig = go.Figure()
    for name, c in curves.items():
        ks = sorted(int(k) for k in c)
        fig.add_trace(go.Scatter(x=ks, y=[100 * c[str(k)] if str(k) in c else 100 * c[k] for k in ks],
                                 mode="lines+markers", name=name))
    fig.add_vline(x=n_maps / 4, line_dash="dot", annotation_text="a quarter of the maps")
    fig.update_layout(title=title or f"{object_name} pixels vs maps dropped",
                      xaxis_title=f"k (feature maps dropped, of {n_maps})",
                      yaxis_title=f"{object_name} pixels (% of image, segmenter)", height=350)
    return fig


def instruments_figure(names, segmenter, detector, disagree=None, object_name: str = "window",
                       title: str | None = None) -> go.Figure:
    """Both instruments' change of object pixels per drop, side by side.

    names: the drops (e.g. ["probe's maps dropped", "random control"]); segmenter, detector: (len(names),)
    relative changes in % (negative: fewer object pixels); disagree: (len(names),) bools, marked with "≠".
    """
    names = list(names)
    a, b = np.asarray(segmenter, dtype=float), np.asarray(detector, dtype=float)
    if a.shape != (len(names),) or b.shape != (len(names),):
        raise ValueError(f"segmenter, detector: expected one value per name ({len(names)}), got "
                         f"{a.shape} and {b.shape}")
    flags = np.zeros(len(names), bool) if disagree is None else np.asarray(disagree, bool)
    labels = [f"{n} ≠" if f else n for n, f in zip(names, flags)]
    fig = go.Figure([go.Bar(x=labels, y=a, name="room segmenter (per pixel)", marker_color="#1f77b4",
                            hovertemplate="%{x}: %{y:+.1f}%<extra>segmenter</extra>"),
                     go.Bar(x=labels, y=b, name="window detector (per region)", marker_color="#ff7f0e",
                            hovertemplate="%{x}: %{y:+.1f}%<extra>detector</extra>")])
    fig.add_hline(y=0, line_color="#444")
    fig.update_layout(barmode="group", height=360,
                      title=title or f"{object_name} pixels read by two instruments (≠: they disagree)",
                      xaxis_title="drop (the same evaluation samples)",
                      yaxis_title=f"change of {object_name} pixels (% of before)")
    return fig


def box_curves_figure(curves: list, label: str, instrument: str, chosen: dict | None = None) -> go.Figure:
    """Forget from boxes: removal and locality over k for each (ranking, where, off) curve, and the random
    control of each (dotted).

    curves: [{"layer", "ranking", "where", "off", "points": [{"k", "removal", "removal_random", "locality",
    "locality_random", ...}]}] (``Curve.to_dict()``); chosen: {"ranking", "where", "off", "k"} (marked with a star).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"{label} removal (read by {instrument})",
                                                        "locality: |change| inside the boxes / outside"))
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf"]
    for i, c in enumerate(curves):
        name = f"{c.get('layer', '')} {c['ranking']}, {c['where']}, off={c['off']}".strip()
        ks = [p["k"] for p in c["points"]]
        color = palette[i % len(palette)]
        for col, key in ((1, "removal"), (2, "locality")):
            fig.add_trace(go.Scatter(x=ks, y=[p[key] for p in c["points"]], mode="lines+markers", name=name,
                                     legendgroup=name, showlegend=col == 1, line=dict(color=color)), 1, col)
            fig.add_trace(go.Scatter(x=ks, y=[p[key + "_random"] for p in c["points"]], mode="lines",
                                     name=name + " (random maps)", legendgroup=name, showlegend=False,
                                     line=dict(color=color, dash="dot")), 1, col)
    if chosen:
        for c in curves:
            key = ("layer", "ranking", "where", "off")
            if all(c.get(k) == chosen.get(k) for k in key):
                p = next((p for p in c["points"] if p["k"] == chosen["k"]), None)
                if p:
                    for col, key in ((1, "removal"), (2, "locality")):
                        fig.add_trace(go.Scatter(x=[p["k"]], y=[p[key]], mode="markers", name="default",
                                                 showlegend=col == 1, marker=dict(symbol="star", size=16,
                                                                                  color="black")), 1, col)
    fig.update_xaxes(title_text="k (maps dropped)", type="log")
    fig.update_yaxes(title_text="1 - after / before (held-out boxed samples)", row=1, col=1)
    fig.update_yaxes(title_text="inside / outside", type="log", row=1, col=2)
    fig.update_layout(height=420, title="dotted: as many random maps dropped the same way", margin=dict(t=80))
    return fig
