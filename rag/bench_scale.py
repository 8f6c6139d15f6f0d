"""`briefing bench`'s scale section: synthetic corpora of 10k to 1M passages.

For each size two fresh child processes run (`python -m rag.bench_scale CONFIG`), so
that one size's memory never counts against the next: `build` makes the corpus, adds
it through `Index.add_documents`, saves it and computes the exact top 10 of each
query by brute force; `serve` loads the saved index and times search, ask, dense
search (for recall@10 against the exact top 10) and adding one document. Each child
runs under an address-space limit and a timeout, and records its figures after every
step, so a child that runs out of memory or time still says how far it got.

The store is `settings.store`: FAISS in the size's index folder, or a fresh Milvus
scratch store per size (see `rag.bench_store`), deleted once the size is measured.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from . import bench_store
from .bench_report import BenchError, latency_ms
from .chunk import chunk_document
from .embed import load_model, register_model, text_hash
from .index import Index, passage_text
from .load import Document
from .settings import Settings
from .synthetic import (
    SYNTHETIC_MODEL,
    SyntheticModel,
    exact_relevant,
    load_pool,
    recall_at_k,
    save_pool,
    sentence_pool,
    synthetic_documents,
)

POOL_SIZE = 2000
"""Real sentences embedded with the real model; every synthetic vector mixes four."""
MEMORY_LIMIT = 12 * 2**30
"""Address-space limit of each child (RLIMIT_AS): the machine has 24 GiB, shared."""
ADD_BATCH = 100_000
"""Passages per `add_documents` call: a 1M-passage corpus is added in ten parts."""
EXACT_BLOCK = 50_000
K = 10
REPO = Path(__file__).resolve().parents[1]


def timeout_for(size: int) -> float:
    """Seconds a child may take: ten minutes plus 3.6 ms per passage (1M: 70 minutes)."""
    return 600 + 0.0036 * size


# --- the parent -------------------------------------------------------------------------

def run(sizes: Sequence[int], *, settings: Settings, workdir: Path,
        pool_documents: Sequence[Document], queries: int,
        progress: Callable[[str], None] = lambda _: None) -> dict:
    """Build and serve one synthetic index per size; figures per size, failures included."""
    pool_path, pool_s = prepare_pool(settings, workdir, pool_documents, progress=progress)
    sentences, _ = load_pool(pool_path)
    questions = random.Random(1).sample(sentences, min(queries, len(sentences)))
    figures = {"store": bench_store.label(settings.store),
               "store_detail": bench_store.describe(settings.store),
               "pool_sentences": len(sentences), "pool_embed_s": round(pool_s, 1),
               "questions": len(questions), "memory_limit_gib": MEMORY_LIMIT / 2**30,
               "add_batch": ADD_BATCH, "vectors": "synthetic", "embed_sentences": False,
               "sizes": []}
    for size in sizes:
        folder = workdir / f"scale-{size}"
        store = bench_store.scratch(settings.store, f"scale-{size}")
        remove_index(folder)
        bench_store.discard(store)
        config = {"size": size, "pool": str(pool_path), "folder": str(folder),
                  "questions": questions, "settings": settings.to_dict() | {
                      "model": SYNTHETIC_MODEL, "store": store, "embed_sentences": False},
                  "exact": str(workdir / f"exact-{size}.json")}
        progress(f"scale: {size:,} passages: build")
        build = run_child("build", config, workdir=workdir)
        serve = {"error": "not run: the build did not finish"}
        if "error" not in build:
            progress(f"scale: {size:,} passages: serve")
            serve = run_child("serve", config, workdir=workdir)
        figures["sizes"].append({"size": size, "store_uri": store, "build": build,
                                 "serve": serve})
        remove_index(folder)  # up to tens of GB; rebuilt on demand
        bench_store.discard(store)
    return figures


def remove_index(folder: Path) -> None:
    """The saved index and what a killed save leaves beside it (staging, previous copy)."""
    for path in [folder, *folder.parent.glob(f".{folder.name}.*")]:
        shutil.rmtree(path, ignore_errors=True)


def prepare_pool(settings: Settings, workdir: Path, documents: Sequence[Document], *,
                 progress: Callable[[str], None]) -> tuple[Path, float]:
    """The sentence pool with real embeddings, cached in the work folder per model."""
    sentences = sentence_pool(documents, limit=POOL_SIZE)
    if len(sentences) < 2 * 12:
        raise BenchError(f"the corpus gave {len(sentences)} usable sentences for the scale "
                         "section; it needs at least 24: give --docs with more text")
    tag = f"{settings.model}\n" + "\n".join(sentences)
    path = workdir / f"pool-{text_hash(tag)[:16]}.npz"
    if path.exists():
        return path, 0.0
    progress(f"scale: embedding {len(sentences):,} pool sentences with {settings.model}")
    model = load_model(settings.model)
    encode = getattr(model, "encode_document", model.encode)
    started = time.perf_counter()
    vectors = encode(sentences, batch_size=settings.batch_size, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
    seconds = time.perf_counter() - started
    save_pool(path, sentences, np.asarray(vectors, dtype=np.float32))
    return path, seconds


def run_child(phase: str, config: dict, *, workdir: Path) -> dict:
    """One child process; its recorded figures, with an `error` when it did not finish."""
    out = workdir / f"scale-{config['size']}-{phase}.json"
    out.unlink(missing_ok=True)
    config_path = workdir / f"scale-{config['size']}-{phase}-config.json"
    config_path.write_text(json.dumps(config | {"phase": phase, "out": str(out)}), "utf-8")
    started = time.perf_counter()
    error = None
    try:
        done = subprocess.run([sys.executable, "-m", "rag.bench_scale", str(config_path)],
                              capture_output=True, text=True, timeout=timeout_for(config["size"]))
        if done.returncode != 0:
            error = f"exit code {done.returncode}: {done.stderr.strip()[-400:]}"
    except subprocess.TimeoutExpired:
        error = f"timeout after {timeout_for(config['size']):.0f} s"
    figures = json.loads(out.read_text("utf-8")) if out.exists() else {}
    if error and "error" not in figures:
        figures["error"] = error
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    figures["children_max_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return figures


# --- the children -----------------------------------------------------------------------

class Recorder:
    """Figures of one child, written to its out file after every step."""

    def __init__(self, path: Path, *, server: bool = False) -> None:
        self.path = path
        self.server = server  # also record the peak memory of a Milvus Lite server child
        self.figures: dict = {"steps": []}

    def __setitem__(self, key: str, value) -> None:
        self.figures[key] = value
        self.flush()

    def step(self, name: str, function: Callable, *args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        seconds = round(time.perf_counter() - started, 3)
        self.figures[f"{name}_s"] = seconds
        self.figures["steps"].append({"step": name, "s": seconds, "peak_rss_mb": peak_rss_mb()})
        self.flush()
        return result

    def flush(self) -> None:
        self.figures["peak_rss_mb"] = peak_rss_mb()
        if self.server:
            # Peaks only grow while the server runs; keep the last reading once it stops.
            now = bench_store.children_peak_rss_mb() or 0.0
            self.figures["server_peak_rss_mb"] = max(
                now, self.figures.get("server_peak_rss_mb", 0.0))
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.figures, indent=1), "utf-8")
        os.replace(temporary, self.path)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text("utf-8"))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    sentences, vectors = load_pool(Path(config["pool"]))
    model = SyntheticModel(sentences, vectors)
    register_model(SYNTHETIC_MODEL, model)
    store = config["settings"].get("store", "faiss")
    recorder = Recorder(Path(config["out"]), server=bench_store.lite_path(store) is not None)
    recorder["code"] = code_state()  # files may change between sizes: say what ran
    try:
        PHASES[config["phase"]](config, model, sentences, recorder)
    except Exception as error:  # a child reports any failure (and how far it got), then exits
        recorder["error"] = f"{type(error).__name__} in step " \
                            f"{_next_step(recorder)}: {str(error)[:300]}"
        return 3
    return 0


def _next_step(recorder: Recorder) -> str:
    done = [s["step"] for s in recorder.figures["steps"]]
    return f"after {done[-1]}" if done else "first"


def build_phase(config: dict, model: SyntheticModel, pool: list[str],
                recorder: Recorder) -> None:
    settings = Settings.from_dict(config["settings"])
    size, folder = config["size"], Path(config["folder"])
    documents = recorder.step("generate", synthetic_documents, pool, size,
                              chunk_chars=settings.chunk_chars, overlap=settings.chunk_overlap)
    recorder["documents"] = len(documents)
    recorder["characters"] = sum(len(d.text) for d in documents)
    index = Index.empty(settings=settings)
    recorder.step("add", add_in_parts, index, documents)
    recorder["passages"] = passages = len(index)
    recorder["add_passages_per_s"] = round(passages / max(recorder.figures["add_s"], 1e-3), 1)
    recorder.step("save", index.save, folder)
    outside = bench_store.disk_bytes(settings.store)  # the Milvus Lite file; None: a server
    recorder["disk_mb"] = None if outside is None \
        else round((folder_bytes(folder) + outside) / 2**20, 1)
    lite = bench_store.lite_path(settings.store)
    recorder["files_mb"] = {p.name: round(folder_bytes(p) / 2**20, 1)
                            for p in [*sorted(folder.iterdir()), *([lite] if lite else [])]}
    recorder["build_peak_rss_mb"] = peak_rss_mb()
    del index
    queries = model.encode(config["questions"])
    blocks = PassageBlocks(documents, model, settings)
    relevant = recorder.step("exact", exact_relevant, queries, blocks, k=K)
    recorder["sentences"] = blocks.sentences
    Path(config["exact"]).write_text(json.dumps(relevant), "utf-8")


def add_in_parts(index: Index, documents: Sequence[Document]) -> None:
    part: list[Document] = []
    passages = 0
    for document in documents:
        part.append(document)
        passages += max(1, len(document.text) // 450)  # about; only sizes the parts
        if passages >= ADD_BATCH:
            index.add_documents(part, progress=False)
            part, passages = [], 0
    index.add_documents(part, progress=False)


class PassageBlocks:
    """The passage ids and vectors of `documents`, block by block, chunked as the index
    chunks them and embedded again (the model is deterministic): the exact top 10 is
    computed without holding a million passages at once. Counts the sentences seen."""

    def __init__(self, documents: Sequence[Document], model: SyntheticModel,
                 settings: Settings) -> None:
        self.documents, self.model, self.settings = documents, model, settings
        self.sentences = 0

    def __iter__(self) -> Iterator[tuple[list[str], np.ndarray]]:
        s, block = self.settings, []
        for document in self.documents:
            block.extend(chunk_document(document, chunk_chars=s.chunk_chars,
                                        overlap=s.chunk_overlap,
                                        max_sentence_chars=s.max_sentence_chars))
            if len(block) >= EXACT_BLOCK or document is self.documents[-1]:
                self.sentences += sum(len(c.sentences) for c in block)
                yield [c.id for c in block], self.model.encode(
                    [passage_text(c, embed_title=s.embed_title) for c in block])
                block = []


def serve_phase(config: dict, model: SyntheticModel, pool: list[str],
                recorder: Recorder) -> None:
    settings = Settings.from_dict(config["settings"])
    folder, questions = Path(config["folder"]), config["questions"]
    recorder.step("imports", _import_backends, settings.store)  # once per process, not a re-open
    index = recorder.step("reopen", Index.load, folder, settings=settings)
    recorder["reopen_peak_rss_mb"] = peak_rss_mb()
    recorder.step("first_search", index.search, questions[0], k=K)
    recorder["search"] = latencies(index.search, questions, k=K)
    recorder["ask"] = latencies(index.ask, questions)
    vectors = model.encode(questions)
    found, seconds = [], []
    for vector in vectors:
        started = time.perf_counter()
        found.append([chunk_id for chunk_id, _ in index._store.dense_search(vector, K)])
        seconds.append(time.perf_counter() - started)
    recorder["dense"] = latency_ms(seconds)
    relevant = json.loads(Path(config["exact"]).read_text("utf-8"))
    recalls = [recall_at_k(f, r, k=K) for f, r in zip(found, relevant, strict=True)]
    recorder["recall@10"] = round(float(np.mean(recalls)), 4)
    recorder["recall@10_min"] = round(float(np.min(recalls)), 4)
    recorder["store"] = describe_store(index)
    # FAISS's OpenMP thread count does not reach Milvus: no figure rather than a false one.
    recorder["dense_1_thread"] = dense_one_thread(index, vectors) \
        if bench_store.is_faiss(settings.store) else None
    recorder["serve_peak_rss_mb"] = peak_rss_mb()
    extra = synthetic_documents(pool, 3, chunk_chars=settings.chunk_chars,
                                overlap=settings.chunk_overlap, seed=config["size"] + 1,
                                prefix="extra")[:1]
    recorder.step("add_one", index.add_documents, extra, progress=False)
    # The first question after adding pays for bringing BM25 up to date.
    recorder.step("search_after_add", index.search, questions[-1], k=K)
    recorder.step("save_after_add", index.save, folder)


def dense_one_thread(index: Index, vectors: np.ndarray) -> dict:
    """Dense search latency with FAISS limited to one OpenMP thread: on a busy machine the
    threads of a one-query search can wait on each other longer than they compute."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        seconds = []
        for vector in vectors:
            started = time.perf_counter()
            index._store.dense_search(vector, K)
            seconds.append(time.perf_counter() - started)
    finally:
        faiss.omp_set_num_threads(threads)
    return latency_ms(seconds) | {"default_threads": threads}


