"""MS-SSIM through public library calls vs the SSIM core latentlab used to carry (issue 23).

For each shipped model, draws exactly the images and pairs ``latentlab evaluate NAME --n 2000`` (seed 0) uses
for its MS-SSIM numbers (generated images per class with seed 1, training images per class with seed 2, 100
pairs per class) and computes them with several implementations:

  core      the own SSIM core (valid Gaussian 7x7, sigma 1.5; frozen copy below, the reference)
  latentlab latentlab.metrics.msssim: pytorch_msssim's public ``ssim`` per scale (cs from K = (1e6, 0.03))
  pm_ms_ssim  pytorch_msssim's public ``ms_ssim`` (7x7 window, our weights)
  tm_*      torchmetrics' public ``multiscale_structural_similarity_index_measure`` with various options
  tmcs_*    torchmetrics' public ``structural_similarity_index_measure(return_contrast_sensitivity=True)`` per scale

and prints, per option, the largest absolute difference from ``core`` over every reported number (per-class
means of generated and real images) and over the single pair values.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/msssim_public_api.py [--models fashion rooms faces]

Images are cached under ~/latentlab-runs/msssim-public/ (first run: generation + real data, ~1-3 min per model).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

CACHE = Path.home() / "latentlab-runs" / "msssim-public"


# ---------------------------------------------------------------------------------------------------------------
# the frozen reference: latentlab's SSIM core before issue 23 (valid region, separable Gaussian, per channel)

def _core_terms(x, y, win, data_range=2.0, k1=0.01, k2=0.03):
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    c, k = x.shape[1], win.shape[0]

    def blur(t):
        t = F.conv2d(t, win.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)
        return F.conv2d(t, win.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    mu1, mu2 = blur(x), blur(y)
    s1, s2, s12 = blur(x * x) - mu1 ** 2, blur(y * y) - mu2 ** 2, blur(x * y) - mu1 * mu2
    cs_map = (2 * s12 + c2) / (s1 + s2 + c2)
    ssim_map = ((2 * mu1 * mu2 + c1) / (mu1 ** 2 + mu2 ** 2 + c1)) * cs_map
    return torch.flatten(ssim_map, 2).mean(-1), torch.flatten(cs_map, 2).mean(-1)


def _scale_loop(x, y, weights, terms):
    """pytorch_msssim's scale loop: ReLU(cs) at the finer scales, ReLU(ssim) at the coarsest, product of term^w."""
    w = torch.tensor(weights, dtype=torch.float32)
    out = []
    for level in range(len(w)):
        s, cs = terms(x, y, last=level == len(w) - 1)
        if level < len(w) - 1:
            out.append(torch.relu(cs))
            pad = [d % 2 for d in x.shape[2:]]
            x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    out.append(torch.relu(s))
    return torch.prod(torch.stack(out) ** w.view(-1, 1, 1), dim=0).mean(dim=1)


def core(x, y, weights):
    coords = torch.arange(7, dtype=torch.float) - 3
    g = torch.exp(-(coords ** 2) / (2 * 1.5 ** 2))
    win = g / g.sum()
    return _scale_loop(x, y, weights, lambda a, b, last: _core_terms(a, b, win))


# ---------------------------------------------------------------------------------------------------------------
# public-API variants: f(x, y, weights) -> (N,)

def _fold(t):
    """(N, C, H, W) -> (N*C, 1, H, W): one image per channel, so per-channel terms survive a per-image mean."""
    return t.reshape(-1, 1, *t.shape[2:])


def shipped(x, y, weights):
    """latentlab.metrics.msssim: pytorch_msssim's public ``ssim`` per scale, cs from K = (CS_K1, 0.03)."""
    from latentlab.metrics.diversity import msssim
    return msssim(x, y, weights=weights)


def pm_ms_ssim(x, y, weights):
    from pytorch_msssim import ms_ssim
    return ms_ssim(x, y, data_range=2.0, size_average=False, win_size=7, weights=list(weights))


def tm_ms(fold: bool, **kw):
    def f(x, y, weights):
        from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as ms
        n, c = x.shape[:2]
        a, b = (_fold(x), _fold(y)) if fold else (x, y)
        v = ms(a, b, data_range=2.0, betas=tuple(float(w) for w in weights), reduction="none", **kw)
        return v.view(n, c).mean(1) if fold else v
    return f


def tm_cs(**kw):
    def f(x, y, weights):
        from torchmetrics.functional.image import structural_similarity_index_measure as ssim

        def terms(a, b, last):
            n, c = a.shape[:2]
            s, cs = ssim(_fold(a), _fold(b), data_range=2.0, reduction="none", return_contrast_sensitivity=True,
                         **kw)
            return s.view(n, c), cs.view(n, c)
        return _scale_loop(x, y, weights, terms)
    return f


def tm_crop(sigma: float):
    """torchmetrics per scale: cs as returned (valid region), SSIM from return_full_image cropped to the valid
    region by hand (torchmetrics averages SSIM over the reflect-padded border too)."""
    def f(x, y, weights):
        from torchmetrics.functional.image import structural_similarity_index_measure as ssim
        p = int(3.5 * sigma + 0.5)  # torchmetrics' Gaussian half-width for this sigma

        def terms(a, b, last):
            n, c = a.shape[:2]
            _, cs = ssim(_fold(a), _fold(b), data_range=2.0, reduction="none", sigma=sigma,
                         return_contrast_sensitivity=True)
            _, full = ssim(_fold(a), _fold(b), data_range=2.0, reduction="none", sigma=sigma, return_full_image=True)
            s = full[..., p:-p, p:-p].flatten(1).mean(1)
            return s.view(n, c), cs.view(n, c)
        return _scale_loop(x, y, weights, terms)
    return f


