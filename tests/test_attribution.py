"""latentlab.attribution: guided backprop through LeakyReLU, top images, IoU, hooks, figures, CLI, example."""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import captum.attr
import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as Fn
from torch import nn

import latentlab
from latentlab.attribution import (FilterGuidedBackprop, GuidedBackprop, NeuronGuidedBackprop, filter_iou,
                                   filter_report, filter_views, iou_bound, layer_activations, random_like,
                                   register_guided_activation, top_images)
from latentlab.models.adapter import default_layer
from latentlab.attribution.semantic import upsample
from latentlab.attribution.guided import GUIDED_ACTIVATIONS
from latentlab.app.filters import filter_figures, write_filter_report
from latentlab.hooks import count_hooks

from _pytorch_examples_dcgan import build as build_examples_dcgan
from _scripts import load_script


# ------------------------------------------------------------------------------------------------
# a hand-built network with known activations
#   x = (1, 0); h = W1 x = (1, -1, 2); a = act(h); y = W2 a with W2 = (1, 1, -1)
#   d y / d a = (1, 1, -1).  Guided at the unit: 1[h > 0] * relu(1, 1, -1) = (1, 0, 0)
#   -> d y / d x = W1^T (1, 0, 0) = (1, 0).
#   Plain gradient through LeakyReLU(0.2): (1, 0.2, -1) at h -> W1^T (1, 0.2, -1) = (-1.2, 0).


class Tiny(nn.Module):
    def __init__(self, act: nn.Module):
        super().__init__()
        self.fc1 = nn.Linear(2, 3, bias=False)
        self.act = act
        self.fc2 = nn.Linear(3, 1, bias=False)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [2.0, 0.0]]))
            self.fc2.weight.copy_(torch.tensor([[1.0, 1.0, -1.0]]))
        self.grad_h = None

    def forward(self, x):
        h = self.fc1(x)
        if h.requires_grad:
            h.register_hook(lambda g: setattr(self, "grad_h", g.detach().clone()))
        return self.fc2(self.act(h)).flatten()


X = torch.tensor([[1.0, 0.0]])


@pytest.mark.parametrize("act", [nn.LeakyReLU(0.2), nn.ReLU()], ids=["leaky", "relu"])
def test_rectification_known_network(act):
    net = Tiny(act)
    attr = GuidedBackprop(net).attribute(X.clone())
    # the gradient leaving the rectified unit: only positive gradients, only where h > 0
    assert torch.equal(net.grad_h, torch.tensor([[1.0, 0.0, 0.0]]))
    assert torch.equal(attr, torch.tensor([[1.0, 0.0]]))
    assert count_hooks(net) == 0


def test_plain_captum_passes_negative_gradients_through_leaky_relu():
    net = Tiny(nn.LeakyReLU(0.2))
    plain = captum.attr.GuidedBackprop(net).attribute(X.clone().requires_grad_())
    # captum hooks only nn.ReLU: at a LeakyReLU its "guided" backprop is the plain gradient
    assert torch.allclose(net.grad_h, torch.tensor([[1.0, 0.2, -1.0]]))
    assert torch.allclose(plain, torch.tensor([[-1.2, 0.0]]))
    ours = GuidedBackprop(net).attribute(X.clone())
    assert torch.equal(ours, torch.tensor([[1.0, 0.0]]))
    # on a ReLU network both agree
    relu = Tiny(nn.ReLU())
    assert torch.equal(captum.attr.GuidedBackprop(relu).attribute(X.clone().requires_grad_()),
                       GuidedBackprop(relu).attribute(X.clone()))


def test_captum_only_table_reproduces_captum():
    net = Tiny(nn.LeakyReLU(0.2))
    only_relu = GuidedBackprop(net, activations={nn.ReLU: GUIDED_ACTIVATIONS[nn.ReLU]})
    assert torch.allclose(only_relu.attribute(X.clone()), torch.tensor([[-1.2, 0.0]]))


