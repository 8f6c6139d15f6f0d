"""Where passages, their vectors and their keyword index live: the store seam.

`Index` talks to a store only through the `Store` protocol below, so another
backend (a Milvus cluster, say) is one new class here and nothing else changes.
`FaissStore` is the default: an exact FAISS inner-product index plus a BM25 index
(bm25s) in memory, saved as plain files.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from .chunk import Chunk

log = logging.getLogger(__name__)

# BM25 parameters of Anserini's BEIR baselines (k1=0.9, b=0.4): lower saturation and
# length normalisation than the textbook 1.2/0.75, better on short passages.
BM25_K1 = 0.9
BM25_B = 0.4

DENSE_INDEXES = ("auto", "flat", "hnsw")
# HNSW graph: 32 links per node and a search beam of 128 keep recall@10 against exact
# search at or above 0.98 (measured by `briefing bench`); 200 builds the graph well.
HNSW_LINKS = 32
HNSW_EF_SEARCH = 128
HNSW_EF_CONSTRUCTION = 200


def build_dense_index(vectors: np.ndarray, kind: str):
    """A FAISS inner-product index over unit vectors: exact ('flat') or a graph ('hnsw')."""
    import faiss

    dimension = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class Store(Protocol):
    """What the index needs from a vector-and-text store."""

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            sentence_vectors: Sequence[np.ndarray]) -> None:
        """Add passages with their vectors, and one matrix of sentence vectors per passage."""

    def delete(self, doc_ids: Iterable[str]) -> None:
        """Remove every passage of these documents."""

    def dense_search(self, vector: np.ndarray, k: int,
                     doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """The `k` passages nearest to `vector`: `(chunk id, cosine)`, best first."""

    def keyword_search(self, query: str, k: int,
                       doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """The `k` best BM25 passages for `query`: `(chunk id, score)`, best first."""

    def get(self, chunk_id: str) -> Chunk:
        """A passage by id."""

    def sentence_vectors(self, chunk_id: str) -> np.ndarray:
        """One row per sentence of the passage, in order."""

    def __len__(self) -> int: ...

    @property
    def chunks(self) -> list[Chunk]:
        """Every passage, in the order added."""

    def save(self, folder: Path) -> None:
        """Write what `load_store` needs into `folder` (the index makes the folder atomic)."""


STORES = ("faiss", "milvus")


def check_add(chunks: Sequence[Chunk], vectors: np.ndarray,
              sentence_vectors: Sequence[np.ndarray]) -> None:
    """What every store's `add` needs: one vector per chunk, and per chunk either one
    sentence row per sentence or none (sentences not embedded yet: see
    Settings.embed_sentences)."""
    if len(chunks) != len(vectors) or len(chunks) != len(sentence_vectors):
        raise ValueError("add needs one vector and one sentence matrix per chunk, got "
                         f"{len(chunks)} chunks, {len(vectors)} vectors, "
                         f"{len(sentence_vectors)} sentence matrices")
    for chunk, matrix in zip(chunks, sentence_vectors):
        if len(matrix) not in (0, len(chunk.sentences)):
            raise ValueError(f"chunk {chunk.id} has {len(chunk.sentences)} sentences but "
                             f"{len(matrix)} sentence vectors")


def create_store(settings, dimension: int) -> Store:
    """An empty store of the kind `settings.store` names: 'faiss' (default) or a Milvus URI."""
    if settings.store == "faiss":
        return FaissStore(dimension, dense_index=settings.dense_index,
                          hnsw_above=settings.hnsw_above)
    if settings.store.startswith("milvus"):
        from .milvus_store import MilvusStore

        return MilvusStore.create(settings, dimension)
    raise ValueError(f"Settings.store must be 'faiss' or a Milvus URI (milvus://...), got "
                     f"{settings.store!r}")


def load_store(settings, folder: Path, dimension: int) -> Store:
    """The store saved in `folder` by `Store.save`. Raises ValueError naming a damaged file."""
    if settings.store == "faiss":
        return FaissStore.load(folder, dimension, dense_index=settings.dense_index,
                               hnsw_above=settings.hnsw_above)
    if settings.store.startswith("milvus"):
        from .milvus_store import MilvusStore

        return MilvusStore.load(settings, folder, dimension)
    raise ValueError(f"Settings.store must be 'faiss' or a Milvus URI (milvus://...), got "
                     f"{settings.store!r}")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stop words: what
    `bm25s.tokenize(texts, stopwords="en", stemmer=...)` gives (a test holds them equal),
    without its per-call set-up, which cost more than the work on a question's sentences."""
    stopwords, stem = _tokenizer()
    return [[stem(w) for w in _TOKEN.findall(text.lower()) if w not in stopwords]
            for text in texts]


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern


