"""Configs: one base class for every frozen config dataclass saved in a model file, and the GAN's ModelConfig."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from .validate import one_of, positive_int

__all__ = ["Config", "ModelConfig", "ARCHITECTURES", "CLASS_INPUTS", "PRIORS", "IMAGE_SIZES", "CONFIG_VERSION"]


class Config:
    """Base of every config dataclass stored as JSON in a model file or run directory (``ModelConfig``,
    ``TrainConfig``, ``DTNConfig``, ``EncoderConfig`` and the judges' configs).

    ``to_dict`` / ``to_json`` write every field (tuples as lists); ``from_dict`` / ``from_json`` rebuild the
    config after :meth:`upgrade` (a subclass fills in the defaults an older file was written under) and refuse
    unknown keys, unless the subclass sets ``strict = False`` (then they are dropped).
    """

    strict = True  # refuse unknown keys in from_dict (False: drop them)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def upgrade(cls, d: dict) -> dict:
        """A dict written by an older latentlab, with the defaults it was written under made explicit."""
        return d

    @classmethod
    def from_dict(cls, d: dict):
        if not isinstance(d, dict):
            raise ValueError(f"config: expected a JSON object, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown and cls.strict:
            raise ValueError(f"config: unknown keys {unknown}; known keys are {sorted(known)}")
        return cls(**cls.upgrade({k: v for k, v in d.items() if k in known}))

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)

ARCHITECTURES = ("dcgan", "acgan", "gan")
CLASS_INPUTS = ("onehot", "embedding")
PRIORS = ("normal", "uniform")
IMAGE_SIZES = (32, 64, 128)
CONFIG_VERSION = 1


@dataclass(frozen=True)
class ModelConfig(Config):
    arch: str = "dcgan"          # "dcgan" (Radford 2015), "acgan" (Odena 2017) or "gan" (Goodfellow 2014 MLP)
    nz: int = 100                # size of the latent vector z
    ngf: int = 64                # generator width: channels of the last feature block (doubled per block towards z)
    ndf: int = 64                # discriminator width: channels of the first conv (doubled per block)
    channels: int = 3            # image channels (3 RGB, 1 grey)
    image_size: int = 64         # 32, 64 or 128; the number of up/down blocks follows from it
    prior: str = "normal"        # distribution of z: "normal" N(0, 1) or "uniform" U(-1, 1) (the paper's)
    num_classes: int = 0         # AC-GAN only: number of classes
    class_names: tuple = ()      # AC-GAN only: a name per class
    embed_dim: int = 50          # AC-GAN only: size of the learned class embedding (class_input="embedding")
    class_input: str = "onehot"  # AC-GAN only: how G sees the class: "onehot" (fixed one-hot vector appended to
                                 # z, as in the AC-GAN paper) or "embedding" (learned nn.Embedding(num_classes,
                                 # embed_dim), N(0, 1) init; collapses within classes, see pretrained/README.md)
    hidden: int = 1024           # GAN (MLP) only: hidden units per layer
    dataset: str = ""            # name of the training data, informational
    version: int = CONFIG_VERSION

    def __post_init__(self):
        one_of(self.arch, "arch", ARCHITECTURES)
        one_of(self.prior, "prior", PRIORS)
        one_of(self.image_size, "image_size", IMAGE_SIZES)
        for name in ("nz", "ngf", "ndf", "channels", "embed_dim", "hidden"):
            positive_int(getattr(self, name), name)
        one_of(self.class_input, "class_input", CLASS_INPUTS)
        if self.arch == "acgan":
            if not isinstance(self.num_classes, int) or self.num_classes < 2:
                raise ValueError(f"num_classes: an AC-GAN needs >= 2 classes, got {self.num_classes!r}")
        elif self.num_classes not in (0,):
            raise ValueError(f"num_classes: only AC-GAN models take classes (arch={self.arch!r}), got {self.num_classes}")
        object.__setattr__(self, "class_names", tuple(self.class_names))
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"class_names: expected {self.num_classes} names (num_classes), got {len(self.class_names)}"
            )
        if self.version > CONFIG_VERSION:
            raise ValueError(
                f"version: config version {self.version} is newer than this latentlab understands ({CONFIG_VERSION}); "
                "upgrade latentlab"
            )

    @property
    def n_blocks(self) -> int:
        """Feature blocks between z and the output layer: 4x4 -> ... -> image_size / 2."""
        return int(math.log2(self.image_size)) - 2

    @property
    def conditional(self) -> bool:
        return self.arch == "acgan"

    @property
    def class_dim(self) -> int:
        """Size of the class vector G receives next to z: num_classes (one-hot) or embed_dim (learned)."""
        if not self.conditional:
            return 0
        return self.num_classes if self.class_input == "onehot" else self.embed_dim

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        version = d.get("version", CONFIG_VERSION) if isinstance(d, dict) else None
        if isinstance(version, int) and version > CONFIG_VERSION:
            raise ValueError(
                f"config version {version} is newer than this latentlab understands ({CONFIG_VERSION}); upgrade latentlab"
            )
        return super().from_dict(d)

    @classmethod
    def upgrade(cls, d: dict) -> dict:
        """A config dict written by an older latentlab, with the defaults it was trained under made explicit.

        Files written before ``class_input`` existed all used a learned embedding.
        """
        if d.get("arch") == "acgan" and "class_input" not in d:
            return {**d, "class_input": "embedding"}
        return d
