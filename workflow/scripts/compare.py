from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.evaluation.compare import format_table
    from jaxaudio.stages.compare import CompareInputs, CompareOutputs, compare
    from jaxaudio.stages.io import named

    comparison = compare(
        named(CompareInputs, snakemake.input),
        named(CompareOutputs, snakemake.output),
        runs=snakemake.params.runs,
        baselines=snakemake.params.baselines,
        settings=snakemake.params.settings,
        ensembles=snakemake.params.ensembles,
        selection=snakemake.params.selection,
    )
    log.info("\n%s", format_table(comparison))
