"""Event-level scores of detections against annotated calls, and BirdSet's window cmAP.

Inputs: ``detections`` (``file, start_s, end_s, species, score`` — what ``jaxaudio predict``
writes), ``truth`` (``file, start_s, end_s, species`` — :func:`jaxaudio.data.annotations.
read_truth`) and ``durations`` (recording stem -> seconds of audio). The rules, exactly:

**Files.** A detection belongs to the recording ``Path(file).stem``; ``truth.file`` and the
keys of ``durations`` are stems already (a folder or an audio extension, ``.wav``, ``.flac``,
..., is removed from them by :func:`jaxaudio.data.annotations.recording_stem`; other dots
stay). Files are matched by equal stems. Every file of a detection or an event must have a
duration (else ``ValueError`` naming it). Hours of audio = Σ durations / 3600 over *all*
files in ``durations``, also those with no event and no detection.

Bad input is refused before any scoring with a ``ValueError`` naming the fault: a missing
column, a time that is not a finite number, a negative time or end < start (with the row's
0-based position and file), a file without a duration, a detected species not in
``known_species``.

**Overlap rule.** Detection d = [ds, de] and truth event e = [es, ee] of the same file
*match* when their overlap o = min(de, ee) − max(ds, es) satisfies

    o > 0   and   o >= min_overlap * min(de − ds, ee − es)

(default ``min_overlap = 0.5``: at least half of the shorter of the two lies inside the
other). Edges that only touch (o = 0) do not match. When either one has zero length (a point
p), they match when the point lies inside the other, ends included (s <= p <= e); two points
match when equal. Comparisons allow 1e-9 s for floating-point rounding. Species play no part
in matching; they decide what a match counts for:

**Counts per species s** (known species only, see below).

* A truth event of species s is *found* when at least one detection of species s matches it
  (several detections on one call: the call is found once).
* A detection of species s is *correct* when it matches at least one truth event of species
  s (one detection may cover two calls: both are found, the detection is correct once).
* recall_s = found_s / events_s, precision_s = correct_s / detections_s,
  F1_s = 2 P R / (P + R) (0 when P + R = 0). A ratio with a zero denominator is undefined:
  ``NaN`` in the table, ``None`` in the summary, never 0 — except F1_s = 0 when species s
  has events but no detections (recall 0, nothing found), so a species the model never
  reports pulls macro-F1 down instead of dropping out of it.
* Overall (micro over known species): recall = Σ found / Σ events, precision =
  Σ correct / Σ detections, F1 from those. macro-F1 = mean of F1_s over the known species
  with at least one event; a species with detections but no events counts in precision
  only (its recall and F1 are undefined).

**Unknown species.** With ``known_species`` given, a truth species not in it is *unknown*
(a call of a species the model was not trained on); with ``known_species=None`` every truth
species (and every detected species) is known. A detected species must be known. Unknown
events never count in the recall or precision of known species. A detection that is not
correct is a *false detection*; a false detection that matches at least one unknown event
is a *detection on an unknown call*, every other false detection (on empty audio, on a call
of another known species) is a *false alarm*:

* false_alarms_per_hour = false alarms / hours of audio;
* detections_per_unknown_call = detections on unknown calls / number of unknown events;
* unknown_calls_detected_fraction = unknown events matched by at least one false
  detection / number of unknown events.

**Window cmAP, as BirdSet computes it.** BirdSet's main metric ``cmAP``
(``birdset/modules/metrics/multilabel.py`` in github.com/DBD-research-group/BirdSet, commit
86a0777, used as ``main_metric`` in ``birdset/configs/module_configs.py``) is torchmetrics'
(1.2.0, as BirdSet pins it) ``MultilabelAveragePrecision(average="macro", thresholds=None)``
over the ``test_5s``
split, 5-second segments of the test soundscapes with multi-hot labels, pooled over all
recordings. torchmetrics computes, per class, AP = Σ_n (R_n − R_{n−1}) P_n over the
distinct score thresholds (no interpolation — the same step sum as
``sklearn.metrics.average_precision_score``); a class with no positive segment gets ``NaN``
and is left out of the macro mean (``_reduce_average_precision``). Here:

* each file of duration T is cut into windows k = 0, 1, ... covering
  [k w, (k + 1) w) with w = ``window_s`` (default 5.0 s); the last partial window is kept
  when it holds at least w / 2 seconds of audio, and a file shorter than one window is one
  window (a file of 0 s has none);
* truth of window k for species s = 1 when an event of known species s overlaps the window
  (o > 0; a zero-length event at p when k w <= p < (k + 1) w);
* score of window k for species s = max score of the detections of s overlapping the window
  (same test), 0 when there is none;
* cmAP = mean over the known species with at least one positive window of
  ``average_precision_score(truth[:, s], score[:, s])`` (``None`` when no species has one;
  ``n_cmap_species`` in the summary says how many species it averages).

Detections are thresholded windows, so a window without a detection scores 0: with a high
threshold this is lower than BirdSet's cmAP on the raw model outputs; predict with a low
``--min-score`` for the comparable number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.data.annotations import TRUTH_COLUMNS, recording_stem
from jaxaudio.evaluation.multilabel import class_mean_ap

__all__ = [
    "DETECTION_COLUMNS",
    "PER_SPECIES_COLUMNS",
    "EventScores",
    "format_scores",
    "match_intervals",
    "score_detections",
    "window_cmap",
]

DETECTION_COLUMNS = ["file", "start_s", "end_s", "species", "score"]
PER_SPECIES_COLUMNS = [
    "species", "events", "found", "recall", "detections", "correct", "precision", "f1", "known",
]  # fmt: skip
EPS = 1e-9  # seconds of floating-point slack in every comparison
_BLOCK = 2_000_000  # most detection x event pairs compared at once


@dataclass
class EventScores:
    """What :func:`score_detections` found.

    ``summary``: JSON-ready numbers (``None`` where undefined). ``per_species``: one row per
    known species, then one per unknown truth species (``known`` False: ``events`` its calls,
    ``found`` those matched by a false detection; ratios ``NaN``). ``detections``: the input
    rows plus ``outcome`` (``correct``, ``on_unknown`` or ``false_alarm``). ``events``: the
    truth rows plus ``known`` and ``found`` (unknown: matched by a false detection).
    """

    summary: dict[str, Any]
    per_species: pd.DataFrame
    detections: pd.DataFrame
    events: pd.DataFrame


# ---------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------


def _intervals(df: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    """A checked copy: required columns, float times (finite, >= 0, end >= start), str species."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; it has {list(df.columns)}")
    out = df.reset_index(drop=True).copy()
    numeric = ["start_s", "end_s"] + (["score"] if "score" in columns else [])
    for col in numeric:
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            i = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(f"{what}: row {i}: {col} is not a finite number: {df[col].iloc[i]!r}")
        out[col] = values
    faults = [
        (out["start_s"] < 0, "negative start_s"),
        (out.end_s < out.start_s, "end_s < start_s"),
    ]
    for bad, fault in faults:
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            row = out.iloc[i]
            raise ValueError(
                f"{what}: row {i} ({row.file}): {fault} "
                f"(start_s={row.start_s:g}, end_s={row.end_s:g}; {int(bad.sum())} bad row(s))"
            )
    out["species"] = out["species"].astype(str).str.strip()
    return out


