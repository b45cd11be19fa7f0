"""The HTML report: sections per model kind, offline self-containment, bad input, and a real headless browser."""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest
import torch

from latentlab import GAN, ModelConfig, save
from latentlab.cli import main as cli_main
from _stand_ins import StandInSegmenter
from latentlab.latent.labels import ImageStatsJudge
from latentlab.app.report import (QUICK, Budget, ReportOptions, build_report, find_training_log,
                                  read_training_log)

ROOT = Path(__file__).resolve().parent.parent


def _tiny(tmp: Path, dataset: str, *, arch="dcgan", size=64, channels=3, **kw) -> Path:
    torch.manual_seed(0)
    gan = GAN(ModelConfig(arch=arch, nz=8, ngf=8, ndf=8, image_size=size, channels=channels, dataset=dataset, **kw))
    run = tmp / f"run-{dataset}"
    run.mkdir(parents=True, exist_ok=True)
    path = run / "model.safetensors"
    save(gan, path)
    return path


def _write_log(run: Path, steps: int = 30) -> Path:
    lines = [json.dumps({"event": "start"})]
    for s in range(1, steps + 1):
        lines.append(json.dumps({"step": s, "loss_d": 1.0 / s, "loss_g": 2.0 + s, "d_x": 0.9, "d_g_z": 0.1,
                                 "time": float(s)}))
    (run / "log.jsonl").write_text("\n".join(lines) + "\n")
    return run / "log.jsonl"


@pytest.fixture(scope="module")
def rooms_report(tmp_path_factory):
    """A report of a tiny untrained rooms DCGAN with every rooms section (stand-in segmenter for forget)."""
    tmp = tmp_path_factory.mktemp("report")
    path = _tiny(tmp, "rooms")
    _write_log(path.parent)
    r = build_report(path, tmp / "out", quick=True, options=ReportOptions(segmenter=StandInSegmenter(), progress=False))
    return r


def test_rooms_report_has_every_rooms_section_and_is_offline(rooms_report):
    r = rooms_report
    assert r["sections"] == ["samples", "training", "metrics", "walk", "sefa", "filters", "forget"]
    assert r["failed"] == {}
    page = Path(r["html"]).read_text()
    # self-contained: plotly.js inline (once), no external scripts, styles or images
    from plotly.offline import get_plotlyjs
    assert page.count(get_plotlyjs()) == 1
    rest = page.replace(get_plotlyjs(), "")
    assert not re.search(r"<script[^>]+src=", rest)
    assert "http://" not in rest and "https://" not in rest and "<link" not in rest
    assert page.count("Plotly.newPlot") >= 7                      # one per figure
    for key in r["sections"]:
        assert f"data-section='{key}'" in page
    assert "DCGAN §6.3.1" in page and "DCGAN §6.1" in page and "DCGAN §6.2" in page   # each says what it reproduces
    assert r["bytes"] == os.path.getsize(r["html"]) < 25e6


def test_faces_report_has_arithmetic_and_rotation(tmp_path):
    path = _tiny(tmp_path, "faces")
    from latentlab import load
    g = load(path)
    judge = ImageStatsJudge(g.sample(256, seed=123), gain=6.0)
    budget = Budget(**{**QUICK.__dict__, "pool_size": 400})
    r = build_report(path, tmp_path / "out", sections=["samples", "arithmetic", "rotation"],
                     options=ReportOptions(budget=budget, face_judge=judge, progress=False))
    assert r["sections"] == ["samples", "arithmetic", "rotation"] and r["failed"] == {}
    page = Path(r["html"]).read_text()
    assert "Fig. 7" in page and "Fig. 8" in page


def test_acgan_report_rows_per_class_and_class_walk(tmp_path):
    path = _tiny(tmp_path, "fashion-mnist", arch="acgan", size=32, channels=1, num_classes=10)
    r = build_report(path, tmp_path / "out", sections=["samples", "walk"], quick=True,
                     options=ReportOptions(progress=False))
    page = Path(r["html"]).read_text()
    assert r["failed"] == {} and "Class embedding walk" in page and "one row per class" in page


def test_a_section_that_cannot_run_is_shown_with_its_reason(tmp_path):
    # the real face judge finds no smiling women among an untrained generator's blobs: the page says so
    path = _tiny(tmp_path, "faces")
    r = build_report(path, tmp_path / "out", sections=["arithmetic"], quick=True, options=ReportOptions(progress=False))
    assert set(r["failed"]) == {"arithmetic"} and "pool samples match" in r["failed"]["arithmetic"]
    assert "could not be built" in Path(r["html"]).read_text()


