"""Model files: one safetensors file, JSON config in its metadata; never pickle.

Layout: tensors ``generator.*`` and (optionally) ``discriminator.*``; training checkpoints
also hold ``optim_g.*`` / ``optim_d.*`` optimizer state. Metadata keys:
``format`` ("latentlab"), ``format_version``, ``kind`` ("model" or "training"), ``config`` (JSON),
``step``, ``dataset`` and free-form ``info`` (JSON). Training checkpoints of a run with
``TrainConfig(ema_decay > 0)`` also hold ``generator_ema.*``, the moving average of G's weights;
:func:`load` samples from it unless ``ema=False``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .config import ModelConfig
from .io import CheckpointError, decode_json, load_safetensors, save_safetensors
from .models import GAN

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION", "CheckpointError", "state_to_gan", "load_part"]

FORMAT = "latentlab"
FORMAT_VERSION = 1


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
    tensors = {}
    parts = [("generator", generator if generator is not None else gan.generator)]
    if include_discriminator and gan.discriminator is not None:
        parts.append(("discriminator", gan.discriminator))
    for prefix, module in parts:
        for k, v in module.state_dict().items():
            if half and v.is_floating_point():
                v = v.half()
            tensors[f"{prefix}.{k}"] = v
    tensors.update(extra_tensors or {})
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "kind": kind,
        "config": json.dumps(gan.config.to_dict()),
        "step": str(int(step if step is not None else gan.step)),
        "dataset": dataset if dataset is not None else (gan.dataset or ""),
        "info": json.dumps(info if info is not None else gan.info),
    }
    path = Path(path)
    save_safetensors(path, tensors, meta)
    return path


def _check_meta(meta: dict, path) -> ModelConfig:
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not a latentlab model file (metadata 'format' is {meta.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    try:
        version = int(meta.get("format_version", "0"))
    except ValueError:
        raise CheckpointError(f"checkpoint {str(path)!r}: format_version {meta.get('format_version')!r} is not an int") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was written by a newer latentlab (format {version}); this version reads "
            f"format <= {FORMAT_VERSION}: upgrade latentlab"
        )
    try:
        return ModelConfig.from_dict(decode_json(meta, "config", path))
    except (TypeError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"checkpoint {str(path)!r}: invalid config: {e}") from None


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
    config = _check_meta(meta, path)
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
    naming the file for corrupt, truncated, foreign or newer files and mismatched tensors.
    """
    tensors, meta = load_safetensors(path)
    return state_to_gan(tensors, meta, path, ema=ema)