def _check_durations(durations: Mapping[str, float]) -> dict[str, float]:
    """Stem -> seconds, each finite and >= 0, no two keys naming one recording."""
    out: dict[str, float] = {}
    for name, seconds in durations.items():
        stem = recording_stem(name)
        try:
            value = float(seconds)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"durations: {name}: not a duration in seconds: {seconds!r}")
        if stem in out:
            raise ValueError(f"durations: {name}: recording {stem!r} is listed twice")
        out[stem] = value
    return out


def _check_files(files: pd.Series, durations: Mapping[str, float], what: str) -> None:
    missing = sorted(set(files) - set(durations))
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
        )
        raise ValueError(f"{what} in file(s) without a duration: {shown}")


def _known_set(
    known_species: Sequence[str] | None, det: pd.DataFrame, truth: pd.DataFrame
) -> list[str]:
    """The known species, in the given order (sorted truth ∪ detected when not given)."""
    if known_species is None:
        return sorted(set(truth["species"]) | set(det["species"]))
    known = list(dict.fromkeys(str(s).strip() for s in known_species))
    alien = sorted(set(det["species"]) - set(known))
    if alien:
        raise ValueError(f"detections of species not in known_species: {alien[:10]}")
    return known


# ---------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------


def _match_block(
    ds: np.ndarray, de: np.ndarray, es: np.ndarray, ee: np.ndarray, min_overlap: float
) -> np.ndarray:
    """Boolean len(ds) x len(es) matrix of the overlap rule (see the module docstring)."""
    o = np.minimum(de[:, None], ee[None, :]) - np.maximum(ds[:, None], es[None, :])
    shorter = np.minimum((de - ds)[:, None], (ee - es)[None, :])
    by_length = (o > EPS) & (o >= min_overlap * shorter - EPS)
    point_inside = (shorter <= EPS) & (o >= -EPS)  # p in [s, e]  <=>  min(e, p) - max(s, p) >= 0
    return by_length | point_inside


