"""Peak RSS of training at 10k and 100k clips: streamed from the cache vs held on the device.

    .venv/bin/python -m benchmarks.run --only memory         # via the harness (JSON + table)

Each measurement is a fresh child process (``python -m benchmarks.memory child ...``) that
runs :func:`jaxaudio.training.loop.fit` for one epoch on a synthetic feature cache of N clips of
``(3, 40, 130)`` float32 (62.4 KB each: 0.62 GB at 10k, 6.2 GB at 100k) and reports its own
peak resident set (``VmHWM`` of ``/proc/self/status``; not ``getrusage``'s ``ru_maxrss``,
which Linux carries over ``execve`` from the forking parent). The training split is handed over
as :class:`jaxaudio.features.streaming.NpyRows`, exactly as the workflow's train rule does; the
``device_memory_mb`` setting picks streaming (budget 1 MiB) or the resident path (a budget
larger than the split). The model is the seed CNN with narrow channels (8-16-32) so an epoch
over 100k clips takes minutes, not an hour; its activations are part of the figure.

The reference is the same run at 10k clips: streaming is on target when its peak RSS at 100k
is within the streaming buffers (a few batches) of its peak at 10k, while the resident path
grows by the split's size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SHAPE = (3, 40, 130)
N_CLASSES = 90
N_VAL = 512
BATCH = 128
GOAL = 1.1  # streamed peak RSS at the largest size / at the smallest: flat up to the buffers


def write_cache(path: Path, n: int, seed: int = 0) -> None:
    """A ``(n + N_VAL, *SHAPE)`` float32 ``.npy`` written block by block (no memory map)."""
    rows = n + N_VAL
    block = np.random.default_rng(seed).normal(size=(2048, *SHAPE)).astype(np.float32)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (rows, *SHAPE)}
        )
        for start in range(0, rows, len(block)):
            f.write(block[: min(len(block), rows - start)].tobytes())


def peak_rss_mib() -> float:
    """This process's peak resident set (``VmHWM``, kB) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def child(features: Path, n: int, mode: str) -> dict[str, Any]:
    """Runs in the measured process: one epoch of training, then its peak RSS."""
    import jax

    from jaxaudio.features.streaming import NpyRows
    from jaxaudio.training.loop import TrainData, fit
    from jaxaudio.training.settings import TrainSettings

    y = np.random.default_rng(1).integers(0, N_CLASSES, n + N_VAL)
    y[:N_CLASSES] = np.arange(N_CLASSES)
    split_mib = n * int(np.prod(SHAPE)) * 4 / 2**20
    s = TrainSettings(
        arch="cnn",
        model={"channels": [8, 16, 32]},
        epochs=1,
        batch_size=BATCH,
        lr=1e-3,
        patience=5,
        device_memory_mb=1.0 if mode == "stream" else split_mib * 2,
    )
    t0 = time.perf_counter()
    data = TrainData(
        NpyRows(features, np.arange(n)),
        y[:n],
        NpyRows(features, np.arange(n, n + N_VAL)),
        y[n:],
        N_CLASSES,
    )
    result = fit(s, data)
    seconds = time.perf_counter() - t0
    return {
        "mode": mode,
        "clips": n,
        "split_mib": split_mib,
        "peak_rss_mib": peak_rss_mib(),
        "seconds": seconds,
        "samples_per_s": result.summary["samples_per_second_this_run"],
        "backend": jax.default_backend(),
    }


def measure(features: Path, n: int, mode: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "child", str(features), str(n), mode],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if out.returncode:
        raise RuntimeError(
            f"memory benchmark child ({mode}, {n} clips) failed:\n{out.stderr[-3000:]}"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_memory(sizes: tuple[int, ...], workdir: Path, log=print) -> dict[str, Any]:
    """Peak RSS for every size streamed, and the smallest size resident (the reference)."""
    workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in sizes:
        path = workdir / f"features_{n}.npy"
        log(
            f"memory: writing a synthetic cache of {n} + {N_VAL} clips ({(n + N_VAL) * np.prod(SHAPE) * 4 / 1e9:.2f} GB)"
        )
        write_cache(path, n)
        modes = ("resident", "stream") if n == sizes[0] else ("stream",)
        for mode in modes:
            r = measure(path, n, mode)
            log(
                f"memory: {mode:8s} {n:>7d} clips  peak RSS {r['peak_rss_mib']:.0f} MiB  ({r['seconds']:.0f} s, {r['samples_per_s']:.0f} samples/s)"
            )
            runs.append(r)
        path.unlink()
    stream = [r for r in runs if r["mode"] == "stream"]
    return {
        "runs": runs,
        "batch": BATCH,
        "shape": list(SHAPE),
        "model": "cnn channels 8-16-32",
        "val_clips": N_VAL,
        "reference": stream[0],
        "largest": stream[-1],
        "ratio": stream[-1]["peak_rss_mib"] / stream[0]["peak_rss_mib"],
        "goal": GOAL,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("child", help="(internal) one measured training run")
    c.add_argument("features", type=Path)
    c.add_argument("n", type=int)
    c.add_argument("mode", choices=("stream", "resident"))
    args = p.parse_args(argv)
    print(json.dumps(child(args.features, args.n, args.mode)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
