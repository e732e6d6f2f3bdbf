"""The plan's GO / INVESTIGATE / NO-GO rules, every one of them, absolute and relative.

The Phase-1 plan's criteria, with precedence NO-GO, then INVESTIGATE, then GO, and every
reason that fired listed:

* **NO-GO / DEBUG** if macro-F1 < ``investigate_macro_f1``, or training failed or
  diverged (:func:`divergence`), or performance is **worse than the baseline**: the upper
  bound of the paired-bootstrap interval of Δ macro-F1 or of Δ accuracy is below 0
  (:mod:`jaxaudio.evaluation.bootstrap`).
* **INVESTIGATE** if ``investigate_macro_f1`` <= macro-F1 <= ``go_macro_f1``, or training
  was unstable (:func:`oscillation`, seeds disagreeing by more than ``max_seed_std``), or
  there is **no improvement for rare species**: the lower bound of the interval of Δ rare-F1
  is at or below 0 (an improvement must be told apart from test-set luck).
* **GO** if macro-F1 > ``go_macro_f1`` and accuracy > ``go_accuracy`` and rare-F1 >
  ``go_rare_f1`` and none of the above holds; a GO condition that fails on its own is an
  INVESTIGATE reason.

*Diverged* (a run that cannot be trusted at all) is kept apart from *unstable* (a run worth
a second look): a non-finite loss, no epoch recorded, or a last validation loss more than
``max_val_loss_growth`` times its lowest diverged; a validation macro-F1 that falls more
than ``max_val_f1_drop`` below the best it had reached is an oscillation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.evaluation.bootstrap import format_interval

#: The decision thresholds; config/config.yaml's ``compare.thresholds`` holds the same values
#: (a test checks), and a user's keys override them one by one.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "go_macro_f1": 0.25,
    "go_accuracy": 0.50,
    "go_rare_f1": 0.10,
    "investigate_macro_f1": 0.20,
    "max_val_loss_growth": 3.0,
    "max_val_f1_drop": 0.25,
    "max_seed_std": 0.05,
}
NO_GO, INVESTIGATE, GO = "NO-GO", "INVESTIGATE", "GO"


def divergence(history: pd.DataFrame, max_val_loss_growth: float) -> dict[str, Any]:
    """Whether one run's training failed or diverged: reasons, and the val-loss growth
    (last / lowest validation loss)."""
    reasons: list[str] = []
    growth = None
    if len(history) == 0:
        reasons.append("training failed: no epoch recorded")
    else:
        losses = history[["train_loss", "val_loss"]].to_numpy(dtype=float)
        bad = ~np.isfinite(losses).all(axis=1)
        if bad.any():
            reasons.append(f"non-finite loss at epoch {int(history['epoch'].to_numpy()[bad][0])}")
        else:
            low, last = float(history["val_loss"].min()), float(history["val_loss"].iloc[-1])
            growth = last / low if low > 0 else math.inf
            if growth > max_val_loss_growth:
                reasons.append(
                    f"val loss diverged: last {last:.3g} = {growth:.2f}x the lowest {low:.3g} "
                    f"(max_val_loss_growth {max_val_loss_growth:g})"
                )
    return {"diverged": bool(reasons), "val_loss_growth": growth, "reasons": reasons}


def oscillation(history: pd.DataFrame, max_val_f1_drop: float) -> dict[str, Any]:
    """The largest fall of validation macro-F1 below its running best, and whether it
    exceeds ``max_val_f1_drop`` (a run that found a good model and then lost it)."""
    f1 = history["val_macro_f1"].to_numpy(dtype=float) if len(history) else np.zeros(0)
    if len(f1) == 0 or not np.isfinite(f1).all():
        return {"max_drop": None, "unstable": False, "reasons": []}
    best = np.maximum.accumulate(f1)
    drop = best - f1
    k = int(drop.argmax())
    reasons = []
    if drop[k] > max_val_f1_drop:
        b = int(np.flatnonzero(f1[: k + 1] == best[k])[0])
        epochs = history["epoch"].to_numpy()
        reasons.append(
            f"val macro-F1 fell from {best[k]:.3f} (epoch {epochs[b]}) to {f1[k]:.3f} (epoch {epochs[k]}), "
            f"more than max_val_f1_drop {max_val_f1_drop:g}"
        )
    return {"max_drop": float(drop[k]), "unstable": bool(reasons), "reasons": reasons}


def seed_disagreement(per_seed_macro_f1: Sequence[float], max_seed_std: float) -> list[str]:
    """A reason when the seeds' test macro-F1 spread (sample std) is over ``max_seed_std``."""
    if len(per_seed_macro_f1) < 2:
        return []
    sd = float(np.std(per_seed_macro_f1, ddof=1))
    if sd > max_seed_std:
        return [
            f"seeds disagree: macro-F1 std {sd:.3f} over {len(per_seed_macro_f1)} seeds > max_seed_std "
            f"{max_seed_std:g}"
        ]
    return []


