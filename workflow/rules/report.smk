rule report_figures:
    input:
        comparison=rules.compare.output.json,
        findings=rules.compare.output.findings,
        per_class=run_paths(L.eval_file("per_class.csv")),
        confusions=paths_of(DECISION_RUNS, EVAL_FILES["confusion"]),
        weights=rules.weight_table.output.weights,
        # after these, every benchmark file of the run exists (the timings plot reads them)
        bundles=bundle_paths(),
        predictions=expand(L.prediction_file("detections.csv"), job=PREDICT),
        # the field scores of the predict jobs that name truth: (on the findings page)
        scores=expand(L.prediction_file("scores.json"), job=SCORED),
    output:
        findings=report(
            L.report_file("findings.html"),
            caption="../report/findings.rst",
            category="0. Findings",
        ),
        rare_pairs=report(
            L.report_file("rare_species_f1.png"),
            caption="../report/rare_species_f1.rst",
            category="1. Comparison",
        ),
        confusion_diff=report(
            L.report_file("confusion_difference.png"),
            caption="../report/confusion_difference.rst",
            category="1. Comparison",
        ),
        table=report(
            L.report_file("comparison.html"),
            caption="../report/comparison.rst",
            category="1. Comparison",
        ),
        f1_vs_count=report(
            L.report_file("f1_vs_train_count.png"),
            caption="../report/f1_vs_train_count.rst",
            category="1. Comparison",
        ),
        weights=report(
            L.report_file("class_weights.png"),
            caption="../report/class_weights.rst",
            category="2. Data",
        ),
        timings=report(
            L.report_file("timings.png"),
            caption="../report/timings.rst",
            category="5. Benchmark times",
        ),
    log:
        L.log("report_figures"),
    benchmark:
        L.benchmark("report_figures")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=RUNS,
        decision_runs=DECISION_RUNS,
        bench_dir=L.benchmarks_dir(),
        rare_quantile=config["evaluation"]["rare_quantile"],
        scored=SCORED,
    script:
        "../scripts/report_figures.py"
