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
* Output size of a window op: ``H_out = (H + 2 p_h - d_h (k_h - 1) - 1) // s_h + 1``
  (:func:`out_size`, shared by the backends with :func:`check_pool_padding`).
* ``im2col`` rows are ordered ``c * k_h * k_w + i * k_w + j`` (channel, kernel
  row, kernel column) and columns ``oh * W_out + ow``, so an OIHW weight reshaped
  to ``(C_out, C * k_h * k_w)`` multiplies it directly. The values are those of
  ``torch.nn.functional.unfold``; the CPU backends store them channel-major (the
  result is the transposed view of a contiguous ``(C*kh*kw, N, Ho*Wo)`` array,
  so one GEMM covers every image), the CUDA backend as a contiguous
  ``(N, C*kh*kw, Ho*Wo)`` array: callers must not depend on the strides, and
  ``col2im`` accepts columns of any strides.
* Pooling padding is at most half the kernel (as PyTorch demands, so every
  window holds a pixel); ``max_pool2d`` and ``avg_pool2d`` raise ``ValueError``
  otherwise (:func:`check_pool_padding`).
* Backward primitives never modify their inputs.

The primitive set
-----------------
conv:        im2col(x, kh, kw, stride, padding, dilation) -> cols (N, C*kh*kw, Ho*Wo)
             col2im(cols, x_shape, kh, kw, stride, padding, dilation) -> dx (N, C, H, W)
pool:        max_pool2d(x, kernel, stride, padding) -> (out, argmax)
                 argmax: int64 (N, C, Ho, Wo), flat index h * W + w into the
                 UNPADDED input plane of the first maximum in row-major window order
                 (padding acts as -inf)
             max_pool2d_backward(dout, argmax, x_shape) -> dx
             avg_pool2d(x, kernel, stride, padding) -> out   (padding counted as zeros)
             avg_pool2d_backward(dout, x_shape, kernel, stride, padding) -> dx
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

CONSTANTS = ("COLUMN_CHUNK_BYTES",)
"""Every backend module also sets these: ``COLUMN_CHUNK_BYTES``, how many bytes of
im2col columns ``conv2d`` builds at once (a few MiB on the CPU, so they stay in
cache; a whole batch on the GPU)."""

PRIMITIVES = (
    "im2col", "col2im",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "prelu", "prelu_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "softmax_cross_entropy", "softmax_cross_entropy_backward",
    "batch_norm_train", "batch_norm_backward",
    "layer_norm", "layer_norm_backward", "local_response_norm", "local_response_norm_backward",
) + tuple(name for op in POINTWISE for name in (op, op + "_backward"))


def out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a window op: ``(size + 2p - d(k-1) - 1) // s + 1``."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def lines(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(A, K, B): an array of ``shape`` seen as A lines of length K (along ``axis``; negative counts from
    the end) with stride B, A the product of the sizes before the axis and B of those after it."""
    axis %= len(shape)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def check_pool_padding(kernel: tuple[int, int], padding: tuple[int, int]) -> None:
    """ValueError unless the pooling padding is at most half the kernel, so every window holds a pixel."""
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"pooling padding {padding} must be at most half the kernel {kernel}")
