from jaxaudio.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.predict import predict_paths

    df, files = predict_paths(
        snakemake.input.bundle,
        snakemake.input.audio,
        snakemake.output.detections,
        snakemake.output.raven,
        **dict(snakemake.params.settings),
    )
    log.info("%d detection(s) in %d file(s)", len(df), len(files))
