"""Float32 vectors kept in a file and read with `pread`: a large store's exact vectors.

An approximate index (IVF) holds compact codes in memory; the exact vectors are needed
only to re-score its hundred best candidates per search, to answer searches restricted
to a few documents, and to rebuild. Kept in memory they would be most of a large
store's RAM (1.5 GB per million passages at 384 dimensions); in a file they sit in the
operating system's page cache, which gives them back under memory pressure.

Reads use `os.pread`, not a memory map: on this kernel a page fault on a mapped file maps
up to 2 MB around it, so re-scoring a hundred rows through a map made a gigabyte
resident within fifty searches.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

BLOCK_ROWS = 65_536
"""Rows per sequential read or write: 96 MB at 384 dimensions."""


class VectorFile:
    """Rows of float32 vectors in a file: appended, read by row, filtered, saved as `.npy`.

    A file opened from a saved index is read-only; the first change copies it to a
    scratch file (deleted when closed), so the saved index is never modified.
    """

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._file = tempfile.TemporaryFile(prefix="briefing-vectors-")
        self._offset = 0  # where row 0 starts
        self._rows = 0
        self._writable = True

    @classmethod
    def open(cls, path: Path) -> VectorFile:
        """A saved `.npy` of float32 rows, read in place. Raises ValueError if it is not."""
        handle = open(path, "rb")  # noqa: SIM115 - kept open for reads; closed with the object
        try:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(handle)
        except Exception as error:
            handle.close()
            raise ValueError(f"it is not a NumPy array file ({error})") from error
        if len(shape) != 2 or fortran or dtype != np.float32:
            handle.close()
            raise ValueError(f"it holds {dtype} of shape {shape}, not float32 rows")
        vectors = cls.__new__(cls)
        vectors.dimension, vectors._file = shape[1], handle
        vectors._offset, vectors._rows, vectors._writable = handle.tell(), shape[0], False
        if os.fstat(handle.fileno()).st_size < vectors._offset + vectors._width * shape[0]:
            handle.close()
            raise ValueError(f"it is shorter than its {shape[0]} rows")
        return vectors

    def __len__(self) -> int:
        return self._rows

    @property
    def _width(self) -> int:
        return 4 * self.dimension

    # --- changes ------------------------------------------------------------------------

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.float32).reshape(-1, self.dimension)
        self._own()
        self._file.seek(self._offset + self._rows * self._width)
        self._file.write(rows.tobytes())
        self._file.flush()
        self._rows += len(rows)

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where `mask` is True, in order."""
        kept = VectorFile(self.dimension)
        for start, block in self.blocks():
            kept.append(block[mask[start:start + len(block)]])
        self._file.close()
        self._file, self._offset, self._rows = kept._file, 0, kept._rows
        self._writable = True
        kept._file = None  # now ours: not to be closed when `kept` goes

    def _own(self) -> None:
        """Copy a saved file to a scratch file before the first change."""
        if self._writable:
            return
        scratch = tempfile.TemporaryFile(prefix="briefing-vectors-")
        self._file.seek(self._offset)
        shutil.copyfileobj(self._file, scratch, 16 * 2**20)
        self._file.close()
        self._file, self._offset, self._writable = scratch, 0, True

    # --- reads --------------------------------------------------------------------------

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """The rows at `indices`, in that order; runs of neighbouring rows read at once."""
        indices = np.asarray(indices, dtype=np.int64)
        out = np.empty((len(indices), self.dimension), dtype=np.float32)
        if not len(indices):
            return out
        order = np.argsort(indices, kind="stable")
        wanted = indices[order]
        if wanted[0] < 0 or wanted[-1] >= self._rows:
            raise IndexError(f"row out of range 0..{self._rows - 1}")
        breaks = np.flatnonzero(np.diff(wanted) > 1) + 1
        descriptor = self._file.fileno()
        for run in np.split(np.arange(len(wanted)), breaks):
            first, last = wanted[run[0]], wanted[run[-1]]
            data = os.pread(descriptor, int(last - first + 1) * self._width,
                            self._offset + int(first) * self._width)
            block = np.frombuffer(data, dtype=np.float32).reshape(-1, self.dimension)
            out[order[run]] = block[wanted[run] - first]
        return out

    def blocks(self, size: int = BLOCK_ROWS) -> Iterator[tuple[int, np.ndarray]]:
        """`(first row, rows)` in order, `size` rows at a time."""
        for start in range(0, self._rows, size):
            count = min(size, self._rows - start)
            data = os.pread(self._file.fileno(), count * self._width,
                            self._offset + start * self._width)
            yield start, np.frombuffer(data, dtype=np.float32).reshape(count, self.dimension)

    # --- files --------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the rows as a `.npy` file that `np.load` and `VectorFile.open` read."""
        with open(path, "wb") as out:
            np.lib.format.write_array_header_1_0(
                out, {"descr": "<f4", "fortran_order": False,
                      "shape": (self._rows, self.dimension)})
            for _, block in self.blocks():
                out.write(block.tobytes())

    def close(self) -> None:
        self._file.close()

    def __del__(self) -> None:
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()
