"""The `latentlab` command line: train/sample end to end on a tiny folder, exit codes, bad input, signals."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab import cli, load


pytestmark = pytest.mark.usefixtures("one_thread")


TINY = ["--image-size", "32", "--nz", "8", "--ngf", "4", "--ndf", "4", "--batch-size", "4", "--grid-size", "4",
        "--threads", "1", "--no-progress"]


@pytest.fixture
def folder(tmp_path):
    """Two class sub-folders of 4 PNGs each, plus one unreadable file."""
    root = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for c in ("day", "night"):
        (root / c).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    (root / "day" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_and_sample_end_to_end(tmp_path, folder, capsys):
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="corrupt.png"):
        code, stdout, err = run(["train", "--data", folder, "--arch", "acgan", "--out", out, "--steps", "3",
                                 "--checkpoint-every", "2", *TINY], capsys)
    assert code == 0, err
    assert "skipped 1 unreadable image(s)" in err and "corrupt.png" in err  # named, and training went on
    assert "Traceback" not in err
    gan = load(out / "model.safetensors")
    assert gan.step == 3 and gan.config.arch == "acgan" and gan.config.class_names == ("day", "night")
    assert gan.config.dataset == "imgs" and gan.config.nz == 8
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000002.safetensors",
                                                                      "step-00000003.safetensors"]
    assert len((out / "log.jsonl").read_text().splitlines()) == 3

    grid = tmp_path / "grid.png"
    code, stdout, err = run(["sample", "--model", out / "model.safetensors", "--n", "6", "--seed", "1",
                             "--out", grid, "--class", "night"], capsys)
    assert code == 0, err
    im = Image.open(grid)
    assert im.size == (2 + 3 * 34, 2 + 2 * 34)  # 6 images of 32 px, ceil(sqrt(6)) = 3 per row, padding 2
    first = grid.read_bytes()
    assert run(["sample", "--model", out / "model.safetensors", "--n", "6", "--seed", "1", "--out", grid,
                "--class", "1"], capsys)[0] == 0
    assert grid.read_bytes() == first  # deterministic, and the class name maps to its index

    # --resume takes the model options from run.json; more steps continue the same run
    with pytest.warns(UserWarning):
        code, _, err = run(["train", "--data", folder, "--out", out, "--resume", "--steps", "4",
                            "--threads", "1", "--no-progress"], capsys)
    assert code == 0, err
    assert "resuming from" in err and load(out / "model.safetensors").step == 4


def test_train_dcgan_on_a_flat_folder(tmp_path, capsys):
    root = tmp_path / "flat"
    root.mkdir()
    for i in range(3):
        Image.fromarray(np.full((32, 32), 40 * i, dtype=np.uint8)).save(root / f"{i}.png")  # greyscale files
    code, _, err = run(["train", "--data", root, "--arch", "gan", "--hidden", "16", "--out", tmp_path / "r",
                        "--steps", "2", "--channels", "1", *TINY], capsys)
    assert code == 0, err
    assert load(tmp_path / "r" / "model.safetensors").config.channels == 1
    code, _, err = run(["train", "--data", root, "--arch", "acgan", "--out", tmp_path / "r2", *TINY], capsys)
    assert code == 2 and "error: --arch acgan" in err and "no image classes" in err


@pytest.mark.parametrize("args,match", [
    (["train", "--data", "{empty}", "--out", "{tmp}/r"], r"error: --data '.*empty': root: no readable images"),
    (["train", "--data", "{tmp}/nothere", "--out", "{tmp}/r"], r"error: --data: '.*nothere' is neither a built-in"),
    (["train", "--data", "rooms", "--arch", "stylegan", "--out", "{tmp}/r"], r"argument --arch: invalid choice"),
    (["train", "--data", "rooms", "--image-size", "48", "--out", "{tmp}/r"], r"argument --image-size: invalid choice"),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--steps", "0"], r"argument --steps: expected a positive"),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--lr", "nan"], r"argument --lr: expected a positive finite"),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--batch-size", "x"], r"argument --batch-size: expected a pos"),
    (["train", "--out", "{tmp}/r"], r"the following arguments are required: --data"),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--fast", "maybe"], r"argument --fast: invalid choice"),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--r1-gamma", "-1"], r"error: --r1-gamma: expected a finite"),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--g-class-weight", "-1"],
     r"error: --g-class-weight: expected a finite"),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--label-smoothing", "0.7"], r"error: --label-smoothing: "),
    (["train", "--data", "rooms", "--out", "{tmp}/r", "--ema-decay", "1"], r"error: --ema-decay: expected a float in"),
    (["train", "--data", "rooms", "--n", "8", "--out", "{tmp}/r", "--init", "{tmp}/none.safetensors"],
     r"error: --init: '.*none\.safetensors' is not a file"),
    (["train", "--data", "rooms", "--n", "8", "--out", "{tmp}/r", "--init", "{tmp}/m.safetensors"],
     r"error: --init: '.*m\.safetensors' has another architecture"),
    (["sample", "--model", "{tmp}/none.safetensors"], r"error: --model: no such file '.*none\.safetensors'"),
    (["sample", "--model", "{tmp}/junk.safetensors"], r"error: --model: '.*junk\.safetensors' is not a latentlab GAN checkpoint"),
    (["sample", "--model", "no-such-model"], r"error: --model: 'no-such-model' is neither a shipped model"),
    (["sample", "--model", "{tmp}/m.safetensors", "--n", "-3"], r"argument --n: expected a positive integer"),
    (["sample", "--model", "{tmp}/m.safetensors", "--class", "1"], r"error: --class: .* only AC-GAN"),
    (["sample", "--model", "{tmp}/m.safetensors", "--out", "{empty}"], r"error: --out: '.*empty' is a directory"),
    (["frobnicate"], r"argument COMMAND: invalid choice: 'frobnicate'"),
])
def test_bad_input_exits_2_without_traceback(tmp_path, capsys, args, match):
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.safetensors").write_bytes(os.urandom(100))
    from latentlab import GAN, ModelConfig, save
    save(GAN(ModelConfig(nz=8, ngf=4, ndf=4, image_size=32)), tmp_path / "m.safetensors")
    args = [a.format(tmp=tmp_path, empty=tmp_path / "empty") for a in args]
    code, _, err = run(args, capsys)
    assert code == 2
    assert "Traceback" not in err
    assert re.search(match, err), err


def test_train_with_ema_from_a_model_file(tmp_path, capsys):
    root = tmp_path / "flat"
    root.mkdir()
    for i in range(3):
        Image.fromarray(np.full((32, 32, 3), 40 * i, dtype=np.uint8)).save(root / f"{i}.png")
    code, _, err = run(["train", "--data", root, "--out", tmp_path / "a", "--steps", "2", *TINY], capsys)
    assert code == 0, err
    code, _, err = run(["train", "--data", root, "--out", tmp_path / "b", "--steps", "2", "--ema-decay", "0.9",
                        "--init", tmp_path / "a" / "model.safetensors", *TINY], capsys)
    assert code == 0, err
    m = load(tmp_path / "b" / "model.safetensors")
    assert m.info["generator"] == "ema 0.9" and m.info["train"]["ema_decay"] == 0.9


def test_run_exists_and_acgan_class_out_of_range(tmp_path, folder, capsys):
    out = tmp_path / "run"
    with pytest.warns(UserWarning):
        assert run(["train", "--data", folder, "--arch", "acgan", "--out", out, "--steps", "1", *TINY], capsys)[0] == 0
    before = (out / "checkpoints" / "step-00000001.safetensors").read_bytes()
    code, _, err = run(["train", "--data", folder, "--out", out, "--steps", "2", *TINY], capsys)
    assert code == 2 and re.search(r"error: --out: '.*run' already holds a run .* --resume", err)
    assert (out / "checkpoints" / "step-00000001.safetensors").read_bytes() == before
    code, _, err = run(["sample", "--model", out / "model.safetensors", "--class", "2", "--out", tmp_path / "g.png"],
                       capsys)
    assert code == 2 and "error: --class: expected 0..1 for this 2-class model, got 2" in err
    code, _, err = run(["sample", "--model", out / "model.safetensors", "--class", "dusk", "--out", tmp_path / "g.png"],
                       capsys)
    assert code == 2 and "'dusk' is neither an index 0..1 nor a class name ['day', 'night']" in err
    with pytest.warns(UserWarning):
        code, _, err = run(["train", "--data", folder, "--out", out, "--resume", "--ngf", "8", "--threads", "1"],
                           capsys)
    assert code == 2 and "error: resume: the model config" in err and "'ngf': (4, 8)" in err



def test_help_texts(capsys):
    for args in (["--help"], ["train", "--help"], ["sample", "--help"]):
        code, out, _ = run(args, capsys)
        assert code == 0 and "usage: latentlab" in out
    code, out, _ = run(["train", "--help"], capsys)
    assert "--checkpoint-every" in out and "--resume" in out and "bfloat16" in out
    code, out, _ = run(["--help"], capsys)
    for name in ("train", "sample", *cli.EXTERNAL_COMMANDS):
        assert name in out
    code, _, err = run([], capsys)
    assert code == 2 and "usage: latentlab" in err


def test_parser_does_not_import_analysis_commands(monkeypatch):
    def fail(name):
        raise AssertionError(f"{name} was imported to build the train parser")

    monkeypatch.setattr(cli, "_load_external", fail)
    parser = cli.build_parser("train")
    assert parser.parse_args(["train", "--data", "x", "--out", "y"]).func is cli.run_train


def test_missing_analysis_module_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(cli.EXTERNAL_COMMANDS, "walk", ("latentlab.no_such_package.cli", "latent walks"))
    code, _, err = run(["walk", "rooms"], capsys)
    assert code == 2 and "error: the 'walk' command is not available: latentlab.no_such_package.cli" in err
    code, out, err = run(["walk", "--help"], capsys)
    assert code == 0 or "not available" in err


def test_analysis_command_is_dispatched(monkeypatch, capsys, tmp_path):
    mod = tmp_path / "fake_latentlab_cmd.py"
    mod.write_text("def add_arguments(p):\n    p.add_argument('model')\n    p.add_argument('--k', type=int, default=1)\n"
                   "def run(args):\n    print('ran', args.model, args.k)\n    return 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.EXTERNAL_COMMANDS, "evaluate", ("fake_latentlab_cmd", "metrics"))
    code, out, _ = run(["evaluate", "rooms", "--k", "3"], capsys)
    assert code == 0 and "ran rooms 3" in out
    code, _, err = run(["evaluate"], capsys)
    assert code == 2 and "the following arguments are required: model" in err


def _wait_for_steps(log: Path, n: int, proc, timeout=400):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"training exited early: {proc.communicate()}")
        if log.exists() and len(log.read_text().splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("training made no progress")


def test_sigterm_and_sigint_save_a_checkpoint(tmp_path, folder):
    """A real subprocess (`python -m latentlab.cli`): SIGTERM, then --resume and SIGINT, each exit 130 + checkpoint."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "latentlab.cli", "train", "--data", str(folder), "--out", str(out),
           "--steps", "100000", "--checkpoint-every", "100000", *TINY]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    steps = []
    for sig, extra in ((signal.SIGTERM, []), (signal.SIGINT, ["--resume"])):
        proc = subprocess.Popen(cmd + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        _wait_for_steps(out / "log.jsonl", (steps[-1] if steps else 0) + 2, proc)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130, stderr
        assert "checkpoint saved" in stderr and "Traceback" not in stderr
        last = json.loads((out / "log.jsonl").read_text().splitlines()[-1])["step"]
        ck = out / "checkpoints" / f"step-{last:08d}.safetensors"
        assert ck.exists(), sorted(os.listdir(out / "checkpoints"))
        assert load(ck).step == last
        steps.append(last)
    assert steps[1] > steps[0]
