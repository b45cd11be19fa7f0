"""``latentlab report MODEL --live``: the live page of a model, with what the model brings.

For room models (RGB, data domain "rooms") the drop-maps slider runs over forget's ranking: the window probe of
DCGAN §6.3.1 fitted on samples boxed by the shipped room segmenter (:func:`probe_ranking`). Every model gets
SeFa's directions; face models (data domain "faces") also the face judge's attribute boundaries
(:func:`judge_directions`). Other rankings and directions can be passed to :func:`~latentlab.live.write_live_page`.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["probe_ranking", "judge_directions", "build_live"]


def probe_ranking(generator, segmenter, *, layer: str | None = None, obj: str = "window", n_probe: int = 150,
                  seed: int = 0) -> dict:
    """Forget's probe on ``layer`` (default: the model's forget layer) -> ``{layer: {"order", "note"}}``, maps by
    probe weight, highest first (:mod:`latentlab.dissect.forget`: ``sample_and_box``, ``fit_probes``)."""
    from ..dissect.forget import fit_probes, sample_and_box, select_maps
    from ..models.adapter import as_latent_model
    lm = as_latent_model(generator)
    layer = layer or lm.default_layer()
    samples = sample_and_box(lm, [layer], n_probe, seed, segmenter, obj)
    probe = fit_probes(samples, [layer], seed=seed)[layer]
    n_pos = len(select_maps(probe))
    note = (f"ranked by the {obj} probe's weight (DCGAN §6.3.1: {n_probe} samples, {obj}s boxed by the room "
            f"segmenter; AUC {probe.auc:.2f}); the first {n_pos} have a positive weight, the paper's drop")
    return {layer: {"order": [int(i) for i in probe.ranking], "note": note, "positive": n_pos}}


def judge_directions(generator, judge, *, n: int = 500, seed: int = 0) -> list:
    """InterFaceGAN boundaries in z for each label of ``judge`` on ``n`` samples (:mod:`latentlab.latent.labels`,
    :func:`latentlab.latent.directions.boundary`): probabilities split at 0.5, signed labels (yaw) at 0; a label
    with fewer than 2 samples on a side is left out."""
    from ..latent.directions import boundary
    from ..latent.labels import label_images
    from ..models.adapter import as_latent_model
    lm = as_latent_model(generator)
    z = lm.sample_z(n, seed=seed)
    labels = label_images(judge, lm.generate(z))
    out = []
    for name, v in labels.items():
        y = v > (0.0 if float(v.min()) < 0 else 0.5)
        if min(int(y.sum()), int((~y).sum())) < 2:
            continue
        d = boundary(z, y, name=name, seed=seed)
        d.name = f"{name} (judge boundary, held-out accuracy {d.accuracy:.2f})" if d.accuracy is not None else name
        out.append(d)
    return out


def build_live(model, out, *, seed: int = 0, quick: bool = False, segmenter=None):
    """Write ``OUT/live.html`` for ``model`` (a GAN, a shipped name or a .safetensors path) -> LivePage."""
    from ..pretrained import resolve_model
    from ..models.adapter import LatentModel
    from .export import require_live
    from .page import write_live_page
    require_live()
    gan = resolve_model(model)
    cfg = gan.config
    rankings, about = None, ""
    if (cfg.dataset or "").lower() == "rooms" and cfg.channels == 3:
        if segmenter is None:
            from ..judges import load_judge
            segmenter = load_judge("rooms")
        rankings = probe_ranking(gan, segmenter, n_probe=24 if quick else 150, seed=seed)
        layer = next(iter(rankings))
        about = (f"Drop the window maps of {layer} with the k slider, or paint over a window on the right-hand "
                 "image to erase it only there.")
    directions = None
    if (cfg.dataset or "").lower() == "faces" and cfg.channels == 3 and not cfg.conditional:
        from ..latent.labels import load_default_judge
        directions = judge_directions(gan, load_default_judge("faces"), n=64 if quick else 500, seed=seed)
        about = "Directions: SeFa's, then the face judge's attribute boundaries (InterFaceGAN)."
    name = Path(str(model)).stem if not hasattr(model, "config") else (cfg.dataset or "model")
    return write_live_page(LatentModel(gan), Path(out) / "live.html", seed=seed, rankings=rankings,
                           directions=directions,
                           title=f"latentlab live: {name}", about=about)
