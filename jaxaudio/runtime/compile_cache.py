"""JAX's persistent compilation cache, shared by every job of a workflow run.

Each Snakemake job is its own process, and XLA compiles the same programs in each: the
train step of every seed of an experiment, the evaluation of every run of a model. On this
project's 2-core CPU a birdsounds-dev CNN's train step takes ~6 s to compile (a tenth of a
120-epoch job's time goes to start-up). With ``jax_compilation_cache_dir`` set, the first
job writes each compiled executable to that directory and a later job with the same program
(same shapes, same flags, same jax/jaxlib) loads it instead of compiling: the measured first
step fell from 6.3 s to 2.1 s (the rest is tracing and the step itself).

Why these settings:

* **Safe between concurrent jobs.** With ``jax_compilation_cache_max_size`` set (anything but
  -1) JAX's LRU cache takes a file lock (``filelock``) around every read and write, so a job
  never reads an entry another job is still writing; without a size limit it takes no lock.
  :data:`MAX_BYTES` caps the folder; the least recently used entries go first.
* **Only what is worth it.** Programs that compile in under :data:`MIN_COMPILE_SECONDS` are
  not written: reading a small entry costs about what compiling it does.
* **The user's own settings win.** A ``JAX_COMPILATION_CACHE_DIR`` (or either limit) already
  in the environment is left as it is, as with ``XLA_FLAGS`` (:mod:`jaxaudio.runtime.xla_flags`).

The cache key covers the program, its shapes, the XLA flags, the backend and the jax/jaxlib
versions, so a stale entry is never used; a different CPU on a shared cluster file system
makes XLA refuse the entry and compile again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

#: Upper bound of the cache folder (bytes): 2 GiB holds a few hundred compiled programs.
MAX_BYTES = 2 * 1024**3
#: Programs compiled faster than this (seconds) are not written to the cache.
MIN_COMPILE_SECONDS = 0.5

DIR_VAR = "JAX_COMPILATION_CACHE_DIR"
MAX_SIZE_VAR = "JAX_COMPILATION_CACHE_MAX_SIZE"
MIN_TIME_VAR = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"


def cache_directory(setting: bool | str | None, default: str | Path) -> str | None:
    """The cache folder config key ``compile_cache`` names: ``true`` the workflow's ``default``
    (under the results folder), a path that path, ``false``/``null`` none."""
    if setting is True:
        return str(default)
    if not setting:
        return None
    return str(setting)


def cache_env(directory: str | Path | None, current: Mapping[str, str]) -> dict[str, str]:
    """The environment variables that turn the cache on for ``directory`` (JAX reads them at
    import), leaving out every one ``current`` (the environment) already sets; ``{}`` when
    ``directory`` is ``None``."""
    if directory is None:
        return {}
    env = {
        DIR_VAR: str(directory),
        MAX_SIZE_VAR: str(MAX_BYTES),
        MIN_TIME_VAR: str(MIN_COMPILE_SECONDS),
    }
    return {k: v for k, v in env.items() if k not in current}
