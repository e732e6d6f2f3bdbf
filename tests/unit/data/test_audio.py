"""Decoding real files of every supported kind, every bad input, and folder-tree sources.

Every case writes a real file with soundfile (or raw bytes) under ``tmp_path`` and checks
against references computed independently: the numpy signal that was written, the mean of
its channels, ``librosa.resample`` called directly, an FFT peak.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.data.audio import AUDIO_EXTENSIONS, AudioError, audio_info, load_audio
from jaxaudio.data.folder import scan_folder
from jaxaudio.data.manifest import ManifestError, prepare_manifest, resolve_manifest

SR = 22050


def tone(sr: int = SR, seconds: float = 1.0, f: float = 1000.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


def noise(
    sr: int = SR, seconds: float = 1.0, seed: int = 0, channels: int | None = None
) -> np.ndarray:
    shape = (
        (int(round(sr * seconds)),) if channels is None else (int(round(sr * seconds)), channels)
    )
    return (
        (0.3 * np.random.default_rng(seed).standard_normal(shape))
        .clip(-0.99, 0.99)
        .astype(np.float32)
    )


def write(path: Path, data: np.ndarray, sr: int = SR, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sr, **kwargs)
    return path


def peak_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(spectrum)])


def fault(path: Path, words: str) -> str:
    """A ``match`` pattern: the message starts with the file's path and then names the fault."""
    return "^" + re.escape(str(path)) + ": .*" + words


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "ext, fmt, subtype, step",
    [
        ("wav", "WAV", "PCM_U8", 2.0**-7),
        ("wav", "WAV", "PCM_16", 2.0**-15),
        ("wav", "WAV", "PCM_24", 2.0**-23),
        ("wav", "WAV", "PCM_32", 1e-7),  # 2^-31 steps, decoded to float32 (~3e-8 at 0.5)
        ("wav", "WAV", "FLOAT", 0.0),
        ("wav", "WAV", "DOUBLE", 1e-7),  # float32 rounding of a float64 file
        ("flac", "FLAC", "PCM_16", 2.0**-15),
        ("flac", "FLAC", "PCM_24", 2.0**-23),
        ("aiff", "AIFF", "PCM_16", 2.0**-15),
    ],
)
def test_lossless_formats_decode_to_the_written_signal(tmp_path, ext, fmt, subtype, step):
    x = noise(seconds=0.5)
    path = write(tmp_path / f"clip.{ext}", x, format=fmt, subtype=subtype)
    y = load_audio(path, SR)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, rtol=0, atol=step)
    info = audio_info(path)
    assert info == {
        "samplerate": SR,
        "channels": 1,
        "frames": len(x),
        "duration": 0.5,
        "format": fmt,
        "subtype": subtype,
    }


@pytest.mark.parametrize(
    "ext, fmt, subtype", [("ogg", "OGG", "VORBIS"), ("mp3", "MP3", "MPEG_LAYER_III")]
)
def test_lossy_formats_keep_length_and_waveform(tmp_path, ext, fmt, subtype):
    x = tone(seconds=1.0) * np.hanning(SR).astype(np.float32)
    path = write(tmp_path / f"clip.{ext}", x, format=fmt, subtype=subtype)
    y = load_audio(path, SR)
    assert abs(len(y) - len(x)) <= 2 * 1152  # at most two MPEG frames of codec padding
    n = min(len(x), len(y))
    assert np.corrcoef(x[:n], y[:n])[0, 1] > 0.9
    assert abs(peak_hz(y, SR) - 1000.0) <= 2.0


def test_oga_extension_is_ogg(tmp_path):
    x = tone()
    path = write(tmp_path / "clip.oga", x, format="OGG", subtype="VORBIS")
    assert ".oga" in AUDIO_EXTENSIONS
    y = load_audio(path, SR)
    assert len(y) == len(x) and np.corrcoef(x, y)[0, 1] > 0.9


# ---------------------------------------------------------------- rates and channels


