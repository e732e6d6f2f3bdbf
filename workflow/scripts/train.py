import os

# One XLA CPU thread pool per job, sized to the rule's threads, set before JAX starts.
if "XLA_FLAGS" not in os.environ and snakemake.threads == 1:
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

from jaxaudio.runlog import step_log

with step_log(snakemake.log[0]) as log:
    import jax

    from jaxaudio.train import train_run

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
