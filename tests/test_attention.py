"""MultiheadAttention against torch.nn.MultiheadAttention with the same state dict, and the gradients of
attention by finite differences (the functional op's torch comparison is its row in op_table.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minicnn import nn
from minicnn import functional as F
from minicnn.testing import gradcheck
from minicnn.testing import strategies as cst
from torch_ref import step_matches_torch


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@given(n=st.integers(0, 3), length=st.integers(1, 5), heads=st.integers(1, 3), head_dim=st.integers(1, 3),
       bias=st.booleans(), batch_first=st.booleans(), seed=cst.seeds())
def test_multihead_attention_matches_torch(backend_name, dtype, n, length, heads, head_dim, bias, batch_first, seed):
    """Output, dx and every parameter gradient; n = 0 stands for an unbatched (L, E) input."""
    e = heads * head_dim
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(e, heads, bias=bias, batch_first=batch_first)
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = nn.MultiheadAttention(e, heads, bias=bias, batch_first=batch_first).astype(dtype).to_backend()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    shape = (length, e) if n == 0 else (n, length, e) if batch_first else (length, n, e)
    step_matches_torch(ours, theirs, cst.arrays(shape, dtype, seed), seed + 1, cst.tolerance(dtype),
                       call=lambda tx: theirs(tx, tx, tx, need_weights=False)[0])


def test_initialisation_follows_torch():
    """xavier_uniform_ on in_proj_weight (3E, E), zero biases, out_proj.weight as a Linear's."""
    e = 96
    ours, theirs = nn.MultiheadAttention(e, 4), torch.nn.MultiheadAttention(e, 4)
    for name, tp in theirs.state_dict().items():
        ours_p, theirs_p = np.abs(ours.state_dict()[name]), np.abs(tp.numpy())
        assert ours_p.dtype == np.float32 and ours_p.shape == theirs_p.shape
        bound = {"in_proj_weight": math.sqrt(6 / (4 * e)), "out_proj.weight": 1 / math.sqrt(e)}.get(name, 0.0)
        assert theirs_p.max() <= bound and ours_p.max() <= bound, name
        assert ours_p.mean() == pytest.approx(bound / 2, rel=0.05, abs=0), name     # uniform on [-b, b]
    assert list(nn.MultiheadAttention(8, 2, bias=False).state_dict()) == ["in_proj_weight", "out_proj.weight"]


@given(shapes=cst.attention_shapes(max_batch_dims=1, max_length=4, max_features=4), seed=cst.seeds())
def test_attention_gradcheck(shapes, seed):
    q, k, v = (cst.arrays(s, np.float64, seed + i) for i, s in enumerate((shapes.q_shape, shapes.k_shape,
                                                                          shapes.v_shape)))
    gradcheck((F.scaled_dot_product_attention_forward, F.scaled_dot_product_attention_backward), q, k, v)


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_gradcheck(batch_first):
    gradcheck(nn.MultiheadAttention(4, 2, batch_first=batch_first).astype(np.float64),
              cst.arrays((2, 3, 4), np.float64, 0))


BAD = {
    "k features": ((2, 3, 4), (2, 5, 3), (2, 5, 6), ValueError, "same feature count"),
    "v length": ((2, 3, 4), (2, 5, 4), (2, 4, 6), ValueError, "same length"),
    "batch axes": ((2, 3, 4), (1, 5, 4), (1, 5, 6), ValueError, "same leading axes"),
    "1-D": ((4,), (5, 4), (5, 6), ValueError, "same leading axes"),
    "no keys": ((3, 4), (0, 4), (0, 6), ValueError, "S >= 1"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_attention_refuses_inconsistent_shapes(case):
    *shapes, error, message = BAD[case]
    with pytest.raises(error, match=message):
        F.scaled_dot_product_attention_forward(*(np.zeros(s) for s in shapes))


def test_attention_refuses_mixed_dtypes_and_bad_heads():
    with pytest.raises(TypeError, match="one dtype"):
        F.scaled_dot_product_attention_forward(np.zeros((3, 4)), np.zeros((3, 4), np.float32), np.zeros((3, 4)))
    for args in [(6, 4), (0, 1), (6, 2.0)]:
        with pytest.raises(ValueError, match="num_heads must divide embed_dim"):
            nn.MultiheadAttention(*args)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=6.*expected a 2-D or 3-D"):
        nn.MultiheadAttention(6, 2)(np.zeros((1, 2, 3, 6), np.float32))
