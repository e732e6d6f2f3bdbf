"""Config reading, merging and validation (one-line errors naming the key and its file)."""

import copy

import pytest

from jaxaudio.config.load import (
    ConfigError,
    check_config,
    load_config,
    merge_layers,
    read_yaml,
    source_of,
)
from tests.conftest import ROOT

DEFAULT = load_config(ROOT / "config" / "config.yaml")


def mutated(fn):
    c = copy.deepcopy(DEFAULT)
    fn(c)
    return c


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda c: c["models"]["cnn"].update(lr=-1e-3), "models.cnn.lr"),
        (
            lambda c: c["experiments"]["v2"].update(class_weights="focal"),
            "experiments.v2.class_weights",
        ),
        (lambda c: c["run"]["models"].append("resnet"), "run.models.2"),
        (lambda c: c["models"]["vit"].update(arch="resnet"), "models.vit.arch"),
        (lambda c: c["experiments"]["v2"].update(lrr=1), "experiments.v2"),
        (
            lambda c: c["data"].update(source="manifest", manifest="/does/not/exist.csv"),
            "data.manifest",
        ),
        (lambda c: c["compare"].update(baseline="v3"), "compare.baseline"),
        (lambda c: c["features"].update(clip_seconds=0.1), "features.clip_seconds"),
        (lambda c: c["models"]["vit"]["options"].update(patch=[64, 4]), "models.vit.options.patch"),
        (lambda c: c["training"].update(optimizer="lbfgs"), "training.optimizer"),
        (lambda c: c["features"].update(kind="stft"), "features.kind"),
        # the plan's alternatives need one class per clip
        (
            lambda c: c["experiments"]["v2"].update(objective="sigmoid", sampler="balanced"),
            "experiments.v2.sampler",
        ),
        (
            lambda c: c["training"].update(objective="sigmoid", focal_gamma=2.0),
            "training.focal_gamma",
        ),
        (lambda c: c["training"].update(label_smoothing=1.0), "training.label_smoothing"),
        # decoys are of the embedded synthetic species' call families
        (lambda c: c["data"].update(background={"decoys": 10}), "data.background.decoys"),
        # a feature set's own faults name the set
        (
            lambda c: c.update(feature_sets={"p": {"kind": "pcen", "pcen_power": 0}}),
            "feature_sets.p.pcen_power",
        ),
        (
            lambda c: c.update(feature_sets={"m": {"n_mfcc": 64, "n_mels": 32}}),
            "feature_sets.m.n_mfcc",
        ),
        (
            lambda c: c.update(feature_sets={"p": {"kind": "pcen", "db_reference": "peak"}}),
            "feature_sets.p.db_reference",
        ),
        # a set that would change the clips, and a set nobody declared
        (
            lambda c: c.update(feature_sets={"long": {"clip_seconds": 3.0}}),
            "feature_sets.long.clip_seconds",
        ),
        (lambda c: c["experiments"]["v2"].update(features="pcen"), "experiments.v2.features"),
        # the ViT's patch (8 rows) against the feature map of the experiment's set (6 rows)
        (
            lambda c: (
                c.update(feature_sets={"small": {"kind": "logmel", "n_mels": 6}}),
                c["experiments"]["v2"].update(features="small"),
            ),
            "models.vit.options.patch",
        ),
    ],
)
def test_bad_values_name_the_key(change, key):
    with pytest.raises(ConfigError) as err:
        check_config(mutated(change))
    msg = str(err.value)
    assert key in msg and "\n" not in msg


