from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages import evaluate
    from jaxaudio.stages.io import named
    from jaxaudio.stages.scoring import ScoringSettings

    wc = snakemake.wildcards
    metrics = evaluate.run_ensemble(
        named(evaluate.EnsembleInputs, snakemake.input),
        named(evaluate.EnsembleOutputs, snakemake.output),
        scoring=ScoringSettings.from_config(
            snakemake.params.scoring, clip_seconds=snakemake.params.clip_seconds
        ),
        title=f"{wc.exp} / {wc.model} / ensemble of {len(snakemake.input.models)} seeds",
    )
    log.info("test metrics: %s", {k: v for k, v in metrics.items() if k != "rare_species"})
