"""The captum internals latentlab's guided-backprop extension (latentlab/attribution/guided.py) relies on.

The extension overrides captum's hook life cycle (``_register_hooks`` / ``_remove_hooks`` of
``ModifiedReluGradientAttribution``, the ``backward_hooks`` list) and calls ``captum._utils.gradient.
construct_neuron_grad_fn``. None of that is public API: these tests fail loudly, naming what changed, when a
captum release moves it, instead of guided backprop silently turning back into the plain gradient.
"""
from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import captum
import pytest
import torch
from captum._utils import gradient as captum_gradient
from captum.attr._core.guided_backprop_deconvnet import ModifiedReluGradientAttribution
from packaging.specifiers import SpecifierSet
from torch import nn

from latentlab.attribution import guided
from latentlab.attribution.guided import FilterGuidedBackprop, GuidedBackprop, NeuronGuidedBackprop

ROOT = Path(__file__).resolve().parents[1]


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_installed_captum_is_in_the_pinned_range():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if re.match(r"captum\b", d))[len("captum"):]
    assert re.search(r"<\s*\d", spec), f"captum needs an upper bound in pyproject.toml, got {spec!r}"
    assert captum.__version__ in SpecifierSet(spec), (captum.__version__, spec)


def test_the_overridden_hook_methods_still_exist_with_their_signatures():
    assert _params(ModifiedReluGradientAttribution._register_hooks) == ["self", "module"]
    assert _params(ModifiedReluGradientAttribution._remove_hooks) == ["self"]
    assert issubclass(GuidedBackprop, ModifiedReluGradientAttribution)
    gbp = GuidedBackprop(nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.2)))
    assert isinstance(gbp.backward_hooks, list)  # our hooks go into captum's list, which _remove_hooks empties
    assert _params(captum_gradient.construct_neuron_grad_fn) == [
        "layer", "neuron_selector", "device_ids", "attribute_to_neuron_input"]
    ngbp = NeuronGuidedBackprop(nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.2)), "0")
    for attr in ("layer", "device_ids", "forward_func"):
        assert hasattr(ngbp, attr), attr  # read by NeuronGuidedBackprop.attribute


def test_captum_still_runs_the_hook_life_cycle_in_try_finally():
    """captum.attr.GuidedBackprop.attribute registers through model.apply(self._register_hooks) and removes in a
    finally; the warning it prints there is the one the extension silences."""
    src = inspect.getsource(ModifiedReluGradientAttribution.attribute)
    assert "self.model.apply(self._register_hooks)" in src
    assert re.search(r"finally:\s*\n\s*self\._remove_hooks\(\)", src)
    assert guided._CAPTUM_HOOK_WARNING in src


class _Net(nn.Module):
    """LeakyReLU net that records how many forward hooks its activation carries during the forward."""

    def __init__(self, fail=False):
        super().__init__()
        self.lin, self.act, self.out = nn.Linear(4, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1)
        self.fail, self.hooks_seen = fail, []

    def forward(self, x):
        self.hooks_seen.append(len(self.act._forward_hooks))
        h = self.act(self.lin(x))
        if self.fail:
            raise RuntimeError("boom")
        return self.out(h)


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(getattr(m, "_forward_pre_hooks", {}))
               for m in model.modules())


def test_hooks_are_installed_during_the_call_and_none_remain():
    torch.manual_seed(0)
    net, x = _Net(), torch.randn(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # captum's hook warning must stay silenced
        a = GuidedBackprop(net).attribute(x)
    assert net.hooks_seen == [1]  # our _register_hooks ran inside captum's call: the LeakyReLU was hooked
    assert _hooks(net) == 0
    plain = torch.autograd.grad(net(x.requires_grad_()).sum(), x)[0]
    assert not torch.equal(a, plain)  # the rectification took effect


def test_no_hooks_remain_when_attribute_raises():
    net = _Net(fail=True)
    with pytest.raises(RuntimeError, match="boom"):
        GuidedBackprop(net).attribute(torch.randn(3, 4))
    assert net.hooks_seen == [1] and _hooks(net) == 0
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.2), nn.Conv2d(4, 2, 3))
    with pytest.raises(ValueError):
        FilterGuidedBackprop(conv, "2").attribute(torch.randn(1, 3, 8, 8), filter=7)  # only 2 filters
    assert _hooks(conv) == 0


def test_captum_is_imported_only_by_the_extension_module():
    users = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "latentlab").rglob("*.py")
                   if re.search(r"^\s*(from|import) captum", p.read_text(), re.M))
    assert users == ["latentlab/attribution/guided.py"]
