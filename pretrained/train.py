"""Train a shipped model: one seeded command per model (see pretrained/README.md).

    python pretrained/train.py rooms   [--steps N] [--run-dir runs/pretrained-rooms] [--resume]
    python pretrained/train.py faces
    python pretrained/train.py fashion
    python pretrained/train.py dtn-digits ARGS...   # = python pretrained/train_dtn.py ARGS...
    python pretrained/train.py dtn-faces ARGS...    # = python pretrained/train_dtn_faces.py ARGS...

The trajectory is a pure function of the seed (constant learning rate, data order and z derived
from (seed, step)), so `--steps K` reproduces exactly the K-step checkpoint of a longer run.
The final weights are exported in fp16 to pretrained/NAME.safetensors (generator + discriminator).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latentlab import ModelConfig, load, save  # noqa: E402
from latentlab.data import get_dataset  # noqa: E402
from latentlab.train import TrainConfig, Trainer  # noqa: E402

PRESETS = {
    # 64x64 DCGAN on procedural bedrooms, z ~ N(0, 1), nz = 100 (DCGAN §4; width 32 to fit 2 CPU cores)
    # Both with a light lazy R1 penalty (gamma 0.1 every 16 D steps): without it D outran G (rooms drew window
    # noise, faces collapsed after 4,400 steps). fast=True is bf16 autocast + channels_last, what the shipped runs
    # used (on an AVX512-BF16 CPU); on a CPU without native bf16 pass --set fast=false (fp32: same recipe,
    # another trajectory) or it runs ~35x slower.
    "rooms": dict(model=dict(arch="dcgan", nz=100, ngf=32, ndf=32, image_size=64, prior="normal", dataset="rooms"),
                  data=dict(name="rooms", n=30000, seed=0), steps=16000, batch_size=64,
                  train=dict(r1_gamma=0.1, channels_last=True, fast=True)),
    "faces": dict(model=dict(arch="dcgan", nz=100, ngf=32, ndf=32, image_size=64, prior="normal", dataset="faces"),
                  data=dict(name="faces", n=30000, seed=0), steps=54000, batch_size=64,
                  train=dict(r1_gamma=0.1, channels_last=True, fast=True)),
    # 32x32 AC-GAN on Fashion-MNIST (shipped since 2026-12-01): G twice as wide as D (ngf = 64) and G's class term
    # weighted 0.25 (AC-GAN's class loss pulls each class towards D's surest samples; the wide model had accuracy to
    # spare and two classes less diverse than the real ones). Step 15,000 of this run was picked on a validation
    # draw (scripts/select_checkpoint.py). fast is left at "auto": bf16 on this AVX512-BF16 CPU, fp32 elsewhere.
    "fashion": dict(model=dict(arch="acgan", nz=100, ngf=64, ndf=32, image_size=32, channels=1, prior="normal",
                               num_classes=10, class_input="onehot", dataset="fashion-mnist"),
                    data=dict(name="fashion-mnist"), steps=15000, batch_size=64, train=dict(g_class_weight=0.25)),
}

# The fashion model shipped until 2026-12-01 (fp32 on an AVX2 CPU): ngf = 32, the paper's class weight, 16,000 steps.
PRESETS["fashion-32"] = dict(PRESETS["fashion"], model=dict(PRESETS["fashion"]["model"], ngf=32), steps=16000, train={})

# Experiment (2026-12-01, not shipped): "rooms" with a generator twice as wide (256 maps at 8x8, as in the issue's
# feasibility run and pytorch/examples' ngf=64); D, data, seed, steps and recipe are those of "rooms".
PRESETS["rooms-wide"] = dict(PRESETS["rooms"], model=dict(PRESETS["rooms"]["model"], ngf=64))

# Experiment (2026-12-01, a run over several sessions): "faces" with a generator twice as wide (ngf = 64), for the
# Fréchet-distance target the width-32 model stopped approaching (7.6x-17.7x between 44,000 and 63,000 steps).
PRESETS["faces-wide"] = dict(PRESETS["faces"], model=dict(PRESETS["faces"]["model"], ngf=64), steps=60000)

# Experiment (2026-12-01, not shipped): the issue's feasibility setting for forgetting windows - pytorch/examples'
# DCGAN widths (ngf = ndf = 64, 256 maps at 8x8), no R1, short (the issue: "trained 20 minutes").
PRESETS["rooms-dcgan64"] = dict(PRESETS["rooms"], model=dict(PRESETS["rooms"]["model"], ngf=64, ndf=64), steps=4000,
                                train=dict(PRESETS["rooms"]["train"], r1_gamma=0.0))

# Experiment (2026-12-01): continue a shipped model with a moving average of G's weights (TrainConfig.ema_decay).
# Both runs oscillate from checkpoint to checkpoint (faces' validation FD 7.6x-17.7x at 1,000-step spacing); the
# average of the weights over ~1,000 steps is the standard remedy. They start from the fp16 file of the preset
# named in "init" (pretrained/NAME.safetensors, as shipped on 2026-12-01: faces at 54,000 steps, rooms at 16,000)
# with fresh Adam state; --init PATH points elsewhere.
# "init" names the file and the commit that holds the version started from, so the run stays reproducible after
# pretrained/NAME.safetensors is replaced (base_weights() takes it out of git history).
PRESETS["faces-ema"] = dict(PRESETS["faces"], steps=12000,
                            init=("pretrained/faces.safetensors", "4e959e5dced140f79e83740962e205084f418b0c"),
                            train=dict(PRESETS["faces"]["train"], ema_decay=0.999))
PRESETS["rooms-ema"] = dict(PRESETS["rooms"], steps=12000,
                            init=("pretrained/rooms.safetensors", "2e823ddafe2a0452eb72951e4074fa9f85405327"),
                            train=dict(PRESETS["rooms"]["train"], ema_decay=0.999))


def base_weights(path: str, commit: str) -> Path:
    """The model file ``path`` as committed in ``commit``: the working copy if it is unchanged since, else a copy
    taken out of git history into runs/base/."""
    import subprocess

    def git(*args) -> bytes:
        return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True).stdout

    try:
        want = git("rev-parse", f"{commit}:{path}").strip()
        here = git("hash-object", str(ROOT / path)).strip() if (ROOT / path).is_file() else b""
        if want == here:
            return ROOT / path
        out = ROOT / "runs" / "base" / f"{Path(path).stem}-{commit[:7]}.safetensors"
        if not out.is_file():
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(git("show", f"{commit}:{path}"))
        return out
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"init: cannot take {path} at commit {commit[:10]} out of git ({e}); run from a git clone "
                         f"of latentlab, or pass --init with that file") from None


def init_info(name: str, init: str | None = None) -> dict | None:
    """What a continuation run started from, for the exported file's info: the model file (and the commit that
    holds the version used, for a preset's own), and how many steps that file had been trained."""
    p = PRESETS[name]
    if init is None and not p.get("init"):
        return None
    path, commit = (init, None) if init is not None else p["init"]
    src = ROOT / path if init is None else Path(path)
    try:
        src = base_weights(path, commit) if commit else src
        steps = load(src).step
    except (OSError, ValueError, SystemExit):
        steps = None
    return {"file": str(path), "commit": commit, "trained_steps": steps}


