"""One self-contained interactive HTML report per model (``latentlab report MODEL --out DIR``).

The page gathers the figures every analysis already makes, in sections that apply to the model:

==========  ======================================================  ==========================
section     what                                                    applies to
==========  ======================================================  ==========================
samples     a grid of samples (one row per class for AC-GAN)        every model
training    loss and D-output curves from the run's JSONL log       when a log is found
metrics     the ``evaluate`` table (judge Fréchet distance, ...)    rooms, faces, fashion-mnist
walk        slerp walks with a slider and play button, strip view   every model
sefa        SeFa's closed-form directions, measured in pixels       every model (report_labels.py)
arithmetic  the DCGAN Fig. 7 vector arithmetic grid                 faces
rotation    the DCGAN Fig. 8 turn vector                            faces
labels      arithmetic, turn axis and boundaries from your tags     when labels= (--labels) is given
filters     guided-backprop views of D's last-layer filters         rooms (needs label maps)
forget      the DCGAN Fig. 6 window removal, slider over k, read   rooms (room segmenter and
            by two instruments and their (dis)agreement             window detector)
dtn         DTN before/after grid and the experiment's numbers      DTN models (digits, faces)
==========  ======================================================  ==========================

plotly.js is embedded once in the page's head, images are PNG data URIs inside ``go.Image`` traces
(one per grid or frame), so the file opens offline from the file system and stays small. A section
whose analysis cannot run on this model (e.g. a query that no sample matches) is shown with the reason
and listed in ``result["failed"]``; a section that does not apply (no training log, no discriminator, a data
domain without the judge it needs, ...) is listed with the reason under "Not in this report" and in
``result["skipped"]``; nothing is hidden.

Any generator module works too (a user's own, e.g. the unmodified pytorch/examples DCGAN ``netG``): it goes
through the shared adapter (:class:`latentlab.models.adapter.LatentModel`) with ``prior=`` and ``nz=``; the
forget layer is ``layer=`` (default :func:`latentlab.models.adapter.default_layer`, ``main.5`` there), the
filters section needs ``discriminator=`` and the judged sections the data domain ``data=`` ("rooms", ...)::

    build_report(netG, "out/report", prior="normal", nz=100, discriminator=netD, data="rooms", quick=True)
"""
from __future__ import annotations

import dataclasses
import html
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..validate import options_of
from ..viz.page import figure_html, page, write_page
from .report_sections import SECTIONS, Section  # one list, read by `report --help` without importing torch

__all__ = ["Budget", "QUICK", "ReportOptions", "SECTIONS", "Section", "build_report", "applicable_sections",
           "plan_sections", "resolve_subject", "ReportSubject", "read_training_log", "find_training_log", "DTN_MODELS",
           "load_dtn_model", "dtn_experiment"]

_EVALUATE_DATASETS = ("rooms", "faces", "fashion-mnist", "fashion")
_GAN_SECTIONS = tuple(k for k in SECTIONS if k != "dtn")   # "dtn" is the one section of a DTN's page


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
    n_dtn: int = 2000            # DTN digits: held-out source digits (transfer accuracy, floor)
    n_dtn_fd: int = 500          # DTN digits: images a side of the Fréchet ratio (at most 500)
    n_dtn_faces: int = 1000      # DTN faces: held-out faces (attributes, retrieval, Fréchet ratio)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"budget.{f.name}: expected a positive int, got {v!r}")


@dataclass(frozen=True)
class ReportOptions:
    """How :func:`build_report` builds the page, beyond the model and its sections."""

    seed: int = 0                 # every section's randomness derives from it (same seed, same page)
    budget: Budget | None = None  # sample counts (default: Budget(), or QUICK with quick=True)
    log: str | os.PathLike | None = None      # training JSONL log (default: find_training_log(model))
    metrics: object = None        # a finished `evaluate` result (Evaluation, its dict or JSON path) to show
    labels: object = None         # the user's tags (a latentlab.latent.tags file or TagsFile): "labels" section
    boxes: object = None          # a boxes file (or BoxesFile) on the forget probe samples: "forget-boxes" section
    segmenter: object = None      # the forget section's segmenter (default: the shipped room segmenter)
    # the forget section's second window instrument, read on the same images (default: the shipped
    # WindowDetector, as `latentlab forget`); the page shows both instruments' numbers per drop and says when
    # they disagree (latentlab.dissect.removal.DISAGREE). False: the segmenter only.
    detector: object = None
    # labels faces for arithmetic / rotation exemplars (default: the shipped face judge); metrics and walk
    # smoothness always use the dataset's shipped judge
    face_judge: object = None
    png: bool = False             # also export every figure as a PNG to out/png/ (plotly's kaleido, Chromium)
    progress: bool = True         # print a line per section
    title: str | None = None      # the page's title (default "latentlab report: NAME")
    live: bool = False            # the page links live.html beside it (`latentlab report --live` writes it)


#: A budget for smoke runs and tests: every section in seconds on a tiny model.
QUICK = Budget(n_samples=16, n_metrics=32, n_train=64, walks=2, walk_steps=5, pool_size=64, n_rotation=2, n_filters=32,
               n_probe=12, n_forget_eval=24, n_curve=12, n_dtn=100, n_dtn_fd=50, n_dtn_faces=48)


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


_DATA_DOMAINS = ("rooms", "faces", "fashion-mnist", "fashion")


@dataclass
class ReportSubject:
    """What the report is about: a latentlab GAN, or a raw generator module run through the shared adapter.

    ``lm`` (a :class:`~latentlab.models.adapter.LatentModel`) draws z and generates for every section;
    ``gan`` is the latentlab GAN or None (a raw module); ``discriminator`` D or None; ``dataset`` the data
    domain ("" when unknown); ``layer`` the forget layer; ``shape`` (C, H, W) of one image."""

    lm: object
    gan: object | None
    discriminator: object | None
    dataset: str
    layer: str
    shape: tuple
    name: str = "model"

    @property
    def raw(self) -> bool:
        return self.gan is None

    @property
    def class_names(self):
        cfg = self.lm.config
        if self.lm.ours and cfg.class_names:
            return list(cfg.class_names)
        return [str(i) for i in range(self.lm.num_classes)]

    def generator(self):
        """What ``forget`` runs: our generator as before; a raw module through a LatentModel with forget's batch."""
        from ..dissect.removal import BATCH
        from ..models.adapter import LatentModel
        if self.gan is not None:
            return self.gan.generator
        lm = self.lm
        return LatentModel(lm.module, lm.prior, nz=lm.nz, z_dims=lm.z_dims, batch_size=BATCH)


