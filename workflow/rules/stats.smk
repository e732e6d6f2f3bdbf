rule stats:
    input:
        features=rules.features.output.features,
        clips=rules.features.output.clips,
    output:
        stats=L.stats(),
    log:
        L.log("features", "stats"),
    benchmark:
        L.benchmark("features", "stats")
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        # Cluster jobs: reads the feature cache in blocks (220 MB peak for a 41 MB cache).
        mem_mb=lambda wc, input, attempt: attempt * (1000 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (10 + int(input.size_mb) // 100),
    script:
        "../scripts/stats.py"


# Every class-weight method's weights by species (data/class_weights.json).
rule weight_table:
    input:
        clips=rules.features.output.clips,
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
