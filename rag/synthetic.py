"""Synthetic corpora for `briefing bench`'s scale figures: real sentences, cheap vectors.

Embedding a million passages with the real model takes days on a small CPU, so the
scale benchmark recombines a few thousand real sentences into documents and embeds
them with `SyntheticModel`: each text's vector mixes the real embeddings of the pool
sentences it starts and ends with (plus two picked by a hash of the text), so vectors
keep the clustered geometry of real ones while costing microseconds. Documents,
passages, BM25 and the stored records all go through the real code paths.

Everything here is deterministic: the same pool and seed give the same corpus.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .chunk import split_sentences
from .load import Document, text_document

SYNTHETIC_MODEL = "bench-synthetic"
"""The model setting under which `SyntheticModel` is registered in a benchmark process."""

MIN_SENTENCES, MAX_SENTENCES = 6, 12
"""Sentences per synthetic document: a SciFact abstract has about nine."""

KEY_CHARS = 32
"""A text's first and last `KEY_CHARS` characters name the pool sentences it holds."""

MIX = 0.5
"""Weight of the two hash-picked pool vectors against the two content vectors: enough
spread that no two passages share a vector, little enough that content dominates."""

ENCODE_BLOCK = 65_536
"""Texts combined per NumPy step; bounds the temporary memory of one `encode` call."""

_SHAPE = re.compile(r"[A-Z][^.?!\"\u201c\u201d\n]{30,280}[a-z]{3}\.")
"""A sentence that splits the same alone and among others: a capital first, one full
stop at the end after a word (not an abbreviation or a number), no inner stop or quote."""


# --- the sentence pool ------------------------------------------------------------------

def sentence_pool(documents: Iterable[Document], *, limit: int) -> list[str]:
    """Up to `limit` distinct, cleanly splitting sentences of `documents`, in corpus order."""
    pool: list[str] = []
    seen: set[str] = set()
    for document in documents:
        for start, end in split_sentences(document.text):
            sentence = document.text[start:end]
            key = sentence.lower()
            if key in seen or not _SHAPE.fullmatch(sentence) \
                    or sentence.count("(") != sentence.count(")"):
                continue
            if split_sentences(sentence) != [(0, len(sentence))]:
                continue
            seen.add(key)
            pool.append(sentence)
            if len(pool) >= limit:
                return _joinable(pool)
    return _joinable(pool)


def _joinable(pool: list[str]) -> list[str]:
    """The pool without sentences the splitter would merge with a neighbour."""
    kept = []
    for i, sentence in enumerate(pool):
        other = pool[(i + 1) % len(pool)]
        joined = f"{sentence} {other}"
        if len(pool) < 2 or split_sentences(joined) == [(0, len(sentence)),
                                                         (len(sentence) + 1, len(joined))]:
            kept.append(sentence)
    return kept


def save_pool(path: Path, sentences: Sequence[str], vectors: np.ndarray) -> None:
    """Write the pool and its real embeddings as one .npz (no pickle)."""
    np.savez(path, sentences=np.array(list(sentences), dtype=np.str_),
             vectors=np.asarray(vectors, dtype=np.float32))


