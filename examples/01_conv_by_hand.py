"""One convolution three ways (loops, im2col + one matrix product, the library), then its backward.

What it teaches
    The forward of a 2-D convolution is a sum over (input channel, kernel row, kernel column) for
    every output pixel. Written as loops it is the definition; gathering every receptive field
    into a column (im2col) turns the same sum into ONE matrix product; minicnn's conv2d_forward
    is that product. The backward follows from the product: dW = dY X^T, dX = W^T dY, and col2im
    (the adjoint of im2col) scatters dX back onto the image, adding where windows overlap.
    The derivation is in docs/derivations/convolution.md.

What it prints
    The shapes involved, then the largest difference between the three forwards and between the
    hand-written and the library's gradients (all at rounding level, ~1e-15 in float64), and
    "all equal" at the end. It exits with status 1 if any difference is larger than 1e-10.

    python examples/01_conv_by_hand.py                        # N=2, 3 -> 4 channels, 8x8, 3x3, padding 1
    python examples/01_conv_by_hand.py --size 5 --stride 2    # any small geometry
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import minicnn
from minicnn import functional as F


def conv_loops(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """y[n,o,oh,ow] = b[o] + sum_{c,i,j} w[o,c,i,j] x_pad[n, c, oh*stride + i, ow*stride + j]."""
    n_, c_in, h, wd = x.shape
    c_out, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    y = np.zeros((n_, c_out, ho, wo))
    for n in range(n_):
        for o in range(c_out):
            for oh in range(ho):
                for ow in range(wo):
                    acc = b[o]
                    for c in range(c_in):
                        for i in range(k):
                            for j in range(k):
                                acc += w[o, c, i, j] * xp[n, c, oh * stride + i, ow * stride + j]
                    y[n, o, oh, ow] = acc
    return y


def im2col_by_hand(x: np.ndarray, k: int, stride: int, padding: int) -> np.ndarray:
    """cols[n, c*k*k + i*k + j, oh*W_out + ow] = x_pad[n, c, oh*stride + i, ow*stride + j]:
    one loop per kernel offset (i, j), each copying a strided slice of the padded image."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    cols = np.zeros((n, c, k, k, ho, wo))
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
    return cols.reshape(n, c * k * k, ho * wo)


def col2im_by_hand(dcols: np.ndarray, x_shape: tuple[int, ...], k: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of im2col_by_hand: every column entry is ADDED back to the pixel it was read from."""
    n, c, h, wd = x_shape
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    d = dcols.reshape(n, c, k, k, ho, wo)
    dxp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding))
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += d[:, :, i, j]
    return dxp[:, :, padding:padding + h, padding:padding + wd]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--out-channels", type=int, default=4)
    ap.add_argument("--size", type=int, default=8, help="input height and width")
    ap.add_argument("--kernel", type=int, default=3)
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--padding", type=int, default=1)
    args = ap.parse_args(argv)
    minicnn.set_backend("numpy")
    rng = np.random.default_rng(0)
    k, s, p = args.kernel, args.stride, args.padding
    x = rng.standard_normal((args.batch, args.in_channels, args.size, args.size))
    w = rng.standard_normal((args.out_channels, args.in_channels, k, k))
    b = rng.standard_normal(args.out_channels)

    # Forward, three ways.
    y_loops = conv_loops(x, w, b, s, p)
    cols = im2col_by_hand(x, k, s, p)                                    # (N, C_in k k, L)
    w_mat = w.reshape(args.out_channels, -1)                             # (C_out, C_in k k)
    y_im2col = (w_mat @ cols + b[:, None]).reshape(y_loops.shape)        # one product per image
    y_lib, cache = F.conv2d_forward(x, w, b, stride=s, padding=p)
    print(f"x {x.shape}, w {w.shape} -> y {y_lib.shape}; im2col columns {cols.shape}")
    worst = 0.0
    for name, a, ref in [("forward: im2col vs loops", y_im2col, y_loops), ("forward: library vs loops", y_lib, y_loops),
                         ("im2col: by hand vs library", cols, F.im2col(x, k, s, p))]:
        err = float(np.max(np.abs(a - ref)))
        worst = max(worst, err)
        print(f"{name:32s} max |difference| = {err:.2e}")

    # Backward for a random upstream gradient dy, by hand from the matrix form, then the library.
    dy = rng.standard_normal(y_lib.shape)
    dy_mat = dy.reshape(args.batch, args.out_channels, -1)               # (N, C_out, L)
    db = dy.sum(axis=(0, 2, 3))
    dw = np.einsum("nol,nkl->ok", dy_mat, cols).reshape(w.shape)         # sum_n dY[n] X[n]^T
    dx = col2im_by_hand(np.einsum("ok,nol->nkl", w_mat, dy_mat), x.shape, k, s, p)   # col2im(W^T dY)
    dx_lib, dw_lib, db_lib = F.conv2d_backward(dy, cache)
    for name, a, ref in [("backward: dx by hand vs library", dx, dx_lib),
                         ("backward: dw by hand vs library", dw, dw_lib),
                         ("backward: db by hand vs library", db, db_lib)]:
        err = float(np.max(np.abs(a - ref)))
        worst = max(worst, err)
        print(f"{name:32s} max |difference| = {err:.2e}")
    if worst > 1e-10:
        print(f"MISMATCH: largest difference {worst:.2e}")
        return 1
    print("all equal: loops, im2col and the library agree, forward and backward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
