"""Devices for training (issue 21 item 3), tested on a CPU-only machine: the rank -> device mapping, the
process-group backend, the autocast dtype, "meta" and devices that do not exist, and the bad inputs of rows
300-319 of docs/BAD_INPUTS.md."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from latentlab import ModelConfig, cli
from latentlab.train import TrainConfig, Trainer, d_loss_dcgan
from latentlab.train.devices import autocast_dtype, dist_backend, local_rank, native_bf16, resolve_device

pytestmark = pytest.mark.usefixtures("one_thread")
import _bad_input_table  # noqa: E402  (the rows; docs/BAD_INPUTS.md is generated from them)

CATALOGUE = Path(_bad_input_table.__file__)
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="the messages quoted are those of a CPU-only machine")


@pytest.mark.parametrize("device,local,world,n_cuda,expected", [
    ("auto", None, 1, 0, "cpu"),          # no GPU: the CPU
    (None, None, 1, 0, "cpu"),
    ("auto", None, 1, 2, "cuda:0"),       # a GPU host, one process
    ("cuda", None, 1, 2, "cuda:0"),
    ("cuda:1", None, 1, 2, "cuda:1"),     # an explicit GPU in a single process is honoured
    ("auto", 1, 2, 2, "cuda:1"),          # torchrun: LOCAL_RANK picks the GPU
    ("cuda", 3, 4, 4, "cuda:3"),
    ("auto", 1, 2, 0, "cpu"),             # torchrun on a CPU host: every rank on the CPU (gloo)
    ("cpu", 1, 2, 2, "cpu"),              # CPU asked for on a GPU host
    (torch.device("cpu"), None, 1, 0, "cpu"),
])
def test_rank_to_device(device, local, world, n_cuda, expected):
    assert resolve_device(device, local_rank=local, world_size=world, cuda_count=n_cuda) == torch.device(expected)


@pytest.mark.parametrize("device,kw,match", [
    ("cuda", dict(cuda_count=0), r"device: 'cuda' was asked for, but CUDA is not available"),
    ("cuda:2", dict(cuda_count=2), r"device: 'cuda:2' was asked for, but this machine has 2 CUDA device"),
    ("auto", dict(local_rank=2, world_size=4, cuda_count=2), r"'cuda:2' was asked for, but this machine has 2"),
    ("cuda:1", dict(local_rank=0, world_size=2, cuda_count=2), r"would put all 2 torchrun processes on one GPU"),
    ("meta", dict(cuda_count=0), r"device: 'meta' tensors hold no data"),
    ("gpu0", dict(cuda_count=0), r"device: unknown device 'gpu0'"),
])
def test_bad_devices(device, kw, match):
    with pytest.raises(ValueError, match=match):
        resolve_device(device, **kw)


def test_backend_follows_the_device():
    assert dist_backend("cpu") == "gloo"
    assert dist_backend(torch.device("cuda", 1)) == "nccl"
    assert dist_backend("meta") == "gloo"


def test_autocast_dtype_follows_the_device_type():
    bf16 = torch.bfloat16
    assert autocast_dtype("cpu", "auto", cpu_bf16=True) is bf16
    assert autocast_dtype("cpu", "auto", cpu_bf16=False) is None           # emulated bf16 is ~20x slower: fp32
    assert autocast_dtype("cuda:0", "auto", cuda_bf16=True) is bf16
    assert autocast_dtype("cuda:0", "auto", cuda_bf16=False) is None
    assert autocast_dtype("meta", "auto") is None and autocast_dtype("mps", "auto") is None
    assert autocast_dtype("cpu", True, cpu_bf16=False) is bf16             # forced
    assert autocast_dtype("cuda", False, cuda_bf16=True) is None
    assert autocast_dtype("cpu", "auto") is (bf16 if native_bf16() else None)


def test_native_bf16_agrees_with_the_cpu_flags():
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    assert native_bf16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_local_rank_from_the_environment():
    assert local_rank({}) is None
    assert local_rank({"LOCAL_RANK": "3"}) == 3
    with pytest.raises(ValueError, match=r"LOCAL_RANK: expected an int >= 0 \(set by torchrun\), got 'x'"):
        local_rank({"LOCAL_RANK": "x"})


class Toy(torch.utils.data.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        return torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(i)) * 2 - 1, 0


def _mc():
    return ModelConfig(nz=8, ngf=4, ndf=4, image_size=32)


def _tc(**kw):
    return TrainConfig(**{**dict(steps=2, batch_size=4, checkpoint_every=2, grid_size=4, progress=False, fast=False),
                          **kw})


def test_trainer_on_the_cpu_records_its_device_and_precision(tmp_path):
    a = Trainer(_mc(), _tc(), Toy(), tmp_path / "a", device="cpu")
    assert a.device == torch.device("cpu")
    gan_a = a.fit()
    b = Trainer(_mc(), _tc(), Toy(), tmp_path / "b").fit()   # "auto" on a CPU-only machine = the CPU
    if not torch.cuda.is_available():
        for (k, x), y in zip(gan_a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), k
    runtime = json.loads((tmp_path / "a" / "run.json").read_text())["runtime"]
    assert runtime["device"] == "cpu" and runtime["bf16_autocast"] is False
    auto = Trainer(_mc(), _tc(steps=1, fast="auto"), Toy(), tmp_path / "c", device="cpu")
    auto.fit()
    assert auto.autocast_dtype is (torch.bfloat16 if native_bf16() else None)


# ------------------------------------------------------------------------------------------------ rows 300-319

def _trainer(tmp_path, **kw):
    return Trainer(_mc(), _tc(), Toy(), tmp_path / "r", **kw)


def _cli(tmp_path, *extra):
    return ["train", "--data", "rooms", "--n", "8", "--out", str(tmp_path / "run"), "--image-size", "32", "--nz", "8",
            "--ngf", "4", "--ndf", "4", "--batch-size", "4", "--steps", "1", "--no-progress", *extra]


ROWS = {  # row: (kind, exception, callable or CLI args); the message is the catalogue's
    300: ("api", ValueError, lambda t: _trainer(t, device="cuda:99")),
    301: ("api", ValueError, lambda t: _trainer(t, device="gpu0")),
    302: ("api", ValueError, lambda t: _trainer(t, device="meta")),
    303: ("api", TypeError, lambda t: _trainer(t, device=3)),
    304: ("api", ValueError, lambda t: resolve_device("cuda:1", local_rank=0, world_size=2, cuda_count=2)),
    305: ("api", ValueError, lambda t: local_rank({"LOCAL_RANK": "-1"})),
    306: ("api", ValueError, lambda t: TrainConfig(progress_every=0)),
    307: ("api", ValueError, lambda t: autocast_dtype("cpu", fast="yes")),
    308: ("api", ValueError, lambda t: d_loss_dcgan(None, None)),
    309: ("cli", None, lambda t: _cli(t, "--device", "cuda:99")),
    310: ("cli", None, lambda t: _cli(t, "--device", "meta")),
    311: ("cli", None, lambda t: _cli(t, "--device", "tpu9")),
    312: ("cli", None, lambda t: _cli(t, "--progress-every", "0")),
}


def _catalogue_rows() -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows 300-319 (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(300, 319)


def _quoted(cell: str) -> str:
    m = re.match(r"``\s(.*?)\s``|`([^`]*)`", cell)
    return (m.group(1) if m.group(1) is not None else m.group(2)).replace("\\|", "|")


def test_rows_300_to_319_are_one_per_case():
    assert sorted(_catalogue_rows()) == sorted(ROWS)


@NO_CUDA
@pytest.mark.parametrize("row", sorted(ROWS))
def test_bad_input_rows(row, tmp_path, capsys):
    kind, exc, run = ROWS[row]
    quoted = _quoted(_catalogue_rows()[row][4])
    if kind == "api":
        with pytest.raises(exc) as info:
            run(tmp_path)
        message = str(info.value)
        assert _catalogue_rows()[row][3] == exc.__name__
    else:
        assert cli.main(run(tmp_path)) == 2
        message = capsys.readouterr().err.strip().splitlines()[-1]
        assert not (tmp_path / "run").exists()  # refused before anything was written
    for piece in quoted.split("…"):
        assert piece.strip() in message, (piece, message)
