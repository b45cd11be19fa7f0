"""The pieces the offline pages over a model's samples share (the box page of :mod:`.annotate`, the tag page of
:mod:`.tag_page`): the check of the samples, the document head with the page's data as JSON, and the JavaScript
that lays out the thumbnails and downloads the saved JSON file."""
from __future__ import annotations

import html
import json

import numpy as np

__all__ = ["check_samples", "script_json", "page_head", "SAMPLES_JS"]

# addThumbnails(container, images, onClick): one numbered <figure> a sample (img + empty figcaption);
# downloadJson(data, filename): the Save button's download of ``data`` as a JSON file.
SAMPLES_JS = """
function addThumbnails(container, images, onClick) {
  images.forEach((src, i) => {
    const f = document.createElement('figure');
    f.dataset.index = i;
    f.innerHTML = '<img alt="sample ' + i + '"><figcaption></figcaption>';
    f.querySelector('img').src = src;
    f.addEventListener('click', () => onClick(i));
    container.appendChild(f);
  });
}
function downloadJson(data, filename) {
  const blob = new Blob([JSON.stringify(data) + '\\n'], {type: 'application/json'});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
"""


def check_samples(images) -> tuple[np.ndarray, int, int]:
    """``images`` as an (N, S, S, 3) uint8 array with N >= 1 -> (images, N, S); else a ValueError."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images: expected (N, S, S, 3) uint8 samples, got {images.dtype} {images.shape}")
    n, s = images.shape[0], images.shape[1]
    if n < 1:
        raise ValueError("images: expected at least one sample, got 0")
    return images, n, s


def script_json(obj) -> str:
    """JSON to put inside <script>: "</" must not close the element."""
    return json.dumps(obj).replace("</", "<\\/")


def page_head(title: str, css: str, prefix: str, meta: dict, uris: list[str]) -> str:
    """The document up to the page's data: the <head> with ``css`` and the JSON scripts ``{prefix}-meta`` and
    ``{prefix}-images`` (the caller closes the head)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{css}</style>
<script type="application/json" id="{prefix}-meta">{script_json(meta)}</script>
<script type="application/json" id="{prefix}-images">{script_json(uris)}</script>
"""
