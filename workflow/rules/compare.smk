rule compare:
    input:
        metrics=run_paths(f"{R}/eval/{{exp}}/{{model}}/seed{{seed}}/metrics.json"),
        histories=run_paths(f"{R}/train/{{exp}}/{{model}}/seed{{seed}}/history.csv"),
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
        runs=RUNS,
        baselines=BASELINES,
        baseline=config["compare"]["baseline"],
        candidate=config["compare"]["candidate"],
        thresholds=config["compare"].get("thresholds", {}),
        ladder=config["compare"].get("ladder", []),
    script:
        "../scripts/compare.py"
