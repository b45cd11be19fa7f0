"""One training loop (latentlab.train.loop, issue 33): the GAN Trainer, the DTNTrainer and the classifier fits run
through the same TrainingLoop, with one callback protocol, SIGINT/SIGTERM -> checkpoint, and bit-exact resume."""
from __future__ import annotations

import json
import os
import signal

import pytest
import torch

from latentlab.io import load_safetensors
from latentlab.train import Trainer, loop as loop_module
from latentlab.train.classify import EpochBatches, LabelledBatches, ShuffledBatches, fit_classifier
from latentlab.train.loop import EVENTS, TrainingLoop
from latentlab.train.rundir import list_checkpoints
from latentlab.transfer import DTNTrainer
from test_trainer import Toy, cfg, tcfg
from test_transfer import _cfg, _data, _enc

pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------------------------------
# the two trainers


def gan_trainer(run_dir, resume=False, callbacks=(), steps=6):
    return Trainer(cfg(), tcfg(steps=steps), Toy(), run_dir, resume=resume, callbacks=callbacks, device="cpu")


def dtn_trainer(run_dir, resume=False, callbacks=(), steps=6):
    return DTNTrainer(_cfg(steps=steps, checkpoint_every=2), encoder=_enc(), source=_data(),
                      target=_data(channels=1, seed=1), run_dir=run_dir, resume=resume, callbacks=callbacks)


TRAINERS = {"gan": gan_trainer, "dtn": dtn_trainer}


def _tensors(path):
    return load_safetensors(path)[0]


def _same_tensors(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


class Recorder:
    """Every event of the protocol, as (event, step or file name)."""

    def __init__(self):
        self.events = []

    def on_train_start(self, trainer):
        self.events.append(("on_train_start", trainer.start_step))

    def on_step(self, trainer, step, record):
        assert record["step"] == step and "loss_d" in record
        self.events.append(("on_step", step))

    def on_save(self, trainer, step):
        self.events.append(("on_save", step))

    def on_checkpoint(self, trainer, path):
        self.events.append(("on_checkpoint", path.name))

    def on_train_end(self, trainer):
        self.events.append(("on_train_end", trainer.total_steps))


def _expected_events(steps=3, every=2):
    out = [("on_train_start", 0)]
    for s in range(1, steps + 1):
        out.append(("on_step", s))
        if s % every == 0 or s == steps:
            out += [("on_save", s), ("on_checkpoint", f"step-{s:08d}.safetensors")]
    return out + [("on_train_end", steps)]


@pytest.mark.parametrize("kind", sorted(TRAINERS))
def test_both_trainers_send_the_same_events_through_the_shared_loop(tmp_path, monkeypatch, kind):
    runs = []
    original = TrainingLoop.run

    def spy(self, start, step_fn, finish=None):
        runs.append((type(self.trainer).__name__, start, self.total_steps))
        return original(self, start, step_fn, finish)

    monkeypatch.setattr(loop_module.TrainingLoop, "run", spy)
    rec = Recorder()
    TRAINERS[kind](tmp_path / "r", callbacks=[rec], steps=3).fit()
    assert runs == [({"gan": "Trainer", "dtn": "DTNTrainer"}[kind], 0, 3)]
    assert rec.events == _expected_events(3, 2)


@pytest.mark.parametrize("kind", sorted(TRAINERS))
def test_sigint_saves_a_checkpoint_and_resume_is_bit_exact(tmp_path, kind):
    make = TRAINERS[kind]
    make(tmp_path / "full").fit()

    class Interrupt:  # the user presses Ctrl-C during step 3
        def on_step(self, trainer, step, record):
            if step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="stopped by signal at step 3 \\(checkpoint saved\\)"):
        make(tmp_path / "cut", callbacks=[Interrupt()]).fit()
    assert signal.getsignal(signal.SIGINT) is before  # the loop restored the handler
    assert [p.name for p in list_checkpoints(tmp_path / "cut")][0] == "step-00000003.safetensors"
    log = [json.loads(line)["step"] for line in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3]
    make(tmp_path / "cut", resume=True).fit()
    _same_tensors(_tensors(tmp_path / "full" / "model.safetensors"), _tensors(tmp_path / "cut" / "model.safetensors"))
    _same_tensors(_tensors(list_checkpoints(tmp_path / "full")[0]), _tensors(list_checkpoints(tmp_path / "cut")[0]))


@pytest.mark.parametrize("kind", sorted(TRAINERS))
def test_default_callbacks_can_be_replaced_on_both(tmp_path, kind):
    """``default_callbacks=[]``: the loop trains without any bookkeeping (no log, no checkpoint, no grid)."""
    make = {"gan": lambda d: Trainer(cfg(), tcfg(steps=2), Toy(), d, default_callbacks=[], device="cpu"),
            "dtn": lambda d: DTNTrainer(_cfg(steps=2), encoder=_enc(), source=_data(), target=_data(channels=1, seed=1),
                                        run_dir=d, default_callbacks=[])}[kind]
    make(tmp_path / "bare").fit()
    assert not list_checkpoints(tmp_path / "bare") and not (tmp_path / "bare" / "log.jsonl").exists()
    assert not list((tmp_path / "bare" / "samples").iterdir())
    assert (tmp_path / "bare" / "model.safetensors").exists()


# --------------------------------------------------------------------------------------------------
# the loop itself