def test_bad_input(tmp_path):
    path = _tiny(tmp_path, "fashion-mnist", arch="acgan", size=32, channels=1, num_classes=10)
    with pytest.raises(ValueError, match="sections: unknown section 'walks'"):
        build_report(path, tmp_path / "o", sections=["walks"], quick=True)
    with pytest.raises(ValueError, match="'forget' does not apply"):
        build_report(path, tmp_path / "o", sections=["forget"], quick=True)
    with pytest.raises(ValueError, match="budget.walks: expected a positive int"):
        Budget(walks=0)
    with pytest.raises(FileNotFoundError, match="log: training log"):
        build_report(path, tmp_path / "o", quick=True, options=ReportOptions(log=tmp_path / "missing.jsonl"))
    with pytest.raises(FileNotFoundError, match="metrics: evaluate result"):
        build_report(path, tmp_path / "o", quick=True, options=ReportOptions(metrics=tmp_path / "missing.json"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="out:"):
        build_report(path, tmp_path / "file", quick=True)
    with pytest.raises(ValueError, match="neither a shipped model"):
        build_report("bedrooms", tmp_path / "o", quick=True)
    assert not (tmp_path / "o").exists()      # nothing written when the input is bad


def test_training_log_reading(tmp_path):
    log = _write_log(tmp_path, steps=1000)
    with open(log, "a") as f:                   # a resumed run repeats steps 999-1000; a kill cut the last line
        f.write(json.dumps({"step": 1000, "loss_d": 5.0, "loss_g": 0.0, "d_x": 0.5, "d_g_z": 0.5}) + "\n")
        f.write('{"step": 1001, "loss_')
    d = read_training_log(log, max_points=100)
    assert len(d["step"]) == 100 and d["step"][0] == pytest.approx(5.5) and d["last_step"] == 1000
    assert d["loss_d"][-1] == pytest.approx((sum(1 / s for s in range(991, 1000)) + 5.0) / 10)
    (tmp_path / "bad.jsonl").write_text('{"event": "start"}\n')
    with pytest.raises(ValueError, match="no per-step records"):
        read_training_log(tmp_path / "bad.jsonl")
    (tmp_path / "bad2.jsonl").write_text('garbage\n{"step": 1, "loss_d": 1}\n')
    with pytest.raises(ValueError, match="line 1 .* is not JSON"):
        read_training_log(tmp_path / "bad2.jsonl")


def test_find_training_log(tmp_path):
    path = _tiny(tmp_path, "rooms")
    assert find_training_log(path) is None
    log = _write_log(path.parent)
    assert find_training_log(path) == log.resolve()
    ck = path.parent / "checkpoints"
    ck.mkdir()
    assert find_training_log(ck / "step-00000010.safetensors") == log.resolve()
    for name in ("rooms", "faces", "fashion"):     # shipped models carry their (binned) training logs
        assert find_training_log(name) == ROOT / "pretrained" / "logs" / f"{name}.jsonl"


def test_cli_report_quick(tmp_path, capsys):
    path = _tiny(tmp_path, "fashion-mnist", arch="acgan", size=32, channels=1, num_classes=10)
    code = cli_main(["report", str(path), "--out", str(tmp_path / "o"), "--quick", "--no-progress",
                     "--sections", "samples", "walk", "--json", str(tmp_path / "r.json")])
    assert code == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["sections"] == ["samples", "walk"] and Path(r["html"]).is_file()
    assert cli_main(["report", str(path), "--out", str(tmp_path / "o2"), "--sections", "forget"]) == 2
    assert "does not apply" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ real browser

def _browser_or_skip():
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    from latentlab.viz.browser import find_chromium
    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium, or set LATENTLAB_CHROMIUM)")
    return exe


def test_report_in_headless_chromium(rooms_report, tmp_path):
    exe = _browser_or_skip()
    from latentlab.viz.browser import check_report
    shot = Path(os.environ.get("LATENTLAB_SCREENSHOT", tmp_path / "report.png"))
    r = check_report(rooms_report["html"], screenshot=shot, executable=exe)
    assert r["console_errors"] == [] and r["page_errors"] == []
    assert [s["key"] for s in r["sections"]] == rooms_report["sections"]
    for s in r["sections"]:
        assert s["error"] is None and s["plots"] >= 1 and s["drawn"] == s["plots"], s
    assert r["walk_slider_changed_image"] is True
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_report_of_a_shipped_model_in_chromium(tmp_path):
    """Opt-in (LATENTLAB_REPORT_HTML=path/to/index.html): the same checks on a full report, e.g. of `rooms`."""
    html = os.environ.get("LATENTLAB_REPORT_HTML")
    if not html:
        pytest.skip("set LATENTLAB_REPORT_HTML to a built report to check it (see README)")
    exe = _browser_or_skip()
    from latentlab.viz.browser import check_report
    shot = Path(os.environ.get("LATENTLAB_SCREENSHOT", tmp_path / "report.png"))
    r = check_report(html, screenshot=shot, executable=exe)
    assert r["console_errors"] == [] and r["page_errors"] == []
    for s in r["sections"]:
        assert s["error"] is None and s["drawn"] == s["plots"] >= 1, s
    assert r["walk_slider_changed_image"] is True


