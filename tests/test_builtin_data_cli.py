"""The trainer and the CLI accept the built-in datasets by name (rooms, faces, fashion-mnist)."""
from __future__ import annotations

import pytest

from latentlab import load
from latentlab.cli import main

TINY = ["--nz", "8", "--ngf", "4", "--ndf", "4", "--batch-size", "4", "--grid-size", "4", "--threads", "1",
        "--no-progress", "--steps", "2"]


@pytest.mark.parametrize("name,arch", [("rooms", "dcgan"), ("faces", "dcgan")])
def test_train_procedural_by_name(tmp_path, name, arch):
    out = tmp_path / name
    assert main(["train", "--data", name, "--arch", arch, "--image-size", "32", "--n", "16", "--out", str(out),
                 *TINY]) == 0
    gan = load(out / "model.safetensors")
    assert gan.step == 2 and gan.config.image_size == 32 and gan.dataset == name


def test_train_fashion_mnist_acgan_by_name(tmp_path):
    from latentlab.data.fashion import resolve_root
    try:
        resolve_root(None)
        from latentlab.data.fashion import FashionMNIST
        FashionMNIST(split="test")
    except FileNotFoundError as e:
        pytest.skip(f"Fashion-MNIST files absent: {e}")
    out = tmp_path / "f"
    assert main(["train", "--data", "fashion-mnist", "--arch", "acgan", "--image-size", "32", "--channels", "1",
                 "--out", str(out), *TINY]) == 0
    gan = load(out / "model.safetensors")
    assert gan.config.num_classes == 10 and gan.config.channels == 1


def test_unknown_dataset_name_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data", "bedrooms-lsun", "--out", str(tmp_path / "x"), *TINY]) == 2
    assert "neither a built-in dataset" in capsys.readouterr().err
