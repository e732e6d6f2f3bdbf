# Before JAX starts: deterministic GPU kernels, one CPU thread pool for a one-thread job.
from jaxaudio.runtime.xla_flags import set_training_flags

set_training_flags(snakemake.threads)

from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from pathlib import Path

    import jax

    from jaxaudio.stages import train
    from jaxaudio.stages.io import named

    log.info("JAX backend %s, devices %s", jax.default_backend(), jax.devices())

    def files(x):  # Snakemake gives a one-file list output as a plain string
        return [Path(x)] if isinstance(x, str) else [Path(f) for f in x]

    out = snakemake.output
    outputs = [
        train.Outputs(model=m, history=h, summary=s)
        for m, h, s in zip(files(out.model), files(out.history), files(out.summary), strict=True)
    ]
    results = train.run_seeds(
        named(train.Inputs, snakemake.input),
        outputs,
        [dict(s) for s in snakemake.params.settings],
        snakemake.params.checkpoints,
    )
    for s, result in zip(snakemake.params.settings, results, strict=True):
        log.info("seed %s summary: %s", s["seed"], result.summary)
