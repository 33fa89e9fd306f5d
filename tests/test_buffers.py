"""The host buffer pool: large buffers come back only once nothing refers to them."""
import numpy as np
import pytest

from minicnn.kernels import buffers

BIG = (buffers.MIN_POOLED_BYTES // 4,)          # float32 elements: exactly the pooling threshold


@pytest.fixture(autouse=True)
def empty_pool():
    buffers.clear()
    yield
    buffers.clear()


def test_a_released_buffer_is_handed_out_again():
    a = buffers.empty(BIG, np.float32)
    address = a.ctypes.data
    del a
    assert buffers.empty(BIG, np.float32).ctypes.data == address


def test_a_buffer_in_use_is_never_handed_out_twice():
    a = buffers.empty(BIG, np.float32)
    b = buffers.empty(BIG, np.float32)
    assert not np.shares_memory(a, b)


def test_a_view_keeps_its_buffer_in_use():
    view = buffers.empty(BIG, np.float32).reshape(2, -1)[1]
    view[...] = 7
    other = buffers.empty(BIG, np.float32)
    assert not np.shares_memory(view, other)
    other[...] = 0
    assert (view == 7).all()


def test_shape_and_dtype_select_the_buffer():
    a = buffers.empty(BIG, np.float32)
    del a
    b = buffers.empty(BIG, np.float64)
    assert b.dtype == np.float64 and b.shape == BIG
    c = buffers.empty((BIG[0] // 2, 2), np.float32)
    assert c.shape == (BIG[0] // 2, 2) and c.flags.c_contiguous


def test_small_arrays_are_not_pooled():
    buffers.empty((10, 10), np.float32)
    assert buffers.pooled_bytes() == 0


def test_the_pool_forgets_least_recently_used_shapes_beyond_its_limit(monkeypatch):
    monkeypatch.setattr(buffers, "MAX_POOLED_BYTES", 3 * buffers.MIN_POOLED_BYTES)
    for k in range(1, 6):
        buffers.empty((BIG[0] + k,), np.float32)
    assert buffers.pooled_bytes() <= 3 * buffers.MIN_POOLED_BYTES + 3 * 4 * 5
