"""Judges: small networks trained on procedural ground truth that turn what we see into numbers.

``load_judge("rooms")`` -> RoomSegmenter, ``load_judge("faces")`` -> FaceJudge,
``load_judge("fashion")`` -> FashionClassifier, ``load_judge("avatars")`` -> AvatarJudge,
``load_judge("mnist")`` -> MNISTJudge (the DTN digits experiment); weights ship in ``pretrained/judges/``.
Every judge takes images in [-1, 1] and exposes ``features(images) -> (N, D)``.

Beside them: ``latentlab.judges.windows.WindowDetector`` (a second, independently built window instrument,
``pretrained/judges/windows.safetensors``, and ``instrument_agreement`` to compare it with the segmenter),
``latentlab.judges.degrade`` (the degradation suite), ``latentlab.judges.suite`` (judges measured under it)
and ``latentlab.judges.outline`` (mask outlines for figures).
"""
from __future__ import annotations

import importlib
import warnings
from pathlib import Path

__all__ = ["load_judge", "JUDGES", "judge_path", "JUDGE_DOMAINS", "JudgeDomainWarning", "check_domain"]

# name -> (module, class); each judge's module is latentlab.judges.<name>
_CLASSES = dict(rooms="RoomSegmenter", faces="FaceJudge", fashion="FashionClassifier", avatars="AvatarJudge",
                mnist="MNISTJudge")
JUDGES = {name: (f"latentlab.judges.{name}", cls) for name, cls in _CLASSES.items()}
_ALIASES = {"fashion-mnist": "fashion", "rooms-segmenter": "rooms"}


# What each shipped judge was trained on: {judge: (the dataset names of models it may read, in words)}. rooms and
# faces are latentlab's procedural worlds, drawn by code (latentlab.data.rooms / .faces), not LSUN or CelebA.
JUDGE_DOMAINS = {
    "rooms": (("rooms",), "latentlab's procedural rooms (drawn by code, not LSUN bedrooms)"),
    "faces": (("faces",), "latentlab's procedural faces (drawn by code, not CelebA)"),
    "fashion": (("fashion-mnist", "fashion"), "Fashion-MNIST"),
    "avatars": (("avatars",), "latentlab's procedural avatars (drawn by code)"),
    "mnist": (("mnist",), "MNIST digits"),
}


class JudgeDomainWarning(UserWarning):
    """A shipped judge reads images of a model that was not trained on the judge's world: its numbers are not
    validated there."""


def _lookup(name: str, arg: str, table: dict) -> tuple:
    """(key, table[key]) for a judge name or alias; ValueError naming ``arg`` for an unknown one."""
    key = _ALIASES.get(name, name)
    if key not in table:
        raise ValueError(f"{arg}: unknown judge {name!r}; judges exist for {sorted(table)}")
    return key, table[key]


def check_domain(judge: str, dataset: str | None, *, stacklevel: int = 2) -> str | None:
    """Warn (:class:`JudgeDomainWarning`) when the shipped judge ``judge`` is about to read a model whose recorded
    ``dataset`` ('' or None: not recorded, e.g. a converted or foreign generator) is not the judge's world; returns
    the message, or None when the model is in the judge's domain."""
    key, (names, world) = _lookup(judge, "judge", JUDGE_DOMAINS)
    ds = str(dataset or "").lower()
    if ds in names:
        return None
    said = f"was trained on {dataset!r}" if ds else "does not record its dataset (a converted or foreign generator)"
    msg = (f"the {key} judge is outside its domain: it was trained on {world}, and the model {said}; its numbers "
           f"on other images (e.g. samples of an LSUN or CelebA GAN) are not validated")
    warnings.warn(msg, JudgeDomainWarning, stacklevel=stacklevel + 1)
    return msg


def judge_path(name: str) -> Path:
    from ..pretrained import pretrained_dir
    return pretrained_dir() / "judges" / f"{name}.safetensors"


def load_judge(name: str, path=None):
    """Load a shipped judge by dataset name ("rooms", "faces", "fashion"), in eval mode."""
    key, (mod, cls) = _lookup(name, "name", JUDGES)
    klass = getattr(importlib.import_module(mod), cls)
    p = Path(path) if path is not None else judge_path(key)
    if not p.exists():
        raise FileNotFoundError(f"judge weights for {key!r} not found at {str(p)!r}; train them with "
                                f"`python scripts/train_judge_{key}.py` (see pretrained/JUDGES.md)")
    return klass.load(p).eval()
