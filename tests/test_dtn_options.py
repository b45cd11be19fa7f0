"""The DTN's default-off options of issue 32 (session 4): f-constancy on an earlier block of f (style, style_layer)
and a minibatch-stddev map in D (d_minibatch_std). Tiny models only."""
from __future__ import annotations

import json
import math

import pytest
import torch

from latentlab.transfer import DTN, DTNConfig, DTNTrainer, load_dtn, losses, save_dtn
from latentlab.transfer.dtn import Discriminator, minibatch_std
from test_transfer import _cfg, _data, _enc, _fit, _states


def test_features_and_block_is_features_plus_the_named_block():
    f = _enc()
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    feats, maps = f.features_and_block(x, "block1")
    assert torch.equal(feats, f.features(x))
    assert torch.equal(maps, f.block1(x)) and maps.shape == (5, 4, 8, 8)
    assert f.features_and_block(x)[1] is None
    assert f.features_and_block(x, "block2")[1].shape == (5, 8, 4, 4)
    with pytest.raises(ValueError, match="block"):
        f.features_and_block(x, "fc")


def test_style_const_loss_ignores_level_and_scale_not_layout():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 3, 5, 5, generator=g)
    offset = torch.rand(4, 3, 1, 1, generator=g) * 5  # a constant per map (a background colour)
    assert losses.style_const_loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.style_const_loss(a, 3 * a + offset).item() == pytest.approx(0.0, abs=1e-6)
    moved = torch.roll(a, 2, dims=3)  # the same strokes elsewhere
    assert losses.style_const_loss(a, moved).item() > 0.1
    x = a.clone().requires_grad_(True)
    losses.style_const_loss(moved, x).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="maps_s"):
        losses.style_const_loss(torch.zeros(4, 8), torch.zeros(4, 8))
    with pytest.raises(ValueError, match="maps_gs"):
        losses.style_const_loss(a, torch.zeros(4, 75))


def test_config_and_model_checks():
    with pytest.raises(ValueError, match="style_layer"):
        DTNConfig(style=1.0)
    with pytest.raises(ValueError, match="style"):
        DTNConfig(style=-1.0, style_layer="block1")
    with pytest.raises(ValueError, match="style_layer"):
        DTNConfig(style_layer=2)
    with pytest.raises(ValueError, match="d_minibatch_std"):
        DTNConfig(d_minibatch_std=1)
    with pytest.raises(ValueError, match="style_layer.*block9"):
        DTN(_cfg(style=1.0, style_layer="block9"), _enc())
    assert DTN(_cfg(style=1.0, style_layer="block2"), _enc()).config.style_layer == "block2"
    cfg = DTNConfig()
    assert (cfg.style, cfg.style_layer, cfg.d_minibatch_std) == (0.0, "", False)  # shipped recipe unchanged


def test_minibatch_std_by_hand():
    h = torch.tensor([[[[0.0]], [[2.0]]], [[[2.0]], [[2.0]]]])  # N=2, C=2, 1x1: stds 1 and 0 -> mean 0.5
    out = minibatch_std(h)
    assert out.shape == (2, 1, 1, 1) and torch.allclose(out, torch.full((2, 1, 1, 1), 0.5))
    assert torch.equal(minibatch_std(torch.rand(1, 3, 2, 2)), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="h"):
        minibatch_std(torch.zeros(3, 4))


def test_discriminator_with_minibatch_std_sees_the_batch():
    torch.manual_seed(0)
    plain, mb = Discriminator(_cfg()), Discriminator(_cfg(d_minibatch_std=True))
    assert mb.head.in_channels == plain.head.in_channels + 1
    plain.eval(), mb.eval()  # eval: BatchNorm does not couple the samples
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    y = x.clone()
    y[1:] = y[0]  # the other images replaced by copies of the first (a collapsed batch)
    assert mb(x).shape == (6, 3)
    assert torch.allclose(plain(x)[0], plain(y)[0], atol=1e-6)  # a per-image D ignores the rest of the batch
    assert not torch.allclose(mb(x)[0], mb(y)[0], atol=1e-6)    # the minibatch-stddev D does not


def test_trainer_options_log_are_deterministic_and_change_the_trajectory(tmp_path):
    plain = _states(_fit(tmp_path, "plain"))
    a = _states(_fit(tmp_path, "a", style=2.0, style_layer="block1"))
    b = _states(_fit(tmp_path, "b", style=2.0, style_layer="block1"))
    m = _fit(tmp_path, "m", d_minibatch_std=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], plain[k]) for k in a)
    assert not all(torch.equal(v, plain[k]) for k, v in _states(m).items() if k.startswith("g."))
    recs = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all(0 <= r["loss_style"] <= 2 for r in recs) and any(r["loss_style"] > 0 for r in recs)
    assert all("loss_style" not in json.loads(line) for line in (tmp_path / "plain" / "log.jsonl").read_text().splitlines())
    save_dtn(m, tmp_path / "m.safetensors")
    back = load_dtn(tmp_path / "m.safetensors")
    assert back.config.d_minibatch_std and torch.equal(back.discriminator.head.weight, m.discriminator.head.weight)


