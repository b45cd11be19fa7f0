"""`latentlab train`: progress lines when stderr is not a terminal (issue 24 item 5), --quick, --device."""
from __future__ import annotations

import json

import pytest

from latentlab import cli

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ["--data", "rooms", "--n", "8", "--image-size", "32", "--nz", "8", "--ngf", "4", "--ndf", "4",
        "--batch-size", "4", "--grid-size", "4", "--threads", "1"]


def test_progress_lines_with_stderr_piped(tmp_path, capsys):
    """Under pytest's capture stderr is not a terminal, as under nohup or in CI: before the fix nothing was printed
    between the start line and `done`."""
    code = cli.main(["train", *TINY, "--out", str(tmp_path / "r"), "--steps", "6", "--progress-every", "3"])
    assert code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["3/6", "6/6"], err
    for line in lines:
        assert "loss_d " in line and "loss_g " in line and " s/step" in line and "ETA " in line
    assert "\r" not in err  # no tqdm bar written into a log file


def test_no_progress_is_silent(tmp_path, capsys):
    assert cli.main(["train", *TINY, "--out", str(tmp_path / "r"), "--steps", "2", "--no-progress"]) == 0
    assert not [line for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]


def test_quick_preset_and_explicit_flags_win(tmp_path, capsys, monkeypatch):
    seen = {}

    class Stop(Exception):
        pass

    def fake_fit(self):  # record the configuration the command built, do not train 1500 steps
        seen.update(model=self.mc, train=self.tc, device=self.device)
        raise Stop

    monkeypatch.setattr("latentlab.train.Trainer.fit", fake_fit)
    with pytest.raises(Stop):
        cli.main(["train", "--data", "rooms", "--n", "8", "--out", str(tmp_path / "q"), "--quick", "--device", "cpu"])
    assert (seen["model"].image_size, seen["model"].ngf, seen["model"].ndf) == (32, 32, 32)
    assert (seen["train"].batch_size, seen["train"].steps) == tuple(cli.QUICK_PRESET[k] for k in ("batch_size", "steps"))
    assert str(seen["device"]) == "cpu"
    with pytest.raises(Stop):
        cli.main(["train", "--data", "rooms", "--n", "8", "--out", str(tmp_path / "q2"), "--quick", "--steps", "7",
                  "--ngf", "16"])
    assert (seen["train"].steps, seen["model"].ngf, seen["model"].ndf) == (7, 16, 32)


def test_help_says_how_long_training_takes(capsys):
    assert cli.main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "How long: the defaults" in out and "--quick" in out and "s/step" in out
    assert "--device" in out


def test_run_json_records_the_device(tmp_path, capsys):
    assert cli.main(["train", *TINY, "--out", str(tmp_path / "r"), "--steps", "1", "--no-progress",
                     "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "r" / "run.json").read_text())["runtime"]["device"] == "cpu"
    assert "on cpu ->" in capsys.readouterr().err


def test_progress_lines_in_a_subprocess_with_stderr_piped(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "latentlab.cli", "train", *TINY, "--out", str(tmp_path / "r"),
                           "--steps", "4", "--progress-every", "2"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["2/4", "4/4"], proc.stderr
