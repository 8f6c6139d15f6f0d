"""The Index facade: build, change, save, load, search and ask."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np

from . import about, entities
from . import answer as answering
from .answer import Answer
from .chunk import Chunk, chunk_document, is_item
from .document_table import DocumentTable
from .embed import Embedder, EmbeddingCache, Progress, text_hash
from .errors import (
    ArgumentError,
    BriefingError,
    DocumentError,
    IndexFormatError,
    IndexMismatchError,
    IndexSaveError,
    ModelLoadError,
    NoDocumentsError,
    QueryError,
    SavedSinceError,
    SettingsError,
    UnknownDocumentError,
)
from .keywords import tokenize
from .load import (
    Document,
    LoadReport,
    check_document_id,
    expand_paths,
    load_bytes,
    load_documents,
)
from .query import (
    acronyms_asked,
    asks_about_a_person,
    asks_for_someone,
    clean_history,
    clean_query,
    compatible,
    expand_acronyms,
    followup_names,
    followup_topic,
    goes_on,
    names_in,
    person_called,
    points_back,
    resolve_followup,
    topic_swaps,
    without_pleasantries,
    without_preamble,
)
from .retrieve import Hit, promote_phrases, quoted_phrases, reciprocal_rank_fusion
from .settings import Settings, settings_or_default
from .store import Store, create_store, load_store

log = logging.getLogger(__name__)

ALONE_REMEMBERED = 50_000
"""Sentence vectors embedded alone kept in memory (about 75 MB at 384 dimensions)."""

FORMAT = "briefing-index"
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)
"""Version 2 kept document texts inside documents.jsonl; it is read as it is."""
DEFAULT_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ACRONYM_PASSAGES = 20
_ASKS_A_STANCE = re.compile(
    r"\b(?:say|says|said|think|thinks|thought|react|reacts|reacted|respond|responds|responded"
    r"|comment|comments|commented|view|views|position|stance|feel|feels|felt|opinion"
    r"|reaction|response)\b", re.IGNORECASE)
"""A question about what someone says or thinks: what the documents say of another
("China hasn't commented") answers "What about China?" after it."""
PRONOUN_PASSAGES = 20
"""The passages naming a person best that say whether the documents call them "he" or "she"."""
OPENING_NOTE = ("Briefing quotes the documents and writes no summary: this is how each "
                "document opens.")
"""Said over the quotes answering a request for a summary (rag.about.Part.OPENING)."""
"""Passages nearest a query in which an acronym's long form is looked for."""


