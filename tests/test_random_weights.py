"""latentlab.models.baseline.random_weights: the one random-weight baseline builder (evaluate's random generator,
the filter report's random D)."""
from __future__ import annotations

import pytest
import torch

from latentlab import GAN, ModelConfig
from latentlab.attribution.filters import random_like
from latentlab.metrics.ppl import random_generator
from latentlab.models import build_generator
from latentlab.models.adapter import LatentModel
from latentlab.models.baseline import random_weights


def _config(arch: str) -> ModelConfig:
    return ModelConfig(nz=8, ngf=8, ndf=8, image_size=32, arch=arch, **({"num_classes": 3} if arch == "acgan" else {}))


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
def test_fresh_on_a_module_is_the_network_built_afresh(arch):
    """draws="fresh" re-initialises a copy exactly as the constructor would under the same seed."""
    cfg = _config(arch)
    trained = build_generator(cfg)
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    state = torch.random.get_rng_state()
    built, copied = random_weights(cfg, seed=4), random_weights(trained, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)            # the global RNG is untouched
    assert _same(built, copied) and copied is not trained
    assert all(torch.equal(v, before[k]) for k, v in trained.state_dict().items())   # the caller's module too
    assert not _same(random_weights(cfg, seed=5), built)


def test_direct_draws_are_the_filter_reports_random_d(tiny_gan):
    D = tiny_gan.discriminator
    R = random_weights(D, seed=2, draws="direct")
    assert _same(R, random_like(D, seed=2)) and not R.training
    w = R.block2.conv.weight
    assert abs(float(w.std()) - 0.02) < 0.005 and torch.equal(R.block2.bn.running_var, torch.ones_like(w[:, 0, 0, 0]))
    assert not _same(R, random_weights(D, seed=2))                   # the two orders are different draws


def test_random_generator_takes_a_config_or_a_latent_model():
    """evaluate's random generator: ours from the config, a wrapped module from a re-initialised copy; for our
    own module both routes give the same weights and the same calibrated BatchNorm statistics."""
    cfg = _config("dcgan")
    torch.manual_seed(0)
    gan = GAN(cfg)
    a = random_generator(cfg, seed=3)
    b = random_generator(LatentModel(gan), seed=3)
    assert _same(a, b) and not a.training


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(seed=True), TypeError, r"^seed: expected an int, got bool"),
    (dict(seed=0, draws="xavier"), ValueError, r"^draws: expected one of \('fresh', 'direct'\), got 'xavier'"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        random_weights(torch.nn.Linear(2, 2), **kwargs)


def test_a_config_is_only_built_afresh():
    with pytest.raises(ValueError, match=r"^draws: a ModelConfig is built afresh"):
        random_weights(_config("dcgan"), seed=0, draws="direct")
    with pytest.raises(TypeError, match=r"^network: expected a ModelConfig or an nn.Module, got str"):
        random_weights("dcgan", seed=0)
