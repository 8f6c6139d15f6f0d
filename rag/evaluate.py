"""`briefing eval`: answer and retrieval quality on question files, BEIR sets and SQuAD.

Three kinds of data, one shape of run: read the data, build one index (embeddings come
from the on-disk cache after the first run), then measure each retrieval mode on a view
of that index (`Index.configure`) and collect the figures into a plain dict. The maths
is in `rag.metrics`; `main` is the only function that writes to the terminal.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import entities, metrics
from .answer import Answer
from .errors import BriefingError, NoDocumentsError, QueryError
from .index import DEFAULT_SEEDS, Index
from .load import Document, text_document
from .query import clean_history, clean_query
from .settings import Settings

log = logging.getLogger(__name__)


class EvalDataError(BriefingError, ValueError):
    """An evaluation file or option is missing or malformed; the message says which."""


@dataclass(frozen=True, slots=True)
class Mode:
    """A retrieval mode: fusion weights, and which retriever's passages count in a run."""

    name: str
    weights: dict[str, float]
    retriever: str | None  # the Hit attribute a passage needs, None for both


MODES = {m.name: m for m in (Mode("hybrid", {}, None),
                             Mode("bm25", {"dense_weight": 0.0}, "bm25"),
                             Mode("dense", {"bm25_weight": 0.0}, "dense"))}
FIRST_SEARCH_K = 200
"""Passages fetched per query before pooling to documents; doubled until enough documents."""


# --- reading ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    answer: str | None
    history: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BeirSet:
    name: str
    documents: tuple[Document, ...]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_id: str


@dataclass(frozen=True, slots=True)
class SquadSet:
    titles: tuple[str, ...]
    documents: tuple[Document, ...]
    questions: tuple[SquadQuestion, ...]


def read_jsonl(path: Path) -> Iterator[dict]:
    """The JSON objects of a JSON-lines file, gzipped or not (by the .gz suffix)."""
    for _, row in read_numbered_jsonl(path):
        yield row


def read_numbered_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON-lines file. Raises
    EvalDataError naming the line that is not a JSON object, or a file that is not text."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as error:
                    raise EvalDataError(f"{path}, line {number}: not JSON ({error})") from None
                if not isinstance(row, dict):
                    raise EvalDataError(f"{path}, line {number}: a JSON object ({{...}}) is "
                                        f"expected, got {type(row).__name__}")
                yield number, row
    except UnicodeDecodeError as error:
        raise EvalDataError(f"{path} is not UTF-8 text ({error.reason} at byte "
                            f"{error.start})") from None
    except OSError as error:
        raise EvalDataError(f"cannot read {path}: {error}") from error


def read_questions(path: Path) -> list[Question]:
    """Question lines `{"id"?, "question", "answer": str | null, "history"?: [str]}`."""
    questions = []
    limit = Settings().max_query_chars
    for number, row in read_numbered_jsonl(path):
        where = f"{path}, line {number}"
        question, answer = row.get("question"), row.get("answer")
        if not isinstance(question, str) or not question.strip() or "answer" not in row:
            raise EvalDataError(f"{where}: needs 'question' (text) and 'answer' (text, or "
                                "null when the documents don't answer it)")
        if answer is not None and (not isinstance(answer, str) or not answer.strip()):
            raise EvalDataError(f"{where}: 'answer' must be the answer's text, or null when "
                                f"the documents don't answer it; got {answer!r}")
        history = row.get("history", [])
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise EvalDataError(f"{where}: 'history' must be a list of the earlier questions "
                                f"(text), got {history!r}")
        try:  # as `ask` would refuse it, but naming the line, before the index is built
            clean_query(question, max_chars=limit)
            clean_history(history, max_chars=limit)
        except QueryError as error:
            raise EvalDataError(f"{where}: {error}") from error
        questions.append(Question(id=str(row.get("id", number)), question=question,
                                  answer=answer, history=tuple(history)))
    if not questions:
        raise EvalDataError(f"{path} holds no questions: give one JSON object a line, "
                            '{"question": "...", "answer": "..." or null}')
    return questions


