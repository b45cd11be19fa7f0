"""Label-based edits shared by ``latentlab arithmetic``, ``latentlab turn`` and the report: load a model with the
user's tags (checked against it), build the edits, measure them with instruments fitted on the tags only.

Each measurement is a dict with ``measured_with`` (the instrument, in words) or ``unmeasured`` (why not).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["load_model_and_tags", "arithmetic_from_tags", "turn_from_tags", "save_png", "measure_expect",
           "measure_turn", "instrument_summary", "TURN_COEFFICIENTS"]

TURN_COEFFICIENTS = (-1.0, -0.667, -0.333, 0.0, 0.333, 0.667, 1.0)


def load_model_and_tags(model: str, labels: str):
    """(gan, TagsFile): the tags checked against the model (file name, nz, image size, weights' fingerprint)."""
    from ..latent.tags import load_tags, model_fingerprint
    from .options import load_model

    gan = load_model(model)
    cfg = gan.config
    if cfg.conditional:
        raise ValueError(f"model: {model!r} is class-conditional; tags are made on an unconditional model's samples")
    try:
        tags = load_tags(labels, model=str(model), nz=cfg.nz, image_size=cfg.image_size,
                         fingerprint=model_fingerprint(gan.generator))
    except ValueError as e:
        raise ValueError(f"--labels: {e}") from None
    return gan, tags


def save_png(path: Path, arr: np.ndarray) -> Path:
    """(H, W, 3) uint8 -> PNG file, written atomically."""
    import io

    from PIL import Image

    from ..io import atomic_write_bytes
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path


def _row(images: torch.Tensor, width: int, scale: int) -> np.ndarray:
    from ..viz.images import to_uint8_grid
    arr = to_uint8_grid(images, nrow=len(images), scale=scale)
    out = np.full((arr.shape[0], width, 3), 255, np.uint8)
    out[:, :min(width, arr.shape[1])] = arr[:, :width]
    return out


def terms_png(terms, grid: torch.Tensor, *, scale: int = 2, max_exemplars: int = 8) -> np.ndarray:
    """DCGAN Fig. 7 as one image: per term a row [G(mean z) | exemplars...], then the 3x3 grid below."""
    from ..viz.images import to_uint8_grid
    s = grid.shape[-1] * scale + 2
    width = s * (max_exemplars + 2)
    rows = []
    for _, _, ex, mean in terms:
        if ex is None:
            continue
        sep = torch.ones_like(mean)[None]   # a white cell between the mean and the exemplars
        rows.append(_row(torch.cat([mean[None], sep, ex[:max_exemplars]]), width, scale))
    res = to_uint8_grid(grid, nrow=3, scale=scale * 2)
    block = np.full((res.shape[0], width, 3), 255, np.uint8)
    block[:, :min(width, res.shape[1])] = res[:, :width]
    return np.concatenate(rows + [np.full((8, width, 3), 255, np.uint8), block])


def arithmetic_from_tags(gan, tags, expression: str, *, seed: int = 0):
    """(Arithmetic, ArithmeticResult): concepts of ``expression`` from the tags; grid noise seeded by ``seed``."""
    from ..latent.arithmetic import Arithmetic
    ar = Arithmetic.from_tags(gan, tags, seed=seed)
    return ar, ar.evaluate(expression, seed=seed)


def instrument_summary(probes) -> dict:
    """The instrument used (the last probe) and, when a pixel probe could not read the tag, why it was passed over."""
    use = probes[-1]
    out = {"probe_auc": round(use.auc, 3), "measured_with": use.measured_with}
    if len(probes) > 1:
        out["pixel_probe_passed_over"] = (f"a pixel probe could not read it (cross-validated AUC "
                                          f"{probes[0].auc:.2f} < 0.7)")
    if not use.readable:
        out["unmeasured"] = "no probe fitted on the tags can read it (" + ", ".join(
            f"{'pixels' if p.reads == 'images' else 'generator features'}: AUC {p.auc:.2f}" for p in probes) + \
            " < 0.7)"
    return out


def measure_expect(gan, tags, images: torch.Tensor, expect: str | None, z: torch.Tensor | None = None) -> dict:
    """Share of ``images`` (generated from ``z``) that a probe fitted on the tags reads as each part of the
    concept ``expect`` (``glasses_woman``: glasses and woman; ``no_glasses``: without glasses), beside its rate on
    the tagged samples; the probe reads pixels, or the generator's features when pixels cannot be read."""
    from ..latent.tag_measures import best_probe
    from ..models.adapter import as_latent_model

    if not expect:
        return {"unmeasured": "no --expect concept given: the grid is shown, not measured"}
    model = as_latent_model(gan)
    out = {"expect": expect, "parts": []}
    seen_z = tags.z(model)[tags.seen_indices]
    seen_x = model.generate(seen_z)
    for neg, tag in tags.parts(expect):
        probes = best_probe(model, tags, tag)
        part = {"tag": tag, "wanted": "absent" if neg else "present", **instrument_summary(probes)}
        if "unmeasured" not in part:
            p, q = probes[-1].read(images=images, z=z), probes[-1].read(images=seen_x, z=seen_z)
            part["share"] = round(float(((p < 0.5) if neg else (p >= 0.5)).float().mean()), 3)
            part["share_of_all_samples"] = round(float(((q < 0.5) if neg else (q >= 0.5)).float().mean()), 3)
        out["parts"].append(part)
    return out


def turn_from_tags(gan, tags, left: str, right: str, *, rows: int = 6, seed: int = 1, coefficients=TURN_COEFFICIENTS):
    """(RotationAxis, images (rows, K, C, H, W), their latents (rows, K, nz)): the axis mean(right) - mean(left)
    over the tags' samples, applied to ``rows`` fresh z drawn with ``seed``."""
    from ..latent.rotation import RotationAxis
    rot = RotationAxis.from_tags(gan, tags).fit(left=left, right=right)
    z = rot.model.sample_z(rows, seed=seed)
    return rot, rot.apply(z, coefficients), rot.latents(z, coefficients)


def measure_turn(gan, tags, left: str, right: str, images: torch.Tensor, coefficients,
                 latents: torch.Tensor | None = None) -> dict:
    """P(right) per column by a probe fitted on the ``right`` vs ``left`` tagged samples (on pixels, each also
    mirrored with the other side's label; on the generator's features at ``latents`` (N, K, nz) when pixels
    cannot be read), and the rank correlation of coefficient with P(right) over all images."""
    from scipy.stats import spearmanr

    from ..latent.tag_measures import best_probe
    from ..models.adapter import as_latent_model

    probes = best_probe(as_latent_model(gan), tags, right, against=left, mirror=True)
    out = instrument_summary(probes)
    if "unmeasured" in out:
        return out
    n, k = images.shape[:2]
    z = None if latents is None else latents.flatten(0, 1)
    p = probes[-1].read(images=images.flatten(0, 1), z=z).reshape(n, k)
    coef = torch.as_tensor(coefficients, dtype=torch.float32).reshape(1, -1).expand(n, k)
    out["p_right_per_column"] = [round(float(v), 3) for v in p.mean(0)]
    out["spearman_coefficient_vs_p_right"] = round(float(spearmanr(coef.flatten(), p.flatten())[0]), 3)
    return out
