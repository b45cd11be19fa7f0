"""Trainer: learning on a toy set, exact resume, run-dir safety, NaN guard, data faults, G-step freeze."""
from __future__ import annotations

import json

import pytest
import torch

from latentlab import ModelConfig, load
from latentlab.train import (RunExistsError, TrainConfig, Trainer, TrainingDiverged, d_loss_acgan, d_loss_dcgan,
                             g_loss_acgan, g_loss_dcgan, latest_checkpoint, r1_penalty)
from latentlab.train.trainer import list_checkpoints


pytestmark = pytest.mark.usefixtures("one_thread")


class Toy(torch.utils.data.Dataset):
    """Seeded random images (two classes); optionally poisoned with NaN or missing items."""

    def __init__(self, n=24, size=32, channels=3, classes=2):
        self.n, self.size, self.channels = n, size, channels
        self.classes = [f"c{i}" for i in range(classes)]
        self.poison = False
        self.missing = set()

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i in self.missing:
            raise OSError(f"image {i} vanished")
        g = torch.Generator().manual_seed(i)
        x = torch.rand(self.channels, self.size, self.size, generator=g) * 2 - 1
        if self.poison:
            x[:] = float("nan")
        return x, i % len(self.classes)


def cfg(arch="dcgan", **kw):
    base = dict(arch=arch, nz=8, ngf=4, ndf=4, image_size=32, hidden=16)
    if arch == "acgan":
        base.update(num_classes=2, embed_dim=4)
    base.update(kw)
    return ModelConfig(**base)


def tcfg(**kw):
    # fp32 unless a test asks for the fast path: fast="auto" would pick bf16 on some CPUs and not on others
    base = dict(steps=6, batch_size=6, checkpoint_every=2, progress=False, grid_size=4, fast=False)
    base.update(kw)
    return TrainConfig(**base)


def _losses(run_dir):
    return [(r["step"], r["loss_d"], r["loss_g"], r["d_x"], r["d_g_z"])
            for r in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())]


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_losses_are_pure_functions():
    real, fake = torch.tensor([10.0, 10.0]), torch.tensor([-10.0, -10.0])
    assert d_loss_dcgan(real, fake) < 1e-4 and g_loss_dcgan(fake) > 9  # D wins; G's non-saturating loss is large
    assert torch.isclose(d_loss_dcgan(torch.zeros(3), torch.zeros(3)), torch.tensor(2 * 0.6931), atol=1e-4)


def test_d_loss_falls_on_a_separable_toy_set(tmp_path):
    class Constant(Toy):
        def __getitem__(self, i):
            return torch.full((3, 32, 32), 0.8), 0  # real = a flat bright image; G starts near 0

    Trainer(cfg(), tcfg(steps=12, batch_size=8, checkpoint_every=12), Constant(), tmp_path / "run").fit()
    d = [r[1] for r in _losses(tmp_path / "run")]
    assert len(d) == 12
    assert sum(d[-3:]) / 3 < 0.8 * d[0], d
    rec = _losses(tmp_path / "run")[-1]
    assert rec[3] > 0.5  # D(x) on real images rises above chance


