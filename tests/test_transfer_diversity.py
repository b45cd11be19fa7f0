"""The DTN's diversity-sensitive hinge (issue 32): the loss by hand, its gradient, the trainer option."""
from __future__ import annotations

import json

import pytest
import torch

from latentlab.transfer import DTNConfig, DTNTrainer, losses
from test_transfer import _cfg, _data, _enc, _fit, _states


def test_sensitivity_by_hand():
    feats = torch.tensor([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 2.0]])
    images = torch.tensor([[0.0], [0.5], [1.0], [3.0]])
    # nearest pairs: 0<->1, 1<->0, 2<->3, 3<->2; image |diffs| 0.5, 0.5, 2, 2; feature mean |diffs| 0.5, 0.5, 1, 1
    expect = (0.5 + 0.5 + 2 + 2) / 4 / ((0.5 + 0.5 + 1 + 1) / 4)
    assert losses.sensitivity(feats, images, eps=0.0).item() == pytest.approx(expect)


def test_diversity_loss_is_a_hinge_on_the_target_ratio():
    g = torch.Generator().manual_seed(0)
    f_t, t = torch.randn(16, 4, generator=g), torch.randn(16, 1, 4, 4, generator=g)
    f_s = torch.randn(16, 4, generator=g)
    collapsed = torch.zeros(16, 1, 4, 4, requires_grad=True)  # one glyph for every source
    loss = losses.diversity_loss(f_s, collapsed + 0.01 * torch.randn(16, 1, 4, 4, generator=g), f_t, t)
    assert loss.item() > 0
    loss.backward()
    assert collapsed.grad is None or torch.isfinite(collapsed.grad).all()
    # as varied as the target: no penalty
    assert losses.diversity_loss(f_t, t, f_t, t).item() == 0.0
    assert losses.diversity_loss(f_t, 3 * t, f_t, t).item() == 0.0
    with pytest.raises(ValueError, match="feats"):
        losses.sensitivity(torch.zeros(1, 4), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="images"):
        losses.sensitivity(torch.zeros(3, 4), torch.zeros(2, 1, 4, 4))


def test_diversity_gradient_spreads_a_collapsed_batch():
    g = torch.Generator().manual_seed(1)
    f_t, t, f_s = torch.randn(16, 4, generator=g), torch.randn(16, 1, 4, 4, generator=g), torch.randn(16, 4, generator=g)
    x = (0.01 * torch.randn(16, 1, 4, 4, generator=g)).requires_grad_(True)
    before = losses.sensitivity(f_s, x).item()
    opt = torch.optim.SGD([x], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        losses.diversity_loss(f_s, x, f_t, t).backward()
        opt.step()
    assert losses.sensitivity(f_s, x).item() > before


def test_trainer_option_logs_and_changes_the_trajectory(tmp_path):
    plain = _states(_fit(tmp_path, "plain"))
    a = _states(_fit(tmp_path, "a", diversity=2.0))
    b = _states(_fit(tmp_path, "b", diversity=2.0))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], plain[k]) for k in a)
    recs = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all(r["loss_div"] >= 0 for r in recs) and any(r["loss_div"] > 0 for r in recs)
    assert all("loss_div" not in r for r in map(json.loads, (tmp_path / "plain" / "log.jsonl").read_text().splitlines()))
    with pytest.raises(ValueError, match="diversity"):
        DTNConfig(diversity=-1.0)


def test_resume_of_a_run_started_before_the_field_existed(tmp_path):
    _fit(tmp_path, "old", steps=2)
    run = tmp_path / "old" / "run.json"
    meta = json.loads(run.read_text())
    del meta["config"]["diversity"]
    run.write_text(json.dumps(meta))
    tr = DTNTrainer(_cfg(steps=4), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                    run_dir=tmp_path / "old", resume=True)
    assert tr.fit().step == 4
    with pytest.raises(ValueError, match="diversity"):
        DTNTrainer(_cfg(steps=6, diversity=1.0), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                   run_dir=tmp_path / "old", resume=True).fit()


def test_train_script_takes_f_from_a_dtn_file(tmp_path):
    from _scripts import load_script
    from latentlab.transfer import DTN, load_encoder, save_dtn, save_encoder
    script = load_script("pretrained/train_dtn.py")
    f = _enc()
    save_dtn(DTN(_cfg(), f), tmp_path / "d.safetensors")
    script.encoder_into(tmp_path / "run", tmp_path / "d.safetensors")
    got = load_encoder(tmp_path / "run" / "encoder.safetensors").state_dict()
    assert all(torch.equal(v, got[k]) for k, v in f.state_dict().items())
    script.encoder_into(tmp_path / "run", tmp_path / "d.safetensors")  # the same f again: accepted
    save_encoder(_enc(seed=3), tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="another f"):
        script.encoder_into(tmp_path / "run", tmp_path / "other.safetensors")
    assert "dtn-digits-div" in script.PRESETS and script.PRESETS["dtn-digits-div"]["diversity"] > 0
