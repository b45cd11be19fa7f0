"""Refresh the onnxruntime-web files the live page embeds (latentlab/live/vendor/).

    python scripts/vendor_ort.py              # the pinned version
    python scripts/vendor_ort.py --version X  # another one (then update PINNED and re-run tests/test_live*.py)

Takes ``onnxruntime-web@VERSION`` from npm with ``npm pack`` (the npm client checks the tarball's integrity),
and writes:

- ``ort.wasm.bundle.min.mjs``: the ES bundle of the wasm backend, its Emscripten loader included;
- ``ort-wasm-simd-threaded.wasm.gz``: the WebAssembly binary, gzipped (the page unpacks it with the browser's
  DecompressionStream);
- ``LICENSE``: the MIT licence the package declares (the npm tarball carries no licence file; the text is
  onnxruntime's LICENSE);
- ``VERSION.json``: version, npm integrity of the tarball and the sha256 of every written file.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

PINNED = "1.31.1"
ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "latentlab" / "live" / "vendor"
BUNDLE, WASM = "ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm"

LICENSE = """MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def pack(version: str, tmp: Path) -> tuple[Path, dict]:
    """``npm pack onnxruntime-web@version`` into ``tmp`` -> (tarball, npm's JSON record of it)."""
    out = subprocess.run(["npm", "pack", f"onnxruntime-web@{version}", "--json", "--pack-destination", str(tmp)],
                         check=True, capture_output=True, text=True, cwd=tmp)
    info = json.loads(out.stdout)[0]
    return tmp / info["filename"], info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--version", default=PINNED, help=f"onnxruntime-web version (default {PINNED})")
    p.add_argument("--out", default=str(VENDOR), help="output folder (default latentlab/live/vendor)")
    args = p.parse_args(argv)
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as d:
        tarball, info = pack(args.version, Path(d))
        with tarfile.open(tarball) as tar:
            bundle = tar.extractfile(f"package/dist/{BUNDLE}").read()
            wasm = tar.extractfile(f"package/dist/{WASM}").read()
            pkg = json.loads(tar.extractfile("package/package.json").read())
    if pkg.get("version") != args.version or pkg.get("license") != "MIT":
        raise SystemExit(f"unexpected package.json: version {pkg.get('version')!r}, license {pkg.get('license')!r}")
    out.mkdir(parents=True, exist_ok=True)
    files = {BUNDLE: bundle, WASM + ".gz": gzip.compress(wasm, compresslevel=9, mtime=0), "LICENSE": LICENSE.encode()}
    for name, data in files.items():
        (out / name).write_bytes(data)
    record = {"package": "onnxruntime-web", "version": args.version, "license": pkg["license"],
              "npm_integrity": info.get("integrity"), "wasm_sha256": hashlib.sha256(wasm).hexdigest(),
              "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}
    (out / "VERSION.json").write_text(json.dumps(record, indent=1) + "\n")
    for name, data in files.items():
        print(f"wrote {out / name} ({len(data) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