@lru_cache(maxsize=1)
def _tokenizer():
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    stemmer = Stemmer.Stemmer("english")
    return frozenset(STOPWORDS_EN), lru_cache(maxsize=65536)(stemmer.stemWord)


class Matrix:
    """Rows appended in amortised O(rows): a float array with spare capacity."""

    def __init__(self, dimension: int, dtype=np.float32) -> None:
        self._data = np.zeros((0, dimension), dtype=dtype)
        self._rows = 0

    @classmethod
    def wrap(cls, array: np.ndarray) -> Matrix:
        matrix = cls(array.shape[1], array.dtype)
        matrix._data, matrix._rows = array, len(array)
        return matrix

    def __len__(self) -> int:
        return self._rows

    @property
    def view(self) -> np.ndarray:
        return self._data[:self._rows]

    def append(self, rows: np.ndarray) -> None:
        needed = self._rows + len(rows)
        if needed > len(self._data) or not self._data.flags.writeable:
            grown = np.zeros((max(needed, 2 * len(self._data), 64), self._data.shape[1]),
                             dtype=self._data.dtype)
            grown[:self._rows] = self._data[:self._rows]
            self._data = grown
        self._data[self._rows:needed] = rows
        self._rows = needed

    def keep(self, mask: np.ndarray) -> None:
        self._data = self._data[:self._rows][mask]
        self._rows = len(self._data)


