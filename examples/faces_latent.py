"""The DCGAN face experiments (§6.3.2) measured on the shipped `faces` model, and walks (§6.1).

    python examples/faces_latent.py [--model faces] [--json out.json] [--repeats 20] [--out DIR] [--smoke]

Prints and writes (``--json``) arithmetic_success_k3, arithmetic_success_k1, glasses_success_k3,
rotation_spearman_median, rotation_sign_change_share, ppl_lerp, ppl_slerp, boundary_success,
conditional_other_change (definitions: ``latentlab.app.faces_experiment``). Exemplars are drawn
``--repeats`` times from fresh seeded pools. ``--out DIR`` also writes the figures (HTML): a walk,
its smoothness, the arithmetic and the turn vector. ``--smoke`` runs everything on a tiny random model
with a stand-in judge (image statistics) in seconds; its numbers mean nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from latentlab import GAN, ModelConfig, load_pretrained  # noqa: E402
from latentlab.latent import Arithmetic, ImageStatsJudge, LatentModel, RotationAxis, Walk  # noqa: E402
from latentlab.app.faces_experiment import FacesSettings, format_summary, run_faces_experiment  # noqa: E402
from latentlab.viz.latent_figures import (ROTATION_TITLE, arithmetic_figure, axis_figure,  # noqa: E402
                                          smoothness_figure, walk_figure)


def write_figures(gan, judge, out: Path, seed: int = 0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    walk = Walk(gan, features=judge)
    walk.random(keyframes=3, steps=10, seed=seed)
    s = walk.smoothness()
    walk_figure(walk.images, walk.frame_labels, title=walk.title).write_html(out / "walk.html", include_plotlyjs=True)
    smoothness_figure(s.distances, factor=s.factor, feature_name=s.features, title=f"Smoothness: {walk.title}"
                      ).write_html(out / "walk_smoothness.html", include_plotlyjs=True)
    ar = Arithmetic(gan, judge=judge, seed=seed, pool_size=1000)
    ar.concept("smiling_woman", smile=1, presentation="feminine", glasses=0)
    ar.concept("neutral_woman", smile=0, presentation="feminine", glasses=0)
    ar.concept("neutral_man", smile=0, presentation="masculine", glasses=0)
    res = ar.evaluate("smiling_woman - neutral_woman + neutral_man")
    arithmetic_figure(ar.term_images(res), res.images, title=res.expression).write_html(out / "arithmetic.html",
                                                                                        include_plotlyjs=True)
    rot = RotationAxis(gan, judge=judge, seed=seed, pool=ar.pool).fit()
    images = rot.apply(LatentModel(gan).sample_z(6, seed=seed + 1), torch.linspace(-1, 1, 9))
    axis_figure(images, rot.coefficients, title=ROTATION_TITLE).write_html(out / "rotation.html", include_plotlyjs=True)
    print(f"{walk.smoothness()}\nwrote {out}/walk.html, walk_smoothness.html, arithmetic.html, rotation.html")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="faces", help="pretrained name or .safetensors path (default: faces)")
    ap.add_argument("--json", default=None, help="write the numbers to this JSON file")
    ap.add_argument("--repeats", type=int, default=20, help="fresh exemplar pools (default 20)")
    ap.add_argument("--pool-size", type=int, default=1000)
    ap.add_argument("--margin", type=float, default=0.2, help="exemplars need p >= 0.5 + margin (or <= 0.5 - margin)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the figures (HTML) to this folder")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default 2; 1 with --smoke)")
    ap.add_argument("--smoke", action="store_true", help="tiny random model + stand-in judge, seconds")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads or (1 if a.smoke else 2))
    if a.smoke:
        torch.manual_seed(0)
        gan = GAN(ModelConfig(nz=8, ngf=8, ndf=8, image_size=32, dataset="faces"), with_discriminator=False).eval()
        lm = LatentModel(gan)
        judge = ImageStatsJudge(lm.generate(lm.sample_z(256, seed=12345)))
        kw = dict(repeats=min(a.repeats, 2), pool_size=200, n_rotation=6, n_conditional=16, ppl_n=16, margin=0.0)
        model_name, step = "smoke (tiny random DCGAN, stand-in judge)", 0
    else:
        from latentlab.judges import load_judge
        gan = load_pretrained(a.model)
        judge = load_judge("faces")
        kw = dict(repeats=a.repeats, pool_size=a.pool_size, margin=a.margin)
        model_name, step = a.model, int(gan.step)
    m = run_faces_experiment(gan, judge, FacesSettings(seed=a.seed, **kw))
    m = {"model": model_name, "step": step, **m}
    print(f"model {model_name} (step {step}), {m['settings']['repeats']} repeats, {m['seconds']}s")
    print(format_summary(m))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(m, indent=2))
        print(f"wrote {a.json}")
    if a.out:
        write_figures(gan, judge, Path(a.out), a.seed)
    return m


if __name__ == "__main__":
    main()
