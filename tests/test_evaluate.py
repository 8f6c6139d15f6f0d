"""Tests of `briefing eval`: the metrics by hand, the readers on tiny fixtures, and one
end-to-end run of each kind with the real model."""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag import evaluate, metrics
from rag.answer import Answer, Quote
from rag.cli import build_parser
from rag.cli import main as cli_main
from rag.retrieve import Hit

DATA = Path(__file__).parent / "data" / "eval"


# --- answer matching --------------------------------------------------------------------

def test_normalize_answer_unifies_quotes_space_case_and_edge_punctuation():
    assert metrics.normalize_answer("  It’s “all”\n up to  Kim Jong Un. ") == \
        "it's \"all\" up to kim jong un"


def test_quote_matches_when_the_answer_lies_inside_the_quote():
    quote = ("Signed by Russian President Vladimir Putin and North Korean leader Kim Jong Un, "
             "the pact gave Pyongyang security assurances.")
    assert metrics.quote_matches(quote, "signed by Russian President Vladimir Putin and North "
                                        "Korean leader Kim Jong Un")
    assert metrics.quote_matches("It’s all up to   interpretation, negotiation.",
                                 "it's all up to interpretation")
    assert not metrics.quote_matches(quote, "Kim Jong Un and Putin")


def test_quote_matches_when_the_quote_covers_at_least_half_of_the_answer():
    # "aaaa bbb" has 8 characters: "aaaa" covers 4/8 = 0.5 (counted), "aaa" 3/8 (not).
    assert metrics.quote_matches("Aaaa.", "aaaa bbb")
    assert not metrics.quote_matches("aaa", "aaaa bbb")
    # 34 of 43 characters (0.79): counted; 19 of 43 (0.44): too short.
    answer = "the pact gave Pyongyang security assurances"
    assert len(answer) == 43
    assert metrics.quote_matches("Gave Pyongyang security assurances.", answer)
    assert not metrics.quote_matches("Security assurances.", answer)
    assert metrics.quote_matches("security assurances", answer, min_cover=0.4)


def test_quote_matches_never_on_empty_text():
    assert not metrics.quote_matches("", "anything")
    assert not metrics.quote_matches("...", "anything")
    assert not metrics.quote_matches("Some quote.", "")


def test_contains_answer():
    assert metrics.contains_answer("The treaty was  described as TROUBLING by Seoul.",
                                   "described the treaty as troubling") is False
    assert metrics.contains_answer("The treaty was  described as TROUBLING by Seoul.",
                                   "described as troubling") is True
    assert metrics.contains_answer("Any passage.", "  ") is False


def test_reciprocal_rank():
    assert metrics.reciprocal_rank([False, False, True, True]) == 1 / 3
    assert metrics.reciprocal_rank([True]) == 1.0
    assert metrics.reciprocal_rank([False, False]) == 0.0
    assert metrics.reciprocal_rank([]) == 0.0


def test_mean_and_percentile():
    assert metrics.mean([1.0, 0.0, 0.5]) == 0.5
    assert metrics.mean([]) is None
    # sorted [1, 2, 3, 4]: p50 at position 1.5 -> 2.5; p95 at 2.85 -> 3 + 0.85 = 3.85
    assert metrics.percentile([4, 1, 3, 2], 50) == 2.5
    assert metrics.percentile([4, 1, 3, 2], 95) == pytest.approx(3.85, abs=1e-12)
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.percentile([], 50) is None
    values = [0.3, 12.0, 4.5, 4.5, 9.1, 0.01, 2.0]
    for q in (0, 10, 50, 90, 95, 100):  # NumPy's default method is the oracle
        assert metrics.percentile(values, q) == pytest.approx(float(np.percentile(values, q)),
                                                              abs=1e-12)


def test_abstention_scores_count_abstaining_as_the_positive_class():
    should = [True, True, False, False, False]
    got = [True, False, True, False, False]
    # tp: q1; fn: q2 answered though unanswerable; fp: q3 abstained though answerable; tn: q4, q5
    assert metrics.abstention_scores(should, got) == {
        "tp": 1, "fp": 1, "fn": 1, "tn": 2, "precision": 0.5, "recall": 0.5,
        "wrong_abstention_rate": 1 / 3}


