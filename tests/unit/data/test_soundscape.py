"""Tests for jaxaudio.data.soundscape: long annotated soundscapes rendered from clips.

Every species is a sine tone of its own frequency, written as a real WAV under a tmp
folder. The rendered audio is then checked against the truth independently: the energy
at a species' frequency inside its truth intervals against the same band elsewhere, the
dominant frequency of each interval, the clip lengths read back with soundfile, and the
Raven tables parsed with pandas.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy import signal
from scipy.signal.windows import tukey

from jaxaudio.data import soundscape as sc
from jaxaudio.data.soundscape import SoundscapeSettings, render_isolated, render_soundscapes

SR = 22050
TONES = {"Alpha": 700.0, "Bravo": 1100.0, "Charlie": 1500.0, "Xray": 1900.0, "Yankee": 2400.0}
KNOWN, UNKNOWN = ["Alpha", "Bravo", "Charlie"], ["Xray", "Yankee"]
RAVEN = [
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
    "Species",
]
SETTINGS = SoundscapeSettings(seconds=30.0, calls_per_minute=20, unknown_calls_per_minute=8)


def write_clips(folder: Path) -> pd.DataFrame:
    """Two tone clips per species (0.2-0.5 s, 10 % cosine taper), 16-bit WAV at 22050 Hz."""
    rows = []
    for i, (species, f) in enumerate(TONES.items()):
        for j in range(2):
            n = int(round((0.2 + 0.05 * i + 0.07 * j) * SR))
            t = np.arange(n) / SR
            y = (0.5 * np.sin(2 * np.pi * f * t) * tukey(n, 0.1)).astype(np.float32)
            path = folder / species / f"{j}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, y, SR, subtype="PCM_16")
            rows.append({"path": str(path), "species": species, "split": "test"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> pd.DataFrame:
    return write_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def rendered(clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("soundscapes")
    truth = render_soundscapes(clips, KNOWN, UNKNOWN, out, n_files=2, settings=SETTINGS, seed=5)
    return out, truth


def band_power(x: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
    """Frame start/end times (s) and power within ±50 Hz of ``f`` of a 512-sample STFT."""
    freqs, times, z = signal.stft(x, SR, nperseg=512, noverlap=256, boundary=None, padded=False)
    band = np.abs(freqs - f) <= 50
    half = 256 / SR
    return np.stack([times - half, times + half], 1), (np.abs(z[band]) ** 2).sum(0)


def overlapping_share(events: pd.DataFrame) -> float:
    """In time order, the share of events (after the first) starting before an earlier one ended."""
    e = events.sort_values("start_s")
    ends = np.maximum.accumulate(e["end_s"].to_numpy())
    return float(np.mean(e["start_s"].to_numpy()[1:] < ends[:-1]))


# ---------------------------------------------------------------- render_soundscapes


def test_output_files_and_summary(rendered):
    out, truth = rendered
    summary = pd.read_csv(out / "soundscapes.csv")
    assert list(summary["file"]) == ["soundscape_000", "soundscape_001"]
    assert set(truth["file"]) == set(summary["file"])
    for row in summary.itertuples():
        info = sf.info(out / f"{row.file}.wav")
        assert (info.samplerate, info.channels, info.frames) == (SR, 1, 30 * SR)
        assert info.subtype == "FLOAT"
        assert row.duration_s == pytest.approx(30.0)
        kinds = row.background.split("+")
        assert 1 <= len(kinds) <= 2 and set(kinds) <= set(SETTINGS.backgrounds)
        assert (out / "truth" / f"{row.file}.selections.txt").is_file()
    # Kinds are cycled: file i starts with backgrounds[i].
    assert [b.split("+")[0] for b in summary["background"]] == ["pink", "brown"]
    on_disk = pd.read_csv(out / "truth.csv")
    assert list(on_disk.columns[:5]) == ["file", "start_s", "end_s", "species", "known"]
    pd.testing.assert_frame_equal(on_disk, truth.reset_index(drop=True), check_dtype=False)


def test_call_counts_and_known_flags(rendered):
    _, truth = rendered
    for _, events in truth.groupby("file"):
        assert events["known"].sum() == round(20 * 30 / 60)
        assert (~events["known"]).sum() == round(8 * 30 / 60)
    assert truth["known"].dtype == bool
    assert set(truth.loc[truth["known"], "species"]) <= set(KNOWN)
    assert set(truth.loc[~truth["known"], "species"]) <= set(UNKNOWN)


def test_events_inside_the_file_and_as_long_as_their_clip(rendered):
    _, truth = rendered
    assert (truth["start_s"] >= 0).all() and (truth["end_s"] <= 30.0 + 1e-9).all()
    for row in truth.itertuples():
        frames = sf.info(row.clip).frames
        assert row.end_s - row.start_s == pytest.approx(frames / SR, abs=1e-9)
        assert row.start_s * SR == pytest.approx(round(row.start_s * SR), abs=1e-6)
        assert Path(row.clip).parent.name == row.species


def test_energy_at_each_species_tone_is_inside_its_events(rendered):
    out, truth = rendered
    for name, events in truth.groupby("file"):
        x, sr = sf.read(out / f"{name}.wav", dtype="float64")
        assert sr == SR
        for species, f in TONES.items():
            mine = events[events["species"] == species]
            if mine.empty:
                continue
            spans, power = band_power(x, f)
            inside_any = np.zeros(len(spans), dtype=bool)
            for e in mine.itertuples():
                inside_any |= (spans[:, 1] > e.start_s) & (spans[:, 0] < e.end_s)
            floor = np.median(power[~inside_any])
            ratios = []
            for e in mine.itertuples():
                inside = (spans[:, 0] >= e.start_s) & (spans[:, 1] <= e.end_s)
                assert inside.any()
                ratios.append(power[inside].mean() / floor)
                # The 0.1 s just before and just after the event hold no tone: sharp edges.
                before = (spans[:, 1] <= e.start_s) & (spans[:, 0] >= e.start_s - 0.1)
                after = (spans[:, 0] >= e.end_s) & (spans[:, 1] <= e.end_s + 0.1)
                near = (before | after) & ~inside_any
                if near.any():
                    assert power[near].mean() < 0.05 * power[inside].mean(), (name, e)
            assert min(ratios) > 10, (name, species, ratios)
            assert np.median(ratios) > 100, (name, species, ratios)


def test_overlap_fraction_is_honoured(clips, tmp_path):
    for fraction in (0.0, 0.2, 0.5):
        settings = SoundscapeSettings(
            seconds=60.0,
            calls_per_minute=40,
            unknown_calls_per_minute=10,
            overlap_fraction=fraction,
            backgrounds=("white",),
        )
        truth = render_soundscapes(
            clips, KNOWN, UNKNOWN, tmp_path / str(fraction), n_files=2, settings=settings, seed=1
        )
        for _, events in truth.groupby("file"):
            assert len(events) == 50
            assert overlapping_share(events) == pytest.approx(fraction, abs=0.03)


def test_raven_tables_hold_the_truth(rendered):
    out, truth = rendered
    for name, events in truth.groupby("file"):
        table = pd.read_csv(out / "truth" / f"{name}.selections.txt", sep="\t")
        assert list(table.columns) == RAVEN
        events = events.sort_values("start_s")
        assert list(table["Selection"]) == list(range(1, len(events) + 1))
        assert (table["View"] == "Spectrogram 1").all() and (table["Channel"] == 1).all()
        assert (table["Low Freq (Hz)"] == 0).all() and (table["High Freq (Hz)"] == SR / 2).all()
        np.testing.assert_allclose(table["Begin Time (s)"], events["start_s"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(table["End Time (s)"], events["end_s"], rtol=0, atol=1e-9)
        assert list(table["Species"]) == list(events["species"])


def content(p: Path) -> bytes:
    """A file's content: a WAV's samples and rate (libsndfile stamps the time of writing in
    a float WAV's PEAK chunk, so two equal renders a second apart differ in their bytes)."""
    if p.suffix == ".wav":
        y, sr = sf.read(p, dtype="float32")
        return y.tobytes() + str(sr).encode()
    return p.read_bytes()


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(content(p)).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_files(clips, tmp_path):
    settings = SoundscapeSettings(seconds=10.0)
    for run in ("a", "b"):
        render_soundscapes(clips, KNOWN, UNKNOWN, tmp_path / run, 2, settings, seed=11)
    render_soundscapes(clips, KNOWN, UNKNOWN, tmp_path / "c", 2, settings, seed=12)
    a, b, c = (digest(tmp_path / r) for r in "abc")
    assert len(a) == 2 + 2 + 2  # wavs, Raven tables, truth.csv + soundscapes.csv
    assert a == b
    assert a["soundscape_000.wav"] != c["soundscape_000.wav"]


def test_each_clip_is_decoded_once(clips, tmp_path, monkeypatch):
    calls = []

    def counting(path, sample_rate):
        calls.append(path)
        return sc_load(path, sample_rate)

    sc_load = sc.load_audio
    monkeypatch.setattr(sc, "load_audio", counting)
    truth = render_soundscapes(clips, KNOWN, UNKNOWN, tmp_path, 3, SETTINGS, seed=0)
    assert len(calls) == len(set(calls)) == truth["clip"].nunique()


def test_relative_paths_resolve_against_root(clips, tmp_path):
    root = Path(clips["path"][0]).parent.parent
    relative = clips.assign(path=[str(Path(p).relative_to(root)) for p in clips["path"]])
    truth = render_soundscapes(
        relative, KNOWN, [], tmp_path, 1, SoundscapeSettings(seconds=10.0), root=root
    )
    assert len(truth) == round(20 * 10 / 60) and truth["known"].all()


@pytest.mark.parametrize(
    "known, unknown, words",
    [
        (["Alpha", "Zulu"], ["Xray"], r"known species not in clips: \['Zulu'\]"),
        (["Alpha"], ["Quebec"], r"unknown species not in clips: \['Quebec'\]"),
        (["Alpha", "Xray"], ["Xray"], r"both known and unknown: \['Xray'\]"),
        ([], [], "both empty"),
    ],
)
def test_bad_species_are_rejected(clips, tmp_path, known, unknown, words):
    with pytest.raises(ValueError, match=words):
        render_soundscapes(clips, known, unknown, tmp_path, 1, SETTINGS)


def test_bad_clips_and_settings_are_rejected(clips, tmp_path):
    with pytest.raises(ValueError, match="clips is empty"):
        render_soundscapes(clips.iloc[:0], KNOWN, UNKNOWN, tmp_path, 1, SETTINGS)
    with pytest.raises(ValueError, match="species"):
        render_soundscapes(clips.drop(columns="species"), KNOWN, UNKNOWN, tmp_path, 1, SETTINGS)
    crowded = SoundscapeSettings(seconds=2.0, calls_per_minute=600)
    with pytest.raises(ValueError, match="calls need"):
        render_soundscapes(clips, KNOWN, UNKNOWN, tmp_path, 1, crowded)
    with pytest.raises(ValueError, match="overlap_fraction"):
        SoundscapeSettings(overlap_fraction=1.5)
    with pytest.raises(ValueError, match="background kinds"):
        SoundscapeSettings(backgrounds=("thunder",))


# ---------------------------------------------------------------- render_isolated


def test_isolated_calls(clips, tmp_path):
    out = tmp_path / "iso" / "isolated.wav"
    truth = render_isolated(clips, out, n_calls=8, gap_s=(1.0, 2.0), sample_rate=SR, seed=2)
    x, sr = sf.read(out, dtype="float64")
    assert sr == SR
    duration = len(x) / SR
    events = truth.sort_values("start_s")
    assert len(events) == 8 and set(events["species"]) == set(TONES)  # 5 species all visited
    starts, ends = events["start_s"].to_numpy(), events["end_s"].to_numpy()
    gaps = np.concatenate([[starts[0]], starts[1:] - ends[:-1], [duration - ends[-1]]])
    assert np.all(gaps >= 1.0 - 1 / SR) and np.all(gaps <= 2.0 + 1 / SR)  # hence no overlaps
    for e in events.itertuples():
        seg = x[int(round(e.start_s * SR)) : int(round(e.end_s * SR))]
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        peak = np.fft.rfftfreq(len(seg), 1 / SR)[np.argmax(spectrum)]
        assert peak == pytest.approx(TONES[e.species], abs=10)
        assert e.end_s - e.start_s == pytest.approx(sf.info(e.clip).frames / SR, abs=1e-9)
    # Between calls: only faint noise.
    quiet = np.ones(len(x), dtype=bool)
    for s, e in zip(starts, ends):
        quiet[int(round(s * SR)) : int(round(e * SR))] = False
    assert np.sqrt(np.mean(x[quiet] ** 2)) == pytest.approx(0.002, rel=0.2)
    table = pd.read_csv(tmp_path / "iso" / "truth" / "isolated.selections.txt", sep="\t")
    assert list(table.columns) == RAVEN and len(table) == 8
    np.testing.assert_allclose(table["Begin Time (s)"], starts, atol=1e-9)
    np.testing.assert_allclose(table["End Time (s)"], ends, atol=1e-9)


def test_isolated_is_deterministic_and_checks_arguments(clips, tmp_path):
    a = render_isolated(clips, tmp_path / "a.wav", n_calls=3, gap_s=(0.5, 1.0), seed=4)
    b = render_isolated(clips, tmp_path / "b.wav", n_calls=3, gap_s=(0.5, 1.0), seed=4)
    assert content(tmp_path / "a.wav") == content(tmp_path / "b.wav")
    pd.testing.assert_frame_equal(a.drop(columns="file"), b.drop(columns="file"))
    with pytest.raises(ValueError, match="clips is empty"):
        render_isolated(clips.iloc[:0], tmp_path / "c.wav")
    with pytest.raises(ValueError, match="n_calls"):
        render_isolated(clips, tmp_path / "c.wav", n_calls=0)
    with pytest.raises(ValueError, match="gap_s"):
        render_isolated(clips, tmp_path / "c.wav", gap_s=(3.0, 1.0))


@pytest.mark.birdsounds
def test_real_test_clips_render(birdsounds, tmp_path):
    """birdsounds-dev test clips (44.1 kHz FLAC, resampled): events keep their resampled length."""
    manifest = pd.read_csv(birdsounds / "manifest.csv")
    test = manifest[manifest["split"] == "test"]
    species = sorted(test["species"].unique())[:6]
    clips = test[test["species"].isin(species)]
    settings = SoundscapeSettings(seconds=20.0)
    truth = render_soundscapes(
        clips, species[:4], species[4:], tmp_path, 1, settings, seed=0, root=birdsounds
    )
    assert len(truth) == round(20 * 20 / 60) + round(8 * 20 / 60)
    x, sr = sf.read(tmp_path / "soundscape_000.wav", dtype="float64")
    assert sr == SR and len(x) == 20 * SR and np.all(np.isfinite(x))
    for row in truth.itertuples():
        info = sf.info(row.clip)
        expected = info.frames * SR / info.samplerate  # soxr keeps ceil(n * ratio) samples
        assert (row.end_s - row.start_s) * SR == pytest.approx(expected, abs=1.0)
        assert 0 <= row.start_s < row.end_s <= 20.0


def test_a_silence_background_stays_faint(clips, tmp_path):
    settings = SoundscapeSettings(seconds=10.0, backgrounds=("silence",), snr_db=(10.0, 10.0))
    truth = render_soundscapes(clips, KNOWN, UNKNOWN, tmp_path, 1, settings)
    x, _ = sf.read(tmp_path / "soundscape_000.wav", dtype="float64")
    quiet = np.ones(len(x), dtype=bool)
    for e in truth.itertuples():
        quiet[int(round(e.start_s * SR)) : int(round(e.end_s * SR))] = False
    assert np.sqrt(np.mean(x[quiet] ** 2)) < 1e-3
    # A 10 dB SNR over a -80 dBFS background: a lone call is about 3.3e-4 RMS.
    lone = [
        e
        for e in truth.itertuples()
        if not ((truth["start_s"] < e.end_s) & (truth["end_s"] > e.start_s)).sum() > 1
    ]
    assert lone
    for e in lone:
        call = x[int(round(e.start_s * SR)) : int(round(e.end_s * SR))]
        assert np.sqrt(np.mean(call**2)) == pytest.approx(1e-4 * np.sqrt(1 + 10), rel=0.1)
