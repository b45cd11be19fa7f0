"""Shipped weights in ``pretrained/`` (no downloads, ever)."""
from __future__ import annotations

import os
from pathlib import Path

from .checkpoint import load
from .models import GAN

__all__ = ["load_pretrained", "pretrained_dir", "PRETRAINED"]

PRETRAINED = ("rooms", "faces", "fashion")


def pretrained_dir() -> Path:
    """``$LATENTLAB_PRETRAINED`` or the repository's ``pretrained/`` folder."""
    env = os.environ.get("LATENTLAB_PRETRAINED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "pretrained"


def load_pretrained(name: str) -> GAN:
    """Load a shipped model by name ("rooms", "faces", "fashion") or by path to a .safetensors file."""
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"name: expected a model name or path, got {type(name).__name__}")
    p = Path(name)
    if str(name) not in PRETRAINED and (p.suffix == ".safetensors" or p.is_file()):
        return load(p)  # a shipped name wins over a same-named folder in the working directory
    if name not in PRETRAINED:
        raise ValueError(f"name: unknown pretrained model {name!r}; shipped models are {PRETRAINED} (or give a path)")
    path = pretrained_dir() / f"{name}.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"pretrained model {name!r} not found at {str(path)!r}; train it with "
                                f"`python pretrained/train.py {name}` (see pretrained/README.md)")
    return load(path)
