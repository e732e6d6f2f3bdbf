# Config validation (before any job runs), the results-folder lock and small path helpers.
# Logic stays in jaxaudio.
import json
import os
import sys

from jaxaudio.config.load import (
    ConfigError,
    finish_config,
    local_gpus,
    merge_config_files,
)
from jaxaudio.config.resolve import (
    feature_set_of,
    feature_sets_of,
    feature_settings,
    ladder_names,
    offset_settings,
    run_settings,
    run_value,
    trains_on,
)
from jaxaudio.data.background_set import BackgroundSettings
from jaxaudio.features.config import DEFAULT_SET
from jaxaudio.layout import EVAL_FILE_NAMES, Layout, ensemble_name, run_name, seeds_name
from jaxaudio.runtime.compile_cache import cache_directory, cache_env
from jaxaudio.runtime.results_lock import ResultsLocked, lock_results


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
    _warnings = finish_config(
        config,
        schema_path=os.path.join(
            workflow.current_basedir, "..", "schemas", "config.schema.yaml"
        ),
        sources=_sources,
        dataset=workflow.is_main_process,
    )
except ConfigError as exc:
    sys.exit(f"jaxaudio: {exc}")
LADDER_ALL = ladder_names(config)
for _w in _warnings:
    print(f"jaxaudio: warning: {_w}", file=sys.stderr)

R = config["results"]
# Every path under results/ (jaxaudio/layout.py); RUN is the {exp}/{model}/seed{seed} part.
L = Layout(R)
# JAX's persistent compilation cache for every job (compile_cache; jaxaudio/runtime/compile_cache.py):
# set here, so each job's process (local or on a cluster node) inherits it.
os.environ.update(
    cache_env(
        cache_directory(config["compile_cache"], os.path.abspath(L.compile_cache())),
        os.environ,
    )
)
RUN = run_name()
ENSEMBLE_RUN = ensemble_name()
SEEDS_RUN = seeds_name()
LOCAL_GPUS = local_gpus()
EXPERIMENTS = config["run"]["experiments"]
MODELS = config["run"]["models"]
BASELINES = list(config.get("baselines") or {})
PREDICT = list(config.get("predict") or {})
# The predict jobs that name `truth:`: their detections are scored (score_predictions).
SCORED = [j for j in PREDICT if config["predict"][j].get("truth")]
BACKGROUND = BackgroundSettings.from_config(config["data"].get("background"))
SEEDS = config["run"].get("seeds", [0])
# The rollback ladder's experiments that run.experiments does not already run: trained only
# when the decision checkpoint says a model's candidate is not GO (compare.ladder_mode).
LADDER = [e for e in dict.fromkeys(LADDER_ALL) if e not in EXPERIMENTS]
LADDER_MODE = config["compare"].get("ladder_mode", "auto")
# Every feature set that can be needed: the default and each declared in feature_sets.
FEATURE_SETS = [DEFAULT_SET, *(config.get("feature_sets") or {})]


def runs_of(experiments, models=MODELS):
    """One (experiment, model, seed) per training run, experiment-major; an experiment on an
    embedding feature set runs only the models that take one (resolve.trains_on)."""
    return [
        {"experiment": e, "model": m, "seed": s}
        for e in experiments
        for m in models
        if trains_on(config, e, m)
        for s in SEEDS
    ]


# `run` gives the path part {exp}/{model}/seed{seed}.
RUNS = runs_of(EXPERIMENTS)
# The runs the ladder's decision is taken on: baseline and candidate, every model and seed.
DECISION_RUNS = runs_of(
    list(dict.fromkeys([config["compare"]["baseline"], config["compare"]["candidate"]]))
)


wildcard_constraints:
    exp="|".join(EXPERIMENTS + LADDER),
    fset="|".join(FEATURE_SETS),
    model="|".join(MODELS),
    baseline="|".join(BASELINES) or "(?!)",
    job="|".join(PREDICT) or "(?!)",
    seed=r"\d+",
    k=r"\d+",


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
        return L.synthetic_manifest()
    return config["data"][source]  # the manifest CSV or the folder


def background_inputs():
    """The background rule's rows when data.background makes or lists files, else nothing."""
    bg = BACKGROUND
    return {"background": L.background_manifest()} if bg and bg.writes_files else {}


def offset_inputs(exp):
    """The offset copies of experiment ``exp``'s feature set (``offsets`` rule) when it has
    any (offsets.copies, or the set's offset_copies, > 0), else nothing."""
    fset = feature_set_of(config, exp)
    return (
        {"offsets": L.offsets(fset)} if offset_settings(config, fset)["copies"] else {}
    )


def feature_inputs(exp, *names):
    """``names`` (features, clips, stats) of experiment ``exp``'s feature set, by name."""
    fset = feature_set_of(config, exp)
    return {n: getattr(L, n)(fset) for n in names}


def run_paths(pattern):
    """``pattern`` (with {exp}, {model}, {seed}) for every run, in RUNS order."""
    return paths_of(RUNS, pattern)