def test_old_run_resumes_but_not_with_a_new_option(tmp_path):
    _fit(tmp_path, "old", steps=2)
    run = tmp_path / "old" / "run.json"
    meta = json.loads(run.read_text())
    for k in ("style", "style_layer", "d_minibatch_std"):
        del meta["config"][k]
    run.write_text(json.dumps(meta))
    tr = DTNTrainer(_cfg(steps=4), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                    run_dir=tmp_path / "old", resume=True)
    assert tr.fit().step == 4
    with pytest.raises(ValueError, match="d_minibatch_std"):
        DTNTrainer(_cfg(steps=6, d_minibatch_std=True), encoder=_enc(), source=_data(),
                   target=_data(channels=1, seed=1), run_dir=tmp_path / "old", resume=True).fit()


# --------------------------------------------------------------------------------------------------
# ema_decay: the DTN's decoder is a moving average of the trained g (session 5)

def test_ema_config_checks():
    assert DTNConfig().ema_decay == 0.0  # shipped recipes unchanged
    for bad in (1.0, -0.1, True, "0.9", float("nan")):
        with pytest.raises(ValueError, match="ema_decay"):
            DTNConfig(ema_decay=bad)


def test_ema_zero_is_the_plain_trajectory_and_ema_differs_from_the_trained_g(tmp_path):
    plain = _fit(tmp_path, "plain")
    zero = DTNTrainer(_cfg(ema_decay=0.0), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                      run_dir=tmp_path / "zero")
    z = zero.fit()
    assert zero.g is z.decoder  # no copy at decay 0
    assert all(torch.equal(v, _states(plain)[k]) for k, v in _states(z).items())
    tr = DTNTrainer(_cfg(ema_decay=0.5), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                    run_dir=tmp_path / "ema")
    e = tr.fit()
    trained, averaged = tr.g.state_dict(), e.decoder.state_dict()
    # the trained g follows the plain trajectory (the average never feeds back into training) ...
    assert all(torch.equal(v, _states(plain)[f"g.{k}"]) for k, v in trained.items())
    assert all(torch.equal(v, _states(plain)[f"d.{k}"]) for k, v in e.discriminator.state_dict().items())
    # ... and the DTN's decoder is its average: different weights and BatchNorm statistics, same batches counted
    floats = [k for k, v in averaged.items() if v.is_floating_point()]
    assert any("running_mean" in k for k in floats)
    assert all(not torch.equal(averaged[k], trained[k]) for k in floats)
    assert all(torch.equal(averaged[k], trained[k]) for k in averaged if k not in floats)
    # the final file holds the averaged g
    back = load_dtn(tmp_path / "ema" / "model.safetensors")
    assert back.config.ema_decay == 0.5 and all(torch.equal(v, averaged[k]) for k, v in back.decoder.state_dict().items())


def test_ema_update_by_hand(tmp_path):
    tr = DTNTrainer(_cfg(ema_decay=0.75, steps=1), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                    run_dir=tmp_path / "r")
    tr._build()
    w = "block1.conv.weight"
    for t, d in ((0, 0.1), (100, 0.75)):  # decay min(0.75, (1+t)/(10+t)): a warm-up, then 0.75
        tr.ema.n_averaged.fill_(t + 1)
        before = {k: v.clone() for k, v in tr.dtn.decoder.state_dict().items()}
        with torch.no_grad():
            for p in tr.g.parameters():
                p.add_(1.0)
        tr.ema.update_parameters(tr.g)
        now, trained = tr.dtn.decoder.state_dict(), tr.g.state_dict()
        assert torch.allclose(now[w], d * before[w] + (1 - d) * trained[w], atol=1e-6)
        assert all(torch.equal(v, trained[k]) for k, v in now.items() if not v.is_floating_point())


def test_ema_resume_is_bit_exact(tmp_path):
    whole = _fit(tmp_path, "whole", ema_decay=0.9)
    _fit(tmp_path, "part", ema_decay=0.9, steps=2)
    tr = DTNTrainer(_cfg(ema_decay=0.9), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                    run_dir=tmp_path / "part", resume=True)
    resumed = tr.fit()
    assert tr.start_step == 2
    a, b = _states(whole), _states(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    ckpt = sorted((tmp_path / "part" / "checkpoints").glob("step-*.safetensors"))[-1]
    from latentlab.io import load_safetensors
    tensors, _ = load_safetensors(ckpt)
    assert any(k.startswith("trained_decoder.") for k in tensors)
    # a checkpoint without the trained g cannot continue an ema run
    _fit(tmp_path, "noema", steps=2)
    run = tmp_path / "noema" / "run.json"
    meta = json.loads(run.read_text())
    meta["config"]["ema_decay"] = 0.9
    run.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="trained_decoder"):
        DTNTrainer(_cfg(ema_decay=0.9), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                   run_dir=tmp_path / "noema", resume=True).fit()


