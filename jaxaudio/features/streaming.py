"""Reading rows of a feature cache that does not fit in memory, and prefetching batches.

The feature cache is one C-order ``.npy`` (``(N, 3, F, T)`` float32). When the training
split fits the configured device memory budget it is copied to the device once
(:func:`jaxaudio.training.loop.train`); when it does not, training streams batches from the file.

Why ``pread`` and not ``np.load(mmap_mode="r")``: pages of a memory map that the process has
touched count towards its resident set until the kernel reclaims them, so an epoch over a
mapped 6 GB cache shows a 6 GB peak RSS even though no copy was made. :class:`NpyRows`
reads each batch's rows with positioned reads into a fresh buffer: the process holds the
rows it asked for and nothing else (the file still benefits from the page cache, which is
not the process's memory).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class NpyRows:
    """A read-only, array-like view of selected rows of a ``.npy`` file on disk.

    ``NpyRows(path, rows)[i]`` reads row ``rows[i]`` of the file; ``i`` may be an int, a
    slice or an integer array (any order, repeats allowed). Consecutive file rows are read
    with one ``pread``. ``np.asarray(view)`` reads every selected row.
    """

    def __init__(self, path: str | Path, rows: np.ndarray | None = None):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            self._offset = f.tell()
        if fortran or dtype.hasobject or len(shape) < 1:
            raise ValueError(
                f"{self.path}: expected a C-order numeric array with a row axis, got shape {shape}"
            )
        self.dtype = dtype
        self._file_rows = shape[0]
        self._row_shape = tuple(shape[1:])
        self._row_bytes = int(np.prod(self._row_shape, dtype=np.int64)) * dtype.itemsize
        self.rows = np.arange(shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(self.rows) and (self.rows.min() < 0 or self.rows.max() >= shape[0]):
            raise IndexError(f"{self.path}: row index out of range for {shape[0]} rows")

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self._row_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self._row_shape)

    @property
    def nbytes(self) -> int:
        return len(self.rows) * self._row_bytes

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self._read(self.rows[[key]])[0]
        return self._read(self.rows[key])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        step = max(1, (64 << 20) // max(1, self._row_bytes))  # 64 MiB per read
        for start in range(0, len(self), step):
            out[start : start + step] = self[start : start + step]
        return out if dtype is None else out.astype(dtype, copy=False)

    def _read(self, file_rows: np.ndarray) -> np.ndarray:
        """Rows ``file_rows`` of the file, in that order."""
        unique, inverse = np.unique(file_rows, return_inverse=True)
        buf = np.empty((len(unique), *self._row_shape), self.dtype)
        flat = buf.reshape(len(unique), -1).view(np.uint8)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            i = 0
            while i < len(unique):  # one read per run of consecutive rows
                j = i + 1
                while j < len(unique) and unique[j] == unique[j - 1] + 1:
                    j += 1
                want = (j - i) * self._row_bytes
                got = os.preadv(
                    fd,
                    [memoryview(flat[i:j]).cast("B")],
                    self._offset + int(unique[i]) * self._row_bytes,
                )
                if got != want:
                    raise OSError(
                        f"{self.path}: short read ({got} of {want} bytes): the file is truncated"
                    )
                i = j
        finally:
            os.close(fd)
        return buf if np.array_equal(inverse, np.arange(len(unique))) else buf[inverse.ravel()]


class ClipViews:
    """Rows of clips and their offset copies, interleaved: row ``i·V + v`` is view ``v`` of clip
    ``i`` — ``aligned[i]`` for ``v = 0``, ``copies[i·(V−1) + v − 1]`` after it
    (:mod:`jaxaudio.features.offsets`). Array-like as :class:`NpyRows` is, so a training
    split of views streams from the two files as one of clips streams from one."""

    def __init__(self, aligned: NpyRows | np.ndarray, copies: NpyRows | np.ndarray):
        if len(copies) % max(len(aligned), 1):
            raise ValueError(f"{len(copies)} copies do not divide among {len(aligned)} clips")
        self.aligned, self.copies = aligned, copies
        self.views = 1 + (len(copies) // len(aligned) if len(aligned) else 0)
        self.dtype = aligned.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.aligned.shape[1:])

    @property
    def nbytes(self) -> int:
        return self.aligned.nbytes + self.copies.nbytes

    def __len__(self) -> int:
        return len(self.aligned) * self.views

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        rows = np.arange(len(self))[key]
        clip, view = np.divmod(rows, self.views)
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)
        first = view == 0
        if first.any():
            out[first] = self.aligned[clip[first]]
        if (~first).any():
            out[~first] = self.copies[clip[~first] * (self.views - 1) + view[~first] - 1]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype, copy=False)


def prefetch(items: Iterable[T], size: int = 2) -> Iterator[T]:
    """Iterate ``items`` with up to ``size`` of them produced ahead by a background thread.

    Reading and transferring the next batches overlaps the current step. An exception in
    the producer is re-raised in the consumer; leaving the loop early stops the producer.
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, size))
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, done))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put((False, exc))

    thread = threading.Thread(target=produce, daemon=True, name="prefetch")
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)
