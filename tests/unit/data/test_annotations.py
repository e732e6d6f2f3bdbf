"""Reading annotated truth: Raven selection tables as Raven writes them, a CSV, every fault.

Expected frames are written out by hand from the table text in each test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from jaxaudio.data.annotations import (
    TRUTH_COLUMNS,
    AnnotationError,
    read_raven_table,
    read_truth,
    recording_stem,
)

RAVEN_HEADER = [
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
]


def raven_table(path, selections, label="Species", begin_file=False):
    """Write ``selections`` [(begin, end, label[, begin file])] the way Raven Pro does:
    tab-separated, one row per view (Spectrogram 1, then Waveform 1) of each selection."""
    header = RAVEN_HEADER + (["Begin File"] if begin_file else []) + [label]
    lines = ["\t".join(header)]
    for n, sel in enumerate(selections, start=1):
        begin, end, species = sel[:3]
        for view in ("Spectrogram 1", "Waveform 1"):
            row = [str(n), view, "1", str(begin), str(end), "150.0", "9000.0"]
            row += [sel[3]] if begin_file else []
            lines.append("\t".join(row + [species]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def frame(rows):
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def assert_truth(got, rows):
    assert list(got.columns) == TRUTH_COLUMNS
    expected = frame(rows)
    assert got["file"].tolist() == expected["file"].tolist()
    assert got["species"].tolist() == expected["species"].tolist()
    assert got["start_s"].tolist() == pytest.approx(expected["start_s"].tolist())
    assert got["end_s"].tolist() == pytest.approx(expected["end_s"].tolist())


# --------------------------------------------------------------------------------------
# Raven tables
# --------------------------------------------------------------------------------------


def test_two_views_per_selection_give_one_row_and_the_table_name_gives_the_file(tmp_path):
    path = raven_table(
        tmp_path / "rec_01.Table.1.selections.txt",
        [(1.5, 2.25, " Blue Jay "), (0.25, 0.5, "Osprey"), (7, 7, "Blue Jay")],
    )
    got = read_raven_table(path)
    # 6 data lines (2 views x 3 selections) -> 3 rows, in table order, labels stripped,
    # file = "rec_01" (".Table.1.selections.txt" removed); a point selection (7, 7) is kept.
    assert_truth(
        got,
        [
            ("rec_01", 1.5, 2.25, "Blue Jay"),
            ("rec_01", 0.25, 0.5, "Osprey"),
            ("rec_01", 7.0, 7.0, "Blue Jay"),
        ],
    )


@pytest.mark.parametrize(
    "name, stem",
    [
        ("rec_02.Table.1.selections.txt", "rec_02"),
        ("rec_02.Table.12.selections.txt", "rec_02"),
        ("rec_02.selections.txt", "rec_02"),
        ("rec_02.txt", "rec_02"),
        ("rec_02.wav.selections.txt", "rec_02"),
        ("site.2024-05-01.Table.1.selections.txt", "site.2024-05-01"),
    ],
)
def test_table_names_as_raven_writes_them(tmp_path, name, stem):
    got = read_raven_table(raven_table(tmp_path / name, [(0, 1, "Osprey")]))
    assert got["file"].tolist() == [stem]


def test_begin_file_column_names_the_recording(tmp_path):
    # A multi-file table: the Begin File column wins over the table's name; the extension
    # (any case) and a folder go; a name with dots in its stem keeps them.
    path = raven_table(
        tmp_path / "whatever.Table.1.selections.txt",
        [
            (3.0, 4.0, "Dunlin", "rec_10.WAV"),
            (1.0, 2.0, "Osprey", r"D:\field\rec_11.flac"),
            (5.0, 6.0, "Osprey", "site.2024-05-01.wav"),
        ],
        begin_file=True,
    )
    assert_truth(
        read_raven_table(path),
        [
            ("rec_10", 3.0, 4.0, "Dunlin"),
            ("rec_11", 1.0, 2.0, "Osprey"),
            ("site.2024-05-01", 5.0, 6.0, "Osprey"),
        ],
    )


@pytest.mark.parametrize("label", ["Annotation", "Class", "Label"])
def test_label_column_fallbacks(tmp_path, label):
    path = raven_table(tmp_path / "r.selections.txt", [(0, 1, "Osprey")], label=label)
    assert read_raven_table(path)["species"].tolist() == ["Osprey"]


def test_species_column_is_preferred_over_the_fallbacks(tmp_path):
    path = tmp_path / "r.selections.txt"
    path.write_text(
        "Selection\tBegin Time (s)\tEnd Time (s)\tAnnotation\tSpecies\n1\t0\t1\tcall\tOsprey\n"
    )
    assert read_raven_table(path)["species"].tolist() == ["Osprey"]


def test_header_only_table_has_no_rows(tmp_path):
    path = raven_table(tmp_path / "quiet.Table.1.selections.txt", [])
    got = read_raven_table(path)
    assert list(got.columns) == TRUTH_COLUMNS and len(got) == 0


def test_folder_is_read_recursively_and_sorted(tmp_path):
    raven_table(tmp_path / "b" / "rec_2.Table.1.selections.txt", [(4, 5, "Osprey")])
    raven_table(tmp_path / "rec_1.Table.1.selections.txt", [(9, 9.5, "Dunlin"), (2, 3, "Osprey")])
    (tmp_path / "notes.md").write_text("not a table")  # not *.txt: ignored
    got = read_truth(tmp_path)
    # sorted by file, then start
    assert_truth(
        got,
        [
            ("rec_1", 2.0, 3.0, "Osprey"),
            ("rec_1", 9.0, 9.5, "Dunlin"),
            ("rec_2", 4.0, 5.0, "Osprey"),
        ],
    )


def test_single_raven_table_as_source(tmp_path):
    path = raven_table(tmp_path / "rec_7.Table.1.selections.txt", [(0, 1, "Osprey")])
    assert_truth(read_truth(path), [("rec_7", 0.0, 1.0, "Osprey")])


def test_csv_truth_reduces_file_to_its_stem(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text(
        "file,start_s,end_s,species\n"
        "/data/site1/rec_3.wav,1.0,1.5, Osprey\n"
        "rec_3.flac,0.5,0.75,Dunlin\n"
        "site.2024-05-01,2,2.5,Osprey\n"
    )
    assert_truth(
        read_truth(path),
        [
            ("rec_3", 0.5, 0.75, "Dunlin"),
            ("rec_3", 1.0, 1.5, "Osprey"),
            ("site.2024-05-01", 2.0, 2.5, "Osprey"),
        ],
    )


@pytest.mark.parametrize(
    "name, stem",
    [
        ("a/b/rec.wav", "rec"),
        (r"C:\x\rec.FLAC", "rec"),
        ("rec", "rec"),
        ("rec.2024.mp3", "rec.2024"),
        ("rec.2024", "rec.2024"),
    ],
)
def test_recording_stem(name, stem):
    assert recording_stem(name) == stem


# --------------------------------------------------------------------------------------
# Faults: an AnnotationError (a ValueError) naming the file, the line and the fault
# --------------------------------------------------------------------------------------


def test_error_is_a_value_error():
    assert issubclass(AnnotationError, ValueError)


def test_missing_path(tmp_path):
    with pytest.raises(AnnotationError, match=r"nowhere.*no such file or folder"):
        read_truth(tmp_path / "nowhere")


def test_empty_folder(tmp_path):
    (tmp_path / "README.md").write_text("x")
    with pytest.raises(AnnotationError, match=r"holds no Raven selection tables"):
        read_truth(tmp_path)


def test_no_label_column_lists_the_names_looked_for(tmp_path):
    path = tmp_path / "r.selections.txt"
    path.write_text("Selection\tBegin Time (s)\tEnd Time (s)\tNotes\n1\t0\t1\tx\n")
    with pytest.raises(AnnotationError) as err:
        read_raven_table(path)
    msg = str(err.value)
    assert "r.selections.txt" in msg
    for name in ("Species", "Annotation", "Class", "Label"):
        assert name in msg


def test_missing_time_column(tmp_path):
    path = tmp_path / "r.selections.txt"
    path.write_text("Selection\tBegin Time (s)\tSpecies\n1\t0\tOsprey\n")
    with pytest.raises(AnnotationError, match=r"r\.selections\.txt.*missing.*End Time \(s\)"):
        read_raven_table(path)


def test_non_numeric_time_names_the_line(tmp_path):
    path = raven_table(tmp_path / "r.selections.txt", [(0, 1, "Osprey"), ("1,5", 2, "Dunlin")])
    # line 1 header, lines 2-3 selection 1, lines 4-5 selection 2: the first bad cell is line 4
    with pytest.raises(AnnotationError, match=r"r\.selections\.txt: line 4: 'Begin Time \(s\)'"):
        read_raven_table(path)


def test_end_before_start_names_the_line(tmp_path):
    path = raven_table(tmp_path / "r.selections.txt", [(0, 1, "Osprey"), (3, 2, "Dunlin")])
    with pytest.raises(AnnotationError, match=r"r\.selections\.txt: line 4: end before start"):
        read_raven_table(path)


def test_negative_time(tmp_path):
    path = raven_table(tmp_path / "r.selections.txt", [(-0.5, 1, "Osprey")])
    with pytest.raises(AnnotationError, match=r"r\.selections\.txt: line 2: a negative time"):
        read_raven_table(path)


def test_empty_label(tmp_path):
    path = raven_table(tmp_path / "r.selections.txt", [(0, 1, "Osprey"), (1, 2, "  ")])
    with pytest.raises(AnnotationError, match=r"line 4: empty label"):
        read_raven_table(path)


def test_empty_file(tmp_path):
    path = tmp_path / "r.selections.txt"
    path.write_text("")
    with pytest.raises(AnnotationError, match=r"r\.selections\.txt: empty file"):
        read_truth(path)


def test_bad_table_in_a_folder_is_named(tmp_path):
    raven_table(tmp_path / "good.Table.1.selections.txt", [(0, 1, "Osprey")])
    raven_table(tmp_path / "sub" / "bad.Table.1.selections.txt", [(2, 1, "Osprey")])
    with pytest.raises(AnnotationError, match=r"bad\.Table\.1\.selections\.txt: line 2"):
        read_truth(tmp_path)


def test_csv_missing_columns(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text("file,start,end_s,species\nrec.wav,0,1,Osprey\n")
    with pytest.raises(AnnotationError, match=r"truth\.csv: missing column\(s\) \['start_s'\]"):
        read_truth(path)


def test_csv_bad_rows(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text("file,start_s,end_s,species\nrec.wav,0,1,Osprey\nrec.wav,2,abc,Osprey\n")
    with pytest.raises(AnnotationError, match=r"truth\.csv: line 3: 'end_s' is not a number"):
        read_truth(path)
    path.write_text("file,start_s,end_s,species\nrec.wav,5,1,Osprey\n")
    with pytest.raises(AnnotationError, match=r"truth\.csv: line 2: end before start"):
        read_truth(path)
