"""Batched application: fixed batch shape, padding dropped, row selection."""

import numpy as np
import pytest

from jaxaudio.runtime.batching import batched_apply


def test_fixed_shape_padding_dropped_and_rows():
    x = np.arange(7 * 2, dtype=np.float32).reshape(7, 2)
    shapes = []

    def fn(xb):
        shapes.append(xb.shape)
        return xb.sum(axis=1)

    np.testing.assert_array_equal(batched_apply(fn, x, 3), x.sum(axis=1))
    assert shapes == [(3, 2)] * 3  # 7 rows -> 3 calls of 3, the last padded with 2 zero rows
    np.testing.assert_array_equal(batched_apply(fn, x, 4, rows=[6, 0, 3]), x[[6, 0, 3]].sum(axis=1))
    with pytest.raises(ValueError, match="no rows"):
        batched_apply(fn, x, 4, rows=[])
