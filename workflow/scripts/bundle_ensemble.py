from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.bundle import EnsembleInputs, Outputs, bundle_ensemble
    from jaxaudio.stages.io import named

    out = bundle_ensemble(
        named(EnsembleInputs, snakemake.input),
        named(Outputs, snakemake.output),
        features=snakemake.params.features,
        source=snakemake.params.source,
        field=snakemake.params.field,
    )
    log.info("wrote %s", out)