def test_png_export(tmp_path):
    _browser_or_skip()
    pytest.importorskip("kaleido", reason="kaleido is not installed")
    from latentlab.app.report import Section, export_pngs
    import plotly.graph_objects as go
    figs = [("", go.Figure(go.Bar(y=[1, 3, 2]))), ("", go.Figure(go.Scatter(y=[0, 1])))]
    paths = export_pngs([Section("walk", "Walk", "", figs)], tmp_path / "png")
    assert [Path(p).name for p in paths] == ["walk-0.png", "walk-1.png"]
    assert all(Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_page_shell_is_offline_and_only_assembles(tmp_path):
    # the one HTML page shell (report, filters.html, forget_*.html): plotly.js once, figures as divs, escaped title
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs
    from latentlab.viz.page import figure_html, page, write_page
    figs = [go.Figure(go.Bar(y=[1, 2])), go.Figure(go.Scatter(y=[3, 1]))]
    text = page("a <b> & c", ["<p id='intro'>hi</p>", figs[0], figure_html(figs[1], div_id="second")],
                meta="seed 0", nav=[("intro", "Intro & more")])
    assert text.startswith("<!DOCTYPE html>") and text.count(get_plotlyjs()) == 1
    assert "<title>a &lt;b&gt; &amp; c</title>" in text and "<h1>a &lt;b&gt; &amp; c</h1>" in text
    assert "<p class='meta'>seed 0</p>" in text and "<a href='#intro'>Intro &amp; more</a>" in text
    assert text.count("Plotly.newPlot") == 2 and 'id="second"' in text
    assert text.index("<p id='intro'>hi</p>") < text.index("Plotly.newPlot")      # blocks keep their order
    rest = text.replace(get_plotlyjs(), "")
    assert not re.search(r"<script[^>]+src=", rest) and "https://" not in rest
    path = write_page(tmp_path / "p.html", text)
    assert path.read_text(encoding="utf-8") == text and [p.name for p in tmp_path.iterdir()] == ["p.html"]
    with pytest.raises(TypeError, match=r"body\[1\]: expected an HTML string or a plotly figure, got int"):
        page("t", ["<p>x</p>", 3])



# ------------------------------------------------------------------------------------ forget: two instruments

def test_forget_section_reads_both_window_instruments(rooms_report, tmp_path):
    """The forget section passes the shipped WindowDetector next to the segmenter (as `latentlab forget`), shows
    both instruments' numbers per drop and says whether they disagree by the rule removal.DISAGREE."""
    from latentlab.app.forget import VARIANTS
    from latentlab.dissect.removal import disagreement
    d = rooms_report["numbers"]["forget"]
    assert d["detector"] == "WindowDetector" and d["instruments"] is not None
    page = Path(rooms_report["html"]).read_text(encoding="utf-8")
    forget_part = page[page.index("data-section='forget'"):]
    assert "second instrument (WindowDetector" in forget_part and "Two instruments" in forget_part
    ins = d["instruments"]
    for key, label in VARIANTS.items():
        if not ins.get(key):
            continue
        v = ins[key]                                  # the flag is the rule applied to the two readings
        assert v["disagree"] == bool(disagreement(v["segmenter"]["reduction"], v["detector"]["reduction"],
                                                  v["agreement_after"]["image_presence_agreement"]))
        assert html.escape(f"{label}: segmenter {-100 * v['segmenter']['reduction']:+.1f}%, detector "
                           f"{-100 * v['detector']['reduction']:+.1f}%") in forget_part
    if d["instruments_disagree"]:
        assert "The two window instruments DISAGREE on:" in forget_part
    else:
        assert "The two window instruments agree on every drop" in forget_part
    # detector=False: the segmenter alone, same experiment (the detector only reads)
    path = Path(rooms_report["html"]).parent.parent / "run-rooms" / "model.safetensors"
    one = build_report(path, tmp_path / "one", sections=["forget"], quick=True,
                       options=ReportOptions(segmenter=StandInSegmenter(), detector=False, progress=False))
    o = one["numbers"]["forget"]
    assert o["instruments"] is None and o["reduction"] == d["reduction"]
    assert "second instrument" not in Path(one["html"]).read_text(encoding="utf-8")


def test_instrument_verdict_in_both_directions(rooms_report):
    from latentlab.app.report import _instruments_html
    d = json.loads(json.dumps(rooms_report["numbers"]["forget"]))

    class Result:                                     # the report reads a ForgetResult through to_dict()
        def __init__(self, m):
            self.m = m

        def to_dict(self):
            return self.m
    for flag in (True, False):
        for key in ("probe", "random"):
            d["instruments"][key]["disagree"] = flag and key == "probe"
            d["instruments"][key]["reasons"] = ["made up"] if flag and key == "probe" else []
        text = _instruments_html(Result(d))
        if flag:
            assert "DISAGREE on: probe&#x27;s maps dropped</strong>" in text and "the instruments disagree: made up" in text \
                and "which to trust: the segmenter" in text
        else:
            assert "agree on every drop" in text and "DISAGREE" not in text and "which to trust" not in text
