"""Safe, atomic file I/O: safetensors only, never pickle.

Every file latentlab writes is a single safetensors file whose string metadata
holds JSON. Loading a file can therefore never run code from it. Writes go to a
temporary file in the same directory, are fsync'ed and then renamed over the
target, so a crash (or SIGKILL) never leaves a half-written file in place of a
good one.

Model files (every network kind: GAN, DTN, DTN encoder, judges) are written by one function,
:func:`write_model_file`, and read by one, :func:`read_model_file`. Their metadata always holds

* ``format``: the kind's tag (:data:`FILE_KINDS`: "latentlab" for a GAN, "latentlab-dtn",
  "latentlab-dtn-encoder", "latentlab-judge"),
* ``format_version``: the file layout's version (a reader refuses a newer one),
* ``config``: the network's config as JSON (a :class:`latentlab.config.Config`),
* ``sha256``: :func:`digest` of the tensors (safetensors itself has no checksum),

plus the kind's own keys (step, dataset, info, ...). Files written before the sha256 and the
format_version were added to every kind still load: a missing ``sha256`` is not checked and a missing
``format_version`` reads as 0.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as _st_save

from .validate import int_at_least

__all__ = ["CheckpointError", "save_safetensors", "load_safetensors", "read_metadata", "atomic_write_bytes",
           "FileKind", "FILE_KINDS", "ModelFile", "write_model_file", "read_model_file", "module_tensors", "digest",
           "check_sha256", "load_part", "network_tensors", "int_field", "read_json_file", "read_samples_file", "write_samples_file",
           "JsonHeader", "check_json_header", "format_identify"]


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


# the first bytes of the image files a user may pass as a model by mistake
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
                (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def _image_type(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _IMAGE_MAGIC if head.startswith(magic)), None)


def _open_checked(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory, expected a .safetensors file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        # A safetensors file starts with the u64 length of its JSON header, then "{"; test that first, since
        # a header length such as 0x0280 also begins with the pickle protocol bytes b"\x80\x02".
        n = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
        if 0 < n and 8 + n <= size:
            f.seek(8)
            looks_safetensors = f.read(1) == b"{"
        else:
            looks_safetensors = False
    image = None if looks_safetensors else _image_type(head)
    if image:
        raise CheckpointError(f"checkpoint {str(path)!r} is an image ({image}), not a model file: pass a "
                              ".safetensors model (a shipped name such as 'rooms', or a file written by latentlab)")
    if len(head) < 8:
        raise CheckpointError(f"checkpoint {str(path)!r} is truncated or empty ({size} bytes)")
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


# -- model files: one writer and one reader for every network kind

@dataclass(frozen=True)
class FileKind:
    """One kind of model file: its metadata ``format`` tag, the layout version written now (the newest one
    read), the metadata keys the kind's writer adds, and how a message names it."""

    format: str          # metadata "format"
    version: int         # metadata "format_version" written; newer files are refused
    what: str            # for messages: "latentlab model file", "DTN file", ...


#: every kind of model file latentlab writes, by network
FILE_KINDS = {
    "gan": FileKind("latentlab", 1, "latentlab model file"),
    "dtn": FileKind("latentlab-dtn", 1, "DTN file"),
    "encoder": FileKind("latentlab-dtn-encoder", 1, "DTN encoder file"),
    "judge": FileKind("latentlab-judge", 1, "judge file"),
    "avatar-reader": FileKind("latentlab-avatar-reader", 1, "avatar reader file"),
}
RESERVED = ("format", "format_version", "config", "sha256")


def digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes, in name order (safetensors itself has no checksum)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def check_sha256(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str], path,
                 error: type = CheckpointError) -> None:
    """``error`` naming the file if the metadata's ``sha256`` does not match the tensors (no ``sha256``, as
    in files written before it was recorded: nothing to check)."""
    if "sha256" in meta and meta["sha256"] != digest(tensors):
        raise error(f"checkpoint {str(path)!r}: tensor checksum does not match the metadata (corrupt file)")


def module_tensors(parts: Iterable[tuple[str, torch.nn.Module]], dtype: torch.dtype | None = None
                   ) -> dict[str, torch.Tensor]:
    """``{"<prefix>.<name>": tensor}`` of each ``(prefix, module)``'s state dict (an empty prefix: the bare
    names), detached, on the CPU, contiguous (channels_last weights are stored as NCHW); ``dtype``
    (e.g. torch.float16) converts the floating tensors."""
    if dtype is not None and not dtype.is_floating_point:
        raise ValueError(f"dtype: expected a floating dtype or None, got {dtype}")
    out = {}
    for prefix, module in parts:
        for name, t in module.state_dict().items():
            t = t.detach().to("cpu").contiguous(memory_format=torch.contiguous_format)
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            out[f"{prefix}.{name}" if prefix else name] = t
    return out


