"""Tests for jaxaudio.data.synthetic: the synthetic long-tailed data set written as WAV + manifest.

Expectations are computed independently here (the long-tail formula, the brief's numbers,
file decoding with soundfile, spectra with numpy/librosa) rather than read back from the
module's own helpers.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections import Counter
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from jaxaudio.data import synthetic as synth

SR = 32_000
SPLITS = ("train", "val", "test")
# The brief's "small" preset, restated independently of the module.
SMALL = dict(n=10, max_train=120, min_train=3, val=0.15, test=0.25, min_val=3, min_test=5)


def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _expected_train(n: int, hi: int, lo: int) -> list[int]:
    return [_half_up(hi * (lo / hi) ** (i / (n - 1))) for i in range(n)]


def _read_manifest(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["path", "species", "split"]
        return list(reader)


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "audio").rglob("*.wav"))
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    root = tmp_path_factory.mktemp("small0")
    manifest = synth.synthesize(root, preset="small", seed=0)
    assert manifest == root / "manifest.csv"
    return root, _read_manifest(manifest)


def test_manifest_rows_and_audio_files(small: tuple[Path, list[dict[str, str]]]) -> None:
    root, rows = small
    assert 500 <= len(rows) <= 600
    assert {r["split"] for r in rows} == set(SPLITS)
    assert len({r["path"] for r in rows}) == len(rows)
    # Rows ordered by species then file.
    keys = [(r["species"], r["path"]) for r in rows]
    assert keys == sorted(keys)
    # Every .wav on disk is listed (no stray files) and vice versa.
    on_disk = {p.relative_to(root).as_posix() for p in (root / "audio").rglob("*.wav")}
    assert on_disk == {r["path"] for r in rows}

    durations = []
    for r in rows:
        rel = Path(r["path"])
        assert not rel.is_absolute()
        assert rel.parts[0] == "audio" and rel.parts[1] == r["species"]
        assert " " in r["species"]  # paths with spaces exercise the pipeline
        assert rel.suffix == ".wav"
        info = sf.info(str(root / rel))
        assert info.samplerate == SR
        assert info.channels == 1
        assert info.format == "WAV" and info.subtype == "PCM_16"
        durations.append(info.frames / info.samplerate)
        y, sr = sf.read(str(root / rel), dtype="float64")
        assert sr == SR and y.ndim == 1
        peak = np.max(np.abs(y))
        assert peak <= 0.9 + 1e-4  # no clipping, with headroom
        assert peak > 0.2  # not silent
    durations = np.array(durations)
    assert durations.min() >= 0.8 - 1 / SR and durations.max() <= 2.0 + 1 / SR
    assert durations.std() > 0.2  # durations really vary (pad/crop is exercised)


def test_energy_below_10_khz(small: tuple[Path, list[dict[str, str]]]) -> None:
    root, rows = small
    for r in rows[::5]:
        y, sr = sf.read(str(root / r["path"]), dtype="float64")
        power = np.abs(np.fft.rfft(y)) ** 2
        f = np.fft.rfftfreq(len(y), 1 / sr)
        assert power[f > 10_000].sum() / power.sum() < 1e-4, r["path"]


def test_long_tail_split_counts(small: tuple[Path, list[dict[str, str]]]) -> None:
    _, rows = small
    per = {s: Counter() for s in {r["species"] for r in rows}}
    for r in rows:
        per[r["species"]][r["split"]] += 1
    assert len(per) == SMALL["n"]
    train = sorted((c["train"] for c in per.values()), reverse=True)
    expected = _expected_train(SMALL["n"], SMALL["max_train"], SMALL["min_train"])
    assert expected == [120, 80, 53, 35, 23, 15, 10, 7, 5, 3]  # the formula, worked by hand
    assert train == expected
    for c in per.values():
        assert c["val"] == max(SMALL["min_val"], _half_up(SMALL["val"] * c["train"]))
        assert c["test"] == max(SMALL["min_test"], _half_up(SMALL["test"] * c["train"]))
        assert c["val"] >= SMALL["min_val"] and c["test"] >= SMALL["min_test"]
    totals = Counter(r["split"] for r in rows)
    assert (totals["train"], totals["val"], totals["test"]) == (351, 61, 103)
    # The long-tail order is not the lexical order of the names.
    by_name = [per[s]["train"] for s in sorted(per)]
    assert by_name != sorted(by_name, reverse=True)


@pytest.mark.parametrize("preset", ["small", "large"])
def test_train_counts_function(preset: str) -> None:
    spec = synth.PRESETS[preset]
    counts = synth.train_counts(spec)
    n, hi = {"small": (10, 120), "large": (90, 150)}[preset]
    assert spec.n_species == n and spec.sample_rate == SR
    assert counts == _expected_train(n, hi, 3)
    assert counts[0] == hi and counts[-1] == 3
    assert all(a >= b for a, b in zip(counts, counts[1:]))


def test_deterministic_and_seed_dependent(
    small: tuple[Path, list[dict[str, str]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, _ = small
    again = tmp_path / "again"
    assert synth.main([str(again), "--preset", "small", "--seed", "0"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "515" in out[0]
    assert (again / "manifest.csv").read_bytes() == (root / "manifest.csv").read_bytes()
    h0, h_again = _hashes(root), _hashes(again)
    assert len(h0) == 515 and h0 == h_again

    other = synth.synthesize(tmp_path / "seed1", preset="small", seed=1)
    assert other.read_bytes() != (root / "manifest.csv").read_bytes()
    h1 = _hashes(other.parent)
    assert not set(h0.values()) & set(h1.values())


def test_species_are_learnable_by_nearest_centroid(
    small: tuple[Path, list[dict[str, str]]],
) -> None:
    """Nearest centroid on a crude feature (per-band max over time of the log-mel
    spectrogram, minus its mean) fitted on train, scored on test: must be far above chance
    (0.1) in balanced accuracy, i.e. the species are distinct and the data learnable."""
    root, rows = small
    feats, species, split = [], [], []
    for r in rows:
        if r["split"] == "val":
            continue
        y, sr = sf.read(str(root / r["path"]), dtype="float32")
        mel = librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=1024, hop_length=512, n_mels=64, fmax=10_000
        )
        v = librosa.power_to_db(mel + 1e-10).max(axis=1)
        feats.append(v - v.mean())
        species.append(r["species"])
        split.append(r["split"])
    x, sp, sl = np.array(feats), np.array(species), np.array(split)
    classes = sorted(set(species))
    tr, te = sl == "train", sl == "test"
    centroids = np.stack([x[tr & (sp == c)].mean(axis=0) for c in classes])
    dist = ((x[te][:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    pred = np.array(classes)[dist.argmin(axis=1)]
    truth = sp[te]
    balanced = np.mean([(pred[truth == c] == c).mean() for c in classes])
    assert balanced > 0.6, balanced


def _peak_hz(x: np.ndarray, sr: int) -> float:
    n = 8 * len(x)  # zero-pad for a fine frequency grid
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)), n)) ** 2
    return float(np.fft.rfftfreq(n, 1 / sr)[np.argmax(power)])


def test_sweep_peak_within_declared_range_and_direction() -> None:
    catalogue = synth.species_catalogue(90, seed=0)
    sweeps = [s for s in catalogue if s.kind == "sweep"]
    assert len(sweeps) >= 20
    for sp in sweeps:
        lo, hi = sp.freq_range
        assert 0 < lo < hi < 10_000
        x = synth.render_call(sp, SR, np.random.default_rng(0))
        assert np.max(np.abs(x)) <= 1.0 + 1e-9
        assert lo * 0.98 <= _peak_hz(x, SR) <= hi * 1.02, sp
        # Direction: the first note's first half has a lower dominant frequency than its
        # second half for "up" sweeps, and a higher one for "down" sweeps.
        note = x[: int(round(sp.note_seconds * SR))]
        half = len(note) // 2
        first, second = _peak_hz(note[:half], SR), _peak_hz(note[half:], SR)
        if sp.name.endswith(" up"):
            assert first < second, sp
        else:
            assert sp.name.endswith(" down") and first > second, sp


def test_every_call_type_peaks_in_its_range_and_stays_below_10_khz() -> None:
    catalogue = synth.species_catalogue(90, seed=3)
    for sp in catalogue:
        for pitch in (0.94, 1.06):
            x = synth.render_call(sp, SR, np.random.default_rng(1), pitch=pitch)
            lo, hi = sp.freq_range
            assert lo * pitch * 0.97 <= _peak_hz(x, SR) <= hi * pitch * 1.03, sp
            power = np.abs(np.fft.rfft(x)) ** 2
            f = np.fft.rfftfreq(len(x), 1 / SR)
            assert power[f > 10_000].sum() / power.sum() < 1e-4, sp


def test_catalogue_names_and_kinds() -> None:
    large = synth.species_catalogue(90, seed=0)
    names = [s.name for s in large]
    assert len(set(names)) == 90
    assert all(" " in n for n in names)
    assert len({s.slug for s in large}) == 90
    kinds = Counter(s.kind for s in large)
    assert set(kinds) == {"sweep", "stack", "trill", "noise"}
    assert min(kinds.values()) >= 20
    small = synth.species_catalogue(10, seed=0)
    assert {s.kind for s in small} == {"sweep", "stack", "trill", "noise"}
    assert all(1 <= s.n_notes <= 3 for s in large)


def test_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="preset"):
        synth.synthesize(tmp_path, preset="nope")
    with pytest.raises(ValueError, match="min_train"):
        synth.SynthSpec(10, 100, 2, 0.15, 0.25, 3, 5, SR, 0.8, 2.0)
    assert not (tmp_path / "manifest.csv").exists()
