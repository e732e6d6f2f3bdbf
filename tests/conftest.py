"""Shared fixtures: paths and the real-recordings data set (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jaxaudio.runtime.xla_flags import set_training_flags

ROOT = Path(__file__).resolve().parent.parent
BIRDSOUNDS = ROOT.parent / "shared" / "data" / "birdsounds-dev"

# Keep XLA to one host thread pool in tests and never probe for accelerators.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The XLA flags of a training process (deterministic GPU kernels), set before JAX starts, so
# the determinism and resume tests hold when a GPU runs them (JAX_PLATFORMS=cuda).
set_training_flags()


@pytest.fixture(scope="session")
def birdsounds() -> Path:
    if not (BIRDSOUNDS / "manifest.csv").is_file():
        pytest.skip(
            f"real recordings not found at {BIRDSOUNDS} (only in the project's CI and dev machines)"
        )
    return BIRDSOUNDS
