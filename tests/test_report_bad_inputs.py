"""Bad inputs of ``build_report`` on a raw generator module (docs/BAD_INPUTS.md, rows 400-419, the section
"The report of a raw generator module or a DTN"): each case runs, raises the catalogued exception naming the
argument, writes nothing, and every piece of the catalogue's abbreviated message (split at "…") occurs in the real one.
``python tests/test_report_bad_inputs.py`` prints the rows from the live messages."""
from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from latentlab import GAN, ModelConfig, save
from latentlab.app.report import build_report
from latentlab.convert import pytorch_examples_dcgan
from latentlab.transfer import DTN, DTNConfig, Encoder, EncoderConfig
from _catalogue import uncell as _uncell

ROOT = Path(__file__).resolve().parent.parent
import _bad_input_table  # noqa: E402  (the rows; docs/BAD_INPUTS.md is generated from them)

CATALOGUE = Path(_bad_input_table.__file__)
FIRST, LAST = 400, 419
pytestmark = pytest.mark.usefixtures("one_thread")
RAW = dict(prior="normal", nz=8)

# (row, where, bad input, exception, regex, run(ctx, out))
CASES = [
    (400, "`build_report(netG, prior=)`", "a raw module without nz", ValueError,
     r"nz: required for a generator module that is not a latentlab model \(Generator\): pass nz=",
     lambda c, out: build_report(c.netG, out, prior="normal", quick=True)),
    (401, "`build_report(netG, nz=)`", "a raw module without prior", ValueError,
     r"prior: required for a generator that is not a latentlab model \(Generator\)",
     lambda c, out: build_report(c.netG, out, nz=8, quick=True)),
    (402, "`build_report(netG, nz=)`", "nz=16 for a generator of nz=8", ValueError,
     r"nz: the generator's first layer \(ConvTranspose2d\) takes 8 inputs, got nz=16",
     lambda c, out: build_report(c.netG, out, prior="normal", nz=16, quick=True)),
    (403, "`build_report(model)`", "an int", TypeError,
     r"model: expected a latentlab GAN, a shipped model name, a .safetensors path or a generator nn.Module",
     lambda c, out: build_report(42, out, quick=True)),
    (404, "`build_report(model)`", "a module that does not return images (N, C, H, W)", TypeError,
     r"model: Sequential is not an image generator \(generator: expected a module returning images \(N, C, H, W\)",
     lambda c, out: build_report(torch.nn.Sequential(torch.nn.Linear(8, 10)), out, **RAW, quick=True)),
    (405, "`build_report(model)`", "the discriminator given as the generator", ValueError,
     r"nz: the generator's first layer \(Conv2d\) takes 3 inputs, got nz=8",
     lambda c, out: build_report(c.netD, out, **RAW, quick=True)),
    (406, "`build_report(netG, discriminator=)`", "a path instead of the module", TypeError,
     r"discriminator: expected an nn.Module reading the generator's images, got str",
     lambda c, out: build_report(c.netG, out, **RAW, discriminator="netD.pth", quick=True)),
    (407, "`build_report(netG, discriminator=)`", "a module that cannot read 64 px images", ValueError,
     r"discriminator: Linear cannot read the generator's images of shape \(3, 64, 64\) \(RuntimeError",
     lambda c, out: build_report(c.netG, out, **RAW, discriminator=torch.nn.Linear(10, 1), quick=True)),
    (408, "`build_report(netG, data=)`", "'bedrooms'", ValueError,
     r"data: expected one of \('rooms', 'faces', 'fashion-mnist', 'fashion'\)",
     lambda c, out: build_report(c.netG, out, **RAW, data="bedrooms", quick=True)),
    (409, "`build_report(netG, layer=)`", "'main.99'", ValueError, r"layer: unknown layer name 'main.99'",
     lambda c, out: build_report(c.netG, out, **RAW, layer="main.99", quick=True)),
    (410, "`build_report(path, prior=)`", "prior= for a latentlab model file", ValueError,
     r"prior: only for a raw generator module; a latentlab model brings its own prior",
     lambda c, out: build_report(c.path, out, prior="uniform", quick=True)),
    (411, "`build_report(path, data=)`", "data='faces' for a rooms model", ValueError,
     r"data: the model was trained on 'rooms', got data='faces'",
     lambda c, out: build_report(c.path, out, data="faces", quick=True)),
    (412, "`build_report(netG, sections=)`", "['filters'] without a discriminator", ValueError,
     r"sections: 'filters' does not apply to this model \(dataset 'rooms': no discriminator: pass discriminator=",
     lambda c, out: build_report(c.netG, out, **RAW, data="rooms", sections=["filters"], quick=True)),
    (413, "`build_report(dtn, sections=)`", "['walk'] for a DTN", ValueError,
     r"sections: 'walk' does not apply to a Domain Transfer Network \(it maps images, it has no z\)",
     lambda c, out: build_report(c.dtn, out, sections=["walk"], quick=True)),
    (414, "`build_report(dtn, prior=)`", "prior= for a DTN", ValueError,
     r"prior: not used by the report of a Domain Transfer Network",
     lambda c, out: build_report(c.dtn, out, prior="normal", quick=True)),
    (415, "`build_report(dtn)`", "a DTN of 32 px RGB -> RGB (neither experiment)", ValueError,
     r"model: a DTN of 32 px, 3 -> 3 channels is neither the digits experiment",
     lambda c, out: build_report(c.other_dtn, out, quick=True)),
]
IDS = [str(c[0]) for c in CASES]


def build_context(tmp: Path) -> SimpleNamespace:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        netG, netD = pytorch_examples_dcgan(8, 8, 8, 3)
        gan = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms"))
        f = Encoder(EncoderConfig(widths=(4, 8, 8), feature_dim=8)).eval()
        dtn = DTN(DTNConfig(feature_dim=8, ngf=4, ndf=4), f).eval()                     # the digits shapes
        other = DTN(DTNConfig(feature_dim=8, ngf=4, ndf=4, target_channels=3), f).eval()
    save(gan, tmp / "tiny.safetensors")
    return SimpleNamespace(netG=netG.eval(), netD=netD.eval(), path=tmp / "tiny.safetensors", dtn=dtn,
                           other_dtn=other, tmp=tmp)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return build_context(tmp_path_factory.mktemp("report_bad_inputs"))


def read_rows() -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows 400-419 (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(400, 419)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input(case, ctx):
    number, where, bad, exc, match, run = case
    out = ctx.tmp / f"out-{number}"
    with pytest.raises(exc, match=match) as info:
        run(ctx, out)
    assert not out.exists()                          # checked before anything is computed or written
    row = read_rows().get(number)
    assert row is not None, f"row {number} is missing from {CATALOGUE.name}"
    assert row[1:4] == [where, bad, exc.__name__], row
    for piece in _uncell(row[4]).split("…"):
        assert piece.strip() in str(info.value).replace("\n", " "), (piece, str(info.value))


def test_rows_match_the_cases():
    assert sorted(read_rows()) == [c[0] for c in CASES]


if __name__ == "__main__":  # print the rows from the live messages
    import tempfile

    from test_bad_inputs import abbreviate
    with tempfile.TemporaryDirectory() as d:
        c = build_context(Path(d))
        for number, where, bad, exc, _, run in CASES:
            try:
                run(c, Path(d) / "out")
                msg = "(no error)"
            except Exception as e:  # noqa: BLE001
                msg = str(e).splitlines()[0]
            print(_bad_input_table.Row(number, where, bad, exc.__name__, abbreviate(msg, Path(d))).source())
    sys.exit(0)
