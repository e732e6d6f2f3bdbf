"""Inference pieces: streaming windows against training's windowing, streaming decode against
the training decoder, merging, Raven tables, bundle checks, the CLI's errors."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.audio import load_audio
from jaxaudio.bundle import BundleError, load_bundle
from jaxaudio.cli import main
from jaxaudio.features import FeatureConfig, cut_clips
from jaxaudio.predict import RAVEN_COLUMNS, merge_detections, stream_audio, windows, write_raven


@pytest.mark.parametrize("length", [300, 1000, 1001, 2333, 4000])
def test_stream_windows_equal_training_windows(length):
    """Same starts and samples as crop: windows in training (cut_clips), whatever the block sizes."""
    sr, clip, hop = 1000, 1.0, 0.25
    cfg = FeatureConfig(sample_rate=sr, clip_seconds=clip, crop="windows", window_hop_seconds=hop, hop_length=64)
    y = np.random.default_rng(length).normal(size=length).astype(np.float32)
    expected = cut_clips(y, cfg)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, length), size=min(7, length - 1), replace=False))
    blocks = iter(np.split(y, cuts))
    got = list(windows(blocks, int(clip * sr), int(hop * sr)))
    assert [s / sr for s, _ in got] == pytest.approx([t for t, _ in expected])
    for (_, a), (_, b) in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_streamed_decode_matches_the_training_decoder(tmp_path):
    # 44.1 kHz stereo -> 22.05 kHz mono: block-wise soxr stream vs librosa.resample(soxr_hq)
    sr = 44100
    t = np.arange(int(2.7 * sr)) / sr
    stereo = np.stack([np.sin(2 * np.pi * 1000 * t), 0.5 * np.sin(2 * np.pi * 3000 * t)], 1) * 0.4
    sf.write(tmp_path / "a.wav", stereo, sr, subtype="FLOAT")
    ref = load_audio(tmp_path / "a.wav", 22050)
    ours = np.concatenate(list(stream_audio(tmp_path / "a.wav", 22050, block_seconds=0.37)))
    assert abs(len(ours) - len(ref)) <= 1
    n = min(len(ours), len(ref))
    assert np.max(np.abs(ours[:n] - ref[:n])) < 1e-3  # one resampling filter, streamed vs one shot


def test_merge_joins_overlapping_windows_of_one_species():
    df = pd.DataFrame(
        [("f", 0.0, 1.0, "a", 0.6), ("f", 0.5, 1.5, "a", 0.9), ("f", 1.5, 2.5, "a", 0.7), ("f", 3.0, 4.0, "a", 0.8),
         ("f", 0.5, 1.5, "b", 0.5), ("g", 0.0, 1.0, "a", 0.4)],
        columns=["file", "start_s", "end_s", "species", "score"],
    )
    m = merge_detections(df)
    assert m.values.tolist() == [
        ["f", 0.0, 2.5, "a", 0.9],  # 0-1, 0.5-1.5, and 1.5-2.5 (touching) joined; best score kept
        ["f", 0.5, 1.5, "b", 0.5],
        ["f", 3.0, 4.0, "a", 0.8],
        ["g", 0.0, 1.0, "a", 0.4],
    ]


def test_raven_selection_table_format(tmp_path):
    df = pd.DataFrame([("x/rec 1.wav", 1.5, 4.5, "Turdus merula", 0.91234)], columns=["file", "start_s", "end_s", "species", "score"])
    (path,) = write_raven(df, tmp_path, ["x/rec 1.wav"], 22050)
    lines = path.read_text().splitlines()
    assert path.name == "rec 1.selections.txt"
    assert lines[0].split("\t") == RAVEN_COLUMNS
    assert lines[1].split("\t") == ["1", "Spectrogram 1", "1", "1.5", "4.5", "0.0", "11025.0", "Turdus merula", "0.9123"]


def test_bundle_errors_name_the_file_and_fault(tmp_path):
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text("{")
    with pytest.raises(BundleError, match="bundle.json: not valid JSON"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"format": 1, "features": {}, "species": []}))
    with pytest.raises(BundleError, match="missing key.*thresholds"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"format": 9, "features": {}, "species": [], "thresholds": {}}))
    with pytest.raises(BundleError, match="format 9"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"format": 1, "features": {"hop": 3}, "species": [], "thresholds": {}}))
    with pytest.raises(BundleError, match="features: unknown FeatureConfig keys"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"format": 1, "features": {}, "species": [], "thresholds": {}}))
    with pytest.raises(BundleError, match="model: incomplete"):
        load_bundle(tmp_path)


def test_cli_reports_a_bad_bundle_before_reading_audio(tmp_path, capsys):
    assert main(["predict", str(tmp_path), str(tmp_path / "missing.wav"), "--out", str(tmp_path / "d.csv")]) == 2
    err = capsys.readouterr().err
    assert "jaxaudio predict: error:" in err and "not a model bundle" in err


def test_inputs_from_files_and_folders_each_once(tmp_path):
    from jaxaudio.predict import audio_inputs

    (tmp_path / "site A").mkdir()
    for name in ("site A/b.wav", "site A/a.flac", "site A/notes.txt", "c.wav"):
        (tmp_path / name).write_bytes(b"x")
    got = audio_inputs([tmp_path / "site A" / "b.wav", tmp_path / "site A", tmp_path / "c.wav"])
    assert [p.relative_to(tmp_path).as_posix() for p in got] == ["site A/b.wav", "site A/a.flac", "c.wav"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: folder holds no audio"):
        audio_inputs([tmp_path / "empty"])
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        audio_inputs([tmp_path / "nope.wav"])


def test_best_run_is_the_highest_validation_score_first_on_ties():
    from jaxaudio.bundle import best_run

    runs = [{"experiment": e, "model": "cnn", "seed": 0} for e in ("a", "b", "c")]
    assert best_run(runs, [0.70, 0.85, 0.85]) == 1
    with pytest.raises(ValueError, match="one validation score per run"):
        best_run(runs, [0.5])
