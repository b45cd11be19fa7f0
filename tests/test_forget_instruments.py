"""The forget experiment read by two instruments (issue 25): the room segmenter and the WindowDetector, their
agreement and the disagreement rule; the judge's outlines and row labels in the figures; `latentlab forget
--boxes FILE` (checked against the probe samples) and `--no-segmenter`.

Bad inputs: rows 380-389 of docs/BAD_INPUTS.md (their own table, "forget: the second instrument, --boxes,
--no-segmenter"), one case each below.
"""
from __future__ import annotations

import base64
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import GAN, ModelConfig, cli, load_pretrained, save
from latentlab.app.forget import experiment_figures, run_experiment, summary
from latentlab.dissect.boxes_json import save_boxes
from latentlab.dissect.forget import SCHEMA, ForgetResult, forget
from latentlab.dissect.removal import DISAGREE, disagreement, generate, instrument_numbers, object_masks
from latentlab.judges import judge_path, load_judge
from latentlab.judges.outline import mask_outline
from latentlab.judges.windows import WindowDetector, instrument_agreement
from latentlab.viz.forget_figures import OUTLINE_SUFFIX, instruments_figure, labelled_rows_image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stand_ins import StandInSegmenter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny():
    torch.manual_seed(0)
    return GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=64, dataset="rooms")).eval()


