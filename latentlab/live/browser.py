"""Open a live page in headless Chromium with the network blocked (tests and ``benchmarks/bench_live.py``).

Playwright drives the system's Chromium (:func:`latentlab.viz.browser.find_chromium`; nothing is downloaded).
The browser context is offline, and every request other than the page's own file is aborted and recorded, so a
test can assert that the page makes none.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

__all__ = ["ARGS", "LiveSession", "open_live"]

ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run")


@dataclass
class LiveSession:
    page: object                                        # playwright Page, the live page loaded and ready
    requests: list = field(default_factory=list)        # URLs the page asked for, other than its own file
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    ready_ms: float = 0.0                               # the worker's model load time

    def generate(self, z, drop=None) -> list:
        """``window.latentlab.generate(z, drop)`` -> N*H*W*3 ints."""
        return self.page.evaluate("([z, d]) => window.latentlab.generate(z, d)", [z, drop or {}])


@contextlib.contextmanager
def open_live(path, *, executable: str | None = None, width: int = 1280, height: int = 900,
              timeout_ms: int = 60_000, extra_args: tuple = ()):
    """Context manager: the page at ``path`` opened from file:// with the network blocked -> LiveSession.

    ``extra_args``: more Chromium switches (the benchmark marks its browser process with one)."""
    from playwright.sync_api import sync_playwright

    from ..viz.browser import page_and_chromium
    path, exe = page_and_chromium(path, "live page", executable)
    own = path.as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=[*ARGS, *extra_args])
        try:
            ctx = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
            s = LiveSession(None)

            def route(r):
                if r.request.url == own:
                    return r.continue_()
                s.requests.append(r.request.url)
                return r.abort()
            ctx.route("**/*", route)
            ctx.set_offline(True)                       # the network is off as well
            page = ctx.new_page()
            page.on("console", lambda m: s.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: s.page_errors.append(str(e)))
            page.on("request", lambda r: s.requests.append(r.url) if r.url != own else None)
            page.goto(own, wait_until="load", timeout=timeout_ms)
            page.wait_for_function("() => window.latentlab !== undefined", timeout=timeout_ms)
            s.page = page
            s.ready_ms = float(page.evaluate("() => window.latentlab.ready", ))
            yield s
        finally:
            browser.close()
