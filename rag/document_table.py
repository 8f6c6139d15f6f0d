"""Documents with their texts on disk: what `Index` knows about each document.

A document's text is most of its weight: at a million passages, about 400 MB of Python
strings, and parsing them back from JSON was most of re-opening such an index.
`DocumentTable` keeps each document's facts (id, title, source, checksum, pages) in
memory and its text as UTF-8 bytes in a file, read when the document is asked for.
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .load import Document
from .passages import TextFile, decoded, read_file

FILES = ("documents.jsonl", "document_texts.bin")
RECENT_TEXTS = 32
"""Texts kept in memory after being read: an answer reads the documents of its ten
passages, and the next question often draws on the same ones."""


class DocumentTable:
    """Documents by id, in the order added (a document added again moves to the end).

    Texts live in the file a saved table was read from and in a scratch file that new
    documents go to; `save` writes only the live ones.
    """

    def __init__(self) -> None:
        self._facts: dict[str, Document] = {}  # each document with its text left out
        self._text_at: dict[str, tuple[int, int, int]] = {}  # segment, first byte, end byte
        self._segments: list[TextFile] = []  # the last one takes appends
        self._recent: OrderedDict[str, str] = OrderedDict()  # texts read last

    def __len__(self) -> int:
        return len(self._facts)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._facts

    def ids(self) -> list[str]:
        return list(self._facts)

    # --- changes ------------------------------------------------------------------------

    def put(self, documents: Iterable[Document]) -> None:
        """Add documents, or replace those with the same id."""
        documents = list(documents)
        if not documents:
            return
        encoded = [d.text.encode("utf-8") for d in documents]
        if not self._segments or not self._segments[-1].writable:
            self._segments.append(TextFile.scratch())
        segment = len(self._segments) - 1
        first = self._segments[segment].append(b"".join(encoded))
        for document, text in zip(documents, encoded, strict=True):
            self._facts.pop(document.id, None)
            self._recent.pop(document.id, None)
            self._facts[document.id] = dataclasses.replace(document, text="")
            self._text_at[document.id] = (segment, first, first + len(text))
            first += len(text)

    def remove(self, doc_id: str) -> None:
        """Forget a document. Raises KeyError for an id not here."""
        del self._facts[doc_id]
        del self._text_at[doc_id]
        self._recent.pop(doc_id, None)

    # --- reads --------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        """The document with its text, or None."""
        facts = self._facts.get(doc_id)
        if facts is None:
            return None
        return dataclasses.replace(facts, text=self._text(doc_id))

    def facts(self, doc_id: str) -> Document | None:
        """The document without reading its text (`text` is empty), or None: for titles,
        sources, checksums and page numbers."""
        return self._facts.get(doc_id)

    def all_facts(self) -> list[Document]:
        """Every document without its text, in order."""
        return list(self._facts.values())

    def documents(self) -> Iterator[Document]:
        """Every document with its text, in order."""
        for doc_id in list(self._facts):
            document = self.get(doc_id)
            if document is not None:
                yield document

    def _text(self, doc_id: str) -> str:
        text = self._recent.get(doc_id)
        if text is None:
            segment, first, end = self._text_at[doc_id]
            text = decoded(self._segments[segment][first:end], "document_texts.bin")
            self._recent[doc_id] = text
            if len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(doc_id)
        return text

    # --- files --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write `documents.jsonl` (one record per document, without its text) and
        `document_texts.bin` (the texts, in the same order)."""
        with open(folder / "documents.jsonl", "w", encoding="utf-8") as records, \
                open(folder / "document_texts.bin", "wb") as texts:
            for doc_id, facts in self._facts.items():
                segment, first, end = self._text_at[doc_id]
                texts.write(self._segments[segment][first:end])
                record = facts.to_record()
                del record["text"]
                record["text_bytes"] = end - first
                records.write(json.dumps(record) + "\n")  # ASCII: a file name may hold undecodable bytes

    @staticmethod
    def records(folder: Path) -> list[dict]:
        """The saved records of the documents in `folder` (their facts, without texts),
        read without the texts. Raises ValueError when they cannot be read."""
        return read_file(folder / "documents.jsonl", _records)

    @classmethod
    def load(cls, folder: Path) -> DocumentTable:
        """Read a table written by `save`, or the `documents.jsonl` of format version 2,
        which held the texts. Raises ValueError when the files are damaged or disagree."""
        records = read_file(folder / "documents.jsonl", _records)
        table = cls()
        if all("text" in r for r in records):  # format version 2
            table.put(Document.from_record(r) for r in records)
            return table
        if not all(isinstance(r.get("text_bytes"), int) for r in records):
            raise ValueError("documents.jsonl mixes records with and without texts")
        texts = folder / "document_texts.bin"
        sizes = np.array([r.pop("text_bytes") for r in records], dtype=np.int64)
        ends = np.cumsum(sizes)
        if (sizes < 0).any() or (ends[-1] if len(ends) else 0) != read_file(
                texts, lambda path: path.stat().st_size):
            raise ValueError("document_texts.bin does not match documents.jsonl")
        table._segments = [TextFile.open(texts)]
        for record, end, size in zip(records, ends.tolist(), sizes.tolist(), strict=True):
            document = Document.from_record(record | {"text": ""})
            table._facts[document.id] = document
            table._text_at[document.id] = (0, end - size, end)
        return table


def _records(path: Path) -> list[dict]:
    # One JSON array rather than a parse per line: a quarter faster for 100k records.
    lines = [line for line in path.read_text("utf-8").splitlines() if line.strip()]
    records = json.loads(f"[{','.join(lines)}]")
    for record in records:
        if not isinstance(record, dict) or not ("text" in record or "text_bytes" in record):
            raise ValueError("a record holds neither a text nor its length")
    return records