def corpus_document(doc_id: str, title: str, text: str, *, source: str) -> Document:
    """A benchmark document; one without a title keeps an empty title (none is invented)."""
    title = title.strip()
    document = text_document(text if text.strip() else title, doc_id=doc_id, title=title,
                             source=source)
    return document if title else replace(document, title="")


def read_beir(folder: Path, *, split: str) -> BeirSet:
    """A BEIR folder: corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv.

    Only the queries judged in the split are kept, in queries.jsonl order.
    """
    corpus = next((folder / n for n in ("corpus.jsonl", "corpus.jsonl.gz")
                   if (folder / n).exists()), None)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if corpus is None or not (folder / "queries.jsonl").exists():
        raise EvalDataError(f"{folder} is not a BEIR folder: it needs corpus.jsonl (or "
                            "corpus.jsonl.gz), queries.jsonl and qrels/<split>.tsv")
    if not qrels_path.exists():
        splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise EvalDataError(f"{qrels_path} does not exist; the splits here are: "
                            f"{', '.join(splits) or 'none'}")
    documents = tuple(corpus_document(str(row["_id"]), row.get("title") or "",
                                      row.get("text") or "", source=f"{folder.name}/{row['_id']}")
                      for row in read_jsonl(corpus)
                      if (row.get("text") or row.get("title") or "").strip())
    qrels = read_qrels(qrels_path)
    queries = {str(row["_id"]): row["text"] for row in read_jsonl(folder / "queries.jsonl")
               if str(row["_id"]) in qrels}
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise EvalDataError(f"{qrels_path} judges queries missing from queries.jsonl: "
                            f"{', '.join(missing[:5])}")
    return BeirSet(folder.name, documents, queries, qrels)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """`query-id <tab> corpus-id <tab> score` lines after a header row."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            fields = line.rstrip("\n").split("\t")
            if number == 1 and fields[0] == "query-id" or not line.strip():
                continue
            if len(fields) != 3 or not fields[2].lstrip("-").isdigit():
                raise EvalDataError(f"{path}, line {number}: expected 'query-id<tab>corpus-id"
                                    f"<tab>score', got {line.strip()!r}")
            qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    return qrels


def read_squad_articles(path: Path, *, articles: slice = slice(None),
                        numbered: bool = False) -> list:
    """The chosen articles of a SQuAD v1.1 json[.gz] (with their numbers if `numbered`)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as handle:
            data = json.load(handle)["data"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EvalDataError(f"{path} is not a SQuAD v1.1 file ({error})") from error
    chosen = list(enumerate(data))[articles]
    if not chosen:
        raise EvalDataError(f"no article in {articles.start}:{articles.stop}; {path} has "
                            f"{len(data)} articles")
    return chosen if numbered else [article for _, article in chosen]


def read_squad(path: Path, *, articles: slice = slice(None)) -> SquadSet:
    """SQuAD v1.1 json[.gz]: each paragraph of the chosen articles becomes a document."""
    chosen = read_squad_articles(path, articles=articles, numbered=True)
    documents, questions = [], []
    for a, article in chosen:
        title = article["title"].replace("_", " ")
        for p, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"a{a:03d}p{p:03d}"
            documents.append(corpus_document(doc_id, title, paragraph["context"],
                                             source=f"{path.name}#{doc_id}"))
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(x["text"] for x in qa["answers"]))
                questions.append(SquadQuestion(qa["id"], qa["question"], answers, doc_id))
    return SquadSet(tuple(article["title"] for _, article in chosen), tuple(documents),
                    tuple(questions))


