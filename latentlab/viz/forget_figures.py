"""Figures for the forgetting-objects experiment (DCGAN Fig. 6): static rows and an interactive page."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .images import png_data_uri, to_uint8_grid

__all__ = ["forget_rows_figure", "k_slider_figure", "probe_weights_figure", "removal_curve_figure"]


def forget_rows_figure(rows: dict, nrow: int, scale: int = 3) -> go.Figure:
    """Rows of samples, e.g. {"original": x0, "windows dropped": x1, "random control": x2}, each (n, C, H, W)."""
    fig = make_subplots(rows=len(rows), cols=1, subplot_titles=list(rows), vertical_spacing=0.04)
    for i, (name, x) in enumerate(rows.items(), 1):
        fig.add_trace(go.Image(source=png_data_uri(to_uint8_grid(x, nrow=nrow, scale=scale)), name=name), i, 1)
    fig.update_xaxes(visible=False).update_yaxes(visible=False)
    fig.update_layout(height=260 * len(rows), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def k_slider_figure(grids: dict, fractions: dict, title: str = "") -> go.Figure:
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
        # invisible markers over each sample carry its window fraction on hover
        tile = (grids[k].shape[-1] + 2) * 3
        fig.add_trace(go.Scatter(x=[(i + 0.5) * tile for i in range(n)], y=[tile / 2] * n, mode="markers",
                                 marker=dict(size=tile * 0.8, opacity=0.0), visible=(j == 0),
                                 text=[f"sample {i}: window pixels {100 * f:.2f}%" for i, f in enumerate(fr)],
                                 hoverinfo="text", showlegend=False))
    steps = []
    for j, k in enumerate(ks):
        vis = [False] * (2 * len(ks))
        vis[j] = vis[len(ks) + j] = True
        steps.append(dict(method="update", label=str(k), args=[{"visible": vis},
                                                                 {"title": f"{title} — top {k} maps dropped"}]))
    fig.update_layout(sliders=[dict(active=0, currentvalue=dict(prefix="maps dropped k = "), steps=steps)],
                      title=f"{title} — top {ks[0]} maps dropped", height=330,
                      margin=dict(l=10, r=10, t=50, b=10))
    fig.update_xaxes(visible=False).update_yaxes(visible=False, autorange="reversed")
    return fig


def probe_weights_figure(weights, iou=None, title: str = "probe weight per feature map") -> go.Figure:
    """Bar chart of the probe's weight per map, sorted; hover shows the map index (and IoU)."""
    w = np.asarray(weights)
    order = np.argsort(-w, kind="stable")
    text = [f"map {m}: weight {w[m]:.3f}" + (f", IoU {iou[m]:.3f}" if iou is not None else "") for m in order]
    fig = go.Figure(go.Bar(x=list(range(len(w))), y=w[order], text=text, hoverinfo="text", textposition="none",
                           marker_color=np.where(w[order] > 0, "#d62728", "#7f7f7f")))
    fig.update_layout(title=title, xaxis_title="rank (maps sorted by weight; red = weight > 0, dropped)",
                      yaxis_title="weight", height=350)
    return fig


def removal_curve_figure(curves: dict, n_maps: int, title: str = "window pixels vs maps dropped") -> go.Figure:
    """Curves {name: {k: fraction}} (object pixel share after dropping the top-k maps)."""
    fig = go.Figure()
    for name, c in curves.items():
        ks = sorted(int(k) for k in c)
        fig.add_trace(go.Scatter(x=ks, y=[100 * c[str(k)] if str(k) in c else 100 * c[k] for k in ks],
                                 mode="lines+markers", name=name))
    fig.add_vline(x=n_maps / 4, line_dash="dot", annotation_text="a quarter of the maps")
    fig.update_layout(title=title, xaxis_title="k (maps dropped)", yaxis_title="window pixels (% of image)",
                      height=350)
    return fig
