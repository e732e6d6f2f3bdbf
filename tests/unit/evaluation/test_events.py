"""Event-level scoring and window cmAP (jaxaudio.evaluation.events).

Every expected number is worked out by hand in the comments; window cmAP is checked against
sklearn's average_precision_score on a window matrix written out by hand, and the blocked
matcher against a plain double loop.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from jaxaudio.evaluation import events as ev_mod
from jaxaudio.evaluation.events import (
    PER_SPECIES_COLUMNS,
    format_scores,
    match_intervals,
    score_detections,
    window_cmap,
)

# --------------------------------------------------------------------------------------
# The hand-made case: every overlap situation, min_overlap = 0.5
# --------------------------------------------------------------------------------------
#
# Files: f1 60 s, f2 30 s (empty audio), f3 90 s (nothing at all) -> 180 s = 0.05 h.
# Known species A, B, C, D, E; U is unknown.
#
# Truth (f1):                      Detections:
#  e0  A [1.0, 1.2]  short call     d0  A [0.5, 1.5]   contains e0: o=0.2 >= .5*0.2 -> correct
#  e1  A [5.0, 7.0]  long call      d1  A [5.5, 6.0]   inside e1:   o=0.5 >= .5*0.5 -> correct
#  e2  B [10, 11]                   d2  B [10.6, 11.6] o=0.4 <  .5*1.0 -> no match: false alarm
#                                   d3  B [10.4, 11.4] o=0.6 >= .5*1.0 -> correct
#  e3  B [14, 15]  (missed)         d4  B [15, 16]     touching, o=0 -> false alarm
#  e4  A [20, 20.5]                 d5  C [20, 21]     wrong species on e4 -> false alarm
#                                   d6  A [19.5, 20.5] o=0.5 -> correct
#                                   d7  A [19.75, 20.75] o=0.5 -> correct
#                                   d8  A [20, 21]     o=0.5 -> correct (e4 found once)
#  e5  A [25.0, 25.3]               d9  A [25, 26]     o=0.3 with e5, o=0.3 with e6 -> correct
#  e6  A [25.6, 25.9]                                  (once), e5 and e6 both found
#  e7  U [30.0, 30.4]               d10 B [29.8, 30.8] o=0.4 >= .5*0.4 -> on unknown call
#  e8  U [40.0, 40.5]               d13 A [39.8, 40.8] o=0.5 -> on unknown call
#                                   d14 C [40, 41]     o=0.5 -> on unknown call
#  e11 U [45.0, 45.5] (no match)    d15 A [44.0, 45.1] o=0.1 < .5*0.5 -> false alarm
#  e9  C [50, 50.5]  (missed)
#  e10 C [55, 55]  zero-length      d11 C [54.5, 55.5] point inside -> correct
#                                   d16 D [2, 3]       no D events -> false alarm
# f2:                               d12 A [3, 4]       empty audio -> false alarm
# f3: nothing.

TRUTH = pd.DataFrame(
    [
        ("f1", 1.0, 1.2, "A"),  # e0
        ("f1", 5.0, 7.0, "A"),  # e1
        ("f1", 10.0, 11.0, "B"),  # e2
        ("f1", 14.0, 15.0, "B"),  # e3
        ("f1", 20.0, 20.5, "A"),  # e4
        ("f1", 25.0, 25.3, "A"),  # e5
        ("f1", 25.6, 25.9, "A"),  # e6
        ("f1", 30.0, 30.4, "U"),  # e7
        ("f1", 40.0, 40.5, "U"),  # e8
        ("f1", 50.0, 50.5, "C"),  # e9
        ("f1", 55.0, 55.0, "C"),  # e10
        ("f1", 45.0, 45.5, "U"),  # e11
    ],
    columns=["file", "start_s", "end_s", "species"],
)
DETECTIONS = pd.DataFrame(
    [
        ("rec/f1.wav", 0.5, 1.5, "A", 0.9),  # d0
        ("rec/f1.wav", 5.5, 6.0, "A", 0.8),  # d1
        ("rec/f1.wav", 10.6, 11.6, "B", 0.7),  # d2
        ("rec/f1.wav", 10.4, 11.4, "B", 0.6),  # d3
        ("rec/f1.wav", 15.0, 16.0, "B", 0.5),  # d4
        ("rec/f1.wav", 20.0, 21.0, "C", 0.9),  # d5
        ("rec/f1.wav", 19.5, 20.5, "A", 0.6),  # d6
        ("rec/f1.wav", 19.75, 20.75, "A", 0.7),  # d7
        ("rec/f1.wav", 20.0, 21.0, "A", 0.8),  # d8
        ("rec/f1.wav", 25.0, 26.0, "A", 0.9),  # d9
        ("rec/f1.wav", 29.8, 30.8, "B", 0.6),  # d10
        ("rec/f1.wav", 54.5, 55.5, "C", 0.7),  # d11
        ("rec/f2.flac", 3.0, 4.0, "A", 0.55),  # d12
        ("rec/f1.wav", 39.8, 40.8, "A", 0.5),  # d13
        ("rec/f1.wav", 40.0, 41.0, "C", 0.6),  # d14
        ("rec/f1.wav", 44.0, 45.1, "A", 0.5),  # d15
        ("rec/f1.wav", 2.0, 3.0, "D", 0.9),  # d16
    ],
    columns=["file", "start_s", "end_s", "species", "score"],
)
DURATIONS = {"f1": 60.0, "f2": 30.0, "f3": 90.0}
KNOWN = ["A", "B", "C", "D", "E"]

EXPECTED_OUTCOMES = [
    "correct",  # d0
    "correct",  # d1
    "false_alarm",  # d2
    "correct",  # d3
    "false_alarm",  # d4
    "false_alarm",  # d5
    "correct",  # d6
    "correct",  # d7
    "correct",  # d8
    "correct",  # d9
    "on_unknown",  # d10
    "correct",  # d11
    "false_alarm",  # d12
    "on_unknown",  # d13
    "on_unknown",  # d14
    "false_alarm",  # d15
    "false_alarm",  # d16
]
NAN = math.nan
# species, events, found, recall, detections, correct, precision, f1, known
#  A: events e0 e1 e4 e5 e6 = 5, all found; detections d0 d1 d6-d9 d12 d13 d15 = 9, correct 6
#     P = 6/9 = 2/3, R = 1, F1 = 2(2/3)(1)/(5/3) = 0.8
#  B: events e2 e3 = 2, found e2 -> R = 1/2; detections d2 d3 d4 d10 = 4, correct d3 -> P = 1/4
#     F1 = 2(1/4)(1/2)/(3/4) = 1/3
#  C: events e9 e10 = 2, found e10 -> R = 1/2; detections d5 d11 d14 = 3, correct d11 -> P = 1/3
#     F1 = 2(1/3)(1/2)/(5/6) = 2/5
#  D: no events, detection d16 wrong -> P = 0, R and F1 undefined
#  E: nothing -> all undefined
#  U: unknown, events e7 e8 e11; e7 and e8 drew a false detection ("found" 2)
EXPECTED_PER_SPECIES = [
    ("A", 5, 5, 1.0, 9, 6, 2 / 3, 0.8, True),
    ("B", 2, 1, 0.5, 4, 1, 0.25, 1 / 3, True),
    ("C", 2, 1, 0.5, 3, 1, 1 / 3, 0.4, True),
    ("D", 0, 0, NAN, 1, 0, 0.0, NAN, True),
    ("E", 0, 0, NAN, 0, 0, NAN, NAN, True),
    ("U", 3, 2, NAN, 0, 0, NAN, NAN, False),
]
# micro over known: events 5+2+2 = 9, found 5+1+1 = 7 -> R = 7/9
#                   detections 17, correct 6+1+1 = 8 -> P = 8/17
#                   F1 = 2 (8/17)(7/9) / (8/17 + 7/9) = (112/153) / (191/153) = 112/191
# macro-F1 over species with events (A, B, C): (0.8 + 1/3 + 0.4) / 3 = (23/15) / 3 = 23/45
# false alarms: d2 d4 d5 d12 d15 d16 = 6 in 0.05 h -> 120 per hour
# unknown: 3 calls, detections on them d10 d13 d14 = 3 -> 1.0 per call; e7, e8 drew one -> 2/3
EXPECTED_SUMMARY = {
    "n_files": 3,
    "hours": 0.05,
    "n_events": 9,
    "n_detections": 17,
    "precision": 8 / 17,
    "recall": 7 / 9,
    "f1": 112 / 191,
    "macro_f1": 23 / 45,
    "false_alarms": 6,
    "false_alarms_per_hour": 120.0,
    "n_unknown_events": 3,
    "detections_on_unknown": 3,
    "detections_per_unknown_call": 1.0,
    "unknown_calls_detected_fraction": 2 / 3,
    "min_overlap": 0.5,
    "window_s": 5.0,
}


@pytest.fixture(scope="module")
def scores():
    return score_detections(DETECTIONS, TRUTH, DURATIONS, known_species=KNOWN)


def test_every_detection_gets_its_hand_worked_outcome(scores):
    assert scores.detections["outcome"].tolist() == EXPECTED_OUTCOMES
    # the input rows come back unchanged, in order
    pd.testing.assert_frame_equal(
        scores.detections.drop(columns="outcome"), DETECTIONS, check_dtype=False
    )


def test_events_found_known(scores):
    #            e0 e1 e2 e3     e4 e5 e6 e7 e8 e9     e10 e11
    found = [True, True, True, False, True, True, True, True, True, False, True, False]
    known = [True] * 7 + [False, False, True, True, False]
    assert scores.events["found"].tolist() == found
    assert scores.events["known"].tolist() == known


def test_per_species_counts(scores):
    per = scores.per_species
    assert list(per.columns) == PER_SPECIES_COLUMNS
    expected = pd.DataFrame(EXPECTED_PER_SPECIES, columns=PER_SPECIES_COLUMNS)
    pd.testing.assert_frame_equal(per, expected, check_dtype=False)


def test_summary_numbers(scores):
    s = scores.summary
    for key, value in EXPECTED_SUMMARY.items():
        assert s[key] == pytest.approx(value), key
    json.dumps(s)  # JSON-ready


def test_min_overlap_changes_partial_matches():
    # min_overlap 0.3: d2 (o = 0.4 of 1.0) now matches e2 -> B correct 2 of 4; d15 (o = 0.1
    # of 0.5 = 0.2 < 0.3) still does not match e11.
    s = score_detections(DETECTIONS, TRUTH, DURATIONS, known_species=KNOWN, min_overlap=0.3)
    per = s.per_species.set_index("species")
    assert per.at["B", "correct"] == 2
    assert s.detections["outcome"].iloc[2] == "correct"
    assert s.detections["outcome"].iloc[15] == "false_alarm"
    # min_overlap 0: any positive overlap; touching (d4 on e3) still no match.
    s0 = score_detections(DETECTIONS, TRUTH, DURATIONS, known_species=KNOWN, min_overlap=0.0)
    assert s0.detections["outcome"].iloc[4] == "false_alarm"
    assert s0.detections["outcome"].iloc[15] == "on_unknown"  # o = 0.1 > 0 with e11


def test_without_known_species_every_truth_species_is_known():
    s = score_detections(DETECTIONS, TRUTH, DURATIONS)
    per = s.per_species.set_index("species")
    # known = truth ∪ detected = A B C D U (sorted); U: 3 events, none found by a U detection
    assert per.index.tolist() == ["A", "B", "C", "D", "U"]
    assert per["known"].all()
    assert per.at["U", "events"] == 3 and per.at["U", "found"] == 0
    assert per.at["U", "recall"] == 0.0 and per.at["U", "f1"] == 0.0  # events, no detections
    # d10 d13 d14 become false alarms: 6 + 3 = 9 in 0.05 h = 180 per hour; recall 7/12
    assert s.summary["false_alarms"] == 9
    assert s.summary["false_alarms_per_hour"] == pytest.approx(180.0)
    assert s.summary["recall"] == pytest.approx(7 / 12)
    assert s.summary["n_unknown_events"] == 0
    assert s.summary["detections_per_unknown_call"] is None
    # macro over A B C U: (0.8 + 1/3 + 0.4 + 0) / 4 = (23/15) / 4 = 23/60
    assert s.summary["macro_f1"] == pytest.approx(23 / 60)


def test_false_alarms_per_hour_and_unknown_calls_small_case():
    # 2 files of 45 min each -> 1.5 h. Truth: one unknown call X [10, 11] in g1.
    # Detections: g1 A [10.2, 10.8] (on X), g1 A [100, 101], g2 A [5, 6], g2 A [7, 8] (3 alarms)
    truth = pd.DataFrame({"file": ["g1"], "start_s": [10.0], "end_s": [11.0], "species": ["X"]})
    det = pd.DataFrame(
        {
            "file": ["g1.wav", "g1.wav", "g2.wav", "g2.wav"],
            "start_s": [10.2, 100.0, 5.0, 7.0],
            "end_s": [10.8, 101.0, 6.0, 8.0],
            "species": ["A"] * 4,
            "score": [0.9] * 4,
        }
    )
    s = score_detections(det, truth, {"g1": 2700.0, "g2": 2700.0}, known_species=["A"]).summary
    assert s["hours"] == pytest.approx(1.5)
    assert s["false_alarms"] == 3
    assert s["false_alarms_per_hour"] == pytest.approx(3 / 1.5)  # = 2.0
    assert s["detections_per_unknown_call"] == pytest.approx(1.0)
    assert s["unknown_calls_detected_fraction"] == pytest.approx(1.0)
    # no known-species events: recall undefined -> None, not 0; precision 0/4 = 0
    assert s["recall"] is None and s["f1"] is None and s["macro_f1"] is None
    assert s["precision"] == 0.0


def test_undefined_ratios_are_none_not_zero():
    # One A call, no detections at all: precision 0/0 -> None; recall 0/1 = 0; F1 = 0
    truth = pd.DataFrame({"file": ["h"], "start_s": [1.0], "end_s": [2.0], "species": ["A"]})
    det = pd.DataFrame(columns=["file", "start_s", "end_s", "species", "score"])
    s = score_detections(det, truth, {"h": 10.0})
    assert s.summary["precision"] is None
    assert s.summary["recall"] == 0.0 and s.summary["f1"] == 0.0
    assert s.summary["false_alarms_per_hour"] == 0.0
    row = s.per_species.iloc[0]
    assert math.isnan(row["precision"]) and row["recall"] == 0.0
    # Nothing at all
    empty_truth = truth.iloc[:0]
    s = score_detections(det, empty_truth, {"h": 10.0}).summary
    assert s["precision"] is None and s["recall"] is None and s["window_cmap"] is None
    assert s["n_files"] == 1 and s["hours"] == pytest.approx(10 / 3600)


# --------------------------------------------------------------------------------------
# The matcher alone
# --------------------------------------------------------------------------------------


def pairs(d, e, min_overlap=0.5):
    i, j = match_intervals(*np.array(d, float).T, *np.array(e, float).T, min_overlap)
    return sorted(zip(i.tolist(), j.tolist()))


def test_zero_length_intervals_match_when_inside_ends_included():
    d = [(1.0, 2.0)]
    #     inside       at the start  at the end   outside
    e = [(1.5, 1.5), (1.0, 1.0), (2.0, 2.0), (2.5, 2.5)]
    assert pairs(d, e) == [(0, 0), (0, 1), (0, 2)]
    # a zero-length detection in a call, and two equal / unequal points
    assert pairs([(3.0, 3.0)], [(2.0, 4.0), (3.0, 3.0), (3.1, 3.1)]) == [(0, 0), (0, 1)]


def test_blocked_matching_equals_a_double_loop(monkeypatch):
    rng = np.random.default_rng(0)
    ds = rng.uniform(0, 200, 700)
    d = np.stack([ds, ds + rng.choice([0.0, 0.5, 1.0, 3.0], 700)], 1)
    es = rng.uniform(0, 200, 300)
    e = np.stack([es, es + rng.uniform(0, 2, 300)], 1)
    e[:10, 1] = e[:10, 0]  # some points
    d[5] = (0.0, 200.0)  # one detection over everything
    ref = []
    for i, (a, b) in enumerate(d):
        for j, (c, f) in enumerate(e):
            o = min(b, f) - max(a, c)
            shorter = min(b - a, f - c)
            if (shorter == 0 and o >= 0) or (o > 0 and o >= 0.5 * shorter):
                ref.append((i, j))
    monkeypatch.setattr(ev_mod, "_BLOCK", 500)  # force many small blocks
    assert pairs(d, e) == sorted(ref)


# --------------------------------------------------------------------------------------
# Window cmAP
# --------------------------------------------------------------------------------------
#
# window_s = 5. Files: p 12 s -> windows [0,5) [5,10) (the 2 s rest < 2.5 is dropped);
# q 13 s -> [0,5) [5,10) [10,15) (3 s rest >= 2.5 kept); r 3 s (shorter than a window) -> one.
# Known A, B, C; U unknown.
#   truth: p A [4, 6]      -> p0, p1        detections: p A [0, 1] .9        -> p0
#          p B [11, 11.5]  -> dropped window             p A [4.5, 5.5] .4    -> p0, p1
#          q A [10.5, 11]  -> q2                         p B [5, 6] .7        -> p1 (touches p0)
#          q B [5, 5]      -> q1 (a point)               q A [4, 5] .6        -> q0 (touches q1)
#          q B [0, 5]      -> q0 (touches q1)            q B [9.5, 10.5] .3   -> q1, q2
#          r U [1, 2]      -> ignored (unknown)          q A [10, 11] .2      -> q2
#                                                        q C [1, 2] .8        -> q0
#                                                        r A [0, 1] .5        -> r0
#                                                        p A [11, 12] .95     -> dropped window
# rows p0 p1 q0 q1 q2 r0; columns A B C
WINDOW_TRUTH = np.array(
    [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool
)
WINDOW_SCORES = np.array(
    [[0.9, 0, 0], [0.4, 0.7, 0], [0.6, 0, 0.8], [0, 0.3, 0], [0.2, 0.3, 0], [0.5, 0, 0]]
)
# By hand: A sorted .9(+) .6 .5 .4(+) .2(+) 0 -> AP = (1/1 + 2/4 + 3/5) / 3 = 0.7
#          B: >=.7 tp0 fp1; >=.3 tp1 fp2 (P 1/3, R 1/2); >=0 tp2 fp4 (P 1/3, R 1) -> AP = 1/3
#          C: no positive window -> left out.  cmAP = (0.7 + 1/3) / 2 = 31/60
CMAP_TRUTH = pd.DataFrame(
    [
        ("p", 4.0, 6.0, "A"),
        ("p", 11.0, 11.5, "B"),
        ("q", 10.5, 11.0, "A"),
        ("q", 5.0, 5.0, "B"),
        ("q", 0.0, 5.0, "B"),
        ("r", 1.0, 2.0, "U"),
    ],
    columns=["file", "start_s", "end_s", "species"],
)
CMAP_DETECTIONS = pd.DataFrame(
    [
        ("p.wav", 0.0, 1.0, "A", 0.9),
        ("p.wav", 4.5, 5.5, "A", 0.4),
        ("p.wav", 5.0, 6.0, "B", 0.7),
        ("q.wav", 4.0, 5.0, "A", 0.6),
        ("q.wav", 9.5, 10.5, "B", 0.3),
        ("q.wav", 10.0, 11.0, "A", 0.2),
        ("q.wav", 1.0, 2.0, "C", 0.8),
        ("r.wav", 0.0, 1.0, "A", 0.5),
        ("p.wav", 11.0, 12.0, "A", 0.95),
    ],
    columns=["file", "start_s", "end_s", "species", "score"],
)


def test_window_cmap_hand_matrix_agrees_with_sklearn_and_by_hand():
    ap_a = average_precision_score(WINDOW_TRUTH[:, 0], WINDOW_SCORES[:, 0])
    ap_b = average_precision_score(WINDOW_TRUTH[:, 1], WINDOW_SCORES[:, 1])
    assert ap_a == pytest.approx(0.7) and ap_b == pytest.approx(1 / 3)
    cmap, n = window_cmap(WINDOW_TRUTH, WINDOW_SCORES)
    assert n == 2  # C has no positive window and is left out
    assert cmap == pytest.approx((ap_a + ap_b) / 2)
    assert cmap == pytest.approx(31 / 60)


def test_window_cmap_from_detections():
    s = score_detections(
        CMAP_DETECTIONS, CMAP_TRUTH, {"p": 12.0, "q": 13.0, "r": 3.0}, known_species=["A", "B", "C"]
    ).summary
    assert s["n_cmap_species"] == 2
    assert s["window_cmap"] == pytest.approx(31 / 60)


def test_window_cmap_no_positive_window_is_none():
    assert window_cmap(np.zeros((3, 2), bool), np.ones((3, 2))) == (None, 0)
    with pytest.raises(ValueError, match="equal 2-d shapes"):
        window_cmap(np.zeros((3, 2), bool), np.ones((3, 3)))


def test_window_cmap_window_length():
    # window_s = 10: p 12 s -> [0,10) only (2 s rest < 5); q 13 s -> [0,10) (3 s < 5); r -> one.
    # truth rows p0 q0 r0: A (p [4,6]) p0; B (q [5,5], q [0,5]) q0.
    # scores A: p0 max(.9, .4) = .9, q0 .6, r0 .5 -> AP_A = 1;  B: p0 .7, q0 .3, r0 0
    # -> B sorted .7(-) .3(+) -> AP_B = 1/2.  cmAP = 3/4
    truth = np.array([[1, 0], [0, 1], [0, 0]], bool)
    scores = np.array([[0.9, 0.7], [0.6, 0.3], [0.5, 0.0]])
    expected = np.mean([average_precision_score(truth[:, k], scores[:, k]) for k in range(2)])
    assert expected == pytest.approx(0.75)
    s = score_detections(
        CMAP_DETECTIONS,
        CMAP_TRUTH,
        {"p": 12.0, "q": 13.0, "r": 3.0},
        known_species=["A", "B", "C"],
        window_s=10.0,
    ).summary
    assert s["window_cmap"] == pytest.approx(expected)


# --------------------------------------------------------------------------------------
# Input faults
# --------------------------------------------------------------------------------------


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"detections: missing column\(s\) \['score'\]"):
        score_detections(DETECTIONS.drop(columns="score"), TRUTH, DURATIONS)
    with pytest.raises(ValueError, match=r"truth: missing column\(s\) \['species'\]"):
        score_detections(DETECTIONS, TRUTH.drop(columns="species"), DURATIONS)


def test_end_before_start_is_refused():
    bad = DETECTIONS.copy()
    bad.loc[3, "end_s"] = 1.0
    with pytest.raises(ValueError, match=r"detections: row 3 \(rec/f1\.wav\): end_s < start_s"):
        score_detections(bad, TRUTH, DURATIONS)
    bad_truth = TRUTH.astype({"start_s": object})
    bad_truth.loc[0, "start_s"] = "x"
    with pytest.raises(ValueError, match=r"truth: row 0: start_s is not a finite number"):
        score_detections(DETECTIONS, bad_truth, DURATIONS)


def test_file_without_duration_is_named():
    with pytest.raises(ValueError, match=r"detections in file\(s\) without a duration: f2"):
        score_detections(DETECTIONS, TRUTH, {"f1": 60.0})
    with pytest.raises(ValueError, match=r"truth events in file\(s\) without a duration: f1"):
        score_detections(DETECTIONS.iloc[:0], TRUTH, {"f2": 60.0})
    with pytest.raises(ValueError, match=r"durations: f1: not a duration"):
        score_detections(DETECTIONS, TRUTH, {"f1": -1.0, "f2": 30.0})


def test_detected_species_must_be_known_and_arguments_checked():
    with pytest.raises(ValueError, match=r"not in known_species: \['D'\]"):
        score_detections(DETECTIONS, TRUTH, DURATIONS, known_species=["A", "B", "C"])
    with pytest.raises(ValueError, match="min_overlap"):
        score_detections(DETECTIONS, TRUTH, DURATIONS, min_overlap=1.5)
    with pytest.raises(ValueError, match="window_s"):
        score_detections(DETECTIONS, TRUTH, DURATIONS, window_s=0)


def test_format_scores_shows_the_headline_numbers(scores):
    text = format_scores(scores)
    assert "precision 0.471" in text  # 8/17
    assert "recall 0.778" in text  # 7/9
    assert "false alarms 6 (120.00 per hour)" in text
    assert "unknown-species calls 3" in text and "66.7%" in text
    assert "window cmAP" in text
