"""The annotation page: draw boxes on samples with the mouse, save them as the JSON ``latentlab forget --boxes`` reads.

One offline HTML file (plotly.js embedded, no network): a large plotly figure of the current sample in plotly's
rectangle-drawing mode (modebar buttons ``drawrect`` / ``eraseshape``), Previous / Next buttons (or the arrow keys),
thumbnails of all samples with their box counts, and a Save button that downloads the boxes as JSON
(:mod:`latentlab.dissect.boxes_json`). Pixel edges are plotly coordinates (the image spans 0..S on both axes), so a
drawn rectangle becomes [x0, y0, x1, y1] by rounding to the nearest pixel edge and clipping to the image.
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from .images import png_data_uri
from .samples_page import SAMPLES_JS, check_samples, page_head

__all__ = ["annotate_figure", "annotate_page"]

BOX_COLOR = "#00e5ff"


def annotate_figure(image: np.ndarray, *, size_px: int = 512, boxes=()) -> go.Figure:
    """(H, W, 3) uint8 image -> a figure in rectangle-drawing mode whose axes are pixel edges (0..W, 0..H, y down).

    ``boxes``: (x0, y0, x1, y1) rectangles already drawn on it.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image: expected an (H, W, 3) uint8 array, got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    fig = go.Figure(go.Image(source=png_data_uri(image), x0=0.5, y0=0.5, dx=1, dy=1, hoverinfo="skip"))
    fig.update_xaxes(range=[0, w], showgrid=False, zeroline=False, showticklabels=False, fixedrange=True,
                     constrain="domain")
    fig.update_yaxes(range=[h, 0], showgrid=False, zeroline=False, showticklabels=False, fixedrange=True,
                     scaleanchor="x", constrain="domain")
    fig.update_layout(
        width=size_px, height=size_px, margin=dict(l=10, r=10, t=10, b=10), dragmode="drawrect",
        newshape=dict(line=dict(color=BOX_COLOR, width=2), fillcolor="rgba(0,229,255,0.12)"),
        shapes=[_shape(b) for b in boxes], plot_bgcolor="white",
    )
    return fig


def _shape(b) -> dict:
    x0, y0, x1, y1 = (int(v) for v in b)
    return dict(type="rect", xref="x", yref="y", x0=x0, y0=y0, x1=x1, y1=y1,
                line=dict(color=BOX_COLOR, width=2), fillcolor="rgba(0,229,255,0.12)")


_CSS = """
body { font-family: system-ui, sans-serif; margin: 16px; color: #222; }
#bar { display: flex; gap: 8px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
#bar button { font-size: 15px; padding: 4px 12px; }
#main { display: flex; gap: 16px; align-items: flex-start; }
#annotate .imagelayer image { image-rendering: pixelated; }
#thumbs { display: grid; grid-template-columns: repeat(10, 52px); gap: 4px; max-height: 560px; overflow-y: auto; }
#thumbs figure { margin: 0; position: relative; cursor: pointer; border: 2px solid transparent; }
#thumbs figure.current { border-color: #d33; }
#thumbs img { width: 48px; height: 48px; image-rendering: pixelated; display: block; }
#thumbs figcaption { position: absolute; right: 1px; bottom: 0; font-size: 10px; background: rgba(255,255,255,.8); }
#thumbs figure.has figcaption { background: #00e5ff; }
.help { color: #555; font-size: 14px; max-width: 1100px; }
"""

