"""Applying a jitted function to many clips in batches of one compiled shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def batched_apply(
    fn: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    batch_size: int,
    rows: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """``fn`` over ``x`` (or its ``rows``) in batches; the last batch is zero-padded.

    Every call of ``fn`` sees exactly ``batch_size`` rows, so a jitted ``fn`` compiles once;
    padded rows' outputs are dropped. ``x`` may be a memory-mapped cache: only one batch of
    it is read into memory at a time.
    """
    n = len(x) if rows is None else len(rows)
    out = []
    for start in range(0, n, batch_size):
        sel = (
            slice(start, start + batch_size)
            if rows is None
            else np.asarray(rows[start : start + batch_size])
        )
        xb = np.asarray(x[sel], dtype=np.float32)
        k = len(xb)
        if k < batch_size:
            xb = np.concatenate([xb, np.zeros((batch_size - k, *xb.shape[1:]), np.float32)])
        out.append(np.asarray(fn(xb))[:k])
    if not out:
        raise ValueError("no rows to apply the model to")
    return np.concatenate(out)