def test_manifest_fault_is_reported_at_load(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("file,label\nx.wav,a\n")
    with pytest.raises(ConfigError, match="data.manifest: .*m.csv: missing required column"):
        check_config(mutated(lambda c: c["data"].update(source="manifest", manifest=str(bad))))


def write(path, text):
    path.write_text(text)
    return path


def test_empty_mapping_in_an_overlay_means_none(tmp_path):
    """`{}` replaces what earlier files set (config/README.md); Snakemake's own merge keeps it."""
    first = write(tmp_path / "a.yaml", "training:\n  augment: {time_shift: 4}\n")
    second = write(tmp_path / "b.yaml", "baselines: {}\ntraining:\n  augment: {}\n")
    c = load_config(ROOT / "config" / "config.yaml", first, second)
    assert c["baselines"] == {} and c["training"]["augment"] == {}
    assert (
        c["training"]["patience"] == DEFAULT["training"]["patience"]
    )  # the rest of training: kept
    assert load_config(ROOT / "config" / "config.yaml", first)["training"]["augment"] == {
        "time_shift": 4
    }


def test_merge_layers_records_which_file_set_each_key():
    merged, sources = merge_layers(
        [("a.yaml", {"x": {"y": 1, "z": 2}, "l": [1]}), ("b.yaml", {"x": {"y": 3}, "l": [2]})]
    )
    assert merged == {"x": {"y": 3, "z": 2}, "l": [2]}
    assert source_of("x.y", sources) == "b.yaml" and source_of("x.z", sources) == "a.yaml"
    assert source_of("l.0", sources) == "b.yaml"  # a list element: the file that set the list


def test_exponent_without_a_dot_is_a_number(tmp_path):
    """PyYAML (YAML 1.1) reads `1e-3` as the string '1e-3'; config files read it as 0.001."""
    import yaml

    assert yaml.safe_load("lr: 1e-3")["lr"] == "1e-3"  # the trap
    c = load_config(
        ROOT / "config" / "config.yaml",
        write(tmp_path / "o.yaml", "models:\n  cnn:\n    lr: 1e-3\n    epochs: 5\n"),
    )
    assert c["models"]["cnn"]["lr"] == 0.001 and isinstance(c["models"]["cnn"]["lr"], float)
    assert c["models"]["cnn"]["epochs"] == 5 and isinstance(c["models"]["cnn"]["epochs"], int)
    assert read_yaml(write(tmp_path / "s.yaml", "name: v1e3\nversion: '1e3'\n")) == {
        "name": "v1e3",
        "version": "1e3",
    }


def test_exponent_given_as_text_says_how_to_write_it():
    with pytest.raises(
        ConfigError,
        match=r"config key models.cnn.lr: .*write it with a dot, e.g. 1.0e-3, or as 0.001",
    ):
        check_config(mutated(lambda c: c["models"]["cnn"].update(lr="1e-3")))


def test_errors_name_the_file_that_set_the_key(tmp_path):
    mine = write(tmp_path / "mine.yaml", "models:\n  cnn:\n    lr: -1\n")
    with pytest.raises(ConfigError, match=r"^config key models.cnn.lr \(in .*mine.yaml\): "):
        load_config(ROOT / "config" / "config.yaml", mine)
    bad_ref = write(tmp_path / "ref.yaml", "compare:\n  candidate: v9\n")
    with pytest.raises(
        ConfigError, match=r"^config key compare.candidate \(in .*ref.yaml\): experiment 'v9'"
    ):
        load_config(ROOT / "config" / "config.yaml", bad_ref)


def manifest_with(tmp_path, rows, header="path,species"):
    """A manifest CSV over real (tiny) WAV files, one per row."""
    import numpy as np
    import soundfile as sf

    lines = [header]
    for i, row in enumerate(rows):
        name = f"a{i}.wav"
        sf.write(tmp_path / name, np.full(2205, 0.1, np.float32), 22050)
        lines.append(f"{name},{row}")
    return write(tmp_path / "manifest.csv", "\n".join(lines) + "\n")


def with_manifest(path, **data):
    return mutated(lambda c: c["data"].update(source="manifest", manifest=str(path), **data))


def test_one_species_is_rejected_at_start_naming_the_manifest(tmp_path):
    m = manifest_with(tmp_path, ["robin"] * 12)
    with pytest.raises(
        ConfigError, match=rf"config key data.manifest: {m}: 1 species \(robin\) .*at least 2"
    ):
        check_config(with_manifest(m))


def test_species_excluded_below_min_clips_count_towards_the_two(tmp_path):
    m = manifest_with(tmp_path, ["robin"] * 12 + ["wren"] * 2)
    check_config(with_manifest(m))
    with pytest.raises(ConfigError, match="1 species"):
        check_config(with_manifest(m, min_clips_per_species=3))


def test_an_empty_validation_split_is_rejected_at_start(tmp_path):
    # 2 clips per species: the seeded split gives 1 test + 1 train, no validation clip at all
    m = manifest_with(tmp_path, ["robin", "robin", "wren", "wren"])
    with pytest.raises(
        ConfigError, match=r"the val split is empty .* raise data.split.val_fraction"
    ):
        check_config(with_manifest(m))
    given = manifest_with(
        tmp_path,
        ["robin,train", "robin,test", "wren,train", "wren,test"],
        header="path,species,split",
    )
    with pytest.raises(ConfigError, match="the val split is empty .* give some rows that split"):
        check_config(with_manifest(given))


def test_batch_larger_than_the_training_split_warns_or_fails_with_the_numbers(tmp_path):
    m = manifest_with(tmp_path, ["robin"] * 10 + ["wren"] * 10)  # 6 + 6 train clips
    warnings = check_config(with_manifest(m))
    batch = [w for w in warnings if "batch_size" in w]
    assert len(batch) == 4  # 2 experiments x 2 models
    assert any(
        w.startswith(
            "config key models.cnn.batch_size: batch_size 64 is larger than the training split (12 clips)"
        )
        for w in batch
    )
    assert any("models.vit.batch_size: batch_size 32" in w for w in batch)
    small = with_manifest(m)
    small["models"]["cnn"]["batch_size"] = small["models"]["vit"]["batch_size"] = 8
    assert not [w for w in check_config(small) if "batch_size" in w]
    strict = with_manifest(m)
    strict["strict"] = True
    with pytest.raises(
        ConfigError,
        match=r"batch_size 64 is larger than the training split \(12 clips\).*strict: true",
    ):
        check_config(strict)


def test_a_feature_set_is_the_features_section_with_its_overrides():
    from jaxaudio.config.resolve import feature_set_of, feature_sets_of, feature_settings

    c = mutated(
        lambda c: (
            c.update(feature_sets={"pcen64": {"kind": "pcen", "n_mels": 64}}),
            c["experiments"]["v2"].update(features="pcen64"),
        )
    )
    check_config(c)
    s = feature_settings(c, "pcen64")
    assert s == {**c["features"], "kind": "pcen", "n_mels": 64}
    assert feature_settings(c) == c["features"]  # the default set: the section itself
    assert (feature_set_of(c, "v2"), feature_set_of(c, "baseline_v1")) == ("pcen64", "default")
    assert feature_sets_of(c, ["v2"]) == ["default", "pcen64"]  # baselines read the default


def test_a_feature_set_may_have_its_own_offset_copies():
    """``feature_sets.<name>.offset_copies`` replaces ``offsets.copies`` for that set only,
    is no frontend key (its features are those of the same set without it), and is checked
    by the schema like ``offsets.copies``."""
    from jaxaudio.config.load import validate_schema
    from jaxaudio.config.resolve import feature_settings, offset_settings

    c = mutated(
        lambda c: c.update(
            feature_sets={"bn": {"kind": "logmel", "offset_copies": 0}, "lm": {"kind": "logmel"}}
        )
    )
    validate_schema(c)
    check_config(c)
    assert feature_settings(c, "bn") == feature_settings(c, "lm")
    assert offset_settings(c, "bn") == {**c["offsets"], "copies": 0}
    assert offset_settings(c, "lm") == offset_settings(c) == c["offsets"]
    assert c["offsets"]["copies"] == 4  # the section itself is left alone
    c["feature_sets"]["bn"]["offset_copies"] = -1
    with pytest.raises(ConfigError, match="offset_copies"):
        validate_schema(c)


def _with_embeddings(c, **experiment):
    """A birdnet feature set, an ``mlp`` model beside the CNN and ViT, and experiment ``bn``
    (``experiment``: its other keys) on the embeddings."""
    c.update(feature_sets={"bn": {"kind": "birdnet", "deltas": False}})
    c["models"]["head"] = {"arch": "mlp", "options": {"hidden": [64]}}
    c["experiments"]["bn"] = {"features": "bn", **experiment}
    c["run"].update(experiments=["baseline_v1", "v2", "bn"], models=["cnn", "vit", "head"])


@pytest.fixture
def birdnet_extra(monkeypatch):
    """The extra counts as installed: these are the config's rules, not the model's."""
    from jaxaudio.features import config as feature_config

    monkeypatch.setattr(feature_config, "missing_extra", lambda kind: None)


def test_an_embedding_experiment_trains_only_the_models_that_take_a_vector(birdnet_extra):
    from jaxaudio.config.resolve import trains_on

    c = mutated(_with_embeddings)
    check_config(c)
    runs = c["run"]
    assert [
        (e, m) for e in runs["experiments"] for m in runs["models"] if not trains_on(c, e, m)
    ] == [
        ("bn", "cnn"),
        ("bn", "vit"),
    ]
    assert trains_on(c, "bn", "head") and trains_on(c, "v2", "head") and trains_on(c, "v2", "cnn")


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c["compare"].update(candidate="bn"),
            r"config key compare.candidate: experiment 'bn' trains on an embedding feature set, "
            r"which models \['cnn', 'vit'\]",
        ),
        (
            lambda c: c.update(bundles=[{"experiment": "bn", "model": "cnn", "seed": 0}]),
            "config key bundles.0: model cnn is not trained on experiment bn",
        ),
        (
            lambda c: c["experiments"]["bn"].update(augment={"time_shift": 4}),
            r"config key experiments.bn.augment.time_shift: experiment bn trains on an embedding",
        ),
    ],
)
def test_what_an_embedding_run_cannot_do_is_a_config_error(birdnet_extra, change, message):
    c = mutated(_with_embeddings)
    change(c)
    with pytest.raises(ConfigError, match=message):
        check_config(c)


def test_mixup_is_the_augmentation_an_embedding_takes(birdnet_extra):
    check_config(mutated(lambda c: _with_embeddings(c, augment={"mixup_alpha": 0.2})))
