"""Features against librosa called directly, on synthetic and real recordings."""

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from jaxaudio.audio import AudioError, fit_length, load_audio
from jaxaudio.features import FeatureConfig, clip_features, extract_features, mfcc_stack


def tone(sr=22050, seconds=3.0, f=1000.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * f * t) * np.exp(-t)).astype(np.float32)


def test_shape_is_plan_shape_for_3s():
    cfg = FeatureConfig(clip_seconds=3.0)
    assert cfg.shape == (3, 40, 130)  # 1 + 66150 // 512
    assert FeatureConfig(clip_seconds=1.0).n_frames == 44
    assert mfcc_stack(tone(), cfg).shape == (3, 40, 130)


def test_mfcc_and_deltas_equal_librosa_and_savgol():
    y = tone() + 0.01 * np.random.default_rng(0).normal(size=66150).astype(np.float32)
    x = mfcc_stack(y, FeatureConfig(clip_seconds=3.0))
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
    assert fitted.shape == (22050,) and np.all(fitted[len(y):] == 0)
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


def test_real_recordings_match_librosa(birdsounds, tmp_path):
    import pandas as pd

    manifest = pd.read_csv(birdsounds / "manifest.csv").iloc[::400].head(5)
    cfg = FeatureConfig(clip_seconds=1.0)
    paths = [birdsounds / p for p in manifest["path"]]
    cache = extract_features(paths, cfg, tmp_path / "f.npy", progress=False)
    assert cache.shape == (len(paths), 3, 40, 44) and cache.dtype == np.float32
    assert isinstance(np.load(tmp_path / "f.npy", mmap_mode="r"), np.memmap)
    for i, p in enumerate(paths):
        y, _ = librosa.load(p, sr=22050, mono=True)
        y = librosa.util.fix_length(y, size=22050) if len(y) < 22050 else y[(len(y) - 22050) // 2 :][:22050]
        ref = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40, n_fft=2048, hop_length=512)
        np.testing.assert_allclose(cache[i, 0], ref, rtol=1e-4, atol=1e-2)
        np.testing.assert_allclose(cache[i, 2], librosa.feature.delta(ref, order=2), rtol=1e-4, atol=1e-2)
