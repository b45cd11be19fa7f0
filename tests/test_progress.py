"""latentlab.progress: a tqdm bar on a terminal, one line per update (no carriage returns) in a log (issue 34)."""
from __future__ import annotations

import io
import re

import pytest
import torch

from latentlab.progress import LineTqdm, progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_log_gets_one_line_per_update_and_no_carriage_return():
    log = io.StringIO()
    bar = progress_bar(range(4), desc="gen", file=log, log_interval=0)
    assert isinstance(bar, LineTqdm)
    assert list(bar) == [0, 1, 2, 3]
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert [re.search(r"(\d)/4", ln).group(1) for ln in lines] == ["0", "1", "2", "3", "4"]
    assert all(ln.startswith("gen:") for ln in lines) and text.endswith("\n")


@pytest.mark.parametrize("leave", [True, False])
def test_log_keeps_the_final_state_once(leave):
    """With a long interval only the start and the end are written; leave=False (which a terminal erases) keeps
    its last line in a log, and no blank line or stray "\\r" follows."""
    log = io.StringIO()
    bar = progress_bar(total=50, desc="fd", file=log, leave=leave, log_interval=1e6)
    for _ in range(50):
        bar.update(1)
    bar.close()
    lines = log.getvalue().split("\n")
    assert lines[-1] == "" and all(lines[:-1]), lines
    assert len(lines[:-1]) == 2 and "0/50" in lines[0] and "50/50" in lines[1]
    assert "\r" not in log.getvalue()


def test_terminal_gets_the_redrawn_bar():
    term = Terminal()
    bar = progress_bar(range(3), file=term)
    assert not isinstance(bar, LineTqdm)
    list(bar)
    assert "\r" in term.getvalue()


def test_disabled_writes_nothing():
    log = io.StringIO()
    assert list(progress_bar(range(3), file=log, disable=True)) == [0, 1, 2]
    assert log.getvalue() == ""


def test_metrics_progress_in_a_log_is_lines(capsys):
    """A library loop (the Fréchet features) with progress on, stderr captured (not a terminal): lines only."""
    from latentlab.metrics.frechet import judge_features

    class Flat:
        def features(self, x):
            return x.flatten(1)

    feats = judge_features(Flat(), torch.zeros(6, 1, 2, 2), batch_size=2, progress=True, desc="features")
    assert feats.shape == (6, 4)
    err = capsys.readouterr().err
    assert "\r" not in err and "features:" in err and err.endswith("\n")
