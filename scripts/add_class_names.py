"""Write the ten Fashion-MNIST class names into a model file's JSON config; the weights stay bit-identical.

    python scripts/add_class_names.py                        # pretrained/fashion.safetensors, in place
    python scripts/add_class_names.py MODEL.safetensors --out NEW.safetensors
    python scripts/add_class_names.py --check                # exit 1 unless the names are already there

The shipped AC-GAN was trained by ``pretrained/train.py fashion``, whose config left ``class_names`` empty, so
``latentlab sample --model fashion --class Sneaker`` could not resolve the name and the report labelled the
classes 0..9. This script reads the file with ``safetensors.safe_open`` (no pickle), sets ``config.class_names``
to ``latentlab.data.fashion.FASHION_CLASSES`` (the order of the official label indices), and writes the file
again atomically with every other metadata field unchanged. Before replacing anything it checks that every
tensor (name, dtype, shape and bytes) has the same SHA-256 digest in the new file as in the old one, and prints
the digest.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:  # run from a checkout without installing: make the repository root importable
    import latentlab  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))


def tensors_digest(path: Path) -> str:
    """SHA-256 over every tensor of a safetensors file: name, dtype, shape and raw bytes, in name order."""
    import torch
    from safetensors import safe_open

    h = hashlib.sha256()
    with safe_open(str(path), "pt") as f:
        for name in sorted(f.keys()):
            t = f.get_tensor(name).contiguous()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def read(path: Path) -> tuple[dict, dict]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def add_class_names(src: Path, dst: Path, names: tuple[str, ...]) -> tuple[str, bool]:
    """Write ``src`` to ``dst`` with ``config.class_names = names``; returns (tensor digest, changed)."""
    from latentlab.config import ModelConfig
    from latentlab.io import save_safetensors

    tensors, meta = read(src)
    if meta.get("format") != "latentlab" or "config" not in meta:
        raise SystemExit(f"add_class_names: {src} is not a latentlab model file (no latentlab config metadata)")
    config = json.loads(meta["config"])
    if config.get("num_classes") != len(names):
        raise SystemExit(f"add_class_names: {src} has {config.get('num_classes')} classes, expected {len(names)}")
    before = tensors_digest(src)
    changed = list(config.get("class_names") or []) != list(names)
    if not changed and src == dst:
        return before, False
    config["class_names"] = list(names)
    ModelConfig.from_dict(config)  # the new config must still load
    meta["config"] = json.dumps(config)
    tmp = dst.with_name(dst.name + ".class-names.tmp")
    save_safetensors(tmp, tensors, meta)
    after = tensors_digest(tmp)
    if after != before:
        tmp.unlink()
        raise SystemExit(f"add_class_names: tensor digest changed ({before} -> {after}); {dst} left untouched")
    tmp.replace(dst)
    return after, changed


def main(argv: list[str] | None = None) -> int:
    from latentlab.data.fashion import FASHION_CLASSES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", default=str(ROOT / "pretrained" / "fashion.safetensors"),
                   help="model file to rewrite (default pretrained/fashion.safetensors)")
    p.add_argument("--out", default=None, help="write here instead of rewriting MODEL in place")
    p.add_argument("--check", action="store_true", help="only check: exit 1 unless MODEL already has the names")
    args = p.parse_args(argv)
    src = Path(args.model)
    if args.check:
        config = json.loads(read(src)[1]["config"])
        ok = list(config.get("class_names") or []) == list(FASHION_CLASSES)
        print(f"{src}: class_names {'present' if ok else 'missing or different'}: {config.get('class_names')}")
        return 0 if ok else 1
    dst = Path(args.out) if args.out else src
    digest, changed = add_class_names(src, dst, FASHION_CLASSES)
    print(f"{dst}: class_names {'written' if changed else 'already present'} ({', '.join(FASHION_CLASSES)}); "
          f"tensor digest sha256 {digest} (unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
