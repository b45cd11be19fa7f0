"""Directions beyond the paper: supervised boundaries (InterFaceGAN) and closed-form factors (SeFa).

* ``boundary(z, labels)``: a linear classifier on z against binary judge labels; its unit normal points
  towards the positive class (Shen et al. 2020, "InterFaceGAN"). ``conditional(primary, *others)``
  removes from the primary normal its component in the span of the others' normals, so moving along it
  leaves the other attributes' signed distances unchanged (to first order).
* ``sefa(generator)``: the eigenvectors of W^T W of the first layer's weight, largest eigenvalue first
  (Shen & Zhou 2021, "Closed-Form Factorization of Latent Semantics in GANs"): the directions in z
  that the first layer amplifies most. Unsupervised.

A ``Direction`` works wherever a concept vector does: ``Arithmetic.concept(name, vector=d)``,
``RotationAxis.fit(axis=d)``, ``edit(z, d, coefficients)``.

Example::

    >>> pool = sample_pool(LatentModel(gan), judge, 2000, seed=0)                     # doctest: +SKIP
    >>> smile = boundary(pool.z, pool.labels["smile"] > 0.5, name="smile")            # doctest: +SKIP
    >>> fem = boundary(pool.z, pool.labels["feminine"] > 0.5, name="feminine")        # doctest: +SKIP
    >>> only_smile = conditional(smile, fem)                                          # doctest: +SKIP
    >>> images = LatentModel(gan).generate(edit(z, only_smile, [0, 1, 2, 3]).flatten(0, 1))  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..config import ModelConfig
from ..models.adapter import LatentModel, as_latent_model, first_layer
from ..validate import int_in

__all__ = ["Direction", "boundary", "conditional", "sefa", "edit", "BOUNDARY_METHODS"]

BOUNDARY_METHODS = ("logistic", "svm")


@dataclass
class Direction:
    """A unit direction in z (nz,). ``bias``: the boundary is normal . z + bias = 0 (InterFaceGAN);
    ``accuracy``: held-out accuracy of the classifier; ``eigenvalue``: SeFa's."""

    vector: torch.Tensor
    name: str = ""
    bias: float | None = None
    accuracy: float | None = None
    eigenvalue: float | None = None

    def distance(self, z: torch.Tensor) -> torch.Tensor:
        """Signed distance (N,) of z (N, nz) to the boundary (positive side: the attribute)."""
        return z.float() @ self.vector + (self.bias or 0.0)

    def __neg__(self) -> "Direction":
        return Direction(-self.vector, f"-{self.name}", None if self.bias is None else -self.bias,
                         self.accuracy, self.eigenvalue)


def _unit(v: torch.Tensor, name: str) -> torch.Tensor:
    n = v.norm()
    if not torch.isfinite(n) or n < 1e-12:
        raise ValueError(f"{name}: the direction has (near) zero length")
    return v / n


