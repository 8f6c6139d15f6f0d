"""The figures `briefing eval` reports, as pure functions of answers, rankings and gold.

Nothing here loads a model or reads a file: every function takes plain values, so the
tests check each one against numbers computed by hand.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Mapping, Sequence

# Curly and prime quotation marks count as their straight forms: the seed article
# writes "It’s" where a question file may write "It's".
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u2032": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
                         "\u201f": '"', "\u2033": '"'})
_EDGES = string.punctuation + string.whitespace

TOP_QUOTE_MIN_COVER = 0.5
"""A quote shorter than the expected answer counts when it holds at least half of it."""


def normalize_answer(text: str) -> str:
    """Text as answers are compared: straight quotes, one space, case folded, no
    punctuation at either end ("Kim Jong Un." and "kim jong un" are equal)."""
    return " ".join(text.translate(_QUOTES).split()).casefold().strip(_EDGES)


def contains_answer(passage: str, answer: str) -> bool:
    """Whether the normalised `answer` occurs inside the normalised `passage`."""
    needle = normalize_answer(answer)
    return bool(needle) and needle in normalize_answer(passage)


def quote_matches(quote: str, answer: str, *, min_cover: float = TOP_QUOTE_MIN_COVER) -> bool:
    """Whether a quote gives the expected answer.

    It does when the answer lies inside the quote, or when the quote lies inside the
    answer and covers at least `min_cover` of its characters (a quoted fragment of a
    long expected answer).
    """
    quote_n, answer_n = normalize_answer(quote), normalize_answer(answer)
    if not quote_n or not answer_n:
        return False
    if answer_n in quote_n:
        return True
    return quote_n in answer_n and len(quote_n) >= min_cover * len(answer_n)


def reciprocal_rank(relevant: Iterable[bool]) -> float:
    """1 / the 1-based rank of the first True, or 0.0 when there is none."""
    for rank, flag in enumerate(relevant, start=1):
        if flag:
            return 1.0 / rank
    return 0.0


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or None for no values (a figure that cannot be computed)."""
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between the closest ranks
    (NumPy's default), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def abstention_scores(should_abstain: Sequence[bool], abstained: Sequence[bool]
                      ) -> dict[str, float | int | None]:
    """Precision and recall of abstaining, the positive class being "abstain".

    Returns the counts (`tp`: abstained on an unanswerable question, `fp`: abstained on
    an answerable one, `fn`: answered an unanswerable one, `tn`), `precision`, `recall`,
    and `wrong_abstention_rate` = fp / answerable questions. A ratio with a zero
    denominator is None.
    """
    if len(should_abstain) != len(abstained):
        raise ValueError(f"need one decision per question, got {len(abstained)} for "
                         f"{len(should_abstain)}")
    pairs = list(zip(should_abstain, abstained, strict=True))
    tp = sum(1 for gold, got in pairs if gold and got)
    fp = sum(1 for gold, got in pairs if not gold and got)
    fn = sum(1 for gold, got in pairs if gold and not got)
    tn = sum(1 for gold, got in pairs if not gold and not got)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
            "wrong_abstention_rate": _ratio(fp, fp + tn)}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def max_pool(scored: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Document scores from passage scores: each document keeps its best passage's score.

    The result is ordered best first; documents with equal scores keep the order in
    which they first appeared (the retriever's own tie order).
    """
    best: dict[str, float] = {}
    for doc_id, score in scored:
        if doc_id not in best or score > best[doc_id]:
            best[doc_id] = score
    order = {doc_id: i for i, doc_id in enumerate(best)}
    return dict(sorted(best.items(), key=lambda pair: (-pair[1], order[pair[0]])))


def rank_scores(ranking: Sequence[str]) -> dict[str, float]:
    """Scores that encode a ranking: n for the first of n ids, down to 1 for the last.

    trec_eval orders equal scores by document id, not by our order; handing it
    distinct scores from our ranks makes it evaluate exactly the ranking we show.
    """
    return {doc_id: float(len(ranking) - i) for i, doc_id in enumerate(ranking)}


def hit_at(ranking: Sequence[str], gold: str, k: int) -> bool:
    """Whether `gold` is among the first `k` ids of `ranking`."""
    return gold in ranking[:k]


BEIR_MEASURES = ("ndcg@10", "recall@100", "mrr@10")


def beir_per_query(qrels: Mapping[str, Mapping[str, int]],
                   run: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """nDCG@10, Recall@100 and MRR@10 of each query in `qrels`, with `pytrec_eval`.

    `run` maps a query id to its documents, best first. A query missing from the run,
    or with nothing retrieved, scores 0 on every measure.
    MRR@10 is trec_eval's recip_rank on the run cut to its first 10 documents.
    """
    import pytrec_eval

    qrels = {q: {d: int(r) for d, r in docs.items()} for q, docs in qrels.items()}
    full = {q: rank_scores(list(run.get(q, ()))) for q in qrels}
    cut = {q: rank_scores(list(run.get(q, ()))[:10]) for q in qrels}
    deep = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"}).evaluate(
        {q: docs for q, docs in full.items() if docs})
    top = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(
        {q: docs for q, docs in cut.items() if docs})
    empty = {"ndcg_cut_10": 0.0, "recall_100": 0.0}
    return {q: {"ndcg@10": deep.get(q, empty)["ndcg_cut_10"],
                "recall@100": deep.get(q, empty)["recall_100"],
                "mrr@10": top.get(q, {"recip_rank": 0.0})["recip_rank"]}
            for q in qrels}


def beir_means(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    """Each BEIR measure averaged over the queries."""
    return {m: mean([scores[m] for scores in per_query.values()]) for m in BEIR_MEASURES}