def parse_articles(text: str | None) -> slice:
    """'24:48', ':24' or '24:' (Python slice style) as a slice; None means all."""
    if text is None:
        return slice(None)
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, stop = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise EvalDataError(f"--articles takes A:B (e.g. 24:48), got {text!r}") from None
    return slice(start, stop)


def parse_modes(text: str) -> list[Mode]:
    """'hybrid,bm25,dense' as modes, in the order given."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODES]
    if unknown or not names:
        raise EvalDataError(f"unknown mode {(unknown or [text])[0]!r}; choose from "
                            f"{', '.join(MODES)} (comma-separated)")
    return [MODES[n] for n in dict.fromkeys(names)]


# --- indexing and searching -------------------------------------------------------------

def build_index(documents: Sequence[Document] | None, paths: Sequence[Path] | None, *,
                settings: Settings, cache_dir: Path) -> tuple[Index, dict]:
    """An index of `documents`, or of the files under `paths` (None: the seeds).

    Returns it with its timings: model load, then chunking and embedding (cached).
    """
    started = time.perf_counter()
    index = Index.empty(settings=settings, cache_dir=cache_dir)  # loads the model
    loaded = time.perf_counter()
    if documents is None:
        index.add(paths or [DEFAULT_SEEDS])
    else:
        index.add_documents(documents)
    if not index.documents(with_text=False):
        problems = "; ".join(str(p) for p in index.problems[:5]) or "no files found"
        raise NoDocumentsError(f"No document could be indexed ({problems}).")
    built = time.perf_counter()
    index.search("warm-up query")  # the first query pays one-off costs of the libraries
    entities.warm_up()
    return index, {"documents": len(index.documents(with_text=False)), "passages": len(index),
                   "model_seconds": round(loaded - started, 3),
                   "build_seconds": round(built - loaded, 3),
                   "problems": [str(p) for p in index.problems]}


def ranked_documents(view: Index, query: str, *, mode: Mode, depth: int,
                     total: int) -> list[str]:
    """At least `depth` document ids best first (fewer if the index runs out): passages
    pooled to their documents, each scored by its best passage."""
    k = min(FIRST_SEARCH_K, total)
    while True:
        hits = view.search(query, k=k)
        kept = [h for h in hits if mode.retriever is None or getattr(h, mode.retriever)
                is not None]
        ranking = list(metrics.max_pool((h.doc_id, h.score) for h in kept))
        exhausted = len(kept) < len(hits) or k >= total
        if len(ranking) >= depth or exhausted:
            return ranking
        k = min(2 * k, total)


def timed(function: Callable, *args, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def embed_query(index: Index, query: str) -> float:
    """Seconds to embed `query` (plus a 1-passage search); the index then remembers it."""
    return timed(index.search, query, k=1)[1]


def latency(seconds: Sequence[float]) -> dict[str, float | None]:
    """Median and 95th percentile in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": _round(metrics.percentile(ms, 50), 1),
            "p95_ms": _round(metrics.percentile(ms, 95), 1)}


def _progress(done: int, total: int) -> None:
    if done % 100 == 0:
        log.info("evaluated %d of %d queries", done, total)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# --- one function per kind of data ------------------------------------------------------

def judge_answer(answer: Answer, expected: str | None) -> dict:
    """One question's outcome: what was quoted, whether it is right, and why not."""
    top = answer.quotes[0].text if answer.quotes else ""
    record = {"query": answer.query, "abstained": answer.abstained,
              "confidence": round(answer.confidence, 4), "top_quote": top}
    if expected is None:
        record["failure"] = None if answer.abstained else "answered an unanswerable question"
        return record
    in_passages = [metrics.contains_answer(q.hit.text, expected) for q in answer.quotes[:3]]
    record |= {"top_quote_ok": metrics.quote_matches(top, expected),
               "top3_passages_ok": any(in_passages),
               "reciprocal_rank": metrics.reciprocal_rank(in_passages)}
    problems = []
    if answer.abstained:
        problems.append("abstained")
    if not record["top_quote_ok"]:
        problems.append("top quote misses the answer" if record["top3_passages_ok"] else
                        "answer not in the top-3 quotes' passages")
    record["failure"] = "; ".join(problems) or None
    return record


