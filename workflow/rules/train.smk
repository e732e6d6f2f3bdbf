rule train:
    input:
        features=rules.features.output.features,
        clips=rules.features.output.clips,
        stats=rules.stats.output[0],
        weights=rules.class_weights.output[0],
    output:
        model=directory(f"{R}/train/{{exp}}/{{model}}/model"),
        history=f"{R}/train/{{exp}}/{{model}}/history.csv",
        summary=f"{R}/train/{{exp}}/{{model}}/summary.json",
    log:
        f"{R}/logs/train/{{exp}}/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{exp}}/{{model}}.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        settings=lambda wc: run_settings(config, wc.exp, wc.model),
        # Resumable checkpoints live outside the declared outputs, which Snakemake deletes
        # before rerunning an interrupted job.
        checkpoints=lambda wc: f"{R}/checkpoints/{wc.exp}/{wc.model}",
    script:
        "../scripts/train.py"
