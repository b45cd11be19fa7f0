"""`latentlab sample` as a newcomer uses it (issue 24, items 1, 3, 4) and the command line's start-up (item 9).

Also the bad-input rows 350-379 of docs/BAD_INPUTS.md (the table of the `sample`, `walk` and `evaluate`
commands): each row is run here and its message checked against the catalogue's text.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab import GAN, ModelConfig, cli, load, save
import _bad_input_table
from _scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("one_thread")


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def tiny_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save(GAN(ModelConfig(nz=8, ngf=4, ndf=4, image_size=32)), path)
    return path


@pytest.fixture
def tiny_acgan_file(tmp_path):
    """A 3-class AC-GAN file without class names (as the shipped fashion model was)."""
    path = tmp_path / "ac.safetensors"
    save(GAN(ModelConfig(arch="acgan", nz=8, ngf=4, ndf=4, image_size=32, channels=1, num_classes=3)), path)
    return path


# -------------------------------------------------------------------------- item 1: class names

def test_shipped_fashion_model_carries_the_ten_class_names():
    from latentlab.data.fashion import FASHION_CLASSES
    from latentlab.pretrained import load_pretrained

    gan = load_pretrained("fashion")
    assert gan.config.class_names == FASHION_CLASSES
    assert gan.config.class_names[7] == "Sneaker"


def test_sample_fashion_by_class_name_equals_by_index(tmp_path, capsys):
    by_name, by_index, folded = tmp_path / "name.png", tmp_path / "index.png", tmp_path / "folded.png"
    code, out, err = run(["sample", "--model", "fashion", "--class", "Sneaker", "--n", "4", "--out", by_name], capsys)
    assert code == 0, err
    assert "class Sneaker" in out
    assert run(["sample", "--model", "fashion", "--class", "7", "--n", "4", "--out", by_index], capsys)[0] == 0
    assert run(["sample", "--model", "fashion", "--class", "ankle BOOT", "--n", "4", "--out", folded], capsys)[0] == 0
    a, b = np.asarray(Image.open(by_name)), np.asarray(Image.open(by_index))
    assert a.shape == b.shape and np.array_equal(a, b)
    assert not np.array_equal(np.asarray(Image.open(folded)), a)  # class 9, not 7


def test_add_class_names_script_keeps_the_weights_bit_identical(tmp_path, tiny_acgan_file):
    script = load_script("scripts/add_class_names.py")
    before = script.tensors_digest(tiny_acgan_file)
    out = tmp_path / "named.safetensors"
    digest, changed = script.add_class_names(tiny_acgan_file, out, ("a", "b", "c"))
    assert changed and digest == before == script.tensors_digest(out)
    assert load(out).config.class_names == ("a", "b", "c")
    assert load(tiny_acgan_file).config.class_names == ()  # the source is untouched when --out is given
    src_meta, out_meta = script.read(tiny_acgan_file)[1], script.read(out)[1]
    assert {k: v for k, v in src_meta.items() if k != "config"} == {k: v for k, v in out_meta.items() if k != "config"}
    assert script.add_class_names(out, out, ("a", "b", "c")) == (digest, False)  # idempotent
    with pytest.raises(SystemExit, match="has 3 classes, expected 2"):
        script.add_class_names(tiny_acgan_file, out, ("a", "b"))


def test_add_class_names_check_passes_on_the_shipped_file():
    script = load_script("scripts/add_class_names.py")
    assert script.main(["--check"]) == 0


# -------------------------------------------------------------------------- item 3: --out creates its folder

def test_sample_out_creates_missing_folders(tmp_path, tiny_file, capsys):
    out = tmp_path / "out" / "deeper" / "x.png"
    code, stdout, err = run(["sample", "--model", tiny_file, "--n", "4", "--out", out], capsys)
    assert code == 0, err
    assert Image.open(out).size == (2 * 32 + 3 * 2, 2 * 32 + 3 * 2)  # 2x2 grid, padding 2
    assert str(out) in stdout


# -------------------------------------------------------------------------- item 4: a run folder as --model

def test_sample_from_a_run_folder_uses_its_model_file(tmp_path, tiny_file, capsys):
    run_dir = tmp_path / "runs" / "shapes"
    run_dir.mkdir(parents=True)
    (run_dir / "model.safetensors").write_bytes(tiny_file.read_bytes())
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    code, _, err = run(["sample", "--model", run_dir, "--n", "4", "--seed", "3", "--out", a], capsys)
    assert code == 0, err
    assert run(["sample", "--model", run_dir / "model.safetensors", "--n", "4", "--seed", "3", "--out", b],
               capsys)[0] == 0
    assert a.read_bytes() == b.read_bytes()


def test_sample_from_an_unfinished_run_folder_names_the_checkpoint(tmp_path, tiny_file, capsys):
    run_dir = tmp_path / "runs" / "shapes"
    (run_dir / "checkpoints").mkdir(parents=True)
    for step in (100, 200):
        (run_dir / "checkpoints" / f"step-{step:08d}.safetensors").write_bytes(tiny_file.read_bytes())
    code, _, err = run(["sample", "--model", run_dir, "--out", tmp_path / "g.png"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "is a run folder without model.safetensors" in err
    assert "step-00000200.safetensors" in err  # the newest checkpoint is suggested


# -------------------------------------------------------------------------- bad inputs 350-379

def _catalogue_rows() -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows 350-379 (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(350, 379)


def _bad_input_args(tmp: Path, tiny_file: Path, tiny_acgan_file: Path) -> dict[int, list]:
    (tmp / "empty-run").mkdir()
    (tmp / "unfinished" / "checkpoints").mkdir(parents=True)
    (tmp / "unfinished" / "checkpoints" / "step-00000100.safetensors").write_bytes(tiny_file.read_bytes())
    (tmp / "a-dir").mkdir()
    (tmp / "a-file").write_text("not a folder")
    named = tmp / "named.safetensors"
    save(GAN(ModelConfig(arch="acgan", nz=8, ngf=4, ndf=4, image_size=32, channels=1, num_classes=3,
                         class_names=("Shirt", "Sneaker", "Bag"))), named)
    return {
        350: ["sample", "--model", tmp / "unfinished"],
        351: ["sample", "--model", tmp / "empty-run"],
        352: ["sample", "--model", tiny_file, "--out", tmp / "a-dir"],
        353: ["sample", "--model", tiny_file, "--out", tmp / "a-file" / "g.png"],
        354: ["sample", "--model", tiny_acgan_file, "--class", "Sneaker", "--out", tmp / "g.png"],
        355: ["walk", tiny_file, "--class", "1", "--out", tmp / "w"],
        356: ["walk", named, "--class-walk", "Shirt", "Hat", "--out", tmp / "w"],
        357: ["evaluate", tiny_file, "--json", tmp / "a-file" / "m.json"],
        358: ["evaluate", tiny_file, "--json", tmp / "a-dir"],
        359: ["sample", "--model", tiny_file, "--device", "tpu", "--out", tmp / "g.png"],
    }


def test_bad_input_rows_350_379(tmp_path, tiny_file, tiny_acgan_file, capsys):
    rows = _catalogue_rows()
    cases = _bad_input_args(tmp_path, tiny_file, tiny_acgan_file)
    assert sorted(rows) == sorted(cases), "docs/BAD_INPUTS.md rows 350-379 and the cases here must match"
    for number, args in cases.items():
        _, where, bad, exc, message = rows[number]
        assert where == f"`latentlab {args[0]}`" and exc == "exit 2", rows[number]
        code, _, err = run(args, capsys)
        assert code == 2 and "Traceback" not in err, (number, err)
        quoted = _bad_input_table.message(number)  # the message without its code span
        for piece in quoted.split("…"):
            assert piece in err, (number, piece, err)


# -------------------------------------------------------------------------- item 9: start-up

@pytest.mark.parametrize("args", [["--help"], ["sample", "--n", "4"], ["train", "--data", "rooms", "--bogus"],
                                  ["frobnicate"]])
def test_help_and_usage_errors_do_not_import_torch(args):
    """`latentlab --help` and usage errors answer before torch is imported (torch alone takes ~3 s to import;
    `python benchmarks/bench_startup.py` measures the time)."""
    code = ("import sys; from latentlab.cli import main; rc = main(%r); "
            "print(__import__('json').dumps({'rc': rc, 'torch': 'torch' in sys.modules}))" % (args,))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == (0 if args == ["--help"] else 2), proc.stderr
    assert result["torch"] is False
