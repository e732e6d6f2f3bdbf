from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.evaluation.report import report_figures

    done = report_figures(
        snakemake.params.runs,
        snakemake.input.per_class,
        snakemake.input.comparison,
        snakemake.input.weights,
        snakemake.params.bench_dir,
        dict(snakemake.output.items()),
        rare_quantile=snakemake.params.rare_quantile,
        decision_runs=snakemake.params.decision_runs,
        confusions=[snakemake.input.confusions] if isinstance(snakemake.input.confusions, str)
        else list(snakemake.input.confusions),
        findings_md=snakemake.input.findings,
    )
    log.info("report figures: %s", done)
