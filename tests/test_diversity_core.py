"""latentlab.metrics.diversity's own SSIM core (issue 23: no private pytorch_msssim internals) against the public
pytorch_msssim functions, which serve as the reference where their size check allows."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from latentlab.metrics.diversity import gaussian_window, msssim, ssim_terms

pytorch_msssim = pytest.importorskip("pytorch_msssim")


def _pair(n, c, size, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, size, size, generator=g) * 2 - 1
    return x, (x + 0.5 * torch.randn(n, c, size, size, generator=g)).clamp(-1, 1)


@pytest.mark.parametrize("c,size,win", [(1, 32, 7), (3, 64, 7), (3, 32, 11), (3, 16, 3)])
def test_single_scale_ssim_equals_the_public_ssim(c, size, win):
    x, y = _pair(4, c, size, seed=size + win)
    ours = ssim_terms(x, y, gaussian_window(win, 1.5), data_range=2.0)[0].mean(1)
    ref = pytorch_msssim.ssim(x, y, data_range=2.0, size_average=False, win_size=win, win_sigma=1.5)
    assert torch.equal(ours, ref)


def test_msssim_equals_the_public_ms_ssim_where_it_runs():
    x, y = _pair(3, 3, 128, seed=0)  # the public function needs side > (win - 1) * 16
    w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
    ref = pytorch_msssim.ms_ssim(x, y, data_range=2.0, size_average=False, win_size=7, weights=list(w))
    torch.testing.assert_close(msssim(x, y, weights=w), ref, rtol=0, atol=1e-6)


def test_gaussian_window():
    w = gaussian_window(7, 1.5)
    assert w.shape == (7,) and torch.isclose(w.sum(), torch.tensor(1.0)) and torch.equal(w, w.flip(0))
    assert int(w.argmax()) == 3


def test_diversity_imports_no_private_pytorch_msssim():
    src = (Path(__file__).resolve().parents[1] / "latentlab" / "metrics" / "diversity.py").read_text()
    assert not re.search(r"^\s*(from|import) pytorch_msssim", src, re.M)
