"""The user's tags (issue 35 item 2): the tags file, concepts and turn axes from tags, judge-free measurements,
the commands `arithmetic`, `turn`, `annotate --tags`, and the report's `sefa` / `labels` sections on a converted
foreign generator without a D and without judges."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import GAN, ModelConfig, cli, save
from latentlab.latent import Arithmetic, LatentModel, RotationAxis, RotationOptions, rotation_axis
from latentlab.latent.tag_measures import TagProbe, tag_boundary
from latentlab.latent.tags import TagsFile, load_tags, model_fingerprint, save_tags

pytestmark = pytest.mark.usefixtures("one_thread")

TAGS = {"glasses": [0, 1, 2, 3, 10, 11], "man": [0, 1, 4, 5, 6, 12], "woman": [2, 3, 7, 8, 9],
        "looks_left": [4, 7, 13], "looks_right": [5, 8, 9]}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny DCGAN (nz=8, 32 px) saved as tiny.safetensors, and a tags file made on its 20 samples of seed 3."""
    tmp = tmp_path_factory.mktemp("tags")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        gan = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32)).eval()
    save(gan, tmp / "tiny.safetensors")
    save_tags(tmp / "tags.json", TAGS, model="tiny.safetensors", seed=3, n=20, nz=8, image_size=32,
              fingerprint=model_fingerprint(gan.generator))
    return gan, tmp


# ------------------------------------------------------------------------------------------------ the file

