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
        min_clips=config["data"]["min_clips_per_species"],
        too_few_clips=config["data"]["too_few_clips"],
    script:
        "../scripts/manifest.py"
