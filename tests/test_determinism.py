"""Determinism: the same seed gives bit-identical results, run twice in one process, for every analysis.

Between the two runs the global random generators (torch, numpy, random) are re-seeded to other values,
so a result that quietly depended on global randomness would differ (the library never seeds globally and
takes randomness only from ``seed=`` / ``generator=``). Each test also checks that another seed changes
the result, so equality is not the trivial kind. Tiny models, smallest settings that run each pipeline.
"""
from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from latentlab import GAN, ModelConfig
from latentlab.attribution import FilterSettings, filter_report
from latentlab.dissect import forget
from _stand_ins import StandInSegmenter
from latentlab.latent import Arithmetic, ImageStatsJudge, RotationAxis, Walk
from latentlab.metrics import EvalSettings, RealData, evaluate


pytestmark = pytest.mark.usefixtures("one_thread")


def scramble(k: int) -> None:
    """Put the global random generators in a different state before each run."""
    torch.manual_seed(1000 + k)
    torch.rand(k + 1)
    np.random.seed(2000 + k)
    random.seed(3000 + k)


def twice(fn):
    scramble(1)
    a = fn()
    scramble(2)
    b = fn()
    return a, b


def assert_same(a, b, path="result"):
    """Bit-equal, recursively: tensors (values and dtype), arrays, floats (NaN equals NaN), containers."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, path
        assert torch.equal(a, b) or (a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
                                     and torch.equal(a.nan_to_num(), b.nan_to_num())), path
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, set(a) ^ set(b))
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b, (path, a, b)


def without(d: dict, *keys) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


with torch.random.fork_rng(devices=[]):
    torch.manual_seed(0)
    MODELS = {
        "dcgan": GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32)).eval(),
        "acgan": GAN(ModelConfig(arch="acgan", nz=8, ngf=8, ndf=8, image_size=32, channels=1, num_classes=4)).eval(),
        "gan": GAN(ModelConfig(arch="gan", nz=8, hidden=32, image_size=32, channels=1)).eval(),
    }
    ROOMS = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms")).eval()
G32 = MODELS["dcgan"]


def stand_in_judge() -> ImageStatsJudge:
    return ImageStatsJudge(G32.sample(64, seed=123))


# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["dcgan", "acgan", "gan"])
def test_samples(arch):
    gan = MODELS[arch]
    classes = torch.arange(6) % 4 if gan.config.conditional else None
    a, b = twice(lambda: gan.sample(6, seed=3, classes=classes, batch_size=4))
    assert_same(a, b)
    # seed= is a fresh torch.Generator seeded so (same batches: a matmul's last bits may depend on the batch size)
    assert_same(a, gan.sample(6, rng=torch.Generator().manual_seed(3), classes=classes, batch_size=4))
    assert not torch.equal(a, gan.sample(6, seed=4, classes=classes, batch_size=4))


def test_walks():
    def run(seed=7):
        w = Walk(G32, features="pixels")
        images = w.random(keyframes=3, steps=5, seed=seed)
        between = Walk(G32, features="pixels").between(w.z[0], w.z[-1], steps=4, method="linear")
        return {"z": w.z, "images": images, "labels": w.frame_labels, "smoothness": w.smoothness(),
                "between": between}

    a, b = twice(run)
    assert_same(a, b)
    assert a["images"].shape == (9, 3, 32, 32)
    assert not torch.equal(a["z"], run(seed=8)["z"])


def test_arithmetic_exemplars_and_result():
    def run(seed=5):
        ar = Arithmetic(G32, judge=stand_in_judge(), pool_size=60, seed=seed, margin=0.0)
        concepts = [ar.concept("smiling", smile=1), ar.concept("neutral", smile=0), ar.concept("glasses", glasses=1)]
        res = ar.evaluate("smiling - neutral + glasses")
        return {"indices": [c.indices for c in concepts], "vectors": [c.vector for c in concepts],
                "pool_z": ar.pool.z, "pool_labels": ar.pool.labels, "y": res.y, "z": res.z, "images": res.images}

    a, b = twice(run)
    assert_same(a, b)
    assert all(len(i) == 3 for i in a["indices"])
    other = run(seed=6)
    assert not torch.equal(a["pool_z"], other["pool_z"]) and not torch.equal(a["y"], other["y"])


def test_rotation_axis():
    z = G32.generator.sample_z(3, seed=11)

    def run(seed=2):
        rot = RotationAxis(G32, judge=stand_in_judge(), pool_size=120, seed=seed, yaw_threshold=0.3).fit()
        return {"left": rot.left, "right": rot.right, "axis": rot.axis, "images": rot.apply(z, [-1.0, 0.0, 1.0])}

    a, b = twice(run)
    assert_same(a, b)
    assert a["left"].shape == (4, 8) and a["images"].shape == (3, 3, 3, 32, 32)
    assert not torch.equal(a["axis"], run(seed=3)["axis"])


def test_forget_probe_selection_and_metrics():
    def run(seed=0):
        r = forget(ROOMS.generator, StandInSegmenter(), n_probe=10, n_eval=6, n_curve=4, seed=seed, progress=False)
        a = r.arrays
        arrays = {"z_eval": a.z_eval, "before": a.before, "fraction_before": a.fraction_before_per_sample,
                  "fraction_after": a.fraction_after_per_sample, "random_maps": a.random_maps,
                  "fraction_after_random": a.fraction_after_random_per_sample}
        return {"metrics": without(r.to_dict(), "seconds"), "arrays": arrays, "probe": a.probe}

    a, b = twice(run)
    assert_same(a, b)
    assert len(a["metrics"]["dropped_maps"]) > 0
    assert a["metrics"]["dropped_maps"] == a["probe"].positive_maps.tolist()  # the probe's selection is what drops
    other = run(seed=1)
    assert not np.array_equal(a["probe"].weights, other["probe"].weights)


class PoolJudge:
    """Stand-in judge: 4x4 average-pooled pixels as features."""

    def features(self, images):
        return F.adaptive_avg_pool2d(images.float(), 4).flatten(1)


def test_evaluate_metrics():
    g = torch.Generator().manual_seed(0)
    real = RealData(*(torch.rand(n, 3, 32, 32, generator=g) * 2 - 1 for n in (24, 16, 16)), description="noise")

    def run(seed=0):
        r = evaluate(G32, n=16, seed=seed, real=real, judge=PoolJudge(),
                     settings=EvalSettings(progress=False, pairs_per_class=8, ppl_samples=8)).to_dict()
        return without(r, "timings", "seconds")

    a, b = twice(run)
    assert_same(a, b)
    assert a["fd_judge"] > 0 and a["ppl"] is not None
    other = run(seed=1)
    assert other["fd_judge"] != a["fd_judge"] and other["ppl"] != a["ppl"]


def test_discriminator_filter_ranking():
    def run(random_seed=0):
        rep = filter_report(ROOMS, "rooms", n=8, k=2, n_show=3, quantile=0.05,
                            settings=FilterSettings(random_seed=random_seed))
        s = without(rep.summary(), "timings", "cpu_timings", "seconds", "cpu_seconds", "torch_threads")
        return {"summary": s, "trained_iou": rep.trained.iou, "random_iou": rep.random.iou,
                "trained_views": rep.trained_views, "random_views": rep.random_views,
                "trained_top": rep.trained_top, "random_top": rep.random_top}

    a, b = twice(run)
    assert_same(a, b)
    assert a["trained_views"].filters.shape == (3,)
    other = run(random_seed=1)
    assert not np.array_equal(a["random_iou"], other["random_iou"])
    assert_same(a["trained_iou"], other["trained_iou"])  # the trained D does not depend on the random D's seed
