from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.data import SynthOutputs, synth
    from jaxaudio.stages.io import named

    out = synth(
        named(SynthOutputs, snakemake.output), snakemake.params.preset, snakemake.params.seed
    )
    log.info("wrote %s", out)