VARIANTS = {
    "latentlab msssim (pytorch_msssim.ssim per scale, cs via K1=1e6)": shipped,
    "pm_ms_ssim (pytorch_msssim.ms_ssim, win_size=7)": pm_ms_ssim,
    "tm_ms sigma=1.5 default kernel (11)": tm_ms(False),
    "tm_ms sigma=1.5 kernel_size=7 (window stays 11x11)": tm_ms(False, kernel_size=7),
    "tm_ms sigma=1.5 kernel_size=7, channels folded": tm_ms(True, kernel_size=7),
    "tm_ms sigma=0.999 kernel_size=7 (7x7 window), channels folded": tm_ms(True, sigma=0.999, kernel_size=7),
    "tm_ms uniform 7x7 (gaussian_kernel=False), channels folded": tm_ms(True, gaussian_kernel=False, kernel_size=7),
    "tm_ms sigma=1.5 kernel_size=7 normalize=None, folded": tm_ms(True, kernel_size=7, normalize=None),
    "tmcs per scale sigma=1.5 (11x11)": tm_cs(sigma=1.5),
    "tmcs per scale sigma=0.999 (7x7)": tm_cs(sigma=0.999),
    "tmcs per scale uniform 7x7": tm_cs(gaussian_kernel=False, kernel_size=7),
    "tmcs + full image cropped to valid, sigma=0.999 (7x7)": tm_crop(0.999),
}


# ---------------------------------------------------------------------------------------------------------------

def images(name: str) -> dict:
    """evaluate(name, n=2000, seed=0)'s generated and training images, cached."""
    path = CACHE / f"{name}.pt"
    if path.exists():
        return torch.load(path)
    from latentlab.metrics.evaluate import _generate, load_real, resolve_subject
    subject = resolve_subject(name, seed=0)
    gen, classes = _generate(subject, 2000, 0, 32, False)
    data = (subject.info["dataset"]).lower().replace("_", "-")
    real = load_real(data, n_heldout=2000, n_train=5000, image_size=subject.shape[-1], progress=False)
    out = {"gen": gen, "classes": classes, "train": real.train, "train_labels": real.train_labels,
           "size": subject.shape[-1]}
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(out, path)
    return out


def pairs(n_images: torch.Tensor, labels, seed: int, n_pairs: int = 100):
    """The (i, j) index pairs msssim_per_class(images, labels, 100, seed=seed) draws, per class (same RNG use)."""
    g = torch.Generator().manual_seed(seed)
    n_all = n_images
    groups = {"all": torch.arange(n_all)} if labels is None else {
        int(c): torch.nonzero(torch.as_tensor(labels).long() == c).flatten() for c in torch.unique(torch.as_tensor(labels))}
    out = {}
    for c, idx in groups.items():
        n = idx.numel()
        i = torch.randint(0, n, (n_pairs,), generator=g)
        j = (i + torch.randint(1, n, (n_pairs,), generator=g)) % n
        out[c] = (idx[i], idx[j])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["fashion", "rooms", "faces"])
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from latentlab.metrics.diversity import msssim_per_class, msssim_settings

    results = {}
    for name in args.models:
        d = images(name)
        weights = msssim_settings(d["size"], 7)
        sets = {"gen": (d["gen"], d["classes"], 1), "real": (d["train"], d["train_labels"], 2)}
        ref_vals, ref_means = {}, {}
        per_variant = {}
        for set_name, (imgs, labels, seed) in sets.items():
            # sanity: the pair draw above is msssim_per_class's, and `core` is the shipped core
            shipped = msssim_per_class(imgs, labels, 100, seed=seed, win_size=7)
            for c, (i, j) in pairs(imgs.shape[0], labels, seed).items():
                key = f"{set_name}/{c}"
                ref_vals[key] = core(imgs[i], imgs[j], weights)
                ref_means[key] = float(ref_vals[key].double().mean())
                assert abs(ref_means[key] - shipped[str(c)]) < 1e-6, (key, ref_means[key], shipped[str(c)])
        print(f"\n{name}: {d['size']} px, weights {tuple(round(w, 4) for w in weights)}; reference means "
              + json.dumps({k: round(v, 4) for k, v in ref_means.items()}))
        for label, fn in VARIANTS.items():
            try:
                dm, dp = 0.0, 0.0
                for key in ref_vals:
                    set_name, c = key.split("/")
                    imgs, labels, seed = sets[set_name]
                    i, j = pairs(imgs.shape[0], labels, seed)[c if c == "all" else int(c)]
                    v = fn(imgs[i], imgs[j], weights)
                    if not torch.isfinite(v).all():
                        raise FloatingPointError(f"{int((~torch.isfinite(v)).sum())} of {v.numel()} pair values "
                                                 f"are not finite ({key})")
                    dp = max(dp, float((v - ref_vals[key]).abs().max()))
                    dm = max(dm, abs(float(v.double().mean()) - ref_means[key]))
                row = {"max_abs_diff_reported": dm, "max_abs_diff_pair": dp}
                print(f"  {label:62s} reported numbers {dm:.2e}   single pairs {dp:.2e}")
            except Exception as e:  # noqa: BLE001 -- a refusal is a result here
                row = {"error": f"{type(e).__name__}: {e}"[:160]}
                print(f"  {label:62s} refused: {row['error']}")
            per_variant[label] = row
        results[name] = {"reference": ref_means, "variants": per_variant}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
