"""Content fingerprints of a step's inputs, and reuse of a step's outputs when they match.

Snakemake reruns a job when an input is newer than its outputs, so a byte-identical rebuild
of ``features.npy`` (a forced rerun, a changed setting that does not change the features)
reruns training and the baselines. Whether earlier work can be kept must not depend on a
modification time: training resumes its checkpoints and the baselines reuse their stored
outputs only when the *content* of their inputs and their settings hash the same.
Stored state lives under ``<results>/checkpoints``, outside the declared outputs, which
Snakemake deletes before a job runs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read in blocks; ~1 GB/s, so cheap beside training)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def array_digest(a: np.ndarray | None) -> str | None:
    """SHA-256 of an array's dtype, shape and values (``None`` stays ``None``)."""
    if a is None:
        return None
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def fingerprint(**parts: Any) -> str:
    """A short hash of JSON-able ``parts`` (settings, digests)."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _copy(src: Path, dst: Path) -> None:
    if dst.is_dir():
        shutil.rmtree(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)


def cached_outputs(
    cache_dir: str | Path, key: str, outputs: Mapping[str, str | Path], run: Callable[[], None]
) -> bool:
    """Copy ``outputs`` back from ``cache_dir`` when they were stored under ``key``; else ``run()``.

    ``run`` writes every path in ``outputs`` (files or folders, by name); afterwards a copy
    is stored under ``cache_dir`` with ``key``, replacing any older one, through a
    ``.partial`` folder renamed at the end (an interrupted store leaves nothing that
    matches). Returns True when the outputs were reused.
    """
    cache_dir = Path(cache_dir)
    stamp, store = cache_dir / "fingerprint.json", cache_dir / "outputs"
    if (
        stamp.is_file()
        and json.loads(stamp.read_text()).get("key") == key
        and all((store / name).exists() for name in outputs)
    ):
        for name, dst in outputs.items():
            _copy(store / name, Path(dst))
        return True
    run()
    partial = cache_dir.with_name(cache_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for name, src in outputs.items():
        _copy(Path(src), partial / "outputs" / name)
    (partial / "fingerprint.json").write_text(json.dumps({"key": key}) + "\n")
    shutil.rmtree(cache_dir, ignore_errors=True)
    partial.rename(cache_dir)
    return False
