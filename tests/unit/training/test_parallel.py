"""Data parallelism over several devices (:mod:`jaxaudio.training.parallel`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxaudio.training import parallel

DATA_PARALLEL_SCRIPT = """
import json, logging, sys
import numpy as np
import jax
logging.basicConfig(level=logging.INFO)
sys.path.insert(0, {root!r})
from tests.unit.training.toy import toy_data
from jaxaudio.training.loop import fit
from jaxaudio.training.settings import TrainSettings
assert len(jax.devices()) == 4, jax.devices()
data = toy_data(128, 32)
out = {{}}
for dp in (False, True):
    s = TrainSettings(arch="cnn", model={{"channels": [8, 16]}}, epochs=4, batch_size=32, lr=3e-3, patience=50, data_parallel=dp)
    r = fit(s, data, ckpt_dir={tmp!r} + f"/dp{{dp}}")
    out[str(dp)] = {{"train": r.history["train_loss"].tolist(), "val": r.history["val_loss"].tolist()}}
print("RESULT" + json.dumps(out))
"""


def test_four_device_data_parallel_matches_one_device(tmp_path):
    """XLA's host platform split into 4 CPU devices: the same loss curve within float tolerance."""
    root = str(Path(__file__).resolve().parents[3])
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    proc = subprocess.run(
        [sys.executable, "-c", DATA_PARALLEL_SCRIPT.format(root=root, tmp=str(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "batch of 32 split over 4 devices" in proc.stderr  # the parallel run really was split
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    one, four = out["False"], out["True"]
    np.testing.assert_allclose(four["train"], one["train"], rtol=1e-4)
    np.testing.assert_allclose(four["val"], one["val"], rtol=1e-4)


def test_data_parallel_batch_must_split_evenly(monkeypatch):
    monkeypatch.setattr(jax, "local_devices", lambda: ["d0", "d1", "d2"])
    with pytest.raises(ValueError, match="batch_size 32 is not a multiple of the 3 devices"):
        parallel.data_parallel_mesh(32)


def test_one_device_needs_no_mesh():
    assert len(jax.local_devices()) == 1  # the unit tests' CPU process
    assert parallel.data_parallel_mesh(32) is None
    assert parallel.batch_sharding(None) is None and parallel.replicated(None) is None
