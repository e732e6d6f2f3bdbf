from pathlib import Path

from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.data.synthetic import synthesize

    out = synthesize(Path(snakemake.output.manifest).parent, preset=snakemake.params.preset, seed=snakemake.params.seed)
    log.info("wrote %s", out)
