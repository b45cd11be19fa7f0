"""Write docs/BAD_INPUTS.md from the tests' bad-input table (tests/_bad_input_table.py).

    python scripts/gen_bad_inputs.py            # rewrite the page
    python scripts/gen_bad_inputs.py --check    # exit 1 if the committed page differs (what the test checks)

The table imports nothing from latentlab, so this runs without torch. When a message changes, edit its row in
tests/_bad_input_table.py (the failing test names the row) and run this script.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "BAD_INPUTS.md"
sys.path.insert(0, str(ROOT / "tests"))

import _bad_input_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if the page is stale")
    args = parser.parse_args(argv)
    text = _bad_input_table.render()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    if args.check:
        if current != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python scripts/gen_bad_inputs.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE.relative_to(ROOT)} ({sum(len(s.rows) for s in _bad_input_table.SECTIONS)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
