"""The JAX frontend (``jaxaudio.features.frontend``) against librosa, channel by channel.

Error measure: for each clip and channel (MFCC, Δ, Δ² or log-mel),
``max |jax - librosa| / dynamic range``, the range being ``max - min`` of librosa's channel
for that clip. Tolerance: **REL_TOL = 1e-3** (a thousandth of the channel's range). The
range is floored at 1.0 (dB units) so that a (near-)constant channel — the Δ of silence is
all zeros — is compared absolutely (error ≤ 1e-3 dB) instead of dividing by ~0; on real
clips every channel's range is far above 1 (MFCC ~600-800, Δ ~35-120, Δ² ~13-90).

Run with ``-s`` to see the measured errors.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest
import scipy.signal

from jaxaudio.data.audio import AUDIO_EXTENSIONS, fit_length, load_audio
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.frontend import (
    delta,
    make_frontend,
    mel_blocks,
    n_frames,
    stft_power,
)
from jaxaudio.features.reference import reference_stack

REL_TOL = 1e-3
RANGE_FLOOR = 1.0
DATA = Path(__file__).parents[4] / "shared" / "data" / "birdsounds-dev"
N_REAL = 20
SHORT_WARNING = (
    "ignore:n_fft=.* is too large for input signal"  # librosa warns, pads and carries on
)


def make_logmel_frontend(cfg: FeatureConfig, clips_per_step="auto"):
    """The log-mel alone: ``features.kind: logmel`` without deltas."""
    return make_frontend(replace(cfg, kind="logmel", deltas=False), clips_per_step)


def rel_errors(ours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``(C,)`` max abs error per channel over clips / that clip's librosa channel range.

    ``ours``/``ref``: ``(B, C, F, T)``.
    """
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    err = np.abs(ours - ref).max(axis=(2, 3))
    rng = ref.max(axis=(2, 3)) - ref.min(axis=(2, 3))
    return (err / np.maximum(rng, RANGE_FLOOR)).max(axis=0)


def check(
    name: str, ours: np.ndarray, ref: np.ndarray, channels=("mfcc", "delta", "delta2")
) -> np.ndarray:
    errs = rel_errors(ours, ref)
    print(
        f"\n{name}: max error / channel range: "
        + ", ".join(f"{c} {e:.2e}" for c, e in zip(channels, errs))
    )
    assert np.all(errs <= REL_TOL), dict(zip(channels, errs))
    return errs


def librosa_stack(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """librosa called directly (every default that matters spelled out), one clip."""
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        n_mels=cfg.n_mels,
        window="hann",
        center=True,
        pad_mode="constant",
        power=2.0,
        htk=False,
        norm="slaney",
    )
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=cfg.n_mfcc, dct_type=2, norm="ortho", lifter=0)
    d1 = librosa.feature.delta(mfcc, width=cfg.delta_width, order=1, mode="interp")
    d2 = librosa.feature.delta(mfcc, width=cfg.delta_width, order=2, mode="interp")
    return np.stack([mfcc, d1, d2]).astype(np.float32)


def librosa_logmel(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels
    )
    return librosa.power_to_db(mel, top_db=80)[None].astype(np.float32)


