"""The original fully-connected GAN (Goodfellow et al. 2014) as a baseline.

G: z -> fc1 (hidden, ReLU) -> fc2 (hidden, ReLU) -> to_rgb (C*S*S, tanh) -> (N, C, S, S)
D: x -> fc1 (hidden, LeakyReLU 0.2, dropout) -> fc2 (hidden/2, ...) -> head (N,) logits.
The paper's maxout units are replaced by LeakyReLU (a common, simpler choice).
"""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .base import GeneratorBase, check_dtype, check_z, dcgan_init

__all__ = ["MLPGenerator", "MLPDiscriminator"]


class _FC(nn.Module):
    def __init__(self, cin, cout, act):
        super().__init__()
        self.linear = nn.Linear(cin, cout)
        self.act = act

    def forward(self, x):
        return self.act(self.linear(x))


class MLPGenerator(GeneratorBase):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        h, s, c = config.hidden, config.image_size, config.channels
        self.fc1 = _FC(config.nz, h, nn.ReLU())
        self.fc2 = _FC(h, h, nn.ReLU())
        self.to_rgb = _FC(h, c * s * s, nn.Tanh())
        dcgan_init(self)

    def forward(self, z):
        z = check_dtype(check_z(z, self.config.nz), self, "z", "generator")
        s, c = self.config.image_size, self.config.channels
        return self.to_rgb(self.fc2(self.fc1(z))).view(-1, c, s, s)


class MLPDiscriminator(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        h, s, c = config.hidden, config.image_size, config.channels
        self.fc1 = _FC(c * s * s, h, nn.LeakyReLU(0.2))
        self.drop1 = nn.Dropout(0.3)
        self.fc2 = _FC(h, h // 2, nn.LeakyReLU(0.2))
        self.drop2 = nn.Dropout(0.3)
        self.head = nn.Linear(h // 2, 1)
        dcgan_init(self)

    def forward(self, x):
        cfg = self.config
        exp = (cfg.channels, cfg.image_size, cfg.image_size)
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != exp:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"images: expected shape (N, {exp[0]}, {exp[1]}, {exp[2]}), got {got}")
        if not x.is_floating_point():
            raise TypeError(f"images: expected a float tensor in [-1, 1], got dtype {x.dtype}")
        x = check_dtype(x, self, "images", "discriminator")
        h = self.drop1(self.fc1(x.flatten(1)))
        h = self.drop2(self.fc2(h))
        return self.head(h).flatten()