def export(run_dir: Path, name: str, out: Path, step: int | None = None, init: dict | None = None) -> Path:
    """Export the final model (or the checkpoint at ``step``) as fp16 weights. ``init`` (``init_info``) records
    what a continuation started from; ``trained_steps`` then counts the continuation only."""
    if step is None:
        gan = load(run_dir / "model.safetensors")
    else:
        gan = load(run_dir / "checkpoints" / f"step-{step:08d}.safetensors")
    info = {"preset": name, "trained_steps": gan.step}
    if init is not None:
        info["init"] = init
    try:  # the recipe and what fast="auto" resolved to travel with the weights (the model card quotes them)
        run = json.loads((run_dir / "run.json").read_text())
        info.update({k: run[k] for k in ("train", "runtime") if k in run})
    except (OSError, ValueError):
        pass
    return save(gan, out, half=True, info=info)


def log_path_for(name: str, out: Path) -> Path:
    """Where the exported log goes: pretrained/logs/STEM.jsonl for a file shipped as pretrained/STEM.safetensors
    (also when a continuation preset such as rooms-ema replaces rooms), else beside ``out``.

    An experiment exported elsewhere (``--out runs/x.safetensors``) must not overwrite the shipped
    model's log, which the report draws its curves from.
    """
    out = Path(out)
    if out.resolve().parent == (ROOT / "pretrained").resolve():
        return ROOT / "pretrained" / "logs" / f"{out.stem}.jsonl"
    return out.with_suffix(".log.jsonl")


