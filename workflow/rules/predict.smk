rule predict:
    input:
        bundle=lambda wc: bundle_path(config["predict"][wc.job]["bundle"]),
        audio=lambda wc: config["predict"][wc.job]["audio"],
    output:
        detections=f"{R}/predictions/{{job}}/detections.csv",
        raven=directory(f"{R}/predictions/{{job}}/raven"),
        # files that could not be read (file,reason; just the header when none): the job
        # fails only when no file at all could be read
        failed=f"{R}/predictions/{{job}}/failed.csv",
    log:
        f"{R}/logs/predict/{{job}}.log",
    benchmark:
        f"{R}/benchmarks/predict/{{job}}.tsv"
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
