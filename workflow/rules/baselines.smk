# The logistic-regression references (config key `baselines`), not the baseline_v1 experiment.
rule logreg:
    input:
        features=L.features(DEFAULT_SET),
        clips=L.clips(DEFAULT_SET),
        weights=rules.weight_table.output.weights,
    output:
        model=directory(L.baseline_model()),
        metrics=L.baseline_eval_file("metrics.json"),
        per_class=L.baseline_eval_file("per_class.csv"),
        confusion=L.baseline_eval_file("confusion.npy"),
    log:
        L.log("baselines", "{baseline}"),
    benchmark:
        L.benchmark("baselines", "{baseline}")
    conda:
        "../envs/jaxaudio.yaml"
    resources:
        # Cluster jobs: pooled statistics of every clip (440 MB peak for a 41 MB cache).
        mem_mb=lambda wc, input, attempt: attempt * (1000 + int(input.size_mb)),
        runtime=lambda wc, input, attempt: attempt * (15 + int(input.size_mb) // 10),
    params:
        settings=lambda wc: config["baselines"][wc.baseline],
        scoring=config["evaluation"],
        # the length of every clip (detections per hour of background audio)
        clip_seconds=config["features"]["clip_seconds"],
        # Outputs stored outside the declared ones, reused when the inputs' content is the
        # same (a byte-identical rebuild of the features reruns this job, not the fit).
        cache=lambda wc: L.baseline_cache(wc.baseline),
    script:
        "../scripts/logreg.py"
