"""The bad-input catalogue (docs/BAD_INPUTS.md): every row is one case here, run and checked.

Each case states where the bad input goes in, the exception (or CLI exit code) it must get and a
distinctive part of the message. The catalogue and these cases are kept in sync by
``test_catalogue_matches_the_cases`` (row numbers, where, bad input, exception columns) and by the
parametrised test itself (every piece of the catalogue's abbreviated message, split at "…", must occur
in the real message). ``python tests/test_bad_inputs.py`` prints the table from the live messages.

Tiny models only (nz=8, 32/64 px); CLI rows run ``latentlab.cli.main`` in-process.
"""
from __future__ import annotations

import json
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import GAN, CheckpointError, ModelConfig, Trace, cli, load, load_pretrained, save
from latentlab.attribution import FilterGuidedBackprop, filter_report, layer_activations, top_images
from latentlab.data import ImageFolderDataset, get_dataset
from latentlab.dissect import (Probe, ablate, ablate_layers, box_to_grid, collect_features, fit_probe, forget, generate,
                               load_boxes_json, validate_boxes)
from _catalogue import error_line as _error_line
from _catalogue import uncell as _uncell
from _stand_ins import StandInSegmenter
from latentlab.io import load_safetensors, save_safetensors
from latentlab.judges import load_judge
from latentlab.judges.faces import FaceJudge
from latentlab.judges.fashion import FashionClassifier
from latentlab.judges.rooms import RoomSegmenter
from latentlab.latent import Arithmetic, ImageStatsJudge, RotationAxis, Walk, slerp
from latentlab.metrics import EvalSettings, RealData, evaluate, load_real
from latentlab.models import sample_prior
from latentlab.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parent.parent
import _bad_input_table  # noqa: E402  (the rows; docs/BAD_INPUTS.md is generated from them)

CATALOGUE = Path(_bad_input_table.__file__)
pytestmark = [pytest.mark.filterwarnings("ignore:skipping unreadable image"),  # the rows about them check it
              pytest.mark.usefixtures("one_thread")]



# --------------------------------------------------------------------------------------------------
# the cases


@dataclass
class Case:
    where: str                  # catalogue column "where": the function or CLI command
    bad: str                    # catalogue column "bad input"
    exc: type | None            # the exception (CLI: raised with LATENTLAB_DEBUG=1; None when the command
                                # reports it itself or argparse does)
    match: str                  # regex on the message (CLI: on the error line of stderr)
    run: Callable | list        # fn(ctx) for the API; an argument list (format keys of ctx) for the CLI
    kind: str = "api"           # "api" (raises), "warn" (warns, goes on) or "cli" (exit code 2)
    label: str | None = None    # catalogue column "exception type" when not derived from exc

    @property
    def exc_label(self) -> str:
        if self.label:
            return self.label
        name = self.exc.__name__
        builtin = next(b for b in self.exc.__mro__ if b.__module__ == "builtins")
        text = name if builtin is self.exc else f"{name} ({builtin.__name__})"
        return f"exit 2, {text}" if self.kind == "cli" else text


def cli_case(where, bad, args, match, exc=None, label=None):
    return Case(where, bad, exc, match, args, "cli", label or (None if exc else "exit 2"))


def _ablate_run(G, z, **kw):
    with ablate(G, "block2", **kw):
        return G(z)


def _skips_one(ctx):
    ds = ImageFolderDataset(ctx.tmp / "mixed", image_size=32)
    assert len(ds) == 1 and ds.skipped == [str(ctx.tmp / "mixed" / "broken.png")]  # named, and the good one kept
    return ds


def _arithmetic(ctx, define: str | None = None):
    ar = Arithmetic(ctx.g32, judge=ctx.judge, pool_size=40, seed=0)
    if define:
        ar.concept(define, z=torch.ones(3, 8))
    return ar


Z8 = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
NAN_Z = torch.full((2, 8), float("nan"))
X32 = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))

