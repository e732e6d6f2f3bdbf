"""Decoy calls (jaxaudio/data/decoys.py): call-like, at the background set's levels,
deterministic per clip, written by the background stage beside the synthetic clips."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy import signal

from jaxaudio.data.background_set import BackgroundSettings
from jaxaudio.data.decoys import decoy_clip, decoy_clips
from jaxaudio.stages.data import write_background_manifest

SR = 22050


def test_length_dtype_and_rms_in_the_background_range():
    clips = decoy_clips(40, 1.0, SR, seed=0)
    assert all(c.dtype == np.float32 and c.shape == (SR,) for c in clips)
    levels = np.array([np.sqrt(np.mean(c.astype(np.float64) ** 2)) for c in clips])
    assert np.all((levels >= 0.005 * (1 - 1e-5)) & (levels <= 0.05 * (1 + 1e-5)))
    assert len(np.unique(levels.round(6))) == 40  # each clip its own level


def test_a_decoy_is_a_call_over_faint_noise_not_noise():
    """The loudest 100 ms of a decoy hold over 10x the energy of the quietest (a call over a
    bed 10-30 dB below it; stationary noise, the background set's, stays within ~2x); and
    its power gathers in few frequency bins, as calls' do: the top 5 % of the Welch bins
    hold a median 0.9+ of it over 40 decoys, against 0.57 for pink noise, 0.07 for white."""
    shares = []
    for i in range(40):
        c = decoy_clip(i, 1.0, SR, seed=3).astype(np.float64)
        e = np.mean(c[: 10 * 2205].reshape(10, 2205) ** 2, axis=1)
        assert e.max() / e.min() > 10.0, i
        _, p = signal.welch(c, SR, nperseg=1024)
        shares.append(np.sort(p)[::-1][:26].sum() / p.sum())
    assert np.median(shares) > 0.9


def test_clip_i_depends_on_seed_and_i_only():
    assert np.array_equal(decoy_clips(6, 1.0, SR, 1)[4], decoy_clip(4, 1.0, SR, 1))
    assert not np.array_equal(decoy_clip(4, 1.0, SR, 1), decoy_clip(4, 1.0, SR, 2))
    assert not np.array_equal(decoy_clip(4, 1.0, SR, 1), decoy_clip(5, 1.0, SR, 1))


def test_a_call_longer_than_the_clip_is_cropped_to_it():
    clips = decoy_clips(30, 0.2, SR, seed=0)
    assert all(c.shape == (int(round(0.2 * SR)),) and np.isfinite(c).all() for c in clips)


@pytest.mark.parametrize("kwargs", [{"n_clips": -1}])
def test_bad_counts_are_refused(kwargs):
    with pytest.raises(ValueError, match="n_clips must be >= 0"):
        decoy_clips(seconds=1.0, sample_rate=SR, seed=0, **kwargs)


def test_the_background_stage_writes_the_decoys_as_background_rows(tmp_path):
    settings = BackgroundSettings(synthetic=7, decoys=5)
    df = write_background_manifest(
        settings,
        tmp_path / "bg.csv",
        1.0,
        SR,
        {"seed": 0, "val_fraction": 0.2, "test_fraction": 0.2},
    )
    names = sorted(p.rsplit("/", 1)[1] for p in df["path"])
    assert [n for n in names if n.startswith("decoy_")] == [f"decoy_{i:04d}.wav" for i in range(5)]
    assert len(names) == 12 and set(df["species"]) == {"background"}
    y, sr = sf.read(tmp_path / "synthetic" / "decoy_0003.wav", dtype="float32")
    assert sr == SR and np.array_equal(y, decoy_clip(3, 1.0, SR, 0))
    assert pd.read_csv(tmp_path / "bg.csv")["split"].isin(["train", "val", "test"]).all()
