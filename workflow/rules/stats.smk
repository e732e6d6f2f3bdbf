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
