"""Bad inputs of the degradation suite, the window instrument and the outline helper: rows 250-269 of
docs/BAD_INPUTS.md (their own table, "Judges: degradations, window detector, outlines"), one case each.

Each case triggers the input, checks the exception type and a distinctive part of the message, and checks
that every piece of the message quoted in the catalogue (split at …) occurs in the real one.
``python tests/test_judges_bad_inputs.py`` prints the rows from the live messages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

from latentlab.judges import degrade as D
from latentlab.judges.outline import mask_outline, overlay_outline
from latentlab.judges.rooms import RoomSegmenter, RoomSegmenterConfig
from latentlab.judges.suite import face_suite, room_suite
from latentlab.judges.windows import (WindowDetector, WindowDetectorConfig, agreement, instrument_agreement,
                                      region_fractions)

ROOT = Path(__file__).resolve().parent.parent
import _bad_input_table  # noqa: E402  (the rows; docs/BAD_INPUTS.md is generated from them)

CATALOGUE = Path(_bad_input_table.__file__)
HEADING = "## Judges: degradations, window detector, outlines (rows 250-269)"
FIRST = 250

X = torch.zeros(2, 3, 64, 64)
Y = torch.zeros(2, 64, 64, dtype=torch.long)
G = torch.Generator().manual_seed(0)


@dataclass
class Case:
    where: str
    bad: str
    exc: type
    match: str
    run: Callable


def _seg():
    torch.manual_seed(0)
    return RoomSegmenter(RoomSegmenterConfig(widths=(4, 8))).eval()


def _det():
    torch.manual_seed(0)
    return WindowDetector(WindowDetectorConfig(widths=(8, 16), groups=4)).eval()


def _load_foreign(tmp: Path):
    _seg().save(tmp / "rooms.safetensors")
    return WindowDetector.load(tmp / "rooms.safetensors")


CASES = [
    Case("`degrade(images, condition)`", "'fog' (not in the suite)", ValueError,
         r"condition: expected one of \['clean', 'wash'", lambda t: D.degrade(X, "fog")),
    Case("`degrade(images, condition, seed=)`", "seed=-1", ValueError, r"seed: expected a non-negative int, got -1",
         lambda t: D.degrade(X, "blur", seed=-1)),
    Case("`wash(images, amount)`", "amount=1.5, outside [0, 1]", ValueError,
         r"amount: expected a number in \[0.0, 1.0\], got 1.5", lambda t: D.wash(X, 1.5)),
    Case("`pixel_noise(images, generator=)`", "generator=0 (an int)", TypeError,
         r"generator: expected a torch.Generator, got int", lambda t: D.pixel_noise(X, 0.1, generator=0)),
    Case("`blur(images, sigma)`", "1-channel images", ValueError,
         r"images: expected shape \(N, 3, H, W\), got \(2, 1, 64, 64\)", lambda t: D.blur(X[:, :1], 1.0)),
    Case("`erase_class(images, labels)`", "labels for 1 image, 2 images", ValueError,
         r"labels: expected shape \(2, 64, 64\)", lambda t: D.erase_class(X, Y[:1], generator=G)),
    Case("`erase_class(images, labels)`", "float labels", TypeError,
         r"labels: expected an integer torch.Tensor \(N, H, W\), got torch.float32",
         lambda t: D.erase_class(X, Y.float(), generator=G)),
    Case("`blotches(images, radius=)`", "radius (5, 2), inverted", ValueError,
         r"radius: expected \(low, high\) with 0 < low <= high, got \(5, 2\)",
         lambda t: D.blotches(X, radius=(5, 2), generator=G)),
    Case("`room_suite(segmenter, images, labels, conditions=)`", "['fog']", ValueError,
         r"conditions: unknown \['fog'\]", lambda t: room_suite(_seg(), X, Y, conditions=["fog"])),
    Case("`room_suite(segmenter, images, labels, conditions=)`", "'blur' (a string, not a list)", TypeError,
         r"conditions: expected a non-empty list of names", lambda t: room_suite(_seg(), X, Y, conditions="blur")),
    Case("`face_suite(judge, images, targets)`", "targets without 'yaw'", ValueError,
         r"targets: expected a dict with yaw, smile, glasses, feminine, got \['smile'\]",
         lambda t: face_suite(None, X, {"smile": torch.zeros(2)})),
    Case("`WindowDetector.region_fraction(images)`", "32 px images (judge takes 64 px)", ValueError,
         r"images must have shape \(N, 3, 64, 64\), got \(2, 3, 32, 32\)",
         lambda t: _det().region_fraction(torch.zeros(2, 3, 32, 32))),
    Case("`WindowDetector.region_presence(images, min_fraction=)`", "min_fraction=0", ValueError,
         r"min_fraction: expected a number in \(0, 1\], got 0", lambda t: _det().region_presence(X, min_fraction=0)),
    Case("`WindowDetector.load(path)`", "a rooms judge file", ValueError,
         r"not a windows judge \(metadata format='latentlab-judge', judge='rooms'", _load_foreign),
    Case("`WindowDetectorConfig(widths=)`", "(30, 64) with groups=8", ValueError,
         r"widths must be positive channel counts divisible by groups=8, got \(30, 64\)",
         lambda t: WindowDetectorConfig(widths=(30, 64))),
    Case("`region_fractions(masks, grid)`", "grid=3 for 64 px masks", ValueError,
         r"grid: expected a divisor of the mask size 64x64, got 3", lambda t: region_fractions(Y == 3, grid=3)),
    Case("`agreement(fractions_a, fractions_b, ...)`", "fractions of 1 and 2 images", ValueError,
         r"fractions_a, fractions_b: expected two non-empty \(N,\) tensors of one length, got \(1,\) and \(2,\)",
         lambda t: agreement([0.1], [0.1, 0.2], torch.zeros(2, 8, 8), torch.zeros(2, 8, 8))),
    Case("`instrument_agreement(segmenter, detector, images)`", "a segmenter as the detector", TypeError,
         r"detector: expected a WindowDetector, got RoomSegmenter", lambda t: instrument_agreement(_seg(), _seg(), X)),
    Case("`mask_outline(mask)`", "values 0 and 2", ValueError, r"mask: expected bool or 0/1 values",
         lambda t: mask_outline(torch.full((4, 4), 2))),
    Case("`overlay_outline(images, mask)`", "a 32 px mask for 64 px images", ValueError,
         r"mask: expected shape \(2, 64, 64\) to match images, got \(2, 32, 32\)",
         lambda t: overlay_outline(X, torch.zeros(2, 32, 32, dtype=torch.bool))),
]
IDS = [str(FIRST + i) for i in range(len(CASES))]


def read_rows() -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows 250-269 (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(250, 269)


def _uncell(text: str) -> str:
    return text.strip().strip("`").replace("\\|", "|")


def _run(case: Case, tmp: Path) -> str:
    with pytest.raises(case.exc, match=case.match) as info:
        case.run(tmp)
    return str(info.value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input(case, request, tmp_path):
    message = _run(case, tmp_path)
    row = read_rows().get(int(request.node.callspec.id))
    assert row is not None, f"row {request.node.callspec.id} is missing from {CATALOGUE.name} ({HEADING})"
    assert row[1:4] == [case.where, case.bad, case.exc.__name__], row
    for piece in _uncell(row[4]).split("…"):
        assert piece.strip() in message.replace("\n", " "), (piece, message)


def test_rows_are_the_range_250_269_one_per_case():
    rows = read_rows()
    assert sorted(rows) == [FIRST + i for i in range(len(CASES))]
    assert FIRST + len(CASES) - 1 <= 269


if __name__ == "__main__":  # print the rows from the live messages
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for i, case in enumerate(CASES):
            try:
                case.run(Path(d))
                msg = "(no error)"
            except Exception as e:  # noqa: BLE001
                msg = str(e).replace(d, "…")
            if len(msg) > 150:
                msg = msg[:140].rsplit(" ", 1)[0] + " …"
            print(_bad_input_table.Row(FIRST + i, case.where, case.bad, case.exc.__name__, msg).source())
