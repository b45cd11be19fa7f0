"""Cartoon avatars with ground truth: the target domain of faces -> avatars (the DTN paper's faces -> emoji).

Taigman, Polyak and Wolf ("Unsupervised Cross-Domain Image Generation", ICLR 2017) map face photos
to emoji. latentlab maps its procedural faces (:mod:`latentlab.data.faces`) to cartoon avatars drawn
by the ``python_avatars`` package (the "Avataaars" parts, MIT) and rasterised by ``resvg-py``. Every
avatar is built from explicit attributes, so a judge can be trained on ground truth and the "ceiling"
avatar of a face (its attributes drawn directly, :func:`avatar_from_face`) can be rendered.

Attributes (``AvatarSample.attributes``, the same names and meaning as the faces' where they overlap):

================  =====================================================================
smile             float in [0, 1], bimodal as the faces': half in [0, 0.2], half in [0.6, 1]
smiling           bool, smile > 0.5; the mouth part follows the smile: <= 0.5 "serious" (a closed
                  line), 0.5-0.8 "smile", >= 0.8 "big_smile" (both open on teeth)
glasses           int, 0 none (70%), 1 round, 2 rectangular, 3 dark sunglasses
presentation      "masculine" | "feminine", 50/50. The proxy an avatar shows: the hair style
                  group (feminine styles are bobs and long hair) and a beard only on masculine
beard_style       "none" | "stubble" | "full" (masculine only, 40%); ``beard`` bool
hair_length       "buzz" | "short" | "medium" | "long" (drawn as the faces')
hair_color        one of HAIR_COLORS; ``skin`` one of SKINS (pale .. black)
background        [r, g, b] (the faces' distribution)
================  =====================================================================

plus the python_avatars part names the attributes were drawn as (``mouth``, ``accessory``, ``top``,
``facial_hair``, ``eyebrows``, ``nose``, ``clothing``, ``clothing_color``). Avatars are always frontal.

Rendering (about 90 images/s at 64 px on one core) is cached: build the set once with::

    python -m latentlab.data.avatars build --n 20000 --out ~/latentlab-data/avatars

Example::

    >>> s = render_avatar(7, seed=0, size=64)               # doctest: +SKIP
    >>> s.image.shape, s.image.dtype                         # doctest: +SKIP
    ((64, 64, 3), dtype('uint8'))
    >>> from latentlab.data.faces import face_attributes
    >>> spec = avatar_from_face(face_attributes(3, seed=0))  # the face's "ceiling" avatar
    >>> image = render_spec(spec, size=64)                   # doctest: +SKIP

Everything is a function of ``np.random.default_rng([seed, index])``; nothing seeds globally
(python_avatars' own random pickers are never used: every part is passed explicitly).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import torch

from ..images import from_uint8
from ._people import check_int as _check_int
from ._people import GLASSES_STYLES  # noqa: F401 (part of this module's vocabulary)
from ._people import (BEARD_STYLES, HAIR_LENGTHS, PRESENTATIONS, RenderedDataset,
                      check_overrides, check_size, chooser, hair_color_index, shared_attributes, uniforms,
                      write_images)

__all__ = [
    "AVATAR_ATTRIBUTES", "AVATAR_SIZES", "AvatarSample", "AvatarsDataset", "avatar_attributes",
    "avatar_from_face", "render_avatar", "render_spec", "default_cache_dir", "BUILD_COMMAND",
    "HAIR_COLORS", "SKINS",
]

AVATAR_SIZES = (32, 64, 128)
AVATAR_ATTRIBUTES = ("smile", "smiling", "glasses", "presentation", "beard", "beard_style", "hair_length",
                     "hair_color", "skin", "background")
RENDER_VERSION = 1  # bump whenever a change here changes pixels: it invalidates caches
BUILD_COMMAND = "python -m latentlab.data.avatars build --n 20000 --out ~/latentlab-data/avatars"
_INSTALL = "pip install 'python_avatars>=1.4,<2' 'resvg-py>=0.5'"

# hair colours in the faces' palette order (faces.py _HAIR) -> python_avatars HairColor members
HAIR_COLORS = ("black", "dark_brown", "brown", "auburn", "blonde", "gray")
_HAIR_ENUM = ("BLACK", "BROWN_DARK", "BROWN", "AUBURN", "BLONDE_GOLDEN", "SILVER_GRAY")
_FACE_HAIR_RGB = np.array([(28, 22, 22), (62, 42, 32), (108, 72, 46), (150, 66, 34), (222, 186, 116),
                           (176, 176, 176)], np.float64)  # faces.py _HAIR, for the face -> avatar map
SKINS = ("pale", "light", "brown", "dark_brown", "black")
_SKIN_ENUM = ("PALE", "LIGHT", "BROWN", "DARK_BROWN", "BLACK")

# parts per attribute value (python_avatars member names); a uniform picks one of each list
_GLASSES_PARTS = {0: ("NONE",), 1: ("ROUND", "PRESCRIPTION_1"), 2: ("PRESCRIPTION_2", "WAYFARERS"),
                  3: ("SUNGLASSES", "SUNGLASSES_2", "WAYFARERS_2")}
_TOPS = {
    ("masculine", "buzz"): ("BUZZCUT", "CAESAR"),
    ("masculine", "short"): ("SHORT_FLAT", "SHORT_ROUND", "CAESAR_SIDE_PART", "SIDES", "SHORT_CURLY", "QUIFF"),
    ("masculine", "medium"): ("SHORT_WAVED", "SHAGGY", "POMPADOUR"),
    ("masculine", "long"): ("SHAGGY",),  # only by override: masculine faces are never long-haired
    ("feminine", "buzz"): ("BOB",),  # only by override
    ("feminine", "short"): ("BOB", "MIA_WALLACE"),
    ("feminine", "medium"): ("BOB", "MIA_WALLACE", "CURVY"),
    ("feminine", "long"): ("STRAIGHT_1", "STRAIGHT_2", "STRAIGHT_STRAND", "LONG_NOT_TOO_LONG", "BIG_HAIR",
                           "LOOSE_HAIR", "CURLY"),
}
_BEARD_PARTS = {"none": ("NONE",), "stubble": ("BEARD_LIGHT",), "full": ("BEARD_MEDIUM", "BEARD_MAGESTIC")}
_EYEBROWS = ("DEFAULT", "DEFAULT_NATURAL", "FLAT_NATURAL")
_NOSES = ("DEFAULT", "SMALL", "WIDE")
_CLOTHING = ("SHIRT_CREW_NECK", "SHIRT_V_NECK", "SHIRT_SCOOP_NECK", "HOODIE", "COLLAR_SWEATER",
             "BLAZER_SHIRT", "BLAZER_SWEATER", "OVERALL")
_CLOTHING_COLORS = ("BLACK", "BLUE_01", "BLUE_02", "BLUE_03", "GRAY_01", "GRAY_02", "HEATHER", "PASTEL_BLUE",
                    "PASTEL_GREEN", "PASTEL_ORANGE", "PASTEL_YELLOW", "PINK", "RED", "WHITE")
_VIEWBOX = "22 6 220 220"  # of the 264 x 280 template: head and shoulders, framed like the faces

_SLOTS = ("smile_mode", "smile", "glasses", "glasses_style", "glasses_part", "presentation", "hair_length",
          "top", "beard", "beard_style", "beard_part", "hair_color", "skin", "bg_h", "bg_s", "bg_v",
          "eyebrows", "nose", "clothing", "clothing_color")
_U = {name: i for i, name in enumerate(_SLOTS)}
OVERRIDABLE = ("smile", "glasses", "presentation", "beard_style", "hair_length", "hair_color", "skin",
               "background")


@dataclass
class AvatarSample:
    """One rendered avatar: ``image`` (H, W, 3) uint8 RGB and its ``attributes`` (see the module docstring)."""

    image: np.ndarray
    attributes: dict


# --------------------------------------------------------------------------------------------
# the optional renderer


def _require():
    """Import python_avatars and resvg_py, or raise an ImportError that says how to install them."""
    missing = []
    try:
        import python_avatars
    except ImportError:
        python_avatars = None
        missing.append("python_avatars")
    try:
        import resvg_py
    except ImportError:
        resvg_py = None
        missing.append("resvg-py")
    if missing:
        raise ImportError(f"the avatars dataset needs the packages {missing} to render: {_INSTALL}")
    return python_avatars, resvg_py


# --------------------------------------------------------------------------------------------
# argument checks (the faces' conventions)


def _check_size(size) -> int:
    return check_size(size, AVATAR_SIZES)


def _check_overrides(overrides: Mapping | None) -> dict:
    return check_overrides(overrides, OVERRIDABLE, floats={"smile": 0.0},
                           choices={"presentation": PRESENTATIONS, "hair_length": HAIR_LENGTHS,
                                    "beard_style": BEARD_STYLES, "hair_color": HAIR_COLORS, "skin": SKINS},
                           rgbs=("background",))


# --------------------------------------------------------------------------------------------
# attributes


def _hsv_to_rgb(h: float, s: float, v: float) -> list[int]:
    import colorsys
    return [int(round(255 * c)) for c in colorsys.hsv_to_rgb(h, s, v)]


def _pick(options: tuple, x: float):
    return options[min(int(x * len(options)), len(options) - 1)]


def _uniforms(index: int, seed: int) -> list[float]:
    # a fixed number of draws per image: overriding one attribute leaves every other draw unchanged
    return uniforms(index, seed, len(_SLOTS))


def _spec_from(u: list[float], high: dict) -> dict:
    """High-level attributes (``high`` wins over the uniforms) -> the full spec with part names."""
    get = chooser(high)

    smile, glasses, presentation, length = shared_attributes(u, _U, high)
    feminine = presentation == "feminine"
    beard_style = get("beard_style", lambda: "none" if feminine or u[_U["beard"]] >= 0.4
                      else ("stubble" if u[_U["beard_style"]] < 0.5 else "full"))

    mouth = "SERIOUS" if smile <= 0.5 else "SMILE" if smile < 0.8 else "BIG_SMILE"
    return {
        "smile": smile, "smiling": bool(smile > 0.5), "glasses": glasses, "presentation": presentation,
        "beard": beard_style != "none", "beard_style": beard_style, "hair_length": length,
        "hair_color": get("hair_color", lambda: HAIR_COLORS[hair_color_index(u[_U["hair_color"]])]),
        "skin": get("skin", lambda: _pick(SKINS, u[_U["skin"]])),
        "background": list(get("background", lambda: _hsv_to_rgb(
            u[_U["bg_h"]], 0.15 + 0.45 * u[_U["bg_s"]], 0.35 + 0.6 * u[_U["bg_v"]]))),
        # parts
        "mouth": mouth,
        "accessory": _pick(_GLASSES_PARTS[glasses], u[_U["glasses_part"]]),
        "top": _pick(_TOPS[(presentation, length)], u[_U["top"]]),
        "facial_hair": _pick(_BEARD_PARTS[beard_style], u[_U["beard_part"]]),
        "eyebrows": _pick(_EYEBROWS, u[_U["eyebrows"]]),
        "nose": _pick(_NOSES, u[_U["nose"]]),
        "clothing": _pick(_CLOTHING, u[_U["clothing"]]),
        "clothing_color": _pick(_CLOTHING_COLORS, u[_U["clothing_color"]]),
    }


def avatar_attributes(index: int, seed: int = 0, overrides: Mapping | None = None) -> dict:
    """The full spec ``render_avatar(index, seed)`` draws, without rendering (about 10 us)."""
    index = _check_int("index", index)
    seed = _check_int("seed", seed)
    return _spec_from(_uniforms(index, seed), _check_overrides(overrides))


def avatar_from_face(face_attributes: Mapping, *, variant: int = 0) -> dict:
    """The avatar spec of a procedural face: its "ceiling" in faces -> avatars transfer.

    ``face_attributes``: a dict from :func:`latentlab.data.faces.face_attributes` (or
    ``FaceSample.attributes``). Copied: smile (so the mouth), glasses style, presentation, beard style,
    hair length and background; mapped: hair colour (nearest of the faces' palette) and skin (the faces'
    light-to-dark scale cut into the 5 avatar tones). Yaw, lipstick and the face's shape are dropped
    (avatars are frontal). Parts no face attribute decides (which glasses/hair style of the group,
    eyebrows, nose, clothes) come from uniforms seeded by the attributes and ``variant``, so the map
    is deterministic.
    """
    if not isinstance(face_attributes, Mapping):
        raise TypeError(f"face_attributes must be a dict of face attributes, got {type(face_attributes).__name__}")
    needed = ("smile", "glasses", "presentation", "beard_style", "hair_length", "hair_color", "skin_tone",
              "background")
    missing = [k for k in needed if k not in face_attributes]
    if missing:
        raise ValueError(f"face_attributes: missing {missing}; expected the dict of "
                         f"latentlab.data.faces.face_attributes(index, seed)")
    variant = _check_int("variant", variant)
    fa = face_attributes
    hair = np.asarray(fa["hair_color"], np.float64)
    hair_color = HAIR_COLORS[int(np.argmin(((_FACE_HAIR_RGB - hair) ** 2).sum(1)))]
    # faces' skin: a point on a 6-tone scale, light -> dark; its luminance orders it
    lum = float(np.dot(np.asarray(fa["skin_tone"], np.float64), (0.299, 0.587, 0.114)))
    light, dark = 231.5, 76.5  # luminance of the faces' lightest and darkest palette tones
    t = min(max((light - lum) / (light - dark), 0.0), 1.0)
    skin = SKINS[min(int(t * len(SKINS)), len(SKINS) - 1)]
    high = {
        "smile": float(fa["smile"]), "glasses": int(fa["glasses"]), "presentation": fa["presentation"],
        "beard_style": fa["beard_style"], "hair_length": fa["hair_length"], "hair_color": hair_color,
        "skin": skin, "background": [int(c) for c in fa["background"]],
    }
    high = _check_overrides(high)
    key = json.dumps({k: fa[k] for k in needed}, sort_keys=True, default=str).encode()
    return _spec_from(_uniforms(zlib.crc32(key), variant), high)


# --------------------------------------------------------------------------------------------
# rendering


def _svg(spec: Mapping) -> str:
    pa, _ = _require()
    try:
        avatar = pa.Avatar(
            style=pa.AvatarStyle.TRANSPARENT,
            top=pa.HairType[spec["top"]],
            hat_color=pa.ClothingColor.HEATHER,
            eyebrows=pa.EyebrowType[spec["eyebrows"]],
            eyes=pa.EyeType.DEFAULT,
            nose=pa.NoseType[spec["nose"]],
            mouth=pa.MouthType[spec["mouth"]],
            facial_hair=pa.FacialHairType[spec["facial_hair"]],
            skin_color=pa.SkinColor[_SKIN_ENUM[SKINS.index(spec["skin"])]],
            hair_color=pa.HairColor[_HAIR_ENUM[HAIR_COLORS.index(spec["hair_color"])]],
            facial_hair_color=pa.HairColor[_HAIR_ENUM[HAIR_COLORS.index(spec["hair_color"])]],
            accessory=pa.AccessoryType[spec["accessory"]],
            clothing=pa.ClothingType[spec["clothing"]],
            clothing_color=pa.ClothingColor[spec["clothing_color"]],
            shirt_graphic=pa.ClothingGraphic.NONE,
            shirt_text="",
        )
    except KeyError as e:
        raise ValueError(f"spec: unknown or missing part {e}; build specs with avatar_attributes() or "
                         f"avatar_from_face()") from None
    svg = avatar.render()
    head = svg[:400]
    if 'viewBox="0 0 264 280"' not in head:
        raise RuntimeError("python_avatars changed its template (expected viewBox 0 0 264 280); "
                           "latentlab's avatar framing needs updating")
    return svg.replace('viewBox="0 0 264 280"', f'viewBox="{_VIEWBOX}"', 1).replace(
        'width="264px" height="280px"', 'width="220px" height="220px"', 1)


def render_spec(spec: Mapping, size: int = 64) -> np.ndarray:
    """Draw a spec (from :func:`avatar_attributes` or :func:`avatar_from_face`): (size, size, 3) uint8 RGB."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a dict from avatar_attributes()/avatar_from_face(), "
                        f"got {type(spec).__name__}")
    size = _check_size(size)
    _, resvg = _require()
    from PIL import Image

    r, g, b = (int(c) for c in spec["background"])
    png = resvg.svg_to_bytes(svg_string=_svg(spec), background=f"#{r:02x}{g:02x}{b:02x}", width=size,
                             height=size)
    with Image.open(io.BytesIO(bytes(png))) as im:
        return np.array(im.convert("RGB"))