def match_intervals(
    d_start: np.ndarray,
    d_end: np.ndarray,
    e_start: np.ndarray,
    e_end: np.ndarray,
    min_overlap: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) where detection i matches event j (one file), by the overlap rule.

    Detections are taken in start order, in blocks, against only the events that can reach
    them (start <= the block's last end, running max of ends >= the block's first start), so
    memory stays bounded for tens of thousands of detections.
    """
    d_start, d_end, e_start, e_end = (
        np.asarray(a, float) for a in (d_start, d_end, e_start, e_end)
    )
    d_order, e_order = np.argsort(d_start, kind="stable"), np.argsort(e_start, kind="stable")
    ds, de, es, ee = d_start[d_order], d_end[d_order], e_start[e_order], e_end[e_order]
    reach = np.maximum.accumulate(ee) if len(ee) else ee
    rows, cols, a = [], [], 0
    while a < len(ds) and len(es):
        b = min(len(ds), a + 1024)
        while True:
            lo = int(np.searchsorted(reach, ds[a] - EPS, side="left"))
            hi = int(np.searchsorted(es, de[a:b].max() + EPS, side="right"))
            if b - a == 1 or (b - a) * (hi - lo) <= _BLOCK:
                break
            b = a + (b - a) // 2
        i, j = np.nonzero(_match_block(ds[a:b], de[a:b], es[lo:hi], ee[lo:hi], min_overlap))
        rows.append(d_order[i + a])
        cols.append(e_order[j + lo])
        a = b
    if not rows:
        return np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(rows), np.concatenate(cols)


def _all_matches(
    det: pd.DataFrame, truth: pd.DataFrame, min_overlap: float
) -> tuple[np.ndarray, np.ndarray]:
    """Matched (detection row, truth row) pairs over all files."""
    rows, cols = [np.zeros(0, int)], [np.zeros(0, int)]
    events_by_file = truth.groupby("file", sort=False).indices
    for stem, d_idx in det.groupby("stem", sort=False).indices.items():
        e_idx = events_by_file.get(stem)
        if e_idx is None:
            continue
        d, e = det.iloc[d_idx], truth.iloc[e_idx]
        i, j = match_intervals(d.start_s, d.end_s, e.start_s, e.end_s, min_overlap)
        rows.append(d_idx[i])
        cols.append(e_idx[j])
    return np.concatenate(rows), np.concatenate(cols)


def _outcomes(
    det: pd.DataFrame, truth: pd.DataFrame, pairs: tuple[np.ndarray, np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detections with ``outcome``; events with ``found`` (``known`` already set)."""
    pi, pj = pairs
    same = det["species"].to_numpy(object)[pi] == truth["species"].to_numpy(object)[pj]
    correct = np.zeros(len(det), bool)
    correct[pi[same]] = True
    found = np.zeros(len(truth), bool)
    found[pj[same]] = True
    on_unknown_pair = ~truth["known"].to_numpy(bool)[pj] & ~correct[pi]
    on_unknown = np.zeros(len(det), bool)
    on_unknown[pi[on_unknown_pair]] = True
    found[pj[on_unknown_pair]] = True  # an unknown call "found" = drew a false detection
    outcome = np.where(correct, "correct", np.where(on_unknown, "on_unknown", "false_alarm"))
    det = det.assign(outcome=outcome)
    return det, truth.assign(found=found)


# ---------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _f1(precision: float, recall: float, events: int) -> float:
    """2PR/(P+R); 0 for a species with events and no detections; NaN without events."""
    if events == 0 or math.isnan(recall):
        return math.nan
    if math.isnan(precision):
        return 0.0  # events, no detections: recall is 0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _per_species(det: pd.DataFrame, events: pd.DataFrame, known: list[str]) -> pd.DataFrame:
    """PER_SPECIES_COLUMNS: known species in order, then unknown truth species sorted."""
    ev = events.groupby("species")["found"].agg(["size", "sum"])
    dt = det.groupby("species")["outcome"].agg(lambda o: (o == "correct").sum())
    n_det = det.groupby("species").size()
    unknown = sorted(set(events.loc[~events["known"], "species"]))
    unknown_set = set(unknown)
    rows = []
    for sp in known + unknown:
        n_ev, n_found = (
            (int(ev.at[sp, "size"]), int(ev.at[sp, "sum"])) if sp in ev.index else (0, 0)
        )
        n_d, n_c = int(n_det.get(sp, 0)), int(dt.get(sp, 0))
        is_known = sp not in unknown_set
        recall = _ratio(n_found, n_ev) if is_known else math.nan
        precision = _ratio(n_c, n_d) if is_known else math.nan
        f1 = _f1(precision, recall, n_ev) if is_known else math.nan
        rows.append((sp, n_ev, n_found, recall, n_d, n_c, precision, f1, is_known))
    return pd.DataFrame(rows, columns=PER_SPECIES_COLUMNS).astype(
        {"events": int, "found": int, "detections": int, "correct": int, "known": bool}
    )


