"""latentlab annotate: boxes drawn by hand on forget's probe samples, saved as JSON that forget reads.

The page is checked in headless Chromium (the system's, driven by Playwright): rectangles dragged with the mouse
come back as pixel boxes in the downloaded JSON.
"""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import GAN, ModelConfig, cli, save
from latentlab.dissect import load_boxes_json
from latentlab.dissect.boxes_json import BoxesFile, load_boxes, save_boxes
from latentlab.models import sample_prior
from latentlab.viz.annotate import annotate_figure, annotate_page

pytestmark = pytest.mark.usefixtures("one_thread")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("annotate")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        gan = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms"))
    save(gan, tmp / "tiny.safetensors")
    return tmp / "tiny.safetensors"


def _page_images(html: str) -> list[np.ndarray]:
    m = re.search(r'<script type="application/json" id="annotate-images">(.*?)</script>', html, re.S)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))).convert("RGB"))
            for u in json.loads(m.group(1))]


# ------------------------------------------------------------------------------------------------ the JSON file

def test_save_load_round_trip_and_forgets_reader(tmp_path):
    boxes = [[(1, 2, 10, 20)], [], [(0, 0, 64, 64), (5, 5, 6, 6)]]
    p = save_boxes(tmp_path / "b.json", boxes, model="rooms", seed=3, image_size=64)
    data = json.loads(p.read_text())
    assert data == {"format": "latentlab-boxes", "version": 1, "model": "rooms", "seed": 3, "n": 3, "image_size": 64,
                    "boxes": [[[1, 2, 10, 20]], [], [[0, 0, 64, 64], [5, 5, 6, 6]]]}
    f = load_boxes(p, model="rooms", seed=3, n=3, image_size=64)
    assert f == BoxesFile("rooms", 3, 3, 64, boxes) and f.n_boxes == 3
    assert load_boxes_json(p, 3, 64) == boxes  # what `latentlab forget --boxes` reads


@pytest.mark.parametrize("data, exc, match", [
    ([[[0, 0, 4, 4]]], ValueError, r"boxes: expected a JSON object with the keys \['model', 'seed', 'n', "
                                   r"'image_size', 'boxes'\] in '.*' \(as `latentlab annotate` saves it\), got a JSON list"),
    ({"model": "rooms", "n": 1, "boxes": [[]]}, ValueError, r"boxes: the keys \['seed', 'image_size'\] are missing"),
    ({"model": "rooms", "seed": 0, "n": 2, "image_size": 64, "boxes": [[]]}, ValueError,
     r"boxes: expected one entry per sample \(2\), got 1 in '"),
    ({"model": "rooms", "seed": 0, "n": 1, "image_size": 64, "boxes": [[[0, 0, 4]]]}, ValueError,
     r"boxes\[0\]\[0\]: expected a box \(x0, y0, x1, y1\), got \[0, 0, 4\]"),
    ({"model": "rooms", "seed": 0, "n": 1, "image_size": 64, "boxes": [[[60, 0, 70, 10]]]}, ValueError,
     r"boxes\[0\]\[0\]: box \(60, 0, 70, 10\) lies outside the 64x64 image"),
    ({"model": "rooms", "seed": 0, "n": 1, "image_size": 64, "boxes": [[[9, 0, 4, 10]]]}, ValueError,
     r"boxes\[0\]\[0\]: box \(9, 0, 4, 10\) is empty or inverted"),
    ({"model": "rooms", "seed": 0, "n": 1, "image_size": 64, "boxes": [[[0.5, 0, 4, 10]]]}, ValueError,
     r"box coordinates must be whole pixels"),
    ({"model": "rooms", "seed": -1, "n": 1, "image_size": 64, "boxes": [[]]}, ValueError,
     r"seed: expected an int >= 0 in '.*', got -1"),
    ({"model": "rooms", "seed": 0, "n": "150", "image_size": 64, "boxes": [[]]}, ValueError,
     r"n: expected an int >= 1 in '.*', got '150'"),
    ({"model": "", "seed": 0, "n": 1, "image_size": 64, "boxes": [[]]}, ValueError, r"model: expected the model's name"),
    ({"format": "other", "model": "m", "seed": 0, "n": 1, "image_size": 64, "boxes": [[]]}, ValueError,
     r"boxes: format 'other'"),
    ({"version": 2, "model": "m", "seed": 0, "n": 1, "image_size": 64, "boxes": [[]]}, ValueError,
     r"version: boxes file version 2 .* is newer"),
])
def test_bad_files(tmp_path, data, exc, match):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(exc, match=match):
        load_boxes(p)


