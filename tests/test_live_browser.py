"""The live page in headless Chromium with the network blocked (issue 31): ``window.latentlab.generate`` equals
PyTorch's ``to_uint8(G(z))`` within 2 grey levels with and without dropped maps, for a latentlab model and for the
unmodified pytorch/examples netG; the page makes no request; the sliders and the brush edit the "after" image.

Needs Debian's Chromium (apt-get install chromium) and the live extra; skipped otherwise."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="pip install 'latentlab[live]'")
pytest.importorskip("onnxscript", reason="pip install 'latentlab[live]'")
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from latentlab.attribution.filters import to_uint8  # noqa: E402
from latentlab.dissect.ablate import ablate_layers  # noqa: E402
from latentlab.live import write_live_page  # noqa: E402
from latentlab.live.browser import open_live  # noqa: E402
from latentlab.models.adapter import LatentModel  # noqa: E402
from latentlab.viz.browser import find_chromium  # noqa: E402

from _pytorch_examples_dcgan import build  # noqa: E402
from test_live import lively, tiny_model  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow,
              pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium)")]


def _pytorch_examples():
    torch.manual_seed(1)
    netG, _ = build(nz_=8, ngf_=4)
    return LatentModel(lively(netG, 8, z_dims=4), "normal")


@pytest.fixture(scope="module", params=["latentlab", "pytorch-examples"])
def live(request, tmp_path_factory):
    lm = LatentModel(tiny_model()) if request.param == "latentlab" else _pytorch_examples()
    path = tmp_path_factory.mktemp("live") / "live.html"
    page = write_live_page(lm, path, seed=0)
    with open_live(path) as session:
        yield lm, page, session


def _torch(lm, z, drop=None):
    with ablate_layers(lm.module, drop or {}):
        return to_uint8(lm.generate(z)).astype(int)


def test_generate_matches_pytorch_with_and_without_drops(live):
    lm, page, s = live
    z = lm.sample_z(5, seed=11)
    layers = [l["name"] for l in page.meta["layers"]]
    drop = {layers[1]: [0, 2, 3], layers[-1]: [1]}
    for d in (None, drop):
        ref = _torch(lm, z, d)
        got = np.asarray(s.generate(z.tolist(), d))
        assert got.dtype.kind == "i" and got.min() >= 0 and got.max() <= 255
        assert got.size == ref.size and np.abs(got.reshape(ref.shape) - ref).max() <= 2, d
    assert np.abs(_torch(lm, z, drop) - _torch(lm, z)).max() > 20       # the drop is visible
    assert s.requests == [] and s.console_errors == [] and s.page_errors == []


@pytest.mark.parametrize("args, match", [
    ("[[[0, 0]], {}]", "z: expected an array of N arrays of 8 numbers"),
    ("[Z, {nope: [1]}]", "drop: unknown layer \"nope\""),
    ("[Z, {LAYER: [999]}]", "drop: map 999 of"),
])
def test_generate_rejects_bad_input(live, args, match):
    _, page, s = live
    js = args.replace("Z", "[window.latentlab.content.samples[0]]").replace("LAYER", repr(page.meta["layers"][0]["name"]))
    msg = s.page.evaluate(f"async () => {{ try {{ await window.latentlab.generate(...{js}); return 'resolved'; }} "
                          "catch (e) { return e.message; } }")
    assert match in msg


_PIXELS = """(i) => { const c = document.querySelectorAll('#ll-before canvas, #ll-after canvas')[i];
                     return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"""


def _settle(s):
    s.page.wait_for_timeout(150)
    s.page.wait_for_function("() => window.latentlab.lastMs !== null")


def test_k_slider_and_brush_edit_only_the_after_image(live):
    lm, page, s = live
    p = s.page
    p.evaluate("() => { const k = document.getElementById('ll-k'); k.value = k.max; k.dispatchEvent(new Event('input')); }")
    _settle(s)
    p.wait_for_timeout(500)
    before, after = np.array(p.evaluate(_PIXELS, 0)), np.array(p.evaluate(_PIXELS, 1))
    z = torch.tensor([p.evaluate("() => window.latentlab.content.samples[0]")])
    ref = _torch(lm, z)[0]
    size = ref.shape[0]
    assert np.abs(before.reshape(size, size, 4)[..., :3] - ref).max() <= 2     # before = G(A), nothing dropped
    assert np.abs(after - before).max() > 20                                    # after: every map of the layer dropped
    # paint a small square: outside it, "after" is "before" again
    box = p.query_selector("#ll-after .ll-overlay").bounding_box()
    p.evaluate("() => { document.getElementById('ll-clear-paint').click(); }")
    p.mouse.move(box["x"] + 10, box["y"] + 10)
    p.mouse.down()
    p.mouse.move(box["x"] + 30, box["y"] + 30, steps=4)
    p.mouse.up()
    p.wait_for_timeout(800)
    painted = np.array(p.evaluate(_PIXELS, 1)).reshape(size, size, 4)[..., :3]
    far = painted[size // 2:, size // 2:]
    assert np.abs(far - ref[size // 2:, size // 2:]).max() <= 2 and np.abs(painted - ref).max() > 0
    assert "ms per image" in p.evaluate("() => document.getElementById('ll-status').textContent")
    assert s.requests == [] and s.page_errors == []


_CELLS = """() => Array.from(document.querySelectorAll('#ll-grid canvas')).map(c =>
              Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data))"""


def test_arithmetic_grid_and_single_map_toggle(live):
    lm, page, s = live
    p = s.page
    thumbs = p.query_selector_all(".ll-thumb")
    p.check("input[name=ll-mode][value=plus]")
    thumbs[0].click()
    thumbs[1].click()
    p.check("input[name=ll-mode][value=minus]")
    thumbs[2].click()
    p.wait_for_timeout(800)
    assert p.evaluate("() => document.getElementById('ll-expr').textContent") == "sample 1 + sample 2 − sample 3"
    cells = np.array(p.evaluate(_CELLS))
    size = page.meta["size"]
    zs = torch.tensor(p.evaluate("() => window.latentlab.content.samples.slice(0, 3)"))
    y = zs[0] + zs[1] - zs[2]
    centre = cells[4].reshape(size, size, 4)[..., :3]
    assert np.abs(centre - _torch(lm, y[None])[0]).max() <= 2           # the centre is G(y)
    assert len(cells) == 9 and min(np.abs(c - cells[4]).max() for i, c in enumerate(cells) if i != 4) > 0
    # one map on and off: the button toggles it in the "after" image only
    p.evaluate("() => { const k = document.getElementById('ll-k'); k.value = 0; k.dispatchEvent(new Event('input')); "
               "document.getElementById('ll-clear-paint').click(); }")
    p.wait_for_timeout(500)
    plain = np.array(p.evaluate(_PIXELS, 1))
    p.query_selector_all(".ll-map")[0].click()
    p.wait_for_timeout(800)
    assert p.query_selector_all(".ll-map")[0].get_attribute("class") == "ll-map off"
    assert "1 dropped" in p.evaluate("() => document.getElementById('ll-kval').textContent")
    assert np.abs(np.array(p.evaluate(_PIXELS, 1)) - plain).max() > 0
    p.query_selector_all(".ll-map")[0].click()
    p.wait_for_timeout(800)
    assert np.abs(np.array(p.evaluate(_PIXELS, 1)) - plain).max() == 0

