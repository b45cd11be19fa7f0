"""The shipped weights travel with the package: a wheel built from the sources, installed into an empty target
directory, loads the rooms GAN and its judge from another working directory (no repository on the path).
Marked slow (about 30 s: a wheel build and an install), still part of the suite."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("latentlab", "pretrained", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


def _can_build_offline() -> bool:
    """setuptools with its own bdist_wheel (>= 70.1) in this environment: no build isolation, no download."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools
    major, minor = (int(p) for p in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1)


@pytest.fixture(scope="module")
def wheel_target(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy, as a fresh clone: the build writes build/ and *.egg-info next to the sources
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "_pretrained")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(tmp / "dist"), "-q"]
    if _can_build_offline():
        cmd.append("--no-build-isolation")
    subprocess.run(cmd, check=True, cwd=tmp, timeout=600)
    wheels = list((tmp / "dist").glob("latentlab-*.whl"))
    assert len(wheels) == 1, wheels
    target = tmp / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheels[0]), "-q"],
                   check=True, cwd=tmp, timeout=600)
    return tmp, wheels[0], target


@pytest.mark.slow
def test_wheel_holds_the_weights(wheel_target):
    import zipfile
    _, wheel, _ = wheel_target
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted((ROOT / "pretrained").rglob("*.safetensors"))
    assert len(shipped) >= 6  # 3 GANs + 3 judges at least
    for f in shipped:
        assert f"latentlab/_pretrained/{f.relative_to(ROOT / 'pretrained').as_posix()}" in names, f
    for f in sorted((ROOT / "pretrained/logs").glob("*.jsonl")):  # the training curves of the report
        assert f"latentlab/_pretrained/logs/{f.name}" in names, f
    assert "latentlab/_pretrained/train.py" not in names


@pytest.mark.slow
def test_wheel_holds_the_live_page_runtime(wheel_target):
    """The live page's assets and the vendored onnxruntime-web travel in the wheel: pages are written offline."""
    import zipfile
    _, wheel, _ = wheel_target
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("assets", "vendor"):
        files = sorted((ROOT / "latentlab/live" / folder).iterdir())
        assert files
        for f in files:
            assert f"latentlab/live/{folder}/{f.name}" in names, f


@pytest.mark.slow
def test_installed_wheel_loads_rooms_from_anywhere(wheel_target):
    tmp, _, target = wheel_target
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LATENTLAB_PRETRAINED")}
    env["PYTHONPATH"] = os.pathsep.join([str(target), *site])  # the target only, plus torch & co.
    env["OMP_NUM_THREADS"] = "1"
    code = ("import latentlab, torch\n"
            "from latentlab.pretrained import pretrained_dir\n"
            "from latentlab.judges import load_judge\n"
            "g = latentlab.load_pretrained('rooms')\n"
            "seg = load_judge('rooms')\n"
            "x = g.sample(2, seed=0)\n"
            "from latentlab.app.report import find_training_log\n"
            "print(latentlab.__file__); print(pretrained_dir()); print(tuple(x.shape), type(seg).__name__, "
            "g.config.image_size, find_training_log('rooms').name)\n")
    # -S: no site module, so no .pth file (e.g. an editable install of the repository) can put it back on the path
    r = subprocess.run([sys.executable, "-S", "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    module_file, weights, shapes = r.stdout.strip().splitlines()
    assert Path(module_file).resolve().is_relative_to(target.resolve())
    assert Path(weights).resolve() == (target / "latentlab" / "_pretrained").resolve()
    assert shapes == "(2, 3, 64, 64) RoomSegmenter 64 rooms.jsonl"


def test_source_tree_is_used_without_package_data(monkeypatch):
    """A checkout on PYTHONPATH or an editable install has no latentlab/_pretrained: the repository's folder."""
    from latentlab import pretrained
    monkeypatch.delenv("LATENTLAB_PRETRAINED", raising=False)
    assert pretrained._package_data() is None  # setup.py copies the weights into wheels only
    assert pretrained.pretrained_dir() == ROOT / "pretrained"
    monkeypatch.setenv("LATENTLAB_PRETRAINED", "/some/where")
    assert pretrained.pretrained_dir() == Path("/some/where")
