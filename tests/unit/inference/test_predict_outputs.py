"""What `jaxaudio predict` writes besides detections.csv: a species list's filtering and its
errors (before any audio is decoded), Audacity label files, and the Raven tables' recording
and band columns (read back by the truth reader as `jaxaudio score --truth` reads them).

The bundle is test_predict's untrained 3-species CNN (species a, b, c; 1 s windows at 8 kHz)."""

import numpy as np
import pandas as pd
import pytest

from jaxaudio.data.annotations import read_truth, recording_stem
from jaxaudio.inference import predict as predict_module
from jaxaudio.inference.predict import write_audacity
from tests.unit.inference import test_predict
from tests.unit.inference.test_predict import SR, predict_cli, tone

tiny_bundle = test_predict.tiny_bundle  # the fixture, made once for this module too


@pytest.fixture
def recordings(tmp_path):
    """Two recordings of tone bursts in a folder of their own."""
    folder = tmp_path / "audio"
    folder.mkdir()
    return [tone(folder / "night1.wav", 3.2, 1000), tone(folder / "night2.wav", 2.5, 2500)]


def species_file(path, text):
    path.write_text(text)
    return path


def test_a_species_list_reports_only_its_species_ranked_among_them(
    tiny_bundle, recordings, tmp_path
):
    """With min_score 0, every window reports its best listed species; the same rows as all
    three species per window (top-k 3) with the unlisted one dropped (top-k 2 of 2)."""
    listed = species_file(
        tmp_path / "region.txt", "# my region\n\n  c  \nb   # trailing comment\nc\n"
    )
    every = tmp_path / "every" / "d.csv"
    assert predict_cli(tiny_bundle, recordings, every, "--top-k", "3") == 0
    one = tmp_path / "one" / "d.csv"
    assert predict_cli(tiny_bundle, recordings, one, "--species-list", str(listed)) == 0
    two = tmp_path / "two" / "d.csv"
    args = ("--species-list", str(listed), "--top-k", "2")
    assert predict_cli(tiny_bundle, recordings, two, *args) == 0

    all_rows, d1, d2 = (pd.read_csv(p) for p in (every, one, two))
    assert set(all_rows["species"]) == {"a", "b", "c"}
    assert set(d1["species"]) <= {"b", "c"} and set(d2["species"]) == {"b", "c"}
    keys = ["file", "start_s", "species"]
    kept = all_rows[all_rows["species"].isin(["b", "c"])].sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(d2.sort_values(keys, ignore_index=True), kept)
    # top-k 1: one row per window, the higher-scoring of b and c
    windows = all_rows.groupby(["file", "start_s"]).size()
    assert len(d1) == len(windows)
    best = kept.sort_values("score", ascending=False, kind="stable").drop_duplicates(
        ["file", "start_s"]
    )
    pd.testing.assert_frame_equal(
        d1.sort_values(keys, ignore_index=True), best.sort_values(keys, ignore_index=True)
    )


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode audio fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("audio was decoded before the species list was checked")

    monkeypatch.setattr(predict_module, "stream_audio", refuse)


def test_an_unknown_species_is_named_with_its_file_and_line_before_decoding(
    tiny_bundle, recordings, tmp_path, capsys, no_decoding
):
    listed = species_file(tmp_path / "region.txt", "a\n# comment\n\nbb\nc\n")
    out = tmp_path / "d" / "d.csv"
    assert predict_cli(tiny_bundle, recordings, out, "--species-list", str(listed)) == 2
    err = capsys.readouterr().err
    assert f"{listed}: line 4: 'bb' is not one of the bundle's 3 species" in err
    assert "did you mean 'b'?" in err  # the close match, then a few of the bundle's species
    assert "The bundle's species include 'b', 'a', 'c'" in err
    assert not out.exists()

    far = species_file(tmp_path / "far.txt", "Turdus merula\n")
    assert predict_cli(tiny_bundle, recordings, out, "--species-list", str(far)) == 2
    err = capsys.readouterr().err
    assert f"{far}: line 1: 'Turdus merula'" in err and "include 'a', 'b', 'c'" in err
    assert "did you mean" not in err


