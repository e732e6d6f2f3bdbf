"""One workflow run at a time per results folder, whichever clone or directory it starts from.

Snakemake locks its *working directory* (``.snakemake/locks``), so two clones whose configs
point ``results:`` at the same folder both run, and each deletes the outputs it is about
to rebuild — the other run's data. The workflow therefore takes an exclusive ``flock`` on
``<results>/.jaxaudio.lock`` before its first job (Snakemake's ``onstart``) and holds it
until the Snakemake process ends; a second run is refused with a message naming the
first (host, pid, directory, command, start time) before it touches anything.

``flock`` is released by the kernel when the holding process exits, however it exits, so a
killed run leaves no stale lock behind (unlike a lock *file*, which would need
``--unlock``). The file descriptor is not inherited by jobs (Python opens files
non-inheritable), so a job left running does not keep the folder locked. On NFS, Linux
maps ``flock`` to POSIX byte-range locks, which lockd/NFSv4 honour across machines.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

LOCK_NAME = ".jaxaudio.lock"

# Descriptors of the locks this process holds, by resolved lock path (held until exit).
_held: dict[str, int] = {}


class ResultsLocked(RuntimeError):
    """The results folder is in use by another run; the message names that run."""


def _describe(holder: dict) -> str:
    if not holder:
        return "a run that has not yet written who it is"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    return (
        f"pid {holder.get('pid')} on {holder.get('host')}, started {started} in {holder.get('cwd')}: "
        f"{holder.get('command')}"
    )


def lock_results(results: str | Path) -> Path:
    """Take the results folder's lock for the life of this process, or raise :class:`ResultsLocked`.

    Creates the folder if needed. Taking a lock this process already holds is a no-op.
    Returns the lock file's path.
    """
    folder = Path(results)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    key = str(path.resolve())
    if key in _held:
        return path
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = json.loads(os.read(fd, 1 << 16) or b"{}")
        except ValueError:
            holder = {}
        os.close(fd)
        raise ResultsLocked(
            f"results folder {folder.resolve()} is in use by another jaxaudio run ({_describe(holder)}); wait for it to "
            f"end, or give this run its own `results:` folder"
        ) from None
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "cwd": os.getcwd(),
        "command": " ".join(sys.argv),
        "started": time.time(),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me).encode(), 0)
    _held[key] = fd
    return path


def release_results(results: str | Path) -> None:
    """Give the lock back before the process ends (tests, long-lived callers)."""
    fd = _held.pop(str((Path(results) / LOCK_NAME).resolve()), None)
    if fd is not None:
        os.close(fd)  # closing the last descriptor releases the flock
