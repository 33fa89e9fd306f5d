r"""2-D convolution as im2col + one matrix product per group, and its backward.

Notation
--------
x  : (N, C_in, H, W)          input
w  : (C_out, C_in/G, k_h, k_w) weight (OIHW, as PyTorch), G = groups
b  : (C_out,)                 bias
y  : (N, C_out, H_out, W_out) output, H_out = (H + 2p_h - d_h(k_h - 1) - 1) // s_h + 1
K  = (C_in/G) k_h k_w         length of one receptive field of one group
L  = H_out W_out              number of output positions

Forward (index form), for output channel o in group g = o // (C_out/G):

    y[n,o,oh,ow] = b[o] + sum_{c,i,j} w[o,c,i,j] * x_pad[n, g C_in/G + c, oh s_h + i d_h, ow s_w + j d_w]

im2col gathers every receptive field into a column,
``X[n, c k_h k_w + i k_w + j, oh W_out + ow] = x_pad[...]`` (N, C_in k_h k_w, L).
Put the images side by side, X^T = (C_in k_h k_w, N L) (the CPU kernels store the
columns in exactly this order, so it is free), split it per group into
X_g (G, K, N L), and let W_g = w.reshape(G, C_out/G, K):

    Y_g = W_g @ X_g                           (G, C_out/G, N L)   one GEMM per group

then y is Y read as (C_out, N, L) and transposed to (N, C_out, L). A GEMM over
many images' positions at once keeps BLAS busy on large operands; N small GEMMs
of width L would not.

Backward, given dy = dLoss/dy (same shape as y), transposed the same way to
dY_g (G, C_out/G, N L):

    db[o]  = sum_{n,oh,ow} dy[n,o,oh,ow]                  (C_out,)
    dW_g   = dY_g @ X_g^T                                 (G, C_out/G, K)
    dX_g   = W_g^T @ dY_g                                 (G, K, N L)
    dx     = col2im(dX)                                   (N, C_in, H, W)

The first two follow from y being linear in b and in w (the sum over n of the
per-image products dY_g[n] X_g[n]^T is the single product over N L); the third is the
transpose of the linear map X -> W X. col2im is the ADJOINT of im2col (it adds
every column entry back to the pixel it was read from), because im2col is a
linear map x -> X and the gradient of a linear map is its transpose.

Batch chunks. X is k_h k_w times larger than x (9x for 3x3), so neither pass
builds it whole: images are taken a chunk at a time, with the chunk's columns
at most ``kernels().COLUMN_CHUNK_BYTES`` (a few MiB on the CPU, where they then
stay in cache between im2col and the GEMM). Every formula above holds per
chunk; dW and db are the sums of the chunks' terms, and dx is assembled chunk by
chunk. The cache keeps x, not X, and backward rebuilds each chunk's columns: one
extra im2col instead of k_h k_w times the input's memory.
"""
from __future__ import annotations

from typing import Any, Iterator, NamedTuple