def evaluate_questions(view: Index, questions: Sequence[Question]) -> dict:
    """Top-quote and top-3-passage rates, MRR, abstention and latency of `ask`."""
    records, seconds = [], []
    texts: list[str] = []  # read only once an expected answer is found in no passage
    for q in questions:
        answer, spent = timed(view.ask, q.question, history=list(q.history))
        seconds.append(spent)
        record = judge_answer(answer, q.answer)
        if q.answer is not None and not record["top3_passages_ok"]:
            texts = texts or [metrics.normalize_answer(d.text) for d in view.documents()]
        if q.answer is not None and not record["top3_passages_ok"] and not any(
                metrics.normalize_answer(q.answer) in text for text in texts):
            # Then no answer could be right: the expected text is mistyped, or not these
            # documents' words.
            record["failure"] = "; ".join(filter(None, [
                record["failure"], "the expected answer is in no document (mistyped?)"]))
        records.append({"id": q.id, "question": q.question, "expected": q.answer,
                        **record, "seconds": round(spent, 4)})
    answerable = [r for r in records if r["expected"] is not None]
    rate = lambda key: _round(metrics.mean([float(r[key]) for r in answerable]))  # noqa: E731
    return {"questions": len(records), "answerable": len(answerable),
            "top_quote": rate("top_quote_ok"),
            "answered_right": _round(metrics.mean(
                [float(r["top_quote_ok"] and not r["abstained"]) for r in answerable])),
            "top3_passages": rate("top3_passages_ok"), "mrr": rate("reciprocal_rank"),
            "abstention": metrics.abstention_scores([r["expected"] is None for r in records],
                                                    [r["abstained"] for r in records]),
            "ask": latency(seconds), "seconds": round(sum(seconds), 2), "records": records}


def evaluate_beir(index: Index, data: BeirSet, *, modes: Sequence[Mode],
                  limit: int | None = None) -> dict:
    """nDCG@10, Recall@100 and MRR@10 at document level (pytrec_eval), one entry per mode.

    Each query is embedded once, timed on its own (`embed`), before the modes search
    with the remembered vector: their timings are retrieval alone.
    """
    query_ids = list(data.queries)[:limit]
    views = {m.name: index.configure(**m.weights) for m in modes}
    total = len(index)
    runs: dict[str, dict[str, list[str]]] = {m.name: {} for m in modes}
    seconds: dict[str, list[float]] = {m.name: [] for m in modes}
    embed = []
    for done, qid in enumerate(query_ids):
        _progress(done, len(query_ids))
        embed.append(embed_query(index, data.queries[qid]))
        for m in modes:
            runs[m.name][qid], spent = timed(ranked_documents, views[m.name], data.queries[qid],
                                             mode=m, depth=100, total=total)
            seconds[m.name].append(spent)
    qrels = {q: data.qrels[q] for q in query_ids}
    return {"queries": len(query_ids), "embed": latency(embed),
            "modes": {m.name: beir_figures(qrels, runs[m.name], seconds[m.name])
                      for m in modes}}


def beir_figures(qrels: dict[str, dict[str, int]], run: dict[str, list[str]],
                 seconds: Sequence[float]) -> dict:
    per_query = metrics.beir_per_query(qrels, run)
    means = metrics.beir_means(per_query)
    return {"queries": len(qrels), **{m: _round(v) for m, v in means.items()},
            "search": latency(seconds), "seconds": round(sum(seconds), 2),
            "per_query": {q: {m: round(v, 4) for m, v in s.items()}
                          | {"top10": run.get(q, [])[:10]} for q, s in per_query.items()}}


