"""Screenshot of a window being painted away live on the rooms model (docs/live_paint.png).

    python scripts/live_screenshot.py [--page OUT/live.html] [--out docs/live_paint.png]

Writes the rooms live page (``latentlab report rooms --live`` does the same) unless ``--page`` is given, opens it
in headless Chromium with the network blocked, takes the sample (of the page's first 12) whose window the room
segmenter finds largest, sets the k slider to the window probe's positive maps, and brushes over the window on the
"after" image. Prints the segmenter's window pixels in the before and after images as the page drew them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentlab.dissect.removal import boxes_from_masks, object_masks  # noqa: E402
from latentlab.judges import load_judge  # noqa: E402
from latentlab.live.browser import open_live  # noqa: E402

_PIXELS = """(i) => { const c = document.querySelectorAll('#ll-before canvas, #ll-after canvas')[i];
                     return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"""


def window_pixels(segmenter, rgba: list, size: int, box) -> int:
    """The segmenter's window pixels inside ``box`` of an image read from a canvas (RGBA values)."""
    x = torch.tensor(rgba, dtype=torch.float32).reshape(size, size, 4)[..., :3].permute(2, 0, 1)[None] / 127.5 - 1
    x0, y0, x1, y1 = box
    return int(object_masks(segmenter, x)[0, y0:y1, x0:x1].sum())


def pick_sample(s, segmenter) -> tuple[int, tuple]:
    """(index, window box in pixels) of the page's sample with the largest window."""
    samples = s.page.evaluate("() => window.latentlab.content.samples")
    size = s.page.evaluate("() => window.latentlab.meta.size")
    rgb = np.asarray(s.generate(samples)).reshape(len(samples), size, size, 3)
    x = torch.from_numpy(rgb).float().permute(0, 3, 1, 2) / 127.5 - 1
    masks = object_masks(segmenter, x)
    i = int(masks.flatten(1).sum(1).argmax())
    box = max(boxes_from_masks(masks[i:i + 1])[0], key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return i, box


def brush_over(page, box, size: int) -> None:
    """Drag the brush along rows over ``box`` (x0, y0, x1, y1 in image pixels, x1 and y1 exclusive) on the "after" image."""
    r = page.query_selector("#ll-after .ll-overlay").bounding_box()
    sx, sy = r["width"] / size, r["height"] / size
    x0, y0, x1, y1 = box
    for y in np.arange(y0 - 1, y1 + 2, 2.0):
        page.mouse.move(r["x"] + (x0 - 1) * sx, r["y"] + y * sy)
        page.mouse.down()
        page.mouse.move(r["x"] + (x1 + 1) * sx, r["y"] + y * sy, steps=6)
        page.mouse.up()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", default=None, help="a rooms live page (default: write one to a temporary folder)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "live_paint.png"))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    segmenter = load_judge("rooms")
    with tempfile.TemporaryDirectory() as tmp:
        page_path = a.page
        if page_path is None:
            from latentlab.live.build import build_live
            page_path = build_live("rooms", tmp, segmenter=segmenter).path
        with open_live(page_path, width=1180, height=900) as s:
            p = s.page
            size = p.evaluate("() => window.latentlab.meta.size")
            i, box = pick_sample(s, segmenter)
            p.query_selector_all(".ll-thumb")[i].click()
            n_pos = p.evaluate("() => Object.values(window.latentlab.content.rankings)[0].positive")
            p.evaluate(f"() => {{ const k = document.getElementById('ll-k'); k.value = {n_pos}; "
                       "k.dispatchEvent(new Event('input')); }")
            p.evaluate("() => { const b = document.getElementById('ll-brush'); b.value = 3; b.dispatchEvent(new Event('input')); }")
            brush_over(p, box, size)
            p.wait_for_timeout(1500)
            before, after = (window_pixels(segmenter, p.evaluate(_PIXELS, j), size, box) for j in (0, 1))
            clip = p.query_selector("section.ll-edit").bounding_box()
            maps = p.query_selector("#ll-maps").bounding_box()
            clip["height"] = maps["y"] + maps["height"] - clip["y"] + 6
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            p.screenshot(path=a.out, clip=clip)
            assert s.requests == [] and s.page_errors == [], (s.requests, s.page_errors)
    from PIL import Image
    Image.open(a.out).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(a.out, optimize=True)
    print(f"sample {i + 1}, window box {box}, {n_pos} maps of the ranked layer dropped inside the brushed area: "
          f"window pixels inside the window's box {before} before -> {after} after; wrote {a.out} ({Path(a.out).stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
