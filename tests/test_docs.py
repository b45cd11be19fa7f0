"""Docs that run: every code block of README.md and docs/*.md is executed here, so the docs cannot rot.

- ```python blocks are exec'd in a fresh namespace, with the repository root as working directory.
- ```bash blocks run in a fresh temporary folder that links the repository's examples/, scripts/, benchmarks/,
  pretrained/ and docs/ (so relative outputs such as out/ and runs/ land there, not in the checkout).
  `latentlab ...` commands run in one long-lived subprocess through `latentlab.cli.main` (torch is imported
  once for the whole file, which keeps it well under two minutes); other commands run with `bash -e`. Every
  command must exit with 0.
- ```text / ```json blocks show output or file contents and are not run.
- An HTML comment on the line before a block changes what happens to it:
  `<!-- docs-test: pending REASON -->`  the block uses a command or module that is not merged yet: skipped,
                                        with REASON in the skip message (switch it on by deleting the comment);
  `<!-- docs-test: long REASON -->`     a long run (minutes) that the docs give in full: it runs in the second
                                        stage of `.ci/run` (`LATENTLAB_DOCS_LONG=1 pytest tests/test_docs.py -m
                                        long_docs`), outside the 10-minute suite, and is skipped with REASON in
                                        the suite itself;
  `<!-- docs-test: quickstart-main -->` / `<!-- docs-test: quickstart-tests -->`  the two install commands of
                                        the quickstart: not run (they build a venv), but checked against the test
                                        command that `.ci/run` runs verbatim.

`python tests/test_docs.py` lists the blocks and what happens to each.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGS = {"python", "bash"}
SHOW_LANGS = {"text", "json"}
LINKED = ("examples", "scripts", "benchmarks", "pretrained", "docs")
MARKER = re.compile(r"<!--\s*docs-test:\s*(pending|long|quickstart-main|quickstart-tests)\b\s*(.*?)\s*-->")
LONG_ENV = "LATENTLAB_DOCS_LONG"
LONG_STAGE = f"{LONG_ENV}=1 .venv/bin/python -m pytest tests/test_docs.py -m long_docs"


@dataclass
class Block:
    file: Path
    line: int          # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None = None
    reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2)
        start = i
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{path.relative_to(ROOT)}:{start + 1}: code block is not closed")
        i += 1
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mk = MARKER.search(prev)
        out.append(Block(path, start + 1, lang, "\n".join(body) + "\n", mk.group(1) if mk else None,
                         mk.group(2) if mk else ""))
    return out


BLOCKS = [b for f in FILES for b in blocks_of(f)]


def ci_test_command() -> str:
    """The README's test command as .ci/run runs it (the line after the comment that announces it)."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith("# The README's test command, verbatim"))
    return lines[i + 1].strip()


def shell_commands(code: str) -> list[str]:
    """The commands of a bash block: comment lines dropped, backslash continuations joined."""
    cmds, cur = [], ""
    for raw in code.splitlines():
        line = raw.strip()
        if not cur and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        cmds.append(cur.strip())
        cur = ""
    if cur:
        cmds.append(cur.strip())
    return cmds


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


# One long-lived subprocess runs every `latentlab ...` command of every block through `latentlab.cli.main`, so
# torch is imported once for the whole file instead of once per block. Protocol: one JSON line in
# ({"cwd", "cmd"}), one line out, prefixed with MARK, holding the exit code and the captured stdout/stderr.
_MARK = "@@docs-test@@"
_WORKER = r"""
import contextlib, io, json, os, shlex, sys, time, traceback
from latentlab.cli import main
reply = sys.__stdout__
for line in sys.stdin:
    job = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    t0 = time.time()
    os.chdir(job["cwd"])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(shlex.split(job["cmd"])[1:])
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
            rc = 1
    reply.write("%s" + json.dumps({"rc": rc, "out": out.getvalue(), "err": err.getvalue(),
                                   "seconds": round(time.time() - t0, 1)}) + "\n")
    reply.flush()
""" % _MARK


class CliWorker:
    def __init__(self):
        self.proc = None

    def run(self, cmd: str, cwd: Path) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-c", _WORKER], cwd=ROOT, env=_env(), text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.proc.stdin.write(json.dumps({"cwd": str(cwd), "cmd": cmd}) + "\n")
        self.proc.stdin.flush()
        noise = []
        for line in self.proc.stdout:
            if line.startswith(_MARK):
                return json.loads(line[len(_MARK):])
            noise.append(line)  # written to the real stdout by a library, outside the redirection
        raise AssertionError(f"the latentlab worker died while running {cmd!r}:\n{''.join(noise)[-3000:]}")

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def cli_worker():
    worker = CliWorker()
    yield worker
    worker.close()


