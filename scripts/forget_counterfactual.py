"""Can a set of maps forget the user's object when they are set to what they carry WITHOUT the object?

    python scripts/forget_counterfactual.py MODEL --boxes BOXES.json [--layer block2] [--strength 1.5]
        [--dilate 1] [--ks 64,128,192] [--out DIR]

An experiment on issue 35's open target (the DigiFace DCGAN's glasses stay visible under every drop of
``latentlab forget --boxes``), not a library feature. The "off" value here is a counterfactual: for each sample,
the maps' values on the same sample moved against the label's attribute vector in z (mean z of the train samples
with boxes minus mean z of those without: the DCGAN paper's arithmetic, driven by the user's boxes),
``G(z - strength * v)``. The top-k maps (ranked by their mean |change| under that move in the box cells of the
train samples) are set to those values in the box cells (``--dilate`` cells more around them), on the held-out
samples with boxes; as many random maps, set the same way (2 draws), are the control.

Read by the two box-only detectors of ``latentlab forget --boxes`` (luminance, and colour): removal as the share
of box cells still called the object (hard) and as the mean probability there (soft), 1 - after / before; and
locality (mean |change| inside the boxes / outside). Writes DIR/counterfactual.json and DIR/counterfactual.png
(rows: before, G(z - strength v), then per k the ranked and the random drop).

A blind reading by eye: ``--blind`` also writes DIR/blind_K_*.png, every held-out sample's ranked and random
drop at each k in one shuffled, numbered sheet (seed 12345), and the key DIR/blind_K_key.json. Score each tile
without the key (0 = no object left, 1 = faint traces, 2 = clearly there) into a JSON list in tile order, then
``--unblind DIR/blind_K_key.json SCORES.json`` prints the counts per condition.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import latentlab  # noqa: E402
from latentlab.app.forget_from_boxes import label_from_path  # noqa: E402
from latentlab.dissect.boxes_json import load_boxes  # noqa: E402
from latentlab.dissect.edits import Drop, generate_dropped  # noqa: E402
from latentlab.dissect.forget_object import Forget, locality  # noqa: E402


def counterfactual(f: Forget, fit, idx, v: torch.Tensor, strength: float):
    """(images, layer features) of samples ``idx`` with z moved by ``-strength * v``, CPU float32."""
    z = fit.z[torch.as_tensor(idx)]
    images, feats = f.lm.trace((z.reshape(len(z), -1) - strength * v).reshape(z.shape), [f.layer], f.c)
    return images, feats[f.layer]


def dilate(cells: torch.Tensor, d: int) -> torch.Tensor:
    return cells if d == 0 else torch.nn.functional.max_pool2d(cells[:, None].float(), 2 * d + 1, 1, d)[:, 0] > 0


def readings(insts: dict, images: torch.Tensor, boxes) -> dict:
    """{detector: (hard, soft)}: share of box cells called the object, mean probability in the box cells."""
    out = {}
    for name, inst in insts.items():
        target = inst._targets(boxes, images.shape[-1])[:, 0].bool()
        with torch.no_grad():
            p = torch.sigmoid(inst.logits(images))
        out[name] = (float(np.nanmean(inst.read_in(images, boxes))), float((p * target).sum() / target.sum()))
    return out


def removal(after: tuple, before: tuple) -> dict:
    """1 - after / before for the hard and the soft reading (NaN when the detector saw nothing before)."""
    return {name: (1 - a / b if b > 0 else float("nan")) for name, a, b in zip(("hard", "soft"), after, before)}


def run(args) -> dict:
    torch.manual_seed(0)
    boxes = load_boxes(args.boxes)
    f = Forget(latentlab.load(args.model), args.layer, label=label_from_path(args.boxes), seed=boxes.seed)
    fit = f.probe(boxes.boxes)
    steps = getattr(args, "detector_steps", 400)
    insts = {"luminance": f.box_instrument(fit, steps=steps),
             "colour": f.box_instrument(fit, seed=f.seed + 1, colour=True, steps=steps)}
    tr = np.asarray(fit.train)
    has = np.array([bool(fit.boxes[i]) for i in tr])
    z = fit.z.reshape(len(fit.z), -1)
    v = z[torch.as_tensor(tr[has])].mean(0) - z[torch.as_tensor(tr[~has])].mean(0)
    _, f_train = counterfactual(f, fit, tr[has], v, args.strength)
    c = dilate(fit.cells(tr[has]), args.dilate)[:, None].float()
    change = ((fit.features[torch.as_tensor(tr[has])] - f_train).abs() * c).sum((0, 2, 3)) / c.sum()
    order = np.argsort(-change.numpy())
    idx = fit.boxed("held_out")
    boxes_h = [fit.boxes[i] for i in idx]
    before = fit.images[torch.as_tensor(idx)]
    moved, f_held = counterfactual(f, fit, idx, v, args.strength)
    cells = dilate(fit.cells(idx), args.dilate)
    base = readings(insts, before, boxes_h)

    def measure(maps, rows):
        d = Drop(f.layer, np.asarray(maps), "boxes", "mean", f_held[:, torch.as_tensor(np.asarray(maps))], "x")
        after = generate_dropped(f.lm, fit.z[torch.as_tensor(idx)], d, cells, c=f.c)
        rows.append(after)
        r = readings(insts, after, boxes_h)
        return {n: removal(r[n], base[n]) for n in r} | {"locality": locality(before, after, boxes_h)[0]}

    rows, sweep, blind = [before, moved], [], {}
    n_maps = fit.features.shape[1]
    for k in args.ks:
        rnd = [measure(np.random.default_rng(f.seed + 2 + r).choice(n_maps, k, replace=False), rows if r == 0
                       else []) for r in range(2)]
        sweep.append({"k": k, "ranked": measure(order[:k], rows), "random": rnd})
        rows[-2], rows[-1] = rows[-1], rows[-2]          # ranked row before its random row
        blind[k] = {"ranked": rows[-2], "random": rows[-1]}
        print(json.dumps(sweep[-1]), flush=True)
    out = {"model": str(args.model), "boxes": str(args.boxes), "layer": f.layer, "strength": args.strength,
           "dilate": args.dilate, "n_held_out_boxed": int(len(idx)), "detectors_before": base,
           "whole_image_move": {n: removal(r, base[n]) for n, r in readings(insts, moved, boxes_h).items()},
           "sweep": sweep}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "counterfactual.json").write_text(json.dumps(out, indent=1) + "\n")
    show = slice(0, args.n_show)
    grid = torch.nn.functional.interpolate(torch.cat([r[show] for r in rows]), scale_factor=2, mode="bilinear")
    import torchvision
    torchvision.utils.save_image(grid * 0.5 + 0.5, args.out / "counterfactual.png", nrow=len(before[show]))
    if args.blind:
        for k, conds in blind.items():
            write_blind(args.out, f"blind_{k}", conds)
    return out


def write_blind(out: Path, stem: str, conds: dict, per_sheet: int = 24) -> None:
    """Shuffled numbered sheets of every image of ``conds`` ({name: (N, C, S, S)}) and their key."""
    import torchvision
    from PIL import Image, ImageDraw
    tiles = [(name, i, x[i]) for name, x in conds.items() for i in range(len(x))]
    perm = np.random.default_rng(12345).permutation(len(tiles))
    (out / f"{stem}_key.json").write_text(json.dumps([list(tiles[i][:2]) for i in perm]) + "\n")
    for s in range(0, len(perm), per_sheet):
        sheet = Image.new("RGB", (8 * 140, -(-min(per_sheet, len(perm) - s) // 8) * 150), "white")
        draw = ImageDraw.Draw(sheet)
        for j, i in enumerate(perm[s:s + per_sheet]):
            x = torch.nn.functional.interpolate(tiles[i][2][None] * 0.5 + 0.5, size=128, mode="bilinear")[0]
            sheet.paste(torchvision.transforms.functional.to_pil_image(x.clamp(0, 1)), ((j % 8) * 140, (j // 8) * 150 + 18))
            draw.text(((j % 8) * 140 + 2, (j // 8) * 150 + 2), str(s + j), fill="black")
        sheet.save(out / f"{stem}_{s // per_sheet}.png")


def unblind(key_path: Path, scores_path: Path) -> dict:
    """{condition: {score: count}} from a blind key and the scores given in tile order."""
    key, scores = json.loads(key_path.read_text()), json.loads(scores_path.read_text())
    if len(scores) != len(key):
        raise ValueError(f"scores: expected one score per tile ({len(key)}), got {len(scores)}")
    out = {}
    for (name, _), v in zip(key, scores):
        out.setdefault(name, {0: 0, 1: 0, 2: 0})[int(v)] += 1
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="a latentlab model file, e.g. the converted DigiFace DCGAN")
    p.add_argument("--boxes", type=Path)
    p.add_argument("--layer", default="block2")
    p.add_argument("--strength", type=float, default=1.5, help="z moves by -strength * the attribute vector")
    p.add_argument("--dilate", type=int, default=1, help="cells added around the box cells on the layer's grid")
    p.add_argument("--ks", type=lambda s: [int(k) for k in s.split(",")], default=[64, 128, 192])
    p.add_argument("--n-show", type=int, default=12)
    p.add_argument("--out", type=Path, default=Path("counterfactual-out"))
    p.add_argument("--blind", action="store_true", help="also write shuffled sheets for a blind reading by eye")
    p.add_argument("--unblind", nargs=2, type=Path, metavar=("KEY", "SCORES"),
                   help="print the blind counts per condition and exit")
    args = p.parse_args(argv)
    if args.unblind:
        print(json.dumps(unblind(*args.unblind)))
        return 0
    if not args.model or not args.boxes:
        p.error("MODEL and --boxes are required (except with --unblind)")
    torch.set_num_threads(1)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
