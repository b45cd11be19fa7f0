"""Stand-ins used only by tests and the examples' ``--smoke`` modes (not part of the package)."""
from __future__ import annotations

import torch


class StandInSegmenter(torch.nn.Module):
    """Calls a pixel 'window' where its red channel is in the image's top ``share``: a segmenter with the
    room judge's interface (``classes``, ``predict(images) -> (N, H, W)`` class indices) that needs no weights."""

    classes = ("wall", "window")

    def __init__(self, share: float = 0.05):
        super().__init__()
        self.share = share

    @torch.no_grad()
    def predict(self, images):
        r = images[:, 0].flatten(1)
        thr = r.quantile(1 - self.share, dim=1)
        return (images[:, 0] > thr[:, None, None]).long()