def _decode(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


# ------------------------------------------------------------------------------------------ disagreement rule

def test_disagreement_rule_on_hand_made_numbers():
    assert DISAGREE == {"max_points": 0.15, "min_sign": 0.05, "min_presence_agreement": 0.80}
    assert disagreement(0.60, 0.50, 0.90) == []                       # 10 points apart, same sign
    assert disagreement(0.60, 0.45, 0.90) == []                       # exactly 15 points: not more than 15
    r = disagreement(0.60, 0.40, 0.90)                                # 20 points
    assert len(r) == 1 and "differ by 20.0 points" in r[0] and "segmenter -60.0%, detector -40.0%" in r[0]
    r = disagreement(0.10, -0.10)                                     # opposite signs, both >= 5 points, 20 apart
    assert len(r) == 2 and "differ in sign" in r[0] and "20.0 points" in r[1]
    assert disagreement(0.04, -0.04) == []                            # opposite signs but both within 5 points
    r = disagreement(-0.54, 0.06)                                     # the old random control vs a small drop
    assert "differ in sign" in r[0] and "60.0 points" in r[1]
    r = disagreement(0.50, 0.45, 0.79)                                # per-image presence below 80%
    assert len(r) == 1 and "79.0%" in r[0]
    assert disagreement(0.50, 0.45, 0.80) == []
    assert "undefined" in disagreement(float("nan"), 0.3)[0]
    # the thresholds are arguments
    assert disagreement(0.60, 0.50, max_points=0.05) and not disagreement(0.60, 0.40, max_points=0.25)
    n = instrument_numbers({"fraction_before": 0.04, "fraction_after": 0.01, "reduction": 0.75},
                           {"fraction_before": 0.04, "fraction_after": 0.03, "reduction": 0.25},
                           {"image_presence_agreement": 0.9})
    assert n["disagree"] and len(n["reasons"]) == 1 and n["segmenter"]["reduction"] == 0.75


def test_forget_result_says_when_instruments_disagree():
    """A stand-in segmenter and an untrained detector cannot agree: the flag, the reasons and the summary say so."""
    gan = _tiny()
    torch.manual_seed(1)
    det = WindowDetector().eval()
    r = forget(gan.generator, StandInSegmenter(), n_probe=12, n_eval=10, n_curve=6, seed=0, progress=False,
               detector=det, joint_layers=["block1"])
    d = r.to_dict()
    assert d["schema"] == SCHEMA == 3 and d["detector"] == "WindowDetector"
    ins = d["instruments"]
    assert set(ins) >= {"probe", "random", "joint", "joint_random", "fraction_before", "agreement_before",
                        "thresholds"}
    assert d["instruments_disagree"] is True
    for key in ("probe", "random", "joint", "joint_random"):
        v = ins[key]
        assert v["disagree"] == bool(v["reasons"])
        assert v["disagree"] == bool(disagreement(v["segmenter"]["reduction"], v["detector"]["reduction"],
                                                  v["agreement_after"]["image_presence_agreement"]))
        assert v["segmenter"]["reduction"] == pytest.approx(d["reduction"] if key == "probe" else
                                                           d["reduction_random"] if key == "random" else
                                                           d["joint"]["reduction" if key == "joint" else
                                                                      "reduction_random"])
    text = summary(r)
    assert "the instruments disagree" in text and "which to trust: the segmenter" in text and "second instrument (WindowDetector" in text
    back = ForgetResult.from_json(r.to_json())
    assert back.instruments.disagree is True and back.instruments.detector == "WindowDetector"
    # no detector: no instrument keys filled, nothing printed about them
    r0 = forget(gan.generator, StandInSegmenter(), n_probe=12, n_eval=10, n_curve=6, seed=0, progress=False)
    assert r0.instruments is None and "instrument" not in summary(r0)
    assert r0.drop.reduction == r.drop.reduction  # the detector reads, it does not change the experiment


# ------------------------------------------------------------------------------------------ both instruments

@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory):
    """The shipped rooms model read by the shipped segmenter and detector, small settings."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("forget")
    gan, seg = load_pretrained("rooms"), load_judge("rooms")
    det = WindowDetector.load(judge_path("windows"))
    r = run_experiment(gan, seg, out, n_probe=40, n_eval=24, n_curve=4, seed=0, sweep=False, n_show=4,
                       progress=False, detector=det, causal_steps=2)
    return gan, seg, det, r, json.loads((out / "metrics.json").read_text())


def test_metrics_equal_independent_calls_to_both_judges(shipped_run):
    gan, seg, det, r, m = shipped_run
    z, G = r.arrays.z_eval, gan.generator
    before = generate(G, z)
    assert torch.equal(before, r.arrays.before)
    ins = m["instruments"]
    a0 = instrument_agreement(seg, det, before)
    assert ins["fraction_before"]["segmenter"] == pytest.approx(np.mean(a0["fraction_a"]), abs=1e-7)
    assert ins["fraction_before"]["detector"] == pytest.approx(np.mean(a0["fraction_b"]), abs=1e-7)
    for k in ("fraction_corr", "region_agreement", "region_kappa", "region_iou", "image_presence_agreement"):
        assert ins["agreement_before"][k] == pytest.approx(a0[k], abs=1e-9, nan_ok=True), k
    assert ins["agreement_before"]["n_disagree"] == len(a0["disagree"])
    drops = {"probe": np.array(m["dropped_maps"]), "random": r.arrays.random_maps,
             "causal_quarter": np.array(m["causal"]["quarter_maps"])}
    for key, maps in drops.items():
        after = generate(G, z, layer=m["layer"], maps=maps)
        a = instrument_agreement(seg, det, after)
        v = ins[key]
        for inst, fa, f0 in (("segmenter", a["fraction_a"], a0["fraction_a"]),
                             ("detector", a["fraction_b"], a0["fraction_b"])):
            assert v[inst]["fraction_after"] == pytest.approx(np.mean(fa), abs=1e-7), (key, inst)
            assert v[inst]["reduction"] == pytest.approx(1 - np.mean(fa) / np.mean(f0), abs=1e-6), (key, inst)
        for k in ("fraction_corr", "mean_abs_diff", "region_kappa", "image_presence_agreement"):
            assert v["agreement_after"][k] == pytest.approx(a[k], abs=1e-9, nan_ok=True), (key, k)
        assert v["disagree"] == bool(disagreement(v["segmenter"]["reduction"], v["detector"]["reduction"],
                                                  a["image_presence_agreement"]))
    # the segmenter's numbers are the experiment's own
    assert ins["probe"]["segmenter"]["reduction"] == pytest.approx(m["reduction"], abs=1e-6)
    assert ins["random"]["segmenter"]["fraction_after"] == pytest.approx(m["fraction_after_random"], abs=1e-7)
    assert m["instruments_disagree"] == any(ins[k]["disagree"] for k in drops)


def test_outline_overlay_and_row_labels_in_the_figures(shipped_run):
    gan, seg, det, r, m = shipped_run
    figs, png, n = experiment_figures(gan.generator, seg, r, n_show=4)
    rows_fig = figs[0][1]
    outlined = [t for t in rows_fig.data if t.name.endswith(OUTLINE_SUFFIX)]
    plain = [t for t in rows_fig.data if not t.name.endswith(OUTLINE_SUFFIX)]
    assert [t.name for t in plain] == ["before", f"probe's maps dropped ({m['maps_dropped']} of {m['n_maps']})",
                                       f"random maps dropped ({m['maps_dropped']} of {m['n_maps']})"]
    assert len(outlined) == 3 and all(t.visible for t in outlined) and not any(t.visible for t in plain)
    # the outlined "before" row differs from the plain one exactly on the segmenter's outline, in magenta
    show = np.flatnonzero(r.arrays.fraction_before_per_sample >= r.setup.min_fraction)[:n]
    x = r.arrays.before[torch.as_tensor(show)]
    edge = mask_outline(object_masks(seg, x, "window")).numpy()       # (n, 64, 64)
    assert edge.any()
    scale, tile = 3, 66
    want = np.zeros((tile * scale + 2 * scale, (tile * n + 2) * scale), bool)
    for i in range(n):
        e = edge[i].repeat(scale, 0).repeat(scale, 1)
        want[2 * scale:2 * scale + 64 * scale, (2 + i * tile) * scale:(2 + i * tile + 64) * scale] = e
    a, b = _decode(outlined[0].source), _decode(plain[0].source)
    assert a.shape == b.shape == want.shape + (3,)
    changed = (a != b).any(-1)
    magenta = np.array([255, 0, 255])
    assert (a[want] == magenta).all()
    assert not (changed & ~want).any()
    # the PNG: the same outlines (scale 2), and a label drawn beside each row
    assert png.dtype == np.uint8 and png.ndim == 3
    assert ((png == magenta).all(-1)).sum() >= edge.sum() * 4
    strip = png[:, :170]
    row_h = (64 + 2) * 2 + 2 * 2
    for k in range(3):
        assert (strip[k * row_h:(k + 1) * row_h] < 100).any(), f"no label text beside row {k}"
    # the instruments' figure and axis titles
    names = [h for h, _ in figs]
    ins_fig = dict(figs)["Two instruments: the room segmenter and the window detector"]
    assert list(ins_fig.data[0].x)[0].startswith("probe's maps dropped")
    assert ins_fig.data[0].y[0] == pytest.approx(-100 * m["instruments"]["probe"]["segmenter"]["reduction"])
    assert ins_fig.data[1].y[0] == pytest.approx(-100 * m["instruments"]["probe"]["detector"]["reduction"])
    for h, f in figs:  # every figure says what its axes are; charts also their y unit
        assert f.layout.xaxis.title.text, h
        if not any(t.type == "image" for t in f.data):
            assert f.layout.yaxis.title.text, h
    assert sum("%" in (f.layout.yaxis.title.text or "") for _, f in figs) == 2   # removal curve, instruments
    assert names[0].startswith("Before / the probe's maps dropped")


def test_labelled_rows_image_puts_text_in_the_strip_only():
    rows = {"before": np.full((20, 40, 3), 128, np.uint8), "after": np.full((20, 40, 3), 64, np.uint8)}
    img = labelled_rows_image(rows, label_width=80)
    assert img.shape == (40, 120, 3)
    assert (img[:, 80:] == np.concatenate([rows["before"], rows["after"]])).all()
    blank = labelled_rows_image({"": rows["before"], " ": rows["after"]}, label_width=80)
    assert (blank[:, :80] == 255).all() and (img[:, :80] < 128).any()
    with pytest.raises(ValueError, match=r"rows\['x'\]: expected a uint8 \(H, W, 3\) array"):
        labelled_rows_image({"x": np.zeros((4, 4), np.float32)})
    f = instruments_figure(["a", "b"], [-50.0, 10.0], [-40.0, -20.0], [False, True])
    assert list(f.data[0].x) == ["a", "b ≠"] and f.layout.yaxis.title.text.endswith("(% of before)")


# ------------------------------------------------------------------------------------------ the command line

@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "m64.safetensors"
    save(_tiny(), path)
    return path


def _boxes_file(path: Path, *, n: int, seed: int) -> Path:
    boxes = [[(8, 8, 24, 30)] if i % 2 == 0 else [] for i in range(n)]
    return save_boxes(path, boxes, model="m64", seed=seed, image_size=64)


def test_cli_no_segmenter_runs_with_user_boxes(model_file, tmp_path, capsys):
    f = _boxes_file(tmp_path / "seed0.json", n=6, seed=0)
    out = tmp_path / "out"
    code = cli.main(["forget", str(model_file), "--boxes", str(f), "--no-segmenter", "--n-probe", "6", "--label",
                     "window", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    m = json.loads((out / "metrics.json").read_text())   # measured from the boxes (forget_from_boxes)
    assert m["label"] == "window" and m["probe"]["n_boxes"] == 3 and m["comparison"] is None
    assert "box-only detector" in m["instrument"]["name"] and "window removal" in text
    png = np.asarray(Image.open(out / "forget_window.png"))
    assert (png[:, :170] < 100).any()                    # labelled rows
    assert (out / "forget_window.html").stat().st_size > 1000 and (out / "images.npz").is_file()


def test_cli_boxes_of_another_seed_are_refused(model_file, tmp_path, capsys):
    f = _boxes_file(tmp_path / "seed1.json", n=6, seed=1)
    code = cli.main(["forget", str(model_file), "--boxes", str(f), "--no-segmenter", "--n-probe", "6",
                     "--seed", "0", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "seed: the boxes" in err and "seed=1" in err and "seed=0" in err
    assert not (tmp_path / "o").exists()  # refused before anything is written
    # n must match too
    code = cli.main(["forget", str(model_file), "--boxes", str(f), "--no-segmenter", "--n-probe", "7", "--seed", "1",
                     "--out", str(tmp_path / "o")])
    assert code == 2 and "n=6" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ bad inputs 380-389

import _bad_input_table  # noqa: E402  (the rows; docs/BAD_INPUTS.md is generated from them)

CATALOGUE = Path(_bad_input_table.__file__)
HEADING = "## forget: the second instrument, --boxes, --no-segmenter (rows 380-389)"
FIRST = 380


class _ThreeClasses(StandInSegmenter):
    classes = ("wall", "window", "bed")


@dataclass
class Case:
    where: str
    bad: str
    exc: str
    match: str
    run: Callable


def _forget_kw():
    return dict(n_probe=6, n_eval=4, n_curve=2, progress=False)


def _cli(*args) -> Callable:
    def run(t: Path, model: Path):
        code = cli.main(["forget", str(model), *[a.format(tmp=t) for a in args]])
        if code == 2:
            raise ValueError(run.err())  # the message printed on stderr
        return code
    return run


CASES = [
    Case("`forget(G, segmenter, obj=, detector=)`", "obj='bed' with a window detector", "ValueError",
         r"detector: the window detector measures windows, but obj='bed'; drop the detector",
         lambda t, m: forget(_tiny().generator, _ThreeClasses(), obj="bed", detector=WindowDetector(), **_forget_kw())),
    Case("`forget(G, None, boxes=, detector=)`", "a detector without a segmenter", "ValueError",
         r"detector: the second instrument is read beside the segmenter; give a segmenter too",
         lambda t, m: forget(_tiny().generator, None, boxes=[[(0, 0, 8, 8)]] * 6, detector=WindowDetector(),
                             **_forget_kw())),
    Case("`forget(G, segmenter, detector=)`", "a segmenter as the detector", "TypeError",
         r"detector: expected a window detector with region_fraction\(images\)",
         lambda t, m: forget(_tiny().generator, StandInSegmenter(), detector=StandInSegmenter(), **_forget_kw())),
    Case("`latentlab forget`", "--no-segmenter without --boxes", "exit 2, ValueError",
         r"--no-segmenter: without the segmenter the probe needs your boxes; pass --boxes FILE",
         _cli("--no-segmenter", "--out", "{tmp}/o")),
    Case("`latentlab forget`", "--boxes drawn at seed 1, --seed 0", "exit 2, ValueError",
         r"seed: the boxes in .* were drawn on samples with seed=1, but seed=0 was asked for",
         _cli("--boxes", "{tmp}/seed1.json", "--n-probe", "6", "--no-segmenter", "--out", "{tmp}/o")),
    Case("`latentlab forget`", "--boxes: a plain JSON list of boxes (not an annotate file)", "exit 2, ValueError",
         r"boxes: expected a JSON object with the keys \['model', 'seed', 'n', 'image_size', 'boxes'\]",
         _cli("--boxes", "{tmp}/list.json", "--n-probe", "6", "--no-segmenter", "--out", "{tmp}/o")),
]
IDS = [str(FIRST + i) for i in range(len(CASES))]


def read_rows() -> dict[int, list[str]]:
    """{row: [#, where, bad input, exception type, message]} of rows 380-389 (tests/_bad_input_table.py)."""
    return _bad_input_table.cells(380, 389)


def _prepare(tmp: Path) -> None:
    _boxes_file(tmp / "seed1.json", n=6, seed=1)
    (tmp / "list.json").write_text(json.dumps([[[0, 0, 8, 8]]] * 6))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input(case, request, tmp_path, model_file, capsys):
    _prepare(tmp_path)
    if case.exc.startswith("exit 2"):
        case.run.err = lambda: capsys.readouterr().err.strip().removeprefix("error: ")
    with pytest.raises(Exception, match=case.match) as info:
        case.run(tmp_path, model_file)
    assert type(info.value).__name__ == case.exc.split(", ")[-1]
    message = str(info.value).replace(str(tmp_path), "…")
    row = read_rows().get(int(request.node.callspec.id))
    assert row is not None, f"row {request.node.callspec.id} is missing from {CATALOGUE.name} ({HEADING})"
    assert row[1:4] == [case.where, case.bad, case.exc], row
    for piece in row[4].strip().strip("`").replace("\\|", "|").split("…"):
        assert piece.strip() in message.replace("\n", " "), (piece, message)


def test_rows_are_the_range_380_389_one_per_case():
    assert sorted(read_rows()) == [FIRST + i for i in range(len(CASES))]
    assert FIRST + len(CASES) - 1 <= 389


if __name__ == "__main__":  # print the rows from the live messages
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        _prepare(d)
        model = d / "m64.safetensors"
        save(_tiny(), model)
        for i, case in enumerate(CASES):
            err = io.StringIO()
            case.run.__dict__["err"] = lambda: err.getvalue().strip().removeprefix("error: ")
            old, sys.stderr = sys.stderr, err
            try:
                case.run(d, model)
                msg = "(no error)"
            except Exception as e:  # noqa: BLE001
                msg = str(e).replace(str(d), "…")
            finally:
                sys.stderr = old
            if len(msg) > 150:
                msg = msg[:140].rsplit(" ", 1)[0] + " …"
            print(_bad_input_table.Row(FIRST + i, case.where, case.bad, case.exc, msg).source())
