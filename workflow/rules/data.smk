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


rule background:
    output:
        manifest=L.background_manifest(),
    log:
        L.log("data", "background"),
    benchmark:
        L.benchmark("data", "background")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        settings=config["data"].get("background"),
        # the clip length and rate of the synthetic clips (other feature keys do not matter)
        clip_seconds=config["features"]["clip_seconds"],
        sample_rate=config["features"]["sample_rate"],
        split=config["data"]["split"],
    script:
        "../scripts/background.py"


rule manifest:
    input:
        unpack(lambda wc: background_inputs()),
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
        background_label=BACKGROUND.label if BACKGROUND else None,
        # species held out of training, tested as unknowns (jaxaudio/data/open_set.py)
        open_set=config["evaluation"].get("open_set"),
    script:
        "../scripts/manifest.py"
