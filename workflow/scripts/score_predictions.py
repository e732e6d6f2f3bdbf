from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.evaluation.events import format_scores
    from jaxaudio.stages import field
    from jaxaudio.stages.io import named

    scores = field.score_predictions(
        named(field.ScoreInputs, snakemake.input), named(field.ScoreOutputs, snakemake.output)
    )
    log.info("%s\n%s", snakemake.output.scores, format_scores(scores))
