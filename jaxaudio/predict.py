"""Species detections on recordings of any length, with a model bundle.

A recording is decoded block by block (``soundfile``), mixed to mono and resampled with a
streaming SoX resampler (``soxr.ResampleStream``, the same HQ filter ``librosa.resample``
uses in training) so a 10-hour file never sits in memory. Windows of ``window`` seconds
every ``hop`` seconds — plus one ending at the recording's end when the hops do not reach
it, and one zero-padded window for a recording shorter than a window, as training's
``crop: windows`` does — go through the bundle's own feature frontend, normalisation and
model in batches of one compiled shape.

Output rows ``file, start_s, end_s, species, score`` (the top ``top_k`` species of each
window whose score is at least ``min_score``, or, with ``min_score=None``, at least that
species' threshold from the bundle). ``merge=True`` joins overlapping or touching windows of
the same species into one detection with the highest score. :func:`write_raven` writes one
Raven selection table per file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from jaxaudio.audio import AUDIO_EXTENSIONS, AudioError
from jaxaudio.bundle import Bundle

COLUMNS = ["file", "start_s", "end_s", "species", "score"]
RAVEN_COLUMNS = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
                 "Species", "Score"]


def stream_audio(path: str | Path, sample_rate: int, block_seconds: float = 30.0) -> Iterator[np.ndarray]:
    """Mono float32 blocks of ``path`` resampled to ``sample_rate``, in order."""
    import soxr

    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:  # noqa: BLE001 - libsndfile's message, with the file named
        raise AudioError(f"{path}: cannot decode ({exc})") from exc
    with f:
        sr = f.samplerate
        resampler = soxr.ResampleStream(sr, sample_rate, 1, dtype="float32", quality="HQ") if sr != sample_rate else None
        block = max(1, int(block_seconds * sr))
        while True:
            data = f.read(block, dtype="float32", always_2d=True)
            last = len(data) < block
            y = data.mean(axis=1) if len(data) else np.zeros(0, np.float32)
            if not np.isfinite(y).all():
                raise AudioError(f"{path}: contains NaN or infinite samples")
            if resampler is not None:
                y = resampler.resample_chunk(y, last=last)
            if len(y):
                yield y.astype(np.float32, copy=False)
            if last:
                return


def windows(blocks: Iterator[np.ndarray], n: int, hop: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start sample, window)`` of ``n`` samples every ``hop`` samples over a block stream.

    Holds at most one window plus one block in memory. Coverage as training's
    ``crop: windows``: a final window ends at the stream's end when the hops miss the tail;
    a stream shorter than ``n`` gives one zero-padded window.
    """
    buf = np.zeros(0, np.float32)
    offset = 0  # stream position of buf[0]
    nxt = 0  # start of the next window
    last_start = None
    total = 0
    for block in blocks:
        total += len(block)
        buf = np.concatenate([buf, block])
        while nxt + n <= offset + len(buf):
            i = nxt - offset
            yield nxt, buf[i : i + n]
            last_start = nxt
            nxt += hop
        keep = max(0, min(nxt, total - n) - offset)  # the tail window may start before nxt
        buf, offset = buf[keep:], offset + keep
    if total == 0:
        return
    if total < n:
        yield 0, np.concatenate([buf, np.zeros(n - len(buf), np.float32)])
    elif last_start is None or last_start + n < total:
        yield total - n, buf[len(buf) - n :]


class Detector:
    """A bundle's frontend, normalisation and model compiled once for ``window``-second windows.

    Build one per bundle and reuse it for every file: the frontend and the model are jitted
    for batches of ``batch_size`` windows and compile on the first batch only.
    """

    def __init__(self, bundle: Bundle, window: float | None = None, batch_size: int = 64):
        from jaxaudio.features import featuriser
        from jaxaudio.model_store import probabilities_fn

        cfg = bundle.features
        self.bundle = bundle
        self.window = cfg.clip_seconds if window is None else float(window)
        if self.window <= 0:
            raise ValueError(f"--window must be > 0 (got {self.window})")
        if self.window != cfg.clip_seconds and bundle.meta["arch"] != "cnn":
            raise ValueError(
                f"{bundle.path}: a {bundle.meta['arch']} model only takes {cfg.clip_seconds} s windows (got --window {self.window})"
            )
        self.cfg = type(cfg)(**{**cfg.to_dict(), "clip_seconds": self.window})
        self.batch_size = batch_size
        self._featurise = featuriser(self.cfg)
        self._scores = probabilities_fn(bundle.model, bundle.mean, bundle.std)  # as evaluation scores

    def probabilities(self, clips: np.ndarray) -> np.ndarray:
        """``(K, n_samples)`` windows -> ``(K, C)`` species probabilities, K <= batch_size."""
        k = len(clips)
        x = self._featurise(clips)
        if k < self.batch_size:
            x = np.concatenate([x, np.zeros((self.batch_size - k, *x.shape[1:]), np.float32)])
        return np.asarray(self._scores(x))[:k]