def test_run_directory_layout(tmp_path):
    run = tmp_path / "run"
    gan = Trainer(cfg(), tcfg(), Toy(), run, dataset_name="toy").fit()
    assert [p.name for p in list_checkpoints(run)] == ["step-00000006.safetensors", "step-00000004.safetensors",
                                                      "step-00000002.safetensors"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == [f"step-0000000{i}.png" for i in (2, 4, 6)]
    assert len(_losses(run)) == 6
    final = load(run / "model.safetensors")
    assert final.step == 6 and final.dataset == "toy"
    _assert_same_weights(final, gan)
    ck = load(latest_checkpoint(run))  # a training checkpoint is a loadable model file too
    _assert_same_weights(ck, gan)
    assert json.loads((run / "run.json").read_text())["model"] == cfg().to_dict()
    assert not [p for p in run.rglob("*.tmp")]


def test_keep_checkpoints(tmp_path):
    Trainer(cfg(), tcfg(steps=8, checkpoint_every=1, keep_checkpoints=2), Toy(), tmp_path / "r").fit()
    assert [p.name for p in list_checkpoints(tmp_path / "r")] == ["step-00000008.safetensors",
                                                                  "step-00000007.safetensors"]


class StopAt:
    """Callback that interrupts training after ``step`` (as a crash would, without a final checkpoint)."""

    def __init__(self, step):
        self.step = step

    def on_step(self, trainer, step, record):
        if step == self.step:
            raise KeyboardInterrupt("simulated crash")


@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
def test_resume_equals_uninterrupted(tmp_path, arch):
    full = Trainer(cfg(arch), tcfg(), Toy(), tmp_path / "full").fit()
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg(arch), tcfg(), Toy(), tmp_path / "cut", callbacks=[StopAt(3)]).fit()
    assert [p.name for p in list_checkpoints(tmp_path / "cut")] == ["step-00000002.safetensors"]
    resumed = Trainer(cfg(arch), tcfg(), Toy(), tmp_path / "cut", resume=True).fit()
    _assert_same_weights(full, resumed)  # bit-exact, incl. BatchNorm buffers (and dropout masks for "gan")
    assert _losses(tmp_path / "full") == _losses(tmp_path / "cut")  # the log is rewound to the checkpoint
    a, b = load(tmp_path / "full" / "checkpoints" / "step-00000006.safetensors"), \
        load(tmp_path / "cut" / "checkpoints" / "step-00000006.safetensors")
    _assert_same_weights(a, b)


@pytest.mark.parametrize("arch", ["dcgan", "acgan"])
def test_channels_last_resume_is_exact_and_close_to_nchw(tmp_path, arch):
    full = Trainer(cfg(arch), tcfg(channels_last=True), Toy(), tmp_path / "full").fit()
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg(arch), tcfg(channels_last=True), Toy(), tmp_path / "cut", callbacks=[StopAt(3)]).fit()
    resumed = Trainer(cfg(arch), tcfg(channels_last=True), Toy(), tmp_path / "cut", resume=True).fit()
    _assert_same_weights(full, resumed)
    nchw = Trainer(cfg(arch), tcfg(), Toy(), tmp_path / "nchw").fit()
    for (k, a), b in zip(full.state_dict().items(), nchw.state_dict().values()):
        if a.is_floating_point():  # the same maths, summed in another order: equal up to rounding
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4, msg=k)
    assert all(p.is_contiguous() for p in full.parameters())  # handed back in the default layout


def test_fast_path_resumes_exactly_and_records_its_precision(tmp_path):
    """bf16 autocast (fast=True): resume stays bit-exact, and run.json says what precision was used."""
    full = Trainer(cfg(), tcfg(fast=True), Toy(), tmp_path / "full").fit()
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg(), tcfg(fast=True), Toy(), tmp_path / "cut", callbacks=[StopAt(3)]).fit()
    resumed = Trainer(cfg(), tcfg(fast=True), Toy(), tmp_path / "cut", resume=True).fit()
    _assert_same_weights(full, resumed)
    runtime = json.loads((tmp_path / "full" / "run.json").read_text())["runtime"]
    assert runtime["bf16_autocast"] is True and runtime["channels_last"] is True
    fp32 = Trainer(cfg(), tcfg(), Toy(), tmp_path / "fp32").fit()
    assert json.loads((tmp_path / "fp32" / "run.json").read_text())["runtime"]["bf16_autocast"] is False
    assert any(not torch.equal(a, b) for a, b in zip(full.parameters(), fp32.parameters()))


