from jaxaudio.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.compare import compare_files, format_table

    comparison = compare_files(
        snakemake.params.runs,
        snakemake.input.metrics,
        snakemake.input.histories,
        snakemake.params.baseline,
        snakemake.params.candidate,
        snakemake.params.thresholds,
        snakemake.params.ladder,
        snakemake.output.json,
        snakemake.output.table,
        baselines=dict(zip(snakemake.params.baselines, snakemake.input.baselines)),
    )
    log.info("\n%s", format_table(comparison))
