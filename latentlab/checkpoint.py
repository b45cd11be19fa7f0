"""GAN model files, written and read by the one model-file writer/reader of :mod:`latentlab.io`.

One safetensors file, JSON config in its metadata; never pickle. Layout: tensors ``generator.*`` and
(optionally) ``discriminator.*``; training checkpoints also hold ``optim_g.*`` / ``optim_d.*`` optimizer
state. Metadata keys: ``format`` ("latentlab"), ``format_version``, ``config`` (JSON), ``sha256`` (of the
tensors; files written before it was added load unchecked), ``kind`` ("model" or "training"), ``step``,
``dataset`` and free-form ``info`` (JSON). Training checkpoints of a run with ``TrainConfig(ema_decay > 0)``
also hold ``generator_ema.*``, the moving average of G's weights; :func:`load` samples from it unless
``ema=False``.

The same writer and reader serve every network kind (``latentlab.io.FILE_KINDS``): GAN (here), DTN and its
encoder (``latentlab.transfer``), judges (``latentlab.judges``). A PNG or JPEG passed as a model file is
refused as "an image, not a model file".
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .config import ModelConfig
from .io import (FILE_KINDS, CheckpointError, ModelFile, check_model_file, module_tensors, read_model_file,
                 write_model_file)
from .models import GAN

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION", "CheckpointError", "state_to_gan", "load_part"]

FORMAT = FILE_KINDS["gan"].format
FORMAT_VERSION = FILE_KINDS["gan"].version


def save(gan: GAN, path: str | os.PathLike, *, step: int | None = None, dataset: str | None = None,
         half: bool = False, include_discriminator: bool = True, extra_tensors: dict | None = None,
         info: dict | None = None, kind: str = "model", generator: torch.nn.Module | None = None) -> Path:
    """Atomically write ``gan`` to ``path`` (.safetensors). ``half=True`` stores floating weights as fp16.

    ``generator`` replaces ``gan.generator`` in the file (e.g. the moving average of its weights); it must
    have the same tensors.
    """
    if not isinstance(gan, GAN):
        raise TypeError(f"gan: expected a latentlab GAN, got {type(gan).__name__}")
    if generator is not None and set(generator.state_dict()) != set(gan.generator.state_dict()):
        raise ValueError("generator: its tensors do not match gan.generator's")
    parts = [("generator", generator if generator is not None else gan.generator)]
    if include_discriminator and gan.discriminator is not None:
        parts.append(("discriminator", gan.discriminator))
    tensors = module_tensors(parts, torch.float16 if half else None)
    tensors.update(extra_tensors or {})
    meta = {
        "kind": kind,
        "step": str(int(step if step is not None else gan.step)),
        "dataset": dataset if dataset is not None else (gan.dataset or ""),
        "info": json.dumps(info if info is not None else gan.info),
    }
    return write_model_file(path, "gan", tensors, json.dumps(gan.config.to_dict()), meta)


def load_part(module: torch.nn.Module, tensors: dict, prefix: str, path) -> None:
    expected = module.state_dict()
    got = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: {prefix} tensors do not match the config"
            + (f"; missing {missing[:5]}{'...' if len(missing) > 5 else ''}" if missing else "")
            + (f"; unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}" if unexpected else "")
        )
    for k, v in expected.items():
        if tuple(got[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f"checkpoint {str(path)!r}: tensor {prefix}.{k} has shape {tuple(got[k].shape)}, "
                f"the config expects {tuple(v.shape)}"
            )
        if got[k].is_floating_point() and not torch.isfinite(got[k]).all():
            raise CheckpointError(f"checkpoint {str(path)!r}: tensor {prefix}.{k} contains NaN or inf")
    module.load_state_dict({k: got[k].to(v.dtype) for k, v in expected.items()})


def state_to_gan(tensors: dict, meta: dict, path, ema: bool = True) -> GAN:
    """A GAN from a GAN file's tensors and metadata (as :func:`latentlab.io.load_safetensors` returns them),
    after the model-file checks (format, format_version, sha256)."""
    return gan_from_file(check_model_file(ModelFile(Path(path), tensors, meta, 0), "gan"), ema)


def gan_from_file(model_file: ModelFile, ema: bool = True) -> GAN:
    tensors, meta, path = model_file.tensors, model_file.meta, model_file.path
    config = model_file.config(ModelConfig)
    has_d = any(k.startswith("discriminator.") for k in tensors)
    gan = GAN(config, with_discriminator=has_d)
    use_ema = ema and any(k.startswith("generator_ema.") for k in tensors)
    load_part(gan.generator, tensors, "generator_ema" if use_ema else "generator", path)
    if has_d:
        load_part(gan.discriminator, tensors, "discriminator", path)
    try:
        gan.step = int(meta.get("step", "0"))
    except ValueError:
        raise CheckpointError(f"checkpoint {str(path)!r}: step {meta.get('step')!r} is not an int") from None
    gan.dataset = meta.get("dataset", "")
    gan.info = json.loads(meta["info"]) if meta.get("info") else {}
    if use_ema:
        gan.info = {**gan.info, "generator": "ema"}
    gan.source_path = str(path)
    return gan.eval()


def load(path: str | os.PathLike, ema: bool = True) -> GAN:
    """Rebuild a GAN (generator + discriminator if stored) from one latentlab safetensors file.

    A training checkpoint that holds a moving average of G (``generator_ema.*``) gives that average as the
    generator (what a user samples from) unless ``ema=False``, which gives the raw training weights.

    Never unpickles. Raises FileNotFoundError for a missing file and CheckpointError (a ValueError)
    naming the file for corrupt, truncated, foreign or newer files, a wrong sha256, mismatched tensors
    and images passed as model files.
    """
    return gan_from_file(read_model_file(path, "gan"), ema)
