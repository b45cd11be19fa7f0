"""A DCGAN latentlab did not train: the DigiFace-1M faces generator of the PyPI package gan-face-generate 1.1.1.

    python examples/real_dcgan.py [--out DIR] [--cache DIR] [--wheel FILE] [--index-url URL] [--smoke]

1. Fetch (:func:`fetch_wheel`): ``pip download --no-deps gan-face-generate==1.1.1`` into the cache folder: the wheel
   alone, none of the package's dependencies (matplotlib, torchvision, ...). A wheel already in the cache (or given
   with --wheel) is used as it is. When the registry cannot be reached the script stops with a message that says so.
2. Provenance (:func:`read_wheel`): ``weights.tar`` is read out of the wheel with zipfile; the package's name,
   version, author, home page and licence come from the wheel's METADATA and LICENSE and are printed, written to
   DIR/face.LICENSE.txt beside the converted weights, and stored in the converted file's ``info``.
3. Convert (:func:`convert_weights`): ``latentlab.convert`` reads weights.tar as it is (a training checkpoint
   ``{"netG_state_dict": ...}`` saved with CUDA tensors: the entry is found, the tensors load on the CPU, nz and ngf
   are read off the tensors), checks that the converted generator draws the same images as the tutorial's Generator
   on the same z, and writes DIR/face.safetensors.

4. Analyse (:func:`analyse`) with labels drawn by hand on the model's 150 probe samples (seed 0), committed in
   ``examples/real_dcgan_labels/`` (how they were drawn: its README): the DCGAN paper's arithmetic from the tags
   (``glasses_man - no_glasses_man + no_glasses_woman``, §6.3.2), a turn axis from ``looks_left`` / ``looks_right``
   tags, forgetting glasses from the glasses boxes (§6.3.1, measured from the boxes only: no latentlab judge knows
   this model's faces) and the report (samples, walk, SeFa, labels, forget-boxes). Each step is the command line's
   own driver, so ``latentlab arithmetic / turn / forget / report`` give the same files.

:func:`run` returns a :class:`Fetched` (paths, provenance, the converted model) for the analyses that follow it.
``--smoke`` builds a tiny stand-in wheel (random weights, same layout) in DIR/cache and random stand-in labels, and
runs the same steps without network, in about a minute (used by the tests). ``--convert-only`` stops after step 3.
"""
from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import latentlab  # noqa: E402

PACKAGE, VERSION = "gan-face-generate", "1.1.1"
WEIGHTS_IN_WHEEL = "gan_face_generate/weights.tar"


class RegistryError(SystemExit):
    """The wheel could not be downloaded; the message says why and what to do instead."""


@dataclass
class Provenance:
    """Where the weights come from, read from the wheel's METADATA and licence file."""

    package: str
    version: str
    summary: str
    author: str
    homepage: str
    license: str            # the licence's name (from the classifier), e.g. "MIT License"
    license_text: str       # the licence file shipped in the wheel
    wheel: str              # file name of the wheel
    weights_sha256: str     # of weights.tar as shipped

    def describe(self) -> str:
        return (f"weights: {WEIGHTS_IN_WHEEL} of the PyPI package {self.package} {self.version} ({self.wheel}), by "
                f"{self.author}, {self.homepage}\n"
                f"  what: {self.summary}\n"
                f"  licence: {self.license} (the wheel's LICENSE, copied to face.LICENSE.txt beside the converted "
                f"weights); the training data's own terms are not part of it\n"
                f"  weights.tar sha256 {self.weights_sha256}")


@dataclass
class Fetched:
    wheel: Path
    weights: Path              # weights.tar extracted from the wheel
    model: Path                # the converted .safetensors file
    provenance: Provenance
    gan: latentlab.GAN          # the converted model (read back from ``model``)
    max_abs_diff: float        # converted vs source generator, same z


def _wheel_in(cache: Path, package: str, version: str) -> Path | None:
    stem = f"{package.replace('-', '_')}-{version}-"
    found = sorted(cache.glob(f"{stem}*.whl"))
    return found[0] if found else None


