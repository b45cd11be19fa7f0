"""Bring your own generator: the unmodified pytorch/examples DCGAN (tests/_pytorch_examples_dcgan.py: nn.Sequential
``main``, in-place ReLU / LeakyReLU, z of shape (N, nz, 1, 1)) through the adapter, ``forget``, ``evaluate`` and the
latent-space classes, with the same numbers as the same weights under latentlab's own DCGAN class; ForgetResult
as JSON; and the bad inputs of rows 270-299 of docs/BAD_INPUTS.md.

The weights are the shipped ``rooms`` generator's, put into the pytorch/examples layout by a key mapping written
here only (the real converter is ``latentlab convert``), so that the room segmenter has windows to find.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from _pytorch_examples_dcgan import build
from latentlab.app.filters import write_filter_report
from latentlab.app.options import resolve_device
from latentlab.attribution import filter_report, layer_activations
from latentlab.dissect import ForgetResult, Probe, collect_features, forget
from latentlab.hooks import count_hooks
from latentlab.judges import load_judge
from latentlab.latent import Arithmetic, RotationAxis, Walk
from latentlab.metrics import perceptual_path_length
from latentlab.metrics.evaluate import EvalSettings, RealData, evaluate
from latentlab.models.adapter import LatentModel, default_layer
from latentlab.pretrained import load_pretrained
from latentlab.viz.page import page

pytestmark = pytest.mark.usefixtures("one_thread")
import _bad_input_table  # noqa: E402  (the rows; docs/BAD_INPUTS.md is generated from them)

CATALOGUE = Path(_bad_input_table.__file__)

# latentlab DCGAN (64 px) <-> pytorch/examples: module prefixes (test only)
G_KEYS = {"block1.conv": "main.0", "block1.bn": "main.1", "block2.conv": "main.3", "block2.bn": "main.4",
          "block3.conv": "main.6", "block3.bn": "main.7", "block4.conv": "main.9", "block4.bn": "main.10",
          "to_rgb.conv": "main.12"}
D_KEYS = {"from_rgb.conv": "main.0", "block2.conv": "main.2", "block2.bn": "main.3", "block3.conv": "main.5",
          "block3.bn": "main.6", "block4.conv": "main.8", "block4.bn": "main.9", "head": "main.11"}


def _rename(state: dict, table: dict) -> dict:
    out = {}
    for key, v in state.items():
        prefix, _, leaf = key.rpartition(".")
        out[f"{table[prefix]}.{leaf}"] = v
    return out


@pytest.fixture(scope="module")
def pair():
    """(rooms GAN, netG with the same weights in the pytorch/examples layout, netD with rooms D's weights)."""
    gan = load_pretrained("rooms").eval()
    cfg = gan.config
    with torch.random.fork_rng(devices=[]):
        netG, netD = build(cfg.nz, cfg.ngf, cfg.ndf, cfg.channels)
    netG.load_state_dict(_rename(gan.generator.state_dict(), G_KEYS))
    d_state = {k: v for k, v in gan.discriminator.state_dict().items() if k != "from_rgb.conv.bias"}
    netD.load_state_dict(_rename(d_state, D_KEYS))
    return gan, netG.eval(), netD.eval()


@pytest.fixture(scope="module")
def segmenter():
    return load_judge("rooms")


def test_the_fixture_is_the_source_layout_and_holds_the_same_weights(pair):
    gan, netG, netD = pair
    assert isinstance(netG.main, torch.nn.Sequential) and len(netG.main) == 14 and len(netD.main) == 13
    assert netG.main[2].inplace and netD.main[1].inplace
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    with pytest.raises(RuntimeError):      # the source takes z only as (N, nz, 1, 1)
        netG(z)
    with torch.no_grad():
        assert torch.equal(netG(z[:, :, None, None]), gan.generator(z))


def test_adapter_reads_the_module(pair):
    gan, netG, netD = pair
    lm = LatentModel(netG, "normal")
    assert (lm.nz, lm.z_dims, lm.prior, lm.conditional, lm.ours) == (100, 4, "normal", False, False)
    ours = LatentModel(gan)
    z = ours.sample_z(5, seed=3)
    assert torch.equal(z, lm.sample_z(5, seed=3)) and torch.equal(lm.generate(z, batch_size=2), ours.generate(z))
    assert netG.training is False and count_hooks(netG) == 0
    # the paper's layer (the second block's output) and D's last conv block, on both layouts
    assert (lm.default_layer(), ours.default_layer()) == ("main.5", "block2")
    x = lm.generate(z[:1])
    assert (default_layer(netD, x), default_layer(gan.discriminator)) == ("main.10", "block4")
    assert default_layer(netG, z[:1, :, None, None]) == "main.5"   # kind from the example's shape
    # the in-place ReLU after main.4 does not change what was recorded at main.4
    imgs, feats = lm.trace(z, ["main.4", "main.5"])
    assert (feats["main.4"] < 0).any() and torch.equal(feats["main.4"].clamp(min=0), feats["main.5"])
    f, _ = collect_features(netG, "main.5", z)
    f_ours, _ = collect_features(gan.generator, "block2", z)
    assert torch.equal(f, f_ours)


def test_device_goes_through_the_adapter(pair):
    _, netG, _ = pair
    lm = LatentModel(netG, "normal", device="cpu")
    assert lm.device == torch.device("cpu") and lm.generate(lm.sample_z(2, seed=0)).device.type == "cpu"
    for bad, match in (("cuda:7", r"device: 'cuda:7' was asked for"), ("gpu0", r"device: unknown device 'gpu0'")):
        with pytest.raises(ValueError, match=match):
            LatentModel(netG, "normal", device=bad)



def test_device_moves_the_callers_module_in_place_as_documented(pair):
    """``device=`` is ``Module.to`` on the caller's module, not a copy (LatentModel's docstring says so): hooks
    put on the caller's module before wrapping see the adapter's forward passes."""
    from latentlab.hooks import Trace
    _, netG, _ = pair
    before = [p for p in netG.parameters()]
    lm = LatentModel(netG, "normal", device="cpu")
    assert lm.module is netG and all(a is b for a, b in zip(lm.module.parameters(), before))
    assert "in place" in LatentModel.__doc__
    with Trace(netG, "main.5") as t:
        lm.generate(lm.sample_z(2, seed=0))
    assert t.output is not None and t.output.shape[0] == 2


FORGET_KW = dict(n_probe=30, n_eval=16, n_curve=8, seed=0, progress=False)  # equality, not quality: small


def _neutral(d: dict, layer: str, ours_layer: str) -> dict:
    """A forget result's numbers with the layer names replaced, without the timing."""
    text = json.dumps({k: v for k, v in d.items() if k != "seconds"}).replace(f'"{layer}"', f'"{ours_layer}"')
    return json.loads(text)


@pytest.fixture(scope="module")
def forgotten(pair, segmenter):
    gan, netG, _ = pair
    raw = forget(netG, segmenter, layer="main.5", prior="normal", nz=100, sweep_layers=["main.2"],
                 joint_layers=["main.2"], **FORGET_KW)
    ours = forget(gan.generator, segmenter, sweep_layers=["block1"], joint_layers=["block1"], **FORGET_KW)
    return raw, ours


def test_forget_on_the_raw_module_equals_our_class(pair, forgotten):
    raw, ours = forgotten
    assert raw.setup.layer == "main.5" and ours.setup.layer == "block2" and raw.setup.n_maps == 128
    assert raw.measured and raw.selection.box_source == "segmenter" and raw.selection.n_boxes > 0
    assert 0 < raw.maps_dropped < raw.setup.n_maps and raw.drop.fraction_before > 0
    a = _neutral(_neutral(raw.to_dict(), "main.5", "block2"), "main.2", "block1")
    assert a == _neutral(ours.to_dict(), "", "")
    assert torch.equal(raw.arrays.before, ours.arrays.before) and torch.equal(raw.arrays.z_eval, ours.arrays.z_eval)
    assert count_hooks(pair[1]) == 0


def test_forget_result_round_trips_json(forgotten, tmp_path):
    raw, _ = forgotten
    text = raw.to_json(tmp_path / "m.json")
    back = ForgetResult.from_json((tmp_path / "m.json").read_text())
    assert back.to_json() == text and back.arrays is None
    d = json.loads(text)
    assert d["schema"] == 3 and d["maps_dropped"] == len(d["dropped_maps"]) and d["curve"] == d["curves"]["probe"]
    assert not any("window" in k for k in d) and "_arrays" not in d


def test_forget_with_user_boxes_and_no_segmenter(pair, forgotten):
    """The boxes of the segmenter run, given by hand: same probe; nothing measured, images still there."""
    gan, netG, _ = pair
    raw, _ = forgotten
    from latentlab.dissect.forget import sample_and_box
    seg_boxes = sample_and_box(LatentModel(netG, "normal"), ["main.5"], FORGET_KW["n_probe"], 0, load_judge("rooms")).boxes
    user = forget(netG, None, layer="main.5", prior="normal", boxes=[[list(b) for b in bs] for bs in seg_boxes],
                  **FORGET_KW)
    assert user.selection.box_source == "user" and not user.measured and user.drop is None and user.curves is None
    assert user.selection.dropped_maps == raw.selection.dropped_maps
    assert user.selection.weights == raw.selection.weights
    assert torch.equal(user.arrays.before, raw.arrays.before)
    from latentlab.app.forget import summary
    assert "no segmenter: removal not measured" in summary(user)


def test_forget_driver_summary_prints_signed_changes_in_words(forgotten):
    from latentlab.app.forget import summary
    raw, _ = forgotten
    text = summary(raw)
    assert "{" not in text and "reduction" not in text   # no raw dicts, no "reduction -54.3%" for an increase
    before, after, rand = raw.drop.fraction_before, raw.drop.fraction_after, raw.drop.fraction_after_random
    words = [f"{'down' if x < before else 'up'} {100 * abs(x / before - 1):.1f}%" for x in (after, rand)]
    line = next(l for l in text.splitlines() if l.startswith("window pixels:"))
    assert words[0] in line and words[1] in line.split("random control")[1]


@pytest.fixture(scope="module")
def real64():
    g = torch.Generator().manual_seed(2)
    return RealData(*(torch.rand(n, 3, 64, 64, generator=g) * 2 - 1 for n in (12, 12, 12)))


def test_evaluate_on_the_raw_module_equals_our_class(pair, segmenter, real64):
    gan, netG, _ = pair
    kw = dict(n=12, real=real64, judge=segmenter,
              settings=EvalSettings(progress=False, pairs_per_class=4, ppl_samples=6, n_train=12))
    raw = evaluate(netG, prior="normal", dataset="rooms", **kw).to_dict()
    ours = evaluate(gan, **kw).to_dict()
    assert raw["model"]["arch"] == "Generator" and raw["model"]["step"] is None and raw["model"]["nz"] == 100
    for r in (raw, ours):
        for key in ("model", "timings", "seconds"):
            r.pop(key)
    assert raw == ours
    assert raw["ppl_random_generator"] > 0 and raw["content"] is not None   # judge features and room content
    assert netG.training is False and count_hooks(netG) == 0


def test_walk_arithmetic_rotation_on_the_raw_module(pair):
    gan, netG, _ = pair
    a, b = Walk(netG, "normal").random(keyframes=3, steps=4, seed=7), Walk(gan).random(keyframes=3, steps=4, seed=7)
    assert a.shape == (7, 3, 64, 64) and torch.equal(a, b)   # 3 keyframes, 4 steps per segment, shared ends
    zs = [torch.randn(3, 100, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    res = []
    for g, prior in ((netG, "normal"), (gan, None)):
        ar = Arithmetic(g, prior, judge=None, pool_size=8)
        for name, z in zip("abc", zs):
            ar.concept(name, z=z)
        res.append(ar.evaluate("a - b + c", seed=1).images)
    assert res[0].shape == (9, 3, 64, 64) and torch.equal(*res)
    left, right = torch.randn(4, 100, generator=torch.Generator().manual_seed(5)), zs[0][:1].repeat(4, 1)
    rot = [RotationAxis(g, prior, judge=None, pool_size=8).fit(left=left, right=right) for g, prior in
           ((netG, "normal"), (gan, None))]
    assert torch.equal(rot[0].axis, rot[1].axis) and torch.equal(rot[0].apply(zs[1][:2]), rot[1].apply(zs[1][:2]))


# ---------------------------------------------------------------------------------------- bad inputs (270-299)

def _rows() -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows 270-299 (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(270, 299)


def _message(cell: str) -> str:
    m = re.match(r"``\s(.*?)\s``|`([^`]*)`", cell)
    return (m.group(1) if m.group(1) is not None else m.group(2)).replace("\\|", "|")


def _raw(c):
    return c["netG"]


BAD = {  # row: (exception, regex, call(ctx))
    270: (ValueError, r"nz: the generator's first layer \(ConvTranspose2d\) takes 100 inputs, got nz=50",
          lambda c: forget(c["netG"], c["seg"], layer="main.5", prior="normal", nz=50, progress=False)),
    271: (ValueError, r"layer: unknown layer name 'block2'; top-level layers are \['main'\]",
          lambda c: forget(c["netG"], c["seg"], layer="block2", prior="normal", progress=False)),
    272: (ValueError, r"prior: required for a generator that is not a latentlab model \(Generator\)",
          lambda c: forget(c["netG"], c["seg"], layer="main.5", progress=False)),
    273: (ValueError, r"device: 'cuda:7' was asked for, but CUDA is not available on this machine",
          lambda c: forget(c["netG"], c["seg"], prior="normal", device="cuda:7", progress=False)),
    274: (ValueError, r"device: unknown device 'gpu0'",
          lambda c: forget(c["netG"], c["seg"], prior="normal", device="gpu0", progress=False)),
    275: (ValueError, r"boxes: without a segmenter, give the object boxes drawn on the probe samples",
          lambda c: forget(c["netG"], None, prior="normal", n_probe=4, n_eval=2, progress=False)),
    276: (ValueError, r"boxes: expected one entry per sample \(4\), got 2",
          lambda c: forget(c["netG"], None, prior="normal", boxes=[[], []], n_probe=4, n_eval=2, progress=False)),
    277: (ValueError, r"prior: required for a generator that is not a latentlab model \(Generator\)",
          lambda c: evaluate(c["netG"], judge=c["seg"], settings=EvalSettings(progress=False))),
    278: (ValueError, r"nz: the generator's first layer \(ConvTranspose2d\) takes 100 inputs, got nz=64",
          lambda c: evaluate(c["netG"], prior="normal", nz=64, judge=c["seg"], settings=EvalSettings(progress=False))),
    279: (TypeError, r"model: expected a latentlab GAN, a generator module \(with prior=\), a shipped model",
          lambda c: evaluate(np.zeros(3), judge=c["seg"], settings=EvalSettings(progress=False))),
    280: (ValueError, r"device: 'cuda:1' was asked for, but CUDA is not available",
          lambda c: evaluate(c["netG"], prior="normal", device="cuda:1", judge=c["seg"],
                             settings=EvalSettings(progress=False))),
    281: (ValueError, r"model: its dataset is '', which has no judge",
          lambda c: evaluate(c["netG"], prior="normal", settings=EvalSettings(progress=False))),
    282: (ValueError, r"z_dims: expected 2 or 4, got 3", lambda c: LatentModel(c["netG"], "normal", z_dims=3)),
    283: (ValueError, r"layer: this model is not a latentlab model; pass layer=",
          lambda c: default_layer(c["netG"])),
    284: (ValueError, r"schema: expected a forget result of schema 3, got 1",
          lambda c: ForgetResult.from_dict({"schema": 1, "window_fraction_before": 0.04})),
    285: (ValueError, r"device: 'cuda:7' was asked for",
          lambda c: Probe(c["netG"], "main.5", device="cuda:7")),
    # ---- 290-297: the analyses' device=, the one PPL, the page shell, --device (tests of the "layers" side)
    290: (ValueError, r"device: unknown device 'gpu7'",
          lambda c: layer_activations(c["netD"], torch.zeros(2, 3, 64, 64), "main.10", device="gpu7")),
    291: (ValueError, r"device: 'cuda' was asked for, but CUDA is not available",
          lambda c: filter_report(c["netD"], "rooms", n=4, device="cuda")),
    292: (ValueError, r"device: 'cuda:3' was asked for, but CUDA is not available",
          lambda c: Walk(c["netG"], "normal", device="cuda:3")),
    293: (ValueError, r"method: expected one of \('slerp', 'linear', 'lerp'\)",
          lambda c: perceptual_path_length(c["netG"], None, 16, prior="normal", method="cubic")),
    294: (TypeError, r"judge: expected a judge with features\(images\), a callable or None",
          lambda c: perceptual_path_length(c["netG"], 3, 16, prior="normal")),
    295: (TypeError, r"body: expected a list of HTML strings and plotly figures, got str",
          lambda c: page("title", "<p>one string</p>")),
    296: (ValueError, r"--device: unknown device 'gpu7'", lambda c: resolve_device("gpu7")),
    297: (ValueError, r"png: expected one of \('auto', 'kaleido', 'grid', 'none'\), got 'svg'",
          lambda c: write_filter_report(None, c["tmp"], png="svg")),
}


@pytest.fixture(scope="module")
def ctx(pair, segmenter, tmp_path_factory):
    return {"netG": pair[1], "seg": segmenter, "netD": pair[2],
            "tmp": tmp_path_factory.mktemp("bad_inputs")}


def test_bad_input_catalogue_has_these_rows():
    assert sorted(_rows()) == sorted(BAD)


@pytest.mark.parametrize("row", sorted(BAD))
def test_bad_input_row(row, ctx):
    exc, match, call = BAD[row]
    cells = _rows()[row]
    assert cells[3] == exc.__name__, cells
    with pytest.raises(exc, match=match) as info:
        call(ctx)
    for piece in _message(cells[4]).split("…"):
        assert piece.strip() in str(info.value).replace("\n", " "), (piece, str(info.value))
    assert count_hooks(ctx["netG"]) == 0


def test_forget_on_an_acgan_takes_one_class_for_every_sample():
    from _stand_ins import StandInSegmenter
    from latentlab import GAN, ModelConfig
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        gan = GAN(ModelConfig(arch="acgan", nz=8, ngf=8, ndf=8, image_size=32, num_classes=4)).eval()
    kw = dict(n_probe=8, n_eval=6, n_curve=4, progress=False)
    a, b = forget(gan, StandInSegmenter(), c=2, **kw), forget(gan, StandInSegmenter(), c=3, **kw)
    assert a.setup.layer == "block2" and a.setup.n_maps == 16 and a.measured
    assert not torch.equal(a.arrays.before, b.arrays.before)                      # the class reaches the generator
    assert torch.equal(a.arrays.before, LatentModel(gan).generate(a.arrays.z_eval, 2))
    with pytest.raises(ValueError, match=r"c: this AC-GAN needs a class"):
        forget(gan, StandInSegmenter(), **kw)


def test_forget_with_the_second_instrument_on_the_raw_module_equals_our_class(pair, segmenter):
    # issue 25's second window instrument on the unmodified pytorch/examples netG (4-D z, layer "main.5")
    from latentlab.app.forget import load_detector
    gan, netG, _ = pair
    detector = load_detector("window")
    kw = dict(n_probe=24, n_eval=12, n_curve=4, seed=1, progress=False, detector=detector)
    raw = forget(netG, segmenter, layer="main.5", prior="normal", nz=100, **kw)
    ours = forget(gan.generator, segmenter, **kw)
    a, b = _neutral(raw.to_dict(), "main.5", "block2"), _neutral(ours.to_dict(), "", "")
    assert a["detector"] == "WindowDetector" and a["instruments"] and a == b
    assert count_hooks(netG) == 0 and count_hooks(detector) == 0