def boundary(z: torch.Tensor, labels, *, method: str = "logistic", C: float = 1.0, name: str = "",
             holdout: float = 0.2, seed: int = 0, max_iter: int = 2000) -> Direction:
    """Fit a linear boundary on z (N, nz) against binary labels (N,) -> unit normal towards label 1.

    ``method``: "logistic" (sklearn LogisticRegression) or "svm" (LinearSVC, as InterFaceGAN). The
    classifier is fitted on all samples; ``accuracy`` is measured on a seeded ``holdout`` share by a
    second fit without it (0 disables).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if method not in BOUNDARY_METHODS:
        raise ValueError(f"method: expected one of {BOUNDARY_METHODS}, got {method!r}")
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z: expected latent vectors (N, nz), got {got}")
    y = torch.as_tensor(labels).reshape(-1)
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"labels: expected {z.shape[0]} labels (one per z), got {y.shape[0]}")
    if y.is_floating_point():
        if not ((y == 0) | (y == 1)).all():
            raise ValueError("labels: expected binary labels (bool or 0/1); threshold probabilities first, "
                             "e.g. labels > 0.5")
    y = y.bool().numpy()
    n_pos = int(y.sum())
    if n_pos < 2 or len(y) - n_pos < 2:
        raise ValueError(f"labels: need at least 2 samples of each class, got {n_pos} positive and "
                         f"{len(y) - n_pos} negative of {len(y)}")
    X = z.detach().double().cpu().numpy()

    def make():
        if method == "logistic":
            return LogisticRegression(C=C, max_iter=max_iter)
        return LinearSVC(C=C, max_iter=max_iter)

    acc = None
    if holdout and 0 < holdout < 1:
        perm = np.random.default_rng(seed).permutation(len(y))
        n_test = max(1, int(round(holdout * len(y))))
        test, train = perm[:n_test], perm[n_test:]
        if 0 < y[train].sum() < len(train):
            clf = make().fit(X[train], y[train])
            acc = float((clf.predict(X[test]) == y[test]).mean())
    clf = make().fit(X, y)
    w = torch.as_tensor(clf.coef_.reshape(-1), dtype=torch.float64)
    norm = float(w.norm())
    if norm < 1e-12:
        raise ValueError("labels: the classifier found no direction (the labels do not depend linearly on z)")
    vec = (w / norm).float()
    return Direction(vec, name, float(clf.intercept_.reshape(-1)[0]) / norm, acc)


def conditional(primary, *others) -> Direction:
    """InterFaceGAN's conditional manipulation: the primary normal minus its projection on the span of
    the others' normals, renormalised. Moving along it keeps the others' signed distances fixed."""
    p = getattr(primary, "vector", primary)
    if not isinstance(p, torch.Tensor) or p.dim() != 1:
        raise ValueError(f"primary: expected a direction (nz,), got {getattr(p, 'shape', type(p).__name__)}")
    if not others:
        raise ValueError("others: expected at least one direction to project out")
    vs = []
    for i, o in enumerate(others):
        v = getattr(o, "vector", o)
        if not isinstance(v, torch.Tensor) or v.shape != p.shape:
            raise ValueError(f"others[{i}]: expected a direction of shape {tuple(p.shape)}, "
                             f"got {getattr(v, 'shape', type(v).__name__)}")
        vs.append(v.double())
    Q, _ = torch.linalg.qr(torch.stack(vs, 1))           # orthonormal basis of the others' span
    q = p.double() - Q @ (Q.T @ p.double())
    if q.norm() < 1e-6 * p.double().norm():
        raise ValueError("primary: lies in the span of the other directions; nothing is left after projection")
    name = getattr(primary, "name", "") or "primary"
    names = [getattr(o, "name", "") or f"d{i}" for i, o in enumerate(others)]
    return Direction(_unit(q, "primary").float(), f"{name} | {', '.join(names)} fixed")


def _first_layer_matrix(module: nn.Module, layer: str | None, nz: int) -> tuple[str, torch.Tensor]:
    """The linear map z -> first-layer output as a matrix A (outputs, nz)."""
    name, m = first_layer(module, layer)
    w = m.weight.detach().double().cpu()
    if isinstance(m, nn.ConvTranspose2d):
        # (in, out, kh, kw): on a 1x1 input every (out, i, j) output is a weighted sum of the inputs
        if w.shape[0] < nz:
            raise ValueError(f"layer: {name!r} takes {w.shape[0]} inputs, fewer than nz={nz}")
        A = w[:nz].reshape(nz, -1).T
    elif isinstance(m, nn.Linear):
        if w.shape[1] < nz:
            raise ValueError(f"layer: {name!r} takes {w.shape[1]} inputs, fewer than nz={nz}")
        A = w[:, :nz]
    elif isinstance(m, nn.Conv2d):
        # (out, in, kh, kw): every kernel tap is treated as a separate output (exact for 1x1 kernels)
        if w.shape[1] < nz:
            raise ValueError(f"layer: {name!r} takes {w.shape[1]} inputs, fewer than nz={nz}")
        A = w[:, :nz].permute(1, 0, 2, 3).reshape(nz, -1).T
    else:
        raise TypeError(f"layer: {name!r} is a {type(m).__name__}; SeFa needs ConvTranspose2d, Conv2d or Linear")
    return name, A


def sefa(generator, prior: str | None = None, *, layer: str | None = None, k: int = 5, nz: int | None = None,
         normalize: bool = False) -> list[Direction]:
    """The ``k`` eigenvectors of W^T W of the first layer (largest eigenvalue first) as Directions.

    ``layer``: dotted name; default: the first ConvTranspose2d/Conv2d/Linear (``block1.conv`` on our
    DCGAN/AC-GAN, whose extra class-embedding inputs are ignored; ``main.0`` on pytorch/examples' netG).
    ``normalize``: scale each output unit's weights to unit norm first (as the SeFa code does).
    Each vector's sign is fixed so its largest-magnitude component is positive (eigenvectors have no sign).
    """
    if isinstance(generator, LatentModel):
        lm = generator
    else:  # the prior plays no role in SeFa: a foreign module needs none here
        ours = isinstance(getattr(generator, "config", None), ModelConfig)
        lm = as_latent_model(generator, prior if (prior or ours) else "normal", nz=nz)
    k = int_in(k, "k", 1, lm.nz, hint="(nz)")
    if layer is None and lm.ours and hasattr(lm.module, "block1"):
        layer = "block1.conv"
    name, A = _first_layer_matrix(lm.module, layer, lm.nz)
    if normalize:
        A = A / A.norm(dim=1, keepdim=True).clamp_min(1e-12)
    vals, vecs = torch.linalg.eigh(A.T @ A)          # ascending
    vals, vecs = vals.flip(0)[:k], vecs.flip(1)[:, :k]
    out = []
    for i in range(k):
        v = vecs[:, i]
        if v[v.abs().argmax()] < 0:
            v = -v
        out.append(Direction(v.float(), f"sefa{i}({name})", eigenvalue=float(vals[i])))
    return out


def edit(z: torch.Tensor, direction, coefficients) -> torch.Tensor:
    """z (N, nz) moved along a direction (vector or Direction) by each coefficient -> (N, K, nz)."""
    from .rotation import along_axis
    v = getattr(direction, "vector", direction)
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"z: expected a torch.Tensor (N, nz), got {type(z).__name__}")
    if z.dim() == 1:
        z = z[None]
    return along_axis(z, torch.as_tensor(v), coefficients)
