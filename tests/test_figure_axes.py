"""Every plotly figure says what its axes show, with units (issue 24: "axis titles and units on every plotly
figure"). Axes that are hidden (images) or carry no tick labels need no title. viz/forget_figures.py is tested
with the forget experiment."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.viz.filter_figures import BarPanel, GridPanel, filter_grid_figure, iou_bar_figure
from latentlab.viz.latent_figures import arithmetic_figure, axis_figure, smoothness_figure, walk_figure


def shown_axes(fig) -> dict:
    """{axis name: title text} of the axes a reader sees (visible, with tick labels)."""
    out = {}
    layout = fig.layout.to_plotly_json()
    for name, ax in layout.items():
        if not (name.startswith("xaxis") or name.startswith("yaxis")):
            continue
        if ax.get("visible") is False or ax.get("showticklabels") is False:
            continue
        out[name] = ((ax.get("title") or {}).get("text") or "").strip()
    return out


def _grid_panel(title):
    tiles = np.zeros((2, 3, 8, 8, 3), np.uint8)
    return GridPanel(title=title, tiles=tiles, filters=[4, 1], image_indices=np.array([[0, 1, 2], [3, 4, 5]]),
                     best_class=["window", "bed"], best_iou=[0.3, 0.1])


def _bar_panel(title):
    return BarPanel(title=title, filters=[4, 1, 0], best_class=["window", "bed", "wall"], best_iou=[0.3, 0.1, 0.05],
                    top_image=[0, 1, 2])


FIGURES = {
    "smoothness (pixels)": lambda: smoothness_figure(torch.tensor([1.0, 1.2, 5.0, 1.1]), factor=3.0,
                                                     feature_name="pixels"),
    "smoothness (judge)": lambda: smoothness_figure(torch.tensor([1.0, 1.2]), factor=3.0,
                                                    feature_name="faces judge"),
    "walk": lambda: walk_figure(torch.zeros(3, 3, 8, 8)),
    "axis": lambda: axis_figure(torch.zeros(2, 3, 3, 8, 8), torch.tensor([-1.0, 0.0, 1.0])),
    "arithmetic": lambda: arithmetic_figure([("a", 1, torch.zeros(2, 3, 8, 8), torch.zeros(3, 8, 8))],
                                            torch.zeros(9, 3, 8, 8)),
    "iou bars": lambda: iou_bar_figure([_bar_panel("trained D"), _bar_panel("random D")],
                                       ["wall", "window", "bed"]),
    "filter grid": lambda: filter_grid_figure([_grid_panel("trained D"), _grid_panel("random D")]),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_shown_axis_has_a_title(name):
    fig = FIGURES[name]()
    missing = [axis for axis, text in shown_axes(fig).items() if not text]
    assert not missing, f"{name}: axes without a title: {missing}"


def test_titles_give_units():
    px = shown_axes(FIGURES["smoothness (pixels)"]())
    assert px["xaxis"] == "consecutive frames (frame i -> i + 1)"
    assert px["yaxis"] == "Euclidean distance (pixel values in [-1, 1])"
    assert shown_axes(FIGURES["smoothness (judge)"]())["yaxis"] == "Euclidean distance (faces judge features)"
    bars = shown_axes(FIGURES["iou bars"]())
    assert set(bars) == {"xaxis", "xaxis2", "yaxis", "yaxis2"}
    assert all("(0-1)" in bars[y] for y in ("yaxis", "yaxis2"))
    assert "z units" in shown_axes(FIGURES["axis"]())["xaxis"]
    assert shown_axes(FIGURES["walk"]()) == {} and shown_axes(FIGURES["arithmetic"]()) == {}


def test_report_training_curves_have_axis_titles(tmp_path):
    import json

    from latentlab.app.report import _training
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps({"step": s, "loss_d": 1.0 / s, "loss_g": 2.0, "d_x": 0.7, "d_g_z": 0.3})
                             for s in range(1, 21)) + "\n")
    section = _training(log)
    axes = shown_axes(section.figures[0][1])
    assert axes["xaxis"] == axes["xaxis2"] == "training step (optimizer steps)"
    assert axes["yaxis"] == "binary cross-entropy (nats)" and "probability" in axes["yaxis2"]
