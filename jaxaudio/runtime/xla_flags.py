"""XLA flags a training process sets before JAX starts its backend.

XLA reads ``XLA_FLAGS`` once, when the first computation (or ``jax.devices()``) starts the
backend, so :func:`set_training_flags` must run before that; importing ``jax`` is fine.

* **Deterministic GPU kernels.** On GPUs, XLA accumulates some reductions and scatter-adds
  (the gradient of the batch gather, BatchNorm statistics) with atomics, whose order varies
  from run to run. Two identical runs then drift apart by float32 rounding (measured on an
  H200, jax 0.11.2: validation losses of the toy task in ``tests/unit/training/test_loop.py`` differed
  by up to 3e-5 relative after 12 epochs), so a run resumed from a checkpoint would not
  repeat an uninterrupted one. ``--xla_gpu_deterministic_ops=true`` picks deterministic
  kernels; it cost 7 % of the seed CNN's training speed there (82,027 against 88,243
  samples/s, benchmarks/README.md). The CPU backend is deterministic and ignores the flag.
  A user who prefers speed sets ``--xla_gpu_deterministic_ops=false`` in ``XLA_FLAGS``.
* **One thread pool per single-threaded job.** A Snakemake job given one thread keeps XLA's
  CPU backend to one thread, so parallel jobs do not oversubscribe the cores.
"""

from __future__ import annotations

import os

DETERMINISTIC = "--xla_gpu_deterministic_ops=true"
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def training_flags(current: str | None, threads: int | None = None) -> str:
    """``XLA_FLAGS`` for a training process, given the user's ``current`` value.

    Flags the user set win: each of ours is added only when ``current`` does not set that
    flag already, whatever its value.
    """
    flags = current.split() if current else []

    def unset(name: str) -> bool:
        return not any(f.lstrip("-").split("=")[0] == name for f in flags)

    if (
        threads == 1
        and unset("xla_cpu_multi_thread_eigen")
        and unset("intra_op_parallelism_threads")
    ):
        flags += ONE_THREAD.split()
    if unset("xla_gpu_deterministic_ops"):
        flags.append(DETERMINISTIC)
    return " ".join(flags)


def set_training_flags(threads: int | None = None) -> None:
    """Set ``os.environ["XLA_FLAGS"]`` to :func:`training_flags` of its current value."""
    os.environ["XLA_FLAGS"] = training_flags(os.environ.get("XLA_FLAGS"), threads)
