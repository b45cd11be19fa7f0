"""Property-based tests (hypothesis) of the numeric core: slerp, concept means, probe fitting, box -> grid.

Already in tests/test_latent.py (not repeated here): slerp endpoints and constant norm for equal-norm
endpoints (float64), slerp == lerp for (anti)parallel pairs. Already in tests/test_dissect.py: fixed
box -> grid cases and one fixed probe. Here, on random inputs: slerp's constant angular speed, symmetry,
endpoints for any norms in float32, scale equivariance, batching; concept vectors as exemplar means
(permutation invariance, linear combination); the probe's top map on random marked channels and its
channel-permutation equivariance; box -> grid sandwiched between the cells inside and the cells touched,
exact on cell-aligned boxes, partitions, unions and monotone in the box.
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from latentlab import GAN, ModelConfig
from latentlab.dissect import box_to_grid, boxes_to_grid, fit_probe
from latentlab.dissect.boxes import boxes_to_pixel_mask
from latentlab.latent import Arithmetic, interpolate, slerp
from latentlab.latent.arithmetic import combine_vectors, concept_vector, parse_expression

FAST = settings(max_examples=40, deadline=None)
SLOW = settings(max_examples=15, deadline=None)   # each example fits logistic regressions

seeds = st.integers(0, 2**31 - 1)


def _pair(seed: int, d: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, d, generator=g, dtype=torch.float64).to(dtype)


def _angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    return torch.arccos(cos.clamp(-1, 1))


# --------------------------------------------------------------------------------------------------
# slerp


@FAST
@given(st.integers(2, 64), seeds, st.lists(st.floats(0, 1), min_size=1, max_size=6), st.floats(0.1, 10))
def test_slerp_moves_at_constant_angular_speed(d, seed, ts, radius):
    z0, z1 = _pair(seed, d)
    z0, z1 = z0 / z0.norm() * radius, z1 / z1.norm() * radius
    omega = _angle(z0, z1)
    assume(0.05 < omega < np.pi - 0.05)  # away from the (anti)parallel fallback to lerp
    t = torch.tensor(ts, dtype=torch.float64)
    path = slerp(z0, z1, t)
    assert torch.allclose(_angle(path, z0.expand_as(path)), t * omega, atol=1e-6)
    assert torch.allclose(_angle(path, z1.expand_as(path)), (1 - t) * omega, atol=1e-6)


@FAST
@given(st.integers(1, 32), seeds, st.floats(0, 1), st.floats(0.05, 20), st.floats(0.05, 20))
def test_slerp_is_symmetric_and_hits_its_endpoints_for_any_norms(d, seed, t, r0, r1):
    z0, z1 = _pair(seed, d, torch.float32)
    z0, z1 = z0 * r0, z1 * r1
    assert torch.allclose(slerp(z0, z1, t), slerp(z1, z0, 1 - t), rtol=1e-5, atol=1e-5)
    ends = slerp(z0, z1, torch.tensor([0.0, 1.0]))
    assert ends.dtype == torch.float32
    assert torch.allclose(ends[0], z0, rtol=1e-6, atol=1e-6) and torch.allclose(ends[1], z1, rtol=1e-6, atol=1e-6)


@FAST
@given(st.integers(1, 32), seeds, st.floats(0, 1), st.floats(0.01, 100))
def test_slerp_commutes_with_positive_scaling(d, seed, t, a):
    z0, z1 = _pair(seed, d)
    assert torch.allclose(slerp(a * z0, a * z1, t), a * slerp(z0, z1, t), rtol=1e-9, atol=1e-9 * a)


@FAST
@given(st.integers(1, 6), st.integers(1, 16), seeds)
def test_slerp_batched_equals_row_by_row(b, d, seed):
    g = torch.Generator().manual_seed(seed)
    z0, z1 = torch.randn(2, b, d, generator=g, dtype=torch.float64)
    z1[0] = -2 * z0[0]  # one antiparallel row in the batch: its fallback must not leak into the others
    t = torch.rand(b, generator=g, dtype=torch.float64)
    batched = slerp(z0, z1, t)
    rows = torch.stack([slerp(z0[i], z1[i], t[i]) for i in range(b)])
    assert torch.equal(batched, rows)


@FAST
@given(st.integers(2, 5), st.integers(2, 9), st.integers(2, 16), seeds)
def test_interpolate_passes_every_keyframe_and_keeps_a_common_norm(k, steps, d, seed):
    g = torch.Generator().manual_seed(seed)
    kf = torch.randn(k, d, generator=g, dtype=torch.float64)
    kf = kf / kf.norm(dim=1, keepdim=True) * 3.0
    cos = (kf[1:] * kf[:-1]).sum(1) / 9.0
    assume(bool((cos.abs() < 0.999).all()))  # (anti)parallel neighbours take the lerp fallback, which shrinks
    path = interpolate(kf, steps, "slerp")
    assert path.shape == ((k - 1) * (steps - 1) + 1, d)
    for i in range(k):
        assert torch.equal(path[i * (steps - 1)], kf[i])
    assert torch.allclose(path.norm(dim=1), torch.full((len(path),), 3.0, dtype=torch.float64), rtol=1e-9)


# --------------------------------------------------------------------------------------------------
# concept means (DCGAN §6.3.2: a concept is the mean z of its exemplars)

with torch.random.fork_rng(devices=[]):
    torch.manual_seed(0)
    _G = GAN(ModelConfig(nz=8, ngf=4, ndf=4, image_size=32)).eval()
_AR = Arithmetic(_G, judge=object(), seed=0)  # exemplars are given, so the judge is never asked


def _exemplars(seed: int, k: int) -> torch.Tensor:
    return torch.randn(k, 8, generator=torch.Generator().manual_seed(seed)) * 2


@FAST
@given(seeds, st.integers(1, 12), st.randoms(use_true_random=False))
def test_concept_vector_is_the_mean_of_its_exemplars_in_any_order(seed, k, rnd):
    z = _exemplars(seed, k)
    c = _AR.concept("c", z=z)
    assert torch.allclose(c.vector, z.double().mean(0).float(), atol=1e-6)
    assert torch.equal(c.z, z) and c.k == k
    perm = list(range(k))
    rnd.shuffle(perm)
    assert torch.allclose(_AR.concept("p", z=z[perm]).vector, c.vector, atol=1e-6)
    lo, hi = z.min(0).values, z.max(0).values  # the mean lies in the exemplars' bounding box
    assert bool(((c.vector >= lo - 1e-6) & (c.vector <= hi + 1e-6)).all())


@FAST
@given(seeds, st.integers(1, 6), st.integers(1, 6))
def test_concept_with_k_uses_the_first_k_exemplars(seed, k, extra):
    z = _exemplars(seed, k + extra)
    assert torch.allclose(_AR.concept("c", z=z, k=k).vector, concept_vector(z[:k]), atol=0)


@FAST
@given(seeds, st.lists(st.floats(-3, 3).map(lambda x: round(x, 2)), min_size=1, max_size=4))
def test_arithmetic_result_is_the_linear_combination_of_means(seed, coefs):
    coefs = [c + 0.0 for c in coefs]  # no -0.0
    names = [f"c{i}" for i in range(len(coefs))]
    means = {n: _AR.concept(n, z=_exemplars(seed + i, 3)).vector for i, n in enumerate(names)}
    expr = " ".join(f"{'-' if c < 0 else '+'} {abs(c)!r}*{n}" for c, n in zip(coefs, names))  # "+ 1.5*c0 - 2.0*c1"
    parsed = parse_expression(expr)
    assert parsed == {n: float(c) for n, c in zip(names, coefs)}
    y = sum(float(c) * means[n].double() for c, n in zip(coefs, names)).float()
    assert torch.allclose(combine_vectors(means, parsed), y, atol=1e-5)
    res = _AR.combine(parsed, seed=0)
    assert torch.allclose(res.y, y, atol=1e-5) and torch.equal(res.z[4], res.y)  # G(Y) in the grid's centre


# --------------------------------------------------------------------------------------------------
# probe fitting (DCGAN §6.3.1: positions inside the boxes are positives)


def _marked_features(seed: int, n: int, c: int, channel: int, strength: float):
    """Noise features (n, c, 8, 8) for 64 px images; ``channel`` is raised in the cells of one random box each."""
    rng = np.random.default_rng(seed)
    feats = torch.from_numpy(rng.normal(size=(n, c, 8, 8))).float()
    boxes = []
    for i in range(n):
        w, h = rng.integers(8, 41, size=2)
        x0, y0 = rng.integers(0, 64 - w + 1), rng.integers(0, 64 - h + 1)
        box = (int(x0), int(y0), int(x0 + w), int(y0 + h))
        boxes.append([box])
        feats[i, channel][torch.from_numpy(box_to_grid(box, 64, (8, 8)))] += strength
    return feats, boxes


@SLOW
@given(seeds, st.integers(6, 14), st.integers(2, 10), st.data())
def test_probe_ranks_the_marking_channel_first(seed, n, c, data):
    channel = data.draw(st.integers(0, c - 1), label="channel")
    feats, boxes = _marked_features(seed, n, c, channel, strength=3.0)
    res = fit_probe(feats, boxes, 64, seed=seed)
    assert res.ranking[0] == channel and res.top(1)[0] == channel
    assert res.weights[channel] > 0 and channel in res.positive_maps
    assert res.n_positives == int(boxes_to_grid(boxes, 64, (8, 8)).sum())
    assert res.n_positives + res.n_negatives == n * 64


@SLOW
@given(seeds, st.integers(3, 8), st.randoms(use_true_random=False))
def test_probe_weights_follow_a_permutation_of_the_channels(seed, c, rnd):
    feats, boxes = _marked_features(seed, 8, c, channel=0, strength=1.5)
    perm = list(range(c))
    rnd.shuffle(perm)
    w = fit_probe(feats, boxes, 64, holdout=0).weights
    w_perm = fit_probe(feats[:, perm], boxes, 64, holdout=0).weights
    assert np.allclose(w_perm, w[perm], atol=1e-3 * max(1.0, np.abs(w).max()))


# --------------------------------------------------------------------------------------------------
# box -> grid


@st.composite
def box_and_grid(draw, min_side: int = 1):
    size = draw(st.sampled_from([32, 64, 128]))
    h, w = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    x0 = draw(st.integers(0, size - min_side))
    x1 = draw(st.integers(x0 + min_side, size))
    y0 = draw(st.integers(0, size - min_side))
    y1 = draw(st.integers(y0 + min_side, size))
    return (x0, y0, x1, y1), size, (h, w)


def _cell_edges(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(n)
    return i * size / n, (i + 1) * size / n


@FAST
@given(box_and_grid())
def test_grid_cells_lie_between_the_cells_inside_and_the_cells_touched(args):
    (x0, y0, x1, y1), size, (h, w) = args
    m = box_to_grid((x0, y0, x1, y1), size, (h, w))
    assert m.shape == (h, w) and m.dtype == bool and m.any()  # every box gives >= 1 positive
    top, bottom = _cell_edges(h, size)
    left, right = _cell_edges(w, size)
    inside = ((top >= y0) & (bottom <= y1))[:, None] & ((left >= x0) & (right <= x1))[None, :]
    touched = ((top < y1) & (bottom > y0))[:, None] & ((left < x1) & (right > x0))[None, :]
    assert not (inside & ~m).any(), "a cell entirely inside the box is not marked"
    assert not (m & ~touched).any(), "a marked cell does not touch the box"
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    assert m[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()  # a solid rectangle of cells


@FAST
@given(st.sampled_from([32, 64, 128]), st.sampled_from([1, 2, 4, 8, 16]), st.data())
def test_cell_aligned_boxes_map_exactly(size, n, data):
    cell = size // n
    i0, j0 = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    i1, j1 = data.draw(st.integers(i0 + 1, n)), data.draw(st.integers(j0 + 1, n))
    box = (j0 * cell, i0 * cell, j1 * cell, i1 * cell)
    m = box_to_grid(box, size, (n, n))
    up = np.kron(m, np.ones((cell, cell), dtype=bool)).astype(bool)  # cells back to pixels
    assert np.array_equal(up, boxes_to_pixel_mask([[box]], size)[0])


@FAST
@given(st.sampled_from([32, 64, 128]), st.integers(1, 16), st.integers(1, 16), st.data())
def test_a_split_of_the_image_partitions_the_grid(size, h, w, data):
    cut = data.draw(st.integers(1, size - 1))
    cy = (np.arange(h) + 0.5) * size / h
    cx = (np.arange(w) + 0.5) * size / w
    # both halves must hold a cell centre: otherwise the small one falls back to the cell at its centre
    assume((cx < cut).any() and (cx >= cut).any() and (cy < cut).any() and (cy >= cut).any())
    for a, b in (((0, 0, cut, size), (cut, 0, size, size)), ((0, 0, size, cut), (0, cut, size, size))):
        ma, mb = box_to_grid(a, size, (h, w)), box_to_grid(b, size, (h, w))
        assert not (ma & mb).any() and (ma | mb).all()


@FAST
@given(st.lists(box_and_grid(), min_size=1, max_size=4), st.integers(1, 16), st.integers(1, 16))
def test_boxes_of_a_sample_combine_as_a_union(items, h, w):
    size = items[0][1]
    boxes = [b for b, s, _ in items if s == size]
    union = np.zeros((h, w), dtype=bool)
    for b in boxes:
        union |= box_to_grid(b, size, (h, w))
    got = boxes_to_grid([boxes, []], size, (h, w))
    assert np.array_equal(got[0], union) and not got[1].any()


@FAST
@given(box_and_grid(), st.data())
def test_grid_mapping_is_monotone_in_the_box(args, data):
    (x0, y0, x1, y1), size, grid = args
    # grow the box by a random amount on each side
    big = (data.draw(st.integers(0, x0)), data.draw(st.integers(0, y0)),
           data.draw(st.integers(x1, size)), data.draw(st.integers(y1, size)))
    small, large = box_to_grid((x0, y0, x1, y1), size, grid), box_to_grid(big, size, grid)
    cy = (np.arange(grid[0]) + 0.5) * size / grid[0]
    cx = (np.arange(grid[1]) + 0.5) * size / grid[1]
    holds_centre = ((cy >= y0) & (cy < y1)).any() and ((cx >= x0) & (cx < x1)).any()
    # The cell-centre rule is monotone. A box holding no cell centre marks the cell that holds its own
    # centre instead (so that every box gives a positive), and a larger box need not mark that cell.
    assume(holds_centre)
    assert not (small & ~large).any() and small.sum() <= large.sum()
