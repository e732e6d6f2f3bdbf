rule baseline:
    input:
        features=rules.features.output.features,
        clips=rules.features.output.clips,
        weights=rules.class_weights.output[0],
    output:
        model=directory(f"{R}/baselines/{{baseline}}/model"),
        metrics=f"{R}/eval/baselines/{{baseline}}/metrics.json",
        per_class=f"{R}/eval/baselines/{{baseline}}/per_class.csv",
        confusion=f"{R}/eval/baselines/{{baseline}}/confusion.npy",
    log:
        f"{R}/logs/baselines/{{baseline}}.log",
    benchmark:
        f"{R}/benchmarks/baselines/{{baseline}}.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        # Cluster jobs: pooled statistics of every clip (440 MB peak for a 41 MB cache).
        mem_mb=lambda wc, input, attempt: attempt * (1000 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (15 + int(input.size_mb) // 10),
    params:
        settings=lambda wc: config["baselines"][wc.baseline],
        rare_quantile=config["evaluation"]["rare_quantile"],
        top_k=config["evaluation"]["top_k"],
        # Outputs stored outside the declared ones, reused when the inputs' content is the
        # same (a byte-identical rebuild of the features reruns this job, not the fit).
        cache=lambda wc: f"{R}/checkpoints/baselines/{wc.baseline}",
    script:
        "../scripts/baseline.py"
