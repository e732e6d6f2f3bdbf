from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.evaluation.compare import EVAL_KEYS, decision_file

    decisions = decision_file(
        snakemake.params.runs,
        {k: snakemake.input[k] for k in EVAL_KEYS},
        snakemake.params.settings,
        snakemake.output.json,
    )
    log.info("candidate decision per model: %s", decisions["models"])
