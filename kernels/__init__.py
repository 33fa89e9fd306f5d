"""Kernel sets: the hot primitives of minicnn, one module per backend.

Installed as ``minicnn.kernels`` (setup.cfg's ``package_dir``). Every backend
module (``numpy_ref``, ``numba_cpu``, ``cupy_cuda``) defines EVERY name in
:data:`PRIMITIVES` with the same signature and the same result; the ops in
``minicnn.functional`` call them through ``minicnn.backend.kernels()`` and never
ask which backend they are on. ``numpy_ref`` is the readable ground truth; the
other two are tested against it and against PyTorch.

Conventions shared by all primitives
------------------------------------
* Arrays are NCHW; ``stride``, ``padding``, ``dilation`` and ``kernel`` are
  ``(h, w)`` pairs of ints; results keep the input's floating dtype.
* Output size of a window op: ``H_out = (H + 2 p_h - d_h (k_h - 1) - 1) // s_h + 1``, or for
  pooling with ``ceil_mode`` the ceiling (:func:`out_size`, the one rule, shared by the backends).
* ``im2col`` rows are ordered ``c * k_h * k_w + i * k_w + j`` (channel, kernel
  row, kernel column) and columns ``oh * W_out + ow``, so an OIHW weight reshaped
  to ``(C_out, C * k_h * k_w)`` multiplies it directly. The values are those of
  ``torch.nn.functional.unfold``; the CPU backends store them channel-major (the
  result is the transposed view of a contiguous ``(C*kh*kw, N, Ho*Wo)`` array,
  so one GEMM covers every image), the CUDA backend as a contiguous
  ``(N, C*kh*kw, Ho*Wo)`` array: callers must not depend on the strides, and
  ``col2im`` accepts columns of any strides.
* Pooling padding is at most half the kernel (the caller checks it, as PyTorch
  demands), so every window holds a pixel, a ``ceil_mode`` window too.
* Backward primitives never modify their inputs.

The primitive set
-----------------
conv:        im2col(x, kh, kw, stride, padding, dilation) -> cols (N, C*kh*kw, Ho*Wo)
             col2im(cols, x_shape, kh, kw, stride, padding, dilation) -> dx (N, C, H, W)
             winograd_gather(x, t, step, offset, tiles) -> v (a^2, C, N T_h T_w): every k x k
                 tile d of x (zeros outside) as t d t^T; winograd_scatter(v, s, step, offset,
                 tiles, out) its adjoint, into out (see ``minicnn.functional.winograd``)
             optional, where a set says ``DEPTHWISE_CONV2D = True`` (numpy_ref has them as the
             oracle, with the flag off): depthwise_conv2d(x, w, stride, padding, dilation) -> y
             and depthwise_conv2d_backward(dy, x, w, stride, padding, dilation, input_grad) ->
             (dx or None, dw), for groups == C_in (see ``minicnn.functional.conv``)
pool:        max_pool2d(x, kernel, stride, padding, ceil_mode) -> (out, argmax)
                 argmax: int64 (N, C, Ho, Wo), flat index h * W + w into the
                 UNPADDED input plane of the first maximum in row-major window order
                 (padding, and the cells a ceil_mode window runs past it, act as -inf)
             max_pool2d_backward(dout, argmax, x_shape) -> dx
             avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad) -> out
                 each window's sum over its divisor: its cells inside the padded input
                 (count_include_pad) or inside x (``numpy_ref.pool.avg_divisor``)
             avg_pool2d_backward(dout, x_shape, kernel, stride, padding, count_include_pad) -> dx
                 (the output size, ceil_mode's included, is dout's)
activation:  for every op declared in ``pointwise.py`` (:data:`pointwise.POINTWISE`):
                 <op>(x, *params) -> y;   <op>_backward(dy, *saved, *params) -> dx
             saved is x, y or both, as the declaration says; params are Python floats
             prelu(x, weight) -> y;       prelu_backward(dy, x, weight) -> (dx, dweight)
                 weight has shape (C,) (one slope per channel, axis 1) or (1,)
softmax:     softmax(x, axis) -> y;       softmax_backward(dy, y, axis) -> dx
             log_softmax(x, axis) -> y;   log_softmax_backward(dy, y, axis) -> dx
             softmax_cross_entropy(logits, targets, label_smoothing) -> (loss, log_probs)
                 logits (N, K), targets int (N,); loss is a 0-d array, the batch mean
             softmax_cross_entropy_backward(log_probs, targets, label_smoothing) -> dlogits
                 the gradient of that mean loss (upstream gradient 1)
norm:        batch_norm_train(x, gamma, beta, eps) -> (y, mean, var, inv_std)
                 x (N, C, L) (L = H*W, or 1 for BatchNorm1d); statistics per channel
                 over N and L; var is the biased batch variance
             batch_norm_backward(dy, x, mean, inv_std, gamma) -> (dx, dgamma, dbeta)
             layer_norm(x, gamma, beta, eps) -> (y, mean, inv_std)
                 x (R, D): statistics of each row over its D values (var biased)
             layer_norm_backward(dy, x, mean, inv_std, gamma) -> (dx, dgamma, dbeta)
             local_response_norm(x, size, alpha, beta, k) -> (y, div)
                 x (N, C, L); div = k + alpha/size * sum of x^2 over channels c - size//2 .. c + (size-1)//2
             local_response_norm_backward(dy, x, div, size, alpha, beta) -> dx
"""
import math

from .pointwise import POINTWISE

CONSTANTS = ("COLUMN_CHUNK_BYTES", "WINOGRAD_CHUNK_BYTES", "WINOGRAD_MIN_TILES", "WINOGRAD_MIN_CHANNELS")
"""Every backend module also sets these: ``COLUMN_CHUNK_BYTES``, how many bytes of
im2col columns ``conv2d`` builds at once (a few MiB on the CPU, so they stay in
cache; a whole batch on the GPU); the Winograd path's chunk limits and, from how
many input channels conv2d takes it (see ``minicnn.functional.winograd``)."""

PRIMITIVES = (
    "im2col", "col2im", "winograd_gather", "winograd_scatter",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "prelu", "prelu_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "softmax_cross_entropy", "softmax_cross_entropy_backward",
    "batch_norm_train", "batch_norm_backward",
    "layer_norm", "layer_norm_backward", "local_response_norm", "local_response_norm_backward",
) + tuple(name for op in POINTWISE for name in (op, op + "_backward"))


def out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    """Output length of a window op: ``floor((size + 2p - d(k-1) - 1) / s) + 1``. With ``ceil_mode``
    (pooling) the ceiling instead, so a last, partial window takes the cells left over, less that window
    when it would start in the right padding (``(out - 1) s >= size + p``), as in PyTorch."""
    span = size + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= size + p else out


def lines(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(A, K, B): an array of ``shape`` seen as A lines of length K (along ``axis``; negative counts from
    the end) with stride B, A the product of the sizes before the axis and B of those after it."""
    axis %= len(shape)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
