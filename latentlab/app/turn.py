"""``latentlab turn MODEL --labels tags.json --left looks_left --right looks_right --out DIR``: DCGAN §6.3.2's turn
vector from the user's tags, no judge: axis = mean z(right-tagged) - mean z(left-tagged), added with coefficients
-1 .. 1 to fresh random z's.

Writes ``DIR/turn.png`` (one row per z, one column per coefficient, left to right) and ``DIR/turn.json``: the
samples used and, measured with a pixel probe fitted on the right- vs left-tagged samples, P(right) per column
and the rank correlation of coefficient with P(right) (or why it is unmeasured).
"""
from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("model", help="shipped model name or a .safetensors file (e.g. one written by latentlab convert)")
    p.add_argument("--labels", required=True, help="the tags JSON (latentlab annotate --tags)")
    p.add_argument("--left", required=True, help="tag of the samples at the negative end (e.g. looks_left)")
    p.add_argument("--right", required=True, help="tag of the samples at the positive end (e.g. looks_right)")
    p.add_argument("--out", default="turn", help="output folder (created; default turn)")
    p.add_argument("--rows", type=int, default=6, help="number of random z's, one row each (default 6)")
    p.add_argument("--seed", type=int, default=1, help="seed of the rows' z (default 1)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="largest coefficient: columns go from -scale to +scale in 7 steps (default 1)")
    return p


def run(args) -> int:
    import torch

    from ..viz.images import to_uint8_grid
    from .label_edits import TURN_COEFFICIENTS, load_model_and_tags, measure_turn, save_png, turn_from_tags

    from .options import int_flags_at_least, out_folder

    int_flags_at_least(("--rows", args.rows, 1), ("--seed", args.seed, 0))
    if not args.scale > 0:
        raise ValueError(f"--scale: expected a positive number, got {args.scale}")
    out = out_folder(args.out)
    gan, tags = load_model_and_tags(args.model, args.labels)
    coef = [round(c * args.scale, 3) for c in TURN_COEFFICIENTS]
    rot, images, latents = turn_from_tags(gan, tags, args.left, args.right, rows=args.rows, seed=args.seed,
                                          coefficients=coef)
    measured = measure_turn(gan, tags, args.left, args.right, images, coef, latents)
    out.mkdir(parents=True, exist_ok=True)
    save_png(out / "turn.png", to_uint8_grid(images.flatten(0, 1), nrow=len(coef), scale=2))
    info = {"model": str(args.model), "labels": str(args.labels), "left": args.left, "right": args.right,
            "left_samples": tags.indices(args.left).tolist(), "right_samples": tags.indices(args.right).tolist(),
            "axis_norm": round(float(torch.linalg.vector_norm(rot.axis)), 4), "coefficients": coef,
            "rows_seed": args.seed, "measurement": measured}
    (out / "turn.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'turn.png'} ({args.rows} rows x {len(coef)} columns, coefficients {coef[0]:+g} .. "
          f"{coef[-1]:+g} along mean z({args.right}, {len(info['right_samples'])} samples) - mean z({args.left}, "
          f"{len(info['left_samples'])} samples)) and {out / 'turn.json'}")
    if "unmeasured" in measured:
        print(f"  unmeasured: {measured['unmeasured']}")
    else:
        print(f"  P({args.right}) per column: {measured['p_right_per_column']}; rank correlation with the "
              f"coefficient {measured['spearman_coefficient_vs_p_right']:+.2f}; "
              f"measured with {measured['measured_with']}")
    return 0
