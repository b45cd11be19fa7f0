"""latentlab.models.blocks: the DCGAN stacks shared by models.dcgan and the DTN (issue 23)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from latentlab import ModelConfig
from latentlab.models import DCGANDiscriminator, DCGANGenerator
from latentlab.models.blocks import DownBlock, ToRGB, UpBlock, add_blocks, add_down_stack, add_up_stack, run_blocks
from latentlab.transfer import DTN, DTNConfig, Encoder, EncoderConfig


def test_dcgan_state_dict_keys_are_the_shipped_ones():
    cfg = ModelConfig(nz=8, ngf=4, ndf=4, image_size=32)
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    g = ["block1.conv.weight", *[f"block1.bn.{k}" for k in bn], "block2.conv.weight",
         *[f"block2.bn.{k}" for k in bn], "block3.conv.weight", *[f"block3.bn.{k}" for k in bn], "to_rgb.conv.weight"]
    d = ["from_rgb.conv.weight", "from_rgb.conv.bias", "block2.conv.weight", *[f"block2.bn.{k}" for k in bn],
         "block3.conv.weight", *[f"block3.bn.{k}" for k in bn], "head.weight"]
    assert list(DCGANGenerator(cfg).state_dict()) == g
    assert list(DCGANDiscriminator(cfg).state_dict()) == d
    dtn = DTN(DTNConfig(image_size=32, feature_dim=8, ngf=4, ndf=4), Encoder(EncoderConfig(feature_dim=8)))
    assert list(dtn.decoder.state_dict()) == g and list(dtn.discriminator.state_dict()) == d


@pytest.mark.parametrize("n_blocks", [1, 2, 4])
def test_up_and_down_stacks_shapes(n_blocks):
    up, down = nn.Module(), nn.Module()
    add_up_stack(up, 5, 3, n_blocks, 2)
    assert up.block_names == [f"block{i}" for i in range(1, n_blocks + 1)]
    assert isinstance(up.block1, UpBlock) and isinstance(up.to_rgb, ToRGB)
    h = run_blocks(up, torch.randn(2, 5, 1, 1))
    side = 2 ** (n_blocks + 1)
    assert h.shape == (2, 3, side, side)  # the last block has ngf maps
    img = up.to_rgb(h)
    assert img.shape == (2, 2, 2 * side, 2 * side) and img.abs().max() <= 1
    c = add_down_stack(down, 2, 3, n_blocks)
    assert c == 3 * 2 ** (n_blocks - 1)
    assert down.block_names == ["from_rgb", *[f"block{i}" for i in range(2, n_blocks + 1)]]
    assert isinstance(down.from_rgb.bn, nn.Identity) and all(isinstance(getattr(down, n), DownBlock)
                                                             for n in down.block_names)
    assert run_blocks(down, img).shape == (2, c, 4, 4)


def test_add_blocks_names_and_registers():
    m = nn.Module()
    names = add_blocks(m, [nn.Identity(), nn.ReLU()], start=3)
    assert names == ["block3", "block4"] and isinstance(m.block4, nn.ReLU)
    assert [n for n, _ in m.named_children()] == ["block3", "block4"]
    m.block_names = names
    assert torch.equal(run_blocks(m, torch.tensor([-1.0, 2.0])), torch.tensor([0.0, 2.0]))
