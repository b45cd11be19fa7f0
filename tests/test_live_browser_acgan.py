"""The live page of an AC-GAN in headless Chromium: ``generate(z, drop, c)`` takes one class or one per z and
equals PyTorch within 2 grey levels; the page offers the class names. Its own file: Playwright's sync API cannot
run while tests/test_live_browser.py's module fixture holds a browser open."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="pip install 'latentlab[live]'")
pytest.importorskip("onnxscript", reason="pip install 'latentlab[live]'")
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from latentlab.attribution.filters import to_uint8  # noqa: E402
from latentlab.live import write_live_page  # noqa: E402
from latentlab.live.browser import open_live  # noqa: E402
from latentlab.models.adapter import LatentModel  # noqa: E402
from latentlab.viz.browser import find_chromium  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow,
              pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium)")]


def test_acgan_page_takes_classes(tmp_path):
    from latentlab import GAN, ModelConfig
    torch.manual_seed(0)
    gan = GAN(ModelConfig(arch="acgan", nz=8, ngf=8, ndf=8, image_size=32, channels=1, num_classes=3,
                          class_names=("a", "b", "c")), with_discriminator=False)
    lm = LatentModel(gan)
    page = write_live_page(lm, tmp_path / "live.html")
    z, c = lm.sample_z(3, seed=2), [2, 0, 1]
    with open_live(page.path) as s:
        got = np.asarray(s.page.evaluate("([z, c]) => window.latentlab.generate(z, {}, c)", [z.tolist(), c]))
        one = np.asarray(s.page.evaluate("([z]) => window.latentlab.generate(z, {}, 1)", [z.tolist()]))
        bad = s.page.evaluate("([z]) => window.latentlab.generate(z, {}, [0]).then(() => 'resolved', e => e.message)",
                              [z.tolist()])
        assert s.page.evaluate("() => Array.from(document.querySelectorAll('#ll-class option')).map(o => o.text)") \
            == ["a", "b", "c"]
        assert s.requests == [] and s.page_errors == []
    ref = to_uint8(lm.generate(z, torch.tensor(c))).astype(int)
    assert np.abs(got.reshape(ref.shape) - ref).max() <= 2
    ref1 = to_uint8(lm.generate(z, 1)).astype(int)
    assert np.abs(one.reshape(ref1.shape) - ref1).max() <= 2
    assert "c: expected 3 class indices in 0..2" in bad
