"""Optimizers of the trainers and their state as flat tensors (safetensors cannot hold nested dicts).

``adam(params, lr, betas)`` is the Adam every trainer builds; ``optimizer_to_tensors`` /
``optimizer_from_tensors`` store its state (step counts and moments, bit-exact) beside the weights in a checkpoint:
tensors ``<prefix>.<param id>.<key>`` plus the param groups as JSON in the metadata.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterable, Iterator

import torch

__all__ = ["adam", "frozen", "optimizer_to_tensors", "optimizer_from_tensors"]


def check_adam_settings(config) -> None:
    """ValueError unless ``config.lr`` is a positive finite number and ``config.beta1`` / ``beta2`` lie in [0, 1)
    (the training configs' Adam fields, checked in their ``__post_init__``)."""
    lr = config.lr
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr: expected a positive finite float, got {lr!r}")
    for name in ("beta1", "beta2"):
        v = getattr(config, name)
        if isinstance(v, bool) or not (isinstance(v, (int, float)) and 0 <= v < 1):
            raise ValueError(f"{name}: expected a value in [0, 1), got {v!r}")


def check_train_settings(config) -> None:
    """The checks every training config shares (``TrainConfig``, ``DTNConfig``): :func:`check_adam_settings`, then
    ``config.fast`` must be True, False or "auto" (ValueError naming it)."""
    check_adam_settings(config)
    if config.fast not in (True, False, "auto"):
        raise ValueError(f"fast: expected True, False or 'auto', got {config.fast!r}")


@contextmanager
def frozen(params: Iterable[torch.nn.Parameter], enabled: bool = True) -> Iterator[None]:
    """Within the block ``params`` (with ``enabled``) do not require grad, so a backward pass computes no gradients
    for them (D's weights during G's update); afterwards, also when the block raises, they require grad again."""
    params = list(params)
    if enabled:
        for p in params:
            p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def adam(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """``torch.optim.Adam(params, lr=lr, betas=betas)``: the optimizer of G, D and the DTN's g and D."""
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas))


def optimizer_to_tensors(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict, list]:
    """``opt``'s state as ({f"{prefix}.{param id}.{key}": CPU tensor}, param_groups); scalars become 0-d tensors."""
    sd = opt.state_dict()
    tensors = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            t = v if isinstance(v, torch.Tensor) else torch.tensor(v)
            tensors[f"{prefix}.{pid}.{k}"] = t.cpu()
    return tensors, sd["param_groups"]


def optimizer_from_tensors(opt: torch.optim.Optimizer, tensors: dict, groups: list, prefix: str) -> None:
    """Load into ``opt`` the state :func:`optimizer_to_tensors` stored under ``prefix`` (other keys are ignored)."""
    state: dict = {}
    for k, v in tensors.items():
        if not k.startswith(prefix + "."):
            continue
        _, pid, key = k.split(".", 2)
        state.setdefault(int(pid), {})[key] = v
    opt.load_state_dict({"state": state, "param_groups": groups})
