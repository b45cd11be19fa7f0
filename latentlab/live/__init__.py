"""The live page: the generator runs inside the offline report (onnxruntime-web, issue 31).

    lm = export_live(gan)                       # ONNX with keep-masks, checked against PyTorch
    write_live_page(gan, "out/live.html")       # one offline HTML file, generation in a Web Worker
"""
from __future__ import annotations

from .export import MISSING_LIVE, LiveModel, export_live, live_layers, require_live
from .page import LiveContent, LivePage, live_content, render_page, vendor_info, write_live_page

__all__ = ["LiveModel", "export_live", "live_layers", "require_live", "MISSING_LIVE", "LiveContent", "LivePage",
           "live_content", "render_page", "vendor_info", "write_live_page"]
