rule bundle:
    input:
        model=rules.train.output.model,
        metrics=rules.evaluate.output.metrics,
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
    script:
        "../scripts/bundle.py"


rule bundle_best:
    input:
        comparison=rules.compare.output.json,
        models=lambda wc: paths_of(compared_runs(), L.model()),
        metrics=lambda wc: paths_of(compared_runs(), EVAL_FILES["metrics"]),
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
        # each experiment's feature settings (the bundle takes the recommended run's)
        features=lambda wc: {
            r["experiment"]: feature_settings(
                config, feature_set_of(config, r["experiment"])
            )
            for r in compared_runs()
        },
    script:
        "../scripts/bundle_best.py"
