"""Models: shapes for every architecture and size, determinism, init, named blocks, bad inputs."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from latentlab import GAN, ModelConfig, layer_names, sample_prior
from latentlab.models import build_discriminator, build_generator


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(arch="dcgan", size=32, channels=3, **kw):
    extra = dict(num_classes=3, class_names=("a", "b", "c"), embed_dim=4) if arch == "acgan" else {}
    return ModelConfig(arch=arch, nz=8, ngf=4, ndf=4, image_size=size, channels=channels, hidden=16, **extra, **kw)


def _g(gan, z, c=None):
    return gan.generator(z, c) if gan.config.conditional else gan.generator(z)


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(arch, size, channels):
    torch.manual_seed(0)
    gan = GAN(tiny(arch, size, channels))
    z = torch.randn(2, 8)
    c = torch.tensor([0, 2]) if arch == "acgan" else None
    x = _g(gan, z, c)
    assert x.shape == (2, channels, size, size)
    assert x.dtype == torch.float32 and x.abs().max() <= 1.0  # tanh output
    assert torch.equal(_g(gan, z[:, :, None, None], c), x)  # (N, nz, 1, 1) is accepted too (pytorch/examples)
    out = gan.discriminator(x)
    if arch == "acgan":
        src, cls = out
        assert src.shape == (2,) and cls.shape == (2, 3)
    else:
        assert out.shape == (2,)


@pytest.mark.parametrize("size,blocks", [(32, 3), (64, 4), (128, 5)])
def test_dcgan_block_structure(size, blocks):
    cfg = tiny("dcgan", size)
    assert cfg.n_blocks == blocks
    G, D = build_generator(cfg), build_discriminator(cfg)
    assert [n for n in layer_names(G) if "." not in n] == [f"block{i}" for i in range(1, blocks + 1)] + ["to_rgb"]
    assert "from_rgb" in layer_names(D) and "head" in layer_names(D)
    # feature maps double in size per block: block_i is 4 * 2**(i-1) pixels wide (DCGAN §3, pytorch/examples)
    from latentlab import Trace
    with Trace(G, f"block{blocks}") as t:
        G(torch.randn(1, 8))
    assert t.output.shape == (1, cfg.ngf, size // 2, size // 2)


@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
def test_no_inplace_activations_and_dcgan_init(arch):
    torch.manual_seed(0)
    gan = GAN(ModelConfig(arch=arch, nz=8, ngf=32, ndf=32, image_size=32, hidden=64,
                          **(dict(num_classes=2) if arch == "acgan" else {})))
    for m in gan.modules():
        assert not getattr(m, "inplace", False), f"{type(m).__name__} is in-place"
    ws = torch.cat([m.weight.flatten() for m in gan.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))])
    assert abs(ws.mean().item()) < 1e-3 and abs(ws.std().item() - 0.02) < 1e-3  # N(0, 0.02), DCGAN §4


@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
def test_determinism_under_seed(arch):
    cfg = tiny(arch)
    torch.manual_seed(1)
    a = GAN(cfg)
    torch.manual_seed(1)
    b = GAN(cfg)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k
    classes = torch.tensor([0, 1, 2, 0]) if arch == "acgan" else None
    x1 = a.sample(4, seed=7, classes=classes)
    x2 = b.sample(4, seed=7, classes=classes)
    x3 = a.sample(4, seed=8, classes=classes)
    assert torch.equal(x1, x2) and not torch.equal(x1, x3)
    g = torch.Generator().manual_seed(3)
    z1 = a.generator.sample_z(5, rng=g)
    assert torch.equal(z1, sample_prior(5, 8, "normal", rng=torch.Generator().manual_seed(3)))


def test_sample_leaves_training_mode_and_global_rng_alone(tiny_gan):
    tiny_gan.generator.train()
    state = torch.get_rng_state()
    tiny_gan.sample(3, seed=0)
    assert tiny_gan.generator.training
    assert torch.equal(state, torch.get_rng_state())


def test_uniform_prior_range():
    z = sample_prior(1000, 8, "uniform", rng=torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.99
    gan = GAN(tiny(prior="uniform"))
    assert gan.prior == "uniform" and gan.generator.sample_z(4, seed=0).abs().max() <= 1


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("z,exc,match", [
    (torch.randn(2, 9), ValueError, r"^z: expected shape \(N, 8\)"),
    (torch.randn(2, 8, 2, 2), ValueError, r"^z: expected shape"),
    (torch.randn(8), ValueError, r"^z: expected shape"),
    (torch.randn(0, 8), ValueError, r"^z: .*empty"),
    (torch.zeros(2, 8, dtype=torch.long), TypeError, r"^z: expected a floating point tensor"),
    (torch.tensor([[float("nan")] * 8]), ValueError, r"^z: contains NaN"),
    (torch.tensor([[float("inf")] * 8]), ValueError, r"^z: contains NaN or inf"),
    ([[0.0] * 8], TypeError, r"^z: expected a torch.Tensor"),
])
@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
def test_bad_z(arch, z, exc, match):
    gan = GAN(tiny(arch))
    c = torch.zeros(2, dtype=torch.long)  # z is checked before the classes
    with pytest.raises(exc, match=match):
        _g(gan, z, c)


@pytest.mark.parametrize("c,exc,match", [
    (torch.tensor([0, 3]), ValueError, r"^c: class labels must be in 0\.\.2"),
    (torch.tensor([-1, 0]), ValueError, r"^c: class labels must be in 0\.\.2"),
    (5, ValueError, r"^c: class labels must be in 0\.\.2"),
    (torch.tensor([0, 1, 2]), ValueError, r"^c: expected shape \(2,\)"),
    (torch.tensor([0.0, 1.0]), TypeError, r"^c: expected integer class labels"),
    (None, ValueError, r"^c: this AC-GAN needs a class"),
])
def test_acgan_bad_classes(c, exc, match):
    gan = GAN(tiny("acgan"))
    with pytest.raises(exc, match=match):
        gan.generator(torch.randn(2, 8), c)
    with pytest.raises(exc, match=match):
        gan.sample(2, seed=0, classes=c)


@pytest.mark.parametrize("kw,match", [
    (dict(arch="wgan"), r"^arch: expected one of"),
    (dict(image_size=48), r"^image_size: expected one of \(32, 64, 128\), got 48"),
    (dict(image_size=256), r"^image_size:"),
    (dict(prior="laplace"), r"^prior:"),
    (dict(nz=0), r"^nz: expected a positive int"),
    (dict(ngf=-4), r"^ngf:"),
    (dict(channels=2.5), r"^channels:"),
    (dict(arch="acgan", num_classes=1), r"^num_classes: an AC-GAN needs >= 2"),
    (dict(arch="dcgan", num_classes=3), r"^num_classes: only AC-GAN"),
    (dict(arch="acgan", num_classes=3, class_names=("a",)), r"^class_names: expected 3 names"),
    (dict(version=99), r"^version: config version 99 is newer"),
    (dict(arch="acgan", num_classes=3, class_input="film"), r"^class_input: expected one of \('onehot', 'embedding'\)"),
])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kw)


def test_bad_images_to_discriminator():
    gan = GAN(tiny())
    with pytest.raises(ValueError, match=r"^images: expected shape \(N, 3, 32, 32\), got \(2, 3, 64, 64\)"):
        gan.discriminator(torch.zeros(2, 3, 64, 64))
    with pytest.raises(TypeError, match=r"^images: expected a float tensor"):
        gan.discriminator(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"^images: expected shape"):
        GAN(tiny("gan")).discriminator(torch.zeros(2, 1, 32, 32))


def test_bad_sample_counts():
    with pytest.raises(ValueError, match=r"^n: expected a non-negative int"):
        sample_prior(-1, 8)
    with pytest.raises(ValueError, match=r"^prior:"):
        sample_prior(2, 8, "cauchy")


def test_acgan_onehot_class_input_is_a_fixed_identity():
    """Default AC-GAN conditioning: the one-hot class vector (the paper's), a buffer no optimiser can move."""
    cfg = tiny("acgan")
    assert cfg.class_input == "onehot" and cfg.class_dim == 3
    gan = GAN(cfg)
    G = gan.generator
    assert torch.equal(G.embed.weight, torch.eye(3))
    assert "embed.weight" not in dict(G.named_parameters()) and "embed.weight" in G.state_dict()
    assert G.block1.conv.in_channels == 8 + 3
    z, c = torch.randn(4, 8), torch.tensor([0, 1, 2, 1])
    assert torch.equal(G(z, c), G(z, embedding=nn.functional.one_hot(c, 3).float()))
    opt = torch.optim.Adam(G.parameters(), lr=0.1)
    G(z, c).sum().backward()
    opt.step()
    assert torch.equal(G.embed.weight, torch.eye(3))
    with pytest.raises(ValueError, match=r"^embedding: expected shape \(4, 3\) \(class_input='onehot'\), got \(4, 4\)"):
        G(z, embedding=torch.zeros(4, 4))


def test_acgan_learned_embedding_still_available_and_old_configs_load_as_embedding(tmp_path):
    cfg = tiny("acgan", class_input="embedding")
    assert cfg.class_dim == 4
    G = GAN(cfg).generator
    assert "embed.weight" in dict(G.named_parameters()) and G.block1.conv.in_channels == 8 + 4
    old = {k: v for k, v in tiny("acgan").to_dict().items() if k != "class_input"}   # a file from before the field
    assert ModelConfig.from_dict(old).class_input == "embedding"
    assert ModelConfig.from_dict(tiny("acgan").to_dict()).class_input == "onehot"
    assert ModelConfig.from_dict(tiny("dcgan").to_dict()).class_input == "onehot"   # ignored for unconditional
    from latentlab import load, save
    gan = GAN(tiny("acgan"))
    save(gan, tmp_path / "m.safetensors")
    back = load(tmp_path / "m.safetensors")
    assert back.config.class_input == "onehot"
    z = torch.randn(2, 8)
    gan.eval(); back.eval()
    assert torch.equal(back.generator(z, torch.tensor([0, 2])), gan.generator(z, torch.tensor([0, 2])))