from .. import backend
from ._util import Pair, pair, require_float

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "Conv2dCache", "conv_output_size"]


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """``(size + 2 padding - dilation (kernel - 1) - 1) // stride + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def im2col(x: Any, kernel_size: int | Pair, stride: int | Pair = 1, padding: int | Pair = 0,
           dilation: int | Pair = 1) -> Any:
    """Columns (N, C k_h k_w, H_out W_out) of every receptive field of ``x`` (N, C, H, W).

    ``cols[n, c k_h k_w + i k_w + j, oh W_out + ow] = x_pad[n, c, oh s_h + i d_h, ow s_w + j d_w]``.
    """
    kh, kw = pair(kernel_size, "kernel_size")
    return backend.kernels().im2col(x, kh, kw, pair(stride, "stride"), pair(padding, "padding"),
                                    pair(dilation, "dilation"))


def col2im(cols: Any, x_shape: tuple[int, int, int, int], kernel_size: int | Pair,
           stride: int | Pair = 1, padding: int | Pair = 0, dilation: int | Pair = 1) -> Any:
    """The adjoint of :func:`im2col`: ``<im2col(x), y> = <x, col2im(y)>``; overlaps are summed."""
    kh, kw = pair(kernel_size, "kernel_size")
    return backend.kernels().col2im(cols, tuple(x_shape), kh, kw, pair(stride, "stride"),
                                    pair(padding, "padding"), pair(dilation, "dilation"))


class Conv2dCache(NamedTuple):
    x: Any                        # (N, C_in, H, W) the input
    w: Any                        # (C_out, C_in/G, k_h, k_w)
    has_bias: bool
    stride: Pair
    padding: Pair
    dilation: Pair
    groups: int


def _batch_chunks(n: int, column_bytes_per_image: int) -> Iterator[slice]:
    """Slices of the batch whose im2col columns fit in ``kernels().COLUMN_CHUNK_BYTES`` (at least one image)."""
    step = max(1, backend.kernels().COLUMN_CHUNK_BYTES // max(1, column_bytes_per_image))
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def conv2d_forward(x: Any, w: Any, b: Any = None, stride: int | Pair = 1, padding: int | Pair = 0,
                   dilation: int | Pair = 1, groups: int = 1) -> tuple[Any, Conv2dCache]:
    """y = conv2d(x, w) + b, NCHW / OIHW as ``torch.nn.functional.conv2d``. See the module docstring."""
    require_float(x, "conv2d")
    stride, padding, dilation = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    n, c_in, h, wd = x.shape
    c_out, c_g, kh, kw = w.shape
    if c_in != c_g * groups:
        raise ValueError(f"conv2d: input has {c_in} channels, weight expects {c_g * groups} "
                         f"({c_g} per group x {groups} groups)")
    ho = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    wo = conv_output_size(wd, kw, stride[1], padding[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: kernel {kh}x{kw} (dilation {dilation}) is larger than the padded "
                         f"input {h + 2 * padding[0]}x{wd + 2 * padding[1]}")
    xp, kernels = backend.xp(), backend.kernels()
    k, l = c_g * kh * kw, ho * wo
    w_g = w.reshape(groups, c_out // groups, k)
    y = xp.empty((n, c_out, l), dtype=xp.result_type(x, w))
    for chunk in _batch_chunks(n, c_in * kh * kw * l * x.itemsize):
        cols = kernels.im2col(x[chunk], kh, kw, stride, padding, dilation)           # (m, C_in K', L)
        m = cols.shape[0]
        y_t = xp.matmul(w_g, cols.transpose(1, 0, 2).reshape(groups, k, m * l)).reshape(c_out, m, l)
        if b is None:
            y[chunk] = y_t.transpose(1, 0, 2)
        else:
            xp.add(y_t.transpose(1, 0, 2), b.reshape(1, c_out, 1), out=y[chunk])
    return (y.reshape(n, c_out, ho, wo),
            Conv2dCache(x, w, b is not None, stride, padding, dilation, groups))


def conv2d_backward(dout: Any, cache: Conv2dCache) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`conv2d_forward`; db is None when there was no bias."""
    xp, kernels = backend.xp(), backend.kernels()
    x, w, has_bias, stride, padding, dilation, groups = cache
    n, c_in, h, wd = x.shape
    c_out, c_g, kh, kw = w.shape
    k, l = c_g * kh * kw, dout.shape[2] * dout.shape[3]
    w_g = w.reshape(groups, c_out // groups, k)
    dx = xp.empty(x.shape, dtype=dout.dtype)
    dw = xp.zeros((groups, c_out // groups, k), dtype=dout.dtype)
    db = xp.zeros(c_out, dtype=dout.dtype) if has_bias else None
    for chunk in _batch_chunks(n, c_in * kh * kw * l * x.itemsize):
        cols = kernels.im2col(x[chunk], kh, kw, stride, padding, dilation)
        m = cols.shape[0]
        x_t = cols.transpose(1, 0, 2).reshape(groups, k, m * l)
        dy_t = xp.ascontiguousarray(dout[chunk].reshape(m, c_out, l).transpose(1, 0, 2))    # (C_out, m, L)
        dy_g = dy_t.reshape(groups, c_out // groups, m * l)
        dw += xp.matmul(dy_g, x_t.transpose(0, 2, 1))
        dcols = xp.matmul(w_g.transpose(0, 2, 1), dy_g).reshape(groups * k, m, l).transpose(1, 0, 2)
        dx[chunk] = kernels.col2im(dcols, (m, c_in, h, wd), kh, kw, stride, padding, dilation)
        if has_bias:
            db += dy_t.reshape(c_out, m * l).sum(axis=1)
    return dx, dw.reshape(w.shape), db
