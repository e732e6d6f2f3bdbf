"""Where a training step's time goes: XLA ops of the compiled epoch, from a profiler trace.

    .venv/bin/python -m benchmarks.profile_step [--arch cnn] [--samples 256] [--top 25]

Runs the epoch program ``jaxaudio.training.epochs.epoch_program`` (as the benchmark and the train rule
do) under ``jax.profiler`` with a Perfetto trace, sums each XLA op's (fusion's) time over
the epoch and prints milliseconds per step, largest first, with the op's output shape and
the JAX operation it came from (``jvp()`` = forward, ``transpose(jvp())`` = backward). A
fusion that holds a convolution is counted as that convolution (forward or input
gradient), whatever else XLA fused into it. The totals by group say where the time goes.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from benchmarks.run import ARCHS, flax_training, synthetic_training_data  # noqa: E402


def op_metadata(hlo: str) -> dict[str, tuple[str, str]]:
    """``{op name: (output shape, JAX op_name)}`` from the compiled HLO text.

    A fusion that contains a convolution is described by that convolution's op_name (XLA's
    CPU backend fuses e.g. the max-pool gradient into the next block's input-gradient
    convolution, and names the fusion after the pooling op at its root).
    """
    bodies: dict[str, list[str]] = {}
    current = None
    for line in hlo.splitlines():
        head = re.match(r"%?([\w.\-]+) \(.*\) -> .* \{$", line)
        if head:
            current = head.group(1)
            bodies[current] = []
        elif line.startswith("}"):
            current = None
        elif current:
            bodies[current].append(line)
    meta = {}
    for line in hlo.splitlines():
        m = re.match(r'\s*(?:ROOT )?%?([\w.\-]+) = (\S+) .*?op_name="([^"]+)"', line)
        if not m:
            continue
        op_name = m.group(3)
        called = re.search(r"calls=%?([\w.\-]+)", line)
        for inner in bodies.get(called.group(1), []) if called else []:
            conv = re.search(r'convolution\(.*?op_name="([^"]+)"', inner)
            if conv:
                op_name = conv.group(1)
                break
        meta[m.group(1)] = (m.group(2).split("{")[0], re.sub(r"^.*?/closed_call/", "", op_name))
    return meta


def group(op_name: str) -> str:
    """A coarse group for an op, from the JAX operation it came from."""
    backward = op_name.startswith("transpose(")
    if "conv_general_dilated" in op_name:
        return "convolution, input gradient" if backward else "convolution, forward"
    if backward and any(k in op_name for k in ("concatenate", "dot_general", "slice", "pad")):
        return "weight gradient (patches, matmul)"
    return "other (normalisation, activations, pooling, optimiser)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_step", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--arch", choices=tuple(ARCHS), default="cnn")
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)

    import jax

    from jaxaudio.training.epochs import epoch_program

    run = flax_training(args.arch, args.samples, *synthetic_training_data(args.samples))
    state, steps, keys = run["state"], run["steps"], run["keys"]
    static = {"batch": run["batch"], "config": run["config"]}

    # epoch e's arguments, as jaxaudio.training.epochs.scan_epoch passes them
    def args_of(e):
        return (*run["data"], run["consts"], jax.random.fold_in(keys.permutation, e), keys.step, e)

    def train_epoch(state, *args):
        return epoch_program(state, *args, **static)

    meta = op_metadata(epoch_program.lower(state, *args_of(0), **static).compile().as_text())

    state, losses = train_epoch(state, *args_of(0))  # compile + warm-up
    jax.block_until_ready(losses)
    t0 = time.perf_counter()
    state, losses = train_epoch(state, *args_of(1))
    jax.block_until_ready(losses)
    wall = (time.perf_counter() - t0) / steps * 1e3
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        state, losses = train_epoch(state, *args_of(2))
        jax.block_until_ready(losses)
        jax.profiler.stop_trace()
        trace = json.load(gzip.open(sorted(Path(tmp).rglob("*.json.gz"))[-1]))
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    per_op: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and e.get("name") in meta:
            per_op[e["name"]] += e["dur"] / 1e3 / steps  # µs -> ms per step

    print(
        f"{args.arch}, batch {run['batch']}, {steps} steps: {wall:.1f} ms per step untraced; "
        f"XLA ops traced {sum(per_op.values()):.1f} ms per step"
    )
    groups: collections.Counter[str] = collections.Counter()
    for name, ms in per_op.items():
        groups[group(meta[name][1])] += ms
    for g, ms in groups.most_common():
        print(f"  {ms:7.1f} ms  {g}")
    print(f"\ntop {args.top} ops (ms per step, output shape, JAX op):")
    for name, ms in per_op.most_common(args.top):
        print(f"  {ms:7.2f}  {name:28s} {meta[name][0]:28s} {meta[name][1][:70]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
