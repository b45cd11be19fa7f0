"""Shared by the procedural faces (:mod:`latentlab.data.faces`) and the cartoon avatars
(:mod:`latentlab.data.avatars`): argument checks, the attributes both draw the same way from their
uniforms, the uint8 ``.npy`` image cache and the dataset's indexing.

Both modules draw every image from ``np.random.default_rng([seed, index])`` with a fixed number of
uniforms per image, so overriding one attribute leaves every other draw unchanged.
"""
from __future__ import annotations

import numbers
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import torch

from ..images import from_uint8

PRESENTATIONS = ("masculine", "feminine")
HAIR_LENGTHS = ("buzz", "short", "medium", "long")
BEARD_STYLES = ("none", "stubble", "full")
GLASSES_STYLES = (0, 1, 2, 3)  # none, round, rectangular, dark sunglasses
HAIR_P = np.cumsum([0.24, 0.24, 0.2, 0.1, 0.16, 0.06])  # weights of the hair colours (faces' palette order)


# --------------------------------------------------------------------------------------------
# argument checks


def check_int(name: str, value, low: int = 0, high: int | None = None) -> int:
    """``value`` (an int, or a 0-d integer tensor) as an int in [low, high); TypeError / ValueError naming it."""
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < low or (high is not None and value >= high):
        accepted = f">= {low}" if high is None else f"in [{low}, {high - 1}]"
        raise ValueError(f"{name} must be an int {accepted}, got {value}")
    return value


def check_size(size, sizes: tuple[int, ...]) -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or int(size) not in sizes:
        raise ValueError(f"size must be one of {sizes}, got {size!r}")
    return int(size)


