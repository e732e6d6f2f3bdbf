rule train:
    input:
        unpack(lambda wc: feature_inputs(wc.exp, "features", "clips", "stats")),
        unpack(lambda wc: offset_inputs(wc.exp)),
        weights=rules.weight_table.output.weights,
    output:
        model=directory(L.model()),
        history=L.history(),
        summary=L.summary(),
    log:
        L.log("train", RUN),
    benchmark:
        L.benchmark("train", RUN)
    conda:
        "../envs/jaxaudio.yaml"
    threads: 1
    resources:
        # One GPU each where this machine has any, so the gpu limit of profiles/default
        # (one job per GPU) applies; on a CPU-only machine training jobs share the cores
        # like every other job. On a cluster the profile's set-resources decides.
        gpu=1 if LOCAL_GPUS else 0,
        # Cluster jobs: memory and minutes (common.smk, train_mem_mb and train_runtime).
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        settings=lambda wc: run_settings(config, wc.exp, wc.model, int(wc.seed)),
        # Resumable checkpoints live outside the declared outputs, which Snakemake deletes
        # before rerunning an interrupted job.
        checkpoints=lambda wc: L.checkpoints(wc.exp, wc.model, wc.seed),
    script:
        "../scripts/train.py"