def synth(n: int, seed: int, amp: float = 0.3, sr: int = 22050) -> np.ndarray:
    """A chirp with noise bursts, enough structure for every mel band and frame to vary."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = 300 + 200 * seed
    chirp = np.sin(2 * np.pi * (f0 * t + 2000 * t**2)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    noise = rng.normal(size=n) * (rng.random(n) < 0.3)
    return (amp * (0.8 * chirp + 0.2 * noise)).astype(np.float32)


# --------------------------------------------------------------------------- real clips


@pytest.fixture(scope="module")
def real_audio() -> list[np.ndarray]:
    if not DATA.is_dir():
        pytest.skip(f"birdsounds-dev not found at {DATA.resolve()}")
    files = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    if len(files) < N_REAL:
        pytest.skip(
            f"birdsounds-dev at {DATA.resolve()} holds {len(files)} audio files, fewer than {N_REAL}"
        )
    pick = (
        np.linspace(0, len(files) - 1, N_REAL).round().astype(int)
    )  # spread over the species folders
    return [load_audio(files[i], 22050) for i in pick]


@pytest.mark.birdsounds
@pytest.mark.parametrize("clip_seconds", [0.25, 1.0, 3.0])
def test_real_clips_match_reference_stack(real_audio, clip_seconds):
    # the dev recordings are 0.05-0.64 s long: at 1 s and 3 s they are zero-padded (same
    # content, more silence); at 0.25 s (11 frames) the longer ones are centre-cropped
    cfg = FeatureConfig(clip_seconds=clip_seconds)
    batch = np.stack([fit_length(y, cfg.n_samples, "center") for y in real_audio])
    ours = np.asarray(make_frontend(cfg)(batch))
    assert ours.shape == (N_REAL, *cfg.shape) and ours.dtype == np.float32
    ref = np.stack([reference_stack(y, cfg) for y in batch])
    check(f"{N_REAL} real clips, {clip_seconds} s, vs reference_stack", ours, ref)


@pytest.mark.birdsounds
def test_real_clips_logmel_matches_librosa(real_audio):
    cfg = FeatureConfig(clip_seconds=3.0)
    batch = np.stack([fit_length(y, cfg.n_samples, "center") for y in real_audio])
    ours = np.asarray(make_logmel_frontend(cfg)(batch))
    assert ours.shape == (N_REAL, 1, cfg.n_mels, cfg.n_frames)
    ref = np.stack([librosa_logmel(y, cfg) for y in batch])
    check(f"{N_REAL} real clips, 3.0 s, log-mel vs librosa", ours, ref, ("logmel",))


# --------------------------------------------------------------------------- building blocks


@pytest.mark.filterwarnings(SHORT_WARNING)
@pytest.mark.parametrize(
    "n, n_fft, hop", [(22050, 2048, 512), (11025, 2048, 512), (1102, 2048, 64), (5001, 1023, 300)]
)
def test_stft_power_matches_librosa(n, n_fft, hop):
    y = np.stack([synth(n, 0), synth(n, 1, amp=0.01)])
    ours = np.asarray(stft_power(jnp.asarray(y), n_fft, hop))
    assert ours.shape == (2, 1 + n_fft // 2, n_frames(n, n_fft, hop))
    for b in range(2):
        ref = np.abs(librosa.stft(y[b], n_fft=n_fft, hop_length=hop)) ** 2
        assert ours[b].shape == ref.shape
        np.testing.assert_allclose(ours[b], ref, atol=1e-5 * ref.max(), rtol=1e-3)


@pytest.mark.parametrize("n_time", [9, 10, 44])
def test_delta_operator_matches_librosa(n_time):
    x = np.random.default_rng(n_time).normal(size=(3, 40, n_time)).astype(np.float32)
    for order in (1, 2):
        ref = librosa.feature.delta(x, width=9, order=order, mode="interp")
        ours = np.asarray(delta(jnp.asarray(x), 9, order))
        np.testing.assert_allclose(ours, ref, atol=1e-5)
    # Δ² is the order-2 Savitzky-Golay derivative, not the Δ of Δ
    dd = librosa.feature.delta(
        librosa.feature.delta(x, width=9, mode="interp"), width=9, mode="interp"
    )
    assert not np.allclose(np.asarray(delta(jnp.asarray(x), 9, 2)), dd, atol=1e-2)


# --------------------------------------------------------------------------- edge cases


def test_silence_is_constant_like_librosa():
    cfg = FeatureConfig(clip_seconds=1.0)
    batch = np.zeros((2, cfg.n_samples), np.float32)
    ours = np.asarray(make_frontend(cfg)(batch))
    ref = np.stack([reference_stack(y, cfg) for y in batch])
    check("silence", ours, ref)
    # every frame is amin = -100 dB: c0 = -100 * sqrt(n_mels), the rest ~0, Δ and Δ² ~0
    np.testing.assert_allclose(ours[:, 0, 0], -100 * np.sqrt(cfg.n_mels), rtol=1e-5)
    np.testing.assert_array_equal(
        ours[:, 0], ours[:, 0, :, :1] + np.zeros_like(ours[:, 0])
    )  # constant in time
    np.testing.assert_allclose(ours[:, 0, 1:], 0, atol=1e-3)
    np.testing.assert_allclose(ours[:, 1:], 0, atol=1e-3)


@pytest.mark.filterwarnings(SHORT_WARNING)
def test_clip_shorter_than_n_fft():
    cfg = FeatureConfig(clip_seconds=0.05, hop_length=64, n_mels=64, n_mfcc=20)
    assert cfg.n_samples < cfg.n_fft and cfg.n_frames >= cfg.delta_width  # 1102 samples, 18 frames
    cfg.check()
    batch = np.stack([synth(cfg.n_samples, 2), synth(cfg.n_samples, 3, amp=0.05)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = np.stack([librosa_stack(y, cfg) for y in batch])
    assert any(
        "too large for input signal" in str(w.message) for w in caught
    )  # librosa pads, only warns
    ours = np.asarray(make_frontend(cfg)(batch))
    assert ours.shape == (2, 3, 20, 18)
    check("clip shorter than n_fft (1102 samples, hop 64)", ours, ref)


@pytest.mark.parametrize(
    "cfg",
    [
        FeatureConfig(clip_seconds=0.5),
        FeatureConfig(clip_seconds=0.5, n_fft=1023, hop_length=257, n_mels=80, n_mfcc=13),
    ],
    ids=["11025-samples", "odd-nfft-odd-hop"],
)
def test_odd_lengths(cfg):
    assert cfg.n_samples % 2 == 1
    batch = np.stack([synth(cfg.n_samples, 4), synth(cfg.n_samples, 5, amp=0.2)])
    ours = np.asarray(make_frontend(cfg)(batch))
    ref = np.stack([librosa_stack(y, cfg) for y in batch])
    check(f"odd length {cfg.n_samples}, n_fft {cfg.n_fft}, hop {cfg.hop_length}", ours, ref)


def test_top_db_is_per_clip_in_a_loud_and_quiet_batch():
    cfg = FeatureConfig(clip_seconds=1.0)
    loud, quiet = (
        synth(cfg.n_samples, 6, amp=0.9),
        synth(cfg.n_samples, 7, amp=1e-4),
    )  # ~ -79 dB apart
    batch = np.stack([loud, quiet])
    ours = np.asarray(make_frontend(cfg)(batch))
    ref = np.stack([reference_stack(y, cfg) for y in batch])
    check("loud + quiet batch vs librosa per clip", ours, ref)
    ours_mel = np.asarray(make_logmel_frontend(cfg)(batch))
    check(
        "loud + quiet batch log-mel",
        ours_mel,
        np.stack([librosa_logmel(y, cfg) for y in batch]),
        ("logmel",),
    )
    # librosa on the stacked batch clips the quiet clip at the *loud* clip's max - 80 dB:
    # that would be a visibly different answer, so the checks above do test per-clip clipping.
    coupled = librosa.feature.mfcc(
        y=batch, sr=cfg.sample_rate, n_mfcc=cfg.n_mfcc, n_fft=cfg.n_fft, hop_length=cfg.hop_length
    )
    assert np.abs(coupled[1] - ref[1, 0]).max() > 100 * REL_TOL * np.ptp(ref[1, 0])
    np.testing.assert_allclose(coupled[0], ref[0, 0], atol=1e-2)


def test_too_few_frames_for_delta_raises():
    cfg = FeatureConfig(clip_seconds=0.1)  # 2205 samples -> 5 frames < delta_width 9
    assert cfg.n_frames == 5
    with pytest.raises(ValueError, match="delta_width"):
        cfg.check()
    with pytest.raises(librosa.ParameterError):  # librosa refuses too (mode="interp")
        reference_stack(np.ones(cfg.n_samples, np.float32), cfg)
    frontend = make_frontend(cfg)
    with pytest.raises(ValueError, match=r"5 frames.*features\.delta_width=9"):
        frontend(np.ones((2, cfg.n_samples), np.float32))
    # the log-mel has no Δ and works at any length
    assert make_logmel_frontend(cfg)(np.ones((2, cfg.n_samples), np.float32)).shape == (
        2,
        1,
        128,
        5,
    )


def test_bad_settings_and_inputs_raise():
    with pytest.raises(ValueError, match="delta_width must be odd"):
        make_frontend(FeatureConfig(delta_width=8))
    with pytest.raises(ValueError, match="n_mfcc"):
        make_frontend(FeatureConfig(n_mfcc=50, n_mels=40))
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        make_frontend(FeatureConfig(clip_seconds=1.0))(np.zeros(22050, np.float32))


def test_batch_of_one_equals_batch_of_eight():
    cfg = FeatureConfig(clip_seconds=1.0)
    amps = [0.9, 0.5, 0.1, 0.03, 1e-2, 1e-3, 1e-4, 0.3]
    batch = np.stack([synth(cfg.n_samples, s, amp=a) for s, a in enumerate(amps)])
    frontend = make_frontend(cfg)
    together = np.asarray(frontend(batch))
    alone = np.concatenate([np.asarray(frontend(batch[i : i + 1])) for i in range(len(batch))])
    # the same per-clip answer whatever the batch: no coupling (top_db is per clip) and the
    # same rounding (the frontend keeps the batch a batch dimension of every contraction)
    errs = rel_errors(alone, together)
    print(
        f"\nbatch of 1 vs batch of 8: max difference / range {errs.max():.2e}, bit-identical {np.array_equal(alone, together)}"
    )
    if jax.default_backend() == "cpu":
        np.testing.assert_array_equal(alone, together)
    else:
        # cuFFT and cuBLAS choose kernels by batch size, even with deterministic ops: the same
        # values up to float32 rounding (H200, jax 0.11.2: 6.4e-6 of the range, not bit-identical)
        assert errs.max() < 1e-4


@pytest.mark.parametrize("make", [make_frontend, make_logmel_frontend])
def test_chunked_batch_equals_whole_batch(make):
    # the CPU computes a batch a few clips per loop step (cache-sized): same values as the
    # whole batch at once, also when the batch is not a multiple of the chunk (padded)
    cfg = FeatureConfig(clip_seconds=1.0)
    batch = np.stack(
        [synth(cfg.n_samples, s, amp=a) for s, a in enumerate([0.9, 0.1, 1e-3, 0.5, 0.03])]
    )
    whole = np.asarray(make(cfg, clips_per_step=None)(batch))
    for chunk in (1, 2, 3):
        np.testing.assert_allclose(
            np.asarray(make(cfg, clips_per_step=chunk)(batch)), whole, rtol=1e-6, atol=1e-4
        )
        if jax.default_backend() == "cpu":
            np.testing.assert_array_equal(np.asarray(make(cfg, clips_per_step=chunk)(batch)), whole)
    with pytest.raises(ValueError, match="clips_per_step"):
        make(cfg, clips_per_step=0)


@pytest.mark.parametrize(
    "sr,n_fft,n_mels", [(22050, 2048, 128), (22050, 2048, 40), (16000, 512, 64), (8000, 256, 128)]
)
def test_mel_blocks_rebuild_the_filterbank(sr, n_fft, n_mels):
    # the blocks, put back at their rows and bins, are librosa's filterbank: nothing outside
    # a block's bins is non-zero (with n_mels=128 at n_fft=256 some filters are empty)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa: "Empty filters detected"
        mel = librosa.filters.mel(
            sr=sr, n_fft=n_fft, n_mels=n_mels, htk=False, norm="slaney"
        ).astype(np.float32)
    rebuilt = np.zeros_like(mel)
    row = 0
    for w, lo, hi in mel_blocks(mel, per_block=8):
        rebuilt[row : row + len(w), lo:hi] = w
        row += len(w)
    assert row == n_mels
    np.testing.assert_array_equal(rebuilt, mel)
    # the band structure is what makes it cheap: the blocks hold a small part of the matrix
    assert sum(w.size for w, _, _ in mel_blocks(mel, 8)) < 0.35 * mel.size


# --------------------------------------------------------------------------- kinds: log-mel, PCEN


def librosa_pcen(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """``librosa.pcen`` of the scaled mel magnitude, its smoother started at the first frame:
    the librosa backend's stack (``jaxaudio.features.reference``), one channel."""
    return reference_stack(y, replace(cfg, kind="pcen", deltas=False))


