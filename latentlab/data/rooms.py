"""Procedural bedroom scenes ("rooms") with exact ground truth: a stand-in for LSUN bedrooms.

Each scene is a box-shaped room seen through a pinhole camera (one-point perspective: no pitch, no
yaw, so the back wall is a rectangle and the side walls, floor and ceiling are trapezoids). It holds
0-3 windows on the back or side walls (sky by day, dusk or night, frames, mullions, sills, optional
curtains), a bed (headboard, base, sheet, blanket, pillows) against the back or a side wall, and,
at random, nightstands, a lamp, a picture, a door and a rug. About two thirds of the scenes show at
least one window, which is what DCGAN §6.3.1 ("forgetting to draw windows") needs.

How it is drawn (and why the labels are exact): every polygon and line is rasterised once, without
anti-aliasing, into a map of *part* ids (painter's order: walls/floor/ceiling, wall objects, rug,
then furniture sorted back to front). Each part has a colour, a class and an object instance, so the
label map, the instance map and the flat-colour image are table look-ups of the same part map:
a pixel's label is the class of the part whose colour it shows. Lighting (a smooth gradient,
vignette and lamp glow) only rescales colours and the sky is pasted into the visible window-pane
pixels, so neither changes any label. Scenes are drawn directly at 32, 64 or 128 pixels.

Example::

    >>> s = render_room(7, seed=0, size=64)
    >>> s.image.shape, s.labels.shape, s.image.dtype
    ((64, 64, 3), (64, 64), dtype('uint8'))
    >>> s.params["sky"], [b["class"] for b in s.boxes][:3], s.boxes[0]["box"]
    ('day', ['window', 'curtain', 'picture'], (31, 17, 42, 35))
    >>> ds = RoomsDataset(n=100)
    >>> x, y = ds[3]; tuple(x.shape), y
    ((3, 64, 64), 0)
"""
from __future__ import annotations

import colorsys
import json
import operator
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..images import from_uint8

__all__ = ["ROOM_CLASSES", "RoomSample", "render_room", "RoomsDataset"]

ROOM_CLASSES: tuple[str, ...] = (
    "wall", "floor", "ceiling", "window", "bed", "door", "picture", "lamp", "rug", "nightstand", "curtain",
)
"""Label index -> class name. "window" covers frame, sill, mullions and the visible panes (sky);
"bed" covers headboard, base, sheet, blanket and pillows; "curtain" is separate from "window"."""

SIZES = (32, 64, 128)
RENDER_VERSION = 1  # bump whenever a change to the renderer changes pixels: it invalidates caches

_CLS = {name: i for i, name in enumerate(ROOM_CLASSES)}
_STUFF = ("wall", "floor", "ceiling")  # regions, not objects: they get no bounding boxes
_SHIFT = 4  # fixed-point bits for cv2 drawing: sub-pixel vertex positions, still no anti-aliasing
_ONE = 1 << _SHIFT
_SKY_KINDS = ("day", "dusk", "night")
_SKY_P = (0.55, 0.25, 0.20)
_N_WINDOWS_P = (0.31, 0.40, 0.19, 0.10)  # P(0..3 windows requested); some do not fit or get hidden


# --------------------------------------------------------------------------------------------------
# small helpers


class _Rand:
    """Uniform numbers drawn in blocks from one ``np.random.Generator`` (much cheaper than a call each)."""

    __slots__ = ("_rng", "_buf")

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._buf: list[float] = []

    def r(self) -> float:
        if not self._buf:
            self._buf = self._rng.random(96).tolist()
        return self._buf.pop()

    def u(self, a: float, b: float) -> float:
        return a + (b - a) * self.r()

    def coin(self, p: float) -> bool:
        return self.r() < p

    def pick(self, seq):
        return seq[min(int(self.r() * len(seq)), len(seq) - 1)]

    def weighted(self, probs) -> int:
        x, acc = self.r(), 0.0
        for i, p in enumerate(probs):
            acc += p
            if x < acc:
                return i
        return len(probs) - 1


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255 + 0.5), int(g * 255 + 0.5), int(b * 255 + 0.5)


def _shade(c, k: float) -> tuple[int, int, int]:
    return min(255, int(c[0] * k + 0.5)), min(255, int(c[1] * k + 0.5)), min(255, int(c[2] * k + 0.5))


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(x + (y - x) * t + 0.5) for x, y in zip(a, b))


_GRIDS: dict[int, dict[str, np.ndarray]] = {}


def _grids(size: int) -> dict[str, np.ndarray]:
    """Per-size constant fields: normalised coordinates, vignette and a glow kernel (2S x 2S)."""
    g = _GRIDS.get(size)
    if g is None:
        c = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
        v, u = np.meshgrid(c, c, indexing="ij")
        k = (np.arange(2 * size, dtype=np.float32) - size + 0.5) / size
        kv, ku = np.meshgrid(k, k, indexing="ij")
        g = {
            "u": u, "v": v, "rows": np.arange(size, dtype=np.float32),
            "vignette": (1.0 - 0.45 * (u * u + v * v)).astype(np.float32),
            "glow": np.exp(-(ku * ku + kv * kv) / (2 * 0.22 ** 2)).astype(np.float32),
        }
        _GRIDS[size] = g
    return g


# --------------------------------------------------------------------------------------------------
# camera and canvas


class _Camera:
    """Pinhole camera at (cam_x, eye, 0) looking along +z; x right, y up (metres), image v down."""

    __slots__ = ("f", "cx", "cy", "cam_x", "eye")

    def __init__(self, f, cx, cy, cam_x, eye):
        self.f, self.cx, self.cy, self.cam_x, self.eye = f, cx, cy, cam_x, eye

    def p(self, x: float, y: float, z: float) -> tuple[float, float]:
        return self.cx + self.f * (x - self.cam_x) / z, self.cy - self.f * (y - self.eye) / z

    def ppm(self, z: float) -> float:
        """Pixels per metre at depth z."""
        return self.f / z


