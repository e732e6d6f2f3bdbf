"""Every decision rule of the plan on hand-made metrics, one test each, and their precedence."""

import numpy as np
import pandas as pd
import pytest

from jaxaudio.evaluation.decision import (
    DEFAULT_THRESHOLDS,
    decide,
    divergence,
    oscillation,
    seed_disagreement,
)

GOOD = {"macro_f1": 0.6, "accuracy": 0.7, "rare_f1": 0.4}
T = DEFAULT_THRESHOLDS


def ci(delta, low, high):
    return {"delta": delta, "low": low, "high": high, "confidence": 0.95, "n_resamples": 2000}


BETTER = {
    "macro_f1": ci(0.1, 0.05, 0.15),
    "accuracy": ci(0.05, 0.01, 0.09),
    "rare_f1": ci(0.2, 0.1, 0.3),
}


def levels(reasons):
    return [r["level"] for r in reasons]


def test_go_when_every_condition_holds():
    decision, reasons = decide(GOOD, T, intervals=BETTER)
    assert (
        decision == "GO" and len(reasons) == 1 and "rare species improved" in reasons[0]["reason"]
    )


def test_no_go_below_the_investigate_threshold():
    decision, reasons = decide({**GOOD, "macro_f1": 0.19}, T, intervals=BETTER)
    assert (
        decision == "NO-GO" and "macro-F1 0.190 < investigate_macro_f1 0.2" in reasons[0]["reason"]
    )


def test_no_go_when_training_diverged():
    decision, reasons = decide(GOOD, T, diverged=["non-finite loss at epoch 3"], intervals=BETTER)
    assert decision == "NO-GO" and reasons == [
        {"level": "NO-GO", "reason": "non-finite loss at epoch 3"}
    ]


@pytest.mark.parametrize("metric", ["macro_f1", "accuracy"])
def test_no_go_when_worse_than_the_baseline(metric):
    """The plan's relative rule: the whole interval of the difference below 0."""
    worse = {**BETTER, metric: ci(-0.03, -0.05, -0.01)}
    decision, reasons = decide(GOOD, T, intervals=worse)
    assert decision == "NO-GO"
    assert any(
        r["level"] == "NO-GO" and r["reason"].startswith("worse than the baseline") for r in reasons
    )


def test_an_interval_reaching_zero_is_not_worse():
    decision, _ = decide(GOOD, T, intervals={**BETTER, "macro_f1": ci(-0.02, -0.05, 0.01)})
    assert decision == "GO"


def test_investigate_between_the_thresholds():
    decision, reasons = decide({**GOOD, "macro_f1": 0.22}, T, intervals=BETTER)
    assert decision == "INVESTIGATE" and "between investigate_macro_f1" in reasons[0]["reason"]


def test_investigate_when_training_unstable():
    decision, reasons = decide(GOOD, T, unstable=["seeds disagree: ..."], intervals=BETTER)
    assert decision == "INVESTIGATE" and reasons == [
        {"level": "INVESTIGATE", "reason": "seeds disagree: ..."}
    ]


def test_investigate_without_an_improvement_for_rare_species():
    """The plan's other relative rule: the lower bound of Δ rare-F1 at or below 0."""
    for low in (0.0, -0.02):
        decision, reasons = decide(GOOD, T, intervals={**BETTER, "rare_f1": ci(0.03, low, 0.08)})
        assert decision == "INVESTIGATE"
        assert reasons[0]["reason"].startswith("no improvement for rare species: rare-F1 Δ +0.030")


@pytest.mark.parametrize(
    "change, text",
    [
        ({"accuracy": 0.5}, "accuracy 0.500 <= go_accuracy 0.5"),
        ({"rare_f1": 0.05}, "rare-species F1 0.050 <= go_rare_f1 0.1"),
        ({"rare_f1": None}, "rare-species F1 undefined"),
    ],
)
def test_a_go_condition_failing_alone_is_investigate(change, text):
    decision, reasons = decide({**GOOD, **change}, T, intervals=BETTER)
    assert decision == "INVESTIGATE" and text in reasons[0]["reason"]


def test_precedence_and_every_reason_listed():
    worse = {
        "macro_f1": ci(-0.1, -0.2, -0.05),
        "accuracy": ci(0.0, -0.01, 0.01),
        "rare_f1": ci(-0.1, -0.2, 0.0),
    }
    decision, reasons = decide(
        {**GOOD, "accuracy": 0.4},
        T,
        diverged=["val loss diverged"],
        unstable=["oscillating"],
        intervals=worse,
    )
    assert decision == "NO-GO"
    assert levels(reasons) == ["NO-GO", "NO-GO", "INVESTIGATE", "INVESTIGATE", "INVESTIGATE"]


def test_the_baseline_itself_is_judged_on_absolute_rules_only():
    assert decide(GOOD, T, intervals=None) == (
        "GO",
        [
            {
                "level": "GO",
                "reason": "macro-F1 0.600 > 0.25, accuracy 0.700 > 0.5, rare-F1 0.400 > 0.1, training stable",
            }
        ],
    )


def history(val_loss, val_f1, train_loss=None):
    n = len(val_loss)
    return pd.DataFrame(
        {
            "epoch": np.arange(1, n + 1),
            "train_loss": train_loss or [1.0] * n,
            "val_loss": val_loss,
            "val_acc": [0.5] * n,
            "val_macro_f1": val_f1,
        }
    )


def test_divergence_is_non_finite_loss_or_val_loss_growth():
    assert not divergence(history([1.0, 0.8, 0.9], [0.1, 0.2, 0.2]), 3.0)["diverged"]
    d = divergence(history([1.0, 0.5, 1.6], [0.1, 0.2, 0.2]), 3.0)
    assert (
        d["diverged"]
        and d["val_loss_growth"] == pytest.approx(3.2)
        and "3.20x the lowest 0.5" in d["reasons"][0]
    )
    assert divergence(history([1.0, float("nan")], [0.1, 0.2]), 3.0)["reasons"] == [
        "non-finite loss at epoch 2"
    ]
    assert divergence(history([], []), 3.0)["reasons"] == ["training failed: no epoch recorded"]


def test_oscillation_is_a_fall_below_the_running_best():
    calm = oscillation(history([1] * 5, [0.2, 0.5, 0.45, 0.55, 0.5]), 0.25)
    assert not calm["unstable"] and calm["max_drop"] == pytest.approx(0.05)
    o = oscillation(history([1] * 5, [0.2, 0.6, 0.3, 0.62, 0.61]), 0.25)
    assert o["unstable"] and o["max_drop"] == pytest.approx(0.3)
    assert o["reasons"] == [
        "val macro-F1 fell from 0.600 (epoch 2) to 0.300 (epoch 3), more than max_val_f1_drop 0.25"
    ]


def test_seed_disagreement_uses_the_sample_std():
    assert seed_disagreement([0.5], 0.05) == []
    assert seed_disagreement([0.50, 0.52, 0.54], 0.05) == []
    (reason,) = seed_disagreement([0.4, 0.5, 0.6], 0.05)
    assert (
        "std 0.100 over 3 seeds > max_seed_std 0.05" in reason
    )  # np.std([.4, .5, .6], ddof=1) = 0.1