def _json(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _summary(
    per: pd.DataFrame, det: pd.DataFrame, events: pd.DataFrame, durations: Mapping[str, float]
) -> dict[str, Any]:
    """The summary dict (see :class:`EventScores`); micro sums over known species."""
    kn = per[per["known"]]
    n_events, n_found = int(kn["events"].sum()), int(kn["found"].sum())
    precision, recall = _ratio(int(kn["correct"].sum()), len(det)), _ratio(n_found, n_events)
    f1 = _f1(precision, recall, n_events)
    hours = sum(durations.values()) / 3600
    false_alarms = int((det["outcome"] == "false_alarm").sum())
    on_unknown = int((det["outcome"] == "on_unknown").sum())
    unknown = events[~events["known"]]
    with_events = kn.loc[kn["events"] > 0, "f1"]
    return {
        "n_files": len(durations),
        "hours": hours,
        "n_events": n_events,
        "n_detections": len(det),
        "precision": _json(precision),
        "recall": _json(recall),
        "f1": _json(f1),
        "macro_f1": _json(float(with_events.mean()) if len(with_events) else math.nan),
        "false_alarms": false_alarms,
        "false_alarms_per_hour": _json(_ratio(false_alarms, hours)),
        "n_unknown_events": len(unknown),
        "detections_on_unknown": on_unknown,
        "detections_per_unknown_call": _json(_ratio(on_unknown, len(unknown))),
        "unknown_calls_detected_fraction": _json(_ratio(int(unknown["found"].sum()), len(unknown))),
    }


# ---------------------------------------------------------------------------------------
# Window cmAP
# ---------------------------------------------------------------------------------------


def _n_windows(seconds: float, window_s: float) -> int:
    """Full windows, plus the last partial one when it holds >= window_s / 2 (or is all)."""
    full = int(math.floor(seconds / window_s + EPS))
    rest = seconds - full * window_s
    return full + int(rest >= window_s / 2 - EPS or (full == 0 and rest > EPS))


def _window_hits(
    files: pd.Series,
    start: np.ndarray,
    end: np.ndarray,
    grid: tuple[dict[str, int], dict[str, int]],
    window_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(row, global window) pairs: every kept window each interval overlaps.

    Window k = [k w, (k + 1) w) is overlapped when o > 0, i.e. k in
    [floor(start / w), ceil(end / w) - 1]; a point p lies in window floor(p / w).
    """
    first = np.floor((start + EPS) / window_s).astype(int)
    last = np.ceil((end - EPS) / window_s).astype(int) - 1
    point = end - start <= EPS
    last[point] = first[point]
    offset, count = grid
    last = np.minimum(last, files.map(count).to_numpy(int) - 1)
    n = np.maximum(last - first + 1, 0)
    rows = np.repeat(np.arange(len(first)), n)
    k = first[rows] + np.arange(int(n.sum())) - (np.cumsum(n) - n)[rows]
    return rows, files.map(offset).to_numpy(int)[rows] + k


def _window_matrices(
    det: pd.DataFrame,
    events: pd.DataFrame,
    durations: Mapping[str, float],
    known: list[str],
    window_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Windows x known species: multi-hot truth and max detection score (0 when none)."""
    stems = list(durations)
    n = np.array([_n_windows(durations[s], window_s) for s in stems], dtype=int)
    grid = dict(zip(stems, (np.cumsum(n) - n).tolist())), dict(zip(stems, n.tolist()))
    column = {sp: c for c, sp in enumerate(known)}
    truth = np.zeros((int(n.sum()), len(known)), bool)
    ev = events[events["known"]]
    r, w = _window_hits(ev["file"], ev.start_s.to_numpy(), ev.end_s.to_numpy(), grid, window_s)
    truth[w, ev["species"].map(column).to_numpy(int)[r]] = True
    scores = np.zeros(truth.shape)
    r, w = _window_hits(det["stem"], det.start_s.to_numpy(), det.end_s.to_numpy(), grid, window_s)
    cols = det["species"].map(column).to_numpy(int)[r]
    np.maximum.at(scores, (w, cols), det["score"].to_numpy(float)[r])
    return truth, scores


def window_cmap(truth: np.ndarray, scores: np.ndarray) -> tuple[float | None, int]:
    """BirdSet's cmAP of a windows x species matrix pair, and how many species it averages.

    cmAP = mean over species with >= 1 positive window of
    ``average_precision_score(truth[:, s], scores[:, s])``; ``None`` when there is none —
    :func:`jaxaudio.evaluation.multilabel.class_mean_ap` of the window matrices.
    """
    return class_mean_ap(truth, scores)


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------


def _prepare(
    detections: pd.DataFrame,
    truth: pd.DataFrame,
    durations: Mapping[str, float],
    known_species: Sequence[str] | None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float], list[str]]:
    """Checked inputs; detections gain ``stem``, truth gains ``known``."""
    det = _intervals(detections, DETECTION_COLUMNS, "detections")
    det["stem"] = [Path(str(f)).stem for f in det["file"]]
    ev = _intervals(truth, TRUTH_COLUMNS, "truth")
    ev["file"] = ev["file"].map(recording_stem)
    seconds = _check_durations(durations)
    _check_files(det["stem"], seconds, "detections")
    _check_files(ev["file"], seconds, "truth events")
    known = _known_set(known_species, det, ev)
    ev["known"] = ev["species"].isin(set(known)).to_numpy(bool)
    return det, ev, seconds, known


def score_detections(
    detections: pd.DataFrame,
    truth: pd.DataFrame,
    durations: Mapping[str, float],
    known_species: Sequence[str] | None = None,
    min_overlap: float = 0.5,
    window_s: float = 5.0,
) -> EventScores:
    """Score detections against truth by the rules of the module docstring."""
    if not 0 <= min_overlap <= 1:
        raise ValueError(f"min_overlap must lie in [0, 1], got {min_overlap}")
    if not window_s > 0:
        raise ValueError(f"window_s must be > 0, got {window_s}")
    det, ev, seconds, known = _prepare(detections, truth, durations, known_species)
    det, ev = _outcomes(det, ev, _all_matches(det, ev, min_overlap))
    per = _per_species(det, ev, known)
    summary = _summary(per, det, ev, seconds)
    cmap, n_cmap = window_cmap(*_window_matrices(det, ev, seconds, known, window_s))
    summary.update(window_cmap=cmap, n_cmap_species=n_cmap)
    summary.update(min_overlap=float(min_overlap), window_s=float(window_s))
    return EventScores(summary, per, det.drop(columns="stem"), ev)


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def format_scores(scores: EventScores) -> str:
    """A short human-readable block: the summary, then one line per species that has an
    event or a detection (undefined ratios shown as ``-``)."""
    s = scores.summary
    lines = [
        f"{s['n_files']} file(s), {s['hours']:.3f} h of audio; {s['n_events']} known-species "
        f"event(s), {s['n_detections']} detection(s); min_overlap {s['min_overlap']:g}",
        f"precision {_fmt(s['precision'])}  recall {_fmt(s['recall'])}  F1 {_fmt(s['f1'])}  "
        f"macro-F1 {_fmt(s['macro_f1'])}",
        f"false alarms {s['false_alarms']} ({_fmt(s['false_alarms_per_hour'], '.2f')} per hour)",
        f"unknown-species calls {s['n_unknown_events']}: {s['detections_on_unknown']} "
        f"detection(s) on them ({_fmt(s['detections_per_unknown_call'], '.2f')} per call, "
        f"{_fmt(s['unknown_calls_detected_fraction'], '.1%')} of calls drew one)",
        f"window cmAP ({s['window_s']:g} s windows, {s['n_cmap_species']} species) "
        f"{_fmt(s['window_cmap'])}",
    ]
    per = scores.per_species
    idle = (per["events"] == 0) & (per["detections"] == 0)
    per = per[~idle].copy()
    for col in ("recall", "precision", "f1"):
        per[col] = [_fmt(x) for x in per[col]]
    if len(per):
        lines += ["", per.to_string(index=False)]
    if idle.any():
        lines.append(f"({int(idle.sum())} known species with no event and no detection not shown)")
    return "\n".join(lines)
