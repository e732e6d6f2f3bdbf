from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.baselines.logreg import logreg_run

    metrics = logreg_run(
        features_npy=snakemake.input.features,
        clips_csv=snakemake.input.clips,
        weights_json=snakemake.input.weights,
        settings=snakemake.params.settings,
        model_dir=snakemake.output.model,
        out=dict(snakemake.output.items()),
        rare_quantile=snakemake.params.rare_quantile,
        top_k=snakemake.params.top_k,
        cache_dir=snakemake.params.cache,
    )
    log.info("test metrics: %s", {k: v for k, v in metrics.items() if k != "rare_species"})
