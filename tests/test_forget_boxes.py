"""Forget as an object, measured from the user's boxes (issues 33 and 35): the per-sample, box-restricted drop,
"off" values, the deterministic split, locality, the box-only instrument, `latentlab forget --boxes` writing
images.npz, and bad inputs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab import GAN, ModelConfig, cli, save
from latentlab.dissect.boxes_json import save_boxes
from latentlab.dissect.edits import Drop, drop_edit, generate_dropped
from latentlab.dissect.forget_object import Forget, locality, split_samples
from latentlab.dissect.instruments import BoxInstrument, check_instrument
from latentlab.hooks import count_hooks

pytestmark = pytest.mark.usefixtures("one_thread")


def _gan(size=32):
    torch.manual_seed(0)
    return GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=size, dataset="faces")).eval()


def _boxes(n, every=3, box=(8, 8, 24, 16)):
    return [[box] if i % every == 0 else [] for i in range(n)]


# ------------------------------------------------------------------------------------------ edits

def test_drop_edit_sets_maps_only_in_the_cells_of_each_sample():
    x = torch.randn(2, 5, 4, 4)
    cells = torch.zeros(2, 4, 4, dtype=torch.bool)
    cells[0, 1, 2] = True
    cells[1, 3, 0] = True
    out = drop_edit([1, 3], None, cells)(x)
    for n in range(2):
        for m in range(5):
            expect = x[n, m].clone()
            if m in (1, 3):
                expect[cells[n]] = 0
            assert torch.equal(out[n, m], expect)
    assert torch.equal(drop_edit([1], None, None)(x)[:, 1], torch.zeros(2, 4, 4))   # everywhere
    per_map = drop_edit([0, 2], torch.tensor([5.0, 7.0]), None)(x)
    assert (per_map[:, 0] == 5).all() and (per_map[:, 2] == 7).all() and torch.equal(per_map[:, 1], x[:, 1])
    at = torch.arange(2 * 16, dtype=torch.float).view(2, 4, 4)
    assert torch.equal(drop_edit([0, 4], at, cells)(x)[0, 4, 1, 2], at[1, 1, 2])


def test_drop_edit_values_follow_the_order_the_maps_are_given_in():
    # a ranking gives maps strongest first (unsorted); each map must get its own value, not its sorted neighbour's
    x = torch.zeros(1, 6, 2, 2)
    out = drop_edit([4, 1, 3], torch.tensor([40.0, 10.0, 30.0]))(x)
    assert out[0, :, 0, 0].tolist() == [0, 10, 0, 30, 40, 0]
    at = torch.arange(3.0)[:, None, None].expand(3, 2, 2) * 10 + 10      # (k, h, w): 10, 20, 30
    assert drop_edit([5, 0, 2], at)(x)[0, :, 1, 1].tolist() == [20, 0, 30, 0, 0, 10]
    per = torch.tensor([[1.0, 2.0], [3.0, 4.0]])[:, :, None, None].expand(2, 2, 2, 2)   # (N, k, h, w)
    y = drop_edit([3, 0], per)(torch.zeros(2, 4, 2, 2))
    assert y[0, [0, 3], 0, 0].tolist() == [2, 1] and y[1, [0, 3], 0, 0].tolist() == [4, 3]
    with pytest.raises(ValueError, match="maps: expected distinct indices"):
        drop_edit([1, 1], torch.tensor([1.0, 2.0]))(x)


def test_generate_dropped_zeroes_the_layer_in_the_box_cells_only():
    gan = _gan()
    f = Forget(gan, "block2", label="glasses")
    z = f.lm.sample_z(3, seed=1)
    cells = torch.zeros(3, 8, 8, dtype=torch.bool)
    cells[:, 2:4, 1:5] = True
    drop = Drop("block2", np.array([0, 5]), where="boxes")
    seen = []    # what the next block receives (a hook registered before the edit sees the unedited output)
    h = gan.generator.block3.register_forward_pre_hook(lambda m, inp: seen.append(inp[0].detach().clone()))
    try:
        generate_dropped(f.lm, z, drop, cells)
    finally:
        h.remove()
    out = seen[0]
    assert (out[:, [0, 5]][cells[:, None].expand(3, 2, 8, 8)] == 0).all()
    plain = f.lm.trace(z, ["block2"])[1]["block2"]
    assert torch.equal(out[:, [0, 5]][~cells[:, None].expand(3, 2, 8, 8)],
                       plain[:, [0, 5]][~cells[:, None].expand(3, 2, 8, 8)])
    assert torch.equal(out[:, 1:5], plain[:, 1:5])
    assert count_hooks(gan.generator) == 0


def test_drop_checks_its_arguments():
    with pytest.raises(ValueError, match="where: expected one of"):
        Drop("block2", np.array([0]), where="inside")
    with pytest.raises(ValueError, match="off: expected one of"):
        Drop("block2", np.array([0]), off="one")
    with pytest.raises(ValueError, match=r"maps: indices \[9\] out of range"):
        drop_edit([9])(torch.zeros(1, 4, 2, 2))


# ------------------------------------------------------------------------------------------ split, locality

def test_split_is_deterministic_stratified_and_disjoint():
    boxes = _boxes(30)
    a, b = split_samples(boxes, 0.5, seed=3), split_samples(boxes, 0.5, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    train, test = a
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(30)) and not set(train) & set(test)
    assert sum(1 for i in test if boxes[i]) == 5 and sum(1 for i in train if boxes[i]) == 5
    assert not np.array_equal(split_samples(boxes, 0.5, seed=4)[1], test)
    with pytest.raises(ValueError, match="boxes: need boxes on at least 2 samples"):
        split_samples(_boxes(3, every=5), 0.5)
    with pytest.raises(ValueError, match=r"held_out: expected a share in \(0, 1\)"):
        split_samples(boxes, 1.0)


def test_locality_on_a_constructed_example():
    before = torch.zeros(1, 3, 8, 8)
    after = before.clone()
    after[:, :, 0:2, 0:4] = 0.8       # inside the box: |change| 0.8 -> 0.4 on the 0..1 scale
    after[:, :, 6, 6] = 0.2           # one outside pixel: 0.1 on the 0..1 scale, 1 of 56 outside pixels
    ratio, inside, outside = locality(before, after, [[(0, 0, 4, 2)]])
    assert inside == pytest.approx(0.4) and outside == pytest.approx(0.1 / 56)
    assert ratio == pytest.approx(0.4 / (0.1 / 56))
    with pytest.raises(ValueError, match="locality needs pixels both inside and outside"):
        locality(before, after, [[(0, 0, 8, 8)]])


# ------------------------------------------------------------------------------------------ the object

@pytest.fixture(scope="module")
def fitted():
    f = Forget(_gan(), "block2", label="glasses", seed=0)
    fit = f.probe(_boxes(24))
    inst = f.box_instrument(fit, steps=20, width=4)
    return f, fit, inst


def test_probe_fit_uses_the_train_part_only(fitted):
    f, fit, _ = fitted
    assert fit.label == "glasses" and fit.layer == "block2" and fit.probe.n_samples == len(fit.train)
    assert len(fit.train) + len(fit.held_out) == 24 and len(fit.held_out_boxed) == 4
    assert 0 <= fit.held_out_auc <= 1
    z, images, feats = f.samples(24)
    assert torch.equal(fit.z, z) and torch.equal(z, f.lm.sample_z(24, seed=0))


def test_rank_drop_measure_and_random_control(fitted):
    f, fit, inst = fitted
    check_instrument(inst)
    for by in ("probe", "causal"):
        r = f.rank(fit, by, inst)
        assert sorted(r.order.tolist()) == list(range(16)) and r.scores[r.order[0]] == r.scores.max()
    r = f.rank(fit, "probe")
    d = f.drop(r, 5, where="boxes", off="mean_at", fit=fit)
    assert d.values.shape == (5, 8, 8) and d.k == 5 and "in the box cells" in d.describe()
    rnd = f.random_like(d, fit)
    assert rnd.k == 5 and rnd.where == "boxes" and rnd.ranking == "random"
    m = f.measure(inst, d, fit)
    assert m.n_samples == 4 and m.k == 5 and m.instrument == inst.name and m.locality > 1
    assert m.to_dict()["drop"] == d.describe() and len(m.to_dict()) <= 12
    after = f.apply(d, fit)
    unboxed = [i for i in range(24) if not fit.boxes[i]]
    assert torch.equal(after[unboxed], fit.images[unboxed])          # box-restricted: nothing else changes
    c = f.curve(inst, r, [2, 4], fit, where="everywhere")
    assert c.ks == [2, 4] and c.to_dict()["points"][0]["k"] == 2


def test_nearest_transplants_the_look_alike_without_a_box_in_the_box_cells_only(fitted):
    f, fit, inst = fitted
    r = f.rank(fit, "probe")
    d = f.drop(r, 16, where="boxes", off="nearest", fit=fit)
    assert d.values is None and "nearest sample without a box" in d.describe()
    idx = fit.held_out_boxed
    cells = fit.cells(idx)
    v = f.nearest_values(fit, d.maps, idx, cells)
    free = [i for i in fit.train if not fit.boxes[i]]
    for j, i in enumerate(idx):   # the donor is the unboxed train sample nearest outside the box cells
        dist = [float((((fit.features[k] - fit.features[i]) ** 2) * ~cells[j]).sum()) for k in free]
        assert torch.equal(v[j], fit.features[free[int(np.argmin(dist))]][torch.as_tensor(d.maps)])
    # per sample: the batch edit equals each sample edited alone with its own donor's values
    after = f.apply(d, fit, idx)
    for j, i in enumerate(idx):
        one = generate_dropped(f.lm, fit.z[[int(i)]], Drop("block2", d.maps, "boxes", "mean_at", v[j]), cells[[j]])
        assert torch.allclose(after[j:j + 1], one, atol=1e-6)
    x = torch.randn(2, 4, 3, 3)
    vals, cl = torch.randn(2, 2, 3, 3), torch.zeros(2, 3, 3, dtype=torch.bool)
    cl[1, 0, 0] = True
    y = drop_edit([1, 2], vals, cl)(x)
    assert torch.equal(y[0], x[0]) and y[1, 1, 0, 0] == vals[1, 0, 0, 0] and y[1, 2, 0, 0] == vals[1, 1, 0, 0]
    assert not torch.equal(after, fit.images[torch.as_tensor(idx)])
    m2 = f.measure(inst, d, fit)      # the random control transplants as many random maps the same way
    assert m2.n_samples == len(idx) and np.isfinite(m2.locality)
    with pytest.raises(ValueError, match="values: expected one"):
        drop_edit([0], torch.zeros(3, 1, 8, 8), None)(torch.zeros(2, 16, 8, 8))


def test_bad_inputs_of_the_object(fitted):
    f, fit, inst = fitted
    with pytest.raises(ValueError, match="boxes: all 4 lists are empty"):
        f.probe([[], [], [], []])
    with pytest.raises(ValueError, match=r"boxes\[1\]\[0\]: box \(0, 0, 40, 8\) lies outside the 32x32 image"):
        f.probe([[], [(0, 0, 40, 8)]])
    with pytest.raises(ValueError, match="by: expected 'probe' or 'causal'"):
        f.rank(fit, "iou")
    with pytest.raises(ValueError, match="the causal ranking needs a differentiable instrument"):
        f.rank(fit, "causal")
    with pytest.raises(ValueError, match=r"k: expected an int in \[0, 16\]"):
        f.drop(f.rank(fit), 17)
    with pytest.raises(TypeError, match="instrument: expected an instrument with .name and .read"):
        f.measure(object(), f.drop(f.rank(fit), 2), fit)
    with pytest.raises(ValueError, match="label: expected the object's name"):
        Forget(_gan(), label="")
    with pytest.raises(RuntimeError, match="call fit"):
        BoxInstrument("glasses").read(torch.zeros(1, 3, 32, 32))


def test_box_instrument_is_deterministic_and_finds_a_drawn_square():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(16, 3, 32, 32, generator=g) * 0.2 - 1
    boxes = [[(8, 8, 20, 20)] if i % 2 == 0 else [] for i in range(16)]
    for i in range(0, 16, 2):
        images[i, :, 8:20, 8:20] = 1.0
    a = BoxInstrument("square", steps=150, width=4).fit(images, boxes)
    b = BoxInstrument("square", steps=150, width=4).fit(images, boxes)
    assert np.array_equal(a.read(images), b.read(images))
    found = a.read_in(images, boxes)
    assert np.nanmean(found) > 0.8 and np.isnan(found[1])
    assert a.read(images[1::2]).mean() < 0.05


# ------------------------------------------------------------------------------------------ the command line

@pytest.fixture
def face_file(tmp_path):
    p = tmp_path / "face.safetensors"
    save(_gan(), p)
    return p


def test_cli_boxes_writes_images_npz_and_names_the_label(face_file, tmp_path, capsys):
    boxes = save_boxes(tmp_path / "glasses_boxes.json", _boxes(12), model="face", seed=0, image_size=32)
    out = tmp_path / "out"
    code = cli.main(["forget", str(face_file), "--boxes", str(boxes), "--no-segmenter", "--out", str(out)])
    text = capsys.readouterr().out   # no --n-probe: the boxes file's n (12), not the paper's 150
    assert code == 0, text
    with np.load(out / "images.npz") as z:
        assert set(z.files) == {"before", "after", "after_random"}
        for k in z.files:
            assert z[k].dtype == np.uint8 and z[k].shape == (12, 32, 32, 3)
        before = z["before"]
    from latentlab.dissect.forget_boxes import to_uint8
    f = Forget(_gan(), label="glasses")
    assert np.array_equal(before, to_uint8(f.samples(12)[1]))        # all probe samples, in sample order
    m = json.loads((out / "metrics.json").read_text())
    assert m["label"] == "glasses" and "window" not in json.dumps(m) and len(m) <= 12
    assert m["default"]["instrument"].startswith("box-only detector") and "glasses removal" in text
    assert (out / "forget_glasses.png").is_file() and (out / "forget_glasses.html").stat().st_size > 1000


def test_cli_boxes_on_a_sample_not_in_the_file_is_refused(face_file, tmp_path, capsys):
    boxes = save_boxes(tmp_path / "b.json", _boxes(12), model="face", seed=0, image_size=32)
    code = cli.main(["forget", str(face_file), "--boxes", str(boxes), "--no-segmenter", "--n-probe", "20",
                     "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "n=12" in err and "n=20" in err and not (tmp_path / "o").exists()


def test_report_section_forget_from_boxes(face_file, tmp_path):
    from latentlab.app.report import QUICK, ReportOptions, build_report
    boxes = save_boxes(tmp_path / "glasses_boxes.json", _boxes(QUICK.n_probe), model="face", seed=0, image_size=32)
    r = build_report(str(face_file), tmp_path / "rep", sections=["samples", "forget-boxes"], quick=True,
                     options=ReportOptions(progress=False, boxes=str(boxes)))
    assert r["sections"] == ["samples", "forget-boxes"] and r["failed"] == {}, r["failed"]
    m = r["numbers"]["forget-boxes"]
    assert m["label"] == "glasses" and m["default"]["instrument"].startswith("box-only detector")
    page = Path(r["html"]).read_text()
    assert "Forget glasses from boxes" in page and "held-out" in page
    from latentlab.app.report_forget_boxes import with_boxes
    keys, skipped = with_boxes(["samples", "forget-boxes"], {}, None, None)     # all sections, no boxes: skipped
    assert keys == ["samples"] and "no boxes" in skipped["forget-boxes"]
    with pytest.raises(ValueError, match="'forget-boxes' needs boxes"):
        build_report(str(face_file), tmp_path / "rep3", sections=["forget-boxes"], quick=True,
                     options=ReportOptions(progress=False))


def test_reference_instrument_reads_the_same_drops(fitted):
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _stand_ins import StandInSegmenter
    from latentlab.dissect.instruments import SegmenterInstrument
    f, fit, inst = fitted
    seg = SegmenterInstrument(StandInSegmenter(), "window")
    cmp = f.compare(seg, inst, f.rank(fit), [1, 2, 4], fit)
    assert cmp.ks == [1, 2, 4] and len(cmp.reference_removal) == len(cmp.instrument_removal) == 3
    a, b = np.asarray(cmp.reference_removal), np.asarray(cmp.instrument_removal)
    if a.std() > 0 and b.std() > 0:
        assert cmp.correlation == pytest.approx(np.corrcoef(a, b)[0, 1])
    else:
        assert np.isnan(cmp.correlation)     # a constant series has no correlation
    idx = fit.held_out
    x = f.apply(f.drop(f.rank(fit), 2), fit, idx)
    expect = 1 - seg.read(x).mean() / seg.read(fit.images[torch.as_tensor(idx)]).mean()
    assert cmp.reference_removal[1] == pytest.approx(expect)
    with pytest.raises(ValueError, match="object: 'door' is not a class of the segmenter"):
        SegmenterInstrument(StandInSegmenter(), "door")


def test_summary_says_unmeasured_when_the_instrument_saw_nothing_before():
    # 1 - after / before is undefined when the box-only detector finds no object before the edit: the summary
    # must say so instead of printing "+nan%"
    from types import SimpleNamespace
    from latentlab.app.forget_from_boxes import box_summary
    nan = float("nan")
    probe = dict(n_boxes=2, n_samples=6, n_train=3, n_held_out=3, n_held_out_boxed=1, held_out_auc=0.5,
                 n_positive_maps=1, n_maps=4)
    inst = dict(name="box-only detector", fitted_on="1 boxed", box_cells_found=0.0, false_cells_without_boxes=0.0)
    d = SimpleNamespace(removal=nan, removal_random=0.25, locality=3.0, locality_random=1.0, change_outside=0.01)
    r = SimpleNamespace(label="glasses", layer="block2", probe=probe, instrument=inst, default=d,
                        choice=dict(rule="r", drop="1 map"), reference_default=None, comparison=None)
    text = box_summary(r)
    assert "nan" not in text and "glasses removal unmeasured (the instrument finds none" in text and "+25.0%" in text
