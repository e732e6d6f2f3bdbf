"""Features against librosa called directly, on synthetic and real recordings."""

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from jaxaudio.data.audio import AudioError, fit_length, load_audio
from jaxaudio.features.cache import write_cache
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.reference import reference_stack


def tone(sr=22050, seconds=3.0, f=1000.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * f * t) * np.exp(-t)).astype(np.float32)


def test_shape_is_plan_shape_for_3s():
    cfg = FeatureConfig(clip_seconds=3.0)
    assert cfg.shape == (3, 40, 130)  # 1 + 66150 // 512
    assert FeatureConfig(clip_seconds=1.0).n_frames == 44
    assert reference_stack(tone(), cfg).shape == (3, 40, 130)


def test_mfcc_and_deltas_equal_librosa_and_savgol():
    y = tone() + 0.01 * np.random.default_rng(0).normal(size=66150).astype(np.float32)
    x = reference_stack(y, FeatureConfig(clip_seconds=3.0))
    ref = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40, n_fft=2048, hop_length=512)
    np.testing.assert_allclose(x[0], ref, rtol=1e-5, atol=1e-3)
    # Δ and Δ² are Savitzky-Golay derivatives (order 2 is not Δ of Δ)
    d1 = scipy.signal.savgol_filter(ref, 9, polyorder=1, deriv=1, axis=-1, mode="interp")
    d2 = scipy.signal.savgol_filter(ref, 9, polyorder=2, deriv=2, axis=-1, mode="interp")
    np.testing.assert_allclose(x[1], d1, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(x[2], d2, rtol=1e-4, atol=1e-3)
    assert not np.allclose(x[2], librosa.feature.delta(x[1], width=9, mode="interp"), atol=1e-2)


def test_decode_resample_mono_pad(tmp_path):
    sr = 44100
    stereo = np.stack([tone(sr, 0.5, 440), tone(sr, 0.5, 440)], axis=1)
    path = tmp_path / "a clip with spaces.wav"
    sf.write(path, stereo, sr, subtype="PCM_16")
    y = load_audio(path, 22050)
    ref, _ = librosa.load(path, sr=22050, mono=True, res_type="soxr_hq")
    np.testing.assert_allclose(y, ref, atol=1e-4)
    fitted = fit_length(y, 22050)
    assert fitted.shape == (22050,) and np.all(fitted[len(y) :] == 0)
    long = np.arange(10.0)
    np.testing.assert_array_equal(fit_length(long, 4), [3, 4, 5, 6])
    np.testing.assert_array_equal(fit_length(long, 4, "start"), [0, 1, 2, 3])


def test_bad_audio_names_the_file(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....not audio")
    with pytest.raises(AudioError, match="broken.wav"):
        load_audio(bad, 22050)


def test_clip_too_short_for_delta_is_a_config_error():
    with pytest.raises(ValueError, match="clip_seconds"):
        FeatureConfig(clip_seconds=0.1).check()


@pytest.mark.parametrize("backend", ["jax", "librosa"])
def test_real_recordings_match_librosa(birdsounds, tmp_path, backend):
    import pandas as pd

    from jaxaudio.data.manifest import prepare_manifest
    from jaxaudio.features.cache import build_feature_cache

    rows = pd.read_csv(birdsounds / "manifest.csv").iloc[::400].head(5)
    paths = [birdsounds / p for p in rows["path"]]
    listing = tmp_path / "five.csv"
    pd.DataFrame(
        {"path": [str(p) for p in paths], "species": rows["species"], "split": "train"}
    ).to_csv(listing, index=False)
    resolved = tmp_path / "resolved.csv"
    prepare_manifest(listing, resolved, tmp_path / "summary.json")
    out = tmp_path / "f.npy"
    build_feature_cache(
        resolved,
        {"clip_seconds": 1.0, "backend": backend},
        out,
        tmp_path / "clips.csv",
        tmp_path / "skipped.csv",
        progress=False,
        threads=2,
    )
    cache = np.load(out, mmap_mode="r")
    assert (
        isinstance(cache, np.memmap)
        and cache.shape == (len(paths), 3, 40, 44)
        and cache.dtype == np.float32
    )
    for i, p in enumerate(paths):
        y, _ = librosa.load(p, sr=22050, mono=True)
        y = (
            librosa.util.fix_length(y, size=22050)
            if len(y) < 22050
            else y[(len(y) - 22050) // 2 :][:22050]
        )
        ref = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40, n_fft=2048, hop_length=512)
        np.testing.assert_allclose(cache[i, 0], ref, rtol=1e-4, atol=1e-2)
        np.testing.assert_allclose(
            cache[i, 2], librosa.feature.delta(ref, order=2), rtol=1e-4, atol=1e-2
        )


def test_windows_cover_the_recording():
    from jaxaudio.features.windows import cut_clips

    sr = 100
    cfg = FeatureConfig(
        sample_rate=sr,
        clip_seconds=1.0,
        crop="windows",
        window_hop_seconds=0.4,
        n_fft=16,
        hop_length=4,
        n_mels=8,
        n_mfcc=4,
    )
    y = np.arange(250, dtype=np.float32)  # 2.5 s
    clips = cut_clips(y, cfg)
    # starts 0, 0.4, 0.8, 1.2 s and a last window ending at 2.5 s (start 1.5 s)
    assert [round(t, 3) for t, _ in clips] == [0.0, 0.4, 0.8, 1.2, 1.5]
    assert all(len(c) == 100 for _, c in clips)
    np.testing.assert_array_equal(clips[-1][1], y[150:250])
    short = cut_clips(np.ones(30, np.float32), cfg)
    assert len(short) == 1 and short[0][1][:30].sum() == 30 and short[0][1][30:].sum() == 0
    centre = cut_clips(
        y,
        FeatureConfig(
            sample_rate=sr,
            clip_seconds=1.0,
            crop="center",
            n_fft=16,
            hop_length=4,
            n_mels=8,
            n_mfcc=4,
        ),
    )
    assert len(centre) == 1 and centre[0][0] == 0.75  # (250 - 100) // 2 samples


def _tone_files(tmp_path, names):
    rows = []
    for i, name in enumerate(names):
        p = tmp_path / name
        sf.write(p, tone(22050, 0.5 + 0.1 * i, 300 + 100 * i), 22050)
        rows.append(
            {
                "path": str(p),
                "species": "ab"[i % 2],
                "split": "train" if i < 4 else "test",
                "label": i % 2,
            }
        )
    return rows


def test_feature_step_caches_reports_all_bad_files_and_skips(tmp_path, monkeypatch):
    import pandas as pd

    from jaxaudio.features.cache import FeatureError, build_feature_cache

    rows = _tone_files(tmp_path, [f"good{i}.wav" for i in range(5)])
    (tmp_path / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    (tmp_path / "empty.wav").write_bytes(b"")
    rows += [
        {"path": str(tmp_path / "broken.wav"), "species": "a", "split": "train", "label": 0},
        {"path": str(tmp_path / "empty.wav"), "species": "b", "split": "test", "label": 1},
    ]
    manifest = tmp_path / "m.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    settings = {"clip_seconds": 1.0}
    out = {k: tmp_path / f"{k}" for k in ("f.npy", "clips.csv", "skipped.csv")}
    cache = tmp_path / "cache"
    with pytest.raises(FeatureError) as err:
        build_feature_cache(
            manifest,
            settings,
            out["f.npy"],
            out["clips.csv"],
            out["skipped.csv"],
            cache,
            "error",
            progress=False,
        )
    msg = str(err.value)
    assert (
        "2 recording(s)" in msg
        and "line 7" in msg
        and "broken.wav" in msg
        and "line 8" in msg
        and "empty.wav" in msg
    )
    assert len(list(cache.glob("*.npz"))) == 5  # the good recordings' features are kept
    assert not out["f.npy"].exists()
    # Rerun with skip: the five good recordings come from the cache (none is decoded again).
    import jaxaudio.features.cache as features_mod

    real_load = features_mod.load_audio

    def load_only_bad(path, *args, **kwargs):
        assert "good" not in str(path), f"{path} was decoded again instead of read from the cache"
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(features_mod, "load_audio", load_only_bad)
    clips = build_feature_cache(
        manifest,
        settings,
        out["f.npy"],
        out["clips.csv"],
        out["skipped.csv"],
        cache,
        "skip",
        progress=False,
    )
    assert len(clips) == 5 and list(clips["recording"]) == [0, 1, 2, 3, 4]
    skipped = pd.read_csv(out["skipped.csv"])
    assert list(skipped["line"]) == [7, 8] and skipped["reason"].str.contains("broken.wav").iloc[0]
    feats = np.load(out["f.npy"])
    y0, _ = sf.read(rows[0]["path"], dtype="float32")  # the 16-bit file as written
    ref = librosa.feature.mfcc(y=librosa.util.fix_length(y0, size=22050), sr=22050, n_mfcc=40)
    np.testing.assert_allclose(feats[0, 0], ref, rtol=1e-4, atol=1e-2)


def test_csv_with_every_optional_column_to_windowed_features(tmp_path):
    """path (relative, with spaces and non-ASCII) + split + start/end + group, real FLAC/WAV
    files, crop=windows: every labelled segment becomes its windows, each with the row's
    species and split, cut at the offsets the hop predicts."""
    import pandas as pd

    from jaxaudio.data.manifest import prepare_manifest
    from jaxaudio.features.cache import build_feature_cache

    sr = 22050
    long_rec = tmp_path / "audio" / "Bewick's Wren" / "dawn chorus é.flac"
    long_rec.parent.mkdir(parents=True)
    sf.write(long_rec, tone(sr, 4.0, 2000), sr, format="FLAC")  # 4 s recording, 2 segments
    other = tmp_path / "audio" / "Song Sparrow.wav"
    sf.write(other, tone(44100, 1.2, 800), 44100)
    rows = [
        "path,species,split,start,end,group",
        "audio/Bewick's Wren/dawn chorus é.flac,Bewick's Wren,train,0.0,2.5,rec1",
        "audio/Bewick's Wren/dawn chorus é.flac,Bewick's Wren,test,2.5,,rec1",  # empty end: to the file's end
        "audio/Song Sparrow.wav,Song Sparrow,train,,,rec2",
        f"{other},Song Sparrow,val,0.2,1.2,rec3",  # absolute path
    ]
    manifest = tmp_path / "labels.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    resolved = tmp_path / "resolved.csv"
    prepare_manifest(manifest, resolved, tmp_path / "summary.json")
    out = {k: tmp_path / k for k in ("f.npy", "clips.csv", "skipped.csv")}
    settings = {"clip_seconds": 1.0, "crop": "windows", "window_hop_seconds": 0.5}
    clips = build_feature_cache(
        resolved,
        settings,
        out["f.npy"],
        out["clips.csv"],
        out["skipped.csv"],
        tmp_path / "cache",
        progress=False,
    )
    # segment 0..2.5 s: windows at 0, 0.5, 1.0, 1.5 and one ending at 2.5 (1.5 s) -> starts 0,.5,1,1.5
    # segment 2.5..4 s: 1.5 s long -> 2.5, 3.0 (ends exactly at 4.0)
    # Song Sparrow 1.2 s: 0.0 and 0.2 (aligned to the end); val segment 0.2..1.2 = 1 s: one window
    expected = {0: [0.0, 0.5, 1.0, 1.5], 1: [2.5, 3.0], 2: [0.0, 0.2], 3: [0.2]}
    for rec, starts in expected.items():
        got = clips.loc[clips["recording"] == rec, "clip_start"].tolist()
        np.testing.assert_allclose(got, starts, atol=1e-3)
    by_rec = clips.groupby("recording")
    assert by_rec["split"].first().tolist() == ["train", "test", "train", "val"]
    assert by_rec["species"].first().tolist() == [
        "Bewick's Wren",
        "Bewick's Wren",
        "Song Sparrow",
        "Song Sparrow",
    ]
    assert by_rec["group"].first().tolist() == ["rec1", "rec1", "rec2", "rec3"]
    x = np.load(out["f.npy"])
    assert x.shape == (9, 3, 40, 44)
    # window 2 of recording 0 (1.0-2.0 s) equals librosa on that slice of the decoded file
    y = load_audio(long_rec, sr)
    ref = librosa.feature.mfcc(y=y[sr : 2 * sr], sr=sr, n_mfcc=40, n_fft=2048, hop_length=512)
    np.testing.assert_allclose(x[2, 0], ref, rtol=1e-4, atol=1e-3)
    assert pd.read_csv(out["skipped.csv"]).empty


def test_file_deleted_after_the_manifest_check_is_a_bad_file(tmp_path):
    import pandas as pd

    from jaxaudio.data.manifest import prepare_manifest
    from jaxaudio.features.cache import build_feature_cache

    for i in range(4):
        sf.write(tmp_path / f"a{i}.wav", tone(22050, 0.5, 500 + 100 * i), 22050)
    listing = tmp_path / "m.csv"
    listing.write_text(
        "path,species,split\n"
        + "".join(f"a{i}.wav,Wren,{'train' if i < 3 else 'test'}\n" for i in range(4))
    )
    resolved = tmp_path / "resolved.csv"
    prepare_manifest(listing, resolved, tmp_path / "s.json")
    (tmp_path / "a1.wav").unlink()  # gone between the manifest rule and the features rule
    skipped = tmp_path / "skipped.csv"
    clips = build_feature_cache(
        resolved,
        {"clip_seconds": 1.0},
        tmp_path / "f.npy",
        tmp_path / "c.csv",
        skipped,
        tmp_path / "cache",
        on_bad_file="skip",
        progress=False,
    )
    assert len(clips) == 3
    row = pd.read_csv(skipped).iloc[0]
    assert row["line"] == 3 and row["reason"].startswith(f"{tmp_path / 'a1.wav'}: cannot read file")


def test_write_cache_from_arrays_and_cache_entries(tmp_path):
    """The cache file equals numpy's stack of the blocks, whether a block is an array, a
    single clip or a per-recording .npz entry read when its turn comes."""
    cfg = FeatureConfig(clip_seconds=0.5)
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(k, *cfg.shape)).astype(np.float32) for k in (2, 1, 3))
    np.savez(tmp_path / "c.npz", features=c, clip_start=np.zeros(3))
    out = write_cache([a, b[0], tmp_path / "c.npz"], cfg, tmp_path / "f.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), np.concatenate([a, b, c]))
    np.testing.assert_array_equal(out, np.concatenate([a, b, c]))
    assert not (tmp_path / "f.npy.partial").exists()
    with pytest.raises(ValueError, match="shape"):
        write_cache([a[:, :, :5]], cfg, tmp_path / "g.npy")


def _listing(tmp_path, signals):
    """Real WAV files of ``signals`` (name -> samples at 22 050 Hz, or (samples, rate)), the
    user's manifest of them in that order (all train) and the resolved one the workflow writes."""
    import pandas as pd

    from jaxaudio.data.manifest import prepare_manifest

    for name, y in signals.items():
        y, sr = y if isinstance(y, tuple) else (y, 22050)
        sf.write(tmp_path / name, y, sr)
    listing = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "path": list(signals),
            "species": ["ab"[i % 2] for i in range(len(signals))],
            "split": "train",
        }
    ).to_csv(listing, index=False)
    resolved = tmp_path / "results" / "manifest.csv"
    resolved.parent.mkdir(exist_ok=True)
    prepare_manifest(listing, resolved, tmp_path / "results" / "dataset.json")
    return listing, resolved


