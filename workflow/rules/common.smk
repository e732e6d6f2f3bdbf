# Config validation (before any job runs), the results-folder lock and small path helpers.
# Logic stays in jaxaudio.
import sys

from jaxaudio.config import (
    ConfigError,
    check_config,
    local_gpus,
    merge_config_files,
    run_settings,
)
from jaxaudio.results_lock import ResultsLocked, lock_results


def _merged_config():
    """The config files merged by jaxaudio's rules (an empty mapping means none; 1e-3 is a
    number), not Snakemake's merge, which keeps the defaults under `baselines: {}`."""
    settings = workflow.config_settings
    files = [] if settings.replace_workflow_config else list(workflow.configfiles)
    return merge_config_files(
        files + list(workflow.overwrite_configfiles), dict(settings.config)
    )


try:
    _config, _sources = _merged_config()
    config.clear()
    config.update(_config)
    _warnings = check_config(
        config,
        os.path.join(workflow.current_basedir, "..", "schemas", "config.schema.yaml"),
        sources=_sources,
        dataset=workflow.is_main_process,
    )
except ConfigError as exc:
    sys.exit(f"jaxaudio: {exc}")
for _w in _warnings:
    print(f"jaxaudio: warning: {_w}", file=sys.stderr)

R = config["results"]
LOCAL_GPUS = local_gpus()
EXPERIMENTS = config["run"]["experiments"]
MODELS = config["run"]["models"]
BASELINES = list(config.get("baselines") or {})
PREDICT = list(config.get("predict") or {})
SEEDS = config["run"].get("seeds", [0])
# One (experiment, model, seed) per training run; `run` gives the path part {exp}/{model}/seed{seed}.
RUNS = [
    {"experiment": e, "model": m, "seed": s}
    for e in EXPERIMENTS
    for m in MODELS
    for s in SEEDS
]


wildcard_constraints:
    exp="|".join(EXPERIMENTS),
    model="|".join(MODELS),
    baseline="|".join(BASELINES) or "(?!)",
    job="|".join(PREDICT) or "(?!)",
    seed=r"\d+",


onstart:
    # Before the first job: no other run may write this results folder (a second clone with
    # the same `results:` would delete this run's outputs). Held until Snakemake exits.
    try:
        lock_results(R)
    except ResultsLocked as exc:
        sys.exit(f"jaxaudio: {exc}")


def manifest_source():
    """The manifest or folder the user gave, or the manifest the synth rule makes."""
    source = config["data"]["source"]
    if source == "synthetic":
        return f"{R}/data/synthetic/manifest.csv"
    return config["data"][source]  # the manifest CSV or the folder


def run_paths(pattern):
    """``pattern`` (with {exp}, {model}, {seed}) for every run, in RUNS order."""
    return [
        pattern.format(exp=r["experiment"], model=r["model"], seed=r["seed"])
        for r in RUNS
    ]


def bundle_path(b):
    """The bundle directory of ``b`` = {experiment, model, seed}, or "best" (bundle_best)."""
    if b == "best":
        return f"{R}/bundles/best"
    return f"{R}/bundles/{b['experiment']}/{b['model']}/seed{b['seed']}"


def bundle_paths():
    """The model bundles the config asks for (bundle_best: the best run by val macro-F1)."""
    best = [f"{R}/bundles/best"] if config.get("bundle_best", True) else []
    return [bundle_path(b) for b in config.get("bundles", [])] + best


def final_outputs():
    return [
        f"{R}/comparison.json",
        *run_paths(f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/metrics.json"),
        *bundle_paths(),
        f"{R}/report/comparison.html",
        *expand(f"{R}/predictions/{{job}}/detections.csv", job=PREDICT),
    ]