def test_resume_warns_when_the_precision_changes(tmp_path):
    """A bf16 run resumed where fast="auto" resolves to fp32 (another CPU) must say so."""
    Trainer(cfg(), tcfg(steps=4, fast=True), Toy(), tmp_path / "r").fit()
    with pytest.warns(RuntimeWarning, match=r"bf16_autocast=True .* continues with False"):
        Trainer(cfg(), tcfg(steps=6, fast=False), Toy(), tmp_path / "r", resume=True).fit()


def test_resume_can_extend_a_finished_run(tmp_path):
    full = Trainer(cfg(), tcfg(steps=6), Toy(), tmp_path / "full").fit()
    Trainer(cfg(), tcfg(steps=4), Toy(), tmp_path / "ext").fit()
    extended = Trainer(cfg(), tcfg(steps=6), Toy(), tmp_path / "ext", resume=True).fit()
    _assert_same_weights(full, extended)


def test_r1_penalty_is_the_squared_input_gradient():
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    x = torch.randn(5, 1, 2, 2, requires_grad=True)
    logits = (x[:, 0] * w).sum((1, 2)) + (x[:, 0] ** 2).sum((1, 2))   # grad = w + 2x
    want = (w + 2 * x.detach()[:, 0]).pow(2).sum((1, 2)).mean()
    r1 = r1_penalty(logits, x)
    assert torch.allclose(r1, want)
    r1.backward()  # the graph is kept: the penalty itself can be back-propagated
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_g_class_weight_scales_only_the_class_term_of_g_loss():
    src, cls, y = torch.randn(6), torch.randn(6, 4), torch.randint(0, 4, (6,))
    source_only = g_loss_acgan(src, cls, y, class_weight=0.0)
    ce = torch.nn.functional.cross_entropy(cls, y)
    assert torch.allclose(source_only, torch.nn.functional.binary_cross_entropy_with_logits(src, torch.ones(6)))
    assert torch.allclose(g_loss_acgan(src, cls, y), source_only + ce)  # default 1: the paper's loss
    assert torch.allclose(g_loss_acgan(src, cls, y, class_weight=0.25), source_only + 0.25 * ce)


def test_g_class_weight_changes_only_the_g_step(tmp_path):
    runs = {}
    for name, w in (("w1", 1.0), ("w0", 0.0)):
        runs[name] = Trainer(cfg("acgan"), tcfg(steps=1, checkpoint_every=1, g_class_weight=w), Toy(),
                             tmp_path / name).fit()
    assert torch.equal(runs["w1"].discriminator.head.weight, runs["w0"].discriminator.head.weight)
    g1, g0 = (dict(runs[k].generator.named_parameters()) for k in ("w1", "w0"))
    assert any(not torch.equal(g1[k], g0[k]) for k in g1)


def _d_after_one_step(tmp_path, name, **kw):
    Trainer(cfg(), tcfg(steps=1, checkpoint_every=1, **kw), Toy(), tmp_path / name).fit()
    return load(tmp_path / name / "model.safetensors").discriminator


def test_r1_and_label_smoothing_change_only_the_d_step(tmp_path):
    plain = _d_after_one_step(tmp_path, "plain")
    r1 = _d_after_one_step(tmp_path, "r1", r1_gamma=10.0, r1_every=1)
    ls = _d_after_one_step(tmp_path, "ls", label_smoothing=0.2)
    for other in (r1, ls):
        assert not torch.equal(plain.head.weight, other.head.weight)
    rows = _losses(tmp_path / "plain"), _losses(tmp_path / "r1")
    # logged loss_d is the GAN loss without the penalty (loss_g differs: G steps against the updated D)
    assert rows[0][0][1] == rows[1][0][1] and rows[0][0][2] != rows[1][0][2]
    rec = json.loads((tmp_path / "r1" / "log.jsonl").read_text().splitlines()[0])
    assert rec["r1"] > 0


