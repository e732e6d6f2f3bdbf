"""The field floor (jaxaudio/inference/field_threshold.py) on hand-computed cases: predict's
window rule, the floor with the best event F1, and what is written into bundle.json."""

import json

import numpy as np
import pandas as pd
import pytest

from jaxaudio.inference.field_threshold import (
    GRID,
    ScoredFile,
    apply_floor,
    detections_at,
    tune_floor,
    validation_calls,
)
from jaxaudio.inference.predict import window_picks

P = np.array([[0.1, 0.7, 0.2], [0.5, 0.4, 0.1]])
TH = np.array([0.6, 0.6, 0.1])


def test_window_picks_is_top_k_then_threshold():
    listed = np.arange(3)
    assert window_picks(P, TH, 1, listed) == [(0, 1)]  # window 1's best (0.5) is under 0.6
    assert window_picks(P, TH, 2, listed) == [(0, 1), (0, 2)]
    assert window_picks(P, TH, 1, listed, min_score=0.45) == [(0, 1), (1, 0)]
    # ranked among the listed species only: window 0's best listed one is species 2
    assert window_picks(P, TH, 1, np.array([0, 2])) == [(0, 2)]


# One 4 s recording, 1 s windows at 0, 1, 2, 3 s; a call of "a" in window 0, one of "b" in
# window 2. Window 1 (a 0.4) and window 3 (b 0.55) hold no call: false alarms.
SCORED = [
    ScoredFile(
        "/x/rec.wav",
        np.array([0.0, 1.0, 2.0, 3.0]),
        np.array([[0.9, 0.1], [0.4, 0.3], [0.1, 0.8], [0.2, 0.55]]),
    )
]
TRUTH = pd.DataFrame(
    {"file": ["rec", "rec"], "start_s": [0.2, 2.2], "end_s": [0.6, 2.5], "species": ["a", "b"]}
)


def test_the_floor_with_the_best_event_f1_wins_ties_to_the_highest():
    # floor 0 (own thresholds 0.3): 4 detections, 2 correct: P 0.5, R 1, F1 2/3;
    # floor in (0.4, 0.55]: P 2/3, F1 0.8; in (0.55, 0.8]: P 1, R 1, F1 1 (the best: 0.80,
    # the highest, as 0.8 >= 0.8 still reports b); above 0.8: b is lost, F1 2/3
    r = tune_floor(SCORED, TRUTH, {"rec": 4.0}, np.array([0.3, 0.3]), ["a", "b"], 1.0)
    assert r["floor"] == pytest.approx(0.80)
    assert r["before"]["f1"] == pytest.approx(2 / 3) and r["before"]["precision"] == 0.5
    assert r["after"]["f1"] == 1.0 and r["after"]["n_detections"] == 2
    curve = {round(c["floor"], 2): c["f1"] for c in r["curve"]}
    assert curve[0.45] == pytest.approx(0.8) and curve[0.56] == 1.0
    assert curve[0.81] == pytest.approx(2 / 3)
    assert len(r["curve"]) == len(GRID) and GRID[0] == 0.0


def test_a_species_own_higher_threshold_is_kept():
    # b's own threshold 0.95 is above every floor that helps: b is never reported
    det = detections_at(SCORED, np.maximum([0.3, 0.95], 0.5), ["a", "b"], 1.0)
    assert det["species"].tolist() == ["a"] and det["end_s"].tolist() == [1.0]
    r = tune_floor(SCORED, TRUTH, {"rec": 4.0}, np.array([0.3, 0.95]), ["a", "b"], 1.0)
    assert r["after"]["recall"] == 0.5 and r["after"]["precision"] == 1.0
    # floors in (0.4, 0.9] report a's 0.9 and not its 0.4 (F1 2/3, the best): the highest, 0.90
    assert r["floor"] == pytest.approx(0.90)


def test_apply_floor_raises_per_species_and_keeps_the_thresholds_before(tmp_path):
    info = {"thresholds": {"per_species": {"a": 0.3, "b": 0.9}, "global": 0.3}}
    (tmp_path / "bundle.json").write_text(json.dumps(info))
    apply_floor(tmp_path, {"floor": 0.5, "before": {}, "after": {}, "curve": []}, "test")
    th = json.loads((tmp_path / "bundle.json").read_text())["thresholds"]
    assert th["per_species"] == {"a": 0.5, "b": 0.9}
    assert th["before_field"] == {"a": 0.3, "b": 0.9} and th["field"]["floor"] == 0.5
    # tuned again: from the thresholds before any floor, not from the floored ones
    apply_floor(tmp_path, {"floor": 0.2, "before": {}, "after": {}, "curve": []}, "test")
    th = json.loads((tmp_path / "bundle.json").read_text())["thresholds"]
    assert th["per_species"] == {"a": 0.3, "b": 0.9} and th["field"]["floor"] == 0.2


def test_validation_calls_are_the_val_clips_of_the_bundles_species(tmp_path):
    m = pd.DataFrame(
        {
            "path": ["1.wav", "2.wav", "3.wav", "4.wav", "5.wav"],
            "species": ["a", "a", "b", "background", "c"],
            "split": ["val", "train", "val", "val", "val"],
            "background": [False, False, False, True, False],
            "unknown": [False, False, False, False, True],
        }
    )
    m.to_csv(tmp_path / "manifest.csv", index=False)
    got = validation_calls(tmp_path / "manifest.csv", ["a", "b", "c", "background"])
    assert got.to_dict("list") == {"path": ["1.wav", "3.wav"], "species": ["a", "b"]}
