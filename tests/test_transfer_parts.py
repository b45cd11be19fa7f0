"""The pieces the DTN code shares since issue 23: config dicts, int checks, encoder_logits, image checks, the run
directory helpers of train.trainer, and the trainer's named steps (D's weights unfrozen after a failing G step)."""
from __future__ import annotations

import json

import pytest
import torch

from latentlab.train.trainer import RunExistsError, TrainingDiverged, make_run_dir, previous_run
from latentlab.transfer import DTN, DTNConfig, DTNTrainer, EncoderConfig, encoder_logits, losses
from test_transfer import _cfg, _data, _enc


@pytest.mark.parametrize("cls", [DTNConfig, EncoderConfig])
def test_config_dict_round_trip_and_refusals(cls):
    cfg = cls()
    assert cls.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match=r"unknown keys \['nope'\]"):
        cls.from_dict({**cfg.to_dict(), "nope": 1})
    with pytest.raises(ValueError, match="JSON object, got list"):
        cls.from_dict([1, 2])


@pytest.mark.parametrize("kw, msg", [({"feature_dim": True}, "feature_dim: expected a positive int, got True"),
                                     ({"num_classes": 0}, "num_classes: expected a positive int, got 0"),
                                     ({"widths": (4, 0)}, r"widths: expected positive channel counts, got \(4, 0\)"),
                                     ({"image_size": 20}, r"image_size: expected a multiple of 2\*\*len\(widths\) = 8, "
                                                          "got 20"),
                                     ({"bounded": 1}, "bounded: expected a bool, got 1")])
def test_encoder_config_refusals(kw, msg):
    with pytest.raises(ValueError, match=msg):
        EncoderConfig(**kw)


def test_dtn_config_int_checks():
    with pytest.raises(ValueError, match="seed: expected an int >= 0, got -1"):
        DTNConfig(seed=-1)
    with pytest.raises(ValueError, match="steps: expected a positive int, got 2.0"):
        DTNConfig(steps=2.0)


def test_encoder_logits_batches_in_eval_mode_and_restores_the_mode():
    f = _enc().train()
    x = torch.rand(7, 3, 16, 16) * 2 - 1
    out = encoder_logits(f, x, batch_size=3)
    assert f.training  # restored
    f.eval()
    with torch.no_grad():
        assert torch.allclose(out, f(x), atol=1e-6) and out.shape == (7, 3)
    half = encoder_logits(f, x * 2, batch_size=4, prepare=lambda b: b / 2)
    assert torch.allclose(half, out, atol=1e-6)
    f.train()

    def boom(b):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        encoder_logits(f, x, prepare=boom)
    assert f.training


def test_dtn_image_checks_name_the_argument():
    dtn = DTN(_cfg(), _enc())
    assert dtn.check_target(torch.zeros(2, 1, 16, 16)).shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match=r"t: expected shape \(N, 1, 16, 16\), got \(2, 3, 16, 16\)"):
        dtn.check_target(torch.zeros(2, 3, 16, 16), "t")
    with pytest.raises(TypeError, match=r"source: expected a float torch.Tensor \(N, 3, 16, 16\) .* got torch.int64"):
        dtn.check_source(torch.zeros(2, 3, 16, 16, dtype=torch.long))


def test_run_dir_helpers(tmp_path):
    rd = tmp_path / "r"
    make_run_dir(rd, resume=False)
    assert (rd / "checkpoints").is_dir() and (rd / "samples").is_dir() and not (rd / ".write-test").exists()
    stale = [rd / "checkpoints" / ".step-00000002.safetensors.x.tmp", rd / ".run.json.y.tmp"]
    for p in stale:
        p.write_bytes(b"half")
    keep = rd / "checkpoints" / "step-00000002.safetensors"
    keep.write_bytes(b"k")
    assert previous_run(rd, ("checkpoints/.step-*.tmp", ".*.tmp")) is None
    assert not any(p.exists() for p in stale) and keep.exists()
    (rd / "run.json").write_text('{"config": {"a": 1}}')
    with pytest.raises(RunExistsError, match="already holds a run"):
        make_run_dir(rd, resume=False)
    make_run_dir(rd, resume=True)
    assert previous_run(rd, ()) == {"config": {"a": 1}}
    (rd / "run.json").write_text('{"config": ')
    with pytest.raises(ValueError, match=r"resume: '.*run.json' is unreadable"):
        previous_run(rd, ())


