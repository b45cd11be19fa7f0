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
from .io import (FILE_KINDS, CheckpointError, ModelFile, check_model_file, load_part, network_tensors,
                 read_model_file, write_model_file)
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
    tensors = network_tensors([("generator", generator if generator is not None else gan.generator)],
                              gan.discriminator if include_discriminator else None, half=half, extra=extra_tensors)
    meta = {
        "kind": kind,
        "step": str(int(step if step is not None else gan.step)),
        "dataset": dataset if dataset is not None else (gan.dataset or ""),
        "info": json.dumps(info if info is not None else gan.info),
    }
    return write_model_file(path, "gan", tensors, json.dumps(gan.config.to_dict()), meta)


def state_to_gan(tensors: dict, meta: dict, path, ema: bool = True) -> GAN:
    """A GAN from a GAN file's tensors and metadata (as :func:`latentlab.io.load_safetensors` returns them),
    after the model-file checks (format, format_version, sha256)."""
    return gan_from_file(check_model_file(ModelFile(Path(path), tensors, meta, 0), "gan"), ema)


def gan_from_file(model_file: ModelFile, ema: bool = True) -> GAN:
    has_d = model_file.has("discriminator")
    gan = GAN(model_file.config(ModelConfig), with_discriminator=has_d)
    use_ema = ema and model_file.has("generator_ema")
    model_file.load_into(gan.generator, "generator_ema" if use_ema else "generator")
    if has_d:
        model_file.load_into(gan.discriminator, "discriminator")
    gan.step = model_file.step()
    gan.dataset = model_file.meta.get("dataset", "")
    gan.info = model_file.info()
    if use_ema:
        gan.info = {**gan.info, "generator": "ema"}
    gan.source_path = str(model_file.path)
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
