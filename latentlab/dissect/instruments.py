"""Instruments: what reads how much of an object an image shows, pluggable into :class:`~.forget_object.Forget`.

An instrument has a ``name`` (said beside every number it measured) and ``read(images) -> (N,) float``: the
share of each image it sees as the object. Three kinds:

- :class:`SegmenterInstrument`: a judge's per-pixel class map (the room segmenter), share of ``label`` pixels;
- :class:`DetectorInstrument`: the window detector's per-region window share (``judges.windows.WindowDetector``);
- :class:`BoxInstrument`: needs nothing but the user's boxes: a small fully-convolutional patch classifier
  fitted on them (cells inside a box are the object, every other cell is not), so a model nobody here trained,
  with a label no judge knows (glasses), can be measured. ``read`` gives the share of cells it calls the object,
  ``read_in(images, boxes)`` the share of the given boxes' cells it still calls the object.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .boxes import boxes_to_grid
from .removal import class_index, object_masks

__all__ = ["SegmenterInstrument", "DetectorInstrument", "BoxInstrument", "check_instrument"]


def check_instrument(instrument, name: str = "instrument"):
    """An object with ``name`` and a callable ``read(images)``, else TypeError naming the argument."""
    if not callable(getattr(instrument, "read", None)) or not isinstance(getattr(instrument, "name", None), str):
        raise TypeError(f"{name}: expected an instrument with .name and .read(images) -> (N,) shares "
                        f"(SegmenterInstrument, DetectorInstrument, BoxInstrument), got {type(instrument).__name__}")
    return instrument


class SegmenterInstrument:
    """The share of ``label`` pixels in a segmenter's class map (any judge with ``classes`` and ``predict``)."""

    def __init__(self, segmenter, label: str = "window"):
        class_index(segmenter, label)
        self.segmenter, self.label = segmenter, label
        self.name = f"{type(segmenter).__name__} ({label} pixels)"

    def masks(self, images: torch.Tensor) -> torch.Tensor:
        """bool (N, H, W): where the segmenter sees the object."""
        return object_masks(self.segmenter, images, self.label)

    def read(self, images: torch.Tensor) -> np.ndarray:
        return self.masks(images).flatten(1).double().mean(1).numpy()


class DetectorInstrument:
    """The window detector's mean window share over its regions (``WindowDetector.region_fraction``)."""

    def __init__(self, detector):
        if not callable(getattr(detector, "region_fraction", None)):
            raise TypeError(f"detector: expected a window detector with region_fraction(images), got "
                            f"{type(detector).__name__}")
        self.detector, self.name = detector, f"{type(detector).__name__} (window regions)"

    @torch.no_grad()
    def read(self, images: torch.Tensor) -> np.ndarray:
        return self.detector.region_fraction(images).cpu().mean(dim=(1, 2)).double().numpy()


