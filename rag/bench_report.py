"""`briefing bench`'s figures and tables: pure functions of the result dicts."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from . import metrics
from .errors import BriefingError
from .evaluate import format_table

TARGETS = (
    ("ask p50 at 100k passages", 100_000, ("serve", "ask", "p50_ms"), 30.0, "ms"),
    ("ask p50 at 1M passages", 1_000_000, ("serve", "ask", "p50_ms"), 60.0, "ms"),
    ("peak RSS serving 1M passages", 1_000_000, ("serve", "serve_peak_rss_mb"), 3072.0, "MB"),
    ("peak RSS building 1M passages (the bench's own copy of the documents included)",
     1_000_000, ("build", "build_peak_rss_mb"), 3072.0, "MB"),
    ("reopen at 100k passages", 100_000, ("serve", "reopen_s"), 5.0, "s"),
)
"""What the store rework aims at (lower is better); recall is checked on its own."""
RECALL_TARGET = 0.98


class BenchError(BriefingError, ValueError):
    """A bench option or input is unusable; the message says which and what to give."""


def latency_ms(seconds: Sequence[float]) -> dict:
    """Count, median, 95th percentile, mean and maximum, in milliseconds (2 decimals)."""
    ms = [s * 1000.0 for s in seconds]
    if not ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "mean_ms": None, "max_ms": None}
    return {"n": len(ms), "p50_ms": round(metrics.percentile(ms, 50), 2),
            "p95_ms": round(metrics.percentile(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2), "max_ms": round(max(ms), 2)}


# --- tables -----------------------------------------------------------------------------

def format_header(results: dict) -> str:
    m = results["machine"]
    load = "/".join(f"{x:.1f}" for x in m["load_average"])
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    git = m["git"]
    dirty = f"; uncommitted: {', '.join(git['uncommitted'])}" if git["uncommitted"] else ""
    return "\n".join([
        f"Briefing bench, {results['started']}",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; load average {load}"
        " (1/5/15 min) at start. The CPU is shared with other work: figures are noisy.",
        f"Software: Python {m['python']}, {versions}",
        f"Code: commit {git['commit']}, rag/store.py last changed in {git['store_commit']}{dirty}",
        f"Model: {results['model']}. Corpus: {results['corpus']}. Work folder: "
        f"{results['workdir']}",
        f"Store: {results.get('store_detail', 'FAISS')}"])


def format_build(b: dict) -> str:
    rows = [[r["order"], _num(r["bare_s"]), _num(r["build_s"]), _num(r["save_s"]),
             f"{r['ratio']:.3f}", f"{r['ratio_with_save']:.3f}",
             f"{_num(r.get('bare_cpu_s'))} / {_num(r.get('build_cpu_s'))}",
             _num(r.get("cpu_ratio")),
             f"{_num(r.get('bare_load_1min'))} / {_num(r.get('pipeline_load_1min'))}"]
            for r in b["rounds"]]
    overhead = (b["ratio_median"] - 1) * 100
    cpu = b.get("cpu_ratio_median")
    return "\n".join([
        f"BUILD: {b['corpus']}, store {b.get('store', 'FAISS')}: {b['documents']:,} documents, "
        f"{b['passages']:,} passages, "
        f"{b['sentences']:,} sentences, {b['texts_embedded']:,} distinct texts embedded, "
        f"{b['characters']:,} characters; batch size {b['batch_size']}; no embedding cache; "
        f"model loaded in {b['model_load_s']} s",
        format_table(["order", "bare encode s", "Index.build s", "save s", "build/bare",
                      "(build+save)/bare", "CPU s bare / build", "CPU build/bare",
                      "load bare / build"], rows),
        f"Fastest build: {b['chunks_per_s']:,} passages/s, {b['characters_per_s']:,.0f} "
        f"characters/s. Median build/bare {b['ratio_median']:.3f} in wall time "
        f"({overhead:+.1f}%)" + (f", {cpu:.3f} in CPU time" if cpu is not None else "")
        + (". Save builds FAISS + BM25 and writes the files"
           if b.get("store", "FAISS") == "FAISS" else
           ". Save writes the index folder: passages, vectors and BM25 are in Milvus already")
        + ". 'load' is the 1-minute load "
        "average after each step: above the core count, wall times are mostly waiting.",
        f"Section wall time {b['wall_s']} s."])


def format_reindex(r: dict) -> str:
    add = r["add_one"]
    rows = [["Index.open, unchanged corpus", " / ".join(map(_num, r["reopen_unchanged_s"]))],
            ["  of it, Index.load alone", " / ".join(map(_num, r["load_s"]))],
            [f"add one document ({add['texts']} texts embedded)", _num(add["add_s"])],
            ["save after adding it", _num(add["save_s"])],
            ["bare encode of the same texts", _num(add["bare_encode_s"])]]
    unchanged = "all documents unchanged" if r["reopen_all_unchanged"] else \
        "WARNING: the re-open found changes"
    return "\n".join([
        f"RE-INDEX: {r['corpus']}, store {r.get('store', 'FAISS')}: {r['documents']:,} "
        f"documents, {r['passages']:,} passages "
        f"({unchanged}; prepared in {r['prepare_s']} s, "
        f"{'from the saved index' if r['prepared_from_saved'] else 'built with the cache'})",
        format_table(["step", "seconds"], rows),
        "Adding one document at 10k-1M passages: see the scale table.",
        f"Section wall time {r['wall_s']} s."])


def format_query(q: dict) -> str:
    rows = [[name, *_latency_cells(q[key])] for name, key in
            (("embed query only", "embed_query"), ("search", "search"), ("ask", "ask"),
             ("embed query, torch 1 thread", "embed_query_torch_1_thread")) if q.get(key)]
    threads = [[c["threads"], f"{c['questions_per_s']:.2f}", _num(c["wall_s"]),
                _num(c["p50_ms"]), _num(c["p95_ms"])] for c in q["concurrent_ask"]]
    return "\n".join([
        f"QUERY: {q['corpus']}, store {q.get('store', 'FAISS')}: {q['documents']:,} documents, "
        f"{q['passages']:,} passages; "
        f"{q['questions']} distinct questions, model loaded, a freshly loaded index per row "
        "(every question is embedded)",
        format_table(["call, one at a time", "n", "p50 ms", "p95 ms", "mean ms", "max ms"],
                     rows),
        "",
        format_table(["ask, threads", "questions/s", "wall s", "p50 ms", "p95 ms"], threads),
        "One at a time runs on the main thread; 'threads' run in a thread pool (1 = one "
        "worker thread). Torch's intra-op thread count applies per calling thread.",
        f"Section wall time {q['wall_s']} s."])


def format_scale(s: dict) -> str:
    rows = [scale_row(entry) for entry in s["sizes"]]
    failures = [f"  {e['size']:,} {phase}: {e[phase]['error']}" for e in s["sizes"]
                for phase in ("build", "serve") if "error" in e[phase]]
    return "\n".join([
        f"SCALE, store {s.get('store', 'FAISS')}: synthetic corpora. Vectors are SYNTHESISED: "
        f"each mixes 4 of {s['pool_sentences']:,}"
        f" real sentence embeddings of the model (pool embedded in {s['pool_embed_s']} s; 0 = "
        "cached); texts recombine those real sentences; documents, chunking, BM25, records, "
        "save and load go through the real code ('add s' is Index.add_documents, 'save s' "
        "Index.save, which builds FAISS and BM25; 'reopen s' is Index.load in a fresh "
        "process after importing faiss and bm25s; 'add 1 s', '1st search s' and the last "
        "'save s': one more document added to the saved index, the first search after it, "
        "and saving again). Query vectors are exact pool embeddings "
        f"(~0 ms to embed), so latencies are retrieval and answering alone. "
        f"{s['questions']} questions; each size in fresh processes under a "
        f"{s['memory_limit_gib']:.0f} GiB address-space limit; added "
        f"{s['add_batch']:,} passages per add_documents call"
        + ("; sentences embedded when a question needs them (embed_sentences=False), as a "
           "large corpus should be indexed." if s.get("embed_sentences") is False else "."),
        format_table(["passages", "docs", "add s", "save s", "disk MB", "build RSS MB",
                      "reopen s", "serve RSS MB", "search p50/p95", "ask p50/p95",
                      "dense p50/p95", "dense 1 thread", "recall@10", "add 1 s",
                      "1st search s", "save s"],
                     rows),
        *(["Did not finish:", *failures] if failures else []),
        *format_store_notes(s),
        *format_code(s),
        *format_targets(s),
        f"Section wall time {s['wall_s']} s."])


def scale_row(entry: dict) -> list[str]:
    b, v = entry["build"], entry["serve"]
    passages = b.get("passages")
    return [f"{entry['size']:,}" + ("" if passages in (None, entry["size"])
                                    else f" ({passages:,})"),
            _num(b.get("documents")), _num(b.get("add_s")), _num(b.get("save_s")),
            _num(b.get("disk_mb")),
            _rss(b.get("build_peak_rss_mb", b.get("peak_rss_mb")), b.get("server_peak_rss_mb")),
            _num(v.get("reopen_s")),
            _rss(v.get("serve_peak_rss_mb", v.get("peak_rss_mb")), v.get("server_peak_rss_mb")),
            _pair(v.get("search")), _pair(v.get("ask")), _pair(v.get("dense")),
            _pair(v.get("dense_1_thread")), _num(v.get("recall@10")), _num(v.get("add_one_s")),
            _num(v.get("search_after_add_s")), _num(v.get("save_after_add_s"))]


def format_store_notes(s: dict) -> list[str]:
    """What the scale columns mean on a store other than FAISS (none for FAISS)."""
    store = s.get("store", "FAISS")
    if store == "FAISS":
        return []
    ingest = "; ".join(f"{e['size']:,}: {_num(e['build'].get('add_passages_per_s'))}"
                       for e in s["sizes"])
    indexes = sorted({e["serve"]["store"] for e in s["sizes"] if e["serve"].get("store")})
    lite = store == "Milvus Lite"
    return [
        f"On {store}, each size in a fresh store of its own, deleted after:",
        f"  ingest ('add s', Index.add_documents writing into the store), passages/s: {ingest}",
        "  'save s' writes the index folder only: the passages, vectors and BM25 index are "
        "in Milvus already",
        "  'disk MB': the index folder plus the Milvus Lite file" if lite else
        "  'disk MB': n/a, the data is on the Milvus server (not measurable from here)",
        "  RSS 'a+b': the bench process + the Milvus Lite server process (its peak over the "
        "whole child); 'reopen s' includes starting that server (Milvus Lite waits 0.5 s "
        "to see it start)" if lite else
        "  RSS: the bench process only; the Milvus server's memory is not counted",
        "  'dense 1 thread': n/a, it limits FAISS's OpenMP threads, which Milvus does not use",
        f"  recall@10: the store's own dense search ({', '.join(indexes) or '?'}) against "
        "exact brute force over the same vectors"]


def format_code(s: dict) -> list[str]:
    """The code each child ran: the store may change between sizes of one run."""
    seen = {}
    for entry in s["sizes"]:
        for phase in ("build", "serve"):
            code = entry[phase].get("code")
            if code:
                dirty = f", uncommitted: {', '.join(code['uncommitted'])}" \
                    if code["uncommitted"] else ""
                seen.setdefault(f"commit {code['commit']}{dirty}", []).append(
                    f"{entry['size']:,} {phase}")
    if len(seen) <= 1:
        return [f"Code: {next(iter(seen))} throughout."] if seen else []
    return ["Code changed during the run:", *(f"  {k}: {', '.join(v)}" for k, v in seen.items())]


def format_targets(s: dict) -> list[str]:
    """One line per rework target that this run measured: the figure and the verdict."""
    by_size = {e["size"]: e for e in s["sizes"]}
    lines = ["Targets of the store rework:"]
    for label, size, path, limit, unit in TARGETS:
        if size not in by_size:
            continue
        value = _dig(by_size[size], path)
        if value is None:
            lines.append(f"  {label}: not measured (did not finish); target < {limit:g} {unit}")
            continue
        verdict = "met" if value < limit else f"MISSED by {value / limit:.1f}x"
        lines.append(f"  {label}: {value:g} {unit}, target < {limit:g} {unit}: {verdict}")
    for entry in s["sizes"]:
        recall = entry["serve"].get("recall@10")
        if recall is not None:
            verdict = "met" if recall >= RECALL_TARGET else "MISSED"
            lines.append(f"  recall@10 at {entry['size']:,}: {recall:.4f} "
                         f"({entry['serve'].get('store', '?')}), target >= {RECALL_TARGET}: "
                         f"{verdict}")
    return lines if len(lines) > 1 else []


def format_startup(s: dict) -> str:
    rows = [[c["case"], _num(c["ready_median_s"]), _num(c["ready_min_s"]),
             " / ".join(_num(r["ready_s"]) if r["ready_s"] is not None else f"failed "
                        f"({r['returncode']})" for r in c["runs"])] for c in s["cases"]]
    return "\n".join([
        f"START-UP, store {s.get('store', 'FAISS')}: wall seconds from command to answer "
        f"printed: briefing ask \"{s['question']}\" --index DIR ({s['repeats']} runs each)",
        format_table(["case", "median s", "min s", "runs"], rows),
        *_startup_beyond_imports(s["cases"]),
        f"Section wall time {s['wall_s']} s."])


def _startup_beyond_imports(cases: list[dict]) -> list[str]:
    """What Briefing adds to the imports it cannot avoid, as medians."""
    medians = {c["case"].split(" (")[0]: c["ready_median_s"] for c in cases}
    floor = medians.get("python -c 'import sentence_transformers'")
    saved = medians.get("ask, saved index")
    if floor is None or saved is None:
        return []
    noise = " (below zero: run-to-run noise is larger than Briefing's own share)" \
        if saved < floor else ""
    return [f"Beyond importing sentence_transformers: {_num(saved - floor)} s of "
            f"{_num(saved)} s (loading the model and the index, answering){noise}"]


def _latency_cells(figures: dict) -> list[str]:
    return [str(figures["n"]), *(_num(figures[k]) for k in ("p50_ms", "p95_ms", "mean_ms",
                                                           "max_ms"))]


def _rss(process, server) -> str:
    """Peak RSS in MB: the process alone, or process+server when a store server ran."""
    return _num(process) if server is None else f"{_num(process)}+{_num(server)}"


def _pair(figures: dict | None) -> str:
    if not figures:
        return "n/a"
    return f"{_num(figures['p50_ms'])}/{_num(figures['p95_ms'])}"


def _num(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def _dig(figures: dict, path: Sequence[str]):
    for key in path:
        figures = figures.get(key) if isinstance(figures, dict) else None
    return figures


FORMATTERS = {"build": format_build, "reindex": format_reindex, "query": format_query,
              "scale": format_scale, "startup": format_startup}