def _import_backends(store: str = "faiss") -> None:
    import bm25s  # noqa: F401
    import faiss  # noqa: F401
    import Stemmer  # noqa: F401

    if not bench_store.is_faiss(store):
        import pymilvus  # noqa: F401


def latencies(method: Callable, questions: Sequence[str], **kwargs) -> dict:
    seconds = []
    for question in questions:
        started = time.perf_counter()
        method(question, **kwargs)
        seconds.append(time.perf_counter() - started)
    return latency_ms(seconds)


def describe_store(index: Index) -> str:
    """The store class, its dense index kind and FAISS or Milvus index type when it tells
    (best effort: these are the store's own attributes, not an API)."""
    store = index._store
    lite = str(getattr(store, "uri", "")).endswith(".db")
    details = ["Milvus Lite" if lite else "", str(getattr(store, "kind", "")),
               str(getattr(store, "index_type", ""))]
    details = [d for d in details if d]
    return type(store).__name__ + (f" ({', '.join(details)})" if details else "")


def code_state() -> dict:
    """The commit measured, and whether the store and index files differ from it."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = git("status", "--porcelain", "--", "rag/store.py", "rag/index.py")
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "store_commit": git("log", "-1", "--format=%h %s", "--", "rag/store.py"),
            "uncommitted": [line.split(maxsplit=1)[1] for line in changed.splitlines()
                            if line.strip()]}


def folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


PHASES = {"build": build_phase, "serve": serve_phase}

if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
