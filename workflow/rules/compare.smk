# The ladder's checkpoint: the candidate's decision per model, from the baseline's and the
# candidate's runs. The compare rule's inputs depend on it (ladder_runs in common.smk), so
# the rungs are trained only when a model's candidate is not GO.
checkpoint decision:
    input:
        **eval_files(DECISION_RUNS),
    output:
        json=L.decision(),
    log:
        L.log("compare", "decision"),
    benchmark:
        L.benchmark("compare", "decision")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=DECISION_RUNS,
        settings=config["compare"],
    script:
        "../scripts/decision.py"


rule compare:
    input:
        unpack(lambda wc: eval_files(compared_runs())),
        unpack(lambda wc: ensemble_files(ensembles_of(compared_runs()))),
        selection=lambda wc: selection_summaries(selection_runs(compared_runs())),
        decision=rules.decision.output.json,
        baselines=expand(L.baseline_eval_file("metrics.json"), baseline=BASELINES),
    output:
        json=L.comparison(),
        table=L.comparison("txt"),
        findings=L.findings(),
    log:
        L.log("compare"),
    benchmark:
        L.benchmark("compare")
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=lambda wc: compared_runs(),
        ensembles=lambda wc: ensembles_of(compared_runs()),
        selection=lambda wc: selection_runs(compared_runs()),
        baselines=BASELINES,
        settings=config["compare"],
    script:
        "../scripts/compare.py"
