"""A small CNN that judges MNIST digits: the DTN experiment's "MNIST classifier" (Taigman et al. 2017, Sec. 5).

The DTN is scored by the share of transferred source digits G(x) this judge reads as x's label (the paper:
90.66% for DTN, 13.71% for its baseline). ``features`` gives the penultimate layer for a Fréchet distance
of G(source) against real MNIST. Same architecture and file format as the Fashion-MNIST judge
(:mod:`latentlab.judges.fashion`), trained on the 4,000 ``train`` digits of
:class:`latentlab.data.digits.MNISTDigits` and tested once on the other 1,000 (``scripts/train_judge_mnist.py``).

Example::

    >>> judge = MNISTJudge.load("pretrained/judges/mnist.safetensors")   # doctest: +SKIP
    >>> judge.predict(images)           # images (N, 1, 32, 32) in [-1, 1], background -1  # doctest: +SKIP
    tensor([7, 2, 1, ...])

Checkpoints are one safetensors file (never pickle); its metadata holds
``{"format": "latentlab-judge", "judge": "mnist", "config": <json>, "sha256": ...}``.
"""
from __future__ import annotations

from dataclasses import dataclass

from latentlab.judges.fashion import FashionClassifier, FashionClassifierConfig

__all__ = ["MNISTJudge", "MNISTJudgeConfig"]


@dataclass(frozen=True)
class MNISTJudgeConfig(FashionClassifierConfig):
    """Fields as :class:`~latentlab.judges.fashion.FashionClassifierConfig` (1 x 32 x 32 input, 10 classes)."""


class MNISTJudge(FashionClassifier):
    """CNN classifier for MNIST digits (N, 1, 32, 32) in [-1, 1]: ``predict``, ``predict_proba``, ``features``."""

    judge, label, config_class, load_error = "mnist", "MNIST", MNISTJudgeConfig, ValueError

    def __init__(self, config: MNISTJudgeConfig | None = None):
        super().__init__(config or MNISTJudgeConfig())