def check_count(n) -> int:
    """The number of images of a dataset: a positive int."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
        raise ValueError(f"n must be a positive int (number of images), got {n!r}")
    return int(n)


def check_rgb(name: str, value) -> list[int]:
    try:
        rgb = [int(c) for c in value]
        ok = len(rgb) == 3 and all(0 <= c <= 255 and c == float(v) for c, v in zip(rgb, value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"overrides[{name!r}] must be 3 ints in [0, 255] (r, g, b), got {value!r}")
    return rgb


def check_overrides(overrides: Mapping | None, accepted: tuple[str, ...], *, floats: Mapping[str, float],
                    choices: Mapping[str, tuple], bools: tuple[str, ...] = (),
                    rgbs: tuple[str, ...] = ()) -> dict:
    """A checked copy of ``overrides`` (attribute -> value; only names in ``accepted``).

    Checked in this order: ``floats`` (name -> lowest value; the highest is 1), ``glasses`` (one of
    GLASSES_STYLES), ``choices`` (name -> allowed values), ``bools``, ``rgbs`` (3 ints in [0, 255]).
    """
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a dict of attributes, got {type(overrides).__name__}")
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise ValueError(f"overrides: unknown attributes {unknown}; accepted: {list(accepted)}")
    out = dict(overrides)
    for key, low in floats.items():
        if key in out:
            v = out[key]
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not low <= float(v) <= 1.0:
                raise ValueError(f"overrides[{key!r}] must be a float in [{low:g}, 1], got {v!r}")
            out[key] = float(v)
    if "glasses" in out:
        v = out["glasses"]
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) not in GLASSES_STYLES:
            raise ValueError(f"overrides['glasses'] must be an int in {GLASSES_STYLES} (0 = none), got {v!r}")
        out["glasses"] = int(v)
    for key, allowed in choices.items():
        if key in out and out[key] not in allowed:
            raise ValueError(f"overrides[{key!r}] must be one of {allowed}, got {out[key]!r}")
    for key in bools:
        if key in out and not isinstance(out[key], (bool, np.bool_)):
            raise ValueError(f"overrides[{key!r}] must be a bool, got {out[key]!r}")
    for key in rgbs:
        if key in out:
            out[key] = check_rgb(key, out[key])
    return out


# --------------------------------------------------------------------------------------------
# attributes


def uniforms(index: int, seed: int, count: int) -> list[float]:
    # a list: indexing Python floats is much faster than numpy scalars in the drawing code
    return np.random.default_rng([seed, index]).random(count).tolist()


def chooser(overrides: Mapping) -> Callable:
    """``get(name, make)``: ``overrides[name]`` when the caller gave it, else ``make()`` (the draw)."""
    def get(name, make):
        return overrides[name] if name in overrides else make()
    return get


def shared_attributes(u: list[float], slot: Mapping[str, int], overrides: Mapping) -> tuple:
    """(smile float, glasses int, presentation, hair_length) from the uniforms ``u`` (``slot``: name ->
    index into ``u``), an override winning over its draw. Smile is bimodal: half in [0, 0.2], half in
    [0.6, 1]; 30% wear glasses; feminine hair is mostly long, masculine mostly short."""
    get = chooser(overrides)

    smile = float(get("smile", lambda: u[slot["smile"]] * 0.2 if u[slot["smile_mode"]] < 0.5
                      else 0.6 + 0.4 * u[slot["smile"]]))
    glasses = int(get("glasses", lambda: 0 if u[slot["glasses"]] >= 0.3 else 1 + int(u[slot["glasses_style"]] * 3)))
    presentation = get("presentation", lambda: PRESENTATIONS[int(u[slot["presentation"]] < 0.5)])

    def hair_length():
        x = u[slot["hair_length"]]
        if presentation == "feminine":
            return "long" if x < 0.55 else "medium" if x < 0.9 else "short"
        return "buzz" if x < 0.25 else "short" if x < 0.85 else "medium"

    return smile, glasses, presentation, get("hair_length", hair_length)


def hair_color_index(x: float) -> int:
    """The hair colour (index into the faces' palette, weights HAIR_P) a uniform ``x`` draws."""
    return min(int(np.searchsorted(HAIR_P, x * HAIR_P[-1], side="right")), len(HAIR_P) - 1)


# --------------------------------------------------------------------------------------------
# image cache


def write_images(path: Path, n: int, size: int, draw: Callable[[int], np.ndarray],
                 progress: str | None = None) -> None:
    """``draw(i)`` for i < n into a uint8 ``.npy`` (n, size, size, 3) at ``path``: a temp file in the same
    folder, then ``os.replace``, so a reader never sees half a file. ``progress``: a tqdm label, or None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
        it = range(n)
        if progress is not None:
            from ..progress import progress_bar
            it = progress_bar(it, desc=progress, unit="img", mininterval=5.0)
        for i in it:
            out[i] = draw(i)
        out.flush()
        del out
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# --------------------------------------------------------------------------------------------
# dataset


class RenderedDataset(torch.utils.data.Dataset):
    """``n`` rendered images of set ``seed`` at ``size`` x ``size``, optionally from a memory-mapped cache.

    A subclass sets ``sizes`` (accepted sizes), ``index_error`` (raised for an out-of-range index: an
    IndexError, so iteration stops, and a ValueError, as the library promises) and ``render`` (a
    function (index, seed, size) -> sample with an ``image``), calls ``_setup(n, size, seed)`` and sets
    ``cache`` (None: render on the fly) and ``_images``.
    """

    sizes: tuple[int, ...]
    index_error: type
    cache: Path | None

    @staticmethod
    def render(index: int, seed: int, size: int):
        raise NotImplementedError

    def _setup(self, n, size, seed) -> None:
        self.n = check_count(n)
        self.size = check_size(size, self.sizes)
        self.seed = check_int("seed", seed)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, size={self.size}, seed={self.seed}, cache={self.cache})"

    def __getstate__(self):
        # DataLoader workers re-open the memory map instead of receiving a pickled copy of it
        return {**self.__dict__, "_images": None}

    def _index(self, i) -> int:
        try:
            return check_int("index", i, 0, self.n)
        except ValueError as e:
            raise self.index_error(str(e)) from None

    def _indices(self, indices: Iterable[int] | None) -> Iterable[int]:
        return range(self.n) if indices is None else [self._index(i) for i in np.asarray(indices).reshape(-1)]

    def _mapped(self) -> np.ndarray:
        if self._images is None:
            self._images = np.load(self.cache, mmap_mode="r")
        return self._images

    def image(self, i: int) -> np.ndarray:
        """(size, size, 3) uint8 RGB, a fresh writable array."""
        i = self._index(i)
        if self.cache is None:
            return self.render(i, self.seed, self.size).image
        return np.array(self._mapped()[i])

    def __getitem__(self, i):
        return from_uint8(self.image(i), channels_last=True), 0

    def sample(self, i: int):
        return self.render(self._index(i), self.seed, self.size)

    def _cache_ok(self, path: Path, shape_ok: Callable[[np.ndarray], bool]) -> bool:
        """``path`` loads as a uint8 array that passes ``shape_ok`` and whose first, middle and last
        images equal a fresh render."""
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError, EOFError):
            return False
        if arr.dtype != np.uint8 or not shape_ok(arr):
            return False
        return all(np.array_equal(arr[i], self.render(i, self.seed, self.size).image)
                   for i in sorted({0, self.n // 2, self.n - 1}))
