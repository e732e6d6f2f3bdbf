# One job per run (rule train), or with training.vmap_seeds one job per experiment x model
# that trains every seed of run.seeds as one vmapped program (rule train_seeds) and writes
# each seed's outputs where its own train job would. Other rules name the files (L.model()
# and the like), not the rule, so they read either.
if not config["training"]["vmap_seeds"]:

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

else:

    rule train_seeds:
        input:
            unpack(lambda wc: feature_inputs(wc.exp, "features", "clips", "stats")),
            unpack(lambda wc: offset_inputs(wc.exp)),
            weights=rules.weight_table.output.weights,
        output:
            model=[directory(L.model(seed=s)) for s in SEEDS],
            history=[L.history(seed=s) for s in SEEDS],
            summary=[L.summary(seed=s) for s in SEEDS],
        log:
            L.log("train", SEEDS_RUN),
        benchmark:
            L.benchmark("train", SEEDS_RUN)
        conda:
            "../envs/jaxaudio.yaml"
        threads: 1
        resources:
            gpu=1 if LOCAL_GPUS else 0,
            mem_mb=train_mem_mb,
            # the seeds' epochs run together: the job takes about their sum of minutes
            runtime=lambda wc, input, attempt: len(SEEDS)
            * train_runtime(wc, input, attempt),
        params:
            settings=lambda wc: [
                run_settings(config, wc.exp, wc.model, int(s)) for s in SEEDS
            ],
            checkpoints=lambda wc: [L.checkpoints(wc.exp, wc.model, s) for s in SEEDS],
        script:
            "../scripts/train_seeds.py"
