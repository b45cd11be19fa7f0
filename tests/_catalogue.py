"""Shared machinery of the bad-input tests (rows FIRST..LAST of tests/_bad_input_table.py each; docs/BAD_INPUTS.md
is generated from that table by scripts/gen_bad_inputs.py).

Used by tests/test_bad_inputs_byog.py and tests/test_bad_inputs_labels.py: every row is one ``Case``, run and
checked (exception type, a distinctive regex, and every piece of the catalogue's abbreviated message, split
at "…", occurs in the real one); ``print_rows`` prints the rows from the live messages, as lines of the table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from latentlab import cli

ROOT = Path(__file__).resolve().parent.parent
import _bad_input_table  # noqa: E402  (the rows; docs/BAD_INPUTS.md is generated from them)

CATALOGUE = Path(_bad_input_table.__file__)


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


def error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if "error: " in ln]
    assert lines, f"no error line on stderr: {err[-500:]}"
    return lines[-1].split("error: ", 1)[1]


def run_case(case: Case, ctx, capsys=None, monkeypatch=None) -> str:
    if case.cli:
        args = [a.format(tmp=ctx.tmp) for a in case.run]
        code = cli.main(args)
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, err[-1000:]
        message = error_line(err)
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


def read_rows(first: int, last: int) -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows first..last (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(first, last)


def uncell(cell: str) -> str:
    m = re.match(r"``\s(.*?)\s``|`([^`]*)`", cell.strip())
    assert m, f"message cell is not a code span: {cell}"
    return (m.group(1) if m.group(1) is not None else m.group(2)).replace("\\|", "|")


def check_bad_input(case: Case, ctx, capsys, monkeypatch, first: int, last: int) -> None:
    """Run the case and check the catalogue's row quotes its real message."""
    message = run_case(case, ctx, capsys, monkeypatch)
    row = read_rows(first, last).get(case.number)
    assert row is not None, f"row {case.number} is missing from {CATALOGUE.name}"
    for piece in uncell(row[4]).split("…"):
        assert piece.strip() in message.replace("\n", " "), (piece, message)


def check_rows_match(cases: list[Case], first: int, last: int) -> None:
    """The rows first..last are exactly the cases, with the same where / bad input / exception columns."""
    rows = read_rows(first, last)
    assert sorted(rows) == [c.number for c in cases]
    for c in cases:
        assert rows[c.number][1:4] == [c.where, c.bad, c.exc_label], (c.number, rows[c.number])


def _live_message(case: Case, ctx) -> str:
    import contextlib
    import io
    import os
    if case.cli:
        err = io.StringIO()
        os.environ.pop("LATENTLAB_DEBUG", None)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            cli.main([a.format(tmp=ctx.tmp) for a in case.run])
        return error_line(err.getvalue())
    try:
        case.run(ctx)
    except Exception as e:  # noqa: BLE001
        return str(e)
    return "(no error)"


def print_rows(cases: list[Case], build_context: Callable) -> None:
    """Print the table rows of the cases from the live messages (the test files' ``__main__``)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        c = build_context(Path(d))
        for case in cases:
            msg = _live_message(case, c).replace(d, "…")
            if len(msg) > 110:
                cut = msg.rfind(" ", 0, 110)
                msg = msg[: cut if cut > 55 else 110] + " …"
            print(_bad_input_table.Row(case.number, case.where, case.bad, case.exc_label, msg).source())
