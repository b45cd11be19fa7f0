"""Plotly figures for discriminator filters. They take arrays and return ``go.Figure``; nothing is computed here.

- :func:`filter_grid_figure`: filters x top images with the guided-backprop overlay, one panel per
  discriminator (trained vs random side by side); hovering a tile shows filter, image index, the
  filter's best class and IoU.
- :func:`iou_bar_figure`: per-filter best IoU, coloured by class, one row per discriminator; hovering
  a bar shows filter, its top image, class and IoU.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["GridPanel", "BarPanel", "filter_grid_figure", "iou_bar_figure", "CLASS_COLORS"]

CLASS_COLORS = ("#8c8c8c", "#b5895a", "#c9c3a1", "#1f77b4", "#d62728", "#9467bd", "#e377c2", "#bcbd22",
                "#ff7f0e", "#2ca02c", "#17becf", "#7f7f7f", "#aec7e8", "#98df8a", "#ffbb78", "#c5b0d5")
"""A fixed colour per class index (rooms: wall, floor, ceiling, window (blue), bed (red), ...)."""


@dataclass
class GridPanel:
    """One discriminator's grid.

    Attributes:
        title: panel title, e.g. "trained D (step 1500)".
        tiles: (F', k, H, W, 3) uint8 images (e.g. ``guided_overlay``).
        filters: (F',) filter indices (rows).
        image_indices: (F', k) index of each tile's image in the dataset / sample set.
        best_class: (F',) each filter's best class name.
        best_iou: (F',) each filter's best IoU.
    """

    title: str
    tiles: np.ndarray
    filters: Sequence[int]
    image_indices: np.ndarray
    best_class: Sequence[str]
    best_iou: Sequence[float]


@dataclass
class BarPanel:
    """One discriminator's bars, in the order given (e.g. sorted by IoU).

    Attributes:
        title: row title.
        filters: (F,) filter indices.
        best_class: (F,) best class names.
        best_iou: (F,) best IoUs.
        top_image: (F,) index of the image with the filter's maximal response.
    """

    title: str
    filters: Sequence[int]
    best_class: Sequence[str]
    best_iou: Sequence[float]
    top_image: Sequence[int]


def filter_grid_figure(panels: Sequence[GridPanel], *, title: str = "Discriminator filters: top images with guided backprop",
                       tile_px: int = 84) -> go.Figure:
    """Grid of filters (rows) x top images (columns), panels side by side.

    Each panel is ONE image trace (a PNG data URI of its whole grid), which keeps the page small and
    fast to draw; an invisible marker over every tile carries its hover text (filter, image, class, IoU).
    """
    from .images import png_data_uri

    if not panels:
        raise ValueError("panels: expected at least one GridPanel, got none")
    k = panels[0].tiles.shape[1]
    if any(p.tiles.ndim != 5 or p.tiles.shape[1] != k or p.tiles.shape[-1] != 3 for p in panels):
        raise ValueError(f"panels: expected tiles (F', {k}, H, W, 3) in every panel, got "
                         f"{[tuple(p.tiles.shape) for p in panels]}")
    rows = max(len(p.filters) for p in panels)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[f"<b>{p.title}</b>" for p in panels],
                        horizontal_spacing=0.08)
    pad = 2
    for i, p in enumerate(panels, 1):
        n, _, h, w, _ = p.tiles.shape
        grid = np.full((rows * (h + pad) + pad, k * (w + pad) + pad, 3), 255, np.uint8)
        xs, ys, hover = [], [], []
        for r in range(n):
            for j in range(k):
                y0, x0 = pad + r * (h + pad), pad + j * (w + pad)
                grid[y0:y0 + h, x0:x0 + w] = p.tiles[r, j]
                xs.append(x0 + w / 2)
                ys.append(y0 + h / 2)
                hover.append(f"{p.title}<br>filter {int(p.filters[r])}<br>image {int(p.image_indices[r][j])} "
                             f"(rank {j + 1})<br>best class {p.best_class[r]}<br>IoU {float(p.best_iou[r]):.3f}")
        fig.add_trace(go.Image(source=png_data_uri(grid), hoverinfo="skip", name=p.title), row=1, col=i)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker=dict(size=tile_px * 0.7, opacity=0),
                                 text=hover, hovertemplate="%{text}<extra></extra>", showlegend=False),
                      row=1, col=i)
        centres = [pad + r * (h + pad) + h / 2 for r in range(n)]
        labels = [f"f{int(f)} {p.best_class[r]} {float(p.best_iou[r]):.2f}" for r, f in enumerate(p.filters)]
        fig.update_yaxes(tickmode="array", tickvals=centres, ticktext=labels, autorange="reversed", row=1, col=i,
                         showgrid=False, zeroline=False, tickfont_size=9,
                         title_text="filter: index, best class, IoU (0-1)")
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=i,
                         title_text=f"its top {k} images by activation, guided backprop overlaid")
    fig.update_layout(title=dict(text=title, y=0.995, yanchor="top"), height=int(120 + rows * tile_px),
                      width=max(640, int(len(panels) * (k * tile_px + 170))), margin=dict(l=10, r=10, t=100, b=10),
                      plot_bgcolor="white", hovermode="closest")
    return fig


def iou_bar_figure(panels: Sequence[BarPanel], class_names: Sequence[str], *, threshold: float | None = 0.2,
                   title: str = "Per-filter best IoU (coloured by class)") -> go.Figure:
    """Bar chart of per-filter best IoU, one row per panel, a colour (and legend entry) per class."""
    if not panels:
        raise ValueError("panels: expected at least one BarPanel, got none")
    class_names = list(class_names)
    ymax = max([float(np.max(p.best_iou)) if len(p.best_iou) else 0.0 for p in panels])
    top = max(ymax * 1.15, 0.01)
    if threshold is not None and threshold <= max(3 * ymax, 0.01):
        top = max(top, threshold * 1.1)
    fig = make_subplots(rows=len(panels), cols=1, subplot_titles=[p.title for p in panels], shared_yaxes=True,
                        vertical_spacing=0.12)
    shown = set()
    for r, p in enumerate(panels):
        labels = [f"f{int(f)}" for f in p.filters]
        cls = list(p.best_class)
        for c in class_names:
            sel = [i for i, b in enumerate(cls) if b == c]
            if not sel:
                continue
            ci = class_names.index(c)
            fig.add_trace(go.Bar(
                x=[labels[i] for i in sel], y=[float(p.best_iou[i]) for i in sel], name=c, legendgroup=c,
                showlegend=c not in shown, marker_color=CLASS_COLORS[ci % len(CLASS_COLORS)],
                customdata=[[int(p.filters[i]), int(p.top_image[i]), c, float(p.best_iou[i])] for i in sel],
                hovertemplate=("filter %{customdata[0]}<br>top image %{customdata[1]}<br>class %{customdata[2]}"
                               "<br>IoU %{customdata[3]:.3f}<extra>" + p.title + "</extra>"),
            ), row=r + 1, col=1)
            shown.add(c)
        fig.update_xaxes(categoryorder="array", categoryarray=labels, tickfont_size=7,
                         title_text="filter (sorted by best IoU)", row=r + 1, col=1)
        fig.update_yaxes(title_text="best IoU with a class (0-1)", range=[0, top], row=r + 1, col=1)
        if threshold is not None and threshold <= top:
            fig.add_hline(y=threshold, line_dash="dash", line_color="black", row=r + 1, col=1,
                          annotation_text=f"IoU {threshold}", annotation_position="top left")
    if threshold is not None and threshold > top:  # keep small IoUs readable; say where the line would be
        title = f"{title}<br><sup>all IoUs below the {threshold} threshold (axis to {top:.3g})</sup>"
    fig.update_layout(title=title, barmode="overlay", height=280 * len(panels) + 140, width=1100,
                      legend_title_text="best class", bargap=0.15)
    return fig
