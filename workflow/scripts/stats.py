from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.features.stats import stats_for_cache

    stats = stats_for_cache(snakemake.input.features, snakemake.input.clips, snakemake.output[0])
    log.info("train-split channel statistics: %s", stats["channels"])
