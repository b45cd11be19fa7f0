"""The face experiments of DCGAN §6.3.2 as numbers (used by ``examples/faces_latent.py``).

For each of ``repeats`` fresh seeded pools (exemplars re-drawn every time):

* ``arithmetic_success_k3`` / ``_k1``: smiling woman - neutral woman + neutral man with k = 3 / k = 1
  exemplars per concept; the share of the 9 grid images the judge reads as a smiling man
  (smile > 0.5 and feminine < 0.5). ``glasses_success_k3``: man with glasses - man + woman -> the share
  read as a woman with glasses (glasses > 0.5, feminine > 0.5). Exemplars need the label on the right
  side of 0.5 +- ``margin``; the other attributes of a concept are left free unless named.
* ``rotation_spearman_median``: the turn vector (4 left-looking with yaw <= -0.5, 4 right-looking with
  yaw >= 0.5) added with ``coefficients`` to 50 random z's; Spearman correlation between the coefficient
  and the judge's yaw per z; the median over z's (and then over repeats). ``rotation_sign_change_share``:
  share of z's whose yaw has opposite signs at the two ends of the range.
* ``boundary_success``: InterFaceGAN-style: Y = mean(neutral man exemplars, k = 3) + s * n_smile, n_smile
  the unit normal of a logistic boundary fitted on the pool's z against smile labels, s = |mean(smiling
  woman) - mean(neutral woman)| (the same step length the arithmetic takes); scored like the arithmetic.
  ``conditional_boundary_success``: the same with the conditional smile normal (feminine and glasses
  normals projected out), InterFaceGAN's edit for changing one attribute while keeping the others.
* ``conditional_other_change`` / ``unconditional_other_change``: 100 random z's moved by s along the
  conditional smile normal (feminine and glasses normals projected out) / the plain one; the mean
  absolute change of the judge's feminine and glasses probabilities.
* ``ppl_lerp`` / ``ppl_slerp``: perceptual path length (judge features) of linear / spherical walks.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..latent.arithmetic import Arithmetic, result_latents
from ..latent.directions import boundary, conditional, edit
from ..latent.labels import label_images, match
from ..latent.pool import sample_pool
from ..latent.rotation import RotationAxis
from ..metrics.ppl import perceptual_path_length
from ..models.adapter import LatentModel

__all__ = ["run_faces_experiment", "FacesSettings", "format_summary", "KEYS"]

KEYS = ("arithmetic_success_k3", "arithmetic_success_k1", "glasses_success_k3", "rotation_spearman_median",
        "rotation_sign_change_share", "ppl_lerp", "ppl_slerp", "boundary_success", "conditional_other_change")

SMILING_MAN = dict(smile=1, presentation="masculine")
WOMAN_WITH_GLASSES = dict(glasses=1, presentation="feminine")


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr
    if np.ptp(y) == 0:
        return 0.0
    r = spearmanr(x, y).statistic
    return 0.0 if not math.isfinite(r) else float(r)


def _arithmetic(lm, judge, pool, margin: float) -> tuple[dict, Arithmetic]:
    """Smiling man (k = 3 and k = 1) and woman with glasses (k = 3) from one pool -> (numbers, the k = 3 run)."""
    row = {}
    for k in (3, 1):
        ar = Arithmetic(lm, judge=judge, k=k, margin=margin, seed=pool.seed + k, pool=pool)
        ar.concept("smiling_woman", smile=1, presentation="feminine", glasses=0)
        ar.concept("neutral_woman", smile=0, presentation="feminine", glasses=0)
        ar.concept("neutral_man", smile=0, presentation="masculine", glasses=0)
        res = ar.evaluate("smiling_woman - neutral_woman + neutral_man", seed=pool.seed)
        row[f"arithmetic_k{k}"] = ar.success(res, **SMILING_MAN)
        if k == 3:
            ar3 = ar
    ar = Arithmetic(lm, judge=judge, k=3, margin=margin, seed=pool.seed + 7, pool=pool)
    ar.concept("man_with_glasses", glasses=1, presentation="masculine")
    ar.concept("man", glasses=0, presentation="masculine")
    ar.concept("woman", glasses=0, presentation="feminine")
    res = ar.evaluate("man_with_glasses - man + woman", seed=pool.seed)
    row["glasses_k3"] = ar.success(res, **WOMAN_WITH_GLASSES)
    return row, ar3


def _directions(lm, judge, pool, ar3: Arithmetic, r: int, n_conditional: int) -> dict:
    """InterFaceGAN-style smile boundary, plain and conditional: the arithmetic's step along each."""
    row = {}
    labels = {n: pool.labels[n] > 0.5 for n in ("smile", "feminine", "glasses")}
    normals = {n: boundary(pool.z, v, name=n, seed=r) for n, v in labels.items()}
    step = float((ar3.concepts["smiling_woman"].vector - ar3.concepts["neutral_woman"].vector).norm())
    cond = conditional(normals["smile"], normals["feminine"], normals["glasses"])
    for key, d in (("boundary", normals["smile"]), ("conditional_boundary", cond)):
        # neutral man moved by the arithmetic's step along the direction, scored like the arithmetic
        y = ar3.concepts["neutral_man"].vector + step * d.vector
        gen = torch.Generator().manual_seed(pool.seed)
        grid = lm.generate(result_latents(y, scale=ar3.scale, noise=ar3.noise_kind, generator=gen))
        row[key] = float(match(label_images(judge, grid), 0.0, **SMILING_MAN).float().mean())
    row["boundary_accuracy"] = {n: d.accuracy for n, d in normals.items()}
    z = lm.sample_z(n_conditional, seed=pool.seed + 11)
    base = label_images(judge, lm.generate(z))
    for key, d in (("unconditional", normals["smile"]), ("conditional", cond)):
        moved = label_images(judge, lm.generate(edit(z, d, [step])[:, 0]))
        row[f"{key}_other_change"] = float(np.mean([(moved[n] - base[n]).abs().mean()
                                                    for n in ("feminine", "glasses")]))
        row[f"{key}_smile_change"] = float((moved["smile"] - base["smile"]).mean())
    return row


