"""The comparison document on hand-made predictions: the plan's keys, relative decisions with
their intervals, the analysis, the ladder's outcome and the recommendation on validation."""

import numpy as np
import pandas as pd
import pytest

from jaxaudio.evaluation.compare import compare_runs, format_table
from jaxaudio.evaluation.findings import findings_markdown
from jaxaudio.evaluation.metrics import evaluate_predictions

SPECIES = [f"sp{i}" for i in range(6)]
TRAIN = {"sp0": 40, "sp1": 30, "sp2": 20, "sp3": 10, "sp4": 3, "sp5": 2}  # rare (q=0.25): sp4, sp5
T = {}  # the defaults
LADDER = [
    {"rung": "weights only", "experiment": "weights_only"},
    {"rung": "lower learning rate", "experiment": "lower_lr"},
]
Y = np.repeat(np.arange(6), 20)  # 120 test clips, 20 per species


def history(val_f1=(0.1, 0.3, 0.4), val_loss=None):
    n = len(val_f1)
    val_loss = np.linspace(2.0, 1.2, n) if val_loss is None else val_loss
    return pd.DataFrame(
        {
            "epoch": range(1, n + 1),
            "train_loss": np.linspace(2, 1, n),
            "val_loss": val_loss,
            "val_acc": np.linspace(0.1, 0.5, n),
            "val_macro_f1": val_f1,
        }
    )


def predictions(right: dict[int, float], seed=0):
    """Predicted labels: for species c a share right[c] (default 0.8) correct, the rest -> next species."""
    rng = np.random.default_rng(seed)
    out = Y.copy()
    for c in range(6):
        rows = np.flatnonzero(Y == c)
        wrong = rng.permutation(rows)[: int(round((1 - right.get(c, 0.8)) * len(rows)))]
        out[wrong] = (c + 1) % 6
    return out


def run(exp, y_pred, model="cnn", seed=0, hist=None):
    ev = evaluate_predictions(Y, np.eye(6)[y_pred], SPECIES, TRAIN)
    return {
        "experiment": exp,
        "model": model,
        "seed": seed,
        "metrics": ev.metrics,
        "history": hist if hist is not None else history(),
        "per_class": ev.per_class,
        "species": SPECIES,
        "confusion": ev.confusion,
        "y_test": Y,
        "y_pred": y_pred,
    }


def test_plan_report_keys_and_deltas():
    base, cand = predictions({4: 0.3, 5: 0.3}), predictions({4: 0.9, 5: 0.9})
    c = compare_runs(
        [run("baseline_v1", base), run("v2", cand)], "baseline_v1", "v2", T, n_resamples=500
    )
    m = c["models"]["cnn"]
    b_m, c_m = run("baseline_v1", base)["metrics"], run("v2", cand)["metrics"]
    assert m["baseline_v1"] == {"accuracy": b_m["accuracy"], "f1_macro": b_m["macro_f1"]}
    assert m["baseline_v2"] == {"accuracy": c_m["accuracy"], "f1_macro": c_m["macro_f1"]}
    imp = m["improvements"]
    assert imp["f1_macro_delta"] == pytest.approx(c_m["macro_f1"] - b_m["macro_f1"])
    assert imp["accuracy_delta"] == pytest.approx(c_m["accuracy"] - b_m["accuracy"])
    assert imp["relative_improvement_pct"] == pytest.approx(
        100 * imp["f1_macro_delta"] / b_m["macro_f1"]
    )
    assert (
        m["decision"] == "GO"
    )  # rare species 0.3 -> 0.9 correct: the whole Δ rare-F1 interval above 0
    ci = m["experiments"]["v2"]["intervals"]["rare_f1"]
    assert ci["low"] > 0 and ci["delta"] == pytest.approx(c_m["rare_f1"] - b_m["rare_f1"])


def test_a_candidate_worse_than_the_baseline_is_no_go_although_above_every_threshold():
    """The birdsounds-dev case: absolute thresholds all passed, but worse than the baseline."""
    base, cand = predictions({c: 0.95 for c in range(6)}), predictions({c: 0.75 for c in range(6)})
    c = compare_runs(
        [run("baseline_v1", base), run("v2", cand)], "baseline_v1", "v2", T, n_resamples=500
    )
    m = c["models"]["cnn"]
    assert m["baseline_v2"]["f1_macro"] > 0.7 and m["decision"] == "NO-GO"
    assert any(
        r["level"] == "NO-GO" and r["reason"].startswith("worse than the baseline: macro-F1")
        for r in m["reasons"]
    )
    assert m["experiments"]["v2"]["intervals"]["accuracy"]["high"] < 0


