from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages import predict
    from jaxaudio.stages.io import named

    # A file that cannot be read is listed in failed.csv and the job goes on; the job fails
    # only when not one file could be read (require_some_read), with every output written.
    run = predict.run(
        named(predict.Inputs, snakemake.input),
        named(predict.Outputs, snakemake.output),
        settings=snakemake.params.settings,
    )
    for r in run.failures:
        log.warning("failed: %s: %s", r.file, r.reason)
    log.info(
        "%d detection(s) in %d of %d file(s); %d failed (%s)",
        len(run.detections),
        len(run.read),
        len(run.files),
        len(run.failures),
        run.failed_csv,
    )
    run.require_some_read()
