"""Write the live page: one offline HTML file in which the generator runs (issue 31).

The page embeds, inside non-executed ``<script>`` elements: onnxruntime-web's ES bundle (base64; vendored in
``latentlab/live/vendor``, see ``scripts/vendor_ort.py``), its gzipped WebAssembly binary and the gzipped ONNX
export of :func:`~latentlab.live.export.export_live` (its bytes split into even and odd planes first, which
gzip packs better; both as 7-bit text, :mod:`latentlab.live.encode`: 8/7 of their bytes). A classic Web Worker made from a blob imports
ORT from a data: URL and runs the model on the wasm backend, single-threaded; the page's main thread only
draws. A Content-Security-Policy (``default-src 'none'``, the one inline script allowed by its hash, no
``unsafe-eval``) makes sure nothing is fetched.

The page exposes ``window.latentlab.generate(z, drop)``: z an array of N arrays of nz numbers, drop
``{layer name: [map indices]}``; it resolves to N*H*W*3 ints 0-255 (RGB, row-major per image), exactly
``to_uint8`` of G's output up to the export's float16 weights (checked against PyTorch before writing).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import os
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch

from .encode import byte_planes, encode7
from .export import LiveModel, export_live

__all__ = ["LivePage", "LiveContent", "live_content", "render_page", "write_live_page", "vendor_info"]

ASSETS = ("live.html", "live.js", "live.css", "worker.js")
VENDOR = ("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm.gz", "LICENSE", "VERSION.json")


def _read(folder: str, name: str) -> bytes:
    f = resources.files("latentlab.live").joinpath(folder, name)
    if not f.is_file():
        raise FileNotFoundError(f"latentlab/live/{folder}/{name} is missing from the installed package "
                                "(run scripts/vendor_ort.py in a source checkout, or reinstall latentlab)")
    return f.read_bytes()


def vendor_info() -> dict:
    """VERSION.json of the vendored onnxruntime-web (version, npm integrity, sha256 of each file)."""
    return json.loads(_read("vendor", "VERSION.json"))


@dataclass
class LiveContent:
    """What the page starts with besides the model: samples, directions and map rankings."""

    seed: int
    samples: list                    # [[nz floats]] the samples shown first
    directions: list                 # [{"name", "vector": [nz], "range"}]
    rankings: dict                   # {layer: {"order": [map indices, most related first], "note", "positive"}}
    default_layer: str
    about: str = ""                  # one HTML sentence under the title

    def to_json(self) -> dict:
        return {"seed": self.seed, "samples": self.samples, "directions": self.directions,
                "rankings": self.rankings, "default_layer": self.default_layer}


def live_content(lm, live: LiveModel, *, seed: int = 0, n_samples: int = 12, directions=None, rankings=None,
                 default_layer: str | None = None, about: str = "") -> LiveContent:
    """Samples from the model's prior (``seed``), SeFa's 5 directions plus ``directions`` (Direction objects, e.g.
    judge boundaries) and ``rankings`` ({layer: map indices, most related first} or {layer: {"order", "note",
    "positive"}}, ``positive`` the number of maps the paper would drop)."""
    from ..latent.directions import sefa
    layers = [n for n, *_ in live.layers]
    z = lm.sample_z(n_samples, seed=seed)
    dirs = [{"name": d.name, "vector": [round(float(x), 6) for x in d.vector], "range": 3.0}
            for d in [*sefa(lm, k=min(5, lm.nz)), *(directions or [])]]
    ranks = {}
    for name, r in (rankings or {}).items():
        if name not in layers:
            raise ValueError(f"rankings: layer {name!r} has no keep-mask in the export; layers are {layers}")
        r = r if isinstance(r, dict) else {"order": r}
        ranks[name] = {"order": [int(i) for i in r["order"]], "note": r.get("note") or "maps ranked by relevance",
                       "positive": int(r.get("positive", len(r["order"])))}
    if default_layer is None:
        default_layer = next(iter(ranks), None) or _middle(lm, layers)
    if default_layer not in layers:
        raise ValueError(f"default_layer: expected one of {layers}, got {default_layer!r}")
    return LiveContent(seed, [[round(float(x), 6) for x in v] for v in z], dirs, ranks, default_layer, about)


def _middle(lm, layers) -> str:
    try:
        name = lm.default_layer()
    except ValueError:
        name = None
    return name if name in layers else layers[len(layers) // 2]


def _json_script(obj) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def render_page(live: LiveModel, content: LiveContent, *, title: str = "latentlab live") -> str:
    """The page's HTML (a str) for an export and its content."""
    a = {name: _read("assets", name).decode("utf-8") for name in ASSETS}
    info = vendor_info()
    js = a["live.js"]
    csp = ("default-src 'none'; "
           f"script-src 'sha256-{base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()}' data: blob: "
           "'wasm-unsafe-eval'; worker-src blob:; style-src 'unsafe-inline'; img-src data: blob:")
    fields = {
        "%CSP%": csp, "%TITLE%": html.escape(title), "%CSS%": a["live.css"], "%ORT_VERSION%": info["version"],
        "%ABOUT%": content.about, "%META%": _json_script(live.meta()), "%CONTENT%": _json_script(content.to_json()),
        "%WORKER%": a["worker.js"], "%ORT%": _b64(_read("vendor", VENDOR[0])),
    }
    model = gzip.compress(byte_planes(live.onnx), compresslevel=9, mtime=0)
    fields["%MODEL_RAW%"] = str(len(live.onnx))
    for key, data in (("WASM", _read("vendor", VENDOR[1])), ("MODEL", model)):
        fields[f"%{key}_BYTES%"], fields[f"%{key}%"] = str(len(data)), encode7(data)
    fields["%LIVE_JS%"] = js
    # one pass over the template: an inserted text (the model's bytes, say) is never searched for placeholders
    return re.sub(r"%[A-Z_]+%", lambda m: fields[m.group(0)], a["live.html"])


@dataclass
class LivePage:
    path: str
    bytes: int
    seconds: float
    meta: dict = field(default_factory=dict)


def write_live_page(generator, path, *, prior=None, nz=None, layers=None, seed: int = 0, directions=None,
                    rankings=None, title: str | None = None, about: str = "") -> LivePage:
    """Export ``generator`` (checked against PyTorch first), and write the live page to ``path`` (.html).

    Nothing is written when the export or its check fails. ``directions`` and ``rankings``: see
    :func:`live_content`. Returns a :class:`LivePage` (path, size in bytes, seconds, the model's meta).
    """
    from ..models.adapter import as_latent_model
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"path: expected an .html file, got {str(path)!r}")
    t0 = time.perf_counter()
    lm = as_latent_model(generator, prior, nz=nz)
    live = export_live(lm, layers=layers, seed=seed)
    content = live_content(lm, live, seed=seed, directions=directions, rankings=rankings, about=about)
    text = render_page(live, content, title=title or "latentlab live")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return LivePage(str(path), path.stat().st_size, time.perf_counter() - t0, live.meta())
