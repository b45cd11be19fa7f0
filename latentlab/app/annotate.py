"""``latentlab annotate``: an offline page to draw object boxes on a model's samples (DCGAN §6.3.1 drew 52 window
boxes on 150 samples by hand); it saves the JSON that ``latentlab forget --boxes`` reads. With ``--tags
glasses,man,...`` (or ``--labels FILE`` to continue) it is a tagging page instead: tick samples with named tags,
saved as the JSON ``latentlab arithmetic / turn / report --labels`` read (``latentlab.latent.tags``). ``--sheet
FILE.png`` also writes a numbered contact sheet of the samples, for labelling by eye.

The samples are exactly forget's probe samples for the same ``--n`` (forget's ``--n-probe``) and ``--seed``:
z = sample_prior(n, nz, prior, generator=torch.Generator().manual_seed(seed)), generated in eval mode.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("model", help="shipped model name (rooms, faces, fashion) or path to a .safetensors model")
    p.add_argument("--n", type=int, default=150, help="number of samples to annotate = forget's --n-probe "
                                                      "(default 150, as the paper)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples' z = forget's --seed (default 0)")
    p.add_argument("--out", default=None,
                   help="name of the JSON file the page's Save button downloads (default boxes.json, or tags.json "
                        "with --tags / --labels)")
    p.add_argument("--html", default=None,
                   help="the page to write; missing folders are created (default: --out with .html instead of "
                        ".json, e.g. boxes.html)")
    p.add_argument("--boxes", default=None,
                   help="a boxes JSON saved earlier for the same model, --n and --seed, to continue (default: none)")
    p.add_argument("--size", type=int, default=512, help="size of the drawing area in screen pixels (default 512)")
    p.add_argument("--tags", default=None,
                   help="tag mode: comma-separated tag names to start with, e.g. glasses,man,woman,looks_left "
                        "(more can be added on the page; default: box mode)")
    p.add_argument("--labels", default=None,
                   help="tag mode: a tags JSON saved earlier for the same model, --n and --seed, to continue "
                        "(default: none)")
    p.add_argument("--sheet", default=None,
                   help="also write a numbered contact sheet of the samples to this PNG file (default: none)")
    return p


def sample_uint8(gan, n: int, seed: int, batch_size: int = 200):
    """forget's probe samples as (n, S, S, 3) uint8 (grey images repeated to RGB)."""
    import numpy as np
    import torch

    from ..hooks import eval_mode
    from ..images import grey_to_rgb, to_uint8
    from ..models import sample_prior
    G = gan.generator
    cfg = gan.config
    z = sample_prior(n, cfg.nz, cfg.prior, rng=torch.Generator().manual_seed(seed))
    with eval_mode(G), torch.no_grad():
        x = torch.cat([G(z[i:i + batch_size]).float() for i in range(0, n, batch_size)])
    return np.ascontiguousarray(to_uint8(grey_to_rgb(x), channels_last=True).numpy())


def run(args) -> int:
    from ..dissect.boxes_json import load_boxes
    from ..io import atomic_write_bytes
    from .options import int_flags_at_least, load_model
    from ..viz.annotate import annotate_page

    int_flags_at_least(("--n", args.n, 1), ("--seed", args.seed, 0), ("--size", args.size, 64))
    tag_mode = args.tags is not None or args.labels is not None
    out = Path(args.out or ("tags.json" if tag_mode else "boxes.json"))
    if tag_mode and args.boxes:
        raise ValueError("--boxes: box mode only; not with --tags / --labels")
    if out.suffix != ".json":
        raise ValueError(f"--out: expected a file name ending in .json, got {str(out)!r}")
    page = Path(args.html) if args.html else out.with_suffix(".html")
    if page.is_dir():
        raise ValueError(f"--html: {str(page)!r} is a directory, expected a file name such as "
                         f"{str(page / 'boxes.html')!r}")
    try:
        page.parent.mkdir(parents=True, exist_ok=True)   # like train, walk, report: missing folders are created
    except OSError as e:
        raise ValueError(f"--html: cannot create the folder {str(page.parent)!r} ({e.strerror or e})") from None
    gan = load_model(args.model)
    if gan.config.conditional:
        raise ValueError(f"model: {args.model!r} is an AC-GAN; annotate (like forget) takes an unconditional model")
    size = gan.config.image_size
    if args.sheet and Path(args.sheet).suffix.lower() != ".png":
        raise ValueError(f"--sheet: expected a file name ending in .png, got {args.sheet!r}")
    if tag_mode:
        _run_tags(args, gan, out, page)
        return _write_sheet(args, gan)
    prior = None
    if args.boxes:
        prior = load_boxes(args.boxes, model=str(args.model), seed=args.seed, n=args.n, image_size=size).boxes
    images = sample_uint8(gan, args.n, args.seed)
    html = annotate_page(images, model=str(args.model), seed=args.seed, filename=out.name, boxes=prior,
                         size_px=args.size,
                         note=f"Then: latentlab forget {args.model} --boxes {out.name} --n-probe {args.n} "
                              f"--seed {args.seed}")
    atomic_write_bytes(page, html.encode("utf-8"))
    print(f"wrote {page} ({args.n} samples of {args.model}, {size} px, seed {args.seed}). Open it in a browser, "
          f"draw boxes, press Save (downloads {out.name}), then:\n"
          f"  latentlab forget {args.model} --boxes {out.name} --n-probe {args.n} --seed {args.seed}")
    return _write_sheet(args, gan)


def _write_sheet(args, gan) -> int:
    if args.sheet:
        from ..viz.tag_page import numbered_sheet
        from .label_edits import save_png
        sheet = Path(args.sheet)
        sheet.parent.mkdir(parents=True, exist_ok=True)
        save_png(sheet, numbered_sheet(sample_uint8(gan, args.n, args.seed)))
        print(f"wrote {sheet} (sample i of {args.model}, seed {args.seed}, is numbered i)")
    return 0


def _run_tags(args, gan, out: Path, page: Path) -> int:
    from ..io import atomic_write_bytes
    from ..latent.tags import load_tags, model_fingerprint
    from ..viz.tag_page import tags_page

    cfg = gan.config
    fp = model_fingerprint(gan.generator)
    tags = {}
    if args.labels:
        tags = dict(load_tags(args.labels, model=str(args.model), seed=args.seed, n=args.n, nz=cfg.nz,
                              image_size=cfg.image_size, fingerprint=fp).tags)
    for t in (args.tags or "").split(","):
        t = t.strip()
        if t and t not in tags:
            tags[t] = []
    html = tags_page(sample_uint8(gan, args.n, args.seed), model=str(args.model), seed=args.seed, tags=tags,
                     nz=cfg.nz, fingerprint=fp, filename=out.name,
                     note=f"Then: latentlab arithmetic {args.model} --labels {out.name} \"a_b - b + c\"")
    atomic_write_bytes(page, html.encode("utf-8"))
    print(f"wrote {page} ({args.n} samples of {args.model}, seed {args.seed}, tags {sorted(tags)}). Open it in a "
          f"browser, tick samples, press Save (downloads {out.name}), then:\n"
          f"  latentlab arithmetic {args.model} --labels {out.name} \"glasses_man - man + woman\"\n"
          f"  latentlab turn {args.model} --labels {out.name} --left looks_left --right looks_right")
    return 0
