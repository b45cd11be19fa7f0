"""Report size and opening time in headless Chromium (issue target: < 25 MB, opens in < 5 s on 2 cores).

    python benchmarks/bench_report.py runs/report-rooms/index.html [more index.html ...] [--repeats 3] [--json out.json]

Side by side in one run: each report, and a reference page that holds only plotly.js (embedded the same
way) and one empty plot, i.e. the floor any offline plotly page pays. "open" is the time from navigation
until every plot on the page has been drawn (``latentlab.viz.browser.check_report``); the median of
``--repeats`` fresh browser launches is reported.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latentlab.viz.browser import check_report  # noqa: E402


def reference_page(path: Path) -> Path:
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs
    fig = go.Figure().to_html(full_html=False, include_plotlyjs=False)
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><script>{get_plotlyjs()}</script></head>"
                    f"<body><section data-section='ref'>{fig}</section></body></html>", encoding="utf-8")
    return path


def measure(path: Path, repeats: int) -> dict:
    runs = [check_report(path) for _ in range(repeats)]
    return {"path": str(path), "bytes": path.stat().st_size, "open_seconds": [r["load_seconds"] for r in runs],
            "open_median": statistics.median(r["load_seconds"] for r in runs),
            "console_errors": runs[-1]["console_errors"] + runs[-1]["page_errors"],
            "plots": sum(s["plots"] for s in runs[-1]["sections"])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", help="index.html files built by `latentlab report`")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ref = measure(reference_page(Path(tmp) / "reference.html"), a.repeats)
        ref["path"] = "reference: plotly.js + one empty plot"
        rows = [measure(Path(p), a.repeats) for p in a.reports]
    print(f"{'page':<48} {'MB':>6} {'plots':>5} {'open s (median)':>16} {'x reference':>12}")
    for r in [ref] + rows:
        print(f"{r['path'][-48:]:<48} {r['bytes'] / 1e6:>6.1f} {r['plots']:>5} {r['open_median']:>16.2f} "
              f"{r['open_median'] / ref['open_median']:>12.2f}")
        r["ratio_to_reference"] = r["open_median"] / ref["open_median"]
    ok = all(r["bytes"] < 25e6 and r["open_median"] < 5 and not r["console_errors"] for r in rows)
    print("targets (< 25 MB, < 5 s, no console errors):", "met" if ok else "NOT met")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"reference": ref, "reports": rows, "targets_met": ok}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
