"""Command-line options shared by the commands (kept import-light: torch only inside functions)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = ["UsageError", "positive_int", "non_negative_int", "positive_float", "HelpFormatter",
           "add_device_argument", "resolve_device", "add_class_argument", "class_index", "resolve_class", "model_file",
           "load_model", "out_folder", "int_flags_at_least"]


class UsageError(ValueError):
    """Bad command-line input; reported as ``error: ...`` with exit code 2."""


def _number_type(name: str, convert, ok, expected: str, expected_value: str | None = None, show_text: bool = False):
    """An argparse ``type`` called ``name``: ``convert(text)`` (int or float), then ``ok(value)``; otherwise an
    ArgumentTypeError "expected <expected>, got ..." (``expected_value`` for a number that fails ``ok``,
    shown as typed with ``show_text``, else as converted)."""
    def parse(text: str):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {expected_value or expected}, got {text if show_text else v}")
        return v
    parse.__name__ = parse.__qualname__ = name
    return parse


_positive_int = _number_type("_positive_int", int, lambda v: v > 0, "a positive integer")
_non_negative_int = _number_type("_non_negative_int", int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number_type("_positive_float", float, lambda v: v > 0 and math.isfinite(v), "a positive number",
                               "a positive finite number", show_text=True)

positive_int, non_negative_int, positive_float = _positive_int, _non_negative_int, _positive_float


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` of every command: each option's default is shown, and help texts that already say
    "(default ...)" are left alone. Descriptions and epilogs keep their line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        hidden = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "(default" in text or hidden or not action.option_strings:
            return text
        return super()._get_help_string(action)

    def _fill_text(self, text, width, indent):
        return "\n".join(argparse.HelpFormatter._fill_text(self, part, width, indent) if part.strip() else ""
                         for part in text.split("\n"))


def add_device_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--device", default="cpu",
                        help="where the networks run: cpu, cuda, cuda:1, ... or auto (cuda when available, "
                             "else cpu) (default: cpu)")
    return parser


def resolve_device(text: str):
    """``--device`` -> a ``torch.device`` that exists here; "auto" picks CUDA when available.

    ValueError naming the option for an unknown or absent device.
    """
    import torch

    from ..models.base import check_device
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return check_device(text, name="--device")


def add_class_argument(parser: argparse.ArgumentParser, *, what: str = "every sample",
                       default_text: str = "cycle through the classes") -> argparse.ArgumentParser:
    """``--class K|NAME``: an AC-GAN class by index or by name (the same option in every command)."""
    parser.add_argument("--class", dest="klass", default=None, metavar="K|NAME",
                        help=f"AC-GAN models: the class of {what}, an index or a class name stored in the model, "
                             f"e.g. 7 or Sneaker for the shipped fashion model (names match ignoring case; "
                             f"default: {default_text})")
    return parser


def class_index(klass, names, k: int, *, option: str = "--class") -> int:
    """Index of a class given as an index 0..k-1 or one of the model's class names (exact, else ignoring case).

    ValueError naming ``option`` when it is neither.
    """
    names = tuple(str(n) for n in (names or ()))
    text = str(klass)
    if text in names:
        return names.index(text)
    folded = [i for i, n in enumerate(names) if n.casefold() == text.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    try:
        c = int(text)
    except ValueError:
        known = f"a class name {list(names)}" if names else "a class name (this model's file stores no class names)"
        raise ValueError(f"{option}: {text!r} is neither an index 0..{k - 1} nor {known}") from None
    if not 0 <= c < k:
        raise ValueError(f"{option}: expected 0..{k - 1} for this {k}-class model, got {c}")
    return c


def resolve_class(klass, config, *, option: str = "--class"):
    """``--class`` of a model: None stays None; an index for an AC-GAN; ValueError for a model without classes."""
    if klass is None:
        return None
    if not getattr(config, "conditional", False):
        raise ValueError(f"{option}: the model is a {getattr(config, 'arch', '?')!r} model without classes; only "
                         f"AC-GAN models take {option}")
    return class_index(klass, config.class_names, config.num_classes, option=option)


def model_file(model: str, *, option: str = "--model") -> str:
    """A model argument: a run folder stands for its ``model.safetensors``; anything else is passed on unchanged.

    ValueError naming ``option`` for a folder without a model file (with the file to pass when there is one).
    """
    from ..pretrained import PRETRAINED  # imports torch: call this in run(), not while parsing

    p = Path(model)
    if model in PRETRAINED or not p.is_dir():
        return model
    if (p / "model.safetensors").is_file():
        return str(p / "model.safetensors")
    checkpoints = sorted((p / "checkpoints").glob("step-*.safetensors")) if (p / "checkpoints").is_dir() else []
    if checkpoints:
        raise ValueError(f"{option}: {model!r} is a run folder without model.safetensors (training has not finished); "
                         f"pass a checkpoint file, e.g. {option + ' ' if option.startswith('--') else ''}{checkpoints[-1]}")
    files = sorted(p.glob("*.safetensors"))
    if len(files) == 1:
        return str(files[0])
    hint = f"; pass one of {[str(f) for f in files[:5]]}" if files else ""
    raise ValueError(f"{option}: {model!r} is a folder without model.safetensors (expected a run folder written by "
                     f"`latentlab train`, a .safetensors file or one of {list(PRETRAINED)}){hint}")


def load_model(model: str, *, option: str = "model"):
    """The GAN a command's model argument names: a run folder (its ``model.safetensors``, see :func:`model_file`),
    then :func:`latentlab.pretrained.resolve_model` (a shipped name or a .safetensors file), the library's one
    model resolver, whose messages name ``model``."""
    from ..pretrained import resolve_model  # imports torch: call this in run(), not while parsing

    return resolve_model(model_file(model, option=option))


def out_folder(path, flag: str = "--out") -> Path:
    """``Path(path)`` for an output folder (created later by the command); ValueError naming ``flag`` when it is
    an existing file."""
    out = Path(path)
    if out.is_file():
        raise ValueError(f"{flag}: {str(out)!r} is a file, expected a folder")
    return out


def int_flags_at_least(*flags: tuple) -> None:
    """Check ``(flag, value, minimum)`` triples of int options: ValueError ``"<flag>: expected an int >= <minimum>,
    got <value>"`` (``latentlab.validate.int_at_least``) for the first value below its minimum."""
    from ..validate import int_at_least

    for flag, value, minimum in flags:
        int_at_least(value, flag, minimum)
