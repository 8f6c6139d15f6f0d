"""Every error Briefing raises on purpose, in one place.

Each subclasses a builtin so that callers can catch either the precise
error or the general kind (`ValueError`, `OSError`), and each message names
the bad value, what was expected, and the fix.
"""

from __future__ import annotations


class BriefingError(Exception):
    """Base class of Briefing's own errors."""


class DocumentError(BriefingError, ValueError):
    """A document could not be loaded; the message names the file and the fix."""

    def __init__(self, source: str, problem: str, fix: str = "") -> None:
        self.source = source
        self.problem = problem
        self.fix = fix
        message = f"{source}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class UnsupportedFileError(DocumentError):
    """The file's type is not one Briefing reads."""


class FileTooLargeError(DocumentError):
    """The file is larger than the configured limit."""


class NoDocumentsError(BriefingError, ValueError):
    """Nothing could be indexed from the given paths."""


class QueryError(BriefingError, ValueError):
    """A question or search query is empty, too long or otherwise unusable."""


class IndexFormatError(BriefingError, ValueError):
    """A saved index is missing, corrupt, or from an incompatible version."""


class IndexMismatchError(IndexFormatError):
    """A saved index was built with another model or settings than requested."""


class IndexSaveError(BriefingError, OSError):
    """An index cannot be saved where asked: the place is a file, holds other files, or
    cannot be written."""


class SavedSinceError(IndexSaveError):
    """Another process saved the index after this one loaded it: saving now would drop
    that save's changes."""


class StoreError(BriefingError, OSError):
    """The passage store (a Milvus server or Milvus Lite file) cannot be reached or used."""


class ArgumentError(BriefingError, TypeError):
    """An argument of the wrong kind: a list where one document id is wanted, no folder."""


class SettingsError(BriefingError, ValueError):
    """A setting has a value Briefing cannot use."""


class ModelLoadError(BriefingError, OSError):
    """A model (the embedding model, or the reader) could not be loaded."""


class UnknownDocumentError(BriefingError, KeyError):
    """A document id is not in the index."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else "unknown document"
