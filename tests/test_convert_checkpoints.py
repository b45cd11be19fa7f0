"""latentlab.convert on what users actually save (issue 35, item 1).

Training checkpoints (flat, nested, with optimizer state), ``module.`` / ``_orig_mod.`` prefixes, tensors saved with
CUDA storage locations, the 32/64/128 px depths, and class-conditional DCGANs (one-hot or embedded class
concatenated to z, Dropout, convolution biases) written as their authors write them. Every converted model is
compared with the original module it came from. Sizes are tiny (nz=8, ngf=ndf=4).
"""
from __future__ import annotations

import zipfile

import pytest
import torch
from torch import nn

from latentlab import cli, load
from latentlab.models.adapter import LatentModel
from latentlab.convert import ConvertOptions, SequentialReference, convert, generator_table, pytorch_examples_dcgan

pytestmark = pytest.mark.usefixtures("one_thread")
NZ, NGF, NDF = 8, 4, 4


def _moved_statistics(*nets):
    """A few training-mode passes so BatchNorm running statistics are not 0 / 1."""
    g = nets[0]
    with torch.no_grad():
        for _ in range(2):
            x = g(torch.randn(4, NZ, 1, 1))
            for d in nets[1:]:
                d(x)
    for n in nets:
        n.eval()


@pytest.fixture(scope="module")
def pair():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, D = pytorch_examples_dcgan(NZ, NGF, NDF, 3)
        G2, _ = pytorch_examples_dcgan(NZ, NGF, NDF, 3)  # a second generator (an EMA copy, say)
        _moved_statistics(G, D)
        _moved_statistics(G2)
    return G, D, G2


