"""What a new user stumbled on in the first hour (issue 34): error paths, the bring-your-own-GAN gaps, the report's
header and layout, and the judges' domain warning. Tiny models only."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import latentlab
from latentlab import GAN, CheckpointError, ModelConfig, cli, save
from latentlab.dissect import ablate, ablate_layers
from latentlab.dissect.ablate import declared_channels
from latentlab.hooks import count_hooks
from latentlab.judges import JudgeDomainWarning, check_domain

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(path: Path, dataset: str = "", size: int = 64) -> Path:
    torch.manual_seed(0)
    save(GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=size, dataset=dataset)).eval(), path)
    return path


# ------------------------------------------------------------------------------------------ ablate on entry

def test_ablate_checks_maps_when_the_with_block_is_entered(tiny_rooms_gan):
    G = tiny_rooms_gan.generator                     # block2: 32 maps
    entered = []
    with pytest.raises(ValueError, match=r"maps: indices \[300\] out of range; the layer has 32 maps"):
        with ablate(G, "block2", maps=[300]):
            entered.append(True)                     # never reached: no forward pass needed to refuse it
    assert entered == [] and count_hooks(G) == 0
    with pytest.raises(ValueError, match=r"drops\['block1'\]: indices \[64\] out of range; the layer has 64"):
        with ablate_layers(G, {"block2": [0], "block1": [64]}):
            entered.append(True)
    assert entered == [] and count_hooks(G) == 0
    with ablate(G, "block2", maps=[31]):             # the last map is fine
        G(torch.zeros(1, 8))
    assert count_hooks(G) == 0


def test_declared_channels_of_foreign_layers(foreign_generator):
    G = foreign_generator                            # main: ConvT(8, 16) BN ReLU ConvT(16, 8) BN ReLU ConvT(8, 3) Tanh
    assert [declared_channels(G.main[i]) for i in range(8)] == [16, 16, None, 8, 8, None, 3, None]
    assert declared_channels(G.main) == 3            # the last conv, followed only by Tanh
    assert declared_channels(torch.nn.Sequential(torch.nn.Conv2d(3, 5, 1), torch.nn.Flatten())) is None
    with pytest.raises(ValueError, match=r"indices \[16\] out of range; the layer has 16 maps"):
        with ablate(G, "main.1", maps=[16]):
            pass
    # a ReLU does not say how many maps it has: signs are checked on entry, the range at the forward pass
    with pytest.raises(ValueError, match=r"maps: indices \[-1\] out of range; indices are >= 0"):
        with ablate(G, "main.2", maps=[-1]):
            pass
    with pytest.raises(ValueError, match=r"maps: indices \[99\] out of range; the layer has 16 maps"):
        with ablate(G, "main.2", maps=[99]):
            G(torch.zeros(1, 8))
    assert count_hooks(G) == 0


# ------------------------------------------------------------------------------------------ files and folders

def test_an_image_passed_as_a_model_is_named_as_one(tmp_path, capsys):
    png = tmp_path / "grid.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png)
    with pytest.raises(CheckpointError, match=r"grid\.png' is an image \(PNG\), not a model file"):
        latentlab.load(png)
    jpg = tmp_path / "photo.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(jpg)
    with pytest.raises(CheckpointError, match=r"is an image \(JPEG\), not a model file"):
        latentlab.load(jpg)
    assert cli.main(["sample", "--model", str(png), "--n", "2", "--out", str(tmp_path / "s.png")]) == 2
    assert "is an image (PNG), not a model file" in capsys.readouterr().err


def test_forget_with_a_misspelt_layer_leaves_no_folder(tmp_path, capsys):
    model = _tiny(tmp_path / "m.safetensors", "rooms")
    out = tmp_path / "never"
    assert cli.main(["forget", str(model), "--layer", "blok2", "--n-probe", "4", "--n-eval", "2", "--out",
                     str(out)]) == 2
    assert "layer: unknown layer name 'blok2'" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------------------------------ bring your own GAN

def test_filter_report_is_importable_from_the_package():
    from latentlab.attribution import filter_report
    assert latentlab.filter_report is filter_report and "filter_report" in dir(latentlab)


def test_report_data_option_and_header_of_a_file_without_a_dataset(tmp_path, capsys):
    """A converted file records no dataset: the header says so (not "dataset ''"), and --data gives the domain."""
    model = _tiny(tmp_path / "conv.safetensors", "", size=32)
    page = tmp_path / "a" / "index.html"
    assert cli.main(["report", str(model), "--out", str(page.parent), "--quick", "--no-progress",
                     "--sections", "samples"]) == 0
    text = page.read_text()
    assert "dataset &#x27;&#x27;" not in text and "dataset ''" not in text
    assert "dataset not recorded in the file, data domain &#x27;not given&#x27;" in text
    page = tmp_path / "b" / "index.html"
    assert cli.main(["report", str(model), "--out", str(page.parent), "--quick", "--no-progress",
                     "--sections", "samples", "--data", "faces"]) == 0
    assert "data domain &#x27;faces&#x27;" in page.read_text()
    capsys.readouterr()
    # argparse: the data domains with a judge and real data
    assert cli.main(["report", str(model), "--out", str(tmp_path / "c"), "--data", "lsun"]) == 2
    assert "invalid choice: 'lsun'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ the judges' domain

def test_check_domain_warns_outside_the_judges_world():
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # in the domain: no warning at all
        assert check_domain("rooms", "rooms") is None
        assert check_domain("fashion", "fashion-mnist") is None and check_domain("faces", "Faces") is None
    with pytest.warns(JudgeDomainWarning, match=r"rooms judge is outside its domain: it was trained on latentlab's "
                                                r"procedural rooms \(drawn by code, not LSUN bedrooms\), and the "
                                                r"model does not record its dataset"):
        check_domain("rooms", "")
    with pytest.warns(JudgeDomainWarning, match=r"faces judge .* not CelebA\), and the model was trained on 'celeba'"):
        check_domain("faces", "celeba")
    with pytest.raises(ValueError, match=r"judge: unknown judge 'lsun'"):
        check_domain("lsun", "rooms")


def test_forget_cli_warns_for_a_model_without_the_rooms_dataset(tmp_path, capsys):
    model = _tiny(tmp_path / "conv.safetensors", "")
    with pytest.warns(JudgeDomainWarning, match="rooms judge is outside its domain"):
        cli.main(["forget", str(model), "--layer", "blok2", "--out", str(tmp_path / "f")])
    capsys.readouterr()


# ------------------------------------------------------------------------------------------ report layout

def test_metrics_table_is_as_tall_as_its_text():
    from latentlab.viz.tables import TABLE_FONT, table_figure
    short = table_figure(["a", "b"], [("x", "1")] * 4)
    long = table_figure(["a", "b"], [("x", "1")] * 3 + [("x", "word " * 200)])
    t = short.data[0]
    assert t.cells.font.size == TABLE_FONT >= 14 and t.header.font.size > TABLE_FONT
    # four one-line rows: header + 4 rows + margins, no blank band (the old layout gave 60 + 32 px per row)
    row = t.cells.height
    assert short.layout.height <= t.header.height + 4 * row + 30
    assert long.layout.height > short.layout.height + 4 * row     # a wrapped cell makes its row taller
    with pytest.raises(ValueError, match=r"rows: expected 2 cells per row"):
        table_figure(["a", "b"], [("x",)])


def test_probe_weight_axis_title_fits_the_chart():
    from latentlab.viz.forget_figures import probe_weights_figure
    fig = probe_weights_figure(np.linspace(-1, 1, 32))
    plot_px = fig.layout.height - 100                 # plotly's default top and bottom margins
    lines = fig.layout.yaxis.title.text.split("<br>")
    assert max(len(s) for s in lines) * 8 <= plot_px, lines   # ~8 px per character of a 14 px title


def test_untitled_image_grid_has_no_top_band():
    from latentlab.viz.latent_figures import axis_figure
    plain = axis_figure(torch.zeros(2, 3, 3, 8, 8), None, title="", scale=1)
    assert plain.layout.margin.t <= 20 and plain.layout.height <= 2 * 10 + 2 + 60
    ticks = axis_figure(torch.zeros(2, 3, 3, 8, 8), torch.tensor([-1.0, 0.0, 1.0]), scale=1)
    assert ticks.layout.margin.t >= 80              # the coefficient ticks and their title sit on top


# ------------------------------------------------------------------------------------------ the README's headline

def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_readme_headline_rows_say_the_results_figures_with_their_seed():
    """The README's forget rows quote docs/results.md: the seed-0 row what `examples/forget_windows.py` prints
    (its default seed), the mean row the 5-seed means, each labelled (issue 34: a row mixed the two)."""
    root = Path(__file__).resolve().parent.parent
    results = (root / "docs" / "results.md").read_text().splitlines()
    probe = _cells(next(ln for ln in results if ln.startswith("| the probe's positive maps at `block2`")))
    rand = _cells(next(ln for ln in results if ln.startswith("| as many random maps")))
    num = r"([+-]\d+\.\d%)"
    seg0, seg_mean = re.findall(num, probe[2])[:2]
    det0, det_mean = re.findall(num, probe[3])[:2]
    rseg0, rseg_mean = re.findall(num, rand[2])[:2]
    rdet0, rdet_mean = re.findall(num, rand[3])[:2]
    readme = (root / "README.md").read_text().splitlines()
    row0 = next(ln for ln in readme if ln.startswith("| dropping the maps a probe finds"))
    mean = readme[readme.index(row0) + 1]
    assert "(seed 0)" in _cells(row0)[1] and "examples/forget_windows.py" in _cells(row0)[1]
    assert (f"seed 0, as the command prints it: window pixels **{seg0}** by the room segmenter (window detector "
            f"{det0}); as many random maps: {rseg0} (detector {rdet0})") == _cells(row0)[3]
    assert (f"mean over seeds 0-4: **{seg_mean}** by the segmenter (detector {det_mean}); random maps {rseg_mean} "
            f"(detector {rdet_mean})") == _cells(mean)[3]