def test_abstention_scores_are_none_without_a_denominator():
    scores = metrics.abstention_scores([False, False], [False, False])
    assert scores == {"tp": 0, "fp": 0, "fn": 0, "tn": 2, "precision": None, "recall": None,
                      "wrong_abstention_rate": 0.0}
    with pytest.raises(ValueError):
        metrics.abstention_scores([True], [True, False])


# --- document-level runs and pytrec_eval ------------------------------------------------

def test_max_pool_keeps_each_documents_best_passage_and_first_seen_order_on_ties():
    pooled = metrics.max_pool([("d1", 0.5), ("d2", 0.9), ("d1", 0.95), ("d3", 0.9),
                               ("d2", 0.1)])
    assert list(pooled.items()) == [("d1", 0.95), ("d2", 0.9), ("d3", 0.9)]
    assert metrics.max_pool([]) == {}


def test_rank_scores_and_hit_at():
    assert metrics.rank_scores(["b", "a", "c"]) == {"b": 3.0, "a": 2.0, "c": 1.0}
    assert metrics.hit_at(["x", "g", "y"], "g", 2) is True
    assert metrics.hit_at(["x", "g", "y"], "g", 1) is False


def test_beir_measures_equal_hand_computed_values():
    qrels = {"q1": {"d1": 1, "d2": 1, "d9": 1},
             "q2": {"d5": 2, "d6": 1},
             "q3": {"d7": 1},
             "q4": {"d8": 1}}
    others = [f"x{i}" for i in range(10)]
    run = {"q1": ["d3", "d1", "d4", "d2"],    # d9 never retrieved
           "q2": ["d6", *others[:9], "d5"],  # d5 (gain 2) at rank 11
           "q3": [*others, "d7"],             # only relevant document at rank 11
           # q4: no run at all
           }
    result = metrics.beir_per_query(qrels, run)
    # q1: DCG@10 = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3) + 1/log2(4); 2 of 3 found;
    #     first relevant at rank 2.
    q1_ndcg = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 0.5)
    # q2: DCG@10 = 1/log2(2) (d6, gain 1); IDCG = 2/log2(2) + 1/log2(3); both within 100;
    #     d6 relevant at rank 1.
    q2_ndcg = 1 / (2 + 1 / math.log2(3))
    expected = {"q1": {"ndcg@10": q1_ndcg, "recall@100": 2 / 3, "mrr@10": 1 / 2},
                "q2": {"ndcg@10": q2_ndcg, "recall@100": 1.0, "mrr@10": 1.0},
                # q3: nothing relevant in the first 10, so nDCG@10 = MRR@10 = 0; recall 1.
                "q3": {"ndcg@10": 0.0, "recall@100": 1.0, "mrr@10": 0.0},
                "q4": {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}}
    assert set(result) == set(expected)
    for query, measures in expected.items():
        for name, value in measures.items():
            assert abs(result[query][name] - value) < 1e-9, (query, name)
    means = metrics.beir_means(result)
    assert abs(means["ndcg@10"] - (q1_ndcg + q2_ndcg) / 4) < 1e-9
    assert abs(means["recall@100"] - (2 / 3 + 1 + 1) / 4) < 1e-9
    assert abs(means["mrr@10"] - (0.5 + 1) / 4) < 1e-9


def test_beir_measures_follow_our_order_not_document_ids():
    # trec_eval would put "a" before "b" on equal scores; our ranking puts "b" first.
    result = metrics.beir_per_query({"q": {"a": 1}}, {"q": ["b", "a"]})
    assert result["q"]["mrr@10"] == 0.5


def test_beir_measures_cut_recall_at_100():
    run = {"q": [f"x{i}" for i in range(100)] + ["gold"]}
    assert metrics.beir_per_query({"q": {"gold": 1}}, run)["q"]["recall@100"] == 0.0


# --- readers ----------------------------------------------------------------------------

def test_read_beir_fixture():
    data = evaluate.read_beir(DATA / "beir", split="test")
    assert data.name == "beir"
    # "empty" has neither title nor text and is left out; "vaccine" keeps an empty title.
    assert [d.id for d in data.documents] == ["photo", "volcano", "bees", "tides", "vaccine"]
    assert [d.title for d in data.documents] == ["Photosynthesis", "Volcanic eruptions",
                                                 "Honey bees", "Ocean tides", ""]
    assert data.documents[2].text.startswith("Worker bees collect nectar")
    assert data.queries == {"q1": "How do plants make glucose from sunlight?",
                            "q2": "What causes the tides in the ocean?",
                            "q3": "How do bees make honey from nectar?"}
    assert data.qrels == {"q1": {"photo": 1}, "q2": {"tides": 1}, "q3": {"bees": 1}}
    assert evaluate.read_beir(DATA / "beir", split="train").qrels == {"q4": {"volcano": 1}}


