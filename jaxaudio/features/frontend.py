"""JAX feature frontend: librosa's MFCC, log-mel or PCEN (+ Δ + Δ²), batched and jitted.

Why
---
:func:`jaxaudio.features.reference.reference_stack` is the reference: librosa on one clip at a time, in
NumPy, on the host. This module computes the same numbers for a whole batch ``(B, n)`` as
one compiled XLA program (the idea of Perch's frontend: STFT -> mel -> log as array ops), so
features can be computed on the accelerator next to the model — on the fly for augmented
audio, or for a large cache — instead of one librosa call per clip on the CPU. Every
constant (window, mel filterbank, DCT matrix, Savitzky–Golay operators) is built once in
NumPy/SciPy with exactly the routine librosa uses and applied as a matmul, so the result
matches librosa to float32 rounding (``tests/unit/features/test_frontend.py`` checks ≤ 1e-3 of each
channel's dynamic range; measured errors are orders of magnitude below that).

The maths, per clip ``y`` of ``n`` samples (compute in float32)
---------------------------------------------------------------
1. **Centre padding** (librosa ``stft(center=True)``; its ``pad_mode`` default is
   ``"constant"``, i.e. zeros, since 0.10): ``y_pad = [0]*(n_fft//2) ++ y ++ [0]*(n_fft//2)``.
   This also covers clips shorter than ``n_fft``: librosa only warns
   ("n_fft=... is too large for input signal") and pads the same way, so we do too.
2. **Frames**: ``T = 1 + (n + 2*(n_fft//2) - n_fft) // hop`` (``= 1 + n // hop`` for even
   ``n_fft``); frame ``t`` is ``y_pad[t*hop : t*hop + n_fft]``, centred on ``y[t*hop]``.
3. **Window + FFT**: ``X[f, t] = Σ_k w[k] y_pad[t*hop + k] e^{-2πi f k / n_fft}``,
   ``f = 0 .. n_fft//2`` (``rfft``), with the periodic Hann window
   ``w[k] = 0.5 - 0.5 cos(2πk / n_fft)`` (``scipy.signal.get_window("hann", n_fft,
   fftbins=True)``, what librosa uses). **Power** ``P = |X|²``.
4. **Mel**: ``M = W_mel @ P`` with ``W_mel = librosa.filters.mel(sr, n_fft, n_mels,
   htk=False, norm="slaney")`` (Slaney mel scale, area-normalised triangles, 0 .. sr/2).
   ``W_mel`` is banded: filter ``m`` is non-zero only between the centres of filters
   ``m-1`` and ``m+1`` (4 to 50 of the 1,025 bins for 128 mels at ``n_fft=2048``), so the
   dense product is ~97 % multiplications by zero. :func:`mel_blocks` cuts the filters into
   runs of :data:`MELS_PER_BLOCK` and each run multiplies only the bins it covers:
   ``M[rows_g] = W_mel[rows_g, lo_g:hi_g] @ P[lo_g:hi_g]``, the same sums without the zero
   terms (rounding within 1e-6 relative of the dense product).
5. **dB**: ``S = 10 log10(max(amin, M)) - 10 log10(max(amin, ref))`` with ``ref=1``,
   ``amin=1e-10``; then ``S = max(S, max(S) - top_db)``, ``top_db=80``, where ``max(S)`` is
   over **this clip's** mels × frames. (librosa's ``power_to_db`` on a stacked batch takes
   the max over the whole batch and so couples clips; we deliberately do not.)
   ``features.db_reference: peak`` takes ``ref`` = this clip's max mel power instead of 1
   (``librosa.power_to_db(ref=np.max)``): the dB are then relative to the clip's loudest bin,
   in ``[-top_db, 0]``, and do not change with the recording's gain.
   The log-mel frontend stops here: ``(B, 1, n_mels, T)``.
6. **MFCC**: orthonormal DCT-II along the mel axis, first ``n_mfcc`` rows:
   ``C[k, t] = s_k Σ_m S[m, t] cos(πk(2m+1) / (2 n_mels))``, ``s_0 = √(1/n_mels)``,
   ``s_k = √(2/n_mels)`` — ``scipy.fft.dct(type=2, norm="ortho")``, which is what
   ``librosa.feature.mfcc`` (``dct_type=2, norm="ortho", lifter=0``) applies.
7. **Δ, Δ²**: ``librosa.feature.delta(C, width, order=k, mode="interp")`` is
   ``scipy.signal.savgol_filter(C, width, polyorder=k, deriv=k, axis=-1, mode="interp")``:
   in the interior, the k-th derivative at the centre of a degree-k least-squares
   polynomial fitted to ``width`` neighbouring frames (a fixed FIR filter); for the first
   and last ``width//2`` frames, the derivative of one polynomial fitted to the first /
   last ``width`` frames. Both are linear in ``C`` along time, so the filter is a fixed
   ``(T, T)`` matrix ``D_k`` (obtained by running ``savgol_filter`` on the identity once)
   and ``Δ = C @ D_1ᵀ``, ``Δ² = C @ D_2ᵀ``. Δ² is the order-2 Savitzky–Golay second
   derivative, **not** the Δ of Δ.

   ``mode="interp"`` needs ``T >= width``; librosa raises otherwise. We raise a
   :class:`ValueError` naming ``features.delta_width`` and the frame count at trace time
   (``FeatureConfig.check`` already rejects such settings when the config is read).

Output: ``(B, 3, n_mfcc, T)`` = stack(MFCC, Δ, Δ²), float32, like ``reference_stack`` per clip.

Other kinds (``features.kind``) and ``features.deltas``
--------------------------------------------------------
* ``logmel``: step 5's ``S``, ``(B, 1, n_mels, T)``.
* ``pcen`` (per-channel energy normalisation, Wang et al. 2017; what ``librosa.pcen`` computes,
  the frontend Lostanlen et al. 2019 recommend for bioacoustics: it removes stationary
  background per band and keeps onsets, where a log-mel keeps the noise floor). On the mel
  *magnitude* ``E = W_mel @ |X|`` scaled by ``2**31`` (``librosa.pcen``'s documented use: its
  defaults are set for int32-range input), with ``T_f = time_constant · sr / hop`` frames::

      b    = (√(1 + 4 T_f²) − 1) / (2 T_f²)             (librosa's default smoothing)
      M[t] = (1 − b) M[t−1] + b E[t],  M[−1] = E[0]      (an EMA per band)
      PCEN = bias^p · expm1(p · log1p(E · exp(−gain (log eps + log1p(M/eps))) / bias))

  ``M[−1] = E[0]`` is ``librosa.pcen(..., zi=lfilter_zi · E[:, :1])``: the smoother starts at
  the window's first frame, not at 1 (librosa's default state, which after the ``2**31``
  scaling means starting from silence and blows up the first ~``T_f`` frames of every
  window). The EMA is linear in ``E`` along time, so it is one ``(T, T)`` matrix
  (:func:`pcen_smoother`), applied as a matmul like the Δ operators.
* ``deltas: true`` stacks Δ and Δ² of whichever kind (step 7), ``false`` keeps one channel.

Matmuls use ``precision=HIGHEST`` so an accelerator does not drop to TF32/bf16 passes.
Every contraction keeps the batch as a batch dimension of the matmul, so a clip's features
do not depend on the batch it is computed in (bit-identical for batch 1 and 8 on CPU; a
plain einsum lets XLA fold the batch into the free dimensions and round differently).
The returned functions accept any clip length (a new length is a new trace/compile); the
Δ operators for each frame count are cached.

On the CPU a batch is computed a few clips at a time, in a loop inside the one compiled
program (``jax.lax.map`` over chunks of :data:`CPU_CLIPS_PER_STEP` clips). The frames of one
3-s clip are 130 × 2048 float32 (1 MiB), and the STFT's framing, FFT and mel steps each read
and write arrays of that size per clip: for a batch of 64 (68 MiB of frames) every step goes
through main memory, for 2 clips it stays in the cache. Measured on this project's 2-core
EPYC: 618 clips/s for whole batches of 64, 1,006 for chunks of 2 (958 for 1, 990 for 4).
Each chunk is computed exactly as a batch of that size, so the values are bit-identical to
the whole-batch program. Accelerators get the whole batch at once (their parallelism needs it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import scipy.fft
import scipy.signal

from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.reference import PCEN_SCALE, pcen_smoothing, reference_stack
from jaxaudio.runtime.batching import batched_apply

#: Clips per frontend call: one compiled shape; the last batch is zero-padded.
FRONTEND_BATCH = 64

__all__ = [
    "AMIN",
    "CPU_CLIPS_PER_STEP",
    "MELS_PER_BLOCK",
    "REF",
    "TOP_DB",
    "dct_matrix",
    "delta",
    "hann_window",
    "featuriser",
    "in_chunks",
    "make_frontend",
    "mel_blocks",
    "mel_matrix",
    "n_frames",
    "pcen",
    "pcen_smoother",
    "power_to_db",
    "savgol_matrix",
    "stft_power",
]

#: ``librosa.power_to_db`` settings used by ``librosa.feature.mfcc``.
AMIN = 1e-10
REF = 1.0
TOP_DB = 80.0

_HI = jax.lax.Precision.HIGHEST

#: Clips per loop step of a frontend call on the CPU (cache-sized; see the module docstring).
CPU_CLIPS_PER_STEP = 2
#: Consecutive mel filters per block of the banded mel product (:func:`mel_blocks`).
MELS_PER_BLOCK = 8


# --------------------------------------------------------------------------- constants


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window, exactly librosa's ``get_window("hann", n_fft, fftbins=True)``."""
    return scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)


