"""Species detections on recordings of any length, with a model bundle.

A recording is decoded block by block (``soundfile``), mixed to mono and resampled with a
streaming SoX resampler (``soxr.ResampleStream``, the same HQ filter ``librosa.resample``
uses in training) so a 10-hour file never sits in memory. Windows of ``window`` seconds
every ``hop`` seconds — plus one ending at the recording's end when the hops do not reach
it, and one zero-padded window for a recording shorter than a window, as training's
``crop: windows`` does — go through the bundle's own feature frontend, normalisation and
model in batches of one compiled shape. A window of digital silence (RMS under -100 dBFS,
:data:`SILENT_RMS`) scores 0 for every species, so no threshold reports it.

Output rows ``file, start_s, end_s, species, score`` (the top ``top_k`` species of each
window whose score is at least ``min_score``, or, with ``min_score=None``, at least that
species' threshold from the bundle). ``top_k=None`` is the bundle's own default: 1 for a
softmax model (one species a window), every species for a multi-label (``sigmoid``) one, so
each species over its threshold is reported; a given ``top_k`` caps either. ``species``, a subset of the bundle's species (a
species list, :func:`read_species_list`), restricts the report to those: the top ``top_k`` are
taken among them. ``merge=True`` joins overlapping or touching windows of the same species
into one detection with the highest score. :func:`write_raven` writes one Raven selection
table per file, :func:`write_audacity` one Audacity label file per file.

One bad file does not lose a run: :func:`predict_paths` scores every file it can, and lists
each one it cannot use, with the reason, in ``failed.csv`` (``file, reason``) beside the
detections. A file is refused before any decoding when :func:`jaxaudio.data.audio.audio_info`
refuses it (the features step's checks: missing, empty, not audio, unreadable header, no
samples, a WAV/AIFF shorter than its header announces), so it adds no rows. A fault found
only while decoding (a FLAC that loses sync, NaN samples, fewer frames than announced)
ends that file where it happened: the windows decoded before it keep their detections, as
for a recording that ends there, and ``failed.csv`` says how many seconds were decoded.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import soxr
from tqdm import tqdm

from jaxaudio.data.annotations import RAVEN_SELECTION_COLUMNS
from jaxaudio.data.audio import (
    AudioError,
    audio_info,
    decodable_frames,
    is_truncated,
    sndfile_message,
)
from jaxaudio.data.files import audio_inputs
from jaxaudio.data.mixing import rms
from jaxaudio.features.frontend import featuriser
from jaxaudio.inference.bundle import Bundle, load_bundle
from jaxaudio.inference.model_store import objective_of, probabilities_fn

COLUMNS = ["file", "start_s", "end_s", "species", "score"]
# The truth tables' columns with the recording named in each row (Raven's own "Begin File" and
# "File Offset (s)" measurements, which the truth reader takes the recording from) before the
# annotation, then the score.
_LABEL = RAVEN_SELECTION_COLUMNS.index("Species")
RAVEN_COLUMNS = [
    *RAVEN_SELECTION_COLUMNS[:_LABEL],
    "Begin File",
    "File Offset (s)",
    *RAVEN_SELECTION_COLUMNS[_LABEL:],
    "Score",
]
FAILED_COLUMNS = ["file", "reason"]

log = logging.getLogger("jaxaudio.inference.predict")

#: A window whose RMS is below this (-100 dBFS, under the quantisation noise of a 16-bit
#: recorder, about -101 dBFS with dither) holds no recorded sound: digital silence, a muted
#: or padded stretch. Every species scores 0 there. Why: the features of exact zeros (a flat
#: ``power_to_db`` floor) are nothing the model saw in training, whose quietest background
#: is ``silence`` at -80 dBFS (:data:`jaxaudio.data.background.SILENCE_RMS`), and a softmax
#: names a species for it (measured: one species at 0.32, over its threshold 0.19, in every
#: silent window of tests/unit/inference/test_long_recording.py's recording).
SILENT_RMS = 1e-5


def stream_audio(
    path: str | Path, sample_rate: int, block_seconds: float = 30.0
) -> Iterator[np.ndarray]:
    """Mono float32 blocks of ``path`` resampled to ``sample_rate``, in order.

    The header is checked first (:func:`jaxaudio.data.audio.audio_info`), so a file the features
    step would refuse raises :class:`AudioError` before any block. A fault met while
    decoding (libsndfile failing mid-stream, NaN/inf samples, fewer frames than the header
    announces) raises *after* the blocks decoded before it, its message saying how far the
    file decoded, so a caller can keep what came before.
    """
    info = audio_info(path)
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:  # noqa: BLE001 - libsndfile's message, with the file named
        raise AudioError(f"{path}: cannot decode: {sndfile_message(exc)}") from exc
    with f:
        sr = f.samplerate
        resampler = (
            soxr.ResampleStream(sr, sample_rate, 1, dtype="float32", quality="HQ")
            if sr != sample_rate
            else None
        )
        block = max(1, int(block_seconds * sr))
        done, fault = 0, None
        while True:
            data, fault = _read_block(path, f, done, block)
            last = fault is not None or len(data) < block
            y = data.mean(axis=1)
            if not np.isfinite(y).all():
                raise AudioError(
                    f"{path}: contains NaN or infinite samples (in the block after {done / sr:.1f} s)"
                )
            done += len(data)
            if resampler is not None:
                y = resampler.resample_chunk(y, last=last)
            if len(y):
                yield y.astype(np.float32, copy=False)
            if last:
                break
    _check_complete(path, info, done, fault)


def _read_block(
    path: str | Path, f: sf.SoundFile, done: int, block: int
) -> tuple[np.ndarray, Exception | None]:
    """The next ``(frames, channels)`` block and ``None``; when libsndfile fails on it, the
    frames of that block that decode before the fault and the error (a block lost whole
    would under-report how far the file decodes by up to ``block`` frames)."""
    try:
        return f.read(block, dtype="float32", always_2d=True), None
    except Exception as exc:  # noqa: BLE001 - libsndfile raises LibsndfileError, RuntimeError, ...
        return decodable_frames(path, done, block, f.channels), exc


def _check_complete(path: str | Path, info: dict, done: int, fault: Exception | None) -> None:
    """Raise when the stream ended on a decoder error or before the frames the header announces."""
    sr, frames = info["samplerate"], info["frames"]
    got = f"decoded {done} of {frames} frames ({done / sr:.1f} of {frames / sr:.1f} s)"
    if fault is not None:
        raise AudioError(
            f"{path}: {got}, then the decoder failed: file is truncated or its audio data is corrupt "
            f"(libsndfile: {sndfile_message(fault)})"
        )
    if is_truncated(done, frames, info["format"]):
        raise AudioError(f"{path}: {got}: file is truncated")


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
        # as evaluation scores them: calibrated, the background class's share dropped
        self._scores = probabilities_fn(
            bundle.members,
            len(bundle.species),
            bundle.temperature,
            objective_of(bundle.meta),
        )

    def probabilities(self, clips: np.ndarray) -> np.ndarray:
        """``(K, n_samples)`` windows -> ``(K, C)`` species probabilities, K <= batch_size;
        0 for every species in a window quieter than :data:`SILENT_RMS`."""
        k = len(clips)
        x = self._featurise(clips)
        if k < self.batch_size:
            x = np.concatenate([x, np.zeros((self.batch_size - k, *x.shape[1:]), np.float32)])
        p = np.array(self._scores(x))[:k]
        p[silent(clips)] = 0.0
        return p


def silent(clips: np.ndarray) -> np.ndarray:
    """``(K, n)`` windows -> ``(K,)`` whether each one's RMS is below :data:`SILENT_RMS`
    (:func:`jaxaudio.data.mixing.rms`, the RMS the offset copies' SNR uses)."""
    return np.asarray([rms(c) for c in clips]) < SILENT_RMS


@dataclass
class FileResult:
    """One recording's detections and, when it could not be used whole, why.

    ``seconds`` is the audio decoded and scored (all of it unless ``error``); detections of a
    file that failed midway cover its first ``seconds`` only.
    """

    file: Path
    detections: pd.DataFrame
    seconds: float
    error: AudioError | None = None

    @property
    def read(self) -> bool:
        """Whether any of the file was scored (a file that failed midway was)."""
        return self.error is None or self.seconds > 0

    @property
    def reason(self) -> str:
        """The fault in plain words, without the path (``failed.csv``'s ``reason``); "" when none."""
        if self.error is None:
            return ""
        msg = str(self.error).removeprefix(f"{self.file}: ")
        return msg + (
            f"; the detections of its first {self.seconds:.1f} s are kept"
            if self.seconds > 0
            else ""
        )


class _UntilFault:
    """A block stream that counts its samples and ends at its first :class:`AudioError`,
    kept in ``error``: the windows before the fault are then cut as for a recording that
    ends there (a final window ending at the last decoded sample included)."""

    def __init__(self, blocks: Iterator[np.ndarray]):
        self.blocks, self.samples, self.error = blocks, 0, None

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            for block in self.blocks:
                self.samples += len(block)
                yield block
        except AudioError as exc:
            self.error = exc


def hop_samples(hop: float, sample_rate: int) -> int:
    """Samples between window starts for ``hop`` seconds (at least 1)."""
    return max(1, int(round(hop * sample_rate)))


def scored_windows(
    detector: Detector, blocks: Iterator[np.ndarray], step: int
) -> Iterator[tuple[list[int], np.ndarray]]:
    """``(start samples, (K, C) scores)`` of the windows of a block stream, every ``step``
    samples, in batches of at most ``detector.batch_size`` (:meth:`Detector.probabilities`)."""
    starts: list[int] = []
    clips: list[np.ndarray] = []
    for s0, clip in windows(blocks, detector.cfg.n_samples, step):
        starts.append(s0)
        clips.append(clip)
        if len(clips) == detector.batch_size:
            yield starts, detector.probabilities(np.stack(clips))
            starts, clips = [], []
    if clips:
        yield starts, detector.probabilities(np.stack(clips))


def window_picks(
    p: np.ndarray,
    thresholds: np.ndarray,
    top_k: int,
    listed: np.ndarray,
    min_score: float | None = None,
) -> list[tuple[int, int]]:
    """``(window, species)`` index pairs that :func:`predict_file` reports for ``(K, C)``
    scores ``p``: each window's top ``top_k`` species among ``listed`` (ties: the lower
    index first) whose score reaches its threshold, or ``min_score`` for every species when
    given; in window order, then rank order."""
    top = listed[np.argsort(-p[:, listed], axis=1, kind="stable")[:, :top_k]]
    floor = np.asarray(thresholds) if min_score is None else np.full(p.shape[1], min_score)
    return [(i, int(c)) for i, row in enumerate(top) for c in row if p[i, c] >= floor[c]]


def predict_file(
    detector: Detector,
    path: str | Path,
    hop: float | None = None,
    top_k: int | None = 1,
    min_score: float | None = None,
    species: Sequence[str] | None = None,
) -> FileResult:
    """Detections in one recording (see the module docstring for the rows).

    ``species`` (names of the bundle's species; ``None``: all) are the only ones reported:
    each window's top ``top_k`` are ranked among them alone, so a window whose best species
    is not listed may still report the best listed one that reaches its threshold.

    Never raises :class:`AudioError`: a file refused before decoding gives no rows and the
    error; a file that fails midway gives the rows of the part decoded before the fault *and*
    the error, so one corrupt frame hours into a recording neither loses the hours before
    it nor passes unreported. (A ``hop`` <= 0 is the caller's mistake and raises ValueError.)
    """
    bundle, cfg, path = detector.bundle, detector.cfg, Path(path)
    top_k = default_top_k(bundle.meta, len(bundle.species)) if top_k is None else top_k
    hop = cfg.window_hop_seconds if hop is None else float(hop)  # the bundle's training hop
    if hop <= 0:
        raise ValueError(f"--hop must be > 0 (got {hop})")
    n, step = cfg.n_samples, hop_samples(hop, cfg.sample_rate)
    listed = (
        np.arange(len(bundle.species))
        if species is None
        else np.asarray([bundle.species.index(s) for s in species], int)
    )
    rows: list[tuple] = []
    stream = _UntilFault(stream_audio(path, cfg.sample_rate))
    for starts, p in scored_windows(detector, iter(stream), step):
        for i, c in window_picks(p, bundle.thresholds, top_k, listed, min_score):
            s0 = starts[i]
            rows.append(
                (
                    str(path),
                    s0 / cfg.sample_rate,
                    (s0 + n) / cfg.sample_rate,
                    bundle.species[c],
                    float(p[i, c]),
                )
            )
    df = pd.DataFrame(rows, columns=COLUMNS).astype(
        {"start_s": float, "end_s": float, "score": float}
    )
    return FileResult(path, df, stream.samples / cfg.sample_rate, stream.error)


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
    return pd.DataFrame(out, columns=COLUMNS).sort_values(
        ["file", "start_s", "species"], ignore_index=True
    )


def write_raven(
    df: pd.DataFrame,
    out_dir: str | Path,
    files: Sequence[str | Path],
    band: tuple[float, float],
) -> list[Path]:
    """One Raven selection table per input file (``<stem>.selections.txt``, tab-separated).

    ``Begin File`` is the input file's name and ``File Offset (s)`` the begin time (one file
    per table); Low/High Freq are ``band``, the band the features saw
    (:attr:`jaxaudio.features.config.FeatureConfig.mel_band`).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        d = df[df["file"] == str(f)].sort_values("start_s")
        begin = d["start_s"].round(4).to_numpy()
        table = pd.DataFrame(
            {
                "Selection": np.arange(1, len(d) + 1),
                "View": "Spectrogram 1",
                "Channel": 1,
                "Begin Time (s)": begin,
                "End Time (s)": d["end_s"].round(4).to_numpy(),
                "Low Freq (Hz)": float(band[0]),
                "High Freq (Hz)": float(band[1]),
                "Begin File": Path(f).name,
                "File Offset (s)": begin,
                "Species": d["species"].to_numpy(),
                "Score": d["score"].round(4).to_numpy(),
            },
            columns=RAVEN_COLUMNS,
        )
        path = out_dir / f"{Path(f).stem}.selections.txt"
        table.to_csv(path, sep="\t", index=False)
        written.append(path)
    return written


def write_audacity(
    df: pd.DataFrame, out_dir: str | Path, files: Sequence[str | Path]
) -> list[Path]:
    """One Audacity label file per input file (``<stem>.txt``): a line ``start\tend\tlabel``
    per detection (Audacity's label-track format: no header, seconds to 6 decimals, label
    ``species score``, e.g. ``Turdus merula 0.91``), in start order; empty when none."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        d = df[df["file"] == str(f)].sort_values(["start_s", "species"], kind="stable")
        lines = [
            f"{r.start_s:.6f}\t{r.end_s:.6f}\t{r.species} {r.score:.2f}\n"
            for r in d.itertuples(index=False)
        ]
        path = out_dir / f"{Path(f).stem}.txt"
        path.write_text("".join(lines), encoding="utf-8")
        written.append(path)
    return written


#: Bundle species named in the error for a name the bundle does not know.
SHOWN_SPECIES = 5


def read_species_list(path: str | Path, known: Sequence[str]) -> list[str]:
    """The species of a species list (one name per line; blank lines and ``#`` comments
    ignored; surrounding spaces removed), each once, in file order.

    Raises ``ValueError`` naming the file and line for a name not in ``known`` (the bundle's
    species; the closest of them suggested, then a few of them listed), and naming the file
    when it lists none.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: species list not found")
    listed: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            shown = list(dict.fromkeys([*close, *known]))[:SHOWN_SPECIES]
            more = f" (+{len(known) - len(shown)} more)" if len(known) > len(shown) else ""
            raise ValueError(
                f"{path}: line {number}: {name!r} is not one of the bundle's {len(known)} species"
                + (f"; did you mean {' or '.join(map(repr, close))}?" if close else "")
                + f" The bundle's species include {', '.join(map(repr, shown))}{more}"
            )
        if name not in listed:
            listed.append(name)
    if not listed:
        raise ValueError(
            f"{path}: species list names no species (one per line; blank lines and # comments "
            "are ignored)"
        )
    return listed


@dataclass
class PredictRun:
    """What :func:`predict_paths` did: the detections, one :class:`FileResult` per input
    file (in order), and where the failures were listed."""

    detections: pd.DataFrame
    results: list[FileResult]
    failed_csv: Path
    raven: list[Path] = field(default_factory=list)
    audacity: list[Path] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [r.file for r in self.results]

    @property
    def read(self) -> list[Path]:
        """The files scored, whole or up to a fault (each has a Raven table with ``--raven``
        and a label file with ``--audacity``)."""
        return [r.file for r in self.results if r.read]

    @property
    def failures(self) -> list[FileResult]:
        """The files refused or cut short by a fault (the rows of ``failed.csv``)."""
        return [r for r in self.results if r.error is not None]

    def require_some_read(self) -> None:
        """Raise :class:`AudioError` when not one file could be read: a run that found
        nothing because it decoded nothing must not pass for one that heard no bird."""
        if self.results and not self.read:
            raise AudioError(
                f"{self.failed_csv}: none of the {len(self.results)} input file(s) could be read "
                "(each is listed there with its reason)"
            )


def write_failed(results: Sequence[FileResult], path: str | Path) -> Path:
    """``file, reason`` of every failed file; just the header when none failed, so that a
    workflow can declare the file and a reader need not tell "none failed" from "not run"."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [(str(r.file), r.reason) for r in results if r.error is not None]
    pd.DataFrame(rows, columns=FAILED_COLUMNS).to_csv(path, index=False)
    return path


def default_top_k(meta: Mapping[str, object], n_species: int) -> int:
    """``top_k`` when none is given: 1 for a softmax model, every species for a sigmoid one."""
    return n_species if objective_of(meta) == "sigmoid" else 1


def predict_paths(
    bundle_dir: str | Path,
    inputs: Sequence[str | Path],
    out_csv: str | Path,
    raven_dir: str | Path | None = None,
    window: float | None = None,
    hop: float | None = None,
    top_k: int | None = 1,
    min_score: float | None = None,
    merge: bool = False,
    batch_size: int = 64,
    progress: bool = False,
    failed_csv: str | Path | None = None,
    species_list: str | Path | None = None,
    audacity_dir: str | Path | None = None,
) -> PredictRun:
    """``jaxaudio predict`` and the workflow's ``predict`` rule: every audio file under
    ``inputs`` through one :class:`Detector`, detections to ``out_csv`` (scores to 4
    decimals), one Raven table per file read to ``raven_dir`` and one Audacity label file
    per file read to ``audacity_dir`` when given, and the files that failed to
    ``failed_csv`` (default: ``failed.csv`` beside ``out_csv``). With ``species_list`` (a
    file, :func:`read_species_list`) only its species are reported.

    The bundle is loaded and checked, the species list read against it, and every input
    resolved, before any audio is decoded: a missing bundle, species list or input path, or a
    species the bundle does not know, is the command line's mistake and raises. A
    file that cannot be used is the data's: it is listed with its reason and the run goes
    on (see :func:`predict_file` for a file that fails midway), so every output is written
    whatever the files hold. Whether failures fail the caller is the caller's choice
    (``--strict``; :meth:`PredictRun.require_some_read`). ``progress`` draws a bar over
    files; otherwise each file is one log line.
    """

    bundle = load_bundle(bundle_dir)
    species = None if species_list is None else read_species_list(species_list, bundle.species)
    files = audio_inputs(inputs)
    detector = Detector(bundle, window, batch_size)
    results = []
    for f in tqdm(files, desc="predict", unit="file", disable=not progress):
        results.append(predict_file(detector, f, hop, top_k, min_score, species))
        r = results[-1]
        log.info(
            "%s: %d detection(s)%s",
            f,
            len(r.detections),
            f"; failed: {r.reason}" if r.error else "",
        )
    frames = [r.detections for r in results if len(r.detections)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if merge:
        df = merge_detections(df)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_csv, index=False, float_format="%.4f")
    run = PredictRun(
        df, results, write_failed(results, failed_csv or Path(out_csv).with_name("failed.csv"))
    )
    if raven_dir is not None:
        run.raven = write_raven(df, raven_dir, run.read, bundle.features.mel_band)
    if audacity_dir is not None:
        run.audacity = write_audacity(df, audacity_dir, run.read)
    return run
