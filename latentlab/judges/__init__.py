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
from pathlib import Path

__all__ = ["load_judge", "JUDGES", "judge_path"]

# name -> (module, class); each judge's module is latentlab.judges.<name>
_CLASSES = dict(rooms="RoomSegmenter", faces="FaceJudge", fashion="FashionClassifier", avatars="AvatarJudge",
                mnist="MNISTJudge")
JUDGES = {name: (f"latentlab.judges.{name}", cls) for name, cls in _CLASSES.items()}
_ALIASES = {"fashion-mnist": "fashion", "rooms-segmenter": "rooms"}


def judge_path(name: str) -> Path:
    from ..pretrained import pretrained_dir
    return pretrained_dir() / "judges" / f"{name}.safetensors"


def load_judge(name: str, path=None):
    """Load a shipped judge by dataset name ("rooms", "faces", "fashion"), in eval mode."""
    key = _ALIASES.get(name, name)
    if key not in JUDGES:
        raise ValueError(f"name: unknown judge {name!r}; judges exist for {sorted(JUDGES)}")
    mod, cls = JUDGES[key]
    klass = getattr(importlib.import_module(mod), cls)
    p = Path(path) if path is not None else judge_path(key)
    if not p.exists():
        raise FileNotFoundError(f"judge weights for {key!r} not found at {str(p)!r}; train them with "
                                f"`python scripts/train_judge_{key}.py` (see pretrained/JUDGES.md)")
    return klass.load(p).eval()