def _net(channels: int, width: int) -> nn.Sequential:
    """A small fully-convolutional cell classifier: (N, channels, S, S) -> logits (N, 1, S/4, S/4)."""
    return nn.Sequential(
        nn.Conv2d(channels, 2 * width, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(2 * width, 2 * width, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(2 * width, 2 * width, 5, padding=2), nn.ReLU(),
        nn.Conv2d(2 * width, 1, 1))


def _grey(images: torch.Tensor) -> torch.Tensor:
    """(N, C, S, S) -> (N, 1, S, S) luminance (an edit that only recolours the object must not fool the detector)."""
    x = images.float()
    if x.shape[1] == 3:
        x = 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return x.mean(1, keepdim=True) if x.shape[1] != 1 else x


class BoxInstrument(nn.Module):
    """An object detector fitted only on the user's boxes (no judge): one logit per 4x4-pixel cell.

    ``fit(images, boxes)``: cells whose centre lies in a box are positives, all others negatives (half-balanced
    by weight), Adam for ``steps`` steps with horizontal flips, shifts by whole cells, 3x3 blur (so an edit that only
    blurs the object does not count as removing it) and brightness / contrast jitter, randomness from ``seed``. It reads luminance only, so an edit that merely recolours the object (red
    frames instead of black ones) does not count as removing it (``colour=True``: it reads the colour images, as
    the second detector that ranks maps by causal effect, so the measuring one is not the one optimised against).
    ``threshold``: the probability above which a cell counts as the object.

    >>> inst = BoxInstrument("glasses").fit(images, boxes)      # doctest: +SKIP
    >>> inst.read(images)          # (N,) share of cells called glasses  # doctest: +SKIP
    """

    def __init__(self, label: str, *, steps: int = 400, width: int = 16, lr: float = 3e-3, seed: int = 0,
                 threshold: float = 0.5, colour: bool = False):
        super().__init__()
        if not isinstance(label, str) or not label:
            raise ValueError(f"label: expected the object's name, got {label!r}")
        self.label, self.steps, self.width, self.lr, self.seed = label, steps, width, lr, seed
        self.threshold, self.colour = float(threshold), bool(colour)
        self.name = f"box-only detector fitted on the user's {label} boxes" + (" (colour)" if colour else "")
        self.net: nn.Sequential | None = None

    def _targets(self, boxes, size: int) -> torch.Tensor:
        # a cell is the object when its centre lies in a box (every box marks >= 1 cell), as the probe's grid
        return torch.from_numpy(boxes_to_grid(boxes, size, (size // 4, size // 4))).float()[:, None]

    def fit(self, images: torch.Tensor, boxes) -> "BoxInstrument":
        """Fit on images (N, C, S, S) in [-1, 1] and their boxes (one list per image); returns self."""
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[-1] % 4:
            raise ValueError(f"images: expected (N, C, S, S) with S a multiple of 4, got "
                             f"{tuple(getattr(images, 'shape', ()))}")
        if len(boxes) != images.shape[0]:
            raise ValueError(f"boxes: expected one list per image ({images.shape[0]}), got {len(boxes)}")
        y = self._targets(boxes, images.shape[-1])
        if y.sum() == 0:
            raise ValueError(f"boxes: no {self.label} box to fit the box-only detector on")
        g = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net = _net(images.shape[1] if self.colour else 1, self.width)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=1e-4)
        # half-balanced: full balancing makes the detector call eye regions glasses on every face
        pos_weight = ((y.numel() - y.sum()) / y.sum()).sqrt()
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        x = self._input(images)
        self.net.train()
        for _ in range(self.steps):
            idx = torch.randint(0, x.shape[0], (min(32, x.shape[0]),), generator=g)
            xb, yb = x[idx], y[idx]
            if torch.rand((), generator=g) < 0.5:
                xb, yb = xb.flip(-1), yb.flip(-1)
            dy, dx = (int(v) for v in torch.randint(-1, 2, (2,), generator=g))   # shift by whole cells
            xb, yb = xb.roll((4 * dy, 4 * dx), (-2, -1)), yb.roll((dy, dx), (-2, -1))
            if torch.rand((), generator=g) < 0.5:   # a blurred object is still the object: blur must not fool it
                xb = nn.functional.avg_pool2d(xb, 3, 1, 1, count_include_pad=False)
            gain = 1 + 0.3 * (torch.rand(len(xb), 1, 1, 1, generator=g) - 0.5)
            xb = xb * gain + 0.3 * (torch.rand(len(xb), 1, 1, 1, generator=g) - 0.5)
            opt.zero_grad()
            loss_fn(self.net(xb), yb).backward()
            opt.step()
        self.net.eval()
        return self

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Cell logits (N, S/4, S/4) (differentiable in the images)."""
        if self.net is None:
            raise RuntimeError("BoxInstrument: call fit(images, boxes) first")
        return self.net(self._input(images))[:, 0]

    def _input(self, images: torch.Tensor) -> torch.Tensor:
        return images.float() if self.colour else _grey(images)

    @torch.no_grad()
    def cells(self, images: torch.Tensor) -> torch.Tensor:
        """bool (N, S/4, S/4): the cells called the object."""
        return torch.cat([torch.sigmoid(self.logits(images[i:i + 128])) > self.threshold
                          for i in range(0, images.shape[0], 128)])

    def read(self, images: torch.Tensor) -> np.ndarray:
        """(N,) share of cells called the object."""
        return self.cells(images).flatten(1).double().mean(1).numpy()

    def read_in(self, images: torch.Tensor, boxes) -> np.ndarray:
        """(N,) share of the cells of each image's boxes still called the object (NaN for an image without boxes)."""
        target = self._targets(boxes, images.shape[-1])[:, 0].bool()
        hit = self.cells(images) & target
        n = target.flatten(1).sum(1).double()
        return torch.where(n > 0, hit.flatten(1).sum(1).double() / n.clamp(min=1), torch.nan).numpy()
