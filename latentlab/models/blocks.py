"""The DCGAN blocks (Radford, Metz, Chintala 2015, §3) and the two stacks built from them.

Shared by :mod:`latentlab.models.dcgan` (G and D of the GANs) and :mod:`latentlab.transfer.dtn` (the DTN's
decoder g and discriminator D). The stacks are added to the caller's module as named attributes
(``block1``.. ``to_rgb``; ``from_rgb``, ``block2``..), so its ``state_dict`` keys stay ``block1.conv.weight``
and so on: shipped weights keep loading. The caller runs :func:`~latentlab.models.base.dcgan_init` after
adding whatever else it owns (a head), so the initial weights do not depend on which file built the stack.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import BatchNorm2d

__all__ = ["UpBlock", "DownBlock", "ToRGB", "add_blocks", "add_up_stack", "add_down_stack", "run_blocks"]


class _ConvBlock(nn.Module):
    """conv -> bn -> act, the shape every DCGAN block shares (subclasses set the three modules)."""

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))

    @property
    def out_channels(self) -> int:
        """Feature maps of the block's output (``ablate`` checks map indices against it on entry)."""
        return self.conv.out_channels


class UpBlock(_ConvBlock):
    """Fractionally-strided conv -> BatchNorm -> ReLU (DCGAN generator block)."""

    def __init__(self, cin: int, cout: int, first: bool = False):
        super().__init__()
        # The first block maps the 1x1 latent to 4x4 (kernel 4, stride 1, pad 0); later ones double the size.
        stride, pad = (1, 0) if first else (2, 1)
        self.conv = nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False)
        self.bn = BatchNorm2d(cout)
        self.act = nn.ReLU()


class DownBlock(_ConvBlock):
    """Strided conv -> [BatchNorm] -> LeakyReLU(0.2) (DCGAN discriminator block)."""

    def __init__(self, cin: int, cout: int, bn: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=not bn)
        self.bn = BatchNorm2d(cout) if bn else nn.Identity()
        self.act = nn.LeakyReLU(0.2)


class ToRGB(nn.Module):
    """The generator's last layer: fractionally-strided conv -> tanh (images in [-1, 1])."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.conv(x))

    @property
    def out_channels(self) -> int:
        """Feature maps of the block's output (``ablate`` checks map indices against it on entry)."""
        return self.conv.out_channels


def add_blocks(module: nn.Module, blocks, start: int = 1) -> list[str]:
    """Register ``blocks`` on ``module`` as ``block{start}``, ``block{start + 1}``, ...; returns their names."""
    names = []
    for i, block in enumerate(blocks, start=start):
        setattr(module, f"block{i}", block)
        names.append(f"block{i}")
    return names


def add_up_stack(module: nn.Module, in_channels: int, ngf: int, n_blocks: int, out_channels: int) -> None:
    """Give ``module`` the DCGAN generator stack and set ``module.block_names``.

    (N, in_channels, 1, 1) -> block1 (N, ngf * 2**(K-1), 4, 4) -> ... -> blockK (N, ngf, 2**(K+1), 2**(K+1))
    -> to_rgb (N, out_channels, 2**(K+2), 2**(K+2)), tanh; K = ``n_blocks``.
    """
    widths = [in_channels] + [ngf * 2 ** (n_blocks - i) for i in range(1, n_blocks + 1)]
    module.block_names = add_blocks(module, [UpBlock(a, b, first=(i == 0))
                                             for i, (a, b) in enumerate(zip(widths, widths[1:]))])
    module.to_rgb = ToRGB(widths[-1], out_channels)


def add_down_stack(module: nn.Module, in_channels: int, ndf: int, n_blocks: int) -> int:
    """Give ``module`` the DCGAN discriminator trunk, set ``module.block_names`` and return its output channels.

    (N, in_channels, S, S) -> from_rgb (N, ndf, S/2, S/2), no BatchNorm at D's input (§3) -> block2 (N, 2 ndf,
    S/4, S/4) -> ... -> blockK (N, ndf * 2**(K-1), S/2**K, S/2**K); K = ``n_blocks``.
    """
    module.from_rgb = DownBlock(in_channels, ndf, bn=False)
    widths = [ndf * 2 ** i for i in range(n_blocks)]
    module.block_names = ["from_rgb", *add_blocks(module, [DownBlock(a, b) for a, b in zip(widths, widths[1:])],
                                                  start=2)]
    return widths[-1]


def run_blocks(module: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """``h`` through ``module``'s blocks in the order of ``module.block_names``."""
    for name in module.block_names:
        h = getattr(module, name)(h)
    return h
