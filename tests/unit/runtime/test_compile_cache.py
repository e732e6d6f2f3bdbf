"""The compilation cache's settings, and a second process loading what the first compiled
(JAX's own cache-hit event, counted in each process)."""

import json
import os
import subprocess
import sys

import numpy as np

from jaxaudio.runtime.compile_cache import (
    DIR_VAR,
    MAX_BYTES,
    MIN_TIME_VAR,
    cache_directory,
    cache_env,
)

# A child process: one jitted matmul chain, then its result and the cache events it recorded.
CHILD = """
import json, jax, jax.numpy as jnp
events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
f = jax.jit(lambda x: jnp.tanh(x @ x.T).sum(axis=1) * 3.0)
y = f(jnp.arange(64 * 32, dtype=jnp.float32).reshape(64, 32) / 1000)
print(json.dumps({"y": y.tolist(), "hits": events.count("/jax/compilation_cache/cache_hits"),
                  "misses": events.count("/jax/compilation_cache/cache_misses")}))
"""


def test_the_config_key_names_the_folder():
    assert cache_directory(True, "r/cache/jax") == "r/cache/jax"
    assert cache_directory("/shared/jax", "r/cache/jax") == "/shared/jax"
    assert cache_directory(False, "r/cache/jax") is None
    assert cache_directory(None, "r/cache/jax") is None


def test_the_users_own_settings_win():
    env = cache_env("/c", {})
    assert env[DIR_VAR] == "/c" and int(env["JAX_COMPILATION_CACHE_MAX_SIZE"]) == MAX_BYTES
    assert cache_env("/c", {DIR_VAR: "/mine"}).keys() == env.keys() - {DIR_VAR}
    assert cache_env(None, {}) == {}


def run_child(env):
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_what_the_first_compiled(tmp_path):
    """With the environment cache_env gives (the minimum compile time set to 0 by the
    'user', so this small program is cached), the first process misses and writes, the
    second hits and computes the same numbers."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    base[MIN_TIME_VAR] = "0"
    env = {**base, **cache_env(tmp_path / "cache", base)}
    first, second = run_child(env), run_child(env)
    assert first["misses"] >= 1 and first["hits"] == 0
    assert any(p.name.endswith("-cache") for p in (tmp_path / "cache").iterdir())
    assert second["hits"] >= 1 and second["misses"] == 0
    np.testing.assert_array_equal(first["y"], second["y"])
    assert run_child(base)["hits"] == 0  # without the folder: no cache
