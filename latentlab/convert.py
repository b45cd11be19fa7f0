"""Import another project's DCGAN checkpoint safely: ``.pth`` state dict -> one latentlab safetensors file.

The usual user's GAN is the pytorch/examples ``dcgan/main.py`` model: an ``nn.Sequential`` called ``main`` whose
weights were saved with ``torch.save(netG.state_dict(), "netG_epoch_24.pth")``. :func:`convert` reads such a file
with ``torch.load(..., weights_only=True)`` (tensors and plain containers only: no code from the file runs), renames
its keys onto latentlab's named blocks (``block1`` ... ``to_rgb``; ``from_rgb`` ... ``head``) through a mapping
table per source layout (:data:`LAYOUTS`), checks every name and shape, and verifies the result: the unmodified
source module (:func:`pytorch_examples_dcgan`) and the converted model generate the same images from the same z
(max abs difference reported), and the discriminators give the same D(x). One file is written with
:func:`latentlab.save` (JSON config in its metadata).

Example:
    >>> from latentlab.convert import convert
    >>> result = convert("netG_epoch_24.pth", "netD_epoch_24.pth", nz=100, ngf=64, out="model.safetensors")
    >>> result.max_abs_diff["generator"]
    0.0

Adding a layout: put a :class:`Layout` into :data:`LAYOUTS` (source module prefix -> latentlab module prefix for
G and D; ``zero_fill`` for latentlab tensors the source has no counterpart for; ``reference`` builds the source
modules for the verification).
"""
from __future__ import annotations

import os
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

from .checkpoint import load, save
from .config import ModelConfig
from .models import GAN

__all__ = ["convert", "ConvertResult", "Layout", "LAYOUTS", "read_state_dict", "map_state_dict",
           "pytorch_examples_dcgan", "verify"]


# ------------------------------------------------------------------------------------------------ the source model

# The Generator and Discriminator that pytorch_examples_dcgan builds are from pytorch/examples (dcgan/main.py),
# which is under the BSD 3-Clause License: Copyright (c) 2017, Pytorch contributors. All rights reserved.
# Redistribution and use in source and binary forms, with or without modification, are permitted provided that the
# following conditions are met: 1. Redistributions of source code must retain the above copyright notice, this list
# of conditions and the following disclaimer. 2. Redistributions in binary form must reproduce the above copyright
# notice, this list of conditions and the following disclaimer in the documentation and/or other materials provided
# with the distribution. 3. Neither the name of the copyright holder nor the names of its contributors may be used to
# endorse or promote products derived from this software without specific prior written permission. THIS SOFTWARE IS
# PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
# LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO
# EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
# OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
# DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT,
# STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE,
# EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
class _ExamplesNet(nn.Module):
    """The shared frame of dcgan/main.py's Generator and Discriminator: ``ngpu`` and the ``main`` Sequential,
    run through ``data_parallel`` on several GPUs; ``flat`` (the Discriminator) returns (N,)."""

    flat = False

    def __init__(self, ngpu, layers):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        if (input.is_cuda or input.is_xpu) and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output.view(-1, 1).squeeze(1) if self.flat else output