def test_features_log_holds_plain_progress_lines(tmp_path):
    """The workflow's features step logs into a file (step_log points stderr at it): no
    progress bar with carriage returns there, plain INFO lines with counts instead."""
    from jaxaudio.features.cache import build_feature_cache
    from jaxaudio.runtime.runlog import step_log

    _, resolved = _listing(
        tmp_path, {f"rec {i}.wav": tone(22050, 0.5 + 0.1 * i, 300 + 100 * i) for i in range(5)}
    )
    log_file = tmp_path / "logs" / "features.log"
    with step_log(log_file):
        build_feature_cache(
            resolved,
            {"clip_seconds": 1.0},
            tmp_path / "f.npy",
            tmp_path / "clips.csv",
            tmp_path / "skipped.csv",
            cache_dir=tmp_path / "cache",
        )  # progress left at its default
    text = log_file.read_text()
    assert "\r" not in text
    assert "features (jax, 1 thread(s)): 5/5 recordings (0 from the cache, 0 bad)" in text, text
    assert all(
        " INFO " in line or " WARNING " in line
        for line in text.splitlines()
        if "features (" in line
    )


def test_progress_bar_is_never_drawn_into_a_file(tmp_path):
    """Even when asked for (progress=True), a bar goes only to a terminal."""
    from jaxaudio.features.cache import build_feature_cache
    from jaxaudio.runtime.runlog import is_terminal, step_log

    _, resolved = _listing(
        tmp_path, {f"rec {i}.wav": tone(22050, 0.5, 400 + 100 * i) for i in range(2)}
    )
    with step_log(tmp_path / "x.log"):
        build_feature_cache(
            resolved,
            {"clip_seconds": 1.0},
            tmp_path / "f.npy",
            tmp_path / "clips.csv",
            tmp_path / "skipped.csv",
            progress=True,
        )
    assert (
        "\r" not in (tmp_path / "x.log").read_text()
        and "2/2 recordings" in (tmp_path / "x.log").read_text()
    )
    with open(tmp_path / "plain.txt", "w") as f:
        assert not is_terminal(f)
    assert not is_terminal(object())  # no isatty at all