def test_an_identical_candidate_has_intervals_around_zero_and_no_rare_improvement():
    p = predictions({})
    c = compare_runs(
        [run("baseline_v1", p), run("v2", p.copy())], "baseline_v1", "v2", T, n_resamples=300
    )
    m = c["models"]["cnn"]
    for ci in m["experiments"]["v2"]["intervals"].values():
        assert ci["low"] <= 0 <= ci["high"]
    assert m["decision"] == "INVESTIGATE"
    assert [r["reason"][:35] for r in m["reasons"]] == ["no improvement for rare species: ra"]
    assert (
        m["experiments"]["baseline_v1"]["intervals"] is None
    )  # the baseline is not judged against itself


def test_divergence_unstable_seeds_and_the_seed_summary():
    base = [run("baseline_v1", predictions({}, s), seed=s) for s in (0, 1)]
    good = predictions({4: 1.0, 5: 1.0})
    diverged = history(val_loss=(1.0, 2.0, 4.0))  # 4.0 / 1.0 > 3
    cand = [run("v2", good, seed=0), run("v2", good, seed=1, hist=diverged)]
    c = compare_runs(base + cand, "baseline_v1", "v2", T, n_resamples=300)
    v2 = c["models"]["cnn"]["experiments"]["v2"]
    assert v2["n_seeds"] == 2 and v2["std"]["macro_f1"] == 0.0
    assert v2["stability"]["per_seed"]["1"]["diverged"] and not v2["stability"]["stable"]
    assert v2["decision"] == "NO-GO" and v2["reasons"][0]["reason"].startswith(
        "seed 1: val loss diverged"
    )
    oscillating = history(val_f1=(0.2, 0.7, 0.3))
    c = compare_runs(
        base + [cand[0], run("v2", good, seed=1, hist=oscillating)],
        "baseline_v1",
        "v2",
        T,
        n_resamples=300,
    )
    v2 = c["models"]["cnn"]["experiments"]["v2"]
    assert (
        v2["decision"] == "INVESTIGATE"
        and "seed 1: val macro-F1 fell from 0.700" in v2["reasons"][0]["reason"]
    )


def test_analysis_of_rare_species_and_confusions():
    base, cand = predictions({4: 0.5, 5: 0.9}), predictions({4: 0.9, 5: 0.5})
    c = compare_runs(
        [run("baseline_v1", base), run("v2", cand)], "baseline_v1", "v2", T, n_resamples=200
    )
    rare = {r["species"]: r for r in c["models"]["cnn"]["analysis"]["rare_species"]}
    assert set(rare) == {"sp4", "sp5"} and rare["sp4"]["train_count"] == 3
    pc_b, pc_c = (
        run("baseline_v1", base)["per_class"].set_index("species"),
        run("v2", cand)["per_class"].set_index("species"),
    )
    assert (
        rare["sp4"]["delta"] == pytest.approx(pc_c.loc["sp4", "f1"] - pc_b.loc["sp4", "f1"])
        and rare["sp4"]["delta"] > 0
    )
    assert rare["sp5"]["delta"] < 0
    pairs = {
        (p["true"], p["predicted"]): p["delta"]
        for p in c["models"]["cnn"]["analysis"]["confusion_changes"]
    }
    assert pairs[("sp4", "sp5")] == -8 and pairs[("sp5", "sp0")] == 8  # 10 -> 2 and 2 -> 10 clips


def test_ladder_outcome_names_the_first_rung_that_reaches_go():
    base = predictions({4: 0.3, 5: 0.3})
    runs = [
        run("baseline_v1", base),
        run("v2", base.copy()),
        run("weights_only", base.copy()),
        run("lower_lr", predictions({4: 1.0, 5: 1.0})),
    ]
    ladder = compare_runs(runs, "baseline_v1", "v2", T, LADDER, n_resamples=300)["models"]["cnn"][
        "ladder"
    ]
    assert [(r["experiment"], r["decision"]) for r in ladder["rungs"]] == [
        ("weights_only", "INVESTIGATE"),
        ("lower_lr", "GO"),
    ]
    assert ladder["first_go"] == {"rung": "lower learning rate", "experiment": "lower_lr"}
    none = compare_runs(runs[:3], "baseline_v1", "v2", T, LADDER, n_resamples=300)["models"]["cnn"][
        "ladder"
    ]
    assert none["first_go"] is None and none["rungs"][1] == {
        "rung": "lower learning rate",
        "experiment": "lower_lr",
        "ran": False,
    }
    text = format_table(compare_runs(runs[:3], "baseline_v1", "v2", T, LADDER, n_resamples=300))
    assert "no rung reached GO" in text and "weights_only (ladder)" in text
    # compare.ladder_mode: never: the rungs are declared but none ran; not "none reached GO"
    unrun = format_table(compare_runs(runs[:2], "baseline_v1", "v2", T, LADDER, n_resamples=300))
    assert "ladder: no rung has run (compare.ladder_mode)" in unrun
    assert "no rung reached GO" not in unrun