def fetch_wheel(cache: Path, package: str = PACKAGE, version: str = VERSION, index_url: str | None = None) -> Path:
    """The package's wheel in ``cache``: found there, else downloaded with ``pip download --no-deps`` (the wheel
    only; no dependency is downloaded or installed). Raises RegistryError when pip cannot get it."""
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _wheel_in(cache, package, version)
    if wheel is not None:
        print(f"using the wheel already in the cache: {wheel}")
        return wheel
    before = set(cache.iterdir())
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "--retries", "2", "--timeout", "15", f"{package}=={version}", "-d", str(cache)]
    if index_url:
        cmd += ["--index-url", index_url]
    print("fetching:", " ".join(cmd[2:]))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheel = _wheel_in(cache, package, version)
    if proc.returncode != 0 or wheel is None:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        said = " | ".join([ln for ln in lines if "ERROR" in ln or "Errno" in ln][-3:] or lines[-2:])[-500:]
        raise RegistryError(
            f"error: could not download {package}=={version} from the package registry (pip exit {proc.returncode}: "
            f"{said or 'no output'}).\nIs the registry reachable from here (network, proxy, PIP_INDEX_URL)? On a "
            f"machine that can reach it run\n  pip download --no-deps {package}=={version} -d WHEELS\nand pass the "
            f"wheel with --wheel FILE, or copy it into {cache}.")
    new = sorted(p.name for p in set(cache.iterdir()) - before)
    if new != [wheel.name]:  # --no-deps: the wheel and nothing else
        raise RuntimeError(f"pip download wrote {new}, expected only {wheel.name}")
    print(f"downloaded {wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB), no dependencies")
    return wheel


def read_wheel(wheel: Path, dest: Path) -> tuple[Path, Provenance]:
    """Extract weights.tar from ``wheel`` into ``dest`` (zipfile, no install) -> (its path, the provenance)."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.HeaderParser().parsestr(z.read(meta_name).decode("utf-8"))
        lic_files = [n for n in names if ".dist-info/" in n and Path(n).name.upper().startswith(("LICENSE", "COPYING"))]
        license_text = z.read(lic_files[0]).decode("utf-8") if lic_files else (meta.get("License") or "")
        if WEIGHTS_IN_WHEEL not in names:
            raise ValueError(f"wheel: {wheel.name} has no {WEIGHTS_IN_WHEEL}")
        data = z.read(WEIGHTS_IN_WHEEL)
    dest.mkdir(parents=True, exist_ok=True)
    weights = dest / "weights.tar"
    weights.write_bytes(data)
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    urls = [u.split(",", 1)[-1].strip() for u in meta.get_all("Project-URL") or []]
    prov = Provenance(
        package=meta.get("Name", PACKAGE), version=meta.get("Version", ""), summary=meta.get("Summary", ""),
        author=meta.get("Author-email") or meta.get("Author") or "unknown",
        homepage=(urls or [meta.get("Home-page") or ""])[0],
        license=", ".join(classifiers) or (meta.get("License-Expression") or "see the licence text"),
        license_text=license_text, wheel=wheel.name, weights_sha256=hashlib.sha256(data).hexdigest())
    return weights, prov


def convert_weights(weights: Path, out: Path, prov: Provenance) -> tuple[latentlab.GAN, float]:
    """weights.tar as it is -> ``out`` (.safetensors) with the provenance in its info, and a licence file beside it.
    Returns the converted model and the check's max abs difference of the images."""
    r = latentlab.convert(weights, out=out)
    for note in r.notes:
        print(" ", note)
    cfg = r.gan.config
    print(f"converted: nz {cfg.nz}, ngf {cfg.ngf}, {cfg.image_size} px, prior {cfg.prior} -> {out}; the same z gives "
          f"images that differ from the source Generator's by {r.max_abs_diff['generator']:.3g} (max abs)")
    gan = r.gan
    info = {k: v for k, v in asdict(prov).items() if k != "license_text"}
    latentlab.save(gan, out, info={**gan.info, "source_package": info})
    out.with_name(out.stem + ".LICENSE.txt").write_text(prov.describe() + "\n\n" + prov.license_text)
    return latentlab.load(out), r.max_abs_diff["generator"]


def run(out: Path, cache: Path, wheel: Path | None = None, index_url: str | None = None) -> Fetched:
    """Fetch, read and convert -> :class:`Fetched` (what the analyses need)."""
    wheel = wheel if wheel is not None else fetch_wheel(cache, index_url=index_url)
    weights, prov = read_wheel(wheel, out / "source")
    print(prov.describe())
    gan, diff = convert_weights(weights, out / "face.safetensors", prov)
    return Fetched(wheel, weights, out / "face.safetensors", prov, gan, diff)