def mel_matrix(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``(n_mels, 1 + n_fft//2)`` Slaney mel filterbank, as ``librosa.feature.melspectrogram`` uses."""
    return librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, htk=False, norm="slaney"
    ).astype(np.float32)


def mel_blocks(
    mel: np.ndarray, per_block: int = MELS_PER_BLOCK
) -> list[tuple[np.ndarray, int, int]]:
    """``[(W_mel[rows, lo:hi], lo, hi), ...]``: runs of ``per_block`` filters and the bins they cover.

    ``lo:hi`` spans the non-zero bins of the run's filters; a run of empty filters (librosa
    warns of those when ``n_mels`` is large for ``n_fft``) keeps one bin of zero weights.
    Stacking ``block @ P[lo:hi]`` over the runs gives ``mel @ P``.
    """
    blocks = []
    for start in range(0, mel.shape[0], per_block):
        rows = mel[start : start + per_block]
        cols = np.flatnonzero(np.any(rows != 0, axis=0))
        lo, hi = (int(cols[0]), int(cols[-1]) + 1) if cols.size else (0, 1)
        blocks.append((np.ascontiguousarray(rows[:, lo:hi]), lo, hi))
    return blocks


def dct_matrix(n_mels: int, n_mfcc: int) -> np.ndarray:
    """``(n_mfcc, n_mels)`` rows of the orthonormal DCT-II: ``D @ x == scipy.fft.dct(x, 2, norm="ortho")[:n_mfcc]``."""
    return scipy.fft.dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc].astype(np.float32)


