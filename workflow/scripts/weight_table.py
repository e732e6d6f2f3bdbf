from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.io import named
    from jaxaudio.stages.stats import WeightsInputs, WeightsOutputs, weight_table

    w = weight_table(
        named(WeightsInputs, snakemake.input),
        named(WeightsOutputs, snakemake.output),
        beta=snakemake.params.beta,
        recommended=snakemake.params.recommended,
    )
    log.info("imbalance ratio %.1f; recommended method: %s", w["imbalance_ratio"], w["recommended"])
