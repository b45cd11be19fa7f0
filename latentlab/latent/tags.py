"""The user's tags: which of a model's samples show glasses, a man, a face looking left... (DCGAN §6.3.2 picked
exemplars by eye). They replace a judge wherever exemplars are needed: arithmetic concepts, the turn axis's
sides, InterFaceGAN boundaries. ``latentlab annotate MODEL --tags a,b,c`` writes a page that saves this JSON.

The samples are annotate's (and forget's probe) samples: z = ``sample_prior(n, nz, prior,
generator=torch.Generator().manual_seed(seed))``, sample i = z[i], so a file only fits one model, ``seed`` and ``n``::

    {"format": "latentlab-tags", "version": 1, "model": "face.safetensors", "seed": 0, "n": 150,
     "nz": 100, "image_size": 64,                       # optional, checked against the model when present
     "fingerprint": "3f2a...",                          # optional: model_fingerprint() of the generator
     "seen": [0, 1, ...],                               # optional: the samples looked at (default all n)
     "tags": {"glasses": [3, 17, 42], "looks_left": [4, 9], ...}}   # 0-based sample indices

A concept name is a tag, or tags joined by ``_`` meaning all of them, with ``no_`` before a tag meaning without
it: ``glasses_man`` = glasses and man, ``no_glasses_woman`` = woman without glasses (``TagsFile.resolve``).
A mean needs at least ``MIN_SAMPLES`` = 2 samples.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..io import JsonHeader, check_json_header, int_field, read_samples_file, write_samples_file

__all__ = ["TagsFile", "load_tags", "save_tags", "model_fingerprint", "FORMAT", "VERSION", "MIN_SAMPLES"]

FORMAT = "latentlab-tags"
VERSION = 1
MIN_SAMPLES = 2
KEYS = ("model", "seed", "n", "tags")
HEADER = JsonHeader("labels", FORMAT, VERSION, KEYS)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NEGATIONS = ("no", "not")


def model_fingerprint(module: torch.nn.Module) -> str:
    """sha256 (first 16 hex digits) of a module's state dict (names, shapes, float32 values, sorted by name)."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu()
        h.update(name.encode() + str(tuple(t.shape)).encode())
        h.update((t.float() if t.is_floating_point() else t).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _same_model(a: str, b: str) -> bool:
    return a == b or Path(a).name == Path(b).name


@dataclass(frozen=True)
class TagsFile:
    model: str                      # the model's name or file (compared by file name)
    seed: int                       # seed of the samples' z
    n: int                          # number of samples
    tags: dict                      # {tag: sorted list of sample indices}
    nz: int | None = None
    image_size: int | None = None
    fingerprint: str | None = None  # model_fingerprint of the generator, when the page wrote it
    seen: list = field(default=None)  # indices looked at; None = all n

    @property
    def seen_indices(self) -> list:
        return list(range(self.n)) if self.seen is None else list(self.seen)

    def to_dict(self) -> dict:
        d = {"format": FORMAT, "version": VERSION, "model": self.model, "seed": self.seed, "n": self.n}
        for k in ("nz", "image_size", "fingerprint", "seen"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        d["tags"] = {k: list(v) for k, v in self.tags.items()}
        return d

    def indices(self, name: str, min_count: int = MIN_SAMPLES) -> torch.Tensor:
        """Sample indices (M,) of a concept (a tag, or tags joined by ``_`` with ``no_`` for without);
        ValueError when fewer than ``min_count`` samples carry it."""
        parts = self.parts(name)
        keep = set(self.seen_indices)
        for neg, tag in parts:
            s = set(self.tags[tag])
            keep = keep - s if neg else keep & s
        idx = sorted(keep)
        if len(idx) < min_count:
            what = " and ".join(("not " if neg else "") + t for neg, t in parts)
            raise ValueError(f"tags: {name!r} ({what}) has {len(idx)} sample(s) in the labels file, fewer than "
                             f"the {min_count} a mean needs; tag more samples (tags: {self.counts()})")
        return torch.tensor(idx, dtype=torch.long)

    def counts(self) -> dict:
        return {k: len(v) for k, v in self.tags.items()}

    def binary(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices (M,) of the seen samples, bool labels (M,): carries the concept) for a boundary."""
        seen = torch.tensor(self.seen_indices, dtype=torch.long)
        pos = set(self.indices(name, 0).tolist())
        return seen, torch.tensor([int(i) in pos for i in seen.tolist()], dtype=torch.bool)

    def parts(self, name: str) -> list[tuple[bool, str]]:
        """"no_glasses_man" -> [(True, "glasses"), (False, "man")]; a whole tag name wins over a split."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"tags: expected a concept name (letters, digits, _), got {name!r}")
        options = self._splits(name.split("_"))
        if not options:
            raise ValueError(f"tags: {name!r} is not a tag nor tags joined by '_' (with 'no_' for without); "
                             f"the labels file has {sorted(self.tags)}")
        options.sort(key=len)
        if len(options) > 1 and len(options[0]) == len(options[1]):
            raise ValueError(f"tags: {name!r} can be read as {options[0]} or {options[1]}; rename a tag")
        return options[0]

    def _splits(self, words: list) -> list:
        if not words:
            return [[]]
        out = []
        for j in range(1, len(words) + 1):
            head = "_".join(words[:j])
            heads = []
            if head in self.tags:
                heads.append((False, head))
            if words[0] in _NEGATIONS and j > 1 and "_".join(words[1:j]) in self.tags:
                heads.append((True, "_".join(words[1:j])))
            for h in heads:
                out += [[h] + rest for rest in self._splits(words[j:])]
        return out

    def z(self, model) -> torch.Tensor:
        """The n samples' z (n, nz) for ``model`` (a LatentModel), after checking nz."""
        if self.nz is not None and self.nz != model.nz:
            raise ValueError(f"nz: the labels were made on a model with nz={self.nz}, this model has nz={model.nz}; "
                             f"labels made for another model")
        return model.sample_z(self.n, seed=self.seed)


def _index_list(name: str, v, n: int, where: str) -> list:
    if not isinstance(v, list):
        raise ValueError(f"{name}: expected a list of sample indices{where}, got {type(v).__name__}")
    for i in v:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
            raise ValueError(f"{name}: expected sample indices in 0..{n - 1} (n={n}){where}, got {i!r}")
    if len(set(v)) != len(v):
        raise ValueError(f"{name}: a sample index is repeated{where}: {sorted(v)}")
    return sorted(v)


def _check(data, where: str = "") -> TagsFile:
    model, seed, n = check_json_header(data, HEADER, where)
    opt = {k: int_field(k, data[k], 1, where) if data.get(k) is not None else None for k in ("nz", "image_size")}
    fp = data.get("fingerprint")
    if fp is not None and not isinstance(fp, str):
        raise ValueError(f"fingerprint: expected a string{where}, got {fp!r}")
    seen = _index_list("seen", data["seen"], n, where) if data.get("seen") is not None else None
    tags = data["tags"]
    if not isinstance(tags, dict):
        raise ValueError(f"tags: expected an object {{tag: [sample indices]}}{where}, got {type(tags).__name__}")
    out = {}
    for k, v in tags.items():
        if not _NAME.fullmatch(k):
            raise ValueError(f"tags: tag names must be identifiers (letters, digits, _){where}, got {k!r}")
        out[k] = _index_list(f"tags[{k!r}]", v, n, where)
        unseen = sorted(set(out[k]) - set(seen)) if seen is not None else []
        if unseen:
            raise ValueError(f"tags[{k!r}]: samples {unseen} are tagged but not in 'seen'{where}; add them to 'seen'")
    return TagsFile(model, seed, n, out, opt["nz"], opt["image_size"], fp, seen)


def load_tags(path: str | os.PathLike, *, model: str | None = None, seed: int | None = None, n: int | None = None,
              nz: int | None = None, image_size: int | None = None, fingerprint: str | None = None) -> TagsFile:
    """Read and check a tags file. Keyword arguments, when given, must match the file's (the tags were made on
    that model's samples); ``model`` is compared by file name. Raises FileNotFoundError or ValueError."""
    f, where = read_samples_file(path, "labels", _check)
    for name, want in (("model", model), ("seed", seed), ("n", n), ("nz", nz), ("image_size", image_size),
                       ("fingerprint", fingerprint)):
        have = getattr(f, name)
        if want is None or have is None:
            continue
        if (not _same_model(have, str(want))) if name == "model" else have != want:
            what = "other samples" if name in ("seed", "n") else "another model"
            raise ValueError(f"{name}: labels made for {what}: the labels{where} were made on samples with "
                             f"{name}={have!r}, but {name}={want!r} was asked for; label this model's samples "
                             f"(latentlab annotate ... --tags) or use the file's settings")
    return f


def save_tags(path: str | os.PathLike, tags: dict, *, model: str, seed: int, n: int, nz: int | None = None,
              image_size: int | None = None, fingerprint: str | None = None, seen=None) -> Path:
    """Check and write a tags file atomically (a failure leaves an existing file untouched)."""
    data = {"model": model, "seed": seed, "n": n, "nz": nz, "image_size": image_size, "fingerprint": fingerprint,
            "seen": seen, "tags": tags}
    return write_samples_file(path, _check(data).to_dict())
