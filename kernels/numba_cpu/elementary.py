r"""exp, expm1, log1p and tanh, and erfc for float32, written so that LLVM vectorises the loops that call them.

Numba calls the C library (``exp``, ``log1p``, ``tanh``, ``erfc``) once per element: a call LLVM
cannot vectorise without a vector maths library, which PyPI's llvmlite does not link (no SVML).
These versions are straight-line arithmetic, integer operations on the IEEE bit patterns and
selects, so a pointwise loop over them runs several lanes at a time (4 float64 lanes with AVX2, 8
with AVX-512). All of them compute in float64 (a float32 input is widened exactly and the result
rounded once). Against NumPy: exp within 1 ulp, expm1 2, log1p 3, tanh 4 (``tests/test_elementary.py``).

exp
---
Write x = k ln 2 + r with k = round(x / ln 2) and |r| <= ln(2) / 2; then e^x = 2^k e^r.

* k is rounded by adding and subtracting 1.5 * 2^52, which leaves k in the low bits of the sum,
  so no float-to-integer conversion is needed (AVX2 has none for 64-bit integers);
* r = (x - k L_hi) - k L_lo with ln 2 = L_hi + L_lo, L_hi having 21 significant bits, so that
  k L_hi and x - k L_hi are exact (Cody and Waite's two-step reduction);
* e^r is its Taylor polynomial of degree 13 (Horner): the remainder is below
  (ln(2)/2)^14 / 14! < 5e-18, far under the 1.1e-16 of rounding;
* 2^k is built from its bit pattern, exponent field k + 1023, in two factors 2^(k - j) 2^j,
  j = floor(k / 2), each a normal number over the whole clamped range x in [-746, 710], so
  results that underflow into the subnormals (or to 0) or overflow to inf come out right.

expm1
-----
e^x - 1 = 2^k (e^r - 1) + (2^k - 1) for |x| <= 36: e^r - 1 is the same polynomial without its
constant term (no cancellation near 0), and 2^k - 1 is exact. Beyond, exp(x) - 1 is as accurate
(2^k - 1 rounds to 2^k, or the result to -1).

log1p
-----
With u = 1 + x rounded, log(1 + x) = log(u) + (x - (u - 1)) / u to first order (the second term
puts back what rounding u lost). u = 2^e m with m in [sqrt(1/2), sqrt(2)) read off its bits, and
log(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1), |s| <= 0.172: 11 terms
reach rounding level. e ln 2 is added in two parts, as in exp.

tanh
----
tanh(x) = sign(x) e / (e + 2) with e = expm1(2 |x|): no cancellation for small x (e ~ 2|x|), and
|x| is clamped to 20, where tanh is 1 in float64.

erfc (float32)
--------------
For a >= 0, erfc(a) = t exp(-a^2 + P(t)) with t = 2 / (2 + a) and P a polynomial of degree 12
fitted (least squares over 40,001 points a in [0, 26]) to log(erfc(a)) + a^2 - log(t) from the C
library's float64 erfc: at most 1e-8 relative error, under float32's rounding of 6e-8. a^2 is
exact in float64 for a float32 a. erfc(-a) = 2 - erfc(a). float64 keeps the C library's erfc. The fit::

    a = np.linspace(0, 26, 40001); t = 2 / (2 + a)
    target = np.log([math.erfc(v) for v in a]) + a * a - np.log(t)
    np.polynomial.polynomial.polyfit(t, target, 12)[::-1]      # _ERFC_FIT

NaN propagates through every function; the clamps compare so that a NaN is left as it is.

After editing this file, delete ``kernels/numba_cpu/__pycache__``: Numba's disk cache checks only the
source file of each kernel, not the functions it inlines from here (the pointwise loops carry a digest
of this file in their names; the softmax kernels do not).
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import _OPTIONS

__all__ = ["exp", "expm1", "log1p", "tanh", "erfc32"]

_ROUND = 6755399441055744.0                 # 1.5 * 2^52: x + _ROUND - _ROUND rounds x to an integer
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931467056274414                # ln 2 with the low 32 bits of its significand cleared
_LN2_LO = 4.7493250390316726e-07            # ln 2 - _LN2_HI, rounded
_TAYLOR = np.array([1.0 / math.factorial(n) for n in range(13, 0, -1)])     # e^r's Taylor coefficients, r^13 .. r^1
_ATANH = np.array([1.0 / (2 * j + 1) for j in range(10, -1, -1)])    # 2 atanh(s) = 2 s sum_j s^2j / (2j + 1)
_SQRT_2 = 1.4142135623730951
_ERFC_FIT = np.array([0.10393353189312678, -0.8303596874627767, 2.7922015042202295, -5.092559535344054,
                      5.373656472696352, -3.286841645506697, 1.3131809827191414, -0.5506787201075896,
                      -0.005671530624196984, 0.07282535292597134, 0.37586466532386564, 0.9999599336393673,
                      -1.2655113335586494])
"""P(t)'s coefficients, of t^12 down to t^0."""