def test_file_of_other_samples_and_unreadable_files(tmp_path):
    p = save_boxes(tmp_path / "b.json", [[], []], model="rooms", seed=0, image_size=64)
    with pytest.raises(ValueError, match=r"n: the boxes in '.*' were drawn on samples with n=2, but n=150 was asked"):
        load_boxes(p, n=150)
    with pytest.raises(ValueError, match=r"seed: .* seed=0, but seed=1 was asked"):
        load_boxes(p, seed=1)
    with pytest.raises(FileNotFoundError, match=r"boxes: file .* does not exist"):
        load_boxes(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"boxes: .* is not valid JSON"):
        load_boxes(tmp_path / "broken.json")
    with pytest.raises(ValueError, match=r"boxes\[1\]\[0\]: box \(0, 0, 65, 3\) lies outside the 64x64 image"):
        save_boxes(tmp_path / "c.json", [[], [(0, 0, 65, 3)]], model="rooms", seed=0, image_size=64)
    assert not (tmp_path / "c.json").exists()


# ------------------------------------------------------------------------------------------------ figure and page

def test_figure_axes_are_pixel_edges():
    img = np.zeros((64, 64, 3), np.uint8)
    fig = annotate_figure(img, boxes=[(1, 2, 3, 4)])
    assert fig.layout.dragmode == "drawrect"
    assert tuple(fig.layout.xaxis.range) == (0, 64) and tuple(fig.layout.yaxis.range) == (64, 0)
    im = fig.data[0]
    assert (im.x0, im.y0, im.dx, im.dy) == (0.5, 0.5, 1, 1)  # pixel i spans [i, i + 1]
    s = fig.layout.shapes[0]
    assert (s.x0, s.y0, s.x1, s.y1) == (1, 2, 3, 4)
    with pytest.raises(ValueError, match=r"image: expected an \(H, W, 3\) uint8 array, got float32"):
        annotate_figure(img.astype(np.float32))
    with pytest.raises(ValueError, match=r"images: expected \(N, S, S, 3\) uint8 samples"):
        annotate_page(img, model="m", seed=0)
    with pytest.raises(ValueError, match=r"boxes: expected one list per sample \(1\), got 2"):
        annotate_page(img[None], model="m", seed=0, boxes=[[], []])


