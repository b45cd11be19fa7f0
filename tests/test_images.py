"""latentlab.images: range, dtype and channel conversions (kornia-style tests: smoke, shapes, exceptions, and
the exact arithmetic of the copies they replaced)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.images import LUMA_WEIGHTS, from_uint8, grey_to_rgb, match_channels, rgb_to_grey, to_uint8, \
    to_unit_range


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_end_points_and_midpoint():
    u = torch.tensor([0, 127, 128, 255], dtype=torch.uint8).view(1, 1, 1, 4)
    assert from_uint8(u).flatten().tolist() == pytest.approx([-1.0, -1 / 255, 1 / 255, 1.0], abs=1e-7)
    assert to_uint8(torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3)).flatten().tolist() == [0, 128, 255]


def test_round_trip_of_every_uint8_value():
    u = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(to_uint8(from_uint8(u)), u)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5), (2, 2, 1, 4, 5)])
def test_shapes_and_channels_last(shape):
    x = _rand(*shape)
    u = to_uint8(x)
    assert u.shape == x.shape and u.dtype == torch.uint8
    last = to_uint8(x, channels_last=True)
    assert last.shape == (*shape[:-3], shape[-2], shape[-1], shape[-3])
    assert torch.equal(from_uint8(last, channels_last=True), from_uint8(u))
    assert torch.equal(from_uint8(last.numpy(), channels_last=True), from_uint8(u))  # numpy in, same out


def test_the_arithmetic_is_the_replaced_copies():
    """Bit for bit what the datasets (``x.float().div_(127.5).sub_(1.0)``) and the filter report
    (``((x.clamp(-1, 1) + 1) * 127.5).round()``) computed before, including values outside [-1, 1]."""
    u = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(from_uint8(u), u.float().div_(127.5).sub_(1.0))
    x = _rand(4, 3, 8, 8) * 1.2
    assert torch.equal(to_uint8(x), ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
    assert torch.equal(to_unit_range(x), (x.clamp(-1, 1) + 1) / 2)
    w = torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    assert torch.equal(rgb_to_grey(x), (x * w).sum(1, keepdim=True))


def test_grey_and_rgb():
    g = _rand(2, 1, 4, 4)
    rgb = grey_to_rgb(g)
    assert rgb.shape == (2, 3, 4, 4) and all(torch.equal(rgb[:, i:i + 1], g) for i in range(3))
    assert torch.allclose(rgb_to_grey(rgb), g, atol=1e-6)  # the weights sum to 1: grey survives the round trip
    c = _rand(2, 3, 4, 4)
    assert grey_to_rgb(c) is c and rgb_to_grey(g) is g
    assert match_channels(g, 3).shape[1] == 3 and match_channels(c, 1).shape[1] == 1
    assert grey_to_rgb(torch.zeros(5, 1, 2, 2, dtype=torch.uint8)).dtype == torch.uint8  # any dtype


@pytest.mark.parametrize("call, exc, match", [
    (lambda: from_uint8(torch.zeros(1, 3, 2, 2)), TypeError, r"images: expected uint8 values in \[0, 255\], got dtype torch.float32"),
    (lambda: from_uint8([[0, 255]]), TypeError, r"images: expected a torch.Tensor or numpy array, got list"),
    (lambda: from_uint8(np.zeros((4, 4), np.uint8), channels_last=True), ValueError, r"images: expected channels-last"),
    (lambda: to_uint8(torch.zeros(1, 3, 2, 2, dtype=torch.uint8)), TypeError, r"images: expected a floating tensor in \[-1, 1\], got dtype torch.uint8"),
    (lambda: to_uint8(np.zeros((1, 3, 2, 2))), TypeError, r"images: expected a torch.Tensor, got ndarray"),
    (lambda: grey_to_rgb(torch.zeros(1, 2, 4, 4)), ValueError, r"images: expected images \(\.\.\., 1, H, W\) or \(\.\.\., 3, H, W\), got shape \(1, 2, 4, 4\)"),
    (lambda: rgb_to_grey(torch.zeros(4, 4)), ValueError, r"got shape \(4, 4\)"),
    (lambda: rgb_to_grey(torch.zeros(1, 3, 4, 4, dtype=torch.uint8)), TypeError, r"images: expected a floating tensor"),
    (lambda: match_channels(torch.zeros(1, 3, 4, 4), 2), ValueError, r"channels: expected 1 or 3, got 2"),
])
def test_bad_inputs_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
