from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.compare import DecisionOutputs, RunFiles, decision
    from jaxaudio.stages.io import named

    decisions = decision(
        named(RunFiles, snakemake.input),
        named(DecisionOutputs, snakemake.output),
        runs=snakemake.params.runs,
        settings=snakemake.params.settings,
    )
    log.info("candidate decision per model: %s", decisions["models"])
