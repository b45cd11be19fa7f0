"""Domain Transfer Network: G = g o f with a frozen f, a DCGAN-style decoder g and a 3-way discriminator D.

Taigman, Polyak, Wolf, "Unsupervised Cross-Domain Image Generation", ICLR 2017 (arXiv 1611.02200).

The recipe (the paper's numbers; what latentlab's presets use is in ``pretrained/train_dtn.py``):

* G = g o f. f is fixed: trained beforehand on the source domain S (digits: a 4-layer conv net trained to
  classify labelled SVHN, 128-d output; faces: a face-identity network), kept in eval mode so its BatchNorm
  statistics never move, and its weights never receive an update. g is a DCGAN-style decoder (digits:
  four blocks of transposed conv + BatchNorm + ReLU, tanh output, 32x32).
* D is a 3-way classifier (digits: four BatchNorm conv layers): class 1 = G(x) for a source x, class 2 =
  G(t) for a target t, class 3 = a real target t. L_D is the cross-entropy of those three labels.
* L_G = L_GANG + alpha L_CONST + beta L_TID + gamma L_TV, where L_GANG asks D to label both G(x) and G(t)
  "real target"; L_CONST = d(f(x), f(G(x))) on source x (f-constancy: MSE for digits, cosine for faces);
  L_TID = d2(t, G(t)) on target t (G is the identity on T: MSE); L_TV is total variation.
* Digits (SVHN -> MNIST): alpha = beta = 15, gamma = 0. Faces (-> emoji): alpha = 100, beta = 1,
  gamma = 0.05. Adam; G is updated more often than D (public ports: 2 G updates per D update for digits).
* Results: an MNIST classifier labels 90.66% of transferred SVHN test digits correctly (DTN), 13.71% for
  the Sec. 3 baseline (binary D: real target vs G(source), no L_TID); public ports report ~86%. Emoji
  from faces: f retrieves the source face at a median rank ~16 among ~100k.
* Pitfalls: f must stay in eval mode; an f with unbounded outputs lets L_CONST dominate and training stalls
  (issue 22's feasibility run: 15% transfer accuracy unbounded, 78% with BatchNorm + tanh on f's output).

Networks (digits, S = 32, feature_dim = 128, ngf = ndf = 64)::

    f: (N, 3, 32, 32) -> (N, 128) in (-1, 1)                        [latentlab.transfer.encoder]
    g: (N, 128) -> block1 (N, 256, 4, 4) -> block2 (N, 128, 8, 8) -> block3 (N, 64, 16, 16)
       -> to_rgb (N, C_t, 32, 32), tanh
    D: (N, C_t, 32, 32) -> from_rgb (N, 64, 16, 16) -> block2 (N, 128, 8, 8) -> block3 (N, 256, 4, 4)
       -> head (N, 3) logits (N for the binary baseline)
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..hooks import eval_mode
from ..io import (FILE_KINDS, ModelFile, check_model_file, format_identify, network_tensors, read_metadata,
                  read_model_file, write_model_file)
from ..models.base import dcgan_init
from ..models.blocks import add_down_stack, add_up_stack, run_blocks
from ..train.optim import check_train_settings
from . import losses
from .encoder import DictConfig, Encoder, EncoderConfig, check_ints, load_encoder

__all__ = ["DTNConfig", "DTN", "Decoder", "Discriminator", "save_dtn", "load_dtn", "load_f", "match_channels",
           "minibatch_std", "edge_map", "DTN_FORMAT"]

DTN_FORMAT = FILE_KINDS["dtn"].format
DTN_FORMAT_VERSION = FILE_KINDS["dtn"].version


@dataclass(frozen=True)
class DTNConfig(DictConfig):
    # -- architecture
    image_size: int = 32              # side S of source and target images (a power of 2, >= 8)
    source_channels: int = 3          # f's input channels
    target_channels: int = 1          # G's output channels (and D's input)
    feature_dim: int = 128            # f's output size = g's input size
    ngf: int = 64                     # g's width: its last block has ngf maps, each earlier one twice as many
    ndf: int = 64                     # D's width: from_rgb has ndf maps, each later block twice as many
    # -- losses (L_G = L_GANG + alpha L_CONST + beta L_TID + gamma L_TV)
    alpha: float = 15.0               # f-constancy weight (paper digits 15, faces 100)
    beta: float = 15.0                # identity-on-target weight (paper digits 15, faces 1)
    gamma: float = 0.0                # total-variation weight (paper digits 0, faces 0.05)
    diversity: float = 0.0            # weight of L_DIV, the diversity-sensitive hinge (losses.diversity_loss; not in
                                      # the paper): G(source) must vary with f as much as real targets do
    style: float = 0.0                # weight of L_STYLE (losses.style_const_loss; not in the paper): f-constancy on
                                      # the maps of f's block ``style_layer`` (centred cosine), which keep more
                                      # than the class (stroke width, position); 0 = off
    style_layer: str = ""             # f's block for L_STYLE, e.g. "block2" (Encoder.block_names); "" = none
    const_distance: str = "mse"       # d in L_CONST: "mse" (digits) or "cosine" (faces)
    const_on: str = "features"        # what L_CONST compares: f's features (the paper) or "logits", f's class logits
                                      # (its classifier head on the features): only what f was trained to read, not
                                      # the rest of the features (for faces: backdrop, pose), which a target image may
                                      # have no way to show (not in the paper); or "groups": the mean over the softmax
                                      # groups of f's logits of KL(p(x) || p(G(x))), each group weighted alike
                                      # (const_distance is then not used)
    const_groups: tuple = ()          # sizes of the softmax groups in f's logits for const_on="groups" (faces: one per
                                      # attribute of FACE_GROUPS); () = one group of all classes
    tid_distance: str = "mse"         # d2 in L_TID: "mse" or "l1"
    binary_d: bool = False            # the paper's Sec. 3 baseline D: real target vs G(source), one logit
    d_minibatch_std: bool = False     # D's head also sees the batch's feature standard deviation (Karras et al.
                                      # 2018, one extra map; not in the paper), so a collapsed batch looks fake
    d_norm: str = "batch"             # D's normalisation: "batch" (DCGAN: BatchNorm after every conv but the first) or
                                      # "spectral" (no BatchNorm; every conv of D, the head too, spectrally normalised:
                                      # Miyato et al. 2018; not in the paper): a D whose confidence is bounded by how far
                                      # apart images are, and that judges each image alone rather than through its
                                      # batch's statistics
    d_patch: bool = False             # PatchGAN D (Isola et al. 2017's pix2pix; not in the paper): no last block and a
                                      # 1x1 head that makes a 3-way decision at every location of the maps before it
                                      # (about 22x22-pixel patches at 64x64, 10x10 at 32x32): D(x) is (N, 3, h, w),
                                      # the losses average over patches, and a backdrop patch is judged on its own
    d_edges: bool = False             # D also sees each image's local gradient magnitude (edge_map: one more input
                                      # channel, 0 wherever the image is flat; not in the paper), so "not flat where
                                      # every real target is flat" is one filter away for D
    r1: float = 0.0                   # weight of the R1 penalty added to L_D (losses.r1_penalty, Mescheder et al. 2018;
                                      # not in the paper): D's squared input gradient at real targets; 0 = off
    g_steps_per_d_step: int = 2       # G updates after each D update (a "step" is one D update)
    layered: bool = False             # g draws a foreground, a mask and one flat background colour (a linear head on
                                      # the features) and composites them, out = m fg + (1 - m) bg (the layered
                                      # generators of LR-GAN, Yang et al. 2017, and FineGAN; not in the paper): for
                                      # targets drawn on a plain backdrop (avatars, emoji)
    mask_weight: float = 0.0          # weight of L_MASK, the mean of the layered g's mask on G(s) and G(t) (needs
                                      # layered): a prior for the plain backdrop where the foreground is not needed
    mask_layout: bool = False         # L_MASK weighs each pixel by how often the targets show their backdrop there
                                      # (measures.backdrop_frequency of the first 2,000 targets: 1 in an avatar's
                                      # corners, 0 where its face always is), so the prior pushes the mask down only
                                      # where targets are backdrop and leaves the face opaque (needs mask_weight > 0;
                                      # not in the paper)
    ema_decay: float = 0.0            # exponential moving average of g's weights and BatchNorm statistics, as the
                                      # GAN trainer's ema_decay: decay min(ema_decay, (1+t)/(10+t)) after step t
                                      # (not in the paper; e.g. 0.999). With ema_decay > 0 the averaged g is the
                                      # DTN's decoder (checkpoints, samples, the final model) and the trained g
                                      # is kept in checkpoints for resuming; 0 = off
    # -- optimisation and bookkeeping
    steps: int = 5000                 # D updates in total
    batch_size: int = 64              # source and target images per batch (each)
    lr: float = 2e-4                  # Adam, both networks (DCGAN section 4)
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0                     # seeds g's and D's initial weights and both data orders
    checkpoint_every: int = 500       # steps between training checkpoints (plus one at the end)
    keep_checkpoints: int = 3         # newest checkpoints kept (0 = keep all)
    log_every: int = 1                # steps between JSONL log lines
    print_every: int = 100            # steps between plain progress lines on a non-TTY stderr
    fast: object = "auto"             # bf16 autocast + channels_last: True, False or "auto" (native bf16 only)
    num_threads: int = 0              # torch intra-op threads for the run; 0 = torch's default
    progress: bool = True             # tqdm bar when stderr is a TTY, else a plain line every print_every steps
    grid_size: int = 32               # source images in each checkpoint's before/after sample grid

    def __post_init__(self):
        check_ints(self, ("image_size", "source_channels", "target_channels", "feature_dim", "ngf", "ndf",
                          "g_steps_per_d_step", "steps", "batch_size", "checkpoint_every", "log_every", "print_every",
                          "grid_size"), minimum=1)
        if self.image_size < 8 or self.image_size & (self.image_size - 1):
            raise ValueError(f"image_size: expected a power of 2 >= 8, got {self.image_size}")
        check_ints(self, ("keep_checkpoints", "num_threads", "seed"), minimum=0)
        for name in ("alpha", "beta", "gamma", "diversity", "style", "mask_weight", "r1"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= 0 and math.isfinite(v)):
                raise ValueError(f"{name}: expected a finite float >= 0, got {v!r}")
        if isinstance(self.ema_decay, bool) or not isinstance(self.ema_decay, (int, float)) \
                or not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay: expected a float in [0, 1) (0 = off, e.g. 0.999), got {self.ema_decay!r}")
        if self.const_distance not in ("mse", "cosine", "l1"):
            raise ValueError(f"const_distance: expected 'mse', 'cosine' or 'l1', got {self.const_distance!r}")
        if self.const_on not in ("features", "logits", "groups"):
            raise ValueError(f"const_on: expected 'features', 'logits' or 'groups', got {self.const_on!r}")
        groups = self.const_groups
        if not isinstance(groups, (tuple, list)) or any(isinstance(k, bool) or not isinstance(k, int) or k < 2
                                                        for k in groups):
            raise ValueError(f"const_groups: expected a tuple of group sizes (ints >= 2), got {groups!r}")
        object.__setattr__(self, "const_groups", tuple(groups))
        if groups and self.const_on != "groups":
            raise ValueError(f"const_groups: {tuple(groups)} is used only with const_on='groups', got const_on="
                             f"{self.const_on!r}")
        if self.d_norm not in ("batch", "spectral"):
            raise ValueError(f"d_norm: expected 'batch' or 'spectral', got {self.d_norm!r}")
        if self.tid_distance not in ("mse", "l1"):
            raise ValueError(f"tid_distance: expected 'mse' or 'l1', got {self.tid_distance!r}")
        for name in ("binary_d", "d_minibatch_std", "layered", "d_patch", "d_edges", "mask_layout"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected a bool, got {getattr(self, name)!r}")
        if not isinstance(self.style_layer, str):
            raise ValueError(f"style_layer: expected a block name of f (str), got {self.style_layer!r}")
        if self.d_patch and self.image_size < 16:
            raise ValueError(f"d_patch: a patch D needs image_size >= 16, got {self.image_size}")
        if self.mask_weight > 0 and not self.layered:
            raise ValueError(f"mask_weight: {self.mask_weight} needs a layered g (layered=True); got layered=False")
        if self.mask_layout and not self.mask_weight > 0:
            raise ValueError(f"mask_layout: weighs L_MASK, so it needs mask_weight > 0 (and layered=True); got "
                             f"mask_weight={self.mask_weight}")
        if self.style > 0 and not self.style_layer:
            raise ValueError(f"style_layer: style={self.style} needs a block of f, e.g. 'block2'; got ''")
        check_train_settings(self)
        if self.target_channels not in (1, 3) or self.source_channels not in (1, 3):
            raise ValueError(f"source_channels, target_channels: expected 1 or 3, got {self.source_channels} and "
                             f"{self.target_channels}")

    @property
    def n_blocks(self) -> int:
        return int(math.log2(self.image_size)) - 2

    # fields that may change when a run is resumed (they do not change the trajectory up to the old end)
    RESUMABLE = ("steps", "checkpoint_every", "keep_checkpoints", "log_every", "print_every", "num_threads",
                 "progress", "grid_size")


def match_channels(x: torch.Tensor, channels: int, name: str = "images") -> torch.Tensor:
    """Repeat a 1-channel batch to ``channels`` (grey -> RGB, as f needs for grey targets); else unchanged."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1:
        return x.expand(-1, channels, -1, -1)
    raise ValueError(f"{name}: cannot feed {c}-channel images to a network that takes {channels} channels "
                     "(only 1 -> 3 is converted)")


