"""The judge-free analyses on an unmodified foreign generator: a pytorch/examples netG (4-D z, `main.N` layer
names, no D, no dataset) driven by the user's boxes and tags gives the same numbers as its converted file."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import latentlab
from latentlab.convert import convert, pytorch_examples_dcgan
from latentlab.dissect.forget_boxes import forget_from_boxes
from latentlab.latent import Arithmetic
from latentlab.latent.tags import load_tags, save_tags
from latentlab.models.adapter import LatentModel

N = 24


@pytest.fixture(scope="module")
def raw_and_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("foreign")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        netG, _ = pytorch_examples_dcgan(8, 8, 8, 3)       # the unmodified upstream layout: z is (N, nz, 1, 1)
    netG.eval()
    torch.save(netG.state_dict(), tmp / "netG.pth")
    convert(tmp / "netG.pth", nz=8, ngf=8, out=tmp / "face.safetensors")
    return netG, latentlab.load(tmp / "face.safetensors"), tmp


def _boxes():
    return [[(16, 16, 48, 32)] if i % 3 == 0 else [] for i in range(N)]


def test_forget_from_boxes_on_the_raw_netG_equals_the_converted_file(raw_and_file):
    netG, gan, _ = raw_and_file
    kw = dict(label="glasses", seed=0)
    raw = forget_from_boxes(netG, _boxes(), layers=["main.5"], prior="normal", nz=8, **kw)
    ours = forget_from_boxes(gan, _boxes(), layers=["block2"], **kw)
    assert (raw.layer, ours.layer) == ("main.5", "block2")
    for k in ("before", "after", "after_random"):
        assert raw.images[k].dtype == np.uint8 and raw.images[k].shape == (N, 64, 64, 3)
        assert np.array_equal(raw.images[k], ours.images[k]), k
    a, b = raw.to_dict(), ours.to_dict()
    assert json.dumps(a["default"]) == json.dumps(b["default"]).replace("block2", "main.5")
    assert a["label"] == "glasses" and a["default"]["instrument"].startswith("box-only detector")


def test_tag_arithmetic_on_the_raw_netG_equals_the_converted_file(raw_and_file, tmp_path):
    netG, gan, _ = raw_and_file
    tags = {"glasses": list(range(0, N, 2)), "man": list(range(12)), "woman": list(range(12, N))}
    save_tags(tmp_path / "tags.json", tags, model="face.safetensors", seed=0, n=N, nz=8)
    t = load_tags(tmp_path / "tags.json")
    expr = "glasses_man - no_glasses_man + no_glasses_woman"
    raw = Arithmetic.from_tags(LatentModel(netG, "normal", nz=8), t).evaluate(expr, seed=0)
    ours = Arithmetic.from_tags(gan, t).evaluate(expr, seed=0)
    assert raw.images.shape == (9, 3, 64, 64)
    assert torch.equal(raw.y, ours.y) and torch.equal(raw.images, ours.images)
