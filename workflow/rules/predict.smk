rule predict:
    input:
        bundle=lambda wc: bundle_path(config["predict"][wc.job]["bundle"]),
        audio=lambda wc: config["predict"][wc.job]["audio"],
    output:
        detections=L.prediction_file("detections.csv"),
        raven=directory(L.prediction_file("raven")),
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
            if k not in ("audio", "bundle")
        },
    script:
        "../scripts/predict.py"
