"""Shared fixtures: paths and the real-recordings data set (skipped when absent)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

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


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> Path:
    """A folder ``name`` that ``build`` fills once per test session, shared by every worker.

    ``make test`` runs pytest-xdist workers (``-n auto``), each a process with its own
    session fixtures: a workflow run behind a session fixture would otherwise be made once per
    worker. The first worker to ask builds it under a file lock in the folder all workers'
    temporary folders share; the others wait for it, then read the same outputs. A build that
    fails leaves no ``.done`` mark, so the next worker to ask builds again (and fails the same
    way, in its own tests). Without xdist it is the session's temporary folder.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    target, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            build(target)
            done.touch()
    return target