def test_failing_g_step_unfreezes_d_and_keeps_no_checkpoint(tmp_path, monkeypatch):
    tr = DTNTrainer(_cfg(steps=3, checkpoint_every=1), encoder=_enc(), source=_data(),
                    target=_data(channels=1, seed=1), run_dir=tmp_path / "r")
    real = losses.g_adv_loss
    calls = []

    def nan_on_second_step(*a, **kw):
        calls.append(1)
        out = real(*a, **kw)
        return out * float("nan") if len(calls) > 2 else out  # 2 G updates per step: step 2 fails
    monkeypatch.setattr(losses, "g_adv_loss", nan_on_second_step)
    with pytest.raises(TrainingDiverged, match="loss_g became NaN/inf at step 1"):
        tr.fit()
    assert all(p.requires_grad for p in tr.dtn.discriminator.parameters())
    assert [p.name for p in (tmp_path / "r" / "checkpoints").glob("step-*")] == ["step-00000001.safetensors"]
    rec = json.loads((tmp_path / "r" / "log.jsonl").read_text())
    assert rec["step"] == 1 and set(rec) == {"step", "loss_d", "loss_g", "loss_gang", "loss_const", "loss_tid",
                                             "loss_tv", "time"}


def test_pseudo_labels_keep_the_most_confident_of_each_predicted_class():
    from latentlab.transfer.encoder import pseudo_labels
    f = _enc()
    x = torch.rand(60, 3, 16, 16, generator=torch.Generator().manual_seed(5)) * 2 - 1
    prob = encoder_logits(f, x).softmax(1)
    conf, pred = prob.max(1)
    keep, labels = pseudo_labels(f, x, 0.3)                      # at most round(0.3 * 60 / 3) = 6 per class
    assert torch.equal(labels, pred[keep]) and len(set(keep.tolist())) == len(keep)
    for c in range(3):
        mine = keep[labels == c]
        assert len(mine) == min(6, int((pred == c).sum()))
        rest = [i for i in (pred == c).nonzero().flatten().tolist() if i not in mine.tolist()]
        if rest and len(mine):
            assert float(conf[mine].min()) >= float(conf[rest].max())  # no left-out image is more confident
    assert len(pseudo_labels(f, x, 1.0)[0]) <= 60
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="share: expected a number in"):
            pseudo_labels(f, x, bad)


def test_self_train_encoder_is_seeded_and_learns_from_the_unlabelled_target():
    from latentlab.transfer.encoder import self_train_encoder, train_encoder
    g = torch.Generator().manual_seed(0)
    src, y = torch.rand(24, 3, 16, 16, generator=g) * 2 - 1, torch.randint(0, 3, (24,), generator=g)
    tgt = torch.rand(30, 3, 16, 16, generator=g) * 2 - 1
    kw = dict(shares=(0.5, 1.0), repeat=2, steps=3, batch_size=8)
    a, rounds = self_train_encoder(_enc(), src, y, tgt, **kw)
    b, _ = self_train_encoder(_enc(), src, y, tgt, **kw)
    assert [r["round"] for r in rounds] == [1, 2] and [r["share"] for r in rounds] == [0.5, 1.0]
    assert 0 < rounds[0]["kept"] <= 15 and rounds[0]["kept"] <= rounds[1]["kept"] <= 30
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())   # deterministic
    alone = train_encoder(a.config, src, y, steps=3, batch_size=8)
    assert any(not torch.equal(v, alone.state_dict()[k]) for k, v in a.state_dict().items())  # target data used
    with pytest.raises(ValueError, match=r"target_images: expected shape \(N, 3, 16, 16\)"):
        self_train_encoder(_enc(), src, y, tgt[:, :1], **kw)
    with pytest.raises(ValueError, match="repeat: expected a positive int"):
        self_train_encoder(_enc(), src, y, tgt, shares=(0.5,), repeat=0)