def pytorch_examples_dcgan(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 3, ngpu: int = 1):
    """The pytorch/examples ``dcgan/main.py`` Generator and Discriminator -> (netG, netD), for verification.

    Built from the layer tables of https://github.com/pytorch/examples/blob/main/dcgan/main.py (commit 77f55b9,
    Aug 2025): the same classes' names, ``main`` Sequentials (module types, arguments and order, so the same
    state_dict keys and the same initial draws), forward passes and outputs as the script's; the script's
    globals ``nz``, ``ngf``, ``ndf``, ``nc`` come from this function's arguments. In-place ReLUs, ``nn.Sequential``
    indices and z of shape (N, nz, 1, 1) are the source's own. tests/test_convert.py checks them against a
    verbatim copy of the two classes.
    """
    # (in, out, stride, padding) of each 4x4 conv, bias=False; the state sizes are those of 64 px images
    g_convs = [(nz, ngf * 8, 1, 0),        # z -> (ngf*8) x 4 x 4
               (ngf * 8, ngf * 4, 2, 1),   # -> (ngf*4) x 8 x 8
               (ngf * 4, ngf * 2, 2, 1),   # -> (ngf*2) x 16 x 16
               (ngf * 2, ngf, 2, 1),       # -> (ngf) x 32 x 32
               (ngf, nc, 2, 1)]            # -> (nc) x 64 x 64
    d_convs = [(nc, ndf, 2, 1),            # (nc) x 64 x 64 -> (ndf) x 32 x 32
               (ndf, ndf * 2, 2, 1),       # -> (ndf*2) x 16 x 16
               (ndf * 2, ndf * 4, 2, 1),   # -> (ndf*4) x 8 x 8
               (ndf * 4, ndf * 8, 2, 1),   # -> (ndf*8) x 4 x 4
               (ndf * 8, 1, 1, 0)]         # -> 1 x 1 x 1
    g_layers, d_layers = [], []
    for i, (c_in, c_out, stride, pad) in enumerate(g_convs):
        g_layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride, pad, bias=False))
        # BatchNorm + in-place ReLU after every conv but the last, which a Tanh follows
        g_layers += [nn.BatchNorm2d(c_out), nn.ReLU(True)] if i < len(g_convs) - 1 else [nn.Tanh()]

    class Generator(_ExamplesNet):
        pass

    netG = Generator(ngpu, g_layers)  # G's modules are created before D's, as in the script
    for i, (c_in, c_out, stride, pad) in enumerate(d_convs):
        d_layers.append(nn.Conv2d(c_in, c_out, 4, stride, pad, bias=False))
        if i == len(d_convs) - 1:
            d_layers.append(nn.Sigmoid())
        else:
            if i > 0:  # BatchNorm after every conv but the first
                d_layers.append(nn.BatchNorm2d(c_out))
            d_layers.append(nn.LeakyReLU(0.2, inplace=True))

    class Discriminator(_ExamplesNet):
        flat = True

    return netG, Discriminator(ngpu, d_layers)


# ------------------------------------------------------------------------------------------------ mapping tables

@dataclass(frozen=True)
class Layout:
    """How a source project's state dict maps onto latentlab's DCGAN (one entry of :data:`LAYOUTS`)."""

    name: str
    description: str
    image_size: int                       # the only image size the source layout describes
    generator: Mapping[str, str]          # source module prefix -> latentlab module prefix (e.g. "main.0" -> "block1.conv")
    discriminator: Mapping[str, str]
    d_output: str = "logits"              # what the source D returns: "logits" or "probability" (a final Sigmoid)
    zero_fill: Mapping[str, tuple] = field(default_factory=dict)  # {"generator"/"discriminator": latentlab tensors the
                                                                  # source lacks, set to 0 (a bias=False conv)}
    reference: Callable | None = None     # (nz, ngf, ndf, nc) -> (netG, netD) source modules, for verify()


LAYOUTS: dict[str, Layout] = {
    "pytorch-examples": Layout(
        name="pytorch-examples",
        description="pytorch/examples dcgan/main.py (nn.Sequential 'main', 64 px)",
        image_size=64,
        generator={"main.0": "block1.conv", "main.1": "block1.bn", "main.3": "block2.conv", "main.4": "block2.bn",
                   "main.6": "block3.conv", "main.7": "block3.bn", "main.9": "block4.conv", "main.10": "block4.bn",
                   "main.12": "to_rgb.conv"},
        discriminator={"main.0": "from_rgb.conv", "main.2": "block2.conv", "main.3": "block2.bn",
                       "main.5": "block3.conv", "main.6": "block3.bn", "main.8": "block4.conv", "main.9": "block4.bn",
                       "main.11": "head"},
        d_output="probability",
        # pytorch/examples' first D conv has bias=False; latentlab's (no BatchNorm after it) has a bias: zero is the
        # same function.
        zero_fill={"discriminator": ("from_rgb.conv.bias",)},
        reference=pytorch_examples_dcgan,
    ),
}


def _layout(source: str) -> Layout:
    if source not in LAYOUTS:
        raise ValueError(f"source: unknown checkpoint layout {source!r}; known layouts are {sorted(LAYOUTS)}")
    return LAYOUTS[source]


# ------------------------------------------------------------------------------------------------ reading

