"""Issue 9, item 1 (short version of benchmarks/kill_resume.py): 5 SIGKILLs of `latentlab train` at random moments,
including during a checkpoint write, resume each time, and end bit-equal to an uninterrupted run."""
from __future__ import annotations

import importlib.util
import signal
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kill_resume.py"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


@pytest.fixture
def kill_resume():
    spec = importlib.util.spec_from_file_location("kill_resume", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["kill_resume"] = mod
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("kill_resume", None)


def test_kill_and_resume(tmp_path, kill_resume):
    n = torch.get_num_threads()
    try:
        # reference in this process (one interpreter start less); the killed runs are real subprocesses
        s = kill_resume.run(kills=5, steps=20, every=4, seed=1, workdir=str(tmp_path), reference="inprocess",
                            verbose=False)
    finally:
        torch.set_num_threads(n)
    assert s["kills"] >= 5 and s["kills_during_checkpoint_write"] >= 1, s["events"]
    assert s["newest_checkpoint_always_loaded"]
    assert s["max_steps_lost"] <= 4
    assert s["final_weights_bit_equal"] and s["final_training_state_bit_equal"] and s["max_abs_weight_diff"] == 0
    assert s["log_equal"] and s["temp_files_left_at_end"] == []
    assert s["ok"]
    # a kill during a write leaves a temp file behind, which the next start removes
    assert any(e["temp_files_left"] for e in s["events"])
