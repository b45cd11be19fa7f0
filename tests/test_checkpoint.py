"""Checkpoints: bit-exact round trip, fp16 export, and files that cannot hurt (never unpickled)."""
from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

import latentlab
from latentlab import GAN, CheckpointError, ModelConfig, load, save
from latentlab.io import atomic_write_bytes, read_metadata


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(arch):
    extra = dict(num_classes=3, class_names=("x", "y", "z")) if arch == "acgan" else {}
    return ModelConfig(arch=arch, nz=8, ngf=4, ndf=4, image_size=32, hidden=16, dataset="toy", prior="uniform", **extra)


def _trained_like(arch):
    """A model whose BatchNorm buffers are not at their defaults (a forward pass in train mode)."""
    torch.manual_seed(0)
    gan = GAN(_cfg(arch)).train()
    z = torch.randn(4, 8)
    x = gan.generator(z, torch.tensor([0, 1, 2, 0])) if arch == "acgan" else gan.generator(z)
    gan.discriminator(x)
    return gan.eval()


@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
def test_round_trip_bit_exact(tmp_path, arch):
    gan = _trained_like(arch)
    gan.info = {"note": "hello"}
    path = save(gan, tmp_path / "m.safetensors", step=123)
    back = load(path)
    assert back.config == gan.config and back.step == 123 and back.dataset == "toy" and back.info == {"note": "hello"}
    sd, sd2 = gan.state_dict(), back.state_dict()
    assert sd.keys() == sd2.keys()
    for k in sd:
        assert sd[k].dtype == sd2[k].dtype and torch.equal(sd[k], sd2[k]), k
    assert back.prior == "uniform" and back.config.class_names == gan.config.class_names
    classes = torch.tensor([0, 1, 2, 1]) if arch == "acgan" else None
    assert torch.equal(gan.sample(4, seed=3, classes=classes), back.sample(4, seed=3, classes=classes))
    meta = read_metadata(path)
    assert meta["format"] == "latentlab" and json.loads(meta["config"])["arch"] == arch  # config travels in the file


def test_fp16_export_loads(tmp_path):
    gan = _trained_like("dcgan")
    path = save(gan, tmp_path / "half.safetensors", half=True)
    assert os.path.getsize(path) < 0.6 * os.path.getsize(save(gan, tmp_path / "full.safetensors"))
    back = load(path)
    for k, v in gan.state_dict().items():
        w = back.state_dict()[k]
        assert w.dtype == v.dtype  # loaded back into the model's dtype
        if v.is_floating_point():
            torch.testing.assert_close(w, v.half().to(v.dtype), rtol=0, atol=0)
    torch.testing.assert_close(back.sample(2, seed=0), gan.sample(2, seed=0), atol=2e-2, rtol=0)


def test_generator_only_file(tmp_path):
    gan = _trained_like("dcgan")
    back = load(save(gan, tmp_path / "g.safetensors", include_discriminator=False))
    assert back.discriminator is None
    assert torch.equal(back.sample(2, seed=1), gan.sample(2, seed=1))


def test_load_pretrained_accepts_a_path(tmp_path):
    gan = _trained_like("gan")
    p = save(gan, tmp_path / "m.safetensors")
    assert torch.equal(latentlab.load_pretrained(str(p)).sample(2, seed=0), gan.sample(2, seed=0))
    with pytest.raises(ValueError, match=r"^name: unknown pretrained model 'nope'"):
        latentlab.load_pretrained("nope")


# ----------------------------------------------------------------------------- files that cannot hurt