def test_recording_much_shorter_than_the_clip_is_warned(tmp_path, caplog):
    """A 0.001 s recording among normal ones: one warning naming it, its duration, the clip
    and the share of signal, with its line in the user's manifest; again when the features
    come from the cache."""
    from jaxaudio.features.cache import build_feature_cache, short_signal_seconds

    t = np.arange(16) / 16000
    tiny = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)  # 16 samples at 16 kHz = 0.001 s
    signals = {f"rec {i}.wav": tone(22050, 0.5 + 0.1 * i, 300 + 100 * i) for i in range(4)}
    signals = {
        **dict(list(signals.items())[:2]),
        "tiny call.wav": (tiny, 16000),
        **dict(list(signals.items())[2:]),
    }
    listing, resolved = _listing(tmp_path, signals)  # tiny call.wav on line 4
    args = (
        resolved,
        {"clip_seconds": 1.0},
        tmp_path / "f.npy",
        tmp_path / "clips.csv",
        tmp_path / "skipped.csv",
    )
    for attempt in ("decoded", "cached"):
        caplog.clear()
        with caplog.at_level("WARNING", logger="jaxaudio.features.cache"):
            clips = build_feature_cache(*args, cache_dir=tmp_path / "cache", progress=False)
        assert len(clips) == 5  # still featurised (padded): a warning, not an error
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == 1, (attempt, warnings)
        msg = warnings[0]
        assert msg.startswith(f"{listing}: 1 recording(s) shorter than 0.023 s"), msg
        assert (
            f"line 4: {tmp_path / 'tiny call.wav'}: 0.001 s of audio padded to a 1 s clip (0.1 % signal)"
            in msg
        ), msg
        assert "rec 0.wav" not in msg
    from jaxaudio.features.cache import FeatureError

    with pytest.raises(
        FeatureError,
        match=r"tiny call.wav: 0.001 s of audio padded .*strict: true makes this an error",
    ):
        build_feature_cache(*args, cache_dir=tmp_path / "cache", progress=False, strict=True)
    assert short_signal_seconds(FeatureConfig(clip_seconds=3.0)) == pytest.approx(0.03)
    assert short_signal_seconds(FeatureConfig(clip_seconds=1.0)) == pytest.approx(512 / 22050)
