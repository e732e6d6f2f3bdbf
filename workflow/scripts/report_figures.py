from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages import report
    from jaxaudio.stages.io import named

    p = snakemake.params
    done = report.run(
        named(report.Inputs, snakemake.input),
        named(report.Outputs, snakemake.output),
        runs=p.runs,
        decision_runs=p.decision_runs,
        bench_dir=p.bench_dir,
        rare_quantile=p.rare_quantile,
        scored=p.scored,
    )
    log.info("report figures: %s", done)
