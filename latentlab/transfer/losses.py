"""The DTN's losses (Taigman, Polyak, Wolf 2017, Sec. 3-4) as pure functions: tensors in, scalar tensor out.

D's three classes (the paper's D_1, D_2, D_3): ``SOURCE_FAKE`` = G(x) for a source x, ``TARGET_FAKE`` = G(t)
for a target t, ``REAL`` = a real target image t.

* ``d_loss``      L_D    = - E_s log D_1(G(s)) - E_t log D_2(G(t)) - E_t log D_3(t)   (3-way cross-entropy)
* ``g_adv_loss``  L_GANG = - E_s log D_3(G(s)) - E_t log D_3(G(t))                   (both fakes called real)
* ``const_loss``  L_CONST = d(f(s), f(G(s)))      MSE (digits) or cosine distance 1 - cos (faces)
* ``tid_loss``    L_TID  = d2(t, G(t))            MSE (the paper's digits) or L1
* ``diversity_loss`` L_DIV = relu(r_T - r_S): a diversity-sensitive (mode-seeking) hinge, not in the paper (see
                  its docstring)
* ``style_const_loss`` L_STYLE = 1 - cos(f_k(s), f_k(G(s))) (maps centred per channel) on the maps of an earlier block k of f (not in the
                  paper; ``DTNConfig.style_layer``)
* ``r1_penalty``  R1     = E_t ||grad_t realness(D(t))||^2 / 2 on real targets (Mescheder et al. 2018; not in the
                  paper; ``DTNConfig.r1``): D is kept flat around the real images, so the game converges instead of
                  circling; realness = log p(real) - log (1 - p(real)) of the 3-way D, the logit of the binary one
* ``tv_loss``     L_TV   = sum_ij ((z_{i,j+1} - z_ij)^2 + (z_{i+1,j} - z_ij)^2)^(B/2), B = 1, averaged over
                  pixels, channels and images (the paper's anisotropic-free form with B = 1)

With ``binary=True`` D has one logit (real target vs G(source)), the paper's Sec. 3 baseline: L_D is the
binary cross-entropy of real t (label 1) and G(s) (label 0); G's adversarial loss asks D to call G(s) real;
G(t) plays no part in the adversarial game. Each expectation is a batch mean, so the two terms of L_D's
fakes and of L_GANG are each averaged over their own batch and then summed (as in the paper's sums).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..train import losses as train_losses

__all__ = ["SOURCE_FAKE", "TARGET_FAKE", "REAL", "DISTANCES", "d_loss", "g_adv_loss", "const_loss", "tid_loss",
           "tv_loss", "realness", "r1_penalty", "distance", "diversity_loss", "sensitivity", "style_const_loss",
           "group_kl"]

SOURCE_FAKE, TARGET_FAKE, REAL = 0, 1, 2
DISTANCES = ("mse", "cosine", "l1")


def _check_logits(logits: torch.Tensor, name: str, binary: bool) -> torch.Tensor:
    """(rows,) binary or (rows, 3) 3-way logits as float. A patch D's maps (``DTNConfig.d_patch``: (N, 3, h, w), or
    (N, h, w) / (N, 1, h, w) binary) become one row per patch, so every loss averages over images and patches."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of logits, got {type(logits).__name__}")
    if binary:
        if logits.dim() in (2, 4) and logits.shape[1] == 1:
            logits = logits[:, 0]
        if logits.dim() == 3:
            logits = logits.reshape(-1)
        if logits.dim() != 1:
            raise ValueError(f"{name}: a binary D gives logits of shape (N,) or (N, 1) (a patch D: (N, h, w)), got "
                             f"{tuple(logits.shape)}")
    else:
        if logits.dim() == 4 and logits.shape[1] == 3:
            logits = logits.permute(0, 2, 3, 1).reshape(-1, 3)
        if logits.dim() != 2 or logits.shape[1] != 3:
            raise ValueError(f"{name}: a 3-way D gives logits of shape (N, 3) (a patch D: (N, 3, h, w)), got "
                             f"{tuple(logits.shape)}")
    if logits.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty")
    return logits.float()


def _ce(logits: torch.Tensor, label: int) -> torch.Tensor:
    return F.cross_entropy(logits, torch.full((logits.shape[0],), label, dtype=torch.long, device=logits.device))


def d_loss(logits_gs: torch.Tensor, logits_gt: torch.Tensor | None, logits_real: torch.Tensor, *,
           binary: bool = False) -> torch.Tensor:
    """L_D. ``logits_gs`` = D(G(source)), ``logits_gt`` = D(G(target)) (unused, may be None, when ``binary``),
    ``logits_real`` = D(real target): (N, 3) each, or (N,) for the binary baseline."""
    gs = _check_logits(logits_gs, "logits_gs", binary)
    real = _check_logits(logits_real, "logits_real", binary)
    if binary:
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(gs, torch.zeros_like(gs)))
    gt = _check_logits(logits_gt, "logits_gt", binary)
    return _ce(gs, SOURCE_FAKE) + _ce(gt, TARGET_FAKE) + _ce(real, REAL)