def test_round_trip_and_checks(tmp_path, tiny):
    gan, _ = tiny
    p = save_tags(tmp_path / "t.json", {"b": [3, 1], "a": []}, model="m.safetensors", seed=2, n=5, nz=8,
                  seen=[0, 1, 3])
    data = json.loads(p.read_text())
    assert data == {"format": "latentlab-tags", "version": 1, "model": "m.safetensors", "seed": 2, "n": 5, "nz": 8,
                    "seen": [0, 1, 3], "tags": {"b": [1, 3], "a": []}}
    f = load_tags(p, model="/elsewhere/m.safetensors", seed=2, n=5, nz=8, image_size=64, fingerprint="x")
    assert f == TagsFile("m.safetensors", 2, 5, {"b": [1, 3], "a": []}, 8, None, None, [0, 1, 3])
    seen, y = f.binary("b")                   # negatives are the seen samples without the tag
    assert seen.tolist() == [0, 1, 3] and y.tolist() == [False, True, True]
    with pytest.raises(ValueError, match="n: labels made for other samples: .* n=5, but n=6"):
        load_tags(p, n=6)
    with pytest.raises(ValueError, match="model: labels made for another model"):
        load_tags(p, model="faces")
    with pytest.raises(ValueError, match="nz: labels made for another model"):
        load_tags(p, nz=100)
    with pytest.raises(ValueError, match="tags: 'a' \\(a\\) has 0 sample"):
        f.indices("a")
    data["version"] = 2
    (tmp_path / "v2.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="version: labels file version 2 .* is newer"):
        load_tags(tmp_path / "v2.json")
    with pytest.raises(ValueError, match=r"tags\['b'\]: a sample index is repeated"):
        save_tags(tmp_path / "t.json", {"b": [1, 1]}, model="m", seed=0, n=5)
    assert load_tags(p).tags == {"b": [1, 3], "a": []}       # the failed save left the file as it was
    with pytest.raises(ValueError, match=r"tags\['b'\]: samples \[3\] are tagged but not in 'seen'"):
        save_tags(tmp_path / "u.json", {"b": [1, 3]}, model="m", seed=0, n=5, seen=[0, 1])
    with pytest.raises(FileNotFoundError, match="labels: file .* does not exist"):
        load_tags(tmp_path / "nope.json")


def test_concepts_are_tag_intersections(tiny):
    _, tmp = tiny
    f = load_tags(tmp / "tags.json")
    assert f.indices("glasses_man").tolist() == [0, 1]
    assert f.indices("no_glasses_man").tolist() == [4, 5, 6, 12]
    assert f.indices("no_glasses_woman").tolist() == [7, 8, 9]
    assert f.indices("looks_left").tolist() == [4, 7, 13]              # a tag name with _ stays whole
    assert f.indices("man_looks_left", 1).tolist() == [4]
    amb = TagsFile("m", 0, 4, {"a": [0, 1], "b": [1, 2], "a_b": [3, 2], "c": [0], "b_c": [1]})
    assert amb.parts("a_b") == [(False, "a_b")]          # a whole tag wins over a split
    with pytest.raises(ValueError, match="'a_b_c' can be read as"):
        amb.parts("a_b_c")


# ------------------------------------------------------------------------------------------------ the analyses

def test_arithmetic_from_tags_equals_the_same_z_given(tiny):
    gan, tmp = tiny
    f = load_tags(tmp / "tags.json", model="tiny.safetensors", fingerprint=model_fingerprint(gan.generator))
    res = Arithmetic.from_tags(gan, f, seed=5).evaluate("glasses_man - no_glasses_man + no_glasses_woman")
    z = LatentModel(gan).sample_z(20, seed=3)          # the file's samples: seed 3, n 20
    ar = Arithmetic(gan, judge=lambda x: {}, seed=5)
    ar.concept("glasses_man", z=z[[0, 1]])
    ar.concept("no_glasses_man", z=z[[4, 5, 6, 12]])
    ar.concept("no_glasses_woman", z=z[[7, 8, 9]])
    direct = ar.evaluate("glasses_man - no_glasses_man + no_glasses_woman")
    assert torch.equal(res.y, direct.y) and torch.equal(res.z, direct.z) and torch.equal(res.images, direct.images)
    assert res.z[4].equal(res.y) and res.images.shape == (9, 3, 32, 32)
    assert [c.indices.tolist() for c in res.terms] == [[0, 1], [4, 5, 6, 12], [7, 8, 9]]
    assert gan.config.prior == "normal" and (res.z - res.y).abs().max() > 0   # N(0, 0.25^2) noise around Y


def test_turn_axis_from_tags(tiny):
    gan, tmp = tiny
    f = load_tags(tmp / "tags.json")
    rot = RotationAxis.from_tags(gan, f).fit(left="looks_left", right="looks_right")
    z = LatentModel(gan).sample_z(20, seed=3)
    assert torch.equal(rot.axis, rotation_axis(z[[4, 7, 13]], z[[5, 8, 9]]))
    images = rot.apply(z[:2], [-1.0, 0.0, 1.0])
    assert images.shape == (2, 3, 3, 32, 32)
    assert torch.allclose(images[:, 1], gan.generator(z[:2]), atol=1e-6)   # coefficient 0: the z itself
    with pytest.raises(ValueError, match="leave options.c at None"):
        RotationAxis.from_tags(gan, f, options=RotationOptions(c=0))


def test_tag_boundary_agreement_is_measured_on_held_out_samples():
    z = torch.randn(80, 8, generator=torch.Generator().manual_seed(0))
    f = TagsFile("m", 0, 80, {"pos": (z[:, 0] > 0).nonzero().flatten().tolist(),
                              "noise": list(range(0, 80, 2))})
    good, noise = tag_boundary(z, f, "pos"), tag_boundary(z, f, "noise")
    assert good.auc > 0.95 and good.direction.vector[0] > 0.9 and good.n_pos + good.n_neg == 80
    assert noise.auc < 0.75
    assert "cross-validated" in good.measured_with and "no judge" in good.measured_with


def test_pixel_probe_reads_what_was_tagged():
    x = torch.rand(24, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.2 - 0.6
    x[:12, :, :4, :4] = 0.9                       # a bright corner on the tagged half
    y = torch.arange(24) < 12
    probe = TagProbe(x, y, name="corner")
    assert probe.auc > 0.95 and probe.readable
    p = probe.predict(x)
    assert (p[:12] > 0.5).all() and (p[12:] < 0.5).all()
    with pytest.raises(ValueError, match=">= 2 of each class"):
        TagProbe(x[:3], torch.tensor([True, False, False]))


# ------------------------------------------------------------------------------------------------ commands

def test_cli_arithmetic_and_turn(tiny, tmp_path, capsys):
    _, tmp = tiny
    model, labels = str(tmp / "tiny.safetensors"), str(tmp / "tags.json")
    assert cli.main(["arithmetic", model, "--labels", labels, "glasses_man - man + woman", "--out",
                     str(tmp_path / "a"), "--expect", "glasses_woman"]) == 0
    out = capsys.readouterr().out
    assert "glasses_man: mean of 2 tagged samples [0, 1]" in out and ("measured with" in out or "unmeasured" in out)
    grid = np.asarray(Image.open(tmp_path / "a" / "grid.png"))
    assert grid.shape == ((3 * 32 + 8) * 2, (3 * 32 + 8) * 2, 3)       # 3x3 of 32 px, padding 2, scale 2
    info = json.loads((tmp_path / "a" / "arithmetic.json").read_text())
    assert info["concepts"]["woman"]["samples"] == [2, 3, 7, 8, 9] and info["coefficients"]["man"] == -1
    assert all("measured_with" in p for p in info["measurement"]["parts"])
    assert cli.main(["turn", model, "--labels", labels, "--left", "looks_left", "--right", "looks_right",
                     "--out", str(tmp_path / "t"), "--rows", "2"]) == 0
    info = json.loads((tmp_path / "t" / "turn.json").read_text())
    assert info["left_samples"] == [4, 7, 13] and info["right_samples"] == [5, 8, 9]
    assert "measured_with" in info["measurement"]
    assert np.asarray(Image.open(tmp_path / "t" / "turn.png")).shape[:2] == ((2 * 32 + 6) * 2, (7 * 32 + 16) * 2)
    assert cli.main(["arithmetic", model, "--labels", labels, "man - woman", "--out", str(tmp_path / "a")]) == 0
    assert "unmeasured: no --expect" in capsys.readouterr().out


def test_cli_annotate_tag_mode_and_sheet(tiny, tmp_path, capsys):
    gan, tmp = tiny
    model = str(tmp / "tiny.safetensors")
    assert cli.main(["annotate", model, "--n", "20", "--seed", "3", "--labels", str(tmp / "tags.json"),
                     "--tags", "smile", "--out", str(tmp_path / "tags.json"), "--sheet", str(tmp_path / "s.png")]) == 0
    page = (tmp_path / "tags.html").read_text()
    meta = json.loads(re.search(r'id="tags-meta">(.*?)</script>', page, re.S).group(1))
    assert meta["tags"] == {**TAGS, "smile": []} and meta["fingerprint"] == model_fingerprint(gan.generator)
    assert (meta["n"], meta["seed"], meta["nz"], meta["image_size"]) == (20, 3, 8, 32)
    assert np.asarray(Image.open(tmp_path / "s.png")).shape == (2 * (128 + 14), 10 * 128, 3)
    assert cli.main(["annotate", model, "--n", "20", "--tags", "a", "--out", str(tmp_path / "x.txt")]) == 2


def test_tag_page_in_headless_chromium(tiny, tmp_path, capsys):
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from playwright.sync_api import sync_playwright

    from latentlab.viz.browser import find_chromium
    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine")
    gan, tmp = tiny
    model = str(tmp / "tiny.safetensors")
    assert cli.main(["annotate", model, "--n", "6", "--seed", "0", "--tags", "glasses,man",
                     "--out", str(tmp_path / "tags.json")]) == 0
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((tmp_path / "tags.html").as_uri())
            page.wait_for_function("() => window.latentlabTagsReady === true", timeout=60_000)
            for i in (4, 1, 5, 4):                       # glasses: 1, 5 (4 ticked twice: off again)
                page.click(f"figure[data-index='{i}']")
            page.keyboard.press("2")                     # man
            page.click("figure[data-index='0']")
            page.fill("#newtag", "looks_left")
            page.press("#newtag", "Enter")
            page.click("figure[data-index='3']")
            with page.expect_download() as info:
                page.click("#save")
            info.value.save_as(tmp_path / "saved.json")
        finally:
            browser.close()
    assert errors == []
    f = load_tags(tmp_path / "saved.json", model=model, seed=0, n=6, nz=8, image_size=32,
                  fingerprint=model_fingerprint(gan.generator))
    assert f.tags == {"glasses": [1, 5], "man": [0], "looks_left": [3]}


# ------------------------------------------------------------------------------------------------ the report

@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A pytorch/examples netG (nz=8, ngf=8) converted to latentlab's format: no D, no dataset, no judge."""
    from latentlab.convert import convert, pytorch_examples_dcgan
    tmp = tmp_path_factory.mktemp("tags_conv")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, _ = pytorch_examples_dcgan(8, 8, 8, 3)
    torch.save(G.state_dict(), tmp / "netG.pth")
    convert(tmp / "netG.pth", nz=8, ngf=8, out=tmp / "face.safetensors")
    gan = __import__("latentlab").load(tmp / "face.safetensors")
    z = LatentModel(gan).sample_z(24, seed=0)
    tags = {"glasses": (z[:, 0] > 0).nonzero().flatten().tolist(), "man": list(range(12)),
            "woman": list(range(12, 24)), "looks_left": [0, 5, 13, 20], "looks_right": [1, 7, 14, 22]}
    save_tags(tmp / "tags.json", tags, model="face.safetensors", seed=0, n=24)
    return gan, tmp


def test_report_sections_without_judges_on_a_converted_generator(converted, tmp_path, monkeypatch):
    from latentlab.app.report import ReportOptions, build_report

    def no_judge(*a, **k):
        raise AssertionError("a judge was loaded")
    monkeypatch.setattr("latentlab.judges.load_judge", no_judge)
    gan, tmp = converted
    assert gan.discriminator is None
    r = build_report(tmp / "face.safetensors", tmp_path / "r", sections=["samples", "walk", "sefa", "labels"],
                     quick=True, options=ReportOptions(progress=False, labels=tmp / "tags.json"))
    assert r["sections"] == ["samples", "walk", "sefa", "labels"] and r["failed"] == {}
    sefa, lab = r["numbers"]["sefa"], r["numbers"]["labels"]
    assert len(sefa["directions"]) == 5 and "no judge" in sefa["measured_with"]
    shares = [d["eigenvalue_share"] for d in sefa["directions"]]
    assert shares == sorted(shares, reverse=True) and all(d["pixel_change"] > 0 for d in sefa["directions"])
    assert lab["boundaries"]["glasses"]["auc"] > 0.8            # tagged by z[:, 0] > 0: linear in z
    assert lab["arithmetic"]["expression"] in ("glasses_man - no_glasses_man + no_glasses_woman",
                                               "glasses_woman - no_glasses_woman + no_glasses_man")
    assert (lab["turn"]["left"], lab["turn"]["right"]) == ("looks_left", "looks_right")
    pairs = {k for k in lab["boundaries"] if " vs " in k}      # disjoint tags also get one-against-the-other rows
    assert "looks_right vs looks_left" in pairs and pairs & {"woman vs man", "man vs woman"}
    turn = lab["boundaries"]["looks_right vs looks_left"]
    assert turn["n_pos"] == turn["n_neg"] == 4
    for part in (lab["turn"], lab["direction"], *lab["arithmetic"]["parts"]):
        assert "measured_with" in part
    page = (tmp_path / "r" / "index.html").read_text()
    assert "data-section='sefa'" in page and "data-section='labels'" in page
    default = build_report(tmp / "face.safetensors", tmp_path / "d", quick=True,
                           sections=None, options=ReportOptions(progress=False))
    assert "sefa" in default["sections"] and "labels" in default["skipped"]


def test_generator_feature_probe_reads_a_tag_from_the_generators_features(tiny):
    from latentlab.latent.tag_measures import GeneratorReader, best_probe
    gan, _ = tiny
    lm = LatentModel(gan)
    z = lm.sample_z(60, seed=1)
    f = TagsFile("tiny.safetensors", 1, 60, {"t": (z[:, 0] > 0.3).nonzero().flatten().tolist()})
    probe = TagProbe.from_tags(lm, f, "t", pixels=False, C=1.0)
    assert probe.reads == "z" and "the generator's own 'block2' features" in probe.measured_with
    assert probe.auc > 0.8                            # z[:, 0] passes through block1 into block2's maps
    p = probe.read(images=None, z=z)
    assert p.shape == (60,) and p[z[:, 0] > 0.3].mean() > p[z[:, 0] <= 0.3].mean()
    with pytest.raises(ValueError, match="mirror: only a probe reading images"):
        TagProbe(z, z[:, 0] > 0, reader=GeneratorReader(lm), mirror=True)
    probes = best_probe(lm, f, "t")
    assert probes[0].reads == "images" and (len(probes) == 1) == probes[0].readable


def test_label_directions_of_every_usable_tag(converted):
    from latentlab.latent import label_directions
    gan, tmp = converted
    d = label_directions(gan, load_tags(tmp / "tags.json"))
    assert sorted(d) == ["glasses", "looks_left", "looks_right", "man", "woman"]
    assert d["glasses"].auc > 0.8 and d["glasses"].direction.vector[0] > 0.5     # tagged by z[:, 0] > 0