@pytest.mark.parametrize("sr", [8000, 44100, 96000, 192000])
def test_any_rate_is_resampled_like_librosa_soxr_hq(tmp_path, sr):
    x = tone(sr, seconds=1.0, f=1000.0)
    path = write(tmp_path / f"tone_{sr}.wav", x, sr, subtype="FLOAT")
    y = load_audio(path, SR)
    ref = librosa.resample(x, orig_sr=sr, target_sr=SR, res_type="soxr_hq")
    assert y.dtype == np.float32 and y.shape == ref.shape and abs(len(y) - SR) <= 1
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-6)
    assert abs(peak_hz(y, SR) - 1000.0) <= 2.0  # 1 Hz bins for 1 s


@pytest.mark.parametrize("channels", [2, 4])
def test_channels_are_averaged(tmp_path, channels):
    sr = SR
    x = np.stack([tone(sr, 0.5, 300 + 400 * c, 0.2) for c in range(channels)], axis=1)
    path = write(tmp_path / f"multi_{channels}.wav", x, sr, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, SR), x.mean(axis=1), rtol=0, atol=1e-7)
    assert audio_info(path)["channels"] == channels


def test_stereo_at_another_rate_is_averaged_then_resampled(tmp_path):
    x = noise(44100, 0.5, channels=2)
    path = write(tmp_path / "stereo.flac", x, 44100, subtype="PCM_24")
    ref = librosa.resample(x.mean(axis=1), orig_sr=44100, target_sr=SR, res_type="soxr_hq")
    np.testing.assert_allclose(load_audio(path, SR), ref, rtol=0, atol=1e-5)


# ---------------------------------------------------------------- paths and segments


@pytest.mark.parametrize(
    "rel",
    [
        "Bewick's Wren/é ß 1.flac",
        "folder with spaces/a clip (2).wav",
        "Zaunkönig/Ωμέγα.ogg",
        "日本/ウグイス.mp3",
    ],
)
def test_unusual_paths(tmp_path, rel):
    x = tone(seconds=0.5)
    path = tmp_path / rel
    write(
        path, x, format={"flac": "FLAC", "wav": "WAV", "ogg": "OGG", "mp3": "MP3"}[path.suffix[1:]]
    )
    y = load_audio(path, SR)
    assert abs(len(y) - len(x)) <= 2 * 1152 and abs(peak_hz(y, SR) - 1000.0) <= 4.0
    assert audio_info(str(path))["samplerate"] == SR


def test_segments_are_slices_of_the_signal(tmp_path):
    x = noise(seconds=2.0)
    path = write(tmp_path / "long.wav", x, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path, SR, 0.5, 1.2), x[11025:26460])
    np.testing.assert_array_equal(load_audio(path, SR, start=1.5), x[33075:])
    np.testing.assert_array_equal(load_audio(path, SR, end=0.25), x[: int(0.25 * SR)])
    # up to 1 ms past the end is rounding in an annotation: read to the end
    np.testing.assert_array_equal(load_audio(path, SR, 1.0, 2.0005), x[SR:])
    # a segment of a file at another rate is the resampled slice
    x44 = noise(44100, 2.0, seed=1)
    p44 = write(tmp_path / "long44.flac", x44, 44100, subtype="PCM_24")
    ref = librosa.resample(x44[44100:66150], orig_sr=44100, target_sr=SR, res_type="soxr_hq")
    np.testing.assert_allclose(load_audio(p44, SR, 1.0, 1.5), ref, rtol=0, atol=1e-5)


# ---------------------------------------------------------------- bad inputs


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AudioError, match=fault(path, "cannot decode: .*not recognised")):
        load_audio(path, SR)
    with pytest.raises(AudioError, match=fault(path, "cannot decode")):
        audio_info(path)


