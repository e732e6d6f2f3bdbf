from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.features import FeatureInputs, FeatureOutputs, features
    from jaxaudio.stages.io import named

    clips = features(
        named(FeatureInputs, snakemake.input),
        named(FeatureOutputs, snakemake.output),
        settings=dict(snakemake.params.settings),
        cache_dir=snakemake.params.cache,
        on_bad_file=snakemake.params.on_bad_file,
        threads=snakemake.threads,
        # read here, not a param: `strict` changes no output, so toggling it reruns nothing
        strict=snakemake.config.get("strict", False),
    )
    log.info("%d clips from %d recordings", len(clips), clips["recording"].nunique())
