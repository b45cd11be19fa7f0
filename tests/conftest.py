"""Shared fixtures: tiny models (nz=8, 16-32 px) so the suite stays fast on 2 CPU cores."""
from __future__ import annotations

import os

import pytest
import torch

from latentlab import GAN, ModelConfig

torch.set_num_threads(int(os.environ.get("LATENTLAB_TEST_THREADS", "2")))

# Quality checks of the shipped models on many samples (a minute or more each on a loaded 2-core machine) are
# marked `shipped`: the test command skips them with this reason, and .ci/run's second stage runs them
# (SHIPPED_STAGE, checked by tests/test_docs.py). Each keeps a fast test of the same code path in the suite.
SHIPPED_ENV = "LATENTLAB_SHIPPED"
SHIPPED_STAGE = f"{SHIPPED_ENV}=1 .venv/bin/python -m pytest -m shipped --durations=15"


def pytest_collection_modifyitems(config, items):
    if os.environ.get(SHIPPED_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"shipped-model quality check, run by .ci/run's second stage ({SHIPPED_ENV}=1 "
                                   "pytest -m shipped)")
    for item in items:
        if item.get_closest_marker("shipped") is not None:
            item.add_marker(skip)


@pytest.fixture
def one_thread():
    """Run a test with one torch thread (restored after). Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``: tiny ops pay a thread hand-off per call on a
    shared 2-core machine, and one thread is ~10x faster there."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tiny_config():
    return ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32, channels=3)


@pytest.fixture
def tiny_gan(tiny_config):
    torch.manual_seed(0)
    return GAN(tiny_config).eval()


@pytest.fixture
def tiny_rooms_gan():
    """A tiny untrained 64x64 DCGAN (the rooms geometry) for pipeline tests."""
    torch.manual_seed(0)
    return GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms")).eval()


@pytest.fixture
def tiny_acgan():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="acgan", nz=8, ngf=8, ndf=8, image_size=32, channels=1, num_classes=10,
                      class_names=tuple(f"c{i}" for i in range(10)))
    return GAN(cfg).eval()


class ForeignGenerator(torch.nn.Module):
    """Not a latentlab class: a user's own generator (pytorch/examples style, z as (N, nz, 1, 1))."""

    def __init__(self, nz=8, ngf=8, nc=3):
        super().__init__()
        self.main = torch.nn.Sequential(
            torch.nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False), torch.nn.BatchNorm2d(ngf * 2), torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), torch.nn.BatchNorm2d(ngf), torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), torch.nn.Tanh(),
        )

    def forward(self, z):
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.main(z)  # (N, nc, 16, 16)


@pytest.fixture
def foreign_generator():
    torch.manual_seed(0)
    return ForeignGenerator().eval()
