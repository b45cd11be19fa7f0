"""One model file for every network kind (issue 33): GAN, DTN, DTN encoder and judges are written by
``latentlab.io.write_model_file`` and read by ``latentlab.io.read_model_file``; every file carries a format tag,
a format_version, its config as JSON and a sha256 of its tensors; older files (everything in pretrained/) still
load; a corrupt file, a wrong sha256 or an image passed as a model gets an error naming the file."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from latentlab.checkpoint import load, save
from latentlab.config import Config, ModelConfig
from latentlab.io import FILE_KINDS, CheckpointError, digest, read_metadata, read_model_file
from latentlab.judges.fashion import FashionClassifier, FashionClassifierConfig
from latentlab.models import GAN
from latentlab.train import TrainConfig
from latentlab.transfer import DTN, DTNConfig, Encoder, EncoderConfig, load_dtn, load_encoder, save_dtn, save_encoder
from latentlab.transfer.avatar_reader import AvatarReader, AvatarReaderConfig, load_avatar_reader, save_avatar_reader

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "pretrained"


def _tiny(kind: str):
    """(a tiny network of ``kind``, its writer, its loader)."""
    torch.manual_seed(0)
    if kind == "gan":
        return GAN(ModelConfig(nz=8, ngf=4, ndf=4, channels=1, image_size=32)).eval(), save, load
    f = Encoder(EncoderConfig(in_channels=3, image_size=16, feature_dim=8, widths=(4, 8), num_classes=3)).eval()
    if kind == "encoder":
        return f, save_encoder, load_encoder
    if kind == "dtn":
        dtn = DTN(DTNConfig(image_size=16, feature_dim=8, ngf=4, ndf=4), f).eval()
        return dtn, save_dtn, load_dtn
    if kind == "avatar-reader":
        reader = AvatarReader(AvatarReaderConfig(widths=(4, 8), size=16)).eval()
        return reader, save_avatar_reader, load_avatar_reader
    judge = FashionClassifier(FashionClassifierConfig(widths=(4, 8), feature_dim=8, convs_per_block=1)).eval()
    return judge, (lambda m, p: m.save(p)), FashionClassifier.load


KINDS = ("gan", "dtn", "encoder", "judge", "avatar-reader")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_format_version_config_and_sha256(tmp_path, kind):
    net, write, read = _tiny(kind)
    path = tmp_path / f"{kind}.safetensors"
    write(net, path)
    meta = read_metadata(path)
    assert meta["format"] == FILE_KINDS[kind].format
    assert meta["format_version"] == str(FILE_KINDS[kind].version)
    assert isinstance(json.loads(meta["config"]), dict)
    assert meta["sha256"] == digest(load_file(str(path)))
    back = read(path)
    for (k, a), (k2, b) in zip(net.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k


@pytest.mark.parametrize("kind", KINDS)
def test_a_changed_tensor_fails_the_checksum_and_names_the_file(tmp_path, kind):
    net, write, read = _tiny(kind)
    good = tmp_path / "good.safetensors"
    write(net, good)
    tensors, meta = load_file(str(good)), read_metadata(good)
    name = next(k for k, t in tensors.items() if t.is_floating_point() and t.numel() > 1)
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] += 1.0  # one weight changed, the stored sha256 kept
    bad = tmp_path / "tampered.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(ValueError, match=r"tampered\.safetensors.*checksum does not match"):
        read(bad)


@pytest.mark.parametrize("kind", KINDS)
def test_a_newer_format_version_is_refused(tmp_path, kind):
    net, write, read = _tiny(kind)
    path = tmp_path / "m.safetensors"
    write(net, path)
    tensors, meta = load_file(str(path)), read_metadata(path)
    save_file(tensors, str(path), metadata={**meta, "format_version": str(FILE_KINDS[kind].version + 1)})
    with pytest.raises(ValueError, match=r"m\.safetensors' was written by a newer latentlab"):
        read(path)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("image", [b"\x89PNG\r\n\x1a\n" + bytes(40), b"\xff\xd8\xff\xe0" + bytes(40)],
                         ids=["png", "jpeg"])
def test_an_image_passed_as_a_model_is_named_an_image(tmp_path, kind, image):
    _, _, read = _tiny(kind)
    path = tmp_path / "photo.safetensors"
    path.write_bytes(image)
    with pytest.raises(CheckpointError, match=r"photo\.safetensors' is an image \((PNG|JPEG)\), not a model file"):
        read(path)


def test_pickle_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "netG.pth"
    torch.save({"w": torch.zeros(2)}, path)
    for read in (load, load_dtn, load_encoder, FashionClassifier.load):
        with pytest.raises(CheckpointError, match=r"netG\.pth' looks like a pickle"):
            read(path)


def test_a_file_of_another_kind_is_refused(tmp_path):
    net, write, _ = _tiny("encoder")
    write(net, tmp_path / "f.safetensors")
    with pytest.raises(CheckpointError, match=r"f\.safetensors' is not a latentlab model file"):
        load(tmp_path / "f.safetensors")
    with pytest.raises(CheckpointError, match=r"f\.safetensors' is not a DTN file"):
        load_dtn(tmp_path / "f.safetensors")
    assert read_model_file(tmp_path / "f.safetensors", "encoder").version == FILE_KINDS["encoder"].version


# -- older files

SHIPPED = sorted(PRETRAINED.glob("*.safetensors")) + sorted((PRETRAINED / "judges").glob("*.safetensors"))


def _loader(path: Path):
    if path.parent.name == "judges":
        from latentlab.judges.avatars import AvatarJudge
        from latentlab.judges.faces import FaceJudge
        from latentlab.judges.mnist import MNISTJudge
        from latentlab.judges.rooms import RoomSegmenter
        from latentlab.judges.windows import WindowDetector
        classes = dict(rooms=RoomSegmenter, faces=FaceJudge, avatars=AvatarJudge, fashion=FashionClassifier,
                       mnist=MNISTJudge, windows=WindowDetector)
        if path.stem == "avatars-reader":  # the second avatar reader (its own file kind), not the avatar judge
            from latentlab.transfer.avatar_reader import load_avatar_reader
            return load_avatar_reader
        return classes[path.stem.split("-")[0]].load
    return load_dtn if path.stem.startswith("dtn") else load


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_file_loads_with_the_one_reader(path):
    """Most shipped files predate the unified writer (GAN and DTN files without sha256, judges without
    format_version); newer ones carry both. They load, and their tensors are the file's, bit for bit."""
    net = _loader(path)(path)
    for key, stored in load_file(str(path)).items():
        if path.parent.name == "judges":
            got = net.state_dict()[key]
        else:  # "generator.block1.conv.weight" -> net.generator's "block1.conv.weight"
            part, name = key.split(".", 1)
            got = getattr(net, part).state_dict()[name]
        assert torch.equal(got, stored.to(got.dtype)), key


