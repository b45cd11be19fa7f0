"""The report's forget-boxes section reads the samples the boxes were drawn on (the file's own n), whatever the
report's budget: `latentlab report MODEL --quick --boxes FILE` with a 150-sample boxes file (examples/real_dcgan.py)."""
from __future__ import annotations

import pytest
import torch

from latentlab import GAN, ModelConfig, save
from latentlab.dissect.boxes_json import save_boxes


def _face_file(tmp_path):
    torch.manual_seed(0)
    p = tmp_path / "face.safetensors"
    save(GAN(ModelConfig(arch="dcgan", nz=8, ngf=8, ndf=8, image_size=32, dataset="faces")).eval(), p)
    return p


def test_quick_report_uses_the_boxes_files_own_number_of_samples(tmp_path):
    from latentlab.app.report import QUICK, ReportOptions, build_report
    n = QUICK.n_probe + 18
    boxes = save_boxes(tmp_path / "glasses_boxes.json", [[(8, 8, 24, 16)] if i % 3 == 0 else [] for i in range(n)],
                       model="face", seed=0, image_size=32)
    r = build_report(str(_face_file(tmp_path)), tmp_path / "rep", sections=["forget-boxes"], quick=True,
                     options=ReportOptions(progress=False, boxes=str(boxes)))
    assert r["failed"] == {}, r["failed"]
    assert r["numbers"]["forget-boxes"]["probe"]["n_samples"] == n


def test_boxes_of_another_seed_are_refused(tmp_path):
    from latentlab.app.report import ReportOptions, build_report
    boxes = save_boxes(tmp_path / "b.json", [[(8, 8, 24, 16)]] * 12, model="face", seed=3, image_size=32)
    r = build_report(str(_face_file(tmp_path)), tmp_path / "rep", sections=["forget-boxes"], quick=True,
                     options=ReportOptions(progress=False, boxes=str(boxes)))
    assert "seed" in r["failed"]["forget-boxes"]