def _data_domain(data) -> str | None:
    if data is None:
        return None
    key = str(data).lower().replace("_", "-") if isinstance(data, str) else None
    if key not in _DATA_DOMAINS:
        raise ValueError(f"data: expected one of {_DATA_DOMAINS} (the domain the generator draws), got {data!r}")
    return key


def resolve_subject(model, *, prior=None, nz=None, layer=None, discriminator=None, data=None,
                    seed: int = 0) -> ReportSubject:
    """``model`` (a GAN, a shipped name, a .safetensors path, or any generator ``nn.Module`` / LatentModel) ->
    :class:`ReportSubject`, every argument checked before anything is computed.

    A latentlab model brings its prior, nz, data domain and discriminator: ``prior``, ``nz`` and
    ``discriminator`` are refused for it (``data`` only when it contradicts the model's dataset). A raw module
    needs ``prior`` and ``nz``; ``discriminator`` (any module reading its images) and ``data`` are optional."""
    from torch import nn

    from ..pretrained import resolve_model
    from ..models import GAN
    from ..models.adapter import LatentModel
    from ..hooks import get_module
    data = _data_domain(data)
    if isinstance(model, (GAN, str, os.PathLike)):
        for name, v in (("prior", prior), ("nz", nz), ("discriminator", discriminator)):
            if v is not None:
                raise ValueError(f"{name}: only for a raw generator module; a latentlab model brings its own "
                                 f"{name} (got {name}={type(v).__name__ if name == 'discriminator' else repr(v)})")
        gan = resolve_model(model)
        cfg = gan.config
        ds = (cfg.dataset or "").lower()
        if data is not None and ds and data != ds and {data, ds} != {"fashion", "fashion-mnist"}:
            raise ValueError(f"data: the model was trained on {cfg.dataset!r}, got data={data!r}")
        ds = ds or data or ""          # a converted file without a dataset name: data= gives it
        lm = LatentModel(gan)
        if layer is not None:
            get_module(gan.generator, layer)
        return ReportSubject(lm, gan, gan.discriminator, ds, layer or lm.default_layer(),
                             (cfg.channels, cfg.image_size, cfg.image_size), _model_name(model))
    if not isinstance(model, (nn.Module, LatentModel)):
        raise TypeError(f"model: expected a latentlab GAN, a shipped model name, a .safetensors path or a generator "
                        f"nn.Module (with prior= and nz=), got {type(model).__name__}")
    from ..config import ModelConfig
    module = model.module if isinstance(model, LatentModel) else model
    ours = isinstance(getattr(module, "config", None), ModelConfig)
    if nz is None and not ours and not (isinstance(model, LatentModel) and model.nz):
        from ..models.adapter import first_layer, _in_features
        try:
            _, first = first_layer(module)
            hint = f"; its first layer ({type(first).__name__}) takes {_in_features(first)} inputs"
        except (TypeError, ValueError):
            hint = ""
        raise ValueError(f"nz: required for a generator module that is not a latentlab model "
                         f"({type(module).__name__}): pass nz= (the size of z){hint}")
    lm = LatentModel(model, prior, nz=nz)
    z = lm.sample_z(1, seed=seed)
    try:
        x = lm.generate(z, 0 if lm.conditional else None)
    except TypeError as e:
        raise TypeError(f"model: {type(module).__name__} is not an image generator ({e})") from None
    except RuntimeError as e:
        raise ValueError(f"model: {type(module).__name__} cannot generate from z of shape "
                         f"{tuple(z.shape) if lm.z_dims == 2 else (1, lm.nz, 1, 1)} ({type(e).__name__}: "
                         f"{str(e).splitlines()[0]})") from None
    if discriminator is not None:
        _check_discriminator(discriminator, x)
    if data is None and ours:
        data = (lm.dataset or "").lower() or None
    if layer is not None:
        get_module(module, layer)
    return ReportSubject(lm, None, discriminator, data or "", layer or lm.default_layer(), tuple(x.shape[1:]),
                         type(module).__name__)


def _check_discriminator(D, images: torch.Tensor) -> None:
    """D must be a module that reads the generator's images: one forward pass on two of them."""
    from torch import nn

    from ..hooks import eval_mode
    if not isinstance(D, nn.Module):
        raise TypeError(f"discriminator: expected an nn.Module reading the generator's images, got {type(D).__name__}")
    with eval_mode(D), torch.no_grad():
        try:
            D(images.to(next((p.device for p in D.parameters()), torch.device("cpu"))))
        except RuntimeError as e:
            raise ValueError(f"discriminator: {type(D).__name__} cannot read the generator's images of shape "
                             f"{tuple(images.shape[1:])} ({type(e).__name__}: {str(e).splitlines()[0]})") from None


def plan_sections(subject: ReportSubject, *, has_log: bool = False,
                  has_labels: bool = False) -> tuple[list[str], dict[str, str]]:
    """(the sections that apply, {section: why it does not apply}) in page order (see the module docstring)."""
    return _plan(subject.dataset, conditional=subject.lm.conditional, channels=subject.shape[0],
                 has_discriminator=subject.discriminator is not None, raw=subject.raw, has_log=has_log,
                 has_labels=has_labels)


