from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.data.manifest import prepare_manifest

    split = snakemake.params.split
    df, species = prepare_manifest(
        snakemake.input.manifest,
        snakemake.output.manifest,
        snakemake.output.summary,
        seed=split["seed"],
        val_fraction=split["val_fraction"],
        test_fraction=split["test_fraction"],
        min_clips_per_species=snakemake.params.min_clips,
        too_few_clips=snakemake.params.too_few_clips,
    )
    log.info("%d clips of %d species; splits %s", len(df), len(species), df["split"].value_counts().to_dict())
