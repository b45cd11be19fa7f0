"""``latentlab arithmetic MODEL --labels tags.json "glasses_man - man + woman" --out DIR``: DCGAN §6.3.2's vector
arithmetic with concepts taken from the user's tags (``latentlab.latent.tags``), no judge.

Writes ``DIR/grid.png`` (the paper's 3x3 grid: G(Y) in the centre, the 8 others G(Y + noise), noise uniform in
[-0.25, 0.25] for a uniform prior, N(0, 0.25^2) for a normal one), ``DIR/terms.png`` (per term: G(mean z), then its
exemplars; the grid below) and ``DIR/arithmetic.json`` (concepts, sample indices, and, with ``--expect``, the share
of the grid a pixel probe fitted on the tags reads as the expected concept; otherwise the grid is unmeasured).
"""
from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("model", help="shipped model name or a .safetensors file (e.g. one written by latentlab convert)")
    p.add_argument("expression", help="concepts combined with + and -, e.g. \"glasses_man - man + woman\"; a concept "
                                      "is a tag, tags joined by _ (all of them) or no_TAG (without it)")
    p.add_argument("--labels", required=True,
                   help="the tags JSON (latentlab annotate --tags; format in latentlab/latent/tags.py)")
    p.add_argument("--out", default="arithmetic", help="output folder (created; default arithmetic)")
    p.add_argument("--seed", type=int, default=0, help="seed of the grid's noise (default 0)")
    p.add_argument("--expect", default=None,
                   help="the concept the result should show (e.g. glasses_woman): measured by probes fitted on the "
                        "tags, on pixels or the generator's features (default: none, the grid is not measured)")
    return p


def run(args) -> int:
    from ..viz.images import to_uint8_grid
    from .label_edits import arithmetic_from_tags, load_model_and_tags, measure_expect, save_png, terms_png
    from .options import int_flags_at_least, out_folder

    int_flags_at_least(("--seed", args.seed, 0))
    out = out_folder(args.out)
    gan, tags = load_model_and_tags(args.model, args.labels)
    ar, res = arithmetic_from_tags(gan, tags, args.expression, seed=args.seed)
    if args.expect:
        tags.parts(args.expect)   # a bad --expect fails before anything is written
    measured = measure_expect(gan, tags, res.images, args.expect, res.z)
    out.mkdir(parents=True, exist_ok=True)
    save_png(out / "grid.png", to_uint8_grid(res.images, nrow=3, scale=2))
    save_png(out / "terms.png", terms_png(ar.term_images(res), res.images))
    info = {"expression": args.expression, "model": str(args.model), "labels": str(args.labels),
            "coefficients": res.coefficients, "noise": {"kind": ar.noise_kind, "scale": ar.scale, "seed": args.seed},
            "concepts": {c.name: {"samples": c.indices.tolist(), "k": c.k} for c in res.terms},
            "measurement": measured}
    (out / "arithmetic.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'grid.png'} (3x3: centre G(Y), Y = {args.expression}), {out / 'terms.png'} and "
          f"{out / 'arithmetic.json'}")
    for name, c in info["concepts"].items():
        print(f"  {name}: mean of {c['k']} tagged samples {c['samples']}")
    _print_measure(measured)
    return 0


def _print_measure(m: dict) -> None:
    if "unmeasured" in m:
        print(f"  unmeasured: {m['unmeasured']}")
        return
    for p in m["parts"]:
        if "unmeasured" in p:
            print(f"  {p['tag']} {p['wanted']}: unmeasured ({p['unmeasured']})")
            continue
        if "pixel_probe_passed_over" in p:
            print(f"  {p['tag']} {p['wanted']}: {p['pixel_probe_passed_over']}; read from the generator's features")
        print(f"  {p['tag']} {p['wanted']}: {p['share']:.0%} of the 9 grid images "
              f"(vs {p['share_of_all_samples']:.0%} of the labelled samples); measured with {p['measured_with']}")
