"""Issue 32's measures: diversity, the label-free normalisation, stroke width, slant, correlations, readers."""
from __future__ import annotations

import math

import pytest
import torch

from latentlab.transfer import measures as M
from latentlab.transfer.readers import PixelReader


def _bar(width: int, size: int = 16, shift: int = 0) -> torch.Tensor:
    """A vertical stroke `width` pixels wide on a -1 background, (1, size, size)."""
    x = -torch.ones(1, size, size)
    c = size // 2 + shift
    x[:, 3:size - 3, c - width // 2:c - width // 2 + width] = 1.0
    return x


def test_within_class_diversity_by_hand():
    a, b = -torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2)  # distance 4 apart
    ref = torch.cat([a, b, a, b])  # class 0: a, b (mean pairwise 4); class 1: a, b
    collapsed = torch.cat([a, a, a, a])
    half = torch.cat([a, torch.zeros(1, 1, 2, 2), a, b])  # class 0: distance 2; class 1: distance 4
    labels = torch.tensor([0, 0, 1, 1])
    assert M.within_class_diversity(collapsed, labels, ref, labels)["mean"] == 0.0
    d = M.within_class_diversity(half, labels, ref, labels)
    assert d["per_class"] == {"0": 0.5, "1": 1.0} and d["mean"] == 0.75
    with pytest.raises(ValueError, match="labels"):
        M.within_class_diversity(half, labels[:3], ref, labels)
    with pytest.raises(TypeError, match="images"):
        M.within_class_diversity(half.numpy(), labels, ref, labels)


def test_normalise_digits_fixes_polarity_and_contrast():
    digit = _bar(3)
    dark_on_light = torch.cat([0.5 - 0.3 * (digit + 1)] * 3)[None]  # RGB, light background, dark ink
    out = M.normalise_digits(dark_on_light)
    assert out.shape == (1, 1, 16, 16)
    assert torch.allclose(out, digit[None], atol=1e-5)  # background -1, ink +1
    assert torch.allclose(M.normalise_digits(digit[None] * 0.2), digit[None], atol=1e-5)  # low contrast, right way


def test_stroke_width_and_slant():
    widths = M.stroke_width(torch.stack([_bar(2), _bar(4), _bar(6)]))
    assert widths[0] < widths[1] < widths[2]
    assert widths[1].item() == pytest.approx(4.0, rel=0.3)
    assert math.isnan(M.stroke_width(-torch.ones(1, 1, 8, 8))[0].item())
    upright = _bar(2)
    leaning = -torch.ones(1, 16, 16)
    for r in range(3, 13):  # top to the right: column grows as the row decreases
        c = 8 + (8 - r) // 2
        leaning[:, r, c:c + 2] = 1
    s = M.slant(torch.stack([upright, leaning]))
    assert abs(s[0].item()) < 1e-3 and s[1].item() > 10
    assert M.slant(torch.stack([leaning.flip(-1)]))[0].item() < -10
    with pytest.raises(ValueError, match="grey"):
        M.slant(torch.zeros(1, 3, 8, 8))


def test_style_correlation_within_class():
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    src = torch.tensor([1.0, 2.0, 3.0, 11.0, 12.0, 13.0])
    kept = torch.tensor([5.0, 6.0, 7.0, 1.0, 2.0, 3.0])    # ranks kept within class, class means swapped
    r = M.style_correlation(src, kept, labels)
    assert r["within_class"] == pytest.approx(1.0) and r["pooled"] < 0
    flat = torch.tensor([5.0, 5.0, 5.0, 1.0, 1.0, 1.0])    # one glyph per class: no within-class information
    assert math.isnan(M.style_correlation(src, flat, labels)["within_class"])
    with pytest.raises(ValueError, match="labels"):
        M.style_correlation(src, kept, labels[:5])


def test_precision_recall():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(200, 4, generator=g)
    assert M.precision_recall(real, real)["precision"] == 1.0
    collapsed = real[:1].repeat(50, 1) + 1e-3 * torch.randn(50, 4, generator=g)
    pr = M.precision_recall(real, collapsed)
    assert pr["precision"] == 1.0 and pr["recall"] < 0.2
    far = M.precision_recall(real, real + 100)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    with pytest.raises(ValueError, match="real_features"):
        M.precision_recall(real[:3], real)


@pytest.mark.parametrize("kind", ["svc", "forest"])
def test_pixel_reader(kind):
    x = torch.stack([_bar(2, shift=s) for s in (-3, -2, 2, 3)] * 5)
    y = torch.tensor([0, 0, 1, 1] * 5)
    reader = PixelReader(kind, seed=0)
    with pytest.raises(RuntimeError, match="fit"):
        reader.predict(x)
    assert torch.equal(reader.fit(x, y).predict(x), y)
    with pytest.raises(ValueError, match="images"):
        reader.predict(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="kind"):
        PixelReader("knn")


