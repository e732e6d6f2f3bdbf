"""MFCC + Δ + Δ² feature stack, computed once per clip and cached as a ``.npy``.

For a clip of ``n`` samples, librosa's centred STFT gives ``T = 1 + n // hop_length`` frames
(3 s at 22 050 Hz, hop 512 -> 130; 1 s -> 44). Per clip:

* ``mfcc``: ``librosa.feature.mfcc`` — power mel spectrogram (``n_mels`` Slaney mels),
  ``power_to_db(ref=1, amin=1e-10, top_db=80)`` **of this clip alone**, orthonormal DCT-II,
  first ``n_mfcc`` coefficients;
* ``delta`` / ``delta2``: ``librosa.feature.delta(mfcc, width, order=1|2, mode="interp")``,
  Savitzky–Golay derivatives (order 2 is the second derivative of the local polynomial fit,
  not the delta of the delta).

Two backends compute the same stack (``features.backend``): ``jax`` — the batched, jitted
frontend of :mod:`jaxaudio.features.frontend` (default; within 1e-5 of the channel's range of
librosa, many times faster) — and ``librosa``, the reference, one clip at a time.

The cache is ``(N, 3, n_mfcc, T)`` float32 in manifest row order, written through
``np.lib.format.open_memmap`` so it can be memory-mapped by every experiment. Recordings
are decoded and resampled by a pool of ``threads`` workers (libsndfile and soxr release the
GIL) while the frontend runs on fixed-size batches of clips.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from jaxaudio.data.audio import AudioError, load_audio
from jaxaudio.data.manifest import check_train_coverage, load_resolved
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.frontend import featuriser
from jaxaudio.features.windows import cut_clips
from jaxaudio.runtime.runlog import is_terminal

log = logging.getLogger(__name__)

#: Recordings decoded per round (then featurised together and cached one by one). Without
#: a progress bar (a log file, a batch job) each round is one INFO line.
DECODE_CHUNK = 256
#: A recording (or labelled segment) whose signal fills less than this share of its clip (or
#: is shorter than one hop, see :func:`short_signal_seconds`) is reported in one warning: its
#: clip is then practically all zero padding, silence labelled as the species. Set to flag
#: what is almost surely a mistake (a 0.001 s file, a segment with a wrong ``end``), not
#: short calls: in the birdsounds-dev set, call segments of 0.046-0.8 s (median 0.14 s), 10 %
#: of a 1 s clip (or the 0.19 s the Δ filter spans) would flag 752 (1259) of 1986
#: recordings, and a warning that fires on good data is a warning nobody reads.
SHORT_SIGNAL_FRACTION = 0.01
#: Recordings named in the short-recording warning (the count covers the rest).
SHORT_SHOWN = 10


def write_cache(
    stacks: Iterable[np.ndarray | Path],
    cfg: FeatureConfig,
    out_path: str | Path,
    total: int | None = None,
) -> np.ndarray:
    """Stack ``(k_i, 3, F, T)`` or ``(3, F, T)`` blocks into one ``.npy`` atomically.

    A block may be the path of a per-recording ``.npz`` cache entry (read when its turn
    comes): with 100k recordings the stacks are never all in memory at once, and the file
    is written with plain writes rather than through a memory map, whose dirty pages would
    count towards the process's resident set. ``total`` (the number of clips), when the
    caller knows it, saves opening every cache entry twice.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def block(b: np.ndarray | Path) -> np.ndarray:
        if isinstance(b, Path):
            with np.load(b) as z:
                b = z["features"]
        return np.ascontiguousarray(b[None] if b.ndim == 3 else b, dtype=np.float32)

    def rows(b: np.ndarray | Path) -> int:
        if isinstance(b, Path):
            with np.load(b) as z:
                return len(z["clip_start"])
        return 1 if b.ndim == 3 else len(b)

    if total is None:
        stacks = list(stacks)
        total = sum(rows(b) for b in stacks)
    tmp = out_path.with_name(out_path.name + ".partial")
    with open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (total, *cfg.shape)}
        )
        written = 0
        for b in stacks:
            arr = block(b)
            if arr.shape[1:] != cfg.shape:
                raise ValueError(
                    f"{b if isinstance(b, Path) else 'features'}: shape {arr.shape[1:]} is not {cfg.shape}"
                )
            f.write(arr.tobytes())
            written += len(arr)
    if written != total:
        raise RuntimeError(
            f"{out_path}: wrote {written} of {total} clips (a cache entry changed while writing)"
        )
    tmp.replace(out_path)
    log.info("wrote %s: %d clips x %s", out_path, total, cfg.shape)
    return np.load(out_path, mmap_mode="r")


