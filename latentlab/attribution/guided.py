"""Guided backpropagation (Springenberg et al. 2014) that also rectifies LeakyReLU (DCGAN §6.2).

Guided backprop passes back only positive gradients through positive activations: at every
rectifying unit with input x, ``grad_in = 1[x > 0] * relu(grad_out)``.

captum's ``GuidedBackprop`` installs its hook only on ``nn.ReLU`` modules. A DCGAN discriminator uses
``nn.LeakyReLU(0.2)``, where captum installs nothing: gradients pass unchanged, negative ones
included, and 0.2x through negative activations. The classes here are subclasses of captum's that
hook every module type in :data:`GUIDED_ACTIVATIONS` (``nn.ReLU``, ``nn.LeakyReLU``, ``nn.PReLU``,
``nn.RReLU`` and their subclasses; add more with :func:`register_guided_activation`). They use
captum's own life cycle: captum calls ``_register_hooks`` on every sub-module inside its ``try`` and
``_remove_hooks`` in its ``finally``, so no hook outlives a call, also when the forward raises.

How a unit is rectified: a forward hook on the activation module returns its output through
:class:`_GuidedGate`, an identity in the forward pass whose backward sends
``1[x > 0] * relu(grad_out)`` straight to the activation's input x and nothing through the original
activation. The gate is built per call, so a module used several times in one forward (a shared
``self.act``) is rectified correctly at each use.

Example::

    >>> D = build_discriminator(ModelConfig(ndf=8, image_size=32)).eval()
    >>> x = torch.randn(2, 3, 32, 32)
    >>> GuidedBackprop(D).attribute(x).shape            # d logit / d x, guided
    torch.Size([2, 3, 32, 32])
    >>> FilterGuidedBackprop(D, "block3").attribute(x, filter=5).shape   # max response of filter 5
    torch.Size([2, 3, 32, 32])
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from captum._utils.gradient import construct_neuron_grad_fn
from captum.attr import GuidedBackprop as _CaptumGuidedBackprop
from captum.attr import NeuronGuidedBackprop as _CaptumNeuronGuidedBackprop
from torch import nn

from ..validate import one_of
from ._common import check_filter, check_images, resolve_layer

__all__ = ["GUIDED_ACTIVATIONS", "register_guided_activation", "GuidedBackprop", "NeuronGuidedBackprop",
           "FilterGuidedBackprop", "guided_backprop", "filter_guided_backprop"]

GateFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def positive_input(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Open where the unit's input is positive (ReLU-like units, whose slope is 1 there).

    For an in-place activation x already holds the output; for non-negative slopes the sign is the same.
    """
    return x > 0


GUIDED_ACTIVATIONS: dict[type, GateFn] = {
    nn.ReLU: positive_input,
    nn.LeakyReLU: positive_input,
    nn.PReLU: positive_input,
    nn.RReLU: positive_input,
}
"""Module types rectified by guided backprop -> gate ``fn(module, input, output) -> bool mask``
(True where gradients may pass). Matched with ``isinstance``, so subclasses are included."""


def register_guided_activation(module_type: type, gate: GateFn = positive_input) -> None:
    """Rectify ``module_type`` (and its subclasses) in guided backprop from now on.

    Args:
        module_type: an ``nn.Module`` subclass, e.g. a user's own ``Swish`` module.
        gate: ``fn(module, input, output) -> bool tensor`` shaped like the input; gradients pass only
            where it is True (and only their positive part). Default: input > 0.
    """
    if not (isinstance(module_type, type) and issubclass(module_type, nn.Module)):
        raise TypeError(f"module_type: expected an nn.Module subclass, got {module_type!r}")
    if not callable(gate):
        raise TypeError(f"gate: expected a callable fn(module, input, output) -> bool tensor, got {type(gate).__name__}")
    GUIDED_ACTIVATIONS[module_type] = gate


def _gate_for(module: nn.Module, table: dict[type, GateFn]) -> GateFn | None:
    for t in type(module).__mro__:  # the most specific registered type wins
        if t in table:
            return table[t]
    return None


class _GuidedGate(torch.autograd.Function):
    """Forward: returns y (the activation's output). Backward: ``mask * relu(grad)`` to x, nothing to y."""

    @staticmethod
    def forward(ctx, x, y, mask):
        ctx.save_for_backward(mask)
        return y.clone()

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad.clamp(min=0) * mask, None, None


def _guided_hook(gate: GateFn):
    def hook(module, inputs, output):
        if not isinstance(output, torch.Tensor) or not inputs or not isinstance(inputs[0], torch.Tensor):
            return None
        x = inputs[0]
        if not output.requires_grad:
            return None
        mask = gate(module, x.detach(), output.detach())
        return _GuidedGate.apply(x, output, mask.to(output.dtype))
    return hook


_CAPTUM_HOOK_WARNING = "Setting backward hooks on ReLU activations"


