"""jaxaudio: species classifiers from labelled recordings — the package's steps outside Snakemake.

    jaxaudio synth OUT_DIR [--preset small|large] [--seed N]
    jaxaudio features [-c CONFIG.yaml ...] [--threads N]
    jaxaudio train    [-c CONFIG.yaml ...] --experiment E --model M [--seed K]
    jaxaudio evaluate [-c CONFIG.yaml ...] --experiment E --model M [--seed K]
    jaxaudio bundle MODEL_DIR METRICS_JSON --config CONFIG.yaml --out BUNDLE
    jaxaudio predict BUNDLE AUDIO_OR_FOLDER... --out detections.csv [--raven DIR] [--audacity DIR]
    jaxaudio synth OUT_DIR --soundscape MANIFEST [--split val] [--bundle BUNDLE | --unknown N] [--isolated N]
    jaxaudio score DETECTIONS.csv --truth RAVEN_DIR|CSV --audio AUDIO... [--bundle BUNDLE]
    jaxaudio field-threshold BUNDLE AUDIO... --truth RAVEN_DIR|CSV

``features``, ``train`` and ``evaluate`` run one workflow step each, with the same config
(the repository's ``config/config.yaml`` with each ``-c`` file merged on top, as Snakemake
merges ``--configfile``) and the same paths under ``results:`` as the Snakemake rules, so
a step run by hand and the workflow share their outputs. Progress is a bar on a terminal
and plain lines otherwise (a log file, a batch job).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import yaml

from jaxaudio.config.load import DEFAULT_CONFIG, ConfigError, load_config
from jaxaudio.config.resolve import (
    feature_set_of,
    feature_sets_of,
    feature_settings,
    offset_settings,
    run_settings,
)
from jaxaudio.data.background_set import BackgroundSettings
from jaxaudio.features.config import DEFAULT_SET
from jaxaudio.layout import EVAL_FILE_NAMES, Layout
from jaxaudio.runtime.compile_cache import cache_directory, cache_env
from jaxaudio.runtime.results_lock import ResultsLocked, lock_results
from jaxaudio.runtime.runlog import is_terminal


def _synth(args: argparse.Namespace) -> int:
    if args.soundscape is not None:
        return _soundscape(args)
    from jaxaudio.data.synthetic import synthesize  # lazy: numpy/soundfile, not for --help

    manifest = synthesize(args.out_dir, preset=args.preset, seed=args.seed)
    print(f"wrote {manifest}")
    return 0


def _bundle_species(bundle: Path | None) -> list[str] | None:
    """The species a bundle knows (:func:`jaxaudio.stages.field.bundle_species`); a path that
    is no bundle ends the command with the reason."""
    from jaxaudio.stages.field import bundle_species  # lazy: pandas and soundfile

    if bundle is None:
        return None
    try:
        return bundle_species(bundle)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from exc


def _soundscape(args: argparse.Namespace) -> int:
    # lazy: librosa and soundfile, not for --help
    from jaxaudio.data.soundscape import SoundscapeSettings
    from jaxaudio.stages.field import call_pool, render

    pool = call_pool(
        args.soundscape, _bundle_species(args.bundle), args.unknown, args.seed, args.split
    )
    settings = SoundscapeSettings(seconds=args.seconds)
    truth = render(pool, args.out_dir, args.files, settings, isolated=args.isolated, seed=args.seed)
    known = truth["known"].astype(bool)  # render_isolated marks its calls known too
    print(
        f"wrote {args.out_dir}: {truth['file'].nunique()} recording(s), {int(known.sum())} known "
        f"and {int((~known).sum())} unknown call(s); truth in {Path(args.out_dir) / 'truth'}"
    )
    return 0


def _score(args: argparse.Namespace) -> int:
    from jaxaudio.data.annotations import durations_of
    from jaxaudio.evaluation.events import format_scores  # lazy: pandas/sklearn, not for --help
    from jaxaudio.stages.field import score

    if not args.audio and args.durations is None:
        raise SystemExit("jaxaudio score: give the recordings (--audio) or --durations CSV")
    scores = score(
        args.detections,
        args.truth,
        durations_of(args.audio, args.durations),
        _bundle_species(args.bundle),
        min_overlap=args.min_overlap,
        window_s=args.window,
        out_json=args.out,
    )
    print(format_scores(scores))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _field_threshold(args: argparse.Namespace) -> int:
    from jaxaudio.inference.field_threshold import field_threshold_on_recordings, summary_line

    r = field_threshold_on_recordings(args.bundle, args.audio, args.truth)
    print(f"{args.bundle}: {summary_line(r)}; written to bundle.json")
    return 0


def _progress() -> bool:
    """Bars on a terminal; plain INFO lines (one per epoch, per chunk) when stderr is not one."""
    tty = is_terminal(sys.stderr)
    if not tty:
        logging.getLogger("jaxaudio").setLevel(logging.INFO)
    return tty


def _config(args: argparse.Namespace) -> dict:
    files = [p for p in [DEFAULT_CONFIG] if p.is_file()] + list(args.config)
    if not files:
        raise SystemExit(
            f"jaxaudio {args.command}: no config: {DEFAULT_CONFIG} is not there; pass -c CONFIG.yaml"
        )
    return load_config(*files)


def _locked_config(args: argparse.Namespace) -> dict:
    """The config, with its results folder locked for this process (as a workflow run locks
    it): a step run by hand never writes beside a running workflow or another step."""
    config = _config(args)
    lock_results(config["results"])
    return config


def _features(args: argparse.Namespace) -> int:
    # lazy: librosa and JAX load for the command that uses them, so `jaxaudio --help` is instant
    from jaxaudio.data.synthetic import synthesize
    from jaxaudio.stages import data, features, stats

    config = _locked_config(args)
    lay, d = Layout(config["results"]), config["data"]
    if d["source"] == "synthetic":
        source = Path(lay.synthetic_manifest())
        if not source.is_file():
            synthesize(source.parent, preset=d["synthetic"]["preset"], seed=d["synthetic"]["seed"])
    else:
        source = d[d["source"]]
    Path(lay.manifest()).parent.mkdir(parents=True, exist_ok=True)
    bg = BackgroundSettings.from_config(d.get("background"))
    rows = Path(lay.background_manifest()) if bg and bg.writes_files else None
    if rows is not None:
        f = config["features"]
        data.background(
            data.BackgroundOutputs(rows), bg, f["clip_seconds"], f["sample_rate"], d["split"]
        )
    df, species = data.manifest(
        data.ManifestInputs(Path(source), rows),
        data.ManifestOutputs(Path(lay.manifest()), Path(lay.dataset())),
        split=d["split"],
        min_clips=d["min_clips_per_species"],
        too_few_clips=d["too_few_clips"],
        background_label=bg.label if bg else None,
        open_set=config["evaluation"].get("open_set"),
    )
    print(
        f"{len(df)} recording(s) of {len(species)} species; splits {df['split'].value_counts().to_dict()}"
    )
    for fset in feature_sets_of(config, list(config["experiments"])):
        settings = feature_settings(config, fset)
        Path(lay.feature_dir(fset)).mkdir(parents=True, exist_ok=True)
        cache = stats.CacheInputs(Path(lay.features(fset)), Path(lay.clips(fset)))
        clips = features.features(
            features.FeatureInputs(Path(lay.manifest())),
            features.FeatureOutputs(cache.features, cache.clips, Path(lay.skipped(fset))),
            settings=settings,
            cache_dir=lay.feature_cache(),
            on_bad_file=d["on_bad_file"],
            threads=args.threads,
            progress=_progress(),
            strict=config["strict"],
        )
        stats.stats(cache, stats.StatsOutputs(Path(lay.stats(fset))), settings=settings)
        offsets, offset_cfg = _offsets_path(config, fset), offset_settings(config, fset)
        if offsets is not None:
            features.offsets(
                features.OffsetInputs(cache.clips),
                features.OffsetOutputs(offsets),
                settings=settings,
                offset_settings=offset_cfg,
                threads=args.threads,
            )
        print(
            f"wrote {lay.features(fset)}: {len(clips)} clip(s); stats.json"
            + (f"; {offsets.name} ({offset_cfg['copies']} copies per clip)" if offsets else "")
        )
    w = stats.weight_table(
        stats.WeightsInputs(Path(lay.clips(DEFAULT_SET))),
        stats.WeightsOutputs(Path(lay.weight_table())),
        beta=config["class_weights"]["effective_beta"],
        recommended=config["class_weights"]["recommended"],
    )
    print(f"wrote {lay.weight_table()} (imbalance ratio {w['imbalance_ratio']:.1f})")
    return 0


def _offsets_path(config: dict, fset: str) -> Path | None:
    """Feature set ``fset``'s offset copies when it has any (``offsets.copies``, or the set's
    ``offset_copies``, > 0), else ``None``."""
    copies = offset_settings(config, fset)["copies"]
    return Path(Layout(config["results"]).offsets(fset)) if copies else None


def _check_run(config: dict, args: argparse.Namespace) -> None:
    """--experiment and --model must name an experiment and a model of the config."""
    for key, pool in (("experiment", config["experiments"]), ("model", config["models"])):
        if getattr(args, key) not in pool:
            raise ConfigError(
                f"--{key} {getattr(args, key)!r}: not declared in the config; declared: {sorted(pool)}"
            )


def _need(*paths: Path) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"missing {', '.join(missing)}: run the earlier step first (jaxaudio features / train)"
        )


def _jax_config(args: argparse.Namespace) -> dict:
    """The locked config, and the environment JAX must see before it is imported: the
    compilation cache the workflow's jobs share (config key ``compile_cache``)."""
    config = _locked_config(args)
    cache = cache_directory(config["compile_cache"], Layout(config["results"]).compile_cache())
    os.environ.update(cache_env(cache and os.path.abspath(cache), os.environ))
    return config