def evaluate_squad(index: Index, data: SquadSet, *, modes: Sequence[Mode],
                   limit: int | None = None, held_out: bool = False) -> dict:
    """Gold paragraph hit@1, hit@5 and MRR@10 by search, and any answer string inside
    the top quote of `ask`, one entry per mode (timed as in `evaluate_beir`).

    With `held_out`, each question is asked again with its own paragraph left out of the
    search: where no other paragraph holds an answer string, the documents no longer
    answer it, and the right reply is to abstain. These are near-topic unanswerable
    questions (the rest of the article is still there), the hard kind."""
    questions = data.questions[:limit]
    views = {m.name: index.configure(**m.weights) for m in modes}
    total = len(index)
    answered_elsewhere = _answered_elsewhere(data, questions) if held_out else {}
    doc_ids = [d.id for d in data.documents]
    records: dict[str, list[dict]] = {m.name: [] for m in modes}
    embed = []
    for done, q in enumerate(questions):
        _progress(done, len(questions))
        embed.append(embed_query(index, q.question))
        for m in modes:
            ranking, search_s = timed(ranked_documents, views[m.name], q.question, mode=m,
                                      depth=10, total=total)
            answer, ask_s = timed(views[m.name].ask, q.question)
            top = answer.quotes[0].text if answer.quotes else ""
            record = {
                "id": q.id, "gold": q.doc_id,
                "gold_rank": ranking.index(q.doc_id) + 1 if q.doc_id in ranking else None,
                "abstained": answer.abstained, "top_quote": top,
                "top_quote_ok": any(metrics.contains_answer(top, a) for a in q.answers),
                "search_seconds": round(search_s, 4), "ask_seconds": round(ask_s, 4)}
            if held_out:
                record["held_out"] = None if answered_elsewhere[q.id] or len(doc_ids) < 2 \
                    else _ask_without(views[m.name], q, doc_ids)
            records[m.name].append(record)
    return {"questions": len(questions), "embed": latency(embed),
            "modes": {name: squad_figures(rows) for name, rows in records.items()}}


def _answered_elsewhere(data: SquadSet, questions: Sequence[SquadQuestion]) -> dict[str, bool]:
    """Per question, whether a paragraph other than its own holds one of its answers."""
    texts = {d.id: metrics.normalize_answer(d.text) for d in data.documents}
    answered = {}
    for q in questions:
        needles = [n for n in map(metrics.normalize_answer, q.answers) if n]
        answered[q.id] = any(n in text for doc_id, text in texts.items()
                             if doc_id != q.doc_id for n in needles)
    return answered


def _ask_without(view: Index, q: SquadQuestion, doc_ids: Sequence[str]) -> dict:
    """`q` asked of every paragraph but its own: whether the answer abstained, and the
    paragraph of its top quote."""
    answer = view.ask(q.question, doc_ids=[d for d in doc_ids if d != q.doc_id])
    return {"abstained": answer.abstained,
            "top_doc": answer.quotes[0].doc_id if answer.quotes else None}


def squad_figures(records: Sequence[dict]) -> dict:
    ranks = [r["gold_rank"] for r in records]
    rate = lambda flags: _round(metrics.mean([float(f) for f in flags]))  # noqa: E731
    search_s = [r["search_seconds"] for r in records]
    ask_s = [r["ask_seconds"] for r in records]
    return {"questions": len(records),
            "hit@1": rate(r == 1 for r in ranks),
            "hit@5": rate(r is not None and r <= 5 for r in ranks),
            "mrr@10": _round(metrics.mean([1 / r if r and r <= 10 else 0.0 for r in ranks])),
            "top_quote": rate(r["top_quote_ok"] for r in records),
            "abstained": rate(r["abstained"] for r in records),
            **_held_out_figures(records),
            "search": latency(search_s), "ask": latency(ask_s),
            "seconds": round(sum(search_s) + sum(ask_s), 2), "records": list(records)}


