"""Baseline vs candidate, judged the way the plan asks, and the configuration to recommend.

For each model the baseline experiment (``baseline_v1``) is compared with every other
experiment that ran. Each experiment gets the plan's decision (:mod:`jaxaudio.evaluation.decision`):
its mean test metrics over seeds against the absolute thresholds, its training checked for
divergence and instability, and — the relative rules — its difference to the baseline as a
paired-bootstrap interval over the test clips (:mod:`jaxaudio.evaluation.bootstrap`), so that "worse
than the baseline" and "no improvement for rare species" are measured, not eyeballed.

A model's decision is its candidate's. When it is not GO, the rollback ladder's rungs
(experiments derived from the candidate, :func:`jaxaudio.config.load.ladder_experiments`) are
judged with the same rules, and the first rung that reaches GO is named. The overall
decision is GO when every model is GO, NO-GO when every model is NO-GO, INVESTIGATE
otherwise.

The **recommended configuration** is chosen on validation only: the experiment × model
with the best mean over seeds of each run's best validation macro-F1 (ties: the first in
run order). Its test metrics are reported; no test number takes part in choosing it.

**Seed ensembles** (``compare.ensemble``): each experiment × model with several seeds gets a
row for the mean of its seeds' probabilities, evaluated as one model
(:func:`jaxaudio.stages.evaluate.run_ensemble`, no extra training). It is judged by the
same rules (its training checks are its members'), and takes part in the recommendation
with its own validation macro-F1, measured as training measures each epoch's
(``metrics.json`` ``validation``). Each member's epoch was chosen on that validation too, so
both kinds of candidate are scored on the data their epochs were selected on.

Reference baselines (logistic regression on pooled MFCC statistics) are listed beside the
deep models, and every deep run records whether it beats every one of them on macro-F1 and
rare-species F1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.evaluation.bootstrap import paired_bootstrap
from jaxaudio.evaluation.decision import (
    DEFAULT_THRESHOLDS,
    GO,
    decide,
    divergence,
    oscillation,
    seed_disagreement,
)
from jaxaudio.evaluation.findings import (
    ENSEMBLE_LABEL,
    analysis_lines,
    findings_markdown,
    ladder_verdict,
)
from jaxaudio.layout import ENSEMBLE

METRICS = (
    "accuracy",
    "macro_f1",
    "weighted_f1",
    "balanced_accuracy",
    "top_k_accuracy",
    "rare_f1",
    "cmap",
    "roc_auc",
    "tuned_macro_f1",
)
TABLE_METRICS = ("accuracy", "macro_f1", "rare_f1", "cmap")
CI_METRICS = ("macro_f1", "accuracy", "rare_f1")
#: How the recommended configuration is chosen (written into comparison.json).
RECOMMENDATION_RULE = (
    "the experiment x model with the best mean over seeds of each run's best validation "
    "macro-F1, or seed ensemble with the best validation macro-F1 of its mean probability "
    "(ties: the first in run order, single models first); test metrics are reported, never "
    "used to choose"
)
#: How the recommended configuration is chosen with ``compare.selection`` (re-splits).
SELECTION_RULE = (
    "the experiment x model with the best mean, over {k} seeded re-splits of the train and val "
    "clips (each trained once, seed k), of each re-split run's best validation macro-F1 (ties: "
    "the first in run order); deployed as its seed ensemble when compare.ensemble evaluated "
    "one, else its first seed; test metrics are reported, never used to choose"
)
#: The files of a run the comparison reads (the workflow's input names).
EVAL_KEYS = ("metrics", "histories", "per_class", "confusion", "scores")
#: Confusion cells listed in the analysis (largest change between baseline and candidate first).
CONFUSION_PAIRS = 10


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


def _seed(r: Mapping[str, Any]) -> str:
    return str(r.get("seed", 0))


def training_checks(rs: Sequence[Mapping[str, Any]], t: Mapping[str, float]) -> dict[str, Any]:
    """Divergence and oscillation of every seed's curves, and the seeds' disagreement."""
    per_seed, diverged, unstable = {}, [], []
    for r in rs:
        h = r["history"]
        d, o = divergence(h, t["max_val_loss_growth"]), oscillation(h, t["max_val_f1_drop"])
        per_seed[_seed(r)] = {
            "diverged": d["diverged"],
            "val_loss_growth": d["val_loss_growth"],
            "unstable": o["unstable"],
            "max_val_f1_drop": o["max_drop"],
            "epochs": int(len(h)),
            "best_epoch": int(h["epoch"].to_numpy()[h["val_macro_f1"].to_numpy().argmax()])
            if len(h)
            else None,
        }
        diverged += [f"seed {_seed(r)}: {x}" for x in d["reasons"]]
        unstable += [f"seed {_seed(r)}: {x}" for x in o["reasons"]]
    unstable += seed_disagreement([r["metrics"]["macro_f1"] for r in rs], t["max_seed_std"])
    return {
        "stable": not diverged and not unstable,
        "per_seed": per_seed,
        "diverged": diverged,
        "unstable": unstable,
    }


def best_val(r: Mapping[str, Any]) -> float | None:
    """A run's best validation macro-F1 (the epoch training selected)."""
    h = r["history"]
    return float(h["val_macro_f1"].max()) if len(h) else None