def test_shared_activation_module_rectified_per_call():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.LeakyReLU(0.2)  # one module used twice

        def forward(self, x):
            h1 = x * torch.tensor([1.0, -1.0])
            a1 = self.act(h1)              # (1, -0.2) for x = (1, 1)
            h2 = a1 * torch.tensor([-1.0, 1.0]) + torch.tensor([2.0, 0.0])
            return (self.act(h2) * torch.tensor([1.0, -1.0])).sum(1)

    net = Shared()
    x = torch.tensor([[1.0, 1.0]])
    # second call: h2 = (1, -0.2); grad_out (1, -1) -> guided (1, 0); first call: grad_out at a1 =
    # (-1, 0) -> relu -> (0, 0) -> input gradient 0
    assert torch.equal(GuidedBackprop(net).attribute(x.clone()), torch.zeros(1, 2))
    assert count_hooks(net) == 0


def test_dcgan_discriminator_units_pass_no_negative_gradient(tiny_gan):
    D = tiny_gan.discriminator.eval()
    seen = []
    handles = []

    def pre(module, inputs):
        x = inputs[0]
        x.register_hook(lambda g, x=x.detach(): seen.append((x, g.detach())))

    try:
        for m in D.modules():
            if isinstance(m, nn.LeakyReLU):
                handles.append(m.register_forward_pre_hook(pre))
        x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
        FilterGuidedBackprop(D, "block3").attribute(x, filter=2)
    finally:
        for h in handles:
            h.remove()
    assert len(seen) == 3  # from_rgb, block2, block3 (block3's own unit carries the selected response)
    for x, g in seen:
        assert (g >= 0).all()
        assert (g[x <= 0] == 0).all()
    assert any((g > 0).any() for _, g in seen)
    assert count_hooks(D) == 0


def test_neuron_guided_backprop_on_known_network():
    net = Tiny(nn.LeakyReLU(0.2))
    # unit 0 of fc1's output; the act after it is not on the path, so d h0 / d x = W1[0] = (1, 0)
    out = NeuronGuidedBackprop(net, "fc1").attribute(X.clone(), (0,))
    assert torch.equal(out, torch.tensor([[1.0, 0.0]]))
    # unit 1 of the activation: h1 = -1 < 0, the rectified unit passes nothing
    assert torch.equal(NeuronGuidedBackprop(net, "act").attribute(X.clone(), (1,)), torch.zeros(1, 2))
    assert count_hooks(net) == 0


def test_register_guided_activation_for_a_user_module():
    class MyAct(nn.Module):
        def forward(self, x):
            return torch.where(x > 0, x, 0.1 * x)

    net = Tiny(MyAct())
    assert torch.allclose(GuidedBackprop(net).attribute(X.clone()), torch.tensor([[1.0 - 0.1 - 2.0, 0.0]]))
    saved = dict(GUIDED_ACTIVATIONS)
    try:
        register_guided_activation(MyAct)
        assert torch.equal(GuidedBackprop(net).attribute(X.clone()), torch.tensor([[1.0, 0.0]]))
    finally:
        GUIDED_ACTIVATIONS.clear()
        GUIDED_ACTIVATIONS.update(saved)
    with pytest.raises(TypeError, match="module_type"):
        register_guided_activation(int)


# ------------------------------------------------------------------------------------------------
# hooks never left behind


class Raises(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        self.act(self.conv(x))      # the guided hook has run by now
        raise RuntimeError("boom")


def test_no_hooks_left_when_forward_raises():
    net = Raises()
    with pytest.raises(RuntimeError, match="boom"):
        GuidedBackprop(net).attribute(torch.randn(1, 3, 8, 8))
    assert count_hooks(net) == 0
    with pytest.raises(RuntimeError, match="boom"):
        FilterGuidedBackprop(net, "act").attribute(torch.randn(1, 3, 8, 8), filter=0)
    assert count_hooks(net) == 0


def test_no_hooks_left_after_errors_in_discriminator(tiny_gan):
    D = tiny_gan.discriminator
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match=r"filter: expected 0 <= filter < 32 .*block3.*got 32"):
        FilterGuidedBackprop(D, "block3").attribute(x, filter=32)   # raised after hooks are set
    assert count_hooks(D) == 0
    with pytest.raises(ValueError, match="images"):
        GuidedBackprop(D).attribute(torch.randn(2, 3, 16, 16))     # D's forward raises
    assert count_hooks(D) == 0
    FilterGuidedBackprop(D, "block3").attribute(x, filter=1)
    GuidedBackprop(D).attribute(x)
    assert count_hooks(D) == 0


