"""The rollback ladder, run by the decision checkpoint: not scheduled when the candidate is
GO (.test/ladder-go), trained and judged when it fails (.test/ladder-fails). Each in a
directory of its own, which starts with the tiny run's JAX compilation cache (the same
model and shapes: its jobs load the programs instead of compiling them; CI time).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.workflow.helpers import scenario, scheduled_jobs, snakemake

pytestmark = pytest.mark.slow


def with_compiled_programs(tiny_run: Path, workdir: Path) -> Path:
    """``workdir`` holding a copy of the tiny run's compilation cache and nothing else."""
    shutil.copytree(tiny_run / "results" / "cache", workdir / "results" / "cache")
    return workdir


def test_ladder_is_not_scheduled_when_the_candidate_is_go(tiny_run, tmp_path):
    """The decision checkpoint says GO: no rung is trained, and nothing is left to do."""
    with_compiled_programs(tiny_run, tmp_path)
    go = scenario("ladder-go")
    snakemake(tmp_path, "--cores", "2", configs=(go,))
    r = tmp_path / "results"
    assert (
        json.loads((r / "compare" / "decision.json").read_text())["models"]["cnn"]["decision"]
        == "GO"
    )
    comparison = json.loads((r / "comparison.json").read_text())
    cnn = comparison["models"]["cnn"]
    assert cnn["decision"] == "GO" and cnn["ladder"] is None
    assert cnn["experiments"]["v2"]["intervals"]["rare_f1"]["low"] > 0
    assert sorted(p.name for p in (r / "train").iterdir()) == ["frozen", "v2"]  # no rung trained
    assert scheduled_jobs(snakemake(tmp_path, "-n", "--cores", "2", configs=(go,)).stdout) == {}
    assert comparison["recommended"]["experiment"] == "v2"
    assert (
        json.loads((r / "bundles" / "best" / "bundle.json").read_text())["source"]["experiment"]
        == "v2"
    )
    assert (
        (r / "findings.md").read_text().startswith("# Findings: v2 vs frozen\n\n**Decision: GO**")
    )


def test_ladder_runs_by_itself_when_the_candidate_fails(tiny_run, tmp_path):
    """An absurd learning rate: the checkpoint's decision is not GO, so the rungs derived from
    the candidate are trained and judged with the same rules, and the first GO is named."""
    with_compiled_programs(tiny_run, tmp_path)
    fails = scenario("ladder-fails")
    dry = snakemake(tmp_path, "-n", "--cores", "2", configs=(fails,)).stdout
    assert "decision" in scheduled_jobs(dry) and "checkpoint" in dry
    snakemake(tmp_path, "--cores", "2", configs=(fails,))
    r = tmp_path / "results"
    assert (
        json.loads((r / "compare" / "decision.json").read_text())["models"]["cnn"]["decision"]
        != "GO"
    )
    for rung in ("weights_only", "lower_lr"):
        assert (r / "train" / rung / "cnn" / "seed0" / "history.csv").is_file(), rung
    settings = json.loads(
        (r / "train" / "lower_lr" / "cnn" / "seed0" / "model" / "model.json").read_text()
    )["settings"]
    assert (
        settings["lr"] == pytest.approx(1e-4)
        and settings["class_weights"] == "balanced"
        and settings["normalise"] is True
    )
    ladder = json.loads((r / "comparison.json").read_text())["models"]["cnn"]["ladder"]
    assert [(x["experiment"], x["ran"]) for x in ladder["rungs"]] == [
        ("weights_only", True),
        ("lower_lr", True),
    ]
    assert all(
        x["decision"] in ("GO", "INVESTIGATE", "NO-GO") and x["reasons"] for x in ladder["rungs"]
    )
    firsts = [x for x in ladder["rungs"] if x["decision"] == "GO"]
    assert ladder["first_go"] == (
        {"rung": firsts[0]["rung"], "experiment": firsts[0]["experiment"]} if firsts else None
    )
    findings = (r / "findings.md").read_text()
    assert "Rollback ladder:" in findings and (
        "first rung to reach GO" in findings or "no rung reached GO" in findings
    )
    assert "weights_only (ladder)" in (r / "comparison.txt").read_text()
