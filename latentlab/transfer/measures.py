"""What a transfer keeps besides the class (issue 32): diversity, style carry-over and an honest floor.

A DTN can score high transfer accuracy by drawing one template per class. These measures show it:

* :func:`within_class_diversity` - mean pairwise Euclidean distance between the images of one class,
  divided by the same for real target images of that class (1.0: as varied as the real data; a
  one-glyph-per-class generator is near 0).
* :func:`normalise_digits` - a label-free polarity and contrast normalisation of (source) digits, the
  input a reader trained on MNIST should get for a fair no-transfer floor (light ink on a dark background,
  background at -1, ink up to +1).
* :func:`stroke_width`, :func:`slant` and :func:`style_correlation` - per-image style measured on
  source and transfer (Morpho-MNIST-like: Castro et al. 2019), and how they correlate.
* :func:`precision_recall` - improved precision and recall (Kynkaenniemi et al. 2019) in a feature space.
* :func:`backdrop_std` - how flat the plain backdrop of a target drawn on one is (avatars: 0.0 exactly): the
  pixel standard deviation inside the two top corner squares, which are backdrop in every avatar.
* :func:`backdrop_region`, :func:`backdrop_frequency` and :func:`region_std` - where targets drawn on a plain
  backdrop show it (the pixels with the image's top-left colour), how often over a set (a layout map), and how flat
  other images are inside such regions (a transfer over its drawn avatar's whole backdrop).

All take (N, C, H, W) tensors in [-1, 1]; nothing here trains or samples a model.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..validate import int_in

__all__ = ["within_class_diversity", "normalise_digits", "stroke_width", "slant", "style_correlation",
           "precision_recall", "central_columns", "backdrop_std", "backdrop_region", "backdrop_frequency",
           "region_std"]


def check_batch(images, name: str, *, channels: int | None = None, layout: str = "(N, C, H, W)",
                batch: str = "a non-empty batch of shape (N, C, H, W)") -> torch.Tensor:
    """``images.float()`` for a non-empty float (N, C, H, W) batch (with ``channels``: C must be it); else a
    TypeError "<name>: expected a float torch.Tensor <layout>, got ..." or a ValueError "<name>: expected <batch>,
    got <shape>". The measures here and ``readers.PixelReader`` check their images with it."""
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"{name}: expected a float torch.Tensor {layout}, got "
                        f"{type(images).__name__ if not isinstance(images, torch.Tensor) else images.dtype}")
    if images.dim() != 4 or images.shape[0] == 0 or (channels is not None and images.shape[1] != channels):
        raise ValueError(f"{name}: expected {batch}, got {tuple(images.shape)}")
    return images.float()


def _mean_pairwise(x: torch.Tensor) -> float:
    n = len(x)
    if n < 2:
        return float("nan")
    d = torch.cdist(x.flatten(1)[None], x.flatten(1)[None])[0]
    return float(d.sum() / (n * (n - 1)))


def within_class_diversity(images, labels, reference, reference_labels) -> dict:
    """Per class c: mean pairwise L2 distance of ``images`` of class c / the same for ``reference`` of class c.

    ``images`` (N, C, H, W), ``labels`` (N,); ``reference`` (M, C, H, W) real target images, ``reference_labels``
    (M,). Classes with fewer than 2 images on either side are skipped. Returns {"mean": mean ratio over classes,
    "per_class": {class: ratio}, "distance": {class: mean distance of images}, "reference_distance": {...}}."""
    x, r = check_batch(images, "images"), check_batch(reference, "reference")
    labels, reference_labels = torch.as_tensor(labels), torch.as_tensor(reference_labels)
    if len(labels) != len(x) or len(reference_labels) != len(r):
        raise ValueError(f"labels: expected one label per image ({len(x)} and {len(r)}), got {len(labels)} and "
                         f"{len(reference_labels)}")
    per, dist, ref = {}, {}, {}
    for c in sorted(set(labels.tolist()) & set(reference_labels.tolist())):
        a, b = _mean_pairwise(x[labels == c]), _mean_pairwise(r[reference_labels == c])
        if np.isfinite(a) and np.isfinite(b) and b > 0:
            per[str(c)], dist[str(c)], ref[str(c)] = a / b, a, b
    if not per:
        raise ValueError("labels: no class has at least 2 images in both images and reference")
    return {"mean": float(np.mean(list(per.values()))), "per_class": per, "distance": dist,
            "reference_distance": ref}