class Decoder(nn.Module):
    """g: features (N, feature_dim) -> image (N, target_channels, S, S) in [-1, 1] (DCGAN generator blocks)."""

    def __init__(self, config: DTNConfig):
        super().__init__()
        self.config = config
        add_up_stack(self, config.feature_dim, config.ngf, config.n_blocks, config.target_channels)
        dcgan_init(self)
        if config.layered:  # the mask has to_rgb's geometry; the background is one colour per image. They start
            # constant (mask 0.5, colour 0) and are built with the global RNG forked, so the rest of g (and D, built
            # next) get the plain decoder's initial weights
            with torch.random.fork_rng(devices=[]):
                self.to_mask = nn.ConvTranspose2d(config.ngf, 1, 4, 2, 1)
                self.to_background = nn.Linear(config.feature_dim, config.target_channels)
            for p, value in ((self.to_mask.weight, 0.0), (self.to_mask.bias, 0.0), (self.to_background.weight, 0.0),
                             (self.to_background.bias, 0.0)):
                nn.init.constant_(p, value)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.forward_with_mask(h)[0]

    def forward_with_mask(self, h: torch.Tensor) -> tuple:
        """(image, mask): the layered g's composite and its mask (N, 1, S, S) in (0, 1); (image, None) otherwise."""
        if h.dim() != 2 or h.shape[1] != self.config.feature_dim:
            raise ValueError(f"features: expected shape (N, {self.config.feature_dim}), got {tuple(h.shape)}")
        maps = run_blocks(self, h[:, :, None, None])
        if not self.config.layered:
            return self.to_rgb(maps), None
        mask = torch.sigmoid(self.to_mask(maps))
        background = torch.tanh(self.to_background(h))[:, :, None, None]
        return mask * self.to_rgb(maps) + (1 - mask) * background, mask


