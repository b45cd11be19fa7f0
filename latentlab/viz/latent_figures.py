"""Figures for ``latentlab.latent``: walks (slider + play), smoothness, arithmetic, axes. Plotly only,
no computation: every function takes tensors already computed and returns a ``go.Figure``.

Images are embedded as PNG data URIs in ``go.Image(source=...)`` traces (one per frame or panel), which
keeps the HTML small and fast.
"""
from __future__ import annotations

import numpy as np
import torch

from .images import png_data_uri, to_uint8_grid

ROTATION_TITLE = "Turn vector: mean(right) - mean(left)"  # axis_figure's title for RotationAxis (DCGAN Fig. 8)

__all__ = ["ROTATION_TITLE", "walk_figure", "smoothness_figure", "arithmetic_figure", "axis_figure"]


def _frame_png(image: torch.Tensor, scale: int) -> str:
    return png_data_uri(to_uint8_grid(image[None], nrow=1, padding=0, scale=scale))


def _hide_axes(fig, **kw):
    fig.update_xaxes(visible=False, **kw)
    fig.update_yaxes(visible=False, **kw)


def walk_figure(images: torch.Tensor, labels=None, *, title: str = "", scale: int = 4, duration: int = 150):
    """A walk's frames (T, C, H, W) in [-1, 1]: one image trace per frame, a slider and play/pause buttons."""
    import plotly.graph_objects as go

    images = torch.as_tensor(images)
    if images.dim() != 4:
        raise ValueError(f"images: expected frames (T, C, H, W), got {tuple(images.shape)}")
    T = images.shape[0]
    labels = list(labels) if labels is not None else [str(i) for i in range(T)]
    if len(labels) != T:
        raise ValueError(f"labels: expected {T} frame labels, got {len(labels)}")
    sources = [_frame_png(images[i], scale) for i in range(T)]
    names = [f"{i}" for i in range(T)]
    fig = go.Figure(data=[go.Image(source=sources[0])],
                    frames=[go.Frame(data=[go.Image(source=s)], name=n) for s, n in zip(sources, names)])
    anim = dict(frame=dict(duration=duration, redraw=True), mode="immediate", transition=dict(duration=0))
    h, w = images.shape[-2] * scale, images.shape[-1] * scale
    fig.update_layout(
        title=title, width=max(w + 80, 420), height=h + 220, margin=dict(l=20, r=20, t=60, b=20),
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.08, xanchor="left", yanchor="top",
                          buttons=[dict(label="Play", method="animate", args=[None, {**anim, "fromcurrent": True}]),
                                   dict(label="Pause", method="animate",
                                        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])])],
        sliders=[dict(active=0, x=0.34, len=0.66, y=-0.05, currentvalue=dict(prefix="step "),
                      steps=[dict(label=lab, method="animate", args=[[n], anim]) for lab, n in zip(labels, names)])],
    )
    _hide_axes(fig)
    return fig


def smoothness_figure(distances, *, factor: float, feature_name: str = "", title: str = ""):
    """Bar chart of the distances between consecutive frames, with the median and factor x median lines;
    the largest step is red when it exceeds the threshold (a possible memorization jump)."""
    import plotly.graph_objects as go

    d = torch.as_tensor(distances).detach().float().cpu().numpy()
    med = float(np.median(d))
    colors = ["#636efa"] * len(d)
    if len(d) and med > 0 and d.max() > factor * med:
        colors[int(d.argmax())] = "#d62728"
    fig = go.Figure(go.Bar(x=[f"{i}->{i + 1}" for i in range(len(d))], y=d, marker_color=colors,
                           name="step distance"))
    fig.add_hline(y=med, line_dash="dot", annotation_text="median")
    fig.add_hline(y=factor * med, line_dash="dash", line_color="#d62728",
                  annotation_text=f"{factor:g} x median: jump threshold")
    space = ("pixel values in [-1, 1]" if feature_name in ("", "pixels")
             else feature_name if feature_name.endswith("features") else f"{feature_name} features")
    fig.update_layout(title=title, xaxis_title="consecutive frames (frame i -> i + 1)",
                      yaxis_title=f"Euclidean distance ({space})", width=700, height=380, showlegend=False)
    return fig


def arithmetic_figure(terms, grid: torch.Tensor, *, title: str = "", scale: int = 2):
    """Vector arithmetic as DCGAN Fig. 7: per term (name, coefficient, exemplars (k, C, H, W) or None,
    G(mean) (C, H, W) or None) a row with its exemplars and their mean; the 3x3 result grid on the right."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = len(terms)
    if n == 0:
        raise ValueError("terms: expected at least one term")
    grid = torch.as_tensor(grid)
    titles = []
    for name, coef, _, _ in terms:
        sign = "+" if coef >= 0 else "-"
        mult = "" if abs(coef) == 1 else f"{abs(coef):g} x "
        titles += [f"{sign} {mult}{name}: exemplars", "mean z"]
    specs = [[{}, {}, {"rowspan": n} if i == 0 else None] for i in range(n)]
    fig = make_subplots(rows=n, cols=3, specs=specs, column_widths=[0.45, 0.15, 0.4], horizontal_spacing=0.03,
                        vertical_spacing=0.08, subplot_titles=titles[:2] + ["result: G(Y) centre, Y + noise around"]
                        + titles[2:])
    for i, (name, coef, ex, mean) in enumerate(terms, start=1):
        if ex is not None:
            fig.add_trace(go.Image(source=png_data_uri(to_uint8_grid(ex, nrow=len(ex), scale=scale))), row=i, col=1)
        if mean is not None:
            fig.add_trace(go.Image(source=png_data_uri(to_uint8_grid(mean[None], nrow=1, scale=scale))), row=i, col=2)
    fig.add_trace(go.Image(source=png_data_uri(to_uint8_grid(grid, nrow=3, scale=scale))), row=1, col=3)
    _hide_axes(fig)
    fig.update_layout(title=title, width=1100, height=max(420, 200 * n), margin=dict(l=20, r=20, t=80, b=20))
    return fig


def axis_figure(images: torch.Tensor, coefficients, *, title: str = "", scale: int = 2):
    """Images (N, K, C, H, W): one row per z, one column per coefficient along an axis."""
    import plotly.graph_objects as go

    images = torch.as_tensor(images)
    if images.dim() != 5:
        raise ValueError(f"images: expected (N, K, C, H, W), got {tuple(images.shape)}")
    n, k = images.shape[:2]
    coef = [] if coefficients is None else [float(c) for c in torch.as_tensor(coefficients).reshape(-1)]
    arr = to_uint8_grid(images.flatten(0, 1), nrow=k, padding=2, scale=scale)
    fig = go.Figure(go.Image(source=png_data_uri(arr)))
    cell = arr.shape[1] / k
    if len(coef) == k:
        fig.update_xaxes(tickmode="array", tickvals=[cell * (j + 0.5) for j in range(k)],
                         ticktext=[f"{c:+.2f}" for c in coef], side="top",
                         title_text="coefficient along the axis (multiples of the axis vector, in z units)")
    else:
        fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    top = 100 if len(coef) == k else 50 if title else 10   # room for the ticks + axis title, a title, or nothing
    fig.update_layout(title=title, width=min(1200, arr.shape[1] + 80), height=arr.shape[0] + top + 30,
                      margin=dict(l=20, r=20, t=top, b=20))
    return fig
