"""The one HTML page shell of every page latentlab writes (the report, filters.html, forget_*.html).

A page is standalone and works offline: plotly.js is embedded once in the head, each figure is a
``<div>`` drawn by it, and nothing is fetched from the network. ``page`` only assembles given HTML and
figures; it computes nothing.

    >>> html = page("Forgetting windows", ["<p>intro</p>", "<h2>curve</h2>", fig])   # doctest: +SKIP
    >>> write_page("out/forget_windows.html", html)                                # doctest: +SKIP
"""
from __future__ import annotations

import html as _html
import os
from pathlib import Path
from typing import Sequence

from ..io import atomic_write_bytes

__all__ = ["CSS", "figure_html", "page", "write_page"]

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222}
section{border-top:1px solid #ddd;margin-top:24px;padding-top:8px}
p.caption{max-width:900px} p.numbers{background:#f4f6fa;padding:6px 10px;max-width:900px}
p.error{background:#fdecea;padding:6px 10px} nav a{margin-right:12px} .meta{color:#666}
"""


def figure_html(fig, div_id: str | None = None) -> str:
    """A plotly figure as a ``<div>`` for :func:`page` (plotly.js itself is in the page's head)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False},
                       auto_play=False)


def page(title: str, body: Sequence, *, meta: str = "", nav: Sequence[tuple[str, str]] = ()) -> str:
    """A complete HTML page.

    Args:
        title: page title and its ``<h1>`` (escaped).
        body: in order, HTML strings (inserted as given) and plotly figures (see :func:`figure_html`).
        meta: HTML of a grey line under the title (e.g. model and seed).
        nav: (anchor id, label) links under the title.
    """
    from plotly.offline import get_plotlyjs
    if isinstance(body, (str, bytes)) or not isinstance(body, Sequence):
        raise TypeError(f"body: expected a list of HTML strings and plotly figures, got {type(body).__name__}")
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             f"<title>{_html.escape(title)}</title><style>{CSS}</style>",
             f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
             f"<h1>{_html.escape(title)}</h1>"]
    if meta:
        parts.append(f"<p class='meta'>{meta}</p>")
    if nav:
        parts.append("<nav>" + " ".join(f"<a href='#{key}'>{_html.escape(label)}</a>" for key, label in nav) + "</nav>")
    for i, block in enumerate(body):
        if isinstance(block, str):
            parts.append(block)
        elif hasattr(block, "to_html"):
            parts.append(figure_html(block))
        else:
            raise TypeError(f"body[{i}]: expected an HTML string or a plotly figure, got {type(block).__name__}")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_page(path: str | os.PathLike, html: str) -> Path:
    """Write ``html`` to ``path`` atomically (a reader never sees half a page); returns the path."""
    path = Path(path)
    atomic_write_bytes(path, html.encode("utf-8"))
    return path