def _interval(ci: Mapping[str, Any]) -> str:
    return f"Δ {format_interval(ci)} ({100 * ci['confidence']:g} % paired-bootstrap interval)"


def _no_go_reasons(
    f1: float,
    t: Mapping[str, float],
    diverged: Sequence[str],
    intervals: Mapping[str, Mapping[str, Any]] | None,
) -> list[str]:
    """The plan's NO-GO rules: macro-F1 under ``investigate_macro_f1``, a diverged run, or
    worse than the baseline (the interval of macro-F1 or accuracy wholly below 0)."""
    out = []
    if f1 < t["investigate_macro_f1"]:
        out.append(f"macro-F1 {f1:.3f} < investigate_macro_f1 {t['investigate_macro_f1']:g}")
    out += list(diverged)
    for name, label in (("macro_f1", "macro-F1"), ("accuracy", "accuracy")):
        ci = (intervals or {}).get(name)
        if ci and ci["high"] is not None and ci["high"] < 0:
            out.append(f"worse than the baseline: {label} {_interval(ci)} lies below 0")
    return out


def _investigate_reasons(
    f1: float,
    acc: float,
    rare: float | None,
    t: Mapping[str, float],
    unstable: Sequence[str],
    intervals: Mapping[str, Mapping[str, Any]] | None,
) -> list[str]:
    """The plan's INVESTIGATE rules: macro-F1 between the two thresholds, unstable training,
    no improvement for rare species that the interval can show, accuracy or rare-F1 at or
    under its GO threshold."""
    out = []
    if t["investigate_macro_f1"] <= f1 <= t["go_macro_f1"]:
        out.append(
            f"macro-F1 {f1:.3f} between investigate_macro_f1 {t['investigate_macro_f1']:g} and "
            f"go_macro_f1 {t['go_macro_f1']:g}"
        )
    out += list(unstable)
    if intervals is not None:
        ci = intervals.get("rare_f1")
        if not ci or ci["low"] is None:
            out.append(
                "no improvement for rare species can be shown: no rare species with test clips"
            )
        elif ci["low"] <= 0:
            out.append(
                f"no improvement for rare species: rare-F1 {_interval(ci)} reaches 0 or below"
            )
    if not acc > t["go_accuracy"]:
        out.append(f"accuracy {acc:.3f} <= go_accuracy {t['go_accuracy']:g}")
    if rare is None or not rare > t["go_rare_f1"]:
        shown = "undefined" if rare is None else f"{rare:.3f}"
        out.append(f"rare-species F1 {shown} <= go_rare_f1 {t['go_rare_f1']:g}")
    return out


def decide(
    metrics: Mapping[str, Any],
    thresholds: Mapping[str, float],
    diverged: Sequence[str] = (),
    unstable: Sequence[str] = (),
    intervals: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[str, list[dict[str, str]]]:
    """The decision for one experiment and every reason that fired, ``{level, reason}``.

    ``metrics``: the mean test metrics over seeds (``macro_f1``, ``accuracy``, ``rare_f1``);
    ``diverged``/``unstable``: the reasons found in its runs; ``intervals``: the paired
    bootstrap of (this experiment - the baseline) from :func:`jaxaudio.evaluation.bootstrap.paired_bootstrap`,
    ``None`` for the baseline itself (no relative rule applies).
    """
    t = {**DEFAULT_THRESHOLDS, **thresholds}
    f1, acc, rare = metrics["macro_f1"], metrics["accuracy"], metrics.get("rare_f1")
    reasons = [
        {"level": NO_GO, "reason": r} for r in _no_go_reasons(f1, t, diverged, intervals)
    ] + [
        {"level": INVESTIGATE, "reason": r}
        for r in _investigate_reasons(f1, acc, rare, t, unstable, intervals)
    ]
    levels = {r["level"] for r in reasons}
    if NO_GO in levels:
        return NO_GO, reasons
    if INVESTIGATE in levels:
        return INVESTIGATE, reasons
    passed = (
        f"macro-F1 {f1:.3f} > {t['go_macro_f1']:g}, accuracy {acc:.3f} > {t['go_accuracy']:g}, rare-F1 "
        f"{rare:.3f} > {t['go_rare_f1']:g}, training stable"
    )
    if intervals is not None:
        passed += f"; rare species improved: {_interval(intervals['rare_f1'])}"
    return GO, [{"level": GO, "reason": passed}]
