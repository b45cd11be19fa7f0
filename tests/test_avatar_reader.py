"""The second avatar reader (latentlab.transfer.avatar_reader) and its place in the faces measurement. Tiny sizes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.transfer.avatar_reader import (AvatarReader, AvatarReaderConfig, load_avatar_reader,
                                              save_avatar_reader, train_avatar_reader)
from latentlab.transfer.faces import reader_scores

CFG = AvatarReaderConfig(n=64, steps=60, batch_size=16, lr=1e-2, widths=(4, 8), size=16)


def _toy(n=64, seed=0):
    """Images whose red half says 'smiling' and whose green half says 'glasses'."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, 2, generator=g) < 0.5).float()
    x = torch.rand(n, 3, 16, 16, generator=g) * 0.2 - 0.6
    x[:, 0] += y[:, 0, None, None]
    x[:, 1] += y[:, 1, None, None]
    return x, y


def test_reader_learns_deterministically_and_round_trips(tmp_path):
    x, y = _toy()
    a = train_avatar_reader(CFG, x, y)
    b = train_avatar_reader(CFG, x, y)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    c = train_avatar_reader(AvatarReaderConfig(**{**CFG.__dict__, "seed": 1}), x, y)
    assert not all(torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    xt, yt = _toy(seed=5)
    p = a.predict(xt)
    assert set(p) == {"smiling", "glasses"} and p["smiling"].shape == (64,)
    assert ((p["smiling"] > 0.5).float() == yt[:, 0]).float().mean() > 0.9
    assert ((p["glasses"] > 0.5).float() == yt[:, 1]).float().mean() > 0.9
    path = save_avatar_reader(a, tmp_path / "r.safetensors", info={"role": "test"})
    back = load_avatar_reader(path)
    assert back.config == a.config and torch.equal(back.predict(xt)["glasses"], p["glasses"])


def test_reader_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        train_avatar_reader(CFG, torch.zeros(4, 3, 16, 16), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="steps"):
        AvatarReaderConfig(steps=0)
    with pytest.raises(ValueError, match="images"):
        AvatarReader(CFG)(torch.zeros(2, 1, 16, 16))
    with pytest.raises(FileNotFoundError, match="reader"):
        load_avatar_reader(tmp_path / "none.safetensors")
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(1)}, str(tmp_path / "other.safetensors"), metadata={"format": "x"})
    with pytest.raises(ValueError, match="not an avatar reader"):
        load_avatar_reader(tmp_path / "other.safetensors")
    with pytest.raises(TypeError, match="reader"):
        save_avatar_reader(torch.nn.Linear(1, 1), tmp_path / "x.safetensors")


class _Fixed:
    def __init__(self, smiling, glasses):
        self.p = {"smiling": torch.tensor(smiling), "glasses": torch.tensor(glasses)}

    def predict(self, images):
        return self.p


def test_reader_scores_are_balanced_accuracies():
    truth = {"smiling": np.array([1, 1, 0, 0], bool), "glasses": np.array([1, 0, 0, 0], bool)}
    out = reader_scores(_Fixed([0.9, 0.1, 0.2, 0.3], [0.9, 0.9, 0.1, 0.1]), torch.zeros(4, 3, 16, 16), truth)
    assert out == {"smile": pytest.approx(0.75), "glasses": pytest.approx((1 + 2 / 3) / 2)}


def test_readers_summary_puts_both_readers_side_by_side():
    from latentlab.transfer.faces import readers_summary
    result = {"ratio_to_ceiling": {"smile": 0.9, "glasses": 0.8, "presentation": 0.7},
              "reader": {"ratio_to_ceiling": {"smile": 0.95, "glasses": 0.6}}}
    out = readers_summary(result)
    assert out["judge"] == {"smile": 0.9, "glasses": 0.8}  # only what both readers read
    assert out["reader"] == {"smile": 0.95, "glasses": 0.6}
    assert out["spread"] == {"smile": pytest.approx(0.05), "glasses": pytest.approx(0.2)}
    with pytest.raises(ValueError, match="second reader"):
        readers_summary({"ratio_to_ceiling": {"smile": 0.9}})
