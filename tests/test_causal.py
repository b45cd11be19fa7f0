"""Causal map selection (GAN-Dissection-style soft ablation mask) on a toy generator with a known cause."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latentlab.dissect.causal import CausalSettings, causal_ranking
from latentlab.dissect.forget import forget
from latentlab.hooks import count_hooks


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class ToyGenerator(nn.Module):
    """z -> 6 maps at 8x8 (layer ``feat``) -> 3-channel 32x32 image; only map 3 drives the red channel."""

    def __init__(self, nz=6):
        super().__init__()
        torch.manual_seed(0)
        self.feat = nn.Sequential(nn.Linear(nz, 6 * 8 * 8), Reshape(6, 8, 8), nn.Softplus())
        self.to_rgb = nn.Conv2d(6, 3, 1, bias=False)
        with torch.no_grad():
            w = torch.zeros(3, 6, 1, 1)
            w[0, 3] = 1.0                     # red <- map 3 only
            w[1, [0, 1, 2]] = 0.3             # green, blue <- the other maps
            w[2, [4, 5]] = 0.3
            self.to_rgb.weight.copy_(w)

    def forward(self, z):
        x = nn.functional.interpolate(self.feat(z.flatten(1)), scale_factor=4, mode="nearest")
        return torch.tanh(self.to_rgb(x) - 0.5)


class RedIsWindow(nn.Module):
    """A differentiable 'segmenter': a pixel is a window where its red channel is high."""

    classes = ("wall", "window")

    def forward(self, images):
        window = 8 * (images[:, 0] - 0.2)
        return torch.stack([torch.zeros_like(window), window], 1)

    @torch.no_grad()
    def predict(self, images):
        return self(images).argmax(1)


def test_causal_ranking_finds_the_map_that_draws_the_object():
    G, seg = ToyGenerator(), RedIsWindow()
    ranking, mask = causal_ranking(G, "feat", seg, nz=6, prior="normal", seed=0, settings=CausalSettings(steps=60))
    assert sorted(ranking.tolist()) == list(range(6))
    assert ranking[0] == 3
    assert mask[3] > 0.5 and np.delete(mask, 3).max() < mask[3]
    assert count_hooks(G) == 0                               # hooks gone
    r2, m2 = causal_ranking(G, "feat", seg, nz=6, prior="normal", seed=0, settings=CausalSettings(steps=60))
    assert (r2 == ranking).all() and np.array_equal(m2, mask)  # deterministic under a seed
    assert all(p.grad is None for p in G.parameters())       # the model is not touched
    assert G.training  # mode restored


def test_causal_ranking_bad_input():
    G, seg = ToyGenerator(), RedIsWindow()
    with pytest.raises(ValueError, match="steps: expected a positive int"):
        causal_ranking(G, "feat", seg, nz=6, prior="normal", settings=CausalSettings(steps=0))
    with pytest.raises(ValueError, match="'door' is not a class"):
        causal_ranking(G, "feat", seg, "door", nz=6, prior="normal", settings=CausalSettings(steps=1))

    class NoClasses(nn.Module):
        def forward(self, x):
            return x
    with pytest.raises(TypeError, match="segmenter: expected a differentiable module"):
        causal_ranking(G, "feat", NoClasses(), nz=6, prior="normal", settings=CausalSettings(steps=1))


def test_forget_with_causal_curve_beats_random_on_the_toy():
    G, seg = ToyGenerator(), RedIsWindow()
    G.eval()
    m = forget(G, seg, layer="feat", nz=6, prior="normal", n_probe=40, n_eval=40, n_curve=40, seed=0,
               causal_steps=60, progress=False).to_dict()
    assert m["causal"]["ranking"][0] == 3 and m["causal"]["quarter_maps"] == [3]   # 6 // 4 = 1 map
    assert set(m["curves"]) == {"probe", "iou", "causal", "random"}
    assert "1" in m["curves"]["causal"]                                              # the quarter is on the curve
    assert m["causal"]["quarter_reduction"] > 0.9
    assert m["curves"]["causal"]["1"] < m["curves"]["random"]["1"]
