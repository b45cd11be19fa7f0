"""latentlab: train DCGAN / AC-GAN models and open them up."""
from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Every public name is imported on first use (PEP 562), so that `import latentlab` - and with it
# `latentlab --help` and the command line's usage errors - does not pay for importing torch (~3-5 s).
# name -> the module that defines it; __all__ is exactly these names (tests/test_api.py checks that, and that
# the TYPE_CHECKING block below imports each of them from the same module).
_LAZY = {
    # models and their files
    "ModelConfig": "latentlab.config",
    "GAN": "latentlab.models", "build_discriminator": "latentlab.models", "build_generator": "latentlab.models",
    "sample_prior": "latentlab.models",
    "LatentModel": "latentlab.models.adapter",
    "CheckpointError": "latentlab.checkpoint", "load": "latentlab.checkpoint", "save": "latentlab.checkpoint",
    "load_pretrained": "latentlab.pretrained",
    # `convert` and `train` are sub-modules and their functions at once: see _CallableModule below
    "convert": "latentlab.convert", "ConvertOptions": "latentlab.convert",
    # hooks
    "Trace": "latentlab.hooks", "TraceDict": "latentlab.hooks", "layer_names": "latentlab.hooks",
    # training
    "TrainConfig": "latentlab.train", "Trainer": "latentlab.train", "train": "latentlab.train",
    # analyses
    "Walk": "latentlab.latent", "Arithmetic": "latentlab.latent", "RotationAxis": "latentlab.latent",
    "ArithmeticOptions": "latentlab.latent", "RotationOptions": "latentlab.latent",
    "slerp": "latentlab.latent", "lerp": "latentlab.latent",
    "Probe": "latentlab.dissect", "ablate": "latentlab.dissect", "forget": "latentlab.dissect",
    "ForgetResult": "latentlab.dissect", "ForgetSettings": "latentlab.dissect", "Forget": "latentlab.dissect",
    "forget_from_boxes": "latentlab.dissect",
    "evaluate": "latentlab.metrics", "Evaluation": "latentlab.metrics", "EvalSettings": "latentlab.metrics",
    "filter_report": "latentlab.attribution", "FilterReport": "latentlab.attribution",
    "FilterSettings": "latentlab.attribution",
}

# a literal list, so that static tools read it
__all__ = ["Arithmetic", "ArithmeticOptions", "CheckpointError", "ConvertOptions", "EvalSettings", "Evaluation",
           "FilterReport", "FilterSettings", "Forget", "ForgetResult", "ForgetSettings", "GAN", "LatentModel",
           "ModelConfig", "Probe", "RotationAxis", "RotationOptions", "Trace", "TraceDict", "TrainConfig", "Trainer",
           "Walk", "ablate", "build_discriminator", "build_generator", "convert", "evaluate", "filter_report",
           "forget", "forget_from_boxes", "layer_names", "lerp", "load", "load_pretrained", "sample_prior", "save",
           "slerp", "train"]

if TYPE_CHECKING:  # what IDEs and type checkers see; at run time each name is imported on first use
    from latentlab.attribution import FilterReport, FilterSettings, filter_report
    from latentlab.checkpoint import CheckpointError, load, save
    from latentlab.config import ModelConfig
    from latentlab.convert import ConvertOptions, convert
    from latentlab.dissect import Forget, ForgetResult, ForgetSettings, Probe, ablate, forget, forget_from_boxes
    from latentlab.hooks import Trace, TraceDict, layer_names
    from latentlab.latent import Arithmetic, ArithmeticOptions, RotationAxis, RotationOptions, Walk, lerp, slerp
    from latentlab.metrics import EvalSettings, Evaluation, evaluate
    from latentlab.models import GAN, build_discriminator, build_generator, sample_prior
    from latentlab.models.adapter import LatentModel
    from latentlab.pretrained import load_pretrained
    from latentlab.train import TrainConfig, Trainer, train

# Sub-modules that are also called like their main function: ``latentlab.convert("netG.pth", out=...)`` and
# ``latentlab.convert.LAYOUTS`` both work, whatever was imported first; so do ``latentlab.train(config, data,
# run_dir)`` and ``latentlab.train.Trainer``.
_CALLABLE_SUBMODULES = ("convert", "train")


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
        globals()[name] = value
        return value
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
