from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.evaluation.compare import EVAL_KEYS, compare_files, format_table

    comparison = compare_files(
        snakemake.params.runs,
        {k: snakemake.input[k] for k in EVAL_KEYS},
        snakemake.params.settings,
        dict(snakemake.output.items()),
        baselines=dict(zip(snakemake.params.baselines, snakemake.input.baselines)),
    )
    log.info("\n%s", format_table(comparison))
