"""XLA flags of a training process: the user's flags win, and XLA accepts ours."""

import os
import subprocess
import sys

from jaxaudio.runtime.xla_flags import DETERMINISTIC, training_flags


def test_adds_deterministic_ops_and_one_thread_pool():
    assert training_flags(None) == DETERMINISTIC
    assert training_flags(None, threads=1) == (
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 --xla_gpu_deterministic_ops=true"
    )
    assert training_flags(None, threads=4) == DETERMINISTIC


def test_keeps_the_users_flags_and_choices():
    user = "--xla_force_host_platform_device_count=4"
    assert training_flags(user) == f"{user} {DETERMINISTIC}"
    # a user who chose speed over reproducibility keeps that choice
    assert (
        training_flags("--xla_gpu_deterministic_ops=false") == "--xla_gpu_deterministic_ops=false"
    )
    # the user's own thread settings are not overridden
    assert (
        training_flags("--xla_cpu_multi_thread_eigen=true", threads=1)
        == f"--xla_cpu_multi_thread_eigen=true {DETERMINISTIC}"
    )
    assert training_flags("", threads=1).startswith("--xla_cpu_multi_thread_eigen=false")


def test_xla_accepts_the_flags():
    # XLA aborts on an unknown flag when the backend starts: run a computation with ours
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    code = (
        "from jaxaudio.runtime.xla_flags import set_training_flags; set_training_flags(1)\n"
        "import os, jax.numpy as jnp; print(os.environ['XLA_FLAGS']); print(float(jnp.arange(4.0).sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == [training_flags(None, 1), "6.0"]