def test_recommendation_is_the_best_mean_validation_score_never_test():
    """v3 has the best test scores but not the best mean validation macro-F1: not chosen."""
    p = predictions({})
    runs = [run("baseline_v1", p, seed=s, hist=history(val_f1=(0.1, 0.50))) for s in (0, 1)]
    runs += [
        run("v2", p, seed=0, hist=history(val_f1=(0.1, 0.70))),
        run("v2", p, seed=1, hist=history(val_f1=(0.1, 0.50))),
    ]
    best_test = predictions({c: 1.0 for c in range(6)})
    runs += [run("v3", best_test, seed=s, hist=history(val_f1=(0.1, 0.55))) for s in (0, 1)]
    c = compare_runs(runs, "baseline_v1", "v2", T, n_resamples=200)
    rec = c["recommended"]
    assert (rec["experiment"], rec["model"], rec["seed"]) == (
        "v2",
        "cnn",
        "0",
    )  # mean 0.60 > 0.55 > 0.50
    assert rec["mean_val_macro_f1"] == pytest.approx(0.60) and "never used to choose" in rec["rule"]
    assert rec["candidates"] == {
        "baseline_v1/cnn": 0.5,
        "v2/cnn": pytest.approx(0.6),
        "v3/cnn": pytest.approx(0.55),
    }
    tied = runs[:2] + [run("v2", p, seed=s, hist=history(val_f1=(0.1, 0.50))) for s in (0, 1)]
    assert (
        compare_runs(tied, "baseline_v1", "v2", T, n_resamples=100)["recommended"]["experiment"]
        == "baseline_v1"
    )
    md = findings_markdown(c)
    assert "**Recommended configuration: v2 / cnn**" in md and "**Decision: INVESTIGATE**" in md


def test_reference_baselines_and_beats_baselines():
    base, cand = predictions({}), predictions({c: 0.95 for c in range(6)})
    b, cm = run("baseline_v1", base), run("v2", cand)
    refs = {
        "logreg": {
            "accuracy": 0.8,
            "macro_f1": cm["metrics"]["macro_f1"] - 0.01,
            "rare_f1": cm["metrics"]["rare_f1"] - 0.01,
        }
    }
    c = compare_runs([b, cm], "baseline_v1", "v2", T, (), refs, n_resamples=200)
    exps = c["models"]["cnn"]["experiments"]
    assert exps["v2"]["beats_baselines"] is True and exps["baseline_v1"]["beats_baselines"] is False
    tie = {"logreg": {**refs["logreg"], "rare_f1": cm["metrics"]["rare_f1"]}}  # equal is not better
    assert (
        compare_runs([b, cm], "baseline_v1", "v2", T, (), tie, n_resamples=200)["models"]["cnn"][
            "experiments"
        ]["v2"]["beats_baselines"]
        is False
    )
    rows = {(r["model"], r["experiment"]): r for r in c["table"]}
    assert rows[("sklearn", "logreg")]["decision"] == "reference"
    text = format_table(c)
    assert "reference" in text and "dMacroF1 [95% CI]" in text


def ensemble(exp, y_pred, val_f1, model="cnn"):
    """A seed ensemble's record as the compare rule loads it: a run's evaluation files, no
    seed and no history, its validation macro-F1 in ``metrics.json`` ``validation``."""
    r = run(exp, y_pred, model=model)
    r.pop("seed"), r.pop("history")
    r["metrics"] = {**r["metrics"], "validation": {"macro_f1": val_f1, "accuracy": val_f1}}
    return r


