"""`briefing bench`: build, re-index, query, scale and start-up figures, in one run.

Each section is one function returning a plain dict; `main` prints each section's
table as it finishes (progress goes to stderr) and writes everything as JSON when
asked. The scale section runs in child processes (`rag.bench_scale`, with the
synthetic corpora of `rag.synthetic`), the start-up section in `rag.bench_startup`,
and the tables are `rag.bench_report`'s. `--store` picks the store every section
measures; Milvus runs use scratch stores of their own (`rag.bench_store`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from . import bench_scale, bench_startup, bench_store
from .bench_report import FORMATTERS, BenchError, format_header, latency_ms
from .chunk import chunk_document, document_sentences
from .embed import load_model, text_hash
from .evaluate import corpus_document, read_jsonl
from .index import DEFAULT_SEEDS, Index, passage_text, sentence_texts_of
from .load import Document, load_documents
from .settings import Settings

SECTIONS = ("build", "reindex", "query", "scale", "startup")
REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "bench" / "data" / "scifact"
LIMIT_ENV = "BRIEFING_BENCH_LIMIT_DOCS"
"""First N SciFact abstracts for build/reindex/query until the parser has --limit-docs."""
BUILD_ROUNDS = (("bare", "pipeline"), ("pipeline", "bare"))
"""Both orders, so that neither side always runs on a warmer (or busier) machine."""
REOPEN_REPEATS = 3
THREADS = (1, 4, 8)
WARM_UP_QUESTION = "What does this corpus say about measurement?"


@dataclass(frozen=True, slots=True)
class Corpus:
    """What the build, re-index and query sections run on."""

    name: str
    key: str
    """Names the corpus's saved index in the work folder."""
    paths: tuple[Path, ...]
    questions: tuple[str, ...]
    pool_documents: tuple[Document, ...]
    """Documents whose sentences feed the scale section's synthetic corpora."""


@dataclass(frozen=True, slots=True)
class Bench:
    settings: Settings
    workdir: Path
    corpus: Corpus
    queries: int
    sizes: tuple[int, ...]

    @property
    def corpus_index(self) -> Path:
        suffix = "" if bench_store.is_faiss(self.settings.store) else "-milvus"
        return self.workdir / f"index-{self.corpus.key}{suffix}"

    @property
    def corpus_settings(self) -> Settings:
        """The settings of the build, re-index and query sections: their own scratch store."""
        return replace(self.settings, store=bench_store.scratch(self.settings.store, "corpus"))

    @property
    def store(self) -> str:
        return bench_store.label(self.settings.store)

    @property
    def cache_dir(self) -> Path:
        return self.workdir / "cache"


# --- entry point ------------------------------------------------------------------------

def main(args) -> int:
    """`briefing bench`: run the chosen sections, print their tables, write JSON."""
    sections = parse_sections(args.only)
    sizes = parse_sizes(args.sizes)
    if args.queries <= 0:
        raise BenchError(f"--queries must be greater than 0, got {args.queries}")
    settings = bench_settings(args, sizes)
    workdir = work_dir(args.index_dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    limit = docs_limit(getattr(args, "limit_docs", None) or os.environ.get(LIMIT_ENV))
    corpus = read_corpus(args.docs, workdir=workdir, limit=limit)
    bench = Bench(settings, workdir, corpus, args.queries, sizes)
    results: dict = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                     "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "machine": machine(), "model": settings.model, "corpus": corpus.name,
                     "store": bench.store, "store_uri": settings.store,
                     "store_detail": bench_store.describe(settings.store),
                     "workdir": str(workdir), "sections": {}}
    print(format_header(results), flush=True)
    reset_corpus_store(bench)
    try:
        for name in sections:
            started = time.perf_counter()
            note(f"{name}: starting")
            results["sections"][name] = RUNNERS[name](bench)
            results["sections"][name]["wall_s"] = round(time.perf_counter() - started, 1)
            print("\n" + FORMATTERS[name](results["sections"][name]), flush=True)
            if args.json_out:
                write_json(results, Path(args.json_out))
    finally:
        reset_corpus_store(bench)
    results["load_average_end"] = list(os.getloadavg())
    if args.json_out:
        write_json(results, Path(args.json_out))
    return 0


