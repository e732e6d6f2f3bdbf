rule compare:
    input:
        metrics=expand(
            f"{R}/eval/{{exp}}/{{model}}/metrics.json", exp=EXPERIMENTS, model=MODELS
        ),
        histories=expand(
            f"{R}/train/{{exp}}/{{model}}/history.csv", exp=EXPERIMENTS, model=MODELS
        ),
        baselines=expand(
            f"{R}/eval/baselines/{{baseline}}/metrics.json", baseline=BASELINES
        ),
    output:
        json=f"{R}/comparison.json",
        table=f"{R}/comparison.txt",
    log:
        f"{R}/logs/compare.log",
    benchmark:
        f"{R}/benchmarks/compare.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=[{"experiment": e, "model": m} for e in EXPERIMENTS for m in MODELS],
        baselines=BASELINES,
        baseline=config["compare"]["baseline"],
        candidate=config["compare"]["candidate"],
        thresholds=config["compare"].get("thresholds", {}),
        ladder=config["compare"].get("ladder", []),
    script:
        "../scripts/compare.py"