def _rare_mask(r: Mapping[str, Any]) -> np.ndarray:
    rare = set(r["metrics"].get("rare_species") or [])
    return np.array([s in rare for s in r["species"]], bool)


def intervals_vs(
    rs: Sequence[Mapping[str, Any]],
    base: Sequence[Mapping[str, Any]],
    confidence: float,
    n_resamples: int,
) -> dict[str, Any] | None:
    """Paired bootstrap of (these runs - the baseline's) on their shared test clips."""
    if any("y_test" not in r for r in (*rs, *base)):
        return None
    y = base[0]["y_test"]
    for r in (*rs, *base):
        if not np.array_equal(r["y_test"], y):
            raise ValueError(
                f"{r['experiment']}/{r['model']}/seed{_seed(r)}: test clips differ from the baseline's; "
                "the paired bootstrap needs the same test split"
            )
    return paired_bootstrap(
        y,
        [r["y_pred"] for r in rs],
        [r["y_pred"] for r in base],
        len(base[0]["species"]),
        _rare_mask(base[0]),
        n_resamples,
        confidence,
    )


def _verdict(m, checks, intervals, base, t, refs) -> dict[str, Any]:
    """What :func:`judge` and :func:`judge_ensemble` add alike to a row's metrics ``m``: the
    difference to the baseline's means, the intervals, the training checks, the decision
    and whether it beats the reference baselines."""
    decision, reasons = decide(m, t, checks["diverged"], checks["unstable"], intervals)
    base_m = seed_summary([r["metrics"] for r in base])[0]
    return {
        "delta_vs_baseline": {
            k: None if m[k] is None or base_m[k] is None else m[k] - base_m[k] for k in METRICS
        },
        "intervals": intervals,
        "stability": checks,
        "decision": decision,
        "reasons": reasons,
        "beats_baselines": beats_baselines(m, refs) if refs else None,
    }


def judge(rs, base, t, refs, confidence, n_resamples) -> dict[str, Any]:
    """One experiment of one model: summary over seeds, checks, intervals, decision."""
    m, sd = seed_summary([r["metrics"] for r in rs])
    intervals = None if rs is base else intervals_vs(rs, base, confidence, n_resamples)
    vals = [best_val(r) for r in rs]
    return {
        "metrics": m,
        "std": sd,
        "n_seeds": len(rs),
        "seeds": {_seed(r): {k: r["metrics"].get(k) for k in METRICS} for r in rs},
        "val_macro_f1": {_seed(r): v for r, v in zip(rs, vals)},
        "mean_val_macro_f1": float(np.mean(vals)) if None not in vals else None,
        **_verdict(m, training_checks(rs, t), intervals, base, t, refs),
    }