LABELS = Path(__file__).resolve().parent / "real_dcgan_labels"


def stand_in_labels(folder: Path, gan: latentlab.GAN, n: int = 36, seed: int = 0) -> tuple[Path, Path]:
    """--smoke: tags and glasses boxes for the stand-in model (random, in the committed files' formats)."""
    from latentlab.dissect.boxes_json import save_boxes
    from latentlab.latent.tags import save_tags
    rng = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=rng).tolist()
    tags = {"glasses": order[:8], "man": order[:4] + order[8:14], "woman": order[4:8] + order[14:20],
            "looks_left": order[20:24], "looks_right": order[24:28]}
    size = gan.config.image_size
    boxes = [[(size // 8, size * 3 // 8, size * 7 // 8, size * 5 // 8)] if i in tags["glasses"] else []
             for i in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    save_boxes(folder / "glasses_boxes.json", boxes, model="face.safetensors", seed=seed, image_size=size)
    save_tags(folder / "tags.json", tags, model="face.safetensors", seed=seed, n=n, nz=gan.config.nz, image_size=size)
    return folder / "tags.json", folder / "glasses_boxes.json"


def analyse(model: Path, out: Path, tags: Path, boxes: Path, *, quick: bool = False) -> dict:
    """The paper's figures on the converted model, driven by the user's labels (the command line's drivers)."""
    from latentlab import cli
    from latentlab.dissect.boxes_json import load_boxes
    n = load_boxes(boxes).n       # the samples the labels were drawn on (150 for the committed files)
    steps = {
        "arithmetic": ["arithmetic", str(model), "--labels", str(tags),
                       "glasses_man - no_glasses_man + no_glasses_woman", "--expect", "glasses_woman",
                       "--out", str(out / "arithmetic")],
        "turn": ["turn", str(model), "--labels", str(tags), "--left", "looks_left", "--right", "looks_right",
                 "--out", str(out / "turn")],
        "forget": ["forget", str(model), "--boxes", str(boxes), "--no-segmenter", "--n-probe", str(n),
                   "--out", str(out / "forget")],
        "report": ["report", str(model), "--labels", str(tags), "--boxes", str(boxes), "--out", str(out / "report"),
                   "--no-progress"] + (["--quick"] if quick else []),
    }
    codes = {}
    for name, argv in steps.items():
        print(f"\n== {name}: latentlab {' '.join(argv)}", flush=True)
        codes[name] = cli.main(argv)
        if codes[name] != 0:
            raise SystemExit(f"error: `latentlab {argv[0]}` failed with exit code {codes[name]}")
    return codes


def main(argv=None) -> Fetched:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/real_dcgan", help="output folder (default: out/real_dcgan)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "latentlab" / "wheels"),
                    help="where the wheel is downloaded to / found (default: ~/.cache/latentlab/wheels)")
    ap.add_argument("--wheel", default=None, help="use this gan_face_generate-1.1.1 wheel instead of downloading")
    ap.add_argument("--index-url", default=None, help="package index for pip download (default: pip's own)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    ap.add_argument("--smoke", action="store_true", help="a tiny stand-in wheel and stand-in labels, no network")
    ap.add_argument("--convert-only", action="store_true", help="stop after converting (steps 1-3)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    cache = Path(a.cache)
    if a.smoke:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _stand_in_wheel import fake_face_wheel  # the stand-in wheel of --smoke, beside this script
        cache = out / "cache"
        fake_face_wheel(cache)
    fetched = run(out, cache, Path(a.wheel) if a.wheel else None, a.index_url)
    summary = {"model": str(fetched.model), "max_abs_diff": fetched.max_abs_diff,
               "source": {k: v for k, v in asdict(fetched.provenance).items() if k != "license_text"}}
    (out / "convert.json").write_text(json.dumps(summary, indent=2))
    if a.convert_only:
        return fetched
    if a.smoke:
        tags, boxes = stand_in_labels(out / "labels", fetched.gan)
    else:
        tags, boxes = LABELS / "tags.json", LABELS / "glasses_boxes.json"
    analyse(fetched.model, out, tags, boxes, quick=a.smoke)
    print(f"\nwrote {out}/: arithmetic/grid.png, turn/turn.png, forget/forget_glasses.png + images.npz, "
          f"report/index.html")
    return fetched


if __name__ == "__main__":
    main()
