rule synth:
    output:
        manifest=f"{R}/data/synthetic/manifest.csv",
        audio=directory(f"{R}/data/synthetic/audio"),
    log:
        f"{R}/logs/data/synth.log",
    benchmark:
        f"{R}/benchmarks/data/synth.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        preset=config["data"]["synthetic"]["preset"],
        seed=config["data"]["synthetic"]["seed"],
    script:
        "../scripts/synth.py"


rule manifest:
    input:
        manifest=manifest_source(),
    output:
        manifest=f"{R}/data/manifest.csv",
        summary=f"{R}/data/dataset.json",
    log:
        f"{R}/logs/data/manifest.log",
    benchmark:
        f"{R}/benchmarks/data/manifest.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        split=config["data"]["split"],
    script:
        "../scripts/manifest.py"


rule class_weights:
    input:
        manifest=rules.manifest.output.manifest,
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
