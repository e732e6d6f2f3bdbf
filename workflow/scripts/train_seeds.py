# Before JAX starts: deterministic GPU kernels, one CPU thread pool for a one-thread job.
from jaxaudio.runtime.xla_flags import set_training_flags

set_training_flags(snakemake.threads)

from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    import jax

    from jaxaudio.stages import train
    from jaxaudio.stages.io import named

    log.info("JAX backend %s, devices %s", jax.default_backend(), jax.devices())

    results = train.run_seeds(
        named(train.Inputs, snakemake.input),
        named(train.SeedOutputs, snakemake.output).per_seed(),
        [dict(s) for s in snakemake.params.settings],
        snakemake.params.checkpoints,
    )
    for s, result in zip(snakemake.params.settings, results, strict=True):
        log.info("seed %s summary: %s", s["seed"], result.summary)
