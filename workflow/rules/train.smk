rule train:
    input:
        features=rules.features.output.features,
        clips=rules.features.output.clips,
        stats=rules.stats.output[0],
        weights=rules.class_weights.output[0],
    output:
        model=directory(f"{R}/train/{{exp}}/{{model}}/seed{{seed}}/model"),
        history=f"{R}/train/{{exp}}/{{model}}/seed{{seed}}/history.csv",
        summary=f"{R}/train/{{exp}}/{{model}}/seed{{seed}}/summary.json",
    log:
        f"{R}/logs/train/{{exp}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{exp}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        settings=lambda wc: run_settings(config, wc.exp, wc.model, int(wc.seed)),
        # Resumable checkpoints live outside the declared outputs, which Snakemake deletes
        # before rerunning an interrupted job.
        checkpoints=lambda wc: f"{R}/checkpoints/{wc.exp}/{wc.model}/seed{wc.seed}",
    script:
        "../scripts/train.py"