# --------------------------------------------------------------------------------------------------
# layered: g composites a foreground, a mask and one flat background colour (session 8)

def test_layered_config_check_and_default():
    assert DTNConfig().layered is False  # shipped recipes unchanged
    with pytest.raises(ValueError, match="layered"):
        DTNConfig(layered=1)


def test_layered_decoder_shares_the_plain_decoders_weights_and_starts_near_it():
    torch.manual_seed(0)
    plain = DTN(_cfg(target_channels=3), _enc()).decoder
    torch.manual_seed(0)
    layered = DTN(_cfg(target_channels=3, layered=True), _enc()).decoder
    extra = {k for k in layered.state_dict() if k.startswith(("to_mask.", "to_background."))}
    assert extra == {"to_mask.weight", "to_mask.bias", "to_background.weight", "to_background.bias"}
    assert all(torch.equal(v, layered.state_dict()[k]) for k, v in plain.state_dict().items())  # same draws
    plain.eval(), layered.eval()
    h = torch.rand(5, 8) * 2 - 1
    out = layered(h)
    assert out.shape == (5, 3, 16, 16)
    # at initialisation: mask 0.5 everywhere, background colour 0 -> out = plain g / 2
    assert torch.allclose(out, 0.5 * plain(h), atol=1e-6)
    assert torch.equal(layered.forward_with_mask(h)[1], torch.full((5, 1, 16, 16), 0.5))
    assert plain.forward_with_mask(h)[1] is None


def test_layered_decoder_composites_mask_foreground_and_flat_background():
    torch.manual_seed(0)
    g = DTN(_cfg(target_channels=3, layered=True), _enc()).decoder.eval()
    h = torch.rand(4, 8) * 2 - 1
    with torch.no_grad():
        g.to_background.bias.copy_(torch.tensor([0.5, -0.25, 0.0]))
        g.to_background.weight.zero_()
        g.to_mask.bias.fill_(-60.0)  # mask 0: only the background colour, one per image, flat
        flat = g(h)
        g.to_mask.bias.fill_(60.0)   # mask 1: only the foreground
        fg = g(h)
    assert torch.allclose(flat, torch.tanh(torch.tensor([0.5, -0.25, 0.0]))[None, :, None, None].expand(4, 3, 16, 16))
    from latentlab.transfer.measures import backdrop_std
    assert backdrop_std(flat, corner=4) == pytest.approx(0.0, abs=1e-12) and backdrop_std(fg, corner=4) > 0
    maps = h[:, :, None, None]
    for name in g.block_names:
        maps = getattr(g, name)(maps)
    assert torch.allclose(fg, g.to_rgb(maps), atol=1e-6)


def test_layered_trains_saves_and_loads(tmp_path):
    m = DTNTrainer(_cfg(target_channels=3, layered=True), encoder=_enc(), source=_data(), target=_data(seed=1),
                   run_dir=tmp_path / "lay").fit()
    assert m.decoder.to_mask.bias.item() != 0.0  # trained
    save_dtn(m, tmp_path / "lay.safetensors", half=True, include_discriminator=False)
    back = load_dtn(tmp_path / "lay.safetensors")
    assert back.config.layered and back.discriminator is None
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    assert torch.allclose(back.transfer(x), m.transfer(x), atol=2e-2)  # fp16 weights


def test_mask_weight_needs_layered_and_pulls_the_mask_down(tmp_path):
    with pytest.raises(ValueError, match="mask_weight.*layered"):
        DTNConfig(mask_weight=1.0)
    with pytest.raises(ValueError, match="mask_weight"):
        DTNConfig(layered=True, mask_weight=-1.0)

    def fit(name, **kw):
        return DTNTrainer(_cfg(target_channels=3, layered=True, steps=10, lr=0.02, **kw), encoder=_enc(),
                          source=_data(), target=_data(seed=1), run_dir=tmp_path / name).fit()

    plain, a, b = fit("plain"), fit("a", mask_weight=50.0), fit("b", mask_weight=50.0)
    assert all(torch.equal(v, _states(b)[k]) for k, v in _states(a).items())  # seeded
    recs = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all(0 < r["loss_mask"] < 1 for r in recs)
    plain_log = (tmp_path / "plain" / "log.jsonl").read_text().splitlines()
    assert all("loss_mask" not in json.loads(line) for line in plain_log)
    h = torch.rand(8, 8) * 2 - 1
    mean_mask = {k: m.decoder.forward_with_mask(h)[1].mean().item() for k, m in (("plain", plain), ("a", a))}
    assert mean_mask["a"] < mean_mask["plain"] - 0.01, mean_mask  # the prior lowers the mask


# --------------------------------------------------------------------------------------------------
# const_on="logits": L_CONST on f's class logits instead of its features (session 8)