def bench_settings(args, sizes: Sequence[int]) -> Settings:
    """Default settings with the `--model` and `--store` given. The store is checked,
    with every scratch store name the run will need, before anything runs."""
    store = getattr(args, "store", None)
    if store:
        for tag in ("corpus", "startup", *(f"scale-{size}" for size in sizes)):
            bench_store.scratch(bench_store.check(store), tag)
    given = {"model": args.model, "store": store}
    return Settings(**{k: v for k, v in given.items() if v})


def reset_corpus_store(bench: Bench) -> None:
    """On Milvus, each run starts and ends without a corpus index: its data lives in a
    scratch store that must never outlive (or predate) the folder. FAISS keeps its saved
    corpus index for the next run, as ever."""
    if bench_store.is_faiss(bench.settings.store):
        return
    shutil.rmtree(bench.corpus_index, ignore_errors=True)
    bench_store.discard(bench.corpus_settings.store)


def parse_sections(text: str | None) -> list[str]:
    if not text:
        return list(SECTIONS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise BenchError(f"--only takes a comma list of {','.join(SECTIONS)}; "
                         f"got {text!r}")
    return [n for n in SECTIONS if n in names]


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise BenchError(f"--sizes takes a comma list of passage counts such as "
                         f"10000,100000; got {text!r}") from None
    if not sizes or any(s <= 0 for s in sizes):
        raise BenchError(f"--sizes needs passage counts greater than 0, got {text!r}")
    return sizes


def docs_limit(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        limit = int(value)
    except ValueError:
        raise BenchError(f"{LIMIT_ENV} must be a whole number of documents, got {value!r}") \
            from None
    if limit <= 0:
        raise BenchError(f"{LIMIT_ENV} must be greater than 0, got {limit}")
    return limit


def work_dir(index_dir: Path | None) -> Path:
    """`--index DIR` names the bench's working folder; the CLI default (the user's own
    index, .briefing/index) is never touched: the bench works in .briefing/bench."""
    from .cli import DEFAULT_HOME

    if index_dir is None or Path(index_dir) == DEFAULT_HOME / "index":
        return DEFAULT_HOME / "bench"
    return Path(index_dir)


def note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] bench: {message}", file=sys.stderr, flush=True)


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --- the corpus -------------------------------------------------------------------------

def read_corpus(docs: Sequence[Path] | None, *, workdir: Path, limit: int | None) -> Corpus:
    """`--docs` when given, else SciFact (its first `limit` abstracts), else the seeds."""
    if docs:
        documents = load_documents(docs, max_bytes=Settings().max_file_bytes).documents
        if not documents:
            raise BenchError(f"no document could be loaded from {', '.join(map(str, docs))}")
        key = text_hash("\n".join(str(Path(p).resolve()) for p in docs))[:12]
        return Corpus(", ".join(map(str, docs)), f"docs-{key}", tuple(Path(p) for p in docs),
                      tuple(sentence_questions(documents)), tuple(documents))
    if (SCIFACT / "corpus.jsonl.gz").exists():
        return scifact_corpus(workdir, limit=limit)
    documents = load_documents([DEFAULT_SEEDS], max_bytes=Settings().max_file_bytes).documents
    return Corpus("seeds", "seeds", (DEFAULT_SEEDS,), tuple(sentence_questions(documents)),
                  tuple(documents))


def scifact_corpus(workdir: Path, *, limit: int | None) -> Corpus:
    """SciFact's abstracts written as text files (title line, blank line, abstract)."""
    rows = [r for r in read_jsonl(SCIFACT / "corpus.jsonl.gz")
            if (r.get("text") or "").strip()]
    chosen = rows[:limit] if limit else rows
    folder = workdir / f"scifact-{len(chosen)}"
    folder.mkdir(parents=True, exist_ok=True)
    for row in chosen:
        path = folder / f"{row['_id']}.txt"
        content = f"{(row.get('title') or '').strip()}\n\n{row['text'].strip()}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    questions = list(dict.fromkeys(str(r["text"]).strip()
                                   for r in read_jsonl(SCIFACT / "queries.jsonl")))
    documents = tuple(corpus_document(str(r["_id"]), r.get("title") or "", r["text"],
                                      source=f"scifact/{r['_id']}") for r in rows)
    name = f"SciFact, first {len(chosen):,} of {len(rows):,} abstracts" if limit \
        else f"SciFact, all {len(rows):,} abstracts"
    return Corpus(name, folder.name, (folder,), tuple(questions), documents)


