from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.io import named
    from jaxaudio.stages.selection import Inputs, Outputs, resplit_clips

    counts = resplit_clips(
        named(Inputs, snakemake.input), named(Outputs, snakemake.output), seed=snakemake.params.seed
    )
    log.info("clips per split: %s", counts)