def test_const_on_logits_compares_the_class_logits(tmp_path):
    assert DTNConfig().const_on == "features"
    with pytest.raises(ValueError, match="const_on"):
        DTNConfig(const_on="maps")
    f = _enc()
    tr = DTNTrainer(_cfg(const_on="logits"), encoder=f, source=_data(), target=_data(channels=1, seed=1),
                    run_dir=tmp_path / "x")
    tr._build()
    a, b = torch.rand(4, 8) * 2 - 1, torch.rand(4, 8) * 2 - 1
    la, lb = tr._const_pair(a, b)
    assert torch.equal(la, f.classifier(a)) and torch.equal(lb, f.classifier(b)) and la.shape == (4, 3)
    # a change of the features that the classifier does not read (its null space) costs nothing in logits
    w = f.classifier.weight.detach()
    null = torch.linalg.svd(w, full_matrices=True).Vh[-1]  # (8,), w @ null ~ 0
    lc, ld = tr._const_pair(a, a + 0.5 * null)
    assert losses.const_loss(lc, ld, "mse").item() < 1e-10
    assert losses.const_loss(a, a + 0.5 * null, "mse").item() > 1e-3  # the features' L_CONST does see it
    feats = _states(_fit(tmp_path, "feats"))
    logits = _states(_fit(tmp_path, "logits", const_on="logits"))
    assert not all(torch.equal(v, feats[k]) for k, v in logits.items() if k.startswith("g."))


def test_group_kl_by_hand_and_const_on_groups(tmp_path):
    import math
    a = torch.tensor([[0.0, 0.0, 5.0, 5.0, 5.0]])  # groups (2, 3): uniform and uniform
    b = torch.tensor([[math.log(3.0), 0.0, 1.0, 1.0, 1.0]])  # group 1: (3/4, 1/4); group 2 still uniform
    kl1 = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert losses.group_kl(a, b, (2, 3)).item() == pytest.approx(kl1 / 2, abs=1e-6)  # group 2 adds 0; mean of 2
    assert losses.group_kl(a, a, (2, 3)).item() == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="groups"):
        losses.group_kl(a, b, (2, 2))
    with pytest.raises(ValueError, match="logits_gx"):
        losses.group_kl(a, b[:, :4], (2, 2))
    for bad in ((1, 2), (2, "3"), 5):
        with pytest.raises(ValueError, match="const_groups"):
            DTNConfig(const_on="groups", const_groups=bad)
    with pytest.raises(ValueError, match="const_groups.*only with"):
        DTNConfig(const_groups=(2, 1 + 2))
    cfg = DTNConfig.from_dict(DTNConfig(const_on="groups", const_groups=[3]).to_dict())
    assert cfg.const_groups == (3,)  # JSON lists come back as the tuple
    with pytest.raises(ValueError, match="const_groups.*3 class logits"):
        DTN(_cfg(const_on="groups", const_groups=(2, 2)), _enc())
    run = _fit(tmp_path, "groups", const_on="groups", const_groups=(3,))
    recs = [json.loads(line) for line in (tmp_path / "groups" / "log.jsonl").read_text().splitlines()]
    assert all(r["loss_const"] >= 0 for r in recs) and any(r["loss_const"] > 0 for r in recs)
    logits = _states(_fit(tmp_path, "logits", const_on="logits"))
    assert not all(torch.equal(v, logits[k]) for k, v in _states(run).items() if k.startswith("g."))


def test_faces_group_sizes_match_face_groups():
    from _scripts import load_script
    from latentlab.transfer.faces import FACE_GROUPS
    mod = load_script("pretrained/train_dtn_faces.py")
    assert mod.FACE_GROUP_SIZES == tuple(k for _, k in FACE_GROUPS)
    assert mod.PRESETS["dtn-faces-groups"]["const_groups"] == mod.FACE_GROUP_SIZES


# --------------------------------------------------------------------------------------------------
# d_norm="spectral": D without BatchNorm, every conv spectrally normalised (session 9)

def test_d_norm_config_check_and_default():
    assert DTNConfig().d_norm == "batch"  # shipped recipes unchanged
    with pytest.raises(ValueError, match="d_norm"):
        DTNConfig(d_norm="layer")


def test_spectral_d_has_no_batchnorm_unit_spectral_norms_and_judges_each_image_alone():
    torch.manual_seed(0)
    d = Discriminator(_cfg(d_norm="spectral"))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    d.train()
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    for _ in range(30):  # power iterations run in training mode
        d(x)
    convs = [getattr(d, n).conv for n in d.block_names] + [d.head]
    for conv in convs:
        w = conv.weight.detach().flatten(1)  # the normalised weight
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.02)
        raw = torch.linalg.matrix_norm(conv.parametrizations.weight.original.detach().flatten(1), ord=2).item()
        assert abs(raw - 1.0) > 0.5  # the DCGAN-initialised weight itself is far from norm 1 (~0.1)
    y = x.clone()
    y[1:] = torch.rand(5, 1, 16, 16)  # the rest of the batch changed
    d.eval()
    assert torch.allclose(d(x)[0], d(y)[0], atol=1e-6)
    bn = Discriminator(_cfg()).train()
    assert not torch.allclose(bn(x)[0], bn(y)[0], atol=1e-6)  # BatchNorm in training mode couples the batch


