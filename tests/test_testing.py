"""minicnn.testing itself: assert_close and gradcheck must FAIL on wrong answers, and the strategies
draw valid geometry."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from minicnn import functional as F
from minicnn import nn
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst


# ---- assert_close --------------------------------------------------------------------------------
def test_assert_close_accepts_values_within_tolerance():
    assert_close(np.array([1.0, 2.0]), np.array([1.0 + 1e-8, 2.0]), rtol=1e-7)


def test_assert_close_names_the_worst_element():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    actual[0, 0] = 0.1
    with pytest.raises(AssertionError, match=r"worst element at index \(1, 2\): got 0.5, expected 0.0.*2 of 6"):
        assert_close(actual, expected, atol=1e-3, name="x")


def test_assert_close_rejects_a_shape_mismatch():
    with pytest.raises(AssertionError, match=r"shape \(3,\) != expected \(1, 3\)"):
        assert_close(np.zeros(3), np.zeros((1, 3)))


@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_assert_close_treats_equal_non_finite_values_as_equal(special):
    assert_close(np.array([1.0, special]), np.array([1.0, special]))


@pytest.mark.parametrize("actual, expected", [([np.nan], [1.0]), ([np.inf], [-np.inf]), ([np.nan], [np.inf]),
                                              ([1.0], [np.inf])])
def test_assert_close_rejects_different_non_finite_values(actual, expected):
    with pytest.raises(AssertionError, match="non-finite values differ"):
        assert_close(np.array(actual), np.array(expected))


# ---- gradcheck -----------------------------------------------------------------------------------
class _WrongTanh(nn.Module):
    """tanh with the backward of a slightly different function: gradcheck must catch it."""

    def forward(self, x):
        self._save(np.tanh(x))
        return np.tanh(x)

    def backward(self, dout):
        y = self._take()
        return dout * (1 - y * y) * 1.01


class _WeightedSum(nn.Module):
    """y = x * w with w a parameter; the weight gradient is deliberately transposed."""

    def __init__(self, transpose_bug: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(np.arange(6, dtype=np.float64).reshape(2, 3) / 7)
        self.transpose_bug = transpose_bug

    def forward(self, x):
        self._save(x)
        return x @ self.weight.data

    def backward(self, dout):
        x = self._take()
        dw = x.T @ dout
        self.weight.grad += dw[::-1, ::-1] if self.transpose_bug else dw
        return dout @ self.weight.data.T


def test_gradcheck_passes_a_correct_functional_pair():
    x = cst.arrays((2, 3, 5, 5), np.float64, 0)
    w = cst.arrays((4, 3, 3, 3), np.float64, 1)
    b = cst.arrays((4,), np.float64, 2)
    assert gradcheck((lambda x, w, b: F.conv2d_forward(x, w, b, 2, 1), F.conv2d_backward), x, w, b)


def test_gradcheck_catches_a_wrong_input_gradient():
    with pytest.raises(AssertionError, match="gradcheck input 0: worst element"):
        gradcheck(_WrongTanh(), cst.arrays((3, 4), np.float64, 0))


def test_gradcheck_catches_a_wrong_parameter_gradient_and_names_it():
    x = cst.arrays((4, 2), np.float64, 0)
    assert gradcheck(_WeightedSum(transpose_bug=False), x)
    with pytest.raises(AssertionError, match="gradcheck parameter weight"):
        gradcheck(_WeightedSum(transpose_bug=True), x)


def test_gradcheck_catches_a_wrong_functional_gradient():
    def backward(dout, cache):
        dx, dw, db = F.conv2d_backward(dout, cache)
        return dx, dw * 1.001, db
    x = cst.arrays((1, 2, 4, 4), np.float64, 0)
    w = cst.arrays((3, 2, 2, 2), np.float64, 1)
    with pytest.raises(AssertionError, match="gradcheck input 1"):
        gradcheck((F.conv2d_forward, backward), x, w)


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(_WrongTanh(), np.ones((2, 2), np.float32))


# ---- strategies ----------------------------------------------------------------------------------
@given(g=cst.conv_geometry())
def test_conv_geometry_is_always_valid(g):
    assert g.c_in % g.groups == 0 and g.c_out % g.groups == 0
    assert min(g.out_hw) >= 1
    assert 1 <= g.n <= 4 and 1 <= g.c_in <= 8 and 1 <= g.h <= 16 and 1 <= g.w <= 16


@given(g=cst.pool_geometry())
def test_pool_geometry_is_always_valid(g):
    kh, kw = g.kernel
    assert g.padding[0] <= kh // 2 and g.padding[1] <= kw // 2
    assert (g.h + 2 * g.padding[0] - kh) // g.stride[0] + 1 >= 1
    assert (g.w + 2 * g.padding[1] - kw) // g.stride[1] + 1 >= 1


def test_gradcheck_takes_a_loss_module_whose_output_is_a_float():
    z = cst.arrays((5, 4), np.float64, 0, scale=2.0)
    targets = np.array([3, 0, 1, 3, 2])
    assert gradcheck(nn.CrossEntropyLoss(0.2), z, targets)


def test_gradcheck_leaves_the_module_state_as_it_found_it():
    bn = nn.BatchNorm1d(3).astype(np.float64)
    before = bn.state_dict()
    assert gradcheck(bn, cst.arrays((4, 3), np.float64, 0))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_gradcheck_refuses_a_backward_that_skips_a_floating_input():
    def backward(dout, cache):
        return F.linear_backward(dout, cache)[:1]
    x, w = cst.arrays((2, 3), np.float64, 0), cst.arrays((4, 3), np.float64, 1)
    with pytest.raises(ValueError, match="returned 1 gradient.*floating input 1"):
        gradcheck((F.linear_forward, backward), x, w)


class _Gate(nn.Module):
    """A module of two inputs: y = a * b (broadcast), backward -> (da, db)."""

    def forward(self, a, b):
        y, cache = F.mul_forward(a, b)
        self._save(cache)
        return y

    def backward(self, dy):
        return F.mul_backward(dy, self._take())


class _WrongSecondGradient(_Gate):
    def backward(self, dy):
        da, db = F.mul_backward(dy, self._take())
        return da, 2 * db


def test_gradcheck_checks_every_input_of_a_module_with_several():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 1))
    assert gradcheck(_Gate(), a, b)
    with pytest.raises(AssertionError, match="gradcheck input 1: worst element"):
        gradcheck(_WrongSecondGradient(), a, b)
