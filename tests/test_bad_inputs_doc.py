"""docs/BAD_INPUTS.md is generated from the tests' table (tests/_bad_input_table.py): a stale page fails here.

Regenerate with ``python scripts/gen_bad_inputs.py``.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import _bad_input_table as table

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "BAD_INPUTS.md"
SCRIPT = ROOT / "scripts" / "gen_bad_inputs.py"


def test_committed_page_is_the_generated_one():
    assert PAGE.read_text(encoding="utf-8") == table.render(), "run: python scripts/gen_bad_inputs.py"


def test_row_numbers_are_unique_and_inside_their_sections_range():
    numbers = [r.number for s in table.SECTIONS for r in s.rows]
    assert len(numbers) == len(set(numbers))
    for s in table.SECTIONS[1:]:
        first, last = map(int, re.search(r"\(rows (\d+)-(\d+)\)$", s.heading).groups())
        assert all(first <= r.number <= last for r in s.rows), s.heading
    assert all(r.number < 200 for r in table.SECTIONS[0].rows)


def test_rows_render_to_cells_the_tests_read_back():
    for s in table.SECTIONS:
        for r in s.rows:
            cell = r.message_cell()
            m = re.match(r"``\s(.*?)\s``|`([^`]*)`", cell)
            quoted = (m.group(1) if m.group(1) is not None else m.group(2)).replace("\\|", "|")
            assert quoted == r.message, r.number
            assert "\n" not in "".join(r.cells()), r.number


def test_the_script_finds_a_stale_page(tmp_path):
    assert subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT).returncode == 0
    stale = table.render().replace("| 1 |", "| 1 | (edited by hand)", 1)
    assert stale != table.render()
    # the check compares the page on disk, so check a copy of the script's logic on a stale text
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_bad_inputs", SCRIPT)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.PAGE = tmp_path / "BAD_INPUTS.md"
    gen.PAGE.write_text(stale, encoding="utf-8")
    gen.ROOT = tmp_path
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0 and gen.PAGE.read_text(encoding="utf-8") == table.render()
    assert gen.main(["--check"]) == 0