def _plan(ds: str, *, conditional: bool, channels: int, has_discriminator: bool, raw: bool,
          has_log: bool, has_labels: bool = False) -> tuple[list[str], dict[str, str]]:
    why = {}
    if not has_labels:
        why["labels"] = "no labels: pass labels= (--labels FILE, made with latentlab annotate MODEL --tags ...)"
    if not has_log:
        why["training"] = ("no training log: a module in memory has no run folder; pass log=PATH" if raw
                           else "no training log found next to the model (pass log=PATH)")
    if ds not in _EVALUATE_DATASETS:
        why["metrics"] = (f"the data domain {ds!r} has no judge and real data" if ds else
                          "no data domain: pass data= (rooms, faces or fashion-mnist; `latentlab report --data`) to "
                          "measure against real data")
    for k in ("arithmetic", "rotation"):
        if ds != "faces":
            why[k] = "needs face samples (data domain 'faces') and the face judge"
        elif conditional:
            why[k] = "needs an unconditional faces model (this one is class-conditional)"
    if ds != "rooms" or channels != 3:
        why["filters"] = why["forget"] = "needs RGB room images (data domain 'rooms'): the room segmenter's label maps"
    elif not has_discriminator:
        why["filters"] = ("no discriminator: pass discriminator= (the D trained with this generator)" if raw
                          else "the model file holds no discriminator")
    keys = [k for k in _GAN_SECTIONS if k not in why]
    return keys, {k: why[k] for k in _GAN_SECTIONS if k in why}


def applicable_sections(gan, *, has_log: bool = False) -> list[str]:
    """The sections that apply to ``gan`` (a GAN, a shipped name, a path; see the module docstring)."""
    cfg = gan.config
    return _plan((cfg.dataset or "").lower(), conditional=cfg.conditional, channels=cfg.channels,
                 has_discriminator=gan.discriminator is not None, raw=False, has_log=has_log)[0]


# ------------------------------------------------------------------------------------------ sections

def _samples(s: ReportSubject, b: Budget, seed: int) -> Section:
    from ..viz.images import png_data_uri, to_uint8_grid
    import plotly.graph_objects as go
    if s.lm.conditional:
        per = max(1, b.n_samples // s.lm.num_classes)
        c = torch.arange(s.lm.num_classes).repeat_interleave(per)
        x = s.gan.sample(len(c), seed=seed, classes=c)
        nrow, what = per, f"one row per class ({', '.join(s.class_names)})"
    else:
        x = s.gan.sample(b.n_samples, seed=seed) if s.gan is not None else s.lm.generate(
            s.lm.sample_z(b.n_samples, seed=seed))
        nrow, what = int(np.ceil(np.sqrt(b.n_samples))), f"{b.n_samples} samples"
    scale = 2 if s.shape[-1] <= 32 else 1
    arr = to_uint8_grid(x, nrow=nrow, scale=scale)
    fig = go.Figure(go.Image(source=png_data_uri(arr)))
    fig.update_xaxes(visible=False).update_yaxes(visible=False)
    fig.update_layout(width=arr.shape[1] + 40, height=arr.shape[0] + 60, margin=dict(l=20, r=20, t=30, b=20),
                      title=f"seed {seed}")
    paper = "AC-GAN Fig. 1 (samples per class)" if s.lm.conditional else "DCGAN Fig. 3 (generated bedrooms)"
    return Section("samples", "Samples",
                   f"Random samples G(z), z drawn from the prior ({s.lm.prior}): {what} — compare {paper}.",
                   [("", fig)], data={"n": int(x.shape[0]), "mean": round(float(x.float().mean()), 6),
                                      "std": round(float(x.float().std()), 6)})


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
                   [("", fig)], numbers=f"Logged up to step {d['last_step']}.",
                   data={"last_step": int(d["last_step"])})


_UNTIMED = ("seconds", "timings", "cpu_seconds", "cpu_timings", "total_seconds")


def _numbers(d: dict) -> dict:
    """A result dict without its wall-clock entries (what is compared between runs)."""
    return {k: v for k, v in d.items() if k not in _UNTIMED}


def _metrics(s: ReportSubject, b: Budget, seed: int, metrics, progress: bool) -> Section:
    from ..viz.tables import table_figure
    from .evaluate import table_rows
    if metrics is None:
        from ..metrics.evaluate import EvalSettings, evaluate
        metrics = evaluate(s.gan if s.gan is not None else s.lm, n=b.n_metrics, seed=seed, dataset=s.dataset,
                           settings=EvalSettings(n_train=b.n_train, progress=progress)).to_dict()
    elif isinstance(metrics, (str, os.PathLike)):
        metrics = json.loads(Path(metrics).read_text())
    elif hasattr(metrics, "to_dict"):     # an Evaluation
        metrics = metrics.to_dict()
    head, rows = table_rows(metrics)
    fig = table_figure(["metric", "model", "real", "note"], rows, columnwidth=[3, 1.2, 1.2, 4])
    return Section("metrics", "Evaluation",
                   "The <code>latentlab evaluate</code> metrics computed with the judges: Fréchet distance in "
                   "judge-feature space (Inception networks cannot be downloaded here) next to the real-vs-real "
                   "floor, content statistics, AC-GAN class accuracy and MS-SSIM diversity (AC-GAN §4.1–4.2), "
                   "nearest-training-image memorization checks and perceptual path length.",
                   [("", fig)], numbers=html.escape(head), data=_numbers(metrics))


def _walk_features(s: ReportSubject):
    """Walk smoothness distances: "auto" (the dataset's judge) when the model names its dataset; else (a raw
    module, a file without a dataset name) the judge of ``data=`` when it exists and reads images of this
    shape, as "auto" does, else pixels."""
    if s.lm.dataset.lower() == s.dataset or not s.dataset:
        return "auto"
    try:
        from ..judges import load_judge
        judge = load_judge(s.dataset)
    except (FileNotFoundError, ValueError, ImportError):
        return "pixels"
    shape = getattr(judge, "input_shape", None)
    return judge if shape is None or tuple(shape) == tuple(s.shape) else "pixels"


