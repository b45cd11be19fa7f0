"""Golden numbers of the DTN trainer: a tiny seeded run must end with the very tensors (g, D, both Adam states)
and log records that the trainer produced before its loop was split into named steps (issue 23).

The digests were computed on the unmodified ``DTNTrainer._fit`` (commit 9f5b8f3) with torch 2.14.1 on an
AVX512 CPU with native bf16, one thread. Floating-point results depend on the torch build and the CPU's
kernels, so elsewhere the test is skipped (the seeded determinism and resume tests in test_transfer.py still
run everywhere).
"""
from __future__ import annotations

import hashlib
import json

import pytest
import torch

from latentlab.io import load_safetensors
from latentlab.train.trainer import list_checkpoints, native_bf16
from latentlab.transfer import DTNTrainer
from test_transfer import _cfg, _data, _enc

RECORDED_ON = ("2.14.1", "AVX512")

# name -> (config overrides, sha256 of the last checkpoint's tensors, sha256 of log.jsonl without "time")
GOLDEN = {
    "three-way": ({},
        "39001366a769edf92f808520ce3ba592ff3a2de3977e9e486e6b1cb933c87be3",
        "ac1377251b106121f8b8b928457f83c02389599935d626894a1f978808345070"),
    "binary": ({"binary_d": True, "beta": 0.0},
        "676904285c0eab8abf64ce1074ad31e54b26f29dee1e48fd54f83a46f1a2ae88",
        "b794b5e44db32ce658cd7fd34dcc37bf6b357beef82bc8d58bdec230ad05be26"),
    "cosine-tv-g1": ({"alpha": 0.0, "gamma": 0.05, "const_distance": "cosine", "g_steps_per_d_step": 1,
                      "tid_distance": "l1"},
        "2518d5e0f43e1dd0621d31782cf263133e07844bdaea556b604f4b8ef6398b8d",
        "0ef8f72e6f8f5457273c8e646db4ca422f0116c54db2067c77927808582ca5e8"),
    "bf16": ({"fast": True, "gamma": 0.05},
        "5e73833f8c72038f0eb361ab60700fd10e9e7ed4ae2f19ad0178108de41ccc38",
        "b970e4092221c361c9cfda45b7f7130f7bd4893306b6b29526f803a094c5f82c"),
}


def _same_platform() -> bool:
    return (torch.__version__.split("+")[0] == RECORDED_ON[0]
            and torch.backends.cpu.get_cpu_capability() == RECORDED_ON[1])


def _digest_run(run_dir) -> tuple[str, str]:
    tensors, _ = load_safetensors(list_checkpoints(run_dir)[0])
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    log = [{k: v for k, v in json.loads(line).items() if k != "time"}
           for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return h.hexdigest(), hashlib.sha256(json.dumps(log, sort_keys=True).encode()).hexdigest()


def _trainer(run_dir, steps=5, resume=False, **kw) -> DTNTrainer:
    # one thread also while f's BatchNorm statistics are made (_enc): its sums depend on the thread count
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return DTNTrainer(_cfg(steps=steps, checkpoint_every=2, num_threads=1, **kw), encoder=_enc(),
                          source=_data(), target=_data(channels=1, seed=1), run_dir=run_dir, resume=resume)
    finally:
        torch.set_num_threads(threads)


def golden_run(tmp_path, name: str) -> tuple[str, str]:
    _trainer(tmp_path / name, **GOLDEN[name][0]).fit()
    return _digest_run(tmp_path / name)


@pytest.mark.skipif(not _same_platform(), reason=f"golden digests recorded with torch/CPU {RECORDED_ON}")
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_dtn_training_matches_the_recorded_digests(tmp_path, name):
    if GOLDEN[name][0].get("fast") and not native_bf16():
        pytest.skip("bf16 autocast golden needs native bf16")
    assert golden_run(tmp_path, name) == GOLDEN[name][1:]


@pytest.mark.skipif(not _same_platform(), reason=f"golden digests recorded with torch/CPU {RECORDED_ON}")
def test_dtn_resumed_run_matches_the_recorded_digests(tmp_path):
    """Killed after step 3 (no checkpoint at 3: it resumes from step 2 and truncates the log) and resumed."""
    tr = _trainer(tmp_path / "run")

    class Kill:
        def on_step(self, trainer, step, record):
            if step == 3:
                raise KeyboardInterrupt
    tr.callbacks.append(Kill())
    with pytest.raises(KeyboardInterrupt):
        tr.fit()
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step-00000002.safetensors"]
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 3
    _trainer(tmp_path / "run", resume=True).fit()
    assert _digest_run(tmp_path / "run") == GOLDEN["three-way"][1:]