def _held_out_figures(records: Sequence[dict]) -> dict:
    """With --held-out: of the questions no other paragraph answers, how many there are and
    the share abstained on when asked without their own paragraph."""
    if not records or "held_out" not in records[0]:
        return {}
    asked = [r["held_out"] for r in records if r["held_out"] is not None]
    return {"held_out_questions": len(asked),
            "held_out_abstained": _round(metrics.mean([float(a["abstained"]) for a in asked]))}


# --- the command ------------------------------------------------------------------------

def run(args) -> dict:
    """Everything `briefing eval` measures for parsed arguments, as JSON-ready data."""
    from . import bench_store  # it imports this module's table formatting

    given = {"model": args.model, "store": getattr(args, "store", None),
             "reader": getattr(args, "reader", False)}
    settings = Settings(**{k: v for k, v in given.items() if v})
    cache_dir = Path(args.index_dir).parent / "cache"
    modes = parse_modes(args.modes)
    given = [name for name, value in (("QUESTIONS", args.questions), ("--beir", args.beir),
                                      ("--squad", args.squad)) if value]
    if len(given) != 1:
        raise EvalDataError("give exactly one of QUESTIONS.jsonl, --beir DIR or --squad FILE"
                            + (f" (got {', '.join(given)})" if given else ""))
    if args.limit is not None and args.limit <= 0:
        raise EvalDataError(f"--limit must be greater than 0, got {args.limit}")
    if args.held_out and not args.squad:
        raise EvalDataError("--held-out goes with --squad: it leaves each question's own "
                            "paragraph out")
    if args.docs and not args.questions:
        raise EvalDataError("--docs goes with a question file; BEIR and SQuAD bring their own "
                            "documents")
    docs = args.docs or (questions_docs_of(args.index_dir) if args.questions else None)
    from .cli import DEFAULT_HOME

    if Path(args.index_dir) != DEFAULT_HOME / "index" and (args.docs or not args.questions):
        # An outside review: "--docs D --index X" wrote nothing to X, and said nothing.
        log.warning("the documents are indexed afresh for the evaluation, in memory: the "
                    "index in %s is neither read nor written (the embedding cache beside it, %s, "
                    "is used)", args.index_dir, cache_dir)
    # On Milvus the benchmark's documents go into a scratch store beside the one named,
    # emptied before and deleted after: a user's own collections are never touched.
    store = bench_store.scratch(bench_store.check(settings.store), "eval")
    settings = replace(settings, store=store)
    common = {"modes": modes, "limit": args.limit, "settings": settings,
              "cache_dir": cache_dir}
    bench_store.discard(store)
    try:
        if args.beir:
            summary = run_beir(args.beir, split=args.split, **common)
        elif args.squad:
            summary = run_squad(args.squad, articles=args.articles,
                                held_out=args.held_out, **common)
        else:
            summary = run_questions(args.questions, docs=docs, **common)
    finally:
        bench_store.discard(store)
    summary["store"] = bench_store.label(settings.store)
    summary["reader"] = settings.reader
    # Timings are wall clock: the machine's load says how far to trust them.
    return summary | {"machine": {"cpus": os.cpu_count(),
                                  "load_average": [round(x, 2) for x in os.getloadavg()]}}


def questions_docs_of(index_dir: str | Path) -> list[Path] | None:
    """The documents a question file is asked of without --docs: those the index named by
    --index mirrors (a fresh index of them is built and measured), or the seeds for the
    default folder. A folder given with --index that holds no index is refused."""
    from .cli import DEFAULT_HOME
    from .index import saved_sources

    if Path(index_dir) == DEFAULT_HOME / "index":
        return None
    sources = saved_sources(index_dir)
    if not sources:
        raise EvalDataError(f"No saved index in {index_dir}. Build one: briefing index PATHS "
                            f"--index {index_dir}, or give the documents with --docs.")
    return [Path(p) for p in sources]