def realness(logits: torch.Tensor, *, binary: bool = False) -> torch.Tensor:
    """Log-odds that D calls each image (each patch, for a patch D) a real target: the binary D's logit, or for the
    3-way D log p(REAL) - log(p(SOURCE_FAKE) + p(TARGET_FAKE)). One value per row of the logits."""
    logits = _check_logits(logits, "logits", binary)
    if binary:
        return logits
    return logits[:, REAL] - torch.logsumexp(logits[:, [SOURCE_FAKE, TARGET_FAKE]], 1)


def r1_penalty(logits_real: torch.Tensor, real: torch.Tensor, *, binary: bool = False) -> torch.Tensor:
    """R1 = mean over the batch of ||d realness(D(t)) / d t||^2 / 2, for ``logits_real`` = D(``real``) computed with
    ``real.requires_grad``: the GAN trainer's :func:`latentlab.train.losses.r1_penalty` of the realness, halved;
    differentiable (create_graph), so adding it to L_D penalises D's slope at real images."""
    if not isinstance(real, torch.Tensor) or not real.requires_grad:
        raise ValueError("real: expected the real images D(real) was computed from, with requires_grad=True")
    return train_losses.r1_penalty(realness(logits_real, binary=binary), real) / 2


def g_adv_loss(logits_gs: torch.Tensor, logits_gt: torch.Tensor | None, *, binary: bool = False) -> torch.Tensor:
    """L_GANG: D should call G(source) (and, 3-way, G(target)) real target."""
    gs = _check_logits(logits_gs, "logits_gs", binary)
    if binary:
        return F.binary_cross_entropy_with_logits(gs, torch.ones_like(gs))
    gt = _check_logits(logits_gt, "logits_gt", binary)
    return _ce(gs, REAL) + _ce(gt, REAL)


