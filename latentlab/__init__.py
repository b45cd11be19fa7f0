"""latentlab: train DCGAN / AC-GAN models and open them up."""
from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

__all__ = ["ModelConfig", "GAN", "load", "save", "load_pretrained", "CheckpointError", "Trace", "TraceDict",
           "layer_names", "build_generator", "build_discriminator", "sample_prior", "ForgetResult", "convert"]

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
    "evaluate": "latentlab.metrics", "filter_report": "latentlab.attribution",
    "ForgetResult": "latentlab.dissect",
    # `convert` is a sub-module and its function at once: see _CallableModule below
    "convert": "latentlab.convert",
}

# Sub-modules that are also called like their main function: ``latentlab.convert("netG.pth", out=...)`` and
# ``latentlab.convert.LAYOUTS`` both work, whatever was imported first.
_CALLABLE_SUBMODULES = ("convert",)


class _CallableModule(types.ModuleType):
    """A sub-module that calls its function of the same name (``latentlab.convert(...)``)."""

    def __call__(self, *args, **kwargs):
        return getattr(self, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    """The ``latentlab`` package: makes the sub-modules of ``_CALLABLE_SUBMODULES`` callable when the import
    system binds them here (``import latentlab.convert`` as well as the lazy ``latentlab.convert``)."""

    def __setattr__(self, name, value):
        if name in _CALLABLE_SUBMODULES and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        if name in _CALLABLE_SUBMODULES:
            return module
        value = getattr(module, name)
        # `train` is also a sub-package: importing latentlab.train sets the attribute to the module, so the
        # function is looked up on it and not cached on the package.
        if name != "train":
            globals()[name] = value
        return value
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
