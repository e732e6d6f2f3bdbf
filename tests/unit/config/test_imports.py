"""What the workflow imports to check a config and build its DAG stays light: nothing heavier
than PyYAML and jsonschema beyond what Snakemake itself loads (pandas, numpy). Loading JAX
or librosa there would add seconds to every `snakemake` call, and a dry run on a login node
would need the training stack."""

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = "librosa soundfile jax jaxlib flax optax sklearn scipy matplotlib soxr orbax".split()
PROBE = f"""
import sys
import snakemake.api
import jaxaudio.config.load, jaxaudio.config.resolve, jaxaudio.runtime.results_lock
print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def test_the_config_package_imports_nothing_heavy():
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == []
