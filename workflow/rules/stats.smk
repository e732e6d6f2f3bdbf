rule stats:
    input:
        features=L.features(),
        clips=L.clips(),
    output:
        stats=L.stats(),
    log:
        L.log("features", "{fset}/stats"),
    benchmark:
        L.benchmark("features", "{fset}/stats")
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        # Cluster jobs: reads the feature cache in blocks (220 MB peak for a 41 MB cache).
        mem_mb=lambda wc, input, attempt: attempt * (1000 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (10 + int(input.size_mb) // 100),
    params:
        # the channels' names (the statistics are keyed by them)
        settings=lambda wc: feature_settings(config, wc.fset),
    script:
        "../scripts/stats.py"


# Every class-weight method's weights by species (data/class_weights.json).
rule weight_table:
    input:
        clips=L.clips(DEFAULT_SET),
    output:
        weights=L.weight_table(),
    log:
        L.log("data", "class_weights"),
    benchmark:
        L.benchmark("data", "class_weights")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        beta=config["class_weights"]["effective_beta"],
        recommended=config["class_weights"]["recommended"],
    script:
        "../scripts/weight_table.py"