def predict_file(
    detector: Detector,
    path: str | Path,
    hop: float | None = None,
    top_k: int = 1,
    min_score: float | None = None,
) -> pd.DataFrame:
    """Detections in one recording (see the module docstring for the rows)."""
    bundle, cfg = detector.bundle, detector.cfg
    hop = cfg.window_hop_seconds if hop is None else float(hop)  # the bundle's training hop
    if hop <= 0:
        raise ValueError(f"--hop must be > 0 (got {hop})")
    n, step = cfg.n_samples, max(1, int(round(hop * cfg.sample_rate)))
    rows: list[tuple] = []
    starts: list[int] = []
    clips: list[np.ndarray] = []

    def flush() -> None:
        if not clips:
            return
        p = detector.probabilities(np.stack(clips))
        top = np.argsort(-p, axis=1)[:, :top_k]
        for s0, pi, ti in zip(starts, p, top):
            for c in ti:
                floor = bundle.thresholds[c] if min_score is None else min_score
                if pi[c] >= floor:
                    rows.append((str(path), s0 / cfg.sample_rate, (s0 + n) / cfg.sample_rate, bundle.species[c], float(pi[c])))
        starts.clear()
        clips.clear()

    for s0, clip in windows(stream_audio(path, cfg.sample_rate), n, step):
        starts.append(s0)
        clips.append(clip)
        if len(clips) == detector.batch_size:
            flush()
    flush()
    return pd.DataFrame(rows, columns=COLUMNS).astype({"start_s": float, "end_s": float, "score": float})


def merge_detections(df: pd.DataFrame) -> pd.DataFrame:
    """Join overlapping or touching detections of the same species in the same file."""
    out = []
    for (file, sp), g in df.sort_values("start_s").groupby(["file", "species"], sort=False):
        cur = None
        for r in g.itertuples(index=False):
            if cur is not None and r.start_s <= cur[2] + 1e-9:
                cur[2], cur[4] = max(cur[2], r.end_s), max(cur[4], r.score)
            else:
                if cur is not None:
                    out.append(tuple(cur))
                cur = [file, r.start_s, r.end_s, sp, r.score]
        if cur is not None:
            out.append(tuple(cur))
    return pd.DataFrame(out, columns=COLUMNS).sort_values(["file", "start_s", "species"], ignore_index=True)


def write_raven(df: pd.DataFrame, out_dir: str | Path, files: Sequence[str | Path], sample_rate: int) -> list[Path]:
    """One Raven selection table per input file (``<stem>.selections.txt``, tab-separated).

    Low/High Freq span the whole band the features saw (0 .. Nyquist of ``sample_rate``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        d = df[df["file"] == str(f)].sort_values("start_s")
        table = pd.DataFrame({
            "Selection": np.arange(1, len(d) + 1),
            "View": "Spectrogram 1",
            "Channel": 1,
            "Begin Time (s)": d["start_s"].round(4).to_numpy(),
            "End Time (s)": d["end_s"].round(4).to_numpy(),
            "Low Freq (Hz)": 0.0,
            "High Freq (Hz)": sample_rate / 2,
            "Species": d["species"].to_numpy(),
            "Score": d["score"].round(4).to_numpy(),
        }, columns=RAVEN_COLUMNS)
        path = out_dir / f"{Path(f).stem}.selections.txt"
        table.to_csv(path, sep="\t", index=False)
        written.append(path)
    return written


def audio_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files given directly plus the audio files found under folders given (sorted), each once."""
    out: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
            if not found:
                raise AudioError(f"{item}: folder holds no audio files ({', '.join(AUDIO_EXTENSIONS)})")
            out.extend(found)
        elif item.is_file():
            out.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    seen: set[Path] = set()
    return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]


def predict_paths(
    bundle_dir: str | Path,
    inputs: Sequence[str | Path],
    out_csv: str | Path,
    raven_dir: str | Path | None = None,
    window: float | None = None,
    hop: float | None = None,
    top_k: int = 1,
    min_score: float | None = None,
    merge: bool = False,
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[pd.DataFrame, list[Path]]:
    """``jaxaudio predict`` and the workflow's ``predict`` rule: every audio file under
    ``inputs`` through one :class:`Detector`, detections to ``out_csv`` (scores to 4
    decimals), and one Raven table per file to ``raven_dir`` when given.

    The bundle is loaded and checked, and every input resolved, before any audio is
    decoded. ``progress`` draws a bar over files; otherwise each file is one log line.
    Returns the detections and the files read.
    """
    import logging

    from tqdm import tqdm

    from jaxaudio.bundle import load_bundle

    log = logging.getLogger("jaxaudio.predict")
    bundle = load_bundle(bundle_dir)
    files = audio_inputs(inputs)
    detector = Detector(bundle, window, batch_size)
    frames = []
    for f in tqdm(files, desc="predict", unit="file", disable=not progress):
        frames.append(predict_file(detector, f, hop, top_k, min_score))
        log.info("%s: %d detection(s)", f, len(frames[-1]))
    frames = [f for f in frames if len(f)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if merge:
        df = merge_detections(df)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_csv, index=False, float_format="%.4f")
    if raven_dir is not None:
        write_raven(df, raven_dir, files, bundle.features.sample_rate)
    return df, files
