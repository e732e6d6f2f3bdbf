from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.evaluation.metrics import evaluate_run

    metrics = evaluate_run(
        model_dir=snakemake.input.model,
        history_csv=snakemake.input.history,
        features_npy=snakemake.input.features,
        clips_csv=snakemake.input.clips,
        weights_json=snakemake.input.weights,
        out=dict(snakemake.output.items()),
        rare_quantile=snakemake.params.rare_quantile,
        top_k=snakemake.params.top_k,
        title=f"{snakemake.wildcards.exp} / {snakemake.wildcards.model} / seed {snakemake.wildcards.seed}",
    )
    log.info("test metrics: %s", {k: v for k, v in metrics.items() if k != "rare_species"})
