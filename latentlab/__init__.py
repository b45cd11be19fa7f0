"""latentlab: train DCGAN / AC-GAN models and open them up."""
from __future__ import annotations

from .checkpoint import CheckpointError, load, save
from .config import ModelConfig
from .hooks import Trace, TraceDict, layer_names
from .models import GAN, build_discriminator, build_generator, sample_prior
from .pretrained import load_pretrained

__version__ = "0.1.0"

__all__ = ["ModelConfig", "GAN", "load", "save", "load_pretrained", "CheckpointError", "Trace", "TraceDict",
           "layer_names", "build_generator", "build_discriminator", "sample_prior"]


def __getattr__(name):  # analyses are imported lazily so `import latentlab` stays light
    lazy = {
        "Walk": "latentlab.latent", "Arithmetic": "latentlab.latent", "RotationAxis": "latentlab.latent",
        "slerp": "latentlab.latent", "lerp": "latentlab.latent",
        "Probe": "latentlab.dissect", "ablate": "latentlab.dissect", "forget": "latentlab.dissect",
        "TrainConfig": "latentlab.train", "Trainer": "latentlab.train", "train": "latentlab.train",
        "evaluate": "latentlab.metrics",
    }
    if name in lazy:
        import importlib
        return getattr(importlib.import_module(lazy[name]), name)
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")
