"""Save an 8x8 grid of dataset samples (and, for rooms, the colourised label maps) as PNG.

    python scripts/make_dataset_grids.py --dataset rooms --out docs/rooms_grid.png \
        --labels-out docs/rooms_labels.png
    python scripts/make_dataset_grids.py --dataset faces --out docs/faces_grid.png
    python scripts/make_dataset_grids.py --dataset fashion-mnist --out docs/fashion_grid.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.utils import make_grid, save_image

try:  # run from a checkout without installing: make the repository root importable
    import latentlab  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# a readable colour per class for label-map grids (wall, floor, ceiling, window, bed, door, picture,
# lamp, rug, nightstand, curtain, then spares)
LABEL_PALETTE = np.array([
    (120, 120, 120), (140, 90, 40), (230, 230, 230), (40, 200, 255), (220, 40, 40), (120, 60, 160),
    (255, 200, 0), (255, 255, 120), (40, 160, 60), (160, 110, 80), (255, 120, 200),
    (0, 0, 0), (0, 90, 120), (90, 0, 60), (60, 60, 0), (255, 255, 255),
], np.uint8)


def _missing(what: str, e: Exception) -> SystemExit:
    return SystemExit(f"make_dataset_grids: {what} is not available ({type(e).__name__}: {e})")


def _load_images(dataset: str, n: int, size: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(n, C, H, W) float in [-1, 1], and for rooms the label maps (n, H, W) uint8."""
    if dataset == "rooms":
        from latentlab.data.rooms import RoomsDataset
        ds = RoomsDataset(n=n, size=size or 64, seed=seed)
        samples = [ds.sample(i) for i in range(n)]
        from latentlab.images import from_uint8
        x = from_uint8(np.stack([s.image for s in samples]), channels_last=True)
        return x, torch.from_numpy(np.stack([s.labels for s in samples]))
    if dataset == "faces":
        try:
            from latentlab.data.faces import FacesDataset
        except ImportError as e:
            raise _missing("latentlab.data.faces.FacesDataset", e) from e
        ds = FacesDataset(n=n, size=size or 64, seed=seed)
    elif dataset == "fashion-mnist":
        try:
            from latentlab.data.fashion import FashionMNIST
        except ImportError as e:
            raise _missing("latentlab.data.fashion.FashionMNIST", e) from e
        try:
            ds = FashionMNIST(split="test", **({} if size is None else {"size": size}))
        except FileNotFoundError as e:
            raise _missing("the Fashion-MNIST data", e) from e
    else:
        raise SystemExit(f"make_dataset_grids: --dataset must be rooms, faces or fashion-mnist, got {dataset!r}")
    return torch.stack([ds[i][0] for i in range(min(n, len(ds)))]), None


def colorize(labels: torch.Tensor | np.ndarray) -> torch.Tensor:
    """(N, H, W) class indices -> (N, 3, H, W) float in [0, 1] with LABEL_PALETTE."""
    rgb = LABEL_PALETTE[np.asarray(labels) % len(LABEL_PALETTE)]
    return torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255


def _save(x01: torch.Tensor, out: Path, nrow: int, scale: int) -> None:
    if scale > 1:  # nearest upscaling: keeps the pixels visible
        x01 = x01.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(x01, nrow=nrow, padding=2 * scale, pad_value=1.0), out)
    print(f"wrote {out}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True, choices=("rooms", "faces", "fashion-mnist"))
    p.add_argument("--out", required=True, type=Path, help="PNG for the image grid")
    p.add_argument("--labels-out", type=Path, default=None, help="rooms only: PNG for the colourised label maps")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64 = 8x8)")
    p.add_argument("--nrow", type=int, default=8)
    p.add_argument("--size", type=int, default=None, help="image size (default: the dataset's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscaling factor")
    args = p.parse_args(argv)
    if args.labels_out is not None and args.dataset != "rooms":
        p.error("--labels-out is only available for --dataset rooms")
    x, labels = _load_images(args.dataset, args.n, args.size, args.seed)
    x01 = (x.clamp(-1, 1) + 1) / 2
    if x01.shape[1] == 1:
        x01 = x01.expand(-1, 3, -1, -1)
    _save(x01, args.out, args.nrow, args.scale)
    if args.labels_out is not None:
        _save(colorize(labels), args.labels_out, args.nrow, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
