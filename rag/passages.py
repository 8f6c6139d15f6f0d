"""Passage records kept as columns: what `FaissStore` knows about each passage.

A million `Chunk` objects cost gigabytes of Python objects. `PassageTable` keeps the
same facts as NumPy columns (document number, start, end, sentence spans) and the
texts as UTF-8 bytes, and makes a `Chunk` only when one is asked for. A saved table's
texts stay on disk (in the page cache) and are read when a passage is asked for.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .chunk import Chunk
from .errors import IndexFormatError

FILES = ("passages.json", "passages.npy", "passage_sentences.npy",
         "passage_sentence_offsets.npy", "passage_texts.bin", "passage_text_offsets.npy")


class PassageTable:
    """Passages in the order added: row `i` of every column is passage `i`.

    Texts live on disk, in the file a saved table was read from and in a scratch file
    that appends go to; a row names its file and byte range, so removing passages never
    rewrites texts. `save` writes only the live ones.
    """

    def __init__(self) -> None:
        self._doc_ids: list[str] = []
        self._titles: list[str] = []
        self._doc_numbers: dict[str, int] = {}
        self._rows = np.zeros((0, 3), dtype=np.int64)  # document number, start, end
        self._sentences = np.zeros((0, 2), dtype=np.int64)
        self._sentence_offsets = np.zeros(1, dtype=np.int64)
        self._segments: list[TextFile] = []  # the last one takes appends
        self._text_at = np.zeros((0, 3), dtype=np.int64)  # segment, first byte, end byte
        self._order: tuple[np.ndarray, ...] | None = None  # see _sorted

    def __len__(self) -> int:
        return len(self._rows)

    # --- changes ------------------------------------------------------------------------

    def append(self, chunks: Sequence[Chunk]) -> None:
        """Add passages after the existing ones. Raises ValueError for an id already here."""
        seen = set()
        for chunk in chunks:
            if chunk.id in seen or self.row(chunk.id) is not None:
                raise ValueError(f"chunk {chunk.id} is already in the store")
            seen.add(chunk.id)
        if not chunks:
            return
        numbers = [self._number(c.doc_id, c.title) for c in chunks]
        rows = np.array([(n, c.start, c.end) for n, c in zip(numbers, chunks, strict=True)], dtype=np.int64)
        spans = np.array([s for c in chunks for s in c.sentences], dtype=np.int64).reshape(-1, 2)
        counts = np.array([len(c.sentences) for c in chunks], dtype=np.int64)
        encoded = [c.text.encode("utf-8") for c in chunks]
        if not self._segments or not self._segments[-1].writable:
            self._segments.append(TextFile.scratch())
        first = self._segments[-1].append(b"".join(encoded))
        ends = first + np.cumsum([len(e) for e in encoded], dtype=np.int64)
        text_at = np.stack([np.full(len(chunks), len(self._segments) - 1, dtype=np.int64),
                            ends - [len(e) for e in encoded], ends], axis=1)
        self._rows = np.concatenate([self._rows, rows])
        self._sentences = np.concatenate([self._sentences, spans])
        self._sentence_offsets = np.concatenate(
            [self._sentence_offsets, self._sentence_offsets[-1] + np.cumsum(counts)])
        self._text_at = np.concatenate([self._text_at, text_at])
        self._order = None

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where `mask` is True, in order."""
        starts, ends = self._sentence_offsets[:-1], self._sentence_offsets[1:]
        self._sentences = self._sentences[np.repeat(mask, ends - starts)]
        self._sentence_offsets = np.concatenate([[0], np.cumsum((ends - starts)[mask])])
        self._rows = self._rows[mask]
        self._text_at = self._text_at[mask]
        self._order = None

    def _number(self, doc_id: str, title: str) -> int:
        number = self._doc_numbers.get(doc_id)
        if number is None:
            number = self._doc_numbers[doc_id] = len(self._doc_ids)
            self._doc_ids.append(doc_id)
            self._titles.append(title)
        return number

    # --- reads --------------------------------------------------------------------------

    def row(self, chunk_id: str) -> int | None:
        """The row of the passage with this id, or None."""
        doc_id, _, span = chunk_id.rpartition(":")
        start, _, end = span.partition("-")
        number = self._doc_numbers.get(doc_id)
        if number is None or not (start.isdigit() and end.isdigit()) or not len(self._rows):
            return None
        order, documents, starts, ends = self._sorted()
        low = documents.searchsorted(number, side="left")
        high = documents.searchsorted(number, side="right")
        at = low + starts[low:high].searchsorted(int(start), side="left")
        while at < high and starts[at] == int(start):
            if ends[at] == int(end):
                return int(order[at])
            at += 1
        return None

    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows sorted by (document, start), and their documents, starts and ends, each
        a contiguous array: searchsorted copies a strided one on every call."""
        if self._order is None:
            order = np.lexsort((self._rows[:, 1], self._rows[:, 0]))
            self._order = (order, *(np.ascontiguousarray(self._rows[order, column])
                                    for column in range(3)))
        return self._order

    def id(self, row: int) -> str:
        number, start, end = self._rows[row]
        return f"{self._doc_ids[number]}:{start}-{end}"

    def doc_id(self, row: int) -> str:
        return self._doc_ids[self._rows[row, 0]]

    def title(self, row: int) -> str:
        return self._titles[self._rows[row, 0]]

    def text(self, row: int) -> str:
        segment, first, end = self._text_at[row]
        return decoded(self._segments[segment][first:end], "passage_texts.bin")

    def texts(self) -> Iterator[str]:
        """Every passage's text, in row order."""
        for row in range(len(self)):
            yield self.text(row)

    def chunk(self, row: int) -> Chunk:
        number, start, end = (int(v) for v in self._rows[row])
        first, last = self._sentence_offsets[row], self._sentence_offsets[row + 1]
        sentences = tuple(map(tuple, self._sentences[first:last].tolist()))
        return Chunk(doc_id=self._doc_ids[number], title=self._titles[number], start=start,
                     end=end, text=self.text(row), sentences=sentences)

    def chunks(self) -> list[Chunk]:
        return [self.chunk(row) for row in range(len(self))]

    def counts(self) -> dict[str, int]:
        """Passages per document."""
        counts = np.bincount(self._rows[:, 0], minlength=len(self._doc_ids))
        return {self._doc_ids[n]: int(c) for n, c in enumerate(counts) if c}

    def rows_of(self, doc_ids: Iterable[str]) -> np.ndarray:
        """The rows of these documents, in row order."""
        numbers = [self._doc_numbers[d] for d in set(doc_ids) if d in self._doc_numbers]
        return np.flatnonzero(np.isin(self._rows[:, 0], numbers))

    def doc_numbers(self) -> np.ndarray:
        """Each row's document number (see `rows_of`)."""
        return self._rows[:, 0]

    # --- files --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the table's files; documents no passage refers to any more are left out."""
        used, renumbered = np.unique(self._rows[:, 0], return_inverse=True)
        rows = np.column_stack([renumbered.reshape(-1), self._rows[:, 1:]]) \
            if len(self._rows) else self._rows
        documents = [[self._doc_ids[n], self._titles[n]] for n in used.tolist()]
        (folder / "passages.json").write_text(
            json.dumps({"documents": documents}, ensure_ascii=False), "utf-8")
        np.save(folder / "passages.npy", rows, allow_pickle=False)
        np.save(folder / "passage_sentences.npy", self._sentences, allow_pickle=False)
        np.save(folder / "passage_sentence_offsets.npy", self._sentence_offsets,
                allow_pickle=False)
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        with open(folder / "passage_texts.bin", "wb") as out:
            for row, (segment, first, end) in enumerate(self._text_at):
                out.write(self._segments[segment][first:end])
                offsets[row + 1] = offsets[row] + (end - first)
        np.save(folder / "passage_text_offsets.npy", offsets, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> PassageTable:
        """Read a table written by `save`. Raises ValueError when the files disagree."""
        table = cls()
        documents = read_file(folder / "passages.json", lambda path: [
            (str(doc_id), str(title))
            for doc_id, title in json.loads(path.read_text("utf-8"))["documents"]])
        for doc_id, title in documents:
            table._number(doc_id, title)
        table._rows = read_file(folder / "passages.npy", _int64).reshape(-1, 3)
        # A plain array over the memory map: slicing a np.memmap costs microseconds each.
        table._sentences = np.asarray(read_file(folder / "passage_sentences.npy",
                                                lambda path: _int64(path, mmap=True))).reshape(-1, 2)
        table._sentence_offsets = read_file(folder / "passage_sentence_offsets.npy", _int64)
        offsets = read_file(folder / "passage_text_offsets.npy", _int64)
        n = len(table._rows)
        texts = folder / "passage_texts.bin"
        size = read_file(texts, lambda path: path.stat().st_size)
        if (len(table._sentence_offsets) != n + 1 or len(offsets) != n + 1
                or table._sentence_offsets[-1] != len(table._sentences) or offsets[-1] != size
                or (n and not 0 <= table._rows[:, 0].min() <= table._rows[:, 0].max()
                    < len(documents))):
            raise ValueError("the passage files do not match each other")
        table._segments = [TextFile.open(texts)]
        table._text_at = np.stack([np.zeros(n, dtype=np.int64), offsets[:-1], offsets[1:]],
                                  axis=1)
        return table


class TextFile:
    """Bytes in a file, read with `os.pread`: a saved table's texts (read-only) or a
    scratch file that appends go to (deleted when closed). No memory map: its page
    faults would make megabytes resident around every passage read."""

    def __init__(self, file, *, writable: bool) -> None:
        self._file = file
        self.writable = writable
        self._size = os.fstat(file.fileno()).st_size

    @classmethod
    def scratch(cls) -> TextFile:
        return cls(tempfile.TemporaryFile(prefix="briefing-passages-"), writable=True)

    @classmethod
    def open(cls, path: Path) -> TextFile:
        return cls(open(path, "rb"), writable=False)  # noqa: SIM115 - closed with the object

    def append(self, data: bytes) -> int:
        """Write `data` at the end; returns where it starts."""
        start = self._size
        os.pwrite(self._file.fileno(), data, start)
        self._size += len(data)
        return start

    def __getitem__(self, span: slice) -> bytes:
        return os.pread(self._file.fileno(), span.stop - span.start, span.start)

    def __del__(self) -> None:
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()


def decoded(data: bytes, file_name: str) -> str:
    """Text saved in an index file, decoded; IndexFormatError if the file was damaged."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise IndexFormatError(f"The saved index is damaged: {file_name} holds bytes that are "
                               f"not text ({error}). Rebuild it: briefing index PATHS --out "
                               "FOLDER (Index.build, then save)") from None


def read_file(path: Path, reader):
    """`reader(path)`, with any failure reported as a ValueError that names the file."""
    try:
        return reader(path)
    except Exception as error:  # numpy, json, faiss and bm25s each raise their own kinds
        raise ValueError(f"{path.name} cannot be read ({error})") from error


def _int64(path: Path, *, mmap: bool = False) -> np.ndarray:
    array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    if array.dtype != np.int64:
        raise ValueError(f"it holds {array.dtype}, not int64")
    return array