class _Evil:
    """Unpickling this would create a marker file (stands in for arbitrary code execution)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_is_never_unpickled(tmp_path, protocol):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"generator.w": _Evil(marker)}, protocol=protocol))
    with pytest.raises(CheckpointError) as e:
        load(path)
    assert str(path) in str(e.value) and ("pickle" in str(e.value) or "safetensors" in str(e.value))
    assert not marker.exists()


def test_torch_save_zip_is_rejected(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    torch.save({"x": _Evil(marker)}, path)  # torch.save's zip format, with a pickle inside
    with pytest.raises(CheckpointError, match=r"looks like a pickle / torch.save file; .* never unpickles"):
        load(path)
    assert not marker.exists()


def test_safetensors_header_that_starts_like_a_pickle(tmp_path):
    """A valid file whose header length is 0x10280 begins with the bytes b"\\x80\\x02" of a pickle."""
    gan = _trained_like("dcgan")
    path, pad = tmp_path / "m.safetensors", 0
    for _ in range(5):  # the header grows one byte per padding character (then rounds up to 8)
        save(gan, path, info={"pad": "x" * pad})
        n = int.from_bytes(path.read_bytes()[:8], "little")
        if n == 0x10280:
            break
        pad += 0x10280 - n if n < 0x10280 else 0x10280 - n - 7
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert load(path).info["pad"] == "x" * pad


def test_truncated_file(tmp_path):
    good = save(_trained_like("dcgan"), tmp_path / "good.safetensors")
    data = good.read_bytes()
    for cut, name in [(len(data) // 2, "half"), (len(data) - 1, "last-byte"), (20, "in-header"), (3, "tiny"),
                      (0, "empty")]:
        p = tmp_path / f"{name}.safetensors"
        p.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as e:
            load(p)
        assert str(p) in str(e.value), name


def test_corrupt_bytes(tmp_path):
    p = tmp_path / "noise.safetensors"
    p.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match=r"noise\.safetensors"):
        load(p)
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(CheckpointError, match=r"not a valid safetensors file"):
        load(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere\.safetensors.* does not exist"):
        load(tmp_path / "nothere.safetensors")
    with pytest.raises(CheckpointError, match=r"is a directory"):
        load(tmp_path)


def _rewrite(src, dst, *, tensors=None, meta=None):
    t = load_file(str(src))
    m = read_metadata(src)
    if tensors:  # as an older latentlab wrote it (no sha256), so the checks after the checksum's are reached
        tensors(t)
        m.pop("sha256")
    if meta:
        meta(m)
    save_file(t, str(dst), metadata=m)
    return dst


def test_foreign_safetensors_file(tmp_path):
    p = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(2)}, str(p), metadata={"framework": "other"})
    with pytest.raises(CheckpointError, match=r"foreign\.safetensors' is not a latentlab model file"):
        load(p)


def test_wrong_tensor_shape(tmp_path):
    good = save(_trained_like("dcgan"), tmp_path / "good.safetensors")

    def widen(t):
        t["generator.block1.conv.weight"] = torch.zeros(8, 99, 4, 4)

    p = _rewrite(good, tmp_path / "shape.safetensors", tensors=widen)
    with pytest.raises(CheckpointError, match=r"shape\.safetensors.*generator\.block1\.conv\.weight has shape "
                                              r"\(8, 99, 4, 4\), the config expects \(8, 16, 4, 4\)"):
        load(p)


def test_missing_tensor(tmp_path):
    good = save(_trained_like("dcgan"), tmp_path / "good.safetensors")
    p = _rewrite(good, tmp_path / "missing.safetensors", tensors=lambda t: t.pop("generator.to_rgb.conv.weight"))
    with pytest.raises(CheckpointError, match=r"missing\.safetensors.*missing \['to_rgb\.conv\.weight'\]"):
        load(p)


def test_missing_metadata_key(tmp_path):
    good = save(_trained_like("dcgan"), tmp_path / "good.safetensors")
    p = _rewrite(good, tmp_path / "nocfg.safetensors", meta=lambda m: m.pop("config"))
    with pytest.raises(CheckpointError, match=r"nocfg\.safetensors.*metadata key 'config' is missing"):
        load(p)
    p = _rewrite(good, tmp_path / "badjson.safetensors", meta=lambda m: m.update(config="{oops"))
    with pytest.raises(CheckpointError, match=r"badjson\.safetensors.*'config' is not valid JSON"):
        load(p)


def test_newer_format_and_config_versions(tmp_path):
    good = save(_trained_like("dcgan"), tmp_path / "good.safetensors")
    p = _rewrite(good, tmp_path / "newfmt.safetensors", meta=lambda m: m.update(format_version="99"))
    with pytest.raises(CheckpointError, match=r"newfmt\.safetensors' was written by a newer latentlab"):
        load(p)

    def newer_cfg(m):
        c = json.loads(m["config"])
        c["version"] = 99
        m["config"] = json.dumps(c)

    p = _rewrite(good, tmp_path / "newcfg.safetensors", meta=newer_cfg)
    with pytest.raises(CheckpointError, match=r"newcfg\.safetensors.*config version 99 is newer"):
        load(p)

    def unknown_key(m):
        c = json.loads(m["config"])
        c["flux_capacitor"] = 1
        m["config"] = json.dumps(c)

    p = _rewrite(good, tmp_path / "unk.safetensors", meta=unknown_key)
    with pytest.raises(CheckpointError, match=r"unk\.safetensors.*unknown keys \['flux_capacitor'\]"):
        load(p)


def test_nan_weights_rejected(tmp_path):
    good = save(_trained_like("dcgan"), tmp_path / "good.safetensors")
    p = _rewrite(good, tmp_path / "nan.safetensors",
                 tensors=lambda t: t["discriminator.head.weight"].fill_(float("nan")))
    with pytest.raises(CheckpointError, match=r"nan\.safetensors.*discriminator\.head\.weight contains NaN"):
        load(p)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    gan = _trained_like("dcgan")
    path = save(gan, tmp_path / "m.safetensors", step=1)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"^gan: expected a latentlab GAN"):
        save(gan.generator, path)

    def boom(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        save(gan, path, step=2)
    monkeypatch.undo()
    assert path.read_bytes() == before and load(path).step == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp file left behind
    with pytest.raises(FileNotFoundError, match=r"^path: directory"):
        atomic_write_bytes(tmp_path / "no" / "dir.bin", b"x")
