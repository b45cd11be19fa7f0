"""The degradation suite (latentlab.judges.degrade) and its measurements (latentlab.judges.suite)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.data.rooms import ROOM_CLASSES, render_room
from latentlab.judges import degrade as D
from latentlab.judges.rooms import RoomSegmenter, RoomSegmenterConfig
from latentlab.judges.suite import pixel_scores, room_suite

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "pretrained" / "judges" / "rooms.safetensors"


@pytest.fixture(scope="module")
def rooms():
    """8 scenes of a family no judge trained on, with their exact labels; most show windows."""
    pool = [render_room(i, seed=7) for i in range(40)]
    with_w = [s for s in pool if (s.labels == D.WINDOW).any()]
    samples = with_w[:6] + [s for s in pool if not (s.labels == D.WINDOW).any()][:2]
    x = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(np.stack([s.labels for s in samples])).long()
    assert int((y == D.WINDOW).flatten(1).any(1).sum()) == 6
    return x, y


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


RANDOM_FNS = {
    "colour_shift": lambda x, g: D.colour_shift(x, 0.3, rng=g),
    "pixel_noise": lambda x, g: D.pixel_noise(x, 0.1, rng=g),
    "lowfreq_noise": lambda x, g: D.lowfreq_noise(x, 0.2, rng=g),
    "blotches": lambda x, g: D.blotches(x, 6, 0.6, rng=g),
    "checkerboard": lambda x, g: D.checkerboard(x, 0.2, rng=g),
}


def test_class_indices_match_the_renderer():
    assert ROOM_CLASSES[D.WALL] == "wall" and ROOM_CLASSES[D.WINDOW] == "window"


@pytest.mark.parametrize("name", sorted(RANDOM_FNS))
def test_random_degradations_are_deterministic_under_a_seed_and_change_the_image(rooms, name):
    x, _ = rooms
    fn = RANDOM_FNS[name]
    a, b, c = fn(x, gen(1)), fn(x, gen(1)), fn(x, gen(2))
    assert torch.equal(a, b)                        # same seed, same pixels
    assert not torch.equal(a, c)                    # another seed, other pixels
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float((a - x).abs().mean()) > 0.005      # it really edits the image
    assert a.min() >= -1 and a.max() <= 1
    assert torch.equal(x, rooms[0])                 # the input is not modified in place


def test_wash_and_blur_are_exact():
    x = torch.zeros(1, 3, 8, 8)
    x[0, 0] = 1.0                                   # a red image: mean grey 1/3
    w = D.wash(x, 0.5)
    assert torch.allclose(w[0, 0], torch.full((8, 8), 0.5 + 0.5 / 3))
    assert torch.allclose(w[0, 1], torch.full((8, 8), 0.5 / 3))
    assert torch.equal(D.wash(x, 0.0), x)
    flat = torch.full((2, 3, 8, 8), 0.3)
    assert torch.allclose(D.blur(flat, 1.0), flat)  # a blur keeps a constant image (replicate padding)
    dot = torch.zeros(1, 3, 9, 9)
    dot[0, :, 4, 4] = 1.0
    bl = D.blur(dot, 1.0)
    assert torch.allclose(bl.sum(), torch.tensor(3.0), atol=1e-5)   # mass kept away from the border
    assert bl[0, 0, 4, 4] < 0.2 and torch.allclose(bl[0, 0], bl[0, 0].T)


def test_erase_paints_windows_with_wall_and_relabels_them(rooms):
    x, y = rooms
    xe, ye = D.erase_class(x, y, p=1.0, rng=gen())
    was = y == D.WINDOW
    assert not bool((ye == D.WINDOW).any())          # every window erased, labelled wall
    assert torch.equal(ye[was], torch.full_like(ye[was], D.WALL))
    assert torch.equal(ye[~was], y[~was]) and torch.equal(xe.permute(0, 2, 3, 1)[~was], x.permute(0, 2, 3, 1)[~was])
    changed = (xe - x).abs().sum(1) > 1e-4
    assert bool(changed[was].float().mean() > 0.9)   # the window pixels were repainted
    # the fill looks like the wall: close to the mean colour of the wall pixels of that image
    for i in range(len(x)):
        if was[i].any():
            wall = x[i][:, y[i] == D.WALL].mean(1)
            fill = xe[i][:, was[i]].mean(1)
            assert float((wall - fill).abs().max()) < 0.25, i
    a, b = D.erase_class(x, y, p=0.5, rng=gen(3)), D.erase_class(x, y, p=0.5, rng=gen(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_partial_erase_keeps_part_of_every_window(rooms):
    x, y = rooms
    _, ye = D.erase_class(x, y, part=True, rng=gen())
    for i in range(len(y)):
        before, after = int((y[i] == D.WINDOW).sum()), int((ye[i] == D.WINDOW).sum())
        if before:
            assert 0 < after < before, (i, before, after)


@pytest.mark.parametrize("condition", D.CONDITIONS)
def test_every_condition_is_reproducible(rooms, condition):
    x, y = rooms
    a = D.degrade(x, condition, labels=y, seed=5)
    b = D.degrade(x, condition, labels=y, seed=5)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    if condition == "clean":
        assert torch.equal(a[0], x) and a[0] is not x
    else:
        assert not torch.equal(a[0], x)
    if "erase" not in str(D.SUITE[condition]):
        assert torch.equal(a[1], y)  # only erasure changes the truth


def test_degrade_without_labels_skips_erasure(rooms):
    x, _ = rooms
    xd, yd = D.degrade(x, "erase_windows", seed=0)
    assert yd is None and torch.equal(xd, x)


def test_random_degradation_is_seeded_and_erases_only_with_labels(rooms):
    x, y = rooms
    a = D.random_degradation(x, y, rng=gen(4), p_erase=1.0)
    b = D.random_degradation(x, y, rng=gen(4), p_erase=1.0)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert int((a[1] == D.WINDOW).sum()) < int((y == D.WINDOW).sum())
    xn, yn = D.random_degradation(x, None, rng=gen(4))
    assert yn is None and xn.shape == x.shape


def test_pixel_scores_by_hand():
    truth = torch.tensor([[[3, 3, 0], [0, 4, 4]]])
    pred = torch.tensor([[[3, 0, 3], [3, 4, 0]]])
    s = pixel_scores(pred, truth, 3)  # tp 1, fp 2, fn 1, negatives 4
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(1 / 2)
    assert s["iou"] == pytest.approx(1 / 4) and s["false_positive_rate"] == pytest.approx(2 / 4)
    assert s["predicted_share"] == pytest.approx(3 / 6) and s["true_share"] == pytest.approx(2 / 6)
    assert np.isnan(pixel_scores(pred, truth, 7)["precision"])


def test_suite_figures_are_reproducible(rooms):
    x, y = rooms
    torch.manual_seed(0)
    seg = RoomSegmenter.load(SHIPPED) if SHIPPED.is_file() else RoomSegmenter(RoomSegmenterConfig(widths=(4, 8)))
    conds = ["clean", "lowfreq_noise", "erase_windows"]
    a = room_suite(seg, x[:4], y[:4], conditions=conds, seed=0)
    b = room_suite(seg, x[:4], y[:4], conditions=conds, seed=0)
    assert a == b or str(a) == str(b)  # nan != nan: compare the printed figures then
    assert list(a) == conds and set(a["clean"]) >= {"window", "bed"}
    assert "erased_called_window" in a["erase_windows"] and "erased_called_window" not in a["clean"]
    c = room_suite(seg, x[:4], y[:4], conditions=["lowfreq_noise"], seed=1)
    assert c["lowfreq_noise"] != a["lowfreq_noise"]  # the seed matters


@pytest.mark.parametrize("call, error, match", [
    (lambda x, y: D.degrade(x, "fog"), ValueError, r"condition: expected one of \['clean'"),
    (lambda x, y: D.degrade(x, "blur", seed=-1), ValueError, r"seed: expected a non-negative int, got -1"),
    (lambda x, y: D.wash(x, 1.5), ValueError, r"amount: expected a number in \[0.0, 1.0\], got 1.5"),
    (lambda x, y: D.pixel_noise(x, 0.1, generator=0), TypeError, r"generator: expected a torch.Generator, got int"),
    (lambda x, y: D.blur(x[:, :1], 1.0), ValueError, r"images: expected shape \(N, 3, H, W\), got \(8, 1, 64, 64\)"),
    (lambda x, y: D.erase_class(x, y[:2], rng=gen()), ValueError, r"labels: expected shape \(8, 64, 64\)"),
    (lambda x, y: room_suite(None, x, y, conditions=["fog"]), ValueError, r"conditions: unknown \['fog'\]"),
])
def test_bad_arguments(rooms, call, error, match):
    with pytest.raises(error, match=match):
        call(*rooms)