def run_questions(path: Path, *, docs: Sequence[Path] | None, modes: Sequence[Mode],
                  limit: int | None, settings: Settings, cache_dir: Path) -> dict:
    """A question file against `docs` (default: the seeds), one row per mode."""
    questions = read_questions(path)[:limit]
    index, built = build_index(None, docs, settings=settings, cache_dir=cache_dir)
    return {"kind": "questions", "source": str(path),
            "docs": [str(p) for p in docs] if docs else "seeds", "index": built,
            "settings": index.settings.to_dict(),
            "modes": {m.name: evaluate_questions(index.configure(**m.weights), questions)
                      for m in modes}}


def run_beir(folder: Path, *, split: str, modes: Sequence[Mode], limit: int | None,
             settings: Settings, cache_dir: Path) -> dict:
    """A BEIR set's split, one row per mode, all from one index."""
    data = read_beir(folder, split=split)
    # BEIR ranks documents by their passages: sentence vectors (only quotes use them) would
    # more than double the indexing time and change no figure.
    settings = replace(settings, embed_sentences=False)
    index, built = build_index(data.documents, None, settings=settings, cache_dir=cache_dir)
    return {"kind": "beir", "source": str(folder), "split": split, "index": built,
            "settings": index.settings.to_dict(),
            **evaluate_beir(index, data, modes=modes, limit=limit)}


def run_squad(path: Path, *, articles: str | None, modes: Sequence[Mode], limit: int | None,
              settings: Settings, cache_dir: Path, held_out: bool = False) -> dict:
    """SQuAD paragraphs of the chosen articles, one row per mode, all from one index."""
    data = read_squad(path, articles=parse_articles(articles))
    index, built = build_index(data.documents, None, settings=settings, cache_dir=cache_dir)
    return {"kind": "squad", "source": str(path), "articles": articles or "all",
            "titles": list(data.titles), "index": built, "settings": index.settings.to_dict(),
            **evaluate_squad(index, data, modes=modes, limit=limit, held_out=held_out)}


