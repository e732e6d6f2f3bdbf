from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.io import named
    from jaxaudio.stages.stats import CacheInputs, StatsOutputs, stats

    result = stats(
        named(CacheInputs, snakemake.input),
        named(StatsOutputs, snakemake.output),
        settings=dict(snakemake.params.settings),
    )
    log.info("train-split channel statistics: %s", result["channels"])