def test_an_empty_species_list_is_an_error_naming_the_file(
    tiny_bundle, recordings, tmp_path, capsys, no_decoding
):
    empty = species_file(tmp_path / "empty.txt", "# nothing yet\n\n   \n")
    out = tmp_path / "d" / "d.csv"
    assert predict_cli(tiny_bundle, recordings, out, "--species-list", str(empty)) == 2
    assert f"{empty}: species list names no species" in capsys.readouterr().err
    missing = tmp_path / "nope.txt"
    assert predict_cli(tiny_bundle, recordings, out, "--species-list", str(missing)) == 2
    assert f"{missing}: species list not found" in capsys.readouterr().err
    assert not out.exists()


def read_labels(path):
    """An Audacity label file as ``start_s, end_s, species, score`` rows."""
    rows = []
    for line in path.read_text().splitlines():
        start, end, label = line.split("\t")
        species, score = label.rsplit(" ", 1)
        rows.append((float(start), float(end), species, float(score)))
    return pd.DataFrame(rows, columns=["start_s", "end_s", "species", "score"])


def test_audacity_labels_hold_the_detections(tiny_bundle, recordings, tmp_path):
    out, labels = tmp_path / "d.csv", tmp_path / "labels"
    args = ("--top-k", "2", "--audacity", str(labels))
    assert predict_cli(tiny_bundle, recordings, out, *args) == 0
    d = pd.read_csv(out)
    assert sorted(p.name for p in labels.iterdir()) == ["night1.txt", "night2.txt"]
    for f in recordings:
        text = (labels / f"{f.stem}.txt").read_text()
        assert text.endswith("\n") and not text.startswith("start")  # no header
        assert all(
            len(c.split(".")[1]) == 6 for line in text.splitlines() for c in line.split("\t")[:2]
        )
        got = read_labels(labels / f"{f.stem}.txt")
        want = d[d["file"] == str(f)].sort_values(["start_s", "species"], ignore_index=True)
        assert len(got) == len(want) > 0
        assert list(got["species"]) == list(want["species"])
        for col, tol in (("start_s", 6e-5), ("end_s", 6e-5), ("score", 0.0051)):
            np.testing.assert_allclose(got[col], want[col], rtol=0, atol=tol)


def test_a_file_without_detections_gets_an_empty_label_file(tmp_path):
    df = pd.DataFrame(
        [("x/a.wav", 1.25, 2.25, "Turdus merula", 0.914)],
        columns=["file", "start_s", "end_s", "species", "score"],
    )
    a, b = write_audacity(df, tmp_path, ["x/a.wav", "y/b.flac"])
    assert a.read_text() == "1.250000\t2.250000\tTurdus merula 0.91\n"
    assert b.name == "b.txt" and b.read_text() == ""


def test_raven_tables_name_the_file_and_the_band_and_read_back_as_truth(
    tiny_bundle, recordings, tmp_path
):
    """Begin File = the recording's name, File Offset = Begin Time, Low/High Freq = the band
    the mel filterbank covers: librosa.filters.mel's defaults fmin 0, fmax = 8000 / 2 Hz."""
    from jaxaudio.stages.field import durations_of, score

    out, raven = tmp_path / "d.csv", tmp_path / "raven"
    assert predict_cli(tiny_bundle, recordings, out, "--raven", str(raven)) == 0
    d = pd.read_csv(out)
    for f in recordings:
        t = pd.read_csv(raven / f"{f.stem}.selections.txt", sep="\t")
        assert len(t) == (d["file"] == str(f)).sum() > 0
        assert set(t["Begin File"]) == {f.name}
        assert (t["Low Freq (Hz)"] == 0.0).all() and (t["High Freq (Hz)"] == SR / 2).all()
        assert (t["File Offset (s)"] == t["Begin Time (s)"]).all()
    truth = read_truth(raven)  # what `jaxaudio score --truth raven/` reads
    mine = d.assign(file=d["file"].map(recording_stem))[list(truth.columns)]
    keys = list(truth.columns)
    pd.testing.assert_frame_equal(truth, mine.sort_values(keys, ignore_index=True))
    s = score(out, raven, durations_of(recordings), ["a", "b", "c"]).summary
    assert s["precision"] == 1.0 and s["recall"] == 1.0 and s["n_events"] == len(d)