@pytest.mark.parametrize(
    "settings",
    [
        {},  # librosa's defaults
        {"pcen_time_constant": 0.06, "pcen_gain": 0.8, "pcen_bias": 10.0, "pcen_power": 0.25},
        {"pcen_bias": 0.0},  # the other branch of the compression
    ],
)
def test_pcen_matches_librosa(settings):
    cfg = FeatureConfig(clip_seconds=1.0, kind="pcen", deltas=False, **settings)
    batch = np.stack([synth(cfg.n_samples, s, amp=a) for s, a in enumerate([0.9, 0.1, 1e-3, 0.5])])
    ours = np.asarray(make_frontend(cfg)(batch))
    assert ours.shape == (4, 1, cfg.n_mels, cfg.n_frames)
    check(f"PCEN {settings}", ours, np.stack([librosa_pcen(y, cfg) for y in batch]), ("pcen",))


def test_pcen_of_a_constant_band_is_the_closed_form():
    # constant E: the EMA started at E[0] stays E, so by hand
    # PCEN = bias^p ((1 + E (eps + E)^-gain / bias)^p - 1) in every frame
    from jaxaudio.features.frontend import pcen

    cfg = FeatureConfig(kind="pcen")
    e = np.array([1e-3, 1.0, 1e6, 1e12], np.float64)
    x = np.broadcast_to(e[None, :, None], (1, 4, 30)).astype(np.float32)
    g, b, p, eps = cfg.pcen_gain, cfg.pcen_bias, cfg.pcen_power, cfg.pcen_eps
    want = b**p * ((1 + e * (eps + e) ** -g / b) ** p - 1)
    got = np.asarray(pcen(jnp.asarray(x), cfg))[0]
    np.testing.assert_allclose(got, np.broadcast_to(want[:, None], got.shape), rtol=1e-4)


