"""Procedural faces: the stand-in for the DCGAN paper's face set (Radford et al. 2015, §6.3.2).

Every image is drawn from ground-truth attributes, so the paper's face experiments can be
measured instead of eyeballed: vector arithmetic (smiling woman - neutral woman + neutral man;
man with glasses - man + woman) and the "turn" axis from left- and right-looking faces.

The head is an egg-shaped ellipsoid rotated by the yaw about its vertical axis and projected
orthographically. Skin, hair and beard are decided per pixel from the point on the head surface
(with Lambert shading), so the hairline, the far ear and the back of the head move consistently
with the yaw; eyes, brows, nose, mouth and glasses are placed on (or in front of) that surface,
projected, and drawn with OpenCV at the target size.

Attributes (``FaceSample.attributes``):

================  =====================================================================
yaw               float in [-1, 1], uniform; -1 looks left, +1 looks right (+-55 degrees)
smile             float in [0, 1], bimodal: half in [0, 0.2] (neutral), half in [0.6, 1];
                  the mouth widens, its corners lift, it opens on teeth, the eyes narrow
smiling           bool, smile > 0.5
glasses           int, 0 none (70%), 1 round, 2 thick rectangular, 3 dark sunglasses
presentation      "masculine" | "feminine", 50/50
beard             bool (masculine only, 40%); ``beard_style`` "none" | "stubble" | "full"
lipstick          bool (feminine only, 45%)
hair_length       "buzz" | "short" | "medium" | "long" (masculine mostly short, feminine long)
hair_color        [r, g, b]; ``skin_tone`` [r, g, b]; ``background`` [r, g, b]
================  =====================================================================

Feminine faces also have a darker upper lid with a flick and thin arched brows, masculine faces
thick straight brows and a wider jaw, so presentation is readable even with short hair.

Example::

    >>> s = render_face(7, seed=0, size=64)
    >>> s.image.shape, s.image.dtype
    ((64, 64, 3), dtype('uint8'))
    >>> turned = render_face(7, seed=0, overrides={"yaw": 0.8})
    >>> turned.landmarks["nose"][0] > turned.landmarks["face_center"][0]
    True

Everything is a function of ``np.random.default_rng([seed, index])``; nothing seeds globally.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import cv2
import numpy as np

from ._people import check_int as _check_int
from ._people import GLASSES_STYLES  # noqa: F401 (part of this module's vocabulary)
from ._people import (BEARD_STYLES, HAIR_LENGTHS, PRESENTATIONS, RenderedDataset,
                      check_overrides, check_size, chooser, hair_color_index, shared_attributes, uniforms,
                      write_images)

__all__ = ["FACE_ATTRIBUTES", "FACE_SIZES", "FaceSample", "FacesDataset", "face_attributes", "render_face"]

FACE_ATTRIBUTES = (
    "yaw", "smile", "smiling", "glasses", "presentation", "beard", "beard_style", "lipstick",
    "hair_color", "hair_length", "skin_tone", "background",
)
FACE_SIZES = (32, 64, 128)
MAX_YAW_DEG = 55.0  # yaw = +-1 turns the head this far
OVERRIDABLE = tuple(a for a in FACE_ATTRIBUTES if a != "smiling")  # smiling follows smile

# Palettes (RGB). Skin tones are interpolated along the list; hair colours are picked with weights.
_SKIN = np.array([(255, 226, 198), (242, 196, 162), (226, 173, 132), (196, 134, 96),
                  (152, 100, 70), (104, 68, 48)], np.float64)
_HAIR = np.array([(28, 22, 22), (62, 42, 32), (108, 72, 46), (150, 66, 34), (222, 186, 116),
                  (176, 176, 176)], np.float64)
_IRIS = np.array([(70, 45, 30), (60, 100, 150), (70, 110, 70), (35, 28, 25)], np.float64)
_LIPSTICK = np.array([(205, 22, 45), (170, 20, 70), (225, 70, 110), (150, 30, 50)], np.float64)
_FRAMES = np.array([(15, 15, 18), (15, 15, 18), (70, 40, 25), (30, 40, 110), (120, 20, 30)], np.float64)

# Named slots in the per-image vector of uniforms: every image draws the same number of numbers,
# so overriding one attribute leaves every other draw (and so the rest of the face) unchanged.
_SLOTS = (
    "yaw", "smile_mode", "smile", "glasses", "glasses_style", "presentation", "hair_length",
    "beard", "beard_style", "lipstick", "lipstick_color", "hair_color", "hair_jitter_r",
    "hair_jitter_g", "hair_jitter_b", "skin", "skin_jitter", "bg_h", "bg_s", "bg_v", "cloth_h",
    "cloth_s", "cloth_v", "iris", "frame_color", "head_w", "head_ratio", "jaw", "cx", "cy",
    "part", "bangs", "brow",
)
_U = {name: i for i, name in enumerate(_SLOTS)}


@dataclass
class FaceSample:
    """One rendered face.

    image: (H, W, 3) uint8 RGB. attributes: see the module docstring. landmarks: pixel
    coordinates (x, y) of "face_center" (the head's centre), "nose" (tip), "left_eye" and
    "right_eye" (image left/right), "mouth" (centre); x grows to the right, y downwards.
    """

    image: np.ndarray
    attributes: dict
    landmarks: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# argument checks


def _check_size(size) -> int:
    return check_size(size, FACE_SIZES)


def _check_overrides(overrides: Mapping | None) -> dict:
    return check_overrides(overrides, OVERRIDABLE, floats={"yaw": -1.0, "smile": 0.0},
                           choices={"presentation": PRESENTATIONS, "hair_length": HAIR_LENGTHS,
                                    "beard_style": BEARD_STYLES},
                           bools=("beard", "lipstick"), rgbs=("hair_color", "skin_tone", "background"))


# --------------------------------------------------------------------------------------------
# attributes


def _hsv_to_rgb(h: float, s: float, v: float) -> list[int]:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return [int(round(255 * c)) for c in (r, g, b)]


def _uniforms(index: int, seed: int) -> list[float]:
    return uniforms(index, seed, len(_SLOTS))


def _attributes_from(u: list[float], overrides: dict) -> dict:
    get = chooser(overrides)

    yaw = get("yaw", lambda: float(2.0 * u[_U["yaw"]] - 1.0))
    smile, glasses, presentation, length = shared_attributes(u, _U, overrides)
    feminine = presentation == "feminine"

    def beard_style():
        if "beard" in overrides and not overrides["beard"]:
            return "none"
        wants = overrides.get("beard", not feminine and u[_U["beard"]] < 0.4)
        return ("stubble" if u[_U["beard_style"]] < 0.5 else "full") if wants else "none"

    style = get("beard_style", beard_style)
    lipstick = bool(get("lipstick", lambda: bool(feminine and u[_U["lipstick"]] < 0.45)))

    def hair_color():
        jitter = (np.array([u[_U["hair_jitter_r"]], u[_U["hair_jitter_g"]], u[_U["hair_jitter_b"]]]) - 0.5) * 20
        return [int(c) for c in np.clip(_HAIR[hair_color_index(u[_U["hair_color"]])] + jitter, 0, 255)]

    def skin_tone():
        x = u[_U["skin"]] * (len(_SKIN) - 1)
        k = min(int(x), len(_SKIN) - 2)
        rgb = _SKIN[k] + (x - k) * (_SKIN[k + 1] - _SKIN[k])
        return [int(c) for c in np.clip(rgb * (0.96 + 0.08 * u[_U["skin_jitter"]]), 0, 255)]

    return {
        "yaw": yaw, "smile": smile, "smiling": bool(smile > 0.5), "glasses": glasses,
        "presentation": presentation, "beard": style != "none", "beard_style": style,
        "lipstick": lipstick, "hair_color": get("hair_color", hair_color), "hair_length": length,
        "skin_tone": get("skin_tone", skin_tone),
        "background": get("background", lambda: _hsv_to_rgb(
            u[_U["bg_h"]], 0.15 + 0.45 * u[_U["bg_s"]], 0.35 + 0.6 * u[_U["bg_v"]])),
    }


def face_attributes(index: int, seed: int = 0, overrides: Mapping | None = None) -> dict:
    """The attributes ``render_face(index, seed)`` draws, without rendering (about 10 us)."""
    index = _check_int("index", index)
    seed = _check_int("seed", seed)
    return _attributes_from(_uniforms(index, seed), _check_overrides(overrides))


# --------------------------------------------------------------------------------------------
# geometry: an egg-shaped ellipsoid turned by the yaw, projected orthographically


def _smoothstep(e0: float, e1: float, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class _Head:
    """Head geometry in normalised image units (the image spans [-1, 1]; y grows downwards).

    The cross-section at height y is an ellipse with half-width a(y) and half-depth c(y); the
    lower half narrows by ``jaw`` towards the chin. Surface points are addressed by longitude
    phi (0 = the middle of the face, > 0 towards the image right at yaw 0), height y and an
    offset d along the outward normal.
    """

    def __init__(self, cx, cy, A, B, C, jaw, yaw):
        self.cx, self.cy, self.A, self.B, self.C, self.jaw = cx, cy, A, B, C, jaw
        theta = math.radians(MAX_YAW_DEG) * yaw
        self.sin, self.cos = math.sin(theta), math.cos(theta)

    def section(self, y):
        t = np.clip(y / self.B, -1.0, 1.0)
        s = np.sqrt(1.0 - t * t)
        narrow = 1.0 - self.jaw * np.clip(t, 0.0, 1.0) ** 1.5
        return self.A * s * narrow, self.C * s * (1.0 - 0.5 * self.jaw * np.clip(t, 0.0, 1.0))

    def section_at(self, y: float) -> tuple[float, float]:
        """``section`` for one float (the per-feature hot path; numpy scalars are slow)."""
        t = min(1.0, max(-1.0, y / self.B))
        s = math.sqrt(1.0 - t * t)
        t = max(t, 0.0)
        return max(self.A * s * (1.0 - self.jaw * t ** 1.5), 1e-3), max(self.C * s * (1.0 - 0.5 * self.jaw * t), 1e-3)

    def project(self, phi: float, y: float, d: float = 0.0):
        """(phi, y, d) -> image (u, v) and the z of the normal (> 0: facing the viewer)."""
        a, c = self.section_at(y)
        px, pz = a * math.sin(phi), c * math.cos(phi)
        nx, nz = math.sin(phi) / a, math.cos(phi) / c
        norm = math.hypot(nx, nz)
        nx, nz = nx / norm, nz / norm
        px, pz = px + d * nx, pz + d * nz
        x = px * self.cos + pz * self.sin
        return self.cx + x, self.cy + y, -nx * self.sin + nz * self.cos

    def rigid(self, px: float, py: float, pz: float):
        """A point fixed to the head (head coordinates, z to the front) -> image (u, v)."""
        return self.cx + px * self.cos + pz * self.sin, self.cy + py


class _Canvas:
    """uint8 RGB image with drawing helpers taking normalised coordinates (sub-pixel, antialiased)."""

    SHIFT = 4

    def __init__(self, size: int, background):
        self.size = size
        self.img = np.empty((size, size, 3), np.uint8)
        self.img[...] = np.asarray(background, np.uint8)
        self.k = size / 2.0
        self.line = max(1, round(size / 40))  # 1 px at 32, 2 at 64, 3 at 128

    def pt(self, u, v):
        # int(x + 0.5) rounds the (almost always positive) fixed-point coordinates; round() is slower
        f = self.k * (1 << self.SHIFT)
        o = (self.k - 0.5) * (1 << self.SHIFT) + 0.5
        return (int(u * f + o), int(v * f + o))

    def pix(self, u, v) -> tuple[float, float]:
        return (float((u + 1.0) * self.k - 0.5), float((v + 1.0) * self.k - 0.5))

    def ax(self, a, b):
        f = (1 << self.SHIFT) * self.k
        return (max(1, int(a * f + 0.5)), max(1, int(b * f + 0.5)))

    def ellipse(self, u, v, a, b, color, thickness=-1, angle=0.0, start=0, end=360):
        cv2.ellipse(self.img, self.pt(u, v), self.ax(a, b), angle, start, end, _c(color), thickness,
                    cv2.LINE_AA, self.SHIFT)

    def poly(self, pts, color):
        cv2.fillPoly(self.img, [np.array([self.pt(u, v) for u, v in pts], np.int32)], _c(color),
                     cv2.LINE_AA, self.SHIFT)

    def lines(self, pts, color, thickness, closed=False):
        cv2.polylines(self.img, [np.array([self.pt(u, v) for u, v in pts], np.int32)], closed, _c(color),
                      thickness, cv2.LINE_AA, self.SHIFT)


def _c(color) -> tuple:
    if isinstance(color, np.ndarray):
        color = color.tolist()
    return tuple(min(255, max(0, int(c + 0.5))) for c in color)


_MOUTH_T = tuple(i / 4.0 - 1.0 for i in range(9))  # -1 .. 1: corner to corner

# light from the upper left, in front
_LIGHT = np.array([-0.45, -0.55, 0.70]) / np.linalg.norm([-0.45, -0.55, 0.70])


def _paint_head(cv: _Canvas, head: _Head, skin, hair, hairline, beard):
    """Per pixel: head silhouette (antialiased), skin, hair above ``hairline(phi)``, beard, shading."""
    S, k = cv.size, cv.k
    B = head.B
    r0 = max(0, int(math.floor((head.cy - B + 1.0) * k - 0.5)))
    r1 = min(S, int(math.ceil((head.cy + B + 1.0) * k + 0.5)) + 1)
    half = math.hypot(head.A * head.cos, head.C * head.sin)
    c0 = max(0, int(math.floor((head.cx - half + 1.0) * k - 0.5)))
    c1 = min(S, int(math.ceil((head.cx + half + 1.0) * k + 0.5)) + 1)
    if r1 <= r0 or c1 <= c0:
        return
    f32 = np.float32
    y = ((np.arange(r0, r1, dtype=f32) + f32(0.5)) / f32(k) - f32(1.0 + head.cy))[:, None]  # (R, 1)
    x = ((np.arange(c0, c1, dtype=f32) + f32(0.5)) / f32(k) - f32(1.0 + head.cx))[None, :]  # (1, K)
    a, c = head.section(y)
    a, c = np.maximum(a, f32(1e-4)), np.maximum(c, f32(1e-4))
    sn, cs = f32(head.sin), f32(head.cos)
    ia, ic = 1.0 / (a * a), 1.0 / (c * c)
    q2 = sn * sn * ia + cs * cs * ic
    q1 = (2.0 * sn * cs) * (ic - ia) * x
    q0 = (cs * cs * ia + sn * sn * ic) * (x * x) - 1.0
    z = (np.sqrt(np.maximum(q1 * q1 - 4.0 * q2 * q0, 0.0)) - q1) / (2.0 * q2)   # front surface
    width = np.sqrt(a * a * (cs * cs) + c * c * (sn * sn))
    cover = np.clip((width - np.abs(x)) * f32(k) + f32(0.5), 0.0, 1.0) * (np.abs(y) < B)
    px, pz = x * cs - z * sn, x * sn + z * cs     # back in head coordinates
    phi = np.arctan2(px / a, pz / c)

    # hair above the hairline, beard below the beard line: one pixel of soft edge each
    line, strength = hairline
    w_hair = np.clip((line(phi) - y) * f32(k) + f32(0.5), 0.0, 1.0) * f32(strength)
    if beard is not None:
        bline, bstrength, bcolor = beard
        w_beard = np.clip((y - bline(phi)) * f32(k) + f32(0.5), 0.0, 1.0) * f32(bstrength)
        w_beard *= 1.0 - _smoothstep(1.55, 1.85, np.abs(phi))
    else:
        w_beard, bcolor = np.zeros_like(w_hair), skin

    # Lambert shading on the ellipsoid normal, turned with the head
    nx, ny, nz = px / f32(head.A ** 2), y / f32(B ** 2), pz / f32(head.C ** 2)
    nx, nz = nx * cs + nz * sn, nz * cs - nx * sn
    dot = (nx * f32(_LIGHT[0]) + ny * f32(_LIGHT[1]) + nz * f32(_LIGHT[2])) / np.sqrt(nx * nx + ny * ny + nz * nz)
    gain = cover * (f32(0.68) + f32(0.36) * np.clip(dot, 0.0, 1.0))

    # colour = gain * (skin, beard, hair mixture) over the background: one (R, K, 3) @ (3, 3)
    skin_w = gain * (1.0 - w_hair)
    weights = np.stack([skin_w * (1.0 - w_beard), skin_w * w_beard, gain * w_hair], axis=-1)
    palette = np.array([skin, bcolor, hair], f32)
    roi = cv.img[r0:r1, c0:c1]
    out = roi * (1.0 - cover)[..., None] + weights @ palette
    roi[:] = np.clip(out + f32(0.5), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# rendering


def render_face(index: int, seed: int = 0, size: int = 64, overrides: Mapping | None = None) -> FaceSample:
    """Render face ``index`` of the set ``seed`` at ``size`` x ``size``.

    ``overrides`` sets attributes (any of ``OVERRIDABLE``) while every other random draw stays
    the same, e.g. ``overrides={"yaw": 0.8}`` turns the same person to the right.
    Returns FaceSample(image (size, size, 3) uint8 RGB, attributes, landmarks).
    """
    index = _check_int("index", index)
    seed = _check_int("seed", seed)
    size = _check_size(size)
    u = _uniforms(index, seed)
    attrs = _attributes_from(u, _check_overrides(overrides))
    return _render(attrs, u, size)


# Where the features sit on the head: longitude (radians) and height (in units of the half-height B).
_EYE_PHI, _EYE_Y, _EAR_Y, _MOUTH_Y = 0.44, -0.07, 0.04, 0.5


def _render(attrs: dict, u: list[float], size: int) -> FaceSample:
    fem = attrs["presentation"] == "feminine"
    skin = np.asarray(attrs["skin_tone"], np.float64)
    hair = np.asarray(attrs["hair_color"], np.float64)
    cv = _Canvas(size, attrs["background"])

    A = 0.47 + 0.05 * u[_U["head_w"]] + (0.0 if fem else 0.025)
    B = A * (1.22 + 0.1 * u[_U["head_ratio"]])
    jaw = (0.3 + 0.1 * u[_U["jaw"]]) if fem else (0.1 + 0.1 * u[_U["jaw"]])
    head = _Head(cx=0.06 * (u[_U["cx"]] - 0.5), cy=-0.07 + 0.06 * (u[_U["cy"]] - 0.5),
                 A=A, B=B, C=A * 1.08, jaw=jaw, yaw=attrs["yaw"])

    _draw_behind_head(cv, head, attrs, u, skin, hair)
    # ears: the far one is drawn behind the head (and so hides), the near one on top of it;
    # medium and long hair cover them
    ears = [head.project(side * math.pi / 2, _EAR_Y * B, 0.02) for side in (-1.0, 1.0)]
    show_ears = attrs["hair_length"] in ("buzz", "short")
    for ear in ears:
        if show_ears and ear[2] < 0.1:
            _draw_ear(cv, head, ear, skin)
    hairline, beard = _head_regions(head, attrs, u, skin, hair)
    _paint_head(cv, head, skin, hair, hairline, beard)
    for ear in ears:
        if show_ears and ear[2] >= 0.1:
            _draw_ear(cv, head, ear, skin)
    eyes = _draw_eyes(cv, head, attrs, u, hair)
    tip = _draw_nose(cv, head, skin)
    _draw_mouth(cv, head, attrs, u, skin)
    if attrs["glasses"]:
        _draw_glasses(cv, head, attrs["glasses"], u)

    landmarks = {
        "face_center": cv.pix(head.cx, head.cy),
        "nose": cv.pix(tip[0], tip[1]),
        "left_eye": cv.pix(*eyes[0]),
        "right_eye": cv.pix(*eyes[1]),
        "mouth": cv.pix(*head.project(0.0, _MOUTH_Y * B, 0.0)[:2]),
    }
    return FaceSample(image=cv.img, attributes=attrs, landmarks=landmarks)


def _draw_behind_head(cv: _Canvas, head: _Head, attrs: dict, u, skin, hair) -> None:
    """Shoulders, the hair behind the head (volume on top; medium/long hair hanging down), neck."""
    A, B, length = head.A, head.B, attrs["hair_length"]
    cloth = _hsv_to_rgb(u[_U["cloth_h"]], 0.3 + 0.5 * u[_U["cloth_s"]], 0.25 + 0.6 * u[_U["cloth_v"]])
    cv.ellipse(head.cx, head.cy + B + 0.62, 0.95, 0.42, cloth)
    # the back of the head shows on the side the face turns away from
    hx, hy = head.cx - 0.3 * head.C * head.sin, head.cy
    if length in ("medium", "long"):
        down = 1.55 * B if length == "long" else 0.8 * B
        wide = A * (1.2 if length == "long" else 1.14)
        cv.ellipse(hx, hy - 0.05 * B, wide, B * 1.02, hair * 0.82)
        cv.poly([(hx - wide, hy - 0.05 * B), (hx - wide * 0.96, hy + down), (hx + wide * 0.96, hy + down),
                 (hx + wide, hy - 0.05 * B)], hair * 0.82)
    else:
        grow = 1.015 if length == "buzz" else 1.07
        cv.ellipse(hx, hy - 0.2 * B, A * grow, B * (0.82 if length == "buzz" else 0.88), hair * 0.9)
    neck_w = A * (0.5 if attrs["presentation"] == "feminine" else 0.6)
    cv.poly([(head.cx - neck_w, head.cy + 0.5 * B), (head.cx - neck_w, head.cy + B + 0.4),
             (head.cx + neck_w, head.cy + B + 0.4), (head.cx + neck_w, head.cy + 0.5 * B)], skin * 0.78)


def _draw_ear(cv: _Canvas, head: _Head, ear, skin) -> None:
    eu, ev, enz = ear
    w = 0.055 + 0.05 * min(1.0, abs(enz) + 0.2)
    cv.ellipse(eu, ev, w, 0.13 * head.B, skin * 0.88)
    cv.ellipse(eu, ev + 0.01, w * 0.45, 0.07 * head.B, skin * 0.66)


def _head_regions(head: _Head, attrs: dict, u, skin, hair):
    """(hairline(phi) -> y, opacity) and the beard (line(phi) -> y, opacity, colour) or None."""
    B, length = head.B, attrs["hair_length"]
    fem = attrs["presentation"] == "feminine"
    front = -0.5 * B + (0.17 * B if u[_U["bangs"]] < (0.35 if fem else 0.15) else 0.0)
    part = (u[_U["part"]] - 0.5) * 0.3 * B
    # (face edge start, end) in longitude, hair bottom on the sides and at the back
    if length == "long":
        f0, f1, side_y, back_y = 0.8, 1.0, 1.6 * B, 1.6 * B
    elif length == "medium":
        f0, f1, side_y, back_y = 0.85, 1.1, 0.62 * B, 0.9 * B
    elif length == "short":
        f0, f1, side_y, back_y = 1.0, 1.3, -0.14 * B, 0.35 * B
    else:  # buzz: high hairline, hair thin enough to show skin through
        front -= 0.1 * B
        f0, f1, side_y, back_y = 1.0, 1.35, -0.14 * B, 0.3 * B

    def hairline(phi):
        a = np.abs(phi)
        y = front + part * phi + 0.06 * B * phi * phi
        y = y + _smoothstep(f0, f1, a) * (side_y - y)
        return y + _smoothstep(1.9, 2.6, a) * (back_y - y)

    beard = None
    if attrs["beard_style"] != "none":
        full = attrs["beard_style"] == "full"
        beard = (lambda phi: 0.29 * B - 0.4 * B * _smoothstep(0.9, 1.5, np.abs(phi)),  # sideburns rise
                 0.95 if full else 0.55, hair * 0.75 if full else hair * 0.45 + skin * 0.25)
    return (hairline, 0.65 if length == "buzz" else 1.0), beard


def _draw_eyes(cv: _Canvas, head: _Head, attrs: dict, u, hair) -> list[tuple[float, float]]:
    """Brows and eyes; returns the eye centres (image left, image right) in normalised units."""
    B, L = head.B, cv.line
    fem = attrs["presentation"] == "feminine"
    eye_y = _EYE_Y * B
    brow = hair * 0.55 if hair.mean() > 90 else hair * 0.8
    iris_color = _IRIS[int(u[_U["iris"]] * len(_IRIS)) % len(_IRIS)]
    lid = (25, 20, 20)
    centres = []
    for side in (-1.0, 1.0):
        eu, ev, enz = head.project(side * _EYE_PHI, eye_y, 0.0)
        centres.append((eu, ev))
        if enz < 0.3:
            continue  # the far eye hides behind the nose and the cheek
        f = enz ** 0.8  # foreshortening
        arch = (0.05 if fem else 0.015) * B
        bpts = [head.project(side * (_EYE_PHI + dp), eye_y - (0.21 * B + arch * a), 0.01)
                for dp, a in ((-0.17, 0.3), (0.0, 1.0), (0.19, 0.0))]
        cv.lines([(p[0], p[1]) for p in bpts if p[2] > 0.25], brow, max(1, L - 1) if fem else L)
        ew, eh = 0.115 * f, 0.07 * (1.0 - 0.3 * attrs["smile"])  # a smile narrows the eyes
        cv.ellipse(eu, ev, ew, eh, (245, 245, 240))
        iu, iv, _ = head.project(side * _EYE_PHI, eye_y, 0.06)  # the iris looks where the head does
        cv.ellipse(iu, iv, 0.052 * f, min(eh, 0.052), iris_color)
        cv.ellipse(eu, ev - 0.15 * eh, ew * 1.05, eh, lid, max(1, L - 1), start=190, end=350)
        if fem:  # lashes: a flick at the outer corner
            ou, ov, _ = head.project(side * (_EYE_PHI + 0.2), eye_y - 0.06 * B, 0.0)
            cv.lines([(eu + side * ew * 0.8, ev - eh * 0.4), (ou, ov)], lid, L)
    return centres


def _draw_nose(cv: _Canvas, head: _Head, skin):
    """A shadowed wedge from the bridge to the tip, which sticks out along the view direction."""
    B = head.B
    tip = head.project(0.0, 0.22 * B, 0.17 * head.A)
    bridge = head.project(0.0, _EYE_Y * B + 0.05 * B, 0.02)
    wings = [head.project(s * 0.2, 0.28 * B, 0.03) for s in (-1.0, 1.0)]
    base = head.project(0.0, 0.3 * B, 0.07)
    pts = np.array([cv.pt(p[0], p[1]) for p in (bridge, tip, *wings, base)], np.int32)
    cv2.fillConvexPoly(cv.img, cv2.convexHull(pts), _c(skin * 0.76), cv2.LINE_AA, cv.SHIFT)
    cv.lines([(wings[0][0], wings[0][1]), (base[0], base[1]), (wings[1][0], wings[1][1])], skin * 0.45, cv.line)
    return tip


def _draw_mouth(cv: _Canvas, head: _Head, attrs: dict, u, skin) -> None:
    """The corners lift and spread with the smile; a smile (> 0.35) opens on teeth."""
    B, L, smile = head.B, cv.line, attrs["smile"]
    mouth_y = _MOUTH_Y * B
    half = 0.27 + 0.19 * smile
    lift = 0.17 * B * smile
    opening = 0.24 * B * max(0.0, smile - 0.35) / 0.65
    upper = [head.project(t * half, mouth_y - lift * t * t, 0.0) for t in _MOUTH_T]
    lower = [head.project(t * half, mouth_y - lift * t * t + opening * (1 - t * t), 0.0) for t in _MOUTH_T]
    vis = [p[2] > 0.25 for p in upper]  # the far corner turns away
    upper = [(p[0], p[1]) for p, ok in zip(upper, vis) if ok]
    lower = [(p[0], p[1]) for p, ok in zip(lower, vis) if ok]
    ts = [t for t, ok in zip(_MOUTH_T, vis) if ok]
    if len(upper) < 2:
        return
    if attrs["lipstick"]:
        lip = _LIPSTICK[int(u[_U["lipstick_color"]] * len(_LIPSTICK)) % len(_LIPSTICK)]
    else:
        lip = skin * np.array([0.78, 0.5, 0.5]) + (20 if attrs["presentation"] == "feminine" else 0)
    if opening > 0.01:
        cv.poly(upper + lower[::-1], (80, 20, 30))
        teeth = [(uu, vv + 0.45 * (lv - vv)) for (uu, vv), (_, lv) in zip(upper, lower)]
        cv.poly(upper + teeth[::-1], (240, 238, 228))
        cv.lines(upper + lower[::-1], lip, max(1, L - 1), closed=True)
    else:
        if attrs["lipstick"]:
            top = [(uu, vv - 0.05 * B * (1 - t * t)) for (uu, vv), t in zip(upper, ts)]
            bot = [(uu, vv + 0.07 * B * (1 - t * t)) for (uu, vv), t in zip(upper, ts)]
            cv.poly(top + bot[::-1], lip)
        cv.lines(upper, lip * 0.7 if attrs["lipstick"] else lip * 0.85, L)


def _draw_glasses(cv: _Canvas, head: _Head, style: int, u) -> None:
    """A rigid frame in front of the eyes, its lenses wrapping back by ``wrap``, turned with the head.

    style 1: round frames; 2: thick rectangular frames; 3: dark lenses (sunglasses).
    """
    B, L, sn = head.B, cv.line, head.sin
    frame = _FRAMES[int(u[_U["frame_color"]] * len(_FRAMES)) % len(_FRAMES)]
    eye_y = _EYE_Y * B
    a_eye, c_eye = head.section_at(eye_y)
    ex = a_eye * math.sin(_EYE_PHI)
    gz = c_eye * math.cos(_EYE_PHI) + 0.04
    lw, lh = (0.15, 0.13) if style == 1 else (0.165, 0.115) if style == 2 else (0.17, 0.14)
    gy = eye_y + 0.01
    wrap = 0.25
    cw, sw = math.cos(wrap), math.sin(wrap)

    def lens_point(side, t, dy):  # t, dy in [-1, 1] across the lens; the outer edge bends back
        return head.rigid(side * ex + t * lw * cw, gy + dy * lh, gz - side * t * lw * sw)

    for side in sorted((-1.0, 1.0), key=lambda s: -s * sn):  # far lens first
        cu, cvv = lens_point(side, 0.0, 0.0)
        w = lw * abs(cw * head.cos - side * sw * sn)
        if style == 2:
            cv.lines([lens_point(side, t, dy) for t, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))],
                     frame, L + 1, closed=True)
        else:
            if style == 3:
                cv.ellipse(cu, cvv, w, lh, (22, 22, 28))
            cv.ellipse(cu, cvv, w, lh, frame, L)
        # a glint makes clear lenses readable on any skin tone
        gu, gv = lens_point(side, -0.45, -0.4)
        cv.lines([(gu, gv), (gu + 0.3 * w, gv - 0.02)], (250, 250, 250), max(1, L - 1))
    cv.lines([lens_point(s, -s * 0.97, -0.3) for s in (-1.0, 1.0)], frame, L)  # bridge
    for side in (-1.0, 1.0):  # the temple arm on the near side runs back to the ear
        if side * sn < -0.15:
            eu, ev, _ = head.project(side * math.pi / 2, _EAR_Y * B - 0.08 * B, 0.03)
            cv.lines([lens_point(side, side * 1.0, -0.3), (eu, ev)], frame, L)


# --------------------------------------------------------------------------------------------
# dataset


class _FaceIndexError(IndexError, ValueError):
    """Out-of-range index: a ValueError as the library promises, an IndexError for iteration."""


class FacesDataset(RenderedDataset):
    """``n`` procedural faces of set ``seed`` at ``size`` x ``size``.

    ``ds[i]`` is ``(image, 0)``: float32 (3, size, size) in [-1, 1] and a dummy class 0 (the
    DCGAN trainer ignores it). ``ds.sample(i)`` gives the FaceSample with its attributes;
    ``ds.attributes(indices)`` the ground truth as arrays without rendering.

    ``cache``: path of a uint8 ``.npy`` (n, size, size, 3). The first use renders all images into
    it (temp file, then ``os.replace``); later uses memory-map it. A cache whose shape does not
    match, or whose spot-checked images differ from a fresh render (another seed or renderer
    version), is rebuilt.
    """

    name = "faces"
    sizes, index_error, render = FACE_SIZES, _FaceIndexError, staticmethod(render_face)

    def __init__(self, n: int = 50_000, size: int = 64, seed: int = 0, cache: str | os.PathLike | None = None):
        self._setup(n, size, seed)
        self.cache = None if cache is None else Path(cache)
        if self.cache is not None and (self.cache.is_dir() or self.cache.suffix != ".npy"):
            # a directory: the file name carries what the cache depends on (like RoomsDataset)
            self.cache.mkdir(parents=True, exist_ok=True)
            self.cache = self.cache / f"faces_seed{self.seed}_n{self.n}_{self.size}px.npy"
        self._images = None
        if self.cache is not None:
            self._images = self._open_cache()

    def attributes(self, indices: Iterable[int] | None = None) -> dict[str, np.ndarray]:
        """Ground truth for ``indices`` (default: all): yaw, smile float32; glasses, feminine bool."""
        rows = [_attributes_from(_uniforms(i, self.seed), {}) for i in self._indices(indices)]
        return {
            "yaw": np.array([r["yaw"] for r in rows], np.float32),
            "smile": np.array([r["smile"] for r in rows], np.float32),
            "glasses": np.array([r["glasses"] > 0 for r in rows], bool),
            "feminine": np.array([r["presentation"] == "feminine" for r in rows], bool),
        }

    # -- cache --------------------------------------------------------------------------------
    def _open_cache(self) -> np.ndarray:
        path = self.cache
        if not (path.is_file() and self._cache_ok(path, lambda arr: arr.shape == (self.n, self.size, self.size, 3))):
            write_images(path, self.n, self.size, lambda i: render_face(i, self.seed, self.size).image)
        return np.load(path, mmap_mode="r")
