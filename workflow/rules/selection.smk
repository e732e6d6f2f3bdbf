# compare.selection: each compared experiment x model trained again on seeded re-splits of
# the train and val clips (jaxaudio/data/resplit.py), so the recommendation ranks the
# configurations on several validation splits, never on the test split. Each re-split has
# its own clip table, statistics and class weights, made by the stats and weight_table
# stages' scripts on it.


rule resplit:
    input:
        clips=L.clips(DEFAULT_SET),
    output:
        clips=L.selection_clips(),
    log:
        L.log("selection", "split{k}/clips"),
    benchmark:
        L.benchmark("selection", "split{k}/clips")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        seed=lambda wc: config["compare"]["selection"]["seed"] + int(wc.k),
    script:
        "../scripts/resplit.py"


rule resplit_stats:
    input:
        features=L.features(),
        clips=L.selection_clips(),
    output:
        stats=L.selection_stats(),
    log:
        L.log("selection", "split{k}/{fset}/stats"),
    benchmark:
        L.benchmark("selection", "split{k}/{fset}/stats")
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        mem_mb=lambda wc, input, attempt: attempt * (1000 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (10 + int(input.size_mb) // 100),
    params:
        settings=lambda wc: feature_settings(config, wc.fset),
    script:
        "../scripts/stats.py"


rule resplit_weights:
    input:
        clips=L.selection_clips(),
    output:
        weights=L.selection_weights(),
    log:
        L.log("selection", "split{k}/class_weights"),
    benchmark:
        L.benchmark("selection", "split{k}/class_weights")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        beta=config["class_weights"]["effective_beta"],
        recommended=config["class_weights"]["recommended"],
    script:
        "../scripts/weight_table.py"


# The train rule's job on a re-split: the same script and settings, seed k.
rule train_resplit:
    input:
        unpack(lambda wc: feature_inputs(wc.exp, "features")),
        unpack(lambda wc: offset_inputs(wc.exp)),
        clips=L.selection_clips(),
        stats=lambda wc: L.selection_stats(feature_set_of(config, wc.exp), wc.k),
        weights=L.selection_weights(),
    output:
        model=directory(L.selection_train("model")),
        history=L.selection_train("history.csv"),
        summary=L.selection_train("summary.json"),
    log:
        L.log("selection", "split{k}/train/{exp}/{model}"),
    benchmark:
        L.benchmark("selection", "split{k}/train/{exp}/{model}")
    conda:
        "../envs/jaxaudio.yaml"
    threads: 1
    resources:
        gpu=1 if LOCAL_GPUS else 0,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        settings=lambda wc: run_settings(config, wc.exp, wc.model, int(wc.k)),
        checkpoints=lambda wc: L.selection_checkpoints(wc.exp, wc.model, wc.k),
    script:
        "../scripts/train.py"
