"""Tables as plotly figures, sized to their text: a readable font and no blank band under the last row."""
from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go

__all__ = ["table_figure", "TABLE_FONT"]

TABLE_FONT = 15          # px; plotly's default (12) reads small next to the page's 16 px text
_CHAR_PX = 0.55          # mean width of a character in units of the font size (system sans-serif)
_LINE = 1.45             # line height in units of the font size
_PAD = 12                # px of cell padding above and below the text


def _lines(text: str, width_px: float, font: int) -> int:
    per_line = max(1, int(width_px / (_CHAR_PX * font)))
    return max(1, math.ceil(len(str(text)) / per_line))


def table_figure(header: Sequence[str], rows: Sequence[Sequence[str]], *, columnwidth: Sequence[float] | None = None,
                 width: int = 1150, font: int = TABLE_FONT) -> go.Figure:
    """rows (each a sequence of cell texts, ``len(header)`` of them) -> a go.Table whose height is the sum of its
    rows' heights at ``width`` px (a row is as tall as its most wrapped cell), so the page shows no blank band
    under it and no scroll bar inside it."""
    k = len(header)
    if any(len(r) != k for r in rows):
        raise ValueError(f"rows: expected {k} cells per row (the header's), got {sorted({len(r) for r in rows})}")
    cw = list(columnwidth) if columnwidth is not None else [1.0] * k
    px = [width * c / sum(cw) - 2 * 8 for c in cw]     # column width minus plotly's cell padding
    line_px = _LINE * font
    heights = [max(_lines(t, p, font) for t, p in zip(r, px)) * line_px + _PAD for r in rows]
    cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in range(k)]
    fig = go.Figure(go.Table(
        header=dict(values=list(header), align="left", font=dict(size=font + 1), height=line_px + _PAD,
                    fill_color="#e8ecf4"),
        cells=dict(values=cols, align="left", font=dict(size=font), height=line_px + _PAD),
        columnwidth=cw))
    margin = dict(l=10, r=10, t=10, b=10)
    fig.update_layout(height=int(math.ceil(line_px + _PAD + sum(heights) + margin["t"] + margin["b"] + 4)),
                      margin=margin)
    return fig