def load_pool(path: Path) -> tuple[list[str], np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return [str(s) for s in data["sentences"]], data["vectors"].astype(np.float32)


# --- the model --------------------------------------------------------------------------

class SyntheticModel:
    """A stand-in for SentenceTransformer whose vectors are mixtures of real embeddings.

    A pool sentence alone gets exactly its real vector (so pool sentences make realistic
    queries); any other text gets `E[first] + E[last] + MIX * (E[h1] + E[h2])`,
    normalized, where `first` and `last` are the pool sentences its text (without the
    title line) starts and ends with, and `h1`, `h2` come from a CRC of the whole text.
    """

    def __init__(self, sentences: Sequence[str], vectors: np.ndarray) -> None:
        if len(sentences) != len(vectors) or not len(sentences):
            raise ValueError(f"the pool needs one vector per sentence, got {len(sentences)} "
                             f"sentences and {len(vectors)} vectors")
        self._vectors = _normalized(np.asarray(vectors, dtype=np.float32))
        self._exact = {s: i for i, s in enumerate(sentences)}
        self._first: dict[str, int] = {}
        self._last: dict[str, int] = {}
        for i, sentence in enumerate(sentences):
            self._first.setdefault(sentence[:KEY_CHARS], i)
            self._last.setdefault(sentence[-KEY_CHARS:], i)
        self.texts_embedded = 0

    def get_sentence_embedding_dimension(self) -> int:
        return int(self._vectors.shape[1])

    def encode(self, texts: Sequence[str], batch_size: int = 32, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False, **_) -> np.ndarray:
        """One unit-length float32 row per text (the other arguments are accepted, unused)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        self.texts_embedded += len(texts)
        out = np.empty((len(texts), self._vectors.shape[1]), dtype=np.float32)
        for begin in range(0, len(texts), ENCODE_BLOCK):
            rows = self._rows(texts[begin:begin + ENCODE_BLOCK])
            mixed = (self._vectors[rows[:, 0]] + self._vectors[rows[:, 1]]
                     + MIX * (self._vectors[rows[:, 2]] + self._vectors[rows[:, 3]]))
            out[begin:begin + len(rows)] = _normalized(mixed)
        return out

    def _rows(self, texts: Sequence[str]) -> np.ndarray:
        size = len(self._vectors)
        rows = np.empty((len(texts), 4), dtype=np.int64)
        for i, text in enumerate(texts):
            body = text.partition("\n")[2] or text
            exact = self._exact.get(body)
            if exact is not None:
                rows[i] = exact
                continue
            crc = zlib.crc32(text.encode("utf-8", "surrogatepass"))
            h1, h2 = crc % size, (crc // size) % size
            rows[i] = (self._first.get(body[:KEY_CHARS], h1),
                       self._last.get(body[-KEY_CHARS:], h2), h1, h2)
        return rows


def _normalized(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


# --- documents --------------------------------------------------------------------------

def count_passages(lengths: Sequence[int], *, chunk_chars: int, overlap: int) -> int:
    """How many passages `chunk_document` makes of one run of sentences of these lengths,
    joined by single spaces (the same greedy packing, without the text)."""
    spans, cursor = [], 0
    for length in lengths:
        spans.append((cursor, cursor + length))
        cursor += length + 1
    count, first = 0, 0
    while first < len(spans):
        last = first
        while last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= chunk_chars:
            last += 1
        count += 1
        if last + 1 >= len(spans):
            break
        first = max(first + 1, last + 1 - overlap)
    return count


def synthetic_documents(pool: Sequence[str], passages: int, *, chunk_chars: int = 600,
                        overlap: int = 1, seed: int = 0, prefix: str = "syn") -> list[Document]:
    """Documents of pool sentences that chunk into exactly `passages` passages.

    Each document holds MIN_SENTENCES..MAX_SENTENCES distinct pool sentences in one
    paragraph; the last document is cut short so that the total comes out exact.
    """
    if passages < 0:
        raise ValueError(f"passages must be >= 0, got {passages}")
    if len(pool) < MAX_SENTENCES:
        raise ValueError(f"the sentence pool holds {len(pool)} sentences; synthetic documents "
                         f"need at least {MAX_SENTENCES}")
    rng = random.Random(seed)
    documents: list[Document] = []
    remaining = passages
    while remaining > 0:
        picked = [pool[i] for i in rng.sample(range(len(pool)),
                                              rng.randint(MIN_SENTENCES, MAX_SENTENCES))]
        count = count_passages([len(s) for s in picked], chunk_chars=chunk_chars,
                               overlap=overlap)
        if count > remaining:
            picked = _fit(picked, remaining, chunk_chars=chunk_chars, overlap=overlap)
            count = remaining
        remaining -= count
        number = len(documents)
        documents.append(text_document(" ".join(picked), doc_id=f"{prefix}-{number:07d}",
                                       title=f"Synthetic study {number}"))
    return documents


def _fit(sentences: list[str], remaining: int, *, chunk_chars: int, overlap: int) -> list[str]:
    """The shortest prefix of `sentences` making exactly `remaining` passages (they make
    more). Adding a sentence adds at most one passage, so some prefix fits exactly."""
    for end in range(1, len(sentences) + 1):
        if count_passages([len(s) for s in sentences[:end]], chunk_chars=chunk_chars,
                          overlap=overlap) == remaining:
            return sentences[:end]
    raise AssertionError("unreachable: passage counts of prefixes rise by at most one")


# --- exact search and recall ------------------------------------------------------------

def exact_relevant(queries: np.ndarray, blocks: Iterable[tuple[Sequence[str], np.ndarray]], *,
                   k: int, tolerance: float = 1e-5) -> list[list[str]]:
    """For each query row, the ids whose brute-force inner product reaches the k-th best
    (ties within `tolerance` included), streaming over `(ids, vectors)` blocks."""
    keep = 4 * k
    queries = np.asarray(queries, dtype=np.float64)
    names: list[str] = []
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float64)
    for ids, vectors in blocks:
        rows = np.arange(len(names), len(names) + len(ids), dtype=np.int64)
        names.extend(ids)
        scores = queries @ np.asarray(vectors, dtype=np.float64).T
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_rows = np.concatenate([best_rows, np.broadcast_to(rows, scores.shape)], axis=1)
        if all_scores.shape[1] > keep:
            top = np.argpartition(-all_scores, keep - 1, axis=1)[:, :keep]
            all_scores = np.take_along_axis(all_scores, top, axis=1)
            all_rows = np.take_along_axis(all_rows, top, axis=1)
        order = np.argsort(-all_scores, axis=1, kind="stable")
        best_scores = np.take_along_axis(all_scores, order, axis=1)
        best_rows = np.take_along_axis(all_rows, order, axis=1)
    if not names:
        return [[] for _ in range(len(queries))]
    threshold = best_scores[:, min(k, best_scores.shape[1]) - 1] - tolerance
    return [[names[r] for r, s in zip(rows, scores, strict=True) if s >= t]
            for rows, scores, t in zip(best_rows, best_scores, threshold, strict=True)]


def recall_at_k(found: Sequence[str], relevant: Iterable[str], *, k: int) -> float:
    """Share of the exact top `k` that the first `k` found ids recover.

    `relevant` is the exact top k, plus any ids tied with the k-th; ties count as found.
    When fewer than `k` items exist the denominator is the number of relevant ids.
    """
    relevant = set(relevant)
    if not relevant:
        return 1.0
    hits = len(set(found[:k]) & relevant)
    return hits / min(k, len(relevant))
