"""latentlab.convert / `latentlab convert`: an unmodified pytorch/examples DCGAN state dict -> latentlab file.

Sizes are small (nz=8, ngf=ndf=8) but the layout is the source's own: 64 px, nn.Sequential "main", in-place
ReLUs, z of shape (N, nz, 1, 1), a Sigmoid at the end of D.
"""
from __future__ import annotations

import copy

import pytest
import torch

from latentlab import Trace, cli, load, load_pretrained
from latentlab.convert import (LAYOUTS, ConvertOptions, Layout, convert, generator_table, map_state_dict,
                               pytorch_examples_dcgan, verify)

pytestmark = pytest.mark.usefixtures("one_thread")
NZ, NGF, NDF = 8, 8, 8


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A pytorch/examples G and D with non-trivial BatchNorm statistics, saved as the script saves them."""
    tmp = tmp_path_factory.mktemp("convert")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, D = pytorch_examples_dcgan(NZ, NGF, NDF, 3)
        with torch.no_grad():  # a few training-mode passes move the running statistics away from 0 / 1
            for _ in range(3):
                D(G(torch.randn(6, NZ, 1, 1)))
    G.eval(), D.eval()
    torch.save(G.state_dict(), tmp / "netG_epoch_24.pth")
    torch.save(D.state_dict(), tmp / "netD_epoch_24.pth")
    return G, D, tmp


def test_the_reference_is_the_pytorch_examples_layout(source):
    G, D, _ = source
    assert isinstance(G.main, torch.nn.Sequential) and len(G.main) == 14 and len(D.main) == 13
    assert G.main[2].inplace and D.main[1].inplace  # the source's in-place activations
    assert G(torch.randn(2, NZ, 1, 1)).shape == (2, 3, 64, 64)
    with pytest.raises(RuntimeError):  # the source takes z as (N, nz, 1, 1) only
        G(torch.randn(2, NZ))


@pytest.mark.parametrize("sizes", [(8, 8, 8, 3), (5, 4, 6, 1), (100, 64, 64, 3)])
def test_the_reference_equals_the_verbatim_upstream_classes(sizes):
    """pytorch_examples_dcgan builds G and D from tables; they must be dcgan/main.py's modules exactly."""
    from _pytorch_examples_dcgan import upstream

    nets = {}
    for name, build in (("ours", pytorch_examples_dcgan), ("upstream", upstream)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(3)
            nets[name] = build(*sizes)
    for net, ref in zip(nets["ours"], nets["upstream"]):
        assert type(net).__name__ == type(ref).__name__ and net.ngpu == ref.ngpu == 1
        # module types, arguments (in-place ReLU / LeakyReLU included) and order
        assert str(net.main) == str(ref.main)
        assert [type(m) for m in net.modules()][1:] == [type(m) for m in ref.modules()][1:]
        assert [(m.inplace if hasattr(m, "inplace") else None) for m in net.main] == \
               [(m.inplace if hasattr(m, "inplace") else None) for m in ref.main]
        ours, theirs = net.state_dict(), ref.state_dict()
        assert list(ours) == list(theirs)
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)  # the same initial draws under one seed
    (g, d), (g_ref, d_ref) = nets["ours"], nets["upstream"]
    nz, nc = sizes[0], sizes[3]
    # the same outputs for the same (other) weights, in training and in eval mode
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        for m in (*g_ref.modules(), *d_ref.modules()):
            if isinstance(m, torch.nn.BatchNorm2d):
                torch.nn.init.normal_(m.weight, 1.0, 0.3), torch.nn.init.normal_(m.bias, 0.0, 0.3)
    g.load_state_dict(g_ref.state_dict()), d.load_state_dict(d_ref.state_dict())
    z = torch.randn(3, nz, 1, 1, generator=torch.Generator().manual_seed(5))
    x = torch.rand(3, nc, 64, 64, generator=torch.Generator().manual_seed(6)) * 2 - 1
    for mode in (True, False):
        for net in (g, d, g_ref, d_ref):
            net.train(mode)
        with torch.no_grad():
            out, ref = g(z), g_ref(z)
            assert out.shape == (3, nc, 64, 64) and torch.equal(out, ref)
            out, ref = d(x), d_ref(x)
            assert out.shape == (3,) and torch.equal(out, ref)
    for key, value in d.state_dict().items():  # running statistics moved the same way
        assert torch.equal(value, d_ref.state_dict()[key])


