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

import numpy as np
import pandas as pd

METRICS = ("accuracy", "macro_f1", "weighted_f1", "balanced_accuracy", "top_k_accuracy", "rare_f1",
           "cmap", "roc_auc", "tuned_macro_f1")
TABLE_METRICS = ("accuracy", "macro_f1", "rare_f1", "cmap")
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


def seed_summary(per_seed: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mean and sample std (``ddof=1``; 0 for one seed) of each metric over seeds.

    A metric missing (``None``) for any seed is ``None``: a mean over fewer seeds than the
    others would not be comparable.
    """
    mean: dict[str, Any] = {}
    std: dict[str, Any] = {}
    for k in METRICS:
        values = [m.get(k) for m in per_seed]
        if any(v is None for v in values):
            mean[k] = std[k] = None
            continue
        a = np.asarray(values, dtype=float)
        mean[k] = float(a.mean())
        std[k] = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return mean, std


def compare_runs(
    runs: Sequence[Mapping[str, Any]],
    baseline: str,
    candidate: str,
    thresholds: Mapping[str, float],
    ladder: Sequence[Mapping[str, str]] = (),
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the comparison document.

    ``runs``: one mapping per (experiment, model, seed) with keys ``experiment``, ``model``,
    ``seed`` (optional, default 0), ``metrics`` (the evaluation's metrics dict) and
    ``history`` (per-epoch DataFrame). Each (experiment, model) is summarised over its seeds:
    ``metrics`` are the means, ``std`` the sample standard deviations, ``seeds`` the
    per-seed metrics; the decision is taken on the means and needs every seed's training
    stable. ``baselines``: name -> test metrics of each reference baseline.
    """
    t = {**DEFAULT_THRESHOLDS, **thresholds}
    refs = {name: {k: m.get(k) for k in METRICS} for name, m in (baselines or {}).items()}
    by_model: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for r in runs:
        by_model.setdefault(r["model"], {}).setdefault(r["experiment"], []).append(r)
    models: dict[str, Any] = {}
    table = []
    for model, exps in by_model.items():
        for needed, role in ((baseline, "baseline"), (candidate, "candidate")):
            if needed not in exps:
                raise ValueError(f"model {model}: {role} experiment {needed!r} has no result")
        summaries = {exp: seed_summary([r["metrics"] for r in rs]) for exp, rs in exps.items()}
        base = summaries[baseline][0]
        results = {}
        for exp, rs in exps.items():
            m, sd = summaries[exp]
            per_seed = {str(r.get("seed", 0)): training_stability(r["history"], t["max_val_loss_growth"]) for r in rs}
            stable = all(st["stable"] for st in per_seed.values())
            decision, reasons = decide(m, stable, t)
            results[exp] = {
                "metrics": m,
                "std": sd,
                "n_seeds": len(rs),
                "seeds": {str(r.get("seed", 0)): {k: r["metrics"].get(k) for k in METRICS} for r in rs},
                "delta_vs_baseline": {k: _delta(m[k], base.get(k)) for k in METRICS},
                "stability": {"stable": stable, "per_seed": per_seed},
                "best_epoch": {
                    str(r.get("seed", 0)): int(r["history"]["val_macro_f1"].idxmax()) + 1 if len(r["history"]) else None
                    for r in rs
                },
                "decision": decision,
                "reasons": reasons,
                "beats_baselines": beats_baselines(m, refs) if refs else None,
            }
            table.append({"model": model, "experiment": exp, "n_seeds": len(rs),
                          **{k: m[k] for k in TABLE_METRICS}, **{f"{k}_std": sd[k] for k in TABLE_METRICS},
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
        table.append({"model": "sklearn", "experiment": name, "n_seeds": 1, **{k: m[k] for k in TABLE_METRICS},
                      **{f"{k}_std": None for k in TABLE_METRICS}, "decision": "reference", "beats_baselines": None})
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
    """The comparison as a plain-text table (model x experiment: acc, macro-F1, rare-F1, cmAP),
    ``mean ± std`` over seeds when a run has more than one."""
    multi = any(row.get("n_seeds", 1) > 1 for row in comparison["table"])
    width = 13 if multi else 6

    def cell(row: Mapping[str, Any], k: str) -> str:
        v, sd = row[k], row.get(f"{k}_std")
        if v is None:
            return f"{'-':>{width}}"
        return f"{v:.3f}±{sd:.3f}".rjust(width) if multi and sd is not None else f"{v:.3f}".rjust(width)

    beats = {True: "yes", False: "no", None: "-"}
    head = f"{'model':8} {'experiment':20} {'acc':>{width}} {'macroF1':>{width}} {'rareF1':>{width}} {'cmAP':>{width}}  {'decision':11} beats baselines"
    lines = [head, "-" * len(head)]
    for row in comparison["table"]:
        lines.append(
            f"{row['model']:8} {row['experiment']:20} {cell(row, 'accuracy')} {cell(row, 'macro_f1')} {cell(row, 'rare_f1')} {cell(row, 'cmap')}  "
            f"{row['decision']:11} {beats[row.get('beats_baselines')]}"
        )
    if multi:
        seeds = sorted({row["n_seeds"] for row in comparison["table"] if row["model"] != "sklearn"})
        lines.append(f"mean ± sample std over {'/'.join(map(str, seeds))} seeds")
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
    """Workflow step: read each run's metrics and history (same order as ``runs``: dicts of
    ``experiment, model, seed``) and the
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