def n_frames(n_samples: int, n_fft: int, hop_length: int) -> int:
    """Frames of a centred STFT of ``n_samples`` (``1 + n // hop`` for even ``n_fft``)."""
    return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length


def _check_delta_frames(n_time: int, width: int) -> None:
    if width < 3 or width % 2 == 0:
        raise ValueError(f"features.delta_width must be odd and >= 3, got {width}")
    if n_time < width:
        raise ValueError(
            f"the clip has {n_time} frames, fewer than features.delta_width={width} that the Δ filter "
            "(Savitzky-Golay, mode='interp') needs; use longer clips or a smaller delta_width"
        )


@functools.lru_cache(maxsize=64)
def savgol_matrix(n_time: int, width: int, order: int) -> np.ndarray:
    """``(T, T)`` matrix ``D`` with ``x @ D.T == librosa.feature.delta(x, width, order, mode="interp")``.

    ``savgol_filter`` is linear in its input, so filtering the identity along axis 0 gives
    the operator column by column (column ``j`` is the response to a unit impulse at ``j``),
    edges (``mode="interp"`` polynomial fits) included.
    """
    _check_delta_frames(n_time, width)
    d = scipy.signal.savgol_filter(
        np.eye(n_time), width, polyorder=order, deriv=order, axis=0, mode="interp"
    )
    d.setflags(write=False)
    return d


