from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages import evaluate
    from jaxaudio.stages.io import named
    from jaxaudio.stages.scoring import ScoringSettings

    wc = snakemake.wildcards
    metrics = evaluate.run(
        named(evaluate.Inputs, snakemake.input),
        named(evaluate.Outputs, snakemake.output),
        scoring=ScoringSettings.from_config(
            snakemake.params.scoring, clip_seconds=snakemake.params.clip_seconds
        ),
        title=f"{wc.exp} / {wc.model} / seed {wc.seed}",
    )
    log.info("test metrics: %s", {k: v for k, v in metrics.items() if k != "rare_species"})
