"""The rollback ladder, run by the decision checkpoint: not scheduled when the candidate is
GO (.test/ladder-go), trained and judged when it fails (.test/ladder-fails). Each in a copy
of the tiny run (``tiny_run_copy``): its data, features and JAX compilation cache are
reused, and what the scenario does not change (ladder-fails: the baseline's run) too.
"""

from __future__ import annotations

import json

import pytest

from jaxaudio.config.load import load_config
from tests.conftest import ROOT
from tests.workflow.helpers import scenario, scheduled_jobs, snakemake

pytestmark = pytest.mark.slow


def test_ladder_is_not_scheduled_when_the_candidate_is_go(tiny_run_copy):
    """The decision checkpoint says GO: no rung is trained, and nothing is left to do."""
    wd = tiny_run_copy
    go = scenario("ladder-go")
    snakemake(wd, "--cores", "2", configs=(go,))
    r = wd / "results"
    assert (
        json.loads((r / "compare" / "decision.json").read_text())["models"]["cnn"]["decision"]
        == "GO"
    )
    comparison = json.loads((r / "comparison.json").read_text())
    cnn = comparison["models"]["cnn"]
    assert cnn["decision"] == "GO" and cnn["ladder"] is None
    assert cnn["experiments"]["v2"]["intervals"]["rare_f1"]["low"] > 0
    trained = {p.name for p in (r / "train").iterdir()}
    rungs = {
        x["experiment"] for x in load_config(ROOT / "config" / "config.yaml")["compare"]["ladder"]
    }
    assert {"frozen", "v2"} <= trained and not trained & rungs  # no rung trained
    assert scheduled_jobs(snakemake(wd, "-n", "--cores", "2", configs=(go,)).stdout) == {}
    assert comparison["recommended"]["experiment"] == "v2"
    assert (
        json.loads((r / "bundles" / "best" / "bundle.json").read_text())["source"]["experiment"]
        == "v2"
    )
    assert (
        (r / "findings.md").read_text().startswith("# Findings: v2 vs frozen\n\n**Decision: GO**")
    )


def test_ladder_runs_by_itself_when_the_candidate_fails(tiny_run_copy):
    """An absurd learning rate: the checkpoint's decision is not GO, so the rungs derived from
    the candidate are trained and judged with the same rules, and the first GO is named. The
    baseline is the tiny run's, not trained again."""
    wd = tiny_run_copy
    fails = scenario("ladder-fails")
    dry = snakemake(wd, "-n", "--cores", "2", configs=(fails,)).stdout
    assert "decision" in scheduled_jobs(dry) and "checkpoint" in dry
    assert scheduled_jobs(dry)["train"] == 1  # the candidate; baseline_v1 is the tiny run's
    snakemake(wd, "--cores", "2", configs=(fails,))
    r = wd / "results"
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
