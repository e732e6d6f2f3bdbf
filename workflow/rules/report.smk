rule report_figures:
    input:
        comparison=rules.compare.output.json,
        findings=rules.compare.output.findings,
        per_class=run_paths(f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/per_class.csv"),
        confusions=paths_of(DECISION_RUNS, EVAL_FILES["confusion"]),
        weights=rules.class_weights.output[0],
        # after these, every benchmark file of the run exists (the timings plot reads them)
        bundles=bundle_paths(),
        predictions=expand(f"{R}/predictions/{{job}}/detections.csv", job=PREDICT),
    output:
        findings=report(
            f"{R}/report/findings.html",
            caption="../report/findings.rst",
            category="0. Findings",
        ),
        rare_pairs=report(
            f"{R}/report/rare_species_f1.png",
            caption="../report/rare_species_f1.rst",
            category="1. Comparison",
        ),
        confusion_diff=report(
            f"{R}/report/confusion_difference.png",
            caption="../report/confusion_difference.rst",
            category="1. Comparison",
        ),
        table=report(
            f"{R}/report/comparison.html",
            caption="../report/comparison.rst",
            category="1. Comparison",
        ),
        f1_vs_count=report(
            f"{R}/report/f1_vs_train_count.png",
            caption="../report/f1_vs_train_count.rst",
            category="1. Comparison",
        ),
        weights=report(
            f"{R}/report/class_weights.png",
            caption="../report/class_weights.rst",
            category="2. Data",
        ),
        timings=report(
            f"{R}/report/timings.png",
            caption="../report/timings.rst",
            category="5. Benchmark times",
        ),
    log:
        f"{R}/logs/report_figures.log",
    benchmark:
        f"{R}/benchmarks/report_figures.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=RUNS,
        decision_runs=DECISION_RUNS,
        bench_dir=f"{R}/benchmarks",
        rare_quantile=config["evaluation"]["rare_quantile"],
    script:
        "../scripts/report_figures.py"
