"""`jaxaudio synth --soundscape` and `jaxaudio score` end to end on tone "species": perfect
detections score 1, shifted ones are false alarms, and unknown species are held out."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.cli import main

SR = 22050
TONES = {"a": 600.0, "b": 1500.0, "c": 3000.0, "d": 5000.0}


@pytest.fixture
def data_set(tmp_path):
    rows = []
    for sp, f in TONES.items():
        for i in range(3):
            t = np.arange(int(0.3 * SR)) / SR
            path = tmp_path / "clips" / sp / f"{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32), SR)
            rows.append((f"clips/{sp}/{i}.wav", sp, "test"))
    m = tmp_path / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "species", "split"]).to_csv(m, index=False)
    return m


def test_soundscapes_and_their_truth_score_perfectly_against_themselves(data_set, tmp_path):
    out = tmp_path / "scapes"
    args = ["synth", str(out), "--soundscape", str(data_set), "--unknown", "1"]
    assert main([*args, "--files", "2", "--seconds", "20"]) == 0
    truth = pd.read_csv(out / "truth.csv")
    assert truth["file"].nunique() == 2 and (~truth["known"]).sum() > 0
    assert truth.loc[~truth["known"], "species"].nunique() == 1  # one species held out
    known = truth[truth["known"]]
    # detections = the known calls themselves: every call found, every detection correct
    det = known.assign(file=[str(out / f"{f}.wav") for f in known["file"]], score=0.9)
    det[["file", "start_s", "end_s", "species", "score"]].to_csv(tmp_path / "d.csv", index=False)
    result = tmp_path / "scores.json"
    argv = ["score", str(tmp_path / "d.csv"), "--truth", str(out / "truth"), "--audio", str(out)]
    assert main([*argv, "--out", str(result)]) == 0
    s = json.loads(result.read_text())["summary"]
    # the Raven truth has no known column: without --bundle every truth species is known, so
    # the unknown species' calls are missed calls of a known species here
    n_known, n_all = len(known), len(truth)
    assert s["precision"] == 1.0 and s["recall"] == pytest.approx(n_known / n_all)
    assert s["false_alarms"] == 0 and s["hours"] == pytest.approx(40 / 3600, rel=1e-3)


def test_shifted_detections_are_false_alarms(data_set, tmp_path):
    out = tmp_path / "iso"
    assert main(["synth", str(out), "--soundscape", str(data_set), "--isolated", "6"]) == 0
    truth = pd.read_csv(out / "truth.csv")
    assert len(truth) == 6
    # each detection 1 s after its call: in the 2-6 s gaps, overlapping nothing
    det = truth.assign(
        file=str(out / "isolated.wav"), start_s=truth["end_s"] + 1, end_s=truth["end_s"] + 1.5
    )
    det.assign(score=0.9)[["file", "start_s", "end_s", "species", "score"]].to_csv(
        tmp_path / "d.csv", index=False
    )
    durations = out / "soundscapes.csv"
    argv = [
        "score",
        str(tmp_path / "d.csv"),
        "--truth",
        str(out / "truth"),
        "--durations",
        str(durations),
    ]
    assert main([*argv, "--out", str(tmp_path / "s.json")]) == 0
    s = json.loads((tmp_path / "s.json").read_text())["summary"]
    hours = pd.read_csv(durations)["duration_s"].sum() / 3600
    assert s["recall"] == 0 and s["false_alarms"] == 6
    assert s["false_alarms_per_hour"] == pytest.approx(6 / hours)


def test_score_needs_the_recordings_durations(data_set, tmp_path):
    (tmp_path / "d.csv").write_text("file,start_s,end_s,species,score\n")
    with pytest.raises(SystemExit, match="--audio"):
        main(["score", str(tmp_path / "d.csv"), "--truth", str(data_set)])


def test_split_chooses_whose_clips_are_placed(data_set, tmp_path, capsys):
    from jaxaudio.stages.field import call_pool

    m = pd.read_csv(data_set)
    m.loc[m["path"].str.endswith("2.wav"), "split"] = "val"  # one clip per species
    m.to_csv(data_set, index=False)
    val = call_pool(data_set, split="val").clips["path"]
    assert len(val) == 4 and all(p.endswith("2.wav") for p in val)
    assert len(call_pool(data_set).clips) == 8  # the test split by default
    assert (
        main(["synth", str(tmp_path / "s"), "--soundscape", str(data_set), "--split", "train"]) == 2
    )
    assert "no clip has split 'train'" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "v"), "--soundscape", str(data_set), "--split", "val",
                 "--unknown", "1", "--files", "1", "--seconds", "10"]) == 0  # fmt: skip
    assert len(pd.read_csv(tmp_path / "v" / "truth.csv")) > 0