_JS = """
window.latentlabAnnotate = function (gd) {  // called by plotly's post_script once the figure exists
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => setupAnnotate(gd));
  } else {
    setupAnnotate(gd);
  }
};
function setupAnnotate(gd) {
  const META = JSON.parse(document.getElementById('annotate-meta').textContent);
  const IMAGES = JSON.parse(document.getElementById('annotate-images').textContent);
  const S = META.image_size, N = META.n;
  const boxes = META.boxes;
  let cur = 0;
  const clip = v => Math.min(S, Math.max(0, Math.round(v)));
  function shapesToBoxes(shapes) {
    return (shapes || []).filter(s => s.type === 'rect').map(s => {
      const xa = clip(Math.min(s.x0, s.x1)), xb = clip(Math.max(s.x0, s.x1));
      const ya = clip(Math.min(s.y0, s.y1)), yb = clip(Math.max(s.y0, s.y1));
      return [xa, ya, xb, yb];
    }).filter(b => b[0] < b[2] && b[1] < b[3]);
  }
  function boxesToShapes(bs) {
    return bs.map(b => ({type: 'rect', xref: 'x', yref: 'y', x0: b[0], y0: b[1], x1: b[2], y1: b[3],
                         line: {color: META.color, width: 2}, fillcolor: 'rgba(0,229,255,0.12)'}));
  }
  const thumbs = document.getElementById('thumbs');
  addThumbnails(thumbs, IMAGES, i => show(i));
  function status() {
    const total = boxes.reduce((a, b) => a + b.length, 0);
    const withBoxes = boxes.filter(b => b.length).length;
    document.getElementById('status').textContent = 'sample ' + (cur + 1) + ' of ' + N + ' \u00b7 ' +
      boxes[cur].length + ' box(es) here \u00b7 ' + total + ' boxes on ' + withBoxes + ' samples';
    thumbs.querySelectorAll('figure').forEach((f, i) => {
      f.classList.toggle('current', i === cur);
      f.classList.toggle('has', boxes[i].length > 0);
      f.querySelector('figcaption').textContent = boxes[i].length ? boxes[i].length : '';
    });
  }
  function store() { boxes[cur] = shapesToBoxes(gd.layout.shapes); }
  let switching = false;
  function show(i) {
    store();
    cur = Math.min(N - 1, Math.max(0, i));
    switching = true;
    return Plotly.update(gd, {source: [IMAGES[cur]]}, {shapes: boxesToShapes(boxes[cur])}).then(() => {
      switching = false; status();
    });
  }
  gd.on('plotly_relayout', () => { if (!switching) { store(); status(); } });
  function save() {
    store();
    const data = {format: 'latentlab-boxes', version: 1, model: META.model, seed: META.seed, n: N,
                  image_size: S, boxes: boxes};
    downloadJson(data, META.filename);
    document.getElementById('saved').textContent = 'saved ' + boxes.reduce((a, b) => a + b.length, 0) +
      ' boxes as ' + META.filename;
  }
  document.getElementById('prev').addEventListener('click', () => show(cur - 1));
  document.getElementById('next').addEventListener('click', () => show(cur + 1));
  document.getElementById('clear').addEventListener('click', () => {
    boxes[cur] = []; Plotly.relayout(gd, {shapes: []});
  });
  document.getElementById('save').addEventListener('click', save);
  document.addEventListener('keydown', e => {
    if (e.target.tagName === 'INPUT') return;
    if (e.key === 'ArrowRight') show(cur + 1);
    if (e.key === 'ArrowLeft') show(cur - 1);
  });
  window.latentlabBoxes = () => { store(); return boxes; };
  status();
  window.latentlabAnnotateReady = true;
}
"""


def annotate_page(images: np.ndarray, *, model: str, seed: int, filename: str = "boxes.json", boxes=None,
                  title: str | None = None, size_px: int = 512, note: str = "") -> str:
    """The annotation page for ``images`` (N, H, W, 3) uint8 -> a complete offline HTML document (str).

    ``model``, ``seed`` and N go into the saved JSON (forget checks them); ``filename`` is the name the Save
    button downloads to; ``boxes``: N lists of boxes already drawn (to continue a file), default none.
    """
    images, n, s = check_samples(images)
    boxes = [[list(map(int, b)) for b in bs] for bs in boxes] if boxes is not None else [[] for _ in range(n)]
    if len(boxes) != n:
        raise ValueError(f"boxes: expected one list per sample ({n}), got {len(boxes)}")
    uris = [png_data_uri(im) for im in images]
    fig = annotate_figure(images[0], size_px=size_px, boxes=boxes[0])
    config = {"modeBarButtonsToAdd": ["drawrect", "eraseshape"], "displaylogo": False, "scrollZoom": False,
              "edits": {"shapePosition": True}, "modeBarButtonsToRemove": ["zoom2d", "pan2d", "lasso2d", "select2d",
                                                                        "autoScale2d", "resetScale2d"]}
    plot = fig.to_html(full_html=False, include_plotlyjs=True, div_id="annotate", config=config,
                       post_script="window.latentlabAnnotate(document.getElementById('{plot_id}'));")
    meta = {"model": model, "seed": int(seed), "n": n, "image_size": s, "filename": filename, "boxes": boxes,
            "color": BOX_COLOR}
    title = title or f"latentlab annotate: {model}, {n} samples (seed {seed})"

    return page_head(title, _CSS, "annotate", meta, uris) + f"""<script>{SAMPLES_JS}{_JS}</script>
</head><body>
<h1>{html.escape(title)}</h1>
<p class="help">Drag with the mouse to draw a box around each object (the rectangle tool is on; the eraser button
of the toolbar removes a selected box; click a box to select or move it). Previous / Next or the arrow keys change
the sample; a thumbnail jumps to it. <b>Save</b> downloads <code>{html.escape(filename)}</code>
(every sample, boxes in image pixels [x0, y0, x1, y1]) for <code>latentlab forget --boxes</code>. {html.escape(note)}</p>
<div id="bar"><button id="prev">&larr; Previous</button><button id="next">Next &rarr;</button>
<button id="clear">Clear this sample</button><button id="save"><b>Save</b></button>
<span id="status"></span> <span id="saved"></span></div>
<div id="main"><div>{plot}</div><div id="thumbs"></div></div>
</body></html>
"""
