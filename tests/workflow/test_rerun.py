"""Reruns in a complete tiny run: nothing left to do, the scope of a one-key change
(.test/one-model-lr, .test/two-seeds), an interrupted training resumed from its checkpoint
(.test/resume), a byte-identical rebuild of the features.

The dry runs use the session's ``tiny_run`` as it is; the runs that change outputs work on
copies of it (``resumed_training``, ``tiny_run_copy``; tests/workflow/conftest.py).
"""

from __future__ import annotations

import json
import re
import time

import pandas as pd
import pytest

from tests.workflow.helpers import RESUME_EPOCHS, scenario, scheduled_jobs, snakemake

pytestmark = pytest.mark.slow


def test_nothing_to_do_after_a_complete_run(tiny_run):
    assert scheduled_jobs(snakemake(tiny_run, "-n", "--cores", "2").stdout) == {}


@pytest.mark.parametrize(
    "change, jobs, not_scheduled, scheduled, reason",
    [
        # one model's learning rate: that model's runs (and its bundle) only; features, stats,
        # baselines reused
        (
            "one-model-lr",
            {
                "train": 2,
                "evaluate": 2,
                "bundle": 1,
                "decision": 1,
                "bundle_best": 1,
                "compare": 1,
                "report_figures": 1,
            },
            "model=vit",
            "model=cnn",
            "params have changed since last execution",
        ),
        # a second seed: 2 experiments x 2 models for seed 1 only; seed 0 reused
        (
            "two-seeds",
            {
                "train": 4,
                "evaluate": 4,
                "decision": 1,
                "bundle_best": 1,
                "compare": 1,
                "report_figures": 1,
            },
            "seed=0",
            "seed=1",
            "missing output files",
        ),
        # a feature set and an experiment on it: that set's features, statistics and offset
        # copies, that experiment's runs and bundle; the default set and its runs reused, and
        # the decision (baseline_v1 against v2) too
        (
            "feature-sets",
            {
                "features": 1,
                "stats": 1,
                "offsets": 1,
                "train": 2,
                "evaluate": 2,
                "bundle": 1,
                "bundle_best": 1,
                "compare": 1,
                "report_figures": 1,
            },
            "fset=default",
            "fset=pcen",
            "missing output files",
        ),
    ],
    ids=["one-model-lr", "add-a-seed", "add-a-feature-set"],
)
def test_one_config_change_reruns_only_what_it_affects(
    tiny_run, change, jobs, not_scheduled, scheduled, reason
):
    extra = scenario(change)  # .test/<change>/config.yaml
    out = snakemake(tiny_run, "-n", "--cores", "2", configs=(extra,)).stdout
    assert scheduled_jobs(out) == jobs
    assert not_scheduled not in out and scheduled in out
    assert reason in out.lower()


def test_interrupted_training_resumes_from_checkpoint(resumed_training):
    """.test/resume, killed and resumed in a copy of the tiny run (conftest.resumed_training)."""
    workdir, saved = resumed_training.workdir, resumed_training.saved
    assert saved < RESUME_EPOCHS
    log = (workdir / "results" / "logs" / "train" / "v2" / "cnn" / "seed0.log").read_text()
    resumed = int(re.search(r"resumed from checkpoint at epoch (\d+)", log)[1])
    assert resumed >= saved >= 3
    history = pd.read_csv(workdir / "results" / "train" / "v2" / "cnn" / "seed0" / "history.csv")
    # the saved epochs plus the rest, no gap
    assert list(history["epoch"]) == list(range(1, RESUME_EPOCHS + 1))
    assert (
        json.loads(
            (workdir / "results" / "train" / "v2" / "cnn" / "seed0" / "summary.json").read_text()
        )["resumed_from_epoch"]
        == resumed
    )


def test_byte_identical_feature_rebuild_keeps_checkpoints_and_baselines(tiny_run_copy):
    """A rewrite of features.npy with the same bytes (new mtime) reruns the jobs downstream,
    as Snakemake must; training resumes from its last checkpoint and the baseline reuses its
    outputs, both with the same results (their checks hash content, not times). (In a copy of
    the tiny run, modification times kept.)"""
    copy = tiny_run_copy
    r = copy / "results"
    before = {
        p: (r / p).read_bytes()
        for p in ("train/baseline_v1/cnn/seed0/history.csv", "eval/baselines/logreg/metrics.json")
    }
    summary = json.loads(
        (r / "train" / "baseline_v1" / "cnn" / "seed0" / "summary.json").read_text()
    )
    features = r / "features" / "default" / "features.npy"
    data = features.read_bytes()
    time.sleep(0.01)
    features.write_bytes(data)
    targets = [f"results/{p}" for p in before]
    proc = snakemake(copy, "--cores", "2", *targets)
    out = proc.stdout + proc.stderr
    assert "rule train:" in out and "rule logreg:" in out  # both did rerun
    train_log = (r / "logs" / "train" / "baseline_v1" / "cnn" / "seed0.log").read_text()
    assert f"resumed from checkpoint at epoch {summary['epochs_run']}" in train_log
    assert "other settings or inputs" not in train_log
    assert "outputs reused" in (r / "logs" / "baselines" / "logreg.log").read_text()
    for p, content in before.items():
        assert (r / p).read_bytes() == content, p
