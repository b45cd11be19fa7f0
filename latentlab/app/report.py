"""One self-contained interactive HTML report per model (``latentlab report MODEL --out DIR``).

The page gathers the figures every analysis already makes, in sections that apply to the model:

==========  ======================================================  ==========================
section     what                                                    applies to
==========  ======================================================  ==========================
samples     a grid of samples (one row per class for AC-GAN)        every model
training    loss and D-output curves from the run's JSONL log       when a log is found
metrics     the ``evaluate`` table (judge Fréchet distance, ...)    rooms, faces, fashion-mnist
walk        slerp walks with a slider and play button, strip view   every model
arithmetic  the DCGAN Fig. 7 vector arithmetic grid                 faces
rotation    the DCGAN Fig. 8 turn vector                            faces
filters     guided-backprop views of D's last-layer filters         rooms (needs label maps)
forget      the DCGAN Fig. 6 window removal, slider over k          rooms (room segmenter)
==========  ======================================================  ==========================

plotly.js is embedded once in the page's head, images are PNG data URIs inside ``go.Image`` traces
(one per grid or frame), so the file opens offline from the file system and stays small. A section
whose analysis cannot run on this model (e.g. a query that no sample matches) is shown with the reason
and listed in ``result["failed"]``; nothing is hidden.
"""
from __future__ import annotations

import dataclasses
import html
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..viz.page import figure_html, page, write_page
from .report_cli import SECTIONS  # one list, kept where `report --help` reads it without importing torch

__all__ = ["Budget", "QUICK", "SECTIONS", "Section", "build_report", "applicable_sections", "read_training_log",
           "find_training_log"]

_EVALUATE_DATASETS = ("rooms", "faces", "fashion-mnist", "fashion")


@dataclass(frozen=True)
class Budget:
    """How many samples each section uses (defaults: the analyses' own defaults, a few minutes in all)."""

    n_samples: int = 64          # samples grid
    n_metrics: int = 1000        # evaluate(n=...)
    n_train: int = 5000          # evaluate: training images searched for near-copies
    walks: int = 4               # walks shown side by side
    walk_steps: int = 16         # frames per walk
    pool_size: int = 1000        # judged samples for arithmetic / rotation exemplars
    n_rotation: int = 6          # rows of the rotation figure
    n_filters: int = 2000        # images for the filter IoU
    n_probe: int = 150           # forget: probe samples (paper: 150)
    n_forget_eval: int = 1000    # forget: evaluation samples
    n_curve: int = 200           # forget: samples per removal-curve point

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"budget.{f.name}: expected a positive int, got {v!r}")


#: A budget for smoke runs and tests: every section in seconds on a tiny model.
QUICK = Budget(n_samples=16, n_metrics=32, n_train=64, walks=2, walk_steps=5, pool_size=64, n_rotation=2, n_filters=32,
               n_probe=12, n_forget_eval=24, n_curve=12)


@dataclass
class Section:
    key: str
    title: str
    caption: str                                   # HTML: what the reader sees and which paper figure
    figures: list = field(default_factory=list)    # [(heading, go.Figure)]
    numbers: str = ""                              # HTML: the measured numbers behind the figure
    error: str | None = None
    seconds: float = 0.0


# ------------------------------------------------------------------------------------------ inputs

def _model_name(model) -> str:
    return Path(str(model)).stem if isinstance(model, (str, os.PathLike)) else "model"


def find_training_log(model) -> Path | None:
    """The JSONL training log that belongs to ``model`` (a shipped name or a path), if there is one.

    Looked up in order: ``RUN_DIR/log.jsonl`` for ``RUN_DIR/model.safetensors`` or
    ``RUN_DIR/checkpoints/step-*.safetensors``, then ``pretrained/logs/NAME.jsonl`` for a shipped name.
    """
    from ..pretrained import PRETRAINED, pretrained_dir
    if not isinstance(model, (str, os.PathLike)):
        return None
    if str(model) in PRETRAINED:
        p = pretrained_dir() / "logs" / f"{model}.jsonl"
        return p if p.is_file() else None
    p = Path(model).resolve()
    for d in (p.parent, p.parent.parent):
        if (d / "log.jsonl").is_file():
            return d / "log.jsonl"
    return None


