from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.training.weights import weights_for_clips

    w = weights_for_clips(snakemake.input.clips, snakemake.output[0], snakemake.params.beta, snakemake.params.recommended)
    log.info("imbalance ratio %.1f; recommended method: %s", w["imbalance_ratio"], w["recommended"])