def _rotation(lm, judge, pool, coefficients: torch.Tensor, n_rotation: int) -> dict:
    """The turn vector: Spearman(coefficient, judged yaw) per z, and how often the yaw's sign flips."""
    rot = RotationAxis(lm, judge=judge, k=4, seed=pool.seed, pool=pool).fit()
    zr = lm.sample_z(n_rotation, seed=pool.seed + 13)
    images = rot.apply(zr, coefficients)
    yaw = label_images(judge, images.flatten(0, 1))["yaw"].reshape(n_rotation, -1).numpy()
    rhos = np.array([_spearman(coefficients.numpy(), yaw[i]) for i in range(n_rotation)])
    return {"rotation_spearman_median": float(np.median(rhos)),
            "rotation_sign_change_share": float(np.mean(np.sign(yaw[:, 0]) != np.sign(yaw[:, -1])))}


def _summary(rows: list[dict], ppl: dict) -> dict:
    def mean(key):
        return float(np.mean([row[key] for row in rows]))

    out = {
        "arithmetic_success_k3": mean("arithmetic_k3"),
        "arithmetic_success_k1": mean("arithmetic_k1"),
        "glasses_success_k3": mean("glasses_k3"),
        "rotation_spearman_median": float(np.median([row["rotation_spearman_median"] for row in rows])),
        "rotation_sign_change_share": mean("rotation_sign_change_share"),
        "ppl_lerp": float(ppl["linear"]),
        "ppl_slerp": float(ppl["slerp"]),
        "boundary_success": mean("boundary"),
        "conditional_boundary_success": mean("conditional_boundary"),
    }
    for key in ("conditional_other_change", "unconditional_other_change", "conditional_smile_change",
                "unconditional_smile_change"):
        out[key] = mean(key)
    return out


@dataclass(frozen=True)
class FacesSettings:
    """The sizes of :func:`run_faces_experiment` (the module docstring says what each number is)."""
    repeats: int = 20            # fresh seeded pools; the numbers are means (medians for rotation) over them
    pool_size: int = 1000        # judged samples per pool, from which the exemplars are drawn
    n_rotation: int = 50         # random z's moved along the turn vector
    coefficients: tuple | None = None  # turn-vector coefficients (default 9 from -1 to 1)
    n_conditional: int = 100     # random z's moved along the smile normals
    ppl_n: int = 200             # walks of the perceptual path length
    margin: float = 0.2          # exemplars need their label beyond 0.5 +- margin
    seed: int = 0                # seeds the pools (seed * 100_003 + 1000 + repeat) and the path length


def run_faces_experiment(generator, judge, settings: FacesSettings | None = None, *, prior: str | None = None,
                         log=print, **overrides) -> dict:
    """All the numbers of the module docstring; a dict with ``KEYS`` plus per-repeat details.

    ``settings``: a :class:`FacesSettings`; ``overrides`` replace its fields (``repeats=3, seed=1``)."""
    settings = dataclasses.replace(settings or FacesSettings(), **overrides)
    repeats, pool_size, n_rotation = settings.repeats, settings.pool_size, settings.n_rotation
    n_conditional, ppl_n, margin, seed = settings.n_conditional, settings.ppl_n, settings.margin, settings.seed
    lm = LatentModel(generator, prior)
    coefficients = (torch.linspace(-1, 1, 9) if settings.coefficients is None
                    else torch.as_tensor(settings.coefficients).float())
    rows = []
    t0 = time.time()
    for r in range(repeats):
        pool = sample_pool(lm, judge, pool_size, seed=seed * 100_003 + 1000 + r)
        row, ar3 = _arithmetic(lm, judge, pool, margin)
        row = {"seed": pool.seed, **row, **_directions(lm, judge, pool, ar3, r, n_conditional),
               **_rotation(lm, judge, pool, coefficients, n_rotation)}
        rows.append(row)
        log(f"repeat {r + 1}/{repeats}: arithmetic k3 {row['arithmetic_k3']:.2f} k1 {row['arithmetic_k1']:.2f} "
            f"glasses {row['glasses_k3']:.2f} boundary {row['boundary']:.2f} conditional "
            f"{row['conditional_boundary']:.2f} rotation rho "
            f"{row['rotation_spearman_median']:.2f} ({time.time() - t0:.0f}s)")
    feats = judge if getattr(judge, "features", None) is not None else None     # else pixels
    ppl = {m: perceptual_path_length(lm, feats, ppl_n, method=m, c=0 if lm.conditional else None, seed=seed)["ppl"]
           for m in ("linear", "slerp")}
    return {**_summary(rows, ppl),
            "settings": {"repeats": repeats, "pool_size": pool_size, "n_rotation": n_rotation,
                         "coefficients": [round(float(c), 4) for c in coefficients], "n_conditional": n_conditional,
                         "ppl_n": ppl_n, "margin": margin, "seed": seed, "prior": lm.prior,
                         "ppl": "latentlab.metrics.perceptual_path_length",
                         "ppl_features": "judge features" if feats is not None else "pixels"},
            "repeats": rows, "seconds": round(time.time() - t0, 1)}


def format_summary(m: dict) -> str:
    lines = [f"{k:28s} {m[k]:.4g}" for k in KEYS]
    for k in ("conditional_boundary_success", "unconditional_other_change"):
        lines.append(f"{k:28s} {m[k]:.4g}")
    return "\n".join(lines)
