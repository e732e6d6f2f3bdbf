from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.inference.bundle import write_best_bundle

    models, metrics = snakemake.input.models, snakemake.input.metrics
    source = write_best_bundle(
        snakemake.params.runs,
        [models] if isinstance(models, str) else list(models),
        [metrics] if isinstance(metrics, str) else list(metrics),
        snakemake.input.comparison,
        dict(snakemake.params.features),
        snakemake.output[0],
    )
    log.info("recommended configuration (best mean validation macro-F1), first seed: %s", source)
