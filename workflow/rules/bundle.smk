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
