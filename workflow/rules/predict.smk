rule predict:
    input:
        bundle=lambda wc: bundle_path(config["predict"][wc.job]["bundle"]),
        audio=lambda wc: config["predict"][wc.job]["audio"],
        # the job's species list (only those species reported), when it names one
        species_list=lambda wc: config["predict"][wc.job].get("species_list") or [],
    output:
        detections=L.prediction_file("detections.csv"),
        raven=directory(L.prediction_file("raven")),
        audacity=directory(L.prediction_file("audacity")),
        # files that could not be read (file,reason; just the header when none): the job
        # fails only when no file at all could be read
        failed=L.prediction_file("failed.csv"),
    log:
        L.log("predict", "{job}"),
    benchmark:
        L.benchmark("predict", "{job}")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        settings=lambda wc: {
            k: v
            for k, v in config["predict"][wc.job].items()
            if k not in ("audio", "bundle", "species_list", "truth")
        },
    script:
        "../scripts/predict.py"


# A job that names `truth:` (Raven tables or a truth CSV, as `jaxaudio score --truth` reads):
# its detections scored against it, the bundle's species known, durations from its audio.
rule score_predictions:
    input:
        detections=rules.predict.output.detections,
        truth=lambda wc: config["predict"][wc.job]["truth"],
        audio=lambda wc: config["predict"][wc.job]["audio"],
        bundle=lambda wc: bundle_path(config["predict"][wc.job]["bundle"]),
    output:
        scores=L.prediction_file("scores.json"),
    log:
        L.log("score_predictions", "{job}"),
    benchmark:
        L.benchmark("score_predictions", "{job}")
    conda:
        "../envs/jaxaudio.yaml"
    script:
        "../scripts/score_predictions.py"
