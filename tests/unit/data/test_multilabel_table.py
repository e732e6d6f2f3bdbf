"""Multi-label manifests (``species`` cells ``a;b``): resolved, read as multi-hot targets, and
refused by the softmax objective with a message naming the file, the line and the key."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.data.clips import ClipTable
from jaxaudio.data.manifest import ManifestError, dataset_summary, resolve_manifest
from jaxaudio.training.weights import compute_class_weights


def manifest(tmp_path, cells):
    rows = []
    for i, cell in enumerate(cells):
        path = tmp_path / f"{i}.wav"
        sf.write(path, np.zeros(800, np.float32), 16000)
        rows.append({"path": path.name, "species": cell})
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


CELLS = ["a", "a", "a", "a", "b", "b", "b", "b", "a;b", "a;b", "b; c", "c", "c", "c"]


def resolved(tmp_path):
    df, species = resolve_manifest(manifest(tmp_path, CELLS), seed=0)
    clips = tmp_path / "clips.csv"
    df.to_csv(clips, index=False)
    return df, species, ClipTable.read(clips)


def test_species_are_the_union_of_the_parts_and_targets_are_multi_hot(tmp_path):
    df, species, table = resolved(tmp_path)
    assert species == ["a", "b", "c"] == table.species
    assert table.multilabel
    row = {cell: i for i, cell in enumerate(df["species"])}
    assert table.targets[row["a;b"]].tolist() == [1, 1, 0]
    assert table.targets[row["b; c"]].tolist() == [0, 1, 1]
    assert table.targets[row["c"]].tolist() == [0, 0, 1]
    # label: the first species' index; the split is stratified by it
    assert df.loc[row["b; c"], "label"] == 1
    summary = dataset_summary(df, species)
    assert sum(summary["counts"]["a"].values()) == 6  # 4 single + 2 "a;b"
    assert sum(summary["counts"]["c"].values()) == 4
    train = table.train_species()
    assert "a;b" not in train and set(train) <= set(species)
    weights = compute_class_weights(train, table.classes, 0.999, "auto")
    assert set(weights["train_counts"]) == {"a", "b", "c"}


def test_softmax_objective_names_the_multi_label_cell_and_the_key(tmp_path):
    _, _, table = resolved(tmp_path)
    with pytest.raises(ManifestError) as err:
        table.check_objective("softmax")
    message = str(err.value)
    assert "manifest.csv line 10" in message  # header = line 1, the first "a;b" is row 9
    assert "training.objective: sigmoid" in message
    table.check_objective("sigmoid")  # accepted


def test_single_label_tables_keep_their_labels(tmp_path):
    df, species = resolve_manifest(manifest(tmp_path, ["a", "a", "b", "b", "b"]), seed=0)
    clips = tmp_path / "clips.csv"
    df.to_csv(clips, index=False)
    table = ClipTable.read(clips)
    assert not table.multilabel
    table.check_objective("softmax")
    assert table.targets.argmax(1).tolist() == table.labels.tolist()


def test_a_malformed_cell_names_its_line(tmp_path):
    with pytest.raises(ManifestError, match=r"line 3: empty label"):
        resolve_manifest(manifest(tmp_path, ["a", "a;;b", "b"]), seed=0)


def test_the_train_stage_refuses_a_multi_label_table_with_softmax_before_training(tmp_path):
    """The check runs where the run's settings meet the table: nothing else is read first."""
    from jaxaudio.stages import train

    _, _, table = resolved(tmp_path)
    missing = tmp_path / "not-there"
    inputs = train.Inputs(missing, table.path, missing, missing)
    outputs = train.Outputs(missing, missing, missing)
    with pytest.raises(
        ManifestError, match=r"manifest\.csv line 10: .*training\.objective: sigmoid"
    ):
        train.run(inputs, outputs, {"arch": "cnn"}, checkpoints=missing)