def test_grey_view_augment_replaces_a_share_by_a_centred_grey_view():
    from latentlab.data.digits import SourceDigits
    from latentlab.transfer.digits import ENCODER_RECIPES, grey_view_augment
    x = SourceDigits(n=16, seed=0, split="val").images
    kw = ENCODER_RECIPES["grey-view"]["augment"]
    a = grey_view_augment(x, torch.Generator().manual_seed(3), **kw)
    b = grey_view_augment(x, torch.Generator().manual_seed(3), **kw)
    assert torch.equal(a, b) and a.shape == x.shape                     # deterministic given the generator
    grey = (a[:, 0] == a[:, 1]).all(-1).all(-1) & (a[:, 1] == a[:, 2]).all(-1).all(-1)
    kept = (a == x).flatten(1).all(1)
    assert bool((grey ^ kept).all()) and 0 < int(grey.sum()) < 16        # each image grey view or untouched
    side = (32 - kw["centre"]) // 2
    # the neighbour digits are blanked before the affine jitter, which may move a little ink into the margins
    from latentlab.transfer.measures import normalise_digits
    margins = lambda t: torch.cat([t[..., :side], t[..., 32 - side:]], -1).mean()  # noqa: E731
    assert margins(a[grey][:, :1]) < -0.9 < margins(normalise_digits(x[grey]))  # measured -0.97 vs -0.65 (all 16)
    assert torch.equal(grey_view_augment(x, torch.Generator(), **{**kw, "p_grey": 0.0}), x)
    assert bool((grey_view_augment(x, torch.Generator(), **{**kw, "p_grey": 1.0})[:, 0] ==
                 grey_view_augment(x, torch.Generator(), **{**kw, "p_grey": 1.0})[:, 2]).all())


def test_train_digits_encoder_checks_the_recipe(tmp_path):
    from latentlab.data.digits import SourceDigits
    from latentlab.transfer.digits import train_digits_encoder
    with pytest.raises(ValueError, match="recipe"):
        train_digits_encoder(tmp_path, recipe="nope")
    src = SourceDigits(n=32, seed=0, split="val")
    f, info = train_digits_encoder(tmp_path, source=src, steps=2, progress=False, recipe="grey-view")
    assert info["recipe"] == "grey-view" and (tmp_path / "encoder.safetensors").exists()
    assert train_digits_encoder(tmp_path, recipe="grey-view")[1] == info   # cached: loaded, not retrained
    with pytest.raises(ValueError, match="recipe 'grey-view'"):
        train_digits_encoder(tmp_path, recipe="source")                  # another recipe's f is not reused


def test_backdrop_std_by_hand():
    from latentlab.transfer.measures import backdrop_std
    x = torch.zeros(2, 3, 16, 16)
    x[:, :, 6:, :] = torch.rand(2, 3, 10, 16)  # anything below the corners is ignored
    assert backdrop_std(x, corner=4) == 0.0
    x[0, 0, :4, :4] = torch.tensor([[1.0, -1.0] * 2] * 4)  # image 0, red, left corner: half +1, half -1
    # image 0 red over both corners (32 px): 8 at +1, 8 at -1, 16 at 0 -> std sqrt(16 / 32)
    assert backdrop_std(x, corner=4) == pytest.approx((0.5 ** 0.5) / 6)  # mean over 2 images x 3 channels
    with pytest.raises(ValueError, match="corner"):
        backdrop_std(x, corner=9)
    with pytest.raises(ValueError, match="corner"):
        backdrop_std(x, corner=True)
    with pytest.raises(TypeError, match="images"):
        backdrop_std(x.numpy())


def test_backdrop_region_frequency_and_region_std_by_hand():
    from latentlab.transfer.measures import backdrop_frequency, backdrop_region, region_std
    x = torch.full((2, 3, 8, 8), 0.25)
    x[0, :, 3:5, 3:5] = -1.0                  # image 0: a 2x2 "face" on a flat backdrop
    x[1, 1, 0:4, 4:8] = 0.9                   # image 1: its top-right quarter differs in one channel
    r = backdrop_region(x)
    assert r.dtype == torch.bool and r[0].sum() == 60 and r[1].sum() == 48 and not r[1, 0, 7]
    eroded = backdrop_region(x, erode=1)
    # a pixel stays if its 3x3 square (inside the image: the border is no outline) is backdrop
    assert not eroded[0, 2, 2] and eroded[0, 1, 1] and eroded[0, 0, 0] and eroded[0, 7, 7]
    assert torch.equal(backdrop_frequency(x), r.float().mean(0))
    y = torch.zeros(2, 3, 8, 8)
    y[0, 0, 0, 0], y[0, 0, 0, 1] = 1.0, -1.0  # inside image 0's region: red std over its 60 pixels
    y[1, :, 0, 7] = 5.0                       # outside image 1's region: ignored
    want = (2 / 60) ** 0.5 / 3 / 2            # red of image 0 (2 px of +-1 among 60), averaged over 3 channels, 2 images
    assert region_std(y, r) == pytest.approx(want)
    empty = torch.zeros_like(r)
    assert math.isnan(region_std(y, empty))
    with pytest.raises(ValueError, match="regions"):
        region_std(y, r.float())
    with pytest.raises(ValueError, match="erode"):
        backdrop_region(x, erode=5)
