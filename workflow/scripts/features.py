from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.features.cache import build_feature_cache

    clips = build_feature_cache(
        snakemake.input.manifest,
        dict(snakemake.params.settings),
        snakemake.output.features,
        snakemake.output.clips,
        snakemake.output.skipped,
        cache_dir=snakemake.params.cache,
        on_bad_file=snakemake.params.on_bad_file,
        threads=snakemake.threads,
        # read here, not a param: `strict` changes no output, so toggling it reruns nothing
        strict=snakemake.config.get("strict", False),
    )
    log.info("%d clips from %d recordings", len(clips), clips["recording"].nunique())
