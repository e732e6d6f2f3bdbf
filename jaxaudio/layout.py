"""Every path under the results folder (config key ``results``), in one place.

The rules (``workflow/rules/*.smk``), the ``jaxaudio`` command, the report and the bundles
all name their files through :class:`Layout`, so a path is spelt once. Run-level paths take
``exp``, ``model`` and ``seed``; left at their defaults they are Snakemake wildcard patterns
(``{exp}/{model}/seed{seed}``), which :meth:`str.format` (or Snakemake) fills in::

    Layout("results").metrics()                   # results/eval/{exp}/{model}/seed{seed}/metrics.json
    Layout("results").metrics("v2", "cnn", 0)     # results/eval/v2/cnn/seed0/metrics.json

The layout::

    data/       synthetic/{manifest.csv,audio/}, manifest.csv, dataset.json, class_weights.json
    features/   <set>/{features.npy, clips.csv, skipped.csv, stats.json, offsets.npy}
                (one folder per feature set: default, and each of feature_sets; offsets.npy
                holds the offset copies of every clip), cache/ (per recording, every set)
    train/      <run>/{model/,history.csv,summary.json}   checkpoints/<run>/ (resumable state)
    eval/       <run>/{metrics.json,per_class.csv,confusion.npy,test_scores.npz,*.png},
                <ensemble>/... (the same but curves.png, with compare.ensemble),
                baselines/<name>/...   (baselines/<name>/model/ holds the fitted pipeline)
    compare/decision.json, comparison.{json,txt}, findings.md, report/
    bundles/    <run>/, <ensemble>/, best/
    predictions/<job>/{detections.csv,raven/,audacity/,failed.csv,scores.json (with truth:)}
    logs/       <stage>/<name>.log     benchmarks/<stage>/<name>.tsv (Snakemake's job timings)
    cache/jax/  JAX's compilation cache (compile_cache: true), shared by the jobs
    selection/  split<k>/{clips.csv, class_weights.json, <set>/stats.json,
                train/<exp>/<model>/..., checkpoints/...}  (compare.selection's re-splits)

where ``<run>`` is ``<experiment>/<model>/seed<k>`` and ``<ensemble>`` is
``<experiment>/<model>/ensemble`` (the mean of that experiment x model's seeds).
"""

from __future__ import annotations

from dataclasses import dataclass

#: A run's evaluation files (:meth:`Layout.eval_file`), by the evaluate rule's output names.
EVAL_FILE_NAMES = {
    "metrics": "metrics.json",
    "per_class": "per_class.csv",
    "confusion": "confusion.npy",
    "scores": "test_scores.npz",
    "confusion_png": "confusion.png",
    "curves_png": "curves.png",
}

#: The wildcards a run-level path is made of.
EXP, MODEL, SEED = "{exp}", "{model}", "{seed}"
#: The wildcard of a re-split's number (``compare.selection``).
RESPLIT = "{k}"
#: The wildcard of a feature set's paths (``default`` or a name of ``feature_sets``).
FSET = "{fset}"


#: The last part of a seed ensemble's paths, where a run has ``seed<k>``.
ENSEMBLE = "ensemble"


def ensemble_name(exp: str = EXP, model: str = MODEL) -> str:
    """``<experiment>/<model>/ensemble``: the part of a seed ensemble's paths that names it."""
    return f"{exp}/{model}/{ENSEMBLE}"


def seeds_name(exp: str = EXP, model: str = MODEL) -> str:
    """``<experiment>/<model>/seeds``: the log and benchmark of a job training every seed of an
    experiment × model (``training.vmap_seeds``)."""
    return f"{exp}/{model}/seeds"


