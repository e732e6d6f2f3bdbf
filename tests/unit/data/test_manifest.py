"""Manifest reading, validation errors and the seeded stratified split."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.data.manifest import ManifestError, check_manifest, resolve_manifest
from jaxaudio.data.splits import assign_splits


def make_data(tmp_path, counts, with_split=None):
    rows = []
    for sp, n in counts.items():
        d = tmp_path / "audio" / sp
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            sf.write(d / f"{i}.wav", np.zeros(800, np.float32), 16000)
            rows.append({"path": f"audio/{sp}/{i}.wav", "species": sp})
    df = pd.DataFrame(rows)
    if with_split is not None:
        df["split"] = with_split(df)
    path = tmp_path / "manifest.csv"
    df.to_csv(path, index=False)
    return path


def test_split_is_stratified_seeded_and_every_species_trains(tmp_path):
    counts = {"Blue Jay": 40, "Common Loon": 12, "Dunlin": 3, "Osprey": 1}
    path = make_data(tmp_path, counts)
    df, species = resolve_manifest(path, seed=3, val_fraction=0.15, test_fraction=0.25)
    assert species == sorted(counts)
    table = df.groupby(["species", "split"]).size().unstack(fill_value=0)
    # hand-computed from round(): 40 -> test 10, val 6, train 24; 12 -> 3, 2, 7;
    # 3 -> round(0.75)=1, round(0.45)=0, 2; 1 -> test and val reduced to keep 1 train clip
    assert table.loc["Blue Jay"].to_dict() == {"test": 10, "train": 24, "val": 6}
    assert table.loc["Common Loon"].to_dict() == {"test": 3, "train": 7, "val": 2}
    assert table.loc["Dunlin"].to_dict() == {"test": 1, "train": 2, "val": 0}
    assert table.loc["Osprey"].to_dict() == {"test": 0, "train": 1, "val": 0}
    again, _ = resolve_manifest(path, seed=3)
    assert list(again["split"]) == list(df["split"])
    other = assign_splits(df.drop(columns="split"), seed=4)
    assert list(other["split"]) != list(df["split"])
    assert list(df["label"]) == [species.index(s) for s in df["species"]]


def test_given_split_is_kept(tmp_path):
    path = make_data(
        tmp_path, {"a b": 4, "c'd": 4}, with_split=lambda df: ["train", "val", "test", "train"] * 2
    )
    df, _ = resolve_manifest(path)
    assert list(df["split"]) == ["train", "val", "test", "train"] * 2


@pytest.mark.parametrize(
    "content, message",
    [
        ("file,species\nx.wav,a\n", r"missing required column\(s\) \['path'\]"),
        (
            "path,species,split\naudio/a/0.wav,a,train\naudio/a/1.wav,a,holdout\n",
            r"unknown split name\(s\) \['holdout'\] \(first on line 3\)",
        ),
        (
            "path,species,split\naudio/a/0.wav,a,train\naudio/b/0.wav,b,test\n",
            r"species with no training clip: \['b'\]",
        ),
        ("path,species\naudio/a/0.wav,\n", r"empty 'species' on line\(s\) \[2\]"),
    ],
)
def test_structural_errors_name_the_file(tmp_path, content, message):
    make_data(tmp_path, {"a": 2, "b": 1})
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ManifestError, match=message) as err:
        check_manifest(path)
    assert "bad.csv" in str(err.value)


def test_missing_audio_files_are_listed(tmp_path):
    path = make_data(tmp_path, {"a": 3})
    (tmp_path / "audio" / "a" / "1.wav").unlink()
    with pytest.raises(ManifestError, match=r"1 audio file\(s\) listed but not found: .*a/1.wav"):
        resolve_manifest(path)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        check_manifest(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "path,species,start,end\naudio/a/0.wav,a,0.5,0.2\n",
            r"start >= end on line\(s\) \[2\] \(line 2: start 0.5, end 0.2\)",
        ),
        (
            "path,species,start\naudio/a/0.wav,a,abc\n",
            r"'start' is not a number on line\(s\) \[2\]",
        ),
        ("path,species,end\naudio/a/0.wav,a,-1\n", r"negative 'end' on line\(s\) \[2\]"),
        (
            "path,species\naudio/a/0.wav,a\naudio/a/1.wav,a\naudio/a/0.wav,a\n",
            r"duplicate rows \(same file\) on lines \[2, 4\]",
        ),
        (
            "path,species,start,end\naudio/a/0.wav,a,0,1\naudio/a/0.wav,a,0,1\n",
            r"duplicate rows \(same file and segment\)",
        ),
    ],
)
def test_segment_and_duplicate_errors(tmp_path, content, message):
    make_data(tmp_path, {"a": 2})
    path = tmp_path / "m.csv"
    path.write_text(content)
    with pytest.raises(ManifestError, match=message):
        check_manifest(path)


def test_segments_of_one_file_are_distinct_rows(tmp_path):
    make_data(tmp_path, {"a": 1, "b": 1})
    path = tmp_path / "m.csv"
    path.write_text(
        "path,species,start,end,split\naudio/a/0.wav,a,0,0.02,train\naudio/a/0.wav,a,0.02,,val\naudio/b/0.wav,b,,,train\n"
    )
    df, _ = resolve_manifest(path)
    assert df["start"].tolist()[:2] == [0.0, 0.02] and np.isnan(df["end"][1])


def test_grouped_split_never_shares_a_group(tmp_path):
    counts = {"a": 30, "b": 12, "c": 4}
    path = make_data(tmp_path, counts)
    df = pd.read_csv(path)
    df["group"] = [
        f"{s}-rec{i // 3}" for s, i in zip(df["species"], df.groupby("species").cumcount())
    ]
    df.to_csv(path, index=False)
    out, _ = resolve_manifest(path, seed=1)
    assert (out.groupby("group")["split"].nunique() == 1).all()
    # species a has 10 groups: round(2.5)=2 test, round(1.5)=2 val, 6 train groups of 3 clips
    a = out[out["species"] == "a"].groupby("split")["group"].nunique().to_dict()
    assert a == {"test": 2, "val": 2, "train": 6}
    assert set(out.loc[out["split"] == "train", "species"]) == set(counts)


def test_too_few_clips_exclude_or_error(tmp_path, caplog):
    path = make_data(tmp_path, {"Blue Jay": 6, "Dunlin": 2, "Osprey": 1})
    with caplog.at_level("WARNING"):
        df, species = resolve_manifest(path, min_clips_per_species=3)
    assert species == ["Blue Jay"]
    assert "Dunlin (2)" in caplog.text and "Osprey (1)" in caplog.text
    with pytest.raises(ManifestError, match=r"fewer than 3 clips: Dunlin \(2\), Osprey \(1\)"):
        resolve_manifest(path, min_clips_per_species=3, too_few_clips="error")


def test_missing_file_is_named_with_its_manifest_line(tmp_path):
    """The line is the one an editor shows: the header is line 1 and blank lines count."""
    make_data(tmp_path, {"Robin": 3})
    path = tmp_path / "manifest.csv"
    path.write_text(
        "path,species\naudio/Robin/0.wav,Robin\n\naudio/Robin/1.wav,Robin\naudio/Robin/x.flac,Robin\n"
    )
    with pytest.raises(ManifestError) as err:
        resolve_manifest(path)
    assert (
        str(err.value)
        == f"{path}: 1 audio file(s) listed but not found: line 5: audio/Robin/x.flac: file does not exist"
    )


def test_folder_listed_as_a_file_is_called_a_folder(tmp_path):
    make_data(tmp_path, {"Robin": 2})
    path = tmp_path / "manifest.csv"
    path.write_text(
        "path,species\naudio/Robin/0.wav,Robin\naudio/Robin,Robin\naudio/Robin/gone.wav,Robin\n"
    )
    with pytest.raises(ManifestError) as err:
        resolve_manifest(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: 2 listed path(s) cannot be read as audio files: ")
    assert "line 3: audio/Robin: is a folder, not an audio file" in msg
    assert "line 4: audio/Robin/gone.wav: file does not exist" in msg
    assert "not found" not in msg


def test_many_missing_files_are_counted(tmp_path):
    make_data(tmp_path, {"a": 1})
    path = tmp_path / "m.csv"
    path.write_text(
        "path,species\naudio/a/0.wav,a\n"
        + "".join(f"audio/a/missing {i}.wav,a\n" for i in range(12))
    )
    with pytest.raises(
        ManifestError,
        match=r": 12 audio file\(s\) listed but not found: line 3: audio/a/missing 0\.wav: "
        r"file does not exist; .*line 12: audio/a/missing 9\.wav: file does not exist; \.\.\. \(12 in all\)$",
    ):
        resolve_manifest(path)


def test_line_numbers_count_blank_lines_in_every_error(tmp_path):
    make_data(tmp_path, {"a": 2})
    path = tmp_path / "m.csv"
    path.write_text("path,species,split\n\naudio/a/0.wav,a,train\n\n\naudio/a/1.wav,a,holdout\n")
    with pytest.raises(
        ManifestError, match=r"unknown split name\(s\) \['holdout'\] \(first on line 6\)"
    ):
        check_manifest(path)


def test_resolved_manifest_says_where_each_row_came_from(tmp_path):
    """prepare_manifest keeps its columns and adds source_file/source_line (after the others),
    so the features step can name the user's file and line; rows of excluded species do not
    shift the lines."""
    from jaxaudio.data.manifest import load_resolved, prepare_manifest

    make_data(tmp_path, {"a": 3, "b": 1})
    path = tmp_path / "labels.csv"
    path.write_text(
        "path,species\naudio/b/0.wav,b\naudio/a/0.wav,a\n\naudio/a/1.wav,a\naudio/a/2.wav,a\n"
    )
    out = tmp_path / "results" / "manifest.csv"
    out.parent.mkdir()
    df, species = prepare_manifest(
        path, out, tmp_path / "results" / "dataset.json", min_clips_per_species=2
    )
    assert species == ["a"]
    written = load_resolved(out)
    assert list(written.columns) == [
        "path",
        "species",
        "split",
        "label",
        "background",
        "unknown",
        "source_file",
        "source_line",
    ]
    assert written["source_file"].tolist() == [str(path)] * 3
    assert written["source_line"].tolist() == [3, 5, 6]
    assert written["path"].tolist() == [
        str(tmp_path / "audio" / "a" / f"{i}.wav") for i in range(3)
    ]
