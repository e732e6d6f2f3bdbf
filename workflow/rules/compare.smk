# The ladder's checkpoint: the candidate's decision per model, from the baseline's and the
# candidate's runs. The compare rule's inputs depend on it (ladder_runs in common.smk), so
# the rungs are trained only when a model's candidate is not GO.
checkpoint decision:
    input:
        **eval_files(DECISION_RUNS),
    output:
        json=f"{R}/compare/decision.json",
    log:
        f"{R}/logs/compare/decision.log",
    benchmark:
        f"{R}/benchmarks/compare/decision.tsv"
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
        decision=rules.decision.output.json,
        baselines=expand(
            f"{R}/eval/baselines/{{baseline}}/metrics.json", baseline=BASELINES
        ),
    output:
        json=f"{R}/comparison.json",
        table=f"{R}/comparison.txt",
        findings=f"{R}/findings.md",
    log:
        f"{R}/logs/compare.log",
    benchmark:
        f"{R}/benchmarks/compare.tsv"
    conda:
        "../envs/jaxaudio.yaml"
    params:
        runs=lambda wc: compared_runs(),
        baselines=BASELINES,
        settings=config["compare"],
    script:
        "../scripts/compare.py"
