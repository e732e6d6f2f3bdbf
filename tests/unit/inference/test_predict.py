"""Inference pieces: streaming windows against training's windowing, streaming decode against
the training decoder, merging, Raven tables, bundle checks, the CLI's errors."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.cli import main
from jaxaudio.data.audio import load_audio
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.windows import cut_clips
from jaxaudio.inference.bundle import BundleError, load_bundle
from jaxaudio.inference.predict import (
    RAVEN_COLUMNS,
    merge_detections,
    stream_audio,
    windows,
    write_raven,
)


@pytest.mark.parametrize("length", [300, 1000, 1001, 2333, 4000])
def test_stream_windows_equal_training_windows(length):
    """Same starts and samples as crop: windows in training (cut_clips), whatever the block sizes."""
    sr, clip, hop = 1000, 1.0, 0.25
    cfg = FeatureConfig(
        sample_rate=sr, clip_seconds=clip, crop="windows", window_hop_seconds=hop, hop_length=64
    )
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
        [
            ("f", 0.0, 1.0, "a", 0.6),
            ("f", 0.5, 1.5, "a", 0.9),
            ("f", 1.5, 2.5, "a", 0.7),
            ("f", 3.0, 4.0, "a", 0.8),
            ("f", 0.5, 1.5, "b", 0.5),
            ("g", 0.0, 1.0, "a", 0.4),
        ],
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
    df = pd.DataFrame(
        [("x/rec 1.wav", 1.5, 4.5, "Turdus merula", 0.91234)],
        columns=["file", "start_s", "end_s", "species", "score"],
    )
    (path,) = write_raven(df, tmp_path, ["x/rec 1.wav"], FeatureConfig().mel_band)
    lines = path.read_text().splitlines()
    assert path.name == "rec 1.selections.txt"
    assert lines[0].split("\t") == RAVEN_COLUMNS
    assert lines[1].split("\t") == [
        "1",
        "Spectrogram 1",
        "1",
        "1.5",
        "4.5",
        "0.0",
        "11025.0",
        "rec 1.wav",
        "1.5",
        "Turdus merula",
        "0.9123",
    ]


def test_bundle_errors_name_the_file_and_fault(tmp_path):
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text("{")
    with pytest.raises(BundleError, match="bundle.json: not valid JSON"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"format": 1, "features": {}, "species": []}))
    with pytest.raises(BundleError, match="missing key.*thresholds"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(
        json.dumps({"format": 9, "features": {}, "species": [], "thresholds": {}})
    )
    with pytest.raises(BundleError, match="format 9"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(
        json.dumps({"format": 1, "features": {"hop": 3}, "species": [], "thresholds": {}})
    )
    with pytest.raises(BundleError, match="features: unknown FeatureConfig keys"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text(
        json.dumps({"format": 1, "features": {}, "species": [], "thresholds": {}})
    )
    with pytest.raises(BundleError, match="model: incomplete"):
        load_bundle(tmp_path)


def test_cli_reports_a_bad_bundle_before_reading_audio(tmp_path, capsys):
    assert (
        main(
            [
                "predict",
                str(tmp_path),
                str(tmp_path / "missing.wav"),
                "--out",
                str(tmp_path / "d.csv"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "jaxaudio predict: error:" in err and "not a model bundle" in err


def test_inputs_from_files_and_folders_each_once(tmp_path):
    from jaxaudio.data.files import audio_inputs

    (tmp_path / "site A").mkdir()
    for name in ("site A/b.wav", "site A/a.flac", "site A/notes.txt", "c.wav"):
        (tmp_path / name).write_bytes(b"x")
    got = audio_inputs([tmp_path / "site A" / "b.wav", tmp_path / "site A", tmp_path / "c.wav"])
    assert [p.relative_to(tmp_path).as_posix() for p in got] == [
        "site A/b.wav",
        "site A/a.flac",
        "c.wav",
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: folder holds no audio"):
        audio_inputs([tmp_path / "empty"])
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        audio_inputs([tmp_path / "nope.wav"])


# --- one bad file among good ones: every good file's detections, every bad file listed ---

SR = 8000  # the tiny bundle's rate: the test files need no resampling
#: The tiny bundles' feature settings: 1 s windows at 8 kHz, 13 coefficients.
TINY_FEATURES = FeatureConfig(
    sample_rate=SR,
    clip_seconds=1.0,
    n_mfcc=13,
    n_mels=32,
    n_fft=512,
    hop_length=256,
    window_hop_seconds=0.5,
)


def write_tiny_bundle(root, meta=None, metrics=None):
    """An untrained 3-species CNN (one 4-channel block) on :data:`TINY_FEATURES`, written as a
    real bundle under ``root``: what predict reads is the same whatever the parameters
    learned. ``meta`` adds to model.json, ``metrics`` is metrics.json (default ``{}``)."""
    from jaxaudio.inference.bundle import write_bundle
    from jaxaudio.inference.model_store import save_model
    from jaxaudio.models.registry import build_model

    cfg = TINY_FEATURES
    options = {"channels": [4], "dropout": 0.0}
    model = build_model("cnn", 3, cfg.shape, options, seed=0)
    meta = {
        "arch": "cnn",
        "options": options,
        "input_shape": list(cfg.shape),
        "species": ["a", "b", "c"],
        "normalisation": None,
        **(meta or {}),
    }
    save_model(model, root / "model", meta)
    (root / "metrics.json").write_text(json.dumps(metrics or {}))
    return write_bundle(root / "model", root / "metrics.json", cfg.to_dict(), root / "bundle")


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    """:func:`write_tiny_bundle`, once per module."""
    return write_tiny_bundle(tmp_path_factory.mktemp("tiny-bundle"))


def tone(path, seconds, freq, fmt=None):
    t = np.arange(int(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * freq * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)  # bursts
    sf.write(path, y.astype(np.float32), SR, format=fmt)
    return path


def predict_cli(bundle, files, out, *extra):
    return main(
        [
            "predict",
            str(bundle),
            *map(str, files),
            "--out",
            str(out),
            "--min-score",
            "0",
            "--batch-size",
            "8",
            *extra,
        ]
    )


@pytest.fixture
def mixed(tmp_path):
    """Two good WAVs and four bad files: empty, garbage, not audio, truncated WAV."""
    good = [tone(tmp_path / "good1.wav", 3.2, 1000), tone(tmp_path / "good2.wav", 2.5, 2500)]
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "garbage.wav").write_bytes(
        np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    )
    (tmp_path / "notes.txt").write_text("site A, recorder 7, battery low\n")
    cut = tone(tmp_path / "cut.wav", 3.0, 1500)
    with open(cut, "r+b") as f:
        f.truncate(cut.stat().st_size // 2)
    bad = {
        "empty.wav": "empty",
        "garbage.wav": "cannot decode",
        "notes.txt": "unsupported format '.txt'",
        "cut.wav": "truncated",
    }
    files = [good[0], *(tmp_path / name for name in bad), good[1]]
    return good, files, bad


@pytest.mark.parametrize("strict", [False, True])
def test_bad_files_are_listed_and_the_good_ones_predicted(
    tiny_bundle, mixed, tmp_path, capsys, strict
):
    good, files, bad = mixed
    alone = tmp_path / "alone" / "detections.csv"
    assert predict_cli(tiny_bundle, good, alone) == 0
    assert pd.read_csv(
        alone.with_name("failed.csv")
    ).empty  # written, just the header, when none failed
    capsys.readouterr()

    out = tmp_path / "all" / "detections.csv"
    code = predict_cli(
        tiny_bundle,
        files,
        out,
        "--raven",
        str(tmp_path / "raven"),
        *(["--strict"] if strict else []),
    )
    assert code == (1 if strict else 0)
    d = pd.read_csv(out)
    assert set(d["file"]) == set(map(str, good)) and len(d) > 0
    pd.testing.assert_frame_equal(d, pd.read_csv(alone))  # the same rows as the good files alone
    failed = pd.read_csv(out.with_name("failed.csv"))
    assert list(failed.columns) == ["file", "reason"]
    assert sorted(failed["file"]) == sorted(str(tmp_path / name) for name in bad)
    err = capsys.readouterr().err
    for name, words in bad.items():
        (reason,) = failed.loc[failed["file"] == str(tmp_path / name), "reason"]
        assert words in reason, (name, reason)
        (line,) = [ln for ln in err.splitlines() if str(tmp_path / name) in ln]
        assert words in line
    assert sorted(p.name for p in (tmp_path / "raven").iterdir()) == [
        "good1.selections.txt",
        "good2.selections.txt",
    ]


def test_no_readable_file_is_an_error_and_still_lists_them(tiny_bundle, mixed, tmp_path, capsys):
    _, files, bad = mixed
    out = tmp_path / "none" / "detections.csv"
    assert predict_cli(tiny_bundle, [tmp_path / name for name in bad], out) == 2
    err = capsys.readouterr().err
    assert "jaxaudio predict: error:" in err and "none of the 4 input file(s) could be read" in err
    assert len(pd.read_csv(out.with_name("failed.csv"))) == 4
    assert pd.read_csv(out).empty


def test_a_missing_input_path_still_stops_before_decoding(tiny_bundle, mixed, tmp_path, capsys):
    good, _, _ = mixed
    out = tmp_path / "x" / "detections.csv"
    assert predict_cli(tiny_bundle, [*good, tmp_path / "nope.wav"], out) == 2
    assert "nope.wav: no such file or folder" in capsys.readouterr().err
    assert not out.exists() and not out.with_name("failed.csv").exists()


def test_stream_reports_a_truncated_wav_before_decoding(tmp_path):
    cut = tone(tmp_path / "cut.wav", 2.0, 1000)
    with open(cut, "r+b") as f:
        f.truncate(cut.stat().st_size // 2)
    blocks = stream_audio(cut, SR)
    with pytest.raises(ValueError, match=r"cut.wav: holds \d+ of the 16000 frames .*truncated"):
        next(blocks)


def corrupt_middle(path):
    """Zeros over 4000 bytes in the middle: libsndfile 1.2.2 decodes up to there, then raises
    ("unknown error in flac decoder" / "flac decoder lost sync")."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\0" * 4000)


