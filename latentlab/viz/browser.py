"""Open a report in headless Chromium (Playwright driving the system's Chromium) and check it is usable.

Used by the browser test and by ``benchmarks/bench_report.py``. No browser is downloaded: the executable is
``$LATENTLAB_CHROMIUM``, else the first of :data:`CANDIDATES` that exists.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

__all__ = ["CANDIDATES", "find_chromium", "page_and_chromium", "check_report"]

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    env = os.environ.get("LATENTLAB_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for c in CANDIDATES:
        if Path(c).is_file():
            return c
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def page_and_chromium(path, what: str, executable: str | None = None) -> tuple[Path, str]:
    """(the page ``path`` resolved, the Chromium to open it with: ``executable`` or :func:`find_chromium`);
    FileNotFoundError naming ``path`` (the ``what``, e.g. "report") or ``executable`` when either is missing."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"path: {what} {str(path)!r} does not exist")
    exe = executable or find_chromium()
    if exe is None:
        raise FileNotFoundError("executable: no Chromium found (set LATENTLAB_CHROMIUM or apt-get install chromium)")
    return path, exe


_RENDERED = """() => Array.from(document.querySelectorAll('section[data-section]')).map(s => ({
    key: s.dataset.section,
    plots: s.querySelectorAll('.js-plotly-plot').length,
    drawn: Array.from(s.querySelectorAll('.js-plotly-plot')).filter(p => p.querySelector('.main-svg')
        && p._fullLayout !== undefined).length,
    error: s.querySelector('p.error') ? s.querySelector('p.error').textContent : null}))"""

_WALK_IMAGE = """() => { const im = document.querySelector('#walk-0 g.imagelayer image');
                       return im ? (im.getAttribute('href') || im.getAttribute('xlink:href')) : null; }"""


def check_report(path, *, screenshot=None, executable: str | None = None, width: int = 1280, height: int = 1000,
                 timeout_ms: int = 60_000) -> dict:
    """Open ``path`` (a report's index.html) from the file system in headless Chromium.

    Returns ``{"load_seconds", "console_errors", "page_errors", "sections": [{key, plots, drawn, error}],
    "walk_slider_changed_image": bool | None, "screenshot": path | None}``: ``load_seconds`` is the time
    from navigation until every plot of the page has been drawn; the walk check drags the walk figure's
    slider to its last step and compares the displayed image before and after.
    """
    from playwright.sync_api import sync_playwright

    path, exe = page_and_chromium(path, "report", executable)
    console, page_errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            t0 = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load", timeout=timeout_ms)
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.js-plotly-plot')).every(p => p.querySelector('.main-svg'))",
                timeout=timeout_ms)
            load = time.perf_counter() - t0
            sections = page.evaluate(_RENDERED)
            changed = None
            if page.query_selector("#walk-0 .slider-rail-touch-rect"):
                before = page.evaluate(_WALK_IMAGE)
                rail = page.query_selector("#walk-0 .slider-rail-touch-rect")
                rail.scroll_into_view_if_needed()
                box = rail.bounding_box()
                page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
                page.wait_for_timeout(800)
                after = page.evaluate(_WALK_IMAGE)
                changed = before is not None and after is not None and before != after
                page.evaluate("() => window.scrollTo(0, 0)")
            shot = None
            if screenshot is not None:
                shot = str(screenshot)
                Path(shot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=shot, full_page=False)
        finally:
            browser.close()
    return {"load_seconds": load, "console_errors": console, "page_errors": page_errors, "sections": sections,
            "walk_slider_changed_image": changed, "screenshot": shot}
