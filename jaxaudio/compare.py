"""Baseline vs experiments, and the GO / INVESTIGATE / NO-GO decision.

For each model the baseline experiment (``baseline_v1``: no class weights, no
normalisation) is compared with every other experiment that ran: all test metrics and
their deltas. The decision for an experiment, with thresholds from the config:

* **GO** when macro-F1 > ``go_macro_f1`` and accuracy > ``go_accuracy`` and rare-species F1
  > ``go_rare_f1`` and training was stable;
* **NO-GO** when macro-F1 < ``investigate_macro_f1``;
* **INVESTIGATE** otherwise (macro-F1 between the two thresholds, or above but another
  condition fails — the reasons say which).

*Stable training* means every recorded train and validation loss is finite and the last
validation loss is at most ``max_val_loss_growth`` times the lowest one (validation loss
not diverging).

A model's decision is its candidate experiment's. When it is not GO, the rollback ladder
lists each rung (an experiment name) with its measured result, or ``ran: false`` when that
experiment was not part of the run. The overall decision is GO when every model is GO,
NO-GO when every model is NO-GO, INVESTIGATE otherwise.

Reference baselines (the logistic regression on pooled MFCC statistics,
:mod:`jaxaudio.models.logreg`) are listed beside the deep models, and every deep run records
whether it **beats every baseline** on macro-F1 and rare-species F1: a deep model that does
not is not worth its compute, whatever its decision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

METRICS = ("accuracy", "macro_f1", "weighted_f1", "balanced_accuracy", "top_k_accuracy", "rare_f1")
DEFAULT_THRESHOLDS = {
    "go_macro_f1": 0.25,
    "go_accuracy": 0.50,
    "go_rare_f1": 0.10,
    "investigate_macro_f1": 0.20,
    "max_val_loss_growth": 3.0,
}


def training_stability(history: pd.DataFrame, max_val_loss_growth: float) -> dict[str, Any]:
    """Whether losses stayed finite and validation loss did not diverge."""
    reasons = []
    losses = history[["train_loss", "val_loss"]].to_numpy(dtype=float)
    if len(history) == 0:
        reasons.append("no epoch recorded")
    elif not all(math.isfinite(v) for v in losses.ravel()):
        reasons.append("non-finite loss")
    growth = None
    if len(history) and not reasons:
        min_val, last_val = float(history["val_loss"].min()), float(history["val_loss"].iloc[-1])
        growth = last_val / min_val if min_val > 0 else math.inf
        if growth > max_val_loss_growth:
            reasons.append(f"val loss diverged: last {last_val:.3g} = {growth:.2f}x the lowest {min_val:.3g}")
    return {"stable": not reasons, "val_loss_growth": growth, "reasons": reasons}


def decide(metrics: Mapping[str, Any], stable: bool, thresholds: Mapping[str, float]) -> tuple[str, list[str]]:
    """The decision for one experiment's test metrics, with the reasons behind it."""
    t = {**DEFAULT_THRESHOLDS, **thresholds}
    f1, acc = metrics["macro_f1"], metrics["accuracy"]
    rare = metrics.get("rare_f1")
    if f1 < t["investigate_macro_f1"]:
        return "NO-GO", [f"macro-F1 {f1:.3f} < {t['investigate_macro_f1']}"]
    failed = []
    if not f1 > t["go_macro_f1"]:
        failed.append(f"macro-F1 {f1:.3f} <= {t['go_macro_f1']}")
    if not acc > t["go_accuracy"]:
        failed.append(f"accuracy {acc:.3f} <= {t['go_accuracy']}")
    if rare is None or not rare > t["go_rare_f1"]:
        failed.append(f"rare-species F1 {rare if rare is None else round(rare, 3)} <= {t['go_rare_f1']}")
    if not stable:
        failed.append("training not stable")
    if failed:
        return "INVESTIGATE", failed
    return "GO", [f"macro-F1 {f1:.3f}, accuracy {acc:.3f}, rare-F1 {rare:.3f} above thresholds; training stable"]