def normalise_digits(images, border: int = 2) -> torch.Tensor:
    """Label-free polarity and contrast normalisation: (N, C, H, W) in [-1, 1] -> grey (N, 1, H, W) in [-1, 1]
    with the background at -1 and the ink bright.

    Per image: luminance (ITU-R 601); background b = median of the ``border``-pixel frame; polarity from the
    centre half's mean against b (darker centre = dark ink: inverted); then (x - b) is scaled so its 99th
    percentile maps to +1, clipped to [0, 1] and mapped to [-1, 1]. No label and no target statistic is used."""
    x = check_batch(images, "images")
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif x.shape[1] != 1:
        raise ValueError(f"images: expected 1 or 3 channels, got {x.shape[1]}")
    n, _, h, w = x.shape
    frame = torch.ones(h, w, dtype=torch.bool)
    frame[border:h - border, border:w - border] = False
    bg = x[:, 0][:, frame].median(1).values.view(n, 1, 1, 1)
    centre = x[:, :, h // 4:h - h // 4, w // 4:w - w // 4].mean((1, 2, 3)).view(n, 1, 1, 1)
    sign = torch.where(centre < bg, -1.0, 1.0)
    y = (x - bg) * sign
    top = torch.quantile(y.flatten(1), 0.99, dim=1).clamp_min(1e-6).view(n, 1, 1, 1)
    return (y / top).clamp(0, 1) * 2 - 1


def central_columns(images, width: int = 20) -> torch.Tensor:
    """The central ``width`` columns (MNIST digits sit in a 20-pixel box): keeps the style measures off the
    source's cut-off neighbour digits."""
    x = check_batch(images, "images")
    left = (x.shape[3] - width) // 2
    return x[..., left:left + width]


def _ink(images, threshold: float) -> torch.Tensor:
    x = check_batch(images, "images")
    if x.shape[1] != 1:
        raise ValueError(f"images: expected grey digits (N, 1, H, W), got {x.shape[1]} channels")
    return x[:, 0] > threshold


def stroke_width(images, threshold: float = 0.0) -> torch.Tensor:
    """Mean stroke width in pixels per grey digit (N, 1, H, W), background -1: 2 x ink area / boundary pixels
    (ink pixels with a non-ink 4-neighbour). A stroke of width w and length L has area ~ wL and ~2L boundary
    pixels. NaN for an image without ink. Returns (N,) float."""
    ink = _ink(images, threshold).float()[:, None]
    inner = -F.max_pool2d(-F.pad(ink, (1, 1, 1, 1)), 3, 1, 0)  # 3x3 erosion (corners included: a safe interior)
    boundary = (ink - inner).clamp_min(0).flatten(1).sum(1)
    area = ink.flatten(1).sum(1)
    return torch.where(boundary > 0, 2 * area / boundary.clamp_min(1), torch.full_like(area, float("nan")))


def slant(images) -> torch.Tensor:
    """Slant of each grey digit (N, 1, H, W) in degrees from the intensity moments (Morpho-MNIST's shear):
    atan(-mu11 / mu02), with x to the right and y downwards; positive = the top leans right. (N,) float."""
    x = check_batch(images, "images")
    if x.shape[1] != 1:
        raise ValueError(f"images: expected grey digits (N, 1, H, W), got {x.shape[1]} channels")
    w = (x[:, 0] + 1).clamp_min(0) / 2
    h, wd = w.shape[1:]
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(wd, dtype=torch.float32),
                            indexing="ij")
    m = w.sum((1, 2)).clamp_min(1e-6)
    xc, yc = (w * xx).sum((1, 2)) / m, (w * yy).sum((1, 2)) / m
    dx, dy = xx - xc[:, None, None], yy - yc[:, None, None]
    mu11, mu02 = (w * dx * dy).sum((1, 2)), (w * dy * dy).sum((1, 2)).clamp_min(1e-6)
    return torch.rad2deg(torch.atan(-mu11 / mu02))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() == 0 or b[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def style_correlation(source_style, transfer_style, labels) -> dict:
    """Pearson correlation of a per-image style measure (stroke width, slant) of the source and of its transfer.

    ``pooled``: over all images (partly the classes' typical styles: a 1 is thin in both domains);
    ``within_class``: after subtracting each class's mean on both sides (does a bolder-than-usual 4 stay bolder
    than the transfer's usual 4?), the number issue 32 asks to be positive; ``per_class`` as well."""
    a = torch.as_tensor(source_style, dtype=torch.float64).numpy()
    b = torch.as_tensor(transfer_style, dtype=torch.float64).numpy()
    y = torch.as_tensor(labels).numpy()
    if not (len(a) == len(b) == len(y)):
        raise ValueError(f"labels: expected as many source, transfer and label entries, got {len(a)}, {len(b)}, "
                         f"{len(y)}")
    ac, bc, per = a.copy(), b.copy(), {}
    for c in np.unique(y):
        k = y == c
        ac[k] -= np.nanmean(a[k])
        bc[k] -= np.nanmean(b[k])
        per[str(int(c))] = _corr(a[k], b[k])
    return {"pooled": _corr(a, b), "within_class": _corr(ac, bc), "per_class": per}


def precision_recall(real_features, fake_features, k: int = 3) -> dict:
    """Improved precision and recall (Kynkaenniemi et al. 2019): precision = share of fake samples inside the
    k-NN ball of some real sample; recall = share of real samples inside the k-NN ball of some fake sample.
    Features (N, D) and (M, D), each with more than ``k`` rows."""
    r, f = torch.as_tensor(real_features).float(), torch.as_tensor(fake_features).float()
    if r.dim() != 2 or f.dim() != 2 or r.shape[1] != f.shape[1] or min(len(r), len(f)) <= k:
        raise ValueError(f"real_features, fake_features: expected (N, D) and (M, D) with N, M > k={k}, got "
                         f"{tuple(r.shape)} and {tuple(f.shape)}")

    def radii(x):
        return torch.cdist(x, x).kthvalue(k + 1, dim=1).values  # the 0 distance to itself is the first

    def covered(queries, anchors, rad):
        return (torch.cdist(queries, anchors) <= rad[None]).any(1).float().mean()

    return {"precision": float(covered(f, r, radii(r))), "recall": float(covered(r, f, radii(f))), "k": k}


def backdrop_std(images, corner: int = 8) -> float:
    """Mean over images of the per-channel pixel standard deviation inside the two top ``corner`` x ``corner``
    squares (the backdrop of a target drawn on a plain colour: in all 20,000 avatars of the training set those
    pixels are one colour, so real avatars give 0.0 and a cloudy backdrop a positive number). ``images``: (N, C,
    H, W) in [-1, 1], H and W >= 2 ``corner``."""
    x = check_batch(images, "images")
    corner = int_in(corner, "corner", 1, min(x.shape[-2:]) // 2, hint="(half the image side)")
    c = torch.cat([x[:, :, :corner, :corner].flatten(2), x[:, :, :corner, -corner:].flatten(2)], 2)
    return float(c.std(2, unbiased=False).mean())


def backdrop_region(images, tol: float = 1e-3, erode: int = 0) -> torch.Tensor:
    """(N, H, W) bool: where each of ``images`` (N, C, H, W) shows its plain backdrop, i.e. its pixel equals the
    image's top-left pixel in every channel (within ``tol``), shrunk by ``erode`` pixels (a pixel stays only if
    its whole (2 erode + 1)-square is backdrop), so the region's edges, where a drawn outline meets the backdrop,
    are left out."""
    x = check_batch(images, "images")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 2:
        raise ValueError(f"tol: expected a float in [0, 2) (pixels are in [-1, 1]), got {tol!r}")
    erode = int_in(erode, "erode", 0, min(x.shape[-2:]) // 2, hint="(half the image side)")
    region = (x - x[:, :, :1, :1]).abs().amax(1) <= tol
    if erode:
        region = -F.max_pool2d(-region[:, None].float(), 2 * erode + 1, 1, erode)[:, 0] > 0.5
    return region


def backdrop_frequency(images, tol: float = 1e-3) -> torch.Tensor:
    """(H, W) in [0, 1]: per pixel, the fraction of ``images`` (N, C, H, W) that show their plain backdrop there
    (:func:`backdrop_region`). For targets drawn on one flat colour (avatars, emoji) this is a layout map: 1 in
    the corners, 0 where the face always is (``DTNConfig.mask_layout`` weighs the layered g's mask prior with
    it)."""
    return backdrop_region(images, tol).float().mean(0)


def region_std(images, regions) -> float:
    """Mean over images of the per-channel pixel standard deviation of ``images`` (N, C, H, W) inside
    ``regions`` (N, H, W) bool, one region per image (images whose region has fewer than 2 pixels are left
    out; NaN if all are). With the drawn avatars' :func:`backdrop_region` it measures how flat a transfer is
    over the whole backdrop the avatar would have, not only in the corners (:func:`backdrop_std`)."""
    x = check_batch(images, "images")
    if not isinstance(regions, torch.Tensor) or regions.dtype != torch.bool or \
            tuple(regions.shape) != (x.shape[0], *x.shape[2:]):
        got = (f"a {regions.dtype} tensor of shape {tuple(regions.shape)}" if isinstance(regions, torch.Tensor)
               else type(regions).__name__)
        raise ValueError(f"regions: expected a bool tensor of shape {(x.shape[0], *x.shape[2:])} (one (H, W) region "
                         f"per image), got {got}")
    out = []
    for img, r in zip(x, regions):
        if int(r.sum()) >= 2:
            out.append(img[:, r].std(1, unbiased=False).mean())
    return float(torch.stack(out).mean()) if out else float("nan")