def main(args) -> int:
    """`briefing eval`: print the report, and write the figures as JSON when asked."""
    if args.json_out:
        check_writable(Path(args.json_out))
    summary = run(args)
    print(format_report(summary))
    if args.json_out:
        try:
            Path(args.json_out).write_text(
                json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as error:
            raise EvalDataError(f"cannot write {args.json_out}: {error.strerror or error}") \
                from error
    return 0


def check_writable(path: Path) -> None:
    """Refuse, before a long run, a --json path whose figures could not be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EvalDataError(f"cannot write {path}: {error.strerror or error}") from error
    if path.is_dir():
        raise EvalDataError(f"cannot write {path}: it is a folder; give a file name")
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise EvalDataError(f"cannot write {path}: {error.strerror or error}") from error
    if not existed:
        path.unlink()


# --- the report -------------------------------------------------------------------------

COLUMNS = {
    "questions": [("top quote", "top_quote"), ("answered right", "answered_right"),
                  ("top-3 passages", "top3_passages"), ("MRR", "mrr"),
                  ("abstain P", "abstention.precision"), ("abstain R", "abstention.recall"),
                  ("wrong abstain", "abstention.wrong_abstention_rate"),
                  ("ask p50 ms", "ask.p50_ms"), ("ask p95 ms", "ask.p95_ms")],
    "beir": [("nDCG@10", "ndcg@10"), ("Recall@100", "recall@100"), ("MRR@10", "mrr@10"),
             ("search p50 ms", "search.p50_ms"), ("search p95 ms", "search.p95_ms"),
             ("seconds", "seconds")],
    "squad": [("hit@1", "hit@1"), ("hit@5", "hit@5"), ("MRR@10", "mrr@10"),
              ("top quote", "top_quote"), ("abstained", "abstained"),
              ("search p50 ms", "search.p50_ms"), ("ask p50 ms", "ask.p50_ms"),
              ("ask p95 ms", "ask.p95_ms"), ("seconds", "seconds")],
}


HELD_OUT_COLUMNS = [("held out", "held_out_questions"),
                    ("abstained held out", "held_out_abstained")]
"""SQuAD with --held-out: questions asked without their paragraph, and the share abstained."""


def first_mode(summary: dict) -> dict:
    return next(iter(summary["modes"].values()))


def format_report(summary: dict) -> str:
    """The summary as a heading, one table row per mode, and (for questions) the failures."""
    built = summary["index"]
    lines = [format_heading(summary),
             f"Index: {built['documents']:,} documents, {built['passages']:,} passages; model "
             f"loaded in {built['model_seconds']:.1f} s, indexed in {built['build_seconds']:.1f} s",
             *format_timing_notes(summary), ""]
    columns = COLUMNS[summary["kind"]]
    if "held_out_questions" in first_mode(summary):
        columns = [*columns[:5], *HELD_OUT_COLUMNS, *columns[5:]]
    rows = [[mode] + [_cell(_lookup(figures, key), key) for _, key in columns]
            for mode, figures in summary["modes"].items()]
    lines.append(format_table(["mode"] + [header for header, _ in columns], rows))
    if summary["kind"] == "questions":
        for mode, figures in summary["modes"].items():
            lines += ["", *format_failures(mode, figures["records"])]
    return "\n".join(lines)


def format_heading(summary: dict) -> str:
    first = first_mode(summary)
    source, kind = summary["source"], summary["kind"]
    store = f" (store: {summary['store']})" if summary.get("store", "FAISS") != "FAISS" else ""
    if summary.get("reader"):
        store += " (with the reader)"
    if kind == "questions":
        return f"{first['questions']} questions from {source} on {summary['docs']}{store}"
    if kind == "beir":
        return f"BEIR {source}, split {summary['split']}: {first['queries']} queries{store}"
    return (f"SQuAD {source}, articles {summary['articles']}: {first['questions']} "
            f"questions{store}")


def format_timing_notes(summary: dict) -> list[str]:
    notes = []
    if "embed" in summary:
        embed = summary["embed"]
        notes.append(f"Query embedding: p50 {_cell(embed['p50_ms'], 'ms')} ms, p95 "
                     f"{_cell(embed['p95_ms'], 'ms')} ms, once per query; the times below "
                     "reuse the vector (retrieval and answering alone)")
    elif len(summary["modes"]) > 1:
        notes.append("Ask times of the first mode include query embedding; later modes reuse "
                     "the vectors")
    machine = summary.get("machine")
    if machine:
        load = "/".join(f"{x:.1f}" for x in machine["load_average"])
        notes.append(f"Machine: {machine['cpus']} CPUs, load average {load} (1/5/15 min); "
                     "times are wall clock")
    return notes


def format_failures(mode: str, records: Sequence[dict]) -> list[str]:
    failed = [r for r in records if r["failure"]]
    lines = [f"Failures ({mode}): {len(failed)} of {len(records)}"]
    for r in failed:
        quote = r["top_quote"] if len(r["top_quote"]) <= 160 else r["top_quote"][:157] + "..."
        lines += [f"  {r['id']}  {r['question']}",
                  f"      why:      {r['failure']} (confidence {r['confidence']:.2f})",
                  f"      expected: {r['expected'] if r['expected'] is not None else '(none)'}",
                  f"      top quote: {quote or '(none)'}"]
        if r["query"] != r["question"]:
            lines.append(f"      searched: {r['query']}")
    return lines


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first left-aligned, the rest right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _lookup(figures: dict, key: str):
    for part in key.split("."):
        figures = figures.get(part) if isinstance(figures, dict) else None
    return figures


def _cell(value, key: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        timing = key.endswith(("ms", "seconds"))
        return f"{value:.1f}" if timing else f"{value:.3f}"
    return str(value)
