"""Where passages, their vectors and their keyword index live: the store seam.

`Index` talks to a store only through the `Store` protocol below, so another
backend (a Milvus cluster, say) is one new class here and nothing else changes.
`FaissStore` is the default: passage records as columns (`rag.passages`), a FAISS
index of their vectors (exact, or IVF with re-scoring for large corpora) and a BM25
index that follows changes without a rebuild (`rag.keywords`), saved as plain files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .chunk import Chunk
from .keywords import KeywordIndex, tokenize
from .passages import PassageTable
from .passages import read_file as _read
from .vector_file import VectorFile

log = logging.getLogger(__name__)

DENSE_INDEXES = ("auto", "flat", "ivf")
# The approximate index: an inverted file of vectors quantised to one byte per dimension
# (a quarter of float32's memory). A search scans the lists nearest the query, a fifth of
# them (at least 32), then re-scores its best RERANK candidates exactly against the stored
# float32 vectors. At 1M passages (1,000 lists) `briefing bench` measured recall@10
# against exact search: 32 lists probed 0.937, 128 0.979, 200 0.987; re-scoring 300
# candidates instead of 100 changed nothing.
IVF_PROBE_SHARE = 0.2
IVF_MIN_PROBES = 32
RERANK = 100
IVF_TRAIN_PER_LIST = 64
"""Training vectors per list: k-means needs a few dozen points per centroid."""


def ivf_lists(passages: int) -> int:
    """Inverted lists for this many passages: about the square root, 64 to 4,096."""
    return int(min(4096, max(64, round(passages ** 0.5))))


def ivf_probes(lists: int) -> int:
    return min(lists, max(IVF_MIN_PROBES, round(IVF_PROBE_SHARE * lists)))


def build_ivf_index(vectors: VectorFile, ids: np.ndarray):
    """An IVF index with 8-bit scalar quantisation over unit vectors, keyed by `ids`."""
    import faiss

    dimension = vectors.dimension
    lists = min(ivf_lists(len(vectors)), len(vectors))  # k-means needs a point per list
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dimension), dimension, lists,
                                          faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(
        len(vectors), min(len(vectors), lists * IVF_TRAIN_PER_LIST), replace=False)
    index.train(vectors.rows(np.sort(sample)))
    index.nprobe = ivf_probes(lists)
    for start, block in vectors.blocks():
        index.add_with_ids(block, ids[start:start + len(block)])
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

    def passage_counts(self) -> dict[str, int]:
        """How many passages each document has."""

    def save(self, folder: Path) -> None:
        """Write what `load_store` needs into `folder` (the index makes the folder atomic)."""

    @property
    def outdated(self) -> bool:
        """Loaded from files a newer Briefing writes otherwise: save it again."""


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
    for chunk, matrix in zip(chunks, sentence_vectors, strict=True):
        if len(matrix) not in (0, len(chunk.sentences)):
            raise ValueError(f"chunk {chunk.id} has {len(chunk.sentences)} sentences but "
                             f"{len(matrix)} sentence vectors")


def create_store(settings, dimension: int) -> Store:
    """An empty store of the kind `settings.store` names: 'faiss' (default) or a Milvus URI."""
    if settings.store == "faiss":
        return FaissStore(dimension, dense_index=settings.dense_index,
                          approximate_above=settings.approximate_above)
    if settings.store.startswith("milvus"):
        from .milvus_store import MilvusStore

        return MilvusStore.create(settings, dimension)
    raise ValueError(f"Settings.store must be 'faiss' or a Milvus URI (milvus://...), got "
                     f"{settings.store!r}")


def load_store(settings, folder: Path, dimension: int) -> Store:
    """The store saved in `folder` by `Store.save`. Raises ValueError naming a damaged file."""
    if settings.store == "faiss":
        return FaissStore.load(folder, dimension, dense_index=settings.dense_index,
                               approximate_above=settings.approximate_above)
    if settings.store.startswith("milvus"):
        from .milvus_store import MilvusStore

        return MilvusStore.load(settings, folder, dimension)
    raise ValueError(f"Settings.store must be 'faiss' or a Milvus URI (milvus://...), got "
                     f"{settings.store!r}")


class Matrix:
    """Rows appended in amortised O(rows): a float array with spare capacity.

    It grows in place (`ndarray.resize`, a `realloc` that the C library does by
    remapping pages), so a matrix of a gigabyte never needs two copies of itself. A
    read-only memory map (a loaded index) is copied into memory on the first change.
    """

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
        if not self._data.flags.owndata or not self._data.flags.writeable:
            self._data = np.array(self._data[:self._rows])  # own, writable, exact size
        if needed > len(self._data):
            capacity = max(needed, len(self._data) + len(self._data) // 2, 64)
            # No other array may refer to the data now: every reader works under the
            # index's lock and copies what it keeps (see FaissStore).
            self._data.resize((capacity, self._data.shape[1]), refcheck=False)
        self._data[self._rows:needed] = rows
        self._rows = needed

    def keep(self, mask: np.ndarray) -> None:
        self._data = self._data[:self._rows][mask]
        self._rows = len(self._data)


class FaissStore:
    """Passages as columns, a FAISS index of their vectors and a BM25 index of their words.

    Up to `approximate_above` passages the FAISS index is exact (`IndexFlatIP`, which
    then holds the only copy of the vectors); above it, an IVF index with 8-bit codes
    proposes candidates that are re-scored exactly against the float32 vectors, kept in
    a file (`rag.vector_file`). `dense_index` forces 'flat' or 'ivf'.
    Sentence vectors are kept as float16: half the memory, and a cosine that differs
    from float32 only in the fourth decimal.
    """

    def __init__(self, dimension: int, *, dense_index: str = "auto",
                 approximate_above: int = 200_000) -> None:
        if dense_index not in DENSE_INDEXES:
            raise ValueError(f"dense_index must be one of {', '.join(DENSE_INDEXES)}, "
                             f"got {dense_index!r}")
        import faiss

        self.dimension = dimension
        self.dense_index = dense_index
        self.approximate_above = approximate_above
        self._passages = PassageTable()
        self._sentence_vectors = Matrix(dimension, np.float16)
        self._sentence_offsets = np.zeros(1, dtype=np.int64)
        self._flat = faiss.IndexFlatIP(dimension)  # kind 'flat': the vectors themselves
        self._vectors: VectorFile | None = None  # kind 'ivf': the vectors, on disk
        self._ids = np.zeros(0, dtype=np.int64)  # kind 'ivf': each row's id in the IVF index
        self._ivf = None  # kind 'ivf': built on first search after the store became 'ivf'
        self._keywords = KeywordIndex(self._passages)

    def __len__(self) -> int:
        return len(self._passages)

    @property
    def chunks(self) -> list[Chunk]:
        return self._passages.chunks()

    def passage_counts(self) -> dict[str, int]:
        return self._passages.counts()

    @property
    def outdated(self) -> bool:
        return self._keywords.outdated

    @property
    def kind(self) -> str:
        """'flat' (exact) or 'ivf' (approximate): the dense index for the current size."""
        return self._kind_for(len(self))

    @property
    def index_type(self) -> str:
        """The FAISS index in use, with its parameters when approximate."""
        if self._flat is not None:
            return "IndexFlatIP"
        if self._ivf is None:
            return "IVF-SQ8 (not built yet)"
        return f"IVF-SQ8, {self._ivf.nlist:,} lists, {self._ivf.nprobe} probed, " \
               f"top {RERANK} re-scored"

    def _kind_for(self, passages: int) -> str:
        if self.dense_index != "auto":
            return self.dense_index
        return "ivf" if passages > self.approximate_above else "flat"

    # --- changes ------------------------------------------------------------------------

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            sentence_vectors: Sequence[np.ndarray]) -> None:
        check_add(chunks, vectors, sentence_vectors)
        if not chunks:
            return
        vectors = _as_matrix(vectors, self.dimension)
        sentences = [_as_matrix(m, self.dimension) for m in sentence_vectors]
        self._passages.append(chunks)  # checks the ids first
        counts = np.array([len(m) for m in sentences], dtype=np.int64)
        self._sentence_offsets = np.concatenate(
            [self._sentence_offsets, self._sentence_offsets[-1] + np.cumsum(counts)])
        if counts.sum():
            self._sentence_vectors.append(np.concatenate(sentences).astype(np.float16))
        self._add_vectors(vectors)
        self._keywords.added(len(chunks))

    def _add_vectors(self, vectors: np.ndarray) -> None:
        if self._flat is not None:
            self._flat.add(vectors)
        else:
            first = int(self._ids[-1]) + 1 if len(self._ids) else 0
            ids = np.arange(first, first + len(vectors), dtype=np.int64)
            self._vectors.append(vectors)
            self._ids = np.concatenate([self._ids, ids])
            if self._ivf is not None:
                self._ivf.add_with_ids(vectors, ids)
        self._switch_kind()

    def _switch_kind(self) -> None:
        """Move the vectors to the index this size calls for (see `kind`)."""
        import faiss

        if self.kind == "ivf" and self._flat is not None:
            self._vectors = VectorFile(self.dimension)
            self._vectors.append(self._flat_vectors())
            self._ids = np.arange(len(self._vectors), dtype=np.int64)
            self._flat, self._ivf = None, None
        elif self.kind == "flat" and self._flat is None:
            self._flat = faiss.IndexFlatIP(self.dimension)
            for _, block in self._vectors.blocks():
                self._flat.add(block)
            self._vectors.close()
            self._vectors, self._ids, self._ivf = None, np.zeros(0, dtype=np.int64), None

    def delete(self, doc_ids: Iterable[str]) -> None:
        import faiss

        gone = self._passages.rows_of(doc_ids)
        if not len(gone):
            return
        keep = np.ones(len(self), dtype=bool)
        keep[gone] = False
        starts, ends = self._sentence_offsets[:-1], self._sentence_offsets[1:]
        self._sentence_vectors.keep(np.repeat(keep, ends - starts))
        self._sentence_offsets = np.concatenate([[0], np.cumsum((ends - starts)[keep])])
        self._passages.keep(keep)
        if self._flat is not None:
            self._flat.remove_ids(faiss.IDSelectorBatch(gone.astype(np.int64)))  # keeps order
        else:
            if self._ivf is not None:
                self._ivf.remove_ids(faiss.IDSelectorBatch(self._ids[gone]))
            self._vectors.keep(keep)
            self._ids = self._ids[keep]
        self._switch_kind()
        self._keywords.kept(keep)

    # --- reads --------------------------------------------------------------------------

    def get(self, chunk_id: str) -> Chunk:
        row = self._passages.row(chunk_id)
        if row is None:
            raise KeyError(chunk_id)
        return self._passages.chunk(row)

    def sentence_vectors(self, chunk_id: str) -> np.ndarray:
        row = self._passages.row(chunk_id)
        if row is None:
            raise KeyError(chunk_id)
        block = self._sentence_vectors.view[
            self._sentence_offsets[row]:self._sentence_offsets[row + 1]]
        return block.astype(np.float32)

    def _flat_vectors(self) -> np.ndarray:
        """The exact index's vectors, without a copy (valid until the next change)."""
        import faiss

        count = self._flat.ntotal
        if not count:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return faiss.rev_swig_ptr(self._flat.get_xb(), count * self.dimension).reshape(
            count, self.dimension)

    def _vector_rows(self, rows: np.ndarray) -> np.ndarray:
        if self._flat is not None:
            return np.array(self._flat_vectors()[rows])
        return self._vectors.rows(rows)

    def dense_search(self, vector: np.ndarray, k: int,
                     doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if doc_ids is not None:
            # A restricted search is over a handful of documents: brute force is exact and fast.
            rows = self._passages.rows_of(doc_ids)
        elif self._flat is not None:
            # Exact: one matrix-vector product over the vectors the flat index holds. For a
            # single query that is about twice as fast as IndexFlatIP.search on 2 cores
            # (12 vs 23 ms at 100k passages): its threads cost more than they share.
            scores = self._flat_vectors() @ query
            return [(self._passages.id(r), float(scores[r])) for r in best_rows(scores, k)]
        else:
            _, found = self._ivf_index().search(query[None], max(k, RERANK))
            rows = np.searchsorted(self._ids, found[0][found[0] >= 0])
        if not len(rows):
            return []
        scores = self._vector_rows(rows) @ query
        return [(self._passages.id(rows[i]), float(scores[i])) for i in best_rows(scores, k)]

    def keyword_search(self, query: str, k: int,
                       doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        allowed = None if doc_ids is None else self._passages.rows_of(doc_ids)
        if allowed is not None and not len(allowed):
            return []
        found = self._keywords.search(tokenize([query])[0], k, allowed)
        return [(self._passages.id(row), score) for row, score in found]

    # --- indexes, built on first use after a change -------------------------------------

    def _ivf_index(self):
        if self._ivf is None:
            self._ivf = build_ivf_index(self._vectors, self._ids)
        return self._ivf

    # --- files --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the store's files into `folder` (which the caller makes atomic)."""
        import faiss

        self._passages.save(folder)
        # BM25 first: building it briefly takes about twice its final size, best done
        # before the IVF codes are in memory too (1M passages: 1.35 GB at the peak).
        self._keywords.save(folder)
        if self._flat is not None:
            faiss.write_index(self._flat, str(folder / "dense.faiss"))
        else:
            faiss.write_index(self._ivf_index(), str(folder / "dense.faiss"))
            self._vectors.save(folder / "vectors.npy")
            np.save(folder / "vector_ids.npy", self._ids, allow_pickle=False)
        np.save(folder / "sentence_vectors.npy", self._sentence_vectors.view, allow_pickle=False)
        np.save(folder / "sentence_offsets.npy", self._sentence_offsets, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, dimension: int, *, dense_index: str = "auto",
             approximate_above: int = 200_000) -> FaissStore:
        """Read a store written by `save`. Raises ValueError naming a damaged file.

        Passage texts and an IVF store's vectors stay on disk and are read as searches
        need them; the BM25 arrays are memory-mapped.
        """
        import faiss

        store = cls(dimension, dense_index=dense_index, approximate_above=approximate_above)
        store._passages = PassageTable.load(folder)
        count = len(store._passages)
        index = _read(folder / "dense.faiss", lambda path: faiss.read_index(str(path)))
        if index.d != dimension or index.ntotal != count:
            raise ValueError(f"dense.faiss holds {index.ntotal} vectors of dimension {index.d}, "
                             f"expected {count} of dimension {dimension}")
        if isinstance(index, faiss.IndexFlat):
            store._flat = index
        else:
            store._flat, store._ivf = None, index
            store._ivf.nprobe = ivf_probes(store._ivf.nlist)
            store._vectors = _read(folder / "vectors.npy", VectorFile.open)
            store._ids = _read(folder / "vector_ids.npy",
                               lambda path: np.load(path, allow_pickle=False))
            if len(store._vectors) != count or len(store._ids) != count:
                raise ValueError("vectors.npy or vector_ids.npy do not match the passages")
        store._sentence_vectors = Matrix.wrap(_read(
            folder / "sentence_vectors.npy",
            lambda path: np.load(path, mmap_mode="r", allow_pickle=False)))
        store._sentence_offsets = _read(folder / "sentence_offsets.npy",
                                        lambda path: np.load(path, allow_pickle=False))
        if (len(store._sentence_offsets) != count + 1
                or store._sentence_offsets[-1] != len(store._sentence_vectors)):
            raise ValueError("sentence_vectors.npy or sentence_offsets.npy do not match the "
                             "passages")
        store._keywords = KeywordIndex.load(folder, store._passages)
        store._switch_kind()
        return store


def best_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the `k` highest scores, best first; ties in row order."""
    if k < len(scores):
        rows = np.argpartition(-scores, k - 1)[:k]
        threshold = scores[rows].min()
        rows = np.flatnonzero(scores >= threshold)  # every row tied at the cut, in order
    else:
        rows = np.arange(len(scores))
    return rows[np.argsort(-scores[rows], kind="stable")][:k]


def _as_matrix(vectors: np.ndarray, dimension: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dimension:
        raise ValueError(f"expected vectors of dimension {dimension}, got shape {matrix.shape}")
    return matrix
