"""One ONNX export per generator, with a keep-mask input per block and a spatial mask (issue 31).

The exported graph takes

    z        (N, nz) float32                     latent vectors
    c        (N,) int64                          AC-GAN classes (conditional models only)
    region   (N, 1, H, W) float32 in [0, 1]      where the drops apply (1 everywhere: a plain drop)
    keep:L   (N, C_L) float32, one per layer L   1 keeps map i of L, 0 drops it

and returns ``rgb`` (N, H, W, 3) uint8: exactly ``to_uint8`` of G's output (grey repeated to RGB). A layer's
output f becomes ``f * (1 - r * (1 - keep))``, where r is ``region`` averaged down to the layer's h x w
(GAN Paint's "drop these units inside the brushed area"; with r = 1 it is the plain drop of DCGAN §6.3.1,
what :func:`latentlab.dissect.ablate_layers` does). The edit is a forward hook on the named layer
(:class:`latentlab.hooks.Trace`), so any generator module works, not only latentlab's.

The export is checked before anything is written: onnxruntime (CPU) runs the final graph and its images
must match PyTorch's within ``tolerance`` grey levels, with and without dropped maps and with a painted region.
"""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import Trace, eval_mode, get_module
from ..validate import int_at_least

__all__ = ["LiveModel", "export_live", "live_layers", "keep_edit", "half_weights", "verify", "require_live",
           "MISSING_LIVE"]

MISSING_LIVE = ("the live page needs the export packages onnx, onnxscript and onnxruntime: "
                "pip install 'latentlab[live]'")
_LAYERS = (nn.ConvTranspose2d, nn.Conv2d, nn.Linear)


def require_live() -> None:
    """Raise ImportError with the install command when an export package is missing."""
    import importlib.util
    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"{MISSING_LIVE} (missing: {', '.join(missing)})")


@dataclass
class LiveModel:
    """A verified export: the ONNX bytes and what the page needs to drive them."""

    onnx: bytes
    nz: int
    prior: str
    image_size: int                  # H = W of the images
    channels: int                    # the generator's own channels (1 or 3); the output is always RGB
    layers: list                     # [(name, maps, h, w)] in forward order; h = w = 0: a vector layer (N, C)
    num_classes: int = 0             # > 0: the graph has the class input "c"
    class_names: list = field(default_factory=list)
    weights: str = "float16"
    max_diff: dict = field(default_factory=dict)   # check -> max |ORT - PyTorch| in grey levels

    def meta(self) -> dict:
        """The page's description of the model (JSON-able)."""
        return {"nz": self.nz, "prior": self.prior, "size": self.image_size, "channels": self.channels,
                "layers": [{"name": n, "maps": c, "h": h, "w": w} for n, c, h, w in self.layers],
                "num_classes": self.num_classes, "class_names": list(self.class_names), "weights": self.weights,
                "max_diff": dict(self.max_diff), "onnx_bytes": len(self.onnx)}


def live_layers(lm) -> list[str]:
    """The layers that get a keep-mask: latentlab's ``block_names``; in any other module, the output that
    feeds each convolution or linear layer after the first (``main.2``, ``main.5``, ... in the pytorch/examples
    netG; ``fc1.act``, ``fc2.act`` in latentlab's MLP generator)."""
    from ..models.adapter import _leaf_outputs
    blocks = getattr(lm.module, "block_names", None)
    if blocks:
        return list(blocks)
    z = torch.zeros(1, lm.nz, device=lm.device, dtype=lm.dtype)
    found = _leaf_outputs(lm.module, z[:, :, None, None] if lm.z_dims == 4 else z)
    convs = [i for i, (_, m, _) in enumerate(found) if isinstance(m, _LAYERS)]
    names = [found[i - 1][0] for i in convs[1:]]
    if not names:
        raise ValueError(f"layers: found no layer between two convolution or linear layers in "
                         f"{type(lm.module).__name__}; "
                         "pass layers= (dotted names, see latentlab.layer_names)")
    return names


