from jaxaudio.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.features import build_feature_cache

    build_feature_cache(snakemake.input.manifest, dict(snakemake.params.settings), snakemake.output[0])
