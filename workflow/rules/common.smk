# Config validation (before any job runs) and small path helpers. Logic stays in jaxaudio.
import sys

from jaxaudio.config import ConfigError, check_config, run_settings

try:
    check_config(
        config,
        os.path.join(workflow.current_basedir, "..", "schemas", "config.schema.yaml"),
    )
except ConfigError as exc:
    sys.exit(f"jaxaudio: {exc}")

R = config["results"]
EXPERIMENTS = config["run"]["experiments"]
MODELS = config["run"]["models"]
BASELINES = list(config.get("baselines") or {})


wildcard_constraints:
    exp="|".join(EXPERIMENTS),
    model="|".join(MODELS),
    baseline="|".join(BASELINES) or "(?!)",


def manifest_source():
    """The manifest or folder the user gave, or the manifest the synth rule makes."""
    source = config["data"]["source"]
    if source == "synthetic":
        return f"{R}/data/synthetic/manifest.csv"
    return config["data"][source]  # the manifest CSV or the folder


def final_outputs():
    return [
        f"{R}/comparison.json",
        *expand(
            f"{R}/eval/{{exp}}/{{model}}/metrics.json", exp=EXPERIMENTS, model=MODELS
        ),
    ]
