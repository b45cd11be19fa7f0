"""Command-line options shared by the commands (kept import-light: torch only inside functions)."""
from __future__ import annotations

import argparse

__all__ = ["add_device_argument", "resolve_device"]


def add_device_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--device", default="cpu",
                        help="where the networks run: cpu, cuda, cuda:1, ... or auto (cuda when available, "
                             "else cpu) (default: cpu)")
    return parser


def resolve_device(text: str):
    """``--device`` -> a ``torch.device`` that exists here; "auto" picks CUDA when available.

    ValueError naming the option for an unknown or absent device.
    """
    import torch

    from ..models.base import check_device
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return check_device(text, name="--device")
