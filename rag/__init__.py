"""Briefing: retrieval-only question answering with quoted, cited passages.

    import rag
    index = rag.Index.build(["seeds"])
    answer = index.ask("Who is Paul Poast?")
    print(answer.markdown())

Importing `rag` is cheap: the embedding model loads on first use.
"""

from __future__ import annotations

from .answer import Answer, Quote
from .chunk import Chunk
from .errors import (
    ArgumentError,
    BriefingError,
    DocumentError,
    FileTooLargeError,
    IndexFormatError,
    IndexMismatchError,
    IndexSaveError,
    ModelLoadError,
    NoDocumentsError,
    QueryError,
    SavedSinceError,
    SettingsError,
    StoreError,
    UnknownDocumentError,
    UnsupportedFileError,
)
from .index import Index
from .load import Document, Kind, text_document
from .retrieve import Hit
from .settings import Settings

__all__ = [
    "Answer",
    "ArgumentError",
    "BriefingError",
    "Chunk",
    "Document",
    "DocumentError",
    "FileTooLargeError",
    "Hit",
    "Index",
    "IndexFormatError",
    "IndexMismatchError",
    "IndexSaveError",
    "SavedSinceError",
    "Kind",
    "ModelLoadError",
    "NoDocumentsError",
    "QueryError",
    "Quote",
    "Settings",
    "SettingsError",
    "StoreError",
    "UnknownDocumentError",
    "UnsupportedFileError",
    "text_document",
]
