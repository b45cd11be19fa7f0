"""Bad inputs of the user's tags (docs/BAD_INPUTS.md, rows 460-479, the section "Your labels").

Same scheme as tests/test_bad_inputs_byog.py: every row is one case here, run and checked (exception type, a
distinctive regex, and every piece of the catalogue's abbreviated message, split at "…", occurs in the real
one). ``python tests/test_bad_inputs_labels.py`` prints the rows from the live messages.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest
import torch

from latentlab import GAN, ModelConfig, cli, save
from latentlab.app.report import build_report
from latentlab.latent import Arithmetic, RotationAxis
from latentlab.latent.tags import load_tags, model_fingerprint, save_tags

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "BAD_INPUTS.md"
FIRST, LAST = 460, 479
pytestmark = pytest.mark.usefixtures("one_thread")


@dataclass
class Case:
    number: int
    where: str
    bad: str
    exc: type
    match: str
    run: Callable | list       # fn(ctx) for the API; an argument list (format keys of ctx) for the CLI
    cli: bool = False

    @property
    def exc_label(self) -> str:
        return f"exit 2, {self.exc.__name__}" if self.cli else self.exc.__name__


TAGS = {"glasses": [0], "man": [0, 1, 4], "woman": [2, 3, 5], "looks_left": [1, 2], "looks_right": [3]}

CASES = [
    Case(460, "`load_tags(path, model=)`", "labels made on 'other.safetensors' for the model 'tiny.safetensors'",
         ValueError, r"model: labels made for another model: the labels in .* were made on samples with "
                     r"model='other.safetensors'",
         lambda c: load_tags(c.tmp / "other.json", model=str(c.tmp / "tiny.safetensors"))),
    Case(461, "`load_tags(path, fingerprint=)`", "labels of a same-named model with other weights", ValueError,
         r"fingerprint: labels made for another model",
         lambda c: load_tags(c.tmp / "fp.json", model="tiny.safetensors",
                             fingerprint=model_fingerprint(c.gan.generator))),
    Case(462, "`load_tags(path, seed=)`", "labels made on the samples of seed 0, seed 1 asked", ValueError,
         r"seed: labels made for other samples: .* seed=0, but seed=1 was asked for",
         lambda c: load_tags(c.tmp / "good.json", seed=1)),
    Case(463, "`load_tags(path)`", "a sample index 6 in a file of n=6 samples", ValueError,
         r"tags\['glasses'\]: expected sample indices in 0..5 \(n=6\)",
         lambda c: load_tags(c.tmp / "index.json")),
    Case(464, "`load_tags(path)`", "a tag named 'looks left' (a space)", ValueError,
         r"tags: tag names must be identifiers",
         lambda c: load_tags(c.tmp / "name.json")),
    Case(465, "`TagsFile.indices(name)`", "a tag with 1 sample where a mean needs 2", ValueError,
         r"tags: 'glasses' \(glasses\) has 1 sample\(s\) in the labels file, fewer than the 2 a mean needs",
         lambda c: load_tags(c.tmp / "good.json").indices("glasses")),
    Case(466, "`Arithmetic.from_tags(...).evaluate()`", "a concept that is no tag ('hat_man')", ValueError,
         r"tags: 'hat_man' is not a tag nor tags joined by '_'",
         lambda c: Arithmetic.from_tags(c.gan, load_tags(c.tmp / "good.json")).evaluate("hat_man - man + woman")),
    Case(467, "`RotationAxis.from_tags(...).fit(left=, right=)`", "a right side tagged on 1 sample", ValueError,
         r"tags: 'looks_right' \(looks_right\) has 1 sample\(s\)",
         lambda c: RotationAxis.from_tags(c.gan, load_tags(c.tmp / "good.json")).fit(left="looks_left",
                                                                                     right="looks_right")),
    Case(468, "`latentlab arithmetic`", "--labels made for another model", ValueError,
         r"--labels: model: labels made for another model",
         ["arithmetic", "{tmp}/tiny.safetensors", "--labels", "{tmp}/other.json", "man - woman", "--out",
          "{tmp}/a"], cli=True),
    Case(469, "`latentlab arithmetic`", "a concept with 1 tagged sample ('glasses')", ValueError,
         r"tags: 'glasses' \(glasses\) has 1 sample\(s\)",
         ["arithmetic", "{tmp}/tiny.safetensors", "--labels", "{tmp}/good.json", "glasses - man + woman",
          "--out", "{tmp}/a"], cli=True),
    Case(470, "`latentlab turn`", "--right of a tag with 1 sample", ValueError,
         r"tags: 'looks_right' \(looks_right\) has 1 sample\(s\)",
         ["turn", "{tmp}/tiny.safetensors", "--labels", "{tmp}/good.json", "--left", "looks_left", "--right",
          "looks_right", "--out", "{tmp}/t"], cli=True),
    Case(471, "`latentlab annotate`", "--labels made on seed 0, --seed 1", ValueError,
         r"seed: labels made for other samples",
         ["annotate", "{tmp}/tiny.safetensors", "--n", "6", "--seed", "1", "--labels", "{tmp}/good.json",
          "--out", "{tmp}/t.json"], cli=True),
    Case(472, "`build_report(path, labels=)`", "labels made for another model", ValueError,
         r"labels: model: labels made for another model",
         lambda c: build_report(c.tmp / "tiny.safetensors", c.tmp / "r", labels=c.tmp / "other.json", quick=True,
                                progress=False)),
]


def build_context(tmp: Path) -> SimpleNamespace:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        gan = GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32)).eval()
    save(gan, tmp / "tiny.safetensors")
    save_tags(tmp / "good.json", TAGS, model="tiny.safetensors", seed=0, n=6, nz=8, image_size=32)
    save_tags(tmp / "other.json", TAGS, model="other.safetensors", seed=0, n=6, nz=8, image_size=32)
    save_tags(tmp / "fp.json", TAGS, model="tiny.safetensors", seed=0, n=6, fingerprint="0123456789abcdef")
    head = {"format": "latentlab-tags", "version": 1, "model": "tiny.safetensors", "seed": 0, "n": 6}
    (tmp / "index.json").write_text(json.dumps({**head, "tags": {"glasses": [1, 6]}}))
    (tmp / "name.json").write_text(json.dumps({**head, "tags": {"looks left": [1, 2]}}))
    return SimpleNamespace(tmp=tmp, gan=gan)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return build_context(tmp_path_factory.mktemp("bad_inputs_labels"))


def _error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if "error: " in ln]
    assert lines, f"no error line on stderr: {err[-500:]}"
    return lines[-1].split("error: ", 1)[1]


def run_case(case: Case, ctx, capsys=None, monkeypatch=None) -> str:
    if case.cli:
        args = [a.format(tmp=ctx.tmp) for a in case.run]
        code = cli.main(args)
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, err[-1000:]
        message = _error_line(err)
        assert re.search(case.match, message), message
        monkeypatch.setenv("LATENTLAB_DEBUG", "1")  # the exception behind the exit code
        with pytest.raises(case.exc, match=case.match):
            cli.main(args)
        monkeypatch.delenv("LATENTLAB_DEBUG")
        capsys.readouterr()
        return message
    with pytest.raises(case.exc, match=case.match) as info:
        case.run(ctx)
    return str(info.value)


def read_rows() -> dict[int, list[str]]:
    """{row number: [#, where, bad input, exception type, message]} for the rows FIRST..LAST of the catalogue."""
    rows = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|", line)
        if m and FIRST <= int(m.group(1)) <= LAST:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            assert len(cells) == 5, line
            rows[int(m.group(1))] = cells
    return rows


def _uncell(cell: str) -> str:
    m = re.match(r"``\s(.*?)\s``|`([^`]*)`", cell.strip())
    assert m, f"message cell is not a code span: {cell}"
    return (m.group(1) if m.group(1) is not None else m.group(2)).replace("\\|", "|")


@pytest.mark.parametrize("case", CASES, ids=[str(c.number) for c in CASES])
def test_bad_input(case, ctx, capsys, monkeypatch):
    message = run_case(case, ctx, capsys, monkeypatch)
    row = read_rows().get(case.number)
    assert row is not None, f"row {case.number} is missing from {CATALOGUE.name}"
    for piece in _uncell(row[4]).split("…"):
        assert piece.strip() in message.replace("\n", " "), (piece, message)


def test_rows_match_the_cases():
    rows = read_rows()
    assert sorted(rows) == [c.number for c in CASES]
    for c in CASES:
        assert rows[c.number][1:4] == [c.where, c.bad, c.exc_label], (c.number, rows[c.number])


if __name__ == "__main__":  # print the rows from the live messages
    import contextlib
    import io
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        c = build_context(Path(d))
        for case in CASES:
            if case.cli:
                err = io.StringIO()
                os.environ.pop("LATENTLAB_DEBUG", None)
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    cli.main([a.format(tmp=c.tmp) for a in case.run])
                msg = _error_line(err.getvalue())
            else:
                try:
                    case.run(c)
                    msg = "(no error)"
                except Exception as e:  # noqa: BLE001
                    msg = str(e)
            msg = msg.replace(d, "…")
            if len(msg) > 110:
                cut = msg.rfind(" ", 0, 110)
                msg = msg[: cut if cut > 55 else 110] + " …"
            msg = msg.replace("|", "\\|")
            cell = f"`` {msg} ``" if "`" in msg else f"`{msg}`"
            print(f"| {case.number} | {case.where} | {case.bad} | {case.exc_label} | {cell} |")
    sys.exit(0)