class Index:
    """Documents, their passages and vectors, and the questions asked of them.

    Build one with `Index.build(paths)` or open a saved one with `Index.load(folder)`.
    Reads (`search`, `ask`) may run from many threads while documents are added or
    removed: each change is applied under a lock, so no reader sees half of it.
    """

    def __init__(self, *, settings: Settings, store: Store, documents: DocumentTable,
                 embedder: Embedder) -> None:
        self.settings = settings
        self._store = store
        self._documents = documents
        self._embedder = embedder
        self._lock = threading.RLock()
        self._alone: OrderedDict[str, np.ndarray] = OrderedDict()
        """Vectors of sentences embedded alone (`_alone_sims`), most recently used last."""
        self.problems: list[DocumentError] = []
        """Files the last build or add could not load, each with the reason."""
        self.sources: list[str] = []
        """The files and folders this index mirrors (absolute paths): those it was built or
        last refreshed from, and those added since. Saved with it: `Index.open` without
        paths brings it up to date with these."""
        self._saved_as: tuple[Path, str] | None = None
        """The folder this index was loaded from or last saved to, and that save's id: a
        save there after another process saved would drop that process's changes."""

    # --- construction -------------------------------------------------------------------

    @classmethod
    def build(cls, paths: str | Path | Iterable[str | Path] | None = None, *,
              settings: Settings | None = None, cache_dir: str | Path | None = None,
              progress: Progress = None) -> Index:
        """Load, chunk and embed every supported file under `paths` (default: the seeds).

        Files that cannot be loaded are skipped and listed in `index.problems`.
        Raises NoDocumentsError when nothing at all could be loaded.
        """
        settings = settings_or_default(settings)
        report = load_documents(_as_paths(paths), max_bytes=settings.max_file_bytes)
        if not report.documents:
            reasons = "; ".join(str(p) for p in report.problems[:5]) or "no files found"
            raise NoDocumentsError(f"No document could be indexed ({reasons}). Give files or "
                                   "folders holding .txt, .md, .html or .pdf documents.")
        index = cls.empty(settings=settings, cache_dir=cache_dir)
        failed = index._index_documents(report.documents, progress=progress)
        index.problems = report.problems + failed
        index.sources = _resolved(paths)
        return index

    @classmethod
    def empty(cls, *, settings: Settings | None = None,
              cache_dir: str | Path | None = None) -> Index:
        """An index with no documents yet."""
        settings = settings_or_default(settings)
        cache = EmbeddingCache(Path(cache_dir) / "embeddings.sqlite") if cache_dir else None
        embedder = Embedder(settings.model, batch_size=settings.batch_size, cache=cache)
        return cls(settings=settings, store=create_store(settings, embedder.dimension),
                   documents=DocumentTable(), embedder=embedder)

    # --- documents ----------------------------------------------------------------------

    def documents(self, *, with_text: bool = True) -> list[Document]:
        """The indexed documents, in the order they were added. Texts are kept on disk:
        `with_text=False` leaves each `text` empty and reads none, for listing ids, titles
        and checksums of a large corpus."""
        self._sync_shared_documents()
        with self._lock:
            if not with_text:
                return self._documents.all_facts()
            return list(self._documents.documents())

    def document(self, doc_id: str) -> Document:
        """The document with this id; its `text` is what every offset refers to."""
        if not isinstance(doc_id, str):
            raise ArgumentError(f"document takes one document id (a str), got {doc_id!r:.80}")
        found = self._known(doc_id)
        if found is None:
            raise UnknownDocumentError(
                f"No document has the id {doc_id!r}; the ids are listed by Index.documents() "
                "(on the command line: briefing documents).")
        return found

    def _known(self, doc_id: str) -> Document | None:
        """The document, from this process or, with a shared store (Milvus), from the store:
        another replica may have added it."""
        with self._lock:
            document = self._documents.get(doc_id)
        if document is None and self._shares_documents():
            fetched = self._store.documents([doc_id])
            if fetched:
                document = fetched[0]
                with self._lock:
                    if doc_id not in self._documents:
                        self._documents.put([document])
        return document

    def _shares_documents(self) -> bool:
        """True when the store keeps the documents too, for every process using it."""
        return callable(getattr(self._store, "put_documents", None))

    def _sync_shared_documents(self) -> None:
        """With a shared store, forget documents other replicas removed and learn new ones."""
        if not self._shares_documents():
            return
        stored = self._store.checksums()
        with self._lock:
            for doc in self._documents.all_facts():
                if stored.get(doc.id) != doc.checksum:
                    self._documents.remove(doc.id)
            missing = [d for d in stored if d not in self._documents]
        fetched = self._store.documents(missing) if missing else []
        with self._lock:
            self._documents.put(d for d in fetched if d.id not in self._documents)

    def __len__(self) -> int:
        """The number of passages indexed."""
        with self._lock:
            return len(self._store)

    def passage_counts(self) -> dict[str, int]:
        """How many passages each document has (cheap: no passage is read)."""
        with self._lock:
            return self._store.passage_counts()

    def chunks(self, doc_id: str | None = None) -> list[Chunk]:
        """The passages of one document, or of all, in document order."""
        with self._lock:
            chunks = self._store.chunks
        return [c for c in chunks if doc_id is None or c.doc_id == doc_id]

    def add(self, paths: str | Path | Iterable[str | Path], *,
            progress: Progress = None, names: Mapping[str | Path, str] | None = None) -> LoadReport:
        """Add (or update, when the file changed) the documents under `paths`.

        Returns what was loaded and what could not be; nothing already indexed is lost.
        A path that does not exist raises DocumentError and adds nothing. `names` gives the
        name a file is known by where it is stored under another (an upload kept under a
        generated name): a document with no title line is titled by it.
        """
        if paths is None:
            raise DocumentError("None", "add needs the files or folders to add",
                                "give a path or a list of them")
        _require_existing(paths, doing="add")
        if names is not None and not (isinstance(names, Mapping) and all(
                isinstance(k, (str, Path)) and isinstance(v, str) and v.strip()
                for k, v in names.items())):
            raise ArgumentError(f"names must map file paths to the names they are known by, "
                                f"e.g. {{'uploads/80af.txt': 'notes.txt'}}; got {names!r:.80}")
        report = load_documents(_as_paths(paths), max_bytes=self.settings.max_file_bytes,
                                names=names)
        failed = self._index_documents(report.documents, progress=progress)
        report.documents = [d for d in report.documents
                            if not any(p.source == d.source for p in failed)]
        report.problems.extend(failed)
        self.problems = report.problems
        roots = [Path(r) for r in self.sources]
        indexed = {_resolved([d.source])[0] for d in report.documents}
        # A file is mirrored from now on only if it was indexed: one that could not be read
        # (and is then deleted, as a refused upload is) would be looked for at every start.
        self.sources += [p for p in _resolved(paths)
                         if (Path(p).is_dir() or p in indexed) and not _is_under(p, roots)]
        return report

    def add_documents(self, documents: Iterable[Document], *,
                      progress: Progress = None) -> list[DocumentError]:
        """Add already loaded documents (see `rag.load.text_document`); same id replaces.

        Returns the documents that could not be embedded (the rest are indexed). Raises
        DocumentError, adding nothing, for an item that is not a Document or whose id is
        not usable (empty, not text)."""
        if isinstance(documents, Document):
            documents = [documents]
        try:
            documents = list(documents)
        except TypeError:
            raise DocumentError(repr(documents)[:80], "add_documents needs a list of "
                                "rag.Document", "make documents with rag.text_document(text, "
                                "doc_id=...)") from None
        for document in documents:
            if not isinstance(document, Document):
                raise DocumentError(repr(document)[:80], "is not a rag.Document",
                                    "make documents with rag.text_document(text, doc_id=...)")
            check_document_id(document.id)
        return self._index_documents(documents, progress=progress)

    def configure(self, **changes) -> Index:
        """A view of this index with other query-time settings (fusion weights, top_k, ...).

        It shares documents and vectors with this index. Settings that shape the saved
        index (model, chunking) cannot change this way: build a new index for those.
        """
        unknown = sorted(set(changes) - {f.name for f in fields(Settings)})
        if unknown:
            raise SettingsError(f"no such setting: {', '.join(unknown)} (see rag.Settings)")
        settings = replace(self.settings, **changes)
        if settings.index_facts() != self.settings.index_facts():
            changed = sorted(k for k, v in settings.index_facts().items()
                             if self.settings.index_facts()[k] != v)
            raise IndexMismatchError(f"{', '.join(changed)} shape the index itself; build a new "
                                     "index to change them")
        view = Index(settings=settings, store=self._store, documents=self._documents,
                     embedder=self._embedder)
        view._lock = self._lock
        view._saved_as = self._saved_as  # saved in its stead (`serve --reader`), it checks too
        return view

    def add_bytes(self, data: bytes, *, name: str, source: str | None = None) -> Document:
        """Add one document from its bytes (an upload); `name` gives its type and title."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DocumentError(str(name), f"add_bytes needs the file's bytes, got "
                                f"{type(data).__name__}", "read the file in binary mode, or "
                                "encode text with .encode('utf-8')")
        if not isinstance(name, str) or not name.strip():
            raise DocumentError(repr(name), "add_bytes needs the file's name (its extension "
                                "gives its type)", "pass name='notes.txt'")
        if source is not None and not isinstance(source, str):
            raise DocumentError(repr(source)[:80], "add_bytes' source must be text (where the "
                                "bytes came from), or left out", "pass source='notes.txt'")
        data = bytes(data)
        document = load_bytes(data, name=name, source=source or name,
                              max_bytes=self.settings.max_file_bytes)
        self._index_documents([document])
        return document

    def remove(self, doc_id: str) -> Document:
        """Remove a document and its passages. Raises UnknownDocumentError."""
        if not isinstance(doc_id, str):
            raise ArgumentError(f"remove takes one document id (a str), got {doc_id!r}; "
                            "remove several one at a time")
        with self._lock:
            document = self.document(doc_id)
            self._store.delete([doc_id])
            self._documents.remove(doc_id)
            # A file added on its own is no longer mirrored: a refresh would add it back.
            # (One inside a mirrored folder comes back with the folder's next refresh.)
            source = _resolved([document.source])[0]
            self.sources = [p for p in self.sources if p != source]
            return document

    def refresh(self, paths: str | Path | Iterable[str | Path] | None = None, *,
                keep: Iterable[str | Path] = (),
                progress: Progress = None) -> dict[str, list[str]]:
        """Make the index match the files under `paths` (default: the files and folders it
        mirrors, `sources`; the seeds for an index that holds nothing; nothing for one that
        holds only documents added from bytes or memory): add new, update changed, drop
        gone.

        Returns the ids `added`, `updated`, `removed` and `unchanged`. A path that does not
        exist raises DocumentError and changes nothing: a mistyped or unmounted folder is
        not a sign that its documents were deleted. Neither is an empty list: remove
        documents with `remove`. The documents under `keep` (sources that are missing now)
        are kept as they are, and `keep` stays among the sources; so are documents added
        from bytes or from memory (`add_bytes`, `add_documents`), which no file mirrors.
        Without `paths`, its own sources that are missing now are kept that way.
        """
        keep = [str(p) for p in _as_paths(keep)] if keep else []
        if paths is None and not self.sources and len(self._documents):
            # Documents added from bytes or memory, no file or folder mirrored: nothing to
            # refresh. (The seeds go only into an index that holds nothing.)
            with self._lock:
                ids = [d.id for d in self._documents.all_facts()]
            return {"added": [], "updated": [], "removed": [], "unchanged": ids}
        if paths is None and self.sources:
            # Its own sources: one that is gone (moved, unmounted, deleted) keeps its
            # documents as they are, as in Index.open; the others are refreshed.
            missing = [p for p in self.sources if not Path(p).exists()]
            if missing:
                log.warning("%s: not found; the documents indexed from there are kept as "
                            "they are", ", ".join(missing))
                keep = [*keep, *(m for m in missing if m not in keep)]
            paths = [p for p in self.sources if p not in missing]
            if not paths:
                with self._lock:
                    ids = [d.id for d in self._documents.all_facts()]
                return {"added": [], "updated": [], "removed": [], "unchanged": ids}
        _require_existing(paths, doing="refresh")
        with self._lock:
            current = {d.id: d for d in self._documents.all_facts()}
        # A file with the bytes it had when indexed is not parsed again (its checksum says so).
        by_source = {d.source: d for d in current.values() if d.from_file}
        report = load_documents(_as_paths(paths), max_bytes=self.settings.max_file_bytes,
                                checksums={s: d.checksum for s, d in by_source.items()})
        self.problems = report.problems
        found = {d.id: d for d in report.documents}
        found |= {by_source[s].id: by_source[s] for s in report.unchanged}
        failed_sources = {p.source for p in report.problems}
        changes: dict[str, list[str]] = {"added": [], "updated": [], "removed": [],
                                         "unchanged": []}
        fresh = []
        for doc_id, document in found.items():
            old = current.get(doc_id)
            if old is None:
                changes["added"].append(doc_id)
                fresh.append(document)
            elif old.checksum != document.checksum:
                changes["updated"].append(doc_id)
                fresh.append(document)
            else:
                changes["unchanged"].append(doc_id)
        roots = [Path(p) for p in _resolved(paths)]
        kept = [Path(p) for p in keep]
        self.sources = [str(r) for r in roots + kept]
        for doc_id, old in current.items():
            # A file that exists but no longer loads (emptied, overwritten with bytes that
            # are no document) is dropped too: its last good version would be quoted and
            # cited as what the file says. Its problem says why. A shared store (Milvus)
            # also holds other replicas' documents: drop only files gone from under these
            # paths.
            if not old.from_file:
                continue  # added from bytes or memory: no file mirrors it, whatever it names
            if doc_id in found or _is_under(old.source, kept):
                continue
            if old.source in failed_sources:
                changes["removed"].append(doc_id)
                self.problems = [_taken_out(p) if p.source == old.source else p
                                 for p in self.problems]
                continue
            if not _is_under(old.source, roots) and (
                    self._shares_documents() or not Path(old.source).is_file()):
                # Not a file under these paths, nor one elsewhere that exists: added from
                # memory (add_documents), or a file that is gone from a folder not
                # refreshed now. Only `remove` takes those out.
                continue
            changes["removed"].append(doc_id)
        with self._lock:
            for doc_id in changes["removed"]:
                self.remove(doc_id)
        failed = self._index_documents(fresh, progress=progress)
        self.problems.extend(failed)
        for problem in failed:
            for key in ("added", "updated"):
                changes[key] = [d for d in changes[key] if found[d].source != problem.source]
        return changes

    def _index_documents(self, documents: Sequence[Document], *,
                         progress: Progress = None) -> list[DocumentError]:
        """Chunk and embed outside the lock, then swap the documents in under it.

        When embedding fails, each document is tried alone: those that fail are left
        out and returned as problems, the rest are indexed. If all fail, the first
        failure is raised.
        """
        if not documents:
            return []
        try:
            prepared = [self._prepare(documents, progress=progress)]
            failed: list[DocumentError] = []
        except (ModelLoadError, ImportError):
            raise
        except Exception as error:  # the model or memory failed on some text: isolate it
            log.warning("embedding failed (%s); retrying document by document", error)
            prepared, failed = [], []
            for document in documents:
                try:
                    prepared.append(self._prepare([document], progress=False))
                except (ModelLoadError, ImportError):
                    raise
                except Exception as single:
                    failed.append(DocumentError(
                        document.source, f"could not be embedded ({single})",
                        "the other documents were indexed; try this one again or leave it out"))
            if not prepared:
                raise failed[0] from error
        with self._lock:
            for batch, chunks, chunk_vectors, sentence_vectors in prepared:
                self._store.delete([d.id for d in batch if d.id in self._documents])
                self._store.add(chunks, chunk_vectors, sentence_vectors)
                if self._shares_documents():  # recorded after its passages: then complete
                    self._store.put_documents(batch)
                self._documents.put(batch)
        return failed

    def _prepare(self, documents: Sequence[Document], *, progress: Progress):
        """Chunks and vectors of `documents`: (documents, chunks, vectors, sentence vectors)."""
        s = self.settings
        chunks = [c for d in documents
                  for c in chunk_document(d, chunk_chars=s.chunk_chars, overlap=s.chunk_overlap,
                                          max_sentence_chars=s.max_sentence_chars)]
        texts = {d.id: d.text for d in documents}
        passage_texts = [passage_text(c, embed_title=s.embed_title) for c in chunks]
        sentence_texts = [t for c in chunks for t in sentence_texts_of(c, texts[c.doc_id])] \
            if s.embed_sentences else []
        vectors = self._embedder.embed_documents(passage_texts + sentence_texts,
                                                 progress=progress)
        chunk_vectors, rest = vectors[:len(chunks)], vectors[len(chunks):]
        if not s.embed_sentences:
            empty = np.zeros((0, vectors.shape[1]), dtype=np.float32)
            return list(documents), chunks, chunk_vectors, [empty] * len(chunks)
        sentence_vectors = []
        for chunk in chunks:
            sentence_vectors.append(rest[:len(chunk.sentences)])
            rest = rest[len(chunk.sentences):]
        return list(documents), chunks, chunk_vectors, sentence_vectors

    # --- questions ----------------------------------------------------------------------

    def search(self, query: str, *, k: int | None = None,
               doc_ids: Iterable[str] | None = None) -> list[Hit]:
        """The `k` passages that best match `query`, best first (hybrid dense + BM25).

        `doc_ids` restricts the search to those documents. Raises QueryError for an
        empty or over-long query, UnknownDocumentError for an unknown document id.
        """
        query = compatible(clean_query(query, max_chars=self.settings.max_query_chars))
        k = self._positive(k, self.settings.top_k, "k")
        wanted = self._check_doc_ids(doc_ids)
        depth = max(self.settings.candidates, k)
        query, vector, dense = self._spell_out_acronyms(query, wanted, depth)
        with self._lock:
            if dense is None:
                dense = self._store.dense_search(vector, depth, wanted)
            keyword = self._store.keyword_search(query, depth, wanted)
            hits = self._fuse(query, dense, keyword, k=k)
        return [replace(h, last_page=self._page_at(h.doc_id, max(h.start, h.end - 1)))
                if h.page else h for h in hits]

    def _spell_out_acronyms(self, query: str, doc_ids: list[str] | None,
                            depth: int) -> tuple[str, np.ndarray, list | None]:
        """The query, with each acronym that the passages nearest in meaning mostly spell
        out followed by its long form ("NATO (North Atlantic Treaty Organization)"), and
        its vector (see `expand_acronyms`). Only those passages are read, so the cost
        does not grow with the corpus. When the query holds an acronym but stays as it
        is, also its `depth` nearest passages (else None), so they are not searched twice."""
        vector = self._embedder.embed_query(query)
        if not acronyms_asked(query):
            return query, vector, None
        with self._lock:
            dense = self._store.dense_search(vector, max(ACRONYM_PASSAGES, depth), doc_ids)
            near = [self._store.get(i) for i, _ in dense[:ACRONYM_PASSAGES]]
        # Each sentence once: passages overlap, and a sentence in two of them would count
        # its acronym twice.
        sentences = {(c.doc_id, a, b): c.text[a - c.start:b - c.start]
                     for c in near for a, b in c.sentences}
        expanded = expand_acronyms(query, "\n".join(t for _, t in sorted(sentences.items())))
        if expanded == query:
            return query, vector, dense[:depth]
        return expanded, self._embedder.embed_query(expanded), None

    def _fuse(self, query: str, dense: list[tuple[str, float]],
              keyword: list[tuple[str, float]], *, k: int) -> list[Hit]:
        s = self.settings
        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]],
                                       weights=[s.dense_weight, s.bm25_weight], k=s.rrf_k)
        phrases = quoted_phrases(query)
        if phrases:
            texts = {chunk_id: self._store.get(chunk_id).text for chunk_id, _ in fused}
            fused = promote_phrases(fused, texts, phrases)
        dense_scores, keyword_scores = dict(dense), dict(keyword)
        hits = []
        for chunk_id, score in fused[:k]:
            chunk = self._store.get(chunk_id)
            document = self._documents.facts(chunk.doc_id) or self.document(chunk.doc_id)
            hits.append(Hit(chunk_id=chunk_id, doc_id=chunk.doc_id, title=document.title,
                            source=document.source, text=chunk.text, start=chunk.start,
                            end=chunk.end, score=score, page=document.page_at(chunk.start),
                            dense=dense_scores.get(chunk_id), bm25=keyword_scores.get(chunk_id)))
        return hits

    def ask(self, question: str, *, history: Sequence[str] | None = (), k: int | None = None,
            doc_ids: Iterable[str] | None = None) -> Answer:
        """Answer with quoted sentences, best first, or abstain when the documents don't say.

        `history` holds the earlier questions of the conversation (oldest first); a
        follow-up is searched as the effective query reported in `Answer.query`.
        """
        started = time.perf_counter()
        s = self.settings
        question = clean_query(question, max_chars=s.max_query_chars)
        earlier = [compatible(h) for h in clean_history(history, max_chars=s.max_query_chars)]
        quotes_wanted = self._positive(k, s.max_quotes, "k")
        wanted = self._check_doc_ids(doc_ids)
        k = max(10, quotes_wanted)
        depth = max(s.candidates, k)
        # Compatibility form first, so that a full-width "ｈｅ" is a pronoun to resolve.
        alone = without_preamble(without_pleasantries(compatible(question)))
        query = resolve_followup(alone, earlier, known_as=self._known_as(wanted))
        if query.endswith(f": {alone}") and not points_back(alone) and not followup_topic(
                alone) and (
                set(tokenize([alone])[0]) - answering.question_words()) \
                and not self._store.keyword_search(alone, 1, wanted):
            # "asdfgh qwerty", joined to the question before it for being short, would be
            # answered as that one: with none of its words in the documents, it is asked
            # alone and said to be so.
            query = alone
        if query.endswith(f": {alone}") and asks_about_a_person(alone) \
                and asks_for_someone(earlier[-1]):
            # "What is the title of her talk?" after "Who is giving the opening keynote?":
            # "her" is the person the earlier question's answer names.
            named = self._person_answered(earlier, wanted, person_called(alone))
            if named:
                query = resolve_followup(alone, [f"Who is {named}?"])
        answer = self._answer(question, query, wanted, quotes_wanted, k, depth)
        # "When was she born?" after a question that names no one: who "she" is lies in
        # the earlier answer, so asked alone it would find anyone's birth.
        unresolved = query.endswith(f": {alone}") and asks_about_a_person(alone)
        if query.endswith(f": {alone}") and not unresolved:
            # Searched together with the question before it ("By whom?"), a follow-up that
            # changes the subject ("Does it create legal obligations?" after a question
            # about troops) finds the earlier subject and is refused. Then it is asked
            # alone, and that answer given if it is one. (Preferring the surer of two
            # answers gave "Which countries?" the wrong accord by 0.861 to 0.858.)
            if answer.abstained:
                single = self._swapped(question, alone, earlier, wanted, quotes_wanted, k,
                                       depth) \
                    or self._answer(question, alone, wanted, quotes_wanted, k, depth)
                if not single.abstained:
                    answer = single
        topic = followup_names(alone) if earlier else []
        joined = query.endswith(f": {alone}")
        if topic and query != alone and (joined or _ASKS_A_STANCE.search(earlier[-1])) \
                and not (joined and answer.abstained) and (  # asked alone above already
                answer.abstained or not answering.names_any(answer.quotes[0].text, topic)):
            # "What about China?" after "What did Japan's foreign minister say?", searched as
            # "What did China's foreign minister say?", finds Japan's minister or nothing;
            # what the documents do say of China ("China hasn't commented on the
            # Russia-North Korea pact") is found asked alone, and given when it names China.
            # Only after a question about what someone says or thinks: "When did Japan
            # summon Russia's ambassador?" is not answered by what Japan said. Searched with
            # the question before it ("Where does Paul Poast work: What about China?"), it
            # is asked alone too, as a refused one is above.
            single = self._answer(question, alone, wanted, quotes_wanted, k, depth)
            if not single.abstained and answering.names_any(single.quotes[0].text, topic):
                answer = single
        if topic and not answer.abstained and not answering.names_any(answer.quotes[0].text,
                                                                      topic):
            # "What about Japan?" asks about Japan: a first quote that does not name it
            # answers the previous question ("South Korea summoned Russia's ambassador").
            answer = replace(answer, abstained=True)
        # What the follow-up itself asks about: the topic of "What about the lighthouse
        # keeper?"; the words of "When was she born?" or "And where is the keeper?" searched
        # with the question before it (not those of "How quickly are they to do it?": "in an
        # expeditious manner").
        own = followup_topic(alone) or (alone if unresolved or (
            query.endswith(f": {alone}") and goes_on(alone)) else "")
        about = set(answering.answer_terms([own])[0]) - answering.question_words() \
            if earlier and query != alone else set()
        if about and not answer.abstained and about.isdisjoint(
                answering.answer_terms([answer.quotes[0].text])[0]):
            # "What about the lighthouse keeper?" after a question about the cafe: a first
            # quote that says nothing of the keeper answers the earlier question; nor does
            # "Councillor Natarajan chaired the meeting" say when she was born. Asked
            # alone, it may find the keeper; else the documents do not say.
            single = self._swapped(question, alone, earlier, wanted, quotes_wanted, k,
                                   depth) or (None if unresolved else self._answer(
                                       question, alone, wanted, quotes_wanted, k, depth))
            answer = single if single and not single.abstained and not about.isdisjoint(
                answering.answer_terms([single.quotes[0].text])[0]) \
                else replace(answer, abstained=True)
        return replace(answer, seconds=time.perf_counter() - started)

    def _known_as(self, wanted: list[str] | None) -> Callable[[str], str | None]:
        """How the documents call a person, "he" or "she" (None when they do not say), read
        in the passages that name them best (`entities.known_as`)."""

        @cache
        def known_as(name: str) -> str | None:
            with self._lock:
                found = self._store.keyword_search(name, PRONOUN_PASSAGES, wanted)
                texts = [self._store.get(chunk_id).text for chunk_id, _ in found]
            return entities.known_as(name, texts)

        return known_as

    def _swapped(self, question: str, alone: str, earlier: list[str],
                 wanted: list[str] | None, quotes_wanted: int, k: int,
                 depth: int) -> Answer | None:
        """"What about the flowers?" after "Who is judging the vegetables?" asks who is
        judging the flowers: the answer to the earlier question with its thing swapped for
        the topic (`topic_swaps`), the first that quotes the topic's words; else None."""
        topic = followup_topic(alone)
        wanted_terms = set(answering.answer_terms([topic])[0]) - answering.question_words()
        for swapped in topic_swaps(resolve_followup(earlier[-1], earlier[:-1]), topic):
            answer = self._answer(question, swapped, wanted, quotes_wanted, k, depth)
            if not answer.abstained and not wanted_terms.isdisjoint(
                    answering.answer_terms([answer.quotes[0].text])[0]):
                return answer
        return None

    def _person_answered(self, earlier: list[str], wanted: list[str] | None,
                         called: str | None = None) -> str:
        """The person the answer to the last of the `earlier` questions names first, which
        that question does not name itself ("Dr Ingrid Solberg" for "Who is giving the
        opening keynote?"), or "" when it is not answered or names no one new.

        With `called` ("he" or "she"), not someone the documents call otherwise: "she"
        after "Who is the new Year 5 teacher?" is not "Mr Daniel Fenwick", whom the first
        quote names (a review's newsletter); the question is then searched with the one
        before it. (A woman of a later quote was as often a pupil of an award list.)"""
        previous = self.ask(earlier[-1], history=earlier[:-1], doc_ids=wanted)
        if previous.abstained or not previous.quotes:
            return ""
        asked = set(answering.answer_terms([earlier[-1]])[0])
        known_as = self._known_as(wanted)
        people = []
        text = " ".join(previous.quotes[0].text.split())
        for name, label in (entities.name_labels(text) or {}).items():
            # "Councillor Amara Osei" is a person whatever label the small recogniser
            # gives; so is "Tamsin Okafor, who grew up on a farm" (labelled a place),
            # before "Larchway" (a company the recogniser takes for a person).
            first, _, rest = name.partition(" ")
            titled = first.lower().rstrip(".") in answering.TITLE_WORDS \
                and rest[:1].isupper()
            who = bool(re.search(rf"\b{re.escape(name)},?\s+who\b", text))
            name = rest if titled else name
            if (titled or who or label == "PERSON") \
                    and not set(answering.answer_terms([name])[0]) <= asked \
                    and known_as(name) in (None, called or known_as(name)):
                people.append((not (titled or who), name))
        return min(people, key=lambda p: p[0])[1] if people else ""

    def _answer(self, question: str, query: str, wanted: list[str] | None, quotes_wanted: int,
                k: int, depth: int) -> Answer:
        """`question` answered by searching for `query` (the question, or what it means
        after the conversation so far)."""
        s = self.settings
        query, vector, dense = self._spell_out_acronyms(query, wanted, depth)
        query_terms = set(answering.answer_terms([query])[0])
        with self._lock:
            if dense is None:
                dense = self._store.dense_search(vector, depth, wanted)
            keyword = self._store.keyword_search(query, depth, wanted)
            hits = self._fuse(query, dense, keyword, k=k)
            keyword_terms = {t for words in answering.answer_terms(
                [f"{c.title}\n{c.text}" for c in map(self._store.get, (i for i, _ in keyword))])
                for t in words}
            passages = len(self._store)
            chunks = [self._store.get(h.chunk_id) for h in hits]
            matrices = [self._store.sentence_vectors(h.chunk_id) for h in hits]
            texts = {h.doc_id: (self._documents.get(h.doc_id) or self.document(h.doc_id)).text
                     for h in hits}
        spans = [c.sentences for c in chunks]
        matrices = self._embed_missing_sentences(chunks, matrices, texts)
        sims = [m @ vector for m in matrices]
        alone = self._alone_sims(chunks, texts, vector)
        terms = [answering.answer_terms([texts[h.doc_id][a:b] for a, b in sp])
                 for h, sp in zip(hits, spans, strict=True)]
        names = names_in(query)
        # A sentence that calls the question's subject "she" ranks as if it gave her name.
        referred = [answering.referred_terms(texts[h.doc_id], sp, words, names)
                    for h, sp, words in zip(hits, spans, terms, strict=True)]
        scored = answering.score_sentences(hits, spans, sims, terms, query_terms, query,
                                           alone_sims=alone, referred=referred)
        asked = query_terms - answering.question_words()
        if s.reader:
            from .reader import CANDIDATES, rerank, shared_reader

            quotes, reading = rerank(shared_reader(), query, answering.pick_quotes(
                scored, texts, limit=max(quotes_wanted, CANDIDATES), names=names, asked=asked),
                limit=quotes_wanted)
        else:
            quotes = answering.pick_quotes(scored, texts, limit=quotes_wanted, names=names,
                                           asked=asked)
        features = answering.answer_features(
            scored, hits, terms, query_terms,
            keyword=answering.KeywordEvidence(
                keyword[0][1] if keyword else 0.0, passages,
                answering.unmatched_terms(query_terms, keyword_terms),
                tuple(tuple(t) for t in answering.answer_terms(names) if t)),
            query=query)
        if s.reader:
            features["reader"] = reading
        model = answering.abstention_model(reader=s.reader)
        confidence = answering.answer_probability(features, model)
        # Something the question names that the first quote lacks: a year ("revenue in
        # 2022", where the documents give 2023's; looked for in the quote's whole
        # document), a speaker ("What did Gregory Lund say?" answered with the minister's
        # words), a unit ("How many kilograms...?" answered in per cent).
        misses = bool(quotes) and (answering.first_quote_misses(
            question, texts.get(quotes[0].doc_id, ""), quotes[0].start, quotes[0].end)
            or answering.role_of_the_absent(question, keyword_terms))
        # "What is it?" asked with nothing before it: no word to look for.
        # "What did Putin say?" is answered by Putin's words however little else it shares
        # with them.
        sure = bool(quotes) and (answering.gives_the_words_asked(
            query, texts.get(quotes[0].doc_id, ""), quotes[0].start, quotes[0].end)
            or answering.gives_the_field_asked(
                query, texts.get(quotes[0].doc_id, ""), quotes[0].start, quotes[0].end,
                quotes[0].hit.title or ""))
        abstained = s.abstain and (not quotes or (confidence < model["threshold"] and not sure)
                                   or misses or not asked)
        if abstained and any(x.penalty for x in scored):
            # Shown as the closest passages, they come by closeness: the answer-type rules
            # ranked the sentences for an answer the documents turned out not to give.
            closest = sorted((replace(x, score=x.relevance) for x in scored),
                             key=lambda x: (-x.score, x.hit.doc_id, x.start))
            quotes = answering.pick_quotes(closest, texts, limit=quotes_wanted, names=names,
                                           asked=asked)
        part = about.asked_part(question)  # not the query, which may hold earlier questions
        # The documents beyond those retrieved are read only when the question would
        # otherwise go unanswered: "Who wrote the report?" may ask about the report's text.
        part_quotes = part and about.quote_part(
            part, hits, self.document, score=quotes[0].score if quotes else 0.0,
            searched=self._searched_ids(wanted) if abstained or part is about.Part.OPENING
            else (), limit=max(quotes_wanted, about.OPENINGS_SHOWN)
            if part is about.Part.OPENING else quotes_wanted)
        if part_quotes:
            # A question about the document itself (its headline, dateline, byline, site) is
            # answered by the part it asks for alone: the sentences that merely share its
            # words ("headline", "article") answer nothing.
            features["document_part"] = 1.0
            quotes, abstained = part_quotes, False
        note = OPENING_NOTE if part_quotes and part is about.Part.OPENING else ""
        if any(q.hit.page for q in quotes):
            quotes = [q.on_pages(self._page_at) for q in quotes]
        return Answer(question=question, query=query, quotes=tuple(quotes), abstained=abstained,
                      hits=tuple(hits[:quotes_wanted]), confidence=confidence,
                      seconds=0.0, features=features, note=note,
                      # Over some documents, the words may be in the others.
                      no_word_found=abstained and wanted is None and bool(asked)
                      and asked.isdisjoint(keyword_terms))

    def _page_at(self, doc_id: str, offset: int) -> int | None:
        # The facts hold the pages: the text need not be read (nor pushed out of the cache).
        facts = self._documents.facts(doc_id)
        if facts is not None:
            return facts.page_at(offset)
        try:
            return self.document(doc_id).page_at(offset)
        except UnknownDocumentError:  # removed by another session meanwhile
            return None

    def _searched_ids(self, wanted: list[str] | None) -> list[str]:
        """The ids of the documents a question searches (none listed past
        about.SCANNED_DOCUMENTS: too many to read through for a byline)."""
        if wanted is not None:
            return wanted
        with self._lock:
            if len(self._documents) > about.SCANNED_DOCUMENTS:
                return []
            return [d.id for d in self._documents.all_facts()]

    def _embed_missing_sentences(self, chunks: Sequence[Chunk], matrices: list[np.ndarray],
                                 texts: dict[str, str]) -> list[np.ndarray]:
        """Sentence vectors of passages indexed without them (Settings.embed_sentences=False),
        embedded now: the embedding cache keeps them for the next question."""
        missing = [i for i, (c, m) in enumerate(zip(chunks, matrices, strict=True))
                   if c.sentences and not len(m)]
        if not missing:
            return matrices
        wanted = [sentence_texts_of(chunks[i], texts[chunks[i].doc_id]) for i in missing]
        vectors = self._embedder.embed_documents([t for w in wanted for t in w], progress=False)
        filled, start = list(matrices), 0
        for i, w in zip(missing, wanted, strict=True):
            filled[i], start = vectors[start:start + len(w)], start + len(w)
        return filled

    def _alone_sims(self, chunks: Sequence[Chunk], texts: dict[str, str],
                    vector: np.ndarray) -> list[np.ndarray]:
        """Each candidate sentence's cosine to the query with the sentence embedded alone.

        A sentence is indexed after the one before it, whose context finds "said Poast, who
        researches alliances" for "What does the Chicago professor study?"; but the context
        also drowns a sentence that says it all itself ("The trial was conducted at Uppsala
        University Hospital" after a list of outcomes). Its score takes the better of the
        two. Embedded when first a candidate, and remembered (ALONE_REMEMBERED)."""
        wanted: dict[str, str] = {}
        keys = []
        for chunk in chunks:
            text = texts[chunk.doc_id]
            # A sentence that calls someone "he" or "she" reads alone with the name in its
            # place ("He is succeeded by Amina Rask" as "Karsten Ølberg is succeeded...").
            alone = [answering.with_subject(text[a:b], subject)
                     if answering.names_by_pronoun(text[a:b])
                     and (subject := answering.referred_subject(text, a)) else text[a:b]
                     for a, b in chunk.sentences]
            row = [text_hash(t) for t in alone]
            keys.append(row)
            for key, sentence in zip(row, alone, strict=True):
                if key not in self._alone:
                    wanted[key] = sentence
        with self._lock:
            missing = {k: t for k, t in wanted.items() if k not in self._alone}
        if missing:
            vectors = self._embedder.embed_documents(list(missing.values()), progress=False)
            with self._lock:
                self._alone.update(zip(missing, vectors, strict=True))
        with self._lock:
            for row in keys:
                for key in row:
                    self._alone.move_to_end(key)
            while len(self._alone) > ALONE_REMEMBERED:
                self._alone.popitem(last=False)
            return [np.array([float(self._alone[k] @ vector) for k in row], dtype=np.float32)
                    if row else np.zeros(0, dtype=np.float32) for row in keys]

    def _positive(self, value: int | None, default: int, name: str) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise QueryError(f"{name} must be a whole number greater than 0, got {value!r}.")
        return value

    def _check_doc_ids(self, doc_ids: Iterable[str] | None) -> list[str] | None:
        if doc_ids is None:
            return None
        if isinstance(doc_ids, str):
            doc_ids = [doc_ids]
        try:
            wanted = list(doc_ids)
        except TypeError:
            raise QueryError(f"doc_ids must be a list of document ids, got {doc_ids!r}.") from None
        if not all(isinstance(d, str) for d in wanted):
            raise QueryError(f"doc_ids must be a list of document ids (text), got {wanted!r}.")
        if not wanted:  # searching nothing would answer "the documents don't cover this"
            raise QueryError("doc_ids is empty, so there is no document to search; pass None "
                             "(the default) to search every document.")
        unknown = [d for d in wanted if self._known(d) is None]
        if unknown:
            raise UnknownDocumentError(
                f"No document has the id {unknown[0]!r}; the ids are listed by "
                "Index.documents() (on the command line: briefing documents).")
        return wanted

    # --- files --------------------------------------------------------------------------

    def manifest(self) -> dict:
        with self._lock:
            documents = [{"id": d.id, "title": d.title, "source": d.source, "kind": d.kind.value,
                          "checksum": d.checksum, "size": d.size}
                         for d in self._documents.all_facts()]
            count = len(self._store)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": self.settings.model,
            "dimension": self._embedder.dimension,
            "settings": self.settings.index_facts(),
            "documents": documents,
            "sources": list(self.sources),
            "chunks": count,
            "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, folder: str | Path) -> Path:
        """Write the index to `folder` atomically: a crash leaves the previous save intact.

        `folder` must be new, empty, or a saved index (which is replaced; other files kept
        beside it stay): a folder holding files but no index raises IndexSaveError rather
        than have its files replaced.
        """
        folder = _folder(folder)
        _check_save_target(folder)
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise IndexSaveError(f"cannot save the index in {folder}: "
                                 f"{error.strerror or error}") from error
        # One save of a folder at a time, from any thread or process: two swapping it in
        # at once removed each other's files.
        with _folder_lock(folder, exclusive=True):
            self._check_not_saved_since(folder)
            try:
                _remove_abandoned_saves(folder)
                staging = Path(tempfile.mkdtemp(
                    prefix=f".{folder.name}.saving-{os.getpid()}-", dir=folder.parent))
            except OSError as error:
                raise IndexSaveError(f"cannot save the index in {folder}: "
                                     f"{error.strerror or error}") from error
            staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would lock out the group
            try:
                with self._lock:
                    self._store.save(staging)
                    self._documents.save(staging)
                    manifest = self.manifest()
                manifest["text_digests"] = text_digests(staging)
                manifest["save_id"] = uuid.uuid4().hex
                # The manifest goes last: a folder without one is never taken for an index.
                (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
                _carry_over(folder, staging)
                _fsync_tree(staging)
                _swap_in(staging, folder)
                self._saved_as = (folder.resolve(), manifest["save_id"])
            except BaseException as error:
                shutil.rmtree(staging, ignore_errors=True)
                if isinstance(error, OSError) and not isinstance(error, BriefingError):
                    raise IndexSaveError(f"cannot save the index in {folder}: "
                                         f"{error.strerror or error}") from error
                raise
        return folder

    def _check_not_saved_since(self, folder: Path) -> None:
        """IndexSaveError when another process (or another Index) saved `folder` after
        this index was loaded from it or last saved it: each save writes what its own
        process holds, so saving now would silently drop that save's changes."""
        if self._saved_as is None or self._saved_as[0] != folder.resolve():
            return
        try:
            current = json.loads((folder / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return  # gone or damaged: nothing there to keep
        if isinstance(current, dict) and str(current.get("save_id", "")) != self._saved_as[1]:
            raise SavedSinceError(
                f"The index in {folder} was saved by another process or Index object after "
                "this one "
                + ("found the folder empty" if self._saved_as[1] == FOUND_EMPTY else "loaded it")
                + "; saving now would drop that save's changes. Run the command again (from "
                "Python: load it again with Index.load or Index.open, or restart the chat) and "
                "redo this change.")

    @classmethod
    def load(cls, folder: str | Path, *, settings: Settings | None = None,
             cache_dir: str | Path | None = None) -> Index:
        """Open a saved index. Raises IndexFormatError (missing, damaged, other version) or
        IndexMismatchError (built with another model or chunking than `settings`)."""
        folder = _folder(folder)
        with _folder_lock(folder, exclusive=False):  # not while a save swaps it
            return cls._load(folder, settings=settings, cache_dir=cache_dir)

    @classmethod
    def _load(cls, folder: Path, *, settings: Settings | None,
              cache_dir: str | Path | None) -> Index:
        _recover_interrupted_swap(folder)
        manifest = read_manifest(folder)
        settings = None if settings is None else settings_or_default(settings)
        saved = Settings.from_dict(manifest["settings"] | {"model": manifest["model"]})
        if settings is not None:
            mismatched = {key: (value, settings.index_facts()[key])
                          for key, value in saved.index_facts().items()
                          if settings.index_facts()[key] != value}
            if mismatched:
                detail = ", ".join(f"{k} is {old!r} there but {new!r} here"
                                   for k, (old, new) in mismatched.items())
                raise IndexMismatchError(
                    f"The index in {folder} was built with other settings ({detail}). Rebuild "
                    f"it: briefing index --out {folder}")
        else:
            settings = saved
        cache = EmbeddingCache(Path(cache_dir) / "embeddings.sqlite") if cache_dir else None
        embedder = Embedder(settings.model, batch_size=settings.batch_size, cache=cache)
        try:
            _check_text_digests(folder, manifest)
            documents = DocumentTable.load(folder)
            store = load_store(settings, folder, manifest["dimension"])
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise IndexFormatError(
                f"The index in {folder} is damaged ({error}). Rebuild it: "
                f"briefing index --out {folder}") from error
        listed = {d["id"]: d["checksum"] for d in manifest["documents"]}
        if listed != {d.id: d.checksum for d in documents.all_facts()}:
            raise IndexFormatError(f"The index in {folder} is damaged: documents.jsonl does not "
                                   f"match manifest.json. Rebuild it: briefing index --out {folder}")
        index = cls(settings=settings, store=store, documents=documents, embedder=embedder)
        index._saved_as = (folder.resolve(), str(manifest.get("save_id", "")))
        index.sources = [p for p in manifest.get("sources", ()) if isinstance(p, str)]
        return index

    @classmethod
    def open(cls, paths: str | Path | Iterable[str | Path] | None, folder: str | Path, *,
             settings: Settings | None = None, cache_dir: str | Path | None = None,
             progress: Progress = None, rebuild: bool = True,
             must_save: bool = True) -> tuple[Index, dict[str, list[str]]]:
        """Load the index saved in `folder` and bring it up to date with the files under
        `paths`, or build it when there is none or it cannot be used; save if anything changed.
        Without `paths`, the files and folders it was built from (`saved_sources`; the seeds
        for a new index). Without `settings`, the saved index's own (the defaults for a new
        one).

        An index built with other `settings` (model, store, chunking) is rebuilt with these,
        unless `rebuild` is False: then IndexMismatchError names the difference and the
        folder is left as it is. One written by a newer Briefing is never rebuilt over.
        With `must_save` False, an index brought up to date that cannot be saved (a
        read-only folder) is returned all the same, with a warning.

        Returns the index and the changes made (see `refresh`).
        """
        folder = _folder(folder)
        settings = settings_or_default(settings) if settings is not None else \
            _saved_settings(folder)
        given = paths is not None
        if folder.exists() and not folder.is_dir() and not must_save:
            if not given:
                raise IndexFormatError(f"{folder} is a file, not a folder an index was saved "
                                       "in: give that folder, or the documents to index")
            # Asked to answer from these documents: they are indexed in memory, unsaved.
            log.warning("%s is a file, not an index folder: the documents are indexed in "
                        "memory and not saved", folder)
            index = cls.empty(settings=settings_or_default(settings), cache_dir=cache_dir)
            changes = index.refresh(paths)
            if not len(index._documents):
                reasons = "; ".join(str(p) for p in index.problems[:5]) or "no files found"
                raise NoDocumentsError(f"No document could be indexed ({reasons}). Give files "
                                       "or folders holding .txt, .md, .html or .pdf documents.")
            return index, changes
        _check_save_target(folder)  # before the work of indexing, not after
        if given and _as_paths(paths):
            # A mistyped path is named before anything is made (the embedding cache was).
            _require_existing(paths, doing="refresh")
        recorded = saved_sources(folder) if paths is None else []
        missing = [p for p in recorded if not Path(p).exists()]
        if recorded:
            paths = [p for p in recorded if p not in missing]
        rebuilt = False
        try:
            index = cls.load(folder, settings=settings, cache_dir=cache_dir)
        except IndexFormatError as error:
            if not rebuild and isinstance(error, IndexMismatchError):
                raise
            _refuse_newer_version(folder, error)
            # Looked at before the model loads (seconds), in which another process may
            # save an index there.
            damaged = (folder / "manifest.json").exists()
            index = cls.empty(settings=settings_or_default(settings), cache_dir=cache_dir)
            if not damaged:
                # Found empty: an index another process saves there meanwhile is not
                # replaced by this one unsaid (two `briefing index` runs into a new folder).
                index._saved_as = (folder.resolve(), FOUND_EMPTY)
            else:
                rebuilt = True
                # Damaged, or of another version or model: rebuilt from the documents it
                # held (their saved texts), then brought up to date with their files.
                held = _saved_documents(folder)
                # The error's reason, without the rebuild it suggests (done, or refused).
                reason = re.split(rf" {re.escape(_REBUILD)}|\. Rebuild it\b",
                                  str(error))[0].rstrip(".")
                if not given and not held and _may_hold_unmirrored(folder):
                    # Rebuilt from its sources alone, documents added from bytes would be
                    # lost for good.
                    if not reason.startswith(f"The index in {folder} "):
                        reason = f"The index in {folder} cannot be used ({reason})"
                    raise IndexFormatError(
                        f"{reason}, and the documents it holds cannot be read from it either, "
                        "so it is left as it is. Rebuild it from your documents: briefing "
                        f"index PATHS --out {folder} (or Index.open(PATHS, folder)).") from error
                log.warning("%s: rebuilt from the %d documents it held", reason, len(held))
                index.problems = index._index_documents(held)
                if paths is None:
                    recorded = _sources_of(held, folder)
                    missing = [p for p in recorded if not Path(p).exists()]
                    paths = [p for p in recorded if p not in missing]
                    if not recorded:  # all added from bytes or memory: nothing to mirror
                        _save_opened(index, folder, must_save=must_save)
                        return index, {"added": [], "updated": [], "removed": [],
                                       "unchanged": [d.id for d in held]}
        if not given and not recorded and not rebuilt and (folder / "manifest.json").exists():
            # Saved mirroring no file or folder (documents added from bytes, or every file
            # removed): used as saved. The seeds go only into a new folder.
            return index, {"added": [], "updated": [], "removed": [],
                           "unchanged": [d.id for d in index._documents.all_facts()]}
        emptied = bool(recorded and paths and len(index._documents)
                       and not expand_paths(paths, LoadReport()))
        if recorded and (not paths or emptied) and len(index._documents):
            # Moved or unmounted, not deleted one by one: keep what was indexed. (An
            # unmounted mount point is an empty folder; before, it refused every question.)
            log.warning("the documents the index in %s was built from are gone (%s%s); it "
                        "is used as saved", folder, ", ".join(recorded),
                        ": no document is there now" if emptied else "")
            if rebuilt:
                index.sources = list(recorded)
                _save_opened(index, folder, must_save=must_save)
            return index, {"added": [], "updated": [], "removed": [],
                           "unchanged": [d.id for d in index._documents.all_facts()]}
        if missing:
            log.warning("%s: not found; the documents indexed from there are kept as saved",
                        ", ".join(missing))
        sources = list(index.sources)
        changes = index.refresh(paths or None, keep=missing, progress=progress)
        if not len(index._documents):
            reasons = "; ".join(str(p) for p in index.problems[:5]) or "no files found"
            raise NoDocumentsError(f"No document could be indexed ({reasons}). Give files or "
                                   "folders holding .txt, .md, .html or .pdf documents.")
        if changes["added"] or changes["updated"] or changes["removed"] or rebuilt \
                or index.sources != sources or not (folder / "manifest.json").exists() \
                or index._store.outdated:
            _save_opened(index, folder, must_save=must_save)
        return index, changes


FOUND_EMPTY = "(found empty)"
"""What an index opened in a folder holding none records as the save it was opened from."""

TAKEN_OUT = "; what it said before is no longer searched or quoted"


def _taken_out(problem: DocumentError) -> DocumentError:
    """The problem of a file that no longer loads, saying its earlier text left the index."""
    return type(problem)(problem.source, f"{problem.problem}{TAKEN_OUT}", problem.fix)


def passage_text(chunk: Chunk, *, embed_title: bool) -> str:
    """What is embedded for a passage: its document title for context, then its text."""
    return f"{chunk.title}\n{chunk.text}" if embed_title else chunk.text


def sentence_texts_of(chunk: Chunk, document_text: str) -> list[str]:
    """What is embedded for each sentence: the sentence after the one before it.

    The previous sentence carries context a sentence leaves implicit: "said Poast, who
    researches military alliances" is found by "What does the Chicago professor study?"
    only with the sentence that says Poast is a Chicago professor.
    """
    texts = []
    for i, (start, end) in enumerate(chunk.sentences):
        context_start = chunk.sentences[i - 1][0] if i else start
        if i and (is_item(document_text[start:end])
                  or is_item(document_text[context_start:chunk.sentences[i - 1][1]])):
            # A table row or list item stands alone: "Item: Books; Cost: 120,000." after
            # "Item: Roof; Cost: 400,000." would be found by "What does the roof cost?".
            context_start = start
        texts.append(document_text[context_start:end])
    return texts


def read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if folder.is_file():
        raise IndexFormatError(f"{folder} is a file, not an index folder: give the folder an "
                               "index was saved in (briefing index PATHS --out FOLDER)")
    if not path.exists():
        if folder.is_dir() and any(folder.iterdir()):
            raise IndexFormatError(f"{folder} holds no saved index (no manifest.json) but other "
                                   "files; an index goes in a folder of its own: briefing "
                                   "index PATHS --out NEW_FOLDER")
        raise IndexFormatError(f"No saved index in {folder} (no manifest.json). Build one: "
                               f"briefing index --out {folder}")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise IndexFormatError(f"{path} is damaged ({error}). {_REBUILD} "
                               f"briefing index --out {folder}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFormatError(f"{path} is not a Briefing index manifest. {_REBUILD} "
                               f"briefing index --out {folder}")
    if manifest.get("format_version") not in READABLE_VERSIONS:
        raise IndexFormatError(
            f"{path} is format version {manifest.get('format_version')!r}; this Briefing reads "
            f"versions {' and '.join(map(str, READABLE_VERSIONS))}. {_REBUILD} "
            f"briefing index --out {folder}")
    for key in ("model", "dimension", "settings", "documents"):
        if key not in manifest:
            raise IndexFormatError(f"{path} lacks {key!r}. {_REBUILD} "
                                   f"briefing index --out {folder}")
    # Each field of the kind it must be: a manifest edited by hand or damaged in place gave
    # the command line raw TypeErrors and KeyErrors.
    documents = manifest["documents"]
    wrong = next((key for key, ok in (
        ("model", isinstance(manifest["model"], str) and manifest["model"].strip()),
        ("dimension", isinstance(manifest["dimension"], int)
         and not isinstance(manifest["dimension"], bool) and manifest["dimension"] > 0),
        ("settings", isinstance(manifest["settings"], dict)),
        ("documents", isinstance(documents, list) and all(
            isinstance(d, dict) and isinstance(d.get("id"), str)
            and isinstance(d.get("checksum"), str)
            and isinstance(d.get("source", ""), str) for d in documents))) if not ok), None)
    if wrong:
        raise IndexFormatError(f"{path} is damaged (its {wrong!r} is not what an index "
                               f"records). {_REBUILD} briefing index --out {folder}")
    return manifest


def _save_opened(index: Index, folder: Path, *, must_save: bool) -> None:
    """Save what Index.open brought up to date; when it need not be saved (a read-only
    install answering a question), a failure is a warning."""
    try:
        index.save(folder)
    except IndexSaveError as error:
        if isinstance(error, SavedSinceError) and _holds_the_same(folder, index):
            # Another process brought it up to date the same way meanwhile (two questions
            # asked at once after a file changed): nothing of either is lost.
            log.info("the index in %s was brought up to date by another process", folder)
            return
        if must_save:
            raise
        log.warning("the index in %s could not be brought up to date on disk (%s); this "
                    "answer uses the documents as they are now", folder, error)


def _holds_the_same(folder: Path, index: Index) -> bool:
    """Whether the index saved in `folder` holds the documents `index` holds, in the same
    versions, mirroring the same sources."""
    try:
        records = DocumentTable.records(folder)
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        saved = {r["id"]: r["checksum"] for r in records}
        sources = manifest.get("sources")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    with index._lock:
        held = {d.id: d.checksum for d in index._documents.all_facts()}
    return saved == held and sources == list(index.sources)


def _may_hold_unmirrored(folder: Path) -> bool:
    """Whether the index in `folder` may hold documents that no file mirrors (added from
    bytes or memory), which a rebuild from its sources would lose: its list of documents
    says so, or cannot be read to tell."""
    try:
        records = DocumentTable.records(folder)
        return not all(Document.from_record(r | {"text": ""}).from_file for r in records)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return bool(json.loads((folder / "manifest.json").read_text("utf-8"))["documents"])
    except (OSError, ValueError, KeyError, TypeError):
        return True


def _saved_settings(folder: Path) -> Settings | None:
    """The defaults, with the model, store and chunking the index saved in `folder` was
    built with; None when there is no readable index there."""
    try:  # read whatever its version: one rebuilt keeps its model and store too
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        saved = Settings.from_dict(manifest["settings"] | {"model": manifest["model"]})
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return replace(Settings(), **saved.index_facts())


_REBUILD = ("Rebuild the index (Index.open, or briefing index, rebuilds it from the documents "
            "it held):")


def _refuse_newer_version(folder: Path, error: Exception) -> None:
    """IndexFormatError when the index in `folder` was written by a newer Briefing: an
    older one must not rebuild it in its own format (the newer one would then rebuild it
    again, or could not)."""
    try:
        version = json.loads((folder / "manifest.json").read_text("utf-8")).get("format_version")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise IndexFormatError(
            f"The index in {folder} was written by a newer Briefing (format version "
            f"{version}; this one reads {' and '.join(map(str, READABLE_VERSIONS))}), so it is "
            "left as it is. Upgrade Briefing (pip install -U -e .), or build an index in "
            "another folder: briefing index PATHS --out NEW_FOLDER") from error


def saved_sources(folder: str | Path) -> list[str]:
    """The files and folders the index saved in `folder` mirrors (`Index.sources`); empty
    when there is no readable record of them. Read without loading the index, so that an
    index to be rebuilt (damaged, older format) keeps its documents.

    An index saved before sources were recorded mirrors its documents' own files (the
    seeds folder and the chat's uploads folder as folders)."""
    try:
        manifest = json.loads((_folder(folder) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(manifest, dict):
        return []
    recorded = manifest.get("sources")
    if isinstance(recorded, list) and all(isinstance(p, str) for p in recorded):
        return recorded
    documents = manifest.get("documents")
    if not isinstance(documents, list):
        return []
    return _sources_of([d.get("source") for d in documents if isinstance(d, dict)], folder)


def _sources_of(documents: Iterable[Document | str | None], folder: str | Path) -> list[str]:
    """The files that `documents` (or their sources) were loaded from, as an index mirrors
    them: the seeds folder and the chat's uploads folder as folders."""
    uploads = (_folder(folder).parent / "uploads").resolve()
    derived: list[str] = []
    for document in documents:
        if isinstance(document, Document):
            source = document.source if document.from_file else None
        else:  # a source saved before Document.from_file: a file's is an absolute path
            source = document if isinstance(document, str) and Path(document).is_absolute() \
                else None
        if source is None:
            continue  # added from bytes or memory: no file to mirror
        for root in (DEFAULT_SEEDS, uploads):
            if _is_under(source, [root]):
                source = str(root)
        if source not in derived:
            derived.append(source)
    return derived


TEXT_FILES = ("document_texts.bin", "passage_texts.bin")
"""The saved texts, read a slice at a time as answers need them: a damaged byte would be
quoted as the document's words, so a save records their digests and a load checks them."""


def text_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of each of TEXT_FILES in `folder` (those there: a Milvus store keeps its
    passages' texts itself)."""
    digests = {}
    for name in TEXT_FILES:
        path = folder / name
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as file:
                while block := file.read(1 << 20):
                    digest.update(block)
            digests[name] = digest.hexdigest()
    return digests


def _check_text_digests(folder: Path, manifest: dict) -> None:
    """ValueError naming a saved text file that is not what was saved (an index saved
    before digests were recorded is not checked)."""
    recorded = manifest.get("text_digests")
    if not isinstance(recorded, dict):
        return
    found = text_digests(folder)
    for name, digest in recorded.items():
        if name not in found:
            raise ValueError(f"{name} is missing")
        if found[name] != digest:
            raise ValueError(f"{name} is not the file that was saved (its digest differs)")


def _saved_documents(folder: Path) -> list[Document]:
    """The documents, with their texts, of the index saved in `folder`, read without its
    manifest; none when they cannot be read, or the texts are not those saved."""
    try:
        try:
            manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            manifest = {}
        recorded = manifest.get("text_digests") if isinstance(manifest, dict) else None
        if isinstance(recorded, dict) and "document_texts.bin" in recorded and \
                text_digests(folder).get("document_texts.bin") != recorded["document_texts.bin"]:
            raise ValueError("document_texts.bin is not the file that was saved")
        return list(DocumentTable.load(folder).documents())
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("the documents of the index in %s cannot be read: %s", folder, error)
        return []


def sources_to_open(paths: Iterable[str | Path] | None,
                    folder: str | Path) -> list[Path] | None:
    """What the chat and the command line open the index in `folder` with: `paths` when
    given, else the documents it was built from (the seeds for a new index), and the
    documents uploaded in the chat, kept in `uploads/` beside the index folder."""
    saved = _folder(folder)
    if not paths and (saved_sources(folder) or (saved / "manifest.json").exists()
                      or (saved.with_name(f".{saved.name}.previous") / "manifest.json").exists()):
        return None  # Index.open then reads them (from its documents, if it is damaged)
    sources = [Path(p) for p in (paths or [DEFAULT_SEEDS])]
    uploads = Path(folder).parent / "uploads"
    # The chat's: it records its uploads' names beside it (uploads.json). Any other folder
    # that happens to be called "uploads" (a web project's) is not indexed unasked.
    if (uploads.is_dir() and uploads.with_suffix(".json").is_file()
            and not _is_under(str(uploads), [p.resolve() for p in sources])):
        sources.append(uploads)
    return sources


def _resolved(paths) -> list[str]:
    return [str(p.expanduser().resolve()) for p in _as_paths(paths)]


def _require_existing(paths, *, doing: str) -> None:
    if not _as_paths(paths):
        raise DocumentError("[]", f"{doing} was given no files or folders",
                            "give the paths; remove documents with Index.remove; "
                            "the index was not changed")
    for path in _as_paths(paths):
        if not path.expanduser().exists():
            raise DocumentError(str(path), "no such file or folder",
                                "check the path; the index was not changed")


def _as_paths(paths) -> list[Path]:
    if paths is None:
        return [DEFAULT_SEEDS]
    if isinstance(paths, (bytes, bytearray)):
        raise DocumentError(repr(bytes(paths)[:80]), "bytes are not a path",
                            "give the path as a str, e.g. os.fsdecode(path)")
    items = [paths] if isinstance(paths, (str, os.PathLike)) else None
    if items is None:
        try:
            items = list(paths)
        except TypeError:
            items = [paths]
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise DocumentError(repr(item), "not a path",
                                "give a file or folder path, or a list of them")
        if not os.fspath(item).strip():
            # Path("") is the current folder: a refresh would mirror it and drop the rest.
            raise DocumentError(repr(item), "an empty path",
                                "give a file or folder path, or '.' for the current folder")
    return [Path(p) for p in items]


def _folder(folder) -> Path:
    if not isinstance(folder, (str, os.PathLike)):
        raise ArgumentError(f"the index folder must be a path (str or pathlib.Path), got "
                            f"{folder!r}")
    if not str(folder).strip():
        raise ArgumentError("the index folder is empty: give a folder such as .briefing/index")
    path = Path(folder).expanduser()
    if not path.absolute().name:
        raise IndexFormatError(f"{folder} is the root folder; an index goes in a folder of its "
                               "own, such as .briefing/index")
    return path if path.name else path.absolute()  # "." is the current folder, by its name


def _is_under(source: str, roots: list[Path]) -> bool:
    path = Path(source).resolve()
    return any(path == root or root in path.parents for root in roots)


def _umask() -> int:
    """The process's umask (read by setting it, so put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    for directory in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _check_save_target(folder: Path) -> None:
    """Refuse to save over a file or over a folder that is not a saved index: the swap
    that replaces the old save would delete whatever else the folder holds."""
    if folder.exists() and not folder.is_dir():
        raise IndexSaveError(f"cannot save the index as {folder}: it is a file, not a "
                             "folder; choose a new or empty folder")
    if folder.is_dir() and not (folder / "manifest.json").exists() and any(folder.iterdir()):
        raise IndexSaveError(
            f"{folder} holds files but no saved index (no manifest.json), and an index saved "
            "there would delete them: give the folder an index was saved in, or a new or "
            "empty folder for one")


def _carry_over(folder: Path, staging: Path) -> None:
    """Link into `staging` what else `folder` holds besides the index's own files (a
    report kept beside it): the swap replaces the whole folder, and took them with it.
    Linked, not moved: a crash before the swap leaves them where they were."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        target = staging / entry.name
        if target.exists() or target.is_symlink():
            continue  # one of the index's own files, written anew
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace `folder` by `staging` with two renames; a crash between them is undone by
    `_recover_interrupted_swap` on the next load."""
    old = folder.with_name(f".{folder.name}.previous")
    if old.exists():
        shutil.rmtree(old)
    if folder.exists():
        os.rename(folder, old)
    os.rename(staging, folder)
    descriptor = os.open(folder.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    shutil.rmtree(old, ignore_errors=True)


_THREAD_LOCKS: dict[Path, threading.RLock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def _folder_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the index folder's lock: exclusive to save it, shared to load it. Across
    processes, a lock (flock) on the folder's parent, which the swap renames nothing of
    and which leaves no file behind (none where the system has no flock or the parent is
    missing); within a process a lock per folder, since flock does not tell one thread
    from another."""
    key = folder.resolve()
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(key, threading.RLock())
    with thread_lock:
        try:
            import fcntl

            descriptor = os.open(key.parent, os.O_RDONLY)
        except (ImportError, OSError):
            yield
            return
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            except OSError as error:  # a file system without locks (some network mounts)
                log.debug("no lock on %s: %s", key.parent, error)
            yield
        finally:
            os.close(descriptor)  # releases the lock


def _remove_abandoned_saves(folder: Path) -> None:
    """Delete staging folders left by saves whose process died (killed mid-save)."""
    for staging in folder.parent.glob(f".{folder.name}.saving-*"):
        try:
            pid = int(staging.name.rsplit(".saving-", 1)[1].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(staging, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def _recover_interrupted_swap(folder: Path) -> None:
    old = folder.with_name(f".{folder.name}.previous")
    if not folder.exists() and (old / "manifest.json").exists():
        log.warning("restoring %s from an interrupted save", folder)
        os.rename(old, folder)
