# Before JAX starts: deterministic GPU kernels, one CPU thread pool for a one-thread job.
from jaxaudio.runtime.xla_flags import set_training_flags

set_training_flags(snakemake.threads)

from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    import jax

    from jaxaudio.training.loop import train_run

    log.info("JAX backend %s, devices %s", jax.default_backend(), jax.devices())
    result = train_run(
        snakemake.input.features,
        snakemake.input.clips,
        snakemake.input.stats,
        snakemake.input.weights,
        dict(snakemake.params.settings),
        snakemake.output.model,
        snakemake.output.history,
        snakemake.output.summary,
        snakemake.params.checkpoints,
    )
    log.info("summary: %s", result.summary)
