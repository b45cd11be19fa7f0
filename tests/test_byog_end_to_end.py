"""Bring your own GAN, end to end: the unmodified pytorch/examples netG / netD saved with ``torch.save(state_dict)``,
imported with ``latentlab convert``, then the same analyses on the raw modules and on the converted file give the
same numbers (forget, evaluate's judge features, filter ranking, Walk), ``latentlab report --quick`` builds the
converted model's page, and the quick report of the raw modules (``build_report(netG, prior=, nz=,
discriminator=netD, data="rooms")``) has the same sections and numbers as the converted file's.

The weights are the shipped rooms model's, put into the pytorch/examples layout by the ``pair`` fixture of
tests/test_adapter.py, so that the room segmenter has windows to find.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from latentlab import cli, load
from latentlab.attribution import filter_report
from latentlab.dissect import forget
from latentlab.latent import Walk
from latentlab.metrics.evaluate import EvalSettings, evaluate
from test_adapter import FORGET_KW, pair, real64, segmenter  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def converted(pair, tmp_path_factory):  # noqa: F811
    gan, netG, netD = pair
    tmp = tmp_path_factory.mktemp("byog")
    torch.save(netG.state_dict(), tmp / "netG_epoch_24.pth")
    torch.save(netD.state_dict(), tmp / "netD_epoch_24.pth")
    out = tmp / "model.safetensors"
    cfg = gan.config
    rc = cli.main(["convert", str(tmp / "netG_epoch_24.pth"), "--netD", str(tmp / "netD_epoch_24.pth"),
                   "--from", "pytorch-examples", "--nz", str(cfg.nz), "--ngf", str(cfg.ngf), "--ndf", str(cfg.ndf),
                   "--out", str(out)])
    assert rc == 0 and out.is_file()
    return load(out).eval(), tmp


def test_converted_file_holds_the_raw_weights(pair, converted):  # noqa: F811
    gan, netG, netD = pair
    model, _ = converted
    z = torch.randn(6, gan.config.nz, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(model.generator(z), netG(z[:, :, None, None]))
        x = netG(z[:, :, None, None])
        assert torch.allclose(torch.sigmoid(model.discriminator(x).reshape(-1)), netD(x).reshape(-1), atol=1e-6)


def test_forget_on_raw_module_equals_converted_file(pair, converted, segmenter):  # noqa: F811
    _, netG, _ = pair
    model, _ = converted
    raw = forget(netG, segmenter, layer="main.5", prior="normal", nz=100, **FORGET_KW)
    conv = forget(model.generator, segmenter, layer="block2", **FORGET_KW)
    a = json.loads(raw.to_json().replace('"main.5"', '"block2"'))
    b = json.loads(conv.to_json())
    for d in (a, b):
        d.pop("seconds", None)
    assert raw.maps_dropped > 0 and a == b


def test_evaluate_on_raw_module_equals_converted_file(pair, converted, segmenter, real64):  # noqa: F811
    _, netG, _ = pair
    model, _ = converted
    kw = dict(n=12, real=real64, judge=segmenter,
              settings=EvalSettings(progress=False, pairs_per_class=4, ppl_samples=6, n_train=12))
    raw = evaluate(netG, prior="normal", dataset="rooms", **kw).to_dict()
    conv = evaluate(model, dataset="rooms", **kw).to_dict()
    for r in (raw, conv):
        for key in ("model", "timings", "seconds"):
            r.pop(key, None)
    assert raw == conv and raw["content"] is not None and raw["ppl_random_generator"] > 0


def test_filter_ranking_and_walk_on_raw_module_equal_converted_file(pair, converted):  # noqa: F811
    _, netG, netD = pair
    model, _ = converted
    kw = dict(n=24, k=2, n_show=3, quantile=0.2)
    a, b = filter_report(netD, "rooms", **kw), filter_report(model.discriminator, "rooms", **kw)
    assert (a.layer, b.layer) == ("main.10", "block4")
    sa, sb = a.summary(), b.summary()
    for key in ("per_filter", "shown_filters", "trained_semantic_filters", "trained_best_iou"):
        assert sa[key] == sb[key], key
    a = Walk(netG, "normal").random(keyframes=2, steps=3, seed=1)
    b = Walk(model).random(keyframes=2, steps=3, seed=1)
    assert torch.equal(a, b)


def test_report_quick_on_converted_file(converted):
    _, tmp = converted
    out = tmp / "report"
    rc = cli.main(["report", str(tmp / "model.safetensors"), "--out", str(out), "--quick", "--no-progress",
                   "--sections", "samples", "walk"])
    assert rc == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "plotly" in html.lower() and len(html) > 10_000


@pytest.fixture(scope="module")
def raw_and_converted_reports(pair, converted, segmenter, tmp_path_factory):  # noqa: F811
    """`report --quick` (build_report quick) on the raw netG / netD and on the converted file."""
    from latentlab.app.report import ReportOptions, build_report
    _, netG, netD = pair
    model, tmp = converted
    out = tmp_path_factory.mktemp("byog-report")
    raw = build_report(netG, out / "raw", quick=True, prior="normal", nz=100, discriminator=netD, data="rooms",
                       options=ReportOptions(segmenter=segmenter, progress=False))
    conv = build_report(tmp / "model.safetensors", out / "conv", quick=True,
                        data="rooms", options=ReportOptions(segmenter=segmenter, progress=False))
    return raw, conv


def test_report_on_tiny_raw_modules_equals_their_converted_file(tmp_path):
    """The fast path of the shipped-size check below: a tiny pytorch/examples netG / netD (nz=8, width 4), its
    converted file, and the report sections that read the raw modules (samples, walk, forget with a stand-in
    segmenter) give the same numbers."""
    import sys
    from latentlab.app.report import ReportOptions, build_report
    from latentlab.convert import pytorch_examples_dcgan
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _stand_ins import StandInSegmenter
    torch.manual_seed(0)
    netG, netD = pytorch_examples_dcgan(nz=8, ngf=4, ndf=4, nc=3)
    netG, netD = netG.eval(), netD.eval()
    torch.save(netG.state_dict(), tmp_path / "g.pth")
    torch.save(netD.state_dict(), tmp_path / "d.pth")
    assert cli.main(["convert", str(tmp_path / "g.pth"), "--netD", str(tmp_path / "d.pth"), "--from",
                     "pytorch-examples", "--nz", "8", "--ngf", "4", "--ndf", "4", "--out",
                     str(tmp_path / "m.safetensors")]) == 0
    kw = dict(quick=True, sections=["samples", "walk", "forget"], data="rooms",
              options=ReportOptions(segmenter=StandInSegmenter(), detector=False, progress=False))
    raw = build_report(netG, tmp_path / "raw", prior="normal", nz=8, discriminator=netD, **kw)
    conv = build_report(tmp_path / "m.safetensors", tmp_path / "conv", **kw)
    a, b = json.loads(json.dumps(raw["numbers"])), json.loads(json.dumps(conv["numbers"]))
    assert raw["sections"] == conv["sections"] == ["samples", "walk", "forget"] and raw["failed"] == {}
    assert (a["forget"].pop("layer"), b["forget"].pop("layer")) == ("main.5", "block2")
    assert a == b and a["forget"]["maps_dropped"] > 0
    assert "your generator module Generator" in Path(raw["html"]).read_text(encoding="utf-8")


@pytest.mark.shipped  # two quick reports of the shipped-size model: minutes; the fast path is the test above
def test_report_quick_on_raw_modules_equals_converted_file(raw_and_converted_reports):
    raw, conv = raw_and_converted_reports
    sections = ["samples", "metrics", "walk", "sefa", "filters", "forget"]
    assert raw["sections"] == conv["sections"] == sections and raw["failed"] == conv["failed"] == {}
    assert set(raw["skipped"]) == set(conv["skipped"]) == {"training", "arithmetic", "rotation", "labels",
                                                                 "forget-boxes"}  # no labels, no boxes given
    a, b = json.loads(json.dumps(raw["numbers"])), json.loads(json.dumps(conv["numbers"]))   # as --json writes them
    assert a["metrics"].pop("model")["arch"] == "Generator" and b["metrics"].pop("model")["arch"] == "dcgan"
    assert (a["forget"].pop("layer"), b["forget"].pop("layer")) == ("main.5", "block2")
    assert (a["filters"].pop("layer"), b["filters"].pop("layer")) == ("main.10", "block4")
    assert (a["sefa"].pop("layer"), b["sefa"].pop("layer")) == ("main.0", "block1.conv")
    for key in ("step", "dataset"):                # filter_report's info on a GAN (none for a bare D)
        b["filters"].pop(key)
    assert a == b
    assert a["forget"]["maps_dropped"] > 0 and a["metrics"]["fd_judge"] > 0
    assert a["forget"]["detector"] == "WindowDetector" and a["forget"]["instruments"]["probe"]   # both instruments
    assert len(a["walk"]["max_over_median_step"]) == 2 and a["samples"]["n"] == 16
    page = Path(raw["html"]).read_text(encoding="utf-8")
    assert "your generator module Generator" in page and "main.5" in page
    assert "Not in this report" in page and "no training log: a module in memory has no run folder" in page
    assert "second instrument (WindowDetector" in page
    print("instruments disagree:", a["forget"]["instruments_disagree"], a["forget"]["reduction"],
          a["forget"]["instruments"]["probe"]["detector"]["reduction"])
    for key in sections:
        assert f"data-section='{key}'" in page