def test_loop_order_save_points_and_records():
    rec, seen = Recorder(), []

    class Saver:
        def on_save(self, trainer, step):
            trainer.wrote(__import__("pathlib").Path(f"step-{step:08d}.safetensors"))

    loop = TrainingLoop(3, callbacks=[rec, Saver()], checkpoint_every=2)

    def step(s):
        seen.append(s)
        return {"step": s + 1, "loss_d": 0.0}

    loop.run(0, step)
    assert seen == [0, 1, 2] and rec.events == _expected_events(3, 2)
    assert set(EVENTS) == {e for e, _ in rec.events}


def test_loop_resumes_from_start_and_ends_even_when_a_step_raises():
    rec = Recorder()
    loop = TrainingLoop(5, callbacks=[rec])

    def step(s):
        if s == 3:
            raise RuntimeError("boom")
        return {"step": s + 1, "loss_d": 0.0}

    with pytest.raises(RuntimeError, match="boom"):
        loop.run(2, step)
    assert rec.events == [("on_train_start", 2), ("on_step", 3), ("on_train_end", 5)]


def test_loop_without_save_points_leaves_signals_alone():
    before = signal.getsignal(signal.SIGINT)
    seen = []

    def step(s):
        seen.append(signal.getsignal(signal.SIGINT))
        return {"step": s + 1}

    TrainingLoop(2).run(0, step)
    assert seen == [before, before]
    with_saves = []
    TrainingLoop(1, checkpoint_every=1).run(0, lambda s: with_saves.append(signal.getsignal(signal.SIGINT)) or {})
    assert with_saves[0] is not before and signal.getsignal(signal.SIGINT) is before


def test_batch_orders():
    b = ShuffledBatches(10, 4, torch.Generator().manual_seed(0))
    ref = torch.Generator().manual_seed(0)
    p1, p2 = torch.randperm(10, generator=ref), torch.randperm(10, generator=ref)
    got = [b.next() for _ in range(3)]  # 4 + 4 from the first permutation; 2 left < 4: a fresh one
    assert [g.tolist() for g in got] == [p1[:4].tolist(), p1[4:8].tolist(), p2[:4].tolist()]
    e = EpochBatches(10, 4, torch.Generator().manual_seed(0))
    got = [e.next().tolist() for _ in range(4)]  # 4 + 4 + 2, then the next epoch
    assert got == [p1[:4].tolist(), p1[4:8].tolist(), p1[8:].tolist(), p2[:4].tolist()]
    assert e.steps_per_epoch == 3 and e.epoch == 2


def _fit(seed, steps=4, **kw):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(12, 3, generator=torch.Generator().manual_seed(1)), torch.arange(12) % 2
    records = []

    class Keep:
        def on_step(self, trainer, step, record):
            records.append(record)

    batches = LabelledBatches(x, y, ShuffledBatches(12, 4, torch.Generator().manual_seed(seed)))
    fit_classifier(model, batches, steps=steps, optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
                   callbacks=[Keep()], **kw)
    return model.weight.detach().clone(), records


def test_fit_classifier_is_deterministic_and_records_each_step():
    (w1, r1), (w2, r2), (w3, _) = _fit(0), _fit(0), _fit(1)
    assert torch.equal(w1, w2) and not torch.equal(w1, w3)
    strip = [{k: v for k, v in r.items() if k != "time"} for r in r1]
    assert strip == [{k: v for k, v in r.items() if k != "time"} for r in r2]
    assert [r["step"] for r in r1] == [1, 2, 3, 4] and all(r["n"] == 4 and 0 <= r["correct"] <= 4 for r in r1)
    with pytest.raises(ValueError, match="steps: expected a positive int, got 0"):
        _fit(0, steps=0)


def test_fit_classifier_save_points_and_loss_terms():
    saves = []

    class Save:
        def on_save(self, trainer, step):
            saves.append(step)

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(8, 3), torch.arange(8) % 2
    seen = []

    class Keep:
        def on_step(self, trainer, step, record):
            seen.append(record["ce"])

    def loss(out, target):
        ce = torch.nn.functional.cross_entropy(out, target)
        return ce, {"ce": ce.item()}

    fit_classifier(model, LabelledBatches(x, {"y": y}["y"], ShuffledBatches(8, 4, torch.Generator())), steps=5,
                   optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss_fn=loss, callbacks=[Save(), Keep()],
                   start=1, checkpoint_every=2)
    assert saves == [2, 4, 5] and len(seen) == 4


# --------------------------------------------------------------------------------------------------
# where training code may live (issue 33)


def _python_files(*parts):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "latentlab"
    for part in parts:
        p = root / part
        yield from ([p] if p.suffix == ".py" else sorted(p.rglob("*.py")))


def test_app_defines_no_training_loop():
    """app/ and cli.py drive; optimizers and backward passes live in train (and the analyses' own fits)."""
    import ast
    found = []
    for path in _python_files("app", "cli.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("backward", "optim", "zero_grad"):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not found, found


def test_no_private_names_of_train_are_imported_elsewhere():
    import ast
    found = []
    for path in _python_files("transfer", "app", "judges", "metrics", "cli.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and "train" in (node.module or "").split("."):
                found += [f"{path.name}:{node.lineno} {a.name}" for a in node.names if a.name.startswith("_")]
    assert not found, found