def _walk(s: ReportSubject, b: Budget, seed: int) -> Section:
    from ..latent.walk import Walk
    from ..viz.latent_figures import axis_figure, walk_figure
    figs, notes, images, ratios = [], [], [], []
    w = Walk(s.gan if s.gan is not None else s.lm, c=0 if s.lm.conditional else None,
             features=_walk_features(s))   # one Walk: its judge features are resolved once
    for i in range(b.walks):
        images.append(w.random(2, b.walk_steps, "slerp", seed=seed + i))
        sm = w.smoothness()
        ratios.append(round(float(sm.ratio), 6))
        notes.append(f"walk {i}: largest step / median = {sm.ratio:.2f}" + (" (possible jump)" if sm.jump else ""))
    frames = torch.cat(images, dim=-1)                          # walks side by side in every frame
    scale = 4 if s.shape[-1] <= 32 else 2
    figs.append(("Slider over the interpolation steps (Play animates)",
                 walk_figure(frames, w.frame_labels, title="slerp walks between random z", scale=scale)))
    strip = torch.stack(images)                                 # (walks, T, C, H, W)
    figs.append(("All frames at once (DCGAN Fig. 4 layout)", axis_figure(strip, None, title="", scale=1)))
    if s.lm.conditional:
        z = w.model.sample_z(1, seed=seed)
        w.classes(z, 0, s.lm.num_classes - 1, steps=b.walk_steps)
        figs.append((f"Class embedding walk, z fixed: class 0 to class {s.lm.num_classes - 1}",
                     walk_figure(w.images, w.frame_labels, title="class walk", scale=scale)))
    return Section("walk", "Latent walks",
                   f"{b.walks} spherical (slerp) interpolations between random z, {b.walk_steps} frames each: "
                   "smooth transitions mean the model has not memorized (DCGAN §6.1, Fig. 4). Move the slider or "
                   "press Play.", figs, numbers="; ".join(notes) + ".",
                   data={"max_over_median_step": ratios})


def _arithmetic(s: ReportSubject, b: Budget, seed: int, judge) -> tuple[Section, object]:
    from ..latent.arithmetic import Arithmetic
    from ..viz.latent_figures import arithmetic_figure
    ar = Arithmetic(s.gan if s.gan is not None else s.lm, judge=judge, seed=seed, pool_size=b.pool_size)
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
                  numbers=f"{100 * ok:.0f}% of the 9 result images are judged smiling men.",
                  data={"share_smiling_men": float(ok)})
    return sec, ar.pool


def _rotation(s: ReportSubject, b: Budget, seed: int, judge, pool) -> Section:
    from ..latent.rotation import RotationAxis
    from ..viz.latent_figures import ROTATION_TITLE, axis_figure
    rot = RotationAxis(s.gan if s.gan is not None else s.lm, judge=judge, seed=seed, pool=pool,
                       pool_size=b.pool_size).fit()
    z = rot.model.sample_z(b.n_rotation, seed=seed + 1)
    images = rot.apply(z)
    return Section("rotation", "Turn vector",
                   "The turn axis is mean(z of >= 4 right-looking faces) − mean(z of >= 4 left-looking faces); "
                   "each row adds multiples of it to one z (DCGAN §6.3.2, Fig. 8).",
                   [("", axis_figure(images, rot.coefficients, title=ROTATION_TITLE))],
                   data={"coefficients": [float(c) for c in rot.coefficients]})


def _filters(s: ReportSubject, b: Budget, seed: int) -> Section:
    from ..attribution.report import filter_report
    from .filters import filter_figures
    rep = filter_report(s.gan if s.gan is not None else s.discriminator, "rooms", n=b.n_filters)
    grid, bars = filter_figures(rep)
    sm = rep.summary()
    return Section("filters", "Discriminator filters",
                   f"Guided backpropagation views of the discriminator's last-layer filters ({html.escape(rep.layer)}) "
                   "on their top-activating real rooms, with each filter's best IoU against window and bed masks, "
                   "for the trained D and a randomly initialised one (DCGAN §6.2, Fig. 5).",
                   [("IoU per filter: trained vs random D", bars), ("Top images and guided backprop", grid)],
                   numbers=(f"{sm['trained_semantic_filters']} of {sm['n_filters']} trained filters reach IoU >= "
                            f"{rep.min_iou} with window or bed; random D: {sm['random_semantic_filters']}."),
                   data=_numbers(sm))


def _forget(s: ReportSubject, b: Budget, seed: int, segmenter, detector, progress: bool) -> Section:
    from .forget import experiment_figures, intro_sentence
    from ..dissect.forget import forget
    G = s.generator()
    r = forget(G, segmenter, layer=s.layer, n_probe=b.n_probe, n_eval=b.n_forget_eval, n_curve=b.n_curve,
               seed=seed, progress=progress, detector=detector)
    figs, _, _ = experiment_figures(G, segmenter, r)
    two = (" Two instruments read every image: the room segmenter and, built independently of it, the window "
           "detector; the page says whether they agree on each drop.") if r.instruments else ""
    return Section("forget", "Forgetting to draw windows",
                   "A logistic probe on the generator's feature maps, fitted on window boxes, picks the "
                   "window-drawing maps; dropping them removes windows (DCGAN §6.3.1, Fig. 6). The slider sets how "
                   "many of the top maps are dropped." + two, figs,
                   numbers=intro_sentence(r) + _instruments_html(r), data=_numbers(json.loads(r.to_json())))


def _forget_boxes(s: ReportSubject, b: Budget, seed: int, boxes) -> Section:
    from .report_forget_boxes import forget_boxes_section
    return Section(**forget_boxes_section(s, b, seed, boxes))


def _instruments_html(r) -> str:
    """Both window instruments' numbers per drop and the verdict of the disagreement rule (``removal.DISAGREE``),
    as HTML lines after the forget sentence; "" when only the segmenter read the images."""
    from ..dissect.removal import DISAGREE
    from .forget import VARIANTS, instrument_lines
    m = r.to_dict()
    ins = m.get("instruments")
    if not ins:
        return ""
    rule = (f"reductions more than {100 * DISAGREE['max_points']:.0f} points apart, of opposite sign beyond "
            f"{100 * DISAGREE['min_sign']:.0f} points, or presence agreement on the edited images below "
            f"{100 * DISAGREE['min_presence_agreement']:.0f}%")
    bad = [VARIANTS[k] for k in VARIANTS if ins.get(k) and ins[k]["disagree"]]
    if bad:
        verdict = (f"<br><strong class='disagree'>The two window instruments DISAGREE on: {html.escape(', '.join(bad))}"
                   f"</strong> ({html.escape(rule)}): read those removal numbers as uncertain.")
    else:
        verdict = (f"<br><strong class='agree'>The two window instruments agree on every drop</strong> (they would "
                   f"disagree with {html.escape(rule)}).")
    return verdict + "".join(f"<br>{html.escape(line.strip())}" for line in instrument_lines(m))


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


