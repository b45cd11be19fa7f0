"""Embedding images in plotly figures efficiently: one PNG data URI per grid (go.Image source)."""
from __future__ import annotations

import base64
import io

import numpy as np
import torch

from ..images import grey_to_rgb

__all__ = ["to_uint8_grid", "png_data_uri", "image_trace"]


def to_uint8_grid(images, nrow: int = 8, padding: int = 2, scale: int = 1) -> np.ndarray:
    """(N, C, H, W) tensor in [-1, 1] -> (H', W', 3) uint8 grid (torchvision make_grid)."""
    from torchvision.utils import make_grid
    x = torch.as_tensor(images).detach().float().cpu()
    if x.dim() == 3:
        x = x[None]
    x = grey_to_rgb(x)
    g = make_grid(x, nrow=nrow, padding=padding, normalize=True, value_range=(-1, 1), pad_value=1.0)
    arr = (g.permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
    if scale > 1:
        arr = arr.repeat(scale, 0).repeat(scale, 1)
    return arr


def png_data_uri(arr: np.ndarray) -> str:
    """(H, W, 3) uint8 -> 'data:image/png;base64,...'."""
    from PIL import Image
    buf = io.BytesIO()
    # zlib level 6: on a 600 x 1986 grid of rooms 0.59 s and 351 KB; optimize=True (level 9) took 5.9 s for 347 KB
    Image.fromarray(arr).save(buf, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def image_trace(arr: np.ndarray, **kw):
    """A go.Image trace showing a uint8 grid via a PNG data URI (small HTML, fast to render)."""
    import plotly.graph_objects as go
    return go.Image(source=png_data_uri(arr), **kw)