def test_read_beir_gzipped_corpus(tmp_path):
    folder = tmp_path / "beir"
    shutil.copytree(DATA / "beir", folder)
    corpus = folder / "corpus.jsonl"
    with gzip.open(folder / "corpus.jsonl.gz", "wb") as out:
        out.write(corpus.read_bytes())
    corpus.unlink()
    assert evaluate.read_beir(folder, split="test") == evaluate.read_beir(DATA / "beir",
                                                                          split="test")


def test_read_beir_names_the_splits_there_are():
    with pytest.raises(evaluate.EvalDataError, match="the splits here are: test, train"):
        evaluate.read_beir(DATA / "beir", split="dev")
    with pytest.raises(evaluate.EvalDataError, match="not a BEIR folder"):
        evaluate.read_beir(DATA / "docs", split="test")


def test_read_squad_fixture_and_article_range(tmp_path):
    data = evaluate.read_squad(DATA / "squad.json")
    assert data.titles == ("Honey_bee", "Ocean_tide")
    assert [(d.id, d.title) for d in data.documents] == [
        ("a000p000", "Honey bee"), ("a000p001", "Honey bee"), ("a001p000", "Ocean tide")]
    assert data.questions[0] == evaluate.SquadQuestion(
        "s1", "What do worker bees collect?", ("nectar", "nectar from flowers"), "a000p000")
    assert [(q.id, q.doc_id) for q in data.questions] == [
        ("s1", "a000p000"), ("s2", "a000p001"), ("s3", "a001p000"), ("s4", "a001p000")]
    second = evaluate.read_squad(DATA / "squad.json", articles=evaluate.parse_articles("1:2"))
    assert [d.id for d in second.documents] == ["a001p000"]
    packed = tmp_path / "squad.json.gz"
    packed.write_bytes(gzip.compress((DATA / "squad.json").read_bytes()))
    unpacked = evaluate.read_squad(packed)
    assert unpacked.questions == data.questions
    assert [(d.id, d.text) for d in unpacked.documents] == [(d.id, d.text) for d in data.documents]
    with pytest.raises(evaluate.EvalDataError, match="has 2 articles"):
        evaluate.read_squad(DATA / "squad.json", articles=slice(5, 9))


def test_read_questions(tmp_path):
    questions = evaluate.read_questions(DATA / "questions.jsonl")
    assert [q.id for q in questions] == ["b1", "t1", "t2", "n1"]
    assert questions[2].history == ("What raises the bulges in the oceans?",)
    assert questions[3].answer is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "No answer field?"}\n', encoding="utf-8")
    with pytest.raises(evaluate.EvalDataError, match="line 1: needs 'question'"):
        evaluate.read_questions(bad)


@pytest.mark.parametrize(("lines", "message"), [
    ('\n\n[1, 2]\n', "line 3: a JSON object"),
    ('{"question": "Who?", "answer": 5}\n', "line 1: 'answer' must be the answer's text"),
    ('{"question": "Who?", "answer": "  "}\n', "line 1: 'answer' must be the answer's text"),
    ('{"question": "Who?", "answer": null, "history": "Who is Poast?"}\n',
     "line 1: 'history' must be a list"),
    ('{"question": "Who?", "answer": null, "history": [3]}\n', "'history' must be a list"),
    ('{"question": " ", "answer": null}\n', "line 1: needs 'question'"),
    ('\n  \n', "holds no questions"),
    # What `ask` would refuse, refused before the index is built, naming the line.
    ('{"question": "Who?", "answer": null}\n{"question": "%s", "answer": null}\n'
     % ("who " * 600), "line 2: The question is 2,399 characters long"),
    ('{"question": "???", "answer": null}\n', "line 1: The question has no words in it"),
    ('{"question": "Who?", "answer": null, "history": ["?!"]}\n',
     "line 1: history item 1 has no words"),
])
def test_read_questions_names_the_bad_line(tmp_path, lines, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines, encoding="utf-8")
    with pytest.raises(evaluate.EvalDataError, match=message):
        evaluate.read_questions(bad)