def test_lazy_r1_runs_on_every_kth_step_and_resumes_exactly(tmp_path):
    kw = dict(r1_gamma=1.0, r1_every=3, label_smoothing=0.1)
    full = Trainer(cfg(), tcfg(**kw), Toy(), tmp_path / "full").fit()
    recs = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs if "r1" in r] == [1, 4]  # steps 0 and 3 (0-based) carry the penalty
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg(), tcfg(**kw), Toy(), tmp_path / "cut", callbacks=[StopAt(3)]).fit()
    resumed = Trainer(cfg(), tcfg(**kw), Toy(), tmp_path / "cut", resume=True).fit()
    _assert_same_weights(full, resumed)


def test_fit_leaves_the_global_rng_alone(tmp_path):
    state = torch.get_rng_state()
    Trainer(cfg("gan"), tcfg(steps=2), Toy(), tmp_path / "r").fit()
    assert torch.equal(state, torch.get_rng_state())


def test_skip_d_grads_in_g_step_is_bit_identical(tmp_path):
    a = Trainer(cfg("acgan"), tcfg(steps=3, skip_d_grads_in_g_step=True), Toy(), tmp_path / "a").fit()
    b = Trainer(cfg("acgan"), tcfg(steps=3, skip_d_grads_in_g_step=False), Toy(), tmp_path / "b").fit()
    _assert_same_weights(a, b)
    assert all(p.requires_grad for p in a.discriminator.parameters())


def test_existing_run_without_resume(tmp_path):
    Trainer(cfg(), tcfg(steps=2), Toy(), tmp_path / "r").fit()
    before = {p.name: p.read_bytes() for p in (tmp_path / "r" / "checkpoints").iterdir()}
    with pytest.raises(RunExistsError, match=r"^run_dir: .* already holds a run .* resume"):
        Trainer(cfg(), tcfg(steps=2), Toy(), tmp_path / "r").fit()
    assert {p.name: p.read_bytes() for p in (tmp_path / "r" / "checkpoints").iterdir()} == before
    with pytest.raises(ValueError, match=r"^resume: the model config .* differs .*'ngf': \(4, 8\)"):
        Trainer(cfg(ngf=8), tcfg(steps=2), Toy(), tmp_path / "r", resume=True).fit()


def test_resume_on_an_empty_directory_starts_fresh(tmp_path):
    a = Trainer(cfg(), tcfg(steps=2), Toy(), tmp_path / "a").fit()
    b = Trainer(cfg(), tcfg(steps=2), Toy(), tmp_path / "b", resume=True).fit()
    _assert_same_weights(a, b)


def test_unwritable_run_dir_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match=r"^run_dir: .* is not writable"):
        Trainer(cfg(), tcfg(), Toy(), blocker / "run").fit()


def test_nan_data_stops_with_the_step_and_keeps_the_last_checkpoint(tmp_path):
    ds = Toy()

    class PoisonAfter:
        def on_step(self, trainer, step, record):
            if step == 3:
                ds.poison = True

    run = tmp_path / "r"
    with pytest.raises(TrainingDiverged, match=r"loss_d became NaN/inf at step 3 .*lower learning rate"):
        Trainer(cfg(), tcfg(steps=10, checkpoint_every=1), ds, run, callbacks=[PoisonAfter()]).fit()
    assert [p.name for p in list_checkpoints(run)][0] == "step-00000003.safetensors"
    assert load(latest_checkpoint(run)).step == 3


def test_huge_lr_diverges_and_the_good_checkpoint_survives(tmp_path):
    run = tmp_path / "r"
    Trainer(cfg(), tcfg(steps=2), Toy(), run).fit()
    good = (run / "checkpoints" / "step-00000002.safetensors").read_bytes()
    with pytest.raises(TrainingDiverged) as e:
        Trainer(cfg(), tcfg(steps=6, lr=1e30), Toy(), run, resume=True).fit()
    msg = str(e.value)
    assert "at step" in msg and "lower learning rate" in msg and "lr=1e+30" in msg and "step-00000002" in msg
    assert latest_checkpoint(run).name == "step-00000002.safetensors"
    assert (run / "checkpoints" / "step-00000002.safetensors").read_bytes() == good
    assert load(run / "checkpoints" / "step-00000002.safetensors").step == 2
    # ... and resuming with a lower learning rate continues from it (the new lr is used, not the stored one)
    gan = Trainer(cfg(), tcfg(steps=3, lr=1e-4), Toy(), run, resume=True).fit()
    assert gan.step == 3


