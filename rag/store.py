"""Where passages, their vectors and their keyword index live: the store seam.

`Index` talks to a store only through the `Store` protocol below, so another
backend (a Milvus cluster, say) is one new class here and nothing else changes.
`FaissStore` is the default: an exact FAISS inner-product index plus a BM25 index
(bm25s) in memory, saved as plain files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .chunk import Chunk

log = logging.getLogger(__name__)

# BM25 parameters of Anserini's BEIR baselines (k1=0.9, b=0.4): lower saturation and
# length normalisation than the textbook 1.2/0.75, better on short passages.
BM25_K1 = 0.9
BM25_B = 0.4


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


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stop words."""
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(Stemmer),
                          return_ids=False, show_progress=False)


_STEMMER = None


def _stemmer(module):
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = module.Stemmer("english")
    return _STEMMER


class FaissStore:
    """Passages in memory with an exact FAISS index and a BM25 index."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._chunks: list[Chunk] = []
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, dimension), dtype=np.float32)
        self._sentence_vectors = np.zeros((0, dimension), dtype=np.float32)
        self._sentence_offsets = np.zeros(1, dtype=np.int64)
        self._faiss = None
        self._bm25 = None

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def chunks(self) -> list[Chunk]:
        return list(self._chunks)

    # --- changes ------------------------------------------------------------------------

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            sentence_vectors: Sequence[np.ndarray]) -> None:
        if len(chunks) != len(vectors) or len(chunks) != len(sentence_vectors):
            raise ValueError("add needs one vector and one sentence matrix per chunk, got "
                             f"{len(chunks)} chunks, {len(vectors)} vectors, "
                             f"{len(sentence_vectors)} sentence matrices")
        if not chunks:
            return
        for chunk in chunks:
            if chunk.id in self._rows:
                raise ValueError(f"chunk {chunk.id} is already in the store")
        base = len(self._chunks)
        self._chunks.extend(chunks)
        self._rows.update((c.id, base + i) for i, c in enumerate(chunks))
        self._vectors = np.concatenate([self._vectors, _as_matrix(vectors, self.dimension)])
        counts = np.array([len(m) for m in sentence_vectors], dtype=np.int64)
        self._sentence_offsets = np.concatenate(
            [self._sentence_offsets, self._sentence_offsets[-1] + np.cumsum(counts)])
        self._sentence_vectors = np.concatenate(
            [self._sentence_vectors, *(_as_matrix(m, self.dimension) for m in sentence_vectors)])
        self._changed()

    def delete(self, doc_ids: Iterable[str]) -> None:
        doomed = set(doc_ids)
        keep = np.array([c.doc_id not in doomed for c in self._chunks], dtype=bool)
        if keep.all():
            return
        starts, ends = self._sentence_offsets[:-1], self._sentence_offsets[1:]
        sentence_keep = np.repeat(keep, ends - starts)
        counts = (ends - starts)[keep]
        self._chunks = [c for c, k in zip(self._chunks, keep) if k]
        self._rows = {c.id: i for i, c in enumerate(self._chunks)}
        self._vectors = self._vectors[keep]
        self._sentence_vectors = self._sentence_vectors[sentence_keep]
        self._sentence_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._changed()

    def _changed(self) -> None:
        self._faiss = None
        self._bm25 = None

    # --- reads --------------------------------------------------------------------------

    def get(self, chunk_id: str) -> Chunk:
        return self._chunks[self._rows[chunk_id]]

    def sentence_vectors(self, chunk_id: str) -> np.ndarray:
        row = self._rows[chunk_id]
        return self._sentence_vectors[self._sentence_offsets[row]:self._sentence_offsets[row + 1]]

    def _allowed_rows(self, doc_ids: Iterable[str] | None) -> np.ndarray | None:
        if doc_ids is None:
            return None
        wanted = set(doc_ids)
        return np.array([i for i, c in enumerate(self._chunks) if c.doc_id in wanted],
                        dtype=np.int64)

    def dense_search(self, vector: np.ndarray, k: int,
                     doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        allowed = self._allowed_rows(doc_ids)
        if not len(self._chunks) or (allowed is not None and not len(allowed)):
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if allowed is not None:
            # A restricted search is over a handful of documents: brute force is exact and fast.
            scores = self._vectors[allowed] @ query[0]
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
            import faiss

            index = faiss.IndexFlatIP(self.dimension)
            index.add(self._vectors)
            self._faiss = index
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
        np.save(folder / "sentence_vectors.npy", self._sentence_vectors, allow_pickle=False)
        np.save(folder / "sentence_offsets.npy", self._sentence_offsets, allow_pickle=False)
        retriever = self._bm25_index()
        if retriever is not None:
            retriever.save(str(folder / "bm25"), show_progress=False)

    @classmethod
    def load(cls, folder: Path, dimension: int) -> FaissStore:
        """Read a store written by `save`. Raises ValueError naming a damaged file."""
        import bm25s
        import faiss

        store = cls(dimension)
        store._chunks = _read(folder / "chunks.jsonl", lambda path: [
            Chunk.from_record(json.loads(line))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()])
        store._rows = {c.id: i for i, c in enumerate(store._chunks)}
        index = _read(folder / "dense.faiss", lambda path: faiss.read_index(str(path)))
        if index.d != dimension or index.ntotal != len(store._chunks):
            raise ValueError(f"dense.faiss holds {index.ntotal} vectors of dimension {index.d}, "
                             f"expected {len(store._chunks)} of dimension {dimension}")
        store._vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else store._vectors
        store._faiss = index
        store._sentence_vectors = _read(folder / "sentence_vectors.npy",
                                        lambda path: np.load(path, allow_pickle=False))
        store._sentence_offsets = _read(folder / "sentence_offsets.npy",
                                        lambda path: np.load(path, allow_pickle=False))
        if (len(store._sentence_offsets) != len(store._chunks) + 1
                or store._sentence_offsets[-1] != len(store._sentence_vectors)):
            raise ValueError("sentence_vectors.npy and sentence_offsets.npy do not match "
                             "chunks.jsonl")
        if store._chunks:
            store._bm25 = _read(folder / "bm25", lambda path: bm25s.BM25.load(
                str(path), show_progress=False, verbosity=0))
        return store


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