def test_read_questions_refuses_a_file_that_is_not_text(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(evaluate.EvalDataError, match="is not UTF-8 text"):
        evaluate.read_questions(bad)


def test_an_unwritable_json_path_is_refused_before_the_run(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(evaluate.EvalDataError, match="it is a folder"):
        evaluate.check_writable(folder)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(evaluate.EvalDataError, match="cannot write"):
        evaluate.check_writable(tmp_path / "file" / "figures.json")
    fresh = tmp_path / "new" / "figures.json"
    evaluate.check_writable(fresh)
    assert fresh.parent.is_dir() and not fresh.exists()


def test_parse_articles_and_modes():
    assert evaluate.parse_articles("24:48") == slice(24, 48)
    assert evaluate.parse_articles(":24") == slice(None, 24)
    assert evaluate.parse_articles(None) == slice(None)
    with pytest.raises(evaluate.EvalDataError, match="A:B"):
        evaluate.parse_articles("24")
    assert [m.name for m in evaluate.parse_modes("dense, hybrid,dense")] == ["dense", "hybrid"]
    with pytest.raises(evaluate.EvalDataError, match="choose from hybrid, bm25, dense"):
        evaluate.parse_modes("hybrid,splade")


# --- judging one answer, and the report -------------------------------------------------

def _hit(text: str) -> Hit:
    return Hit(chunk_id=f"doc:0-{len(text)}", doc_id="doc", title="Doc", source="doc.txt",
               text=text, start=0, end=len(text), score=1.0)


def _answer(quotes: list[tuple[str, str]], *, abstained: bool = False) -> Answer:
    return Answer(question="Q?", query="Q?", abstained=abstained, confidence=0.25,
                  quotes=tuple(Quote(text, 0, len(text), 1.0, _hit(passage))
                               for text, passage in quotes))


def test_judge_answer_finds_the_answer_in_the_second_quotes_passage():
    answer = _answer([("Bees fan nectar.", "Bees fan nectar."),
                      ("Bees make honey.", "Bees make honey. It is sweet.")])
    assert evaluate.judge_answer(answer, "make honey") == {
        "query": "Q?", "abstained": False, "confidence": 0.25, "top_quote": "Bees fan nectar.",
        "top_quote_ok": False, "top3_passages_ok": True, "reciprocal_rank": 0.5,
        "failure": "top quote misses the answer"}


def test_judge_answer_reasons():
    right = _answer([("Bees make honey.", "Bees make honey.")], abstained=True)
    assert evaluate.judge_answer(right, "make honey")["failure"] == "abstained"
    assert evaluate.judge_answer(right, None)["failure"] is None
    wrong = _answer([("Bees fan nectar.", "Bees fan nectar.")])
    assert evaluate.judge_answer(wrong, "make honey")["failure"] == \
        "answer not in the top-3 quotes' passages"
    assert evaluate.judge_answer(wrong, None)["failure"] == "answered an unanswerable question"
    assert evaluate.judge_answer(_answer([]), "make honey")["top_quote_ok"] is False


def test_format_table():
    assert evaluate.format_table(["mode", "nDCG@10"], [["hybrid", "0.700"], ["bm25", "n/a"]]) \
        == ("mode    nDCG@10\n"
            "------  -------\n"
            "hybrid    0.700\n"
            "bm25        n/a")


# --- end to end, with the real model ----------------------------------------------------

def test_beir_end_to_end_through_the_cli(tmp_path, capsys):
    out = tmp_path / "beir.json"
    code = cli_main(["eval", "--beir", str(DATA / "beir"), "--modes", "hybrid,bm25,dense",
                     "--index", str(tmp_path / "home" / "index"), "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == f"BEIR {DATA / 'beir'}, split test: 3 queries"
    assert "mode    nDCG@10  Recall@100  MRR@10" in printed
    summary = json.loads(out.read_text("utf-8"))
    assert summary["index"]["documents"] == 5
    assert (tmp_path / "home" / "cache" / "embeddings.sqlite").exists()
    assert list(summary["modes"]) == ["hybrid", "bm25", "dense"]
    for mode in ("hybrid", "dense"):
        figures = summary["modes"][mode]
        assert (figures["ndcg@10"], figures["recall@100"], figures["mrr@10"]) == (1.0, 1.0, 1.0)
        assert {q: r["top10"][0] for q, r in figures["per_query"].items()} == \
            {"q1": "photo", "q2": "tides", "q3": "bees"}
        assert sorted(figures["per_query"]["q1"]["top10"]) == sorted(
            ["photo", "volcano", "bees", "tides", "vaccine"])
    # BM25 ranks only documents sharing a word with the query: q2 ("What causes the tides
    # in the ocean?") matches "tides" alone after stemming and stop words.
    bm25 = summary["modes"]["bm25"]
    assert bm25["per_query"]["q2"]["top10"] == ["tides"]
    assert {q: r["top10"][0] for q, r in bm25["per_query"].items()} == \
        {"q1": "photo", "q2": "tides", "q3": "bees"}
    assert bm25["ndcg@10"] == 1.0


def test_beir_on_milvus_lite_gives_the_faiss_rankings_in_a_scratch_store(tmp_path, capsys):
    pytest.importorskip("milvus_lite")
    runs = {}
    for store in ("faiss", f"milvus://{tmp_path}/mine.db"):
        out = tmp_path / "beir.json"
        assert cli_main(["eval", "--beir", str(DATA / "beir"), "--modes", "hybrid,bm25,dense",
                         "--store", store, "--index", str(tmp_path / "home" / "index"),
                         "--json", str(out)]) == 0
        summary = json.loads(out.read_text("utf-8"))
        runs[summary["store"]] = {m: {q: r["top10"] for q, r in f["per_query"].items()}
                                  for m, f in summary["modes"].items()}
    assert "(store: Milvus Lite)" in capsys.readouterr().out
    milvus, faiss = runs["Milvus Lite"], runs["FAISS"]
    assert milvus["dense"] == faiss["dense"] and milvus["hybrid"] == faiss["hybrid"]
    # Milvus's BM25 weighs terms a little differently on a 5-document corpus: the same
    # documents, the same first one, the tail may swap.
    for query, ranking in faiss["bm25"].items():
        assert milvus["bm25"][query][0] == ranking[0]
        assert sorted(milvus["bm25"][query]) == sorted(ranking)
    assert list(tmp_path.glob("*.db")) == []  # the scratch store is gone; 'mine.db' untouched


def test_questions_end_to_end(tmp_path, caplog):
    args = build_parser().parse_args(
        ["eval", str(DATA / "questions.jsonl"), "--docs", str(DATA / "docs"),
         "--index", str(tmp_path / "index"), "--limit", "3"])
    summary = evaluate.run(args)
    # The index named is not written, and the user is told so.
    assert not (tmp_path / "index").exists()
    assert f"the index in {tmp_path / 'index'} is neither read nor written" in caplog.text
    assert summary["index"]["documents"] == 2
    figures = summary["modes"]["hybrid"]
    assert (figures["questions"], figures["answerable"]) == (3, 3)
    records = {r["id"]: r for r in figures["records"]}
    assert records["b1"]["top_quote"] == ("Worker bees collect nectar from flowers and turn it "
                                          "into honey inside the hive.")
    assert records["t1"]["top_quote"] == ("The gravitational pull of the Moon raises two "
                                          "bulges in the oceans.")
    assert records["t2"]["query"] == "How many high tides do most coasts see?"
    assert [(r["top_quote_ok"], r["top3_passages_ok"], r["reciprocal_rank"])
            for r in figures["records"]] == [(True, True, 1.0)] * 3
    assert (figures["top_quote"], figures["top3_passages"], figures["mrr"]) == (1.0, 1.0, 1.0)
    report = evaluate.format_report(summary)
    assert report.splitlines()[0] == \
        f"3 questions from {DATA / 'questions.jsonl'} on {[str(DATA / 'docs')]}"


def test_questions_are_asked_of_the_documents_of_the_index_named(tmp_path, capsys):
    assert cli_main(["index", str(DATA / "docs"), "--index", str(tmp_path / "index")]) == 0
    args = build_parser().parse_args(["eval", str(DATA / "questions.jsonl"), "--index",
                                      str(tmp_path / "index"), "--limit", "1"])
    summary = evaluate.run(args)
    assert summary["docs"] == [str((DATA / "docs").resolve())]
    assert summary["index"]["documents"] == 2
    assert summary["modes"]["hybrid"]["top_quote"] == 1.0
    # A folder holding no index is refused, not taken for the seeds.
    args = build_parser().parse_args(["eval", str(DATA / "questions.jsonl"), "--index",
                                      str(tmp_path / "typo")])
    with pytest.raises(evaluate.EvalDataError, match="No saved index in"):
        evaluate.run(args)


def test_squad_end_to_end(tmp_path):
    args = build_parser().parse_args(
        ["eval", "--squad", str(DATA / "squad.json"), "--modes", "bm25",
         "--index", str(tmp_path / "index")])
    figures = evaluate.run(args)["modes"]["bm25"]
    assert [(r["id"], r["gold_rank"]) for r in figures["records"]] == [
        ("s1", 1), ("s2", 1), ("s3", 1), ("s4", 1)]
    assert (figures["hit@1"], figures["hit@5"], figures["mrr@10"]) == (1.0, 1.0, 1.0)


def test_run_refuses_two_data_sources(tmp_path):
    args = build_parser().parse_args(["eval", str(DATA / "questions.jsonl"), "--beir",
                                      str(DATA / "beir"), "--index", str(tmp_path / "i")])
    with pytest.raises(evaluate.EvalDataError, match="exactly one of"):
        evaluate.run(args)


def test_squad_held_out_asks_each_question_without_its_paragraph(tmp_path):
    """--held-out: a question no other paragraph answers is asked without its own and should
    abstain; one whose answer another paragraph also holds is not counted."""
    squad = {"data": [{"title": "Bees", "paragraphs": [
        {"context": "Worker bees collect nectar from flowers.",
         "qas": [{"id": "q1", "question": "What do worker bees collect?",
                  "answers": [{"text": "nectar", "answer_start": 19}]}]},
        {"context": "Bees store the Nectar in wax cells.", "qas": []}]},
        {"title": "Tides", "paragraphs": [
            {"context": "The gravitational pull of the Moon raises the ocean tides.",
             "qas": [{"id": "q2", "question": "What raises the ocean tides?",
                      "answers": [{"text": "The gravitational pull of the Moon",
                                   "answer_start": 0}]}]}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    args = build_parser().parse_args(["eval", "--squad", str(path), "--modes", "hybrid",
                                      "--held-out", "--index", str(tmp_path / "index")])
    summary = evaluate.run(args)
    figures = summary["modes"]["hybrid"]
    held_out = {r["id"]: r["held_out"] for r in figures["records"]}
    assert held_out["q1"] is None  # "Nectar" is in the second paragraph too (case folded)
    assert held_out["q2"]["top_doc"] != "a001p000"  # never its own paragraph
    assert held_out["q2"]["abstained"]  # bees say nothing of tides
    assert (figures["held_out_questions"], figures["held_out_abstained"]) == (1, 1.0)
    report = evaluate.format_report(summary)
    assert "held out  abstained held out" in report
    without = evaluate.run(build_parser().parse_args(
        ["eval", "--squad", str(path), "--modes", "bm25", "--index", str(tmp_path / "index")]))
    assert "held_out_questions" not in without["modes"]["bm25"]
    assert "held out" not in evaluate.format_report(without)


def test_held_out_goes_with_squad_only(tmp_path):
    args = build_parser().parse_args(["eval", str(DATA / "questions.jsonl"), "--held-out",
                                      "--index", str(tmp_path / "i")])
    with pytest.raises(evaluate.EvalDataError, match="--held-out goes with --squad"):
        evaluate.run(args)


def test_an_expected_answer_in_no_document_is_named_as_such(tmp_path):
    mistyped = tmp_path / "mistyped.jsonl"
    mistyped.write_text('{"id": "m1", "question": "What do worker bees collect?", '
                        '"answer": "nectar from flowerz"}\n', encoding="utf-8")
    args = build_parser().parse_args(
        ["eval", str(mistyped), "--docs", str(DATA / "docs"), "--index", str(tmp_path / "index")])
    (record,) = evaluate.run(args)["modes"]["hybrid"]["records"]
    assert record["failure"].endswith("the expected answer is in no document (mistyped?)")


def test_a_questions_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"question": "Who?", "answer": "Ann"}).encode()
                     + b"\n")
    (question,) = evaluate.read_questions(path)
    assert (question.question, question.answer) == ("Who?", "Ann")
