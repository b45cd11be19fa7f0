"""latentlab.latent: interpolation, walks, arithmetic, the turn vector, directions (tiny models, < 30 s)."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import latentlab
from latentlab import save
from latentlab.hooks import count_hooks
from latentlab.viz.latent_figures import (ROTATION_TITLE, arithmetic_figure, axis_figure, smoothness_figure,
                                          walk_figure)
from latentlab.latent import (Arithmetic, ArithmeticOptions, ImageStatsJudge, LatentModel, RotationAxis, Walk,
                              boundary, conditional, interpolate, lerp, parse_expression, result_latents, rotation_axis, sefa,
                              slerp, walk_smoothness)

ROOT = Path(__file__).resolve().parent.parent


# -- helpers ---------------------------------------------------------------------------------------

@pytest.fixture(params=["ours", "foreign"])
def gen(request, tiny_gan, foreign_generator):
    """(generator, prior) for our tiny DCGAN (prior from its config) and for the foreign module."""
    return (tiny_gan, None) if request.param == "ours" else (foreign_generator, "normal")


def stand_in_judge(g, prior, n=128):
    lm = LatentModel(g, prior)
    return ImageStatsJudge(lm.generate(lm.sample_z(n, seed=123)))


vectors = st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=2, max_size=12)


# -- interpolation ---------------------------------------------------------------------------------

def test_top_level_exports():
    assert latentlab.Walk is Walk and latentlab.slerp is slerp and latentlab.lerp is lerp
    assert latentlab.Arithmetic is Arithmetic and latentlab.RotationAxis is RotationAxis


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 64), st.integers(0, 10_000), st.floats(0.1, 5.0))
def test_slerp_endpoints_and_equal_norms(d, seed, radius):
    g = torch.Generator().manual_seed(seed)
    z0, z1 = torch.randn(2, d, generator=g, dtype=torch.float64)
    z0, z1 = z0 / z0.norm() * radius, z1 / z1.norm() * radius
    t = torch.linspace(0, 1, 7)
    path = slerp(z0, z1, t)
    assert torch.allclose(path[0], z0, atol=1e-12) and torch.allclose(path[-1], z1, atol=1e-12)
    assert torch.allclose(path.norm(dim=1), torch.full((7,), radius, dtype=torch.float64), rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(vectors, st.floats(0.1, 4.0), st.floats(0, 1))
def test_slerp_equals_lerp_for_parallel_vectors(v, a, t):
    z0 = torch.tensor(v, dtype=torch.float64)
    if z0.norm() < 1e-3:
        z0[0] = 1.0
    for z1 in (a * z0, -a * z0):  # parallel and antiparallel: the great circle is undefined
        assert torch.allclose(slerp(z0, z1, t), lerp(z0, z1, t), atol=1e-9)


def test_slerp_keeps_typical_norm_where_lerp_shrinks():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 100, generator=g)
    mid_s, mid_l = slerp(z0, z1, 0.5), lerp(z0, z1, 0.5)
    typical = (z0.norm() + z1.norm()) / 2
    assert abs(mid_s.norm() - typical) / typical < 0.1
    assert mid_l.norm() < 0.8 * typical


def test_slerp_batched_shapes():
    z0, z1 = torch.randn(5, 8), torch.randn(5, 8)
    assert slerp(z0, z1, torch.rand(5)).shape == (5, 8)
    assert slerp(z0[0], z1[0], torch.linspace(0, 1, 3)).shape == (3, 8)
    with pytest.raises(ValueError, match="z1"):
        slerp(torch.randn(8), torch.randn(7), 0.5)


def test_interpolate_keyframes():
    kf = torch.randn(3, 8)
    path = interpolate(kf, 5, "slerp")
    assert path.shape == (9, 8)
    assert torch.equal(path[0], kf[0]) and torch.equal(path[4], kf[1]) and torch.equal(path[8], kf[2])
    assert torch.allclose(interpolate(kf[:2], 5, "linear")[2], (kf[0] + kf[1]) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="steps"):
        interpolate(kf, 1)
    with pytest.raises(ValueError, match="method"):
        interpolate(kf, 4, "cubic")


# -- the generator wrapper -------------------------------------------------------------------------

def test_latent_model_reads_prior_and_infers_nz(tiny_gan, foreign_generator):
    assert LatentModel(tiny_gan).prior == "normal" and LatentModel(tiny_gan).nz == 8
    lm = LatentModel(foreign_generator, "uniform")
    assert lm.nz == 8 and lm.z_dims == 4 and lm.prior == "uniform"
    with pytest.raises(ValueError, match="prior"):
        LatentModel(foreign_generator)
    with pytest.raises(ValueError, match="prior"):
        Walk(foreign_generator)
    rewrapped = Walk(lm, batch_size=2).model  # a LatentModel passed on keeps its prior and nz
    assert rewrapped.prior == "uniform" and rewrapped.nz == 8 and rewrapped.batch_size == 2


def test_bad_z_and_non_image_generator(gen):
    g, prior = gen
    walk = Walk(g, prior)
    with pytest.raises(ValueError, match="z0"):
        walk.between(torch.randn(7), torch.randn(8))
    with pytest.raises(ValueError, match="steps"):
        walk.between(torch.randn(8), torch.randn(8), steps=1)

    class Flat(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(8, 12)

        def forward(self, z):
            return self.fc(z)

    with pytest.raises(TypeError, match="generator"):
        Walk(Flat(), "normal").random(steps=3)


def test_generation_no_grad_and_training_mode_restored(foreign_generator):
    foreign_generator.train()
    lm = LatentModel(foreign_generator, "normal")
    out = lm.generate(lm.sample_z(5, seed=0))
    assert not out.requires_grad and foreign_generator.training
    assert torch.allclose(lm.generate(lm.sample_z(5, seed=0), batch_size=2), out, atol=1e-6)  # batching is invisible

    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(8, 8)

        def forward(self, z):
            assert not self.training
            raise RuntimeError("boom")

    b = Broken().train()
    with pytest.raises(RuntimeError):
        LatentModel(b, "normal").generate(torch.randn(2, 8))
    assert b.training and count_hooks(b) == 0


# -- walks -----------------------------------------------------------------------------------------

def test_walk_between_endpoints_and_determinism(gen):
    g, prior = gen
    walk = Walk(g, prior)
    lm = walk.model
    z0, z1 = lm.sample_z(2, seed=3)
    images = walk.between(z0, z1, steps=6)
    assert images.shape[0] == 6 and images.dim() == 4
    assert torch.allclose(images[0], lm.generate(z0[None])[0], atol=1e-5)
    assert torch.allclose(images[-1], lm.generate(z1[None])[0], atol=1e-5)
    a = Walk(g, prior).random(keyframes=3, steps=4, seed=7)
    b = Walk(g, prior).random(keyframes=3, steps=4, seed=7)
    assert a.shape[0] == 7 and torch.equal(a, b)


def test_walk_uniform_prior_is_clipped(foreign_generator):
    walk = Walk(foreign_generator, "uniform")
    walk.between(torch.ones(8), -torch.ones(8).roll(1) * torch.tensor([1, -1] * 4), steps=5)
    assert walk.z.abs().max() <= 1.0


def test_walk_figure_slider_and_play(gen):
    g, prior = gen
    walk = Walk(g, prior)
    walk.random(steps=5, seed=0)
    fig = walk_figure(walk.images, walk.frame_labels, title=walk.title)
    assert len(fig.frames) == 5 and len(fig.layout.sliders[0].steps) == 5
    assert fig.data[0].type == "image" and fig.data[0].source.startswith("data:image/png;base64,")
    assert fig.layout.updatemenus[0].buttons[0].label == "Play"
    s = walk.smoothness()
    assert s.features == "pixels" and s.distances.shape == (4,)
    assert len(smoothness_figure(s.distances, factor=s.factor, feature_name=s.features).data) == 1


def test_walk_smoothness_uses_the_dataset_judge_when_available():
    from latentlab.judges import judge_path
    if not judge_path("fashion").exists():
        pytest.skip("no shipped fashion judge")
    torch.manual_seed(0)
    gan = latentlab.GAN(latentlab.ModelConfig(nz=8, ngf=8, ndf=8, image_size=32, channels=1,
                                              dataset="fashion-mnist"), with_discriminator=False)
    walk = Walk(gan)
    walk.random(steps=3, seed=0)
    assert walk.smoothness().features == "fashion-mnist judge"
    gan64 = latentlab.GAN(latentlab.ModelConfig(nz=8, ngf=8, ndf=8, image_size=64, channels=1,
                                                dataset="fashion-mnist"), with_discriminator=False)
    walk = Walk(gan64)
    walk.random(steps=3, seed=0)
    assert walk.smoothness().features == "pixels"  # the judge does not fit 64x64 images


def test_smoothness_flags_a_jump():
    frames = torch.zeros(8, 1, 4, 4)
    for i in range(8):
        frames[i] += 0.01 * i
    assert not walk_smoothness(frames).jump
    frames[5:] += 1.0  # a sharp transition between frames 4 and 5
    s = walk_smoothness(frames, factor=3.0)
    assert s.jump and s.argmax == 4 and "memorization" in str(s)
    feats = walk_smoothness(frames, lambda x: x.mean((1, 2, 3))[:, None] * 0 + torch.arange(8.)[:, None])
    assert not feats.jump  # the distance follows the features callable
    with pytest.raises(ValueError, match="images"):
        walk_smoothness(frames[:1])


def test_acgan_class_walk(tiny_acgan):
    walk = Walk(tiny_acgan)
    z = walk.model.sample_z(1, seed=0)
    images = walk.classes(z, 2, 5, steps=4)
    assert images.shape == (4, 1, 32, 32)
    G = tiny_acgan.generator
    with torch.no_grad():
        assert torch.allclose(images[0], G(z, torch.tensor([2]))[0], atol=1e-5)
        assert torch.allclose(images[-1], G(z, torch.tensor([5]))[0], atol=1e-5)
    assert Walk(tiny_acgan, c=3).random(steps=3).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="c"):
        Walk(tiny_acgan).random(steps=3)
    with pytest.raises(ValueError, match="c1"):
        walk.classes(z, 0, 10)


def test_class_walk_needs_acgan(tiny_gan):
    with pytest.raises(TypeError, match="AC-GAN"):
        Walk(tiny_gan).classes(torch.randn(8), 0, 1)


# -- arithmetic ------------------------------------------------------------------------------------

def test_parse_expression():
    assert parse_expression("a - b + c") == {"a": 1.0, "b": -1.0, "c": 1.0}
    assert parse_expression("-a + 2.5*b - 0.5 c") == {"a": -1.0, "b": 2.5, "c": -0.5}
    for bad in ("a +", "a b", "a / b", ""):
        with pytest.raises(ValueError, match="expression"):
            parse_expression(bad)


def test_concept_mean_and_grid_centre_is_G_of_Y(gen):
    g, prior = gen
    ar = Arithmetic(g, prior, judge=stand_in_judge(g, prior))
    za, zb, zc = (torch.randn(3, 8, generator=torch.Generator().manual_seed(i)) for i in range(3))
    a = ar.concept("a", z=za)
    ar.concept("b", z=zb)
    ar.concept("c", z=zc)
    assert torch.allclose(a.vector, za.mean(0))
    res = ar.evaluate("a - b + c", seed=1)
    y = za.mean(0) - zb.mean(0) + zc.mean(0)
    assert torch.allclose(res.y, y, atol=1e-6)
    assert res.images.shape[0] == 9 and torch.equal(res.z[4], res.y)
    assert torch.allclose(res.center, ar.model.generate(res.y[None])[0], atol=1e-5)
    noise = res.z - res.y
    assert noise.abs().max() > 0 and torch.equal(noise[4], torch.zeros(8))
    res2 = ar.combine({"a": 1, "b": -1, "c": 1}, seed=1)
    assert torch.equal(res.images, res2.images)  # same seed: same grid
    terms = ar.term_images(res)
    assert [(name, coef) for name, coef, _, _ in terms] == [("a", 1), ("b", -1), ("c", 1)]
    assert all(ex.shape == (3, *res.images.shape[1:]) and mean.shape == res.images.shape[1:] for _, _, ex, mean in terms)
    assert torch.allclose(terms[0][3], ar.model.generate(za.mean(0)[None])[0], atol=1e-5)  # G(mean z) of "a"
    fig = arithmetic_figure(terms, res.images, title=res.expression)
    assert sum(t.type == "image" for t in fig.data) == 3 * 2 + 1


def test_result_noise_kinds():
    y = torch.zeros(1000)
    u = result_latents(y, scale=0.25, noise="uniform", generator=torch.Generator().manual_seed(0))
    n = result_latents(y, scale=0.25, noise="normal", generator=torch.Generator().manual_seed(0))
    assert u.abs().max() <= 0.25 and n.abs().max() > 0.25 and abs(float(n[0].std()) - 0.25) < 0.03
    assert Arithmetic(torch.nn.Linear(8, 8), "uniform").noise_kind == "uniform"
    assert Arithmetic(torch.nn.Linear(8, 8), "normal").noise_kind == "normal"
    opts = ArithmeticOptions(noise="uniform")
    assert Arithmetic(torch.nn.Linear(8, 8), "normal", options=opts).noise_kind == "uniform"


def test_auto_exemplars_match_query_and_are_seeded(gen):
    g, prior = gen
    judge = stand_in_judge(g, prior)
    kw = dict(judge=judge, pool_size=200, seed=5, margin=0.0)
    ar = Arithmetic(g, prior, **kw)
    c = ar.concept("smiling_woman", smile=1, presentation="feminine")
    assert c.k == 3 and c.indices is not None
    assert (ar.pool.labels["smile"][c.indices] >= 0.5).all() and (ar.pool.labels["feminine"][c.indices] >= 0.5).all()
    assert torch.allclose(c.vector, ar.pool.z[c.indices].mean(0))
    c2 = Arithmetic(g, prior, **kw).concept("smiling_woman", smile=1, presentation="feminine")
    assert torch.equal(c.indices, c2.indices)
    with pytest.raises(ValueError, match=r"0 of 200 pool samples match"):
        ar.concept("impossible", yaw=(2.0, None))
    with pytest.raises(ValueError, match=r"of 200 pool samples match, fewer than the k=150"):
        ar.concept("many", k=150, smile=1, presentation="feminine")
    with pytest.raises(ValueError, match="k=3 exemplars"):
        ar.concept("given", z=torch.randn(2, 8), k=3)
    with pytest.raises(ValueError, match="indices"):
        ar.concept("idx", indices=[0, 500])
    with pytest.raises(ValueError, match="unknown concept"):
        ar.evaluate("smiling_woman - nobody")
    assert ar.concept("by_index", indices=[0, 1]).k == 2
    res = ar.evaluate("smiling_woman - by_index")
    assert 0.0 <= ar.success(res, smile=1) <= 1.0


# -- the turn vector -------------------------------------------------------------------------------

def test_rotation_axis_from_synthetic_labelled_z(gen):
    g, prior = gen
    gen_ = torch.Generator().manual_seed(0)
    left = torch.randn(4, 8, generator=gen_) * 0.3
    right = torch.randn(4, 8, generator=gen_) * 0.3
    left[:, 0] -= 2
    right[:, 0] += 2
    rot = RotationAxis(g, prior, judge=object()).fit(left=left, right=right)
    assert torch.allclose(rot.axis, rotation_axis(left, right))
    assert rot.axis[0] > 3 and rot.axis[0] ** 2 / rot.axis.pow(2).sum() > 0.8  # points left -> right along e0
    z = torch.randn(3, 8, generator=gen_)
    images = rot.apply(z, [-1, 0, 1])
    assert images.shape[:2] == (3, 3)
    assert torch.allclose(images[:, 1], rot.model.generate(z), atol=1e-5)          # coefficient 0: G(z)
    assert torch.allclose(images[:, 2], rot.model.generate(z + rot.axis), atol=1e-5)
    with pytest.raises(ValueError, match="at least k=4 left"):
        rot.fit(left=left[:3], right=right)
    fig = axis_figure(images, rot.coefficients, title=ROTATION_TITLE)
    assert fig.data[0].type == "image" and tuple(fig.layout.xaxis.ticktext) == ("-1.00", "+0.00", "+1.00")


def test_rotation_axis_from_judge_turns_the_judged_yaw(gen):
    g, prior = gen
    judge = stand_in_judge(g, prior)
    rot = RotationAxis(g, prior, judge=judge, pool_size=160, seed=0, yaw_threshold=0.3).fit()
    assert (rot.pool.labels["yaw"][rot.pool.matching(yaw=(0.3, None))] >= 0.3).all()
    z = rot.model.sample_z(8, seed=1)
    images = rot.apply(z, [-1.0, 1.0])
    yaw = judge.predict(images.flatten(0, 1))["yaw"].reshape(8, 2)
    assert (yaw[:, 1] - yaw[:, 0]).mean() > 0  # + axis turns towards the right-looking exemplars
    with pytest.raises(ValueError, match="0 of 160"):
        RotationAxis(g, prior, judge=judge, pool=rot.pool, yaw_threshold=1.5).fit()


# -- directions ------------------------------------------------------------------------------------

def test_boundary_and_conditional():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(600, 8, generator=g)
    labels = (2 * z[:, 0] + z[:, 1]) > 0
    d = boundary(z, labels, name="attr")
    target = torch.tensor([2.0, 1.0] + [0.0] * 6) / math.sqrt(5)
    assert abs(d.vector.norm() - 1) < 1e-5 and float(d.vector @ target) > 0.95 and d.accuracy > 0.9
    other = boundary(z, z[:, 1] > 0, name="other", method="svm")
    cond = conditional(d, other)
    assert abs(float(cond.vector @ other.vector)) < 1e-5 and abs(cond.vector.norm() - 1) < 1e-5
    with pytest.raises(ValueError, match="labels"):
        boundary(z, torch.ones(600, dtype=torch.bool))
    with pytest.raises(ValueError, match="labels"):
        boundary(z, torch.rand(600))


def test_direction_usable_as_concept_and_axis(tiny_gan):
    d = sefa(tiny_gan, k=2)[0]
    ar = Arithmetic(tiny_gan, judge=object())
    ar.concept("base", z=torch.randn(3, 8))
    ar.concept("dir", vector=d)
    res = ar.evaluate("base + 2*dir")
    assert torch.allclose(res.y, ar.concepts["base"].vector + 2 * d.vector, atol=1e-6)
    rot = RotationAxis(tiny_gan, judge=object()).fit(axis=d)
    assert torch.equal(rot.axis, d.vector) and rot.apply(torch.randn(2, 8), [0, 1]).shape[:2] == (2, 2)


def test_sefa_eigenvectors(tiny_gan, foreign_generator, tiny_acgan):
    for g, weight in ((tiny_gan, tiny_gan.generator.block1.conv.weight),
                      (foreign_generator, foreign_generator.main[0].weight)):
        dirs = sefa(g, k=4)
        V = torch.stack([d.vector for d in dirs])
        assert torch.allclose(V @ V.T, torch.eye(4), atol=1e-5)
        A = weight.detach().double().reshape(8, -1).T
        vals = torch.linalg.eigvalsh(A.T @ A).flip(0)[:4]
        assert torch.allclose(torch.tensor([d.eigenvalue for d in dirs], dtype=torch.float64), vals, rtol=1e-6)
        v = V[0].double()
        assert torch.allclose(A.T @ A @ v, vals[0] * v, atol=1e-6)
    assert sefa(foreign_generator, layer="main.0", k=1)[0].vector.shape == (8,)
    assert sefa(tiny_acgan, k=2)[0].vector.shape == (8,)  # the embedding inputs are left out
    with pytest.raises(ValueError, match="k"):
        sefa(tiny_gan, k=9)


def test_device_argument(tiny_gan):
    # the analyses run the generator where device= says (moved in place) and return CPU tensors
    z = LatentModel(tiny_gan).sample_z(2, seed=0)
    ref = Walk(tiny_gan, features="pixels").between(z[0], z[1], steps=3)
    for dev in ("cpu", torch.device("cpu")):
        assert torch.equal(Walk(tiny_gan, features="pixels", device=dev).between(z[0], z[1], steps=3), ref)
    assert RotationAxis(tiny_gan, device="cpu").model.device.type == "cpu"
    with pytest.raises(ValueError, match="device: unknown device 'gpu7'"):
        Walk(tiny_gan, device="gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device: 'cuda' was asked for, but CUDA is not available"):
            Arithmetic(tiny_gan, device="cuda")


# -- CLI, example -----------------------------------------------------------------------------

def test_cli_walk_writes_offline_html(tmp_path, tiny_gan):
    import argparse
    from latentlab.app import walk as cli
    path = save(tiny_gan, tmp_path / "tiny.safetensors")
    args = cli.add_arguments(argparse.ArgumentParser()).parse_args(
        [str(path), "--out", str(tmp_path / "walk"), "--steps", "4", "--seed", "1", "--device", "auto"])
    assert cli.run(args) == 0
    html = (tmp_path / "walk" / "walk.html").read_text()
    assert "data:image/png;base64" in html and len(html) > 1_000_000  # plotly.js embedded: works offline
    summary = json.loads((tmp_path / "walk" / "walk.json").read_text())
    assert summary["frames"] == 4 and len(summary["distances"]) == 3


def test_example_smoke(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import faces_latent
    finally:
        sys.path.remove(str(ROOT / "examples"))
    out = tmp_path / "m.json"
    threads = torch.get_num_threads()
    try:
        m = faces_latent.main(["--smoke", "--json", str(out)])
    finally:
        torch.set_num_threads(threads)
    saved = json.loads(out.read_text())
    for key in ("arithmetic_success_k3", "arithmetic_success_k1", "glasses_success_k3", "rotation_spearman_median",
                "rotation_sign_change_share", "ppl_lerp", "ppl_slerp", "boundary_success",
                "conditional_other_change", "conditional_boundary_success"):
        assert key in saved and math.isfinite(saved[key]) and saved[key] == m[key]