@functools.lru_cache(maxsize=64)
def pcen_smoother(n_time: int, b: float) -> np.ndarray:
    """``(T, T)`` matrix ``A`` with ``E @ A.T`` = the EMA ``M`` of PCEN, started at ``E[0]``.

    ``M[t] = Σ_{j≤t} b (1−b)^{t−j} E[j] + (1−b)^{t+1} E[0]`` (unrolling the recursion of the
    module docstring), so ``A[t, j] = b (1−b)^{t−j}`` for ``j ≤ t``, plus ``(1−b)^{t+1}`` in
    column 0.
    """
    t = np.arange(n_time)
    lag = t[:, None] - t[None, :]
    a = np.where(lag >= 0, b * (1.0 - b) ** np.maximum(lag, 0), 0.0)
    a[:, 0] += (1.0 - b) ** (t + 1)
    a = a.astype(np.float32)
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------- steps


def stft_power(
    y: jnp.ndarray, n_fft: int, hop_length: int, window: np.ndarray | None = None
) -> jnp.ndarray:
    """``(B, n) -> (B, 1 + n_fft//2, T)`` power ``|STFT|²``: centred, zero padded, Hann window.

    Same frames as ``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))**2`` for
    every ``n`` (clips shorter than ``n_fft`` included: zero padding, as librosa does).
    """
    if y.ndim != 2:
        raise ValueError(f"stft_power expects a (batch, samples) array, got shape {tuple(y.shape)}")
    y = jnp.asarray(y, jnp.float32)
    n = y.shape[-1]
    pad = n_fft // 2
    t = n_frames(n, n_fft, hop_length)
    w = jnp.asarray(hann_window(n_fft) if window is None else window, jnp.float32)
    y_pad = jnp.pad(y, ((0, 0), (pad, pad)))
    idx = hop_length * np.arange(t)[:, None] + np.arange(n_fft)[None, :]  # (T, n_fft), static
    frames = y_pad[:, idx] * w  # (B, T, n_fft)
    spec = jnp.fft.rfft(frames, n=n_fft, axis=-1)  # (B, T, F)
    power = jnp.real(spec) ** 2 + jnp.imag(spec) ** 2
    return jnp.swapaxes(power, -1, -2)  # (B, F, T)


def power_to_db(
    s: jnp.ndarray,
    amin: float = AMIN,
    ref: float = REF,
    top_db: float | None = TOP_DB,
    peak: bool = False,
) -> jnp.ndarray:
    """``10 log10(max(amin, S)/max(amin, ref))``, clipped at ``top_db`` below **each clip's** max.

    The max is over the last two axes (mels × frames) of each leading index, i.e. per clip.
    ``peak``: the reference is each clip's own max of ``S`` instead of ``ref``
    (``librosa.power_to_db(S, ref=np.max)``), so ``S_dB = 10 log10(max(amin, S) / max(amin,
    max S))`` lies in ``[-top_db, 0]`` and a gain ``g`` on the audio (``S -> g² S``) leaves it
    unchanged wherever ``g² S ≥ amin``: a call recorded 30 dB fainter gives the same features.
    """
    log_spec = 10.0 * jnp.log10(jnp.maximum(amin, s))
    if peak:
        log_spec = log_spec - jnp.max(log_spec, axis=(-2, -1), keepdims=True)
    else:
        log_spec = log_spec - 10.0 * np.log10(max(amin, abs(ref)))
    if top_db is not None:
        if top_db < 0:
            raise ValueError(f"top_db must be non-negative, got {top_db}")
        peak = jnp.max(log_spec, axis=(-2, -1), keepdims=True)
        log_spec = jnp.maximum(log_spec, peak - top_db)
    return log_spec


