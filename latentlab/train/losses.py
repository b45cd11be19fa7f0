"""GAN losses as pure functions of discriminator logits (computed in float32)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["d_loss_dcgan", "g_loss_dcgan", "d_loss_acgan", "g_loss_acgan", "r1_penalty"]


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def d_loss_dcgan(real_logits: torch.Tensor | None, fake_logits: torch.Tensor | None, *,
                 real_target: float = 1.0) -> torch.Tensor:
    """-[log D(x) + log(1 - D(G(z)))], averaged (Goodfellow 2014, eq. 1).

    ``real_target`` < 1 is one-sided label smoothing (Salimans et al. 2016). Either argument may be None for the
    other half alone: the Trainer back-propagates the real and the fake half separately (as pytorch/examples does),
    and the full loss is exactly their sum.
    """
    _check_halves(real_logits, fake_logits)
    terms = []
    if real_logits is not None:
        terms.append(_bce(real_logits, real_target))
    if fake_logits is not None:
        terms.append(_bce(fake_logits, 0.0))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def g_loss_dcgan(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -log D(G(z))."""
    return _bce(fake_logits, 1.0)


def d_loss_acgan(real_src, real_cls, real_y, fake_src, fake_cls, fake_y, *, real_target: float = 1.0) -> torch.Tensor:
    """D maximises L_S + L_C (Odena 2017, eq. 2-3) -> minimise source BCE + class CE on real and fake.

    Shapes: ``*_src`` (N,) source logits, ``*_cls`` (N, K) class logits, ``*_y`` (N,) class indices. Pass None for
    all three ``real_*`` (or all three ``fake_*``) arguments to get the other half alone; the full loss is
    (real half) + (fake half), each half = source BCE + class CE. ``real_target``: as in ``d_loss_dcgan``.
    """
    _check_halves(real_src, fake_src)
    terms = []
    if real_src is not None:
        terms.append(_bce(real_src, real_target) + F.cross_entropy(real_cls.float(), real_y))
    if fake_src is not None:
        terms.append(_bce(fake_src, 0.0) + F.cross_entropy(fake_cls.float(), fake_y))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def _check_halves(real, fake) -> None:
    if real is None and fake is None:
        raise ValueError("real_logits/fake_logits: expected at least one of the two halves, got None for both")


def g_loss_acgan(fake_src, fake_cls, fake_y, class_weight: float = 1.0) -> torch.Tensor:
    """G maximises L_C - L_S; the source term uses the non-saturating form, as in DCGAN.

    ``class_weight`` scales G's class term (1 = the paper). The class term pulls each class towards the
    samples D's classifier is surest of; a weight below 1 trades class accuracy for within-class diversity
    (on Fashion-MNIST, 0.25 brought Trouser and Sneaker to the real data's MS-SSIM: pretrained/README.md).
    """
    return _bce(fake_src, 1.0) + class_weight * F.cross_entropy(fake_cls.float(), fake_y)


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): mean over the batch of |d D(x) / d x|^2 at real images ``x``.

    ``real`` must require grad and ``real_logits`` must come from it. The graph is kept, so the penalty can be
    added to D's loss and back-propagated into D's weights.
    """
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()