def _skipped_html(skipped: dict[str, str]) -> str:
    """The sections that do not apply, each with its reason (a plain block: not a built section)."""
    items = "".join(f"<li data-skipped='{k}'><b>{html.escape(k)}</b>: {html.escape(why)}</li>"
                    for k, why in skipped.items())
    return f"<div id='skipped' class='skipped'><h2>Not in this report</h2><ul>{items}</ul></div>"


def _page(title: str, meta: str, sections: list[Section], skipped: dict[str, str] | None = None,
          live: bool = False) -> str:
    body = [_section_html(s) for s in sections]
    nav = [(s.key, s.title) for s in sections]
    if skipped:
        body.append(_skipped_html(skipped))
        nav.append(("skipped", "Not in this report"))
    if live:
        meta += (" &middot; <a id='live-link' href='live.html'>live page</a>: the generator runs in your browser "
                 "(walk, directions, drop maps, paint)")
    return page(title, body, meta=meta, nav=nav)


def build_report(model, out, *, sections=None, quick: bool = False, prior: str | None = None, nz: int | None = None,
                 layer: str | None = None, discriminator=None, data: str | None = None,
                 options: ReportOptions | None = None) -> dict:
    """Build ``out/index.html`` for ``model``: a GAN, a shipped name, a .safetensors path, or any generator module;
    or a Domain Transfer Network (a DTN, "dtn-digits" / "dtn-faces", a DTN .safetensors): then the page has the
    ``dtn`` section (before / after grid and the experiment's measurements at the budget's n_dtn*).

    Args:
        sections: keys to build (default: every section that applies, see :func:`plan_sections`).
        quick: use :data:`QUICK` (tiny sample counts, for smoke runs); ``options.budget`` overrides it.
        prior, nz: for a raw generator module (required there; refused for a latentlab model, which brings its
            own). The module is called with z of shape (N, nz, 1, 1) when its first layer is a convolution.
        layer: the forget section's layer (default: ``block2`` for ours, the second up-sampling block's output
            of any other generator, e.g. ``main.5``).
        discriminator: a raw module's D (any module reading its images); enables the filters section (rooms).
        data: a raw module's data domain, "rooms", "faces" or "fashion-mnist": picks the judges and real data
            of the metrics, walk, arithmetic / rotation, filters and forget sections.
        options: a :class:`ReportOptions` (seed, budget, the sections' inputs and judges, png / progress / title);
            default ``ReportOptions()``.

    Returns:
        {"html": path, "sections": [keys built], "failed": {key: reason}, "skipped": {key: why it does not
         apply}, "numbers": {key: the section's measured numbers}, "seconds": {key: s}, "bytes": size of
         index.html, "png": [paths]}.
    """
    t_all = time.perf_counter()
    o = _check_options(options)
    budget = _check_budget(o.budget, quick)
    dtn = load_dtn_model(model)
    if dtn is not None:
        _check_dtn_args(sections, prior=prior, nz=nz, layer=layer, discriminator=discriminator, data=data, log=o.log,
                        metrics=o.metrics, detector=o.detector, labels=o.labels)
        return _build_dtn_report(dtn, model, out, b=budget, seed=o.seed, png=o.png, progress=o.progress,
                                 title=o.title, t_all=t_all)
    subject = resolve_subject(model, prior=prior, nz=nz, layer=layer, discriminator=discriminator, data=data,
                              seed=o.seed)
    out, log_path = _check_paths(model, out, o.log, o.metrics)
    from .report_labels import load_report_tags
    tags = load_report_tags(o.labels, subject, model)
    keys, skipped = _section_keys(subject, sections, has_log=log_path is not None, has_labels=tags is not None)
    from .report_forget_boxes import with_boxes
    keys, skipped = with_boxes(keys, skipped, o.boxes, sections)
    judges = _judges(keys, o.segmenter, o.face_judge, o.detector, recorded=subject.lm.dataset)
    if subject.gan is not None:
        subject.gan.generator.eval()
    built = _build_sections(subject, keys, budget, o, log_path=log_path, tags=tags, judges=judges)
    out.mkdir(parents=True, exist_ok=True)
    path = write_page(out / "index.html", _page(o.title or f"latentlab report: {subject.name}",
                                                _meta(subject, o.seed), built, skipped, live=o.live))
    pngs = export_pngs(built, out / "png") if o.png else []
    return {"html": str(path), "sections": [s.key for s in built],
            "failed": {s.key: s.error for s in built if s.error is not None}, "skipped": skipped,
            "numbers": {s.key: s.data for s in built if s.error is None},
            "seconds": {s.key: round(s.seconds, 2) for s in built},
            "total_seconds": round(time.perf_counter() - t_all, 2), "bytes": path.stat().st_size, "png": pngs}


def _check_options(options) -> ReportOptions:
    options = options_of(options, ReportOptions, "options", "latentlab.app.report")
    if isinstance(options.seed, bool) or not isinstance(options.seed, int):
        raise TypeError(f"seed: expected an int, got {options.seed!r}")
    return options


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


def _section_keys(subject: ReportSubject, sections, *, has_log: bool,
                  has_labels: bool = False) -> tuple[list[str], dict[str, str]]:
    """(the sections to build in page order: the asked ones, each checked, or every applicable one; the
    sections left out with the reason)."""
    possible, why = plan_sections(subject, has_log=has_log, has_labels=has_labels)
    if sections is None:
        return possible, why
    keys = list(sections)
    for k in keys:
        if k not in SECTIONS:
            raise ValueError(f"sections: unknown section {k!r}; sections are {list(SECTIONS)}")
        if k not in possible:
            reason = why.get(k, "the dtn section is for Domain Transfer Networks")
            raise ValueError(f"sections: {k!r} does not apply to this model (dataset "
                             f"{subject.dataset!r}: {reason}); applicable: {possible}")
    return [k for k in SECTIONS if k in keys], {k: why[k] for k in SECTIONS if k in why and k in keys}


