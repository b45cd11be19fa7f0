"""Bad inputs of the user's tags (docs/BAD_INPUTS.md, rows 460-479, the section "Your labels").

Same scheme as tests/test_bad_inputs_byog.py (the machinery in tests/_catalogue.py): every row is one case
here, run and checked (exception type, a distinctive regex, and every piece of the catalogue's abbreviated
message, split at "…", occurs in the real one). ``python tests/test_bad_inputs_labels.py`` prints the rows
from the live messages.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from _catalogue import Case, check_bad_input, check_rows_match, print_rows
from latentlab import GAN, ModelConfig, save
from latentlab.app.report import ReportOptions, build_report
from latentlab.latent import Arithmetic, RotationAxis
from latentlab.latent.tags import load_tags, model_fingerprint, save_tags

FIRST, LAST = 460, 479
pytestmark = pytest.mark.usefixtures("one_thread")


TAGS = {"glasses": [0], "man": [0, 1, 4], "woman": [2, 3, 5], "looks_left": [1, 2], "looks_right": [3]}

CASES = [
    Case(460, "`load_tags(path, model=)`", "labels made on 'other.safetensors' for the model 'tiny.safetensors'",
         ValueError, r"model: labels made for another model: the labels in .* were made on samples with "
                     r"model='other.safetensors'",
         lambda c: load_tags(c.tmp / "other.json", model=str(c.tmp / "tiny.safetensors"))),
    Case(461, "`load_tags(path, fingerprint=)`", "labels of a same-named model with other weights", ValueError,
         r"fingerprint: labels made for another model",
         lambda c: load_tags(c.tmp / "fp.json", model="tiny.safetensors",
                             fingerprint=model_fingerprint(c.gan.generator))),
    Case(462, "`load_tags(path, seed=)`", "labels made on the samples of seed 0, seed 1 asked", ValueError,
         r"seed: labels made for other samples: .* seed=0, but seed=1 was asked for",
         lambda c: load_tags(c.tmp / "good.json", seed=1)),
    Case(463, "`load_tags(path)`", "a sample index 6 in a file of n=6 samples", ValueError,
         r"tags\['glasses'\]: expected sample indices in 0..5 \(n=6\)",
         lambda c: load_tags(c.tmp / "index.json")),
    Case(464, "`load_tags(path)`", "a tag named 'looks left' (a space)", ValueError,
         r"tags: tag names must be identifiers",
         lambda c: load_tags(c.tmp / "name.json")),
    Case(465, "`TagsFile.indices(name)`", "a tag with 1 sample where a mean needs 2", ValueError,
         r"tags: 'glasses' \(glasses\) has 1 sample\(s\) in the labels file, fewer than the 2 a mean needs",
         lambda c: load_tags(c.tmp / "good.json").indices("glasses")),
    Case(466, "`Arithmetic.from_tags(...).evaluate()`", "a concept that is no tag ('hat_man')", ValueError,
         r"tags: 'hat_man' is not a tag nor tags joined by '_'",
         lambda c: Arithmetic.from_tags(c.gan, load_tags(c.tmp / "good.json")).evaluate("hat_man - man + woman")),
    Case(467, "`RotationAxis.from_tags(...).fit(left=, right=)`", "a right side tagged on 1 sample", ValueError,
         r"tags: 'looks_right' \(looks_right\) has 1 sample\(s\)",
         lambda c: RotationAxis.from_tags(c.gan, load_tags(c.tmp / "good.json")).fit(left="looks_left",
                                                                                     right="looks_right")),
    Case(468, "`latentlab arithmetic`", "--labels made for another model", ValueError,
         r"--labels: model: labels made for another model",
         ["arithmetic", "{tmp}/tiny.safetensors", "--labels", "{tmp}/other.json", "man - woman", "--out",
          "{tmp}/a"], cli=True),
    Case(469, "`latentlab arithmetic`", "a concept with 1 tagged sample ('glasses')", ValueError,
         r"tags: 'glasses' \(glasses\) has 1 sample\(s\)",
         ["arithmetic", "{tmp}/tiny.safetensors", "--labels", "{tmp}/good.json", "glasses - man + woman",
          "--out", "{tmp}/a"], cli=True),
    Case(470, "`latentlab turn`", "--right of a tag with 1 sample", ValueError,
         r"tags: 'looks_right' \(looks_right\) has 1 sample\(s\)",
         ["turn", "{tmp}/tiny.safetensors", "--labels", "{tmp}/good.json", "--left", "looks_left", "--right",
          "looks_right", "--out", "{tmp}/t"], cli=True),
    Case(471, "`latentlab annotate`", "--labels made on seed 0, --seed 1", ValueError,
         r"seed: labels made for other samples",
         ["annotate", "{tmp}/tiny.safetensors", "--n", "6", "--seed", "1", "--labels", "{tmp}/good.json",
          "--out", "{tmp}/t.json"], cli=True),
    Case(472, "`build_report(path, labels=)`", "labels made for another model", ValueError,
         r"labels: model: labels made for another model",
         lambda c: build_report(c.tmp / "tiny.safetensors", c.tmp / "r", quick=True,
                                options=ReportOptions(labels=c.tmp / "other.json", progress=False))),
]


def build_context(tmp: Path) -> SimpleNamespace:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        gan = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32)).eval()
    save(gan, tmp / "tiny.safetensors")
    save_tags(tmp / "good.json", TAGS, model="tiny.safetensors", seed=0, n=6, nz=8, image_size=32)
    save_tags(tmp / "other.json", TAGS, model="other.safetensors", seed=0, n=6, nz=8, image_size=32)
    save_tags(tmp / "fp.json", TAGS, model="tiny.safetensors", seed=0, n=6, fingerprint="0123456789abcdef")
    head = {"format": "latentlab-tags", "version": 1, "model": "tiny.safetensors", "seed": 0, "n": 6}
    (tmp / "index.json").write_text(json.dumps({**head, "tags": {"glasses": [1, 6]}}))
    (tmp / "name.json").write_text(json.dumps({**head, "tags": {"looks left": [1, 2]}}))
    return SimpleNamespace(tmp=tmp, gan=gan)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return build_context(tmp_path_factory.mktemp("bad_inputs_labels"))


@pytest.mark.parametrize("case", CASES, ids=[str(c.number) for c in CASES])
def test_bad_input(case, ctx, capsys, monkeypatch):
    check_bad_input(case, ctx, capsys, monkeypatch, FIRST, LAST)


def test_rows_match_the_cases():
    check_rows_match(CASES, FIRST, LAST)


if __name__ == "__main__":  # print the rows from the live messages
    print_rows(CASES, build_context)
    sys.exit(0)
