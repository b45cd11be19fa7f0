"""Hooks on named layers, only through context managers (after baukit's nethook).

    with Trace(G, "block2") as t:
        G(z)
    t.output          # (N, C, H, W) features of block2

    with Trace(G, "block2", edit_output=lambda out: out * mask):
        images = G(z) # generated with the edit applied

Handles are always removed on exit, also when the body raises.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable

from torch import nn

__all__ = ["Trace", "TraceDict", "get_module", "layer_names", "count_hooks", "eval_mode"]


def layer_names(model: nn.Module) -> list[str]:
    """Dotted names of every sub-module (the names Trace accepts)."""
    return [n for n, _ in model.named_modules() if n]


def get_module(model: nn.Module, name: str) -> nn.Module:
    """Return the sub-module called ``name`` (dotted), or raise ValueError listing valid names."""
    if not isinstance(name, str):
        raise TypeError(f"layer: expected a dotted layer name (str), got {type(name).__name__}")
    modules = dict(model.named_modules())
    if name not in modules or not name:
        valid = layer_names(model)
        top = [n for n in valid if "." not in n]
        raise ValueError(
            f"layer: unknown layer name {name!r}; top-level layers are {top} "
            f"(all {len(valid)} names: latentlab.hooks.layer_names(model))"
        )
    return modules[name]


def count_hooks(model: nn.Module) -> int:
    """Number of forward/backward hooks currently registered on the model's modules."""
    n = 0
    for m in model.modules():
        n += len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        n += len(getattr(m, "_backward_pre_hooks", {}))
    return n


class _Closing(contextlib.AbstractContextManager):
    """The context-manager side of :class:`Trace` and :class:`TraceDict`: ``close()`` on exit, also when the block
    raises; a :class:`StopForward` raised in the block ends it quietly when ``_stop`` (a TraceDict: always)."""

    _stop = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if self._stop and exc_type is not None and issubclass(exc_type, StopForward):
            return True
        return None


class Trace(_Closing):
    """Record (and optionally edit) the output of one named layer while the context is open.

    Args:
        model: any nn.Module.
        layer: dotted name of the sub-module (see ``layer_names``).
        retain_output: keep the (possibly edited) output in ``self.output``.
        detach: detach the retained output from the graph.
        clone: clone the retained output (safe against later in-place changes).
        edit_output: ``fn(output) -> new_output`` applied to the layer's output.
        stop: raise StopForward after this layer (saves compute when only features are needed).
    """

    def __init__(self, model: nn.Module, layer: str, *, retain_output: bool = True, detach: bool = True,
                 clone: bool = False, edit_output: Callable | None = None, stop: bool = False):
        self.module = get_module(model, layer)
        self.layer = layer
        self.output = None
        retain, det, cl, edit = retain_output, detach, clone, edit_output

        def hook(module, inputs, output):
            if edit is not None:
                output = edit(output)
            if retain:
                o = output
                if det:
                    o = o.detach()
                if cl:
                    o = o.clone()
                self.output = o
            if stop:
                raise StopForward()
            return output

        self.handle = self.module.register_forward_hook(hook)
        self._stop = stop

    def close(self):
        if self.handle is not None:
            self.handle.remove()
            self.handle = None


class StopForward(Exception):
    """Raised inside a forward pass to stop it after a traced layer."""


class TraceDict(dict, _Closing):
    """Several Traces at once: ``with TraceDict(G, ["block1", "block2"]) as td: G(z); td["block1"].output``."""

    def __init__(self, model: nn.Module, layers: Iterable[str], **kw):
        super().__init__()
        try:
            for name in layers:
                self[name] = Trace(model, name, **kw)
        except BaseException:
            self.close()
            raise

    def close(self):
        for t in self.values():
            t.close()


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """``model`` in eval mode (BatchNorm running statistics, no dropout) within the block; its previous mode is
    restored afterwards, also when the block raises."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)