def distance(a: torch.Tensor, b: torch.Tensor, kind: str = "mse", *, name: str = "distance") -> torch.Tensor:
    """Mean over the batch of a per-sample distance between rows of ``a`` and ``b`` (same shape).

    "mse": mean squared difference over all non-batch elements; "l1": mean absolute difference;
    "cosine": 1 - cosine similarity of the flattened samples.
    """
    if kind not in DISTANCES:
        raise ValueError(f"{name}: expected one of {DISTANCES}, got {kind!r}")
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        raise TypeError(f"{name}: expected two torch.Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.shape != b.shape:
        raise ValueError(f"{name}: the two inputs must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dim() < 2 or a.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty batch (N, ...), got shape {tuple(a.shape)}")
    a, b = a.float().flatten(1), b.float().flatten(1)
    if kind == "mse":
        return (a - b).pow(2).mean()
    if kind == "l1":
        return (a - b).abs().mean()
    return (1 - F.cosine_similarity(a, b, dim=1, eps=1e-8)).mean()


def const_loss(f_x: torch.Tensor, f_gx: torch.Tensor, distance_kind: str = "mse") -> torch.Tensor:
    """L_CONST = d(f(x), f(G(x))) on source samples; features (N, D)."""
    return distance(f_x, f_gx, distance_kind, name="const_distance")


def group_kl(logits_x: torch.Tensor, logits_gx: torch.Tensor, groups=()) -> torch.Tensor:
    """Mean over the softmax groups of the logits (sizes ``groups``, consecutive; () = one group of all) of the
    batch-mean KL(p_x || p_gx): f-constancy on what each of f's classifications says, every group weighted alike
    (``DTNConfig.const_on="groups"``)."""
    a, b = logits_x.float(), logits_gx.float()
    if a.shape != b.shape or a.dim() != 2 or a.shape[0] == 0:
        raise ValueError(f"logits_gx: expected the shape of logits_x, a non-empty (N, K), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    sizes = tuple(groups) or (a.shape[1],)
    if sum(sizes) != a.shape[1]:
        raise ValueError(f"groups: the sizes {sizes} sum to {sum(sizes)}, the logits have {a.shape[1]} columns")
    out = [F.kl_div(F.log_softmax(q, 1), F.log_softmax(p, 1), log_target=True, reduction="batchmean")
           for p, q in zip(a.split(sizes, 1), b.split(sizes, 1))]
    return torch.stack(out).mean()


def tid_loss(t: torch.Tensor, g_t: torch.Tensor, distance_kind: str = "mse") -> torch.Tensor:
    """L_TID = d2(t, G(t)) on target images (N, C, H, W)."""
    if distance_kind == "cosine":
        raise ValueError("tid_distance: expected 'mse' or 'l1' for images, got 'cosine'")
    return distance(t, g_t, distance_kind, name="tid_distance")


def tv_loss(images: torch.Tensor) -> torch.Tensor:
    """Total variation with B = 1: mean over pixels of sqrt(dx^2 + dy^2) (forward differences, last row/column
    dropped). ``images`` (N, C, H, W) with H, W >= 2."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images: expected a torch.Tensor (N, C, H, W), got {type(images).__name__}")
    if images.dim() != 4 or images.shape[2] < 2 or images.shape[3] < 2 or images.shape[0] == 0:
        raise ValueError(f"images: expected shape (N, C, H, W) with N >= 1 and H, W >= 2, got {tuple(images.shape)}")
    x = images.float()
    dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
    dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
    return torch.sqrt(dx.pow(2) + dy.pow(2) + 1e-8).mean()


def _nearest_pairs(feats: torch.Tensor) -> torch.Tensor:
    """Index of each row's nearest other row (Euclidean) in ``feats`` (N, D), N >= 2: label-free pairs, which
    in a batch of several classes are mostly pairs of the same class."""
    d = torch.cdist(feats, feats)
    d.fill_diagonal_(float("inf"))
    return d.argmin(1)


def sensitivity(feats: torch.Tensor, images: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """How much images change per unit of feature change between nearest neighbours in feature space:
    mean_i |x_i - x_j(i)| / mean_i |h_i - h_j(i)| (mean absolute differences; j(i) = i's nearest neighbour
    in ``feats``). ``feats`` (N, D), ``images`` (N, ...) with N >= 2. The ratio of means is the mode-seeking
    term of Mao et al. 2019 (MSGAN), with the latent code replaced by f's features."""
    if feats.dim() != 2 or feats.shape[0] < 2:
        raise ValueError(f"feats: expected (N, D) with N >= 2, got {tuple(feats.shape)}")
    if images.shape[0] != feats.shape[0]:
        raise ValueError(f"images: expected {feats.shape[0]} images (one per feature row), got {images.shape[0]}")
    f, x = feats.float(), images.float().flatten(1)
    j = _nearest_pairs(f.detach())
    return (x - x[j]).abs().mean() / ((f - f[j]).abs().mean() + eps)


def diversity_loss(f_s: torch.Tensor, g_s: torch.Tensor, f_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """L_DIV = relu(r_T - r_S), r = :func:`sensitivity`: r_S of G(source) against f(source), r_T (no gradient)
    of the real target batch t against f(t). G(source) is asked to vary with f's within-class variation at
    least as much as real targets vary with theirs (a collapsed G, one glyph per class, has r_S << r_T; the
    shipped digits DTN: r_S 0.19, r_T 0.57). Pairs are nearest neighbours in f (no labels). A hinge on a
    measured target (Yang et al. 2019 clip the ratio at a fixed tau) so the term stops once G is as sensitive as
    the data. ``f_s`` (N, D), ``g_s`` (N, C, S, S), ``f_t`` (M, D), ``t`` (M, C, S, S)."""
    with torch.no_grad():
        r_t = sensitivity(f_t, t)
    return torch.relu(r_t - sensitivity(f_s, g_s))


def style_const_loss(maps_s: torch.Tensor, maps_gs: torch.Tensor) -> torch.Tensor:
    """L_STYLE = mean over the batch of 1 - cos(c(maps_s), c(maps_gs)), where c subtracts each map's spatial mean
    (per image and channel) and flattens: the maps (N, C, H, W) of an earlier block of f for source images and
    for their transfers G(s). f-constancy on features that keep more than the class (where the strokes are and
    how wide); centring drops a map's constant level (the source's background colour), the cosine its scale,
    so unbounded ReLU maps cannot dominate L_G."""
    for name, m in (("maps_s", maps_s), ("maps_gs", maps_gs)):
        if not isinstance(m, torch.Tensor) or m.dim() != 4:
            raise ValueError(f"{name}: expected f's block maps (N, C, H, W), got "
                             f"{tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__}")
    a, b = maps_s.float(), maps_gs.float()
    return distance(a - a.mean((2, 3), keepdim=True), b - b.mean((2, 3), keepdim=True), "cosine",
                    name="style_const_loss")


def mask_loss(masks: torch.Tensor, layout: torch.Tensor | None = None) -> torch.Tensor:
    """L_MASK: the mean of a layered g's masks (N, 1, H, W) in (0, 1), a prior for the plain backdrop. With
    ``layout`` (H, W) in [0, 1] (``measures.backdrop_frequency`` of the targets) each pixel counts by how often
    the targets show their backdrop there: mean(masks * layout), so where the face always is nothing pushes."""
    if not isinstance(masks, torch.Tensor) or masks.dim() != 4 or masks.shape[1] != 1:
        raise ValueError(f"masks: expected (N, 1, H, W), got "
                         f"{tuple(masks.shape) if isinstance(masks, torch.Tensor) else type(masks).__name__}")
    m = masks.float()
    if layout is None:
        return m.mean()
    if not isinstance(layout, torch.Tensor) or tuple(layout.shape) != tuple(m.shape[2:]):
        raise ValueError(f"layout: expected a map of shape {tuple(m.shape[2:])} (the masks' H, W), got "
                         f"{tuple(layout.shape) if isinstance(layout, torch.Tensor) else type(layout).__name__}")
    return (m * layout.to(m)).mean()
