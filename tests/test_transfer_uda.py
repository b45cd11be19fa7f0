"""The paper's domain adaptation (latentlab.app.transfer.domain_adaptation): classifier on G(source), tested on
real target digits, beside the same classifier trained on the grey source."""
from __future__ import annotations

import pytest
import torch

from latentlab.app.transfer import domain_adaptation, to_grey
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