def keep_edit(keep: torch.Tensor, region: torch.Tensor):
    """``edit(f) -> f * (1 - r * (1 - keep))`` with r = ``region`` (N, 1, H, W) averaged to f's (h, w); for a
    vector layer f (N, C) (a Linear's units) r is the region's mean."""
    def edit(out: torch.Tensor) -> torch.Tensor:
        if out.dim() == 2:
            return out * (1 - region.mean((1, 2, 3))[:, None] * (1 - keep))
        r = F.adaptive_avg_pool2d(region, tuple(out.shape[-2:]))
        return out * (1 - r * (1 - keep[:, :, None, None]))
    return edit


class _Editable(nn.Module):
    """The graph that is exported: z (+ c), region, keep masks -> uint8 RGB images (N, H, W, 3)."""

    def __init__(self, lm, layers: list[str]):
        super().__init__()
        self.g = lm.module
        self.lm, self.layers = lm, list(layers)

    def _generate(self, z, c):
        # latentlab's DCGAN / AC-GAN run their blocks directly: their forward's input checks (isfinite(z),
        # class range) are data-dependent and would force the slower draft export
        from ..models.acgan import ACGANGenerator
        from ..models.dcgan import DCGANGenerator
        from ..models.gan import MLPGenerator
        g = self.g
        if type(g) is MLPGenerator:
            s, ch = g.config.image_size, g.config.channels
            return g.to_rgb(g.fc2(g.fc1(z))).view(-1, ch, s, s)
        if type(g) is DCGANGenerator:
            return g.features_to_image(z[:, :, None, None])
        if type(g) is ACGANGenerator:
            return g.features_to_image(torch.cat([z, g.embed(c).to(z.dtype)], 1)[:, :, None, None])
        return self.lm.forward(z, c)

    def forward(self, z, *rest):
        c, rest = (rest[0], rest[1:]) if self.lm.conditional else (None, rest)
        region, keeps = rest[0], rest[1:]
        with contextlib.ExitStack() as stack:
            for name, keep in zip(self.layers, keeps):
                stack.enter_context(Trace(self.g, name, retain_output=False, edit_output=keep_edit(keep, region)))
            x = self._generate(z, c)
        u = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        if u.shape[1] == 1:
            u = u.expand(-1, 3, -1, -1)
        return u.permute(0, 2, 3, 1)