def test_truncated_wav(tmp_path):
    x = noise(seconds=1.0)
    path = _truncate(write(tmp_path / "cut off.wav", x, subtype="PCM_16"))
    # libsndfile silently reports only the frames present; the header is read to notice
    assert sf.info(path).frames < len(x)
    with pytest.raises(
        AudioError, match=fault(path, rf"decoded \d+ of {len(x)} frames: file is truncated")
    ):
        load_audio(path, SR)
    with pytest.raises(AudioError, match=fault(path, "file is truncated")):
        audio_info(path)
    with pytest.raises(
        AudioError,
        match=fault(path, r"decoded \d+ of 4410 frames \(segment 0.6..0.8 s\): file is truncated"),
    ):
        load_audio(path, SR, 0.6, 0.8)
    # the part that is present is still readable as a segment
    np.testing.assert_allclose(load_audio(path, SR, 0.1, 0.2), x[2205:4410], atol=2.0**-15)


def test_truncated_float_wav_and_aiff(tmp_path):
    wav = _truncate(write(tmp_path / "f.wav", noise(), subtype="FLOAT"))
    aiff = _truncate(write(tmp_path / "a.aiff", noise(), subtype="PCM_16"))
    for path in (wav, aiff):
        with pytest.raises(
            AudioError, match=fault(path, rf"decoded \d+ of {SR} frames: file is truncated")
        ):
            load_audio(path, SR)


def test_truncated_flac(tmp_path):
    x = noise(seconds=2.0)
    path = _truncate(write(tmp_path / "cut.flac", x, format="FLAC", subtype="PCM_16"))
    assert sf.info(path).frames == len(x)  # STREAMINFO still promises every frame
    with pytest.raises(
        AudioError, match=fault(path, rf"decoded \d+ of {len(x)} frames: file is truncated")
    ):
        load_audio(path, SR)
    np.testing.assert_allclose(load_audio(path, SR, 0.0, 0.2), x[:4410], atol=2.0**-15)


def test_truncated_mp3(tmp_path):
    path = _truncate(
        write(tmp_path / "cut.mp3", tone(seconds=2.0), format="MP3", subtype="MPEG_LAYER_III")
    )
    with pytest.raises(
        AudioError, match=fault(path, rf"decoded \d+ of {2 * SR} frames: file is truncated")
    ):
        load_audio(path, SR)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    for fn in (lambda p: load_audio(p, SR), audio_info):
        with pytest.raises(AudioError, match=fault(path, r"empty file \(0 bytes\)")):
            fn(path)


def test_header_with_zero_frames(tmp_path):
    path = write(tmp_path / "no frames.wav", np.zeros((0, 1), np.float32), subtype="PCM_16")
    assert path.stat().st_size > 0
    for fn in (lambda p: load_audio(p, SR), audio_info):
        with pytest.raises(AudioError, match=fault(path, "no samples")):
            fn(path)


def test_unfinished_wav_header_is_explained(tmp_path):
    path = write(tmp_path / "unfinished.wav", noise(), subtype="PCM_16")
    data = bytearray(path.read_bytes())
    i = data.find(b"data")
    data[i + 4 : i + 8] = struct.pack("<I", 0)  # a recorder that never wrote the final size
    path.write_bytes(bytes(data))
    with pytest.raises(
        AudioError,
        match=fault(path, f"header announces 0 frames although {SR} frames of data follow"),
    ):
        load_audio(path, SR)


