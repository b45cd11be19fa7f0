"""examples/real_dcgan.py: fetch the third-party DCGAN's wheel, read its provenance, convert its weights.tar.

No network: --smoke uses a tiny stand-in wheel with the real one's layout (examples/_stand_in_wheel.py), and the registry
failure is provoked with an index on a closed local port.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab import load

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
from _stand_in_wheel import LICENSE, checkpoint_bytes, fake_face_wheel  # noqa: E402
SCRIPT = ROOT / "examples" / "real_dcgan.py"
pytestmark = pytest.mark.usefixtures("one_thread")


def _env():
    # no user / site pip configuration (extra indexes): pip can only try the index given on the command line
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INPUT": "1"}


def test_smoke_converts_the_stand_in_wheel_and_keeps_its_licence(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--convert-only", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env=_env())
    assert r.returncode == 0, r.stderr[-2000:]
    assert "== arithmetic" not in r.stdout and not (tmp_path / "arithmetic").exists()
    assert "using the wheel already in the cache" in r.stdout and "fetching" not in r.stdout
    assert "licence: MIT License" in r.stdout and "netG: read the entry 'netG_state_dict'" in r.stdout
    summary = json.loads((tmp_path / "convert.json").read_text())
    assert summary["max_abs_diff"] == 0 and summary["source"]["license"] == "MIT License"
    assert LICENSE in (tmp_path / "face.LICENSE.txt").read_text()
    gan = load(tmp_path / "face.safetensors")
    assert gan.info["source_package"]["homepage"] == "https://example.invalid/stand-in"
    assert gan.info["source_files"]["netG"] == "weights.tar[netG_state_dict]"
    _, G = checkpoint_bytes()  # the stand-in's generator: the converted file draws its images
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(gan.generator(z), G(z[:, :, None, None]))


@pytest.mark.shipped  # about a minute of CPU (arithmetic, turn, forget sweep, report): .ci/run's second stage
def test_smoke_analyses_write_every_figure_from_the_labels(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(tmp_path)], capture_output=True,
                       text=True, timeout=900, env=_env())
    assert r.returncode == 0, r.stderr[-2000:]
    for f in ("arithmetic/grid.png", "arithmetic/arithmetic.json", "turn/turn.png", "forget/metrics.json",
              "forget/forget_glasses.png", "report/index.html"):
        assert (tmp_path / f).is_file(), f
    with np.load(tmp_path / "forget" / "images.npz") as z:
        assert z["before"].shape == z["after"].shape == z["after_random"].shape == (36, 64, 64, 3)
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "Forget glasses from boxes" in page and r.stdout.count("== ") == 4


def test_an_unreachable_registry_stops_with_a_clear_message(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "o"),
                        "--index-url", "http://127.0.0.1:9/simple"], capture_output=True, text=True, timeout=300,
                       env=_env())
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "error: could not download gan-face-generate==1.1.1 from the package registry" in r.stderr
    assert "Is the registry reachable" in r.stderr and "--wheel FILE" in r.stderr
    assert not (tmp_path / "o" / "face.safetensors").exists() and list((tmp_path / "cache").iterdir()) == []


def test_functions_reuse_a_cached_wheel_and_read_its_metadata(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("real_dcgan", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "real_dcgan", mod)  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    wheel = fake_face_wheel(tmp_path / "cache")
    monkeypatch.setattr(mod.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run: the wheel is cached"))
    assert mod.fetch_wheel(tmp_path / "cache") == wheel
    weights, prov = mod.read_wheel(wheel, tmp_path / "src")
    assert weights.read_bytes() == checkpoint_bytes()[0]
    assert (prov.package, prov.version, prov.license) == ("gan_face_generate", "1.1.1", "MIT License")
    assert prov.author == "Smoke Test <smoke@example.invalid>" and prov.license_text == LICENSE
