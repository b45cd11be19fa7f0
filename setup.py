"""Packaging hook: ship the weights in ``pretrained/`` inside the package as ``latentlab/_pretrained/``.

All other metadata is in pyproject.toml. ``pretrained/`` stays at the top of the repository (the scripts that
train the weights write there); a wheel or a regular ``pip install .`` gets a copy of the weight files as package
data, which ``latentlab.pretrained.pretrained_dir()`` finds through ``importlib.resources``. An editable install
(``pip install -e .``) copies nothing: the package then lives in the source tree and reads ``pretrained/`` next to
it. Why a build step and not ``package-dir``: mapping ``latentlab._pretrained`` onto ``pretrained/`` would need an
explicit list of every sub-package (``packages.find`` cannot discover a mapped directory) and would ship
``pretrained/train.py`` as a module; a glob here picks up new weight files without edits.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# what is shipped: the weights, their JSON side files, the model cards and the training logs the report plots
# (not the training script)
WEIGHT_FILES = ("**/*.safetensors", "**/*.json", "**/*.md", "**/*.jsonl")  # also in sub-folders added later


class BuildPyWithWeights(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # editable: the source tree's pretrained/ is read in place
            return
        src, dst = ROOT / "pretrained", Path(self.build_lib) / "latentlab" / "_pretrained"
        files = sorted({f for pattern in WEIGHT_FILES for f in src.glob(pattern) if f.is_file()})
        if not any(f.suffix == ".safetensors" for f in files):
            raise RuntimeError(f"no weight files in {src}: the package would ship without its models")
        for f in files:
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)


setup(cmdclass={"build_py": BuildPyWithWeights})
