"""The rooms judge (latentlab.judges.rooms): mask -> boxes, the segmenter's shapes, errors and files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.data.rooms import ROOM_CLASSES, render_room
from latentlab.io import CheckpointError
from latentlab.judges.rooms import RoomSegmenter, RoomSegmenterConfig, mask_to_boxes, window_boxes

from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "pretrained" / "judges" / "rooms.safetensors"
# Trained on seed 0, validated on seed 2, evaluated on seed 1 (scripts/train_judge_rooms.py); 7 is fresh.
FRESH_SEED = 7


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return RoomSegmenter(RoomSegmenterConfig(widths=(4, 8, 8))).eval()


def _images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 64, 64, generator=g) * 2 - 1


# -- mask_to_boxes ----------------------------------------------------------------------------


def test_boxes_of_two_blobs_largest_first_and_tiny_dropped():
    m = np.zeros((12, 16), bool)
    m[1:3, 2:5] = True            # 6 px: (2, 1, 5, 3)
    m[5:10, 8:12] = True          # 20 px: (8, 5, 12, 10)
    m[11, 0] = True               # 1 px: dropped at min_area=4
    m[0:3, 14] = True             # 3 px: dropped at min_area=4
    assert mask_to_boxes(m) == [(8, 5, 12, 10), (2, 1, 5, 3)]
    assert mask_to_boxes(m, min_area=1) == [(8, 5, 12, 10), (2, 1, 5, 3), (14, 0, 15, 3), (0, 11, 1, 12)]
    assert mask_to_boxes(m, min_area=7) == [(8, 5, 12, 10)]
    x0, y0, x1, y1 = mask_to_boxes(m)[0]
    assert m[y0:y1, x0:x1].all()  # exclusive ends: the slice is exactly the blob


def test_diagonal_neighbours_join_8_connectivity():
    m = np.zeros((6, 6), np.uint8)
    m[1, 1] = m[2, 2] = m[3, 3] = m[4, 4] = 1  # a diagonal line: one component of 4 px
    assert mask_to_boxes(m) == [(1, 1, 5, 5)]


def test_tensor_and_float_masks_and_empty():
    m = torch.zeros(8, 8, dtype=torch.bool)
    m[2:4, 3:6] = True
    assert mask_to_boxes(m) == mask_to_boxes(m.float()) == mask_to_boxes(m.numpy()) == [(3, 2, 6, 4)]
    assert mask_to_boxes(np.zeros((5, 5), bool)) == []


@pytest.mark.parametrize("mask, error, match", [
    (np.zeros((2, 3, 3), bool), ValueError, "mask must be 2-D"),
    (np.full((4, 4), 2), ValueError, "mask must be bool or 0/1"),
    (np.full((4, 4), 0.5), ValueError, "mask must be bool or 0/1"),
    ([[0, 1], [1, 0]], TypeError, "mask must be a numpy array"),
])
def test_mask_validation(mask, error, match):
    with pytest.raises(error, match=match):
        mask_to_boxes(mask)


def test_min_area_validation():
    with pytest.raises(ValueError, match="min_area"):
        mask_to_boxes(np.zeros((4, 4), bool), min_area=-1)


# -- the segmenter ----------------------------------------------------------------------------


def test_shapes_and_outputs(tiny):
    x = _images(3)
    k = len(ROOM_CLASSES)
    assert tiny.classes == ROOM_CLASSES
    assert tiny(x).shape == (3, k, 64, 64)
    labels = tiny.predict(x, batch_size=2)
    assert labels.shape == (3, 64, 64) and labels.dtype == torch.long
    assert 0 <= labels.min() and labels.max() < k
    mask = tiny.class_mask(x, "window")
    assert mask.dtype == torch.bool and mask.shape == (3, 64, 64)
    assert torch.equal(mask, labels == ROOM_CLASSES.index("window"))
    f = tiny.features(x)
    assert f.shape == (3, tiny.feature_dim) and f.dtype == torch.float32
    assert torch.equal(tiny.features(x.double()), f)  # converted to the weights' dtype
    assert tiny.predict(x.half()).shape == (3, 64, 64)  # any float dtype
    boxes = window_boxes(tiny, x)
    assert len(boxes) == 3 and all(isinstance(b, list) for b in boxes)
    assert tiny.predict(x[:0]).shape == (0, 64, 64)


def test_default_model_is_small():
    seg = RoomSegmenter()
    assert 30_000 < sum(p.numel() for p in seg.parameters()) < 150_000
    assert seg(_images(1)).shape == (1, len(ROOM_CLASSES), 64, 64)


@pytest.mark.parametrize("images, error, match", [
    (torch.zeros(2, 3, 32, 32), ValueError, r"images must have shape \(N, 3, 64, 64\), got \(2, 3, 32, 32\)"),
    (torch.zeros(3, 64, 64), ValueError, r"images must have shape .*got \(3, 64, 64\)"),
    (torch.zeros(2, 1, 64, 64), ValueError, "images must have shape"),
    (torch.zeros(2, 3, 64, 64, dtype=torch.uint8), TypeError, "images must be a floating tensor"),
    (np.zeros((2, 3, 64, 64), np.float32), TypeError, "images must be a torch.Tensor"),
])
def test_bad_images(tiny, images, error, match):
    with pytest.raises(error, match=match):
        tiny.predict(images)
    with pytest.raises(error, match=match):
        tiny(images)


def test_min_prob_only_removes_pixels(tiny):
    x = _images(2)
    plain = tiny.class_mask(x, "wall")
    assert torch.equal(tiny.class_mask(x, "wall", min_prob=0.0), plain)
    strict = tiny.class_mask(x, "wall", min_prob=0.5)
    assert not (strict & ~plain).any()
    p = tiny(x).softmax(1)[:, 0]
    assert torch.equal(strict, plain & (p >= 0.5))
    assert not tiny.class_mask(x, "wall", min_prob=1.0).any() or p.max() >= 1.0
    with pytest.raises(ValueError, match="min_prob"):
        tiny.class_mask(x, "wall", min_prob=1.5)


def test_unknown_class_lists_the_classes(tiny):
    with pytest.raises(ValueError, match="unknown class 'sofa'.*window"):
        tiny.class_mask(_images(1), "sofa")


def test_bad_config():
    with pytest.raises(ValueError, match="widths"):
        RoomSegmenterConfig(widths=(8,))
    with pytest.raises(ValueError, match="image_size must be divisible"):
        RoomSegmenterConfig(image_size=60, widths=(4, 8, 8, 8))


# -- files ------------------------------------------------------------------------------------


def test_save_load_round_trip_is_bit_exact(tiny, tmp_path):
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for name, b in tiny.named_buffers():
            if b.is_floating_point():
                b.uniform_(0.5, 1.5)
    path = tmp_path / "rooms.safetensors"
    tiny.save(path, metadata={"training": "{}"})
    loaded = RoomSegmenter.load(path)
    assert not loaded.training and loaded.config == tiny.config
    for (n1, t1), (n2, t2) in zip(tiny.state_dict().items(), loaded.state_dict().items()):
        assert n1 == n2 and t1.dtype == t2.dtype and torch.equal(t1, t2), n1
    x = _images(2)
    assert torch.equal(loaded(x), tiny(x))
    from latentlab.io import read_metadata
    meta = read_metadata(path)
    assert meta["format"] == "latentlab-judge" and meta["judge"] == "rooms"
    assert json.loads(meta["config"])["classes"] == list(ROOM_CLASSES)
    tiny.save(tmp_path / "half.safetensors", dtype=torch.float16)
    half = RoomSegmenter.load(tmp_path / "half.safetensors")
    assert half.head.weight.dtype == torch.float32
    assert torch.equal(half.head.weight, tiny.head.weight.half().float())


def test_corrupt_and_foreign_files(tiny, tmp_path):
    path = tmp_path / "rooms.safetensors"
    tiny.save(path)
    raw = path.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated.safetensors"):
        RoomSegmenter.load(truncated)
    flipped = bytearray(raw)
    flipped[-3] ^= 0xFF  # a tensor byte: only the checksum notices
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="flipped.safetensors.*checksum"):
        RoomSegmenter.load(bad)
    pickled = tmp_path / "pickled.safetensors"
    pickled.write_bytes(b"\x80\x04" + b"x" * 100)
    with pytest.raises(CheckpointError, match="pickle"):
        RoomSegmenter.load(pickled)
    from safetensors.torch import save_file
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"format": "latentlab-judge", "judge": "faces"})
    with pytest.raises(CheckpointError, match="foreign.safetensors: not a rooms judge"):
        RoomSegmenter.load(foreign)
    with pytest.raises(FileNotFoundError):
        RoomSegmenter.load(tmp_path / "missing.safetensors")


def test_mismatched_tensors_name_the_file(tiny, tmp_path):
    from latentlab.judges.rooms import _digest
    from latentlab.io import save_safetensors
    tensors = {k: v.clone() for k, v in tiny.state_dict().items()}
    tensors["head.weight"] = tensors["head.weight"][:3]
    meta = {"format": "latentlab-judge", "judge": "rooms", "config": tiny.config.to_json(),
            "sha256": _digest(tensors)}
    path = tmp_path / "shapes.safetensors"
    save_safetensors(path, tensors, meta)
    with pytest.raises(CheckpointError, match=r"shapes\.safetensors': tensor head\.weight has shape \(3, 4, 1, 1\), "
                                              r"the config expects \(11, 4, 1, 1\)"):
        RoomSegmenter.load(path)


# -- shipped weights --------------------------------------------------------------------------


@pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} not shipped (scripts/train_judge_rooms.py)")
def test_shipped_judge_segments_fresh_rooms():
    seg = RoomSegmenter.load(SHIPPED)
    samples = [render_room(i, seed=FRESH_SEED, size=64) for i in range(64)]
    x = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(np.stack([s.labels for s in samples])).long()
    pred = seg.predict(x)
    for name in ("window", "bed"):
        k = ROOM_CLASSES.index(name)
        inter = ((pred == k) & (y == k)).sum().item()
        union = ((pred == k) | (y == k)).sum().item()
        assert inter / union >= 0.85, (name, inter / union)
    assert seg.features(x[:4]).shape == (4, seg.feature_dim)


def test_training_script_smoke(tmp_path):
    script = load_script("scripts/train_judge_rooms.py")
    threads = torch.get_num_threads()
    try:
        report = script.main(["--smoke", "--out", str(tmp_path / "rooms.safetensors")])
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "rooms.safetensors").is_file() and (tmp_path / "rooms.metrics.json").is_file()
    assert set(report["metrics"]["iou"]) == set(ROOM_CLASSES)
    RoomSegmenter.load(tmp_path / "rooms.safetensors")


def test_robust_training_smoke_and_resume(tmp_path):
    script = load_script("scripts/train_judge_rooms.py")
    threads = torch.get_num_threads()
    out = tmp_path / "rooms.safetensors"
    try:
        report = script.main(["--smoke", "--robust", "--out", str(out)])
        state = torch.load(tmp_path / "rooms.state.pt", weights_only=True)
        again = script.main(["--smoke", "--robust", "--resume", "--out", str(tmp_path / "rooms.safetensors")])
    finally:
        torch.set_num_threads(threads)
    assert report["robust"] and state["step"] == 3
    assert set(report["metrics_suite"]) >= {"clean", "lowfreq_noise", "erase_windows", "all"}
    assert report["validation"][-1]["robust_score"] <= 1.0
    # resuming a finished state trains no further step: same weights, same numbers
    assert again["metrics"] == report["metrics"]


def test_robust_training_new_flags_smoke(tmp_path):
    """--p-hard, --erased-weight, --calibrate-window-bias and --widths (issue 25's tries) run end to end and
    are recorded: the saved judge has the asked widths and the calibrated window offset is in its head."""
    script = load_script("scripts/train_judge_rooms.py")
    threads = torch.get_num_threads()
    out = tmp_path / "rooms.safetensors"
    try:
        report = script.main(["--smoke", "--robust", "--p-hard", "0.5", "--erased-weight", "3",
                              "--calibrate-window-bias", "--widths", "8", "12", "16", "24", "32", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert report["p_hard"] == 0.5 and report["erased_weight"] == 3.0 and report["calibrate_window_bias"]
    assert report["widths"] == [8, 12, 16, 24, 32] and report["config"]["widths"] == [8, 12, 16, 24, 32]
    assert -1.0 <= report["window_bias"] <= 1.0
    shipped = RoomSegmenter.load(out)
    assert tuple(shipped.config.widths) == (8, 12, 16, 24, 32)
    best = RoomSegmenter.load(tmp_path / "rooms.best.safetensors")
    window = ROOM_CLASSES.index("window")
    delta = (shipped.head.bias.float() - best.head.bias.float()).detach()
    assert abs(float(delta[window]) - report["window_bias"]) < 1e-2      # fp16 rounding of the shipped head
    others = [k for k in range(len(ROOM_CLASSES)) if k != window]
    assert torch.allclose(delta[others], torch.zeros(len(others)), atol=1e-2)


def test_pick_window_bias_maximises_the_weakest_quantity():
    script = load_script("scripts/train_judge_rooms.py")
    def suite(p, r):
        row = {"window": {"precision": p, "recall": r}, "bed": {"precision": 0.95, "recall": 0.95}}
        return {"clean": row, "lowfreq_noise": row}
    by_bias = {-0.5: suite(0.99, 0.80), 0.0: suite(0.93, 0.91), 0.5: suite(0.85, 0.97), 0.1: suite(0.93, 0.91)}
    bias, weakest = script.pick_window_bias(by_bias)
    assert bias == 0.0                     # ties go to the smallest offset
    assert weakest == pytest.approx(1 / (1 / 0.93 + 1 / 0.91 - 1))   # clean window IoU is the weakest


def test_robust_batch_erases_and_keeps_labels_aligned():
    script = load_script("scripts/train_judge_rooms.py")
    samples = [render_room(i, seed=FRESH_SEED) for i in range(12)]
    x = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(np.stack([s.labels for s in samples])).long()
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a = script.robust_batch(x.clone(), y.clone(), g1, p_erase=1.0)
    b = script.robust_batch(x.clone(), y.clone(), g2, p_erase=1.0)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    window = ROOM_CLASSES.index("window")
    assert int((a[1] == window).sum()) < int((y == window).sum())   # windows erased from the truth
    assert a[0].shape == x.shape and a[1].shape == y.shape


@pytest.mark.shipped  # 2 min loaded; the same path on 4 scenes: tests/test_degrade.py::test_suite_figures_are_reproducible
@pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} not shipped (scripts/train_judge_rooms.py)")
def test_shipped_robust_judge_keeps_clean_targets_and_sees_no_windows_in_noise():
    """96 fresh scenes (seed 7; the judge trained on 0, selected on 2), every condition of the degradation suite: the
    clean targets (IoU >= 0.90 for window and bed) hold, and no edit pushes window precision or recall below 0.88 or
    bed precision or recall below 0.90 (the benchmark's 1,000 scenes give >= 0.90 for both; 96 scenes are noisier:
    here the lowest is window recall 0.893 under `all`). The judges it replaced fail this: rooms-v1 had window
    precision 0.72 / 0.40 under low-frequency noise / wash + blur + noise, the stage-2 fine-tune 0.80 under
    partial erasure."""
    from latentlab.judges.degrade import CONDITIONS
    from latentlab.judges.suite import room_suite
    seg = RoomSegmenter.load(SHIPPED)
    samples = [render_room(i, seed=FRESH_SEED, size=64) for i in range(96)]
    x = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(np.stack([s.labels for s in samples])).long()
    r = room_suite(seg, x, y, seed=0)
    assert set(r) == set(CONDITIONS), sorted(r)
    assert r["clean"]["window"]["iou"] >= 0.90 and r["clean"]["bed"]["iou"] >= 0.90, r["clean"]
    for cond, row in r.items():
        for name, floor in (("window", 0.88), ("bed", 0.90)):
            assert row[name]["precision"] >= floor and row[name]["recall"] >= floor, (cond, name, row[name])