def _short(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    return str(keys[:limit])[:-1] + (f", ... ({len(keys) - limit} more)]" if len(keys) > limit else "]")


def check_state_dict(obj, name: str, where: str = "") -> dict[str, torch.Tensor]:
    """``obj`` as a {str: Tensor} state dict, or a ValueError/TypeError naming ``name`` (and ``where`` it came from)."""
    src = f" ({where})" if where else ""
    if isinstance(obj, nn.Module):
        raise TypeError(f"{name}: expected a state dict (a dict of name -> tensor){src}, got the module "
                        f"{type(obj).__name__}; pass module.state_dict()")
    if not isinstance(obj, Mapping):
        raise ValueError(f"{name}: expected a state dict (a dict of name -> tensor){src}, got {type(obj).__name__}")
    if not obj:
        raise ValueError(f"{name}: the state dict{src} is empty")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        nested = [k for k in bad if isinstance(obj[k], Mapping)]
        hint = (f"; it looks like a training checkpoint: pass the network's own state dict, e.g. the entry "
                f"{nested[0]!r}" if nested else "")
        raise ValueError(f"{name}: expected a state dict (a dict of name -> tensor){src}, but the entries "
                         f"{_short(map(str, bad))} are not tensors{hint}")
    state = dict(obj)
    if all(k.startswith("module.") for k in state):  # saved from an nn.DataParallel wrapper
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def read_state_dict(path: str | os.PathLike, name: str = "netG") -> dict[str, torch.Tensor]:
    """Read a ``torch.save``'d state dict with ``torch.load(weights_only=True)``: no code from the file runs.

    Raises FileNotFoundError for a missing file and ValueError naming ``name`` for a file that is not a pickle of
    tensors (a whole pickled ``nn.Module``, a training checkpoint, a safetensors or foreign file).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{name}: file {str(p)!r} does not exist")
    if p.is_dir():
        raise ValueError(f"{name}: {str(p)!r} is a directory, expected a .pth file written by torch.save")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        with open(p, "rb") as f:
            head = f.read(2)
        pickled = head == b"PK" or (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5)  # zip or pickle
        if "Weights only load failed" in text and pickled:
            m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
            what = f" (it holds the Python object {m.group(1)})" if m else " (it holds Python objects)"
            raise ValueError(f"{name}: {str(p)!r} is not a state dict of tensors{what}; latentlab reads checkpoints "
                             "with torch.load(weights_only=True) and never runs code from a file. In the environment "
                             "that trained the model, save the weights with torch.save(net.state_dict(), path)") from None
        m = re.search(r"WeightsUnpickler error: \s*(.+)", text)
        why = (m.group(1) if m else text.splitlines()[0])[:120]
        raise ValueError(f"{name}: {str(p)!r} is not a file torch.load can read ({why})") from None
    except Exception as e:  # noqa: BLE001 - torch.load raises KeyError/RuntimeError/EOFError... on foreign bytes
        raise ValueError(f"{name}: {str(p)!r} is not a file torch.load can read "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})") from None
    return check_state_dict(obj, name, str(p))


def _source_state(obj, name: str) -> dict[str, torch.Tensor]:
    if isinstance(obj, (str, os.PathLike)):
        return read_state_dict(obj, name)
    return check_state_dict(obj, name)


# ------------------------------------------------------------------------------------------------ mapping

def map_state_dict(state: Mapping[str, torch.Tensor], table: Mapping[str, str], target: nn.Module, *,
                   name: str = "netG", layout: str = "", what: str = "", zero_fill=()) -> dict[str, torch.Tensor]:
    """Rename ``state``'s keys through ``table`` (source module prefix -> target module prefix) -> a state dict that
    ``target.load_state_dict`` accepts (float32 floats; ``zero_fill`` target tensors set to 0).

    Raises ValueError naming ``name`` with the missing and unexpected source keys for another layout, and with
    every tensor whose shape differs from ``target``'s (``what`` says which sizes were asked for).
    """
    expected = target.state_dict()
    wanted: dict[str, str] = {}  # source key -> target key
    for src, dst in table.items():
        for k in expected:
            if k.startswith(dst + ".") and k not in zero_fill:
                wanted[f"{src}.{k[len(dst) + 1:]}"] = k
    missing, unexpected = sorted(set(wanted) - set(state)), sorted(set(state) - set(wanted))
    if missing or unexpected:
        if any(k.startswith(("generator.", "discriminator.")) for k in state):
            raise ValueError(f"{name}: this is already a latentlab model file (keys 'generator.*'); load it with "
                             "latentlab.load(path) instead of converting it")
        parts = ([f"missing keys {_short(missing)}"] if missing else []) + \
                ([f"unexpected keys {_short(unexpected)}"] if unexpected else [])
        raise ValueError(f"{name}: the state dict does not have the {layout!r} layout: " + "; ".join(parts)
                         + f" (the layout expects {_short(wanted, 4)} ...)")
    wrong = []
    for src, dst in wanted.items():
        t, ref = state[src], expected[dst]
        if tuple(t.shape) != tuple(ref.shape):
            wrong.append(f"{src} is {tuple(t.shape)}, expected {tuple(ref.shape)}")
        elif t.is_floating_point() != ref.is_floating_point():
            wrong.append(f"{src} is {t.dtype}, expected {ref.dtype}")
    if wrong:
        raise ValueError(f"{name}: tensor shapes do not match {what or 'the target'}: " + "; ".join(wrong[:6])
                         + (f"; ... ({len(wrong) - 6} more)" if len(wrong) > 6 else ""))
    out = {}
    for src, dst in wanted.items():
        t = state[src].detach().to("cpu")
        if t.is_floating_point():
            if not torch.isfinite(t).all():
                raise ValueError(f"{name}: tensor {src!r} contains NaN or inf")
            t = t.to(expected[dst].dtype)
        out[dst] = t.clone()
    for k in zero_fill:
        out[k] = torch.zeros_like(expected[k])
    left = sorted(set(expected) - set(out))
    if left:  # a table that forgets a latentlab tensor is a bug in LAYOUTS, not the user's file
        raise ValueError(f"layout {layout!r}: the mapping table leaves latentlab tensors unset: {left}")
    return out


def _guess_g(state: Mapping[str, torch.Tensor], table: Mapping[str, str]) -> str:
    """The sizes the first G conv's weight (nz, ngf*8, 4, 4) and the last (ngf, nc, 4, 4) suggest, for messages."""
    first, last = next(iter(table)), list(table)[-1]
    w0, w1 = state.get(f"{first}.weight"), state.get(f"{last}.weight")
    if isinstance(w0, torch.Tensor) and w0.dim() == 4 and isinstance(w1, torch.Tensor) and w1.dim() == 4:
        return f" (the file's tensors suggest nz={w0.shape[0]}, ngf={w1.shape[0]}, nc={w1.shape[1]})"
    return ""


def _guess_d(state: Mapping[str, torch.Tensor], table: Mapping[str, str]) -> str:
    w0 = state.get(f"{next(iter(table))}.weight")
    if isinstance(w0, torch.Tensor) and w0.dim() == 4:
        return f" (the file's tensors suggest ndf={w0.shape[0]}, nc={w0.shape[1]})"
    return ""


# ------------------------------------------------------------------------------------------------ verify

@torch.no_grad()
def verify(gan: GAN, state_g: Mapping, state_d: Mapping | None = None, *, source: str = "pytorch-examples",
           n: int = 16, seed: int = 0) -> dict[str, float]:
    """Max abs differences between the source modules (built by the layout's ``reference`` from the raw state
    dicts) and ``gan``, both in eval mode: images from the same z ~ N(0, 1) of shape (n, nz, 1, 1) (seed ``seed``),
    and D(x) (a probability, sigmoid of latentlab's logit) on those images. -> {"generator": d, "discriminator": d}
    """
    lay = _layout(source)
    if lay.reference is None:
        raise ValueError(f"source: layout {source!r} has no reference module to verify against")
    cfg = gan.config
    ref_g, ref_d = lay.reference(cfg.nz, cfg.ngf, cfg.ndf, cfg.channels)
    ref_g.load_state_dict(dict(state_g))
    z = torch.randn(n, cfg.nz, 1, 1, generator=torch.Generator().manual_seed(seed))
    ref_g.eval(), gan.eval()
    x_ref = ref_g(z)
    x = gan.generator(z.flatten(1))
    out = {"generator": float((x - x_ref).abs().max())}
    if state_d is not None and gan.discriminator is not None:
        ref_d.load_state_dict(dict(state_d))
        ref_d.eval()
        p_ref = ref_d(x_ref)
        d = gan.discriminator(x_ref)
        p = torch.sigmoid(d) if lay.d_output == "probability" else d
        out["discriminator"] = float((p - p_ref).abs().max())
    return out


# ------------------------------------------------------------------------------------------------ convert

@dataclass
class ConvertResult:
    gan: GAN                         # the converted model (eval mode; read back from ``path`` when one was written)
    path: Path | None                # the file written, or None
    max_abs_diff: dict               # {"generator": float[, "discriminator": float]} vs the source modules; {} unverified


def _checked(gan, state_g, state_d, lay: Layout, check: bool, n: int, seed: int, tol: float) -> dict:
    if not check or lay.reference is None:
        return {}
    diffs = verify(gan, state_g, state_d, source=lay.name, n=n, seed=seed)
    for part, d in diffs.items():
        if not d <= tol:
            raise ValueError(f"net{part[0].upper()}: the converted {part} differs from the {lay.name} module by "
                             f"{d:.3g} (max abs, > tolerance {tol:g}); the mapping table does not describe this "
                             "checkpoint")
    return diffs


def _positive(name, v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name}: expected a positive int, got {v!r}")


def convert(netG, netD=None, *, source: str = "pytorch-examples", nz: int = 100, ngf: int = 64, ndf: int = 64,
            nc: int = 3, out: str | os.PathLike | None = None, prior: str = "normal", dataset: str = "",
            check: bool = True, n_verify: int = 16, seed: int = 0, tolerance: float = 1e-5,
            half: bool = False) -> ConvertResult:
    """Convert a foreign DCGAN checkpoint to a latentlab :class:`~latentlab.GAN` (and write it to ``out``).

    Args:
        netG: path of a ``torch.save(netG.state_dict(), ...)`` file, or the state dict itself.
        netD: the same for the discriminator, or None (the file then holds the generator only).
        source: the source layout, a key of :data:`LAYOUTS` ("pytorch-examples").
        nz, ngf, ndf, nc: the source model's sizes (pytorch/examples flags ``--nz --ngf --ndf``; nc = 3 for RGB).
        out: the ``.safetensors`` file to write with :func:`latentlab.save` (None: do not write).
        prior: the distribution z was drawn from in training ("normal" for pytorch/examples: torch.randn).
        dataset: informational name stored in the config (e.g. "rooms" makes the rooms judge the default).
        check: verify against the layout's reference module (same z -> same images, same D(x)); a difference
            above ``tolerance`` raises ValueError.
        n_verify, seed: number of z and their seed for the check.
        half: store floating weights as fp16 (the check then runs on the fp16 file, tolerance 1e-2).

    Returns a :class:`ConvertResult` (model, path, max abs differences). Reads with ``torch.load(weights_only=True)``.
    """
    lay = _layout(source)
    for k, v in (("nz", nz), ("ngf", ngf), ("ndf", ndf), ("nc", nc), ("n_verify", n_verify)):
        _positive(k, v)
    if out is not None and Path(out).suffix != ".safetensors":
        raise ValueError(f"out: expected a path ending in .safetensors, got {str(out)!r}")
    state_g = _source_state(netG, "netG")
    state_d = _source_state(netD, "netD") if netD is not None else None
    cfg = ModelConfig(arch="dcgan", nz=nz, ngf=ngf, ndf=ndf, channels=nc, image_size=lay.image_size, prior=prior,
                      dataset=dataset)
    gan = GAN(cfg, with_discriminator=state_d is not None)
    sizes = f"nz={nz}, ngf={ngf}, nc={nc} at {lay.image_size} px"
    gan.generator.load_state_dict(map_state_dict(
        state_g, lay.generator, gan.generator, name="netG", layout=lay.name, what=sizes + _guess_g(state_g, lay.generator),
        zero_fill=lay.zero_fill.get("generator", ())))
    if state_d is not None:
        gan.discriminator.load_state_dict(map_state_dict(
            state_d, lay.discriminator, gan.discriminator, name="netD", layout=lay.name,
            what=f"ndf={ndf}, nc={nc} at {lay.image_size} px" + _guess_d(state_d, lay.discriminator),
            zero_fill=lay.zero_fill.get("discriminator", ())))
    gan.eval()
    src = {"netG": Path(netG).name if isinstance(netG, (str, os.PathLike)) else "state dict"}
    if netD is not None:
        src["netD"] = Path(netD).name if isinstance(netD, (str, os.PathLike)) else "state dict"
    gan.info = {"converted_from": lay.name, "source_files": src}
    diffs = _checked(gan, state_g, state_d, lay, check, n_verify, seed, tolerance)  # before anything is written
    path = None
    if out is not None:
        path = save(gan, out, step=0, dataset=dataset, half=half)
        gan = load(path)  # report on what was written, not on the in-memory copy
        diffs = _checked(gan, state_g, state_d, lay, check, n_verify, seed, max(tolerance, 1e-2) if half else tolerance)
    return ConvertResult(gan=gan, path=path, max_abs_diff=diffs)
