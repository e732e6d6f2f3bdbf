from jaxaudio.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.bundle import write_best_bundle

    source = write_best_bundle(
        snakemake.params.runs,
        snakemake.input.models,
        snakemake.input.summaries,
        snakemake.input.metrics,
        dict(snakemake.params.features),
        snakemake.output[0],
    )
    log.info("best run by validation macro-F1: %s", source)
