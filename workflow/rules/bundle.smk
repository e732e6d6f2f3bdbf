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
        models=run_paths(f"{R}/train/{{exp}}/{{model}}/seed{{seed}}/model"),
        summaries=run_paths(f"{R}/train/{{exp}}/{{model}}/seed{{seed}}/summary.json"),
        metrics=run_paths(f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/metrics.json"),
    output:
        directory(f"{R}/bundles/best"),
    log:
        f"{R}/logs/bundle/best.log",
    benchmark:
        f"{R}/benchmarks/bundle/best.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=RUNS,
        features=config["features"],
    script:
        "../scripts/bundle_best.py"
