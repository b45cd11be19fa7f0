"""Box probes, ablation and the forgetting experiment (DCGAN §6.3.1)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.dissect import (Probe, ablate, ablate_layers, ablation_edit, box_to_grid, boxes_to_grid, check_maps,
                               collect_features, fit_probe, load_boxes_json, rank_by_iou, validate_boxes)
from latentlab.dissect.forget import forget, generate
from _stand_ins import StandInSegmenter
from latentlab.hooks import Trace, count_hooks

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- boxes
def test_box_to_grid_exact_cases():
    # 64 px image, 8x8 grid: cell centres at 4, 12, 20, ...
    m = box_to_grid((8, 16, 24, 32), 64, (8, 8))
    expected = np.zeros((8, 8), bool)
    expected[2:4, 1:3] = True  # rows with centres 20, 28; columns with centres 12, 20
    assert (m == expected).all()
    # a box containing no cell centre marks the cell holding its centre
    m = box_to_grid((5, 5, 7, 7), 64, (8, 8))
    assert m.sum() == 1 and m[0, 0]
    # the whole image covers every cell
    assert box_to_grid((0, 0, 64, 64), 64, (4, 4)).all()
    # union over several boxes per sample
    g = boxes_to_grid([[(0, 0, 8, 8), (56, 56, 64, 64)], []], 64, (8, 8))
    assert g.shape == (2, 8, 8) and g[0].sum() == 2 and g[0, 0, 0] and g[0, 7, 7] and not g[1].any()


@pytest.mark.parametrize("box,msg", [
    ((10, 10, 5, 20), "inverted"), ((10, 10, 10, 20), "empty"), ((-1, 0, 5, 5), "outside"),
    ((0, 0, 65, 5), "outside"), ((0, 0, 5), "expected a box"), ((0, 0, float("nan"), 5), "finite"),
    ((0.5, 0, 5, 5), "whole pixels"),
])
def test_bad_boxes(box, msg):
    with pytest.raises(ValueError, match=msg):
        validate_boxes([[box]], 1, 64)


def test_boxes_count_mismatch_and_json(tmp_path):
    with pytest.raises(ValueError, match="one entry per sample"):
        validate_boxes([[]], 2, 64)
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"boxes": [[[1, 2, 10, 12]], []]}))
    assert load_boxes_json(p, 2, 64) == [[(1, 2, 10, 12)], []]
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_boxes_json(p, 2, 64)
    with pytest.raises(FileNotFoundError):
        load_boxes_json(tmp_path / "missing.json", 2, 64)


# ---------------------------------------------------------------- probe
def test_probe_selects_the_marking_channel():
    """Synthetic features where only channel 3 is high inside the boxes: the probe must pick channel 3."""
    g = torch.Generator().manual_seed(0)
    n, c, h, w = 40, 8, 8, 8
    feats = torch.randn(n, c, h, w, generator=g)
    boxes = []
    for i in range(n):
        r = torch.randint(0, 6, (2,), generator=g).tolist()
        box = (r[1] * 8, r[0] * 8, r[1] * 8 + 16, r[0] * 8 + 16)
        boxes.append([box])
        feats[i, 3][boxes_to_grid([[box]], 64, (h, w))[0]] += 4.0
    res = fit_probe(feats, boxes, 64, seed=0)
    assert res.ranking[0] == 3
    assert res.weights[3] > 5 * np.abs(np.delete(res.weights, 3)).max()
    assert res.auc > 0.95
    assert 3 in res.positive_maps
    assert res.n_positives == 4 * n and res.n_boxes == n
    with pytest.raises(ValueError, match="larger than the number of positive"):
        res.top(len(res.positive_maps) + 1)


def test_probe_no_boxes_says_how_many_searched():
    with pytest.raises(ValueError, match="no object boxes were found in the 5 samples"):
        fit_probe(torch.randn(5, 4, 8, 8), [[] for _ in range(5)], 64)


def test_probe_unknown_layer_lists_names(tiny_rooms_gan):
    with pytest.raises(ValueError, match="unknown layer name 'nope'.*block2"):
        Probe(tiny_rooms_gan.generator, "nope")


# ---------------------------------------------------------------- ablation
def test_ablation_zeroes_chosen_maps_and_nothing_else(tiny_rooms_gan):
    G = tiny_rooms_gan.generator
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    with Trace(G, "block2") as t0:
        G(z)
    maps = [1, 5, 6]
    # a second hook on the consumer of block2 sees what block2 passed on
    with ablate(G, "block2", maps):
        with Trace(G, "block3.conv") as seen:
            with Trace(G, "block2") as t1:
                G(z)
    assert count_hooks(G) == 0
    out = t1.output
    assert (out[:, maps] == 0).all()
    keep = [i for i in range(out.shape[1]) if i not in maps]
    assert torch.equal(out[:, keep], t0.output[:, keep])
    assert t0.output[:, maps].abs().sum() > 0  # they were not zero before
    # block3 received the edited tensor: recompute block3.conv on it
    assert torch.allclose(seen.output, G.block3.conv(out), atol=1e-6)


def test_ablate_layers_zeroes_maps_of_each_layer_and_nothing_else(tiny_rooms_gan):
    G = tiny_rooms_gan.generator
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(4))
    drops = {"block1": [0, 7], "block3": [2]}
    with Trace(G, "block1") as b1, Trace(G, "block3") as b3:
        G(z)
    with ablate_layers(G, drops):
        with Trace(G, "block1") as a1, Trace(G, "block3") as a3:
            x = G(z)
    assert count_hooks(G) == 0
    assert (a1.output[:, [0, 7]] == 0).all() and b1.output[:, [0, 7]].abs().sum() > 0
    keep = [i for i in range(a1.output.shape[1]) if i not in (0, 7)]
    assert torch.equal(a1.output[:, keep], b1.output[:, keep])
    assert (a3.output[:, 2] == 0).all() and b3.output[:, 2].abs().sum() > 0
    # block3 saw block2's output computed from the edited block1, and the drop at block3 came on top of it
    assert not torch.equal(a3.output[:, 3], b3.output[:, 3])
    # the same as nesting single-layer ablations, and as generate(drops=...)
    with ablate(G, "block1", [0, 7]), ablate(G, "block3", [2]):
        y = G(z)
    assert torch.equal(x, y) and torch.equal(generate(G, z, drops=drops), y)
    assert torch.equal(generate(G, z, layer="block1", maps=[0, 7], drops={"block3": [2]}), y)


def test_ablate_layers_removes_hooks_on_errors(tiny_rooms_gan):
    G = tiny_rooms_gan.generator
    with pytest.raises(ValueError, match="unknown layer name 'nope'"):
        with ablate_layers(G, {"block1": [0], "nope": [1]}):
            pass
    assert count_hooks(G) == 0
    with pytest.raises(ValueError, match="out of range"):
        with ablate_layers(G, {"block1": [0], "block2": [10_000]}):
            G(torch.randn(2, 8))
    assert count_hooks(G) == 0
    with pytest.raises(TypeError, match="drops: expected a mapping"):
        with ablate_layers(G, ["block1"]):
            pass
    with pytest.raises(ValueError, match="given both as layer= and in drops"):
        generate(G, torch.randn(2, 8), layer="block1", maps=[0], drops={"block1": [1]})


def test_insertion_in_region(tiny_rooms_gan):
    G = tiny_rooms_gan.generator
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(2))
    edit = ablation_edit([0], value=7.0, region=(0, 0, 32, 32), image_size=64)
    with Trace(G, "block2", edit_output=edit) as t:
        G(z)
    o = t.output
    assert (o[:, 0, :4, :4] == 7).all()
    assert not (o[:, 0, 4:, :] == 7).any() and not (o[:, 1] == 7).any()


def test_hooks_removed_when_generation_raises(tiny_rooms_gan):
    G = tiny_rooms_gan.generator
    with pytest.raises(ValueError, match="z: expected shape"):
        with ablate(G, "block2", [0]):
            G(torch.randn(2, 3))
    assert count_hooks(G) == 0
    with pytest.raises(RuntimeError, match="boom"):
        with ablate(G, "block2", [0]):
            raise RuntimeError("boom")
    assert count_hooks(G) == 0


def test_map_index_errors():
    with pytest.raises(ValueError, match="out of range; the layer has 4 maps"):
        check_maps([0, 4], 4)
    with pytest.raises(ValueError, match="out of range"):
        check_maps([-1], 4)


def test_generate_with_drop_is_deterministic_and_changes_images(tiny_rooms_gan):
    G = tiny_rooms_gan.generator
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(3))
    a = generate(G, z, layer="block2", maps=[0, 1, 2])
    b = generate(G, z, layer="block2", maps=[0, 1, 2])
    c = generate(G, z)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_collect_features_foreign_generator(foreign_generator):
    z = torch.randn(5, 8)
    f, x = collect_features(foreign_generator, "main.3", z)  # the second ConvTranspose2d: (N, 8, 8, 8)
    assert f.shape == (5, 8, 8, 8) and x.shape == (5, 3, 16, 16)
    assert count_hooks(foreign_generator) == 0


# ---------------------------------------------------------------- IoU ranking
def test_rank_by_iou_finds_the_mask_channel():
    masks = torch.zeros(6, 64, 64, dtype=torch.bool)
    masks[:, 8:24, 8:24] = True
    feats = torch.rand(6, 4, 8, 8, generator=torch.Generator().manual_seed(0)) * 0.1
    feats[:, 2, 1:3, 1:3] = 5.0
    order, iou = rank_by_iou(feats, masks, quantile=0.0625)
    assert order[0] == 2 and iou[2] > 0.4 and iou[2] > 3 * np.delete(iou, 2).max()
    # one implementation of filter IoU: the object column of network dissection's filter_iou (raw-map thresholds)
    from latentlab.attribution.semantic import filter_iou
    s = filter_iou(feats, masks.long(), ("other", "object"), quantile=0.0625)
    assert np.array_equal(iou, s.iou[:, 1]) and order.tolist() == np.argsort(-s.iou[:, 1], kind="stable").tolist()


# ---------------------------------------------------------------- the whole experiment
def test_forget_end_to_end_tiny(tiny_rooms_gan):
    m = forget(tiny_rooms_gan.generator, StandInSegmenter(), n_probe=12, n_eval=10, n_curve=6, seed=0,
               sweep_layers=["block1", "block2"], progress=False).to_dict()
    for key in ("layer", "n_maps", "maps_dropped", "n_probe_samples", "n_boxes", "probe_auc", "n_eval_samples",
                "fraction_before", "fraction_after", "fraction_after_random",
                "share_samples_removed", "outside_change", "outside_change_random", "curve", "seconds"):
        assert key in m
    assert m["schema"] == 3 and m["measured"] and not any(k.startswith("window") for k in m)
    assert m["layer"] == "block2" and m["n_maps"] == 32 and 0 < m["maps_dropped"] <= 32
    assert set(m["layer_sweep"]) == {"block1", "block2"}
    m2 = forget(tiny_rooms_gan.generator, StandInSegmenter(), n_probe=12, n_eval=10, n_curve=6, seed=0,
                progress=False).to_dict()
    assert m2["dropped_maps"] == m["dropped_maps"]  # determinism under a seed
    with pytest.raises(ValueError, match="n_probe"):
        forget(tiny_rooms_gan.generator, StandInSegmenter(), n_probe=0, progress=False)
    with pytest.raises(ValueError, match="'door' is not a class"):
        forget(tiny_rooms_gan.generator, StandInSegmenter(), obj="door", n_probe=4, n_eval=2, progress=False)


def test_forget_joint_layers_drops_each_layers_positive_maps(tiny_rooms_gan):
    G = tiny_rooms_gan.generator
    kw = dict(n_probe=12, n_eval=10, n_curve=6, seed=0, progress=False)
    r = forget(G, StandInSegmenter(), sweep_layers=["block1", "block2"], joint_layers=["block1"], **kw)
    m = r.to_dict()
    j = m["joint"]
    assert j["layers"] == ["block2", "block1"] and j["n_maps"] == {"block2": 32, "block1": 64}
    # the main layer's selection and the sweep's probe at block1 are the ones dropped jointly
    assert j["dropped_maps"]["block2"] == m["dropped_maps"]
    assert j["maps_dropped"]["block1"] == m["layer_sweep"]["block1"]["maps_dropped"] == len(j["dropped_maps"]["block1"])
    # the joint numbers are those of dropping both sets at once on the eval z (seed + 1)
    from latentlab.dissect.forget import measure_removal
    from latentlab.models.base import sample_prior
    z = sample_prior(10, 8, "normal", rng=torch.Generator().manual_seed(1))
    r = measure_removal(G, j["dropped_maps"], z, StandInSegmenter()).summary(m["min_fraction"])
    assert r["fraction_after"] == pytest.approx(j["fraction_after"])
    assert r["outside_change"] == pytest.approx(j["outside_change"])
    from latentlab.app.forget import summary
    line = next(l for l in summary(m).splitlines() if l.startswith("joint drop at block2 + block1"))
    assert f"{-100 * j['reduction']:+.1f}%" in line
    assert forget(G, StandInSegmenter(), **kw).joint is None
    assert forget(G, StandInSegmenter(), joint_layers="block1", **kw).joint.to_dict() == j  # a name alone; deterministic
    with pytest.raises(ValueError, match="unknown layer name 'block9'"):
        forget(G, StandInSegmenter(), joint_layers=["block9"], **kw)
    assert count_hooks(G) == 0


# the file format of metrics.json (``ForgetResult.to_dict``): these keys, in this order (issue 33 put the result
# into parts; the file stayed as it was)
FORGET_KEYS = ["object", "layer", "n_maps", "dropped_maps", "box_source", "n_probe_samples", "n_boxes", "probe_auc",
               "probe_accuracy", "probe_weights", "n_eval_samples", "seed", "min_fraction", "measured",
               "fraction_before", "fraction_after", "fraction_after_random", "reduction", "reduction_random",
               "n_bearing", "share_samples_removed", "share_samples_removed_random", "outside_change",
               "outside_change_random", "replaced_by", "curves", "n_curve_samples", "min_k_90", "quarter_of_maps",
               "selection_within_quarter", "layer_sweep", "iou", "causal", "joint", "detector", "instruments",
               "instruments_disagree", "seconds", "layer_note", "schema", "maps_dropped", "curve"]
JOINT_KEYS = ["layers", "n_maps", "maps_dropped", "dropped_maps", "probe_auc", "fraction_after", "reduction",
              "share_samples_removed", "outside_change", "fraction_after_random", "reduction_random",
              "share_samples_removed_random", "outside_change_random", "replaced_by"]


def test_forget_result_is_small_parts_and_its_file_keeps_its_keys(tiny_rooms_gan):
    import dataclasses
    from latentlab.dissect.forget import ForgetResult, measure_removal
    G = tiny_rooms_gan.generator
    r = forget(G, StandInSegmenter(), n_probe=12, n_eval=10, n_curve=6, seed=0, sweep_layers=["block1"],
               joint_layers=["block1"], progress=False)
    parts = dataclasses.fields(ForgetResult)
    assert len(parts) <= 12
    for f in parts:  # every part but the sweep's per-layer numbers is a dataclass (or None when not measured)
        v = getattr(r, f.name)
        assert v is None or dataclasses.is_dataclass(v) or f.name in ("layer_sweep", "seconds"), f.name
    assert len(dataclasses.fields(r.drop)) <= 12 and all(len(v) <= 12 for v in r.layer_sweep.values())
    d = r.to_dict()
    assert list(d) == FORGET_KEYS and list(d["joint"]) == JOINT_KEYS
    # the flat numbers are the parts' numbers, and those are what independent calls measure
    a, layer = r.arrays, d["layer"]
    assert d["dropped_maps"] == r.selection.dropped_maps == a.probe.positive_maps.tolist()
    assert d["probe_weights"] == a.probe.weights.tolist() and d["probe_auc"] == a.probe.auc
    assert d["maps_dropped"] == len(d["dropped_maps"]) and d["quarter_of_maps"] == d["n_maps"] // 4
    assert d["curve"] == d["curves"]["probe"] == r.curves.by_ranking["probe"] and d["n_curve_samples"] == 6
    assert d["joint"] == r.joint.to_dict() and d["measured"] is True and d["schema"] == 3
    s = measure_removal(G, {layer: np.array(d["dropped_maps"])}, a.z_eval, StandInSegmenter()).summary(0.004)
    sr = measure_removal(G, {layer: a.random_maps}, a.z_eval, StandInSegmenter()).summary(0.004)
    for key, want in (("fraction_before", s["fraction_before"]), ("fraction_after", s["fraction_after"]),
                      ("reduction", s["reduction"]), ("share_samples_removed", s["share_removed_90"]),
                      ("outside_change", s["outside_change"]), ("fraction_after_random", sr["fraction_after"]),
                      ("outside_change_random", sr["outside_change"])):
        assert d[key] == pytest.approx(want) and getattr(r.drop, key) == d[key], key
    assert torch.equal(a.before, generate(G, a.z_eval))
    # metrics.json reads back into the same parts
    back = ForgetResult.from_json(r.to_json())
    assert back.to_dict() == json.loads(r.to_json()) and back.drop == r.drop and back.curves == r.curves
    with pytest.raises(ValueError, match="schema"):
        ForgetResult.from_dict({**d, "schema": 2})
    with pytest.raises(ValueError, match=r"keys \['layer'\] are missing"):
        ForgetResult.from_dict({k: v for k, v in d.items() if k != "layer"})


def test_example_smoke_writes_all_files(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "forget_windows.py"), "--smoke", "--threads", "1",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    for f in ("forget_windows.png", "forget_windows.html", "metrics.json"):
        assert (tmp_path / f).stat().st_size > 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["n_probe_samples"] == 20 and "curve" in m
    html = (tmp_path / "forget_windows.html").read_text()
    assert "plotly" in html.lower() and "<script src=\"http" not in html  # plotly.js embedded, offline
