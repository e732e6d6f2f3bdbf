"""Decoding recordings into mono float32 signals at the working sample rate.

Why one module
--------------
Training, evaluation and inference must see a recording exactly the same way: a model
trained on one decoder's output and served another's (different resampler, different
channel mix, a silently shortened file) is quietly wrong. So every recording, whatever the
step, goes through :func:`load_audio`, and every reason it cannot be used is an
:class:`AudioError` whose message starts with the file's path and names the fault in plain
words (the features step collects these per file and reports them all at once).

Steps
-----
1. **Check the file**: it exists, is a regular file, is not empty (0 bytes).
2. **Open with libsndfile** (``soundfile``; the bundled libsndfile 1.2.2 reads WAV 8/16/24/32-bit
   integer and 32/64-bit float, FLAC, OGG/Vorbis, MP3 and AIFF — :data:`AUDIO_EXTENSIONS`).
   A header libsndfile cannot parse is "cannot decode: <libsndfile's message>", or
   "unsupported format '.xyz'" when the extension is not an audio one. A file with another
   extension that libsndfile *can* read (``.au``, ``.caf``, ...) is accepted.
3. **Frames the header promises**. For WAV (PCM, float, A-/µ-law) and AIFF the frame count is
   read from the header itself (:func:`_header_frames`), because libsndfile silently shrinks
   the count of a truncated WAV/AIFF to the frames actually present. For other formats it is
   libsndfile's count (FLAC STREAMINFO, MP3 Xing/LAME header, Ogg last granule).
4. **Check the segment** (``start``/``end`` in seconds): in order, not negative, ``end`` at
   most 1 ms past the file's duration; then **read only that frame range**
   (``sf.read(start=, stop=)``).
5. **Check what came back**: fewer frames than the header promises for the range is
   "decoded N of M frames: file is truncated" — a truncated WAV/AIFF comes back short, a
   truncated FLAC makes libsndfile raise ("flac decoder lost sync") and is reported the
   same way with the count decoded before the error, a truncated MP3 comes back short. (A
   truncated Ogg cannot be told from a shorter one: Ogg has no length in its header.) Then
   NaN/inf samples (float files) and an empty or all-silent signal are faults.
6. **Mono** by averaging the channels; **resample** to ``sample_rate`` with
   ``librosa.resample(res_type="soxr_hq")``.

The caller then pads or crops to the clip length (:func:`fit_length`).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import soundfile as sf

from jaxaudio.data.files import AUDIO_EXTENSIONS, AudioError, path_fault

#: A decoded signal whose peak ``|amplitude|`` (full scale = 1) is below this is "silent":
#: 1e-8 is -160 dBFS, under the smallest non-zero step of 16- and 24-bit audio (3e-5,
#: 1.2e-7), so only digital silence (or 32-bit/float values indistinguishable from it) counts.
SILENCE_THRESHOLD = 1e-8

#: ``end`` may be this many seconds past the file's duration (rounding in annotations).
END_TOLERANCE_S = 1e-3

#: MP3 frame counts are exact with a Xing/LAME header but estimated without one; a
#: shortfall of up to two MPEG frames (2 x 1152 samples) is not reported as truncation.
MPEG_SLACK_FRAMES = 2 * 1152

# WAV format tags whose block_align is the size of one frame (PCM, IEEE float, A-law, µ-law).
_WAV_FRAME_TAGS = (0x0001, 0x0003, 0x0006, 0x0007)


def _fault(path: str | Path, message: str) -> AudioError:
    return AudioError(f"{path}: {message}")


def sndfile_message(exc: BaseException) -> str:
    """libsndfile's own words, without the "Error opening '<path>':" prefix."""
    msg = getattr(exc, "error_string", None) or str(exc)
    for prefix in ("Error : ", "Error: "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg.strip() or type(exc).__name__


def _check_file(path: str | Path) -> None:
    fault = path_fault(path)
    if fault is not None:
        raise _fault(path, fault)
    if Path(path).stat().st_size == 0:
        raise _fault(path, "empty file (0 bytes)")


def _header_frames(path: str | Path) -> tuple[int, int] | None:
    """``(frames the header announces, frames the data bytes could hold)`` for WAV and AIFF.

    ``None`` for other formats, for compressed WAV codecs (no fixed frame size), for a WAV
    whose data size is the streaming placeholder ``0xFFFFFFFF`` (libsndfile then reads to
    the end of the file, as it should) and for any header this small parser does not follow
    (libsndfile's count is used then). For AIFF the second number is ``-1`` (not computed).
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(12)
            if len(head) < 12:
                return None
            if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                wav, order = True, "<"
            elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                wav, order = False, ">"
            else:
                return None
            pos, block_align, tag = 12, 0, None
            while pos + 8 <= size:
                f.seek(pos)
                cid, csize = struct.unpack(order + "4sI", f.read(8))
                if wav and cid == b"fmt ":
                    fmt = f.read(min(csize, 26))
                    tag, block_align = (
                        struct.unpack("<H", fmt[:2])[0],
                        struct.unpack("<H", fmt[12:14])[0],
                    )
                    if (
                        tag == 0xFFFE and len(fmt) >= 26
                    ):  # WAVE_FORMAT_EXTENSIBLE: tag in the sub-format GUID
                        tag = struct.unpack("<H", fmt[24:26])[0]
                elif wav and cid == b"data":
                    if tag not in _WAV_FRAME_TAGS or block_align == 0 or csize == 0xFFFFFFFF:
                        return None
                    return csize // block_align, (size - pos - 8) // block_align
                elif not wav and cid == b"COMM":
                    return struct.unpack(">hI", f.read(6))[1], -1
                pos += 8 + csize + (csize & 1)  # chunks are padded to an even size
    except (OSError, struct.error):
        return None
    return None


def _open(path: str | Path) -> tuple[Any, int]:
    """libsndfile's info and the number of frames the header promises; errors name the fault."""
    _check_file(path)
    try:
        info = sf.info(str(path))
    except Exception as exc:  # libsndfile raises LibsndfileError, RuntimeError, TypeError, ...
        msg = sndfile_message(exc)
        ext = Path(path).suffix.lower()
        if ext not in AUDIO_EXTENSIONS:
            shown = f"'{ext}'" if ext else "(no file extension)"
            raise _fault(
                path,
                f"unsupported format {shown}: cannot decode ({msg}); audio files must be {', '.join(AUDIO_EXTENSIONS)}",
            ) from exc
        raise _fault(path, f"cannot decode: {msg}") from exc
    header = _header_frames(path)
    promised = info.frames if header is None else header[0]
    if promised == 0:
        if header is not None and header[1] > 0:
            raise _fault(
                path,
                f"no samples: the header announces 0 frames although {header[1]} frames of data follow "
                "(a recording whose header was never completed?)",
            )
        raise _fault(path, "file has no samples (valid header, 0 frames)")
    return info, promised


def audio_info(path: str | Path) -> dict[str, Any]:
    """What the header says, without decoding: ``samplerate, channels, frames, duration,
    format, subtype`` (``frames`` as the header announces them).

    Raises :class:`AudioError` for every fault visible without decoding: missing or empty
    file, unreadable header, no samples, and a WAV/AIFF shorter than its header announces.
    Truncated FLAC/MP3, NaN/inf and silence are only found by :func:`load_audio`.
    """
    info, promised = _open(path)
    if promised > info.frames:
        raise _fault(
            path,
            f"holds {info.frames} of the {promised} frames its header announces: file is truncated",
        )
    return {
        "samplerate": int(info.samplerate),
        "channels": int(info.channels),
        "frames": int(promised),
        "duration": promised / info.samplerate,
        "format": info.format,
        "subtype": info.subtype,
    }


def _frame_range(
    path: str | Path, start: float | None, end: float | None, sr: int, frames: int
) -> tuple[int, int]:
    """``[first, last)`` frames of the segment ``start``..``end`` seconds, checked."""
    duration = frames / sr
    if start is None and end is None:
        return 0, frames
    for name, value in (("start", start), ("end", end)):
        if value is not None and not np.isfinite(value):
            raise _fault(path, f"{name} {value} s is not a finite number")
        if value is not None and value < 0:
            raise _fault(path, f"{name} {value} s is negative")
    if start is not None and end is not None and start >= end:
        raise _fault(
            path, f"start {start} s is not before end {end} s (the file is {duration:.3f} s long)"
        )
    if end is not None and end > duration + END_TOLERANCE_S:
        raise _fault(path, f"end {end} s is past the end of the file ({duration:.3f} s)")
    if start is not None and start >= duration:
        raise _fault(path, f"start {start} s is at or past the end of the file ({duration:.3f} s)")
    first = int(round((start or 0.0) * sr))
    last = frames if end is None else min(int(round(end * sr)), frames)
    if last <= first:
        raise _fault(path, f"segment {start or 0.0}..{end} s holds no sample at {sr} Hz")
    return first, last


def is_truncated(decoded: int, promised: int, fmt: str) -> bool:
    """Whether ``decoded`` frames fall short of the ``promised`` ones (``fmt``: libsndfile's
    format name; an MP3 may fall :data:`MPEG_SLACK_FRAMES` short, its count is an estimate)."""
    return decoded < promised - (MPEG_SLACK_FRAMES if fmt == "MP3" else 0)


#: Frames read at a time, after libsndfile failed, to find how far a file decodes.
SALVAGE_FRAMES = 1024


def decodable_frames(path: str | Path, first: int, limit: int, channels: int = 1) -> np.ndarray:
    """The ``(frames, channels)`` float32 frames from ``first`` on (at most ``limit``) that
    decode before libsndfile fails, read :data:`SALVAGE_FRAMES` at a time in a fresh handle
    (error path only: it says how far a damaged file decodes, and keeps what came before)."""
    parts = [np.zeros((0, channels), np.float32)]
    n = 0
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(first)
            while n < limit:
                part = f.read(min(SALVAGE_FRAMES, limit - n), dtype="float32", always_2d=True)
                if not len(part):
                    break
                parts.append(part)
                n += len(part)
    except Exception:  # noqa: BLE001 - the fault itself; what came before it is kept
        pass
    return np.concatenate(parts)


def load_audio(
    path: str | Path, sample_rate: int, start: float | None = None, end: float | None = None
) -> np.ndarray:
    """Decode ``path`` (or its ``start``..``end`` seconds) to mono float32 at ``sample_rate`` Hz.

    Every fault is an :class:`AudioError` naming the file (see the module docstring).
    """
    info, promised = _open(path)
    sr = int(info.samplerate)
    first, last = _frame_range(path, start, end, sr, promised)
    want = last - first
    segment = "" if start is None and end is None else f" (segment {first / sr:g}..{last / sr:g} s)"
    try:
        data, _ = sf.read(str(path), start=first, stop=last, dtype="float32", always_2d=True)
    except Exception as exc:
        got = len(decodable_frames(path, first, want, info.channels))
        raise _fault(
            path,
            f"decoded {got} of {want} frames{segment}: file is truncated or its audio data is corrupt "
            f"(libsndfile: {sndfile_message(exc)})",
        ) from exc
    if is_truncated(data.shape[0], want, info.format):
        raise _fault(path, f"decoded {data.shape[0]} of {want} frames{segment}: file is truncated")
    if data.shape[0] == 0:
        raise _fault(path, f"file has no samples{segment}")
    finite = np.isfinite(data)
    if not finite.all():
        raise _fault(
            path,
            f"contains NaN or infinite samples ({int(data.size - finite.sum())} of {data.size}){segment}",
        )
    y = data.mean(axis=1)
    peak = float(np.max(np.abs(y)))
    if peak < SILENCE_THRESHOLD:
        raise _fault(
            path,
            f"all samples are silent (peak |amplitude| {peak:.3g} < {SILENCE_THRESHOLD:g}){segment}",
        )
    if sr != sample_rate:
        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    return y.astype(np.float32, copy=False)


def fit_length(y: np.ndarray, n_samples: int, crop: str = "center") -> np.ndarray:
    """Zero-pad (at the end) or crop ``y`` to exactly ``n_samples``.

    ``crop="center"`` keeps the middle of a long recording (calls in short annotated clips
    are usually centred); ``crop="start"`` keeps the beginning.
    """
    n = y.shape[0]
    if n < n_samples:
        return np.pad(y, (0, n_samples - n))
    if n == n_samples:
        return y
    if crop == "center":
        start = (n - n_samples) // 2
    elif crop == "start":
        start = 0
    else:
        raise ValueError(f"unknown crop mode {crop!r}; use 'center' or 'start'")
    return y[start : start + n_samples]
