"""Bulk ingestion on Ray: load, chunk and embed over a cluster, write into the store in batches.

    from rag.ingest import ingest
    report = ingest(["corpus/"], Settings(store="milvus:///data/briefing.db"), ".briefing/index")

Ray Data runs two stages on the workers: `LoadFiles` reads each file (rag.load) and
drops the ones already stored with the same checksum; `EmbedDocuments` chunks and
embeds the rest (rag.chunk, rag.embed, with the same passage and sentence texts as
`Index`). The driver receives whole documents and writes them into the store a batch
at a time: passages and sentence vectors first, the document record last, so a
recorded document is complete. A run that stops part-way is resumed by running it
again: recorded documents are skipped by checksum, and a half-written one is written
again (the Milvus store upserts by chunk id, so nothing is stored twice).

Files must be readable at the same path on every node (a shared disk) and `rag`
installed there; workers load the model offline (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunk import Chunk, chunk_document
from .document_table import DocumentTable
from .embed import Embedder
from .errors import DocumentError, IndexFormatError, NoDocumentsError
from .index import Index, passage_text, sentence_texts_of
from .load import Document, LoadReport, document_id, expand_paths, load_file
from .settings import Settings
from .store import Store, create_store, load_store

log = logging.getLogger(__name__)

WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
              "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}
"""Set in every worker: models come from packages or folders, never from a hub."""
LOAD_BATCH = 16
EMBED_BATCH = 16
"""Documents per embedding call on a worker: big enough to batch the model well."""
WRITE_BATCH = 256
"""Documents per write into the store: a crash loses at most this much work."""


@dataclass(slots=True)
class IngestReport:
    """What one `ingest` run did, and how long it took."""

    documents: int = 0
    passages: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embedded_passages: int = 0
    """Passages embedded in this run (unchanged documents embed nothing)."""


def ingest(paths: str | Path | Iterable[str | Path], settings: Settings,
           index_dir: str | Path, *, ray_address: str | None = None,
           workers: int | None = None, write_batch: int = WRITE_BATCH,
           worker_setup: Callable[[], None] | None = None) -> IngestReport:
    """Index the files under `paths` into `settings.store` with Ray, and save `index_dir`.

    Args:
        ray_address: a running Ray cluster ('ray://head:10001' or 'auto'); None starts
            a local Ray for the run (unless this process already joined one).
        workers: embedding actors (default: one per CPU of the cluster).
        write_batch: documents per write into the store.
        worker_setup: run once in each worker before the model loads (tests register a
            fake embedder with `rag.embed.register_model` here).

    Returns an IngestReport. Raises NoDocumentsError when the index ends up empty.
    """
    import ray

    started = time.perf_counter()
    index_dir = Path(index_dir)
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    embedder = Embedder(settings.model, batch_size=settings.batch_size)
    store, documents = open_target(settings, index_dir, embedder.dimension)
    listing = LoadReport()
    files = expand_paths(paths, listing)
    report = IngestReport(problems=[str(p) for p in listing.problems])
    we_started = not ray.is_initialized()
    if we_started:
        # Ray waits 30 s for its control process to start; a busy two-core machine can take
        # longer, and a failed start would lose the whole run.
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
        ray.init(address=ray_address, runtime_env={"env_vars": WORKER_ENV},
                 include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        known = {d.id: d.checksum for d in documents.values()}
        pending: list[Prepared] = []
        for row in run_pipeline(files, settings, known, workers=workers,
                                worker_setup=worker_setup):
            if row["status"] == "problem":
                report.problems.append(row["problem"])
            elif row["status"] == "unchanged":
                report.unchanged += 1
            else:
                pending.append(decode_row(row, embedder.dimension))
                if len(pending) >= write_batch:
                    write(store, pending, documents, known, report)
                    pending = []
        write(store, pending, documents, known, report)
        listed = {document_id(path) for path in files}
        report.removed = [d for d in documents if d not in listed]
        if report.removed:
            store.delete(report.removed)
            for doc_id in report.removed:
                del documents[doc_id]
    finally:
        if we_started:
            ray.shutdown()
    if not documents:
        reasons = "; ".join(report.problems[:5]) or "no files found"
        raise NoDocumentsError(f"No document could be indexed ({reasons}). Give files or "
                               "folders holding .txt, .md, .html or .pdf documents.")
    table = DocumentTable()
    table.put(documents.values())
    index = Index(settings=settings, store=store, documents=table, embedder=embedder)
    index.sources = [str(Path(p).expanduser().resolve()) for p in paths]
    index.save(index_dir)
    report.documents, report.passages = len(documents), len(store)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


# --- the driver's side ------------------------------------------------------------------

def open_target(settings: Settings, index_dir: Path,
                dimension: int) -> tuple[Store, dict[str, Document]]:
    """The store to write into and the documents it already holds.

    A store that records documents itself (Milvus) is the truth, including what a
    stopped run wrote; otherwise the index saved in `index_dir` is, when it matches.
    """
    previous: dict[str, Document] = {}
    if (index_dir / "manifest.json").exists():
        try:
            loaded = Index.load(index_dir, settings=settings)
            previous = {d.id: d for d in loaded.documents()}
        except IndexFormatError as error:
            log.warning("starting a new index: %s", error)
    if previous and not settings.store.startswith("milvus"):
        return load_store(settings, index_dir, dimension), previous
    store = create_store(settings, dimension)
    held = getattr(store, "documents", None)
    if callable(held):
        return store, {d.id: d for d in held()}
    return store, {}


Prepared = tuple[Document, list[Chunk], np.ndarray, list[np.ndarray]]
"""A document ready to store: its chunks, chunk vectors and sentence matrices."""


def write(store: Store, prepared: list[Prepared], documents: dict[str, Document],
          known: dict[str, str], report: IngestReport) -> None:
    """Store a batch of documents: passages first, then the document records (Milvus)."""
    if not prepared:
        return
    # A changed (or half-written) document's old passages may have other ids.
    store.delete([document.id for document, *_ in prepared])
    chunks = [c for _, cs, _, _ in prepared for c in cs]
    vectors = np.concatenate([v for _, _, v, _ in prepared])
    sentences = [m for _, _, _, ms in prepared for m in ms]
    store.add(chunks, vectors, sentences)
    put = getattr(store, "put_documents", None)
    if callable(put):
        put([document for document, *_ in prepared])
    for document, cs, _, _ in prepared:
        (report.updated if document.id in known else report.added).append(document.id)
        report.embedded_passages += len(cs)
        documents.pop(document.id, None)
        documents[document.id] = document


def decode_row(row: dict, dimension: int
               ) -> tuple[Document, list[Chunk], np.ndarray, list[np.ndarray]]:
    """A document, its chunks, chunk vectors and sentence matrices from a pipeline row."""
    document = Document.from_record(json.loads(row["document"]))
    chunks = [Chunk.from_record(r) for r in json.loads(row["chunks"])]
    vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, dimension)
    rest = np.frombuffer(row["sentence_vectors"], dtype=np.float32).reshape(-1, dimension)
    sentences = []
    for chunk in chunks:
        sentences.append(rest[:len(chunk.sentences)])
        rest = rest[len(chunk.sentences):]
    return document, chunks, vectors, sentences


# --- the workers' side ------------------------------------------------------------------

def run_pipeline(files: list[Path], settings: Settings, known: dict[str, str], *,
                 workers: int | None, worker_setup: Callable[[], None] | None
                 ) -> Iterator[dict]:
    """One row per file, in the order they finish: 'problem', 'unchanged' or 'embedded'."""
    import ray

    if not files:
        return
    actors = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    remote = {"num_cpus": 1, "runtime_env": {"env_vars": WORKER_ENV}}
    # A block per embedding batch: results stream back (and are stored) batch by batch.
    dataset = ray.data.from_items([{"path": str(p)} for p in files],
                                  override_num_blocks=-(-len(files) // EMBED_BATCH))
    dataset = dataset.map_batches(
        LoadFiles, fn_constructor_kwargs={"known": known, "max_bytes": settings.max_file_bytes},
        batch_size=LOAD_BATCH, concurrency=(1, actors), **remote)
    dataset = dataset.map_batches(
        EmbedDocuments, fn_constructor_kwargs={"settings": settings.to_dict(),
                                               "worker_setup": worker_setup},
        batch_size=EMBED_BATCH, concurrency=(1, actors), **remote)
    for batch in dataset.iter_batches(batch_size=EMBED_BATCH, batch_format="pandas"):
        yield from batch.to_dict("records")


class LoadFiles:
    """Ray Data stage: each path as a loaded document, 'unchanged', or a 'problem'."""

    def __init__(self, known: dict[str, str], max_bytes: int) -> None:
        self.known = known
        self.max_bytes = max_bytes

    def __call__(self, batch: dict) -> dict:
        rows = [self.load(str(path)) for path in batch["path"]]
        return {key: [row[key] for row in rows] for key in ROW_KEYS}

    def load(self, path: str) -> dict:
        try:
            document = load_file(path, max_bytes=self.max_bytes)
        except DocumentError as error:
            return empty_row(path, "problem", problem=str(error))
        if self.known.get(document.id) == document.checksum:
            return empty_row(path, "unchanged", doc_id=document.id)
        return empty_row(path, "loaded", doc_id=document.id,
                         document=json.dumps(document.to_record(), ensure_ascii=False))


class EmbedDocuments:
    """Ray Data stage: chunk and embed the loaded documents (the model loads once per actor)."""

    def __init__(self, settings: dict, worker_setup: Callable[[], None] | None = None) -> None:
        if worker_setup is not None:
            worker_setup()
        self.settings = Settings.from_dict(settings)
        self.embedder = Embedder(self.settings.model, batch_size=self.settings.batch_size)

    def __call__(self, batch: dict) -> dict:
        rows = [dict(zip(ROW_KEYS, values, strict=True))
                for values in zip(*(batch[key] for key in ROW_KEYS), strict=True)]
        loaded = [Document.from_record(json.loads(r["document"])) for r in rows
                  if r["status"] == "loaded"]
        prepared = iter(prepare(loaded, self.settings, self.embedder))
        for row in rows:
            if row["status"] == "loaded":
                chunks, vectors, sentences = next(prepared)
                row |= {"status": "embedded",
                        "chunks": json.dumps([c.to_record() for c in chunks], ensure_ascii=False),
                        "vectors": vectors.astype(np.float32).tobytes(),
                        "sentence_vectors": sentences.astype(np.float32).tobytes()}
        return {key: [row[key] for row in rows] for key in ROW_KEYS}


ROW_KEYS = ("path", "status", "doc_id", "problem", "document", "chunks", "vectors",
            "sentence_vectors")


def empty_row(path: str, status: str, **values) -> dict:
    return {"path": path, "status": status, "doc_id": "", "problem": "", "document": "",
            "chunks": "", "vectors": b"", "sentence_vectors": b""} | values


def prepare(documents: list[Document], settings: Settings, embedder: Embedder
            ) -> list[tuple[list[Chunk], np.ndarray, np.ndarray]]:
    """Each document's chunks, chunk vectors and sentence vectors (all sentences stacked),
    embedded from the same texts as `Index` embeds, in one call to the model."""
    s = settings
    chunks = [chunk_document(d, chunk_chars=s.chunk_chars, overlap=s.chunk_overlap,
                             max_sentence_chars=s.max_sentence_chars) for d in documents]
    passages = [passage_text(c, embed_title=s.embed_title) for cs in chunks for c in cs]
    sentences = [t for d, cs in zip(documents, chunks, strict=True) for c in cs
                 for t in sentence_texts_of(c, d.text)]
    vectors = embedder.embed_documents(passages + sentences, progress=False)
    passage_vectors, sentence_vectors = vectors[:len(passages)], vectors[len(passages):]
    prepared = []
    for cs in chunks:
        count = sum(len(c.sentences) for c in cs)
        prepared.append((cs, passage_vectors[:len(cs)], sentence_vectors[:count]))
        passage_vectors, sentence_vectors = passage_vectors[len(cs):], sentence_vectors[count:]
    return prepared


# --- measuring a store --------------------------------------------------------------------

def measure_store(settings: Settings, *, passages: int, dimension: int = 384,
                  queries: int = 200, batch: int = 2_000, seed: int = 0) -> dict:
    """Write throughput and query latency of the store `settings.store` names, on synthetic
    passages (random unit vectors, Zipf-distributed words, 3 sentences each).

    Embedding is left out: this times the store alone. Returns passages per second for
    writing, seconds for the first query of each kind (FAISS and bm25s build their
    indexes then), and p50/p95 milliseconds of dense and keyword searches.
    """
    from .metrics import percentile

    rng = np.random.default_rng(seed)
    vocabulary = [f"w{n}" for n in range(20_000)]
    store = create_store(settings, dimension)
    started = time.perf_counter()
    for first in range(0, passages, batch):
        chunks, vectors = synthetic_passages(rng, vocabulary, first,
                                             min(batch, passages - first), dimension)
        store.add(chunks, vectors, [np.repeat(v[None, :], 3, axis=0) for v in vectors])
    write_seconds = time.perf_counter() - started
    texts = [" ".join(rng.choice(vocabulary[:2_000], size=5)) for _ in range(queries)]
    vectors = unit_rows(rng, queries, dimension)
    first_dense = _seconds(store.dense_search, vectors[0], 50)
    first_keyword = _seconds(store.keyword_search, texts[0], 50)
    dense = [_seconds(store.dense_search, v, 50) * 1000 for v in vectors]
    keyword = [_seconds(store.keyword_search, t, 50) * 1000 for t in texts]
    return {"store": settings.store.split("?")[0], "passages": len(store),
            "write_passages_per_s": round(passages / write_seconds, 1),
            "first_dense_s": round(first_dense, 3), "first_keyword_s": round(first_keyword, 3),
            "dense_p50_ms": round(percentile(dense, 50), 2),
            "dense_p95_ms": round(percentile(dense, 95), 2),
            "keyword_p50_ms": round(percentile(keyword, 50), 2),
            "keyword_p95_ms": round(percentile(keyword, 95), 2)}


def synthetic_passages(rng: np.random.Generator, vocabulary: list[str], first: int, count: int,
                       dimension: int) -> tuple[list[Chunk], np.ndarray]:
    """`count` passages of 60 Zipf-distributed words (3 sentences) in documents of 10."""
    ranks = np.minimum(rng.zipf(1.2, size=(count, 60)), len(vocabulary)) - 1
    chunks = []
    for row, n in zip(ranks, range(first, first + count), strict=True):
        text = " ".join(vocabulary[r] for r in row)
        start = (n % 10) * 10_000  # passages of one document at distinct offsets
        third = len(text) // 3
        spans = ((start, start + third), (start + third, start + 2 * third),
                 (start + 2 * third, start + len(text)))
        chunks.append(Chunk(f"doc{n // 10}", f"Document {n // 10}", start, start + len(text),
                            text, spans))
    return chunks, unit_rows(rng, count, dimension)


def unit_rows(rng: np.random.Generator, count: int, dimension: int) -> np.ndarray:
    rows = rng.normal(size=(count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _seconds(function: Callable, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started
