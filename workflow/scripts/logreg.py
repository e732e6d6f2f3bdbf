from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages import baselines
    from jaxaudio.stages.io import named
    from jaxaudio.stages.scoring import ScoringSettings

    metrics = baselines.run(
        named(baselines.Inputs, snakemake.input),
        named(baselines.Outputs, snakemake.output),
        settings=snakemake.params.settings,
        scoring=ScoringSettings.from_config(
            snakemake.params.scoring, clip_seconds=snakemake.params.clip_seconds
        ),
        cache_dir=snakemake.params.cache,
    )
    log.info("test metrics: %s", {k: v for k, v in metrics.items() if k != "rare_species"})
