"""The live page's export (issue 31): one ONNX graph per generator with a keep-mask per block and a spatial
region, checked against PyTorch with onnxruntime. Browser checks are in tests/test_live_browser.py."""
from __future__ import annotations

import base64
import hashlib
import re

import numpy as np
import pytest
from pathlib import Path
import torch

pytest.importorskip("onnxruntime", reason="pip install 'latentlab[live]'")
pytest.importorskip("onnxscript", reason="pip install 'latentlab[live]'")

from latentlab import GAN, ModelConfig  # noqa: E402
from latentlab.attribution.filters import to_uint8  # noqa: E402
from latentlab.dissect.ablate import ablate_layers  # noqa: E402
from latentlab.live import export as live_export  # noqa: E402
from latentlab.live import export_live, live_layers, render_page, live_content, write_live_page  # noqa: E402
from latentlab.models.adapter import LatentModel  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def lively(module: torch.nn.Module, nz: int, z_dims: int = 2, seed: int = 0) -> torch.nn.Module:
    """An untrained generator whose images span the grey range: BatchNorm statistics measured on 64 z (as after
    training) and a larger last layer. An untrained G's images are a flat grey, where any export looks right."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
            m.reset_running_stats()
    z = torch.randn(64, nz, generator=g)
    module.train()
    with torch.no_grad():
        module(z[:, :, None, None] if z_dims == 4 else z)
        last = [m for m in module.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Linear))][-1]
        last.weight.mul_(25)
    return module.eval()


def tiny_model(seed: int = 0) -> GAN:
    torch.manual_seed(seed)
    gan = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32, channels=3), with_discriminator=False)
    lively(gan.generator, 8)
    return gan


@pytest.fixture(scope="module")
def tiny():
    gan = tiny_model()
    return gan, export_live(gan)


def run(live, lm, z, keeps=None, region=None, c=None):
    import onnxruntime as ort
    sess = ort.InferenceSession(live.onnx, providers=["CPUExecutionProvider"])
    n, s = z.shape[0], live.image_size
    feeds = {"z": z.numpy(), "region": (torch.ones(n, 1, s, s) if region is None else region).numpy()}
    if c is not None:
        feeds["c"] = c.numpy()
    for name, maps, _, _ in live.layers:
        feeds[f"keep:{name}"] = (keeps or {}).get(name, torch.ones(n, maps)).numpy()
    return sess.run(["rgb"], feeds)[0].astype(int)


def test_export_matches_pytorch_with_and_without_drops(tiny):
    gan, live = tiny
    lm = LatentModel(gan)
    assert [n for n, *_ in live.layers] == ["block1", "block2", "block3"] == live_layers(lm)
    assert [(c, h) for _, c, h, _ in live.layers] == [(32, 4), (16, 8), (8, 16)]
    assert set(live.max_diff) == {"plain", "drop", "paint"} and max(live.max_diff.values()) <= 2
    z = lm.sample_z(6, seed=3)
    ref = to_uint8(lm.generate(z)).astype(int)
    assert ref.std() > 20                                    # the images are not a flat grey
    got = run(live, lm, z)
    assert got.shape == (6, 32, 32, 3) and np.abs(got - ref).max() <= 2
    drops = {"block2": [0, 3, 5, 9], "block3": [1]}
    keeps = {k: torch.ones(6, dict((n, c) for n, c, *_ in live.layers)[k]) for k in drops}
    for k, maps in drops.items():
        keeps[k][:, maps] = 0
    with ablate_layers(gan.generator, drops):
        ref_drop = to_uint8(lm.generate(z)).astype(int)
    assert np.abs(ref_drop - ref).max() > 20                 # the drop changes the images
    assert np.abs(run(live, lm, z, keeps) - ref_drop).max() <= 2
    # region 0 everywhere: the drop applies nowhere
    assert np.abs(run(live, lm, z, keeps, torch.zeros(6, 1, 32, 32)) - ref).max() <= 2


def test_region_is_per_image_and_local(tiny):
    gan, live = tiny
    lm = LatentModel(gan)
    z = lm.sample_z(2, seed=4)
    keeps = {"block3": torch.zeros(2, 8)}
    region = torch.zeros(2, 1, 32, 32)
    region[1, :, :, :8] = 1                                  # image 1: the left quarter only
    got, plain = run(live, lm, z, keeps, region), run(live, lm, z)
    assert np.abs(got[0] - plain[0]).max() == 0             # image 0 has no painted area
    assert np.abs(got[1, :, 16:] - plain[1, :, 16:]).max() <= 2 and np.abs(got[1, :, :8] - plain[1, :, :8]).max() > 20


def test_foreign_module_and_acgan(foreign_generator):
    lively(foreign_generator, 8, z_dims=4)
    live = export_live(foreign_generator, prior="normal", weights="float32")
    assert [n for n, *_ in live.layers] == ["main.2", "main.5"] and live.weights == "float32"
    assert max(live.max_diff.values()) <= 1
    torch.manual_seed(0)
    ac = GAN(ModelConfig(arch="acgan", nz=8, ngf=8, ndf=8, image_size=32, channels=1, num_classes=3,
                         class_names=("a", "b", "c")), with_discriminator=False)
    live_ac = export_live(ac)
    assert live_ac.num_classes == 3 and live_ac.class_names == ["a", "b", "c"] and live_ac.channels == 1
    lm = LatentModel(ac)
    z, c = lm.sample_z(3, seed=1), torch.tensor([0, 1, 2])
    got = run(live_ac, lm, z, c=c)
    assert got.shape == (3, 32, 32, 3) and (got[..., 0] == got[..., 2]).all()      # grey repeated to RGB
    assert np.abs(got - to_uint8(lm.generate(z, c)).astype(int)).max() <= 2


def test_mlp_generator_drops_units():
    torch.manual_seed(0)
    gan = GAN(ModelConfig(arch="gan", nz=8, hidden=32, image_size=32, channels=1), with_discriminator=False).eval()
    with torch.no_grad():   # no BatchNorm here: unit-variance pre-activations instead of N(0, 0.02) weights
        for m in gan.generator.modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(1.5 / (0.02 * m.weight.shape[1] ** 0.5))
    live = export_live(gan)
    assert live.layers == [("fc1.act", 32, 0, 0), ("fc2.act", 32, 0, 0)] and set(live.max_diff) == {"plain", "drop"}
    assert max(live.max_diff.values()) <= 2
    lm = LatentModel(gan)
    z = lm.sample_z(3, seed=2)
    keeps = {"fc2.act": torch.ones(3, 32)}
    keeps["fc2.act"][:, :16] = 0
    ref = to_uint8(lm.generate(z)).astype(int)
    assert ref.std() > 20 and np.abs(run(live, lm, z) - ref).max() <= 2
    from latentlab import Trace
    with Trace(gan.generator, "fc2.act", edit_output=lambda out: out * keeps["fc2.act"]):
        ref_drop = to_uint8(lm.generate(z)).astype(int)
    assert np.abs(ref_drop - ref).max() > 20 and np.abs(run(live, lm, z, keeps) - ref_drop).max() <= 2


def test_half_weights_halve_the_file(tiny):
    gan, live = tiny
    import onnx
    model = onnx.load_from_string(live.onnx)
    big = [i for i in model.graph.initializer if np.prod(i.dims) >= 64]
    assert big and all(i.data_type == onnx.TensorProto.FLOAT16 for i in big)


def test_a_failed_check_writes_nothing(tiny, tmp_path, monkeypatch):
    gan, _ = tiny
    out = tmp_path / "live.html"
    out.write_text("before")
    monkeypatch.setattr(live_export, "verify", lambda *a, **k: {"plain": 0, "drop": 7, "paint": 0})
    with pytest.raises(RuntimeError, match="7 grey levels"):
        write_live_page(gan, out)
    assert out.read_text() == "before"


@pytest.mark.parametrize("kw, err, match", [
    (dict(weights="int8"), ValueError, "weights: expected 'float16' or 'float32'"),
    (dict(tolerance=-1), ValueError, "tolerance"),
    (dict(layers=["nope"]), ValueError, "layer: unknown layer name 'nope'"),
])
def test_bad_arguments(tiny, kw, err, match):
    with pytest.raises(err, match=match):
        export_live(tiny[0], **kw)


def test_missing_packages_name_the_extra(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'latentlab\[live\]' \(missing: onnxscript\)"):
        live_export.require_live()


def test_page_is_self_contained_and_its_script_is_the_hashed_one(tiny, tmp_path):
    gan, live = tiny
    lm = LatentModel(gan)
    page = render_page(live, live_content(lm, live, seed=0), title="t <x>")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert csp.startswith("default-src 'none'") and "'unsafe-eval'" not in csp and "'unsafe-inline'" not in csp.split(';')[1]
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert not re.search(r'(src|href)="(?!data:)', page)      # no external resource of any kind
    assert "<title>t &lt;x&gt;</title>" in page
    with pytest.raises(ValueError, match="rankings: layer 'nope'"):
        live_content(lm, live, rankings={"nope": [0]})
    with pytest.raises(ValueError, match="path: expected an .html file"):
        write_live_page(gan, tmp_path / "x.txt")


def test_report_live_names_the_missing_extra_before_building(tmp_path, monkeypatch, capsys):
    import importlib.util

    from latentlab.cli import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    assert main(["report", "rooms", "--out", str(tmp_path / "r"), "--quick", "--live", "--no-progress"]) == 2
    assert "pip install 'latentlab[live]' (missing: onnx)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_report_live_refuses_a_dtn_before_building(tmp_path, capsys):
    from latentlab.cli import main
    assert main(["report", "dtn-digits", "--out", str(tmp_path / "r"), "--quick", "--live", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--live" in err and "Domain Transfer Network" in err and "without --live" in err
    assert not (tmp_path / "r").exists()      # refused before the report's minutes


@pytest.mark.parametrize("live", [True, False])
def test_report_links_the_live_page_only_when_it_writes_one(tmp_path, live):
    from latentlab.app.report import ReportOptions, build_report
    r = build_report(tiny_model(), tmp_path, sections=["samples"], quick=True,
                     options=ReportOptions(progress=False, live=live))
    page = Path(r["html"]).read_text()
    assert ("href='live.html'" in page) is live


def test_judge_directions_point_towards_the_label(tiny):
    from latentlab.live.build import judge_directions
    gan, _ = tiny

    def judge(images):   # brightness as a probability, and a signed label that one side never reaches
        b = images.mean((1, 2, 3))
        return {"bright": (b > b.median()).float(), "never": torch.full_like(b, -1.0)}
    dirs = judge_directions(gan, judge, n=64, seed=0)
    assert [d.name.split(" ")[0] for d in dirs] == ["bright"]
    d = dirs[0]
    assert abs(float(d.vector.norm()) - 1) < 1e-5
    lm = LatentModel(gan)
    z = lm.sample_z(32, seed=9)
    brighter = lm.generate(z + 3 * d.vector).mean() - lm.generate(z - 3 * d.vector).mean()
    assert brighter > 0


@pytest.mark.parametrize("data", [b"", b"\x00", b"<" * 9, bytes(range(256)) * 3, b"\x1a\x00\x3c\xf0" * 5])
def test_7bit_text_round_trip(data):
    from latentlab.live.encode import ILLEGAL, decode7, encode7
    text = encode7(data)
    assert not any(ord(ch) in ILLEGAL for ch in text) and max(map(ord, text), default=1) < 0x200
    assert decode7(text, len(data)) == data
    if len(data) > 100:
        assert len(text.encode("utf-8")) <= len(data) * 8 / 7 + 2 + len(data) // 20
    rng = np.random.default_rng(len(data))
    blob = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    assert decode7(encode7(blob), 5000) == blob
    from latentlab.live.encode import byte_planes, from_byte_planes
    assert from_byte_planes(byte_planes(data), len(data)) == data and len(byte_planes(data)) % 2 == 0