def test_a_seed_ensemble_is_a_row_judged_by_the_rules_and_a_candidate_on_its_validation():
    """v2's ensemble: its own metrics (no spread), its members' training checks, an interval
    against the baseline; it is recommended when its validation macro-F1 beats every mean
    over seeds, and never on a test number."""
    p = predictions({})
    runs = [run("baseline_v1", p, seed=s, hist=history(val_f1=(0.1, 0.50))) for s in (0, 1)]
    runs += [run("v2", p, seed=s, hist=history(val_f1=(0.1, 0.60))) for s in (0, 1)]
    perfect = predictions({c: 1.0 for c in range(6)})
    ens = [ensemble("v2", perfect, 0.65), ensemble("baseline_v1", perfect, 0.55)]
    c = compare_runs(runs, "baseline_v1", "v2", T, n_resamples=200, ensembles=ens)
    e = c["models"]["cnn"]["ensembles"]["v2"]
    assert e["metrics"]["macro_f1"] == pytest.approx(1.0) and e["n_seeds"] == 2
    assert e["seeds"] == [0, 1] and e["mean_val_macro_f1"] == pytest.approx(0.65)
    assert e["stability"]["per_seed"].keys() == {"0", "1"}  # the members' curves
    assert e["intervals"]["macro_f1"]["low"] > 0  # perfect vs 0.8 correct on the same clips
    rec = c["recommended"]
    assert (rec["experiment"], rec["ensemble"], rec["seeds"]) == ("v2", True, [0, 1])
    assert rec["candidates"]["v2/cnn/ensemble"] == pytest.approx(0.65)
    assert rec["candidates"]["v2/cnn"] == pytest.approx(0.60)
    rows = [(r["experiment"], r["ensemble"]) for r in c["table"] if r["model"] == "cnn"]
    assert rows == [("baseline_v1", False), ("v2", False), ("v2", True), ("baseline_v1", True)]
    assert "v2 (ensemble)" in format_table(c) and "v2 (ensemble)" in findings_markdown(c)
    # an ensemble no better on validation than the best mean over seeds is not chosen, however
    # good its test scores (a tie goes to the single model)
    tie = [ensemble("v2", perfect, 0.60)]
    rec = compare_runs(runs, "baseline_v1", "v2", T, n_resamples=100, ensembles=tie)["recommended"]
    assert (rec["experiment"], rec["ensemble"], rec["seed"]) == ("v2", False, "0")


def test_with_re_splits_the_recommendation_ranks_their_mean_and_deploys_the_ensemble():
    """v2 is best on the given split (0.70) but baseline_v1 on the mean of 3 re-splits
    (0.60 against 0.55): re-splits decide, and baseline_v1's ensemble is what gets deployed."""
    p = predictions({})
    runs = [run("baseline_v1", p, seed=s, hist=history(val_f1=(0.1, 0.50))) for s in (0, 1)]
    runs += [run("v2", p, seed=s, hist=history(val_f1=(0.1, 0.70))) for s in (0, 1)]
    sel = [
        {"experiment": e, "model": "cnn", "resplit": k, "best_val_macro_f1": v}
        for e, vals in (("baseline_v1", (0.62, 0.58, 0.60)), ("v2", (0.50, 0.60, 0.55)))
        for k, v in enumerate(vals)
    ]
    ens = [ensemble("baseline_v1", p, 0.4)]
    c = compare_runs(runs, "baseline_v1", "v2", T, n_resamples=100, ensembles=ens, selection=sel)
    rec = c["recommended"]
    assert (rec["experiment"], rec["ensemble"], rec["seeds"]) == ("baseline_v1", True, [0, 1])
    assert rec["selection"]["baseline_v1/cnn"]["per_split"] == [0.62, 0.58, 0.60]
    assert rec["selection"]["baseline_v1/cnn"]["mean"] == pytest.approx(0.60)
    assert rec["selection"]["v2/cnn"]["std"] == pytest.approx(np.std([0.50, 0.60, 0.55], ddof=1))
    assert "3 seeded re-splits" in rec["rule"] and "never used to choose" in rec["rule"]
    text = format_table(c)
    assert "best mean over 3 re-splits" in text and "v2/cnn: 0.550 ± 0.050" in text
    assert "0.600 ± 0.020 over 3 re-splits of train + val" in findings_markdown(c)
    # without re-splits the same runs recommend v2 (its own validation split)
    assert (
        compare_runs(runs, "baseline_v1", "v2", T, n_resamples=100)["recommended"]["experiment"]
        == "v2"
    )