def _delta(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else float(a) - float(b)


def compare_runs(
    runs: Sequence[Mapping[str, Any]],
    baseline: str,
    candidate: str,
    thresholds: Mapping[str, float],
    ladder: Sequence[Mapping[str, str]] = (),
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the comparison document.

    ``runs``: one mapping per (experiment, model) with keys ``experiment``, ``model``,
    ``metrics`` (the evaluation's metrics dict) and ``history`` (per-epoch DataFrame).
    ``baselines``: name -> test metrics of each reference baseline.
    """
    t = {**DEFAULT_THRESHOLDS, **thresholds}
    refs = {name: {k: m.get(k) for k in METRICS} for name, m in (baselines or {}).items()}
    by_model: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in runs:
        by_model.setdefault(r["model"], {})[r["experiment"]] = r
    models: dict[str, Any] = {}
    table = []
    for model, exps in by_model.items():
        if baseline not in exps:
            raise ValueError(f"model {model}: baseline experiment {baseline!r} has no result")
        if candidate not in exps:
            raise ValueError(f"model {model}: candidate experiment {candidate!r} has no result")
        base = exps[baseline]["metrics"]
        results = {}
        for exp, r in exps.items():
            m = {k: r["metrics"].get(k) for k in METRICS}
            stability = training_stability(r["history"], t["max_val_loss_growth"])
            decision, reasons = decide(m, stability["stable"], t)
            results[exp] = {
                "metrics": m,
                "delta_vs_baseline": {k: _delta(m[k], base.get(k)) for k in METRICS},
                "stability": stability,
                "best_epoch": int(r["history"]["val_macro_f1"].idxmax()) + 1 if len(r["history"]) else None,
                "decision": decision,
                "reasons": reasons,
                "beats_baselines": beats_baselines(m, refs) if refs else None,
            }
            table.append({"model": model, "experiment": exp, **{k: m[k] for k in ("accuracy", "macro_f1", "rare_f1")},
                          "decision": decision, "beats_baselines": results[exp]["beats_baselines"]})
        cand = results[candidate]
        rollback = None
        if cand["decision"] != "GO":
            rollback = [
                {"rung": step["rung"], "experiment": step["experiment"], "ran": step["experiment"] in results,
                 **({k: results[step["experiment"]][k] for k in ("metrics", "decision")} if step["experiment"] in results else {})}
                for step in ladder
            ]
        models[model] = {"decision": cand["decision"], "reasons": cand["reasons"], "experiments": results, "rollback": rollback}
    for name, m in refs.items():
        table.append({"model": "sklearn", "experiment": name, **{k: m[k] for k in ("accuracy", "macro_f1", "rare_f1")}, "decision": "reference", "beats_baselines": None})
    decisions = {m["decision"] for m in models.values()}
    overall = "GO" if decisions == {"GO"} else "NO-GO" if decisions == {"NO-GO"} else "INVESTIGATE"
    return {
        "decision": overall,
        "baseline": baseline,
        "candidate": candidate,
        "thresholds": t,
        "models": models,
        "baselines": refs,
        "table": table,
    }


def beats_baselines(metrics: Mapping[str, Any], refs: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when macro-F1 and rare-F1 are strictly above those of every reference baseline."""
    def above(k: str, ref: Mapping[str, Any]) -> bool:
        return ref.get(k) is None or (metrics.get(k) is not None and metrics[k] > ref[k])

    return all(above("macro_f1", r) and above("rare_f1", r) for r in refs.values())


def format_table(comparison: Mapping[str, Any]) -> str:
    """The comparison as a plain-text table (model x experiment: acc, macro-F1, rare-F1)."""
    fmt = lambda v: "   -  " if v is None else f"{v:6.3f}"  # noqa: E731
    beats = {True: "yes", False: "no", None: "-"}
    lines = [f"{'model':8} {'experiment':20} {'acc':>6} {'macroF1':>7} {'rareF1':>6}  {'decision':11} beats baselines", "-" * 78]
    for row in comparison["table"]:
        lines.append(
            f"{row['model']:8} {row['experiment']:20} {fmt(row['accuracy'])} {fmt(row['macro_f1']):>7} {fmt(row['rare_f1'])}  "
            f"{row['decision']:11} {beats[row.get('beats_baselines')]}"
        )
    lines.append(f"overall decision ({comparison['candidate']} vs {comparison['baseline']}): {comparison['decision']}")
    return "\n".join(lines)


def compare_files(
    runs: Sequence[Mapping[str, str]],
    metrics_paths: Sequence[str],
    history_paths: Sequence[str],
    baseline: str,
    candidate: str,
    thresholds: Mapping[str, float],
    ladder: Sequence[Mapping[str, str]],
    out_json: str,
    out_table: str,
    baselines: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Workflow step: read each run's metrics and history (same order as ``runs``) and the
    baselines' metrics (``name -> metrics.json``), write the comparison."""
    import json
    from pathlib import Path

    if not len(runs) == len(metrics_paths) == len(history_paths):
        raise ValueError("runs, metrics and histories must be parallel lists")
    records = [
        {**run, "metrics": json.loads(Path(m).read_text()), "history": pd.read_csv(h)}
        for run, m, h in zip(runs, metrics_paths, history_paths)
    ]
    refs = {name: json.loads(Path(p).read_text()) for name, p in (baselines or {}).items()}
    comparison = compare_runs(records, baseline, candidate, thresholds, ladder, refs)
    Path(out_json).write_text(json.dumps(comparison, indent=2) + "\n")
    table = format_table(comparison)
    Path(out_table).write_text(table + "\n")
    return comparison
