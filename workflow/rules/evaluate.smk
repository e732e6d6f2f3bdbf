rule evaluate:
    input:
        unpack(lambda wc: offset_inputs(wc.exp)),
        unpack(lambda wc: feature_inputs(wc.exp, "features", "clips")),
        model=L.model(),
        history=L.history(),
        weights=rules.weight_table.output.weights,
    output:
        metrics=L.eval_file("metrics.json"),
        per_class=L.eval_file("per_class.csv"),
        confusion=L.eval_file("confusion.npy"),
        # test labels and probabilities: the comparison's paired bootstrap reads them
        scores=L.eval_file("test_scores.npz"),
        confusion_png=report(
            L.eval_file("confusion.png"),
            caption="../report/confusion.rst",
            category="3. Confusion matrices",
            subcategory="{model}",
            labels={"experiment": "{exp}", "model": "{model}", "seed": "{seed}"},
        ),
        curves_png=report(
            L.eval_file("curves.png"),
            caption="../report/curves.rst",
            category="4. Training curves",
            subcategory="{model}",
            labels={"experiment": "{exp}", "model": "{model}", "seed": "{seed}"},
        ),
    log:
        L.log("eval", RUN),
    benchmark:
        L.benchmark("eval", RUN)
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        # Cluster jobs: JAX plus batches of the cache (740 MB peak for a 41 MB cache).
        mem_mb=lambda wc, input, attempt: attempt * (1500 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (15 + int(input.size_mb) // 20),
    params:
        scoring=config["evaluation"],
        # the length of every clip (detections per hour of background audio)
        clip_seconds=config["features"]["clip_seconds"],
    script:
        "../scripts/evaluate.py"


# compare.ensemble: the mean of an experiment x model's seeds' probabilities, scored as one
# model (calibrated, thresholded, every evaluation file but the training curves).
rule evaluate_ensemble:
    input:
        unpack(lambda wc: offset_inputs(wc.exp)),
        unpack(lambda wc: feature_inputs(wc.exp, "features", "clips")),
        models=lambda wc: [L.model(wc.exp, wc.model, s) for s in SEEDS],
        weights=rules.weight_table.output.weights,
    output:
        metrics=L.ensemble_eval_file("metrics.json"),
        per_class=L.ensemble_eval_file("per_class.csv"),
        confusion=L.ensemble_eval_file("confusion.npy"),
        scores=L.ensemble_eval_file("test_scores.npz"),
        confusion_png=report(
            L.ensemble_eval_file("confusion.png"),
            caption="../report/confusion.rst",
            category="3. Confusion matrices",
            subcategory="{model}",
            labels={"experiment": "{exp}", "model": "{model}", "seed": "ensemble"},
        ),
    log:
        L.log("eval", ENSEMBLE_RUN),
    benchmark:
        L.benchmark("eval", ENSEMBLE_RUN)
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        mem_mb=lambda wc, input, attempt: attempt * (1500 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (15 + int(input.size_mb) // 20),
    params:
        scoring=config["evaluation"],
        clip_seconds=config["features"]["clip_seconds"],
    script:
        "../scripts/evaluate_ensemble.py"
