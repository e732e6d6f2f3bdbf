"""Audio files as the file system sees them, before any decoding: which names count as
audio, why a path cannot be opened, which files a list of files and folders names.

Only the standard library: the workflow checks a config's paths while Snakemake builds its
DAG, without loading libsndfile or librosa (:mod:`jaxaudio.data.audio` decodes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")


class AudioError(ValueError):
    """A recording that cannot be used; the message starts with the file's path."""


def path_fault(path: str | Path) -> str | None:
    """Why ``path`` cannot be opened as a recording at all, in plain words, or ``None``.

    Only what the file system says (missing, broken link, a folder, a device or pipe), not
    the contents: the manifest step reports these for every listed file at once, with the
    same words as :func:`load_audio`, while faults in the contents (an empty or undecodable
    file) are left to the features step, where ``data.on_bad_file`` decides about them.
    """
    p = Path(path)
    if not p.exists():
        return "file does not exist" + (" (broken link)" if p.is_symlink() else "")
    if p.is_dir():
        return "is a folder, not an audio file"
    if not p.is_file():
        return "is not a regular file"
    return None


def audio_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files given directly plus the audio files found under folders given (sorted), each once."""
    out: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(
                p for p in item.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
            )
            if not found:
                raise AudioError(
                    f"{item}: folder holds no audio files ({', '.join(AUDIO_EXTENSIONS)})"
                )
            out.extend(found)
        elif item.is_file():
            out.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    seen: set[Path] = set()
    return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]