def render_avatar(index: int, seed: int = 0, size: int = 64, overrides: Mapping | None = None) -> AvatarSample:
    """Avatar ``index`` of set ``seed``: an :class:`AvatarSample` (image (size, size, 3) uint8, attributes)."""
    spec = avatar_attributes(index, seed, overrides)
    return AvatarSample(image=render_spec(spec, _check_size(size)), attributes=spec)


# --------------------------------------------------------------------------------------------
# dataset and cache


def default_cache_dir() -> Path:
    """``$LATENTLAB_DATA/avatars`` if set, else ``~/latentlab-data/avatars``."""
    root = os.environ.get("LATENTLAB_DATA")
    return (Path(root) if root else Path.home() / "latentlab-data") / "avatars"


def _cache_name(seed: int, n: int, size: int) -> str:
    return f"avatars_seed{seed}_n{n}_{size}px_v{RENDER_VERSION}.npy"


class _AvatarIndexError(IndexError, ValueError):
    """Out-of-range index: a ValueError as the library promises, an IndexError for iteration."""


class AvatarsDataset(RenderedDataset):
    """``n`` avatars of set ``seed`` at ``size`` x ``size``.

    ``ds[i]`` is ``(image, 0)``: float32 (3, size, size) in [-1, 1] and a dummy class 0.
    ``ds.attributes(indices)`` gives the ground truth as arrays without rendering.

    ``cache``: None renders on the fly (about 90 images/s: fine for a few hundred). A directory (or a
    ``.npy`` path) holds the rendered uint8 array (n, size, size, 3); a directory's file is named by
    seed, n, size and renderer version, and a larger cached set of the same seed and size serves its
    first n images (avatar i does not depend on n). A missing cache raises FileNotFoundError naming
    the build command, unless ``build=True``, which renders it (temp file, then ``os.replace``).
    A cache whose spot-checked images differ from a fresh render is refused the same way.
    """

    name = "avatars"
    sizes, index_error, render = AVATAR_SIZES, _AvatarIndexError, staticmethod(render_avatar)

    def __init__(self, n: int = 20_000, size: int = 64, seed: int = 0, cache: str | os.PathLike | None = None,
                 build: bool = False, progress: bool = False):
        self._setup(n, size, seed)
        self._images = None
        self.cache = None
        if cache is not None:
            self.cache = self._find_cache(Path(cache).expanduser())
            if self.cache is None or not self._cache_ok(self.cache):
                target = self.cache or self._target(Path(cache).expanduser())
                if not build:
                    why = "is missing" if self.cache is None else "does not match a fresh render"
                    raise FileNotFoundError(
                        f"cache: the avatar set {str(target)!r} {why}; build it once with `python -m "
                        f"latentlab.data.avatars build --n {self.n} --size {self.size} --seed {self.seed} "
                        f"--out {str(target.parent)!r}` (about {max(1, round(self.n / 90))} s at ~90 images/s on one core)")
                build_cache(target, self.n, self.size, self.seed, progress=progress)
                self.cache = target
            self._images = np.load(self.cache, mmap_mode="r")

    def _target(self, cache: Path) -> Path:
        return cache if cache.suffix == ".npy" else cache / _cache_name(self.seed, self.n, self.size)

    def _find_cache(self, cache: Path) -> Path | None:
        exact = self._target(cache)
        if exact.is_file() or cache.suffix == ".npy":
            return exact if exact.is_file() else None
        if not cache.is_dir():
            return None
        best = None
        for p in cache.glob(f"avatars_seed{self.seed}_n*_{self.size}px_v{RENDER_VERSION}.npy"):
            try:
                n = int(p.name.split("_n")[1].split("_")[0])
            except (IndexError, ValueError):
                continue
            if n >= self.n and (best is None or n < best[0]):
                best = (n, p)
        return None if best is None else best[1]

    def _cache_ok(self, path: Path) -> bool:
        return super()._cache_ok(path, lambda arr: arr.ndim == 4 and arr.shape[0] >= self.n
                                 and arr.shape[1:] == (self.size, self.size, 3))

    def images(self, indices: Iterable[int] | None = None) -> torch.Tensor:
        """A float32 batch (N, 3, size, size) in [-1, 1]."""
        idx = self._indices(indices)
        if self.cache is not None:
            arr = np.asarray(self._mapped()[np.asarray(list(idx), np.int64)])
        else:
            arr = np.stack([self.image(i) for i in idx]) if len(idx) else np.zeros((0, self.size, self.size, 3),
                                                                                   np.uint8)
        return from_uint8(arr, channels_last=True)

    def attributes(self, indices: Iterable[int] | None = None) -> dict[str, np.ndarray]:
        """Ground truth for ``indices`` (default: all): smile float32; smiling, glasses, feminine, beard bool;
        glasses_style, skin (index into SKINS), hair_color (index into HAIR_COLORS), hair_length
        (index into HAIR_LENGTHS) int64."""
        rows = [_spec_from(_uniforms(i, self.seed), {}) for i in self._indices(indices)]
        return spec_arrays(rows)