def judge_ensemble(ens, members, base, t, refs, confidence, n_resamples) -> dict[str, Any]:
    """One seed ensemble (``ens``, its ``members``' runs): its own test metrics (no spread),
    its members' training checks, intervals against the baseline, decision, and its own
    validation macro-F1 (``metrics.json`` ``validation``)."""
    m = {k: ens["metrics"].get(k) for k in METRICS}
    val = (ens["metrics"].get("validation") or {}).get("macro_f1")
    return {
        "ensemble": True,
        "metrics": m,
        "std": dict.fromkeys(METRICS),
        "n_seeds": len(members),
        "seeds": [r["seed"] for r in members],
        "val_macro_f1": {ENSEMBLE: val},
        "mean_val_macro_f1": val,
        **_verdict(
            m,
            training_checks(members, t),
            intervals_vs([ens], base, confidence, n_resamples),
            base,
            t,
            refs,
        ),
    }


def beats_baselines(metrics: Mapping[str, Any], refs: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when macro-F1 and rare-F1 are strictly above those of every reference baseline."""

    def above(k: str, ref: Mapping[str, Any]) -> bool:
        return ref.get(k) is None or (metrics.get(k) is not None and metrics[k] > ref[k])

    return all(above("macro_f1", r) and above("rare_f1", r) for r in refs.values())


def plan_report(base: Mapping[str, Any], cand: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's own report keys: ``baseline_v1`` (the baseline), ``baseline_v2`` (the
    candidate), ``improvements`` (deltas and the relative macro-F1 change in percent)."""
    b, c = base["metrics"], cand["metrics"]
    d_f1, d_acc = c["macro_f1"] - b["macro_f1"], c["accuracy"] - b["accuracy"]
    return {
        "baseline_v1": {"accuracy": b["accuracy"], "f1_macro": b["macro_f1"]},
        "baseline_v2": {"accuracy": c["accuracy"], "f1_macro": c["macro_f1"]},
        "improvements": {
            "f1_macro_delta": d_f1,
            "accuracy_delta": d_acc,
            "relative_improvement_pct": 100 * d_f1 / b["macro_f1"] if b["macro_f1"] else None,
        },
    }


def rare_species_changes(
    base: Sequence[Mapping[str, Any]], cand: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Per rare species: train count, test support, mean F1 over seeds of baseline and candidate."""

    def mean_f1(rs):
        return pd.concat([r["per_class"].set_index("species")["f1"] for r in rs], axis=1).mean(
            axis=1
        )

    pc = base[0]["per_class"].set_index("species")
    fb, fc = mean_f1(base), mean_f1(cand)
    rows = [
        {
            "species": s,
            "train_count": int(pc.loc[s, "train_count"]),
            "support": int(pc.loc[s, "support"]),
            "baseline_f1": float(fb[s]),
            "candidate_f1": float(fc[s]),
            "delta": float(fc[s] - fb[s]),
        }
        for s in pc.index
        if bool(pc.loc[s, "rare"]) and int(pc.loc[s, "support"]) > 0
    ]
    return sorted(rows, key=lambda r: r["delta"])


def confusion_changes(
    base: Sequence[Mapping[str, Any]], cand: Sequence[Mapping[str, Any]], top: int = CONFUSION_PAIRS
) -> list[dict[str, Any]]:
    """The off-diagonal (true, predicted) cells whose mean count over seeds changed most."""
    species = base[0]["species"]
    diff = np.mean([r["confusion"] for r in cand], 0) - np.mean([r["confusion"] for r in base], 0)
    np.fill_diagonal(diff, 0)
    order = np.argsort(-np.abs(diff), axis=None, kind="stable")[:top]
    return [
        {"true": species[i], "predicted": species[j], "delta": float(diff[i, j])}
        for i, j in zip(*np.unravel_index(order, diff.shape))
        if diff[i, j] != 0
    ]


def ladder_outcome(
    ladder: Sequence[Mapping[str, Any]], results: Mapping[str, Any]
) -> dict[str, Any]:
    """Each rung with its decision (``ran: false`` when its experiment did not run), and the
    first rung that reached GO (``None`` when none did)."""
    rungs = []
    for step in ladder:
        r = results.get(step["experiment"])
        rungs.append(
            {
                "rung": step["rung"],
                "experiment": step["experiment"],
                "ran": r is not None,
                **({k: r[k] for k in ("metrics", "intervals", "decision", "reasons")} if r else {}),
            }
        )
    first = next((r for r in rungs if r.get("decision") == GO), None)
    return {
        "rungs": rungs,
        "first_go": first and {"rung": first["rung"], "experiment": first["experiment"]},
    }


def recommend(
    models: Mapping[str, Any],
    order: Sequence[tuple[str, str]],
    selection: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The configuration with the best validation macro-F1 (:data:`RECOMMENDATION_RULE`): a
    model's mean over seeds, or a seed ensemble's own. With ``selection`` (re-split runs:
    ``experiment, model, resplit, best_val_macro_f1``) the ranking is theirs instead
    (:data:`SELECTION_RULE`, :func:`selection_scores`)."""
    if selection:
        return _recommend_by_selection(models, order, selection)
    kinds = (("experiments", False), ("ensembles", True))
    scored = [
        (r["mean_val_macro_f1"], (j, i), e, m, ens)
        for j, (kind, ens) in enumerate(kinds)
        for i, (e, m) in enumerate(order)
        if (r := models[m].get(kind, {}).get(e)) is not None and r["mean_val_macro_f1"] is not None
    ]
    if not scored:
        return {"rule": RECOMMENDATION_RULE, "experiment": None, "model": None}
    _, _, exp, model, ens = max(scored, key=lambda s: (s[0], -s[1][0], -s[1][1]))
    candidates = {f"{e}/{m}" + (f"/{ENSEMBLE}" if en else ""): v for v, _, e, m, en in scored}
    return _recommended(models, exp, model, ens, RECOMMENDATION_RULE, candidates)


def _recommended(models, exp, model, ens, rule, candidates) -> dict[str, Any]:
    r = models[model]["ensembles" if ens else "experiments"][exp]
    pick = {"ensemble": True, "seeds": r["seeds"]} if ens else {"seed": min(r["seeds"], key=int)}
    return {
        "rule": rule,
        "experiment": exp,
        "model": model,
        "ensemble": ens,
        **pick,
        "mean_val_macro_f1": r["mean_val_macro_f1"],
        "val_macro_f1": r["val_macro_f1"],
        "test_metrics": {k: r["metrics"][k] for k in TABLE_METRICS},
        "decision": r["decision"],
        "candidates": candidates,
    }


def selection_scores(
    selection: Sequence[Mapping[str, Any]], order: Sequence[tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """``"e/m" ->`` the re-split runs' best validation macro-F1 (``per_split``, by re-split
    number), their mean and sample std, for every experiment x model of ``order``."""
    out = {}
    for e, m in order:
        vals = {
            int(r["resplit"]): float(r["best_val_macro_f1"])
            for r in selection
            if (r["experiment"], r["model"]) == (e, m)
        }
        if not vals:
            continue
        a = np.asarray([vals[k] for k in sorted(vals)])
        out[f"{e}/{m}"] = {
            "per_split": [float(v) for v in a],
            "mean": float(a.mean()),
            "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        }
    return out


def _recommend_by_selection(models, order, selection) -> dict[str, Any]:
    """:func:`recommend` with re-splits: the best mean over them, deployed as the ensemble
    when there is one."""
    scores = selection_scores(selection, order)
    ranked = [
        (scores[f"{e}/{m}"]["mean"], -i, e, m)
        for i, (e, m) in enumerate(order)
        if f"{e}/{m}" in scores
    ]
    k = max((len(v["per_split"]) for v in scores.values()), default=0)
    rule = SELECTION_RULE.format(k=k)
    if not ranked:
        return {"rule": rule, "experiment": None, "model": None}
    _, _, exp, model = max(ranked)
    ens = exp in models[model].get("ensembles", {})
    rec = _recommended(models, exp, model, ens, rule, {c: v["mean"] for c, v in scores.items()})
    return {**rec, "selection": scores}


def _group_runs(
    runs: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, dict[str, list[Mapping[str, Any]]]], list[tuple[str, str]]]:
    """``model -> experiment -> [seed runs]``, and the (experiment, model) pairs in run order."""
    by_model: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    order: list[tuple[str, str]] = []
    for r in runs:
        by_model.setdefault(r["model"], {}).setdefault(r["experiment"], []).append(r)
        if (r["experiment"], r["model"]) not in order:
            order.append((r["experiment"], r["model"]))
    return by_model, order


def row_name(row: Mapping[str, Any]) -> str:
    """A comparison-table row's name: its experiment, marked when it is a ladder rung or a
    seed ensemble."""
    return (
        str(row["experiment"])
        + (ENSEMBLE_LABEL if row.get("ensemble") else "")
        + (" (ladder)" if row.get("ladder") else "")
    )


def _table_row(model: str, experiment: str, res: Mapping[str, Any], ladder: bool) -> dict[str, Any]:
    """One row of the comparison table from a :func:`judge` (or :func:`judge_ensemble`) result."""
    return {
        "model": model,
        "experiment": experiment,
        "ensemble": bool(res.get("ensemble")),
        "n_seeds": res["n_seeds"],
        "ladder": ladder,
        **{k: res["metrics"][k] for k in TABLE_METRICS},
        **{f"{k}_std": res["std"][k] for k in TABLE_METRICS},
        "intervals": res["intervals"],
        "mean_val_macro_f1": res["mean_val_macro_f1"],
        "decision": res["decision"],
        "beats_baselines": res["beats_baselines"],
    }


def _reference_row(name: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A reference baseline's row: one fit, no spread, no decision of its own."""
    res = {
        "n_seeds": 1,
        "metrics": metrics,
        "std": dict.fromkeys(TABLE_METRICS),
        "intervals": None,
        "mean_val_macro_f1": None,
        "decision": "reference",
        "beats_baselines": None,
    }
    return _table_row("sklearn", name, res, ladder=False)


def _model_section(
    model: str,
    exps: Mapping[str, list[Mapping[str, Any]]],
    baseline: str,
    candidate: str,
    judged: Callable[[list[Mapping[str, Any]], list[Mapping[str, Any]]], dict[str, Any]],
    ladder: Sequence[Mapping[str, Any]],
    ensembles: Mapping[str, Mapping[str, Any]],
    judged_ensemble: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """One model's part of the comparison: every experiment (and seed ensemble, ``ensembles``:
    experiment -> its record) judged against the baseline, the candidate's decision, the
    plan's report, the rare-species and confusion analyses, and the ladder's outcome (when
    the candidate fell short or a rung ran)."""
    for needed, role in ((baseline, "baseline"), (candidate, "candidate")):
        if needed not in exps:
            raise ValueError(f"model {model}: {role} experiment {needed!r} has no result")
    base = exps[baseline]
    results = {exp: judged(rs, base) for exp, rs in exps.items()}
    for exp in ensembles:
        if exp not in exps:
            raise ValueError(f"model {model}: the ensemble of {exp!r} has no seed runs")
    cand = results[candidate]
    rung_names = {s["experiment"] for s in ladder}
    return {
        "decision": cand["decision"],
        "reasons": cand["reasons"],
        "experiments": results,
        "ensembles": {e: judged_ensemble(r, exps[e], base) for e, r in ensembles.items()},
        **plan_report(results[baseline], cand),
        "analysis": {
            "rare_species": rare_species_changes(base, exps[candidate]),
            "confusion_changes": confusion_changes(base, exps[candidate]),
        },
        "ladder": ladder_outcome(ladder, results)
        if cand["decision"] != GO or rung_names & set(results)
        else None,
    }


def compare_runs(
    runs: Sequence[Mapping[str, Any]],
    baseline: str,
    candidate: str,
    thresholds: Mapping[str, float],
    ladder: Sequence[Mapping[str, Any]] = (),
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    ensembles: Sequence[Mapping[str, Any]] = (),
    selection: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Build the comparison document.

    ``runs``: one mapping per (experiment, model, seed) with ``experiment``, ``model``,
    ``seed``, ``metrics`` (the evaluation's dict), ``history`` (per-epoch DataFrame),
    ``per_class`` (DataFrame), ``confusion`` (C x C), ``species``, and for the intervals
    ``y_test``/``y_pred`` (test labels and predictions). ``baselines``: name -> metrics of
    each reference baseline. ``ensembles``: one mapping per seed ensemble evaluated, with
    ``experiment``, ``model``, ``metrics``, ``per_class``, ``confusion``, ``species``,
    ``y_test``/``y_pred`` (a run's keys but the seed and history). ``selection``: one mapping
    per re-split run (``compare.selection``), ``experiment, model, resplit,
    best_val_macro_f1``; the recommendation then ranks by them. The overall decision is GO
    when every model's is, NO-GO when every model's is, else INVESTIGATE.
    """
    t = {**DEFAULT_THRESHOLDS, **thresholds}
    refs = {name: {k: m.get(k) for k in METRICS} for name, m in (baselines or {}).items()}
    by_model, order = _group_runs(runs)
    rung_names = {s["experiment"] for s in ladder}

    def judged(rs: list[Mapping[str, Any]], base: list[Mapping[str, Any]]) -> dict[str, Any]:
        return judge(rs, base, t, refs, confidence, n_resamples)

    def judged_ensemble(ens, members, base) -> dict[str, Any]:
        return judge_ensemble(ens, members, base, t, refs, confidence, n_resamples)

    ens_by_model: dict[str, dict[str, Mapping[str, Any]]] = {}
    for e in ensembles:
        ens_by_model.setdefault(e["model"], {})[e["experiment"]] = e
    models = {
        model: _model_section(
            model,
            exps,
            baseline,
            candidate,
            judged,
            ladder,
            ens_by_model.get(model, {}),
            judged_ensemble,
        )
        for model, exps in by_model.items()
    }
    table = [
        _table_row(model, exp, res, exp in rung_names)
        for model, section in models.items()
        for kind in ("experiments", "ensembles")
        for exp, res in section[kind].items()
    ] + [_reference_row(name, m) for name, m in refs.items()]
    decisions = {m["decision"] for m in models.values()}
    overall = "GO" if decisions == {"GO"} else "NO-GO" if decisions == {"NO-GO"} else "INVESTIGATE"
    return {
        "decision": overall,
        "baseline": baseline,
        "candidate": candidate,
        "thresholds": t,
        "bootstrap": {
            "confidence": confidence,
            "n_resamples": n_resamples,
            "paired": "test clips, seeds averaged",
        },
        "models": models,
        "baselines": refs,
        "table": table,
        "recommended": recommend(models, order, selection),
    }


def decisions_only(comparison: Mapping[str, Any]) -> dict[str, Any]:
    """What the ladder checkpoint needs: each model's candidate decision and reasons."""
    return {
        "decision": comparison["decision"],
        "candidate": comparison["candidate"],
        "models": {
            m: {"decision": v["decision"], "reasons": v["reasons"]}
            for m, v in comparison["models"].items()
        },
    }


def _cell(v: Any, sd: Any, multi: bool, width: int) -> str:
    if v is None:
        return f"{'-':>{width}}"
    return f"{v:.3f}±{sd:.3f}".rjust(width) if multi and sd is not None else f"{v:.3f}".rjust(width)


def _ci(ci: Mapping[str, Any] | None) -> str:
    if not ci or ci.get("low") is None:
        return f"{'-':>22}"
    return f"{ci['delta']:+.3f} [{ci['low']:+.3f},{ci['high']:+.3f}]".rjust(22)


def format_table(comparison: Mapping[str, Any]) -> str:
    """The comparison as a plain-text table: acc, macro-F1, rare-F1, cmAP (``mean ± std``
    over seeds), val macro-F1, the paired-bootstrap intervals of Δ macro-F1 and Δ rare-F1
    against the baseline, decision, whether it beats the baselines."""
    multi = any(row.get("n_seeds", 1) > 1 for row in comparison["table"])
    w = 13 if multi else 6
    beats = {True: "yes", False: "no", None: "-"}
    pct = f"{100 * comparison['bootstrap']['confidence']:g}%"
    names = [row_name(row) for row in comparison["table"]]
    e = max([20, *map(len, names)])
    head = (
        f"{'model':8} {'experiment':{e}} {'acc':>{w}} {'macroF1':>{w}} {'rareF1':>{w}} {'cmAP':>{w}} {'valF1':>6} "
        f"{'dMacroF1 [' + pct + ' CI]':>22} {'dRareF1 [' + pct + ' CI]':>22}  {'decision':11} beats baselines"
    )
    lines = [head, "-" * len(head)]
    for row, name in zip(comparison["table"], names):
        cells = " ".join(_cell(row[k], row.get(f"{k}_std"), multi, w) for k in TABLE_METRICS)
        val = f"{row['mean_val_macro_f1']:.3f}" if row.get("mean_val_macro_f1") is not None else "-"
        ci = row.get("intervals") or {}
        lines.append(
            f"{row['model']:8} {name:{e}} {cells} {val:>6} {_ci(ci.get('macro_f1'))} {_ci(ci.get('rare_f1'))}  "
            f"{row['decision']:11} {beats[row.get('beats_baselines')]}"
        )
    if multi:
        seeds = sorted({row["n_seeds"] for row in comparison["table"] if row["model"] != "sklearn"})
        lines.append(
            f"mean ± sample std over {'/'.join(map(str, seeds))} seeds; intervals: paired bootstrap over the "
            f"test clips ({comparison['bootstrap']['n_resamples']} resamples), mean over seeds"
        )
    lines.append(
        f"overall decision ({comparison['candidate']} vs {comparison['baseline']}): {comparison['decision']}"
    )
    rec = comparison.get("recommended") or {}
    if rec.get("experiment"):
        how = (
            f"best mean over {len(next(iter(rec['selection'].values()))['per_split'])} re-splits"
            if rec.get("selection")
            else f"best mean validation macro-F1, {rec['mean_val_macro_f1']:.3f}"
        )
        lines.append(
            f"recommended ({how}): {rec['experiment']} / {rec['model']}"
            + (ENSEMBLE_LABEL if rec.get("ensemble") else "")
        )
    for name, v in (rec.get("selection") or {}).items():
        lines.append(
            f"  re-split validation macro-F1 {name}: {v['mean']:.3f} ± {v['std']:.3f} "
            f"({', '.join(f'{x:.3f}' for x in v['per_split'])})"
        )
    for model, m in comparison["models"].items():
        lines += ["", f"{model}: {m['decision']}"]
        lines.extend(f"  {r['level']}: {r['reason']}" for r in m["reasons"])
        if m.get("ladder"):
            lines.append(f"  ladder: {ladder_verdict(m['ladder'])}")
        lines += ["", *analysis_lines(m, comparison)]
    return "\n".join(lines).rstrip()


def load_run(
    run: Mapping[str, Any],
    metrics: str,
    history: str | None,
    per_class: str,
    confusion: str,
    scores: str | None,
) -> dict[str, Any]:
    """One run's evaluation files as :func:`compare_runs` takes them (a seed ensemble's: no
    history)."""
    pc = pd.read_csv(per_class)
    rec = {
        **run,
        "metrics": json.loads(Path(metrics).read_text()),
        "per_class": pc,
        "species": list(pc["species"]),
        "confusion": np.load(confusion),
    }
    if history is not None:
        rec["history"] = pd.read_csv(history)
    if scores is not None:
        with np.load(scores) as z:
            rec["y_test"], rec["y_pred"] = z["y"], z["probs"].argmax(1)
    return rec


def load_runs(
    runs: Sequence[Mapping[str, Any]], files: Mapping[str, Sequence[str]]
) -> list[dict[str, Any]]:
    """Every run's files (``files``: ``metrics, histories, per_class, confusion, scores``,
    lists parallel to ``runs``; seed ensembles: no ``histories``) loaded by :func:`load_run`."""
    files = {
        k: [v] if isinstance(v, (str, Path)) else list(v) for k, v in files.items()
    }  # one run: one path
    none = [None] * len(runs)
    keys = [k for k in EVAL_KEYS if k != "scores"]
    if any(len(files.get(k) or none) != len(runs) for k in keys):
        raise ValueError(f"runs and their files must be parallel lists ({len(runs)} runs)")
    return [
        load_run(r, *((files.get(k) or none)[i] for k in EVAL_KEYS)) for i, r in enumerate(runs)
    ]


def _compare_with(
    runs,
    files,
    settings: Mapping[str, Any],
    ladder,
    refs,
    ensembles=(),
    ensemble_files=None,
    selection=(),
) -> dict[str, Any]:
    """:func:`compare_runs` on the runs' (and seed ensembles') files with the config's
    ``compare`` section."""
    return compare_runs(
        load_runs(runs, files),
        settings["baseline"],
        settings["candidate"],
        settings.get("thresholds") or {},
        ladder,
        refs,
        settings.get("confidence", 0.95),
        settings.get("bootstrap", 2000),
        ensembles=load_runs(ensembles, ensemble_files) if ensembles else (),
        selection=selection,
    )


def compare_files(
    runs: Sequence[Mapping[str, Any]],
    files: Mapping[str, Sequence[str]],
    settings: Mapping[str, Any],
    out: Mapping[str, str],
    baselines: Mapping[str, str] | None = None,
    ensembles: Sequence[Mapping[str, Any]] = (),
    ensemble_files: Mapping[str, Sequence[str]] | None = None,
    selection: Sequence[Mapping[str, Any]] = (),
    selection_summaries: Sequence[str] = (),
) -> dict[str, Any]:
    """Workflow step: read each run's evaluation files and the reference baselines' metrics
    (``name -> metrics.json``); write ``out``: ``json`` (the comparison), ``table``
    (comparison.txt) and ``findings`` (findings.md). ``settings``: the config's ``compare``
    section (baseline, candidate, thresholds, ladder, confidence, bootstrap). ``ensembles``
    (``experiment, model, seeds``) and ``ensemble_files`` (as ``files``, no histories): the
    seed ensembles evaluated, with ``compare.ensemble``. ``selection`` (``experiment, model,
    resplit``) and ``selection_summaries`` (their ``summary.json``): the re-split runs of
    ``compare.selection``."""
    refs = {name: json.loads(Path(p).read_text()) for name, p in (baselines or {}).items()}
    if len(selection) != len(selection_summaries):
        raise ValueError("selection runs and their summaries must be parallel lists")
    resplit_runs = [
        {**r, "best_val_macro_f1": json.loads(Path(p).read_text())["best_val_macro_f1"]}
        for r, p in zip(selection, selection_summaries)
    ]
    comparison = _compare_with(
        runs,
        files,
        settings,
        settings.get("ladder") or [],
        refs,
        ensembles,
        ensemble_files,
        resplit_runs,
    )
    Path(out["json"]).write_text(json.dumps(comparison, indent=2) + "\n")
    Path(out["table"]).write_text(format_table(comparison) + "\n")
    Path(out["findings"]).write_text(findings_markdown(comparison))
    return comparison


def decision_file(
    runs: Sequence[Mapping[str, Any]],
    files: Mapping[str, Sequence[str]],
    settings: Mapping[str, Any],
    out_json: str,
) -> dict[str, Any]:
    """Workflow step (the ladder's checkpoint): the candidate's decision per model, from the
    baseline's and the candidate's runs, with the same rules as :func:`compare_files`."""
    comparison = _compare_with(runs, files, settings, (), None)
    decisions = decisions_only(comparison)
    Path(out_json).write_text(json.dumps(decisions, indent=2) + "\n")
    return decisions