def export_log(run_dir: Path, dest: Path, upto: int | None = None, max_lines: int = 600) -> Path | None:
    """Copy every k-th per-step record of the run's log to ``dest`` (the report's curves)."""
    src = run_dir / "log.jsonl"
    if not src.is_file():
        return None
    rows = {}
    for line in src.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(r, dict) and "step" in r and "loss_d" in r and (upto is None or r["step"] <= upto):
            rows[int(r["step"])] = r          # a resumed run repeats steps: keep the last
    stride = max(1, -(-len(rows) // max_lines))
    keep = [rows[s] for s in sorted(rows)][::stride]
    out = Path(dest)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()}) + "\n"
                           for r in keep))
    return out


# The Domain Transfer Networks have their own multi-stage recipes (encoder f, DTN, checkpoint selection, export,
# ablations); `train.py dtn-digits ...` hands the rest of the command line to that script.
DTN_RECIPES = {"dtn-digits": "train_dtn.py", "dtn-faces": "train_dtn_faces.py"}


def run_dtn_recipe(name: str, argv: list[str]) -> int:
    """Run pretrained/<DTN_RECIPES[name]> with ``argv`` (e.g. ``train dtn-digits --run-dir DIR``)."""
    import importlib.util
    path = Path(__file__).resolve().parent / DTN_RECIPES[name]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DTN_RECIPES:
        return run_dtn_recipe(argv[0], argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(PRESETS), help="a GAN preset; or dtn-digits / dtn-faces followed by "
                    "that recipe's own arguments (see pretrained/train_dtn.py and train_dtn_faces.py)")
    ap.add_argument("--steps", type=int, default=None, help="override the preset's steps")
    ap.add_argument("--run-dir", default=None, help="default: runs/pretrained-NAME")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="1 keeps runs bit-reproducible and avoids OpenMP oversubscription")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="default: pretrained/NAME.safetensors")
    ap.add_argument("--export-step", type=int, default=None, help="only export the checkpoint at this step")
    ap.add_argument("--init", default=None, help="start from this model file's weights (fresh optimizer); default: "
                    "the preset's own (continuation presets only)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a TrainConfig field of the preset, e.g. --set r1_gamma=0.2 (experiments)")
    a = ap.parse_args(argv)
    p = PRESETS[a.name]
    run_dir = Path(a.run_dir or ROOT / "runs" / f"pretrained-{a.name}")
    out = Path(a.out or ROOT / "pretrained" / f"{a.name}.safetensors")
    if a.export_step is not None:
        print(export(run_dir, a.name, out, a.export_step, init=init_info(a.name, a.init)))
        export_log(run_dir, log_path_for(a.name, out), upto=a.export_step)
        return
    d = dict(p["data"])
    cache = ROOT / "runs" / "cache" if d["name"] != "fashion-mnist" else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    ds = get_dataset(d.pop("name"), cache=cache, **d)
    mc = ModelConfig(**p["model"])
    extra = dict(p.get("train", {}))
    for kv in a.set:
        key, sep, value = kv.partition("=")
        if not sep:
            ap.error(f"--set: expected KEY=VALUE, got {kv!r}")
        extra[key] = json.loads(value)
    tc = TrainConfig(steps=a.steps or p["steps"], batch_size=p["batch_size"], seed=a.seed,
                     checkpoint_every=a.checkpoint_every, num_threads=a.threads, keep_checkpoints=50, **extra)
    init = a.init or (base_weights(*p["init"]) if p.get("init") else None)
    t0 = time.time()
    Trainer(mc, tc, ds, run_dir, resume=a.resume, dataset_name=mc.dataset, init=init).fit()
    path = export(run_dir, a.name, out, init=init_info(a.name, a.init))
    export_log(run_dir, log_path_for(a.name, out))
    print(json.dumps({"model": a.name, "steps": tc.steps, "wall_seconds": round(time.time() - t0, 1),
                      "out": str(path)}))


if __name__ == "__main__":
    sys.exit(main())
