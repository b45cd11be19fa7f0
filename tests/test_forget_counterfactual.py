"""scripts/forget_counterfactual.py (issue 35's experiment): the counterfactual drop really writes the moved
sample's values into the chosen maps, the run writes its JSON and figure, and the blind sheets unblind to the
right counts."""
from __future__ import annotations

import json
from argparse import Namespace

import numpy as np
import pytest
import torch

from latentlab import GAN, ModelConfig, save
from latentlab.dissect.boxes_json import save_boxes

from _scripts import load_script

pytestmark = pytest.mark.usefixtures("one_thread")
fc = load_script("scripts/forget_counterfactual.py")


@pytest.fixture
def model_and_boxes(tmp_path):
    torch.manual_seed(0)
    gan = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32, dataset="faces")).eval()
    save(gan, tmp_path / "g.safetensors")
    n = 24
    boxes = [[(8, 8, 24, 16)] if i % 3 == 0 else [] for i in range(n)]
    save_boxes(tmp_path / "glasses_boxes.json", boxes, model=str(tmp_path / "g.safetensors"), seed=0, image_size=32)
    return tmp_path / "g.safetensors", tmp_path / "glasses_boxes.json"


def test_run_writes_sweep_figure_and_blind_sheets(model_and_boxes, tmp_path):
    model, boxes = model_and_boxes
    out = tmp_path / "out"
    args = Namespace(model=str(model), boxes=boxes, layer="block2", strength=1.5, dilate=0, ks=[4, 8], n_show=4,
                     out=out, blind=True, detector_steps=10)
    res = fc.run(args)
    saved = json.loads((out / "counterfactual.json").read_text())
    assert saved["layer"] == "block2" and [r["k"] for r in saved["sweep"]] == [4, 8]
    assert len(saved["sweep"][0]["random"]) == 2 and res["n_held_out_boxed"] == saved["n_held_out_boxed"] > 0
    for r in saved["sweep"]:
        assert np.isfinite(r["ranked"]["locality"])
    assert (out / "counterfactual.png").stat().st_size > 0
    key = json.loads((out / "blind_8_key.json").read_text())
    n = res["n_held_out_boxed"]
    assert sorted(map(tuple, key)) == sorted([("ranked", i) for i in range(n)] + [("random", i) for i in range(n)])
    assert (out / "blind_8_0.png").exists()


def test_all_maps_moved_equal_the_moved_images_in_the_cells(model_and_boxes):
    # with every map of the layer set to the moved sample's values everywhere, the output IS the moved sample
    import latentlab
    from latentlab.dissect.edits import Drop, generate_dropped
    from latentlab.dissect.forget_object import Forget
    model, boxes = model_and_boxes
    f = Forget(latentlab.load(model), "block2", label="glasses", seed=0)
    fit = f.probe(fc.load_boxes(boxes).boxes)
    idx = fit.boxed("held_out")
    v = torch.randn(fit.z.reshape(len(fit.z), -1).shape[1])
    moved, feats = fc.counterfactual(f, fit, idx, v, 1.0)
    maps = np.arange(feats.shape[1])
    after = generate_dropped(f.lm, fit.z[torch.as_tensor(idx)], Drop("block2", maps, "everywhere", "mean", feats))
    scale = moved.abs().max()                      # an untrained tiny G draws near-zero images
    assert torch.allclose(after, moved, atol=1e-4 * scale, rtol=0)
    assert (moved - fit.images[torch.as_tensor(idx)]).abs().max() > 0.05 * scale


def test_unblind_counts_and_refuses_a_short_score_list(tmp_path):
    key = tmp_path / "k.json"
    key.write_text(json.dumps([["ranked", 0], ["random", 0], ["ranked", 1], ["random", 1]]))
    scores = tmp_path / "s.json"
    scores.write_text(json.dumps([0, 2, 1, 2]))
    assert fc.unblind(key, scores) == {"ranked": {0: 1, 1: 1, 2: 0}, "random": {0: 0, 1: 0, 2: 2}}
    scores.write_text(json.dumps([0, 2, 1]))
    with pytest.raises(ValueError, match="scores: expected one score per tile"):
        fc.unblind(key, scores)