# ------------------------------------------------------------------------------------------------
# bad input


def test_bad_inputs(tiny_gan):
    D = tiny_gan.discriminator
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match=r"unknown layer name 'block9'.*'from_rgb'.*'block3.conv'"):
        FilterGuidedBackprop(D, "block9")
    with pytest.raises(ValueError, match="unknown layer"):
        layer_activations(D, x, "nope")
    with pytest.raises(ValueError, match="filter: expected 0 <= filter < 32"):
        FilterGuidedBackprop(D, "block3").attribute(x, filter=-1)
    with pytest.raises(TypeError, match="filter"):
        FilterGuidedBackprop(D, "block3").attribute(x, filter=1.0)
    with pytest.raises(ValueError, match=r"images: expected shape \(N, 3, 32, 32\), got \(2, 3, 64, 64\)"):
        FilterGuidedBackprop(D, "block3").attribute(torch.randn(2, 3, 64, 64), filter=0)
    with pytest.raises(ValueError, match=r"images: expected shape \(N, 3, 32, 32\), got \(2, 1, 32, 32\)"):
        layer_activations(D, torch.randn(2, 1, 32, 32), "block3")
    with pytest.raises(ValueError, match="filter"):
        filter_views(D, x, "block3", filters=[99], k=1)
    with pytest.raises(ValueError, match="reduce"):
        FilterGuidedBackprop(D, "block3").attribute(x, filter=0, reduce="mean")
    assert count_hooks(D) == 0


class ForeignD(nn.Module):
    """A user's discriminator (pytorch/examples style, opaque Sequential indices)."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, 8, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(8, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.LeakyReLU(0.2),
            nn.Conv2d(16, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, x):
        return self.main(x).flatten()


def test_any_discriminator():
    torch.manual_seed(0)
    D = ForeignD().eval()
    x = torch.randn(4, 3, 16, 16)
    assert default_layer(D, x) == "main.4"   # the last LeakyReLU with a spatial output
    assert count_hooks(D) == 0
    acts = layer_activations(D, x)
    assert acts.shape == (4, 16, 4, 4)
    views = filter_views(D, x, filters=[3, 5], k=2, activations=acts)
    assert views.guided.shape == (2, 2, 3, 16, 16) and views.layer == "main.4"
    with pytest.raises(ValueError, match="takes 3 channels"):
        layer_activations(D, torch.randn(2, 1, 16, 16), "main.4")
    R = random_like(D, seed=3)
    assert not torch.equal(R.main[0].weight, D.main[0].weight)
    assert count_hooks(D) == 0 and count_hooks(R) == 0


@pytest.fixture(scope="module")
def examples_netd():
    """(pytorch/examples netD with in-place activations, the same weights with out-of-place activations)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        _, D = build_examples_dcgan(8, 8, 8, 3)      # unmodified pytorch/examples netD, ndf=8
    D.eval()
    for m in D.modules():   # non-trivial BatchNorm statistics, so that eval mode matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    D2 = copy.deepcopy(D)
    for m in D2.modules():
        if isinstance(m, nn.LeakyReLU):
            m.inplace = False
    return D, D2


@pytest.mark.parametrize("layer, shape", [("main.10", (64, 4, 4)), ("main.9", (64, 4, 4)), ("main.7", (32, 8, 8))])
def test_examples_netd_by_layer_name_with_in_place_activations(examples_netd, layer, shape):
    # issue 21: attribution on any discriminator module plus a layer name; an in-place LeakyReLU after the
    # layer (main.9 is the BatchNorm that main.10 overwrites) must not change activations or guided maps
    D, D2 = examples_netd
    x = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    acts = layer_activations(D, x, layer, batch_size=4)
    assert acts.shape == (6, *shape) and torch.equal(acts, layer_activations(D2, x, layer))
    f = int(acts.flatten(2).amax(2).amax(0).argmax())      # the filter with the largest response: positive
    g = FilterGuidedBackprop(D, layer).attribute(x, filter=f)
    assert g.shape == x.shape and g.abs().sum() > 0
    assert torch.equal(g, FilterGuidedBackprop(D2, layer).attribute(x, filter=f))
    v = filter_views(D, x, layer, filters=[2, f], k=2, activations=acts, device="cpu")
    assert torch.equal(v.guided, filter_views(D2, x, layer, filters=[2, f], k=2).guided)
    assert torch.equal(GuidedBackprop(D).attribute(x), GuidedBackprop(D2).attribute(x))
    assert count_hooks(D) == 0 and not D.training


