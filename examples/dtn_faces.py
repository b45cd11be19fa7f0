"""Faces -> cartoon avatars with the shipped DTN (Taigman et al. 2017's faces -> emoji), measured.

    python examples/dtn_faces.py [--model pretrained/dtn-faces.safetensors] [--reader FILE] [--n 1000] [--out DIR]
                                 [--json out.json]
    python examples/dtn_faces.py --smoke --out /tmp/dtn_faces      # tiny untrained networks, seconds

Writes ``DIR/dtn_faces_grid.png`` (rows: source faces, G(face), the ceiling avatar drawn from the face's
attributes) and ``DIR/dtn_faces.html`` (offline plotly: balanced accuracy of G(face) vs the ceiling per
attribute by both readers, and the ablations). ``--json`` holds attribute_balanced_accuracy, attribute_ceiling,
ratio_to_ceiling (the avatar judge's), ``readers`` (the judge and the second avatar reader, which shares no code with
it: ``pretrained/judges/avatars-reader.safetensors``, trained by ``pretrained/train_dtn_faces.py reader report``; per
attribute their ratio to the ceiling and the spread between them), retrieval_median_rank, ablations, fd_ratio,
backdrop_std (how flat G(face)'s backdrop is: the pixel standard deviation in the two top corners, which are one
colour in every avatar; backdrop_std_ceiling, the drawn avatars', is 0.0), backdrop_std_whole (the same over the
whole backdrop of each face's drawn avatar, its outline's 2 pixels left out) and seconds. The ablations (full /
alpha = 0 / beta = 0 / binary D) cannot be retrained in an example's time: they are read from the committed measurements
(``pretrained/dtn-faces.results.json``, written by ``pretrained/train_dtn_faces.py measure``), per condition
mean, std and the seeds that were run. ``--smoke`` runs every step on tiny untrained networks and 16
uncached faces / avatars; its numbers mean nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latentlab.judges import judge_path  # noqa: E402
from latentlab.transfer.faces import Reference, measure, readers_summary  # noqa: E402

RESULTS = ROOT / "pretrained" / "dtn-faces.results.json"
READER = judge_path("avatars-reader")  # the shipped second avatar reader
CONDITIONS = ("dtn-faces", "dtn-faces-alpha0", "dtn-faces-beta0", "dtn-faces-binary")


def ablations_from(results: dict) -> dict:
    """{condition: {metric: {mean, std (over seeds, ddof 0), seeds, values}}} from the measure command's JSON
    ({model path: result}); only final models (RUN_DIR/model.safetensors of runs named CONDITION-sSEED) count."""
    out = {}
    for cond in CONDITIONS:
        rows = [(r["config"]["seed"], r) for p, r in results.items()
                if Path(p).name == "model.safetensors" and Path(p).parent.name.rsplit("-s", 1)[0] == cond]
        if not rows:
            continue
        rows.sort(key=lambda sr: sr[0])
        metrics = {f"{k}_balanced_accuracy": [r["attribute_balanced_accuracy"][k] for _, r in rows]
                   for k in rows[0][1]["attribute_balanced_accuracy"]}
        metrics["retrieval_median_rank"] = [r["retrieval_median_rank"] for _, r in rows]
        metrics["fd_ratio"] = [r["fd_ratio"] for _, r in rows]
        out[cond] = {k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "seeds": [s for s, _ in rows],
                         "values": [float(x) for x in v]} for k, v in metrics.items()}
        out[cond]["steps"] = rows[0][1]["step"]
    return out


def grid(faces: torch.Tensor, transferred: torch.Tensor, ceiling: torch.Tensor, path: Path) -> None:
    from torchvision.utils import save_image
    n = min(12, len(faces))
    save_image(torch.cat([faces[:n], transferred[:n], ceiling[:n]]) * 0.5 + 0.5, path, nrow=n, padding=1)


def figure(result: dict, ablations: dict):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    attrs = list(result["attribute_balanced_accuracy"])
    fig = make_subplots(rows=1, cols=2, subplot_titles=("G(face) vs ceiling (balanced accuracy)",
                                                        "ablations (mean ± std over seeds)"))
    fig.add_bar(x=attrs, y=[result["attribute_balanced_accuracy"][a] for a in attrs], name="G(face), judge",
                row=1, col=1)
    fig.add_bar(x=attrs, y=[result["attribute_ceiling"][a] for a in attrs], name="ceiling avatar, judge", row=1, col=1)
    second = result.get("reader")
    if second:
        keys = list(second["attribute_balanced_accuracy"])
        fig.add_bar(x=keys, y=[second["attribute_balanced_accuracy"][a] for a in keys],
                    name="G(face), second reader", row=1, col=1)
        fig.add_bar(x=keys, y=[second["attribute_ceiling"][a] for a in keys], name="ceiling avatar, second reader",
                    row=1, col=1)
    for cond, m in ablations.items():
        keys = [f"{a}_balanced_accuracy" for a in attrs if f"{a}_balanced_accuracy" in m]
        fig.add_bar(x=[k.replace("_balanced_accuracy", "") for k in keys], y=[m[k]["mean"] for k in keys],
                    error_y=dict(type="data", array=[m[k]["std"] for k in keys]),
                    name=f"{cond} (seeds {m[keys[0]]['seeds']})", row=1, col=2)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(barmode="group", title="DTN faces -> avatars", template="plotly_white")
    return fig


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "pretrained" / "dtn-faces.safetensors"), help="DTN file")
    ap.add_argument("--reader", default=str(READER), help="second avatar reader file ('' = the judge only)")
    ap.add_argument("--n", type=int, default=1000, help="test faces (face set 1; retrieval among n)")
    ap.add_argument("--out", default=None, help="folder for the PNG grid and the HTML figure")
    ap.add_argument("--json", default=None, help="write the numbers to this JSON file")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--smoke", action="store_true", help="tiny untrained networks, 16 faces, seconds")
    a = ap.parse_args(argv)
    if a.n < 2:
        ap.error(f"--n must be >= 2, got {a.n}")
    torch.set_num_threads(a.threads)
    t0 = time.time()
    if a.smoke:
        from latentlab.transfer.faces import face_encoder_config
        from latentlab.judges.avatars import AvatarJudge
        from latentlab.transfer import DTN, DTNConfig, Encoder
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            f = Encoder(face_encoder_config(widths=(4, 4, 4, 4), feature_dim=8)).eval()
            dtn = DTN(DTNConfig(image_size=64, source_channels=3, target_channels=3, feature_dim=8, ngf=4, ndf=4),
                      f).eval()
            judge = AvatarJudge().eval()
            from latentlab.transfer.avatar_reader import AvatarReader, AvatarReaderConfig
            reader = AvatarReader(AvatarReaderConfig(widths=(4, 4))).eval()
        ref = Reference(n=16, judge=judge, cache=False)
        ablations = {"dtn-faces": {"smile_balanced_accuracy": {"mean": 0.5, "std": 0.0, "seeds": [0],
                                                               "values": [0.5]}}}  # placeholder shape only
    else:
        from latentlab.transfer import load_dtn
        from latentlab.transfer.avatar_reader import load_avatar_reader
        dtn = load_dtn(a.model)
        reader = load_avatar_reader(a.reader) if a.reader else None
        ref = Reference(n=a.n)
        ablations = ablations_from(json.loads(RESULTS.read_text())) if RESULTS.exists() else {}
    result = measure(dtn, ref, reader)
    out = {
        "model": "smoke (untrained)" if a.smoke else str(a.model), "n": ref.n,
        "attribute_balanced_accuracy": result["attribute_balanced_accuracy"],
        "attribute_ceiling": result["attribute_ceiling"], "ratio_to_ceiling": result["ratio_to_ceiling"],
        "retrieval_median_rank": result["retrieval_median_rank"], "retrieval_top1": result["retrieval_top1"],
        "retrieval_chance_median": result["retrieval_chance_median"],
        "ablations": ablations, "ablations_source": ("smoke placeholder" if a.smoke else str(RESULTS.relative_to(ROOT)) if RESULTS.exists()
                             else "none: pretrained/dtn-faces.results.json is missing"),
        "fd_ratio": result["fd_ratio"], "fd": result["fd"], "fd_real_floor": result["fd_real_floor"],
        "backdrop_std": result["backdrop_std"], "backdrop_std_ceiling": result["backdrop_std_ceiling"],
        "backdrop_std_whole": result["backdrop_std_whole"],
    }
    if reader is not None:
        out["reader"] = result["reader"]
        out["readers"] = readers_summary(result)
        out["reader_file"] = "smoke (untrained)" if a.smoke else str(a.reader)
    if a.out:
        d = Path(a.out)
        d.mkdir(parents=True, exist_ok=True)
        grid(ref.faces, dtn.transfer(ref.faces), ref.ceiling, d / "dtn_faces_grid.png")
        figure(out, ablations).write_html(d / "dtn_faces.html", include_plotlyjs=True)
        print(f"wrote {d / 'dtn_faces_grid.png'} and {d / 'dtn_faces.html'}")
    out["seconds"] = round(time.time() - t0, 2)
    print(json.dumps({k: v for k, v in out.items() if k != "ablations"}, indent=1))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {a.json}")
    return out


if __name__ == "__main__":
    main()
