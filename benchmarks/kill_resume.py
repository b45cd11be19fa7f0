"""Kill `latentlab train` with SIGKILL at random moments, resume each time, and check that nothing is lost.

    python benchmarks/kill_resume.py                       # 6 kills, 60 steps, a checkpoint every 5 steps
    python benchmarks/kill_resume.py --kills 8 --seed 3 --json kill_resume.json

1. A reference run: the same `latentlab train` command (tiny DCGAN on a generated folder of PNGs), uninterrupted.
2. The same command killed with SIGKILL ``--kills`` times and resumed with ``--resume`` after each kill:
   - "step" kills land at a random step (a random number of steps after the resume point, plus a random delay);
   - "write" kills land while a checkpoint is being written: the script polls the checkpoint folder and kills the
     process as soon as the temporary file of the next checkpoint appears. A kill counts as "during a write" only
     if that temporary file is still there after the process died (it exists only between the file's creation
     and its atomic rename), so the count is evidence, not intent. "write" kills are retried until one lands.
   After every kill: the newest checkpoint must load (model and training state, its step matching its name), and
   the steps lost (last step in log.jsonl minus the newest checkpoint's step) must be <= one checkpoint interval.
3. The resumed run's final weights, final training checkpoint (incl. Adam moments) and per-step log of losses must
   equal the reference's to the bit (same seed; CPU; one thread, so reduction order is fixed).

Prints a summary; ``--json PATH`` writes it. Exit code 0 when every check passes, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:  # run from a checkout without installing
    import latentlab  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

__all__ = ["run", "main"]


def make_folder(root: Path, n: int = 32, size: int = 32, seed: int = 0) -> Path:
    from PIL import Image
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        # smooth colour blobs: something a GAN can start to learn
        yy, xx = np.mgrid[0:size, 0:size] / size
        cx, cy, r = rng.uniform(0.2, 0.8, 3)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.05 + 0.1 * r))
        img = (blob[..., None] * rng.uniform(0, 255, 3)).astype(np.uint8)
        Image.fromarray(img).save(root / f"{i:03d}.png")
    return root


def train_args(data: Path, out: Path, steps: int, every: int, seed: int) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--image-size", "32", "--nz", "16", "--ngf", "16",
            "--ndf", "16", "--batch-size", "8", "--steps", str(steps), "--checkpoint-every", str(every),
            "--keep-checkpoints", "2", "--grid-size", "4", "--seed", str(seed), "--threads", "1", "--no-progress"]


def _cmd(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "latentlab.cli", *args]


def _env() -> dict:
    root = str(Path(__file__).resolve().parents[1])
    pp = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore",
            "PYTHONPATH": root + (os.pathsep + pp if pp else "")}


def last_logged_step(run_dir: Path) -> int:
    """The last step whose log line is complete (a kill can cut the last line short)."""
    path = run_dir / "log.jsonl"
    if not path.exists():
        return 0
    step = 0
    for line in path.read_text().splitlines():
        try:
            step = int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):
            break
    return step


def newest_checkpoint(run_dir: Path):
    from latentlab.train.trainer import list_checkpoints
    cks = list_checkpoints(run_dir)
    return cks[0] if cks else None


def check_checkpoint(path: Path) -> int:
    """Load the checkpoint as a model and as training state; return its step (must match the file name)."""
    import latentlab
    from latentlab.io import load_safetensors
    gan = latentlab.load(path)
    tensors, meta = load_safetensors(path)
    if meta.get("kind") != "training" or not any(k.startswith("optim_g.") for k in tensors):
        raise AssertionError(f"{path}: not a complete training checkpoint")
    step = int(path.name.split("-")[1].split(".")[0])
    if gan.step != step:
        raise AssertionError(f"{path}: metadata step {gan.step} != file name step {step}")
    return step


def _log_records(run_dir: Path) -> list[tuple]:
    out = []
    for line in (run_dir / "log.jsonl").read_text().splitlines():
        r = json.loads(line)
        out.append((r["step"], r["loss_d"], r["loss_g"], r["d_x"], r["d_g_z"]))
    return out


def compare_runs(ref: Path, run: Path, steps: int) -> dict:
    from safetensors.torch import load_file
    import torch
    result = {}
    for name in ("model.safetensors", f"checkpoints/step-{steps:08d}.safetensors"):
        a, b = load_file(str(ref / name)), load_file(str(run / name))
        same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        diff = max(((a[k].double() - b[k].double()).abs().max().item() for k in a if k in b), default=float("inf"))
        result[name] = {"bit_equal": bool(same), "tensors": len(a), "max_abs_diff": diff}
    result["log_equal"] = _log_records(ref) == _log_records(run)
    return result


def _wait(proc, predicate, timeout: float, poll: float = 0.005) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    raise TimeoutError(f"no progress within {timeout:.0f} s")


def _log_inode(run_dir: Path):
    try:
        return (run_dir / "log.jsonl").stat().st_ino
    except FileNotFoundError:
        return None


def run(*, kills: int = 6, steps: int = 60, every: int = 5, seed: int = 0, workdir: str | None = None,
        reference: str = "subprocess", timeout: float = 900.0, verbose: bool = True) -> dict:
    """Run the experiment; returns the summary dict (``summary["ok"]`` tells whether every check passed)."""
    rng = random.Random(seed)
    t_start = time.time()
    tmp = tempfile.TemporaryDirectory(prefix="latentlab-kill-") if workdir is None else None
    base = Path(workdir or tmp.name)
    base.mkdir(parents=True, exist_ok=True)
    data = make_folder(base / "data")
    ref_dir, run_dir = base / "reference", base / "killed"
    say = (lambda *a: print(*a, flush=True)) if verbose else (lambda *a: None)

    # ---- 1. the uninterrupted reference
    t0 = time.time()
    if reference == "inprocess":
        from latentlab.cli import main as cli_main
        code = cli_main(train_args(data, ref_dir, steps, every, seed))
    else:
        code = subprocess.run(_cmd(train_args(data, ref_dir, steps, every, seed)), env=_env(), timeout=timeout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).returncode
    if code != 0:
        raise RuntimeError(f"reference run failed with exit code {code}")
    say(f"reference run: {steps} steps in {time.time() - t0:.1f} s")

    # ---- 2. kill and resume
    events = []
    write_kills_confirmed = 0
    attempts = 0
    max_attempts = kills + 6
    while (len(events) < kills or write_kills_confirmed == 0) and attempts < max_attempts:
        attempts += 1
        want_write = len(events) % 3 == 1 or (write_kills_confirmed == 0 and len(events) >= kills - 1)
        ck = newest_checkpoint(run_dir)
        resume_step = check_checkpoint(ck) if ck else 0
        if resume_step >= steps:
            break
        resuming = (run_dir / "run.json").exists()
        inode = _log_inode(run_dir)
        args = train_args(data, run_dir, steps, every, seed) + (["--resume"] if resuming else [])
        with open(base / f"launch-{attempts:02d}.stderr", "w") as err:
            proc = subprocess.Popen(_cmd(args), env=_env(), stdout=subprocess.DEVNULL, stderr=err)
        mode = "write" if want_write else "step"
        try:
            # A resumed process first rewinds log.jsonl to its checkpoint (a new file): wait for that, so that
            # the old run's lines are not mistaken for progress.
            alive = not resuming or _wait(proc, lambda: _log_inode(run_dir) not in (inode, None), timeout)
            if alive and mode == "write":
                ckdir = run_dir / "checkpoints"

                def tmp_appeared():
                    try:
                        return any(e.name.startswith(".step-") and e.name.endswith(".tmp") for e in os.scandir(ckdir))
                    except FileNotFoundError:
                        return False
                alive = (_wait(proc, lambda: last_logged_step(run_dir) > resume_step, timeout)
                         and _wait(proc, tmp_appeared, timeout, poll=0.0))
            elif alive:
                target = min(resume_step + rng.randint(1, 2 * every), steps - 1)
                alive = _wait(proc, lambda: last_logged_step(run_dir) >= target, timeout)
                time.sleep(rng.uniform(0, 0.05))
            if alive:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.returncode != -signal.SIGKILL:  # the process ended on its own before the kill
            msg = (base / f"launch-{attempts:02d}.stderr").read_text()[-2000:]
            if proc.returncode != 0:
                raise RuntimeError(f"training failed with exit code {proc.returncode}: {msg}")
            say(f"  attempt {attempts}: training finished before the kill landed")
            break
        leftovers = sorted(p.name for p in (run_dir / "checkpoints").glob(".step-*.tmp"))
        during_write = bool(leftovers)
        write_kills_confirmed += during_write
        last = last_logged_step(run_dir)
        ck = newest_checkpoint(run_dir)
        ck_step = check_checkpoint(ck) if ck else 0  # raises if the newest checkpoint does not load
        lost = last - ck_step
        ev = {"kill": len(events) + 1, "mode": mode, "during_checkpoint_write": during_write,
              "resumed_from": resume_step, "last_step_done": last, "newest_checkpoint": ck_step, "steps_lost": lost,
              "newest_checkpoint_loads": True, "temp_files_left": leftovers}
        events.append(ev)
        say(f"  kill {ev['kill']} ({mode}{': during a checkpoint write' if during_write else ''}): resumed at "
            f"{resume_step}, step {last} done, newest checkpoint {ck_step} loads, {lost} step(s) lost")
        if not 0 <= lost <= every:
            raise AssertionError(f"kill {ev['kill']}: lost {lost} steps, more than one checkpoint interval ({every})")

    # ---- 3. finish and compare
    t0 = time.time()
    done = subprocess.run(_cmd(train_args(data, run_dir, steps, every, seed) + ["--resume"]), env=_env(),
                          timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not (run_dir / "model.safetensors").exists() and done.returncode == 0:
        raise RuntimeError("final resume wrote no model")
    if done.returncode != 0:
        raise RuntimeError(f"final resume failed ({done.returncode}): {done.stderr[-2000:]}")
    say(f"final resume finished in {time.time() - t0:.1f} s")
    cmp = compare_runs(ref_dir, run_dir, steps)
    left = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*.tmp"))
    summary = {
        "kills": len(events), "kills_during_checkpoint_write": write_kills_confirmed,
        "launches": len(events) + 1, "steps": steps, "checkpoint_every": every, "seed": seed,
        "max_steps_lost": max((e["steps_lost"] for e in events), default=0),
        "newest_checkpoint_always_loaded": all(e["newest_checkpoint_loads"] for e in events),
        "final_weights_bit_equal": cmp["model.safetensors"]["bit_equal"],
        "final_training_state_bit_equal": cmp[f"checkpoints/step-{steps:08d}.safetensors"]["bit_equal"],
        "max_abs_weight_diff": cmp["model.safetensors"]["max_abs_diff"],
        "log_equal": cmp["log_equal"], "temp_files_left_at_end": left,
        "events": events, "seconds": round(time.time() - t_start, 1),
    }
    summary["ok"] = bool(len(events) >= kills and write_kills_confirmed >= 1 and summary["max_steps_lost"] <= every
                         and summary["final_weights_bit_equal"] and summary["final_training_state_bit_equal"]
                         and summary["log_equal"] and not left)
    if tmp is not None:
        tmp.cleanup()
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=6, help="SIGKILLs in the run (default 6, at least one in a write)")
    ap.add_argument("--steps", type=int, default=60, help="training steps (default 60)")
    ap.add_argument("--checkpoint-every", type=int, default=5, help="checkpoint interval in steps (default 5)")
    ap.add_argument("--seed", type=int, default=0, help="training seed and the seed of the kill moments")
    ap.add_argument("--workdir", default=None, help="keep the runs here (default: a temporary directory)")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the summary as JSON")
    a = ap.parse_args(argv)
    if a.kills < 1 or a.checkpoint_every < 1 or a.steps < 2 * a.checkpoint_every:
        ap.error("--kills and --checkpoint-every must be >= 1 and --steps >= 2 * --checkpoint-every")
    s = run(kills=a.kills, steps=a.steps, every=a.checkpoint_every, seed=a.seed, workdir=a.workdir)
    print(f"kills survived: {s['kills']} ({s['kills_during_checkpoint_write']} during a checkpoint write); "
          f"newest checkpoint always loaded: {s['newest_checkpoint_always_loaded']}; "
          f"steps lost at most: {s['max_steps_lost']} (interval {s['checkpoint_every']}); "
          f"final weights bit-equal to the uninterrupted run: {s['final_weights_bit_equal']} "
          f"(training state: {s['final_training_state_bit_equal']}, per-step losses: {s['log_equal']}); "
          f"{s['seconds']} s -> {'OK' if s['ok'] else 'FAILED'}")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(s, indent=2))
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
