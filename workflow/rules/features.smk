rule features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        features=L.features(),
        clips=L.clips(),
        skipped=L.skipped(),
    log:
        L.log("features", "features"),
    benchmark:
        L.benchmark("features", "features")
    conda:
        "../envs/jaxaudio.yaml"
    # decoders in parallel; Snakemake caps this at --cores (on a cluster: --max-threads)
    threads: 8
    resources:
        # Cluster jobs: memory grows with the decoders (580 MB with 2 on birdsounds-dev);
        # minutes from the manifest size (~10k recordings per MB; 1986 took 22 s).
        mem_mb=lambda wc, threads, attempt: attempt * (1000 + 250 * threads),
        runtime=lambda wc, input, attempt: attempt * (30 + int(60 * input.size_mb)),
    params:
        settings=config["features"],
        on_bad_file=config["data"]["on_bad_file"],
        # Per-recording features, reused across reruns (not an output: never deleted).
        cache=L.feature_cache(),
    script:
        "../scripts/features.py"
