rule stats:
    input:
        features=rules.features.output.features,
        clips=rules.features.output.clips,
    output:
        f"{R}/features/stats.json",
    log:
        f"{R}/logs/features/stats.log",
    benchmark:
        f"{R}/benchmarks/features/stats.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        # Cluster jobs: reads the feature cache in blocks (220 MB peak for a 41 MB cache).
        mem_mb=lambda wc, input, attempt: attempt * (1000 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (10 + int(input.size_mb) // 100),
    script:
        "../scripts/stats.py"


rule class_weights:
    input:
        clips=rules.features.output.clips,
    output:
        f"{R}/data/class_weights.json",
    log:
        f"{R}/logs/data/class_weights.log",
    benchmark:
        f"{R}/benchmarks/data/class_weights.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        beta=config["class_weights"]["effective_beta"],
        recommended=config["class_weights"]["recommended"],
    script:
        "../scripts/class_weights.py"