def test_vanished_items_are_skipped_and_counted(tmp_path):
    ds = Toy()
    ds.missing = {5, 7}  # e.g. files deleted while training runs
    tr = Trainer(cfg(), tcfg(steps=4, batch_size=8), ds, tmp_path / "r")
    with pytest.warns(UserWarning, match=r"skipping dataset item (5|7): image \d vanished"):
        tr.fit()
    assert tr.skipped_items >= 2  # 4 steps x 8 items cover the 24 items at least once
    assert load(tmp_path / "r" / "model.safetensors").info["skipped_items"] == tr.skipped_items


def test_dataset_shape_mismatch():
    with pytest.raises(ValueError, match=r"^dataset: items have shape \(3, 16, 16\), the model expects \(3, 32, 32\)"):
        Trainer(cfg(), tcfg(), Toy(size=16), "unused")


@pytest.mark.parametrize("kw,match", [
    (dict(steps=0), r"^steps: expected a positive int"),
    (dict(batch_size=-1), r"^batch_size:"),
    (dict(lr=float("nan")), r"^lr:"),
    (dict(lr=-1.0), r"^lr:"),
    (dict(beta1=1.0), r"^beta1:"),
    (dict(fast="yes"), r"^fast:"),
    (dict(num_threads=-1), r"^num_threads:"),
    (dict(skip_d_grads_in_g_step="no"), r"^skip_d_grads_in_g_step:"),
    (dict(channels_last=1), r"^channels_last: expected a bool"),
    (dict(label_smoothing=0.5), r"^label_smoothing: expected a float in \[0, 0.5\)"),
    (dict(r1_gamma=-1.0), r"^r1_gamma:"),
    (dict(r1_gamma=float("inf")), r"^r1_gamma:"),
    (dict(r1_gamma=True), r"^r1_gamma:"),
    (dict(r1_every=0), r"^r1_every: expected a positive int"),
    (dict(g_class_weight=-0.1), r"^g_class_weight: expected a finite float >= 0"),
    (dict(g_class_weight=float("nan")), r"^g_class_weight:"),
    (dict(g_class_weight=True), r"^g_class_weight:"),
    (dict(ema_decay=1.0), r"^ema_decay: expected a float in \[0, 1\)"),
    (dict(ema_decay=-0.1), r"^ema_decay:"),
    (dict(ema_decay=True), r"^ema_decay:"),
])
def test_bad_train_config(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


class Snapshots:
    """Callback: G's and G_ema's weights after every step."""

    def __init__(self):
        self.g, self.ema = [], []

    def on_step(self, trainer, step, record):
        self.g.append({k: v.clone() for k, v in trainer.G.state_dict().items()})
        self.ema.append({k: v.clone() for k, v in trainer.G_ema.state_dict().items()})


def test_ema_follows_its_recursion_and_is_what_the_model_file_holds(tmp_path):
    snap = Snapshots()
    gan = Trainer(cfg(), tcfg(ema_decay=0.5), Toy(), tmp_path / "r", callbacks=[snap]).fit()
    for t in range(1, 6):  # after G step t: ema_t = d ema_{t-1} + (1 - d) G_t, d = min(0.5, (1+t)/(10+t))
        d = min(0.5, (1 + t) / (10 + t))
        for k, e in snap.ema[t].items():
            if e.is_floating_point():  # weights and BatchNorm running statistics
                torch.testing.assert_close(e, d * snap.ema[t - 1][k] + (1 - d) * snap.g[t][k], msg=k)
            else:
                assert torch.equal(e, snap.g[t][k]), k
    w = "block1.conv.weight"
    assert not torch.equal(snap.ema[-1][w], snap.g[-1][w])
    ck = tmp_path / "r" / "checkpoints" / "step-00000006.safetensors"
    assert torch.equal(load(ck).generator.state_dict()[w], snap.ema[-1][w])          # load() samples from the average
    assert torch.equal(load(ck, ema=False).generator.state_dict()[w], snap.g[-1][w])  # the raw training weights
    assert load(ck).info["generator"] == "ema"
    model = load(tmp_path / "r" / "model.safetensors")
    assert torch.equal(model.generator.state_dict()[w], snap.ema[-1][w])
    assert model.info["generator"] == "ema 0.5"
    assert torch.equal(gan.generator.state_dict()[w], snap.ema[-1][w])               # so does the returned GAN


def test_ema_resumes_exactly(tmp_path):
    full = Trainer(cfg(), tcfg(ema_decay=0.9), Toy(), tmp_path / "full").fit()
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg(), tcfg(ema_decay=0.9), Toy(), tmp_path / "cut", callbacks=[StopAt(3)]).fit()
    resumed = Trainer(cfg(), tcfg(ema_decay=0.9), Toy(), tmp_path / "cut", resume=True).fit()
    _assert_same_weights(full, resumed)  # generator = the average, discriminator = D
    last = "checkpoints/step-00000006.safetensors"
    _assert_same_weights(load(tmp_path / "full" / last, ema=False), load(tmp_path / "cut" / last, ema=False))


