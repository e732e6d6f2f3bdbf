from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.features import OffsetInputs, OffsetOutputs, offsets
    from jaxaudio.stages.io import named

    path = offsets(
        named(OffsetInputs, snakemake.input),
        named(OffsetOutputs, snakemake.output),
        settings=dict(snakemake.params.settings),
        offset_settings=dict(snakemake.params.offsets),
        threads=snakemake.threads,
    )
    log.info("wrote %s", path)