def test_an_old_encoder_file_without_version_or_sha256_loads(tmp_path):
    """Encoder files written before the unified writer had neither format_version nor sha256."""
    f, _, _ = _tiny("encoder")
    path = tmp_path / "old.safetensors"
    save_file({k: v.contiguous() for k, v in f.state_dict().items()}, str(path),
              metadata={"format": "latentlab-dtn-encoder", "config": json.dumps(f.config.to_dict()), "info": "{}"})
    back = load_encoder(path)
    assert read_model_file(path, "encoder").version == 0
    assert all(torch.equal(a, b) for a, b in zip(f.state_dict().values(), back.state_dict().values()))


# -- one config base class

@pytest.mark.parametrize("cls", [ModelConfig, TrainConfig, DTNConfig, EncoderConfig, FashionClassifierConfig])
def test_every_config_is_a_config_and_round_trips_through_json(cls):
    assert issubclass(cls, Config) and dataclasses.is_dataclass(cls)
    cfg = cls()
    assert cls.from_json(cfg.to_json()) == cfg
    assert cls.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize("cls", [ModelConfig, DTNConfig, EncoderConfig, FashionClassifierConfig])
def test_unknown_keys_are_refused_in_one_message(cls):
    with pytest.raises(ValueError, match=r"config: unknown keys \['nope'\]; known keys are"):
        cls.from_dict({**cls().to_dict(), "nope": 1})


def test_train_config_drops_unknown_keys_of_another_version():
    assert TrainConfig.from_dict({**TrainConfig().to_dict(), "retired_option": 3}) == TrainConfig()


def test_resume_skips_a_newest_checkpoint_whose_tensors_changed(tmp_path):
    """A training checkpoint whose bytes changed after writing (the file still parses) fails its sha256,
    so resuming falls back to the one before it, with a warning naming the file."""
    from latentlab.train.trainer import checkpoint_name, latest_checkpoint
    gan, _, _ = _tiny("gan")
    (tmp_path / "checkpoints").mkdir()
    old, new = (tmp_path / "checkpoints" / checkpoint_name(s) for s in (1, 2))
    save(gan, old, kind="training", step=1)
    save(gan, new, kind="training", step=2)
    assert latest_checkpoint(tmp_path) == new
    tensors, meta = load_file(str(new)), read_metadata(new)
    tensors["generator.to_rgb.conv.weight"] = tensors["generator.to_rgb.conv.weight"] + 1
    save_file(tensors, str(new), metadata=meta)
    with pytest.warns(UserWarning, match=r"skipping unreadable checkpoint .*step-00000002.*checksum"):
        assert latest_checkpoint(tmp_path) == old


def test_load_f_takes_the_encoder_of_a_dtn_file_or_an_encoder_file(tmp_path):
    from latentlab.transfer import load_f
    dtn, _, _ = _tiny("dtn")
    save_dtn(dtn, tmp_path / "d.safetensors")
    save_encoder(dtn.encoder, tmp_path / "f.safetensors")
    for name in ("d.safetensors", "f.safetensors"):
        f = load_f(tmp_path / name)
        assert isinstance(f, Encoder) and all(torch.equal(v, f.state_dict()[k])
                                              for k, v in dtn.encoder.state_dict().items()), name
    gan, write_gan, _ = _tiny("gan")
    write_gan(gan, tmp_path / "g.safetensors")
    with pytest.raises(CheckpointError, match=r"g\.safetensors' is not a DTN encoder file"):
        load_f(tmp_path / "g.safetensors")
