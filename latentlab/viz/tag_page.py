"""The tagging page: tick samples with named tags (glasses, man, looks_left...) and save them as the JSON that
``latentlab arithmetic / turn / report --labels`` read (format: ``latentlab.latent.tags``).

One offline HTML file, no plotly and no network: a row of tag buttons (the current tag is highlighted; keys 1-9
choose one; a new tag can be added by name), all samples as numbered thumbnails, a click toggles the current tag
on a sample (its badges list its tags), and Save downloads the file.
"""
from __future__ import annotations

import html
import re

import numpy as np

from .images import png_data_uri
from .samples_page import SAMPLES_JS, check_samples, page_head

__all__ = ["tags_page", "numbered_sheet"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 16px; color: #222; }
#bar { display: flex; gap: 8px; align-items: center; margin: 8px 0; flex-wrap: wrap; position: sticky; top: 0;
       background: white; padding: 6px 0; z-index: 2; }
#bar button { font-size: 15px; padding: 4px 10px; }
#tagbuttons button.current { background: #0b7; color: white; }
#grid { display: grid; grid-template-columns: repeat(auto-fill, THUMBpx); gap: 6px; }
#grid figure { margin: 0; position: relative; cursor: pointer; border: 3px solid transparent; }
#grid figure.on { border-color: #0b7; }
#grid img { width: 100%; image-rendering: pixelated; display: block; }
#grid figcaption { font-size: 11px; line-height: 1.2; min-height: 14px; }
#grid figcaption b { margin-right: 4px; }
.help { color: #555; font-size: 14px; max-width: 1100px; }
"""

_JS = """
function setupTags() {
  const META = JSON.parse(document.getElementById('tags-meta').textContent);
  const IMAGES = JSON.parse(document.getElementById('tags-images').textContent);
  const N = META.n;
  const tags = {};
  Object.keys(META.tags).forEach(t => { tags[t] = new Set(META.tags[t]); });
  let cur = Object.keys(tags)[0] || null;
  const grid = document.getElementById('grid');
  addThumbnails(grid, IMAGES, i => toggle(i));
  function render() {
    const bar = document.getElementById('tagbuttons');
    bar.innerHTML = '';
    Object.keys(tags).forEach((t, j) => {
      const b = document.createElement('button');
      b.textContent = (j < 9 ? (j + 1) + ': ' : '') + t + ' (' + tags[t].size + ')';
      b.dataset.tag = t;
      b.classList.toggle('current', t === cur);
      b.addEventListener('click', () => { cur = t; render(); });
      bar.appendChild(b);
    });
    grid.querySelectorAll('figure').forEach((f, i) => {
      const mine = Object.keys(tags).filter(t => tags[t].has(i));
      f.classList.toggle('on', cur !== null && tags[cur].has(i));
      f.querySelector('figcaption').innerHTML = '<b>' + i + '</b>' + mine.join(', ');
    });
    document.getElementById('status').textContent = cur === null ? 'add a tag first' :
      'clicking a sample toggles "' + cur + '"';
  }
  function toggle(i) {
    if (cur === null) return;
    if (tags[cur].has(i)) tags[cur].delete(i); else tags[cur].add(i);
    render();
  }
  function addTag() {
    const input = document.getElementById('newtag');
    const name = input.value.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      document.getElementById('status').textContent = 'a tag name uses letters, digits and _ (e.g. looks_left)';
      return;
    }
    if (!(name in tags)) tags[name] = new Set();
    cur = name; input.value = ''; render();
  }
  function data() {
    const out = {};
    Object.keys(tags).forEach(t => { out[t] = Array.from(tags[t]).sort((a, b) => a - b); });
    return {format: 'latentlab-tags', version: 1, model: META.model, seed: META.seed, n: N, nz: META.nz,
            image_size: META.image_size, fingerprint: META.fingerprint, tags: out};
  }
  function save() {
    downloadJson(data(), META.filename);
    document.getElementById('saved').textContent = 'saved ' + META.filename;
  }
  document.getElementById('add').addEventListener('click', addTag);
  document.getElementById('newtag').addEventListener('keydown', e => { if (e.key === 'Enter') addTag(); });
  document.getElementById('save').addEventListener('click', save);
  document.addEventListener('keydown', e => {
    if (e.target.tagName === 'INPUT') return;
    const names = Object.keys(tags), j = parseInt(e.key, 10) - 1;
    if (j >= 0 && j < names.length && j < 9) { cur = names[j]; render(); }
  });
  window.latentlabTags = data;
  render();
  window.latentlabTagsReady = true;
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setupTags); else setupTags();
"""


def tags_page(images: np.ndarray, *, model: str, seed: int, tags: dict, nz: int | None = None,
              fingerprint: str | None = None, filename: str = "tags.json", thumb_px: int = 112,
              title: str | None = None, note: str = "") -> str:
    """The tagging page for ``images`` (N, S, S, 3) uint8 -> a complete offline HTML document (str).

    ``tags``: {name: [sample indices]} to start from (names may have empty lists); ``model``, ``seed``, N, ``nz``,
    S and ``fingerprint`` go into the saved JSON, which the commands check against the model.
    """
    images, n, s = check_samples(images)
    if not isinstance(tags, dict) or any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(t)) for t in tags):
        raise ValueError(f"tags: expected {{name: [indices]}} with identifier names, got {tags!r:.200}")
    tags = {t: sorted(int(i) for i in v) for t, v in tags.items()}
    bad = {t: [i for i in v if not 0 <= i < n] for t, v in tags.items()}
    if any(bad.values()):
        raise ValueError(f"tags: sample indices outside 0..{n - 1}: { {t: v for t, v in bad.items() if v} }")
    meta = {"model": model, "seed": int(seed), "n": n, "nz": nz, "image_size": s, "fingerprint": fingerprint,
            "filename": filename, "tags": tags}
    uris = [png_data_uri(im) for im in images]
    title = title or f"latentlab annotate (tags): {model}, {n} samples (seed {seed})"

    head = page_head(title, _CSS.replace("THUMB", str(int(thumb_px))), "tags", meta, uris)
    return head + f"""</head><body>
