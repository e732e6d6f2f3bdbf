rule bundle:
    input:
        model=L.model(),
        metrics=rules.evaluate.output.metrics,
        manifest=rules.manifest.output.manifest,
    output:
        bundle=directory(L.bundle()),
    log:
        L.log("bundle", RUN),
    benchmark:
        L.benchmark("bundle", RUN)
    conda:
        "../envs/jaxaudio.yaml"
    params:
        features=lambda wc: feature_settings(config, feature_set_of(config, wc.exp)),
        field=config["evaluation"]["field_threshold"],
    script:
        "../scripts/bundle.py"


# A seed ensemble's bundle (bundles: entries with ensemble: true): every seed's model, the
# ensemble's temperature and thresholds.
rule bundle_ensemble:
    input:
        models=lambda wc: [L.model(wc.exp, wc.model, s) for s in SEEDS],
        metrics=rules.evaluate_ensemble.output.metrics,
        manifest=rules.manifest.output.manifest,
    output:
        bundle=directory(L.ensemble_bundle()),
    log:
        L.log("bundle", ENSEMBLE_RUN),
    benchmark:
        L.benchmark("bundle", ENSEMBLE_RUN)
    conda:
        "../envs/jaxaudio.yaml"
    params:
        features=lambda wc: feature_settings(config, feature_set_of(config, wc.exp)),
        source=lambda wc: {
            "experiment": wc.exp,
            "model": wc.model,
            "seeds": list(SEEDS),
            "ensemble": True,
        },
        field=config["evaluation"]["field_threshold"],
    script:
        "../scripts/bundle_ensemble.py"


rule bundle_best:
    input:
        comparison=rules.compare.output.json,
        manifest=rules.manifest.output.manifest,
        models=lambda wc: paths_of(compared_runs(), L.model()),
        metrics=lambda wc: paths_of(compared_runs(), EVAL_FILES["metrics"]),
        ensemble_metrics=lambda wc: ensemble_files(ensembles_of(compared_runs()))[
            "ensemble_metrics"
        ],
    output:
        bundle=directory(L.best_bundle()),
    log:
        L.log("bundle", "best"),
    benchmark:
        L.benchmark("bundle", "best")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=lambda wc: compared_runs(),
        ensembles=lambda wc: ensembles_of(compared_runs()),
        # each experiment's feature settings (the bundle takes the recommended run's)
        features=lambda wc: {
            r["experiment"]: feature_settings(
                config, feature_set_of(config, r["experiment"])
            )
            for r in compared_runs()
        },
        field=config["evaluation"]["field_threshold"],
    script:
        "../scripts/bundle_best.py"
