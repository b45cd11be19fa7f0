"""Where training runs: device choice, the device of each torchrun rank, the process-group backend, autocast.

Pure functions of their arguments (the machine's facts are passed in or read by a named helper), so the plumbing
is tested on a CPU-only machine: the rank -> device mapping, the backend choice, the autocast dtype, a device that
does not exist.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..models.base import check_device, parse_device

__all__ = ["native_bf16", "autocast_dtype", "resolve_device", "dist_backend", "local_rank"]


def native_bf16() -> bool:
    """True where the CPU computes bfloat16 natively (AVX512-BF16 or AMX); False where torch would emulate it.

    Asks torch's own CPU feature probe (cpuinfo, any OS) first, then Linux's /proc/cpuinfo flags (whole words).
    """
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except Exception:  # noqa: BLE001 - a private probe that changed: fall back to the flags
                pass
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(device, fast="auto", *, cpu_bf16: bool | None = None,
                   cuda_bf16: bool | None = None) -> torch.dtype | None:
    """The autocast dtype for training on ``device``: ``torch.bfloat16`` or ``None`` (= fp32, no autocast).

    ``fast`` is TrainConfig.fast: True forces bf16, False turns it off, "auto" picks bf16 where the hardware computes
    it natively: CUDA devices that support it, CPUs with AVX512-BF16/AMX (elsewhere bf16 is emulated and ~20x
    slower). Other device types (mps, meta, ...) stay fp32 under "auto". ``cpu_bf16`` / ``cuda_bf16`` override the
    hardware probes (tests).
    """
    dev = torch.device(device)
    if fast is True:
        return torch.bfloat16
    if fast is False:
        return None
    if fast != "auto":
        raise ValueError(f"fast: expected True, False or 'auto', got {fast!r}")
    if dev.type == "cpu":
        native = native_bf16() if cpu_bf16 is None else cpu_bf16
    elif dev.type == "cuda":
        native = (torch.cuda.is_available() and torch.cuda.is_bf16_supported()) if cuda_bf16 is None else cuda_bf16
    else:
        native = False
    return torch.bfloat16 if native else None


def local_rank(environ=None) -> int | None:
    """torchrun's LOCAL_RANK as an int, None outside torchrun; ValueError for a value that is not an int >= 0."""
    env = os.environ if environ is None else environ
    text = env.get("LOCAL_RANK")
    if text is None:
        return None
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise ValueError(f"LOCAL_RANK: expected an int >= 0 (set by torchrun), got {text!r}")
    return v


def resolve_device(device="auto", *, local_rank: int | None = None, world_size: int = 1,
                   cuda_count: int | None = None) -> torch.device:
    """The device this process trains on.

    Args:
        device: "auto" (CUDA when present, else the CPU), "cpu", "cuda", "cuda:N", a ``torch.device``, or None (=
            "auto").
        local_rank: torchrun's LOCAL_RANK (None outside torchrun). Under torchrun "auto" and "cuda" give each
            process its own GPU, ``cuda:LOCAL_RANK``; a fixed "cuda:N" would put every rank on one GPU and is refused.
        world_size: number of processes.
        cuda_count: CUDA devices on this machine (default: ``torch.cuda.device_count()``; tests pass a number).

    Raises ValueError naming ``device`` for an unknown device string, CUDA asked for where there is none, an index
    past the last GPU, a "meta" device (it holds no data, so nothing can be trained on it), or a pinned GPU index
    under torchrun.
    """
    n_cuda = torch.cuda.device_count() if cuda_count is None else int(cuda_count)
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        if n_cuda == 0:
            return torch.device("cpu")
        device = "cuda"
    if isinstance(device, str) or isinstance(device, torch.device):
        dev = parse_device(device, "device", "'auto', 'cpu', 'cuda' or 'cuda:N'")
    else:
        raise TypeError(f"device: expected a str or torch.device ('auto', 'cpu', 'cuda', 'cuda:1'), got "
                        f"{type(device).__name__}")
    if dev.type == "meta":
        raise ValueError("device: 'meta' tensors hold no data, so a GAN cannot be trained on them; expected 'auto', "
                         "'cpu', 'cuda' or 'cuda:N'")
    if dev.type != "cuda":
        return check_device(dev, "device")
    if n_cuda == 0:
        raise ValueError(f"device: {str(device)!r} was asked for, but CUDA is not available on this machine; use "
                         "'cpu' or 'auto'")
    if world_size > 1 and local_rank is not None:
        if dev.index is not None:
            raise ValueError(f"device: {str(device)!r} would put all {world_size} torchrun processes on one GPU; "
                             "pass 'cuda' or 'auto' (LOCAL_RANK picks each process's GPU) or set CUDA_VISIBLE_DEVICES")
        dev = torch.device("cuda", local_rank)
    elif dev.index is None:
        dev = torch.device("cuda", 0 if local_rank is None else local_rank)
    if dev.index >= n_cuda:
        raise ValueError(f"device: {str(dev)!r} was asked for, but this machine has {n_cuda} CUDA device(s)")
    return dev


def dist_backend(device) -> str:
    """The torch.distributed backend for tensors on ``device``: NCCL only for CUDA tensors, gloo otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"