def test_silence(tmp_path):
    zeros = write(tmp_path / "zeros.wav", np.zeros(SR, np.float32), subtype="PCM_16")
    with pytest.raises(AudioError, match=fault(zeros, "all samples are silent")):
        load_audio(zeros, SR)
    tiny = write(tmp_path / "tiny.wav", np.full(SR, 1e-9, np.float32), subtype="FLOAT")
    with pytest.raises(AudioError, match=fault(tiny, "all samples are silent")):
        load_audio(tiny, SR)
    # the quietest 16-bit signal (one step) and a -120 dBFS float signal are not silence
    one_step = write(tmp_path / "one step.wav", np.full(SR, 2.0**-15, np.float32), subtype="PCM_16")
    assert np.max(np.abs(load_audio(one_step, SR))) == pytest.approx(2.0**-15)
    quiet = write(tmp_path / "quiet.wav", 1e-6 * noise(), subtype="FLOAT")
    assert np.max(np.abs(load_audio(quiet, SR))) > 0
    # a silent segment of a file with sound elsewhere
    x = noise()
    x[: SR // 2] = 0
    part = write(tmp_path / "part.wav", x, subtype="PCM_16")
    with pytest.raises(AudioError, match=fault(part, "all samples are silent")):
        load_audio(part, SR, 0.0, 0.4)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    x = noise()
    x[100] = bad
    path = write(tmp_path / f"bad {bad}.wav", x, subtype="FLOAT")
    with pytest.raises(AudioError, match=fault(path, "contains NaN or infinite samples")):
        load_audio(path, SR)


@pytest.mark.parametrize("name", ["notes.txt", "data.xyz"])
def test_unsupported_format(tmp_path, name):
    path = tmp_path / name
    path.write_text("species: Bewick's Wren\nnot audio at all\n")
    ext = re.escape(Path(name).suffix)
    for fn in (lambda p: load_audio(p, SR), audio_info):
        with pytest.raises(AudioError, match=fault(path, f"unsupported format '{ext}'")):
            fn(path)


def test_missing_file_and_folder(tmp_path):
    path = tmp_path / "nowhere" / "missing.wav"
    with pytest.raises(AudioError, match=fault(path, "file does not exist")):
        load_audio(path, SR)
    with pytest.raises(AudioError, match=fault(tmp_path, "is a folder")):
        load_audio(tmp_path, SR)


def test_bad_segments_name_the_numbers(tmp_path):
    path = write(tmp_path / "one second.wav", noise(), subtype="PCM_16")
    with pytest.raises(
        AudioError,
        match=fault(path, r"start 0\.8 s is not before end 0\.5 s \(the file is 1\.000 s long\)"),
    ):
        load_audio(path, SR, 0.8, 0.5)
    with pytest.raises(AudioError, match=fault(path, r"start 0\.5 s is not before end 0\.5 s")):
        load_audio(path, SR, 0.5, 0.5)
    with pytest.raises(
        AudioError, match=fault(path, r"end 1\.5 s is past the end of the file \(1\.000 s\)")
    ):
        load_audio(path, SR, 0.5, 1.5)
    with pytest.raises(AudioError, match=fault(path, r"end 1\.002 s is past the end")):
        load_audio(path, SR, end=1.002)  # more than 1 ms past
    with pytest.raises(
        AudioError,
        match=fault(path, r"start 1\.2 s is at or past the end of the file \(1\.000 s\)"),
    ):
        load_audio(path, SR, start=1.2)
    with pytest.raises(AudioError, match=fault(path, r"start -0\.1 s is negative")):
        load_audio(path, SR, -0.1, 0.5)


# ---------------------------------------------------------------- folder trees


def _tree(root: Path, files: list[str]) -> list[Path]:
    out = []
    for i, rel in enumerate(files):
        p = root / rel
        ext = p.suffix.lower()
        if ext in AUDIO_EXTENSIONS:
            fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3", ".aiff": "AIFF"}[
                ext
            ]
            write(p, tone(seconds=0.5 + 0.05 * i, f=400 + 150 * i), format=fmt)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("not audio\n")
        out.append(p)
    return out