def _judges(keys: list[str], segmenter, face_judge, detector=None, recorded: str | None = None) -> dict:
    """The shipped judges the sections need and were not given: {"segmenter": ..., "detector": ...,
    "face_judge": ...} (``detector=False``: the forget section reads the segmenter only). ``recorded``: the
    model's own dataset name; a shipped judge outside it warns (``JudgeDomainWarning``)."""
    from ..judges import check_domain, load_judge
    if face_judge is None and ("arithmetic" in keys or "rotation" in keys):
        face_judge = load_judge("faces")
        check_domain("faces", recorded, stacklevel=3)
    if segmenter is None and "forget" in keys:
        segmenter = load_judge("rooms")
        check_domain("rooms", recorded, stacklevel=3)
    if detector is None and "forget" in keys:
        from .forget import load_detector
        detector = load_detector("window")
    return {"segmenter": segmenter, "detector": detector or None, "face_judge": face_judge}


def _build_sections(s: ReportSubject, keys: list[str], b: Budget, o: ReportOptions, *, log_path, tags,
                    judges: dict) -> list[Section]:
    """Each section in turn; one that does not apply to these weights (ValueError) is shown with its reason.
    ``judges``: {"segmenter", "detector", "face_judge"} from :func:`_judges`."""
    seed, progress = o.seed, o.progress
    segmenter, detector, face_judge = judges["segmenter"], judges["detector"], judges["face_judge"]
    built: list[Section] = []
    pool = None
    builders = {
        "samples": lambda: _samples(s, b, seed),
        "training": lambda: _training(log_path),
        "metrics": lambda: _metrics(s, b, seed, o.metrics, progress),
        "walk": lambda: _walk(s, b, seed),
        "arithmetic": lambda: _arithmetic(s, b, seed, face_judge),
        "rotation": lambda: _rotation(s, b, seed, face_judge, pool),
        "filters": lambda: _filters(s, b, seed),
        "forget": lambda: _forget(s, b, seed, segmenter, detector, progress),
        "forget-boxes": lambda: _forget_boxes(s, b, seed, o.boxes),
    }
    from .report_labels import labels_section, sefa_section      # judge-free sections (SeFa, the user's tags)
    builders.update(sefa=lambda: sefa_section(s, b, seed), labels=lambda: labels_section(s, b, seed, tags))
    for k in keys:
        t0 = time.perf_counter()
        try:
            sec = builders[k]()
            if k == "arithmetic":          # its labelled pool is reused by the rotation section
                sec, pool = sec
        except ValueError as e:
            sec = Section(k, k.capitalize(), "", error=str(e))
        sec.seconds = time.perf_counter() - t0
        built.append(sec)
        if progress:
            print(f"report: {k} {'FAILED: ' + sec.error if sec.error else 'done'} ({sec.seconds:.1f} s)", flush=True)
    return built


def _meta(s: ReportSubject, seed: int) -> str:
    c, h, w = s.shape
    if s.gan is not None:
        cfg = s.gan.config
        ds = (f"dataset {cfg.dataset!r}" if cfg.dataset else
              f"dataset not recorded in the file, data domain {s.dataset or 'not given'!r}")
        text = (f"{cfg.arch.upper()} {cfg.image_size}x{cfg.image_size}x{cfg.channels}, nz={cfg.nz}, "
                f"z ~ {cfg.prior}, {ds}, trained {int(s.gan.step)} steps")
    else:
        lm = s.lm
        zs = f"(N, {lm.nz}, 1, 1)" if lm.z_dims == 4 else f"(N, {lm.nz})"
        text = (f"your generator module {s.name}, {h}x{w}x{c} images, z {zs} ~ {lm.prior}, data domain "
                f"{s.dataset or 'not given'!r}, forget layer {s.layer}, "
                f"discriminator {type(s.discriminator).__name__ if s.discriminator is not None else 'not given'}")
    return html.escape(f"{text}; seed {seed}; built {time.strftime('%Y-%m-%d %H:%M')}")


# ------------------------------------------------------------------------------------------ DTN models

DTN_MODELS = ("dtn-digits", "dtn-faces")
_DTN_SHAPES = {(32, 3, 1): "digits", (64, 3, 3): "faces"}   # (image size, source, target channels) -> experiment


def load_dtn_model(model):
    """The DTN when ``model`` is one (a DTN, a shipped name in :data:`DTN_MODELS`, a DTN .safetensors file),
    else None (a GAN, a generator module, ...: the GAN report takes it)."""
    from ..io import CheckpointError, read_metadata
    from ..transfer import DTN, load_dtn
    from ..transfer.dtn import DTN_FORMAT
    if isinstance(model, DTN):
        return model
    if not isinstance(model, (str, os.PathLike)):
        return None
    if str(model) in DTN_MODELS:
        from ..pretrained import pretrained_dir
        return load_dtn(pretrained_dir() / f"{model}.safetensors")
    p = Path(model)
    if not p.is_file():
        return None
    try:
        is_dtn = read_metadata(p).get("format") == DTN_FORMAT
    except CheckpointError:
        return None                     # resolve_model says what is wrong with the file
    return load_dtn(p) if is_dtn else None


def dtn_experiment(dtn) -> str:
    """"digits" (32 px RGB digits -> grey MNIST) or "faces" (64 px faces -> avatars), from the DTN's shapes."""
    c = dtn.config
    key = (c.image_size, c.source_channels, c.target_channels)
    if key not in _DTN_SHAPES:
        raise ValueError(f"model: a DTN of {c.image_size} px, {c.source_channels} -> {c.target_channels} channels is "
                         "neither the digits experiment (32 px, 3 -> 1) nor the faces experiment (64 px, 3 -> 3); "
                         "the report measures those two")
    return _DTN_SHAPES[key]