class GuidedBackprop(_CaptumGuidedBackprop):
    """captum's ``GuidedBackprop`` that rectifies LeakyReLU (and every type in ``GUIDED_ACTIVATIONS``).

    ``GuidedBackprop(model).attribute(inputs, target=None)`` -> guided gradients shaped like inputs.
    Same arguments as captum's; the model is used as given (call ``.eval()`` for BatchNorm models).

    Args:
        model: any nn.Module; its rectifying activations must be modules (not ``F.leaky_relu``).
        activations: module type -> gate table to use instead of the global ``GUIDED_ACTIVATIONS``
            (``{nn.ReLU: positive_input}`` reproduces captum's ReLU-only behaviour).
    """

    def __init__(self, model: nn.Module, activations: dict[type, GateFn] | None = None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        super().__init__(model)
        self._table = activations

    @property
    def activations(self) -> dict[type, GateFn]:
        return GUIDED_ACTIVATIONS if self._table is None else self._table

    def attribute(self, inputs, target=None, additional_forward_args=None):
        if isinstance(inputs, torch.Tensor) and not inputs.requires_grad:
            inputs = inputs.detach().requires_grad_()  # rather than captum flipping the caller's tensor
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_CAPTUM_HOOK_WARNING)
            return super().attribute(inputs, target=target, additional_forward_args=additional_forward_args)

    # captum calls this on every sub-module (model.apply) inside its try ...
    def _register_hooks(self, module: nn.Module) -> None:
        gate = _gate_for(module, self.activations)
        if gate is not None:
            self.backward_hooks.append(module.register_forward_hook(_guided_hook(gate)))

    # ... and this in its finally
    def _remove_hooks(self) -> None:
        try:
            super()._remove_hooks()
        finally:
            self.backward_hooks.clear()


class NeuronGuidedBackprop(_CaptumNeuronGuidedBackprop):
    """captum's ``NeuronGuidedBackprop`` with the LeakyReLU-aware :class:`GuidedBackprop` inside.

    ``NeuronGuidedBackprop(model, "block4").attribute(inputs, neuron_selector)``; ``neuron_selector`` as
    in captum (an index tuple into the layer output without the batch dimension, or a callable).

    Args:
        model: any nn.Module.
        layer: dotted name of the layer (see ``latentlab.layer_names``).
        activations: optional gate table (see :class:`GuidedBackprop`).
    """

    def __init__(self, model: nn.Module, layer: str, activations: dict[type, GateFn] | None = None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        super().__init__(model, resolve_layer(model, layer))
        self.layer_name = layer
        self.guided_backprop = GuidedBackprop(model, activations)

    def attribute(self, inputs, neuron_selector, additional_forward_args=None, attribute_to_neuron_input=False):
        # captum's body, calling our GuidedBackprop's public attribute (captum's reaches past it via __wrapped__)
        self.guided_backprop.gradient_func = construct_neuron_grad_fn(
            self.layer, neuron_selector, self.device_ids, attribute_to_neuron_input)
        return self.guided_backprop.attribute(inputs, None, additional_forward_args)


REDUCTIONS = ("max", "sum")


class FilterGuidedBackprop(NeuronGuidedBackprop):
    """Guided backprop of one filter's response at a conv layer (DCGAN Fig. 5, "maximal axis-aligned responses").

    ``attribute(images (N, C, H, W), filter=k)`` -> (N, C, H, W): for each image, the guided gradient of
    filter k's maximal activation over the layer's spatial positions (``reduce="max"``, the paper's
    view; ``"sum"`` attributes the whole map). For a 2-D (N, F) layer output the unit itself is used.
    The response is read at the layer's output (for our blocks: after the LeakyReLU).
    """

    def attribute(self, inputs, filter: int, reduce: str = "max", additional_forward_args=None):  # noqa: A002
        one_of(reduce, "reduce", REDUCTIONS)
        check_images(self.forward_func, inputs)
        if isinstance(filter, bool) or not isinstance(filter, int):
            raise TypeError(f"filter: expected an int filter index, got {type(filter).__name__}")
        layer = self.layer_name

        def selector(out):
            if isinstance(out, (tuple, list)):
                out = out[0]
            check_filter(filter, out.shape[1], layer)
            a = out[:, filter]
            if a.dim() == 1:
                return a
            a = a.flatten(1)
            return a.amax(1) if reduce == "max" else a.sum(1)

        return super().attribute(inputs, selector, additional_forward_args=additional_forward_args)


def guided_backprop(model: nn.Module, images: torch.Tensor, target=None) -> torch.Tensor:
    """Function form of :class:`GuidedBackprop`: guided d output / d images, shaped like images."""
    check_images(model, images)
    return GuidedBackprop(model).attribute(images, target=target)


def filter_guided_backprop(model: nn.Module, images: torch.Tensor, layer: str, filter: int,  # noqa: A002
                           reduce: str = "max") -> torch.Tensor:
    """Function form of :class:`FilterGuidedBackprop`: (N, C, H, W) guided maps of filter ``filter``."""
    return FilterGuidedBackprop(model, layer).attribute(images, filter=filter, reduce=reduce)