def test_scan_folder_tree(tmp_path):
    root = tmp_path / "data set"
    _tree(
        root,
        [
            "Song Sparrow/b.WAV",
            "Song Sparrow/a.flac",
            "Song Sparrow/notes.txt",
            "Song Sparrow/.b.wav",  # hidden (e.g. macOS resource fork)
            "Bewick's Wren/2023/site A/é ß 1.flac",
            "Bewick's Wren/x.mp3",
            "Zaunko\u0308nig/z.Ogg",  # decomposed (NFD) ö, as macOS writes it
            ".cache/hidden.wav",
            "README.txt",
        ],
    )
    df = scan_folder(root)
    assert list(df.columns) == ["path", "species"]
    expected = [
        ("Bewick's Wren/2023/site A/é ß 1.flac", "Bewick's Wren"),
        ("Bewick's Wren/x.mp3", "Bewick's Wren"),
        ("Song Sparrow/a.flac", "Song Sparrow"),
        ("Song Sparrow/b.WAV", "Song Sparrow"),
        ("Zaunko\u0308nig/z.Ogg", "Zaunk\u00f6nig"),
    ]
    assert df["species"].tolist() == [s for _, s in expected]
    assert df["path"].tolist() == [str(root.absolute() / rel) for rel, _ in expected]
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in df["path"])
    assert unicodedata.is_normalized("NFC", df["species"].iloc[-1])
    # relative roots give absolute paths too
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        assert scan_folder("data set")["path"].tolist() == df["path"].tolist()


def test_scan_folder_errors(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        scan_folder(tmp_path / "missing")
    file_root = _tree(tmp_path, ["a.txt"])[0]
    with pytest.raises(ManifestError, match="is not a folder"):
        scan_folder(file_root)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        ManifestError, match=re.escape(str(empty)) + r": no audio files \(\.wav, \.flac"
    ):
        scan_folder(empty)
    text_only = tmp_path / "text only"
    _tree(text_only, ["Wren/notes.txt", "Wren/list.csv"])
    with pytest.raises(ManifestError, match=r"no audio files .*notes\.txt"):
        scan_folder(text_only)
    loose = tmp_path / "loose"
    _tree(loose, ["Wren/a.wav", "stray one.wav", "stray two.flac"])
    with pytest.raises(
        ManifestError,
        match=r"2 audio file\(s\) directly in the data folder.*stray one\.wav, stray two\.flac",
    ):
        scan_folder(loose)


def test_resolve_manifest_from_a_folder(tmp_path):
    root = tmp_path / "birds"
    _tree(root, [f"{sp}/{sp} {i}.wav" for sp in ("Bewick's Wren", "Zaunkönig") for i in range(5)])
    df, species = resolve_manifest(root, seed=1)
    assert species == ["Bewick's Wren", "Zaunkönig"]
    assert {"path", "species", "split", "label"} <= set(df.columns) and len(df) == 10
    assert set(df["split"]) <= {"train", "val", "test"}
    assert (df["label"] == df["species"].map({"Bewick's Wren": 0, "Zaunkönig": 1})).all()
    for sp in species:
        assert (df.loc[df["species"] == sp, "split"] == "train").any()
    assert sorted(df["path"]) == sorted(str(p) for p in root.absolute().glob("*/*.wav"))


def test_feature_step_reports_real_broken_files(tmp_path):
    from jaxaudio.features.cache import FeatureError, build_feature_cache

    root = tmp_path / "birds"
    _tree(root, [f"{sp}/good {i}.wav" for sp in ("Wren", "Sparrow") for i in range(5)])
    corrupt = root / "Wren" / "corrupt.wav"
    corrupt.write_bytes(np.random.default_rng(1).bytes(2048))
    truncated = _truncate(
        write(root / "Sparrow" / "truncated.flac", noise(seconds=2.0), format="FLAC")
    )
    manifest = tmp_path / "resolved.csv"
    prepare_manifest(root, manifest, tmp_path / "summary.json", seed=0)
    table = pd.read_csv(manifest)
    line = {Path(p).name: i + 2 for i, p in enumerate(table["path"])}
    out = {k: tmp_path / k for k in ("f.npy", "clips.csv", "skipped.csv")}
    settings = {"clip_seconds": 1.0}
    with pytest.raises(FeatureError) as err:
        build_feature_cache(
            manifest,
            settings,
            out["f.npy"],
            out["clips.csv"],
            out["skipped.csv"],
            None,
            "error",
            progress=False,
        )
    msg = str(err.value)
    assert "2 recording(s)" in msg
    assert f"line {line['corrupt.wav']}: {corrupt}: cannot decode" in msg
    assert (
        f"line {line['truncated.flac']}: {truncated}: decoded" in msg and "file is truncated" in msg
    )
    assert not out["f.npy"].exists()

    clips = build_feature_cache(
        manifest,
        settings,
        out["f.npy"],
        out["clips.csv"],
        out["skipped.csv"],
        None,
        "skip",
        progress=False,
    )
    assert len(clips) == 10 and not clips["path"].str.contains("corrupt|truncated").any()
    skipped = pd.read_csv(out["skipped.csv"]).sort_values("line")
    assert skipped["path"].tolist() == [
        str(p) for p in sorted([corrupt, truncated], key=lambda p: line[p.name])
    ]
    assert skipped["line"].tolist() == sorted([line["corrupt.wav"], line["truncated.flac"]])
    reasons = dict(zip(skipped["path"], skipped["reason"]))
    assert reasons[str(corrupt)].startswith(f"{corrupt}: cannot decode")
    assert "file is truncated" in reasons[str(truncated)]
    assert np.load(out["f.npy"]).shape == (10, 3, 40, 44)


