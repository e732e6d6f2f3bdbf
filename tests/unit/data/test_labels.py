"""Multi-label ``species`` cells: splitting, multi-hot targets, detection of the format."""

import numpy as np
import pandas as pd
import pytest

from jaxaudio.data.labels import is_multilabel, multi_hot, split_labels

WHERE = "manifest.csv line 7"


@pytest.mark.parametrize(
    ("cell", "labels"),
    [
        ("a", ["a"]),
        ("  a ", ["a"]),
        ("a;b", ["a", "b"]),
        (" b ; a;c ", ["b", "a", "c"]),
    ],
)
def test_split_labels(cell, labels):
    assert split_labels(cell, WHERE) == labels


@pytest.mark.parametrize("cell", ["a;;b", "a;", ";a", ";", "", "  ", "a; ;b"])
def test_empty_part_is_an_error_naming_where_and_cell(cell):
    with pytest.raises(ValueError, match="empty label") as info:
        split_labels(cell, WHERE)
    assert WHERE in str(info.value) and repr(cell) in str(info.value)


def test_repeated_label_is_an_error():
    with pytest.raises(ValueError, match=r"\['a'\] repeated") as info:
        split_labels("a; b ;a", WHERE)
    assert WHERE in str(info.value)


def test_multi_hot():
    got = multi_hot([["b"], ["a", "c"], [], ["c", "b", "a"]], ["a", "b", "c"])
    expected = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 0], [1, 1, 1]], np.float32)
    assert got.dtype == np.float32 and got.shape == (4, 3)
    np.testing.assert_array_equal(got, expected)
    assert multi_hot([], ["a"]).shape == (0, 1)


def test_multi_hot_unknown_label_is_named():
    with pytest.raises(ValueError, match="not in the species list: \\['zz'\\]"):
        multi_hot([["a"], ["a", "zz"]], ["a", "b"])
    with pytest.raises(ValueError, match="duplicates"):
        multi_hot([["a"]], ["a", "a"])


def test_is_multilabel():
    assert not is_multilabel(pd.Series(["a", "b", "a"]))
    assert is_multilabel(pd.Series(["a", "a; b"]))
    assert not is_multilabel(pd.Series([], dtype=str))