def minibatch_std(h: torch.Tensor) -> torch.Tensor:
    """One map (N, 1, H, W) holding the batch's mean standard deviation of ``h`` (N, C, H, W) (population std over
    the batch per feature, averaged over features; 0 for N = 1): the minibatch-stddev layer of Karras et al. 2018
    with one group, the whole batch."""
    if h.dim() != 4 or h.shape[0] == 0:
        raise ValueError(f"h: expected a non-empty batch of maps (N, C, H, W), got shape {tuple(h.shape)}")
    s = h.float().std(0, unbiased=False).mean() if h.shape[0] > 1 else h.new_zeros((), dtype=torch.float32)
    return s.to(h.dtype).expand(h.shape[0], 1, h.shape[2], h.shape[3])


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): the mean over channels of |x[i, j+1] - x[i, j]| + |x[i+1, j] - x[i, j]| (0 past the last row and
    column): 0 exactly where the image is locally flat (``DTNConfig.d_edges``)."""
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs()
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs()
    return (nn.functional.pad(dx, (0, 1)) + nn.functional.pad(dy, (0, 0, 0, 1))).mean(1, keepdim=True)


class Discriminator(nn.Module):
    """D: target-domain images (N, C_t, S, S) -> logits (N, 3) (or (N,) with ``binary_d``; with ``d_patch``
    (N, 3, h, w) / (N, h, w), one decision per patch)."""

    def __init__(self, config: DTNConfig):
        super().__init__()
        self.config = config
        c = add_down_stack(self, config.target_channels + int(config.d_edges), config.ndf,
                           config.n_blocks - int(config.d_patch))
        self.n_outputs = 1 if config.binary_d else 3
        k = 1 if config.d_patch else 4  # a patch D decides at every location; else one 4x4 conv over the 4x4 maps
        self.head = nn.Conv2d(c + int(config.d_minibatch_std), self.n_outputs, k, 1, 0, bias=False)
        dcgan_init(self)
        if config.d_norm == "spectral":
            for name in self.block_names:
                getattr(self, name).bn = nn.Identity()
            for conv in [getattr(self, name).conv for name in self.block_names] + [self.head]:
                nn.utils.parametrizations.spectral_norm(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        exp = (cfg.target_channels, cfg.image_size, cfg.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != exp:
            raise ValueError(f"images: expected shape (N, {exp[0]}, {exp[1]}, {exp[2]}) for D, got {tuple(x.shape)}")
        h = run_blocks(self, torch.cat([x, edge_map(x)], 1) if cfg.d_edges else x)
        if cfg.d_minibatch_std:
            h = torch.cat([h, minibatch_std(h)], 1)
        out = self.head(h)
        if not cfg.d_patch:  # a patch D keeps (N, 3, h, w) or binary (N, h, w): one decision per patch
            out = out.flatten(1)
        return out[:, 0] if self.n_outputs == 1 else out


class DTN(nn.Module):
    """f (frozen ``encoder``), g (``decoder``) and D (``discriminator``). ``forward(x)`` = G(x) = g(f(x)).

    ``train()`` never puts f in training mode and f's parameters never require gradients, so its weights and
    BatchNorm statistics stay bit-equal (gradients still flow through f to its input, for L_CONST).
    """

    def __init__(self, config: DTNConfig, encoder: nn.Module, with_discriminator: bool = True):
        super().__init__()
        if not isinstance(config, DTNConfig):
            raise TypeError(f"config: expected a DTNConfig, got {type(config).__name__}")
        if not isinstance(encoder, nn.Module) or not callable(getattr(encoder, "features", None)):
            raise TypeError(f"encoder: expected an nn.Module with features(x) -> (N, D), got {type(encoder).__name__}")
        fdim = getattr(encoder, "feature_dim", None)
        if fdim != config.feature_dim:
            raise ValueError(f"encoder: its feature_dim is {fdim}, the config's feature_dim is {config.feature_dim}")
        shape = getattr(encoder, "input_shape", None)
        want = (config.source_channels, config.image_size, config.image_size)
        if shape is not None and tuple(shape) != want:
            raise ValueError(f"encoder: takes images of shape {tuple(shape)}, the config's source images are {want}")
        if config.target_channels != config.source_channels and config.target_channels != 1:
            raise ValueError(f"target_channels: {config.target_channels}-channel targets cannot be fed to an encoder "
                             f"of {config.source_channels} channels (only 1 -> 3 is converted)")
        if config.style_layer and config.style_layer not in getattr(encoder, "block_names", ()):
            raise ValueError(f"style_layer: {config.style_layer!r} is not a block of the encoder (its blocks: "
                             f"{list(getattr(encoder, 'block_names', []))})")
        classes = getattr(getattr(encoder, "config", None), "num_classes", None)
        groups_sum = sum(config.const_groups) if config.const_groups else classes
        if config.const_on == "groups" and (classes is None or groups_sum != classes):
            raise ValueError(f"const_groups: the groups {config.const_groups} sum to {sum(config.const_groups)}, the "
                             f"encoder has {classes} class logits")
        self.config = config
        self.encoder = encoder.eval().requires_grad_(False)
        self.decoder = Decoder(config)
        self.discriminator = Discriminator(config) if with_discriminator else None
        self.step = 0
        self.info: dict = {}

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # f is fixed: BatchNorm uses (and never updates) its running statistics
        return self

    def check_source(self, x, name: str = "source") -> torch.Tensor:
        """``x`` if it is a float batch of source images (N, C_s, S, S); TypeError / ValueError naming ``name``."""
        return self._check_images(x, name, self.config.source_channels)

    def check_target(self, t, name: str = "target") -> torch.Tensor:
        """``t`` if it is a float batch of target images (N, C_t, S, S); TypeError / ValueError naming ``name``."""
        return self._check_images(t, name, self.config.target_channels)

    def _check_images(self, x, name: str, channels: int) -> torch.Tensor:
        want = (channels, self.config.image_size, self.config.image_size)
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"{name}: expected a float torch.Tensor (N, {want[0]}, {want[1]}, {want[2]}) in [-1, 1], "
                            f"got {type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"{name}: expected shape (N, {want[0]}, {want[1]}, {want[2]}), got {tuple(x.shape)}")
        return x

    def f(self, x: torch.Tensor) -> torch.Tensor:
        """f of source-domain or G-output images (1-channel images are repeated to f's channels)."""
        return self.encoder.features(match_channels(x, self.config.source_channels))

    def f_and_block(self, x: torch.Tensor, block: str | None = None) -> tuple:
        """(f(x), the maps of f's block ``block``) in one pass (``Encoder.features_and_block``)."""
        return self.encoder.features_and_block(match_channels(x, self.config.source_channels), block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """G(x) = g(f(x)) for source images x (N, C_s, S, S), or target images (N, C_t, S, S)."""
        return self.decoder(self.f(x))

    @torch.no_grad()
    def transfer(self, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Eval-mode G(x) without gradients, in batches; returns float32 on the CPU."""
        self.check_source(x, "x")
        with eval_mode(self):
            return torch.cat([self(c).float().cpu() for c in x.split(batch_size)]) if len(x) else \
                torch.zeros(0, self.config.target_channels, self.config.image_size, self.config.image_size)


def save_dtn(dtn: DTN, path: str | os.PathLike, *, half: bool = False, include_discriminator: bool = True,
             info: dict | None = None, extra_tensors: dict | None = None, extra_meta: dict | None = None) -> Path:
    """One safetensors file (:func:`latentlab.io.write_model_file`, kind "dtn"; atomic, never pickle):
    ``encoder.*`` (f, needed to rebuild G), ``decoder.*``, ``discriminator.*``; metadata format,
    format_version, config (DTNConfig JSON), sha256, encoder_config, step, info."""
    if not isinstance(dtn, DTN):
        raise TypeError(f"dtn: expected a DTN, got {type(dtn).__name__}")
    if not isinstance(dtn.encoder, Encoder):
        raise TypeError(f"dtn.encoder: only a latentlab.transfer.Encoder can be saved in a DTN file, got "
                        f"{type(dtn.encoder).__name__}")
    tensors = network_tensors([("encoder", dtn.encoder), ("decoder", dtn.decoder)],
                              dtn.discriminator if include_discriminator else None, half=half, extra=extra_tensors)
    meta = {"encoder_config": json.dumps(dtn.encoder.config.to_dict()), "step": str(int(dtn.step)),
            "info": json.dumps(info if info is not None else dtn.info), **(extra_meta or {})}
    return write_model_file(path, "dtn", tensors, json.dumps(dtn.config.to_dict()), meta)


def _identify(path):
    return format_identify("dtn", f"checkpoint {str(path)!r} is not a DTN file")


def dtn_from_state(tensors: dict, meta: dict, path) -> DTN:
    """A DTN from a DTN file's tensors and metadata, after the model-file checks (format, version, sha256)."""
    return dtn_from_file(check_model_file(ModelFile(Path(path), tensors, meta, 0), "dtn", _identify(path)))


def dtn_from_file(model_file: ModelFile) -> DTN:
    config = model_file.config(DTNConfig, label="bad config")
    f = Encoder(model_file.config(EncoderConfig, "encoder_config", label="bad config"))
    model_file.load_into(f, "encoder")
    has_d = model_file.has("discriminator")
    dtn = DTN(config, f, with_discriminator=has_d)
    model_file.load_into(dtn.decoder, "decoder")
    if has_d:
        model_file.load_into(dtn.discriminator, "discriminator")
    dtn.step = model_file.step()
    dtn.info = model_file.info()
    dtn.source_path = str(model_file.path)
    return dtn.eval()


def load_dtn(path: str | os.PathLike) -> DTN:
    """Rebuild a DTN (f, g and D if stored; float32, eval mode) from :func:`save_dtn`'s file or a training
    checkpoint. FileNotFoundError if absent; CheckpointError (a ValueError) naming the file otherwise."""
    return dtn_from_file(read_model_file(path, "dtn", identify=_identify(path)))


def load_f(path: str | os.PathLike) -> Encoder:
    """f from an encoder file (:func:`~latentlab.transfer.save_encoder`) or from a DTN file (its encoder, e.g. a
    shipped model's f, for a run that trains a new g on it; fp16 files load as float32)."""
    return load_dtn(path).encoder if read_metadata(path).get("format") == DTN_FORMAT else load_encoder(path)
