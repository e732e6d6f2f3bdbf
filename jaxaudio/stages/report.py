"""Stage ``report_figures`` (workflow/rules/report.smk): the report's cross-run pieces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jaxaudio.evaluation.report import report_figures


@dataclass(frozen=True)
class Inputs:
    comparison: Path
    findings: Path
    per_class: list[Path]  # parallel to the runs
    confusions: list[Path]  # parallel to the decision runs (baseline and candidate)
    weights: Path
    scores: list[Path] = field(default_factory=list)  # scores.json of each scored predict job
    bundles: list[Path] = field(default_factory=list)  # their field floors go on the findings page


@dataclass(frozen=True)
class Outputs:
    findings: Path
    rare_pairs: Path
    confusion_diff: Path
    table: Path
    f1_vs_count: Path
    weights: Path
    timings: Path


def run(
    inputs: Inputs,
    outputs: Outputs,
    runs: Sequence[Mapping[str, Any]],
    decision_runs: Sequence[Mapping[str, Any]],
    bench_dir: str | Path,
    rare_quantile: float,
    scored: Sequence[str] = (),
) -> dict[str, Any]:
    """Every figure and table of the report that spans runs; ``scored`` names the predict
    jobs of ``inputs.scores``, in order (their field scores go on the findings page)."""
    return report_figures(
        runs,
        inputs.per_class,
        inputs.comparison,
        inputs.weights,
        bench_dir,
        {k: str(v) for k, v in asdict(outputs).items()},
        rare_quantile=rare_quantile,
        decision_runs=decision_runs,
        confusions=inputs.confusions,
        findings_md=inputs.findings,
        field_scores=dict(zip(scored, inputs.scores, strict=True)),
        bundles=inputs.bundles,
    )