def test_cli_writes_an_offline_page_of_forgets_probe_samples(model_file, tmp_path, capsys):
    out = tmp_path / "boxes.json"
    assert cli.main(["annotate", str(model_file), "--n", "5", "--seed", "4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"--boxes boxes.json --n-probe 5 --seed 4" in text
    html = (tmp_path / "boxes.html").read_text()
    assert re.search(r"plotly\.js v\d", html) and "<script src=" not in html  # plotly.js embedded: offline
    assert '"drawrect"' in html and '"eraseshape"' in html
    meta = json.loads(re.search(r'id="annotate-meta">(.*?)</script>', html, re.S).group(1))
    assert {k: meta[k] for k in ("model", "seed", "n", "image_size", "filename")} == \
        {"model": str(model_file), "seed": 4, "n": 5, "image_size": 64, "filename": "boxes.json"}
    # the same images forget fits its probe on: z from sample_prior(n, nz, prior, Generator().manual_seed(seed))
    from latentlab import load
    gan = load(model_file)
    z = sample_prior(5, 8, "normal", rng=torch.Generator().manual_seed(4))
    with torch.no_grad():
        x = gan.generator.eval()(z)
    want = ((x + 1) / 2 * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    got = np.stack(_page_images(html))
    assert got.shape == (5, 64, 64, 3) and np.array_equal(got, want)


def test_cli_bad_arguments(model_file, tmp_path, capsys):
    assert cli.main(["annotate", str(model_file), "--out", str(tmp_path / "b.txt")]) == 2
    assert "--out: expected a file name ending in .json" in capsys.readouterr().err
    assert cli.main(["annotate", str(model_file), "--n", "0", "--out", str(tmp_path / "b.json")]) == 2
    assert "--n: expected an int >= 1, got 0" in capsys.readouterr().err
    save_boxes(tmp_path / "old.json", [[]] * 3, model=str(model_file), seed=0, image_size=64)
    assert cli.main(["annotate", str(model_file), "--n", "4", "--boxes", str(tmp_path / "old.json"),
                     "--out", str(tmp_path / "b.json")]) == 2
    assert "n: the boxes in" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ in a browser

def _chromium_or_skip():
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    from latentlab.viz.browser import find_chromium
    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium, or set LATENTLAB_CHROMIUM)")
    return exe


_TO_SCREEN = """([x, y]) => { const gd = document.getElementById('annotate'); const r = gd.getBoundingClientRect();
  const fl = gd._fullLayout;
  return [r.left + fl.xaxis._offset + fl.xaxis.l2p(x), r.top + fl.yaxis._offset + fl.yaxis.l2p(y)]; }"""


_SHOWN = """() => { const im = document.querySelector('#annotate g.imagelayer image');
  return im.getAttribute('href') || im.getAttribute('xlink:href'); }"""


def test_drawing_boxes_in_headless_chromium(model_file, tmp_path, capsys):
    exe = _chromium_or_skip()
    from playwright.sync_api import sync_playwright
    earlier = save_boxes(tmp_path / "earlier.json", [[], [], [(2, 3, 9, 9)]], model=str(model_file), seed=0,
                         image_size=64)
    assert cli.main(["annotate", str(model_file), "--n", "3", "--seed", "0", "--out", str(tmp_path / "boxes.json"),
                     "--boxes", str(earlier)]) == 0
    capsys.readouterr()
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True, viewport={"width": 1300, "height": 900}).new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto((tmp_path / "boxes.html").as_uri())
            page.wait_for_function("() => window.latentlabAnnotateReady === true", timeout=60_000)

            def drag(a, b):
                (x0, y0), (x1, y1) = page.evaluate(_TO_SCREEN, list(a)), page.evaluate(_TO_SCREEN, list(b))
                page.mouse.move(x0, y0)
                page.mouse.down()
                page.mouse.move(x1, y1, steps=8)
                page.mouse.up()
                page.wait_for_timeout(150)

            drag((10, 12), (30, 40))                       # sample 0: one box
            assert page.evaluate("() => document.getElementById('annotate').layout.shapes.length") == 1
            shown = [page.evaluate(_SHOWN)]
            page.click("#next")
            page.wait_for_timeout(200)
            shown.append(page.evaluate(_SHOWN))
            drag((40, 30), (63.9, 50))                     # sample 1: two boxes, drawn right to left too
            drag((20, 20), (5, 5))
            page.keyboard.press("ArrowRight")              # sample 2: the box of the earlier file is shown
            page.wait_for_timeout(200)
            assert page.evaluate("() => document.getElementById('annotate').layout.shapes.length") == 1
            drag((50, 50), (70, 70))                       # past the image's edge: clipped to 64
            status = page.text_content("#status")
            with page.expect_download() as info:
                page.click("#save")
            download = info.value
            assert download.suggested_filename == "boxes.json"
            saved = tmp_path / "downloaded.json"
            download.save_as(saved)
        finally:
            browser.close()
    assert errors == []
    images = json.loads(re.search(r'id="annotate-images">(.*?)</script>', (tmp_path / "boxes.html").read_text(),
                                  re.S).group(1))
    assert shown == images[:2]  # Next shows the next sample's image
    assert status == "sample 3 of 3 · 2 box(es) here · 5 boxes on 3 samples"
    f = load_boxes(saved, model=str(model_file), seed=0, n=3, image_size=64)
    assert f.boxes == [[(10, 12, 30, 40)], [(40, 30, 64, 50), (5, 5, 20, 20)], [(2, 3, 9, 9), (50, 50, 64, 64)]]
    assert load_boxes_json(saved, 3, 64) == f.boxes  # forget --boxes reads it