def test_folder_source_names_a_broken_link_relative_to_the_folder(tmp_path):
    root = tmp_path / "birds"
    _tree(root, [f"Wren/good {i}.wav" for i in range(3)])
    (root / "Wren" / "moved.wav").symlink_to(tmp_path / "elsewhere.wav")
    with pytest.raises(ManifestError) as err:
        resolve_manifest(root)
    assert (
        str(err.value)
        == f"{root}: 1 audio file(s) listed but not found: Wren/moved.wav: file does not exist (broken link)"
    )


def test_feature_errors_name_the_users_manifest_and_line(tmp_path):
    """The features step reads the workflow's copy (results/data/manifest.csv) but names the
    manifest the user wrote and the line there, in the error and in skipped.csv."""
    from jaxaudio.features.cache import FeatureError, build_feature_cache

    audio = tmp_path / "audio"
    for i in range(4):
        write(audio / f"good {i}.wav", tone(seconds=0.5, f=300 + 100 * i))
    corrupt = audio / "corrupt.wav"
    corrupt.parent.mkdir(parents=True, exist_ok=True)
    corrupt.write_bytes(np.random.default_rng(1).bytes(2048))
    labels = tmp_path / "my labels.csv"
    labels.write_text(
        "path,species,split\n"
        "audio/good 0.wav,Wren,train\n"
        "\n"  # a blank line: the user's line numbers differ from those of the workflow's copy
        "audio/good 1.wav,Wren,test\n"
        "audio/corrupt.wav,Wren,train\n"  # line 5 (line 4 of the copy)
        "audio/good 2.wav,Sparrow,train\n"
        "audio/good 3.wav,Sparrow,test\n"
    )
    resolved = tmp_path / "results" / "data" / "manifest.csv"
    resolved.parent.mkdir(parents=True)
    prepare_manifest(labels, resolved, resolved.with_name("dataset.json"))
    out = {k: tmp_path / "results" / k for k in ("f.npy", "clips.csv", "skipped.csv")}
    with pytest.raises(FeatureError) as err:
        build_feature_cache(
            resolved,
            {"clip_seconds": 1.0},
            out["f.npy"],
            out["clips.csv"],
            out["skipped.csv"],
            progress=False,
        )
    msg = str(err.value)
    assert msg.startswith(
        f"{labels}: 1 recording(s) could not be used: line 5: {corrupt}: cannot decode"
    ), msg
    assert str(resolved) not in msg
    build_feature_cache(
        resolved,
        {"clip_seconds": 1.0},
        out["f.npy"],
        out["clips.csv"],
        out["skipped.csv"],
        on_bad_file="skip",
        progress=False,
    )
    skipped = pd.read_csv(out["skipped.csv"])
    assert skipped[["path", "line", "manifest"]].values.tolist() == [[str(corrupt), 5, str(labels)]]
    assert skipped["reason"].iloc[0].startswith(f"{corrupt}: cannot decode")