def _same_images(gan, G, n=5, seed=1):
    z = torch.randn(n, NZ, 1, 1, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return float((gan.generator(z.flatten(1)) - G(z)).abs().max())


def _adam_state(net):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    net(torch.randn(2, NZ, 1, 1)).mean().backward()
    opt.step()
    net.eval()
    return opt.state_dict()  # {"state": {0: {"step", "exp_avg", "exp_avg_sq"}}, "param_groups": [...]}


def _prefixed(sd, prefix):
    return {prefix + k: v for k, v in sd.items()}


# ------------------------------------------------------------------------------------------------ training checkpoints

CHECKPOINTS = {
    # name: (checkpoint builder (G, D, G2, optimizer state) -> object, the entry read)
    "tutorial": (lambda G, D, G2, o: {"netG_state_dict": G.state_dict()}, "netG_state_dict"),
    "with optimizer and epoch": (lambda G, D, G2, o: {"epoch": 24, "netG_state_dict": G.state_dict(),
                                                      "netD_state_dict": D.state_dict(),
                                                      "optimizerG_state_dict": o, "lossG": [0.7, 0.6]},
                                 "netG_state_dict"),
    "G and D": (lambda G, D, G2, o: {"G": G.state_dict(), "D": D.state_dict()}, "G"),
    "nested": (lambda G, D, G2, o: {"step": 5, "models": {"generator": G.state_dict(),
                                                          "discriminator": D.state_dict()},
                                    "optim": {"generator": o}}, "models/generator"),
    "state_dict": (lambda G, D, G2, o: {"state_dict": G.state_dict(), "epoch": 3}, "state_dict"),
    "model + optimizer": (lambda G, D, G2, o: {"model": G.state_dict(), "optimizer": o}, "model"),
    "DataParallel": (lambda G, D, G2, o: {"netG": _prefixed(G.state_dict(), "module."),
                                          "netD": _prefixed(D.state_dict(), "module.")}, "netG"),
    "DDP + compile": (lambda G, D, G2, o: _prefixed(G.state_dict(), "module._orig_mod."), ""),
}


@pytest.mark.parametrize("kind", CHECKPOINTS)
def test_training_checkpoints_convert_without_a_key(kind, pair, tmp_path):
    G, D, G2 = pair
    build, entry = CHECKPOINTS[kind]
    torch.save(build(G, D, G2, _adam_state(pytorch_examples_dcgan(NZ, NGF, NDF, 3)[0])), tmp_path / "ckpt.pth")
    r = convert(tmp_path / "ckpt.pth", out=tmp_path / "m.safetensors")
    assert r.max_abs_diff["generator"] == 0 and _same_images(r.gan, G) == 0
    assert (r.gan.config.nz, r.gan.config.ngf, r.gan.config.image_size) == (NZ, NGF, 64)  # read off the tensors
    read = [n for n in r.notes if "read the entry" in n]
    assert read == ([f"netG: read the entry {entry!r} of a training checkpoint"] if entry else [])
    assert ("module." in kind or "DataParallel" in kind or "DDP" in kind) == any("prefix" in n for n in r.notes)
    assert load(r.path).info["source_files"]["netG"] == "ckpt.pth" + (f"[{entry}]" if entry else "")


def test_the_discriminator_comes_from_the_same_checkpoint(pair, tmp_path):
    G, D, _ = pair
    torch.save({"netG": _prefixed(G.state_dict(), "module."), "netD": _prefixed(D.state_dict(), "module."),
                "epoch": 2}, tmp_path / "both.pth")
    r = convert(tmp_path / "both.pth", tmp_path / "both.pth", out=tmp_path / "m.safetensors")
    assert r.max_abs_diff == {"generator": 0.0, "discriminator": 0.0}
    assert r.gan.config.ndf == NDF
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        assert torch.equal(torch.sigmoid(r.gan.discriminator(x)), D(x))


def test_ambiguous_checkpoints_are_refused_with_their_entries_and_key_picks_one(pair, tmp_path):
    G, D, G2 = pair
    torch.save({"netG": G.state_dict(), "netG_ema": G2.state_dict(), "netD": D.state_dict()}, tmp_path / "ema.pth")
    with pytest.raises(ValueError, match=r"netG: cannot tell which entry of the training checkpoint \(.*ema.pth\) is "
                                         r"the generator: its state dicts are \['netG', 'netG_ema', 'netD'\]; pick "
                                         r"one with key= \(--key on the command line\)"):
        convert(tmp_path / "ema.pth")
    assert _same_images(convert(tmp_path / "ema.pth", key="netG_ema").gan, G2) == 0
    assert _same_images(convert(tmp_path / "ema.pth", key="netG").gan, G) == 0
    torch.save({"a": G.state_dict(), "b": G2.state_dict()}, tmp_path / "ab.pth")  # two neutral names
    with pytest.raises(ValueError, match=r"its state dicts are \['a', 'b'\]"):
        convert(tmp_path / "ab.pth")
    nested = {"run": {"models": [G.state_dict(), G2.state_dict()]}}
    with pytest.raises(ValueError, match=r"its state dicts are \['run/models/0', 'run/models/1'\]"):
        convert(nested)
    assert _same_images(convert(nested, key="run/models/1").gan, G2) == 0
    assert _same_images(convert(nested, key="run.models.0").gan, G) == 0
    with pytest.raises(ValueError, match=r"key: the checkpoint of netG has no entry 'G'; its state dicts are "
                                         r"\['netG', 'netG_ema', 'netD'\]"):
        convert(tmp_path / "ema.pth", key="G")
    torch.save({"netG": G.state_dict(), "epoch": 3}, tmp_path / "epoch.pth")
    with pytest.raises(ValueError, match=r"netG: the entry 'epoch' \(.*\) is not a state dict .* but a value of type int"):
        convert(tmp_path / "epoch.pth", key="epoch")
    with pytest.raises(ValueError, match=r"netD: cannot tell which entry .* is the discriminator: .*\['a', 'b'\]; "
                                         r"pick one with d_key= \(--netD-key on the command line\)"):
        convert(G.state_dict(), tmp_path / "ab.pth")


def _save_with_cuda_locations(obj, path, monkeypatch):
    """torch.save as on a GPU machine: every storage is recorded with the location 'cuda:0'.

    torch.save asks torch.serialization.location_tag(storage) for the location it writes beside each storage
    (``cpu``, ``cuda:0``, ...); here it answers 'cuda:0' as it does for a tensor on the first GPU.
    """
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save(obj, path)


def test_tensors_saved_on_cuda_load_on_the_cpu(pair, tmp_path, monkeypatch):
    G, D, _ = pair
    path = tmp_path / "gpu.tar"
    _save_with_cuda_locations({"netG_state_dict": G.state_dict()}, path, monkeypatch)
    with zipfile.ZipFile(path) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    assert b"cuda:0" in pkl and b"cpu" not in pkl
    locations = []  # the location torch.load reads beside every storage
    torch.load(path, map_location=lambda storage, loc: locations.append(loc) or storage, weights_only=True)
    assert locations == ["cuda:0"] * len(G.state_dict())
    if not torch.cuda.is_available():  # what a plain torch.load does with the file on a CPU-only machine
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    r = convert(path)
    assert r.max_abs_diff["generator"] == 0 and _same_images(r.gan, G) == 0
    assert all(p.device.type == "cpu" for p in r.gan.generator.parameters())


# ------------------------------------------------------------------------------------------------ depths

@pytest.mark.parametrize("size", [32, 64, 128])
def test_every_depth_converts_with_its_discriminator(size, tmp_path):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(size)
        G, D = pytorch_examples_dcgan(NZ, NGF, NDF, 1, image_size=size)
        _moved_statistics(G, D)
    assert len([m for m in G.main if isinstance(m, nn.ConvTranspose2d)]) == size.bit_length() - 2
    torch.save(G.state_dict(), tmp_path / "g.pth"), torch.save(D.state_dict(), tmp_path / "d.pth")
    r = convert(tmp_path / "g.pth", tmp_path / "d.pth", out=tmp_path / "m.safetensors")
    cfg = r.gan.config
    assert (cfg.image_size, cfg.channels, cfg.nz, cfg.ngf, cfg.ndf) == (size, 1, NZ, NGF, NDF)
    assert r.max_abs_diff == {"generator": 0.0, "discriminator": 0.0}
    assert _same_images(r.gan, G) == 0


@pytest.mark.parametrize("size", [32, 128])
def test_the_reference_built_from_a_file_equals_the_source_modules(size):
    """SequentialReference (used when a file's key names are not pytorch/examples') computes what the source does."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        G, D = pytorch_examples_dcgan(NZ, NGF, NDF, 3, image_size=size)
        _moved_statistics(G, D)
    from latentlab.convert import discriminator_table
    g = SequentialReference(G.state_dict(), generator_table(G.state_dict())).eval()
    d = SequentialReference(D.state_dict(), discriminator_table(D.state_dict()), "discriminator").eval()
    g.load_state_dict(G.state_dict()), d.load_state_dict(D.state_dict())
    z = torch.randn(3, NZ, 1, 1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = G(z)
        assert torch.equal(g(z), x) and torch.equal(d(x), D(x))


# ------------------------------------------------------------------------------------------------ cDCGAN

class CDCGAN(nn.Module):
    """A conditional DCGAN generator as cDCGAN repositories write it: ``forward(noise, labels)``, the one-hot class
    concatenated to z (or a learned ``label_emb``), Dropout after the blocks, default convolution biases."""

    def __init__(self, nz, n_classes, ngf, nc, size, embed=False, bias=True, dropout=0.3, class_first=False):
        super().__init__()
        self.n_classes, self.class_first = n_classes, class_first
        self.label_emb = nn.Embedding(n_classes, n_classes) if embed else None
        k = size.bit_length() - 3
        widths = [nz + n_classes] + [ngf * 2 ** (k - 1 - i) for i in range(k)]
        layers = []
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            layers += [nn.ConvTranspose2d(a, b, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=bias),
                       nn.BatchNorm2d(b), nn.ReLU(True), nn.Dropout(dropout)]
        self.model = nn.Sequential(*layers, nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, noise, labels):
        c = self.label_emb(labels) if self.label_emb is not None else \
            nn.functional.one_hot(labels, self.n_classes).float()
        z = noise.view(noise.size(0), -1)
        x = torch.cat([c, z] if self.class_first else [z, c], 1)
        return self.model(x.view(x.size(0), -1, 1, 1))


def _cdcgan(size, **kw):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(size)
        net = CDCGAN(NZ, 5, NGF, 3, size, **kw)
        with torch.no_grad():
            net.train()
            for _ in range(2):
                net(torch.randn(4, NZ), torch.randint(0, 5, (4,)))
            for m in net.modules():  # biases large enough that a mistake in folding them shows
                if isinstance(m, nn.ConvTranspose2d) and m.bias is not None:
                    m.bias.normal_(0, 0.5)
    return net.eval()


@pytest.mark.parametrize("size, embed, bias, first", [(128, False, True, False), (64, False, False, False),
                                                     (32, True, True, False), (64, False, True, True),
                                                     (32, True, False, True)])
def test_a_cdcgan_converts_to_an_acgan_that_takes_c_everywhere(size, embed, bias, first, tmp_path):
    net = _cdcgan(size, embed=embed, bias=bias, class_first=first)
    torch.save({"generator": net.state_dict(), "epoch": 9}, tmp_path / "cgan.pth")
    kw = {} if embed else {"num_classes": 5}
    source = "cdcgan-class-first" if first else "cdcgan"
    r = convert(tmp_path / "cgan.pth", source=source, out=tmp_path / "c.safetensors", **kw,
                options=ConvertOptions(class_names=list("abcde")))
    cfg = r.gan.config
    assert (cfg.arch, cfg.num_classes, cfg.nz, cfg.image_size, cfg.class_names) == \
           ("acgan", 5, NZ, size, tuple("abcde"))
    assert cfg.class_input == ("embedding" if embed else "onehot")
    assert r.max_abs_diff["generator"] <= 1e-5
    assert any("folded the biases" in n for n in r.notes) == bias
    z = torch.randn(10, NZ, generator=torch.Generator().manual_seed(3))
    c = torch.arange(10) % 5
    with torch.no_grad():
        ref = net(z, c)
    # everywhere latentlab's AC-GAN takes c: the generator, LatentModel (walks, arithmetic, dissection use it)
    lm = LatentModel(load(tmp_path / "c.safetensors"))
    assert lm.conditional and lm.num_classes == 5
    out = lm.generate(z, c)
    assert (out - ref).abs().max() <= 1e-5
    assert (lm.generate(z, 2) - net(z, torch.full((10,), 2))).abs().max() <= 1e-5
    with pytest.raises(ValueError, match=r"c: this AC-GAN needs a class"):
        lm.generate(z)


def test_walks_on_a_converted_cdcgan_match_the_source():
    """A z walk with c=, and the AC-GAN class walk (z fixed, the one-hot vector moved from class 0 to class 4)."""
    from latentlab.latent import Walk
    net = _cdcgan(32)
    gan = convert(net.state_dict(), source="cdcgan", num_classes=5).gan
    walk = Walk(gan, c=3, features="pixels")
    frames = walk.random(keyframes=2, steps=3, seed=0)
    assert frames.shape == (3, 3, 32, 32)
    with torch.no_grad():
        assert (frames - net(walk.z, torch.full((3,), 3))).abs().max() <= 1e-5
        ends = walk.classes(walk.z[0], 0, 4, steps=3)[[0, -1]]
        assert (ends - net(walk.z[:1].expand(2, -1), torch.tensor([0, 4]))).abs().max() <= 1e-5


def test_cdcgan_sizes_and_refusals(tmp_path):
    net = _cdcgan(64)
    sd = net.state_dict()
    with pytest.raises(ValueError, match=r"num_classes: the cdcgan generator's first layer takes 13 inputs, nz \+ the "
                                         r"number of classes \(a one-hot vector\); pass num_classes= \(--num-classes\) "
                                         r"or nz= \(--nz\)"):
        convert(sd, source="cdcgan")
    assert convert(sd, source="cdcgan", nz=NZ).gan.config.num_classes == 5  # nz gives the classes too
    with pytest.raises(ValueError, match=r"netG: tensor shapes do not match nz=8, ngf=4, nc=3, 6 classes"):
        convert(sd, source="cdcgan", num_classes=6, nz=NZ)
    with pytest.raises(ValueError, match=r"netD: the 'cdcgan' layout converts the generator only"):
        convert(sd, sd, source="cdcgan", num_classes=5)
    with pytest.raises(ValueError, match=r"num_classes: the 'pytorch-examples' layout is not class-conditional"):
        convert(sd, num_classes=5)
    last = CDCGAN(NZ, 5, NGF, 3, 32)
    last.model[-2] = nn.ConvTranspose2d(NGF, 3, 4, 2, 1, bias=True)
    nn.init.constant_(last.model[-2].bias, 0.1)
    with pytest.raises(ValueError, match=r"netG: the last layer 'model.12' has a bias \(model.12.bias\); latentlab's "
                                         r"DCGAN has none there"):
        convert(last.state_dict(), source="cdcgan", num_classes=5)
    nn.init.zeros_(last.model[-2].bias)  # a zero bias is the same function
    assert convert(last.eval().state_dict(), source="cdcgan", num_classes=5).max_abs_diff["generator"] <= 1e-5
    # the class order is not in the state dict: a [class, z] model read as [z, class] draws other images
    first = _cdcgan(32, class_first=True)
    wrong = convert(first.state_dict(), source="cdcgan", num_classes=5).gan
    right = convert(first.state_dict(), source="cdcgan-class-first", num_classes=5).gan
    z, c = torch.randn(4, NZ, generator=torch.Generator().manual_seed(0)), torch.arange(4)
    with torch.no_grad():
        assert (right.generator(z, c) - first(z, c)).abs().max() <= 1e-5
        assert (wrong.generator(z, c) - first(z, c)).abs().max() > 1e-2


# ------------------------------------------------------------------------------------------------ command line

def test_cli_takes_a_checkpoint_as_it_is(pair, tmp_path, capsys, monkeypatch):
    G, D, G2 = pair
    _save_with_cuda_locations({"netG_state_dict": G.state_dict()}, tmp_path / "weights.tar", monkeypatch)
    assert cli.main(["convert", str(tmp_path / "weights.tar")]) == 0
    text = capsys.readouterr().out
    assert f"-> {tmp_path / 'weights.safetensors'}" in text
    assert "netG: read the entry 'netG_state_dict' of a training checkpoint" in text
    assert "max abs difference of the images 0" in text and "nz 8, ngf 4" in text
    assert _same_images(load(tmp_path / "weights.safetensors"), G) == 0
    torch.save({"netG": G.state_dict(), "netG_ema": G2.state_dict()}, tmp_path / "ema.pth")
    assert cli.main(["convert", str(tmp_path / "ema.pth")]) == 2
    err = capsys.readouterr().err
    assert "cannot tell which entry" in err and "--key" in err and not (tmp_path / "ema.safetensors").exists()
    assert cli.main(["convert", str(tmp_path / "ema.pth"), "--key", "netG_ema", "--out",
                     str(tmp_path / "ema.safetensors")]) == 0
    assert _same_images(load(tmp_path / "ema.safetensors"), G2) == 0
    net = _cdcgan(32)
    torch.save(net.state_dict(), tmp_path / "cgan.pth")
    assert cli.main(["convert", str(tmp_path / "cgan.pth"), "--from", "cdcgan", "--num-classes", "5",
                     "--class-names", "a, b,c,d,e"]) == 0
    assert "32 px, 5 classes (onehot)" in capsys.readouterr().out
    assert load(tmp_path / "cgan.safetensors").config.class_names == tuple("abcde")


def test_python_objects_beside_the_weights_are_left_unread(pair, tmp_path):
    """{"args": Namespace, "losses": numpy array, ...} loads with placeholders: none of those objects is built."""
    import argparse
    import pathlib

    import numpy as np

    from latentlab.convert import Unread
    G, _, _ = pair
    torch.save({"args": argparse.Namespace(nz=NZ, lr=2e-4), "netG": G.state_dict(), "losses": np.array([0.7, 0.6]),
                "best": np.float64(0.5), "dir": pathlib.Path("/runs/x")}, tmp_path / "ckpt.pth")
    r = convert(tmp_path / "ckpt.pth")
    assert _same_images(r.gan, G) == 0
    note = [n for n in r.notes if "left unread" in n]
    assert note and "'args' (argparse.Namespace)" in note[0] and "'dir' (pathlib.PosixPath)" in note[0]
    torch.save({"netG": G.main, "epoch": 3}, tmp_path / "module_inside.pth")  # the module object, not its state dict
    with pytest.raises(ValueError, match=r"entries \['epoch', 'netG'\] are not tensors and none of them holds a state dict "
                                         r"\('netG' is a torch.nn.modules.container.Sequential: latentlab does not "
                                         r"unpickle Python objects"):
        convert(tmp_path / "module_inside.pth")
    # an object whose unpickling runs code: the placeholder stands in for it, the code does not run
    torch.save({"netG": G.state_dict(), "hook": Tripwire()}, tmp_path / "tripwire.pth")
    r = convert(tmp_path / "tripwire.pth")
    assert TRIPPED == [] and any("'hook' (test_convert_checkpoints._trip)" in n for n in r.notes)
    torch.load(tmp_path / "tripwire.pth", weights_only=False)  # the control: a full unpickling runs it
    assert TRIPPED == ["ran"]
    assert isinstance(Unread(), Unread)


TRIPPED = []


def _trip(x):
    TRIPPED.append(x)
    return x


class Tripwire:
    def __reduce__(self):
        return _trip, ("ran",)


def test_a_foreign_safetensors_state_dict_converts_and_a_latentlab_file_is_refused(pair, tmp_path):
    from safetensors.torch import save_file
    G, _, _ = pair
    save_file({k: v.contiguous() for k, v in _prefixed(G.state_dict(), "module.").items()}, tmp_path / "g.safetensors")
    r = convert(tmp_path / "g.safetensors", out=tmp_path / "m.safetensors")
    assert r.max_abs_diff["generator"] == 0 and _same_images(r.gan, G) == 0
    with pytest.raises(ValueError, match=r"netG: this is already a latentlab model file"):
        convert(tmp_path / "m.safetensors")


def test_a_file_from_before_num_batches_tracked_converts(pair):
    """PyTorch < 0.4.1 saved BatchNorm without num_batches_tracked; it only counts training steps."""
    G, _, _ = pair
    old = {k: v for k, v in G.state_dict().items() if not k.endswith("num_batches_tracked")}
    r = convert(old)
    assert r.max_abs_diff["generator"] == 0 and _same_images(r.gan, G) == 0
    assert int(r.gan.generator.block1.bn.num_batches_tracked) == 0
