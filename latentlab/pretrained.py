"""Shipped weights in ``pretrained/`` (no downloads, ever), installed with the package as package data."""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from .checkpoint import load
from .io import CheckpointError
from .models import GAN

__all__ = ["load_pretrained", "resolve_model", "pretrained_dir", "PRETRAINED"]

PRETRAINED = ("rooms", "faces", "fashion")


def pretrained_dir() -> Path:
    """Where the shipped weights are: ``$LATENTLAB_PRETRAINED``, else the package data ``latentlab/_pretrained``
    (a wheel or ``pip install .``; copied there from ``pretrained/`` by setup.py), else the repository's
    ``pretrained/`` folder next to the package (a checkout on ``PYTHONPATH`` or an editable install)."""
    env = os.environ.get("LATENTLAB_PRETRAINED")
    if env:
        return Path(env)
    data = _package_data()
    if data is not None:
        return data
    return Path(__file__).resolve().parent.parent / "pretrained"


def _package_data() -> Path | None:
    try:
        d = importlib.resources.files("latentlab") / "_pretrained"
    except (ModuleNotFoundError, TypeError):
        return None
    # an installed package is a directory on disk (wheels are unpacked), so the Traversable is a real path
    return Path(str(d)) if isinstance(d, Path) and d.is_dir() else None


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


def resolve_model(model, *, name: str = "model") -> GAN:
    """The model argument of every analysis and command, as a ``GAN``: a ``GAN`` itself, a shipped model name
    (``PRETRAINED``) or a path to a latentlab .safetensors file. A shipped name wins over a same-named file or
    folder in the working directory (as in :func:`load_pretrained`).

    Any other generator module goes through :class:`latentlab.models.adapter.LatentModel` instead; this function
    names what is wrong with the argument: ValueError for a folder, an unknown name or a file that is not a
    latentlab GAN (the loader's reason in brackets), FileNotFoundError for a missing .safetensors file, TypeError
    for anything else; ``name`` is the argument the messages name (a command passes its flag, e.g. ``--model``).
    """
    if isinstance(model, GAN):
        return model
    if isinstance(model, (str, os.PathLike)):
        p = Path(model)
        if str(model) in PRETRAINED:
            return load_pretrained(str(model))
        if p.is_dir():
            raise ValueError(f"{name}: {str(p)!r} is a directory, expected a .safetensors model file or a "
                             f"shipped model name {PRETRAINED}")
        if p.is_file():
            try:
                return load(p)
            except CheckpointError as e:
                raise ValueError(f"{name}: {str(p)!r} is not a latentlab GAN checkpoint ({e})") from None
        if p.suffix == ".safetensors":
            raise FileNotFoundError(f"{name}: no such file {str(p)!r}")
        raise ValueError(f"{name}: {str(model)!r} is neither a shipped model {PRETRAINED} nor an existing file")
    raise TypeError(f"{name}: expected a latentlab GAN, a shipped model name or a path, got {type(model).__name__}")
