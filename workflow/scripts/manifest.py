from jaxaudio.runtime.runlog import step_log

with step_log(snakemake.log[0]) as log:
    from jaxaudio.stages.data import ManifestInputs, ManifestOutputs, manifest
    from jaxaudio.stages.io import named

    p = snakemake.params
    df, species = manifest(
        named(ManifestInputs, snakemake.input),
        named(ManifestOutputs, snakemake.output),
        split=p.split,
        min_clips=p.min_clips,
        too_few_clips=p.too_few_clips,
        background_label=p.background_label,
        open_set=p.open_set,
    )
    log.info(
        "%d clips of %d species; splits %s; held out of training: %s",
        len(df),
        len(species),
        df["split"].value_counts().to_dict(),
        df.attrs.get("held_out") or "none",
    )
