"""The shipped weights: they load (no pickle), match their training preset, and are not collapsed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from latentlab import load_pretrained

from _scripts import load_script

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parent.parent


def _train_script():
    """pretrained/train.py as a module (it is a script, not part of the package)."""
    return load_script("pretrained/train.py")


def _presets():
    return _train_script().PRESETS


@pytest.mark.parametrize("name", ["rooms", "faces", "fashion"])
def test_shipped_model_matches_its_preset(name):
    gan = load_pretrained(name)
    preset = _presets()[name]
    for key, value in preset["model"].items():
        assert getattr(gan.config, key) == value, key
    assert gan.discriminator is not None                       # the filter experiments need D
    z = gan.generator.sample_z(4, seed=0)
    gan.eval()
    with torch.no_grad():
        x = gan.generator(z, torch.arange(4) % gan.config.num_classes) if gan.config.conditional else gan.generator(z)
    assert torch.isfinite(x).all() and x.shape[1:] == (gan.config.channels,) + (gan.config.image_size,) * 2


def test_shipped_fashion_uses_z_within_each_class():
    """The old learned-embedding AC-GAN ignored z (within-class pixel std 0.013); real data is about 0.3."""
    gan = load_pretrained("fashion").float()
    G = gan.generator.eval()
    z = G.sample_z(64, seed=1)
    with torch.no_grad():
        stds = [float(G(z, torch.full((64,), c)).std(0).mean()) for c in range(gan.config.num_classes)]
    assert min(stds) > 0.1, stds


def test_experiment_export_does_not_overwrite_the_shipped_log(tmp_path):
    """`--out runs/x.safetensors` once overwrote pretrained/logs/rooms.jsonl with an experiment's log."""
    mod = _train_script()
    assert mod.log_path_for("rooms", ROOT / "pretrained" / "rooms.safetensors") == ROOT / "pretrained" / "logs" / "rooms.jsonl"
    assert mod.log_path_for("rooms", tmp_path / "exp.safetensors") == tmp_path / "exp.log.jsonl"
    # a continuation preset exported as the shipped file writes the shipped file's log
    assert mod.log_path_for("rooms-ema", ROOT / "pretrained" / "rooms.safetensors") == ROOT / "pretrained" / "logs" / "rooms.jsonl"
    assert mod.log_path_for("rooms-ema", tmp_path / "rooms.safetensors") == tmp_path / "rooms.log.jsonl"
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.jsonl").write_text("".join(f'{{"step": {s}, "loss_d": 0.5, "loss_g": 1.0}}\n' for s in (1, 2, 3, 2)))
    dest = mod.export_log(run, tmp_path / "exp.log.jsonl", upto=2)
    assert [json.loads(r)["step"] for r in dest.read_text().splitlines()] == [1, 2]           # resumed duplicate step kept once, upto honoured


def test_continuation_presets_start_from_the_committed_version(tmp_path, monkeypatch):
    """faces-ema / rooms-ema start from pretrained/NAME.safetensors *as committed then*, also once it is replaced."""
    import shutil
    import subprocess
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    mod = _train_script()
    for name in ("faces-ema", "rooms-ema"):
        path, commit = mod.PRESETS[name]["init"]
        assert path == f"pretrained/{name.split('-')[0]}.safetensors" and len(commit) == 40
    repo = tmp_path / "repo"
    (repo / "pretrained").mkdir(parents=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    f = repo / "pretrained" / "m.safetensors"
    f.write_bytes(b"version 1")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "v1"], check=True)
    v1 = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    monkeypatch.setattr(mod, "ROOT", repo)
    assert mod.base_weights("pretrained/m.safetensors", v1) == f          # unchanged: the working copy
    f.write_bytes(b"version 2")                                            # the shipped file replaced
    got = mod.base_weights("pretrained/m.safetensors", v1)
    assert got != f and got.read_bytes() == b"version 1" and f.read_bytes() == b"version 2"
    with pytest.raises(SystemExit, match=r"^init: cannot take pretrained/m.safetensors at commit 0000000000"):
        mod.base_weights("pretrained/m.safetensors", "0" * 40)


def test_continuation_export_records_what_it_started_from(tmp_path, tiny_gan):
    """A continuation's exported file counts only its own steps; its info names the file it started from."""
    from latentlab import save
    mod = _train_script()
    assert mod.init_info("rooms") is None                                  # trained from scratch: nothing to record
    tiny_gan.step = 1234
    src = save(tiny_gan, tmp_path / "base.safetensors")
    got = mod.init_info("rooms", str(src))
    assert got == {"file": str(src), "commit": None, "trained_steps": 1234}
    path, commit = mod.PRESETS["rooms-ema"]["init"]
    got = mod.init_info("rooms-ema")
    assert got["file"] == path and got["commit"] == commit                  # trained_steps needs git; None without it


@pytest.mark.parametrize("name,subcommands", [("dtn-digits", "ablations"), ("dtn-faces", "encoder")])
def test_train_py_hands_dtn_recipes_to_their_scripts(name, subcommands, capsys):
    """`pretrained/train.py dtn-digits ...` is train_dtn.py's command line (dtn-faces: train_dtn_faces.py)."""
    with pytest.raises(SystemExit) as e:
        _train_script().main([name, "--help"])
    assert e.value.code == 0
    assert subcommands in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:                         # the GAN presets' parser refuses other names
        _train_script().main(["dtn-nonsense"])
    assert e.value.code == 2


def test_resolve_model_is_the_one_resolver(tmp_path, monkeypatch):
    """latentlab.pretrained.resolve_model: a shipped name wins over a same-named folder (as in load_pretrained);
    metrics re-exports it; the commands' drivers go through it (app.options.load_model), none loads on its own."""
    import ast

    import latentlab.metrics
    from latentlab.pretrained import resolve_model
    assert latentlab.metrics.resolve_model is resolve_model
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rooms").mkdir()
    assert resolve_model("rooms").config.dataset == "rooms"
    (tmp_path / "mine").mkdir()
    with pytest.raises(ValueError, match=r"^model: 'mine' is a directory"):
        resolve_model("mine")
    pkg = Path(latentlab.metrics.__file__).resolve().parents[1]
    loaders = {"load_pretrained", "load"}
    direct = sorted(f"{path.relative_to(pkg)}:{node.lineno}" for folder in ("app", "live")
                    for path in (pkg / folder).glob("*.py")
                    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in loaders)
    assert direct == [], f"load the model argument with resolve_model / app.options.load_model: {direct}"