def _shown(n: int, seed: int, k: int = 12) -> torch.Tensor:
    """The k held-out source images drawn into the grid: a random subset chosen by ``seed``."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))[:min(k, n)].sort().values


def _rgb(x: torch.Tensor) -> torch.Tensor:
    from ..images import grey_to_rgb
    return grey_to_rgb(x)


def _dtn_digits(dtn, b: Budget, seed: int) -> Section:
    import plotly.graph_objects as go
    from ..judges import load_judge
    from .transfer import digits_eval_data, to_grey, transfer_metrics
    src, labels, target_a, target_b = digits_eval_data("test", b.n_dtn)
    m_fd = min(b.n_dtn_fd, len(target_a), len(src))
    judge = load_judge("mnist")
    g = dtn.transfer(src)  # G(source) once, for both measurements
    m = transfer_metrics(dtn, judge, src, labels, target_a[:m_fd], target_b[:m_fd], transferred=g)
    m.update(_digits_beyond_the_class(dtn, judge, src, labels, g.clamp(-1, 1)))
    show = _shown(len(src), seed)
    x = src[show]
    rows = {"source digit": x, "G(source)": _rgb(g[show].clamp(-1, 1)),
            "grey source (no transfer)": _rgb(to_grey(x))}
    per = m["per_class_transfer_accuracy"]
    bars = go.Figure(go.Bar(x=list(per), y=list(per.values()), name="transfer accuracy"))
    bars.add_hline(y=m["no_transfer_accuracy"], line_dash="dot", annotation_text="no-transfer floor (all classes)")
    bars.update_layout(height=340, yaxis=dict(title="MNIST judge accuracy (0-1)", range=[0, 1]),
                       xaxis=dict(title="source digit class", type="category"), margin=dict(l=50, r=20, t=30, b=40))
    return _dtn_section(
        "digits", "Domain transfer: digits -> MNIST",
        "A Domain Transfer Network G = g(f(x)) maps SVHN-like procedural digits to the MNIST domain keeping the digit "
        "(Taigman et al., Unsupervised Cross-Domain Image Generation: SVHN -> MNIST). Rows: held-out source digits, "
        "G(source), and the grey source as the MNIST judge would read it without transfer (the floor).",
        rows, ("Transfer accuracy per source class", bars), m,
        f"Transfer accuracy (the MNIST judge on G(source) against the source label) "
        f"{100 * m['transfer_accuracy']:.1f}% on {m['n']} held-out source digits (the paper, on SVHN: 90.66% as "
        f"commonly cited); no-transfer floor "
        f"{100 * m['no_transfer_accuracy']:.1f}% raw, {100 * m['no_transfer_accuracy_normalised']:.1f}% after a "
        f"label-free polarity and contrast normalisation of the source. Within-class diversity of G(source) "
        f"{m['within_class_diversity']:.2f} of real MNIST's (1 = as varied as real digits; a generator drawing one "
        f"glyph per class is near 0). A second reader that shares no code with the judge (an RBF SVC on MNIST "
        f"pixels) reads {100 * m['readers']['svc']:.1f}% (spread {100 * m['readers']['spread']:.1f} points). "
        f"{_f_reads_text(m.get('f_accuracy_on_real_mnist'))}"
        f"Fréchet distance of G(source) to real MNIST in the judge's features "
        f"over the real-vs-real floor: {{fd}} ({m['n_fd']} images a side; biased upwards for small sets).")


def _f_reads_text(share) -> str:
    """The report's sentence on f's own reading of real MNIST ('' for an f without a class head)."""
    if share is None:
        return ""
    return (f"f's own class head reads {100 * share:.1f}% of the 1,000 held-out real MNIST digits (L_CONST keeps "
            f"the class as f sees it; an f adapted to MNIST carries much of the accuracy). ")


def _digits_beyond_the_class(dtn, judge, src, labels, g) -> dict:
    """Issue 32's cheap measures: the normalised no-transfer floor (the judge), within-class diversity of G(source)
    against the 1,000 held-out MNIST digits, and transfer accuracy by the judge and by an RBF SVC on MNIST pixels
    that shares no code with it (the digits example's second reader), with their spread ("readers"). ``g``:
    G(src), clamped to [-1, 1]."""
    from ..data.digits import MNISTDigits
    from ..transfer.digits import f_reads_mnist
    from ..transfer.measures import normalise_digits, within_class_diversity
    from .transfer import mnist_readers, reader_accuracies
    real = MNISTDigits("test")
    floor = (judge.predict(normalise_digits(src)) == labels).float().mean()
    div = within_class_diversity(g, labels, real.images, real.labels)
    acc = reader_accuracies(mnist_readers(judge, kinds=("svc",)), labels, transfer=g)
    return {"no_transfer_accuracy_normalised": float(floor), "within_class_diversity": div["mean"],
            "readers": {k: v["transfer"] for k, v in acc.items()},
            "f_accuracy_on_real_mnist": f_reads_mnist(dtn, real.images, real.labels)}


def _dtn_section(kind: str, title: str, caption: str, rows: dict, bars: tuple, m: dict, numbers: str) -> Section:
    """The dtn section: the before / after grid of ``rows`` ({label: (n, 3, S, S)}), the bar chart, the numbers
    (``{fd}`` in ``numbers`` becomes the Fréchet ratio)."""
    from ..viz.forget_figures import forget_rows_figure
    first = next(iter(rows.values()))
    fd = "n/a" if m["fd_ratio"] is None else f"{m['fd_ratio']:.2f}x"
    grid = forget_rows_figure(rows, nrow=len(first), image_size=first.shape[-1])
    return Section("dtn", title, caption, [("Before / after; the images shown are chosen by the seed", grid), bars],
                   numbers=numbers.replace("{fd}", fd), data=dict(m, experiment=kind))


def _dtn_faces(dtn, b: Budget, seed: int) -> Section:
    import plotly.graph_objects as go
    from .dtn_faces import Reference, measure, readers_summary
    # a small reference set is rendered on the fly; a large one reads / fills the avatar cache
    ref = Reference(n=b.n_dtn_faces, cache=False if b.n_dtn_faces < 500 else None)
    m = measure(dtn, ref, _avatar_reader())
    show = _shown(ref.n, seed)
    x = ref.faces[show]
    rows = {"source face": x, "G(face)": dtn.transfer(x).clamp(-1, 1),
            "avatar drawn from the face's attributes (ceiling)": ref.ceiling[show]}
    acc, ceil = m["attribute_balanced_accuracy"], m["attribute_ceiling"]
    bars = go.Figure([go.Bar(x=list(acc), y=list(acc.values()), name="G(face), judge"),
                      go.Bar(x=list(ceil), y=list(ceil.values()), name="ceiling (drawn avatars), judge")])
    second = ""
    if "reader" in m:
        r = m["reader"]["attribute_balanced_accuracy"]
        bars.add_bar(x=list(r), y=list(r.values()), name="G(face), second reader")
        m["readers"] = readers_summary(m)
        second = (" A second reader that shares no code with the judge (pretrained/judges/avatars-reader."
                  "safetensors), as share of its ceiling: " + ", ".join(
                      f"{k} {v:.3f} (spread {m['readers']['spread'][k]:.3f})" for k, v in m["readers"]["reader"].items())
                  + ".")
    bars.update_layout(barmode="group", height=340, margin=dict(l=50, r=20, t=30, b=40),
                       yaxis=dict(title="balanced accuracy (0-1)", range=[0, 1]),
                       xaxis=dict(title="attribute kept across domains"))
    attrs = ", ".join(f"{k} {acc[k]:.3f} (ceiling {ceil[k]:.3f})" for k in acc)
    return _dtn_section(
        "faces", "Domain transfer: faces -> avatars",
        "A Domain Transfer Network G = g(f(x)) maps procedural faces to cartoon avatars keeping who they are "
        "(Taigman et al., Unsupervised Cross-Domain Image Generation: faces -> emoji). Rows: held-out faces, G(face), "
        "and the avatar drawn directly from the face's attributes (what a perfect transfer would show).",
        rows, ("Attributes read by the avatar judge (and the second reader): G(face) vs the ceiling", bars), m,
        f"On {m['n']} held-out faces, balanced accuracy of the avatar judge on G(face): {attrs}.{second} "
        f"Retrieval (the "
        f"paper's measure; its f retrieved the source face at a median rank of about 16 of ~100k): median rank of "
        f"the true face by f(G(x)) {m['retrieval_median_rank']:.1f} (chance "
        f"{m['retrieval_chance_median']:.1f}), top-1 {100 * m['retrieval_top1']:.1f}%. Fréchet ratio to real "
        "avatars: {fd} (biased upwards for small sets). Backdrop: pixel standard deviation in the top corners, "
        f"which are one colour in every avatar, {m['backdrop_std']:.3f} on G(face) (drawn avatars "
        f"{m['backdrop_std_ceiling']:.3f}; 0 = a flat backdrop), and {m['backdrop_std_whole']:.3f} over the whole "
        "backdrop of each face's drawn avatar.")


def _avatar_reader():
    """The shipped second avatar reader, or None when its file is absent (the section then reads the judge only)."""
    from ..judges import judge_path
    from ..transfer.avatar_reader import load_avatar_reader
    path = judge_path("avatars-reader")
    return load_avatar_reader(path) if path.is_file() else None


def _dtn_meta(dtn, kind: str, seed: int) -> str:
    c = dtn.config
    info = getattr(dtn, "info", {}) or {}
    recipe = f", recipe {info['recipe']}" if info.get("recipe") else ""
    return html.escape(f"Domain Transfer Network ({kind}): {c.image_size}x{c.image_size}x{c.source_channels} -> "
                       f"{c.image_size}x{c.image_size}x{c.target_channels}, f of {c.feature_dim} features, "
                       f"alpha {c.alpha}, beta {c.beta}, trained {int(getattr(dtn, 'step', 0))} steps{recipe}; "
                       f"seed {seed}; built {time.strftime('%Y-%m-%d %H:%M')}")


_DTN_SKIPPED = {"GAN sections": "samples, training, metrics, walk, arithmetic, rotation, filters and forget read "
                                "a generator of z; a DTN maps images to images (the dtn section measures it)"}


def _check_dtn_args(sections, **given) -> None:
    for name, v in given.items():
        if v is not None:
            raise ValueError(f"{name}: not used by the report of a Domain Transfer Network (it has no z, prior or "
                             f"GAN discriminator); got {name}={v!r:.60}")
    for k in list(sections or []):
        if k not in SECTIONS:
            raise ValueError(f"sections: unknown section {k!r}; sections are {list(SECTIONS)}")
        if k != "dtn":
            raise ValueError(f"sections: {k!r} does not apply to a Domain Transfer Network (it maps images, it has "
                             "no z); applicable: ['dtn']")


def _build_dtn_report(dtn, model, out, *, b: Budget, seed: int, png: bool, progress: bool, title,
                      t_all: float) -> dict:
    kind = dtn_experiment(dtn)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out: {str(out)!r} exists and is not a directory")
    dtn.eval()
    t0 = time.perf_counter()
    try:
        sec = (_dtn_digits if kind == "digits" else _dtn_faces)(dtn, b, seed)
    except ValueError as e:
        sec = Section("dtn", "Domain transfer", "", error=str(e))
    sec.seconds = time.perf_counter() - t0
    if progress:
        print(f"report: dtn {'FAILED: ' + sec.error if sec.error else 'done'} ({sec.seconds:.1f} s)", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    name = _model_name(model) if not hasattr(model, "config") else f"DTN {kind}"
    path = write_page(out / "index.html", _page(title or f"latentlab report: {name}", _dtn_meta(dtn, kind, seed),
                                                [sec], _DTN_SKIPPED))
    pngs = export_pngs([sec], out / "png") if png else []
    return {"html": str(path), "sections": ["dtn"], "failed": {"dtn": sec.error} if sec.error else {},
            "skipped": dict(_DTN_SKIPPED), "numbers": {} if sec.error else {"dtn": sec.data},
            "seconds": {"dtn": round(sec.seconds, 2)}, "total_seconds": round(time.perf_counter() - t_all, 2),
            "bytes": path.stat().st_size, "png": pngs}


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