def _train(args: argparse.Namespace) -> int:
    config = _jax_config(args)
    # Lazy: XLA's flags must be set before JAX is first imported (jaxaudio.runtime.xla_flags).
    from jaxaudio.runtime.xla_flags import set_training_flags

    set_training_flags()
    import jax

    from jaxaudio.stages import train

    _check_run(config, args)
    lay, run = Layout(config["results"]), (args.experiment, args.model, args.seed)
    fset = feature_set_of(config, args.experiment)
    inputs = train.Inputs(
        Path(lay.features(fset)),
        Path(lay.clips(fset)),
        Path(lay.stats(fset)),
        Path(lay.weight_table()),
        offsets=_offsets_path(config, fset),
    )
    _need(
        inputs.features, inputs.clips, inputs.stats, inputs.weights, *filter(None, [inputs.offsets])
    )
    outputs = train.Outputs(Path(lay.model(*run)), Path(lay.history(*run)), Path(lay.summary(*run)))
    outputs.history.parent.mkdir(parents=True, exist_ok=True)
    progress = _progress()
    logging.getLogger("jaxaudio").info(
        "JAX backend %s, devices %s", jax.default_backend(), jax.devices()
    )
    result = train.run(
        inputs, outputs, run_settings(config, *run), lay.checkpoints(*run), progress=progress
    )
    s = result.summary
    print(
        f"wrote {outputs.history.parent}: best val macro-F1 {s['best_val_macro_f1']:.4f} at epoch "
        f"{s['best_epoch']} of {s['epochs_run']}"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    config = _jax_config(args)
    # lazy: JAX and matplotlib, not for --help
    from jaxaudio.stages import evaluate
    from jaxaudio.stages.scoring import ScoringSettings

    _check_run(config, args)
    lay, run = Layout(config["results"]), (args.experiment, args.model, args.seed)
    fset = feature_set_of(config, args.experiment)
    inputs = evaluate.Inputs(
        model=Path(lay.model(*run)),
        history=Path(lay.history(*run)),
        features=Path(lay.features(fset)),
        clips=Path(lay.clips(fset)),
        weights=Path(lay.weight_table()),
        offsets=_offsets_path(config, fset),
    )
    _need(inputs.model, inputs.history, inputs.features, *filter(None, [inputs.offsets]))
    outputs = evaluate.Outputs(
        **{k: Path(lay.eval_file(name, *run)) for k, name in EVAL_FILE_NAMES.items()}
    )
    outputs.metrics.parent.mkdir(parents=True, exist_ok=True)
    m = evaluate.run(
        inputs,
        outputs,
        scoring=ScoringSettings.from_config(
            config["evaluation"], clip_seconds=config["features"]["clip_seconds"]
        ),
        title=f"{args.experiment} / {args.model} / seed {args.seed}",
    )
    print(
        f"wrote {outputs.metrics.parent}: test accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}, "
        f"rare-F1 {m['rare_f1']:.3f}, cmAP {m['cmap']:.3f}"
    )
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from jaxaudio.inference.bundle import write_bundle  # lazy: JAX and orbax, not for --help

    config = yaml.safe_load(Path(args.config).read_text())
    if "features" not in config:
        raise SystemExit(
            f"{args.config}: no features: section (the feature settings the model was trained with)"
        )
    out = write_bundle(args.model_dir, args.metrics, config["features"], args.out)
    print(f"wrote {out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    """Every readable file's detections are written whatever the others hold; each file that
    failed is one stderr line and a row of failed.csv. Exit 0, or 1 with --strict when any
    file failed, or 2 when not one file could be read."""
    from jaxaudio.inference.predict import predict_paths  # lazy: JAX and librosa, not for --help

    run = predict_paths(
        args.bundle,
        args.inputs,
        args.out,
        args.raven,
        args.window,
        args.hop,
        args.top_k,
        args.min_score,
        args.merge,
        args.batch_size,
        progress=_progress(),
        species_list=args.species_list,
        audacity_dir=args.audacity,
    )
    for r in run.failures:
        print(f"jaxaudio predict: failed: {r.file}: {r.reason}", file=sys.stderr)
    print(
        f"wrote {args.out}: {len(run.detections)} detection(s) in {len(run.read)} of {len(run.files)} file(s)"
    )
    print(f"wrote {run.failed_csv}: {len(run.failures)} file(s) failed")
    if args.raven:
        print(f"wrote {len(run.raven)} Raven selection table(s) to {args.raven}")
    if args.audacity:
        print(f"wrote {len(run.audacity)} Audacity label file(s) to {args.audacity}")
    run.require_some_read()
    return 1 if args.strict and run.failures else 0


CONFIG_HELP = (
    "config file merged on top of the repository's config/config.yaml (repeatable, later wins)"
)


def parser() -> argparse.ArgumentParser:
    """The ``jaxaudio`` command line: one subcommand per step (``_add_*`` each)."""
    p = argparse.ArgumentParser(
        prog="jaxaudio",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="`jaxaudio COMMAND --help` for each command's options.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True)
    for add in (
        _add_synth,
        _add_features,
        _add_run_steps,
        _add_bundle,
        _add_predict,
        _add_score,
        _add_field_threshold,
    ):
        add(sub)
    return p


Subparsers = argparse._SubParsersAction


def _add_synth(sub: Subparsers) -> None:
    s = sub.add_parser(
        "synth",
        help="write the embedded synthetic data set, or annotated soundscapes (--soundscape)",
        description="Without --soundscape: the embedded synthetic data set (audio + manifest.csv). "
        "With --soundscape MANIFEST: long recordings rendered from that data set's test clips "
        "(or --split val) "
        "(known and unknown species at random times, some overlapping, over synthetic "
        "background), with Raven tables of the truth in OUT_DIR/truth/ and truth.csv.",
    )
    s.add_argument("out_dir", type=Path)
    s.add_argument(
        "--preset",
        default="small",
        help="small (make run's default, 10 species) or large (90 species)",
    )
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--soundscape", type=Path, metavar="MANIFEST", help="render soundscapes from its test clips"
    )
    s.add_argument(
        "--bundle",
        type=Path,
        help="the bundle to test: its species are known, every other test species unknown",
    )
    s.add_argument(
        "--unknown", type=int, default=0, help="without --bundle: species held out as unknown"
    )
    s.add_argument(
        "--split",
        default="test",
        help="--soundscape: the manifest split whose clips are placed (default test; val "
        "to choose detection settings without the test clips)",
    )
    s.add_argument("--files", type=int, default=5, help="soundscapes to render (default 5)")
    s.add_argument("--seconds", type=float, default=60.0, help="length of each (default 60)")
    s.add_argument(
        "--isolated",
        type=int,
        default=0,
        metavar="N",
        help="instead: one recording of N isolated known calls 2-6 s apart over faint noise",
    )
    s.set_defaults(func=_synth)


def _add_truth(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--truth", type=Path, required=True, help="folder of Raven selection tables, or a CSV"
    )


def _add_score(sub: Subparsers) -> None:
    c = sub.add_parser(
        "score",
        help="score detections against annotations (event precision, recall, false alarms)",
        description="Event-level precision, recall and F1 per species, false alarms per hour, "
        "detections on calls of unknown species and window-level cmAP "
        "(rules: jaxaudio/evaluation/events.py).",
    )
    c.add_argument("detections", type=Path, help="jaxaudio predict's detections CSV")
    _add_truth(c)
    c.add_argument("--audio", nargs="*", default=[], help="the recordings (for their durations)")
    c.add_argument("--durations", type=Path, help="or a CSV of file,duration_s")
    c.add_argument(
        "--bundle", type=Path, help="its species are known; truth species beyond unknown"
    )
    c.add_argument("--min-overlap", type=float, default=0.5, help="overlap rule (default 0.5)")
    c.add_argument("--window", type=float, default=5.0, help="cmAP window seconds (default 5)")
    c.add_argument("--out", type=Path, help="write the scores as JSON")
    c.set_defaults(func=_score)


def _add_field_threshold(sub: Subparsers) -> None:
    c = sub.add_parser(
        "field-threshold",
        help="tune a bundle's threshold floor on your own annotated recordings",
        description="The one threshold floor under the bundle's per-species thresholds with the "
        "best event F1 on these recordings at predict's defaults, written into its bundle.json "
        "(the workflow tunes it on soundscapes of the val clips; "
        "jaxaudio/inference/field_threshold.py). Truth species the bundle does not know are "
        "calls of unknown species: detections on them are false.",
    )
    c.add_argument("bundle", type=Path)
    c.add_argument("audio", nargs="+", help="annotated recordings: audio files and/or folders")
    _add_truth(c)
    c.set_defaults(func=_field_threshold)


def _add_features(sub: Subparsers) -> None:
    f = sub.add_parser(
        "features",
        help="resolve the data (splits), build the feature cache, stats and class weights",
        description="Resolve data: (the split is written to <results>/data/manifest.csv), decode and "
        "featurise every recording into <results>/features/, then the train-split channel statistics "
        "and the class weights. Recordings already featurised are reused.",
    )
    f.add_argument("-c", "--config", action="append", type=Path, default=[], help=CONFIG_HELP)
    f.add_argument("--threads", type=int, default=4, help="decoding threads (default 4)")
    f.set_defaults(func=_features)


def _add_run_steps(sub: Subparsers) -> None:
    """``train`` and ``evaluate``: one (experiment, model, seed) run each."""
    for name, func, what in (
        ("train", _train, "train one (experiment, model, seed) run; resumes from its checkpoints"),
        (
            "evaluate",
            _evaluate,
            "score a trained run on the test split (metrics, per-class CSV, plots)",
        ),
    ):
        t = sub.add_parser(
            name,
            help=what,
            description=what + ". Reads and writes the workflow's paths under results:.",
        )
        t.add_argument("-c", "--config", action="append", type=Path, default=[], help=CONFIG_HELP)
        t.add_argument("--experiment", required=True, help="a name under experiments: (e.g. v2)")
        t.add_argument("--model", required=True, help="a name under models: (e.g. cnn)")
        t.add_argument("--seed", type=int, default=0)
        t.set_defaults(func=func)


def _add_bundle(sub: Subparsers) -> None:
    b = sub.add_parser(
        "bundle", help="assemble a model bundle (parameters, features, stats, species, thresholds)"
    )
    b.add_argument("model_dir", type=Path, help="results/train/<exp>/<model>/seed<k>/model")
    b.add_argument(
        "metrics",
        type=Path,
        help="results/eval/<exp>/<model>/seed<k>/metrics.json (thresholds, metrics)",
    )
    b.add_argument(
        "--config",
        type=Path,
        required=True,
        help="the config the model was trained with (its features: section)",
    )
    b.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    b.set_defaults(func=_bundle)


def _add_predict(sub: Subparsers) -> None:
    r = sub.add_parser("predict", help="detect species in recordings of any length")
    r.add_argument("bundle", type=Path)
    r.add_argument("inputs", nargs="+", help="audio files and/or folders (searched recursively)")
    r.add_argument(
        "--out", type=Path, required=True, help="detections CSV: file,start_s,end_s,species,score"
    )
    r.add_argument(
        "--window", type=float, help="window seconds (default: the bundle's clip_seconds)"
    )
    r.add_argument(
        "--hop", type=float, help="hop seconds (default: the bundle's features.window_hop_seconds)"
    )
    r.add_argument(
        "--top-k",
        type=int,
        default=None,
        help="species reported per window at most (default: 1, or every species over its "
        "threshold for a multi-label (sigmoid) bundle)",
    )
    r.add_argument(
        "--min-score",
        type=float,
        help="report scores >= this (default: each species' threshold tuned on validation)",
    )
    r.add_argument(
        "--merge", action="store_true", help="join overlapping windows of the same species"
    )
    r.add_argument(
        "--raven", type=Path, help="also write one Raven selection table per file to this folder"
    )
    r.add_argument(
        "--audacity",
        type=Path,
        metavar="DIR",
        help="also write one Audacity label file (<stem>.txt) per file to this folder",
    )
    r.add_argument(
        "--species-list",
        type=Path,
        metavar="FILE",
        help="report only these species (one per line; blank lines and # comments ignored); "
        "a name the bundle does not know is an error before any audio is read",
    )
    r.add_argument("--batch-size", type=int, default=64)
    r.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any file failed (the outputs are still written); without it a run exits 0 "
        "unless no file at all could be read. Failed files are listed in failed.csv beside --out",
    )
    r.set_defaults(func=_predict)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        return args.func(args)
    except (
        FileNotFoundError,
        ValueError,
        ResultsLocked,
    ) as exc:  # AudioError, BundleError, ConfigError are
        # ValueErrors
        print(f"jaxaudio {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
