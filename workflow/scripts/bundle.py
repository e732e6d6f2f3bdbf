from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.inference.bundle import write_bundle

    out = write_bundle(
        snakemake.input.model,
        snakemake.input.metrics,
        dict(snakemake.params.features),
        snakemake.output[0],
        source=dict(snakemake.wildcards.items()),
    )
    log.info("wrote %s", out)
