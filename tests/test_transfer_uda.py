"""The paper's domain adaptation (latentlab.transfer.digits.domain_adaptation): classifier on G(source), tested on
real target digits, beside the same classifier trained on the grey source."""
from __future__ import annotations

import pytest
import torch

from latentlab.transfer.digits import domain_adaptation, to_grey
from latentlab.data.digits import MNISTDigits, SourceDigits

pytestmark = pytest.mark.usefixtures("one_thread")


class _FakeDTN:
    """Stands in for a DTN: ``transfer`` is any function of the source batch."""

    def __init__(self, fn):
        self.fn = fn

    def transfer(self, x, batch_size: int = 256):
        return self.fn(x)


@pytest.fixture(scope="module")
def data():
    src = SourceDigits(n=64, seed=0, split="train")
    test = MNISTDigits("test")
    return src.images, src.labels, test.images[:200], test.labels[:200]


def test_identity_transfer_equals_the_source_only_floor_and_is_seeded(data):
    """A 'DTN' that returns the grey source trains the same classifier as the floor: same labels, steps, order."""
    grey = _FakeDTN(to_grey)
    a = domain_adaptation(grey, *data, steps=4, batch_size=16, seed=3)
    b = domain_adaptation(grey, *data, steps=4, batch_size=16, seed=3)
    assert a["uda_accuracy"] == a["source_only_accuracy"]
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    assert a["n_train"] == 64 and a["n_test"] == 200 and a["steps"] == 4


def test_a_transfer_that_erases_the_digit_scores_the_majority_class_share(data):
    """Constant G(x) carries no label information: the classifier predicts one class for every test digit."""
    blank = _FakeDTN(lambda x: torch.full((len(x), 1, 32, 32), -1.0))
    r = domain_adaptation(blank, *data, steps=3, batch_size=16)
    shares = torch.bincount(data[3], minlength=10).float() / len(data[3])
    assert any(abs(r["uda_accuracy"] - float(s)) < 1e-6 for s in shares)


def test_bad_inputs_name_the_argument(data):
    src, labels, tgt, tgt_labels = data
    grey = _FakeDTN(to_grey)
    with pytest.raises(ValueError, match="source_labels: expected 64 labels"):
        domain_adaptation(grey, src, labels[:10], tgt, tgt_labels, steps=1)
    with pytest.raises(ValueError, match="target_labels: expected 200 labels"):
        domain_adaptation(grey, src, labels, tgt, tgt_labels[:5], steps=1)
    with pytest.raises(ValueError, match=r"target_images: expected images shaped like G\(source\)"):
        domain_adaptation(grey, src, labels, torch.zeros(200, 3, 32, 32), tgt_labels, steps=1)


# ------------------------------------------------------------------------------------ augmentation of digits

def test_augment_digits_is_seeded_bounded_and_the_identity_at_zero_strength(data):
    from latentlab.data.digits import augment_digits
    x = to_grey(data[0][:16]).clamp(-1, 1)
    a = augment_digits(x, torch.Generator().manual_seed(5))
    b = augment_digits(x, torch.Generator().manual_seed(5))
    c = augment_digits(x, torch.Generator().manual_seed(6))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.min()) >= -1 - 1e-6 and float(a.max()) <= 1 + 1e-6
    zero = dict(max_degrees=0.0, max_scale=0.0, max_shift=0.0, p_thin=0.0, p_thick=0.0)
    assert torch.allclose(augment_digits(x, torch.Generator().manual_seed(0), **zero), x, atol=1e-5)
    thin = augment_digits(x, torch.Generator().manual_seed(0), **dict(zero, p_thin=1.0))
    assert torch.allclose(thin, -torch.nn.functional.max_pool2d(-x, 3, 1, 1), atol=1e-5)   # erosion: strokes thinner
    thick = augment_digits(x, torch.Generator().manual_seed(0), **dict(zero, p_thick=1.0))
    assert torch.allclose(thick, torch.nn.functional.max_pool2d(x, 3, 1, 1), atol=1e-5)    # dilation: thicker
    with pytest.raises(ValueError, match=r"images: expected \(N, 1, H, W\)"):
        augment_digits(data[0][:2], torch.Generator())


def test_train_encoder_applies_augment_to_every_batch_from_its_seeded_generator(data):
    from latentlab.transfer.digits import UDA_CLASSIFIER
    from latentlab.transfer import EncoderConfig, train_encoder
    cfg = EncoderConfig(**UDA_CLASSIFIER["config"])
    x, y = to_grey(data[0]).clamp(-1, 1), data[1]
    seen = []

    def aug(batch, gen):
        seen.append((batch.shape, float(torch.rand(1, generator=gen))))
        return -batch

    f1 = train_encoder(cfg, x, y, steps=3, batch_size=8, seed=1, augment=aug)
    draws = [d for _, d in seen]
    seen.clear()
    f2 = train_encoder(cfg, x, y, steps=3, batch_size=8, seed=1, augment=aug)
    assert len(seen) == 3 and all(s == (8, 1, 32, 32) for s, _ in seen) and [d for _, d in seen] == draws
    assert all(torch.equal(p, q) for p, q in zip(f1.state_dict().values(), f2.state_dict().values()))
    plain = train_encoder(cfg, x, y, steps=3, batch_size=8, seed=1)
    assert not all(torch.equal(p, q) for p, q in zip(f1.state_dict().values(), plain.state_dict().values()))


def test_domain_adaptation_reports_whether_it_augmented(data):
    grey = _FakeDTN(to_grey)
    on = domain_adaptation(grey, *data, steps=2, batch_size=8)
    off = domain_adaptation(grey, *data, steps=2, batch_size=8, augment=False)
    assert on["augment"] is True and off["augment"] is False
    assert on["uda_accuracy"] == on["source_only_accuracy"] and off["uda_accuracy"] == off["source_only_accuracy"]
