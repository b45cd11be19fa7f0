"""The judges under the degradation suite: old vs new room segmenter, window detector, face judge.

    python benchmarks/bench_judges.py --json bench_judges.json
    python benchmarks/bench_judges.py --rooms-n 100 --faces-n 100 --gan-n 64 --json /tmp/b.json   # quick

Rooms: ``--rooms-n`` held-out procedural scenes (family ``--rooms-seed`` 1, which no room judge trained
or selected on) with exact label maps, each condition of ``latentlab.judges.degrade.SUITE`` applied with
``--seed``: window and bed precision / recall / IoU of the old and the new segmenter side by side, the
share of erased window pixels each still calls window, and the window detector's region-presence
precision / recall. Faces: ``--faces-n`` held-out faces (set 202): yaw MAE and attribute accuracies per
condition (erasure needs a label map and is skipped), old and new face judge. Generators: samples have
no ground truth, so for each model in ``--gan`` the report gives the window share each instrument sees
and the agreement of segmenter and detector (``latentlab.judges.windows.instrument_agreement``).

Everything is deterministic under ``--seed`` (degradations) and ``--gan-seed`` (samples).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

try:  # run from a checkout without installing: make the repository root importable
    import latentlab  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
JUDGES = ROOT / "pretrained" / "judges"


def rooms_data(n: int, seed: int):
    from latentlab.data.rooms import render_room
    samples = [render_room(i, seed=seed) for i in range(n)]
    from latentlab.images import from_uint8
    x = from_uint8(np.stack([s.image for s in samples]), channels_last=True)
    return x, torch.from_numpy(np.stack([s.labels for s in samples])).long()


def faces_data(n: int, seed: int):
    from latentlab.data.faces import render_face
    samples = [render_face(i, seed) for i in range(n)]
    from latentlab.images import from_uint8
    x = from_uint8(np.stack([s.image for s in samples]), channels_last=True)
    a = [s.attributes for s in samples]
    y = {"yaw": torch.tensor([r["yaw"] for r in a], dtype=torch.float32),
         "smile": torch.tensor([r["smiling"] for r in a], dtype=torch.float32),
         "glasses": torch.tensor([r["glasses"] > 0 for r in a], dtype=torch.float32),
         "feminine": torch.tensor([r["presentation"] == "feminine" for r in a], dtype=torch.float32)}
    return x, y


def _r(v, nd=4):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, nd)
    if isinstance(v, dict):
        return {k: _r(u, nd) for k, u in v.items()}
    if isinstance(v, list):
        return [_r(u, nd) for u in v]
    return v


def gan_agreement(gan_path: str, segs: dict, det, n: int, seed: int) -> dict:
    from latentlab.checkpoint import load
    from latentlab.judges.windows import instrument_agreement
    gan = load(gan_path).eval()
    with torch.no_grad():
        images = gan.sample(n, seed=seed).float().clamp(-1, 1)
    out = {"model": str(gan_path), "n": n, "seed": seed}
    out["step"] = getattr(gan, "step", None)  # training step the weights were saved at
    for name, seg in segs.items():
        a = instrument_agreement(seg, det, images)
        a95 = instrument_agreement(seg, det, images, min_prob=0.95)
        out[name] = {"segmenter_share": a["mean_fraction_a"], "segmenter_share_p95": a95["mean_fraction_a"],
                     "detector_share": a["mean_fraction_b"], "fraction_corr": a["fraction_corr"],
                     "mean_abs_diff": a["mean_abs_diff"], "region_agreement": a["region_agreement"],
                     "region_kappa": a["region_kappa"], "region_iou": a["region_iou"],
                     "image_presence_agreement": a["image_presence_agreement"],
                     "images_disagreeing": len(a["disagree"])}
    return out


def markdown(report: dict) -> str:
    """Tables of the report for pretrained/JUDGES.md: rooms old vs new (P / R / IoU), faces old vs new."""
    def f(v):
        return "n/a" if v is None else f"{v:.3f}"
    lines = []
    rooms = report.get("rooms", {})
    if "old" in rooms and "new" in rooms:
        lines += ["| condition | window P old / new | window R old / new | window IoU old / new | bed P old / new "
                  "| bed R old / new | bed IoU old / new | erased called window old / new |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for cond in rooms["new"]:
            o, n = rooms["old"][cond], rooms["new"][cond]
            cells = [f"{f(o[c][m])} / {f(n[c][m])}" for c in ("window", "bed") for m in ("precision", "recall", "iou")]
            er = (f"{f(o.get('erased_called_window'))} / {f(n.get('erased_called_window'))}"
                  if "erased_called_window" in n else "")
            lines.append(f"| {cond} | " + " | ".join(cells) + f" | {er} |")
    faces = report.get("faces", {})
    if "old" in faces and "new" in faces:
        lines += ["", "| condition | yaw MAE old / new | smile acc old / new | glasses acc old / new "
                      "| presentation acc old / new |", "| --- | --- | --- | --- | --- |"]
        for cond in faces["new"]:
            o, n = faces["old"][cond], faces["new"][cond]
            lines.append(f"| {cond} | " + " | ".join(f"{f(o[m])} / {f(n[m])}" for m in
                                                     ("yaw_mae", "smile_acc", "glasses_acc", "presentation_acc")) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", default=str(JUDGES / "rooms-v1.safetensors"), help="the previous room segmenter")
    ap.add_argument("--new", default=str(JUDGES / "rooms.safetensors"), help="the room segmenter under test")
    ap.add_argument("--detector", default=str(JUDGES / "windows.safetensors"), help="the window detector")
    ap.add_argument("--faces-old", default=str(JUDGES / "faces-v1.safetensors"), help="the previous face judge")
    ap.add_argument("--faces-new", default=str(JUDGES / "faces.safetensors"), help="the face judge under test")
    ap.add_argument("--rooms-n", type=int, default=1000, help="held-out scenes")
    ap.add_argument("--rooms-seed", type=int, default=1, help="scene family (1: held out by every room judge)")
    ap.add_argument("--faces-n", type=int, default=1000)
    ap.add_argument("--faces-seed", type=int, default=202)
    ap.add_argument("--seed", type=int, default=0, help="seed of the degradations")
    ap.add_argument("--gan", action="append", default=None,
                    help="generator files whose samples the instruments compare (repeatable; default: "
                         "pretrained/rooms.safetensors); '' for none")
    ap.add_argument("--gan-n", type=int, default=500)
    ap.add_argument("--gan-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the report here")
    ap.add_argument("--markdown", default=None, help="also write the old-vs-new tables as Markdown here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from latentlab.judges.faces import FaceJudge
    from latentlab.judges.rooms import RoomSegmenter
    from latentlab.judges.suite import detector_suite, face_suite, room_suite
    from latentlab.judges.windows import WindowDetector

    t0 = time.time()
    segs = {}
    for key in ("old", "new"):
        p = getattr(args, key)
        if p and Path(p).exists():
            segs[key] = RoomSegmenter.load(p)
    det = WindowDetector.load(args.detector) if args.detector and Path(args.detector).exists() else None
    report = {"python": platform.python_version(), "torch": torch.__version__, "seed": args.seed,
              "files": {"old": args.old, "new": args.new, "detector": args.detector,
                        "faces_old": args.faces_old, "faces_new": args.faces_new},
              "rooms": {"n": args.rooms_n, "scene_seed": args.rooms_seed}, "faces": {}, "generators": []}

    x, y = rooms_data(args.rooms_n, args.rooms_seed) if args.rooms_n > 0 else (None, None)
    for key, seg in (segs.items() if x is not None else ()):
        report["rooms"][key] = _r(room_suite(seg, x, y, seed=args.seed))
    if det is not None and x is not None:
        report["rooms"]["detector"] = _r(detector_suite(det, x, y, seed=args.seed))
    print(f"{'condition':<20}" + "".join(f"{k + ' ' + c + ' P/R/IoU':>26}" for k in segs for c in ("window", "bed")))
    for cond in report["rooms"].get("new", report["rooms"].get("old", {})):
        cells = ""
        for k in segs:
            for c in ("window", "bed"):
                r = report["rooms"][k][cond][c]
                cells += f"{r['precision']:>10.3f}{r['recall']:>8.3f}{r['iou']:>8.3f}"
        print(f"{cond:<20}{cells}", flush=True)

    if args.faces_n > 0:
        fx, fy = faces_data(args.faces_n, args.faces_seed)
        report["faces"] = {"n": args.faces_n, "face_seed": args.faces_seed}
        for key in ("old", "new"):
            p = getattr(args, f"faces_{key}")
            if p and Path(p).exists():
                report["faces"][key] = _r(face_suite(FaceJudge.load(p), fx, fy, seed=args.seed))
        for key in ("old", "new"):
            for cond, r in report["faces"].get(key, {}).items():
                print(f"faces [{key}] {cond:<20} yaw MAE {r['yaw_mae']:.4f}  smile {r['smile_acc']:.3f}  glasses "
                      f"{r['glasses_acc']:.3f}  presentation {r['presentation_acc']:.3f}", flush=True)

    gans = args.gan if args.gan is not None else [str(ROOT / "pretrained" / "rooms.safetensors")]
    if det is not None:
        for g in [g for g in gans if g]:
            row = _r(gan_agreement(g, segs, det, args.gan_n, args.gan_seed))
            report["generators"].append(row)
            for k in segs:
                r = row[k]
                print(f"G {Path(g).name} [{k} segmenter vs detector]: window share {r['segmenter_share']:.4f} vs "
                      f"{r['detector_share']:.4f}, corr {r['fraction_corr']}, region agreement "
                      f"{r['region_agreement']}, kappa {r['region_kappa']}", flush=True)
    report["wall_time_s"] = round(time.time() - t0, 1)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown(report))
        print(f"wrote {args.markdown}")
    return report


if __name__ == "__main__":
    main()