class FeatureError(ValueError):
    """Recordings that could not be featurised; the message lists file, manifest line, fault."""


def _cache_key(path: str, start: float | None, end: float | None, cfg: FeatureConfig) -> str:
    """Identity of one recording's features: the file (path, size, mtime), segment, settings."""
    try:
        st = Path(path).stat()
    except OSError as exc:  # deleted or unreadable since the manifest was checked
        raise AudioError(f"{path}: cannot read file ({exc.strerror})") from exc
    blob = json.dumps(
        [str(Path(path).resolve()), st.st_size, st.st_mtime_ns, start, end, cfg.to_dict()],
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def short_signal_seconds(cfg: FeatureConfig) -> float:
    """Recordings shorter than this are reported as (almost) all padding.

    The larger of :data:`SHORT_SIGNAL_FRACTION` of the clip and one hop (``hop_length``
    samples, 23 ms at the defaults): a signal shorter than one hop reaches only the few STFT
    frames whose window covers it, whatever the clip length, so the clip's features are those
    of silence.
    """
    return max(SHORT_SIGNAL_FRACTION * cfg.clip_seconds, cfg.hop_length / cfg.sample_rate)


def _seconds(x: float) -> str:
    return f"{x:.3f}" if x >= 0.001 else f"{x:.2g}"


def record_config(record: Any, cfg: FeatureConfig) -> FeatureConfig:
    """The feature settings of one manifest row: a background recording (any length: a long
    field recording, a synthetic clip) is cut into clip-length windows whatever
    ``features.crop`` says, so all of it is background to learn from."""
    if getattr(record, "background", False) and cfg.crop != "windows":
        return replace(cfg, crop="windows")
    return cfg


def _load_recording(
    path: str, start: float | None, end: float | None, cfg: FeatureConfig, cache_dir: Path | None
):
    """One recording, in a worker thread: ``(cache file, whether it already holds this
    recording's features, decoded clips or None, clip start times, seconds of signal or None
    when unknown)``. Every fault is an :class:`AudioError` naming the file."""
    cached = (
        cache_dir / f"{_cache_key(path, start, end, cfg)}.npz" if cache_dir is not None else None
    )
    if cached is not None and cached.is_file():
        with np.load(cached) as z:  # reads only the clip times; the features stay on disk
            seconds = (
                float(z["seconds"]) if "seconds" in z.files else None
            )  # entries of older versions lack it
            return cached, True, None, z["clip_start"].tolist(), seconds
    y = load_audio(path, cfg.sample_rate, start=start, end=end)
    clips = cut_clips(y, cfg)
    return (
        cached,
        False,
        np.stack([c for _, c in clips]),
        [(start or 0.0) + off for off, _ in clips],
        len(y) / cfg.sample_rate,
    )


def _store(cached: Path | None, feats: np.ndarray, clip_start: list[float], seconds: float) -> None:
    if cached is None:
        return
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(cached.name + ".partial.npz")
    np.savez(tmp, features=feats, clip_start=np.asarray(clip_start), seconds=np.float64(seconds))
    tmp.replace(cached)


def _origin(rec: Any, row: int, manifest_csv: str | Path) -> tuple[str, int]:
    """``(file, line)`` to name a recording by: its line in the user's manifest when the
    resolved manifest says where it came from (``source_file``/``source_line``), else its
    line in ``manifest_csv`` (a folder source has no lines of its own)."""
    line = getattr(rec, "source_line", None)
    source = getattr(rec, "source_file", None)
    if source and line is not None and not pd.isna(line) and line != "":
        return str(source), int(line)
    return str(manifest_csv), row + 2


def _data_source(df: pd.DataFrame, manifest_csv: str | Path) -> tuple[str, str]:
    """``(title, lines_in)``: what the user gave as data, to start messages with, and the file
    whose lines a bare "line N" in them counts. The user's manifest CSV when every row names
    the same one (``source_file``/``source_line``); a folder has no lines, so its messages
    count the lines of ``manifest_csv`` and say so; else ``manifest_csv`` itself."""
    sources = df["source_file"].unique() if "source_file" in df.columns else []
    if len(sources) != 1 or not sources[0]:
        return str(manifest_csv), str(manifest_csv)
    if (
        "source_line" in df.columns
        and pd.to_numeric(df["source_line"], errors="coerce").notna().all()
    ):
        return str(sources[0]), str(sources[0])
    return f"{sources[0]} (listed in {manifest_csv})", str(manifest_csv)


def _warn_short(
    short: list[tuple[str, float]], cfg: FeatureConfig, title: str, strict: bool = False
) -> None:
    """One warning for every recording that is mostly padding (:func:`short_signal_seconds`);
    with ``strict`` (config key ``strict``) a :class:`FeatureError` instead."""
    if not short:
        return
    items = "; ".join(
        f"{who}: {_seconds(sec)} s of audio padded to a {cfg.clip_seconds:g} s clip ({100 * sec / cfg.clip_seconds:.2g} % signal)"
        for who, sec in short[:SHORT_SHOWN]
    )
    more = f"; ... ({len(short)} in all)" if len(short) > SHORT_SHOWN else ""
    message = (
        f"{title}: {len(short)} recording(s) shorter than {_seconds(short_signal_seconds(cfg))} s "
        f"({100 * SHORT_SIGNAL_FRACTION:g} % of the {cfg.clip_seconds:g} s clip, or one hop) are almost all zero "
        f"padding, so their clips are mostly silence labelled as the species; check the files or their "
        f"start/end: {items}{more}"
    )
    if strict:
        raise FeatureError(f"{message} (config key strict: true makes this an error)")
    log.warning("%s", message)


def _segment(rec: Any) -> tuple[float | None, float | None]:
    start, end = getattr(rec, "start", None), getattr(rec, "end", None)
    start = None if start is None or pd.isna(start) else float(start)
    end = None if end is None or pd.isna(end) else float(end)
    return start, end


def _line_prefix(where: str, line: int, lines_in: str) -> str:
    """``"line N: "`` when ``where`` is the file the messages start with (``lines_in``, see
    :func:`_data_source`), else ``"<file> line N: "``, so every line number says whose it is."""
    return f"line {line}: " if where == lines_in else f"{where} line {line}: "


@dataclass
class _Featurised:
    """What the decode rounds of :func:`_featurise_all` found, recording by recording.

    ``results[i]``: recording *i*'s features (an array, or the cache entry holding them)
    and clip start times, ``None`` if it is bad; ``bad``: one ``skipped.csv`` row per bad
    recording; ``short``: ``(name, seconds)`` of each recording that is mostly padding;
    ``hits``: how many came from the cache.
    """

    results: list[tuple[np.ndarray | Path, list[float]] | None]
    bad: list[dict[str, Any]] = field(default_factory=list)
    short: list[tuple[str, float]] = field(default_factory=list)
    hits: int = 0


def _sort_round(
    chunk: range,
    futures: dict[int, Future],
    records: list[Any],
    manifest_csv: str | Path,
    threshold: float,
    lines_in: str,
    out: _Featurised,
) -> list[tuple[int, Path | None, np.ndarray, list[float], float]]:
    """Collect one round's decoded recordings, in manifest order, into ``out``.

    A recording that failed to decode goes to ``out.bad`` (with the file and line to name
    it by, :func:`_origin`), one shorter than ``threshold`` seconds also to ``out.short``, a
    cache hit straight to ``out.results``. Returns the rest: ``(row, cache entry, clips, clip
    starts, seconds)`` of each recording whose clips still need the frontend.
    """
    pending = []
    for i in chunk:
        where, line = _origin(records[i], i, manifest_csv)
        try:
            cached, hit, clips, clip_start, seconds = futures[i].result()
        except AudioError as exc:
            out.bad.append(
                {"path": records[i].path, "line": line, "reason": str(exc), "manifest": where}
            )
            continue
        if seconds is not None and seconds < threshold:
            out.short.append((_line_prefix(where, line, lines_in) + records[i].path, seconds))
        if hit:
            out.hits += 1
            out.results[i] = (cached, clip_start)
        else:
            pending.append((i, cached, clips, clip_start, seconds))
    return pending


def _featurise_round(
    pending: list[tuple[int, Path | None, np.ndarray, list[float], float]],
    featurise: Callable[[np.ndarray], np.ndarray],
    out: _Featurised,
) -> None:
    """Featurise every clip of a round in one batched frontend call, then split the result.

    One call per round (not per recording) keeps the jitted frontend busy on large batches;
    recording ``i``'s rows are the next ``len(clips_i)`` of the batch. Each block is written
    to its cache entry (when there is a cache) and recorded in ``out.results``: the entry's
    path, so the features need not stay in memory, else the block itself.
    """
    if not pending:
        return
    feats = featurise(np.concatenate([c for _, _, c, _, _ in pending]))
    offset = 0
    for i, cached, clips, clip_start, seconds in pending:
        block = feats[offset : offset + len(clips)]
        offset += len(clips)
        _store(cached, block, clip_start, seconds)
        out.results[i] = (cached if cached is not None else block, clip_start)


def _featurise_all(
    records: list[Any],
    manifest_csv: str | Path,
    cfg: FeatureConfig,
    cache: Path | None,
    featurise: Callable[[np.ndarray], np.ndarray],
    threads: int,
    progress: bool | None,
    title: str,
    lines_in: str,
) -> _Featurised:
    """Decode (``threads`` workers) and featurise every recording, :data:`DECODE_CHUNK` a round.

    Rounds bound the memory: only one round's decoded audio is held at a time, while the
    workers still decode a whole round in parallel. Progress is a bar when stderr is a
    terminal (and ``progress`` is not ``False``), else one INFO line per round.
    """
    out = _Featurised([None] * len(records))
    threshold = short_signal_seconds(cfg)
    desc = f"features ({cfg.backend}, {threads} thread(s))"
    use_bar = progress is not False and is_terminal(sys.stderr)
    bar = tqdm(total=len(records), desc=desc, unit="rec", disable=not use_bar, mininterval=2)
    started = time.monotonic()
    log.info("%s: %d recording(s) of %s", desc, len(records), title)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for first in range(0, len(records), DECODE_CHUNK):
            chunk = range(first, min(first + DECODE_CHUNK, len(records)))
            futures = {
                i: pool.submit(
                    _load_recording,
                    records[i].path,
                    *_segment(records[i]),
                    record_config(records[i], cfg),
                    cache,
                )
                for i in chunk
            }
            pending = _sort_round(chunk, futures, records, manifest_csv, threshold, lines_in, out)
            _featurise_round(pending, featurise, out)
            bar.update(len(chunk))
            if not use_bar:
                done, elapsed = chunk.stop, time.monotonic() - started
                log.info(
                    "%s: %d/%d recordings (%d from the cache, %d bad), %.1f s, %.0f rec/s",
                    desc,
                    done,
                    len(records),
                    out.hits,
                    len(out.bad),
                    elapsed,
                    done / elapsed if elapsed > 0 else 0.0,
                )
    bar.close()
    return out


def _clip_table(
    records: list[Any], results: list[tuple[np.ndarray | Path, list[float]] | None]
) -> tuple[list[np.ndarray | Path], list[dict[str, Any]]]:
    """``(blocks, rows)`` of the good recordings, in manifest order: the feature cache's blocks
    (for :func:`write_cache`) and the clip table's rows, one per clip — its recording's
    manifest columns plus ``recording`` (the manifest row) and ``clip_start`` (seconds)."""
    stacks, rows = [], []
    for i, rec in enumerate(records):
        if results[i] is not None:
            stacks.append(results[i][0])
            rows.extend({**rec._asdict(), "recording": i, "clip_start": t} for t in results[i][1])
    return stacks, rows


def _report_bad(
    bad: list[dict[str, Any]],
    on_bad_file: str,
    title: str,
    n_records: int,
    skipped_csv: str | Path,
    lines_in: str,
) -> None:
    """Write ``skipped_csv`` (header only when nothing is bad), then act on ``on_bad_file``.

    ``"error"``: one :class:`FeatureError` naming the first 20 bad recordings by manifest
    line, raised only now, after every good recording is featurised and cached, so fixing
    the files and rerunning redoes only those. ``"skip"``: a warning pointing at the list.
    """
    pd.DataFrame(bad, columns=["path", "line", "reason", "manifest"]).to_csv(
        skipped_csv, index=False
    )
    if bad and on_bad_file == "error":
        listing = "; ".join(
            _line_prefix(b["manifest"], b["line"], lines_in) + b["reason"] for b in bad[:20]
        )
        more = f" (and {len(bad) - 20} more)" if len(bad) > 20 else ""
        raise FeatureError(
            f"{title}: {len(bad)} recording(s) could not be used: {listing}{more}. Features of the "
            f"{n_records - len(bad)} good ones are cached; fix or remove the bad files, or set data.on_bad_file: skip"
        )
    if bad:
        log.warning("%s: skipped %d bad recording(s), listed in %s", title, len(bad), skipped_csv)


def build_feature_cache(
    manifest_csv: str | Path,
    settings: dict[str, Any],
    out_path: str | Path,
    clips_csv: str | Path,
    skipped_csv: str | Path,
    cache_dir: str | Path | None = None,
    on_bad_file: str = "error",
    progress: bool | None = None,
    threads: int = 1,
    strict: bool = False,
) -> pd.DataFrame:
    """Workflow step: featurise every recording of a resolved manifest.

    Writes the feature cache (one row per clip), the clip table (``clips_csv``: the manifest's
    columns plus ``recording`` — its manifest row — and ``clip_start`` in seconds) and
    ``skipped_csv`` (``path, line, reason, manifest``: ``line`` is the line in ``manifest``,
    the user's manifest CSV when the resolved manifest names it in ``source_file`` /
    ``source_line``, else ``manifest_csv``). A recording that cannot be decoded is, with
    ``on_bad_file="error"``, reported together with every other bad one in one
    :class:`FeatureError` (naming the user's manifest and lines) after all good recordings
    are featurised and cached; with ``"skip"`` it is left out and listed in ``skipped_csv``.
    ``threads`` workers decode and resample. Recordings much shorter than a clip are listed
    in one warning (:func:`short_signal_seconds`), or, with ``strict``, an error raised after
    every recording is featurised and cached (a rerun with the files fixed reuses them).

    ``progress``: a bar only when stderr is a terminal (and ``progress`` is not ``False``);
    otherwise one plain INFO line per :data:`DECODE_CHUNK` recordings, as log files and batch
    jobs need (a bar's carriage returns would make a log unreadable).
    """
    if on_bad_file not in ("error", "skip"):
        raise ValueError(f"on_bad_file must be 'error' or 'skip', got {on_bad_file!r}")
    cfg = FeatureConfig.from_dict(settings)
    cfg.check()
    df = load_resolved(manifest_csv)
    cache = Path(cache_dir) if cache_dir is not None else None
    featurise = featuriser(cfg)
    records = list(df.itertuples(index=False))
    title, lines_in = _data_source(df, manifest_csv)
    found = _featurise_all(
        records, manifest_csv, cfg, cache, featurise, threads, progress, title, lines_in
    )
    _warn_short(found.short, cfg, title, strict)
    stacks, rows = _clip_table(records, found.results)
    _report_bad(found.bad, on_bad_file, title, len(df), skipped_csv, lines_in)
    clips = pd.DataFrame(rows)
    # background rows and the held-out species' (unknown, test only) need no training clip
    no_species = [c for c in ("background", "unknown") if c in clips.columns]
    species_rows = ~clips[no_species].any(axis=1) if no_species else slice(None)
    check_train_coverage(clips[species_rows], f"{title} (after skipping bad files)")
    write_cache(stacks, cfg, out_path, total=len(clips))
    clips.to_csv(clips_csv, index=False)
    return clips