def test_spectral_d_trains_deterministically_saves_loads_and_resumes(tmp_path):
    a = _fit(tmp_path, "a", d_norm="spectral")
    b = _fit(tmp_path, "b", d_norm="spectral")
    sa, sb, plain = _states(a), _states(b), _states(_fit(tmp_path, "plain"))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(v, plain[k]) for k, v in sa.items() if k.startswith("g."))
    save_dtn(a, tmp_path / "a.safetensors")
    back = load_dtn(tmp_path / "a.safetensors")
    assert back.config.d_norm == "spectral"
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    a.discriminator.eval(), back.discriminator.eval()
    assert torch.equal(back.discriminator(x), a.discriminator(x))
    # resume from the middle is bit-exact (the power-iteration vectors are saved with D)
    half = _fit(tmp_path, "r", d_norm="spectral", steps=2)
    assert half.step == 2
    resumed = DTNTrainer(_cfg(d_norm="spectral"), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                         run_dir=tmp_path / "r", resume=True).fit()
    sr = _states(resumed)
    assert all(torch.equal(sr[k], sa[k]) for k in sa)


# --------------------------------------------------------------------------------------------------
# r1: the R1 penalty on D at real targets (session 9)

def test_realness_and_r1_penalty_by_hand():
    logits = torch.tensor([[0.0, 0.0, 0.0], [1.0, -1.0, 2.0]])
    want = torch.tensor([math.log(1 / 2), 2.0 - math.log(math.exp(1.0) + math.exp(-1.0))])
    assert torch.allclose(losses.realness(logits), want)
    assert torch.equal(losses.realness(torch.tensor([0.5, -2.0]), binary=True), torch.tensor([0.5, -2.0]))
    # a linear 3-way D: realness(x) = (w2 - w0) . x when the two fake logits are equal, so R1 = ||w2 - w0||^2 / 2
    w = torch.randn(3, 12, generator=torch.Generator().manual_seed(0))
    w[1] = w[0]
    x = torch.randn(5, 3, 2, 2, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    r1 = losses.r1_penalty(x.flatten(1) @ w.T, x)
    assert r1.item() == pytest.approx(((w[2] - w[0]).pow(2).sum() / 2).item(), rel=1e-5)
    r1.backward()  # differentiable: create_graph
    with pytest.raises(ValueError, match="real: expected .*requires_grad"):
        losses.r1_penalty(x.detach().flatten(1) @ w.T, x.detach())


def test_r1_config_check_log_determinism_and_trajectory(tmp_path):
    assert DTNConfig().r1 == 0.0
    with pytest.raises(ValueError, match="r1"):
        DTNConfig(r1=-1.0)
    a, b, plain = (_fit(tmp_path, n, **kw) for n, kw in (("a", dict(r1=10.0)), ("b", dict(r1=10.0)), ("plain", {})))
    sa, sb, sp = _states(a), _states(b), _states(plain)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(v, sp[k]) for k, v in sa.items() if k.startswith("d."))
    recs = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all(r["loss_r1"] > 0 for r in recs)
    assert all("loss_r1" not in json.loads(line) for line in (tmp_path / "plain" / "log.jsonl").read_text().splitlines())


# --------------------------------------------------------------------------------------------------
# d_patch: a PatchGAN D, one decision per patch (session 9)

def test_patch_d_shapes_locality_and_config_check():
    assert DTNConfig().d_patch is False
    with pytest.raises(ValueError, match="d_patch.*image_size >= 16"):
        DTNConfig(image_size=8, d_patch=True)
    torch.manual_seed(0)
    d = Discriminator(_cfg(d_patch=True)).eval()  # 16x16 images: from_rgb 8x8, no block2, a 1x1 head
    assert d.block_names == ["from_rgb"] and d.head.kernel_size == (1, 1)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    out = d(x)
    assert out.shape == (2, 3, 8, 8)
    y = x.clone()
    y[:, :, 8:, 8:] = 1.0  # change the bottom-right quarter only
    changed = (d(y) - out).abs().amax(1) > 0  # (N, 8, 8)
    assert not changed[:, :3, :3].any() and changed[:, 5:, 5:].all()  # a far patch does not see it
    assert Discriminator(_cfg(d_patch=True, binary_d=True))(x).shape == (2, 8, 8)


