"""Decision rules and the comparison document, on hand-made metrics."""

import numpy as np
import pandas as pd
import pytest

from jaxaudio.compare import compare_runs, decide, format_table, training_stability

T = {"go_macro_f1": 0.25, "go_accuracy": 0.5, "go_rare_f1": 0.1, "investigate_macro_f1": 0.2, "max_val_loss_growth": 3.0}
LADDER = [{"rung": "weights only", "experiment": "weights_only"}, {"rung": "lower learning rate", "experiment": "lower_lr"}]


def history(val_losses):
    n = len(val_losses)
    return pd.DataFrame({"epoch": range(1, n + 1), "train_loss": np.linspace(2, 1, n), "val_loss": val_losses,
                         "val_acc": np.linspace(0.1, 0.5, n), "val_macro_f1": np.linspace(0.1, 0.4, n)})


def metrics(acc, f1, rare):
    return {"accuracy": acc, "macro_f1": f1, "weighted_f1": f1, "balanced_accuracy": acc, "top_k_accuracy": 0.9, "rare_f1": rare}


def test_decision_thresholds():
    assert decide(metrics(0.6, 0.30, 0.2), True, T)[0] == "GO"
    assert decide(metrics(0.6, 0.22, 0.2), True, T)[0] == "INVESTIGATE"
    assert decide(metrics(0.6, 0.19, 0.2), True, T)[0] == "NO-GO"
    # above the macro-F1 bar but another condition fails -> INVESTIGATE with that reason
    d, why = decide(metrics(0.45, 0.30, 0.2), True, T)
    assert d == "INVESTIGATE" and any("accuracy" in r for r in why)
    d, why = decide(metrics(0.6, 0.30, 0.05), True, T)
    assert d == "INVESTIGATE" and any("rare" in r for r in why)
    assert decide(metrics(0.6, 0.30, 0.2), False, T)[0] == "INVESTIGATE"
    assert decide(metrics(0.6, 0.25, 0.2), True, T)[0] == "INVESTIGATE"  # strict ">"


def test_stability():
    assert training_stability(history([2.0, 1.5, 1.2, 1.4]), 3.0)["stable"]
    s = training_stability(history([2.0, 1.0, 2.5, 3.5]), 3.0)  # 3.5 / 1.0 > 3
    assert not s["stable"] and s["val_loss_growth"] == 3.5
    assert not training_stability(history([2.0, float("nan")]), 3.0)["stable"]


def test_comparison_document_with_rollback():
    ok = history([2.0, 1.5, 1.2])
    runs = [
        {"experiment": "baseline_v1", "model": "cnn", "metrics": metrics(0.40, 0.11, 0.0), "history": ok},
        {"experiment": "v2", "model": "cnn", "metrics": metrics(0.55, 0.21, 0.12), "history": ok},
        {"experiment": "weights_only", "model": "cnn", "metrics": metrics(0.50, 0.19, 0.1), "history": ok},
        {"experiment": "baseline_v1", "model": "vit", "metrics": metrics(0.40, 0.11, 0.0), "history": ok},
        {"experiment": "v2", "model": "vit", "metrics": metrics(0.70, 0.40, 0.30), "history": ok},
    ]
    c = compare_runs(runs, "baseline_v1", "v2", T, LADDER)
    cnn, vit = c["models"]["cnn"], c["models"]["vit"]
    assert cnn["decision"] == "INVESTIGATE" and vit["decision"] == "GO"
    assert c["decision"] == "INVESTIGATE"
    assert abs(cnn["experiments"]["v2"]["delta_vs_baseline"]["macro_f1"] - 0.10) < 1e-12
    assert vit["rollback"] is None
    rungs = {r["experiment"]: r for r in cnn["rollback"]}
    assert rungs["weights_only"]["ran"] and rungs["weights_only"]["decision"] == "NO-GO"
    assert not rungs["lower_lr"]["ran"] and "metrics" not in rungs["lower_lr"]
    assert {(r["model"], r["experiment"]) for r in c["table"]} == {(r["model"], r["experiment"]) for r in runs}


def test_baseline_rows_and_beats_baselines():
    ok = history([2.0, 1.5, 1.2])
    runs = [
        {"experiment": "baseline_v1", "model": "cnn", "metrics": metrics(0.80, 0.70, 0.60), "history": ok},
        {"experiment": "v2", "model": "cnn", "metrics": metrics(0.85, 0.83, 0.83), "history": ok},
    ]
    refs = {"logreg": metrics(0.84, 0.82, 0.80), "logreg_balanced": metrics(0.84, 0.825, 0.81)}
    c = compare_runs(runs, "baseline_v1", "v2", T, LADDER, refs)
    exps = c["models"]["cnn"]["experiments"]
    assert exps["v2"]["beats_baselines"] is True  # 0.83 > 0.825 and 0.83 > 0.81
    assert exps["baseline_v1"]["beats_baselines"] is False
    rows = {(r["model"], r["experiment"]): r for r in c["table"]}
    assert rows[("sklearn", "logreg_balanced")]["decision"] == "reference"
    assert rows[("sklearn", "logreg")]["macro_f1"] == 0.82
    # equal is not better: rare-F1 0.81 against a baseline's 0.81
    tie = compare_runs([runs[0], {**runs[1], "metrics": metrics(0.85, 0.83, 0.81)}], "baseline_v1", "v2", T, LADDER, refs)
    assert tie["models"]["cnn"]["experiments"]["v2"]["beats_baselines"] is False
    assert "yes" in format_table(c) and "reference" in format_table(c)
    assert compare_runs(runs, "baseline_v1", "v2", T, LADDER)["models"]["cnn"]["experiments"]["v2"]["beats_baselines"] is None


def test_seeds_are_summarised_as_mean_and_sample_std():
    ok, bad = history([2.0, 1.5, 1.2]), history([1.0, 2.0, 4.0])  # 4.0 / 1.0 > 3: diverged
    runs = [
        {"experiment": "baseline_v1", "model": "cnn", "seed": 0, "metrics": metrics(0.40, 0.20, 0.10), "history": ok},
        {"experiment": "baseline_v1", "model": "cnn", "seed": 1, "metrics": metrics(0.50, 0.30, 0.20), "history": ok},
        {"experiment": "v2", "model": "cnn", "seed": 0, "metrics": metrics(0.60, 0.40, 0.30), "history": ok},
        {"experiment": "v2", "model": "cnn", "seed": 1, "metrics": metrics(0.70, 0.50, None), "history": ok},
        {"experiment": "v2", "model": "cnn", "seed": 2, "metrics": metrics(0.80, 0.60, 0.50), "history": bad},
    ]
    c = compare_runs(runs, "baseline_v1", "v2", T, LADDER)
    v2 = c["models"]["cnn"]["experiments"]["v2"]
    assert v2["n_seeds"] == 3 and set(v2["seeds"]) == {"0", "1", "2"}
    assert v2["metrics"]["macro_f1"] == pytest.approx(0.5)
    assert v2["std"]["macro_f1"] == pytest.approx(np.std([0.4, 0.5, 0.6], ddof=1))  # 0.1
    assert v2["metrics"]["rare_f1"] is None  # one seed without it: no mean over fewer seeds
    assert v2["delta_vs_baseline"]["macro_f1"] == pytest.approx(0.5 - 0.25)
    # one diverged seed makes the experiment unstable
    assert not v2["stability"]["stable"] and not v2["stability"]["per_seed"]["2"]["stable"]
    assert v2["decision"] == "INVESTIGATE"
    text = format_table(c)
    assert "0.500±0.100" in text and "mean ± sample std" in text