CASES: list[Case] = [
    # ---- generators, sampling, devices
    Case("`G(z)` (any latentlab generator)", "z of shape (2, 7) for nz=8", ValueError,
         r"z: expected shape \(N, 8\) or \(N, 8, 1, 1\), got \(2, 7\)", lambda c: c.g32.generator(torch.randn(2, 7))),
    Case("`G(z)`", "z of dtype int64", TypeError, r"z: expected a floating point tensor, got dtype torch.int64",
         lambda c: c.g32.generator(torch.zeros(2, 8, dtype=torch.long))),
    Case("`G(z)`", "z in float64 (weights float32)", TypeError,
         r"z: expected dtype torch.float32 \(the generator's weights\), got torch.float64",
         lambda c: c.g32.generator(Z8.double())),
    Case("`G(z)`", "z containing NaN", ValueError, r"z: contains NaN or inf values",
         lambda c: c.g32.generator(NAN_Z)),
    Case("`G(z)`", "z as a Python list", TypeError, r"z: expected a torch.Tensor of shape \(N, 8\), got list",
         lambda c: c.g32.generator([[0.0] * 8])),
    Case("`G(z)`", "empty batch, shape (0, 8)", ValueError, r"z: expected at least one vector, got an empty batch",
         lambda c: c.g32.generator(torch.empty(0, 8))),
    Case("`GAN.sample(n)`", "n=0", ValueError, r"n: expected a positive int, got 0", lambda c: c.g32.sample(0)),
    Case("`GAN.sample(n)`", "n=-3", ValueError, r"n: expected a positive int, got -3", lambda c: c.g32.sample(-3)),
    Case("`GAN.sample(n, batch_size=)`", "batch_size=0", ValueError, r"batch_size: expected a positive int, got 0",
         lambda c: c.g32.sample(4, batch_size=0)),
    Case("`GAN.sample(classes=)` (AC-GAN, 10 classes)", "class 10", ValueError,
         r"c: class labels must be in 0\.\.9, got values in 10\.\.10", lambda c: c.ac.sample(2, classes=10)),
    Case("`GAN.sample(classes=)` (AC-GAN)", "float classes", TypeError,
         r"c: expected integer class labels, got dtype torch.float32",
         lambda c: c.ac.sample(2, classes=torch.tensor([0.0, 1.0]))),
    Case("`GAN.sample()` (AC-GAN)", "no classes", ValueError, r"c: this AC-GAN needs a class per sample",
         lambda c: c.ac.sample(2)),
    Case("`sample_prior(device=)`", "device='cuda:99' (no such GPU)", ValueError,
         r"device: 'cuda:99' was asked for, but", lambda c: sample_prior(2, 8, device="cuda:99")),
    Case("`sample_prior(device=)`", "device='gpu0' (not a device string)", ValueError,
         r"device: unknown device 'gpu0'", lambda c: sample_prior(2, 8, device="gpu0")),
    Case("`RoomSegmenter.load(path, map_location=)`", "map_location='cuda:99'", ValueError,
         r"map_location: 'cuda:99' was asked for, but",
         lambda c: RoomSegmenter.load(c.tmp / "seg.safetensors", map_location="cuda:99")),
    Case("`ModelConfig(...)`", "image_size=48", ValueError, r"image_size: expected one of \(32, 64, 128\), got 48",
         lambda c: ModelConfig(image_size=48)),
    Case("`ModelConfig(...)`", "version=2 (from a newer latentlab)", ValueError,
         r"version: config version 2 is newer than this latentlab understands", lambda c: ModelConfig(version=2)),
    Case("`TrainConfig(...)`", "steps=0", ValueError, r"steps: expected a positive int, got 0",
         lambda c: TrainConfig(steps=0)),
    Case("`TrainConfig(...)`", "batch_size=-1", ValueError, r"batch_size: expected a positive int, got -1",
         lambda c: TrainConfig(batch_size=-1)),
    # ---- discriminators and judges: image size, channels, dtype, range
    Case("`D(x)` (DCGAN discriminator, 32 px RGB)", "64 px images", ValueError,
         r"images: expected shape \(N, 3, 32, 32\), got \(2, 3, 64, 64\)",
         lambda c: c.g32.discriminator(torch.randn(2, 3, 64, 64))),
    Case("`D(x)`", "1-channel images for an RGB model", ValueError,
         r"images: expected shape \(N, 3, 32, 32\), got \(2, 1, 32, 32\)",
         lambda c: c.g32.discriminator(torch.randn(2, 1, 32, 32))),
    Case("`D(x)`", "images in float64", TypeError,
         r"images: expected dtype torch.float32 \(the discriminator's weights\), got torch.float64",
         lambda c: c.g32.discriminator(X32.double())),
    Case("`RoomSegmenter.predict(images)`", "32 px images (judge takes 64 px)", ValueError,
         r"images must have shape \(N, 3, 64, 64\), got \(2, 3, 32, 32\)", lambda c: c.seg.predict(X32)),
    Case("`FaceJudge.predict(images)`", "1-channel images", ValueError,
         r"images must have shape \(N, 3, 64, 64\), got \(2, 1, 64, 64\)",
         lambda c: FaceJudge().predict(torch.zeros(2, 1, 64, 64))),
    Case("`FashionClassifier.predict(images)`", "values 5.0, outside [-1, 1]", ValueError,
         r"images must be in \[-1, 1\], got values in \[5, 5\]",
         lambda c: FashionClassifier().predict(torch.full((2, 1, 32, 32), 5.0))),
    Case("`load_judge(name)`", "'bedrooms'", ValueError, r"name: unknown judge 'bedrooms'",
         lambda c: load_judge("bedrooms")),
    # ---- checkpoint files
    Case("`load(path)`", "missing file", FileNotFoundError, r"checkpoint '.*nothere\.safetensors' does not exist",
         lambda c: load(c.tmp / "nothere.safetensors")),
    Case("`load(path)`", "file cut in half", CheckpointError, r"truncated\.safetensors' is not a valid safetensors",
         lambda c: load(c.tmp / "truncated.safetensors")),
    Case("`load(path)`", "5-byte file", CheckpointError, r"is truncated or empty \(5 bytes\)",
         lambda c: load(c.tmp / "short.safetensors")),
    Case("`load(path)`", "a pickle renamed .safetensors", CheckpointError,
         r"looks like a pickle / torch.save file; latentlab only reads safetensors and never unpickles",
         lambda c: load(c.tmp / "pickle.safetensors")),
    Case("`load(path)`", "a foreign safetensors file", CheckpointError,
         r"is not a latentlab model file \(metadata 'format' is None", lambda c: load(c.tmp / "foreign.safetensors")),
    Case("`load(path)`", "config version 2 in the metadata", CheckpointError,
         r"invalid config: config version 2 is newer than this latentlab understands",
         lambda c: load(c.tmp / "newer.safetensors")),
    Case("`load(path)`", "format_version 9", CheckpointError, r"was written by a newer latentlab \(format 9\)",
         lambda c: load(c.tmp / "newformat.safetensors")),
    Case("`load(path)`", "a tensor of the wrong shape", CheckpointError,
         r"tensor generator\.block1\.conv\.weight has shape \(1, 1, 1, 1\), the config expects",
         lambda c: load(c.tmp / "shape.safetensors")),
    Case("`load_pretrained(name)`", "'bedrooms'", ValueError, r"name: unknown pretrained model 'bedrooms'",
         lambda c: load_pretrained("bedrooms")),
    Case("`load_pretrained(name)`", "42", TypeError, r"name: expected a model name or path, got int",
         lambda c: load_pretrained(42)),
    # ---- layers, maps, boxes, probes (dissect)
    Case("`Trace(G, layer)`", "'block9'", ValueError, r"layer: unknown layer name 'block9'; top-level layers are",
         lambda c: Trace(c.g64.generator, "block9")),
    Case("`Probe(G, layer)`", "'nope'", ValueError, r"layer: unknown layer name 'nope'",
         lambda c: Probe(c.g64.generator, "nope")),
    Case("`ablate(G, layer, maps)`", "layer 'nope'", ValueError, r"layer: unknown layer name 'nope'",
         lambda c: ablate(c.g64.generator, "nope", [0]).__enter__()),
    Case("`ablate(G, 'block2', maps)` (32 maps)", "maps=[40]", ValueError,
         r"maps: indices \[40\] out of range; the layer has 32 maps \(0\.\.31\)",
         lambda c: _ablate_run(c.g64.generator, Z8, maps=[40])),
    Case("`ablate(G, 'block2', maps)`", "maps=[-1]", ValueError, r"maps: indices \[-1\] out of range",
         lambda c: _ablate_run(c.g64.generator, Z8, maps=[-1])),
    Case("`ablate(G, 'block2', maps)`", "maps=[1.5]", ValueError, r"maps: indices must be integers, got 1\.5",
         lambda c: _ablate_run(c.g64.generator, Z8, maps=[1.5])),
    Case("`ablate(..., region=, image_size=64)`", "region (-10, -10, -2, -2)", ValueError,
         r"region: box \(-10, -10, -2, -2\) lies outside the 64x64 image",
         lambda c: _ablate_run(c.g64.generator, Z8, maps=[0], region=(-10, -10, -2, -2), image_size=64)),
    Case("`ProbeResult.top(k)`", "k larger than the positive-weight maps", ValueError,
         r"k: 99 is larger than the number of positive-weight maps", lambda c: c.probe.top(99)),
    Case("`validate_boxes(boxes, n, 64)`", "box (0, 0, 65, 5): outside the image", ValueError,
         r"boxes\[0\]\[0\]: box \(0, 0, 65, 5\) lies outside the 64x64 image",
         lambda c: validate_boxes([[(0, 0, 65, 5)]], 1, 64)),
    Case("`validate_boxes(boxes, n, 64)`", "inverted box (10, 10, 5, 20)", ValueError,
         r"box \(10, 10, 5, 20\) is empty or inverted", lambda c: validate_boxes([[(10, 10, 5, 20)]], 1, 64)),
    Case("`validate_boxes(boxes, n, 64)`", "empty box (10, 10, 10, 20)", ValueError,
         r"box \(10, 10, 10, 20\) is empty or inverted", lambda c: validate_boxes([[(10, 10, 10, 20)]], 1, 64)),
    Case("`fit_probe(features, boxes, 64)`", "a box outside the image", ValueError,
         r"boxes\[0\]\[0\]: box \(-20, -20, -4, -4\) lies outside",
         lambda c: fit_probe(torch.randn(2, 4, 8, 8), [[(-20, -20, -4, -4)], [(0, 0, 16, 16)]], 64)),
    Case("`box_to_grid(box, 64, grid)`", "inverted box (40, 40, 20, 20)", ValueError,
         r"box: box \(40, 40, 20, 20\) is empty or inverted", lambda c: box_to_grid((40, 40, 20, 20), 64, (8, 8))),
    Case("`fit_probe(features, boxes, 64)`", "no box in any sample", ValueError,
         r"boxes: no object boxes were found in the 4 samples searched",
         lambda c: fit_probe(torch.randn(4, 4, 8, 8), [[] for _ in range(4)], 64)),
    Case("`collect_features(G, layer, z)`", "z containing NaN", ValueError, r"z: contains NaN or inf values",
         lambda c: collect_features(c.g64.generator, "block2", NAN_Z)),
    Case("`forget(G, segmenter, n_probe=)`", "n_probe=0", ValueError, r"n_probe: expected an int >= 2, got 0",
         lambda c: forget(c.g64.generator, StandInSegmenter(), n_probe=0, progress=False)),
    Case("`forget(G, segmenter, obj=)`", "obj='door' (not a segmenter class)", ValueError,
         r"object: 'door' is not a class of the segmenter; classes are \['wall', 'window'\]",
         lambda c: forget(c.g64.generator, StandInSegmenter(), obj="door", n_probe=4, n_eval=2, progress=False)),
    Case("`load_boxes_json(path, n, 64)`", "missing file", FileNotFoundError, r"boxes: file '.*none\.json' does not",
         lambda c: load_boxes_json(c.tmp / "none.json", 2, 64)),
    # ---- discriminator filters (attribution)
    Case("`layer_activations(D, images, layer)`", "layer 'nope'", ValueError,
         r"layer: unknown layer name 'nope'; valid names are \['from_rgb'",
         lambda c: layer_activations(c.g32.discriminator, X32, "nope")),
    Case("`layer_activations(D, images)` (32 px D)", "64 px images", ValueError,
         r"images: expected shape \(N, 3, 32, 32\), got \(2, 3, 64, 64\)",
         lambda c: layer_activations(c.g32.discriminator, torch.randn(2, 3, 64, 64))),
    Case("`FilterGuidedBackprop(D, 'block3').attribute(x, filter=)`", "filter=99 (32 filters)", ValueError,
         r"filter: expected 0 <= filter < 32 \(layer 'block3' has 32 filters\), got 99",
         lambda c: FilterGuidedBackprop(c.g32.discriminator, "block3").attribute(X32, filter=99)),
    Case("`top_images(activations, k)`", "k=5 for 3 images", ValueError,
         r"k: expected an int with 1 <= k <= 3 \(number of images\), got 5",
         lambda c: top_images(torch.randn(3, 4, 2, 2), 5)),
    Case("`filter_report(gan, data)`", "data='faces' (no label maps)", ValueError,
         r"data: filter dissection needs label maps", lambda c: filter_report(c.g64, "faces", n=4)),
    # ---- the latent space
    Case("`Walk.path(keyframes)`", "one keyframe, shape (1, 8)", ValueError,
         r"keyframes: expected at least 2 vectors as a \(K, D\) tensor, got \(1, 8\)",
         lambda c: Walk(c.g32, features="pixels").path(torch.randn(1, 8))),
    Case("`Walk.path(keyframes)`", "empty keyframes, shape (0, 8)", ValueError,
         r"keyframes: expected at least one vector, got an empty batch \(0, 8\)",
         lambda c: Walk(c.g32, features="pixels").path(torch.empty(0, 8))),
    Case("`Walk.between(z0, z1, steps=)`", "steps=1", ValueError, r"steps: expected an int >= 2",
         lambda c: Walk(c.g32, features="pixels").between(Z8[0], Z8[1], steps=1)),
    Case("`Walk.between(z0, z1)`", "z0 containing inf", ValueError, r"z0: contains NaN or inf values",
         lambda c: Walk(c.g32, features="pixels").between(torch.full((8,), float("inf")), Z8[1])),
    Case("`Walk(generator, prior).random()`", "a generator returning (N, 8) vectors: not images", TypeError,
         r"generator: expected a module returning images \(N, C, H, W\) with N=8, got \(8, 8\)",
         lambda c: Walk(torch.nn.Linear(8, 8), "normal", features="pixels").random(seed=0)),
    Case("`Walk(generator)`", "a foreign module without prior=", ValueError,
         r"prior: required for a generator that is not a latentlab model \(Linear\)",
         lambda c: Walk(torch.nn.Linear(8, 8))),
    Case("`Walk(gan, c=3).random()`", "a class for an unconditional DCGAN", ValueError,
         r"c: this generator \(DCGANGenerator\) is not class-conditional",
         lambda c: Walk(c.g32, c=3, features="pixels").random(seed=0)),
    Case("`Walk(gan, factor=)`", "factor=0.5", ValueError, r"factor: expected a number > 1",
         lambda c: Walk(c.g32, factor=0.5)),
    Case("`Walk.classes(z, c0, c1)` (AC-GAN, 10 classes)", "c1=12", ValueError,
         r"c1: expected a class index in 0\.\.9, got 12",
         lambda c: Walk(c.ac, features="pixels").classes(Z8[0], 0, 12)),
    Case("`slerp(z0, z1, t)`", "z0 containing NaN", ValueError, r"z0: contains NaN or inf values",
         lambda c: slerp(NAN_Z[0], Z8[1], 0.5)),
    Case("`slerp(z0, z1, t)`", "t=NaN", ValueError, r"t: contains NaN or inf values",
         lambda c: slerp(Z8[0], Z8[1], float("nan"))),
    Case("`Arithmetic.concept(name, z=)`", "no exemplars, shape (0, 8)", ValueError,
         r"z: expected at least one vector, got an empty batch \(0, 8\)",
         lambda c: _arithmetic(c).concept("a", z=torch.empty(0, 8))),
    Case("`Arithmetic.concept(name, indices=)`", "indices=[]", ValueError,
         r"indices: expected indices into the pool of 40 samples \(0\.\.39\), got \[\]",
         lambda c: _arithmetic(c).concept("a", indices=[])),
    Case("`Arithmetic.concept(name, **query)`", "a query no pool sample matches (yaw >= 2)", ValueError,
         r"query yaw=\(2\.0, None\): 0 of 40 pool samples match, fewer than the k=3 exemplars",
         lambda c: _arithmetic(c).concept("a", yaw=(2.0, None))),
    Case("`Arithmetic.concept(name, **query)`", "a label the judge does not give (beard=1)", ValueError,
         r"beard: the judge gives no label 'beard'", lambda c: _arithmetic(c).concept("a", beard=1)),
    Case("`Arithmetic.evaluate(expression)`", "an undefined concept ('a - nobody')", ValueError,
         r"expression: unknown concept\(s\) \['nobody'\]", lambda c: _arithmetic(c, "a").evaluate("a - nobody")),
    Case("`RotationAxis.fit(left=, right=)`", "2 left exemplars for k=4", ValueError,
         r"left: expected at least k=4 left-looking exemplars, got 2",
         lambda c: RotationAxis(c.g32, judge=c.judge).fit(left=torch.randn(2, 8), right=torch.randn(4, 8))),
    # ---- data
    Case("`ImageFolderDataset(root)`", "one unreadable .png among good images", UserWarning,
         r"skipping unreadable image .*broken\.png", _skips_one, kind="warn",
         label="UserWarning (file skipped and listed in `.skipped`)"),
    Case("`ImageFolderDataset(root)`", "a folder of unreadable images only", ValueError,
         r"root: no readable images in '.*bad' .*2 unreadable", lambda c: ImageFolderDataset(c.tmp / "bad")),
    Case("`ImageFolderDataset(root, verify=False)[i]`", "an unreadable file", OSError,
         r"image '.*broken\.png' could not be read",
         lambda c: [x for x in ImageFolderDataset(c.tmp / "mixed", image_size=32, verify=False)]),
    Case("`ImageFolderDataset(root)`", "a folder that does not exist", FileNotFoundError,
         r"root: '.*nothere' is not a directory of images", lambda c: ImageFolderDataset(c.tmp / "nothere")),
    Case("`get_dataset(name)`", "'imagenet'", ValueError, r"data: 'imagenet' is neither a built-in dataset",
         lambda c: get_dataset("imagenet")),
    Case("`get_dataset('rooms', n=)`", "n=0", ValueError, r"n: expected a positive int, got 0",
         lambda c: get_dataset("rooms", n=0)),
    Case("`load_real(dataset, n_heldout=)`", "'cifar10'", ValueError, r"dataset: no default real data for 'cifar10'",
         lambda c: load_real("cifar10", n_heldout=4)),
    # ---- metrics
    Case("`evaluate(gan, n=)`", "n=1", ValueError, r"n: 1 is too small for fd_judge \(needs >= 2",
         lambda c: evaluate(c.g32, n=1, judge=c.judge, real=c.real32, settings=EvalSettings(progress=False))),
    Case("`evaluate(gan, real=)` (32 px model)", "64 px real images", ValueError,
         r"real: train images are \(3, 64, 64\), the model generates \(3, 32, 32\)",
         lambda c: evaluate(c.g32, n=8, judge=c.judge, real=c.real64, settings=EvalSettings(progress=False))),
    # ---- the command line
    cli_case("`latentlab train`", "--steps -5", ["train", "--data", "rooms", "--out", "{tmp}/r", "--steps", "-5"],
             r"argument --steps: expected a positive integer, got -5", label="exit 2 (argparse)"),
    cli_case("`latentlab train`", "--data imagenet", ["train", "--data", "imagenet", "--out", "{tmp}/r"],
             r"--data: 'imagenet' is neither a built-in dataset", exc=cli.UsageError),
    cli_case("`latentlab train`", "--batch-size 1", ["train", "--data", "{tmp}/flat", "--image-size", "32",
                                                     "--out", "{tmp}/r", "--batch-size", "1"],
             r"--batch-size: BatchNorm needs at least 2 images per batch", exc=cli.UsageError),
    cli_case("`latentlab train`", "--arch acgan on a folder without class sub-folders",
             ["train", "--data", "{tmp}/flat", "--image-size", "32", "--arch", "acgan", "--out", "{tmp}/r"],
             r"--arch acgan: the dataset '.*flat' has no image classes", exc=cli.UsageError),
    cli_case("`latentlab train`", "--data: a folder of unreadable images only",
             ["train", "--data", "{tmp}/bad", "--out", "{tmp}/r"], r"--data '.*bad': root: no readable images",
             exc=cli.UsageError),
    cli_case("`latentlab sample`", "--n 0", ["sample", "--model", "{tmp}/m32.safetensors", "--n", "0"],
             r"argument --n: expected a positive integer, got 0", label="exit 2 (argparse)"),
    cli_case("`latentlab sample`", "--model bedrooms", ["sample", "--model", "bedrooms"],
             r"--model: 'bedrooms' is neither a shipped model", exc=cli.UsageError),
    cli_case("`latentlab sample`", "--model: a truncated file", ["sample", "--model", "{tmp}/truncated.safetensors"],
             r"--model: '.*truncated\.safetensors' is not a latentlab GAN checkpoint \(checkpoint '.*truncated\.safetensors' is not a valid safetensors file", exc=cli.UsageError),
    cli_case("`latentlab sample`", "--model: config from a newer version",
             ["sample", "--model", "{tmp}/newer.safetensors"], r"config version 2 is newer than this latentlab",
             exc=cli.UsageError),
    cli_case("`latentlab sample`", "--class 7 for a 3-class AC-GAN",
             ["sample", "--model", "{tmp}/ac3.safetensors", "--class", "7", "--out", "{tmp}/g.png"],
             r"--class: expected 0\.\.2 for this 3-class model, got 7", exc=cli.UsageError),
    cli_case("`latentlab walk`", "--steps 1", ["walk", "{tmp}/m32.safetensors", "--out", "{tmp}/w", "--steps", "1"],
             r"steps: expected an int >= 2", exc=ValueError),
    cli_case("`latentlab walk`", "--keyframes 1",
             ["walk", "{tmp}/m32.safetensors", "--out", "{tmp}/w", "--keyframes", "1"],
             r"keyframes: expected an int >= 2, got 1", exc=ValueError),
    cli_case("`latentlab walk`", "--class-walk 0 1 on a DCGAN",
             ["walk", "{tmp}/m32.safetensors", "--out", "{tmp}/w", "--class-walk", "0", "1"],
             r"generator: class walks need an AC-GAN", exc=TypeError),
    cli_case("`latentlab walk`", "--class 5 for a 3-class AC-GAN",
             ["walk", "{tmp}/ac3.safetensors", "--out", "{tmp}/w", "--class", "5"],
             r"--class: expected 0\.\.2 for this 3-class model, got 5", exc=ValueError),
    cli_case("`latentlab evaluate`", "--n 1", ["evaluate", "{tmp}/m32.safetensors", "--n", "1", "--no-progress"],
             r"n: 1 is too small for fd_judge"),
    cli_case("`latentlab evaluate`", "a model whose dataset has no judge",
             ["evaluate", "{tmp}/m32.safetensors", "--n", "8", "--no-progress"],
             r"model: its dataset is '', which has no judge"),
    cli_case("`latentlab forget`", "--n-probe 0", ["forget", "{tmp}/m64.safetensors", "--n-probe", "0", "--out",
                                                   "{tmp}/f"], r"n_probe: expected an int >= 2, got 0", exc=ValueError),
    cli_case("`latentlab forget`", "--layer nope", ["forget", "{tmp}/m64.safetensors", "--layer", "nope", "--out",
                                                    "{tmp}/f"], r"layer: unknown layer name 'nope'", exc=ValueError),
    cli_case("`latentlab forget`", "--boxes: a missing JSON file",
             ["forget", "{tmp}/m64.safetensors", "--boxes", "{tmp}/none.json", "--out", "{tmp}/f"],
             r"boxes: file '.*none\.json' does not exist", exc=FileNotFoundError),
    cli_case("`latentlab forget`", "a 32 px model (the rooms segmenter takes 64 px)",
             ["forget", "{tmp}/m32.safetensors", "--n-probe", "4", "--n-eval", "2", "--out", "{tmp}/f"],
             r"images must have shape \(N, 3, 64, 64\), got \(4, 3, 32, 32\)", exc=ValueError),
    cli_case("`latentlab filters`", "--n 0", ["filters", "{tmp}/m64.safetensors", "--out", "{tmp}/fi", "--n", "0"],
             r"n: expected a positive int, got 0"),
    cli_case("`latentlab filters`", "--data faces", ["filters", "{tmp}/m64.safetensors", "--out", "{tmp}/fi",
                                                     "--data", "faces"], r"data: filter dissection needs label maps"),
    cli_case("`latentlab filters`", "--layer block9", ["filters", "{tmp}/m64.safetensors", "--out", "{tmp}/fi",
                                                       "--layer", "block9", "--n", "4"],
             r"layer: unknown layer name 'block9'; valid names are"),
    Case("`ModelConfig(...)`", "class_input='film' (AC-GAN)", ValueError,
         r"class_input: expected one of \('onehot', 'embedding'\), got 'film'",
         lambda c: ModelConfig(arch="acgan", num_classes=3, class_input="film")),
    Case("`G(z, embedding=e)` (AC-GAN)", "e of the wrong width", ValueError,
         r"embedding: expected shape \(2, 3\) \(class_input='onehot'\), got \(2, 50\)",
         lambda c: GAN(ModelConfig(arch="acgan", num_classes=3, nz=8, ngf=4, ndf=4, image_size=32)).generator(
             torch.zeros(2, 8), embedding=torch.zeros(2, 50))),
    Case("`TrainConfig(...)`", "ema_decay=1.0", ValueError, r"ema_decay: expected a float in \[0, 1\) \(0 = off\), got 1.0",
         lambda c: TrainConfig(ema_decay=1.0)),
    Case("`Trainer(..., init=)`", "a file that does not exist", FileNotFoundError,
         r"init: '.*none\.safetensors' is not a file \(expected a latentlab model file\)",
         lambda c: Trainer(ModelConfig(nz=8, ngf=8, ndf=8, image_size=32), TrainConfig(steps=1, batch_size=2),
                           get_dataset("rooms", n=4, image_size=32), c.tmp / "r0", init=c.tmp / "none.safetensors")),
    Case("`Trainer(..., init=).fit()`", "a model of another architecture (ngf 8 vs 4)", ValueError,
         r"init: '.*m32\.safetensors' has another architecture \(file vs requested: \{'ngf': \(8, 4\)",
         lambda c: Trainer(ModelConfig(nz=8, ngf=4, ndf=8, image_size=32), TrainConfig(steps=1, batch_size=2,
                                                                                    progress=False),
                           get_dataset("rooms", n=4, image_size=32), c.tmp / "r1", init=c.tmp / "m32.safetensors").fit()),
    Case("`save(gan, path, generator=)`", "a generator of another architecture", ValueError,
         r"generator: its tensors do not match gan.generator's",
         lambda c: save(c.g32, c.tmp / "x.safetensors", generator=c.ac.generator)),
    Case("`ablate_layers(G, drops)`", "a list instead of {layer: maps}", TypeError,
         r"drops: expected a mapping \{layer name: map indices\}, got list",
         lambda c: ablate_layers(c.g64.generator, ["block1"]).__enter__()),
    Case("`ablate_layers(G, drops)`", "{'block1': [0], 'nope': [1]}", ValueError, r"layer: unknown layer name 'nope'",
         lambda c: ablate_layers(c.g64.generator, {"block1": [0], "nope": [1]}).__enter__()),
    Case("`generate(G, z, layer=, maps=, drops=)`", "the same layer in layer= and drops", ValueError,
         r"drops: layer 'block2' is given both as layer= and in drops",
         lambda c: generate(c.g64.generator, Z8, layer="block2", maps=[0], drops={"block2": [1]})),
]
IDS = [str(i) for i in range(1, len(CASES) + 1)]


