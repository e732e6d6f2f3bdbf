"""Stages ``decision`` and ``compare`` (workflow/rules/compare.smk): the plan's verdict.

Both read the same evaluation files of each run (:data:`RunFiles`, lists parallel to the
runs); ``decision`` only the baseline's and the candidate's runs (the ladder's checkpoint),
``compare`` every run plus the reference baselines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jaxaudio.evaluation.compare import EVAL_KEYS, compare_files, decision_file


@dataclass(frozen=True)
class RunFiles:
    """Each run's evaluation files, in run order (one list per file kind, :data:`EVAL_KEYS`)."""

    metrics: list[Path]
    histories: list[Path]
    per_class: list[Path]
    confusion: list[Path]
    scores: list[Path]

    def by_kind(self) -> dict[str, list[str]]:
        files = {k: [str(p) for p in v] for k, v in asdict(self).items()}
        assert tuple(files) == EVAL_KEYS, "RunFiles must list jaxaudio.evaluation.compare.EVAL_KEYS"
        return files


@dataclass(frozen=True)
class DecisionOutputs:
    json: Path


def decision(
    inputs: RunFiles,
    outputs: DecisionOutputs,
    runs: Sequence[Mapping[str, Any]],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The candidate's decision per model (``compare/decision.json``)."""
    return decision_file(runs, inputs.by_kind(), settings, str(outputs.json))


@dataclass(frozen=True)
class CompareInputs(RunFiles):
    baselines: list[Path]  # the reference baselines' metrics.json, in the order of their names
    # the seed ensembles' evaluation files (compare.ensemble), parallel to ``ensembles``
    ensemble_metrics: list[Path] | None = None
    ensemble_per_class: list[Path] | None = None
    ensemble_confusion: list[Path] | None = None
    ensemble_scores: list[Path] | None = None
    # the re-split runs' summary.json (compare.selection), parallel to ``selection``
    selection: list[Path] | None = None


@dataclass(frozen=True)
class CompareOutputs:
    json: Path
    table: Path
    findings: Path


def compare(
    inputs: CompareInputs,
    outputs: CompareOutputs,
    runs: Sequence[Mapping[str, Any]],
    baselines: Sequence[str],
    settings: Mapping[str, Any],
    ensembles: Sequence[Mapping[str, Any]] = (),
    selection: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """comparison.json, comparison.txt and findings.md over every run (and seed ensemble:
    ``ensembles``, ``experiment, model, seeds`` parallel to the ``ensemble_*`` files; and
    re-split run: ``selection``, ``experiment, model, resplit`` parallel to
    ``inputs.selection``)."""
    out = {k: str(v) for k, v in asdict(outputs).items()}
    files = RunFiles(**{k: getattr(inputs, k) for k in EVAL_KEYS}).by_kind()
    ensemble_files = {
        k: [str(p) for p in getattr(inputs, f"ensemble_{k}") or []]
        for k in EVAL_KEYS
        if k != "histories"
    }
    return compare_files(
        runs,
        files,
        settings,
        out,
        baselines=dict(zip(baselines, map(str, inputs.baselines))),
        ensembles=list(ensembles),
        ensemble_files=ensemble_files,
        selection=list(selection),
        selection_summaries=[str(p) for p in inputs.selection or []],
    )
