"""latentlab: train DCGAN / AC-GAN models and open them up."""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

__all__ = ["ModelConfig", "GAN", "load", "save", "load_pretrained", "CheckpointError", "Trace", "TraceDict",
           "layer_names", "build_generator", "build_discriminator", "sample_prior"]

# Every public name is imported on first use (PEP 562), so that `import latentlab` - and with it
# `latentlab --help` and the command line's usage errors - does not pay for importing torch (~3-5 s).
_LAZY = {
    "CheckpointError": "latentlab.checkpoint", "load": "latentlab.checkpoint", "save": "latentlab.checkpoint",
    "ModelConfig": "latentlab.config",
    "Trace": "latentlab.hooks", "TraceDict": "latentlab.hooks", "layer_names": "latentlab.hooks",
    "GAN": "latentlab.models", "build_discriminator": "latentlab.models", "build_generator": "latentlab.models",
    "sample_prior": "latentlab.models",
    "load_pretrained": "latentlab.pretrained",
    # analyses
    "Walk": "latentlab.latent", "Arithmetic": "latentlab.latent", "RotationAxis": "latentlab.latent",
    "slerp": "latentlab.latent", "lerp": "latentlab.latent",
    "Probe": "latentlab.dissect", "ablate": "latentlab.dissect", "forget": "latentlab.dissect",
    "TrainConfig": "latentlab.train", "Trainer": "latentlab.train", "train": "latentlab.train",
    "evaluate": "latentlab.metrics",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        # `train` is also a sub-package: importing latentlab.train sets the attribute to the module, so the
        # function is looked up on it and not cached on the package.
        if name != "train":
            globals()[name] = value
        return value
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