def test_ema_off_writes_no_average(tmp_path):
    Trainer(cfg(), tcfg(), Toy(), tmp_path / "r").fit()
    from latentlab.io import load_safetensors
    tensors, _ = load_safetensors(tmp_path / "r" / "checkpoints" / "step-00000006.safetensors")
    assert not any(k.startswith("generator_ema.") for k in tensors)
    assert "generator" not in load(tmp_path / "r" / "model.safetensors").info


def test_init_starts_from_a_model_file(tmp_path):
    src = Trainer(cfg(), tcfg(), Toy(), tmp_path / "src").fit()
    # a learning rate too small to move anything: after one step the weights are still the file's
    tuned = Trainer(cfg(), tcfg(steps=1, lr=1e-20), Toy(), tmp_path / "tuned",
                    init=tmp_path / "src" / "model.safetensors").fit()
    fresh = Trainer(cfg(), tcfg(steps=1, lr=1e-20), Toy(), tmp_path / "fresh").fit()
    for (k, a), b, c in zip(tuned.generator.state_dict().items(), src.generator.state_dict().values(),
                            fresh.generator.state_dict().values()):
        if k.endswith("weight") and a.dim() > 1:
            torch.testing.assert_close(a, b, msg=k)
            assert not torch.allclose(a, c), k
    for a, b in zip(tuned.discriminator.parameters(), src.discriminator.parameters()):
        torch.testing.assert_close(a, b)


def test_init_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^init: .* is not a file"):
        Trainer(cfg(), tcfg(), Toy(), tmp_path / "x", init=tmp_path / "missing.safetensors")
    Trainer(cfg(), tcfg(steps=2), Toy(), tmp_path / "src").fit()
    with pytest.raises(ValueError, match=r"^init: .* has another architecture .*'ngf': \(4, 8\)"):
        Trainer(cfg(ngf=8), tcfg(), Toy(), tmp_path / "y", init=tmp_path / "src" / "model.safetensors").fit()
    assert not (tmp_path / "y" / "run.json").exists()  # nothing written for a run that could not start


# ------------------------------------------------------------------------------------------------ issue 23

