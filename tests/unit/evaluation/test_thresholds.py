"""Tests for the shrinkage and the detection report of jaxaudio.evaluation.thresholds.

References are worked out by hand in the comments; sklearn's f1_score cross-checks F1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from jaxaudio.evaluation.thresholds import (
    detections_at_thresholds,
    f1_at_thresholds,
    tune_thresholds,
)

# Five validation clips, species a (1 clip), b (4 clips), c (no clip):
#
#   clip  y   a    b    c
#   0     a  0.9  0.1  0.0
#   1     b  0.2  0.7  0.1
#   2     b  0.1  0.6  0.3
#   3     b  0.3  0.5  0.2
#   4     b  0.4  0.3  0.3
#
# a: its one positive scores 0.9, every negative <= 0.4 -> t_a = 0.9 (F1 = 1).
# b: positives 0.7, 0.6, 0.5, 0.3; the only negative 0.1 -> t_b = 0.3 (F1 = 1; at 0.1 it is 8/9).
# global (all 15 one-vs-rest decisions, 5 positives 0.9 0.7 0.6 0.5 0.3):
#   t = 0.6: TP 3, FP 0 -> F1 = 2*1*0.6/1.6 = 0.75
#   t = 0.5: TP 4, FP 0 -> F1 = 2*1*0.8/1.8 = 0.889   <- best
#   t = 0.4: TP 4, FP 1 -> F1 = 0.8
#   t = 0.3: TP 5, FP 4 (a 0.3, a 0.4, c 0.3, c 0.3) -> P = 5/9, R = 1, F1 = 10/14
# so t_g = 0.5.
SPECIES = ["a", "b", "c"]
Y_VAL = np.array([0, 1, 1, 1, 1])
P_VAL = np.array(
    [
        [0.9, 0.1, 0.0],
        [0.2, 0.7, 0.1],
        [0.1, 0.6, 0.3],
        [0.3, 0.5, 0.2],
        [0.4, 0.3, 0.3],
    ]
)


def test_unshrunk_hand_case():
    th = tune_thresholds(Y_VAL, P_VAL, SPECIES)
    assert th == {
        "per_species": {"a": pytest.approx(0.9), "b": pytest.approx(0.3), "c": pytest.approx(0.5)},
        "tuned": ["a", "b"],
        "global": pytest.approx(0.5),
    }


def test_shrinkage_hand_case_k2():
    # t_a = (1 * 0.9 + 2 * 0.5) / (1 + 2) = 1.9 / 3 = 0.6333...
    # t_b = (4 * 0.3 + 2 * 0.5) / (4 + 2) = 2.2 / 6 = 0.3666...
    # t_c = t_g = 0.5 (no clip)
    th = tune_thresholds(Y_VAL, P_VAL, SPECIES, prior_clips=2)
    assert th["per_species"] == {
        "a": pytest.approx(1.9 / 3),
        "b": pytest.approx(2.2 / 6),
        "c": pytest.approx(0.5),
    }
    assert th["global"] == pytest.approx(0.5)
    assert th["raw"] == {"a": pytest.approx(0.9), "b": pytest.approx(0.3)}
    assert th["n_val"] == {"a": 1, "b": 4, "c": 0}
    assert th["prior_clips"] == 2.0
    assert th["tuned"] == ["a", "b"]
    json.dumps(th)


def test_species_without_clips_gets_global_for_any_k():
    for k in (0, 0.5, 2, 100):
        th = tune_thresholds(Y_VAL, P_VAL, SPECIES, prior_clips=k)
        assert th["per_species"]["c"] == th["global"]


def test_large_k_tends_to_global_and_small_k_to_raw():
    big = tune_thresholds(Y_VAL, P_VAL, SPECIES, prior_clips=1e9)
    small = tune_thresholds(Y_VAL, P_VAL, SPECIES, prior_clips=1e-9)
    for s in SPECIES:
        assert big["per_species"][s] == pytest.approx(0.5, abs=1e-6)
    assert small["per_species"]["a"] == pytest.approx(0.9, abs=1e-6)
    assert small["per_species"]["b"] == pytest.approx(0.3, abs=1e-6)


def test_prior_clips_zero_is_exactly_the_old_output():
    rng = np.random.default_rng(3)
    species = ["a", "b", "c", "d"]
    y_val = rng.integers(0, 3, 40)  # "d" has no validation clip
    p_val = rng.dirichlet(np.ones(4), 40)
    p_val[np.arange(40), y_val] += 0.3 * rng.random(40)
    for y, p, sp in ((y_val, p_val, species), (Y_VAL, P_VAL, SPECIES)):
        old = tune_thresholds(y, p, sp)
        assert tune_thresholds(y, p, sp, prior_clips=0.0) == old
        assert tune_thresholds(y, p, sp, prior_clips=0) == old
        assert set(old) == {"per_species", "tuned", "global"}


def test_negative_or_nan_prior_clips_rejected():
    for k in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            tune_thresholds(Y_VAL, P_VAL, SPECIES, prior_clips=k)


# --------------------------------------------------------------------------
# detections_at_thresholds
# --------------------------------------------------------------------------

# 4 clips, 3 species, thresholds a 0.5, b 0.5, c 0.3:
#
#   clip  y   a    b    c    detected   TP       FP       FN
#   0     a  0.6  0.2  0.2   {a}        a        -        -
#   1     b  0.5  0.4  0.1   {a}        -        a        b
#   2     c  0.1  0.5  0.4   {b, c}     c        b        -
#   3     a  0.3  0.3  0.4   {c}        -        c        a
#
# TP 2, FP 3, FN 2: micro precision 2/5, micro recall 2/4, detections 5/4 per clip,
# recall_clips (true species detected) = clips 0 and 2 = 2/4, every clip has a detection.
# per species F1 = 2TP/(2TP+FP+FN): a 2/(2+1+1) = 1/2, b 0/(0+1+1) = 0, c 2/(2+1+0) = 2/3
# macro F1 = (1/2 + 0 + 2/3) / 3 = 7/18
Y4 = np.array([0, 1, 2, 0])
P4 = np.array([[0.6, 0.2, 0.2], [0.5, 0.4, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
T4 = {"per_species": {"a": 0.5, "b": 0.5, "c": 0.3}}


def test_detections_hand_case():
    d = detections_at_thresholds(Y4, P4, T4, SPECIES)
    assert d["micro_precision"] == pytest.approx(2 / 5)
    assert d["micro_recall"] == pytest.approx(2 / 4)
    assert d["macro_f1"] == pytest.approx(7 / 18)
    assert d["detections_per_clip"] == pytest.approx(5 / 4)
    assert d["recall_clips"] == pytest.approx(2 / 4)
    assert d["clips_with_detection"] == pytest.approx(1.0)
    assert (d["true_positives"], d["false_positives"], d["false_negatives"]) == (2, 3, 2)
    assert (d["n_clips"], d["n_detections"], d["n_species_with_clips"]) == (4, 5, 3)
    json.dumps(d)
    # the per-species F1 agree with f1_at_thresholds / sklearn
    f1 = f1_at_thresholds(Y4, P4, T4, SPECIES)
    np.testing.assert_allclose(f1, [1 / 2, 0.0, 2 / 3])
    assert d["macro_f1"] == pytest.approx(f1.mean())


def test_detections_macro_f1_skips_species_without_clips():
    # add species d with no clip and a score of 0.9 on clip 1: one more FP (precision 2/6),
    # one more detection (6/4 per clip), but d is not in the macro average
    p = np.column_stack([P4, [0.0, 0.9, 0.0, 0.0]])
    th = {"per_species": {**T4["per_species"], "d": 0.5}}
    d = detections_at_thresholds(Y4, p, th, [*SPECIES, "d"])
    assert d["macro_f1"] == pytest.approx(7 / 18)
    assert d["micro_precision"] == pytest.approx(2 / 6)
    assert d["detections_per_clip"] == pytest.approx(6 / 4)
    assert d["n_species_with_clips"] == 3
    assert d["micro_recall"] == d["recall_clips"]


def test_detections_without_any_detection():
    th = {"per_species": {"a": 1.0, "b": 1.0, "c": 1.0}}
    d = detections_at_thresholds(Y4, P4, th, SPECIES)
    assert d["micro_precision"] is None
    assert d["micro_recall"] == 0.0 and d["macro_f1"] == 0.0 and d["clips_with_detection"] == 0.0


def test_shrunk_thresholds_recover_recall_of_a_one_clip_species():
    # validation: a's single clip scores 0.9 -> raw t_a = 0.9; a test clip of a at 0.7 is
    # missed with the raw threshold but found with the shrunk one (k = 2: 0.633...)
    raw = tune_thresholds(Y_VAL, P_VAL, SPECIES)
    shrunk = tune_thresholds(Y_VAL, P_VAL, SPECIES, prior_clips=2)
    y = np.array([0])
    p = np.array([[0.7, 0.1, 0.0]])
    assert detections_at_thresholds(y, p, raw, SPECIES)["recall_clips"] == 0.0
    assert detections_at_thresholds(y, p, shrunk, SPECIES)["recall_clips"] == 1.0
    assert f1_score([True], [0.7 >= shrunk["per_species"]["a"]]) == 1.0


def test_background_clips_are_negatives_for_every_species():
    """Label C = 2 (background): an all-False truth row. Species 0's only positive scores 0.6;
    a background clip scoring 0.7 for it must push species 0's threshold above 0.7 (F1 1 at
    t in (0.6, 0.7] is impossible: the positive is below the negative), so the F1-best
    threshold is the positive's 0.6 with the background detected (F1 = 2/3), or above both
    (F1 = 0): 0.6 it is, and the background clip counts as a false detection there."""
    from jaxaudio.evaluation.thresholds import truth_matrix

    np.testing.assert_array_equal(
        truth_matrix(np.array([0, 2, 1]), 2), [[True, False], [False, False], [False, True]]
    )
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        truth_matrix(np.array([3]), 2)
    y = np.array([0, 1, 2])
    p = np.array([[0.6, 0.1], [0.1, 0.9], [0.7, 0.2]])
    t = tune_thresholds(y, p, ["a", "b"])
    assert t["per_species"]["a"] == pytest.approx(0.6)
    d = detections_at_thresholds(y, p, t, ["a", "b"])
    # clip 2 (background) draws species a: one detection per background clip
    assert d["background_detections_per_clip"] == 1.0
    assert d["recall_clips"] == 1.0  # both species clips found; the background clip is not one
    assert d["false_positives"] == 1


# Open set: the 4 clips above plus 3 unknown clips (label C = 3, a species held out of
# training) and 2 background clips (label 3 too), thresholds a 0.5, b 0.5, c 0.3:
#
#   clip  kind        a    b    c    detected
#   4     unknown    0.7  0.6  0.1   {a, b}     2
#   5     unknown    0.2  0.2  0.2   {}         0
#   6     unknown    0.1  0.1  0.35  {c}        1
#   7     background 0.5  0.1  0.3   {a, c}     2
#   8     background 0.1  0.1  0.1   {}         0
#
# unknown: 3 clips, 3 detections, 1 per clip, 2 of 3 clips with a detection. background:
# 2 detections on 2 clips of 5 s = 10 s of audio: 2 / (2 · 5 / 3600) = 720 per hour, 1 per clip.
# The known figures are those of clips 0–3 and the background clips: TP 2, FN 2 as above,
# FP 3 + 2 (the background's): precision 2/7, recall 2/4; 6 clips, 7 detections.
Y_OPEN = np.concatenate([Y4, [3, 3, 3, 3, 3]])
P_OPEN = np.vstack(
    [P4, [[0.7, 0.6, 0.1], [0.2, 0.2, 0.2], [0.1, 0.1, 0.35], [0.5, 0.1, 0.3], [0.1, 0.1, 0.1]]]
)
UNKNOWN = np.array([False] * 4 + [True] * 3 + [False] * 2)


def test_unknown_and_per_hour_figures_hand_case():
    d = detections_at_thresholds(Y_OPEN, P_OPEN, T4, SPECIES, unknown=UNKNOWN, clip_seconds=5.0)
    assert d["unknown_clips"] == 3
    assert d["unknown_detections"] == 3
    assert d["unknown_detections_per_clip"] == pytest.approx(1.0)
    assert d["unknown_clips_with_detection"] == pytest.approx(2 / 3)
    assert d["background_detections_per_clip"] == pytest.approx(1.0)
    assert d["background_detections_per_hour"] == pytest.approx(2 / (2 * 5 / 3600))  # 720
    assert d["background_detections_per_hour"] == pytest.approx(720.0)
    assert (d["true_positives"], d["false_positives"], d["false_negatives"]) == (2, 5, 2)
    assert d["micro_precision"] == pytest.approx(2 / 7)
    assert d["micro_recall"] == pytest.approx(2 / 4)
    assert (d["n_clips"], d["n_detections"]) == (6, 7)
    json.dumps(d, allow_nan=False)


def test_unknown_clips_are_not_background_clips():
    """Without the mask the same rows count as background (label C), with it they do not."""
    as_background = detections_at_thresholds(Y_OPEN, P_OPEN, T4, SPECIES)
    assert as_background["background_detections_per_clip"] == pytest.approx(5 / 5)
    assert "unknown_clips" not in as_background
    assert as_background["background_detections_per_hour"] is None  # no clip_seconds
    only_unknown = detections_at_thresholds(
        Y_OPEN[:7], P_OPEN[:7], T4, SPECIES, unknown=UNKNOWN[:7], clip_seconds=5.0
    )
    assert only_unknown["background_detections_per_clip"] is None
    assert only_unknown["background_detections_per_hour"] is None
    assert only_unknown["unknown_detections"] == 3
    none_unknown = detections_at_thresholds(Y4, P4, T4, SPECIES, unknown=np.zeros(4, bool))
    assert "unknown_clips" not in none_unknown  # only a split that has unknown clips


def test_unknown_mask_is_checked():
    with pytest.raises(ValueError, match="reserved label 3"):
        detections_at_thresholds(Y4, P4, T4, SPECIES, unknown=np.array([True, False, False, False]))
    with pytest.raises(ValueError, match="unknown must be"):
        detections_at_thresholds(Y4, P4, T4, SPECIES, unknown=np.zeros(3, bool))
    with pytest.raises(ValueError, match="clip_seconds must be > 0"):
        detections_at_thresholds(Y4, P4, T4, SPECIES, clip_seconds=0.0)