def delta(x: jnp.ndarray, width: int = 9, order: int = 1) -> jnp.ndarray:
    """``librosa.feature.delta(x, width=width, order=order, mode="interp")`` along the last axis."""
    d = jnp.asarray(savgol_matrix(int(x.shape[-1]), int(width), int(order)).T, jnp.float32)
    # x @ D.T with the leading axes as batch dimensions of the matmul (see _channel_fn)
    return jnp.matmul(x, jnp.broadcast_to(d, (*x.shape[:-2], *d.shape)), precision=_HI)


def pcen(e: jnp.ndarray, cfg: FeatureConfig) -> jnp.ndarray:
    """PCEN of mel magnitudes ``e`` ``(B, n_mels, T)`` (already scaled by ``PCEN_SCALE``),
    along the last axis, with ``cfg``'s ``pcen_*`` settings (module docstring)."""
    b = pcen_smoothing(cfg)
    a = jnp.asarray(pcen_smoother(int(e.shape[-1]), b).T, jnp.float32)
    m = jnp.matmul(e, jnp.broadcast_to(a, (*e.shape[:-2], *a.shape)), precision=_HI)
    gain, bias, power, eps = cfg.pcen_gain, cfg.pcen_bias, cfg.pcen_power, cfg.pcen_eps
    log_smooth = -gain * (np.log(eps) + jnp.log1p(m / eps))
    if bias == 0:
        return jnp.exp(power * (jnp.log(e) + log_smooth))
    return (bias**power) * jnp.expm1(power * jnp.log1p(e * jnp.exp(log_smooth) / bias))


# --------------------------------------------------------------------------- frontends


def _mel_fn(cfg: FeatureConfig, magnitude: bool) -> Callable[[jnp.ndarray], jnp.ndarray]:
    """``(B, n) -> (B, n_mels, T)``: the mel filterbank on ``|X|²`` (or on ``|X|``)."""
    window = hann_window(cfg.n_fft)
    blocks = [
        (jnp.asarray(w), lo, hi)
        for w, lo, hi in mel_blocks(mel_matrix(cfg.sample_rate, cfg.n_fft, cfg.n_mels))
    ]

    def mel(y: jnp.ndarray) -> jnp.ndarray:
        p = stft_power(y, cfg.n_fft, cfg.hop_length, window)
        if magnitude:
            p = jnp.sqrt(p)
        # the banded mel product, block by block (batch dim: see _stack_fn)
        return jnp.concatenate(
            [
                jnp.matmul(jnp.broadcast_to(w, (p.shape[0], *w.shape)), p[:, lo:hi], precision=_HI)
                for w, lo, hi in blocks
            ],
            axis=1,
        )

    return mel


def _channel_fn(cfg: FeatureConfig) -> Callable[[jnp.ndarray], jnp.ndarray]:
    """``(B, n) -> (B, n_bins, T)``: the first channel of ``cfg.kind`` (module docstring)."""
    if cfg.kind == "pcen":
        mel = _mel_fn(cfg, magnitude=True)
        return lambda y: pcen(mel(y) * PCEN_SCALE, cfg)
    mel = _mel_fn(cfg, magnitude=False)
    peak = cfg.db_reference == "peak"
    if cfg.kind == "logmel":
        return lambda y: power_to_db(mel(y), peak=peak)
    dct = jnp.asarray(dct_matrix(cfg.n_mels, cfg.n_mfcc))

    def mfcc(y: jnp.ndarray) -> jnp.ndarray:
        s = power_to_db(mel(y), peak=peak)
        # DCT as a matmul with an explicit batch dimension: XLA then runs the same kernel per
        # clip, so a clip's features do not depend on the batch it came in (bit-identical on
        # CPU); a plain einsum folds batch into the free dimensions and rounds differently.
        return jnp.matmul(jnp.broadcast_to(dct, (s.shape[0], *dct.shape)), s, precision=_HI)

    return mfcc