<h1>{html.escape(title)}</h1>
<p class="help">Choose a tag (a button, or keys 1-9), then click every sample that shows it; a click again removes
it. Add a tag by name (letters, digits, _). A sample may carry several tags; its number is its index in the file.
<b>Save</b> downloads <code>{html.escape(filename)}</code> for <code>latentlab arithmetic / turn / report
--labels</code>. {html.escape(note)}</p>
<div id="bar"><span id="tagbuttons"></span><input id="newtag" placeholder="new tag, e.g. smile" size="14">
<button id="add">Add tag</button><button id="save"><b>Save</b></button>
<span id="status"></span> <span id="saved"></span></div>
<div id="grid"></div>
<script>{SAMPLES_JS}{_JS}</script>
</body></html>
"""


def numbered_sheet(images: np.ndarray, *, cols: int = 10, cell: int = 128, first: int = 0) -> np.ndarray:
    """(N, S, S, 3) uint8 -> one (H, W, 3) uint8 contact sheet, each image enlarged to ``cell`` px with its
    index (``first`` + position) written above it: for labelling by eye."""
    from PIL import Image, ImageDraw

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"images: expected (N, S, S, 3) uint8 samples, got {images.dtype} {images.shape}")
    n, head = len(images), 14
    sheet = Image.new("RGB", (cols * cell, -(-n // cols) * (cell + head)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, im in enumerate(images):
        x, y = (i % cols) * cell, (i // cols) * (cell + head)
        sheet.paste(Image.fromarray(im).resize((cell, cell), Image.NEAREST), (x, y + head))
        draw.text((x + 2, y + 1), str(first + i), fill="black")
    return np.asarray(sheet)