def read_training_log(path, max_points: int = 400) -> dict[str, np.ndarray]:
    """Per-step records of a trainer JSONL log -> {"step": (T,), "loss_d": (T,), ..., "last_step": int}.

    More than ``max_points`` records are averaged in equal bins (the curves keep their trend)."""
    path = Path(path)
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"log: cannot read training log {str(path)!r} ({type(e).__name__}: {e})") from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines):     # a line cut by a kill mid-write: ignore the tail
                continue
            raise ValueError(f"log: line {i} of {str(path)!r} is not JSON") from None
        if isinstance(r, dict) and "step" in r and "loss_d" in r:
            rows.append(r)
    if not rows:
        raise ValueError(f"log: no per-step records (step, loss_d, ...) in {str(path)!r}")
    rows = list({int(r["step"]): r for r in rows}.values())     # a resumed run repeats steps: keep the last
    rows.sort(key=lambda r: int(r["step"]))
    keys = [k for k in ("loss_d", "loss_g", "d_x", "d_g_z") if k in rows[0]]
    out = {"step": np.array([int(r["step"]) for r in rows])}
    last = int(out["step"][-1])
    for k in keys:
        out[k] = np.array([float(r.get(k, np.nan)) for r in rows])
    if len(rows) > max_points:                 # mean over equal bins keeps the trend, drops the noise
        edges = np.linspace(0, len(rows), max_points + 1).astype(int)
        out = {k: np.array([v[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]) for k, v in out.items()}
    out["last_step"] = last
    return out


def applicable_sections(gan, *, has_log: bool = False) -> list[str]:
    """The sections that apply to ``gan`` (see the module docstring)."""
    cfg = gan.config
    ds = (cfg.dataset or "").lower()
    keys = ["samples"]
    if has_log:
        keys.append("training")
    if ds in _EVALUATE_DATASETS:
        keys.append("metrics")
    keys.append("walk")
    if ds == "faces" and not cfg.conditional:
        keys += ["arithmetic", "rotation"]
    if ds == "rooms" and cfg.channels == 3:
        if gan.discriminator is not None:
            keys.append("filters")
        keys.append("forget")
    return keys


# ------------------------------------------------------------------------------------------ sections

def _samples(gan, b: Budget, seed: int) -> Section:
    from ..viz.images import png_data_uri, to_uint8_grid
    import plotly.graph_objects as go
    cfg = gan.config
    if cfg.conditional:
        per = max(1, b.n_samples // cfg.num_classes)
        c = torch.arange(cfg.num_classes).repeat_interleave(per)
        x = gan.sample(len(c), seed=seed, classes=c)
        nrow, what = per, f"one row per class ({', '.join(cfg.class_names or map(str, range(cfg.num_classes)))})"
    else:
        x = gan.sample(b.n_samples, seed=seed)
        nrow, what = int(np.ceil(np.sqrt(b.n_samples))), f"{b.n_samples} samples"
    scale = 2 if cfg.image_size <= 32 else 1
    arr = to_uint8_grid(x, nrow=nrow, scale=scale)
    fig = go.Figure(go.Image(source=png_data_uri(arr)))
    fig.update_xaxes(visible=False).update_yaxes(visible=False)
    fig.update_layout(width=arr.shape[1] + 40, height=arr.shape[0] + 60, margin=dict(l=20, r=20, t=30, b=20),
                      title=f"seed {seed}")
    paper = "AC-GAN Fig. 1 (samples per class)" if cfg.conditional else "DCGAN Fig. 3 (generated bedrooms)"
    return Section("samples", "Samples",
                   f"Random samples G(z), z drawn from the prior ({cfg.prior}): {what} — compare {paper}.",
                   [("", fig)])


def _training(log_path: Path) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    d = read_training_log(log_path)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("losses", "D(x) and D(G(z))"))
    for k, col in (("loss_d", 1), ("loss_g", 1), ("d_x", 2), ("d_g_z", 2)):
        if k in d:
            fig.add_trace(go.Scatter(x=d["step"], y=d[k], mode="lines", name=k), row=1, col=col)
    fig.update_xaxes(title_text="training step (optimizer steps)")
    fig.update_yaxes(title_text="binary cross-entropy (nats)", row=1, col=1)
    fig.update_yaxes(title_text="mean D output (probability, 0-1)", range=[0, 1], row=1, col=2)
    fig.update_layout(height=360, margin=dict(l=40, r=20, t=40, b=40))
    return Section("training", "Training curves",
                   "Discriminator and generator losses and D's mean output on real and generated batches over the "
                   f"training steps, read from <code>{html.escape(log_path.name)}</code> (binned means).",
                   [("", fig)], numbers=f"Logged up to step {d['last_step']}.")


def _metrics(gan, b: Budget, seed: int, metrics, progress: bool) -> Section:
    import plotly.graph_objects as go
    from .evaluate import table_rows
    if metrics is None:
        from ..metrics.evaluate import evaluate
        metrics = evaluate(gan, n=b.n_metrics, seed=seed, n_train=b.n_train, progress=progress)
    elif isinstance(metrics, (str, os.PathLike)):
        metrics = json.loads(Path(metrics).read_text())
    head, rows = table_rows(metrics)
    cols = list(zip(*rows)) if rows else [[], [], [], []]
    fig = go.Figure(go.Table(header=dict(values=["metric", "model", "real", "note"], align="left"),
                             cells=dict(values=[list(c) for c in cols], align="left"),
                             columnwidth=[3, 1.2, 1.2, 4]))
    fig.update_layout(height=60 + 32 * len(rows), margin=dict(l=10, r=10, t=10, b=10))
    return Section("metrics", "Evaluation",
                   "The <code>latentlab evaluate</code> metrics computed with the judges: Fréchet distance in "
                   "judge-feature space (Inception networks cannot be downloaded here) next to the real-vs-real "
                   "floor, content statistics, AC-GAN class accuracy and MS-SSIM diversity (AC-GAN §4.1–4.2), "
                   "nearest-training-image memorization checks and perceptual path length.",
                   [("", fig)], numbers=html.escape(head))


def _walk(gan, b: Budget, seed: int) -> Section:
    from ..latent.walk import Walk
    from ..viz.latent_figures import axis_figure, walk_figure
    cfg = gan.config
    figs, notes, images = [], [], []
    w = Walk(gan, c=0 if cfg.conditional else None)   # one Walk: its judge features are resolved once
    for i in range(b.walks):
        images.append(w.random(2, b.walk_steps, "slerp", seed=seed + i))
        s = w.smoothness()
        notes.append(f"walk {i}: largest step / median = {s.ratio:.2f}" + (" (possible jump)" if s.jump else ""))
    frames = torch.cat(images, dim=-1)                          # walks side by side in every frame
    scale = 4 if cfg.image_size <= 32 else 2
    figs.append(("Slider over the interpolation steps (Play animates)",
                 walk_figure(frames, w.frame_labels, title="slerp walks between random z", scale=scale)))
    strip = torch.stack(images)                                 # (walks, T, C, H, W)
    figs.append(("All frames at once (DCGAN Fig. 4 layout)", axis_figure(strip, None, title="", scale=1)))
    if cfg.conditional:
        z = w.model.sample_z(1, seed=seed)
        w.classes(z, 0, cfg.num_classes - 1, steps=b.walk_steps)
        figs.append((f"Class embedding walk, z fixed: class 0 to class {cfg.num_classes - 1}",
                     walk_figure(w.images, w.frame_labels, title="class walk", scale=scale)))
    return Section("walk", "Latent walks",
                   f"{b.walks} spherical (slerp) interpolations between random z, {b.walk_steps} frames each: "
                   "smooth transitions mean the model has not memorized (DCGAN §6.1, Fig. 4). Move the slider or "
                   "press Play.", figs, numbers="; ".join(notes) + ".")


def _arithmetic(gan, b: Budget, seed: int, judge) -> tuple[Section, object]:
    from ..latent.arithmetic import Arithmetic
    from ..viz.latent_figures import arithmetic_figure
    ar = Arithmetic(gan, judge=judge, seed=seed, pool_size=b.pool_size)
    ar.concept("smiling_woman", smile=1, presentation="feminine", glasses=0)
    ar.concept("neutral_woman", smile=0, presentation="feminine", glasses=0)
    ar.concept("neutral_man", smile=0, presentation="masculine", glasses=0)
    res = ar.evaluate("smiling_woman - neutral_woman + neutral_man", seed=seed)
    ok = ar.success(res, smile=1, presentation="masculine")
    sec = Section("arithmetic", "Vector arithmetic",
                  "Concept vectors are means of k = 3 judge-chosen z's; smiling woman − neutral woman + neutral "
                  "man gives Y, shown as G(Y) in the centre of 3x3 samples of Y + uniform noise of scale 0.25 "
                  "(DCGAN §6.3.2, Fig. 7).",
                  [("", arithmetic_figure(ar.term_images(res), res.images, title=res.expression))],
                  numbers=f"{100 * ok:.0f}% of the 9 result images are judged smiling men.")
    return sec, ar.pool


def _rotation(gan, b: Budget, seed: int, judge, pool) -> Section:
    from ..latent.rotation import RotationAxis
    from ..viz.latent_figures import ROTATION_TITLE, axis_figure
    rot = RotationAxis(gan, judge=judge, seed=seed, pool=pool, pool_size=b.pool_size).fit()
    z = rot.model.sample_z(b.n_rotation, seed=seed + 1)
    images = rot.apply(z)
    return Section("rotation", "Turn vector",
                   "The turn axis is mean(z of >= 4 right-looking faces) − mean(z of >= 4 left-looking faces); "
                   "each row adds multiples of it to one z (DCGAN §6.3.2, Fig. 8).",
                   [("", axis_figure(images, rot.coefficients, title=ROTATION_TITLE))])


def _filters(gan, b: Budget, seed: int) -> Section:
    from ..attribution.report import filter_report
    from .filters import filter_figures
    rep = filter_report(gan, "rooms", n=b.n_filters)
    grid, bars = filter_figures(rep)
    s = rep.summary()
    return Section("filters", "Discriminator filters",
                   f"Guided backpropagation views of the discriminator's last-layer filters ({html.escape(rep.layer)}) "
                   "on their top-activating real rooms, with each filter's best IoU against window and bed masks, "
                   "for the trained D and a randomly initialised one (DCGAN §6.2, Fig. 5).",
                   [("IoU per filter: trained vs random D", bars), ("Top images and guided backprop", grid)],
                   numbers=(f"{s['trained_semantic_filters']} of {s['n_filters']} trained filters reach IoU >= "
                            f"{rep.min_iou} with window or bed; random D: {s['random_semantic_filters']}."))


def _forget(gan, b: Budget, seed: int, segmenter, progress: bool) -> Section:
    from .forget import experiment_figures, intro_sentence
    from ..dissect.forget import forget
    G = gan.generator
    r = forget(G, segmenter, n_probe=b.n_probe, n_eval=b.n_forget_eval, n_curve=b.n_curve, seed=seed,
               progress=progress)
    figs, _, _ = experiment_figures(G, segmenter, r)
    return Section("forget", "Forgetting to draw windows",
                   "A logistic probe on the generator's feature maps, fitted on window boxes, picks the "
                   "window-drawing maps; dropping them removes windows (DCGAN §6.3.1, Fig. 6). The slider sets how "
                   "many of the top maps are dropped.", figs,
                   numbers=intro_sentence(r))


# ------------------------------------------------------------------------------------------ page

def _section_html(s: Section) -> str:
    parts = [f"<section id='{s.key}' data-section='{s.key}'><h2>{html.escape(s.title)}</h2>"
             f"<p class='caption'>{s.caption}</p>"]
    if s.error is not None:
        parts.append(f"<p class='error'>This section could not be built for this model: {html.escape(s.error)}</p>")
    if s.numbers:
        parts.append(f"<p class='numbers'>{s.numbers}</p>")
    for i, (heading, fig) in enumerate(s.figures):
        if heading:
            parts.append(f"<h3>{html.escape(heading)}</h3>")
        parts.append(figure_html(fig, div_id=f"{s.key}-{i}"))
    parts.append("</section>")
    return "\n".join(parts)


def _page(title: str, meta: str, sections: list[Section]) -> str:
    return page(title, [_section_html(s) for s in sections], meta=meta, nav=[(s.key, s.title) for s in sections])


def build_report(model, out, *, sections=None, quick: bool = False, budget: Budget | None = None, seed: int = 0,
                 log=None, metrics=None, segmenter=None, face_judge=None, png: bool = False,
                 progress: bool = True, title: str | None = None) -> dict:
    """Build ``out/index.html`` for ``model`` (a GAN, a shipped name or a .safetensors path).

    Args:
        sections: keys to build (default: every section that applies, see :func:`applicable_sections`).
        quick: use :data:`QUICK` (tiny sample counts, for smoke runs); ``budget`` overrides it.
        seed: every section's randomness derives from it (same seed, same page).
        log: training JSONL log (default :func:`find_training_log`).
        metrics: a finished ``evaluate`` result (dict or JSON path) to show instead of recomputing it.
        segmenter: the forget section's segmenter (default: the shipped room segmenter).
        face_judge: labels faces for arithmetic / rotation exemplars (default: the shipped face judge).
            Metrics and walk smoothness always use the dataset's shipped judge.
        png: also export every figure as a PNG to ``out/png/`` (plotly's kaleido, using Chromium).

    Returns:
        {"html": path, "sections": [keys built], "failed": {key: reason}, "seconds": {key: s},
         "bytes": size of index.html, "png": [paths]}.
    """
    from ..metrics.evaluate import resolve_model
    t_all = time.perf_counter()
    budget = _check_budget(budget, quick)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {seed!r}")
    gan = resolve_model(model)
    out, log_path = _check_paths(model, out, log, metrics)
    keys = _section_keys(gan, sections, has_log=log_path is not None)
    judges = _judges(keys, segmenter, face_judge)
    gan.generator.eval()
    built = _build_sections(gan, keys, budget, seed, log_path=log_path, metrics=metrics, progress=progress, **judges)
    out.mkdir(parents=True, exist_ok=True)
    path = write_page(out / "index.html", _page(title or f"latentlab report: {_model_name(model)}",
                                                _meta(gan, seed), built))
    pngs = export_pngs(built, out / "png") if png else []
    return {"html": str(path), "sections": [s.key for s in built],
            "failed": {s.key: s.error for s in built if s.error is not None},
            "seconds": {s.key: round(s.seconds, 2) for s in built},
            "total_seconds": round(time.perf_counter() - t_all, 2), "bytes": path.stat().st_size, "png": pngs}


def _check_budget(budget, quick: bool) -> Budget:
    if budget is None:
        return QUICK if quick else Budget()
    if not isinstance(budget, Budget):
        raise TypeError(f"budget: expected a latentlab.app.report.Budget, got {type(budget).__name__}")
    return budget


def _check_paths(model, out, log, metrics) -> tuple[Path, Path | None]:
    """(output folder, training log or None), checked before anything is computed."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out: {str(out)!r} exists and is not a directory")
    log_path = Path(log) if log is not None else find_training_log(model)
    if log is not None and not log_path.is_file():
        raise FileNotFoundError(f"log: training log {str(log_path)!r} does not exist")
    if isinstance(metrics, (str, os.PathLike)) and not Path(metrics).is_file():
        raise FileNotFoundError(f"metrics: evaluate result {str(metrics)!r} does not exist")
    return out, log_path


def _section_keys(gan, sections, *, has_log: bool) -> list[str]:
    """The sections to build, in page order: the asked ones (each checked) or every applicable one."""
    possible = applicable_sections(gan, has_log=has_log)
    if sections is None:
        return possible
    keys = list(sections)
    for k in keys:
        if k not in SECTIONS:
            raise ValueError(f"sections: unknown section {k!r}; sections are {list(SECTIONS)}")
        if k not in possible:
            raise ValueError(f"sections: {k!r} does not apply to this model (dataset "
                             f"{gan.config.dataset!r}); applicable: {possible}")
    return [k for k in SECTIONS if k in keys]


def _judges(keys: list[str], segmenter, face_judge) -> dict:
    """The shipped judges the sections need and were not given: {"segmenter": ..., "face_judge": ...}."""
    if face_judge is None and ("arithmetic" in keys or "rotation" in keys):
        from ..judges import load_judge
        face_judge = load_judge("faces")
    if segmenter is None and "forget" in keys:
        from ..judges import load_judge
        segmenter = load_judge("rooms")
    return {"segmenter": segmenter, "face_judge": face_judge}


def _build_sections(gan, keys: list[str], b: Budget, seed: int, *, log_path, metrics, segmenter, face_judge,
                    progress: bool) -> list[Section]:
    """Each section in turn; one that does not apply to these weights (ValueError) is shown with its reason."""
    built: list[Section] = []
    pool = None
    builders = {
        "samples": lambda: _samples(gan, b, seed),
        "training": lambda: _training(log_path),
        "metrics": lambda: _metrics(gan, b, seed, metrics, progress),
        "walk": lambda: _walk(gan, b, seed),
        "arithmetic": lambda: _arithmetic(gan, b, seed, face_judge),
        "rotation": lambda: _rotation(gan, b, seed, face_judge, pool),
        "filters": lambda: _filters(gan, b, seed),
        "forget": lambda: _forget(gan, b, seed, segmenter, progress),
    }
    for k in keys:
        t0 = time.perf_counter()
        try:
            s = builders[k]()
            if k == "arithmetic":          # its labelled pool is reused by the rotation section
                s, pool = s
        except ValueError as e:
            s = Section(k, k.capitalize(), "", error=str(e))
        s.seconds = time.perf_counter() - t0
        built.append(s)
        if progress:
            print(f"report: {k} {'FAILED: ' + s.error if s.error else 'done'} ({s.seconds:.1f} s)", flush=True)
    return built


def _meta(gan, seed: int) -> str:
    cfg = gan.config
    return html.escape(f"{cfg.arch.upper()} {cfg.image_size}x{cfg.image_size}x{cfg.channels}, nz={cfg.nz}, "
                       f"z ~ {cfg.prior}, dataset {cfg.dataset!r}, trained {int(gan.step)} steps; seed {seed}; "
                       f"built {time.strftime('%Y-%m-%d %H:%M')}")


def export_pngs(sections: list[Section], out_dir) -> list[str]:
    """Static PNGs of every figure (for papers and slides) through plotly's kaleido, which drives Chromium."""
    import plotly.io as pio
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figs, paths = [], []
    for s in sections:
        for i, (_, fig) in enumerate(s.figures):
            figs.append(fig)
            paths.append(out_dir / f"{s.key}-{i}.png")
    if not figs:
        return []
    try:
        pio.write_images(figs, paths, width=[f.layout.width or 1000 for f in figs],
                         height=[f.layout.height or 500 for f in figs])
    except Exception as e:   # kaleido needs a Chrome/Chromium it can start
        raise RuntimeError(f"png: plotly/kaleido could not export images ({type(e).__name__}: {e}); install "
                           "Chromium (Debian: apt-get install chromium) or build the report without --png") from e
    return [str(p) for p in paths]
