"""``rng=`` names every torch random-number generator (issue 33; ``generator`` names a network). The old
``generator=`` keyword still works, gives the same numbers and a DeprecationWarning pointing at the caller."""
from __future__ import annotations

import warnings

import pytest
import torch

from latentlab.config import ModelConfig
from latentlab.data.digits import augment_digits
from latentlab.judges import degrade as D
from latentlab.latent import Walk
from latentlab.metrics.diversity import msssim_pairs
from latentlab.models import GAN, sample_prior
from latentlab.models.adapter import LatentModel
from latentlab.rng import resolve_rng


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def gan():
    torch.manual_seed(0)
    return GAN(ModelConfig(nz=8, ngf=4, ndf=4, channels=3, image_size=32)).eval()


def _calls(gan):
    """name -> fn(**rng keyword) for one function of each kind that draws from a torch RNG."""
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    digits = torch.rand(2, 1, 16, 16) * 2 - 1
    return {
        "sample_prior": lambda **kw: sample_prior(3, 8, "normal", **kw),
        "GeneratorBase.sample_z": lambda **kw: gan.generator.sample_z(3, **kw),
        "GAN.sample": lambda **kw: gan.sample(2, **kw),
        "LatentModel.sample_z": lambda **kw: LatentModel(gan).sample_z(3, **kw),
        "Walk.random": lambda **kw: Walk(gan).random(2, 3, **kw),
        "pixel_noise": lambda **kw: D.pixel_noise(x, 0.1, **kw),
        "random_degradation": lambda **kw: D.random_degradation(x, None, **kw)[0],
        "augment_digits": lambda **kw: augment_digits(digits, **kw),
        "msssim_pairs": lambda **kw: torch.tensor(msssim_pairs(x.repeat(2, 1, 1, 1), 3, **kw)),
    }


NAMES = ["sample_prior", "GeneratorBase.sample_z", "GAN.sample", "LatentModel.sample_z", "Walk.random",
         "pixel_noise", "random_degradation", "augment_digits", "msssim_pairs"]


@pytest.mark.parametrize("name", NAMES)
def test_rng_and_the_old_generator_keyword_give_the_same_numbers(gan, name):
    call = _calls(gan)[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rng= itself warns about nothing
        a = call(rng=_g(3))
    with pytest.warns(DeprecationWarning, match="generator= for a torch.Generator is renamed rng=") as record:
        b = call(generator=_g(3))
    assert torch.equal(a, b)
    assert record[0].filename == __file__  # the warning points at the caller's line, not into latentlab


@pytest.mark.parametrize("name", ["sample_prior", "pixel_noise", "augment_digits"])
def test_rng_is_the_randomness(gan, name):
    call = _calls(gan)[name]
    assert torch.equal(call(rng=_g(1)), call(rng=_g(1)))
    assert not torch.equal(call(rng=_g(1)), call(rng=_g(2)))


def test_both_keywords_or_a_wrong_type_are_refused():
    with pytest.raises(TypeError, match="rng: pass the torch.Generator as rng= only"):
        sample_prior(2, 4, rng=_g(), generator=_g())
    with pytest.raises(TypeError, match="rng: expected a torch.Generator, got int"):
        sample_prior(2, 4, rng=0)
    with pytest.raises(TypeError, match="rng: required, a torch.Generator"):
        D.pixel_noise(torch.zeros(1, 3, 8, 8), 0.1)
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="generator: expected a torch.Generator"):
        resolve_rng(None, 5)
