"""latentlab.validate: each check returns the (converted) value or raises with "<name>: expected <what>, got <value>"."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentlab.validate import (expected, finite, finite_tensor, float_tensor, int_at_least, int_in, non_negative_int,
                                number_in, one_of, positive_int, probability)


def test_message_style():
    assert expected("k", "a positive int", 0) == "k: expected a positive int, got 0"
    assert expected("k", "a positive int", "3", hint="(exemplars)") == "k: expected a positive int (exemplars), got '3'"


@pytest.mark.parametrize("check, args, value, out", [
    (positive_int, (), 3, 3),
    (non_negative_int, (), 0, 0),
    (int_at_least, (2,), 2, 2),
    (positive_int, (), np.int64(4), 4),          # with numpy=True (below)
])
def test_integer_checks_return_an_int(check, args, value, out):
    got = check(value, "x", *args, numpy=isinstance(value, np.integer))
    assert got == out and type(got) is int


@pytest.mark.parametrize("check, args, value, message", [
    (positive_int, (), 0, "n: expected a positive int, got 0"),
    (positive_int, (), -3, "n: expected a positive int, got -3"),
    (positive_int, (), True, "n: expected a positive int, got True"),       # a bool is not a count
    (positive_int, (), 2.0, "n: expected a positive int, got 2.0"),
    (non_negative_int, (), -1, "n: expected a non-negative int, got -1"),
    (non_negative_int, (), False, "n: expected a non-negative int, got False"),
    (int_at_least, (2,), 1, "n: expected an int >= 2, got 1"),
    (int_at_least, (2,), "5", "n: expected an int >= 2, got '5'"),
])
def test_integer_checks_reject(check, args, value, message):
    with pytest.raises(ValueError) as e:
        check(value, "n", *args)
    assert str(e.value) == message


def test_numpy_ints_only_when_asked():
    with pytest.raises(ValueError, match=r"^n: expected a positive int, got .*2"):
        positive_int(np.int64(2), "n")
    assert int_at_least(np.int32(0), "i", 0, numpy=True) == 0


def test_hint_follows_the_expectation():
    with pytest.raises(ValueError, match=r"^steps: expected an int >= 2 \(points per segment\), got 1$"):
        int_at_least(1, "steps", 2, hint="(points per segment)")


def test_number_in_closed_and_open_ends():
    assert number_in(1, "p", 0, 1) == 1.0 and type(number_in(1, "p", 0, 1)) is float
    assert probability(0, "p") == 0.0 and probability(np.float32(0.5), "p") == 0.5
    assert number_in(1.0, "f", 0, 1, low_open=True) == 1.0
    for value, kw, msg in [(0, dict(low_open=True), "f: expected a number in (0, 1], got 0"),
                           (1, dict(high_open=True), "f: expected a number in [0, 1), got 1"),
                           (1.5, {}, "f: expected a number in [0, 1], got 1.5"),
                           (math.nan, {}, "f: expected a number in [0, 1], got nan"),
                           (True, {}, "f: expected a number in [0, 1], got True"),
                           ("0.5", {}, "f: expected a number in [0, 1], got '0.5'")]:
        with pytest.raises(ValueError) as e:
            number_in(value, "f", 0, 1, **kw)
        assert str(e.value) == msg
    with pytest.raises(ValueError, match=r"^amount: expected a number in \[0.0, 1.0\], got 2$"):
        number_in(2, "amount", 0.0, 1.0)  # the ends are written as given


def test_one_of():
    assert one_of("slerp", "method", ("slerp", "linear")) == "slerp"
    with pytest.raises(ValueError, match=r"^method: expected one of \('slerp', 'linear'\), got 'cubic'$"):
        one_of("cubic", "method", ("slerp", "linear"))
    with pytest.raises(ValueError, match=r"^method: expected one of \('a',\), got \[1\]$"):
        one_of([1], "method", {"a"})  # unhashable against a set: an error message, not a TypeError from `in`


def test_tensor_checks():
    x = torch.zeros(2, 3)
    assert float_tensor(x, "z") is x and finite_tensor(x, "z") is x and finite(np.zeros(3), "a").shape == (3,)
    with pytest.raises(TypeError, match=r"^z: expected a torch.Tensor \(N, 8\), got list$"):
        float_tensor([0.0], "z", hint="(N, 8)")
    with pytest.raises(TypeError, match=r"^z: expected a floating point tensor, got dtype torch.int64$"):
        finite_tensor(torch.zeros(2, dtype=torch.long), "z")
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match=r"^z: contains NaN or inf values$"):
            finite_tensor(torch.tensor([0.0, bad]), "z")
        with pytest.raises(ValueError, match=r"^a: contains NaN or inf values$"):
            finite(np.array([bad]), "a")


def test_int_in_includes_both_ends_and_names_the_argument():
    assert int_in(1, "k", 1, 3) == 1 and int_in(3, "k", 1, 3) == 3
    assert type(int_in(np.int64(2), "k", 1, 3, numpy=True)) is int
    for bad in (0, 4, True, 2.0, "2", np.int64(2)):
        with pytest.raises(ValueError, match=r"k: expected an int in \[1, 3\] \(nz\), got"):
            int_in(bad, "k", 1, 3, hint="(nz)")
