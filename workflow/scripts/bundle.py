from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.bundle import Inputs, Outputs, bundle
    from jaxaudio.stages.io import named

    out = bundle(
        named(Inputs, snakemake.input),
        named(Outputs, snakemake.output),
        features=snakemake.params.features,
        source=dict(snakemake.wildcards.items()),
        field=snakemake.params.field,
    )
    log.info("wrote %s", out)