def test_examples_netd_filter_report_and_default_layer(examples_netd):
    D, D2 = examples_netd
    rep = filter_report(D, "rooms", n=8, k=2, n_show=2, quantile=0.05, device="cpu")
    assert rep.layer == "main.10"                   # the last spatial block's output, before the final conv
    s = rep.summary()
    assert s["n_filters"] == 64 and s["n_images"] == 8
    s2 = filter_report(D2, "rooms", n=8, k=2, n_show=2, quantile=0.05, layer="main.10").summary()
    assert s["per_filter"] == s2["per_filter"] and s["shown_filters"] == s2["shown_filters"]
    assert count_hooks(D) == 0


def test_filter_report_on_examples_netd_equals_ours_with_the_same_weights():
    # issue 21: the same numbers on the raw module as on latentlab's discriminator holding its weights
    from test_adapter import D_KEYS, _rename
    gan = latentlab.load_pretrained("rooms")
    cfg = gan.config
    with torch.random.fork_rng(devices=[]):
        _, netD = build_examples_dcgan(cfg.nz, cfg.ngf, cfg.ndf, cfg.channels)
    ours = copy.deepcopy(gan.discriminator).eval()
    with torch.no_grad():
        ours.from_rgb.conv.bias.zero_()                  # the pytorch/examples layout has no bias there
    netD.load_state_dict(_rename({k: v for k, v in ours.state_dict().items() if k != "from_rgb.conv.bias"}, D_KEYS))
    kw = dict(n=24, k=2, n_show=3, quantile=0.2)
    a, b = filter_report(ours, "rooms", **kw), filter_report(netD.eval(), "rooms", **kw)
    assert (a.layer, b.layer) == ("block4", "main.10")
    sa, sb = a.summary(), b.summary()
    for key in ("per_filter", "random_per_filter", "shown_filters", "trained_semantic_filters",
                "random_semantic_filters", "trained_best_iou", "random_best_iou"):
        assert sa[key] == sb[key], key
    assert torch.equal(a.trained_views.guided, b.trained_views.guided)
    assert count_hooks(netD) == 0


def test_device_argument(examples_netd):
    D, _ = examples_netd
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    assert torch.equal(layer_activations(D, x, "main.7", device="cpu"), layer_activations(D, x, "main.7"))
    assert torch.equal(layer_activations(D, x, "main.7", device=torch.device("cpu")), layer_activations(D, x, "main.7"))
    with pytest.raises(ValueError, match="device: unknown device 'gpu7'"):
        layer_activations(D, x, "main.7", device="gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device: 'cuda' was asked for, but CUDA is not available"):
            filter_report(D, "rooms", n=2, k=1, n_show=1, device="cuda")
    assert next(D.parameters()).device.type == "cpu"


# ------------------------------------------------------------------------------------------------
# top images