def spec_arrays(specs: list[Mapping]) -> dict[str, np.ndarray]:
    """Specs -> ground-truth arrays (see :meth:`AvatarsDataset.attributes`)."""
    return {
        "smile": np.array([r["smile"] for r in specs], np.float32),
        "smiling": np.array([r["smiling"] for r in specs], bool),
        "glasses": np.array([r["glasses"] > 0 for r in specs], bool),
        "glasses_style": np.array([r["glasses"] for r in specs], np.int64),
        "feminine": np.array([r["presentation"] == "feminine" for r in specs], bool),
        "beard": np.array([r["beard"] for r in specs], bool),
        "skin": np.array([SKINS.index(r["skin"]) for r in specs], np.int64),
        "hair_color": np.array([HAIR_COLORS.index(r["hair_color"]) for r in specs], np.int64),
        "hair_length": np.array([HAIR_LENGTHS.index(r["hair_length"]) for r in specs], np.int64),
    }


def build_cache(path: str | os.PathLike, n: int, size: int = 64, seed: int = 0, progress: bool = True) -> Path:
    """Render avatars 0..n-1 of set ``seed`` into the uint8 ``.npy`` at ``path`` (temp file, then rename)."""
    path = Path(path).expanduser()
    if path.suffix != ".npy":
        raise ValueError(f"path must end in .npy, got {str(path)!r}")
    n = _check_int("n", n, 1)
    size = _check_size(size)
    seed = _check_int("seed", seed)
    _require()
    write_images(path, n, size, lambda i: render_avatar(i, seed, size).image,
                 progress=f"avatars {size}px" if progress else None)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.data.avatars",
                                     description="Build the cached avatar set (rendering is slow; do it once).")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="render n avatars into OUT/avatars_seed{S}_n{N}_{SIZE}px_v{V}.npy",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.add_argument("--n", type=int, default=20_000, help="number of avatars")
    b.add_argument("--size", type=int, default=64, choices=AVATAR_SIZES, help="image side in pixels")
    b.add_argument("--seed", type=int, default=0, help="avatar set seed")
    b.add_argument("--out", default=str(default_cache_dir()), help="cache directory")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be a positive int, got {args.n}")
    target = Path(args.out).expanduser() / _cache_name(args.seed, args.n, args.size)
    build_cache(target, args.n, args.size, args.seed, progress=True)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
