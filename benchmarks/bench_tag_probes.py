"""How good are the judge-free instruments of ``latentlab.latent.tag_measures``? Checked on the shipped faces model,
where the face judge gives a reference: tags are simulated from the judge on a pool of samples (the k most
left- and right-looking for the turn probe; the k most confident glasses samples against the rest for the glasses
probe; the same for a z boundary), and each instrument fitted on those tags is compared with the judge on fresh
samples it never saw.

    python benchmarks/bench_tag_probes.py --json out/bench_tag_probes.json
    python benchmarks/bench_tag_probes.py --pool 150 --fresh 250 --ks 5 10 20     # the defaults

Printed per k: the instrument's own cross-validated AUC (what the user sees) and its agreement with the judge on
the fresh samples (Spearman with yaw for the turn probe, AUC against judge glasses > 0.5 for the glasses probe and
for the boundary's signed distance).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

try:  # run from a checkout without installing: make the repository root importable
    import latentlab  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(pool: int, fresh: int, ks, seed: int) -> list[dict]:
    import torch
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    from latentlab.judges import load_judge
    from latentlab.latent import LatentModel
    from latentlab.latent.tag_measures import TagProbe, tag_boundary
    from latentlab.latent.tags import TagsFile
    from latentlab.pretrained import load_pretrained

    lm = LatentModel(load_pretrained("faces"))
    z = lm.sample_z(pool + fresh, seed=seed)
    x = lm.generate(z)
    labels = load_judge("faces").predict(x)
    yaw, glasses = labels["yaw"], labels["glasses"]
    p, f = slice(0, pool), slice(pool, pool + fresh)
    truth = (glasses[f] > 0.5).numpy()
    rows = []
    for k in ks:
        order = torch.argsort(yaw[p])
        idx = torch.cat([order[-k:], order[:k]])
        side = torch.arange(2 * k) < k
        row = {"k": k}
        for mirror in (False, True):
            probe = TagProbe(x[idx], side, mirror=mirror)
            rho = spearmanr(probe.predict(x[f]).numpy(), yaw[f].numpy())[0]
            row[f"turn_probe{'_mirror' if mirror else ''}"] = {"cv_auc": round(probe.auc, 3),
                                                               "spearman_with_judge_yaw": round(float(rho), 3)}
        pos = torch.argsort(glasses[p])[-k:]
        tagged = torch.zeros(pool, dtype=torch.bool)
        tagged[pos] = True
        probe = TagProbe(x[p], tagged)
        row["glasses_probe"] = {"cv_auc": round(probe.auc, 3),
                                "auc_vs_judge": round(float(roc_auc_score(truth, probe.predict(x[f]).numpy())), 3)}
        b = tag_boundary(z[p], TagsFile("faces", seed, pool, {"glasses": pos.tolist()}), "glasses")
        row["glasses_boundary"] = {"cv_auc": round(b.auc, 3), "auc_vs_judge": round(float(roc_auc_score(
            truth, b.direction.distance(z[f]).numpy())), 3)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pool", type=int, default=150, help="tagged pool size (default 150, as annotate's --n)")
    ap.add_argument("--fresh", type=int, default=250, help="fresh samples compared with the judge (default 250)")
    ap.add_argument("--ks", type=int, nargs="+", default=[5, 10, 20], help="tagged samples per side (default 5 10 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the rows here")
    a = ap.parse_args(argv)
    rows = run(a.pool, a.fresh, a.ks, a.seed)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"args": vars(a), "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