def sentence_questions(documents: Sequence[Document], *, longest: int = 200) -> list[str]:
    """Distinct sentences of at least five words, spread over the corpus, as questions."""
    found: dict[str, None] = {}
    for document in documents:
        for run in document_sentences(document):
            for start, end in run:
                sentence = document.text[start:end][:longest]
                if len(sentence.split()) >= 5:
                    found.setdefault(sentence, None)
    return list(found)


def pick_questions(questions: Sequence[str], count: int) -> list[str]:
    """`count` questions spread evenly over `questions` (all of them when fewer)."""
    if not questions:
        raise BenchError("the corpus gave no question to time; give --docs with more text")
    if count >= len(questions):
        return list(questions)
    step = len(questions) / count
    return [questions[int(i * step)] for i in range(count)]


# --- figures ----------------------------------------------------------------------------

def timed(function: Callable, *args, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def machine() -> dict:
    """CPU, cores, memory, load and the versions that shape the figures."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read_lines("/proc/meminfo")
                   if line.startswith("MemTotal:")), 0)
    versions = {}
    for package in ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 2**20, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "versions": versions,
            "git": bench_scale.code_state()}


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


# --- build ------------------------------------------------------------------------------

def embedding_texts(documents: Sequence[Document], settings: Settings) -> dict:
    """What the pipeline embeds for `documents`: passage texts then sentence texts, each
    distinct text once (the Embedder skips repeats), with the counts."""
    chunks = [c for d in documents
              for c in chunk_document(d, chunk_chars=settings.chunk_chars,
                                      overlap=settings.chunk_overlap,
                                      max_sentence_chars=settings.max_sentence_chars)]
    texts = {d.id: d.text for d in documents}
    passages = [passage_text(c, embed_title=settings.embed_title) for c in chunks]
    sentences = [t for c in chunks for t in sentence_texts_of(c, texts[c.doc_id])]
    distinct = list(dict.fromkeys(passages + sentences))
    return {"texts": distinct, "passages": len(chunks), "sentences": len(sentences),
            "characters": sum(len(d.text) for d in documents)}


def bare_encode(settings: Settings, texts: Sequence[str]) -> tuple[float, float]:
    """Wall and CPU seconds for one plain model call over `texts`, as the Embedder makes it."""
    model = load_model(settings.model)
    encode = getattr(model, "encode_document", model.encode)
    _, wall, cpu = measured(encode, list(texts), batch_size=settings.batch_size,
                            normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)
    return wall, cpu


def measured(function: Callable, *args, **kwargs) -> tuple[object, float, float]:
    """The result, wall seconds and this process's CPU seconds (all threads). On a shared
    machine CPU time moves less than wall time with other people's load."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_build(bench: Bench) -> dict:
    """Index.build (no embedding cache) beside a bare encode of the same texts."""
    s = bench.corpus_settings
    documents = load_documents(bench.corpus.paths, max_bytes=s.max_file_bytes).documents
    wanted = embedding_texts(documents, s)
    _, model_s = timed(load_model, s.model)
    bare_encode(s, wanted["texts"][:8])  # first call pays one-off set-up costs
    rounds = [build_round(bench, order, wanted["texts"]) for order in BUILD_ROUNDS]
    best = min(rounds, key=lambda r: r["build_s"])
    return {"corpus": bench.corpus.name, "store": bench.store, "documents": len(documents),
            "passages": wanted["passages"], "sentences": wanted["sentences"],
            "texts_embedded": len(wanted["texts"]), "characters": wanted["characters"],
            "batch_size": s.batch_size, "model_load_s": round(model_s, 2), "rounds": rounds,
            "chunks_per_s": round(wanted["passages"] / best["build_s"], 1),
            "characters_per_s": round(wanted["characters"] / best["build_s"], 0),
            "ratio_median": round(statistics.median(r["ratio"] for r in rounds), 3),
            "cpu_ratio_median": round(statistics.median(r["cpu_ratio"] for r in rounds), 3)}


def build_round(bench: Bench, order: Sequence[str], texts: Sequence[str]) -> dict:
    """One bare encode and one Index.build + save, in `order`, with the load average after
    each (the 1-minute figure: how busy the machine was). Each build starts from an
    empty store (on Milvus, a fresh scratch store)."""
    s = bench.corpus_settings
    figures: dict = {"order": " then ".join(order)}
    for step in order:
        note(f"build: {step} ({len(texts):,} texts), order {figures['order']}")
        if step == "bare":
            figures["bare_s"], figures["bare_cpu_s"] = bare_encode(s, texts)
        else:
            bench_store.discard(s.store)
            index, figures["build_s"], figures["build_cpu_s"] = measured(
                Index.build, bench.corpus.paths, settings=s, cache_dir=None, progress=False)
            figures["save_s"] = timed(index.save, bench.corpus_index)[1]
            figures["passages_built"] = len(index.chunks())
        figures[f"{step}_load_1min"] = round(os.getloadavg()[0], 2)
    figures["ratio"] = figures["build_s"] / figures["bare_s"]
    figures["ratio_with_save"] = (figures["build_s"] + figures["save_s"]) / figures["bare_s"]
    figures["cpu_ratio"] = figures["build_cpu_s"] / figures["bare_cpu_s"]
    return _rounded(figures)


def _rounded(figures: dict) -> dict:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


# --- re-index ---------------------------------------------------------------------------

def open_corpus_index(bench: Bench) -> tuple[Index, float, bool]:
    """The corpus index saved in the work folder (built, with an embedding cache, if needed)."""
    existed = (bench.corpus_index / "manifest.json").exists()
    (index, _), seconds = timed(Index.open, bench.corpus.paths, bench.corpus_index,
                                settings=bench.corpus_settings, cache_dir=bench.cache_dir,
                                progress=False)
    return index, seconds, existed


def run_reindex(bench: Bench) -> dict:
    """Re-open an unchanged corpus; add one document (embedded in full) and save."""
    s = bench.corpus_settings
    index, prepare_s, existed = open_corpus_index(bench)
    reopen, load = [], []
    for _ in range(REOPEN_REPEATS):
        (_, changes), seconds = timed(Index.open, bench.corpus.paths, bench.corpus_index,
                                      settings=s, cache_dir=bench.cache_dir, progress=False)
        reopen.append(seconds)
        load.append(timed(Index.load, bench.corpus_index, settings=s)[1])
    unchanged = len(changes["unchanged"]) == len(index.documents()) \
        and not (changes["added"] or changes["updated"] or changes["removed"])
    fresh = Index.load(bench.corpus_index, settings=s)  # no cache: the new text is embedded
    first = fresh.documents()[0]
    added = corpus_document("bench-added", f"{first.title} (copy)", first.text,
                            source="bench-added")
    _, add_s = timed(fresh.add_documents, [added], progress=False)
    _, save_s = timed(fresh.save, bench.corpus_index)
    texts = embedding_texts([added], s)["texts"]
    embed_s, _ = bare_encode(s, texts)
    fresh.remove(added.id)
    fresh.save(bench.corpus_index)
    return {"corpus": bench.corpus.name, "store": bench.store,
            "documents": len(index.documents()),
            "passages": len(index.chunks()), "prepared_from_saved": existed,
            "prepare_s": round(prepare_s, 2), "reopen_unchanged_s": [round(x, 3) for x in reopen],
            "reopen_all_unchanged": unchanged, "load_s": [round(x, 3) for x in load],
            "add_one": {"texts": len(texts), "add_s": round(add_s, 3),
                        "save_s": round(save_s, 3), "bare_encode_s": round(embed_s, 3)}}


# --- query ------------------------------------------------------------------------------

def run_query(bench: Bench) -> dict:
    """search and ask latency one at a time, then ask throughput with concurrent callers."""
    s = bench.corpus_settings
    index, _, _ = open_corpus_index(bench)
    questions = pick_questions(bench.corpus.questions, bench.queries)
    model = load_model(s.model)
    encode = getattr(model, "encode_query", model.encode)
    embed = [timed(encode, [q], batch_size=1, normalize_embeddings=True, convert_to_numpy=True,
                   show_progress_bar=False)[1] for q in questions]
    figures = {"corpus": bench.corpus.name, "store": bench.store,
               "documents": len(index.documents()),
               "passages": len(index.chunks()), "questions": len(questions),
               "embed_query": latency_ms(embed)}
    for call in ("search", "ask"):
        note(f"query: {call} x {len(questions)}, one at a time")
        fresh = warm_index(bench)
        method = fresh.search if call == "search" else fresh.ask
        figures[call] = latency_ms([timed(method, q)[1] for q in questions])
    figures["concurrent_ask"] = [concurrent_asks(warm_index(bench), questions, threads)
                                 for threads in THREADS]
    figures["embed_query_torch_1_thread"] = one_torch_thread(
        lambda: [timed(encode, [q], batch_size=1, normalize_embeddings=True,
                       convert_to_numpy=True, show_progress_bar=False)[1] for q in questions])
    return figures


def one_torch_thread(run: Callable[[], list[float]]) -> dict | None:
    """Latencies of `run` with torch limited to one intra-op thread (restored after), or
    None when the model does not use torch. On a busy machine a one-query encode split
    over two threads waits for the slower one: this shows how much."""
    if "torch" not in sys.modules:
        return None
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return latency_ms(run()) | {"default_threads": threads}
    finally:
        torch.set_num_threads(threads)


def warm_index(bench: Bench) -> Index:
    """A freshly loaded index (no remembered query vectors), after one warm-up question."""
    index = Index.load(bench.corpus_index, settings=bench.corpus_settings)
    index.ask(WARM_UP_QUESTION)
    return index


def concurrent_asks(index: Index, questions: Sequence[str], threads: int) -> dict:
    note(f"query: ask x {len(questions)} with {threads} threads")

    def one(question: str) -> float:
        return timed(index.ask, question)[1]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        seconds = list(pool.map(one, questions))
    wall = time.perf_counter() - started
    return {"threads": threads, "wall_s": round(wall, 3),
            "questions_per_s": round(len(questions) / wall, 2), **latency_ms(seconds)}


# --- scale ------------------------------------------------------------------------------

def run_scale(bench: Bench) -> dict:
    return bench_scale.run(bench.sizes, settings=bench.settings, workdir=bench.workdir,
                           pool_documents=bench.corpus.pool_documents, queries=bench.queries,
                           progress=note)


RUNNERS: dict[str, Callable[[Bench], dict]] = {
    "build": run_build, "reindex": run_reindex, "query": run_query, "scale": run_scale,
    "startup": lambda bench: bench_startup.run(bench.workdir, settings=bench.settings,
                                               progress=note)}
