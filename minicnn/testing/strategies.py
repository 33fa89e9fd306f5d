"""Hypothesis strategies for CNN geometry and test arrays.

Every strategy draws only VALID combinations (output size >= 1, groups dividing
the channels, pool padding <= half the kernel), so a property test spends its
examples on the maths, not on rejected inputs. Use them for your own layers::

    from hypothesis import given
    from minicnn.testing import strategies as st_cnn

    @given(st_cnn.conv_geometry())
    def test_my_conv(g): ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..functional.conv import conv_output_size


@dataclass(frozen=True)
class ConvGeometry:
    """One valid convolution: input (n, c_in, h, w), weight (c_out, c_in/groups, kh, kw)."""

    n: int
    c_in: int
    c_out: int
    h: int
    w: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int

    @property
    def x_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.c_in, self.h, self.w)

    @property
    def w_shape(self) -> tuple[int, int, int, int]:
        return (self.c_out, self.c_in // self.groups, *self.kernel)

    @property
    def out_hw(self) -> tuple[int, int]:
        return (conv_output_size(self.h, self.kernel[0], self.stride[0], self.padding[0], self.dilation[0]),
                conv_output_size(self.w, self.kernel[1], self.stride[1], self.padding[1], self.dilation[1]))


@dataclass(frozen=True)
class PoolGeometry:
    """One valid pooling: input (n, c, h, w), kernel, stride, padding (padding <= kernel // 2), ceil_mode."""

    n: int
    c: int
    h: int
    w: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    ceil_mode: bool = False

    @property
    def x_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.c, self.h, self.w)


@st.composite
def conv_geometry(draw: Any, max_batch: int = 4, max_channels: int = 8, max_size: int = 16,
                  max_kernel: int = 5, max_stride: int = 3, max_padding: int = 2,
                  max_dilation: int = 2) -> ConvGeometry:
    """Draw a valid conv geometry: batch 1-4, channels 1-8, H, W 1-16, kernel 1-5, stride 1-3,
    padding 0-2, dilation 1-2 and groups dividing both channel counts (defaults)."""
    n = draw(st.integers(1, max_batch))
    groups = draw(st.integers(1, max_channels))
    c_in = groups * draw(st.integers(1, max_channels // groups))
    c_out = groups * draw(st.integers(1, max_channels // groups))
    dims = []
    for _ in range(2):
        k = draw(st.integers(1, max_kernel))
        d = draw(st.integers(1, max_dilation)) if k > 1 else 1
        p = draw(st.integers(0, max_padding))
        s = draw(st.integers(1, max_stride))
        span = d * (k - 1) + 1
        size = draw(st.integers(max(1, span - 2 * p), max(max_size, span - 2 * p)))
        dims.append((k, s, p, d, size))
    (kh, sh, ph, dh, h), (kw, sw, pw, dw, w) = dims
    return ConvGeometry(n, c_in, c_out, h, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw), groups)


@st.composite
def pool_geometry(draw: Any, max_batch: int = 4, max_channels: int = 8, max_size: int = 16,
                  max_kernel: int = 5, max_stride: int = 3, max_padding: int = 2,
                  ceil_mode: bool | None = False) -> PoolGeometry:
    """Draw a valid pooling geometry (PyTorch requires padding <= kernel // 2); ``ceil_mode=None`` draws
    it too. With ceil_mode the stride goes up to max_stride + 1 and the input may be up to stride - 1
    cells smaller than the kernel, so that last windows run past the padded input or start in the
    padding (and are dropped) often."""
    n = draw(st.integers(1, max_batch))
    c = draw(st.integers(1, max_channels))
    ceil_mode = draw(st.booleans()) if ceil_mode is None else ceil_mode
    dims = []
    for _ in range(2):
        k = draw(st.integers(1, max_kernel))
        p = draw(st.integers(0, min(max_padding, k // 2)))
        s = draw(st.integers(1, max_stride + ceil_mode))
        least = k - 2 * p - (s - 1 if ceil_mode else 0)
        size = draw(st.integers(max(1, least), max(max_size, least)))
        dims.append((k, s, p, size))
    (kh, sh, ph, h), (kw, sw, pw, w) = dims
    return PoolGeometry(n, c, h, w, (kh, kw), (sh, sw), (ph, pw), ceil_mode)


@dataclass(frozen=True)
class AttentionShapes:
    """One attention call: q (*batch, L, E), k (*batch, S, E), v (*batch, S, E_v), with L = ``length``,
    S = ``source_length``, E = ``features``, E_v = ``value_features``."""

    batch: tuple[int, ...]
    length: int
    source_length: int
    features: int
    value_features: int

    @property
    def q_shape(self) -> tuple[int, ...]:
        return (*self.batch, self.length, self.features)

    @property
    def k_shape(self) -> tuple[int, ...]:
        return (*self.batch, self.source_length, self.features)

    @property
    def v_shape(self) -> tuple[int, ...]:
        return (*self.batch, self.source_length, self.value_features)


@st.composite
def attention_shapes(draw: Any, max_batch_dims: int = 2, max_batch: int = 3, max_length: int = 6,
                     max_features: int = 8) -> AttentionShapes:
    """Draw consistent attention shapes: 0-2 batch axes of 1-3, L and S 1-6, E and E_v 1-8 (defaults),
    each drawn on its own (L != S and E != E_v catch a transposed gradient)."""
    batch = tuple(draw(st.lists(st.integers(1, max_batch), max_size=max_batch_dims)))
    length, source = draw(st.integers(1, max_length)), draw(st.integers(1, max_length))
    return AttentionShapes(batch, length, source, draw(st.integers(1, max_features)),
                           draw(st.integers(1, max_features)))


def shapes(min_dims: int = 1, max_dims: int = 4, min_side: int = 1, max_side: int = 6) -> st.SearchStrategy:
    """Array shapes for elementwise ops."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def dtypes() -> st.SearchStrategy:
    """float64 (tight tolerances, finite differences) or float32 (loose tolerances)."""
    return st.sampled_from([np.float64, np.float32])


def arrays(shape: tuple[int, ...], dtype: Any = np.float64, seed: int | None = None,
           scale: float = 1.0) -> np.ndarray:
    """A standard-normal array of ``shape`` (no subnormals, no ties by construction)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(dtype)


def seeds() -> st.SearchStrategy:
    """Seeds for :func:`arrays`: hypothesis shrinks them, NumPy draws the values."""
    return st.integers(0, 2**32 - 1)


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


def tolerance(dtype: Any) -> Tolerance:
    """The parity tolerances against PyTorch: float64 to 1e-9 relative, float32 within 1e-4."""
    return Tolerance(1e-9, 1e-10) if np.dtype(dtype) == np.float64 else Tolerance(1e-4, 1e-4)