def run_shell(code: str, cwd: Path, worker: CliWorker, timeout: int = 600) -> None:
    for name in LINKED:
        if not (cwd / name).exists():
            (cwd / name).symlink_to(ROOT / name)
    cmds = shell_commands(code)
    assert cmds, "empty bash block"
    for cmd in cmds:
        if cmd.startswith("latentlab "):
            r = worker.run(cmd, cwd)
            assert r["rc"] == 0, f"{cmd}\nexited with {r['rc']}\n--- stdout\n{r['out'][-3000:]}\n--- stderr\n{r['err'][-3000:]}"
            continue
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=cwd, env=_env(), capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode == 0, (f"{cmd}\nexited with {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}"
                                      f"\n--- stderr\n{proc.stderr[-3000:]}")


def _param(b: Block):
    return pytest.param(b, id=b.id, marks=[pytest.mark.long_docs] if b.marker == "long" else [])


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS])
def test_code_block_runs(block, tmp_path, monkeypatch, cli_worker):
    if block.lang in SHOW_LANGS:
        pytest.skip(f"{block.lang} block: output or file contents, not run")
    assert block.lang in RUN_LANGS, (f"{block.id}: code block language {block.lang!r}; use one of "
                                     f"{sorted(RUN_LANGS | SHOW_LANGS)} so that the runner knows what to do")
    if block.marker == "pending":
        pytest.skip(f"pending: {block.reason or 'needs work that is not merged yet'}")
    if block.marker == "long" and os.environ.get(LONG_ENV) != "1":
        pytest.skip(f"long run, executed by .ci/run's second stage ({LONG_ENV}=1): {block.reason}")
    if block.marker in ("quickstart-main", "quickstart-tests"):
        check_quickstart(block)
        return
    t0 = time.time()
    if block.lang == "python":
        monkeypatch.chdir(ROOT)
        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            exec(compile(block.code, block.id, "exec"), {"__name__": "__docs__"})
        finally:
            torch.set_num_threads(threads)
    else:
        run_shell(block.code, tmp_path, cli_worker, timeout=3600 if block.marker == "long" else 600)
    print(f"{block.id}: {time.time() - t0:.1f} s")


def check_quickstart(block: Block) -> None:
    cmds = shell_commands(block.code)
    assert len(cmds) == 1, f"{block.id}: the quickstart is one command line, got {cmds}"
    ci = ci_test_command()
    if block.marker == "quickstart-tests":
        assert cmds[0] == ci, f"README's test command and .ci/run differ:\n  README: {cmds[0]}\n  .ci/run: {ci}"
        return
    pins = re.search(r"pip install -q (.*?) -e ", ci)
    assert pins, f".ci/run's command has no `pip install -q PINS -e`: {ci}"
    expected = (f"python3 -m venv .venv && .venv/bin/pip install {pins.group(1)} -e . && "
                ".venv/bin/python examples/forget_windows.py")
    assert cmds[0] == expected, f"README's main job: {cmds[0]}\nexpected (same pins as .ci/run): {expected}"


def test_long_blocks_run_in_ci():
    """A `long` block is skipped in the suite only because .ci/run runs it in its second stage."""
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert LONG_STAGE in lines, f".ci/run must run the long doc blocks: add the line\n  {LONG_STAGE}"
    assert lines.index(LONG_STAGE) > lines.index(ci_test_command()), "the long stage runs after the test command"


def test_shipped_checks_run_in_ci():
    """A `shipped` test is skipped in the suite only because .ci/run runs it in its second stage."""
    from conftest import SHIPPED_STAGE
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert SHIPPED_STAGE in lines, f".ci/run must run the shipped-model checks: add the line\n  {SHIPPED_STAGE}"
    assert lines.index(SHIPPED_STAGE) > lines.index(ci_test_command()), "the shipped stage runs after the suite"


def test_both_quickstart_commands_are_checked():
    markers = [b.marker for b in BLOCKS if b.file.name == "README.md"]
    assert markers.count("quickstart-main") == 1 and markers.count("quickstart-tests") == 1


def test_every_docs_test_comment_is_a_known_marker():
    """A misspelt or retired marker (e.g. the old `skip`) would silently leave its block unmarked and run."""
    bad = []
    for f in FILES:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if re.match(r"\s*<!--\s*docs-test:", line) and not MARKER.search(line):
                bad.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, "unknown docs-test markers (known: pending, long, quickstart-main, quickstart-tests):\n" + "\n".join(bad)


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= 150, f"README.md has {n} lines; at most 150 (details go to docs/)"


def test_relative_links_resolve():
    missing = []
    for f in FILES + sorted((ROOT / "pretrained").glob("*.md")) + sorted((ROOT / "pretrained" / "cards").glob("*.md")):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", f.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            if not (f.parent / target).exists():
                missing.append(f"{f.relative_to(ROOT)} -> {target}")
    assert not missing, "broken relative links:\n" + "\n".join(missing)


if __name__ == "__main__":
    for b in BLOCKS:
        what = ("shown" if b.lang in SHOW_LANGS else b.marker and f"{b.marker} {b.reason}".strip() or "run")
        print(f"{b.id:32s} {b.lang:7s} {what}")