# What the comparison reads of each run (paths with {exp}, {model}, {seed}).
EVAL_FILES = {
    "metrics": L.eval_file(EVAL_FILE_NAMES["metrics"]),
    "histories": L.history(),
    "per_class": L.eval_file(EVAL_FILE_NAMES["per_class"]),
    "confusion": L.eval_file(EVAL_FILE_NAMES["confusion"]),
    "scores": L.eval_file(EVAL_FILE_NAMES["scores"]),
}


def paths_of(runs, pattern):
    return [
        pattern.format(exp=r["experiment"], model=r["model"], seed=r["seed"])
        for r in runs
    ]


def eval_files(runs):
    """EVAL_FILES for ``runs``: name -> list of paths in run order."""
    return {k: paths_of(runs, p) for k, p in EVAL_FILES.items()}


def ladder_runs():
    """The ladder's runs the comparison waits for: every rung of each model whose candidate
    is not GO by the decision checkpoint (ladder_mode auto), of every model (always), none
    (never, or no rung outside run.experiments)."""
    if not LADDER or LADDER_MODE == "never":
        return []
    if LADDER_MODE == "always":
        return runs_of(LADDER)
    with open(checkpoints.decision.get().output.json) as f:
        decisions = json.load(f)["models"]
    return runs_of(LADDER, [m for m in MODELS if decisions[m]["decision"] != "GO"])


def compared_runs():
    return RUNS + ladder_runs()


def ensembles_of(runs):
    """With compare.ensemble, one {experiment, model, seeds} per experiment x model of ``runs``
    that has several seeds (the mean of their probabilities, evaluate_ensemble); else none.
    """
    if not config["compare"]["ensemble"] or len(SEEDS) < 2:
        return []
    pairs = dict.fromkeys((r["experiment"], r["model"]) for r in runs)
    return [{"experiment": e, "model": m, "seeds": list(SEEDS)} for e, m in pairs]


def selection_runs(runs):
    """With compare.selection.resplits K > 0, one {experiment, model, resplit} per experiment
    x model of ``runs`` and re-split k < K (the train_resplit jobs the recommendation ranks).
    """
    pairs = dict.fromkeys((r["experiment"], r["model"]) for r in runs)
    k = config["compare"]["selection"]["resplits"]
    return [
        {"experiment": e, "model": m, "resplit": i} for e, m in pairs for i in range(k)
    ]


def selection_summaries(runs):
    return [
        L.selection_train("summary.json", r["experiment"], r["model"], r["resplit"])
        for r in runs
    ]


# What the comparison reads of each seed ensemble (paths with {exp}, {model}).
ENSEMBLE_FILES = {
    k: L.ensemble_eval_file(EVAL_FILE_NAMES[k])
    for k in ("metrics", "per_class", "confusion", "scores")
}


def ensemble_files(ensembles):
    """ENSEMBLE_FILES for ``ensembles``, named ensemble_<kind> (the compare rule's inputs)."""
    return {
        f"ensemble_{k}": [
            p.format(exp=e["experiment"], model=e["model"]) for e in ensembles
        ]
        for k, p in ENSEMBLE_FILES.items()
    }


def bundle_path(b):
    """The bundle directory of ``b`` = {experiment, model, seed} (or ensemble: true, the seed
    ensemble's), or "best" (bundle_best)."""
    if b == "best":
        return L.best_bundle()
    if b.get("ensemble"):
        return L.ensemble_bundle(b["experiment"], b["model"])
    return L.bundle(b["experiment"], b["model"], b["seed"])


def bundle_paths():
    """The model bundles the config asks for (bundle_best: the best run by val macro-F1)."""
    best = [L.best_bundle()] if config.get("bundle_best", True) else []
    return [bundle_path(b) for b in config.get("bundles", [])] + best


def final_outputs():
    return [
        L.comparison(),
        *run_paths(L.eval_file("metrics.json")),
        *bundle_paths(),
        L.report_file("comparison.html"),
        *expand(L.prediction_file("detections.csv"), job=PREDICT),
        *expand(L.prediction_file("scores.json"), job=SCORED),
    ]


def train_mem_mb(wc, input, attempt):
    """A training job's host memory on a cluster: JAX/XLA plus the training split, held in
    memory up to training.device_memory_mb and streamed beyond (1.3 GB for a 41 MB cache).
    """
    size = min(int(input.size_mb), config["training"]["device_memory_mb"])
    return attempt * (2000 + 2 * size)


def train_runtime(wc, input, attempt):
    """A training job's minutes on a cluster: 30 epochs on a 41 MB cache took 6 min on 2 CPU
    cores; 4x that rate."""
    return attempt * (30 + int(input.size_mb) * run_epochs(wc) // 50)


def run_epochs(wc):
    """The epochs the run of wildcards ``wc`` trains for, as jaxaudio.config.resolve resolves
    them (an experiment's epochs win over its model's)."""
    return run_value(config, wc.exp, wc.model, "epochs")
