"""Bad inputs of convert / annotate (docs/BAD_INPUTS.md, rows 320-349, the section "Bringing your own GAN").

Same scheme as tests/test_bad_inputs.py (the machinery in tests/_catalogue.py): every row is one case here,
run and checked (exception type, a distinctive regex, and every piece of the catalogue's abbreviated message,
split at "…", occurs in the real one). ``python tests/test_bad_inputs_byog.py`` prints the rows from the live
messages.
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
from latentlab.convert import convert, pytorch_examples_dcgan
from latentlab.dissect.boxes_json import load_boxes, save_boxes

FIRST, LAST = 320, 349
pytestmark = pytest.mark.usefixtures("one_thread")


CASES = [
    Case(320, "`convert(netG, ...)`", "a state dict of another layout (the discriminator's as netG)", ValueError,
         r"netG: expected convolutions each followed by a BatchNorm, .* \(were netG and netD swapped\?\)",
         lambda c: convert(c.tmp / "netD.pth", nz=8, ngf=8)),
    Case(321, "`convert(netG, nz=)`", "nz=16 for a generator of nz=8", ValueError,
         r"netG: tensor shapes do not match nz=16, ngf=8, nc=3 at 64 px \(the file's tensors suggest nz=8",
         lambda c: convert(c.tmp / "netG.pth", nz=16, ngf=8)),
    Case(322, "`convert(netG, ...)`", "a pickled module (torch.save(net), not its state dict)", ValueError,
         r"netG: .* is not a state dict of tensors \(it holds the Python object",
         lambda c: convert(c.tmp / "module.pth", nz=8, ngf=8)),
    Case(323, "`convert(netG, ...)`", "ambiguous checkpoint keys: {'netG': ..., 'netG_ema': ..., 'epoch': 3}, no key",
         ValueError, r"netG: cannot tell which entry of the training checkpoint .* is the generator: its state dicts "
                     r"are \['netG', 'netG_ema'\]; pick one with key=",
         lambda c: convert(c.tmp / "ckpt.pth")),
    Case(324, "`convert(netG, ...)`", "bytes that torch.load cannot read", ValueError,
         r"netG: .* is not a file torch.load can read",
         lambda c: convert(c.tmp / "junk.pth", nz=8, ngf=8)),
    Case(325, "`convert(netG, source=)`", "an unknown layout 'keras'", ValueError,
         r"source: unknown checkpoint layout 'keras'",
         lambda c: convert(c.tmp / "netG.pth", source="keras", nz=8, ngf=8)),
    Case(326, "`latentlab convert`", "--nz 16 for a generator of nz=8", ValueError,
         r"netG: tensor shapes do not match nz=16",
         ["convert", "{tmp}/netG.pth", "--nz", "16", "--ngf", "8", "--out", "{tmp}/m.safetensors"], cli=True),
    Case(327, "`latentlab convert`", "--out names an existing file, no --force", ValueError,
         r"--out: .* exists; pass --force to overwrite it",
         ["convert", "{tmp}/netG.pth", "--nz", "8", "--ngf", "8", "--out", "{tmp}/exists.safetensors"], cli=True),
    Case(328, "`load_boxes(path)`", "a JSON list of boxes instead of the annotate object", ValueError,
         r"boxes: expected a JSON object with the keys",
         lambda c: load_boxes(c.tmp / "list.json")),
    Case(329, "`load_boxes(path)`", "2 lists of boxes in a file of n=3 samples", ValueError,
         r"boxes: expected one entry per sample \(3\), got 2",
         lambda c: load_boxes(c.tmp / "short.json")),
    Case(330, "`load_boxes(path)`", "a box outside the 64x64 image", ValueError,
         r"boxes\[0\]\[0\]: box \(60, 10, 70, 20\) lies outside the 64x64 image",
         lambda c: load_boxes(c.tmp / "outside.json")),
    Case(331, "`load_boxes(path, n=)`", "boxes drawn on n=3 samples, n=150 asked", ValueError,
         r"n: the boxes in .* were drawn on samples with n=3, but n=150 was asked for",
         lambda c: load_boxes(c.tmp / "good.json", n=150)),
    Case(332, "`latentlab annotate`", "--out boxes.txt", ValueError, r"--out: expected a file name ending in .json",
         ["annotate", "{tmp}/tiny.safetensors", "--n", "3", "--out", "{tmp}/boxes.txt"], cli=True),
    Case(333, "`latentlab annotate`", "--boxes of a file drawn on n=3 samples, --n 5", ValueError,
         r"n: the boxes in .* were drawn on samples with n=3, but n=5 was asked for",
         ["annotate", "{tmp}/tiny.safetensors", "--n", "5", "--boxes", "{tmp}/good.json", "--out", "{tmp}/b.json"],
         cli=True),
    Case(340, "`convert(netG, key=)`", "an entry the checkpoint does not have", ValueError,
         r"key: the checkpoint of netG has no entry 'G'; its state dicts are \['netG', 'netG_ema'\]",
         lambda c: convert(c.tmp / "ckpt.pth", key="G")),
    Case(341, "`convert(netG, key=)`", "an entry that is not a state dict ('epoch')", ValueError,
         r"netG: the entry 'epoch' \(.*\) is not a state dict \(a dict of name -> tensor\) but a value of type int",
         lambda c: convert(c.tmp / "ckpt.pth", key="epoch")),
    Case(342, "`latentlab convert`", "ambiguous checkpoint keys, no --key", ValueError,
         r"netG: cannot tell which entry .*; pick one with key= \(--key on the command line\)",
         ["convert", "{tmp}/ckpt.pth", "--out", "{tmp}/ckpt.safetensors"], cli=True),
    Case(343, "`convert(netG, source='cdcgan')`", "a one-hot cDCGAN without num_classes or nz", ValueError,
         r"num_classes: the cdcgan generator's first layer takes 13 inputs, nz \+ the number of classes",
         lambda c: convert(c.tmp / "cgan.pth", source="cdcgan")),
    Case(344, "`convert(netG, netD, source='cdcgan')`", "a discriminator for the generator-only cdcgan layout",
         ValueError, r"netD: the 'cdcgan' layout converts the generator only",
         lambda c: convert(c.tmp / "cgan.pth", c.tmp / "netD.pth", source="cdcgan", num_classes=5)),
    Case(345, "`convert(netG, num_classes=)`", "num_classes for an unconditional layout", ValueError,
         r"num_classes: the 'pytorch-examples' layout is not class-conditional",
         lambda c: convert(c.tmp / "netG.pth", num_classes=5)),
    Case(346, "`convert(netG, ...)`", "a generator whose last convolution has a bias", ValueError,
         r"netG: the last layer 'main.12' has a bias \(main.12.bias\); latentlab's DCGAN has none there",
         lambda c: convert(c.tmp / "bias.pth")),
    Case(347, "`convert(netG, ...)`", "a generator with 3 convolutions (16 px)", ValueError,
         r"netG: found 3 convolutions, expected 4 for 32 px, 5 for 64 px, 6 for 128 px",
         lambda c: convert(c.tmp / "g16.pth")),
]


def _cgan_state() -> dict:
    """A one-hot cDCGAN generator's state dict (nz 8 + 5 classes -> 64 px), saved as its Sequential 'main'."""
    g, _ = pytorch_examples_dcgan(13, 8, 8, 3)
    return g.state_dict()