def _stack_fn(cfg: FeatureConfig) -> Callable[[jnp.ndarray], jnp.ndarray]:
    """``(B, n) -> (B, C, n_bins, T)``: the channel, and its Δ, Δ² when ``cfg.deltas``."""
    first, width = _channel_fn(cfg), cfg.delta_width

    def stack(y: jnp.ndarray) -> jnp.ndarray:
        c = first(y)
        if not cfg.deltas:
            return c[:, None]
        return jnp.stack([c, delta(c, width, 1), delta(c, width, 2)], axis=1)

    return stack


def in_chunks(
    fn: Callable[[jnp.ndarray], jnp.ndarray], clips_per_step: int | None | str = "auto"
) -> Callable[[jnp.ndarray], jnp.ndarray]:
    """``fn`` over a ``(B, n)`` batch, ``clips_per_step`` clips per step of a ``lax.map`` loop.

    ``B`` is zero-padded to a multiple of the chunk (the padded clips' rows are dropped).
    ``None`` or a chunk ≥ ``B``: ``fn`` on the whole batch. ``"auto"``:
    :data:`CPU_CLIPS_PER_STEP` on the CPU backend, the whole batch on accelerators.
    """
    if clips_per_step == "auto":
        clips_per_step = CPU_CLIPS_PER_STEP if jax.default_backend() == "cpu" else None
    if clips_per_step is not None and clips_per_step < 1:
        raise ValueError(f"clips_per_step must be >= 1, got {clips_per_step}")

    def run(y: jnp.ndarray) -> jnp.ndarray:
        if y.ndim != 2:
            raise ValueError(
                f"a frontend expects a (batch, samples) array, got shape {tuple(y.shape)}"
            )
        b = y.shape[0]
        if clips_per_step is None or b <= clips_per_step:
            return fn(y)
        pad = (-b) % clips_per_step
        chunks = jnp.pad(y, ((0, pad), (0, 0))).reshape(-1, clips_per_step, y.shape[1])
        out = jax.lax.map(fn, chunks)
        return out.reshape(-1, *out.shape[2:])[:b]

    return run


def make_frontend(
    cfg: FeatureConfig, clips_per_step: int | None | str = "auto"
) -> Callable[[jnp.ndarray], jnp.ndarray]:
    """Jitted ``(B, n_samples) -> (B, *cfg.shape)`` float32: ``reference_stack`` per clip.

    ``cfg.kind`` picks the channel (MFCC, log-mel dB with per-clip ``top_db=80``, or PCEN),
    ``cfg.deltas`` whether Δ and Δ² follow it. Settings are validated here (``delta_width``
    odd ≥ 3, ``n_mfcc ≤ n_mels``); a clip with fewer than ``delta_width`` frames raises
    :class:`ValueError` when the function is traced for that length. ``clips_per_step``:
    see :func:`in_chunks`.
    """
    _check_delta_frames(cfg.delta_width, cfg.delta_width)  # width itself: odd and >= 3
    if cfg.kind == "mfcc" and cfg.n_mfcc > cfg.n_mels:
        raise ValueError(f"features.n_mfcc ({cfg.n_mfcc}) exceeds features.n_mels ({cfg.n_mels})")
    return jax.jit(in_chunks(_stack_fn(cfg), clips_per_step))


def featuriser(cfg: FeatureConfig) -> Callable[[np.ndarray], np.ndarray]:
    """``(K, n_samples) -> (K, *cfg.shape)`` float32 with the configured backend; an embedding
    kind (``birdnet``) with its pretrained model (:mod:`jaxaudio.features.embeddings`)."""
    if cfg.embedding:
        from jaxaudio.features.embeddings import embedding_featuriser  # the optional extra

        return embedding_featuriser(cfg)
    if cfg.backend == "librosa":
        return lambda clips: (
            np.stack([reference_stack(c, cfg) for c in clips])
            if len(clips)
            else np.zeros((0, *cfg.shape), np.float32)
        )
    frontend = make_frontend(cfg)
    return lambda clips: (
        batched_apply(frontend, clips, FRONTEND_BATCH)
        if len(clips)
        else np.zeros((0, *cfg.shape), np.float32)
    )