def test_losses_average_over_patches():
    torch.manual_seed(0)
    gs, gt, real = (torch.randn(2, 3, 4, 4) for _ in range(3))
    rows = [v.permute(0, 2, 3, 1).reshape(-1, 3) for v in (gs, gt, real)]
    assert torch.allclose(losses.d_loss(gs, gt, real), losses.d_loss(*rows))
    assert torch.allclose(losses.g_adv_loss(gs, gt), losses.g_adv_loss(rows[0], rows[1]))
    b = torch.randn(2, 4, 4)
    assert torch.allclose(losses.d_loss(b, None, -b, binary=True), losses.d_loss(b.reshape(-1), None, -b.reshape(-1),
                                                                                 binary=True))
    with pytest.raises(ValueError, match="patch D: \\(N, 3, h, w\\)"):
        losses.d_loss(torch.randn(2, 4, 4, 4), gt, real)


def test_patch_d_trains_deterministically_saves_and_loads(tmp_path):
    a, b = _fit(tmp_path, "a", d_patch=True, r1=1.0), _fit(tmp_path, "b", d_patch=True, r1=1.0)
    sa, sb = _states(a), _states(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    save_dtn(a, tmp_path / "a.safetensors")
    back = load_dtn(tmp_path / "a.safetensors")
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    assert back.config.d_patch and torch.equal(back.discriminator.eval()(x), a.discriminator.eval()(x))


# --------------------------------------------------------------------------------------------------
# d_edges: D also sees the local gradient magnitude (session 9)

def test_edge_map_by_hand_and_the_edge_d():
    from latentlab.transfer.dtn import edge_map
    x = torch.zeros(1, 2, 3, 3)
    x[0, 0, 1, 1] = 1.0  # one bright pixel in channel 0
    e = edge_map(x)
    # |dx| + |dy| at (i, j) looks right and down; averaged over the 2 channels
    want = torch.tensor([[0.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert e.shape == (1, 1, 3, 3) and torch.equal(e[0, 0], want)
    assert torch.equal(edge_map(torch.full((2, 3, 4, 4), 0.3)), torch.zeros(2, 1, 4, 4))  # flat -> 0
    assert DTNConfig().d_edges is False
    torch.manual_seed(0)
    d = Discriminator(_cfg(d_edges=True))
    assert d.from_rgb.conv.in_channels == 2 and d(torch.rand(3, 1, 16, 16)).shape == (3, 3)


def test_edge_d_trains_deterministically(tmp_path):
    sa, sb = (_states(_fit(tmp_path, n, d_edges=True)) for n in ("a", "b"))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------------------------------
# mask_layout: L_MASK weighted by where the targets show their backdrop (session 10)

def test_backdrop_frequency_by_hand():
    from latentlab.transfer.measures import backdrop_frequency
    a = torch.full((3, 4, 4), 0.2)
    a[:, 1:3, 1:3] = -0.5                      # a square "face" on a flat backdrop
    b = torch.full((3, 4, 4), -0.7)
    b[0, 0, 3] = 0.9                            # one channel differs: not backdrop
    b[:, 3, 0] = -0.7 + 5e-4                    # within tol: backdrop
    freq = backdrop_frequency(torch.stack([a, b]))
    want = torch.ones(4, 4)
    want[1:3, 1:3] = 0.5
    want[0, 3] = 0.5
    assert torch.equal(freq, want)
    assert backdrop_frequency(torch.stack([a, b]), tol=0.0)[3, 0] == 0.5
    with pytest.raises(ValueError, match="tol"):
        backdrop_frequency(torch.stack([a, b]), tol=-1)
    with pytest.raises(ValueError, match="images"):
        backdrop_frequency(a)


def test_mask_loss_by_hand_and_refusals():
    m = torch.rand(2, 1, 4, 4)
    assert torch.equal(losses.mask_loss(m), m.mean())
    layout = torch.zeros(4, 4)
    layout[0, :] = 1.0
    layout[1, :] = 0.5
    assert torch.allclose(losses.mask_loss(m, layout), (m[:, 0, 0].sum() + 0.5 * m[:, 0, 1].sum()) / m.numel())
    m.requires_grad_(True)
    losses.mask_loss(m, layout).backward()
    assert (m.grad[:, :, 2:] == 0).all() and (m.grad[:, :, 0] > 0).all()  # no push where layout is 0
    with pytest.raises(ValueError, match="layout"):
        losses.mask_loss(m, torch.ones(3, 3))
    with pytest.raises(ValueError, match="masks"):
        losses.mask_loss(torch.rand(2, 3, 4, 4))


def test_mask_layout_config_check_and_the_trainers_map(tmp_path):
    assert DTNConfig().mask_layout is False
    with pytest.raises(ValueError, match="mask_layout.*mask_weight"):
        DTNConfig(layered=True, mask_layout=True)
    with pytest.raises(ValueError, match="mask_layout"):
        DTNConfig(layered=True, mask_weight=1.0, mask_layout=1)
    from latentlab.transfer.measures import backdrop_frequency
    target = _data(seed=1)
    for i in range(0, len(target), 2):        # half the targets on a flat backdrop with a 4x4 square in the middle
        x = target.images[i]
        x[:] = 0.3
        x[:, 6:10, 6:10] = -0.3

    def fit(name, **kw):
        tr = DTNTrainer(_cfg(target_channels=3, layered=True, mask_weight=50.0, steps=6, lr=0.02, **kw),
                        encoder=_enc(), source=_data(), target=target, run_dir=tmp_path / name)
        return tr, tr.fit()

    tr, m = fit("layout", mask_layout=True)
    assert torch.equal(tr._layout, backdrop_frequency(torch.stack([target[i][0] for i in range(len(target))])))
    assert tr._layout[0, 0] == 1.0 and tr._layout[0, 5] == 0.5 and tr._layout[8, 8] == 0.0  # (0, 0) is the reference
    tr2, m2 = fit("layout2", mask_layout=True)
    assert all(torch.equal(v, _states(m2)[k]) for k, v in _states(m).items())  # seeded
    _, plain = fit("uniform")
    assert any(not torch.equal(v, _states(plain)[k]) for k, v in _states(m).items())  # the weighting changes g
    h = torch.rand(16, 8) * 2 - 1
    mask = {k: d.decoder.forward_with_mask(h)[1][:, 0] for k, d in (("layout", m), ("uniform", plain))}
    # the uniform prior pushes the middle down as hard as the corners; the layout prior leaves it alone
    assert mask["layout"][:, 6:10, 6:10].mean() > mask["uniform"][:, 6:10, 6:10].mean() + 0.01


# --------------------------------------------------------------------------------------------------
# DTNTrainer.warm_start: a fresh run that starts from another run's file (session 10)

class _AtStart:
    """Keeps g (trained), the averaged g, D and the EMA count as they are when training starts."""

    def on_train_start(self, tr):
        self.g = {k: v.clone() for k, v in tr.g.state_dict().items()}
        self.avg = {k: v.clone() for k, v in tr.dtn.decoder.state_dict().items()}
        self.d = {k: v.clone() for k, v in tr.dtn.discriminator.state_dict().items()}
        self.n = int(tr.ema.n_averaged) if tr.ema is not None else None


def _warm(tmp_path, name, init, cfg=None, mask=0.95, resume=False, steps=4):
    at = _AtStart()
    tr = DTNTrainer(cfg or _cfg(target_channels=3, ema_decay=0.9, steps=steps), encoder=_enc(), source=_data(),
                    target=_data(seed=1), run_dir=tmp_path / name, callbacks=[at], resume=resume)
    return tr.warm_start(init, mask=mask), at


def test_warm_start_takes_g_its_average_and_d_and_records_the_file(tmp_path):
    base = DTNTrainer(_cfg(target_channels=3, ema_decay=0.9), encoder=_enc(), source=_data(), target=_data(seed=1),
                      run_dir=tmp_path / "base")
    m = base.fit()
    ck = tmp_path / "base" / "checkpoints" / "step-00000004.safetensors"
    tr, at = _warm(tmp_path, "warm", ck)
    tr.fit()
    assert all(torch.equal(v, base.g.state_dict()[k]) for k, v in at.g.items())           # the trained g
    assert all(torch.equal(v, m.decoder.state_dict()[k]) for k, v in at.avg.items())      # its average
    assert all(torch.equal(v, m.discriminator.state_dict()[k]) for k, v in at.d.items())  # D
    assert at.n == 5                                         # the average goes on at the file's step
    run = json.loads((tmp_path / "warm" / "run.json").read_text())
    assert run["warm_start"] == {"path": str(ck), "step": 4, "discriminator": True}
    # a fresh run of the same config starts elsewhere, and the warm run moved on from its start
    fresh_at = _AtStart()
    DTNTrainer(_cfg(target_channels=3, ema_decay=0.9), encoder=_enc(), source=_data(), target=_data(seed=1),
               run_dir=tmp_path / "fresh", callbacks=[fresh_at]).fit()
    assert any(not torch.equal(v, fresh_at.g[k]) for k, v in at.g.items() if v.is_floating_point())
    assert any(not torch.equal(v, tr.g.state_dict()[k]) for k, v in at.g.items() if v.is_floating_point())


def test_warm_start_of_a_layered_g_from_a_plain_one_and_a_d_of_another_kind(tmp_path):
    DTNTrainer(_cfg(target_channels=3), encoder=_enc(), source=_data(), target=_data(seed=1),
               run_dir=tmp_path / "base").fit()
    plain = load_dtn(tmp_path / "base" / "model.safetensors")
    cfg = _cfg(target_channels=3, layered=True, d_edges=True, steps=2)
    tr, at = _warm(tmp_path, "lay", tmp_path / "base" / "model.safetensors", cfg=cfg, mask=0.8)
    tr.fit()
    g = tr.dtn.decoder.__class__(cfg)
    g.load_state_dict(at.g)
    h = torch.rand(5, 8) * 2 - 1
    img, mask = g.eval().forward_with_mask(h)
    assert torch.allclose(mask, torch.full_like(mask, 0.8), atol=1e-6)
    assert torch.allclose(img, 0.8 * plain.decoder(h), atol=1e-5)  # the old image, faded to 0.8 over a 0 backdrop
    fresh_at = _AtStart()
    DTNTrainer(cfg, encoder=_enc(), source=_data(), target=_data(seed=1), run_dir=tmp_path / "fresh",
               callbacks=[fresh_at]).fit()
    assert all(torch.equal(v, fresh_at.d[k]) for k, v in at.d.items())  # the edge D has other shapes: fresh
    assert json.loads((tmp_path / "lay" / "run.json").read_text())["warm_start"]["discriminator"] is False


def test_warm_start_refusals_and_a_bit_exact_resume(tmp_path):
    DTNTrainer(_cfg(target_channels=3), encoder=_enc(), source=_data(), target=_data(seed=1),
               run_dir=tmp_path / "base").fit()
    model = tmp_path / "base" / "model.safetensors"
    tr = DTNTrainer(_cfg(target_channels=3), encoder=_enc(seed=5), source=_data(), target=_data(seed=1),
                    run_dir=tmp_path / "x")
    with pytest.raises(ValueError, match="path: .*another f"):
        tr.warm_start(model)
    with pytest.raises(ValueError, match=r"mask: expected a float in \(0, 1\)"):
        _warm(tmp_path, "y", model, mask=1.0)
    wide, _ = _warm(tmp_path, "z", model, cfg=_cfg(target_channels=3, ngf=8))
    with pytest.raises(ValueError, match="path: the g in .* other shapes"):
        wide.fit()
    # killed half way and resumed (the file is given again and ignored): the uninterrupted run's weights
    full, _ = _warm(tmp_path, "full", model, cfg=_cfg(target_channels=3, ema_decay=0.9, steps=4))
    a = full.fit()
    half, _ = _warm(tmp_path, "half", model, cfg=_cfg(target_channels=3, ema_decay=0.9, steps=2))
    half.fit()
    again, _ = _warm(tmp_path, "half", model, cfg=_cfg(target_channels=3, ema_decay=0.9, steps=4), resume=True)
    b = again.fit()
    assert all(torch.equal(v, _states(b)[k]) for k, v in _states(a).items())


# --------------------------------------------------------------------------------------------------
# docs/BAD_INPUTS.md rows 480-499

def _warm_file(tmp):
    DTNTrainer(_cfg(target_channels=3), encoder=_enc(), source=_data(), target=_data(seed=1),
               run_dir=tmp / "base").fit()
    return tmp / "base" / "model.safetensors"


def _rgb_trainer(tmp, name, f=None, **kw):
    return DTNTrainer(_cfg(target_channels=3, **kw), encoder=f if f is not None else _enc(), source=_data(),
                      target=_data(seed=1), run_dir=tmp / name)


BAD = {
    480: (ValueError, lambda t: DTNConfig(d_norm="layer")),
    481: (ValueError, lambda t: DTNConfig(r1=-1.0)),
    482: (ValueError, lambda t: DTNConfig(d_patch=True, image_size=8)),
    483: (ValueError, lambda t: losses.r1_penalty(torch.zeros(4, 3), torch.zeros(4, 1, 16, 16))),
    484: (ValueError, lambda t: DTNConfig(layered=True, mask_layout=True)),
    485: (ValueError, lambda t: losses.mask_loss(torch.rand(2, 1, 16, 16), torch.ones(8, 8))),
    486: (ValueError, lambda t: __import__("latentlab.transfer.measures", fromlist=["x"]).backdrop_region(
        torch.zeros(2, 3, 8, 8), erode=5)),
    487: (ValueError, lambda t: __import__("latentlab.transfer.measures", fromlist=["x"]).region_std(
        torch.zeros(2, 3, 8, 8), torch.ones(2, 8, 8))),
    488: (ValueError, lambda t: _rgb_trainer(t, "x", f=_enc(seed=5)).warm_start(_warm_file(t))),
    489: (ValueError, lambda t: _rgb_trainer(t, "y").warm_start(_warm_file(t), mask=1.0)),
    490: (ValueError, lambda t: _rgb_trainer(t, "z", ngf=8).warm_start(_warm_file(t)).fit()),
}


def test_catalogue_rows_match_the_cases():
    import _bad_input_table
    assert sorted(_bad_input_table.cells(480, 499)) == sorted(BAD)


@pytest.mark.parametrize("row", sorted(BAD))
def test_bad_input_row(row, tmp_path):
    import _bad_input_table
    exc, fn = BAD[row]
    cells = _bad_input_table.cells(480, 499)[row]
    with pytest.raises(exc) as info:
        fn(tmp_path)
    assert cells[3] == exc.__name__
    msg = str(info.value)
    for piece in cells[4].strip("`").split("…"):
        assert piece.strip() in msg, (piece, msg)
    # nothing already saved is touched: a warm start's file is still loadable and unchanged by the failure
    if row in (488, 489, 490):
        from latentlab.transfer import load_dtn
        assert load_dtn(tmp_path / "base" / "model.safetensors").step == 4
