"""The ``latentlab`` command line.

    latentlab train --data rooms --arch dcgan --image-size 64 --out runs/rooms [--resume] [--steps 5000] ...
    latentlab sample --model runs/rooms --n 64 --seed 0 --out grid.png [--class K|NAME]
    latentlab evaluate | forget | filters | report | walk ...   (see ``latentlab COMMAND --help``)

Distributed (CPU, gloo): ``torchrun --standalone --nproc_per_node=2 -m latentlab.cli train ...``;
data are sharded by rank, rank 0 writes checkpoints and logs.

Exit codes: 0 success, 2 bad input (``error: ...`` on stderr, no traceback; ``LATENTLAB_DEBUG=1`` shows it),
1 training failure (divergence), 130 interrupted (SIGINT/SIGTERM: a checkpoint is saved first).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from .app import sample as _sample, train as _train  # argparse only: torch is imported inside their run()
from .app.options import UsageError  # noqa: F401 (cli.UsageError: the error of a bad flag, exit code 2)

__all__ = ["main", "build_parser", "EXTERNAL_COMMANDS", "BUILTIN_COMMANDS"]

# `train` and `sample` (latentlab/app/train.py, sample.py): their parsers are always built, so `latentlab --help`
# and `latentlab train --help` list every option without importing an analysis command.
BUILTIN_COMMANDS = {"train": _train, "sample": _sample}
run_train, run_sample = _train.run, _sample.run          # the names these had when they lived here
QUICK_PRESET = _train.QUICK_PRESET
_class_index = _sample._class_index

# Sub-commands implemented in the application layer (latentlab/app/): ``<module>.add_arguments(parser)`` and ``<module>.run(args)``.
# The one-line help is here so that ``latentlab --help`` does not import them.
EXTERNAL_COMMANDS = {
    "evaluate": ("latentlab.app.evaluate", "sample quality, diversity, memorisation and path-length metrics of a model"),
    "forget": ("latentlab.app.forget", "DCGAN §6.3.1: find and drop the feature maps that draw an object (windows)"),
    "filters": ("latentlab.app.filters", "DCGAN §6.2: guided-backprop views of the discriminator's filters"),
    "report": ("latentlab.app.report_cli", "build the HTML report of a model's analyses"),
    "walk": ("latentlab.app.walk", "DCGAN §6.1: latent walks between random z (or AC-GAN classes) and their smoothness"),
    "convert": ("latentlab.app.convert", "import a foreign DCGAN (state dict or training checkpoint, .pth/.tar) as a latentlab .safetensors file"),
    "annotate": ("latentlab.app.annotate", "write an offline HTML page to draw object boxes on samples (for forget --boxes)"),
    "arithmetic": ("latentlab.app.arithmetic", "DCGAN §6.3.2: vector arithmetic on concepts from your tags (--labels), 3x3 grid"),
    "turn": ("latentlab.app.turn", "DCGAN §6.3.2: the turn axis mean z(right) - mean z(left) from your tags (--labels)"),
    "transfer": ("latentlab.app.transfer", "Domain Transfer Network (Taigman et al. 2017): train / eval digits -> MNIST"),
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# ------------------------------------------------------------------------------------------------ parser

class _Unavailable(Exception):
    pass


def _load_external(command: str):
    module_name, _ = EXTERNAL_COMMANDS[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise _Unavailable(f"the '{command}' command is not available: {module_name} is not part of this "
                               "installation yet") from None
        raise _Unavailable(f"the '{command}' command is not available: it needs the Python package "
                           f"{e.name!r} (pip install {e.name})") from None
    if not (hasattr(module, "add_arguments") and hasattr(module, "run")):
        raise _Unavailable(f"the '{command}' command is not available: {module_name} does not define "
                           "add_arguments(parser) and run(args)")
    return module


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser. Analysis sub-commands are only imported when ``command`` names them."""
    parser = argparse.ArgumentParser(
        prog="latentlab", description="latentlab: train DCGAN / AC-GAN / GAN models and open them up.",
        epilog="Run `latentlab COMMAND --help` for a command's options. Distributed training: "
               "torchrun --standalone --nproc_per_node=2 -m latentlab.cli train ...",
    )
    parser.add_argument("--version", action="version", version=f"latentlab {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from .app.options import HelpFormatter  # argparse only: every option's default in `latentlab COMMAND --help`
    for name, module in BUILTIN_COMMANDS.items():
        p = sub.add_parser(name, formatter_class=HelpFormatter, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    for name, (module_name, help_text) in EXTERNAL_COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter)
        if name == command:
            try:
                module = _load_external(name)
            except _Unavailable as e:
                p.set_defaults(func=None, unavailable=str(e))
                continue
            module.add_arguments(p)
            p.set_defaults(func=module.run)
        else:
            p.set_defaults(func=None, unavailable=None)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("latentlab")
    except Exception:  # noqa: BLE001 - not installed: running from a checkout
        return "unknown"


def _find_command(argv: list[str]) -> str | None:
    for a in argv:
        if a == "--":
            return None
        if not a.startswith("-"):
            return a
    return None


def _format_warning(message, category, filename, lineno, line=None):
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _find_command(argv)
    if command in EXTERNAL_COMMANDS and not any(a in ("-h", "--help") for a in argv):
        try:
            _load_external(command)
        except _Unavailable as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
    parser = build_parser(command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2, message already printed)
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.func is None:
        print(f"error: {args.unavailable or 'the ' + repr(args.command) + ' command is not available'}",
              file=sys.stderr)
        return EXIT_USAGE
    warnings.formatwarning = _format_warning
    debug = os.environ.get("LATENTLAB_DEBUG", "") not in ("", "0")
    from .io import CheckpointError
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as e:
        msg = str(e) or "interrupted"
        print(f"interrupted: {msg}" + ("" if "checkpoint saved" in msg else " (no checkpoint written for this step)"),
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CheckpointError, ValueError, TypeError, OSError) as e:  # incl. FileNotFoundError, RunExistsError
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as e:
        from .train import TrainingDiverged
        if debug or not isinstance(e, TrainingDiverged):
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