@pytest.mark.parametrize("b", [0.0565, 0.3, 1.0])
def test_pcen_smoother_is_scipys_filter(b):
    from jaxaudio.features.frontend import pcen_smoother

    x = np.random.default_rng(0).random((3, 25))
    zi = scipy.signal.lfilter_zi([b], [1, b - 1])[None, :] * x[:, :1]
    want, _ = scipy.signal.lfilter([b], [1, b - 1], x, zi=zi, axis=-1)
    np.testing.assert_allclose(x @ pcen_smoother(25, b).T, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["logmel", "pcen"])
def test_deltas_of_every_kind_match_librosa(kind):
    cfg = FeatureConfig(clip_seconds=1.0, kind=kind, deltas=True, n_mels=64)
    batch = np.stack([synth(cfg.n_samples, s) for s in range(3)])
    ours = np.asarray(make_frontend(cfg)(batch))
    assert ours.shape == (3, 3, 64, cfg.n_frames) == (3, *cfg.shape)
    first = librosa_logmel if kind == "logmel" else librosa_pcen
    ref = []
    for y in batch:
        c = first(y, cfg)[0]
        ref.append(
            [c, *(librosa.feature.delta(c, width=9, order=k, mode="interp") for k in (1, 2))]
        )
    check(f"{kind} + deltas", ours, np.asarray(ref, np.float32), (kind, "delta", "delta2"))
    # the librosa backend (features.backend: librosa) gives the same stack
    check(
        f"{kind} reference_stack",
        np.stack([reference_stack(y, cfg) for y in batch]),
        np.asarray(ref, np.float32),
        (kind, "delta", "delta2"),
    )


