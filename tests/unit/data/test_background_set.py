"""The background set: its settings, and how the manifest step makes it "no species"."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.data.background_set import SYNTHETIC_CLIPS, BackgroundSettings
from jaxaudio.data.clips import ClipTable
from jaxaudio.data.manifest import ManifestError, dataset_summary, resolve_manifest


def test_settings_from_the_config_forms():
    assert BackgroundSettings.from_config(None) is None
    assert BackgroundSettings.from_config("synthetic") == BackgroundSettings(
        synthetic=SYNTHETIC_CLIPS
    )
    s = BackgroundSettings.from_config({"paths": ["/x"], "label": "noise"})
    assert (s.synthetic, s.paths, s.label, s.writes_files) == (0, ["/x"], "noise", True)
    assert not BackgroundSettings.from_config({"label": "noise"}).writes_files
    with pytest.raises(ValueError, match="unknown BackgroundSettings keys: \\['clips'\\]"):
        BackgroundSettings.from_config({"clips": 3})


def manifest(tmp_path, rows):
    for path, _, _ in rows:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / path, np.zeros(100, np.float32), 8000)
    out = tmp_path / "m.csv"
    pd.DataFrame(rows, columns=["path", "species", "split"]).to_csv(out, index=False)
    return out


def test_background_rows_are_no_species_and_take_the_reserved_label(tmp_path):
    """Manifest rows labelled `background` and the background rule's rows: out of the species
    list (so a background set with no training row is no error), label len(species) = 2."""
    m = manifest(
        tmp_path,
        [
            ("a/0.wav", "a", "train"),
            ("a/1.wav", "a", "test"),
            ("a/2.wav", "a", "val"),
            ("b/0.wav", "b", "train"),
            ("b/1.wav", "b", "val"),
            ("b/2.wav", "b", "test"),
            ("n/0.wav", "background", "test"),  # a background row of the user's manifest
        ],
    )
    extra = pd.DataFrame(
        {
            "path": [str(tmp_path / "n/0.wav")] * 2,
            "species": "background",
            "split": ["train", "val"],
        }
    )
    df, species = resolve_manifest(m, background_label="background", background_rows=extra)
    assert species == ["a", "b"]
    bg = df[df["background"]]
    assert (
        len(bg) == 3 and set(bg["label"]) == {2} and sorted(bg["split"]) == ["test", "train", "val"]
    )
    assert df.loc[~df["background"], "label"].tolist() == [0, 0, 0, 1, 1, 1]
    assert dataset_summary(df, species)["background"] == {"train": 1, "val": 1, "test": 1}
    # without a background label the same row is a species of its own, with no training clip
    with pytest.raises(ManifestError, match="species with no training clip: \\['background'\\]"):
        resolve_manifest(m)


def test_clip_table_classes_end_with_the_background_class(tmp_path):
    clips = tmp_path / "clips.csv"
    pd.DataFrame(
        {
            "path": ["x", "y", "z"],
            "species": ["b", "noise", "a"],
            "split": ["train", "train", "val"],
            "label": [1, 2, 0],
            "background": [False, True, False],
        }
    ).to_csv(clips, index=False)
    t = ClipTable.read(clips)
    assert (t.species, t.background_label, t.classes) == (["a", "b"], "noise", ["a", "b", "noise"])
    assert t.is_background.tolist() == [False, True, False]
    assert t.train_species() == ["b", "noise"]  # the class-weight counts include the background


def test_a_clip_table_without_the_column_has_no_background(tmp_path):
    clips = tmp_path / "clips.csv"
    pd.DataFrame({"path": ["x"], "species": ["a"], "split": ["train"], "label": [0]}).to_csv(
        clips, index=False
    )
    t = ClipTable.read(clips)
    assert (t.background_label, t.classes) == (None, ["a"])
