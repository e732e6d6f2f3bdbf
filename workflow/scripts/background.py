from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.data.background_set import BackgroundSettings
    from jaxaudio.stages.data import BackgroundOutputs, background
    from jaxaudio.stages.io import named

    p = snakemake.params
    df = background(
        named(BackgroundOutputs, snakemake.output),
        BackgroundSettings.from_config(p.settings),
        clip_seconds=p.clip_seconds,
        sample_rate=p.sample_rate,
        split=p.split,
    )
    log.info("%d background recording(s); splits %s", len(df), df["split"].value_counts().to_dict())