class FaissStore:
    """Passages in memory, a FAISS index of their vectors, and a BM25 index of their words.

    The FAISS index is exact (inner product over every vector) up to `hnsw_above`
    passages and an HNSW graph above it (`dense_index` forces one or the other).
    Sentence vectors are kept as float16: half the memory, and a cosine that differs
    from float32 only in the fourth decimal.
    """

    def __init__(self, dimension: int, *, dense_index: str = "auto",
                 hnsw_above: int = 200_000) -> None:
        if dense_index not in DENSE_INDEXES:
            raise ValueError(f"dense_index must be one of {', '.join(DENSE_INDEXES)}, "
                             f"got {dense_index!r}")
        self.dimension = dimension
        self.dense_index = dense_index
        self.hnsw_above = hnsw_above
        self._chunks: list[Chunk] = []
        self._rows: dict[str, int] = {}
        self._doc_of_row = np.zeros(0, dtype=np.int64)
        self._doc_numbers: dict[str, int] = {}
        self._vectors = Matrix(dimension)
        self._sentence_vectors = Matrix(dimension, np.float16)
        self._sentence_offsets = np.zeros(1, dtype=np.int64)
        self._faiss = None
        self._bm25 = None

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def chunks(self) -> list[Chunk]:
        return list(self._chunks)

    @property
    def kind(self) -> str:
        """'flat' (exact) or 'hnsw' (approximate): the dense index in use for this size."""
        if self.dense_index != "auto":
            return self.dense_index
        return "hnsw" if len(self._chunks) > self.hnsw_above else "flat"

    # --- changes ------------------------------------------------------------------------

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            sentence_vectors: Sequence[np.ndarray]) -> None:
        check_add(chunks, vectors, sentence_vectors)
        if not chunks:
            return
        for chunk in chunks:
            if chunk.id in self._rows:
                raise ValueError(f"chunk {chunk.id} is already in the store")
        vectors = _as_matrix(vectors, self.dimension)
        sentences = [_as_matrix(m, self.dimension) for m in sentence_vectors]
        kind_before = self.kind
        base = len(self._chunks)
        self._chunks.extend(chunks)
        self._rows.update((c.id, base + i) for i, c in enumerate(chunks))
        numbers = [self._doc_numbers.setdefault(c.doc_id, len(self._doc_numbers)) for c in chunks]
        self._doc_of_row = np.concatenate([self._doc_of_row, np.array(numbers, dtype=np.int64)])
        self._vectors.append(vectors)
        counts = np.array([len(m) for m in sentences], dtype=np.int64)
        self._sentence_offsets = np.concatenate(
            [self._sentence_offsets, self._sentence_offsets[-1] + np.cumsum(counts)])
        if sentences:
            self._sentence_vectors.append(np.concatenate(sentences).astype(np.float16))
        if self._faiss is not None and self.kind == kind_before:
            self._faiss.add(vectors)  # graphs and flat indexes both grow in place
        else:
            self._faiss = None
        self._bm25 = None

    def delete(self, doc_ids: Iterable[str]) -> None:
        numbers = [self._doc_numbers[d] for d in set(doc_ids) if d in self._doc_numbers]
        keep = ~np.isin(self._doc_of_row, numbers)
        if keep.all():
            return
        starts, ends = self._sentence_offsets[:-1], self._sentence_offsets[1:]
        self._sentence_vectors.keep(np.repeat(keep, ends - starts))
        self._sentence_offsets = np.concatenate([[0], np.cumsum((ends - starts)[keep])])
        self._chunks = [c for c, k in zip(self._chunks, keep) if k]
        self._rows = {c.id: i for i, c in enumerate(self._chunks)}
        self._doc_of_row = self._doc_of_row[keep]
        self._vectors.keep(keep)
        self._faiss = None
        self._bm25 = None

    # --- reads --------------------------------------------------------------------------

    def get(self, chunk_id: str) -> Chunk:
        return self._chunks[self._rows[chunk_id]]

    def sentence_vectors(self, chunk_id: str) -> np.ndarray:
        row = self._rows[chunk_id]
        block = self._sentence_vectors.view[
            self._sentence_offsets[row]:self._sentence_offsets[row + 1]]
        return block.astype(np.float32)

    def _allowed_rows(self, doc_ids: Iterable[str] | None) -> np.ndarray | None:
        if doc_ids is None:
            return None
        numbers = [self._doc_numbers[d] for d in set(doc_ids) if d in self._doc_numbers]
        return np.flatnonzero(np.isin(self._doc_of_row, numbers))

    def dense_search(self, vector: np.ndarray, k: int,
                     doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        allowed = self._allowed_rows(doc_ids)
        if not len(self._chunks) or (allowed is not None and not len(allowed)):
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if allowed is not None:
            # A restricted search is over a handful of documents: brute force is exact and fast.
            scores = self._vectors.view[allowed] @ query[0]
            top = np.argsort(-scores, kind="stable")[:k]
            return [(self._chunks[allowed[i]].id, float(scores[i])) for i in top]
        scores, rows = self._faiss_index().search(query, min(k, len(self._chunks)))
        return [(self._chunks[r].id, float(s)) for s, r in zip(scores[0], rows[0]) if r >= 0]

    def keyword_search(self, query: str, k: int,
                       doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        tokens = tokenize([query])[0]
        retriever = self._bm25_index()
        if retriever is None:
            return []
        tokens = [t for t in tokens if t in retriever.vocab_dict]
        if not tokens:
            return []
        allowed = self._allowed_rows(doc_ids)
        mask = None
        if allowed is not None:
            if not len(allowed):
                return []
            mask = np.zeros(len(self._chunks), dtype=np.float32)
            mask[allowed] = 1.0
        k = min(k, len(self._chunks))
        rows, scores = retriever.retrieve([tokens], k=k, show_progress=False, weight_mask=mask,
                                          n_threads=1)
        return [(self._chunks[int(r)].id, float(s))
                for r, s in zip(rows[0], scores[0]) if s > 0]

    # --- indexes, built on first use after a change -------------------------------------

    def _faiss_index(self):
        if self._faiss is None:
            self._faiss = build_dense_index(self._vectors.view, self.kind)
        return self._faiss

    def _bm25_index(self):
        if self._bm25 is None and self._chunks:
            import bm25s

            corpus = tokenize([f"{c.title}\n{c.text}" for c in self._chunks])
            retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            retriever.index(corpus, show_progress=False)
            self._bm25 = retriever
        return self._bm25

    # --- files --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the store's files into `folder` (which the caller makes atomic)."""
        import faiss

        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk in self._chunks:
                out.write(json.dumps(chunk.to_record(), ensure_ascii=False) + "\n")
        faiss.write_index(self._faiss_index(), str(folder / "dense.faiss"))
        np.save(folder / "vectors.npy", self._vectors.view, allow_pickle=False)
        np.save(folder / "sentence_vectors.npy", self._sentence_vectors.view, allow_pickle=False)
        np.save(folder / "sentence_offsets.npy", self._sentence_offsets, allow_pickle=False)
        retriever = self._bm25_index()
        if retriever is not None:
            retriever.save(str(folder / "bm25"), show_progress=False)

    @classmethod
    def load(cls, folder: Path, dimension: int, *, dense_index: str = "auto",
             hnsw_above: int = 200_000) -> FaissStore:
        """Read a store written by `save`. Raises ValueError naming a damaged file.

        Vectors are memory-mapped: pages are read from disk as searches touch them.
        """
        import bm25s
        import faiss

        store = cls(dimension, dense_index=dense_index, hnsw_above=hnsw_above)
        store._chunks = _read(folder / "chunks.jsonl", lambda path: [
            Chunk.from_record(json.loads(line))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()])
        store._rows = {c.id: i for i, c in enumerate(store._chunks)}
        for chunk in store._chunks:
            store._doc_numbers.setdefault(chunk.doc_id, len(store._doc_numbers))
        store._doc_of_row = np.array([store._doc_numbers[c.doc_id] for c in store._chunks],
                                     dtype=np.int64)
        index = _read(folder / "dense.faiss", lambda path: faiss.read_index(str(path)))
        if index.d != dimension or index.ntotal != len(store._chunks):
            raise ValueError(f"dense.faiss holds {index.ntotal} vectors of dimension {index.d}, "
                             f"expected {len(store._chunks)} of dimension {dimension}")
        store._faiss = index if _kind_of(index) == store.kind else None
        vectors = _read(folder / "vectors.npy",
                        lambda path: np.load(path, mmap_mode="r", allow_pickle=False))
        store._vectors = Matrix.wrap(vectors) if len(vectors) else store._vectors
        store._sentence_vectors = Matrix.wrap(_read(
            folder / "sentence_vectors.npy",
            lambda path: np.load(path, mmap_mode="r", allow_pickle=False)))
        store._sentence_offsets = _read(folder / "sentence_offsets.npy",
                                        lambda path: np.load(path, allow_pickle=False))
        if (len(store._sentence_offsets) != len(store._chunks) + 1
                or store._sentence_offsets[-1] != len(store._sentence_vectors)
                or len(store._vectors) != len(store._chunks)):
            raise ValueError("vectors.npy, sentence_vectors.npy or sentence_offsets.npy do not "
                             "match chunks.jsonl")
        if store._chunks:
            store._bm25 = _read(folder / "bm25", lambda path: bm25s.BM25.load(
                str(path), show_progress=False, verbosity=0))
        return store


def _kind_of(index) -> str:
    return "hnsw" if "HNSW" in type(index).__name__ else "flat"


def _read(path: Path, reader):
    """`reader(path)`, with any failure reported as a ValueError that names the file."""
    try:
        return reader(path)
    except Exception as error:  # faiss, numpy and json each raise their own kinds
        raise ValueError(f"{path.name} cannot be read ({error})") from error


def _as_matrix(vectors: np.ndarray, dimension: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dimension:
        raise ValueError(f"expected vectors of dimension {dimension}, got shape {matrix.shape}")
    return matrix