def test_top_images_exact_with_ties():
    acts = torch.zeros(6, 3, 2, 2)
    # filter 0: image maxima 5, 1, 7, 7, 0, 3 (one location each)
    for i, v in enumerate([5.0, 1.0, 7.0, 7.0, 0.0, 3.0]):
        acts[i, 0, i % 2, (i // 2) % 2] = v
    acts[:, 1] = -torch.arange(6.0)[:, None, None]          # filter 1: image 0 best, then 1, 2, ...
    acts[:, 2] = 1.0                                          # filter 2: all tied
    values, idx = top_images(acts, 3)
    assert idx.tolist() == [[2, 3, 0], [0, 1, 2], [0, 1, 2]]  # ties -> lower image index first
    assert values.tolist() == [[7.0, 7.0, 5.0], [0.0, -1.0, -2.0], [1.0, 1.0, 1.0]]
    v1, i1 = top_images(acts, 2, filters=[1])
    assert i1.tolist() == [[0, 1]] and v1.tolist() == [[0.0, -1.0]]
    with pytest.raises(ValueError, match="k: expected"):
        top_images(acts, 7)
    with pytest.raises(ValueError, match="filter"):
        top_images(acts, 1, filters=[3])


def test_filter_views_pick_the_top_images(tiny_gan):
    D = tiny_gan.discriminator
    x = torch.randn(10, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    acts = layer_activations(D, x, "block3", batch_size=3)
    assert acts.shape == (10, 32, 4, 4)
    v = filter_views(D, x, "block3", filters=[4, 7], k=3)
    for r, f in enumerate([4, 7]):
        best = acts[:, f].flatten(1).amax(1)
        assert v.top_indices[r].tolist() == torch.sort(best, descending=True, stable=True).indices[:3].tolist()
        assert torch.equal(v.activation_maps[r], acts[v.top_indices[r], f])
        assert torch.equal(v.images[r], x[v.top_indices[r]])
    assert v.guided.shape == (2, 3, 3, 32, 32) and v.guided.abs().sum() > 0
    assert count_hooks(D) == 0


# ------------------------------------------------------------------------------------------------
# IoU


def test_iou_hand_made_masks():
    labels = torch.zeros(2, 4, 4, dtype=torch.uint8)
    labels[0, :2, :2] = 1          # class 1: 4 pixels in image 0
    labels[1, 3, :] = 2            # class 2: 4 pixels in image 1
    acts = torch.zeros(2, 3, 4, 4)  # same resolution as the labels: upsampling is the identity
    acts[0, 0, :2, :2] = 1.0        # filter 0: exactly class 1
    acts[0, 1, 0, :2] = 1.0         # filter 1: 2 px of class 1 and 2 px of class 2
    acts[1, 1, 3, :2] = 1.0
    acts[:, 2] = 0.5                # filter 2: constant (dead) -> empty mask
    s = filter_iou(acts, labels, ["bg", "one", "two"], quantile=4 / 32)   # keep 4 of 32 values
    assert s.mask_area.tolist() == [4, 4, 0]
    assert np.allclose(s.iou[0], [0.0, 1.0, 0.0])
    assert np.allclose(s.iou[1], [0.0, 2 / 6, 2 / 6])
    assert np.allclose(s.iou[2], [0.0, 0.0, 0.0])
    assert s.best_class.tolist()[:2] == [1, 1] and s.best_iou[0] == 1.0
    assert s.count(("one",), 0.5) == 1 and s.count(("one", "two"), 0.3) == 2
    assert s.per_filter()[0]["best_class"] == "one"


def test_iou_matches_brute_force_upsampling():
    g = torch.Generator().manual_seed(0)
    acts = torch.randn(30, 5, 4, 4, generator=g)
    labels = torch.randint(0, 4, (30, 32, 32), generator=g)
    q = 0.03
    s = filter_iou(acts, labels, list("abcd"), quantile=q)
    # filter_iou's upsampling is F.interpolate's (up to float rounding; exact where the border clamps)
    up = torch.stack([upsample(acts[:, f], (32, 32)) for f in range(5)], 1)
    assert torch.allclose(up, Fn.interpolate(acts, size=(32, 32), mode="bilinear", align_corners=False), atol=1e-6)
    k = round(q * 30 * 16)
    for f in range(5):
        T = torch.sort(acts[:, f].reshape(-1), descending=True).values[k]   # (k+1)-th largest raw value
        keep = up[:, f] > T        # every image upsampled (filter_iou upsamples only the candidates)
        inter = torch.bincount(labels[keep], minlength=4)
        area = torch.bincount(labels.reshape(-1), minlength=4)
        assert int(keep.sum()) == s.mask_area[f]
        assert np.allclose((inter / (keep.sum() + area - inter)).numpy(), s.iou[f])


def test_iou_bound_and_bad_input():
    assert np.allclose(iou_bound(0.005, [0.005, 0.05, 0.0]), [1.0, 0.1, 0.0])
    acts = torch.zeros(2, 1, 2, 2)
    with pytest.raises(ValueError, match="quantile"):
        filter_iou(acts, torch.zeros(2, 4, 4, dtype=torch.long), ["a"], quantile=0.0)
    with pytest.raises(ValueError, match="labels: expected label maps"):
        filter_iou(acts, torch.zeros(3, 4, 4, dtype=torch.long), ["a"])
    with pytest.raises(ValueError, match=r"labels: expected values in \[0, 1\)"):
        filter_iou(acts, torch.ones(2, 4, 4, dtype=torch.long), ["a"])


# ------------------------------------------------------------------------------------------------
# random D, figures, report, CLI, example


def test_random_like_is_seeded_and_leaves_global_rng(tiny_gan):
    D = tiny_gan.discriminator
    state = torch.random.get_rng_state()
    a, b, c = random_like(D, seed=0), random_like(D, seed=0), random_like(D, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.block2.conv.weight, b.block2.conv.weight)
    assert not torch.equal(a.block2.conv.weight, c.block2.conv.weight)
    assert not torch.equal(a.block2.conv.weight, D.block2.conv.weight)
    assert abs(float(a.block2.conv.weight.detach().std()) - 0.02) < 0.005
    assert torch.equal(a.block2.bn.running_var, torch.ones_like(a.block2.bn.running_var))


@pytest.fixture(scope="module")
def small_report():
    torch.manual_seed(0)
    gan = latentlab.GAN(latentlab.ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms")).eval()
    return gan, filter_report(gan, "rooms", n=12, k=2, n_show=3, quantile=0.05)


def test_report_and_figures(small_report, tmp_path):
    gan, rep = small_report
    s = rep.summary()
    assert s["n_filters"] == 64 and s["layer"] == "block4" and s["n_images"] == 12
    assert len(s["per_filter"]) == 64 and {"best_class", "iou", "window_iou", "bed_iou"} <= set(s["per_filter"][0])
    assert s["trained_semantic_filters"] == sum(max(d["window_iou"], d["bed_iou"]) >= 0.2 for d in s["per_filter"])
    grid, bars = filter_figures(rep)
    assert isinstance(grid, go.Figure) and isinstance(bars, go.Figure)
    # per panel: one image trace (the whole grid as a PNG) + one invisible hover layer with a point per tile
    assert [type(t).__name__ for t in grid.data] == ["Image", "Scatter"] * 2
    assert grid.data[0].source.startswith("data:image/png;base64,") and len(grid.data[1].x) == 3 * 2
    f0 = rep.trained_views.filters[0].item()
    assert f"filter {f0}<br>image {rep.trained_views.top_indices[0, 0].item()}" in grid.data[1].text[0]
    assert "IoU" in grid.data[1].text[0]
    assert all("customdata[2]" in t.hovertemplate for t in bars.data)
    paths = write_filter_report(rep, tmp_path, png="grid")
    assert json.loads(Path(paths["json"]).read_text())["png"]["method"] == "torchvision"
    assert Path(paths["png_trained"]).stat().st_size > 0
    html = Path(paths["html"]).read_text()
    assert "plotly.js v" in html or len(html) > 1_000_000       # plotly.js embedded: works offline
    assert count_hooks(gan) == 0


def test_cli_run(tmp_path):
    torch.manual_seed(0)
    gan = latentlab.GAN(latentlab.ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms"))
    path = latentlab.save(gan, tmp_path / "tiny.safetensors")
    from latentlab.app import filters as cli
    p = cli.add_arguments(argparse.ArgumentParser())
    out = tmp_path / "out"
    assert cli.run(p.parse_args([str(path), "--out", str(out), "--n", "8", "--show", "2", "--top-k", "2",
                                 "--png", "none", "--layer", "block3"])) == 0
    d = json.loads((out / "filters.json").read_text())
    assert d["n_filters"] == 32 and d["layer"] == "block3"
    for key in ("trained_semantic_filters", "random_semantic_filters", "per_filter", "seconds"):
        assert key in d
    assert (out / "filters.html").exists()
    assert cli.run(p.parse_args([str(path), "--out", str(out), "--n", "4", "--layer", "block9"])) == 2


def test_example_smoke(tmp_path):
    mod = load_script("examples/discriminator_filters.py")
    assert mod.main(["--smoke", "--out", str(tmp_path)]) == 0
    for name in ("filters.json", "filters.html", "filters_trained.png", "filters_random.png"):
        assert (tmp_path / name).stat().st_size > 0
