"""Dropping feature maps everywhere or only in some cells of each sample, to an "off" value (GANPaint-style).

``ablate`` sets maps to one value in one region for the whole batch; forgetting an object the user boxed needs
a region per sample (the box cells of each image, or the cells where the probe sees the object) and "off"
values other than zero (what the maps carry where there is no object). A :class:`Drop` says which maps of which
layer, set to what, where; :func:`generate_dropped` generates with it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..hooks import Trace
from .ablate import check_layer_output, check_maps

__all__ = ["Drop", "drop_edit", "generate_dropped", "WHERE", "OFF"]

WHERE = ("everywhere", "boxes", "probe")   # all cells / the user's box cells / the cells the probe calls the object
OFF = ("zero", "mean", "mean_at", "nearest")   # 0 / the map's mean outside the boxes / ... at the same position /
# per sample, what the maps carry there in the nearest train sample without a box (feature transplant)


@dataclass(frozen=True)
class Drop:
    """Maps of ``layer`` set to ``values`` in ``where`` cells.

    ``values``: None (zero), (k,) one value per map, (k, h, w) one per map and position, or (N, k, h, w) one per
    sample ("nearest": computed for the samples at hand by ``Forget.apply``).
    """

    layer: str
    maps: np.ndarray                   # (k,) map indices
    where: str = "everywhere"          # one of WHERE
    off: str = "zero"                  # one of OFF (how ``values`` was made)
    values: torch.Tensor | None = None
    ranking: str = "probe"             # which ranking the maps came from ("probe", "causal", "random")

    def __post_init__(self):
        if self.where not in WHERE:
            raise ValueError(f"where: expected one of {WHERE}, got {self.where!r}")
        if self.off not in OFF:
            raise ValueError(f"off: expected one of {OFF}, got {self.off!r}")

    @property
    def k(self) -> int:
        return int(len(self.maps))

    def describe(self) -> str:
        where = {"everywhere": "everywhere", "boxes": "in the box cells", "probe": "where the probe fires"}[self.where]
        off = {"zero": "to 0", "mean": "to their mean outside the boxes",
               "mean_at": "to their mean at that position outside the boxes",
               "nearest": "to those of the nearest sample without a box"}[self.off]
        return f"{self.k} maps of {self.layer} ({self.ranking} ranking) set {off} {where}"


def drop_edit(maps, values: torch.Tensor | None = None, cells: torch.Tensor | None = None):
    """``edit(output) -> output`` setting ``maps`` of a (B, C, h, w) output to ``values`` (None: 0) where ``cells``
    (bool (B, h, w), None: everywhere) is True. Out of place."""
    def edit(output: torch.Tensor) -> torch.Tensor:
        check_layer_output(output)
        idx = check_maps(maps, output.shape[1]).to(output.device)
        if len(idx) == 0:
            return output
        sel = output[:, idx]
        v = torch.zeros((), dtype=output.dtype, device=output.device) if values is None else \
            _in_sorted_order(maps, values).to(output.device, output.dtype)
        if v.dim() == 1:
            v = v.view(1, -1, 1, 1)          # one value per map
        elif v.dim() == 3:
            v = v[None]                      # one per map and position
        elif v.dim() == 4 and v.shape[0] != sel.shape[0]:
            raise ValueError(f"values: expected one (k, h, w) per sample ({sel.shape[0]}), got {tuple(v.shape)}")
        new = v.expand_as(sel) if cells is None else torch.where(cells[:, None].to(output.device), v, sel)
        out = output.clone()
        out[:, idx] = new
        return out
    return edit


def _in_sorted_order(maps, values: torch.Tensor) -> torch.Tensor:
    """``values`` follow ``maps`` (a ranking's order); the edit writes the maps in sorted order: permute to match."""
    m = torch.as_tensor(np.asarray(maps.tolist() if isinstance(maps, torch.Tensor) else maps, dtype=np.int64))
    if len(torch.unique(m)) != len(m):
        raise ValueError(f"maps: expected distinct indices when values are given, got {m.tolist()}")
    perm = torch.argsort(m)
    axis = 1 if values.dim() == 4 else 0
    if values.dim() and values.shape[axis] != len(m):
        raise ValueError(f"values: expected one entry per map ({len(m)}) on axis {axis}, got {tuple(values.shape)}")
    return values.index_select(axis, perm) if values.dim() else values


@torch.no_grad()
def generate_dropped(lm, z: torch.Tensor, drop: Drop | None, cells: torch.Tensor | None = None, *, c=None,
                     batch_size: int = 200) -> torch.Tensor:
    """Images (N, C, S, S) on the CPU for z (N, nz) through the LatentModel ``lm`` with ``drop`` applied
    (``cells`` bool (N, h, w): where, per sample; None: everywhere). ``drop`` None: unedited."""
    if drop is None or drop.k == 0:
        return lm.generate(z, c, batch_size=batch_size)
    if cells is not None and cells.shape[0] != z.shape[0]:
        raise ValueError(f"cells: expected one (h, w) mask per z ({z.shape[0]}), got {tuple(cells.shape)}")
    out = []
    for i in range(0, z.shape[0], batch_size):
        sl = slice(i, i + batch_size)
        ci = c[sl] if isinstance(c, torch.Tensor) and c.dim() else c
        v = drop.values[sl] if drop.values is not None and drop.values.dim() == 4 else drop.values
        edit = drop_edit(drop.maps, v, None if cells is None else cells[sl])
        with Trace(lm.module, drop.layer, retain_output=False, edit_output=edit):
            out.append(lm.generate(z[sl], ci, batch_size=batch_size))
    return torch.cat(out)