def _reference_dcgan_run(mc, tc, ds):
    """pytorch/examples' DCGAN loop written out by hand, with the Trainer's documented random streams (initial
    weights from seed (s, 0); epoch e's permutation from (s, 1, e); z from (s, 2, step, rank)), one-sided label
    smoothing, lazy R1 and the moving average G_ema <- d G_ema + (1 - d) G, d = min(decay, (1+t)/(10+t))."""
    import copy

    import torch.nn.functional as F

    from latentlab import GAN
    from latentlab.models import sample_prior
    from latentlab.train.trainer import _derive_seed, _rng

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_derive_seed(tc.seed, 0))
        gan = GAN(mc)
    G, D = gan.generator, gan.discriminator
    ema = copy.deepcopy(G).requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), lr=tc.lr, betas=(tc.beta1, tc.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=tc.lr, betas=(tc.beta1, tc.beta2))
    order = torch.cat([torch.randperm(len(ds), generator=_rng(tc.seed, 1, e)) for e in range(tc.steps)]).tolist()

    def bce(logits, target):
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    for step in range(tc.steps):
        items = [ds[i] for i in order[step * tc.batch_size:(step + 1) * tc.batch_size]]
        real = torch.stack([x for x, _ in items])
        z = sample_prior(len(items), mc.nz, mc.prior, rng=_rng(tc.seed, 2, step, 0))
        r1_step = tc.r1_gamma > 0 and step % tc.r1_every == 0
        real.requires_grad_(r1_step)
        opt_d.zero_grad(set_to_none=True)
        fake = G(z)
        out_real = D(real)
        l_real = bce(out_real, 1.0 - tc.label_smoothing)
        if r1_step:
            (grad,) = torch.autograd.grad(out_real.sum(), real, create_graph=True)
            l_real = l_real + (0.5 * tc.r1_gamma * tc.r1_every) * grad.pow(2).flatten(1).sum(1).mean()
        l_real.backward()
        bce(D(fake.detach()), 0.0).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        D.requires_grad_(False)
        bce(D(fake), 1.0).backward()
        D.requires_grad_(True)
        opt_g.step()
        d = min(tc.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip([*ema.parameters(), *ema.buffers()], [*G.parameters(), *G.buffers()]):
                e.lerp_(p, 1 - d) if e.is_floating_point() else e.copy_(p)
    return G, D, ema


def test_trainer_equals_the_hand_written_loop_bit_for_bit(tmp_path):
    """The trajectory did not move when the loop became d_step/g_step + callbacks + AveragedModel (issue 23): the
    Trainer's weights, D and the moving average equal a plain pytorch/examples loop to the last bit."""
    mc, tc = cfg(), tcfg(steps=7, ema_decay=0.9, r1_gamma=0.5, r1_every=3, label_smoothing=0.1)
    ds = Toy()
    gan = Trainer(mc, tc, ds, tmp_path / "r").fit()
    G, D, ema = _reference_dcgan_run(mc, tc, ds)
    raw = load(tmp_path / "r" / "checkpoints" / "step-00000007.safetensors", ema=False)
    _assert_same_weights(raw.generator, G)
    _assert_same_weights(gan.discriminator, D)
    _assert_same_weights(gan.generator, ema)


def test_d_loss_halves_sum_to_the_full_loss():
    g = torch.Generator().manual_seed(0)
    r, f = torch.randn(5, generator=g), torch.randn(5, generator=g)
    assert torch.equal(d_loss_dcgan(r, f), d_loss_dcgan(r, None) + d_loss_dcgan(None, f))
    assert torch.equal(d_loss_dcgan(r, None, real_target=0.9),
                       torch.nn.functional.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.9)))
    rc, fc, ry, fy = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g), torch.arange(5) % 3, torch.zeros(5).long()
    full = d_loss_acgan(r, rc, ry, f, fc, fy)
    assert torch.equal(full, d_loss_acgan(r, rc, ry, None, None, None) + d_loss_acgan(None, None, None, f, fc, fy))
    ce = torch.nn.functional.cross_entropy
    torch.testing.assert_close(full, d_loss_dcgan(r, f) + ce(rc, ry) + ce(fc, fy))
    with pytest.raises(ValueError, match="real_logits/fake_logits"):
        d_loss_dcgan(None, None)


