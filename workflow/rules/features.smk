rule features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        features=f"{R}/features/features.npy",
        clips=f"{R}/features/clips.csv",
        skipped=f"{R}/features/skipped.csv",
    log:
        f"{R}/logs/features/features.log",
    benchmark:
        f"{R}/benchmarks/features/features.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    # decoders in parallel; Snakemake caps this at --cores
    threads: 8
    params:
        settings=config["features"],
        on_bad_file=config["data"]["on_bad_file"],
        # Per-recording features, reused across reruns (not an output: never deleted).
        cache=f"{R}/features/cache",
    script:
        "../scripts/features.py"
