"""Fixtures of the workflow tests, shared by every file of tests/workflow/ and made so that
each file runs alone and in any order.

``tiny_run`` is the expensive one: the full workflow on .test/config/config.yaml, run once
per session. Tests only read it, or run dry runs and ``--report`` in it; a test that
changes outputs works on a copy of it (``tiny_run_copy``, ``resumed_training``).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.conftest import built_once
from tests.workflow.helpers import RESUME_EPOCHS, scenario, snakemake, snakemake_cmd


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The working directory of the full tiny run (.test/config, ``--cores 2``), made once
    for all workers (``built_once``)."""
    return built_once(tmp_path_factory, "workflow", lambda wd: snakemake(wd, "--cores", "2"))


def scenario_run(tiny_run: Path, tmp_path_factory, name: str) -> Path:
    """Scenario ``.test/<name>`` run (``--cores 2``) in a copy of the tiny run, once for all
    workers: only what the scenario changes is made."""

    def build(folder: Path) -> None:
        shutil.copytree(tiny_run, folder / "workflow", symlinks=True)
        snakemake(folder / "workflow", "--cores", "2", configs=(scenario(name),))

    return built_once(tmp_path_factory, name, build) / "workflow"


@pytest.fixture
def tiny_run_copy(tiny_run, tmp_path) -> Path:
    """A copy of the tiny run's working directory, for a test to change (modification times kept)."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy, symlinks=True)  # copy2: modification times kept
    return copy


def steps(ckpts: Path) -> list[int]:
    return [int(p.name) for p in ckpts.glob("[0-9]*") if p.name.isdigit()] if ckpts.is_dir() else []


def this_run(ckpts: Path) -> bool:
    """Whether the checkpoints are the resume scenario's run, not the earlier short run's."""
    try:
        return (
            json.loads((ckpts / "fingerprint.json").read_text())["settings"]["epochs"]
            == RESUME_EPOCHS
        )
    except (OSError, ValueError, KeyError):
        return False


@dataclass(frozen=True)
class Resumed:
    workdir: Path  # a copy of the tiny run, where v2/cnn/seed0 was retrained
    saved: int  # the last epoch checkpointed before the kill


@pytest.fixture(scope="session")
def resumed_training(tiny_run, tmp_path_factory) -> Resumed:
    """.test/resume (v2/cnn/seed0 for RESUME_EPOCHS epochs) in a copy of the tiny run,
    ``--cores 1``: the whole process tree killed once this run has checkpointed epoch 3, then ``--unlock``
    and ``--rerun-incomplete``. Session-scoped: test_rerun checks the resumed training,
    test_scheduling the threads of these runs."""
    folder = built_once(tmp_path_factory, "resume", lambda f: _kill_and_resume(tiny_run, f))
    return Resumed(folder / "workflow", int((folder / "saved").read_text()))


def _kill_and_resume(tiny_run: Path, folder: Path) -> None:
    """:func:`resumed_training`'s run in ``folder/workflow``; the last epoch checkpointed
    before the kill in ``folder/saved``."""
    workdir = folder / "workflow"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    longer = scenario("resume")
    target = "results/train/v2/cnn/seed0/summary.json"
    ckpts = workdir / "results" / "checkpoints" / "v2" / "cnn" / "seed0"
    proc = subprocess.Popen(
        snakemake_cmd(workdir, "--cores", "1", target, configs=(longer,)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    try:
        while time.time() < deadline:  # kill once this run has checkpointed epoch 3
            if this_run(ckpts) and max(steps(ckpts), default=0) >= 3:
                break
            assert proc.poll() is None, "training finished before it could be interrupted"
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint appeared")
    finally:
        # Kill the whole tree at once, like a power cut: Snakemake and the job it spawned
        # (which runs in a session of its own, so a process-group kill would miss it).
        tree = psutil.Process(proc.pid)
        for p in [*tree.children(recursive=True), tree]:
            p.send_signal(signal.SIGKILL)
        proc.wait()
    (folder / "saved").write_text(str(max(steps(ckpts))))
    snakemake(workdir, "--unlock", configs=(longer,))
    snakemake(workdir, "--cores", "1", "--rerun-incomplete", target, configs=(longer,))


@pytest.fixture(scope="session")
def feature_set_run(tiny_run, tmp_path_factory) -> Path:
    """.test/feature-sets (experiment v2_pcen on feature set pcen) run in a copy of the tiny
    run: the default set's outputs are reused, the pcen set's made."""
    return scenario_run(tiny_run, tmp_path_factory, "feature-sets")


@pytest.fixture(scope="session")
def ensemble_selection_run(tiny_run, tmp_path_factory) -> Path:
    """.test/ensemble-selection (a second CNN seed, compare.ensemble, an ensemble bundle, and
    both experiments' CNN on 2 re-splits that choose the recommendation) run in a copy of
    the tiny run."""
    return scenario_run(tiny_run, tmp_path_factory, "ensemble-selection")


@pytest.fixture(scope="session")
def birdnet_run(tiny_run, tmp_path_factory) -> Path:
    """.test/birdnet (BirdNET embeddings, an MLP head beside the CNN and ViT) run in a copy of
    the tiny run. Its tests skip without the optional extra (helpers.needs_birdnet)."""
    return scenario_run(tiny_run, tmp_path_factory, "birdnet")
