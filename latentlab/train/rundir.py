"""The run directory every trainer writes (GAN, DTN)::

    run_dir/run.json                          config, dataset(s), runtime (what fast="auto" resolved to)
    run_dir/log.jsonl                         one JSON record per logged step (rewound on resume)
    run_dir/checkpoints/step-XXXXXXXX.safetensors   training state: weights, optimizer state (bit-exact resume)
    run_dir/samples/step-XXXXXXXX.png         a grid at each save point
    run_dir/model.safetensors                 the final model
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Sequence

from ..io import CheckpointError, check_sha256, load_safetensors

__all__ = ["RunExistsError", "TrainingDiverged", "checkpoint_name", "list_checkpoints", "latest_checkpoint", "resume_from",
           "make_run_dir", "previous_run", "prune_checkpoints", "checkpoint_written"]


class TrainingDiverged(RuntimeError):
    """A loss became NaN/inf; the last good checkpoint is kept."""


class RunExistsError(FileExistsError):
    """The run directory already holds a run and resume was not requested."""


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.safetensors"


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Training checkpoints in ``run_dir/checkpoints``, newest first."""
    d = Path(run_dir) / "checkpoints"
    if not d.is_dir():
        return []
    return sorted((p for p in d.glob("step-*.safetensors")), reverse=True)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """Newest checkpoint in ``run_dir`` that loads and matches its sha256; corrupt ones are skipped with a
    warning."""
    for p in list_checkpoints(run_dir):
        try:
            check_sha256(*load_safetensors(p), p)
            return p
        except (CheckpointError, OSError) as e:
            warnings.warn(f"skipping unreadable checkpoint {p}: {e}")
    return None


def resume_from(run_dir: str | os.PathLike, load, *, announce: bool = True) -> int:
    """The first step of a resumed run: ``load(path)`` (the trainer's checkpoint loader, returning the step) on the
    newest valid checkpoint of ``run_dir``, announced on stderr; 0 when there is none."""
    ck = latest_checkpoint(run_dir)
    if ck is None:
        return 0
    start = load(ck)
    if announce:
        print(f"resuming from {ck} at step {start}", file=sys.stderr)
    return start


def prune_checkpoints(run_dir: str | os.PathLike, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints (call it only after a new one is safely written)."""
    for old in list_checkpoints(run_dir)[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


def checkpoint_written(run_dir: str | os.PathLike, path: Path, keep: int, loop=None) -> Path:
    """What a trainer does once its checkpoint ``path`` is safely in place: delete all but the ``keep`` newest
    checkpoints (0: keep them all) and tell the training loop (``loop.wrote(path)``; None: no loop). Returns
    ``path``."""
    if keep:
        prune_checkpoints(run_dir, keep)
    if loop is not None:
        loop.wrote(path)
    return path


def make_run_dir(run_dir: Path, resume: bool) -> None:
    """Create ``run_dir/checkpoints`` and ``run_dir/samples`` and check that a file can be written there.

    RunExistsError if ``run_dir`` already holds a run (run.json) and ``resume`` is False; OSError naming
    ``run_dir`` if it is not writable.
    """
    if (run_dir / "run.json").exists() and not resume:
        raise RunExistsError(f"run_dir: {str(run_dir)!r} already holds a run (run.json); pass resume=True / "
                             "--resume to continue it, or choose another directory")
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"x" * 1024)
        probe.unlink()
    except OSError as e:
        raise OSError(f"run_dir: {str(run_dir)!r} is not writable: {e}") from None


def previous_run(run_dir: Path, stale: Sequence[str]) -> dict | None:
    """The run.json of the run in ``run_dir`` (None for a new run; ValueError if it is unreadable), after deleting
    the temp files that a process killed mid-write left (``stale``: glob patterns below ``run_dir``;
    atomic_write_bytes names its temp files ".<name>.*.tmp")."""
    for path in [p for pattern in stale for p in run_dir.glob(pattern)]:
        with contextlib.suppress(OSError):
            path.unlink()
    run_json = run_dir / "run.json"
    if not run_json.exists():
        return None
    try:
        return json.loads(run_json.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"resume: {str(run_json)!r} is unreadable ({e})") from None
