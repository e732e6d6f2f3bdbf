from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.bundle import BestInputs, Outputs, bundle_best
    from jaxaudio.stages.io import named

    source = bundle_best(
        named(BestInputs, snakemake.input),
        named(Outputs, snakemake.output),
        runs=snakemake.params.runs,
        features=snakemake.params.features,
        ensembles=snakemake.params.ensembles,
        field=snakemake.params.field,
    )
    log.info("recommended configuration (best validation macro-F1): %s", source)