class Events:
    """Callback recording every event it sees."""

    def __init__(self):
        self.seen = []

    def on_train_start(self, trainer):
        self.seen.append(("start", trainer.start_step))

    def on_step(self, trainer, step, record):
        self.seen.append(("step", step))

    def on_save(self, trainer, step):
        self.seen.append(("save", step))

    def on_checkpoint(self, trainer, path):
        self.seen.append(("checkpoint", path.name))

    def on_train_end(self, trainer):
        self.seen.append(("end",))


def test_callbacks_see_every_event_in_order(tmp_path):
    ev = Events()
    Trainer(cfg(), tcfg(steps=3, checkpoint_every=2), Toy(), tmp_path / "r", callbacks=[ev]).fit()
    assert ev.seen == [("start", 0), ("step", 1), ("step", 2), ("save", 2), ("checkpoint", "step-00000002.safetensors"),
                       ("step", 3), ("save", 3), ("checkpoint", "step-00000003.safetensors"), ("end",)]
    ev2 = Events()
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg(), tcfg(steps=3), Toy(), tmp_path / "cut", callbacks=[StopAt(1), ev2]).fit()
    assert ev2.seen == [("start", 0), ("end",)]  # on_train_end also runs when training raises


def test_default_callbacks_can_be_replaced(tmp_path):
    from latentlab.train.callbacks import Checkpointer, JsonlLog, SampleGrid, default_callbacks
    kinds = [type(c) for c in default_callbacks(tcfg())]
    assert kinds == [JsonlLog, Checkpointer, SampleGrid]  # progress=False: no bar, no lines
    keep = [c for c in default_callbacks(tcfg()) if not isinstance(c, SampleGrid)]
    a = Trainer(cfg(), tcfg(steps=4), Toy(), tmp_path / "nogrid", default_callbacks=keep).fit()
    assert list((tmp_path / "nogrid" / "samples").iterdir()) == []
    assert [p.name for p in list_checkpoints(tmp_path / "nogrid")] == ["step-00000004.safetensors",
                                                                      "step-00000002.safetensors"]
    b = Trainer(cfg(), tcfg(steps=4), Toy(), tmp_path / "bare", default_callbacks=[]).fit()
    assert list_checkpoints(tmp_path / "bare") == [] and not (tmp_path / "bare" / "log.jsonl").exists()
    assert (tmp_path / "bare" / "model.safetensors").exists()  # the product is written regardless
    _assert_same_weights(a, b)  # bookkeeping never touches the trajectory


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    """Issue 24 item 5: with stderr piped (a log file, nohup, CI) training printed nothing until the end."""
    Trainer(cfg(), tcfg(steps=5, progress=True, progress_every=2), Toy(), tmp_path / "r").fit()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["2/5", "4/5", "5/5"]
    assert all("loss_d" in line and "loss_g" in line and "s/step" in line and "ETA" in line for line in lines)
    assert lines[-1].endswith("ETA 0m00s")


def test_progress_bar_on_a_terminal(tmp_path):
    from latentlab.train.callbacks import ProgressBar, ProgressLines, default_callbacks
    assert isinstance(default_callbacks(tcfg(progress=True), tty=True)[1], ProgressBar)
    assert isinstance(default_callbacks(tcfg(progress=True), tty=False)[1], ProgressLines)


def test_the_trainer_docstring_example_runs(capsys):
    import re
    import textwrap

    doc = Trainer.__doc__
    code = textwrap.dedent(doc[doc.index("Example (runnable"):].split("::", 1)[1])
    exec(compile(code, "Trainer.__doc__", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert printed[0::3] == ["2", "4"] and all(re.fullmatch(r"\d+\.\d+", v) for v in printed[1::3] + printed[2::3])
