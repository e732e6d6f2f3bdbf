"""jaxaudio: species classifiers from labelled recordings — the package's steps outside Snakemake.

    jaxaudio synth OUT_DIR [--preset small|birds90] [--seed N]
    jaxaudio bundle MODEL_DIR METRICS_JSON --config CONFIG.yaml --out BUNDLE
    jaxaudio predict BUNDLE AUDIO_OR_FOLDER... --out detections.csv [--raven DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _synth(args: argparse.Namespace) -> int:
    from jaxaudio.synth import synthesize

    manifest = synthesize(args.out_dir, preset=args.preset, seed=args.seed)
    print(f"wrote {manifest}")
    return 0


def _bundle(args: argparse.Namespace) -> int:
    import yaml

    from jaxaudio.bundle import write_bundle

    config = yaml.safe_load(Path(args.config).read_text())
    if "features" not in config:
        raise SystemExit(f"{args.config}: no features: section (the feature settings the model was trained with)")
    out = write_bundle(args.model_dir, args.metrics, config["features"], args.out)
    print(f"wrote {out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import pandas as pd
    from tqdm import tqdm

    from jaxaudio.bundle import load_bundle
    from jaxaudio.predict import COLUMNS, Detector, audio_inputs, merge_detections, predict_file, write_raven

    bundle = load_bundle(args.bundle)  # checked before any audio is read
    files = audio_inputs(args.inputs)
    detector = Detector(bundle, args.window, args.batch_size)
    frames = []
    for f in tqdm(files, desc="predict", unit="file", disable=not sys.stderr.isatty()):
        frames.append(predict_file(detector, f, args.hop, args.top_k, args.min_score))
        if not sys.stderr.isatty():
            print(f"predict: {f}: {len(frames[-1])} detection(s)", file=sys.stderr)
    frames = [f for f in frames if len(f)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if args.merge:
        df = merge_detections(df)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False, float_format="%.4f")
    print(f"wrote {args.out}: {len(df)} detection(s) in {len(files)} file(s)")
    if args.raven:
        tables = write_raven(df, args.raven, files, bundle.features.sample_rate)
        print(f"wrote {len(tables)} Raven selection table(s) to {args.raven}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxaudio", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="write the embedded synthetic data set (audio + manifest.csv)")
    s.add_argument("out_dir", type=Path)
    s.add_argument("--preset", default="small", help="small (make run's default) or birds90")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_synth)

    b = sub.add_parser("bundle", help="assemble a model bundle (parameters, features, stats, species, thresholds)")
    b.add_argument("model_dir", type=Path, help="results/train/<exp>/<model>/seed<k>/model")
    b.add_argument("metrics", type=Path, help="results/eval/<exp>/<model>/seed<k>/metrics.json (thresholds, metrics)")
    b.add_argument("--config", type=Path, required=True, help="the config the model was trained with (its features: section)")
    b.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    b.set_defaults(func=_bundle)

    r = sub.add_parser("predict", help="detect species in recordings of any length")
    r.add_argument("bundle", type=Path)
    r.add_argument("inputs", nargs="+", help="audio files and/or folders (searched recursively)")
    r.add_argument("--out", type=Path, required=True, help="detections CSV: file,start_s,end_s,species,score")
    r.add_argument("--window", type=float, help="window seconds (default: the bundle's clip_seconds)")
    r.add_argument("--hop", type=float, help="hop seconds (default: the bundle's features.window_hop_seconds)")
    r.add_argument("--top-k", type=int, default=1, help="species reported per window (default 1)")
    r.add_argument("--min-score", type=float,
                   help="report scores >= this (default: each species' threshold tuned on validation)")
    r.add_argument("--merge", action="store_true", help="join overlapping windows of the same species")
    r.add_argument("--raven", type=Path, help="also write one Raven selection table per file to this folder")
    r.add_argument("--batch-size", type=int, default=64)
    r.set_defaults(func=_predict)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:  # AudioError, BundleError are ValueErrors
        print(f"jaxaudio {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