def test_a_flac_that_fails_midway_keeps_its_decoded_part_and_is_listed(
    tiny_bundle, tmp_path, capsys
):
    from jaxaudio.inference.bundle import load_bundle
    from jaxaudio.inference.predict import Detector, predict_file

    intact = tone(tmp_path / "intact.flac", 20.0, 1200, fmt="FLAC")
    broken = tone(tmp_path / "broken.flac", 20.0, 1200, fmt="FLAC")
    corrupt_middle(broken)
    blocks = []
    with pytest.raises(
        ValueError, match=r"broken.flac: decoded (\d+) of 160000 frames .* the decoder failed"
    ) as exc:
        for block in stream_audio(
            broken, SR, block_seconds=100.0
        ):  # the blocks before the fault come first
            blocks.append(block)
    decoded = np.concatenate(
        blocks
    )  # the one 100 s block that failed, decoded up to the fault anyway
    assert 5 * SR < len(decoded) < 15 * SR and f"decoded {len(decoded)} of" in str(exc.value)

    detector = Detector(load_bundle(tiny_bundle), batch_size=8)
    whole, part = (
        predict_file(detector, intact, min_score=0),
        predict_file(detector, broken, min_score=0),
    )
    assert whole.error is None and whole.seconds == 20.0
    assert part.seconds == pytest.approx(len(decoded) / SR)
    assert (
        "the decoder failed" in part.reason
        and f"first {part.seconds:.1f} s are kept" in part.reason
    )
    p = part.detections
    assert p["end_s"].max() == pytest.approx(
        part.seconds
    )  # a last window ends at the last decoded sample
    inner = p[p["end_s"] < part.seconds]  # the other windows are the intact file's, same scores
    w = whole.detections.iloc[: len(inner)]
    np.testing.assert_array_equal(inner["start_s"], w["start_s"])
    np.testing.assert_allclose(inner["score"], w["score"], atol=1e-6)

    out = tmp_path / "d.csv"
    assert (
        predict_cli(tiny_bundle, [broken], out) == 0
    )  # something was read: not an error without --strict
    assert len(pd.read_csv(out)) == len(p)
    (reason,) = pd.read_csv(tmp_path / "failed.csv")["reason"]
    assert reason == part.reason
    assert f"broken.flac: {part.reason}" in capsys.readouterr().err


def test_digital_silence_scores_zero_and_a_quiet_sound_is_still_scored(tiny_bundle, tmp_path):
    """Windows of exact zeros, or under -100 dBFS RMS, score 0 for every species; a window of
    -90 dBFS noise (above the floor) and a tone get the model's own (non-zero) scores."""
    from jaxaudio.inference.bundle import load_bundle
    from jaxaudio.inference.predict import SILENT_RMS, Detector, silent

    det = Detector(load_bundle(tiny_bundle), batch_size=8)
    n = det.cfg.n_samples
    rng = np.random.default_rng(0)
    t = np.arange(n) / det.cfg.sample_rate
    windows = np.stack(
        [
            np.zeros(n),  # digital silence
            rng.normal(scale=0.5 * SILENT_RMS, size=n),  # under the floor (-106 dBFS)
            rng.normal(scale=10**-4.5, size=n),  # -90 dBFS noise
            0.3 * np.sin(2 * np.pi * 1000 * t),  # a tone
        ]
    ).astype(np.float32)
    assert silent(windows).tolist() == [True, True, False, False]
    p = det.probabilities(windows)
    assert np.all(p[:2] == 0)
    assert np.all(p[2:].max(axis=1) > 0)
