"""MultiheadAttention: self-attention over ``minicnn.functional.attention``, with torch's parameters."""
from __future__ import annotations

from typing import Any

from .. import backend
from .. import functional as F
from ..checks import is_positive_int
from . import init
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Self-attention with H = ``num_heads`` heads of d = E / H features each, as torch's
    ``MultiheadAttention(embed_dim, num_heads, bias=bias, batch_first=batch_first)(x, x, x,
    need_weights=False)[0]`` (note: batch_first defaults to True here, to False in torch).

    x (N, L, E) (or (L, N, E) when not ``batch_first``, or unbatched (L, E)); W_in =
    ``in_proj_weight`` (3E, E) stacks the query, key and value projections, b_in = ``in_proj_bias``::

        [q | k | v] = x W_in^T + b_in                 (N, L, 3E), each split into heads (N, H, L, d)
        o_h         = softmax(q_h k_h^T / sqrt(d)) v_h  for every head h (scaled dot-product attention)
        y           = out_proj(concat_h o_h)          (N, L, E), out_proj a Linear(E, E)

    The heads are reshapes: feature h d + j of q is feature j of head h, so no values move until
    the heads are joined again. Backward runs the same steps in reverse. x feeds q, k and v
    (fan-out), so dx is the sum of the three projections' input gradients,
    dx = dq W_q + dk W_k + dv W_v = [dq | dk | dv] W_in: one product with the stacked gradients.

    Initialisation as torch's ``_reset_parameters``: xavier_uniform_ on ``in_proj_weight``, zeros
    in both biases, out_proj's weight as a Linear's. Keys: ``in_proj_weight``, ``in_proj_bias``,
    ``out_proj.weight``, ``out_proj.bias``.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, batch_first: bool = True) -> None:
        super().__init__()
        if not (is_positive_int(embed_dim) and is_positive_int(num_heads)) or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be ints >= 1 and num_heads must "
                             f"divide embed_dim, got {embed_dim!r}, {num_heads!r}")
        self.embed_dim, self.num_heads, self.batch_first = int(embed_dim), int(num_heads), bool(batch_first)
        xp = backend.xp()
        self.in_proj_weight = Parameter(xp.zeros((3 * embed_dim, embed_dim), dtype="float32"))
        self.register_parameter("in_proj_bias", Parameter(xp.zeros(3 * embed_dim, dtype="float32")) if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias)
        init.xavier_uniform_(self.in_proj_weight)
        if bias:
            init.zeros_(self.out_proj.bias)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, bias={self.in_proj_bias is not None}, "
                f"batch_first={self.batch_first}")

    def _heads(self, qkv: Any) -> Any:
        """(..., L, 3E) -> a (3, ..., H, L, d) view: q, k, v split into heads."""
        split = qkv.reshape(qkv.shape[:-1] + (3, self.num_heads, self.embed_dim // self.num_heads))
        return backend.xp().moveaxis(split, (-3, -2), (0, -3))

    def forward(self, x: Any) -> Any:
        self._check_input(x, (2, 3))
        swap = x.ndim == 3 and not self.batch_first
        seq = x.swapaxes(0, 1) if swap else x                                     # (..., L, E)
        b = None if self.in_proj_bias is None else self.in_proj_bias.data
        qkv, in_cache = F.linear_forward(seq, self.in_proj_weight.data, b)
        o, att_cache = F.scaled_dot_product_attention_forward(*self._heads(qkv))  # (..., H, L, d)
        joined = o.swapaxes(-2, -3).reshape(seq.shape)
        y = self.out_proj(joined.swapaxes(0, 1) if swap else joined)
        self._save((in_cache, att_cache, qkv.shape, swap))
        return y

    def backward(self, dy: Any) -> Any:
        in_cache, att_cache, qkv_shape, swap = self._take()
        djoined = self.out_proj.backward(dy)
        djoined = djoined.swapaxes(0, 1) if swap else djoined
        do = djoined.reshape(djoined.shape[:-1] + (self.num_heads, -1)).swapaxes(-2, -3)
        dqkv = backend.xp().empty(qkv_shape, dtype=dy.dtype)
        for view, g in zip(self._heads(dqkv), F.scaled_dot_product_attention_backward(do, att_cache)):
            view[...] = g
        dx, dw, db = F.linear_backward(dqkv, in_cache)
        self._accumulate(self.in_proj_weight, dw)
        self._accumulate(self.in_proj_bias, db)
        return dx.swapaxes(0, 1) if swap else dx
