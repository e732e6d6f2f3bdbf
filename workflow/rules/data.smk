rule synth:
    output:
        manifest=L.synthetic_manifest(),
        audio=directory(L.synthetic_audio()),
    log:
        L.log("data", "synth"),
    benchmark:
        L.benchmark("data", "synth")
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
        manifest=L.manifest(),
        summary=L.dataset(),
    log:
        L.log("data", "manifest"),
    benchmark:
        L.benchmark("data", "manifest")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        split=config["data"]["split"],
        min_clips=config["data"]["min_clips_per_species"],
        too_few_clips=config["data"]["too_few_clips"],
    script:
        "../scripts/manifest.py"