def _example(lm, layers, n: int = 2, seed: int = 0):
    """Example inputs (tuple) and the layers' (maps, h, w), from one traced forward pass."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, lm.nz, generator=g)
    c = torch.arange(n) % lm.num_classes if lm.conditional else None
    images, feats = lm.trace(z, layers, c)
    bad = [name for name in layers if feats[name].dim() not in (2, 4)]
    if bad:
        raise ValueError(f"layers: expected (N, C, h, w) or (N, C) outputs, got {bad[0]!r} with shape "
                         f"{tuple(feats[bad[0]].shape)}")
    # (name, maps, h, w); h = w = 0 for a vector layer (N, C)
    shapes = [(name, int(f.shape[1]), *((int(f.shape[2]), int(f.shape[3])) if f.dim() == 4 else (0, 0)))
              for name, f in ((name, feats[name]) for name in layers)]
    region = torch.ones(n, 1, *images.shape[-2:])
    keeps = [torch.ones(n, s[1]) for s in shapes]
    args = (z, *([c] if c is not None else []), region, *keeps)
    return args, shapes, images.shape


def _torch_export(module: nn.Module, args):
    """torch.export with a dynamic batch; ``draft_export`` when a data-dependent check (e.g. latentlab's
    ``isfinite(z)``) stops the sound export: it keeps the branch the example takes."""
    n = torch.export.Dim("N", min=1, max=4096)
    dyn = ({0: n}, tuple({0: n} for _ in args[1:]))  # forward(z, *rest)
    quiet = [logging.getLogger(k) for k in ("torch.export", "torch._dynamo", "torch.fx.experimental.symbolic_shapes",
                                            "torch._export", "torch.onnx")]
    levels = [q.level for q in quiet]
    try:
        for q in quiet:
            q.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return torch.export.export(module, args, dynamic_shapes=dyn, strict=False)
            except Exception:  # noqa: BLE001 - torch raises several kinds for data-dependent control flow
                return torch.export.draft_export(module, args, dynamic_shapes=dyn)
    finally:
        for q, lv in zip(quiet, levels):
            q.setLevel(lv)


def _to_onnx(ep, args, names: list[str]) -> bytes:
    import onnx
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(ep, args, dynamo=True, external_data=False, input_names=names,
                                 output_names=["rgb"], optimize=True, verbose=False)
    model = prog.model_proto
    onnx.checker.check_model(model)
    return model.SerializeToString()


def half_weights(data: bytes, min_size: int = 64) -> bytes:
    """The same graph with float32 initializers of ``min_size`` elements or more stored as float16 and cast back
    to float32 on load (half the bytes; the arithmetic stays float32)."""
    import onnx
    from onnx import helper, numpy_helper
    model = onnx.load_from_string(data)
    g = model.graph
    casts = []
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < min_size:
            continue
        name = init.name
        arr = numpy_helper.to_array(init).astype(np.float16)
        init.CopyFrom(numpy_helper.from_array(arr, name + "__f16"))
        casts.append(helper.make_node("Cast", [name + "__f16"], [name], to=onnx.TensorProto.FLOAT,
                                      name=f"cast_{name}"))
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _drops(shapes, seed: int) -> dict:
    """A third of every layer's maps, drawn from ``seed``: {layer: sorted indices}."""
    g = torch.Generator().manual_seed(seed)
    return {name: sorted(torch.randperm(c, generator=g)[: max(1, c // 3)].tolist()) for name, c, _, _ in shapes}


def _reference(lm, z, c, drops: dict, box=None, size: int | None = None, vector: dict | None = None) -> np.ndarray:
    """PyTorch's images with ``drops`` through :mod:`latentlab.dissect.ablate` (not the exported hook), as
    ``to_uint8`` gives them (N, H, W, 3); ``box`` (x0, y0, x1, y1) limits the drop to a region of a ``size`` image;
    ``vector``: {layer: True} for layers with (N, C) outputs, whose units are zeroed by a Trace edit."""
    vector = vector or {}
    from ..attribution.filters import to_uint8
    from ..dissect.ablate import ablate
    def zero_units(maps):   # a vector layer's units (dissect.ablate takes feature maps (N, C, H, W) only)
        return lambda out: out.index_fill(1, torch.as_tensor(maps, dtype=torch.long), 0.0) if out.dim() == 2 else out
    with contextlib.ExitStack() as stack:
        for name, maps in drops.items():
            stack.enter_context(Trace(lm.module, name, retain_output=False, edit_output=zero_units(maps)))
            stack.enter_context(ablate(lm.module, name, maps, region=box, image_size=size if box else None)
                                if not vector.get(name) else contextlib.nullcontext())
        x = lm.generate(z, c)
    return to_uint8(x).astype(np.int16)


def _feeds(names, z, c, region, keeps) -> dict:
    vals = [z, *([c] if c is not None else []), region, *keeps]
    return {n: v.numpy() for n, v in zip(names, vals)}


def verify(data: bytes, lm, shapes, names, size: int, *, n: int = 4, seed: int = 1) -> dict:
    """Max |onnxruntime - PyTorch| in grey levels for three checks: ``plain`` (nothing dropped), ``drop`` (a
    third of every layer's maps, everywhere) and ``paint`` (the same maps inside the middle of the image, a box on
    the coarsest layer's grid, where the averaged region is exactly 0 or 1 in every layer; feature-map layers
    only, and only when there is one)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    z = lm.sample_z(n, rng=g) if lm.prior else torch.randn(n, lm.nz, generator=g)
    c = torch.arange(n) % lm.num_classes if lm.conditional else None
    spatial = [h for _, _, h, _ in shapes if h > 0]
    lo = (size // min(spatial)) * max(1, min(spatial) // 4) if spatial else 0
    box = (lo, lo, size - lo, size - lo)
    drops = _drops(shapes, seed)
    out = {}
    for check in ("plain", "drop", "paint") if spatial else ("plain", "drop"):
        d = {} if check == "plain" else drops
        if check == "paint":   # the reference (dissect.ablate's region) is defined for feature maps only
            d = {name: m for name, m in drops.items() if dict((s[0], s[2]) for s in shapes)[name] > 0}
        keeps = [torch.ones(n, ch) for _, ch, _, _ in shapes]
        for k, (name, _, _, _) in zip(keeps, shapes):
            k[:, d.get(name, [])] = 0
        region = torch.ones(n, 1, size, size)
        if check == "paint":
            region.zero_()
            region[:, :, lo:size - lo, lo:size - lo] = 1
        got = sess.run(["rgb"], _feeds(names, z, c, region, keeps))[0].astype(np.int16)
        ref = _reference(lm, z, c, d, box if check == "paint" else None, size, {n: h == 0 for n, _, h, _ in shapes})
        if got.shape != ref.shape:
            raise RuntimeError(f"export: onnxruntime gave images of shape {got.shape}, PyTorch {ref.shape}")
        out[check] = int(np.abs(got - ref).max())
    return out


def export_live(generator, *, prior=None, nz=None, layers=None, weights: str = "float16", tolerance: int = 2,
                seed: int = 0) -> LiveModel:
    """Export ``generator`` (a GAN, a LatentModel or any generator module; ``prior``/``nz`` as for
    :class:`~latentlab.models.adapter.LatentModel`) for the live page and verify it with onnxruntime.

    ``layers``: the layers that get a keep-mask (default :func:`live_layers`); ``weights``: "float16" (half the
    bytes) or "float32". Raises RuntimeError when onnxruntime and PyTorch differ by more than ``tolerance`` grey
    levels (nothing is returned, so nothing is written).
    """
    from ..models.adapter import LatentModel, as_latent_model
    require_live()
    if weights not in ("float16", "float32"):
        raise ValueError(f"weights: expected 'float16' or 'float32', got {weights!r}")
    int_at_least(tolerance, "tolerance", 0, hint="(grey levels)")
    lm = as_latent_model(generator, prior, nz=nz)
    lm = LatentModel(lm.module, lm.prior, nz=lm.nz, z_dims=lm.z_dims, device="cpu")
    layers = list(layers) if layers is not None else live_layers(lm)
    for name in layers:
        get_module(lm.module, name)
    with eval_mode(lm.module):
        args, shapes, image_shape = _example(lm, layers, seed=seed)
        names = ["z", *(["c"] if lm.conditional else []), "region", *(f"keep:{n}" for n in layers)]
        with torch.no_grad():
            data = _to_onnx(_torch_export(_Editable(lm, layers).eval(), args), args, names)
        if weights == "float16":
            data = half_weights(data)
        diff = verify(data, lm, shapes, names, int(image_shape[-1]), seed=seed + 1)
    if max(diff.values()) > tolerance:
        raise RuntimeError(f"export: onnxruntime differs from PyTorch by up to {max(diff.values())} grey levels "
                           f"({diff}), more than tolerance={tolerance}; nothing was written")
    names = list(getattr(lm.config, "class_names", ()) or ()) if lm.conditional else []
    return LiveModel(data, lm.nz, lm.prior or "normal", int(image_shape[-1]), int(image_shape[1]),
                     [tuple(s) for s in shapes], lm.num_classes, names, weights, diff)
