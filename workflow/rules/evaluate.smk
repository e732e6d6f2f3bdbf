rule evaluate:
    input:
        model=rules.train.output.model,
        history=rules.train.output.history,
        features=rules.features.output.features,
        clips=rules.features.output.clips,
        weights=rules.class_weights.output[0],
    output:
        metrics=f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/metrics.json",
        per_class=f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/per_class.csv",
        confusion=f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/confusion.npy",
        # test labels and probabilities: the comparison's paired bootstrap reads them
        scores=f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/test_scores.npz",
        confusion_png=report(
            f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/confusion.png",
            caption="../report/confusion.rst",
            category="3. Confusion matrices",
            subcategory="{model}",
            labels={"experiment": "{exp}", "model": "{model}", "seed": "{seed}"},
        ),
        curves_png=report(
            f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/curves.png",
            caption="../report/curves.rst",
            category="4. Training curves",
            subcategory="{model}",
            labels={"experiment": "{exp}", "model": "{model}", "seed": "{seed}"},
        ),
    log:
        f"{R}/logs/eval/{{exp}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/eval/{{exp}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        # Cluster jobs: JAX plus batches of the cache (740 MB peak for a 41 MB cache).
        mem_mb=lambda wc, input, attempt: attempt * (1500 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (15 + int(input.size_mb) // 20),
    params:
        rare_quantile=config["evaluation"]["rare_quantile"],
        top_k=config["evaluation"]["top_k"],
    script:
        "../scripts/evaluate.py"