def run_name(exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
    """``<experiment>/<model>/seed<k>``: the part of every run-level path that names the run."""
    return f"{exp}/{model}/seed{seed}"


@dataclass(frozen=True)
class Layout:
    """The paths of one results folder ``root``."""

    root: str

    # data
    def synthetic_manifest(self) -> str:
        return f"{self.root}/data/synthetic/manifest.csv"

    def synthetic_audio(self) -> str:
        return f"{self.root}/data/synthetic/audio"

    def background_manifest(self) -> str:
        """The background set's rows (``background`` rule), synthetic clips beside it."""
        return f"{self.root}/data/background/manifest.csv"

    def manifest(self) -> str:
        """The resolved manifest: every recording with its split and label."""
        return f"{self.root}/data/manifest.csv"

    def dataset(self) -> str:
        return f"{self.root}/data/dataset.json"

    def weight_table(self) -> str:
        """Every class-weight method's weights, keyed by species (``weight_table`` rule)."""
        return f"{self.root}/data/class_weights.json"

    # features: one folder per feature set
    def feature_dir(self, fset: str = FSET) -> str:
        return f"{self.root}/features/{fset}"

    def features(self, fset: str = FSET) -> str:
        return f"{self.feature_dir(fset)}/features.npy"

    def clips(self, fset: str = FSET) -> str:
        """The clip table: one row per row of :meth:`features` (:mod:`jaxaudio.data.clips`);
        the same clips in every set (the keys that decide them are shared)."""
        return f"{self.feature_dir(fset)}/clips.csv"

    def offsets(self, fset: str = FSET) -> str:
        """Offset copies of every clip (:mod:`jaxaudio.features.offsets`), clip-major."""
        return f"{self.feature_dir(fset)}/offsets.npy"

    def skipped(self, fset: str = FSET) -> str:
        return f"{self.feature_dir(fset)}/skipped.csv"

    def stats(self, fset: str = FSET) -> str:
        return f"{self.feature_dir(fset)}/stats.json"

    def compile_cache(self) -> str:
        """JAX's persistent compilation cache (config key ``compile_cache: true``), shared by
        every job (:mod:`jaxaudio.runtime.compile_cache`; not an output: never deleted)."""
        return f"{self.root}/cache/jax"

    def feature_cache(self) -> str:
        """Per-recording features reused across reruns (not an output: never deleted)."""
        return f"{self.root}/features/cache"

    # training
    def train_dir(self, exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
        return f"{self.root}/train/{run_name(exp, model, seed)}"

    def model(self, exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
        return f"{self.train_dir(exp, model, seed)}/model"

    def history(self, exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
        return f"{self.train_dir(exp, model, seed)}/history.csv"

    def summary(self, exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
        return f"{self.train_dir(exp, model, seed)}/summary.json"

    def checkpoints(self, exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
        """Resumable training state, outside the declared outputs (which Snakemake deletes
        before rerunning an interrupted job)."""
        return f"{self.root}/checkpoints/{run_name(exp, model, seed)}"

    # evaluation
    def eval_file(
        self, name: str, exp: str = EXP, model: str = MODEL, seed: int | str = SEED
    ) -> str:
        """``name`` (metrics.json, per_class.csv, confusion.npy, test_scores.npz,
        confusion.png, curves.png) of one run's evaluation."""
        return f"{self.root}/eval/{run_name(exp, model, seed)}/{name}"

    def ensemble_eval_file(self, name: str, exp: str = EXP, model: str = MODEL) -> str:
        """``name`` of the evaluation of experiment ``exp`` x ``model``'s seed ensemble."""
        return f"{self.root}/eval/{ensemble_name(exp, model)}/{name}"

    def metrics(self, exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
        return self.eval_file("metrics.json", exp, model, seed)

    def baseline_model(self, baseline: str = "{baseline}") -> str:
        return f"{self.root}/baselines/{baseline}/model"

    def baseline_eval_file(self, name: str, baseline: str = "{baseline}") -> str:
        return f"{self.root}/eval/baselines/{baseline}/{name}"

    def baseline_cache(self, baseline: str = "{baseline}") -> str:
        """A baseline's stored outputs, reused when its inputs' content is the same."""
        return f"{self.root}/checkpoints/baselines/{baseline}"

    # selection: re-splits of train + val (compare.selection)
    def selection_dir(self, k: int | str = RESPLIT) -> str:
        return f"{self.root}/selection/split{k}"

    def selection_clips(self, k: int | str = RESPLIT) -> str:
        """Re-split ``k``'s clip table (:mod:`jaxaudio.data.resplit`)."""
        return f"{self.selection_dir(k)}/clips.csv"

    def selection_weights(self, k: int | str = RESPLIT) -> str:
        return f"{self.selection_dir(k)}/class_weights.json"

    def selection_stats(self, fset: str = FSET, k: int | str = RESPLIT) -> str:
        return f"{self.selection_dir(k)}/{fset}/stats.json"

    def selection_train(
        self, name: str, exp: str = EXP, model: str = MODEL, k: int | str = RESPLIT
    ) -> str:
        """``name`` (model, history.csv, summary.json) of the selection run of ``exp`` x
        ``model`` on re-split ``k``."""
        return f"{self.selection_dir(k)}/train/{exp}/{model}/{name}"

    def selection_checkpoints(
        self, exp: str = EXP, model: str = MODEL, k: int | str = RESPLIT
    ) -> str:
        return f"{self.selection_dir(k)}/checkpoints/{exp}/{model}"

    # comparison and report
    def decision(self) -> str:
        return f"{self.root}/compare/decision.json"

    def comparison(self, suffix: str = "json") -> str:
        return f"{self.root}/comparison.{suffix}"

    def findings(self) -> str:
        return f"{self.root}/findings.md"

    def report_file(self, name: str) -> str:
        return f"{self.root}/report/{name}"

    # inference
    def bundle(self, exp: str = EXP, model: str = MODEL, seed: int | str = SEED) -> str:
        return f"{self.root}/bundles/{run_name(exp, model, seed)}"

    def ensemble_bundle(self, exp: str = EXP, model: str = MODEL) -> str:
        return f"{self.root}/bundles/{ensemble_name(exp, model)}"

    def best_bundle(self) -> str:
        return f"{self.root}/bundles/best"

    def prediction_file(self, name: str, job: str = "{job}") -> str:
        return f"{self.root}/predictions/{job}/{name}"

    # logs and timings
    def log(self, *parts: str) -> str:
        """``logs/<stage>/<name>.log`` (or ``logs/<stage>.log`` for a one-job stage)."""
        return f"{self.root}/logs/{'/'.join(parts)}.log"

    def benchmark(self, *parts: str) -> str:
        """Snakemake's timing of a job, named as its :meth:`log`."""
        return f"{self.root}/benchmarks/{'/'.join(parts)}.tsv"

    def benchmarks_dir(self) -> str:
        return f"{self.root}/benchmarks"
