"""DDP on CPU: `torchrun --nproc_per_node=2 -m latentlab.cli train` completes; rank 0 alone writes the run."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import load

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")


GLOO_ABORT = "terminate called without an active exception"


def test_torchrun_two_processes(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / f"{i:02d}.png")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "latentlab.cli", "train", "--data", str(root), "--out", str(out), "--image-size", "32",
           "--nz", "8", "--ngf", "4", "--ndf", "4", "--batch-size", "4", "--steps", "3", "--checkpoint-every", "3",
           "--grid-size", "4", "--threads", "1", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    if proc.returncode != 0 and GLOO_ABORT in proc.stderr and not list(out.glob("checkpoints/*.safetensors")):
        # a rank sometimes aborts in gloo during the first steps, before a checkpoint is written (seen in
        # full-suite runs, never when the test ran alone): run once more from scratch; a second
        # failure, or any other, fails the test
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # exactly one checkpoint set, written by rank 0 only
    assert sorted(os.listdir(out / "checkpoints")) == ["step-00000003.safetensors"]
    assert sorted(os.listdir(out / "samples")) == ["step-00000003.png"]
    assert sorted(p for p in os.listdir(out)) == ["checkpoints", "log.jsonl", "model.safetensors", "run.json",
                                                  "samples"]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]  # one log line per step, not one per rank
    gan = load(out / "model.safetensors")
    assert gan.step == 3
    assert proc.stdout.count("done: step 3") == 1  # only rank 0 reports
