rule bundle:
    input:
        model=rules.train.output.model,
        metrics=rules.evaluate.output.metrics,
    output:
        directory(f"{R}/bundles/{{exp}}/{{model}}/seed{{seed}}"),
    log:
        f"{R}/logs/bundle/{{exp}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/bundle/{{exp}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        features=config["features"],
    script:
        "../scripts/bundle.py"


rule bundle_best:
    input:
        comparison=rules.compare.output.json,
        models=lambda wc: paths_of(
            compared_runs(), f"{R}/train/{{exp}}/{{model}}/seed{{seed}}/model"
        ),
        metrics=lambda wc: paths_of(compared_runs(), EVAL_FILES["metrics"]),
    output:
        directory(f"{R}/bundles/best"),
    log:
        f"{R}/logs/bundle/best.log",
    benchmark:
        f"{R}/benchmarks/bundle/best.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=lambda wc: compared_runs(),
        features=config["features"],
    script:
        "../scripts/bundle_best.py"
