"""Argument checks with one message style: ``<name>: expected <what>, got <value>``.

Every public function checks one argument and returns it (converted: ``int`` for an integer, ``float`` for a
number), so a call reads ``n = positive_int(n, "n")``. The integer checks take Python ints; ``numpy=True`` also
takes numpy's (returned as ``int``), for arguments that are often read out of an array. A failure is a
``ValueError`` for a wrong value and a ``TypeError`` where a tensor is not one (``float_tensor``); the message names
the argument, says what was expected and shows what came (NaN / inf: ``"<name>: contains NaN or inf values"``). ``bool`` is never taken for a number, although Python
counts it as one (``positive_int(True, "n")`` fails). ``hint`` adds a short explanation after the expectation::

    >>> positive_int(0, "k", hint="(exemplars per side)")
    Traceback (most recent call last):
    ...
    ValueError: k: expected a positive int (exemplars per side), got 0

This module sits at the bottom of the package's layers: it imports nothing of latentlab, and torch only to
check tensors.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable

__all__ = ["expected", "positive_int", "int_at_least", "non_negative_int", "int_in", "number_in", "probability", "one_of", "float_tensor", "finite",
           "finite_tensor", "options_of", "class_position"]


def expected(name: str, what: str, value, *, hint: str = "") -> str:
    """The one message style: ``"<name>: expected <what>[ <hint>], got <value!r>"``."""
    return f"{name}: expected {what}{' ' + hint if hint else ''}, got {value!r}"


def _is_int(value, numpy: bool) -> bool:
    """A Python int, or with ``numpy`` any integral number (numpy ints too); never a bool."""
    return isinstance(value, numbers.Integral if numpy else int) and not isinstance(value, bool)


def _int_from(value, name: str, minimum: int, what: str, hint: str, numpy: bool) -> int:
    """The integer checks' one body: ``int(value)`` for an int (not bool) >= ``minimum``, else the ValueError
    ``"<name>: expected <what>[ <hint>], got <value!r>"``."""
    if not _is_int(value, numpy) or value < minimum:
        raise ValueError(expected(name, what, value, hint=hint))
    return int(value)


def int_at_least(value, name: str, minimum: int, *, hint: str = "", numpy: bool = False) -> int:
    """``int(value)`` if ``value`` is an int (not bool) ``>= minimum``, else a ValueError
    ``"<name>: expected an int >= <minimum>, got ..."``."""
    return _int_from(value, name, minimum, f"an int >= {minimum}", hint, numpy)


def positive_int(value, name: str, *, hint: str = "", numpy: bool = False) -> int:
    """``int(value)`` if ``value`` is an int >= 1 (not bool), else a ValueError
    ``"<name>: expected a positive int, got ..."``."""
    return _int_from(value, name, 1, "a positive int", hint, numpy)


def non_negative_int(value, name: str, *, hint: str = "", numpy: bool = False) -> int:
    """``int(value)`` if ``value`` is an int >= 0 (not bool), else a ValueError
    ``"<name>: expected a non-negative int, got ..."``."""
    return _int_from(value, name, 0, "a non-negative int", hint, numpy)


def int_in(value, name: str, low: int, high: int, *, hint: str = "", numpy: bool = False) -> int:
    """``int(value)`` if ``value`` is an int (not bool) with ``low <= value <= high`` (both ends included), else a
    ValueError ``"<name>: expected an int in [<low>, <high>], got ..."``."""
    what = f"an int in [{low}, {high}]"
    v = _int_from(value, name, low, what, hint, numpy)
    if v > high:
        raise ValueError(expected(name, what, value, hint=hint))
    return v


def number_in(value, name: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False,
              hint: str = "") -> float:
    """``float(value)`` if ``value`` is a real number (not bool, not NaN) in the interval, else a ValueError
    ``"<name>: expected a number in [low, high], got ..."``; ``low_open`` / ``high_open`` exclude an end
    (written ``(`` / ``)``)."""
    what = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
    if not ok:
        raise ValueError(expected(name, what, value, hint=hint))
    return float(value)


def probability(value, name: str, *, hint: str = "") -> float:
    """``float(value)`` if ``value`` is a number in [0, 1], else a ValueError
    ``"<name>: expected a number in [0, 1], got ..."``."""
    return number_in(value, name, 0, 1, hint=hint)


def one_of(value, name: str, choices: Iterable, *, hint: str = ""):
    """``value`` if it is one of ``choices``, else a ValueError ``"<name>: expected one of (...), got ..."``."""
    choices = tuple(choices)
    try:
        ok = value in choices
    except TypeError:  # an unhashable value against a set-like choices
        ok = False
    if not ok:
        raise ValueError(expected(name, f"one of {choices}", value, hint=hint))
    return value


def float_tensor(x, name: str, *, hint: str = "", floating: str = "a floating point tensor"):
    """``x`` if it is a floating-point ``torch.Tensor``, else a TypeError ``"<name>: expected a torch.Tensor
    [hint], got <type>"`` or ``"<name>: expected <floating>, got dtype <dtype>"`` (``floating`` may name the
    expected range, e.g. "a floating tensor in [-1, 1]")."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor{' ' + hint if hint else ''}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected {floating}, got dtype {x.dtype}")
    return x


def finite(x, name: str):
    """``x`` (a tensor or numpy array) if every value is finite, else a ValueError
    ``"<name>: contains NaN or inf values"``."""
    import torch

    if not bool(torch.isfinite(torch.as_tensor(x)).all()):
        raise ValueError(f"{name}: contains NaN or inf values")
    return x


def finite_tensor(x, name: str, *, hint: str = ""):
    """``float_tensor`` and ``finite`` in one: a floating-point tensor without NaN or inf."""
    return finite(float_tensor(x, name, hint=hint), name)


def options_of(value, cls: type, name: str, module: str):
    """An options dataclass argument: ``cls()`` for None, ``value`` if it is a ``cls``, else a TypeError
    ``"<name>: expected a <module>.<cls name>, got <type>"`` (``module``: where users import ``cls`` from)."""
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise TypeError(f"{name}: expected a {module}.{cls.__name__}, got {type(value).__name__}")
    return value


def class_position(value, classes: Iterable, name: str) -> int:
    """The index of the class ``value`` in ``classes``, else a ValueError ``"<name>: unknown class <value!r>;
    classes are [...]"``."""
    classes = list(classes)
    if value not in classes:
        raise ValueError(f"{name}: unknown class {value!r}; classes are {classes}")
    return classes.index(value)
