"""``NpyRows`` against numpy's own reading of the file; ``prefetch`` order, errors, early exit."""

import threading
import time

import numpy as np
import pytest

from jaxaudio.features.streaming import NpyRows, prefetch


@pytest.fixture
def cache(tmp_path):
    a = np.random.default_rng(0).normal(size=(50, 3, 4, 5)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    return tmp_path / "a.npy", a


def test_rows_match_numpy(cache):
    path, a = cache
    rows = np.array([7, 3, 4, 5, 40, 41, 0, 49])
    view = NpyRows(path, rows)
    assert view.shape == (8, 3, 4, 5) and len(view) == 8 and view.nbytes == a[rows].nbytes
    np.testing.assert_array_equal(np.asarray(view), a[rows])
    np.testing.assert_array_equal(view[[2, 2, 0, 7, 1]], a[rows[[2, 2, 0, 7, 1]]])  # order, repeats
    np.testing.assert_array_equal(view[1:5], a[rows[1:5]])
    np.testing.assert_array_equal(view[3], a[rows[3]])
    np.testing.assert_array_equal(np.asarray(NpyRows(path)), np.load(path))


def test_large_header_version_2(tmp_path):
    # numpy writes format 2.0 when a header exceeds 64 KiB; np.save of a plain array writes 1.0
    a = np.arange(24, dtype=np.float64).reshape(4, 6)
    with open(tmp_path / "v2.npy", "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    np.testing.assert_array_equal(NpyRows(tmp_path / "v2.npy")[[3, 0]], a[[3, 0]])


def test_errors_name_the_file(cache, tmp_path):
    path, _ = cache
    with pytest.raises(IndexError, match="a.npy"):
        NpyRows(path, [0, 50])
    short = tmp_path / "short.npy"
    short.write_bytes(path.read_bytes()[:-100])  # truncated: the last row is incomplete
    with pytest.raises(OSError, match="short.npy.*truncated"):
        NpyRows(short)[[49]]
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((3, 4))))
    with pytest.raises(ValueError, match="f.npy"):
        NpyRows(tmp_path / "f.npy")


def test_prefetch_keeps_order_and_runs_ahead():
    produced = []

    def items():
        for i in range(10):
            produced.append(i)
            yield i

    it = prefetch(items(), size=3)
    assert next(it) == 0
    time.sleep(0.2)
    assert len(produced) >= 3  # the producer ran ahead while the consumer waited
    assert [0, *it] == list(range(10))


def test_prefetch_reraises_and_stops_early():
    def failing():
        yield 1
        raise RuntimeError("bad batch")

    with pytest.raises(RuntimeError, match="bad batch"):
        list(prefetch(failing()))

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    before = threading.active_count()
    for i in prefetch(endless(), size=2):
        if i == 5:
            break
    time.sleep(0.3)
    assert threading.active_count() == before  # the producer thread has ended
