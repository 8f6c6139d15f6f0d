"""The index behind the app, kept together with its saved folder and the uploaded files.

Uploads are stored under `<index folder's parent>/uploads/` with names made from
their content hash (never the uploader's file name), and that folder is indexed with
the configured documents at start-up, so an upload survives a restart. The uploader's
file names are kept beside it, in `uploads.json`, to cite an upload by. Every change
is saved at once; an upload that fails leaves neither a file nor a passage behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import rag
from rag.embed import Progress
from rag.index import DEFAULT_SEEDS, sources_to_open

from .format import DocumentRow, human_size, source_name

log = logging.getLogger(__name__)

UPLOAD_TYPES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
"""What the upload accepts: the extensions rag reads (rag.Kind), with their common variants."""


class Library:
    """An index with the folder it is saved to and the folder its uploads are kept in.

    Reads go straight to `index` (it is safe across threads); changes go through
    `add_upload` and `remove`, which save the index afterwards, one save at a time.
    """

    def __init__(self, index: rag.Index, *, index_dir: Path, uploads_dir: Path) -> None:
        self.index = index
        self.index_dir = Path(index_dir)
        self.uploads_dir = Path(uploads_dir)
        self._names_file = self.uploads_dir.with_suffix(".json")
        self._names = self._read_names()
        self._former_names: dict[str, str] = {}
        """Names of uploads removed or replaced since the server started: answers given
        before still cite them."""
        self._save_lock = threading.Lock()
        self._rows: tuple[tuple, list[DocumentRow]] = ((), [])

    @classmethod
    def open(cls, paths: Sequence[Path] | None, index_dir: Path, *,
             settings: rag.Settings | None = None,
             progress: bool | None = None,
             reader: bool = False) -> tuple[Library, dict[str, list[str]]]:
        """The saved index in `index_dir` brought up to date with `paths` (default: what it
        was built from, or the seeds) and the earlier uploads; built when missing, saved
        when changed. `reader` turns the reading model on (rag.Settings.reader)."""
        index_dir = Path(index_dir)
        uploads_dir = index_dir.parent / "uploads"
        index, changes = rag.Index.open(sources_to_open(paths, index_dir), index_dir,
                                        settings=settings,
                                        cache_dir=index_dir.parent / "cache", progress=progress)
        if reader:
            index = index.configure(reader=True)
        return cls(index, index_dir=index_dir, uploads_dir=uploads_dir), changes

    @property
    def max_bytes(self) -> int:
        return self.index.settings.max_file_bytes

    def is_upload(self, document: rag.Document) -> bool:
        return Path(document.source).parent.resolve() == self.uploads_dir.resolve()

    def holds_seeds(self) -> bool:
        """Whether the bundled documents are among the indexed ones (the example questions
        are about them): read from the seeds folder, or copies of its files elsewhere (a
        browser review served a copy, and no example was shown)."""
        seeds = DEFAULT_SEEDS.resolve()
        documents = self.index.documents(with_text=False)
        if any(Path(d.source).is_absolute() and seeds in Path(d.source).resolve().parents
               for d in documents):
            return True
        try:
            bundled = {hashlib.sha256(f.read_bytes()).hexdigest() for f in seeds.iterdir()
                       if f.is_file()}
        except OSError:
            return False
        return any(d.checksum in bundled for d in documents)

    def rows(self) -> list[DocumentRow]:
        """The documents panel's lines, in the order the documents were added.

        Counting passages walks them all, so the lines are kept until the documents change
        (every page load asks for them).
        """
        documents = self.index.documents(with_text=False)
        key = tuple((d.id, d.checksum) for d in documents)
        cached_key, cached = self._rows
        if key == cached_key:
            return cached
        counts = self.index.passage_counts()
        names = self._distinct_names(documents)
        # Titled as the pickers list them: two "Background briefing" rows could not be told
        # apart, nor matched with the pickers' entries (a browser review).
        rows = [DocumentRow(id=d.id, title=f"{d.title} ({names[d.id]})" if d.id in names
                            else d.title, kind=d.kind.value, size=d.size,
                            chunks=counts.get(d.id, 0), uploaded=self.is_upload(d)) for d in documents]
        self._rows = (key, rows)
        return rows

    def choices(self) -> list[tuple[str, str]]:
        """(title, id) pairs for pickers, a title repeated across documents with what tells
        them apart ("Big harbour report (big2.txt)", `distinct_names`)."""
        documents = self.index.documents(with_text=False)
        names = self._distinct_names(documents)
        return [(f"{d.title} ({names[d.id]})" if d.id in names else d.title, d.id)
                for d in documents]

    def distinct_names(self) -> dict[str, str]:
        """What tells apart documents whose title another document shares, by id: the
        file name each was uploaded or found under, and where that repeats too, that name
        numbered in the order they were added ("background.md", "background.md #2"; it
        was the document's id, which a browser review found unreadable). Cited with it,
        two "Annual report"s are not taken for one."""
        return self._distinct_names(self.index.documents(with_text=False))

    def _distinct_names(self, documents: Sequence[rag.Document]) -> dict[str, str]:
        repeated = {t for t, n in Counter(d.title for d in documents).items() if n > 1}
        names = {d.id: self.source_label(d.source) for d in documents if d.title in repeated}
        seen: Counter = Counter()
        for d in documents:  # in the order they were added
            if d.id in names:
                seen[d.title, names[d.id]] += 1
                if seen[d.title, names[d.id]] > 1:
                    names[d.id] = f"{names[d.id]} #{seen[d.title, names[d.id]]}"
        return names

    def add_upload(self, path: str | Path, *, name: str,
                   progress: Progress = None) -> rag.Document:
        """Store an uploaded file under a generated name, index it, and save the index.

        `name` is the uploader's file name: it gives the type and is used in messages.
        A file already indexed (the same bytes, under any name) is not added again: the
        indexed document is returned. When anything fails, the stored copy is deleted and
        the index is left as it was. Raises rag.DocumentError (or a subclass) saying what
        is wrong and what to do, and OSError when the file cannot be stored or saved.
        """
        path = Path(path)
        suffix = upload_suffix(name)
        if suffix not in UPLOAD_TYPES:
            raise rag.UnsupportedFileError(name, f"'{suffix or name}' files cannot be added",
                                           f"upload one of {', '.join(UPLOAD_TYPES)}")
        size = path.stat().st_size
        if size > self.max_bytes:
            raise rag.FileTooLargeError(
                name, f"{human_size(size)} is over the {human_size(self.max_bytes)} limit",
                "split it into smaller files")
        digest = _file_hash(path)
        indexed = self.indexed_copy(digest)
        if indexed is not None:
            return indexed
        # The content hash names the copy, so no two indexed uploads share a file: this
        # one is not indexed yet (indexed_copy said so) and is ours to delete on failure.
        stored = self.uploads_dir / f"{digest[:24]}{suffix}"
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(path, stored)
            document = self._index_stored(stored, name=name, progress=progress)
            try:
                self.save()
            except BaseException:
                self.index.remove(document.id)  # what is searchable matches what is saved
                raise
        except BaseException:
            stored.unlink(missing_ok=True)
            raise
        self._names[stored.name] = name
        self._write_names()
        return document

    def uploads_named(self, name: str) -> list[rag.Document]:
        """The indexed uploads that were uploaded under this file name."""
        return [d for d in self.index.documents(with_text=False)
                if self.is_upload(d) and self._names.get(Path(d.source).name) == name]

    def indexed_copy(self, checksum: str) -> rag.Document | None:
        """The indexed document whose file has this SHA-256 checksum, if any."""
        found = next((d for d in self.index.documents(with_text=False)
                      if d.checksum == checksum), None)
        return None if found is None else self.index.document(found.id)

    def _index_stored(self, stored: Path, *, name: str, progress: Progress) -> rag.Document:
        # Errors name the uploader's file, never the generated one in the uploads folder;
        # the log, whose loader warnings name the stored copy, says which upload it was.
        try:
            report = self.index.add([stored], progress=progress, names={stored: name})
        except rag.DocumentError as error:  # every passage failed to embed
            log.warning("upload %r (stored as %s) not added: %s", name, stored.name, error)
            raise type(error)(name, error.problem, error.fix) from error
        if report.problems or not report.documents:
            problem = report.problems[0] if report.problems else None
            log.warning("upload %r (stored as %s) not added: %s", name, stored.name,
                        problem or "nothing could be read")
            if isinstance(problem, rag.DocumentError):
                raise type(problem)(name, problem.problem, problem.fix)
            raise rag.DocumentError(name, "it could not be read", "check the file")
        return report.documents[0]

    def remove(self, doc_id: str) -> rag.Document:
        """Remove a document from the index (and its stored file if it was uploaded), then
        save. Raises rag.UnknownDocumentError."""
        document = self.index.remove(doc_id)
        if self.is_upload(document):
            Path(document.source).unlink(missing_ok=True)
        self.save()
        name = self._names.pop(Path(document.source).name, None)
        if name is not None:
            # Earlier answers in a conversation still cite it by that name (its export).
            self._former_names[Path(document.source).name] = name
            self._write_names()
        return document

    def source_label(self, source: str) -> str:
        """How to cite a source to a reader: an upload by the name it was uploaded under,
        any other file by its name (not where it lies on the server), a URL whole."""
        path = Path(source)
        if path.parent.resolve() == self.uploads_dir.resolve():
            name = self._names.get(path.name) or self._former_names.get(path.name)
            if name:
                return name
        return source_name(source)

    def _read_names(self) -> dict[str, str]:
        try:
            names = json.loads(self._names_file.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(names, dict):
            return {}
        return {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str)}

    def _write_names(self) -> None:
        """Record the uploaders' file names (a copy renamed into place: never half written).
        They only label citations, so a failure is logged, not raised."""
        staging = self._names_file.with_name(f".{self._names_file.name}.tmp")
        try:
            staging.write_text(json.dumps(self._names, indent=1, ensure_ascii=False), "utf-8")
            os.replace(staging, self._names_file)
        except OSError as error:
            log.warning("could not record the uploaded files' names in %s: %s",
                        self._names_file, error)

    def save(self) -> None:
        with self._save_lock:
            self.index.save(self.index_dir)
        log.info("saved the index to %s", self.index_dir)


def upload_suffix(name: str) -> str:
    """The type of an uploaded file by its name, lower-cased: 'Notes.TXT' -> '.txt'.

    A name that is only an extension ('.txt') is that type, and trailing dots and spaces
    (which Windows drops) are ignored; a name without an extension gives ''.
    """
    return Path("x" + name.rstrip(" .")).suffix.lower()


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