def build_context(tmp: Path) -> SimpleNamespace:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, D = pytorch_examples_dcgan(8, 8, 8, 3)
        tiny = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64))
    torch.save(G.state_dict(), tmp / "netG.pth")
    torch.save(D.state_dict(), tmp / "netD.pth")
    torch.save(G.main, tmp / "module.pth")
    torch.save({"netG": G.state_dict(), "netG_ema": G.state_dict(), "epoch": 3}, tmp / "ckpt.pth")
    torch.save(_cgan_state(), tmp / "cgan.pth")
    torch.save({**G.state_dict(), "main.12.bias": torch.full((3,), 0.1)}, tmp / "bias.pth")
    torch.save({k: v for k, v in G.state_dict().items() if not k.startswith(("main.0.", "main.1.", "main.3.", "main.4."))},
               tmp / "g16.pth")
    (tmp / "junk.pth").write_bytes(b"this is not a checkpoint")
    (tmp / "exists.safetensors").write_bytes(b"")
    save(tiny, tmp / "tiny.safetensors")
    model = str(tmp / "tiny.safetensors")
    head = {"format": "latentlab-boxes", "version": 1, "model": model, "seed": 0, "image_size": 64}
    (tmp / "list.json").write_text(json.dumps([[[0, 0, 4, 4]], [], []]))
    (tmp / "short.json").write_text(json.dumps({**head, "n": 3, "boxes": [[], []]}))
    (tmp / "outside.json").write_text(json.dumps({**head, "n": 1, "boxes": [[[60, 10, 70, 20]]]}))
    save_boxes(tmp / "good.json", [[(1, 1, 5, 5)], [], []], model=model, seed=0, image_size=64)
    return SimpleNamespace(tmp=tmp)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return build_context(tmp_path_factory.mktemp("bad_inputs_byog"))


@pytest.mark.parametrize("case", CASES, ids=[str(c.number) for c in CASES])
def test_bad_input(case, ctx, capsys, monkeypatch):
    check_bad_input(case, ctx, capsys, monkeypatch, FIRST, LAST)


def test_rows_match_the_cases():
    check_rows_match(CASES, FIRST, LAST)


if __name__ == "__main__":  # print the rows from the live messages
    print_rows(CASES, build_context)
    sys.exit(0)
