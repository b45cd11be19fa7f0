"""A tiny stand-in for the wheel of gan-face-generate 1.1.1, for examples/real_dcgan.py --smoke and its tests
(tests/test_real_dcgan_example.py).

Same layout as the real wheel: ``gan_face_generate/weights.tar`` is a training checkpoint ``{"netG_state_dict": ...}``
of a pytorch DCGAN-tutorial Generator whose storages are recorded on 'cuda:0' (as a GPU machine saves them), and the
``.dist-info`` holds METADATA and licenses/LICENSE. Weights are random and tiny (nz 8, ngf 4, 64 px).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from unittest import mock

import torch

from latentlab.convert import pytorch_examples_dcgan

NAME = "gan_face_generate-1.1.1-py3-none-any.whl"
METADATA = """Metadata-Version: 2.4
Name: gan_face_generate
Version: 1.1.1
Summary: Stand-in for the smoke test: a random tiny DCGAN in the layout of the real package
Author-email: Smoke Test <smoke@example.invalid>
License: Copyright (c) stand-in
        
        Permission is hereby granted (stand-in licence text).
Project-URL: Homepage, https://example.invalid/stand-in
Classifier: License :: OSI Approved :: MIT License
Classifier: Programming Language :: Python :: 3
License-File: LICENSE
"""
LICENSE = "Copyright (c) stand-in\n\nPermission is hereby granted (stand-in licence text for the smoke test).\n"


def checkpoint_bytes(nz: int = 8, ngf: int = 4, seed: int = 0) -> tuple[bytes, torch.nn.Module]:
    """torch.save({"netG_state_dict": G.state_dict()}) with every storage recorded on 'cuda:0' -> (bytes, G)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G, _ = pytorch_examples_dcgan(nz, ngf, ngf, 3)
    buf = io.BytesIO()
    # torch.save writes torch.serialization.location_tag(storage) beside each storage: 'cuda:0' on the first GPU
    with mock.patch.object(torch.serialization, "location_tag", lambda storage: "cuda:0"):
        torch.save({"netG_state_dict": G.state_dict()}, buf)
    return buf.getvalue(), G.eval()


def fake_face_wheel(folder: Path, nz: int = 8, ngf: int = 4) -> Path:
    """Write the stand-in wheel into ``folder`` -> its path."""
    folder.mkdir(parents=True, exist_ok=True)
    data, _ = checkpoint_bytes(nz, ngf)
    path = folder / NAME
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("gan_face_generate/__init__.py", "")
        z.writestr("gan_face_generate/weights.tar", data)
        z.writestr("gan_face_generate-1.1.1.dist-info/METADATA", METADATA)
        z.writestr("gan_face_generate-1.1.1.dist-info/licenses/LICENSE", LICENSE)
        z.writestr("gan_face_generate-1.1.1.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
    return path
