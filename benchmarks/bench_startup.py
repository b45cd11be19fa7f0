"""Start-up time of the ``latentlab`` command: ``--help`` and a usage error, before any work is done.

    python benchmarks/bench_startup.py                 # median of 7 runs of each case
    python benchmarks/bench_startup.py --runs 11 --json startup.json

Each case runs ``python -c "import sys; from latentlab.cli import main; sys.exit(main(ARGS))"`` in a fresh
process (what the installed ``latentlab`` script does), from the repository root with the repository on
``PYTHONPATH`` (so the checkout is measured, not an installed copy), and times it with ``time.perf_counter``
around ``subprocess.run``. One untimed warm-up run per case fills the OS file cache. The figure is the median
wall-clock time; the spread (min, max) is printed beside it because the machine may be shared. The target is
under 1 s for every case (issue 24, item 9).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (arguments, expected exit code)
CASES = {
    "latentlab --help": (["--help"], 0),
    "latentlab sample (usage error: --model missing)": (["sample", "--n", "4"], 2),
    "latentlab train --bogus (usage error: unknown option)": (["train", "--data", "rooms", "--out", "x", "--bogus"], 2),
    # An analysis command: its module (latentlab/app/<command>.py) is imported to build its parser, so this is
    # fast only when that module keeps torch out of its top-level imports.
    "latentlab walk --bogus (usage error, analysis command)": (["walk", "faces", "--out", "x", "--bogus"], 2),
    "latentlab report --help": (["report", "--help"], 0),
    "latentlab filters --bogus (usage error)": (["filters", "rooms", "--out", "x", "--bogus"], 2),
    "latentlab evaluate --help": (["evaluate", "--help"], 0),
    "latentlab convert --help": (["convert", "--help"], 0),
    "latentlab annotate --bogus (usage error)": (["annotate", "rooms", "--bogus"], 2),
    "latentlab forget --help": (["forget", "--help"], 0),
}


def time_case(args: list[str], expected: int, runs: int) -> list[float]:
    code = f"import sys; from latentlab.cli import main; sys.exit(main({args!r}))"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if proc.returncode != expected:
            raise SystemExit(f"bench_startup: {args} exited with {proc.returncode}, expected {expected}:\n"
                             f"{proc.stderr[-2000:]}")
        if i:  # the first run is a warm-up
            times.append(dt)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=7, help="timed runs per case (default 7)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON to FILE")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error(f"--runs: expected a positive integer, got {args.runs}")
    results = {}
    for name, (cli_args, expected) in CASES.items():
        t = time_case(cli_args, expected, args.runs)
        results[name] = {"median_s": round(statistics.median(t), 3), "min_s": round(min(t), 3),
                         "max_s": round(max(t), 3), "runs": args.runs}
        print(f"{name:58s} median {results[name]['median_s']:.2f} s  (min {min(t):.2f}, max {max(t):.2f}, "
              f"{args.runs} runs)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_1min": load}
    print(f"python {meta['python']}, {meta['cpus']} CPUs, load average {load}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"cases": results, "meta": meta}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
