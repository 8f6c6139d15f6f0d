"""BM25 keyword search over the passages, kept current as passages come and go.

bm25s builds an index once and cannot change it, and building one for a million passages
takes minutes. `KeywordIndex` keeps the built index (the "main" one) for the passages it
was built from, scores passages added since (the "recent" ones) with the main index's
statistics (each word's IDF, the average passage length) so that their scores rank
with the main ones, and masks passages deleted since. When recent and deleted passages
together pass `rebuild_fraction` of the main index, the next search or save rebuilds it
from all passages.

Until that rebuild, scores differ from a fresh index's only through those statistics:
a word's IDF does not yet count the recent passages that hold it.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import re
from array import array
from functools import lru_cache
from pathlib import Path

import numpy as np

from .passages import PassageTable, read_file

log = logging.getLogger(__name__)

# BM25 parameters of Anserini's BEIR baselines (k1=0.9, b=0.4): lower saturation and
# length normalisation than the textbook 1.2/0.75, better on short passages.
BM25_K1 = 0.9
BM25_B = 0.4
REBUILD_FRACTION = 0.1
"""Recent plus deleted passages, as a share of the main index, that make it rebuilt."""

FILES = ("bm25", "bm25_rows.npy", "bm25.json")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stop words: what
    `bm25s.tokenize(texts, stopwords="en", stemmer=..., token_pattern=TOKEN_PATTERN)` gives
    (a test holds them equal), without its per-call set-up, which cost more than the work
    on a question's sentences."""
    stopwords, stem = _tokenizer()
    return [[stem(w) for w in _TOKEN.findall(text.lower()) if w not in stopwords]
            for text in texts]


# bm25s's default token pattern (words of two or more letters or digits), and a digit alone
# after a word ("Warehouse 7", "Article 5", "Phase 2"), which it drops: without it "Warehouse
# 6" ranked first for "What is stored in Warehouse 7?". A digit of a number ("4.2.0",
# "3:30") stays out, as it matches every other number.
_TOKEN = re.compile(r"(?u)\b\w\w+\b|(?<=[^\W\d_] )\d\b(?![.,:/]\d)")


TOKEN_PATTERN = _TOKEN.pattern
"""Saved with the index: one built with another pattern is rebuilt when loaded."""
_FIRST_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # of indexes saved without a pattern


@lru_cache(maxsize=1)
def _tokenizer():
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    stemmer = Stemmer.Stemmer("english")
    return frozenset(STOPWORDS_EN), lru_cache(maxsize=65536)(stemmer.stemWord)


