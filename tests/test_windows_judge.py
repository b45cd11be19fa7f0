"""The second window instrument (latentlab.judges.windows), the agreement of the two instruments, outlines."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.data.rooms import render_room
from latentlab.judges.outline import mask_outline, overlay_outline
from latentlab.judges.rooms import RoomSegmenter, RoomSegmenterConfig
from latentlab.judges.windows import (WindowDetector, WindowDetectorConfig, agreement, instrument_agreement,
                                      region_fractions)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "pretrained" / "judges" / "windows.safetensors"
SEGMENTER = ROOT / "pretrained" / "judges" / "rooms.safetensors"


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return WindowDetector(WindowDetectorConfig(widths=(8, 16), groups=4, grid=4)).eval()


def _images(n, seed=0):
    return torch.rand(n, 3, 64, 64, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_shapes_ranges_and_consistency(tiny):
    x = _images(5)
    logits = tiny(x)
    assert logits.shape == (5, 4, 4) and logits.requires_grad
    frac = tiny.region_fraction(x, batch_size=2)
    assert frac.shape == (5, 4, 4) and frac.dtype == torch.float32
    assert bool(((frac >= 0) & (frac <= 1)).all())
    assert torch.allclose(frac, logits.detach().sigmoid(), atol=1e-6)
    assert torch.allclose(tiny.window_fraction(x), frac.mean((1, 2)), atol=1e-7)
    pres = tiny.region_presence(x, min_fraction=0.5)
    assert pres.dtype == torch.bool and torch.equal(pres, frac >= 0.5)
    assert tiny.training is False


def test_save_load_round_trip(tiny, tmp_path):
    path = tmp_path / "w.safetensors"
    tiny.save(path)
    back = WindowDetector.load(path)
    assert back.config == tiny.config
    x = _images(3, 1)
    assert torch.equal(back.region_fraction(x), tiny.region_fraction(x))
    RoomSegmenter(RoomSegmenterConfig(widths=(4, 8))).save(tmp_path / "seg.safetensors")
    with pytest.raises(ValueError, match="not a windows judge"):
        WindowDetector.load(tmp_path / "seg.safetensors")


def test_region_fractions_by_hand():
    m = torch.zeros(1, 4, 4, dtype=torch.bool)
    m[0, 0, 0] = m[0, 0, 1] = m[0, 1, 0] = True   # 3 of the 4 pixels of the top-left 2x2 region
    m[0, 3, 3] = True                              # 1 of 4 in the bottom-right
    r = region_fractions(m, grid=2)
    assert torch.equal(r, torch.tensor([[[0.75, 0.0], [0.0, 0.25]]]))
    assert torch.equal(region_fractions(m.numpy().astype(np.uint8), grid=2), r)
    with pytest.raises(ValueError, match="grid: expected a divisor of the mask size 4x4, got 3"):
        region_fractions(m, grid=3)


def test_agreement_against_a_hand_computation():
    fa = [0.10, 0.20, 0.00, 0.05]
    fb = [0.12, 0.10, 0.00, 0.05]
    ra = torch.tensor([[[0.5, 0.0], [0.0, 0.0]], [[0.3, 0.3], [0.0, 0.0]],
                       [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.2, 0.0]]])
    rb = torch.tensor([[[0.4, 0.0], [0.0, 0.0]], [[0.3, 0.0], [0.0, 0.1]],
                       [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.3, 0.0]]])
    out = agreement(fa, fb, ra, rb, min_fraction=0.25, tolerance=0.01)
    # presence at >= 0.25: a marks (0,0,0) (1,0,0) (1,0,1); b marks (0,0,0) (1,0,0) (3,1,0)
    assert out["region_agreement"] == pytest.approx(14 / 16)          # 2 of 16 cells differ
    assert out["region_iou"] == pytest.approx(2 / 4)
    pa, pb = 3 / 16, 3 / 16
    chance = pa * pb + (1 - pa) * (1 - pb)
    assert out["region_kappa"] == pytest.approx((14 / 16 - chance) / (1 - chance))
    assert out["fraction_corr"] == pytest.approx(np.corrcoef(fa, fb)[0, 1])
    assert out["mean_abs_diff"] == pytest.approx((0.02 + 0.10) / 4)
    assert out["mean_fraction_a"] == pytest.approx(0.0875) and out["mean_fraction_b"] == pytest.approx(0.0675)
    assert out["image_presence_agreement"] == pytest.approx(3 / 4)   # image 3: a sees none, b sees one
    assert out["disagree"] == [0, 1, 3]                               # |diff| > 0.01 (0, 1) or presence (3)
    assert out["n"] == 4


def test_agreement_edge_cases_and_errors():
    z = torch.zeros(2, 2, 2)
    out = agreement([0.0, 0.0], [0.0, 0.0], z, z)
    assert np.isnan(out["fraction_corr"]) and np.isnan(out["region_iou"]) and np.isnan(out["region_kappa"])
    assert out["region_agreement"] == 1.0 and out["disagree"] == []
    with pytest.raises(ValueError, match="fractions_a, fractions_b: expected two non-empty"):
        agreement([0.1], [0.1, 0.2], z, z)
    with pytest.raises(ValueError, match=r"regions_a, regions_b: expected two \(N, G, G\) tensors with N = 2"):
        agreement([0.1, 0.2], [0.1, 0.2], z, torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match=r"min_fraction: expected a number in \(0, 1\], got 0"):
        agreement([0.1, 0.2], [0.1, 0.2], z, z, min_fraction=0)


def test_instrument_agreement_runs_both_instruments(tiny):
    torch.manual_seed(0)
    seg = RoomSegmenter(RoomSegmenterConfig(widths=(4, 8))).eval()
    x = _images(4, 2)
    out = instrument_agreement(seg, tiny, x, batch_size=3)
    masks = seg.class_mask(x, "window")
    assert out["fraction_a"] == pytest.approx(masks.float().mean((1, 2)).tolist())
    assert out["fraction_b"] == pytest.approx(tiny.window_fraction(x).tolist())
    ref = agreement(out["fraction_a"], out["fraction_b"], region_fractions(masks, 4), tiny.region_fraction(x))
    assert out["region_agreement"] == ref["region_agreement"] and out["disagree"] == ref["disagree"]
    with pytest.raises(TypeError, match="detector: expected a WindowDetector, got RoomSegmenter"):
        instrument_agreement(seg, seg, x)


@pytest.mark.skipif(not (SHIPPED.is_file() and SEGMENTER.is_file()), reason="judges not shipped")
def test_shipped_instruments_see_the_windows_of_fresh_rooms():
    det, seg = WindowDetector.load(SHIPPED), RoomSegmenter.load(SEGMENTER)
    samples = [render_room(i, seed=7) for i in range(48)]
    x = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).float() / 127.5 - 1
    truth = torch.from_numpy(np.stack([s.labels for s in samples])) == 3
    f = det.window_fraction(x)
    assert float(np.corrcoef(f, truth.float().mean((1, 2)))[0, 1]) > 0.9
    out = instrument_agreement(seg, det, x)
    assert out["fraction_corr"] > 0.9 and out["region_agreement"] > 0.95


# -- outlines --------------------------------------------------------------------------------------


def test_outline_of_a_square_and_at_the_border():
    m = np.zeros((6, 7), bool)
    m[1:5, 2:6] = True
    edge = mask_outline(m)
    expect = m.copy()
    expect[2:4, 3:5] = False          # the 2x2 interior stays unmarked
    assert edge.dtype == np.bool_ and np.array_equal(edge, expect)
    full = torch.ones(2, 4, 4, dtype=torch.bool)
    e = mask_outline(full)            # the image border counts as outside
    assert isinstance(e, torch.Tensor) and e.shape == (2, 4, 4)
    assert e[0].sum() == 12 and not e[0, 1:3, 1:3].any()
    assert mask_outline(full, thickness=2)[0].all()
    assert not mask_outline(np.zeros((3, 3), np.uint8)).any()


def test_overlay_paints_only_the_outline():
    m = torch.zeros(1, 8, 8, dtype=torch.bool)
    m[0, 2:6, 2:6] = True
    x = torch.zeros(1, 3, 8, 8)
    out = overlay_outline(x, m, color=(1.0, -1.0, 0.5))
    edge = mask_outline(m)
    assert torch.equal(out[0, 0][edge[0]], torch.ones(12)) and torch.equal(out[0, 1][edge[0]], -torch.ones(12))
    assert torch.equal(out[0][:, ~edge[0]], x[0][:, ~edge[0]]) and torch.equal(x, torch.zeros(1, 3, 8, 8))
    u = np.zeros((8, 8, 3), np.uint8)
    v = overlay_outline(u, m[0].numpy(), color=(255, 0, 255))
    assert v.dtype == np.uint8 and (v[edge[0].numpy()] == [255, 0, 255]).all() and v.sum() == 12 * 510
    with pytest.raises(ValueError, match=r"mask: expected shape \(1, 8, 8\) to match images, got \(1, 4, 4\)"):
        overlay_outline(x, torch.zeros(1, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask: expected bool or 0/1 values"):
        mask_outline(np.full((3, 3), 2))


def test_training_script_smoke(tmp_path):
    from _scripts import load_script
    script = load_script("scripts/train_window_detector.py")
    threads = torch.get_num_threads()
    try:
        report = script.main(["--smoke", "--out", str(tmp_path / "windows.safetensors")])
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "windows.metrics.json").is_file()
    assert set(report["suite"]) >= {"clean", "erase_windows", "all"}
    det = WindowDetector.load(tmp_path / "windows.safetensors")
    assert det.window_fraction(_images(2)).shape == (2,)
