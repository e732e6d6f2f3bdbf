# Before JAX starts: deterministic GPU kernels, one CPU thread pool for a one-thread job.
from jaxaudio.runtime.xla_flags import set_training_flags

set_training_flags(snakemake.threads)

from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    import jax

    from jaxaudio.stages import train
    from jaxaudio.stages.io import named

    log.info("JAX backend %s, devices %s", jax.default_backend(), jax.devices())
    result = train.run(
        named(train.Inputs, snakemake.input),
        named(train.Outputs, snakemake.output),
        dict(snakemake.params.settings),
        snakemake.params.checkpoints,
    )
    log.info("summary: %s", result.summary)