class _Canvas:
    """Part-id map plus, per part, colour / class / instance / flags. Part 0 = the back wall.

    Polygons are rasterised in fixed point (``_SHIFT`` fractional bits) without anti-aliasing.
    """

    def __init__(self, size: int, cam: _Camera):
        self.size, self.cam = size, cam
        self.parts = np.zeros((size, size), np.uint8)
        self.table: list[tuple[int, int, int, int, int, int, int]] = []  # r, g, b, class, instance, emissive, pane
        self.objects: list[str] = []  # instance id -> class name
        self.has_emissive = self.has_pane = False
        # projection constants pre-scaled to fixed point
        self._f, self._cx, self._cy = cam.f * _ONE, cam.cx * _ONE + 0.5, cam.cy * _ONE + 0.5
        self._camx, self._eye = cam.cam_x, cam.eye

    def obj(self, cls: str) -> int:
        self.objects.append(cls)
        return len(self.objects) - 1

    def part(self, inst: int, color, *, emissive: bool = False, pane: bool = False) -> int:
        if len(self.table) >= 255:  # parts are uint8; a scene uses well under 128
            raise RuntimeError("rooms: too many parts in one scene")
        self.table.append((*color, _CLS[self.objects[inst]], inst, emissive, pane))
        self.has_emissive |= emissive
        self.has_pane |= pane
        return len(self.table) - 1

    def luts(self) -> np.ndarray:
        """(7, 256) uint8 look-up tables indexed by part id: r, g, b, class, instance, emissive, pane."""
        lut = np.zeros((256, 7), np.uint8)
        lut[:len(self.table)] = self.table
        return np.ascontiguousarray(lut.T)

    # 2-D drawing in pixel coordinates (floats)
    def poly(self, pts, pid: int) -> None:
        a = np.array([(int(u * _ONE + 0.5), int(v * _ONE + 0.5)) for u, v in pts], np.int32)
        cv2.fillConvexPoly(self.parts, a, pid, cv2.LINE_8, _SHIFT)

    def line(self, p, q, pid: int, thickness: int = 1) -> None:
        cv2.line(self.parts, (int(p[0] * _ONE + 0.5), int(p[1] * _ONE + 0.5)),
                 (int(q[0] * _ONE + 0.5), int(q[1] * _ONE + 0.5)), pid, thickness, cv2.LINE_8, _SHIFT)

    def circle(self, c, r: float, pid: int) -> None:
        cv2.circle(self.parts, (int(c[0] * _ONE + 0.5), int(c[1] * _ONE + 0.5)), max(int(r * _ONE + 0.5), 1),
                   pid, -1, cv2.LINE_8, _SHIFT)

    # 3-D helpers
    def quad3(self, corners, pid: int) -> None:
        """Fill the projection of a planar convex polygon given by 3-D corners (all at z > 0)."""
        f, cx, cy, camx, eye = self._f, self._cx, self._cy, self._camx, self._eye
        a = np.array([(int(cx + f * (x - camx) / z), int(cy - f * (y - eye) / z)) for x, y, z in corners],
                     np.int32)
        cv2.fillConvexPoly(self.parts, a, pid, cv2.LINE_8, _SHIFT)

    def box3(self, xs, ys, zs, inst: int, color, top=1.0, front=0.8, side=0.62):
        """Axis-aligned box spanning ``xs = (x0, x1)``, ``ys = (y0, y1)``, ``zs = (z0, z1)``; only faces facing the
        camera are drawn (their union = the box's outline)."""
        (x0, x1), (y0, y1), (z0, z1) = xs, ys, zs
        cam = self.cam
        faces = {}

        def face(name, brightness, corners):  # a new part with the shaded colour, filled; ``name``: recorded
            pid = self.part(inst, _shade(color, brightness))
            self.quad3(corners, pid)
            if name:
                faces[name] = pid

        if cam.eye > y1:
            face("top", top, ((x0, y1, z0), (x1, y1, z0), (x1, y1, z1), (x0, y1, z1)))
        elif cam.eye < y0:
            face(None, top * 0.7, ((x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)))
        if cam.cam_x < x0:
            face("left", side, ((x0, y0, z0), (x0, y1, z0), (x0, y1, z1), (x0, y0, z1)))
        elif cam.cam_x > x1:
            face("right", side, ((x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)))
        face("front", front, ((x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0)))
        return faces


class _Wall:
    """A wall plane: back (z = D, along x) or left/right (x = const, along z).

    ``pt(s, y)`` maps a position ``s`` along the wall and a height ``y`` to a 3-D point.
    """

    def __init__(self, name: str, lo: float, hi: float, const: float):
        self.name, self.lo, self.hi, self.const = name, lo, hi, const
        self.floor_used: list[tuple[float, float]] = []  # intervals taken at floor level
        self.upper_used: list[tuple[float, float]] = []  # intervals taken at window height

    def pt(self, s: float, y: float) -> tuple[float, float, float]:
        if self.name == "back":
            return (s, y, self.const)
        return (self.const, y, s)

    def rect(self, s0, s1, y0, y1):
        return (self.pt(s0, y0), self.pt(s1, y0), self.pt(s1, y1), self.pt(s0, y1))

    def place(self, R: _Rand, width: float, layers: str, margin: float = 0.12, prefer=None) -> float | None:
        """Random free interval of ``width`` on this wall in the given layers ("floor", "upper", "both")."""
        used = (self.floor_used if layers in ("floor", "both") else []) + \
               (self.upper_used if layers in ("upper", "both") else [])
        lo, hi = self.lo + margin, self.hi - margin - width
        if hi <= lo:
            return None
        for attempt in range(8):
            s = R.u(lo, hi) if (prefer is None or attempt > 2) else min(max(prefer - width / 2, lo), hi)
            if all(s + width + margin <= a or s >= b + margin for a, b in used):
                if layers in ("floor", "both"):
                    self.floor_used.append((s, s + width))
                if layers in ("upper", "both"):
                    self.upper_used.append((s, s + width))
                return s
        return None


# --------------------------------------------------------------------------------------------------
# scene pieces


# the outdoor picture's colours by kind: ranges of the sky's top (RGB), the horizon (RGB) and the ground (HSV)
_OUTDOOR_COLOURS = {
    "day": (((45, 100), (115, 170), (215, 255)), ((160, 210), (200, 232), (240, 255)),
            ((0.22, 0.33), (0.35, 0.6), (0.35, 0.6))),
    "dusk": (((40, 90), (40, 80), (110, 160)), ((235, 255), (130, 185), (60, 120)),
             ((0.6, 0.8), (0.2, 0.4), (0.15, 0.3))),
    "night": (((4, 15), (8, 22), (30, 55)), ((25, 50), (35, 65), (85, 125)), ((0.6, 0.7), (0.3, 0.5), (0.06, 0.14))),
}


def _outdoor(R: _Rand, kind: str, size: int, horizon: float) -> np.ndarray:
    """What the windows look out on: a full-frame picture (H, W, 3) uint8 shown through the panes."""
    S = size
    top, hor, ground = ([R.u(a, b) for a, b in ranges] for ranges in _OUTDOOR_COLOURS[kind])  # drawn in this order
    ground = _hsv(*ground)
    # the sky gradient runs from about the window tops down to the horizon
    v = _grids(S)["rows"]
    v_top = horizon - R.u(0.3, 0.45) * S
    t = np.clip((v - v_top) / (horizon - v_top), 0.0, 1.0)[:, None]
    rows = (np.asarray(top, np.float32) * (1 - t) + np.asarray(hor, np.float32) * t).astype(np.uint8)
    out = np.empty((S, S, 3), np.uint8)
    out[:] = rows[:, None, :]
    if kind == "day":
        for _ in range(int(R.u(0, 4))):
            c = (int(R.u(0, S) * _ONE), int(R.u(0, horizon) * _ONE))
            axes = (int(R.u(0.06, 0.16) * S * _ONE), int(R.u(0.02, 0.05) * S * _ONE))
            cv2.ellipse(out, c, axes, 0, 0, 360, (250, 250, 252), -1, cv2.LINE_8, _SHIFT)
    elif kind == "night":
        for _ in range(int(R.u(4, 12))):
            x, y = int(R.u(0, S)), int(R.u(0, horizon))
            if 0 <= y < S:
                out[y, x] = (235, 235, 210)
        if R.coin(0.4):
            c = (int(R.u(0.1, 0.9) * S * _ONE), int(R.u(0.0, 0.35) * S * _ONE))
            cv2.circle(out, c, int(0.035 * S * _ONE) + _ONE, (240, 240, 215), -1, cv2.LINE_8, _SHIFT)
    else:
        c = (int(R.u(0.1, 0.9) * S * _ONE), int((horizon - R.u(0.0, 0.08) * S) * _ONE))
        cv2.circle(out, c, int(0.05 * S * _ONE) + _ONE, (255, 225, 150), -1, cv2.LINE_8, _SHIFT)
    # distant hills below the horizon (a little below eye level: the room is on an upper floor)
    g = horizon + R.u(0.1, 0.28) * S
    n = 5
    pts = [(0, S * _ONE)] + [
        (int(i * S / (n - 1) * _ONE), int((g - R.u(0.0, 0.06) * S) * _ONE)) for i in range(n)
    ] + [(S * _ONE, S * _ONE)]
    cv2.fillPoly(out, [np.array(pts, np.int32)], ground, cv2.LINE_8, _SHIFT)
    if kind == "night" and R.coin(0.6):
        for _ in range(int(R.u(3, 9))):
            x, y = int(R.u(0, S)), int(R.u(g, g + 0.12 * S))
            if 0 <= y < S:
                out[y, x] = (255, 210, 120)
    return out


