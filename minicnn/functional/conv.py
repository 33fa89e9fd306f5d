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
Put the images side by side, X'[r, n L + l] = X[n, r, l] (C_in k_h k_w, N L) (the CPU
kernels store the columns in exactly this order, so it is free), split X' per group
into X_g (G, K, N L), and let W_g = w.reshape(G, C_out/G, K):

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

Depthwise. With one input channel per group (G = C_in, C_out = m C_in: filter o = c m + t reads
channel c = o // m alone), each GEMM is a thin (m, k_h k_w) @ (k_h k_w, N L) and the columns cost
k_h k_w times the input for it. Where the kernel set says ``DEPTHWISE_CONV2D``, conv2d computes the
same sums straight from x instead (``kernels().depthwise_conv2d`` and its backward):

    y[n,o,oh,ow] = b[o] + sum_{i,j} w[o,0,i,j] x_pad[n, o // m, oh s_h + i d_h, ow s_w + j d_w]
    dw[o,0,i,j]  = sum_{n,oh,ow} dy[n,o,oh,ow] x_pad[n, o // m, oh s_h + i d_h, ow s_w + j d_w]
    dx_pad[n,c,oh s_h + i d_h, ow s_w + j d_w] += w[o,0,i,j] dy[n,o,oh,ow]   for o = c m .. c m + m - 1

(the formulas above with G = C_in, written per pixel), and db as above. The cache then keeps x.
"""
from __future__ import annotations

from typing import Any, Iterator, NamedTuple

from .. import backend
from ..kernels import out_size as conv_output_size
from .winograd import WinogradCache, winograd_conv2d_backward, winograd_conv2d_forward
from ..checks import Pair, Where, check_dout, is_positive_int, label, pair, require_float, require_ndim

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "Conv2dCache", "conv_output_size",
           "conv_hyperparameters", "conv_output_hw"]


def conv_hyperparameters(kernel_size: int | Pair, stride: int | Pair, padding: int | Pair, dilation: int | Pair,
                         where: str) -> tuple[Pair, Pair, Pair, Pair]:
    """(kernel, stride, padding, dilation) as (h, w) pairs; ValueError naming ``where`` unless
    kernel_size, stride and dilation are >= 1 and padding is >= 0."""
    kernel = pair(kernel_size, f"{where} kernel_size")
    stride, padding = pair(stride, f"{where} stride"), pair(padding, f"{where} padding")
    dilation = pair(dilation, f"{where} dilation")
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{where}: kernel_size, stride and dilation must be >= 1 and padding >= 0, got "
                         f"kernel_size={kernel}, stride={stride}, dilation={dilation}, padding={padding}")
    return kernel, stride, padding, dilation


def im2col(x: Any, kernel_size: int | Pair, stride: int | Pair = 1, padding: int | Pair = 0,
           dilation: int | Pair = 1) -> Any:
    """Columns (N, C k_h k_w, H_out W_out) of every receptive field of ``x`` (N, C, H, W).

    ``cols[n, c k_h k_w + i k_w + j, oh W_out + ow] = x_pad[n, c, oh s_h + i d_h, ow s_w + j d_w]``.
    """
    require_float(x, "im2col")
    require_ndim(x, (4,), "im2col", "(N, C, H, W)")
    (kh, kw), stride, padding, dilation = conv_hyperparameters(kernel_size, stride, padding, dilation, "im2col")
    conv_output_hw(x.shape, (kh, kw), stride, padding, dilation, "im2col")
    return backend.kernels().im2col(x, kh, kw, stride, padding, dilation)


def col2im(cols: Any, x_shape: tuple[int, int, int, int], kernel_size: int | Pair,
           stride: int | Pair = 1, padding: int | Pair = 0, dilation: int | Pair = 1) -> Any:
    """The adjoint of :func:`im2col`: ``<im2col(x), y> = <x, col2im(y)>``; overlaps are summed.

    ``cols`` has the shape im2col gives for an input of shape ``x_shape`` (N, C, H, W).
    """
    (kh, kw), stride, padding, dilation = conv_hyperparameters(kernel_size, stride, padding, dilation, "col2im")
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"col2im: x_shape must be (N, C, H, W), got {x_shape}")
    ho, wo = conv_output_hw(x_shape, (kh, kw), stride, padding, dilation, "col2im")
    n, c = x_shape[:2]
    if tuple(cols.shape) != (n, c * kh * kw, ho * wo):
        raise ValueError(f"col2im: expected columns of shape {(n, c * kh * kw, ho * wo)} for x_shape {x_shape}, "
                         f"got {tuple(cols.shape)}")
    return backend.kernels().col2im(cols, x_shape, kh, kw, stride, padding, dilation)


def conv_output_hw(x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                   where: Where, ceil_mode: bool = False) -> Pair:
    """(H_out, W_out) of a window op on an (N, C, H, W) input (convolution, or pooling with its
    ``ceil_mode``); ValueError naming ``where`` when the (dilated) kernel is larger than the padded input,
    so that no output position exists."""
    h, w = x_shape[2:]
    ho = conv_output_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    wo = conv_output_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if ho < 1 or wo < 1:
        dilated = f" (dilation {dilation})" if dilation != (1, 1) else ""
        raise ValueError(f"{label(where)}: kernel {kernel[0]}x{kernel[1]}{dilated} is larger than the padded "
                         f"input {h + 2 * padding[0]}x{w + 2 * padding[1]}")
    return ho, wo


class Conv2dCache(NamedTuple):
    x: Any                        # (N, C_in, H, W) the input
    out_shape: tuple[int, ...]    # (N, C_out, H_out, W_out), to check dout against
    w: Any                        # (C_out, C_in/G, k_h, k_w)
    has_bias: bool
    stride: Pair
    padding: Pair
    dilation: Pair
    groups: int
    winograd: WinogradCache | None = None     # set when the forward took the Winograd path
    depthwise: bool = False                   # True when the forward took the depthwise kernels


def _batch_chunks(n: int, column_bytes_per_image: int) -> Iterator[slice]:
    """Slices of the batch whose im2col columns fit in ``kernels().COLUMN_CHUNK_BYTES`` (at least one image)."""
    step = max(1, backend.kernels().COLUMN_CHUNK_BYTES // max(1, column_bytes_per_image))
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def _check_conv(x: Any, w: Any, b: Any, stride: int | Pair, padding: int | Pair, dilation: int | Pair,
                groups: int) -> tuple[Pair, Pair, Pair, tuple[int, int, int, int]]:
    """Validate conv2d's arguments; (stride, padding, dilation) as pairs and the output shape."""
    require_float(x, "conv2d")
    require_float(w, "conv2d weight")
    require_ndim(x, (4,), "conv2d", "(N, C, H, W)")
    require_ndim(w, (4,), "conv2d weight", "(C_out, C_in/groups, k_h, k_w)")
    if w.dtype != x.dtype or (b is not None and b.dtype != x.dtype):
        raise TypeError(f"conv2d: input, weight and bias must have one dtype, got {x.dtype}, {w.dtype}"
                        f"{'' if b is None else ', ' + str(b.dtype)}")
    kernel, stride, padding, dilation = conv_hyperparameters(tuple(w.shape[2:]), stride, padding, dilation,
                                                             "conv2d")
    c_out, c_g = w.shape[:2]
    if not is_positive_int(groups) or c_out % groups:
        raise ValueError(f"conv2d: groups={groups!r} must be an int >= 1 dividing the weight's {c_out} "
                         "output channels")
    if x.shape[1] != c_g * groups:
        raise ValueError(f"conv2d: expected {c_g * groups} channels (axis 1) for a weight of {c_g} per group x "
                         f"{groups} groups, got input of shape {tuple(x.shape)}")
    if b is not None and tuple(b.shape) != (c_out,):
        raise ValueError(f"conv2d: bias must have shape ({c_out},), got {tuple(b.shape)}")
    ho, wo = conv_output_hw(x.shape, kernel, stride, padding, dilation, "conv2d")
    return stride, padding, dilation, (x.shape[0], c_out, ho, wo)


def conv2d_forward(x: Any, w: Any, b: Any = None, stride: int | Pair = 1, padding: int | Pair = 0,
                   dilation: int | Pair = 1, groups: int = 1) -> tuple[Any, Conv2dCache]:
    """y = conv2d(x, w) + b, NCHW / OIHW as ``torch.nn.functional.conv2d``. See the module docstring;
    the definition written as loops is :func:`minicnn.functional.loops.conv2d_loops`.

    x (N, C_in, H, W), w (C_out, C_in/groups, k_h, k_w) and b (C_out,) or None; y (N, C_out, H_out, W_out).
    """
    stride, padding, dilation, out_shape = _check_conv(x, w, b, stride, padding, dilation, groups)
    cache = Conv2dCache(x, out_shape, w, b is not None, stride, padding, dilation, groups)
    if _winograd_applies(cache):
        y, winograd = winograd_conv2d_forward(x, w, b, padding[0])
        return y, cache._replace(winograd=winograd)
    if _depthwise_applies(cache):
        y = backend.kernels().depthwise_conv2d(x, w, stride, padding, dilation)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y, cache._replace(depthwise=True)
    n, c_out, ho, wo = out_shape
    y = backend.xp().empty((n, c_out, ho * wo), dtype=x.dtype)
    for chunk, cols in _columns(cache):
        y_t = (_by_group(w, groups) @ cols).reshape(c_out, -1, ho * wo)    # the GEMMs: (C_out, m, L)
        backend.xp().add(y_t.transpose(1, 0, 2), 0 if b is None else b.reshape(1, c_out, 1), out=y[chunk])
    return y.reshape(out_shape), cache


def conv2d_backward(dout: Any, cache: Conv2dCache, input_grad: bool = True) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`conv2d_forward`; db is None when there was no bias, and dx is None with
    ``input_grad=False`` (the network's first layer, whose input is data: PyTorch skips it too)."""
    check_dout(dout, (cache.out_shape, cache.x.dtype), "conv2d")
    if cache.winograd is not None:
        return winograd_conv2d_backward(dout, cache.winograd, input_grad)
    x, (n, c_out, ho, wo), w, has_bias, stride, padding, dilation, groups, _, _ = cache
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    if cache.depthwise:
        return (*backend.kernels().depthwise_conv2d_backward(dout, x, w, stride, padding, dilation, input_grad), db)
    xp, kernels = backend.xp(), backend.kernels()
    w_g = _by_group(w, groups)
    dx = xp.empty(x.shape, dtype=x.dtype) if input_grad else None
    dw = xp.zeros(w_g.shape, dtype=x.dtype)
    for chunk, cols in _columns(cache):
        m = chunk.stop - chunk.start
        dy_t = xp.ascontiguousarray(dout[chunk].reshape(m, c_out, ho * wo).transpose(1, 0, 2))   # (C_out, m, L)
        dy_g = dy_t.reshape(groups, c_out // groups, m * ho * wo)
        dw += dy_g @ cols.transpose(0, 2, 1)                               # dW_g = dY_g X_g^T
        if input_grad:
            dcols = (w_g.transpose(0, 2, 1) @ dy_g).reshape(-1, m, ho * wo).transpose(1, 0, 2)   # W_g^T dY_g
            dx[chunk] = kernels.col2im(dcols, (m, *x.shape[1:]), *w.shape[2:], stride, padding, dilation)
    return dx, dw.reshape(w.shape), db


def _winograd_applies(cache: Conv2dCache) -> bool:
    """Whether conv2d takes the Winograd path: a 3x3, stride-1, undilated, ungrouped layer with the same
    padding on both axes and at least the backend's ``WINOGRAD_MIN_CHANNELS`` input channels (where
    it was measured faster than im2col; see ``minicnn.functional.winograd``)."""
    x, w = cache.x, cache.w
    return (tuple(w.shape[2:]) == (3, 3) and cache.stride == (1, 1) and cache.dilation == (1, 1)
            and cache.groups == 1 and cache.padding[0] == cache.padding[1]
            and x.shape[1] >= backend.kernels().WINOGRAD_MIN_CHANNELS)


def _depthwise_applies(cache: Conv2dCache) -> bool:
    """Whether conv2d takes the depthwise kernels: one input channel per group (groups == C_in > 1, any channel
    multiplier m = C_out / C_in) on a backend whose kernel set sets ``DEPTHWISE_CONV2D``, where they were
    measured faster than the grouped GEMMs: Numba's (NumPy's and CUDA's keep the GEMMs). A 1-channel input
    (an ordinary first layer) keeps its single GEMM: as fast on 2 cores (8 ms either way for 1 -> 32 channels
    at (128, 1, 28, 28) without dx), and the depthwise weight gradient has one channel to share among threads."""
    return cache.groups == cache.x.shape[1] > 1 and getattr(backend.kernels(), "DEPTHWISE_CONV2D", False)


def _by_group(w: Any, groups: int) -> Any:
    """W_g: the weight (C_out, C_in/G, k_h, k_w) as G matrices (C_out/G, K), one row per output channel."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def _columns(cache: Conv2dCache) -> Iterator[tuple[slice, Any]]:
    """(chunk, X_g) for each chunk of images: the chunk's im2col columns as G matrices (K, m L).

    The CPU kernels store columns channel-major, (C_in k_h k_w, m, L) in memory, so this view of
    them costs no copy (the GPU's layout is copied once here)."""
    x, _, w, _, stride, padding, dilation, groups, _, _ = cache
    kh, kw = w.shape[2:]
    rows = x.shape[1] * kh * kw
    per_image = rows * (cache.out_shape[2] * cache.out_shape[3]) * x.itemsize
    for chunk in _batch_chunks(x.shape[0], per_image):
        cols = backend.kernels().im2col(x[chunk], kh, kw, stride, padding, dilation)     # (m, C_in K', L)
        yield chunk, cols.transpose(1, 0, 2).reshape(groups, rows // groups, -1)