@intrinsic
def _bits(typingctx, x):
    """The IEEE bit pattern of a float64 as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, n):
    """The float64 whose IEEE bit pattern is the int64 ``n``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(inline="always", **_OPTIONS)
def _expm1_poly(r):
    """e^r - 1 for |r| <= ln(2) / 2: the Taylor polynomial of degree 13 by Horner, without its constant."""
    p = 0.0
    for n in range(_TAYLOR.size):
        p = p * r + _TAYLOR[n]
    return p * r


@njit(inline="always", **_OPTIONS)
def _reduce(x):
    """(k, r) with x = k ln 2 + r, k = round(x / ln 2) as an int64, |r| <= ln(2) / 2."""
    shifted = x * _LOG2E + _ROUND
    kf = shifted - _ROUND
    return _bits(shifted) - _bits(_ROUND), (x - kf * _LN2_HI) - kf * _LN2_LO


@njit(inline="always", **_OPTIONS)
def _power_of_two(k):
    """2^k for an int64 k in [-1022, 1023] (inf for 1024), from its bit pattern."""
    return _from_bits((k + 1023) << 52)


@njit(inline="always", **_OPTIONS)
def exp(x):
    """e^x in float64, within an ulp (see the module docstring)."""
    x = -746.0 if x < -746.0 else x
    x = 710.0 if x > 710.0 else x
    k, r = _reduce(x)
    j = k >> 1
    return (1.0 + _expm1_poly(r)) * _power_of_two(j) * _power_of_two(k - j)


@njit(inline="always", **_OPTIONS)
def expm1(x):
    """e^x - 1 in float64: 2^k (e^r - 1) + (2^k - 1) for |x| <= 36, exp(x) - 1 beyond (where 2^k - 1
    rounds to 2^k, or to -1)."""
    near = -36.0 if x < -36.0 else (36.0 if x > 36.0 else x)
    k, r = _reduce(near)
    scale = _power_of_two(k)
    split = scale * _expm1_poly(r) + (scale - 1.0)
    split = x if x == 0.0 else split                                 # keeps the sign of -0.0
    return split if abs(x) <= 36.0 else exp(x) - 1.0


@njit(inline="always", **_OPTIONS)
def log1p(x):
    """log(1 + x) in float64: log(u) for u = 1 + x, plus (x - (u - 1)) / u for the rounding of u."""
    u = 1.0 + x
    bits = _bits(u)
    e = ((bits >> 52) & 0x7FF) - 1023
    m = _from_bits((bits & 0xFFFFFFFFFFFFF) | (1023 << 52))          # u = 2^e m, 1 <= m < 2
    high = m > _SQRT_2
    m = 0.5 * m if high else m
    e = e + 1 if high else e
    s = (m - 1.0) / (m + 1.0)
    w = s * s
    p = 0.0
    for n in range(_ATANH.size):
        p = p * w + _ATANH[n]
    log_u = e * _LN2_HI + (e * _LN2_LO + 2.0 * s * p)
    result = log_u + (x - (u - 1.0)) / u
    result = x if u == 1.0 else result
    result = -math.inf if u == 0.0 else result
    return u if (u == math.inf or u != u) else (math.nan if u < 0.0 else result)


@njit(inline="always", **_OPTIONS)
def tanh(x):
    """tanh(x) = sign(x) e / (e + 2), e = expm1(2 |x|), in float64."""
    a = abs(x)
    a = 20.0 if a > 20.0 else a
    e = expm1(2.0 * a)
    return math.copysign(e / (e + 2.0), x)


@njit(inline="always", **_OPTIONS)
def erfc32(x):
    """erfc of a float32, computed in float64 from the fit t exp(-a^2 + P(t)), t = 2 / (2 + |x|)."""
    a = abs(float(x))
    a = 26.0 if a > 26.0 else a
    t = 2.0 / (2.0 + a)
    p = 0.0
    for n in range(_ERFC_FIT.size):
        p = p * t + _ERFC_FIT[n]
    c = t * exp(p - a * a)
    return np.float32(2.0 - c if x < 0 else c)