@pytest.mark.birdsounds
def test_real_clips_pcen_matches_librosa(real_audio):
    cfg = FeatureConfig(clip_seconds=1.0, kind="pcen", deltas=False)
    batch = np.stack([fit_length(y, cfg.n_samples, "center") for y in real_audio])
    ours = np.asarray(make_frontend(cfg)(batch))
    check(
        f"{N_REAL} real clips, PCEN vs librosa",
        ours,
        np.stack([librosa_pcen(y, cfg) for y in batch]),
        ("pcen",),
    )


# --------------------------------------------------------------------------- db_reference: peak


def librosa_peak_db(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """The first channel with dB re the clip's loudest mel bin: librosa's ``ref=np.max``."""
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels
    )
    db = librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=80.0)
    if cfg.kind == "mfcc":
        return librosa.feature.mfcc(S=db, n_mfcc=cfg.n_mfcc, dct_type=2, norm="ortho", lifter=0)
    return db


@pytest.mark.parametrize("kind", ["logmel", "mfcc"])
def test_peak_reference_matches_librosa_ref_max(kind):
    cfg = FeatureConfig(clip_seconds=1.0, kind=kind, n_mels=64, n_mfcc=20, db_reference="peak")
    # a loud and a faint clip in one batch: each takes its own peak as the reference
    batch = np.stack([synth(cfg.n_samples, 0, amp=0.5), synth(cfg.n_samples, 1, amp=1e-3)])
    ref = []
    for y in batch:
        c = librosa_peak_db(y, cfg)
        ref.append(
            [c, *(librosa.feature.delta(c, width=9, order=k, mode="interp") for k in (1, 2))]
        )
    ref = np.asarray(ref, np.float32)
    channels = (kind, "delta", "delta2")
    check(f"{kind}, db_reference peak", np.asarray(make_frontend(cfg)(batch)), ref, channels)
    check(
        f"{kind}, db_reference peak, reference_stack",
        np.stack([reference_stack(y, cfg) for y in batch]),
        ref,
        channels,
    )
    if kind == "logmel":  # dB re the peak: the loudest bin is 0 dB, the floor -top_db
        assert np.allclose(ref[:, 0].max(axis=(1, 2)), 0.0)
        assert ref[:, 0].min() >= -80.0


def test_peak_reference_does_not_change_with_gain():
    """A gain g multiplies the mel power by g²; dB re the peak subtract it out (40 dB here)."""
    cfg = FeatureConfig(clip_seconds=1.0, kind="logmel", n_mels=64, db_reference="peak")
    y = synth(cfg.n_samples, 2, amp=0.3)
    front = make_frontend(cfg)
    loud, faint = np.asarray(front(np.stack([y, y * 0.01])))
    assert np.abs(loud - faint).max() < 1e-3  # dB
    absolute = np.asarray(
        make_frontend(replace(cfg, db_reference="absolute"))(np.stack([y, y * 0.01]))
    )
    # dB re 1 shift by 20 log10(0.01) = -40 dB where above the floor
    assert np.median(absolute[0, 0] - absolute[1, 0]) == pytest.approx(40.0, abs=0.01)