def network_tensors(parts: Iterable[tuple[str, torch.nn.Module]], discriminator: torch.nn.Module | None = None, *,
                    half: bool = False, extra: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a network's file (GAN, DTN): :func:`module_tensors` of ``parts``, then ``discriminator.*``
    when a discriminator is given (fp16 floating tensors with ``half``), then ``extra`` (e.g. optimizer state)
    as it is."""
    parts = list(parts) + ([("discriminator", discriminator)] if discriminator is not None else [])
    tensors = module_tensors(parts, torch.float16 if half else None)
    tensors.update(extra or {})
    return tensors


def write_model_file(path: str | os.PathLike, kind: str, tensors: Mapping[str, torch.Tensor], config,
                     meta: Mapping[str, str] | None = None) -> Path:
    """Atomically write one model file of ``kind`` (a key of :data:`FILE_KINDS`): ``tensors`` plus the
    metadata ``format``, ``format_version``, ``config`` (a Config, a dict or a JSON str), ``sha256`` and the
    kind's own str entries ``meta`` (which may not set those four)."""
    file_kind = FILE_KINDS[kind]
    extra = dict(meta or {})
    clash = sorted(set(extra) & set(RESERVED))
    if clash:
        raise ValueError(f"metadata may not set the reserved keys {clash}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise TypeError("metadata must map str to str")
    if not isinstance(config, str):
        config = config.to_json() if hasattr(config, "to_json") else json.dumps(config)
    clean = {k: t.detach().cpu().contiguous() for k, t in tensors.items()}
    extra.update(format=file_kind.format, format_version=str(file_kind.version), config=config,
                 sha256=digest(clean))
    save_safetensors(path, clean, extra)
    return Path(path)


@dataclass
class ModelFile:
    """A model file as read: its tensors and str metadata, checked against its kind."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict[str, str]
    version: int                  # the file's format_version (0 for a file written before it was recorded)
    error: type = CheckpointError

    def json(self, key: str):
        """The metadata entry ``key`` decoded from JSON; ``error`` naming the file if absent or invalid."""
        try:
            return decode_json(self.meta, key, self.path)
        except CheckpointError as e:
            raise (e if self.error is CheckpointError else self.error(str(e))) from None

    def has(self, prefix: str) -> bool:
        """Whether the file holds tensors ``<prefix>.*`` (e.g. a discriminator)."""
        return any(k.startswith(prefix + ".") for k in self.tensors)

    def load_into(self, module: torch.nn.Module, prefix: str) -> None:
        """:func:`load_part`: the tensors ``<prefix>.*`` into ``module``, checked."""
        load_part(module, self.tensors, prefix, self.path)

    def step(self) -> int:
        """The metadata ``step`` (0 if absent)."""
        try:
            return int(self.meta.get("step", "0"))
        except ValueError:
            raise self.error(f"checkpoint {str(self.path)!r}: step {self.meta.get('step')!r} is not an int") from None

    def info(self) -> dict:
        """The metadata ``info`` decoded from JSON ({} if absent or empty)."""
        return self.json("info") if self.meta.get("info") else {}

    def config(self, cls, key: str = "config", label: str = "invalid config"):
        """``cls.from_dict`` of the JSON entry ``key``; ``error`` "checkpoint '<path>': <label>: ..." if it fails."""
        data = self.json(key)
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as e:
            if isinstance(e, CheckpointError):
                raise
            raise self.error(f"checkpoint {str(self.path)!r}: {label}: {e}") from None


def load_part(module: torch.nn.Module, tensors: dict, prefix: str, path, error: type = CheckpointError) -> None:
    """Copy the tensors ``<prefix>.*`` (all tensors for ``prefix=""``) into ``module`` after checking names,
    shapes, kinds (floating or not) and finiteness; ``error`` naming the file and the first mismatches.
    Floating tensors are converted to the module's dtype (fp16 files load as float32)."""
    expected = module.state_dict()
    got = dict(tensors) if not prefix else \
        {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    where, part = f"checkpoint {str(path)!r}", f"{prefix}." if prefix else ""
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing or unexpected:
        raise error(
            f"{where}: {prefix or 'the'} tensors do not match the config"
            + (f"; missing {missing[:5]}{'...' if len(missing) > 5 else ''}" if missing else "")
            + (f"; unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}" if unexpected else "")
        )
    for k, v in expected.items():
        if tuple(got[k].shape) != tuple(v.shape):
            raise error(f"{where}: tensor {part}{k} has shape {tuple(got[k].shape)}, the config expects "
                        f"{tuple(v.shape)}")
        if got[k].is_floating_point() != v.is_floating_point():
            raise error(f"{where}: tensor {part}{k} is {got[k].dtype}, the config expects {v.dtype}")
        if got[k].is_floating_point() and not torch.isfinite(got[k]).all():
            raise error(f"{where}: tensor {part}{k} contains NaN or inf")
    module.load_state_dict({k: got[k].to(v.dtype) for k, v in expected.items()})


def format_identify(kind: str, head: str) -> Callable[[dict], str | None]:
    """An ``identify`` for :func:`read_model_file` that checks only the metadata format of ``kind``, with the
    caller's wording: ``"{head} (metadata format '...', expected '...')"`` for a file of another format."""
    expected = FILE_KINDS[kind].format

    def identify(meta: dict) -> str | None:
        if meta.get("format") == expected:
            return None
        return f"{head} (metadata format {meta.get('format')!r}, expected {expected!r})"
    return identify


def read_model_file(path: str | os.PathLike, kind: str, *, error: type = CheckpointError,
                    identify: Callable[[dict], str | None] | None = None) -> ModelFile:
    """Read and check one model file of ``kind`` (a key of :data:`FILE_KINDS`). Never unpickles.

    Checks, each failure an ``error`` (a ValueError type; CheckpointError for unreadable files) naming the
    file: the metadata ``format`` is the kind's (``identify(meta)`` may replace this check: it returns a
    message or None), the ``format_version`` is not newer than this latentlab reads, and the tensors match
    the stored ``sha256`` (older files without one are not checked). FileNotFoundError if absent.
    """
    tensors, meta = load_safetensors(path)
    return check_model_file(ModelFile(Path(path), tensors, meta, 0, error), kind, identify)


def check_model_file(model_file: ModelFile, kind: str,
                     identify: Callable[[dict], str | None] | None = None) -> ModelFile:
    """:func:`read_model_file`'s checks on tensors and metadata already read; sets ``model_file.version``."""
    file_kind, meta, error = FILE_KINDS[kind], model_file.meta, model_file.error
    where = f"checkpoint {str(model_file.path)!r}"
    problem = identify(meta) if identify is not None else (
        None if meta.get("format") == file_kind.format else
        f"{where} is not a {file_kind.what} (metadata 'format' is {meta.get('format')!r}, "
        f"expected {file_kind.format!r})")
    if problem:
        raise error(problem)
    try:
        version = int(meta.get("format_version", "0"))
    except ValueError:
        raise error(f"{where}: format_version {meta.get('format_version')!r} is not an int") from None
    if version > file_kind.version:
        raise error(f"{where} was written by a newer latentlab (format {version}); this version reads "
                    f"format <= {file_kind.version}: upgrade latentlab")
    check_sha256(model_file.tensors, meta, model_file.path, error)
    model_file.version = version
    return model_file


# --------------------------------------------------------------------------------------------------
# the small JSON files written for a model's samples (boxes, labels): one header, checked the same way


def int_field(name: str, v, lo: int, where: str) -> int:
    """``v`` if it is an int >= ``lo`` (not a bool), else a ValueError naming ``name`` and the file (``where``)."""
    return int_at_least(v, name, lo, hint=where.strip())


def read_json_file(path: Path, what: str) -> object:
    """The parsed JSON of ``path``; FileNotFoundError or ValueError starting with ``what`` ("boxes", "labels")."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"{what}: {str(path)!r} is a directory, expected a JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{what}: {str(path)!r} is not valid JSON ({e})") from None


def read_samples_file(path: str | os.PathLike, what: str, check: Callable) -> tuple[object, str]:
    """``(check(data, where), where)`` for the samples file at ``path`` (boxes, labels), ``where`` being
    ``" in '<path>'"`` for the messages; FileNotFoundError or ValueError starting with ``what``."""
    path = Path(path)
    where = f" in {str(path)!r}"
    return check(read_json_file(path, what), where), where


def write_samples_file(path: str | os.PathLike, data: Mapping) -> Path:
    """Write ``data`` as compact JSON plus a newline, atomically (a failure leaves an existing file untouched)."""
    path = Path(path)
    atomic_write_bytes(path, (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8"))
    return path


@dataclass(frozen=True)
class JsonHeader:
    """What a samples file's header must be: ``what`` names it in the messages ("boxes", "labels")."""
    what: str
    format: str
    version: int
    keys: tuple
    hint: str = ""          # said after the file in the "expected a JSON object" message


def check_json_header(data, header: JsonHeader, where: str = "") -> tuple[str, int, int]:
    """Check the object, its keys, format, version, model, seed and n; returns (model, seed, n)."""
    what, keys = header.what, list(header.keys)
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object with the keys {keys}{where}{header.hint}, got a JSON "
                         f"{type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{what}: the keys {missing} are missing{where}; expected {keys}")
    if data.get("format", header.format) != header.format:
        raise ValueError(f"{what}: format {data['format']!r}{where} is not {header.format!r}")
    if int_field("version", data.get("version", header.version), 1, where) > header.version:
        raise ValueError(f"version: {what} file version {data['version']}{where} is newer than this latentlab "
                         f"reads ({header.version}); upgrade latentlab")
    if not isinstance(data["model"], str) or not data["model"]:
        raise ValueError(f"model: expected the model's name or file{where}, got {data['model']!r}")
    return data["model"], int_field("seed", data["seed"], 0, where), int_field("n", data["n"], 1, where)
