rule features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        f"{R}/features/features.npy",
    log:
        f"{R}/logs/features/features.log",
    benchmark:
        f"{R}/benchmarks/features/features.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        settings=config["features"],
    script:
        "../scripts/features.py"


rule stats:
    input:
        features=rules.features.output[0],
        manifest=rules.manifest.output.manifest,
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