# --------------------------------------------------------------------------------------------------
# the shared context: tiny models, files and folders, built once


def _png(path, value=0):
    Image.fromarray(np.full((32, 32, 3), value, np.uint8)).save(path)


def build_context(tmp: Path) -> SimpleNamespace:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        g32 = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32)).eval()
        g64 = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms")).eval()
        ac = GAN(ModelConfig(arch="acgan", nz=8, ngf=8, ndf=8, image_size=32, channels=1, num_classes=10)).eval()
        ac3 = GAN(ModelConfig(arch="acgan", nz=8, ngf=4, ndf=4, image_size=32, channels=1, num_classes=3,
                              class_names=("a", "b", "c"))).eval()
        seg = RoomSegmenter().eval()
    save(g32, tmp / "m32.safetensors")
    save(g64, tmp / "m64.safetensors")
    save(ac3, tmp / "ac3.safetensors")
    seg.save(tmp / "seg.safetensors")
    data = (tmp / "m32.safetensors").read_bytes()
    (tmp / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (tmp / "short.safetensors").write_bytes(data[:5])
    (tmp / "pickle.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=2))
    save_safetensors(tmp / "foreign.safetensors", {"w": torch.zeros(2)}, {})
    tensors, meta = load_safetensors(tmp / "m32.safetensors")
    cfg = json.loads(meta["config"])
    save_safetensors(tmp / "newer.safetensors", tensors, {**meta, "config": json.dumps({**cfg, "version": 2})})
    save_safetensors(tmp / "newformat.safetensors", tensors, {**meta, "format_version": "9"})
    unchecked = {k: v for k, v in meta.items() if k != "sha256"}  # as older files: the shape check is reached
    save_safetensors(tmp / "shape.safetensors", {**tensors, "generator.block1.conv.weight": torch.zeros(1, 1, 1, 1)},
                     unchecked)
    for name in ("flat", "mixed", "bad"):
        (tmp / name).mkdir()
    for i in range(3):
        _png(tmp / "flat" / f"{i}.png", 40 * i)
    _png(tmp / "mixed" / "ok.png")
    (tmp / "mixed" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    (tmp / "bad" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    (tmp / "bad" / "b.jpg").write_bytes(b"")
    judge = ImageStatsJudge(g32.sample(64, seed=1))
    g = torch.Generator().manual_seed(2)

    def real(size):
        return RealData(*(torch.rand(n, 3, size, size, generator=g) * 2 - 1 for n in (8, 8, 8)))

    feats = torch.randn(6, 4, 8, 8, generator=g)
    boxes = [[(0, 0, 32, 32)] for _ in range(6)]
    feats[:, 1, :4, :4] += 3.0  # map 1 marks the boxes
    probe = fit_probe(feats, boxes, 64, holdout=0)
    return SimpleNamespace(tmp=tmp, g32=g32, g64=g64, ac=ac, seg=seg, judge=judge, real32=real(32), real64=real(64),
                           probe=probe)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return build_context(tmp_path_factory.mktemp("bad_inputs"))


# --------------------------------------------------------------------------------------------------
# running a case, and the catalogue


def run_case(case: Case, ctx, capsys=None, monkeypatch=None) -> str:
    """Trigger the bad input, check the exception (or exit code) and return the message."""
    if case.kind == "cli":
        args = [str(a).format(tmp=ctx.tmp) for a in case.run]
        code = cli.main(args)
        err = capsys.readouterr().err
        assert code == 2, err[-1000:]
        assert "Traceback" not in err
        message = _error_line(err)
        assert re.search(case.match, message), message
        if case.exc is not None:  # the exception behind the exit code, as LATENTLAB_DEBUG=1 shows it
            monkeypatch.setenv("LATENTLAB_DEBUG", "1")
            with pytest.raises(case.exc, match=case.match):
                cli.main(args)
            monkeypatch.delenv("LATENTLAB_DEBUG")
            capsys.readouterr()
        return message
    if case.kind == "warn":
        with pytest.warns(case.exc, match=case.match) as record:
            case.run(ctx)
        return next(str(w.message) for w in record if re.search(case.match, str(w.message)))
    with pytest.raises(case.exc, match=case.match) as info:
        case.run(ctx)
    return str(info.value)


def abbreviate(message: str, tmp: Path, limit: int = 110) -> str:
    text = message.replace(str(tmp), "…")
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > limit // 2 else limit] + " …"
    return text


def _cell(text: str) -> str:
    text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def render_rows(ctx) -> str:
    """The table's rows from the live messages (``python tests/test_bad_inputs.py``), as lines of
    tests/_bad_input_table.py."""
    lines = []
    for i, case in enumerate(CASES, 1):
        message = _message_outside_pytest(case, ctx)
        lines.append(_bad_input_table.Row(i, case.where, case.bad, case.exc_label,
                                          abbreviate(message, ctx.tmp)).source())
    return "\n".join(lines)


def _message_outside_pytest(case: Case, ctx) -> str:
    import contextlib
    import io
    import os
    import warnings
    if case.kind == "cli":
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.environ.pop("LATENTLAB_DEBUG", None)
            cli.main([str(a).format(tmp=ctx.tmp) for a in case.run])
        return _error_line(err.getvalue())
    if case.kind == "warn":
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            case.run(ctx)
        return next(str(w.message) for w in record if re.search(case.match, str(w.message)))
    try:
        case.run(ctx)
    except Exception as e:  # noqa: BLE001 - printing whatever comes
        return str(e)
    return "(no error)"


def read_catalogue() -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows 1-199 (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(1, 199)


# --------------------------------------------------------------------------------------------------
# the tests


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input(case, ctx, capsys, monkeypatch, request):
    message = run_case(case, ctx, capsys, monkeypatch)
    row = read_catalogue().get(int(request.node.callspec.id))
    assert row is not None, f"row {request.node.callspec.id} is missing from {CATALOGUE.name}"
    written = _uncell(row[4])
    for piece in written.split("…"):  # the catalogue quotes the real message (abbreviated at "…")
        assert piece.strip() in message.replace("\n", " "), (piece, message)


def test_catalogue_matches_the_cases():
    rows = read_catalogue()
    assert sorted(rows) == list(range(1, len(CASES) + 1)), "row numbers must be 1..N, one per case"
    assert len(rows) >= 35
    for i, case in enumerate(CASES, 1):
        assert rows[i][1:4] == [case.where, case.bad, case.exc_label], (i, rows[i])


def test_catalogue_covers_every_cli_subcommand_and_the_main_areas():
    where = " ".join(c.where for c in CASES)
    for command in ("train", "sample", "evaluate", "forget", "filters", "walk"):
        assert f"`latentlab {command}`" in where, command
    bad = " ".join(c.bad.lower() for c in CASES)
    for topic in ("nan", "inf", "empty", "outside", "inverted", "float64", "unreadable", "class", "cuda", "newer",
                  "truncated", "n=0", "k larger", "not images"):
        assert topic in bad or topic in where.lower(), topic


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        print(render_rows(build_context(Path(d))))
    sys.exit(0)