def test_cli_converts_and_the_images_are_the_same(source, capsys):
    G, D, tmp = source
    out = tmp / "model.safetensors"
    code = cli.main(["convert", str(tmp / "netG_epoch_24.pth"), "--netD", str(tmp / "netD_epoch_24.pth"),
                     "--from", "pytorch-examples", "--nz", str(NZ), "--ngf", str(NGF), "--ndf", str(NDF),
                     "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "generator vs the pytorch-examples module, 16 z (seed 0): max abs difference of the images 0" in text
    assert "discriminator vs the pytorch-examples module" in text
    gan = load(out)
    cfg = gan.config
    assert (cfg.arch, cfg.nz, cfg.ngf, cfg.ndf, cfg.image_size, cfg.prior) == ("dcgan", NZ, NGF, NDF, 64, "normal")
    assert gan.info["converted_from"] == "pytorch-examples"
    z = torch.randn(5, NZ, 1, 1, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        x_ref, x = G(z), gan.generator(z.flatten(1))
        assert torch.equal(x, x_ref)
        assert torch.equal(torch.sigmoid(gan.discriminator(x_ref)), D(x_ref))
        # the shipped-model loader takes the file too, and samples from the prior the file records
        assert torch.equal(load_pretrained(str(out)).sample(3, seed=1), gan.sample(3, seed=1))
    # refuses to overwrite without --force
    assert cli.main(["convert", str(tmp / "netG_epoch_24.pth"), "--nz", str(NZ), "--ngf", str(NGF),
                     "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err


def test_batchnorm_settings_and_training_mode_match(source):
    """eps/momentum equal, so batch statistics (training mode) and running-stat updates agree too."""
    G, D, tmp = source
    gan = convert(tmp / "netG_epoch_24.pth", tmp / "netD_epoch_24.pth", nz=NZ, ngf=NGF, ndf=NDF).gan
    for ref, ours in ((G.main[1], gan.generator.block1.bn), (D.main[3], gan.discriminator.block2.bn)):
        assert (ref.eps, ref.momentum) == (ours.eps, ours.momentum)
    G2, g2 = copy.deepcopy(G).train(), copy.deepcopy(gan.generator).train()
    z = torch.randn(6, NZ, 1, 1, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(g2(z.flatten(1)), G2(z), rtol=0, atol=1e-6)
    torch.testing.assert_close(g2.block3.bn.running_mean, G2.main[7].running_mean, rtol=0, atol=1e-7)
    torch.testing.assert_close(g2.block3.bn.running_var, G2.main[7].running_var, rtol=0, atol=1e-7)


def test_in_place_relu_of_the_source_hides_the_batchnorm_output(source):
    """Why latentlab renames into blocks without in-place activations: a hook on the source's BatchNorm sees the
    ReLU'd tensor (overwritten in place); the converted model's BatchNorm output keeps its negative values."""
    G, _, tmp = source
    gan = convert(tmp / "netG_epoch_24.pth", nz=NZ, ngf=NGF).gan
    z = torch.randn(4, NZ, 1, 1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), Trace(G, "main.4") as t_ref, Trace(gan.generator, "block2.bn") as t:
        G(z), gan.generator(z.flatten(1))
    assert t_ref.output.min() >= 0  # overwritten by the in-place ReLU after the hook stored it
    assert t.output.min() < 0
    torch.testing.assert_close(t_ref.output, t.output.clamp(min=0), rtol=0, atol=0)


def test_function_with_state_dicts_generator_only_half_and_dataparallel_keys(source, tmp_path):
    G, _, _ = source
    r = convert(G.state_dict(), nz=NZ, ngf=NGF, out=tmp_path / "g.safetensors",
                options=ConvertOptions(dataset="rooms"))
    assert r.gan.discriminator is None and set(r.max_abs_diff) == {"generator"} and r.max_abs_diff["generator"] == 0
    assert load(tmp_path / "g.safetensors").config.dataset == "rooms"
    h = convert({f"module.{k}": v for k, v in G.state_dict().items()}, nz=NZ, ngf=NGF,
                out=tmp_path / "h.safetensors", options=ConvertOptions(half=True))
    assert 0 <= h.max_abs_diff["generator"] <= 1e-2
    from safetensors import safe_open
    with safe_open(str(tmp_path / "h.safetensors"), "pt") as f:
        assert f.get_tensor("generator.block1.conv.weight").dtype == torch.float16


def test_verify_detects_a_wrong_mapping(source, monkeypatch):
    """A converted model that computes something else fails the check, before any file is written."""
    G, _, tmp = source
    r = convert(G.state_dict(), nz=NZ, ngf=NGF)
    assert verify(r.gan, G.state_dict())["generator"] == 0
    with torch.no_grad():
        r.gan.generator.block1.bn.bias.add_(0.5)
    assert verify(r.gan, G.state_dict())["generator"] > 1e-2
    lay = LAYOUTS["pytorch-examples"]
    monkeypatch.setitem(LAYOUTS, "other", Layout("other", "test", 64, lay.generator, lay.discriminator,
                                                 reference=_other_reference))
    with pytest.raises(ValueError, match=r"netG: the converted generator differs from the other module by .* "
                                         r"> tolerance 1e-05"):
        convert(G.state_dict(), source="other", nz=NZ, ngf=NGF, out=tmp / "never.safetensors")
    assert not (tmp / "never.safetensors").exists()


def _other_reference(cfg, state_g, table_g, state_d=None, table_d=None):
    """The source modules of a layout that does not match: its first BatchNorm adds 0.5 to the bias it reads."""
    G, D = pytorch_examples_dcgan(cfg.nz, cfg.ngf, cfg.ndf, cfg.channels)

    def shift(module, keys):
        module.bias.data.add_(0.5)

    G.main[1].register_load_state_dict_post_hook(shift)
    return G, D


def test_a_new_layout_is_a_table(source, monkeypatch):
    """Adding a layout = one dict entry: here the same model saved under other module names."""
    G, _, _ = source
    renamed = {k.replace("main.", "net.layer"): v for k, v in G.state_dict().items()}
    lay = LAYOUTS["pytorch-examples"]
    table = {k.replace("main.", "net.layer"): v for k, v in generator_table(G.state_dict()).items()}
    assert table == {"net.layer0": "block1.conv", "net.layer1": "block1.bn", "net.layer3": "block2.conv",
                     "net.layer4": "block2.bn", "net.layer6": "block3.conv", "net.layer7": "block3.bn",
                     "net.layer9": "block4.conv", "net.layer10": "block4.bn", "net.layer12": "to_rgb.conv"}
    monkeypatch.setitem(LAYOUTS, "renamed", Layout("renamed", "test", 64, table, lay.discriminator, "probability",
                                                   reference=None))
    gan = convert(renamed, source="renamed", nz=NZ, ngf=NGF).gan
    z = torch.randn(3, NZ, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(gan.generator(z), G(z[:, :, None, None]))


@pytest.mark.parametrize("bad, match", [
    (dict(source="nope"), r"source: unknown checkpoint layout 'nope'; known layouts are \['cdcgan', "
                              r"'cdcgan-class-first', 'dcgan-tutorial', 'pytorch-examples'\]"),
    (dict(nz=0), r"nz: expected a positive int, got 0"),
    (dict(out="model.pt"), r"out: expected a path ending in .safetensors"),
])
def test_bad_arguments(source, bad, match):
    G, _, _ = source
    with pytest.raises(ValueError, match=match):
        convert(G.state_dict(), **{"nz": NZ, "ngf": NGF, **bad})


def test_bad_files(source, tmp_path):
    G, D, tmp = source
    torch.save(G.main, tmp_path / "whole.pth")  # a pickled module: refused by weights_only, nothing is unpickled
    with pytest.raises(ValueError, match=r"netG: .*whole.pth' is not a state dict of tensors \(it holds the Python "
                                         r"object torch.nn.modules.container.Sequential\).*torch.save\(net.state_dict\(\), path\)"):
        convert(tmp_path / "whole.pth", nz=NZ, ngf=NGF)
    torch.save({"netG": G.state_dict(), "epoch": 3, "losses": [0.5, 0.25]}, tmp_path / "ckpt.pth")
    with pytest.raises(ValueError, match=r"netG: expected a state dict \(a dict of name -> tensor\), but the entries \['netG'\] are "
                                         r"not tensors and none of them holds a state dict"):
        convert({"netG": {"main.0.weight": [1.0]}}, nz=NZ, ngf=NGF)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match=r"netG: .*junk.pth' is not a file torch.load can read"):
        convert(tmp_path / "junk.pth", nz=NZ, ngf=NGF)
    with pytest.raises(FileNotFoundError, match=r"netG: file .*missing.pth' does not exist"):
        convert(tmp_path / "missing.pth", nz=NZ, ngf=NGF)
    with pytest.raises(TypeError, match=r"netG: expected a state dict .* got the module Generator"):
        convert(G, nz=NZ, ngf=NGF)
    with pytest.raises(ValueError, match=r"netD: expected a first convolution, .* found main.0 \(conv\) -> main.1 "
                                         r"\(bn\) -> .*; it looks like a generator's \(were netG and netD swapped\?\)"):
        convert(G.state_dict(), G.state_dict(), nz=NZ, ngf=NGF, ndf=NDF)
    with pytest.raises(ValueError, match=r"netG: tensor shapes do not match nz=16, ngf=8, nc=3 at 64 px \(the file's "
                                         r"tensors suggest nz=8, ngf=8, nc=3\): main.0.weight is \(8, 64, 4, 4\), "
                                         r"expected \(16, 64, 4, 4\)"):
        convert(G.state_dict(), nz=16, ngf=NGF)
    with pytest.raises(ValueError, match=r"netD: tensor shapes do not match ndf=16.*suggest ndf=8"):
        convert(G.state_dict(), D.state_dict(), nz=NZ, ngf=NGF, ndf=16)
    bad = dict(G.state_dict())
    bad["main.3.weight"] = bad["main.3.weight"].clone()
    bad["main.3.weight"][0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"netG: tensor 'main.3.weight' contains NaN or inf"):
        convert(bad, nz=NZ, ngf=NGF)


def test_a_latentlab_file_is_not_converted(source, tmp_path):
    G, _, _ = source
    convert(G.state_dict(), nz=NZ, ngf=NGF, out=tmp_path / "m.safetensors")
    from latentlab.io import load_safetensors
    tensors, _ = load_safetensors(tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match=r"netG: this is already a latentlab model file"):
        map_state_dict(tensors, generator_table(G.state_dict()), load(tmp_path / "m.safetensors").generator,
                       layout="pytorch-examples")


def test_analyses_that_take_the_raw_module_give_the_same_numbers_on_the_converted_file(source, tmp_path):
    """Walk and ablation work on the unmodified source module today: the converted file gives the same images
    (the source's layer main.5, the ReLU after its second BatchNorm, is latentlab's block2)."""
    from latentlab.dissect import ablate
    from latentlab.latent import Walk
    G, _, _ = source
    gan = convert(G.state_dict(), nz=NZ, ngf=NGF, out=tmp_path / "m.safetensors").gan
    raw = Walk(G, prior="normal", nz=NZ, features="pixels").random(keyframes=3, steps=4, seed=5)
    ours = Walk(gan, features="pixels").random(keyframes=3, steps=4, seed=5)
    assert raw.shape == (7, 3, 64, 64) and torch.equal(raw, ours)  # (K - 1)(steps - 1) + 1 frames
    z = torch.randn(4, NZ, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        with ablate(G, "main.5", maps=[0, 3, 7]):
            x_raw = G(z[:, :, None, None])
        with ablate(gan.generator, "block2", maps=[0, 3, 7]):
            x = gan.generator(z)
        assert torch.equal(x, x_raw) and not torch.equal(x, gan.generator(z))