def _frame_color(R: _Rand):
    k = R.weighted((0.7, 0.22, 0.08))
    if k == 0:
        return _hsv(R.u(0.08, 0.15), R.u(0.0, 0.08), R.u(0.9, 1.0))  # white paint
    if k == 1:
        return _hsv(R.u(0.05, 0.1), R.u(0.45, 0.7), R.u(0.35, 0.6))  # wood
    return _hsv(R.u(0.55, 0.65), R.u(0.0, 0.15), R.u(0.12, 0.25))  # dark metal


def _draw_window(cv: _Canvas, R: _Rand, wall: _Wall, span, height, look, ceiling) -> dict:
    """Frame + sill + panes (sky) + mullions (+ curtains) over ``span = (s0, s1)`` along the wall and
    ``height = (y0, y1)``; ``look = (frame colour, curtain colour or None, style)``. Returns its params."""
    (s0, s1), (y0, y1), (frame, curtain, style) = span, height, look
    cam = cv.cam
    win = cv.obj("window")
    zmid = wall.pt((s0 + s1) / 2, 0)[2]
    ppm = cam.ppm(zmid)
    th = max(1, cv.size // 64)
    # frame width in metres: at least one pixel across (for side walls: along the foreshortened axis)
    fw_y = max(0.07, 1.05 / ppm)
    if wall.name == "back":
        fw_s = fw_y
    else:  # along z the wall is foreshortened by roughly |x - cam_x| / z
        fore = max(abs(wall.const - cam.cam_x) / zmid, 0.2)
        fw_s = max(0.07, 1.05 / (ppm * fore))
    fw_s = min(fw_s, (s1 - s0) / 4)
    frame_pid = cv.part(win, frame)
    sill_pid = cv.part(win, _shade(frame, 1.12))
    pane_pid = cv.part(win, (0, 0, 0), pane=True)
    cv.quad3(wall.rect(s0, s1, y0, y1), frame_pid)
    # sill: a slightly wider strip under the window
    sill_h = max(0.05, 1.0 / ppm)
    cv.quad3(wall.rect(s0 - 0.05, s1 + 0.05, y0 - sill_h, y0 + 0.02), sill_pid)
    a0, a1, b0, b1 = s0 + fw_s, s1 - fw_s, y0 + fw_y, y1 - fw_y
    cv.quad3(wall.rect(a0, a1, b0, b1), pane_pid)
    p = cam.p
    # mullions: vertical bars (2 for wide windows) and a transom
    n_vert = style["n_vert"]
    for i in range(1, n_vert + 1):
        s = a0 + (a1 - a0) * i / (n_vert + 1)
        cv.line(p(*wall.pt(s, b0)), p(*wall.pt(s, b1)), frame_pid, th)
    if style["transom"]:
        y = b0 + (b1 - b0) * style["transom_at"]
        cv.line(p(*wall.pt(a0, y)), p(*wall.pt(a1, y)), frame_pid, th)
    if curtain is not None:
        cur = cv.obj("curtain")
        cpid = cv.part(cur, curtain)
        fold = cv.part(cur, _shade(curtain, 0.78))
        w = (s1 - s0) * R.u(0.05, 0.16)
        out = R.u(0.12, 0.3)
        top = min(y1 + R.u(0.08, 0.2), ceiling - 0.02)
        bottom = max(0.0, y0 - R.u(0.1, 0.6))
        for c0, c1 in ((s0 - out, s0 + w), (s1 - w, s1 + out)):
            cv.quad3(wall.rect(c0, c1, bottom, top), cpid)
            m = (c0 + c1) / 2
            cv.line(p(*wall.pt(m, bottom)), p(*wall.pt(m, top)), fold, 1)
        rod = cv.part(cur, _shade(frame, 0.6))
        cv.line(p(*wall.pt(s0 - out - 0.05, top)), p(*wall.pt(s1 + out + 0.05, top)), rod, th)
    return {"wall": wall.name, "span": [round(s0, 3), round(s1, 3)], "height": [round(y0, 3), round(y1, 3)],
            "mullions": n_vert, "transom": style["transom"], "curtains": curtain is not None}


def _draw_door(cv: _Canvas, R: _Rand, wall: _Wall, s0, s1, h, color, trim) -> None:
    door = cv.obj("door")
    cam = cv.cam
    zmid = wall.pt((s0 + s1) / 2, 0)[2]
    ppm = cam.ppm(zmid)
    t = max(0.06, 1.0 / ppm)
    cv.quad3(wall.rect(s0 - t, s1 + t, 0.0, h + t), cv.part(door, trim))
    leaf = cv.part(door, color)
    cv.quad3(wall.rect(s0, s1, 0.0, h), leaf)
    if ppm * (s1 - s0) > 6:  # panels only where there is room for them
        panel = cv.part(door, _shade(color, 0.85))
        m = (s1 - s0) * 0.2
        cv.quad3(wall.rect(s0 + m, s1 - m, h * 0.55, h * 0.9), panel)
        cv.quad3(wall.rect(s0 + m, s1 - m, h * 0.1, h * 0.45), panel)
    knob_s = s1 - (s1 - s0) * 0.15 if R.coin(0.5) else s0 + (s1 - s0) * 0.15
    cv.circle(cam.p(*wall.pt(knob_s, 1.0)), max(0.6, 0.04 * ppm), cv.part(door, (200, 170, 60)))


def _draw_picture(cv: _Canvas, R: _Rand, wall: _Wall, s0, s1, y0, y1) -> None:
    pic = cv.obj("picture")
    ppm = cv.cam.ppm(wall.pt((s0 + s1) / 2, 0)[2])
    frame = R.pick(((40, 30, 25), (150, 110, 60), (200, 170, 80), (30, 30, 35), (235, 235, 230)))
    cv.quad3(wall.rect(s0, s1, y0, y1), cv.part(pic, frame))
    m = max(0.04, 1.0 / ppm)
    a0, a1, b0, b1 = s0 + m, s1 - m, y0 + m, y1 - m
    # abstract art in muted, mid-dark colours (never bright sky with a cross: that is a window)
    base = _hsv(R.r(), R.u(0.3, 0.8), R.u(0.25, 0.65))
    cv.quad3(wall.rect(a0, a1, b0, b1), cv.part(pic, base))
    for _ in range(int(R.u(1, 3.99))):
        c = _hsv(R.r(), R.u(0.4, 0.9), R.u(0.2, 0.8))
        u0, u1 = sorted((R.u(a0, a1), R.u(a0, a1)))
        v0, v1 = sorted((R.u(b0, b1), R.u(b0, b1)))
        cv.quad3(wall.rect(u0, u1, v0, v1), cv.part(pic, c))


def _draw_bed(cv: _Canvas, R: _Rand, bed: dict) -> None:
    """Headboard, base, sheet section, pillows, blanket section: back to front for this camera."""
    inst = cv.obj("bed")
    x0, x1, z0, z1 = bed["x0"], bed["x1"], bed["z0"], bed["z1"]
    head = bed["head"]  # which wall the headboard touches: back / left / right
    hb_h, base_h, mat_h = bed["headboard_h"], bed["base_h"], bed["mattress_h"]
    wood, sheet, blanket, pillow = bed["wood"], bed["sheet"], bed["blanket"], bed["pillow"]
    t = 0.08
    # the head section (sheets) is 30-40% of the length; the blanket covers the rest and hangs a bit lower
    k = bed["sheet_frac"]
    top = base_h + mat_h
    if head == "back":
        cv.box3((x0 - 0.03, x1 + 0.03), (0.0, hb_h), (z1 - t, z1), inst, wood)
        cv.box3((x0, x1), (0.0, base_h), (z0, z1 - t), inst, wood)
        zs = z1 - t - (z1 - t - z0) * k
        cv.box3((x0, x1), (base_h, top), (zs, z1 - t), inst, sheet)
        n = bed["n_pillows"]
        pw = (x1 - x0 - 0.1) / n
        order = range(n) if cv.cam.cam_x > (x0 + x1) / 2 else range(n - 1, -1, -1)
        for i in order:  # farther pillow first
            px0 = x0 + 0.05 + i * pw
            cv.box3((px0 + 0.02, px0 + pw - 0.02), (top, top + 0.13), (z1 - t - 0.5, z1 - t - 0.08), inst, pillow,
                    front=0.85, side=0.75)
        cv.box3((x0 - 0.03, x1 + 0.03), (base_h - 0.08, top + 0.03), (z0 - 0.03, zs), inst, blanket)
        fold = cv.part(inst, _shade(blanket, 1.18))
        cv.quad3(((x0 - 0.03, top + 0.03, zs - 0.22), (x1 + 0.03, top + 0.03, zs - 0.22),
                  (x1 + 0.03, top + 0.03, zs), (x0 - 0.03, top + 0.03, zs)), fold)
    else:
        sgn = 1 if head == "left" else -1
        wx = x0 if head == "left" else x1  # wall side
        length = x1 - x0
        hx0, hx1 = (x0, x0 + t) if head == "left" else (x1 - t, x1)
        cv.box3((hx0, hx1), (0.0, hb_h), (z0 - 0.03, z1 + 0.03), inst, wood)
        bx0, bx1 = (x0 + t, x1) if head == "left" else (x0, x1 - t)
        cv.box3((bx0, bx1), (0.0, base_h), (z0, z1), inst, wood)
        xs = wx + sgn * (t + (length - t) * k)
        sx0, sx1 = sorted((wx + sgn * t, xs))
        cv.box3((sx0, sx1), (base_h, top), (z0, z1), inst, sheet)
        n = bed["n_pillows"]
        pw = (z1 - z0 - 0.1) / n
        for i in range(n - 1, -1, -1):  # larger z (farther) first
            pz0 = z0 + 0.05 + i * pw
            px0, px1 = sorted((wx + sgn * (t + 0.08), wx + sgn * (t + 0.5)))
            cv.box3((px0, px1), (top, top + 0.13), (pz0 + 0.02, pz0 + pw - 0.02), inst, pillow, front=0.85, side=0.75)
        fx0, fx1 = sorted((xs, (x1 + 0.03) if head == "left" else (x0 - 0.03)))
        cv.box3((fx0, fx1), (base_h - 0.08, top + 0.03), (z0 - 0.03, z1 + 0.03), inst, blanket)
        fold = cv.part(inst, _shade(blanket, 1.18))
        gx0, gx1 = sorted((xs, xs + sgn * 0.22))
        cv.quad3(((gx0, top + 0.03, z0 - 0.03), (gx1, top + 0.03, z0 - 0.03),
                  (gx1, top + 0.03, z1 + 0.03), (gx0, top + 0.03, z1 + 0.03)), fold)


def _draw_nightstand(cv: _Canvas, R: _Rand, ns: dict) -> None:
    inst = cv.obj("nightstand")
    x0, x1, z0, z1, h = ns["x0"], ns["x1"], ns["z0"], ns["z1"], ns["h"]
    cv.box3((x0, x1), (0.0, h), (z0, z1), inst, ns["color"])
    cam = cv.cam
    if cam.ppm(z0) * (x1 - x0) > 5:  # drawer line and knob where they fit
        line = cv.part(inst, _shade(ns["color"], 0.55))
        cv.line(cam.p(x0 + 0.03, h * 0.62, z0), cam.p(x1 - 0.03, h * 0.62, z0), line, 1)
        cv.circle(cam.p((x0 + x1) / 2, h * 0.8, z0), 0.6, line)


def _draw_lamp(cv: _Canvas, lamp: dict) -> tuple[float, float]:
    """Table or floor lamp: a stem and a shade (a trapezoid at the lamp's depth). Returns the shade centre."""
    inst = cv.obj("lamp")
    cam = cv.cam
    x, z, y0, y1, sh = lamp["x"], lamp["z"], lamp["y0"], lamp["y1"], lamp["shade_h"]
    ppm = cam.ppm(z)
    th = max(1, int(round(0.035 * ppm)))
    stem = cv.part(inst, lamp["base"])
    cv.line(cam.p(x, y0, z), cam.p(x, y1, z), stem, th)
    if lamp["kind"] == "table":
        cv.box3((x - 0.07, x + 0.07), (y0, y0 + 0.05), (z - 0.07, z + 0.07), inst, lamp["base"])
    shade = cv.part(inst, lamp["shade"], emissive=lamp["on"])
    rb, rt = lamp["shade_r"], lamp["shade_r"] * 0.65
    ub, vb = cam.p(x, y1, z)
    ut, vt = cam.p(x, y1 + sh, z)
    cv.poly(((ub - rb * ppm, vb), (ub + rb * ppm, vb), (ut + rt * ppm, vt), (ut - rt * ppm, vt)), shade)
    return (ub + ut) / 2, (vb + vt) / 2


def _draw_rug(cv: _Canvas, rug: dict) -> None:
    inst = cv.obj("rug")
    x0, x1, z0, z1 = rug["x0"], rug["x1"], rug["z0"], rug["z1"]
    y = 0.0
    cv.quad3(((x0, y, z0), (x1, y, z0), (x1, y, z1), (x0, y, z1)), cv.part(inst, rug["border"]))
    b = rug["border_w"]
    cv.quad3(((x0 + b, y, z0 + b), (x1 - b, y, z0 + b), (x1 - b, y, z1 - b), (x0 + b, y, z1 - b)),
             cv.part(inst, rug["color"]))


def _before(a: dict, b: dict, cam_x: float) -> bool:
    """True if floor object ``a`` must be drawn before ``b`` (a separating plane puts ``a`` behind ``b``)."""
    if a["z0"] >= b["z1"]:
        return True
    if b["z0"] >= a["z1"]:
        return False
    if a["x1"] <= b["x0"]:  # a left of b: the one on the far side of the plane x = a.x1 is behind
        return cam_x >= a["x1"]
    if b["x1"] <= a["x0"]:
        return cam_x < b["x1"]
    return False


def _back_to_front(items: list[dict], cam_x: float) -> list[dict]:
    rest, out = list(items), []
    while rest:
        for i, a in enumerate(rest):
            if not any(_before(b, a, cam_x) for j, b in enumerate(rest) if j != i):
                out.append(rest.pop(i))
                break
        else:  # no strict order (should not happen for disjoint footprints): keep the given order
            out.append(rest.pop(0))
    return out


# --------------------------------------------------------------------------------------------------
# the scene


@dataclass
class RoomSample:
    """One scene with its ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        labels: (H, W) uint8, indices into ``ROOM_CLASSES``; each pixel's label is the object it shows.
        boxes: one dict per visible object (not for wall/floor/ceiling): ``{"class": "window",
            "box": (x0, y0, x1, y1)}``, ints, x1/y1 exclusive, the tight box of that object's visible
            label pixels. Objects drawn but fully hidden are left out.
        params: JSON-serialisable scene parameters (room, camera, sky, windows, bed, colours, ...).
    """

    image: np.ndarray
    labels: np.ndarray
    boxes: list[dict]
    params: dict


def _check_index(index, name: str = "index", n: int | None = None) -> int:
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{name}: expected a non-negative int, got {type(index).__name__} {index!r}")
    index = int(index)
    if index < 0 or (n is not None and index >= n):
        accepted = "a non-negative int" if n is None else f"an int in [0, {n})"
        raise _IndexValueError(f"{name}: expected {accepted}, got {index}")
    return index


class _IndexValueError(IndexError, ValueError):
    """Out-of-range index. A ValueError as documented, and an IndexError so that the legacy
    ``for x in dataset`` protocol stops at the end instead of failing."""


def _check_size(size) -> int:
    if isinstance(size, bool) or size not in SIZES:
        raise ValueError(f"size: expected one of {SIZES}, got {size!r}")
    return int(size)


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    return int(seed)


def render_room(index: int, seed: int = 0, size: int = 64) -> RoomSample:
    """Render bedroom scene number ``index`` of the family ``seed`` at ``size`` x ``size`` pixels.

    Deterministic: the scene depends only on (seed, index) (randomness from
    ``np.random.default_rng([seed, index])``); the same scene at another size has the same layout.
    Raises ValueError naming the argument for a negative index or seed, or size not in (32, 64, 128).

    The steps below draw from one random stream in a fixed order (layout first, then drawing, lighting and sky),
    so their order is part of the dataset's definition.
    """
    index = _check_index(index)
    seed = _check_seed(seed)
    size = _check_size(size)
    R = _Rand(np.random.default_rng([seed, index]))
    sc = _room_and_camera(R, size)
    _draw_shell(sc, R)
    _place_bed(sc, R)
    _place_nightstands_and_lamp(sc, R)
    _place_door(sc, R)
    _place_windows(sc, R)
    _place_picture(sc, R)
    _place_rug(sc, R)
    windows, glow_at = _draw_objects(sc, R)
    image, labels, inst, lighting = _light_and_sky(sc, R, glow_at)
    boxes = _visible_boxes(sc.cv, inst)
    return RoomSample(image=image, labels=labels, boxes=boxes,
                      params=_scene_params(sc, index, seed, windows, boxes, lighting))


class _Scene:
    """The state the drawing steps of ``render_room`` share (room geometry in metres, camera, canvas, layout)."""


def _room_and_camera(R: _Rand, S: int) -> _Scene:
    """Room size, camera and canvas, the sky outside and the room's colours. A lens shift (cy above the centre)
    shows more floor and bed."""
    sc = _Scene()
    sc.S = S
    sc.W, sc.H, sc.D = R.u(3.2, 4.8), R.u(2.4, 2.9), R.u(3.8, 5.6)
    sc.xl, sc.xr = -sc.W / 2, sc.W / 2
    sc.cam_x = R.u(-0.22, 0.22) * sc.W
    sc.eye = R.u(1.25, 1.7)
    wfrac = R.u(0.5, 0.7)  # share of the image width taken by the back wall
    sc.f = wfrac * S * sc.D / sc.W
    sc.cx = S * (0.5 + R.u(-0.04, 0.04))
    sc.cy = S * R.u(0.36, 0.46)
    sc.cam = _Camera(sc.f, sc.cx, sc.cy, sc.cam_x, sc.eye)
    sc.cv = _Canvas(S, sc.cam)
    sc.kind = _SKY_KINDS[R.weighted(_SKY_P)]
    sc.wall_c = _hsv(R.r(), R.u(0.05, 0.45), R.u(0.6, 0.92))
    if R.coin(0.65):  # wooden floor
        sc.floor_kind = "wood"
        sc.floor_c = _hsv(R.u(0.05, 0.11), R.u(0.4, 0.7), R.u(0.35, 0.72))
    else:
        sc.floor_kind = "carpet"
        sc.floor_c = _hsv(R.r(), R.u(0.05, 0.35), R.u(0.3, 0.7))
    sc.ceil_c = _hsv(R.u(0.08, 0.15), R.u(0.0, 0.08), R.u(0.86, 1.0))
    sc.side_l, sc.side_r = ((R.u(0.72, 0.85), R.u(0.85, 0.95)) if R.coin(0.5)
                            else (R.u(0.85, 0.95), R.u(0.72, 0.85)))
    return sc


def _draw_shell(sc: _Scene, R: _Rand) -> None:
    """Walls, ceiling, floor (planks), skirting boards; then the visible stretch of each wall (``sc.walls``).
    Part 0 (the initial value of the map) is the back wall."""
    cv, cam, xl, xr, H, D = sc.cv, sc.cam, sc.xl, sc.xr, sc.H, sc.D
    i_wall, i_floor, i_ceil = cv.obj("wall"), cv.obj("floor"), cv.obj("ceiling")
    cv.part(i_wall, sc.wall_c)
    zn = 0.08  # near end of the side planes: far outside the image, fillConvexPoly clips
    cv.quad3(((xl, H, zn), (xr, H, zn), (xr, H, D), (xl, H, D)), cv.part(i_ceil, _shade(sc.ceil_c, 0.93)))
    floor_pid = cv.part(i_floor, sc.floor_c)
    cv.quad3(((xl, 0, zn), (xr, 0, zn), (xr, 0, D), (xl, 0, D)), floor_pid)
    cv.quad3(((xl, 0, zn), (xl, H, zn), (xl, H, D), (xl, 0, D)), cv.part(i_wall, _shade(sc.wall_c, sc.side_l)))
    cv.quad3(((xr, 0, zn), (xr, H, zn), (xr, H, D), (xr, 0, D)), cv.part(i_wall, _shade(sc.wall_c, sc.side_r)))
    if sc.floor_kind == "wood":  # planks: lines converging to the vanishing point
        seam = cv.part(i_floor, _shade(sc.floor_c, 0.8))
        pw = R.u(0.25, 0.45)
        x = xl + pw * R.r()
        while x < xr:
            cv.line(cam.p(x, 0, D), cam.p(x, 0, 0.3), seam, 1)
            x += pw
    # skirting boards along the bottom of the walls
    skirt = _shade(sc.wall_c, 0.75) if R.coin(0.5) else _hsv(0.1, 0.03, 0.95)
    sk = cv.part(i_wall, skirt)
    sk_h = max(0.08, 1.0 / cam.ppm(D))
    cv.quad3(((xl, 0, D), (xr, 0, D), (xr, sk_h, D), (xl, sk_h, D)), sk)
    cv.quad3(((xl, 0, zn), (xl, 0, D), (xl, sk_h, D), (xl, sk_h, zn)), sk)
    cv.quad3(((xr, 0, zn), (xr, 0, D), (xr, sk_h, D), (xr, sk_h, zn)), sk)
    # visible stretch of the side walls (z from where they enter the image to the back wall)
    z_vis_l = max(sc.f * (sc.cam_x - xl) / max(sc.cx, 1.0), 0.3)
    z_vis_r = max(sc.f * (xr - sc.cam_x) / max(sc.S - sc.cx, 1.0), 0.3)
    sc.walls = {"back": _Wall("back", xl, xr, D), "left": _Wall("left", z_vis_l, D, xl),
                "right": _Wall("right", z_vis_r, D, xr)}


def _place_bed(sc: _Scene, R: _Rand) -> None:
    """The bed, placed first (everything else avoids it): its head against the back wall or a side wall."""
    walls, xl, xr, D, W = sc.walls, sc.xl, sc.xr, sc.D, sc.W
    head = R.pick(("back", "back", "back", "left", "right"))
    sc.double = R.coin(0.7)
    bw = R.u(1.35, 1.8) if sc.double else R.u(0.9, 1.1)
    bl = R.u(1.95, 2.15)
    bed = {"head": head, "headboard_h": R.u(0.75, 1.2), "base_h": R.u(0.25, 0.38), "mattress_h": R.u(0.16, 0.24),
           "sheet_frac": R.u(0.3, 0.4), "n_pillows": 2 if sc.double else 1}
    if head != "back" and D - walls[head].lo < bw + 0.3:
        head = bed["head"] = "back"
    if head == "back":
        prefer = R.u(-0.25, 0.25) * W
        lo, hi = xl + 0.55, xr - 0.55 - bw
        s = min(max(prefer - bw / 2, lo), hi) if hi > lo else xl + (W - bw) / 2
        walls["back"].floor_used.append((s - 0.55, s + bw + 0.55))
        bed.update(x0=s, x1=s + bw, z0=D - bl, z1=D)
        sc.bed_wall = walls["back"]
        sc.bed_span = (s, s + bw)
    else:
        wall = walls[head]
        z1 = D - R.u(0.5, max(0.55, min(1.2, D - wall.lo - bw - 0.1)))
        z0 = z1 - bw
        wall.floor_used.append((z0 - 0.55, z1 + 0.55))
        if head == "left":
            bed.update(x0=xl, x1=xl + bl, z0=z0, z1=z1)
        else:
            bed.update(x0=xr - bl, x1=xr, z0=z0, z1=z1)
        sc.bed_wall = wall
        sc.bed_span = (z0, z1)
    sc.blanket = blanket = _hsv(R.r(), R.u(0.3, 0.8), R.u(0.45, 0.9))
    bed.update(
        wood=_hsv(R.u(0.05, 0.1), R.u(0.35, 0.7), R.u(0.25, 0.6)) if R.coin(0.7) else _hsv(R.r(), R.u(0.1, 0.4),
                                                                                             R.u(0.3, 0.8)),
        sheet=_hsv(R.u(0.1, 0.6), R.u(0.0, 0.12), R.u(0.88, 1.0)),
        blanket=blanket,
        pillow=_hsv(R.u(0.1, 0.6), R.u(0.0, 0.1), R.u(0.92, 1.0)) if R.coin(0.7) else _shade(blanket, 1.25),
    )
    sc.head, sc.bed = head, bed
    sc.floor_items = [dict(bed, type="bed")]


def _place_nightstands_and_lamp(sc: _Scene, R: _Rand) -> None:
    """Nightstands beside the head of the bed (same wall), maybe a lamp on one of them or a floor lamp."""
    bed, head, walls, xl, xr, D = sc.bed, sc.head, sc.walls, sc.xl, sc.xr, sc.D
    ns_c = _hsv(R.u(0.05, 0.1), R.u(0.35, 0.65), R.u(0.3, 0.65)) if R.coin(0.6) else _hsv(0.1, 0.04, R.u(0.85, 0.97))
    n_ns = R.weighted((0.25, 0.45, 0.30))
    sides = [-1, 1] if n_ns == 2 else ([R.pick((-1, 1))] if n_ns == 1 else [])
    nightstands = []
    nsw, nsd, nsh = R.u(0.4, 0.5), R.u(0.35, 0.45), R.u(0.5, 0.62)
    for sd in sides:
        if head == "back":
            a = bed["x0"] - 0.05 - nsw if sd < 0 else bed["x1"] + 0.05
            if a < xl + 0.02 or a + nsw > xr - 0.02:
                continue
            ns = dict(x0=a, x1=a + nsw, z0=D - nsd, z1=D)
        else:
            a = bed["z0"] - 0.05 - nsw if sd < 0 else bed["z1"] + 0.05
            if a < max(walls[head].lo - 0.3, 0.5) or a + nsw > D - 0.02:
                continue
            ns = dict(x0=xl, x1=xl + nsd, z0=a, z1=a + nsw) if head == "left" else dict(x0=xr - nsd, x1=xr, z0=a,
                                                                                         z1=a + nsw)
        ns.update(type="nightstand", h=nsh, color=ns_c)
        nightstands.append(ns)
    sc.floor_items += nightstands
    sc.nightstands = nightstands

    lamp_on = sc.kind != "day" or R.coin(0.3)
    lamp_shade = _hsv(R.u(0.08, 0.15), R.u(0.1, 0.35), R.u(0.85, 1.0)) if lamp_on or R.coin(0.6) else \
        _hsv(R.r(), R.u(0.3, 0.6), R.u(0.5, 0.8))
    lamp = None
    if nightstands and R.coin(0.75):
        ns = R.pick(nightstands)
        lamp = dict(kind="table", x=(ns["x0"] + ns["x1"]) / 2, z=(ns["z0"] + ns["z1"]) / 2, y0=ns["h"],
                    y1=ns["h"] + R.u(0.2, 0.35), shade_h=R.u(0.18, 0.26), shade_r=R.u(0.12, 0.17))
        ns["lamp"] = lamp
    elif R.coin(0.35):  # floor lamp in a back corner
        x = xl + 0.3 if R.coin(0.5) else xr - 0.3
        item = dict(type="floor_lamp", x0=x - 0.2, x1=x + 0.2, z0=D - 0.5, z1=D - 0.1)
        if not any(not (item["x1"] <= b["x0"] or b["x1"] <= item["x0"] or item["z1"] <= b["z0"]
                        or b["z1"] <= item["z0"]) for b in sc.floor_items):
            lamp = dict(kind="floor", x=x, z=D - 0.3, y0=0.0, y1=R.u(1.25, 1.5), shade_h=R.u(0.25, 0.35),
                        shade_r=R.u(0.15, 0.2))
            item["lamp"] = lamp
            sc.floor_items.append(item)
    if lamp is not None:
        lamp.update(on=lamp_on, shade=lamp_shade, base=R.pick(((40, 40, 45), (180, 150, 80), (220, 220, 215))))
    sc.lamp = lamp


def _place_door(sc: _Scene, R: _Rand) -> None:
    """A door (floor + upper layers) on the back wall or a side wall, if there is room: ``sc.door_wall``."""
    sc.door_wall = None
    if R.coin(0.45):
        dw = R.u(0.8, 0.95)
        for name in (R.pick(("back", "left", "right")), "back"):
            s = sc.walls[name].place(R, dw, "both", margin=0.25)
            if s is not None:
                sc.door_wall = (name, s, s + dw)
                break


def _place_windows(sc: _Scene, R: _Rand) -> None:
    """Windows (upper layer): the count is drawn first, then each is placed if there is room (``sc.win_specs``)."""
    n_req = R.weighted(_N_WINDOWS_P)
    sc.frame = _frame_color(R)
    sc.curtains_c = _hsv(R.r(), R.u(0.25, 0.7), R.u(0.35, 0.85)) if R.coin(0.5) else None
    sc.win_specs = []
    for _ in range(n_req):
        name = R.pick(("back", "back", "back", "left", "right"))
        wall = sc.walls[name]
        width = R.u(1.2, 2.2) if name == "back" else R.u(0.9, 1.5)
        y0 = R.u(0.6, 0.95)
        y1 = min(sc.H - 0.1, y0 + R.u(1.3, 1.8))
        pad = 0.35 if sc.curtains_c is not None else 0.1
        s = wall.place(R, width + 2 * pad, "upper", margin=0.1)
        if s is None and name != "back":
            wall = sc.walls["back"]
            s = wall.place(R, width + 2 * pad, "upper", margin=0.1)
        if s is None:
            continue
        n_vert = 2 if width > 1.45 and R.coin(0.6) else (1 if R.coin(0.85) else 0)
        style = {"n_vert": n_vert, "transom": n_vert == 0 or R.coin(0.75), "transom_at": R.u(0.45, 0.7)}
        sc.win_specs.append((wall, s + pad, s + pad + width, y0, y1, style))


def _place_picture(sc: _Scene, R: _Rand) -> None:
    """A picture (upper layer): above the bed if there is room, else anywhere (``sc.picture``)."""
    sc.picture = None
    if R.coin(0.55):
        pw_, ph_ = R.u(0.45, 1.0), R.u(0.35, 0.7)
        prefer = (sc.bed_span[0] + sc.bed_span[1]) / 2
        s = sc.bed_wall.place(R, pw_, "upper", margin=0.1, prefer=prefer)
        pwall = sc.bed_wall
        if s is None:
            pwall = sc.walls[R.pick(("back", "left", "right"))]
            s = pwall.place(R, pw_, "upper", margin=0.1)
        if s is not None:
            y0 = max(sc.bed["headboard_h"] + 0.15, R.u(1.2, 1.45)) if pwall is sc.bed_wall else R.u(1.2, 1.5)
            sc.picture = (pwall, s, s + pw_, y0, min(y0 + ph_, sc.H - 0.1))


def _place_rug(sc: _Scene, R: _Rand) -> None:
    """A rug on the floor in front of / beside the bed (``sc.rug``)."""
    sc.rug = None
    bed = sc.bed
    if R.coin(0.45):
        rw, rl = R.u(1.2, 2.2), R.u(0.8, 1.6)
        cx_r = (bed["x0"] + bed["x1"]) / 2 + R.u(-0.3, 0.3)
        cz_r = bed["z0"] + R.u(-0.2, 0.4) if sc.head == "back" else (bed["z0"] + bed["z1"]) / 2 + R.u(-0.3, 0.3)
        sc.rug = dict(x0=max(sc.xl + 0.05, cx_r - rw / 2), x1=min(sc.xr - 0.05, cx_r + rw / 2),
                      z0=max(0.5, cz_r - rl / 2), z1=min(sc.D - 0.05, cz_r + rl / 2),
                      color=_hsv(R.r(), R.u(0.3, 0.7), R.u(0.3, 0.75)),
                      border=_hsv(R.r(), R.u(0.2, 0.6), R.u(0.2, 0.8)), border_w=R.u(0.06, 0.14))


def _draw_objects(sc: _Scene, R: _Rand) -> tuple[list[dict], tuple[float, float] | None]:
    """Draw back to front: door, windows, picture, rug, then the furniture by depth. Returns the windows' parameters
    and the image position of a lit lamp (None without one)."""
    cv = sc.cv
    door_c = _hsv(R.u(0.05, 0.1), R.u(0.35, 0.65), R.u(0.3, 0.6)) if R.coin(0.6) else _hsv(0.1, 0.03, R.u(0.85, 0.97))
    if sc.door_wall is not None:
        name, s0, s1 = sc.door_wall
        _draw_door(cv, R, sc.walls[name], s0, s1, R.u(1.95, 2.1), door_c, _shade(door_c, 0.82))
    windows = []
    for wall, s0, s1, y0, y1, style in sc.win_specs:
        windows.append(_draw_window(cv, R, wall, (s0, s1), (y0, y1), (sc.frame, sc.curtains_c, style), sc.H))
    if sc.picture is not None:
        _draw_picture(cv, R, *sc.picture)
    if sc.rug is not None:
        _draw_rug(cv, sc.rug)
    glow_at = None
    for item in _back_to_front(sc.floor_items, sc.cam_x):
        if item["type"] == "bed":
            _draw_bed(cv, R, item)
        elif item["type"] == "nightstand":
            _draw_nightstand(cv, R, item)
        if "lamp" in item:
            c = _draw_lamp(cv, item["lamp"])
            if item["lamp"]["on"]:
                glow_at = c
    return windows, glow_at


def _light_and_sky(sc: _Scene, R: _Rand, glow_at) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Part map -> labels, instances and flat colours; lighting (ambient x tint x (gradient, vignette) + warm lamp
    glow; emissive parts unlit); the sky through the visible panes. Returns (image, labels, instances, lighting)."""
    cv, S, kind = sc.cv, sc.S, sc.kind
    parts = cv.parts
    lut = cv.luts()
    labels = cv2.LUT(parts, lut[3])
    inst = cv2.LUT(parts, lut[4])
    base = cv2.merge((cv2.LUT(parts, lut[0]), cv2.LUT(parts, lut[1]), cv2.LUT(parts, lut[2])))
    g = _grids(S)
    if kind == "day":
        amb, tint = R.u(0.95, 1.12), (1.0, 1.0, 1.0)
    elif kind == "dusk":
        amb, tint = R.u(0.72, 0.88), (1.06, 0.96, 0.84)
    else:
        amb, tint = R.u(0.42, 0.58) if glow_at is not None else R.u(0.55, 0.68), (0.9, 0.95, 1.08)
    gx, gy = R.u(-0.3, 0.3), R.u(-0.3, 0.05)
    light = (amb + (amb * gx) * g["u"] + (amb * gy) * g["v"]) * g["vignette"]
    chans = [light * t for t in tint]
    glow_strength = 0.0
    if glow_at is not None:
        glow_strength = {"day": 0.15, "dusk": 0.45, "night": 0.75}[kind] * R.u(0.8, 1.2)
        u0 = min(max(int(round(glow_at[0])), 0), S)
        v0 = min(max(int(round(glow_at[1])), 0), S)
        glow = g["glow"][S - v0:2 * S - v0, S - u0:2 * S - u0]
        chans = [c + glow * (w * glow_strength) for c, w in zip(chans, (1.0, 0.82, 0.55))]
    image = cv2.multiply(base, cv2.merge(chans), dtype=cv2.CV_8U)  # saturates at 255
    if cv.has_emissive:  # lamp shades glow: keep their own colour
        np.copyto(image, base, where=cv2.LUT(parts, lut[5]).view(bool)[:, :, None])
    if cv.has_pane:
        pane = cv2.LUT(parts, lut[6])
        if cv2.countNonZero(pane):
            np.copyto(image, _outdoor(R, kind, S, sc.cy), where=pane.view(bool)[:, :, None])
    lighting = {"ambient": round(amb, 4), "gradient": [round(gx, 4), round(gy, 4)],
                "lamp_glow": round(glow_strength, 4)}
    return image, labels, inst, lighting


def _visible_boxes(cv: _Canvas, inst: np.ndarray) -> list[dict]:
    """The tight box of each object's visible pixels (objects fully hidden are left out; not wall/floor/ceiling)."""
    boxes = []
    for k, cls in enumerate(cv.objects):
        if cls in _STUFF:
            continue
        x, y, w, h = cv2.boundingRect((inst == k).view(np.uint8))
        if w > 0:
            boxes.append({"class": cls, "box": (x, y, x + w, y + h)})
    return boxes


def _scene_params(sc: _Scene, index: int, seed: int, windows: list, boxes: list, lighting: dict) -> dict:
    """JSON-serialisable parameters of the scene (RoomSample.params)."""
    return {
        "index": index, "seed": seed, "size": sc.S, "version": RENDER_VERSION,
        "room": {"width": round(sc.W, 4), "height": round(sc.H, 4), "depth": round(sc.D, 4)},
        "camera": {"x": round(sc.cam_x, 4), "eye_height": round(sc.eye, 4), "focal_px": round(sc.f, 4),
                   "principal_point": [round(sc.cx, 3), round(sc.cy, 3)]},
        "sky": sc.kind,
        "n_windows": len(windows),
        "n_visible_windows": sum(b["class"] == "window" for b in boxes),
        "windows": windows,
        "bed": {"head_wall": sc.head, "double": sc.double, "n_pillows": sc.bed["n_pillows"]},
        "n_nightstands": len(sc.nightstands),
        "lamp": None if sc.lamp is None else {"kind": sc.lamp["kind"], "on": sc.lamp["on"]},
        "door": None if sc.door_wall is None else sc.door_wall[0],
        "picture": None if sc.picture is None else sc.picture[0].name,
        "rug": sc.rug is not None,
        "floor": sc.floor_kind,
        "colors": {"wall": list(sc.wall_c), "floor": list(sc.floor_c), "ceiling": list(sc.ceil_c),
                   "blanket": list(sc.blanket), "window_frame": list(sc.frame),
                   "curtains": None if sc.curtains_c is None else list(sc.curtains_c)},
        "lighting": lighting,
    }


# --------------------------------------------------------------------------------------------------
# dataset


class RoomsDataset(torch.utils.data.Dataset):
    """``n`` procedural bedroom scenes; ``ds[i] -> (image float32 (3, H, W) in [-1, 1], 0)``.

    The 0 is a dummy class (torchvision style). ``sample(i)`` gives the full ground truth
    (:class:`RoomSample`), ``label_maps(indices)`` the label maps as (len, H, W) uint8.

    Args:
        n: number of scenes (indices 0..n-1 of the family ``seed``).
        size: 32, 64 or 128.
        seed: the scene family; scene i is ``render_room(i, seed, size)``.
        cache: a directory (files named by seed, n, size and renderer version) or a path ending in
            ``.npy`` for the images (labels beside it as ``<stem>.labels.npy``, metadata as
            ``<stem>.json``). If no valid cache exists when the dataset is created, all n scenes
            are rendered to uint8 ``.npy`` files (images (n, H, W, 3), labels (n, H, W)) written
            to temporary files and moved into place (the JSON last), so an interrupted build never
            leaves a cache that looks valid; afterwards the files are memory-mapped. A cache whose
            metadata (n, size, seed, renderer version) or shapes do not match is rebuilt.
            Boxes and params are not cached: ``sample(i)`` re-renders scene i.
    """

    name = "rooms"
    classes = ROOM_CLASSES

    def __init__(self, n: int = 50_000, size: int = 64, seed: int = 0, cache: str | os.PathLike | None = None):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"n: expected a positive int, got {n!r}")
        self.n = int(n)
        self.size = _check_size(size)
        self.seed = _check_seed(seed)
        self.cache = None if cache is None else Path(cache)
        self._images = self._labels = None
        if self.cache is not None:
            self._paths = self._cache_paths(self.cache)
            if not self._cache_valid():
                self._build_cache()

    # -- cache
    def _meta(self) -> dict:
        return {"dataset": self.name, "n": self.n, "size": self.size, "seed": self.seed, "version": RENDER_VERSION}

    def _cache_paths(self, cache: Path) -> tuple[Path, Path, Path]:
        if cache.suffix == ".npy":
            stem = cache.with_suffix("")
            return cache, stem.with_name(stem.name + ".labels.npy"), stem.with_suffix(".json")
        stem = cache / f"rooms_seed{self.seed}_n{self.n}_{self.size}px_v{RENDER_VERSION}"
        return stem.with_name(stem.name + ".images.npy"), stem.with_name(stem.name + ".labels.npy"), \
            stem.with_suffix(".json")

    def _cache_valid(self) -> bool:
        img_p, lab_p, meta_p = self._paths
        try:
            meta = json.loads(meta_p.read_text())
            images = np.load(img_p, mmap_mode="r")
            labels = np.load(lab_p, mmap_mode="r")
        except (OSError, ValueError):
            return False
        S = self.size
        return (meta == self._meta() and images.dtype == np.uint8 and labels.dtype == np.uint8
                and images.shape == (self.n, S, S, 3) and labels.shape == (self.n, S, S))

    def _build_cache(self) -> None:
        img_p, lab_p, meta_p = self._paths
        img_p.parent.mkdir(parents=True, exist_ok=True)
        meta_p.unlink(missing_ok=True)  # the metadata is written last: without it the cache is invalid
        S, tag = self.size, f".tmp-{os.getpid()}"
        tmp_img, tmp_lab = img_p.with_name(img_p.name + tag), lab_p.with_name(lab_p.name + tag)
        try:
            images = np.lib.format.open_memmap(tmp_img, mode="w+", dtype=np.uint8, shape=(self.n, S, S, 3))
            labels = np.lib.format.open_memmap(tmp_lab, mode="w+", dtype=np.uint8, shape=(self.n, S, S))
            for i in range(self.n):
                s = render_room(i, self.seed, S)
                images[i] = s.image
                labels[i] = s.labels
            images.flush()
            labels.flush()
            del images, labels
            os.replace(tmp_img, img_p)
            os.replace(tmp_lab, lab_p)
            tmp_meta = meta_p.with_name(meta_p.name + tag)
            tmp_meta.write_text(json.dumps(self._meta()))
            os.replace(tmp_meta, meta_p)
        finally:
            for p in (tmp_img, tmp_lab):
                p.unlink(missing_ok=True)

    def _arrays(self):
        if self._images is None:
            img_p, lab_p, _ = self._paths
            self._images = np.load(img_p, mmap_mode="r")
            self._labels = np.load(lab_p, mmap_mode="r")
        return self._images, self._labels

    def __getstate__(self):  # worker processes re-open the memory maps instead of pickling the data
        state = self.__dict__.copy()
        state["_images"] = state["_labels"] = None
        return state

    # -- access
    def __len__(self) -> int:
        return self.n

    def _index(self, i) -> int:
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"index: expected an int, got {type(i).__name__}") from None
        return _check_index(i, "index", self.n)

    def image(self, i) -> np.ndarray:
        """Scene i as (H, W, 3) uint8."""
        i = self._index(i)
        if self.cache is not None:
            return np.array(self._arrays()[0][i])
        return render_room(i, self.seed, self.size).image

    def __getitem__(self, i) -> tuple[torch.Tensor, int]:
        return from_uint8(self.image(i), channels_last=True), 0

    def sample(self, i) -> RoomSample:
        """Full ground truth of scene i (always rendered: boxes and params are not cached)."""
        return render_room(self._index(i), self.seed, self.size)

    def label_maps(self, indices) -> np.ndarray:
        """Label maps of the given scenes: (len(indices), H, W) uint8, indices into ROOM_CLASSES."""
        idx = [self._index(i) for i in np.asarray(indices).reshape(-1).tolist()] \
            if not isinstance(indices, (int, np.integer)) else [self._index(indices)]
        S = self.size
        out = np.empty((len(idx), S, S), np.uint8)
        if self.cache is not None:
            labels = self._arrays()[1]
            for j, i in enumerate(idx):
                out[j] = labels[i]
        else:
            for j, i in enumerate(idx):
                out[j] = render_room(i, self.seed, S).labels
        return out

    def __repr__(self) -> str:
        return f"RoomsDataset(n={self.n}, size={self.size}, seed={self.seed}, cache={self.cache})"
