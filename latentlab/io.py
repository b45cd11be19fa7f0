"""Safe, atomic file I/O: safetensors only, never pickle.

Every file latentlab writes is a single safetensors file whose string metadata
holds JSON. Loading a file can therefore never run code from it. Writes go to a
temporary file in the same directory, are fsync'ed and then renamed over the
target, so a crash (or SIGKILL) never leaves a half-written file in place of a
good one.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as _st_save

__all__ = ["CheckpointError", "save_safetensors", "load_safetensors", "read_metadata", "atomic_write_bytes"]


class CheckpointError(ValueError):
    """A file could not be read as a latentlab checkpoint (corrupt, foreign, newer, mismatched)."""


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"path: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        # Never leave the temporary file behind; the target is untouched.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save_safetensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, object]) -> None:
    """Atomically save ``tensors`` with ``metadata`` (values that are not str are JSON-encoded)."""
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    clean = {}
    for k, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"tensors[{k!r}]: expected a torch.Tensor, got {type(t).__name__}")
        clean[k] = t.detach().cpu().contiguous()
    atomic_write_bytes(path, _st_save(clean, metadata=meta))


_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
                (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def _image_kind(head: bytes) -> str | None:
    """"PNG", "JPEG", ... when the first bytes of a file are an image format's signature, else None."""
    return next((kind for magic, kind in _IMAGE_MAGIC if head.startswith(magic)), None)


def _open_checked(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory, expected a .safetensors file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        # A safetensors file starts with the u64 length of its JSON header, then "{"; test that first, since
        # a header length such as 0x0280 also begins with the pickle protocol bytes b"\x80\x02".
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if 0 < n and 8 + n <= size:
            f.seek(8)
            looks_safetensors = f.read(1) == b"{"
        else:
            looks_safetensors = False
    if len(head) < 8:
        raise CheckpointError(f"checkpoint {str(path)!r} is truncated or empty ({size} bytes)")
    kind = None if looks_safetensors else _image_kind(head)
    if kind:
        raise CheckpointError(f"checkpoint {str(path)!r} is a {kind} image, not a model file; pass a .safetensors "
                              "model (a shipped name such as 'rooms', or a file written by `latentlab train`)")
    if not looks_safetensors and ((head[0] == 0x80 and 2 <= head[1] <= 5) or head[:2] == b"PK"):
        raise CheckpointError(
            f"checkpoint {str(path)!r} looks like a pickle / torch.save file; latentlab only reads safetensors "
            "and never unpickles (convert it with safetensors.torch.save_file in a trusted environment)"
        )
    try:
        return safe_open(str(path), framework="pt", device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint {str(path)!r} is not a valid safetensors file: {e}") from None


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """Return the raw string metadata of a safetensors file without loading tensors."""
    with _open_checked(Path(path)) as f:
        return dict(f.metadata() or {})


def load_safetensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load all tensors and the string metadata. Raises CheckpointError on corrupt files."""
    path = Path(path)
    with _open_checked(path) as f:
        meta = dict(f.metadata() or {})
        try:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"checkpoint {str(path)!r} is corrupt: {e}") from None
    return tensors, meta


def decode_json(meta: Mapping[str, str], key: str, path: str | os.PathLike) -> object:
    if key not in meta:
        raise CheckpointError(f"checkpoint {str(path)!r}: metadata key {key!r} is missing")
    try:
        return json.loads(meta[key])
    except json.JSONDecodeError as e:
        raise CheckpointError(f"checkpoint {str(path)!r}: metadata {key!r} is not valid JSON ({e})") from None
