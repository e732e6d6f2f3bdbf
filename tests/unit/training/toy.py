"""A toy classification task the tests train on: C classes, each a template over the map."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import jaxaudio.training.loop as loop
from jaxaudio.training.loop import TrainData

C = 4

TEMPLATES = np.random.default_rng(42).normal(size=(C, 3, 4, 4)).astype(np.float32)


def toy(n, seed):
    """Class c adds its own 3x4x4 template, tiled over the 16x12 map, to unit noise.

    Every 4x4 patch carries the evidence, so a CNN and a ViT can both learn it in a few
    dozen steps; the noise keeps it from being trivial (chance is 1/C).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    x = rng.normal(size=(n, 3, 16, 12)).astype(np.float32)
    x += np.tile(TEMPLATES[y], (1, 1, 4, 3)) * 0.5
    return x, y


def toy_data(n_train, n_val, **arrays):
    """``TrainData`` of ``toy(n_train, 0)`` and ``toy(n_val, 1)``; ``arrays``: mean, std, weight_vector."""
    return TrainData(*toy(n_train, 0), *toy(n_val, 1), C, **arrays)


def killed_at_validation(monkeypatch, n: int, train: Callable[[], Any]) -> None:
    """Run ``train`` as a run killed at its ``n``-th validation (after the checkpoints of the
    epochs validated before it were written), then restore the real validation."""
    real, calls = loop.validation_metrics, {"n": 0}

    def dying(*args):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt("killed")
        return real(*args)

    monkeypatch.setattr(loop, "validation_metrics", dying)
    with pytest.raises(KeyboardInterrupt):
        train()
    monkeypatch.setattr(loop, "validation_metrics", real)