def release_free_memory() -> None:
    """Give the memory Python has freed back to the operating system before a large
    build. The C library keeps freed heap pages for reuse, but a build's big NumPy
    arrays are mapped afresh, so without this both count. A no-op off glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class KeywordIndex:
    """BM25 over the rows of a `PassageTable`; the store tells it about every change."""

    def __init__(self, passages: PassageTable, *,
                 rebuild_fraction: float = REBUILD_FRACTION) -> None:
        self._passages = passages
        self.rebuild_fraction = rebuild_fraction
        self._main = None  # bm25s.BM25 over the passages present when it was built
        self._main_rows = np.zeros(0, dtype=np.int64)  # each one's row now, -1 once deleted
        self._deleted = 0  # main passages deleted since it was built
        self._average_length: float | None = None  # of the main passages, in tokens
        self._frequencies: np.ndarray | None = None  # main passages holding each word
        self._recent_rows = np.zeros(0, dtype=np.int64)  # rows added since, in order
        self._recent_tokens: list[array] = []  # token ids of the first rows of those
        self._vocabulary: dict[str, int] = {}  # of the recent passages' tokens
        self._recent_matrix = None  # (CSC term counts, lengths), until the next change
        self.outdated = False
        """Loaded from files of another tokenization, left out: to be saved again."""

    @property
    def recent(self) -> int:
        """Passages added since the main index was built."""
        return len(self._recent_rows)

    # --- changes, reported by the store after it made them ------------------------------

    def added(self, count: int) -> None:
        """`count` passages were appended to the table."""
        if self._main is None or not count:
            return  # the first search builds the main index over every row
        first = len(self._passages) - count
        self._recent_rows = np.concatenate(
            [self._recent_rows, np.arange(first, first + count, dtype=np.int64)])
        self._recent_matrix = None

    def kept(self, mask: np.ndarray) -> None:
        """The table kept only the rows where `mask` (over its old rows) is True."""
        if self._main is None:
            return
        renumbered = np.cumsum(mask) - 1
        alive = self._main_rows >= 0
        self._main_rows[alive] = np.where(mask[self._main_rows[alive]],
                                          renumbered[self._main_rows[alive]], -1)
        self._deleted = int((self._main_rows < 0).sum())
        stays = mask[self._recent_rows]
        tokenized = len(self._recent_tokens)
        self._recent_tokens = [t for t, s in zip(self._recent_tokens, stays[:tokenized],
                                                 strict=True) if s]
        self._recent_rows = renumbered[self._recent_rows[stays]]
        self._recent_matrix = None

    def _stale(self) -> bool:
        if self._main is None:
            return len(self._passages) > 0
        if self.recent and self._average_length is None:
            return True  # an index saved before recent passages were tracked
        changed = self.recent + self._deleted
        return changed > self.rebuild_fraction * len(self._main_rows)

    def _rebuild(self) -> None:
        import bm25s

        self._main, self._deleted = None, 0
        self._main_rows = np.zeros(0, dtype=np.int64)
        self._recent_rows, self._recent_tokens, self._vocabulary = \
            np.zeros(0, dtype=np.int64), [], {}
        self._recent_matrix = self._frequencies = None
        if not len(self._passages):
            return
        vocabulary: dict[str, int] = {}
        corpus = self._token_ids(range(len(self._passages)), vocabulary)
        release_free_memory()
        main = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        main.index((corpus, vocabulary), show_progress=False)
        self._average_length = float(np.mean([len(tokens) for tokens in corpus]))
        self._main, self._main_rows = main, np.arange(len(corpus), dtype=np.int64)

    def _token_ids(self, rows, vocabulary: dict[str, int]) -> list[array]:
        """Each row's title and text as token ids (new words join `vocabulary`): compact
        arrays rather than lists of strings, which for a million passages take gigabytes."""
        ids = []
        for row in rows:
            row = int(row)
            tokens = tokenize([f"{self._passages.title(row)}\n{self._passages.text(row)}"])[0]
            ids.append(array("i", [vocabulary.setdefault(t, len(vocabulary)) for t in tokens]))
        return ids

    # --- search -------------------------------------------------------------------------

    def search(self, tokens: list[str], k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `k` best rows for these query tokens, `(row, score)` with score > 0, best
        first; only rows in `allowed` when given."""
        if self._stale():
            self._rebuild()
        if self._main is None or not tokens or k <= 0:
            return []
        rows, scores = self._search_main(tokens, k, allowed)
        if self.recent:
            more_rows, more_scores = self._search_recent(tokens, k, allowed)
            rows, scores = np.concatenate([rows, more_rows]), np.concatenate([scores, more_scores])
            order = np.argsort(-scores, kind="stable")[:k]  # main first on a tie
            rows, scores = rows[order], scores[order]
        return [(int(r), float(s)) for r, s in zip(rows, scores, strict=True)]

    def _search_main(self, tokens: list[str], k: int, allowed: np.ndarray | None):
        known = [t for t in tokens if t in self._main.vocab_dict]
        none = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if not known:
            return none
        mask = None
        if allowed is not None:
            mask = np.isin(self._main_rows, allowed).astype(np.float32)
        elif self._deleted:
            mask = (self._main_rows >= 0).astype(np.float32)
        if mask is not None and not mask.any():
            return none
        # n_threads=0: in this thread; any other count starts a thread pool per call.
        found, scores = self._main.retrieve([known], k=min(k, len(self._main_rows)),
                                            show_progress=False, weight_mask=mask, n_threads=0)
        found, scores = found[0], scores[0].astype(np.float32)
        positive = scores > 0
        return self._main_rows[found[positive]], scores[positive]

    def _search_recent(self, tokens: list[str], k: int, allowed: np.ndarray | None):
        counts, lengths = self._recent_counts()
        main_size = len(self._main_rows)
        scores = np.zeros(self.recent, dtype=np.float32)
        # The same arithmetic, in the same precision, as bm25s's Lucene variant: float64,
        # each word's score stored as float32, and the words' scores summed in float32.
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / self._average_length)
        for token in tokens:  # a repeated word counts again, as bm25s counts it
            column = self._vocabulary.get(token)
            if column is None:
                continue
            start, end = counts.indptr[column], counts.indptr[column + 1]
            if start == end:
                continue
            at = self._main.vocab_dict.get(token)
            if at is not None:  # the main index's IDF, so that scores rank together
                frequency, size = int(self._main_frequencies()[at]), main_size
            else:
                frequency, size = end - start, main_size + self.recent
            idf = math.log(1 + (size - frequency + 0.5) / (frequency + 0.5))
            rows, tf = counts.indices[start:end], counts.data[start:end]
            scores[rows] += (np.float32(idf) * (tf / (norm[rows] + tf))).astype(np.float32)
        candidates = np.flatnonzero(scores > 0)
        if allowed is not None:
            candidates = candidates[np.isin(self._recent_rows[candidates], allowed)]
        best = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return self._recent_rows[best], scores[best]

    def _recent_counts(self):
        """Term counts of the recent passages (a CSC matrix, passages × recent words) and
        their lengths in tokens, tokenizing the passages not tokenized yet."""
        if self._recent_matrix is None:
            import scipy.sparse as sp

            todo = self._recent_rows[len(self._recent_tokens):]
            self._recent_tokens += self._token_ids(todo, self._vocabulary)
            lengths = np.array([len(t) for t in self._recent_tokens], dtype=np.int64)
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            indices = np.frombuffer(b"".join(t.tobytes() for t in self._recent_tokens),
                                    dtype=np.int32).copy()  # scipy sorts it in place
            counts = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                                   shape=(self.recent, max(len(self._vocabulary), 1)))
            counts.sum_duplicates()
            self._recent_matrix = (counts.tocsc(), lengths)
        return self._recent_matrix

    def _main_frequencies(self) -> np.ndarray:
        """How many main passages hold each main word: its column's length in the
        main index's score matrix (a word in a passage always scores above zero)."""
        if self._frequencies is None:
            self._frequencies = np.diff(np.asarray(self._main.scores["indptr"]))
        return self._frequencies

    # --- files --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the main index (`bm25/`), where its passages are now (`bm25_rows.npy`)
        and its average passage length (`bm25.json`); rebuilds it first when stale.
        Recent passages are found again from the table when loaded."""
        if self._stale():
            self._rebuild()
        self.outdated = False
        if self._main is None:
            return
        self._main.save(str(folder / "bm25"), show_progress=False)
        np.save(folder / "bm25_rows.npy", self._main_rows, allow_pickle=False)
        (folder / "bm25.json").write_text(
            json.dumps({"average_length": self._average_length,
                        "token_pattern": TOKEN_PATTERN}), "utf-8")

    @classmethod
    def load(cls, folder: Path, passages: PassageTable) -> KeywordIndex:
        """Read what `save` wrote, for this table. An index saved before `bm25_rows.npy`
        existed covers every row. One whose words were split by another pattern is left
        out, to be built again from the passages (`outdated` says so). Raises ValueError
        when the files disagree."""
        import bm25s

        index = cls(passages)
        count = len(passages)
        if not count:
            return index
        stats_file = folder / "bm25.json"
        stats = read_file(stats_file, lambda path: json.loads(path.read_text("utf-8"))) \
            if stats_file.exists() else {}
        if not isinstance(stats, dict):
            raise ValueError("bm25.json does not hold the BM25 index's figures")
        if stats.get("token_pattern", _FIRST_TOKEN_PATTERN) != TOKEN_PATTERN:
            log.info("the keyword index was built with other word tokens; building it again")
            index.outdated = True
            return index
        main = read_file(folder / "bm25", lambda path: bm25s.BM25.load(
            str(path), mmap=True, show_progress=False, verbosity=0))
        size = int(main.scores["num_docs"])
        rows_file = folder / "bm25_rows.npy"
        if rows_file.exists():
            rows = read_file(rows_file, lambda path: np.load(path, allow_pickle=False))
            average = read_file(stats_file, lambda path: float(stats["average_length"]))
        else:
            rows, average = np.arange(size, dtype=np.int64), None
        alive = rows[rows >= 0]
        if (len(rows) != size or rows.dtype != np.int64 or (alive >= count).any()
                or len(np.unique(alive)) != len(alive)):
            raise ValueError("bm25_rows.npy does not match the BM25 index and the passages")
        index._main, index._main_rows, index._average_length = main, rows, average
        index._deleted = len(rows) - len(alive)
        recent = np.ones(count, dtype=bool)
        recent[alive] = False
        index._recent_rows = np.flatnonzero(recent).astype(np.int64)
        return index
