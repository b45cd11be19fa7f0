"""A second, independent window instrument: per-region window fractions from a strided CNN.

The room segmenter (``latentlab.judges.rooms``) labels every pixel with a U-Net (BatchNorm, ReLU, skip
connections, trained on scenes of seed 0 with weights seeded 0). ``WindowDetector`` is built
differently so that the two do not share their failure modes by construction: a plain strided CNN
(GroupNorm, SiLU, no skips, a dilated context stage and a global-context term) that reads a (grid x
grid) map of regions and predicts, per region, the fraction of its pixels that show a window (one
sigmoid per region, soft binary cross-entropy); trained on another scene family (seed 3) with weights
seeded 1 (``scripts/train_window_detector.py``). It never sees a per-pixel label map.

``window_fraction(images)`` is comparable with the segmenter's share of window pixels;
``region_presence(images)`` marks regions with at least ``min_fraction`` window pixels;
``instrument_agreement`` (and its pure core ``agreement``) compares the two instruments on a batch.

Example::

    >>> det = WindowDetector.load("pretrained/judges/windows.safetensors")   # doctest: +SKIP
    >>> det.window_fraction(images)          # (N,) float32 in [0, 1]           # doctest: +SKIP
    >>> det.region_presence(images).shape    # (N, 8, 8) bool                  # doctest: +SKIP
    >>> seg = RoomSegmenter.load("pretrained/judges/rooms.safetensors")     # doctest: +SKIP
    >>> instrument_agreement(seg, det, images)["fraction_corr"]               # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from latentlab.judges._files import JsonConfig, JudgeFile
from latentlab.masks import agreement, region_fractions  # noqa: F401 (re-exported: the instruments' comparison)
from latentlab.validate import number_in, positive_int

__all__ = ["WindowDetector", "WindowDetectorConfig", "region_fractions", "agreement", "instrument_agreement"]

JUDGE = "windows"


@dataclass(frozen=True)
class WindowDetectorConfig(JsonConfig):
    image_size: int = 64                     # input (N, 3, image_size, image_size) in [-1, 1]
    grid: int = 8                            # regions per side: (grid x grid) cells of image_size/grid px
    widths: tuple[int, ...] = (32, 64)       # stride-2 stem, then one stride-2 stage per further entry
    #                                          (64 -> 32 -> 16 for two); the context stage pools to `grid`
    groups: int = 8                          # GroupNorm groups (every width must be divisible)

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        for name in ("image_size", "grid", "groups"):
            positive_int(getattr(self, name), name)
        if len(self.widths) < 1 or min(self.widths) < 1 or any(w % self.groups for w in self.widths):
            raise ValueError(f"widths must be positive channel counts divisible by groups={self.groups}, "
                             f"got {self.widths!r}")
        if self.image_size % self.grid:
            raise ValueError(f"image_size must be divisible by grid, got {self.image_size} and {self.grid}")
        down = 2 ** len(self.widths)
        if self.image_size % down or (self.image_size // down) % self.grid:
            raise ValueError(f"image_size / 2**len(widths) = {self.image_size / down} must be a "
                             f"multiple of grid={self.grid}")


class GNUnit(nn.Module):
    """conv (k x k, stride, dilation) -> GroupNorm -> SiLU; not in-place."""

    def __init__(self, cin: int, cout: int, groups: int, stride: int = 1, dilation: int = 1, kernel: int = 3):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=pad, dilation=dilation, bias=False)
        self.norm = nn.GroupNorm(groups, cout)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class WindowDetector(JudgeFile, nn.Module):
    """Window fraction per region for (N, 3, 64, 64) room images in [-1, 1].

    Layers (default config): ``stem`` (32 @ 32x32, stride 2) -> ``down1`` (64 @ 16x16, stride 2)
    -> ``context`` (two 3x3 convs, dilation 2 and 4, at 16x16) -> ``pool`` to the (grid x grid) regions,
    plus ``glob`` (a linear map of the image's mean feature, broadcast to every region) -> ``mix`` (3x3
    conv over the regions) -> ``head`` (1x1 conv, one logit per region).

    ``forward`` returns region logits (N, grid, grid) with gradients; ``region_fraction``,
    ``window_fraction`` and ``region_presence`` are for judging (eval mode, no_grad, batched).
    """

    judge, label, config_class, load_error = JUDGE, "windows", WindowDetectorConfig, ValueError

    def __init__(self, config: WindowDetectorConfig | None = None):
        super().__init__()
        self.config = config = config or WindowDetectorConfig()
        w, g = config.widths, config.groups
        self.stem = GNUnit(3, w[0], g, stride=2)
        self.stages = []
        for i in range(1, len(w)):
            stage = GNUnit(w[i - 1], w[i], g, stride=2)
            self.add_module(f"down{i}", stage)
            self.stages.append(stage)
        self.context = nn.Sequential()
        self.context.add_module("dilated2", GNUnit(w[-1], w[-1], g, dilation=2))
        self.context.add_module("dilated4", GNUnit(w[-1], w[-1], g, dilation=4))
        self.pool = nn.AdaptiveAvgPool2d(config.grid)
        self.glob = nn.Linear(w[-1], w[-1])
        self.mix = GNUnit(w[-1], w[-1], g, kernel=3)
        self.head = nn.Conv2d(w[-1], 1, 1)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (3, self.config.image_size, self.config.image_size)

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        param = self.head.weight
        x = self.stem(images.to(param.device, param.dtype))
        for stage in self.stages:
            x = stage(x)
        x = self.context(x)
        cells = self.pool(x) + self.glob(x.mean(dim=(2, 3)))[:, :, None, None]
        return self.head(self.mix(cells))[:, 0]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, 64, 64) in [-1, 1] -> region logits (N, grid, grid)."""
        self._check_images(images)
        return self._logits(images)

    def region_fraction(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """float32 (N, grid, grid) in [0, 1]: the predicted share of window pixels in each region."""
        return self._batched(lambda x: self._logits(x).float().sigmoid(), images, batch_size)

    def window_fraction(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """float32 (N,): the predicted share of window pixels in each image (mean over regions)."""
        return self.region_fraction(images, batch_size).mean(dim=(1, 2))

    def region_presence(self, images: torch.Tensor, min_fraction: float = 0.25,
                        batch_size: int = 256) -> torch.Tensor:
        """bool (N, grid, grid): regions whose predicted window share is >= ``min_fraction``."""
        min_fraction = number_in(min_fraction, "min_fraction", 0, 1, low_open=True)
        return self.region_fraction(images, batch_size) >= min_fraction


# ------------------------------------------------------------------------------------------------
# comparing the two instruments


def instrument_agreement(segmenter, detector: WindowDetector, images: torch.Tensor, min_fraction: float = 0.25,
                         tolerance: float = 0.01, batch_size: int = 256, min_prob: float | None = None) -> dict:
    """Run both window instruments on ``images`` (N, 3, 64, 64) in [-1, 1] and compare them.

    a = the segmenter (``class_mask(images, "window", min_prob=...)``, its pixel share and its
    per-region shares on the detector's grid), b = the detector. Returns ``agreement(...)`` plus the raw
    per-image arrays ``fraction_a`` / ``fraction_b`` (lists of floats).
    """
    if not isinstance(detector, WindowDetector):
        raise TypeError(f"detector: expected a WindowDetector, got {type(detector).__name__}")
    masks = segmenter.class_mask(images, "window", batch_size=batch_size, min_prob=min_prob).cpu()
    ra = region_fractions(masks, detector.config.grid)
    fa = masks.float().mean(dim=(1, 2))
    rb = detector.region_fraction(images, batch_size).cpu()
    fb = detector.window_fraction(images, batch_size).cpu()
    out = agreement(fa, fb, ra, rb, min_fraction=min_fraction, tolerance=tolerance)
    out["fraction_a"], out["fraction_b"] = fa.tolist(), fb.tolist()
    return out
