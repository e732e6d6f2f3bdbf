# One feature set each (default: the features section; feature_sets: named overrides),
# features/<set>/. Every set decodes the same clips (a set may not change the clip keys).
rule features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        features=L.features(),
        clips=L.clips(),
        skipped=L.skipped(),
    log:
        L.log("features", "{fset}/features"),
    benchmark:
        L.benchmark("features", "{fset}/features")
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
        settings=lambda wc: feature_settings(config, wc.fset),
        on_bad_file=config["data"]["on_bad_file"],
        # Per-recording features, reused across reruns (not an output: never deleted).
        cache=L.feature_cache(),
    script:
        "../scripts/features.py"


# Offset copies of every clip (jaxaudio/features/offsets.py): each call at random places in
# the window, over training background, as the windows of a recording show it. Training
# draws one view per clip per epoch; validation scores the clips and all their copies.
rule offsets:
    input:
        clips=L.clips(),
    output:
        offsets=L.offsets(),
    log:
        L.log("features", "{fset}/offsets"),
    benchmark:
        L.benchmark("features", "{fset}/offsets")
    conda:
        "../envs/jaxaudio.yaml"
    threads: 4
    resources:
        # Cluster jobs: JAX plus 256 clips' decoded audio and copies at a time; minutes from
        # the clip table's size (as the features rule's from the manifest's).
        mem_mb=lambda wc, attempt: attempt * 2500,
        runtime=lambda wc, input, attempt: attempt * (30 + int(60 * input.size_mb)),
    params:
        settings=lambda wc: feature_settings(config, wc.fset),
        offsets=lambda wc: offset_settings(config, wc.fset),
    script:
        "../scripts/offsets.py"
