# jaxaudio: labelled recordings in, trained and evaluated species classifiers out.
# Entry point: loads and validates the config, includes one rule file per stage and
# declares the final targets. All logic lives in the jaxaudio package.
import os

from snakemake.utils import min_version

# 9.17: earlier 9.x releases schedule jobs beyond --cores (snakemake/snakemake#3913).
min_version("9.17")


# Defaults; a --configfile given on the command line is merged on top of this file.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# `snakemake --report results/report.html`: this text on the front page, then every output
# marked report(...) in the rules, with its caption from workflow/report/.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/selection.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/bundle.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
