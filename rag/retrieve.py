"""Hybrid retrieval: dense and BM25 candidates fused into one ranking of passages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage with its citation.

    `start`/`end` are offsets into the document's text; `page` is the 1-based PDF
    page where the passage starts (None for other kinds), `last_page` the one where it
    ends, when known (`Index.search` sets it). `dense` and `bm25` are the
    two retrievers' raw scores (None when that retriever did not propose it).
    """

    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    score: float
    page: int | None = None
    dense: float | None = None
    bm25: float | None = None
    last_page: int | None = None

    def citation(self) -> str:
        """'Title, p. 3, chars 120-480' style reference to the exact place ('pp. 2-3' for
        a passage running over a page break)."""
        where = f", p. {self.page}" if self.page else ""
        if self.page and self.last_page and self.last_page > self.page:
            where = f", pp. {self.page}-{self.last_page}"
        return f"{cited_title(self.title)}{where}, chars {self.start}-{self.end}"


def cited_title(title: str) -> str:
    """The title as it reads before ", p. 3": without the full stop ending a title that is
    a sentence ("The tide reaches 11 metres." titles a file of prose), not an "Inc."."""
    last = re.search(r"(?<![.\w])(\w+)\.$", title)
    return title[:-1] if last and last.group(1).lower() not in _ABBREVIATIONS else title


_ABBREVIATIONS = frozenset("inc ltd co corp llc plc jr sr st etc bros dr mr mrs ms no vol "
                           "ed eds al".split())


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], *, weights: Sequence[float],
                           k: int = 60) -> list[tuple[str, float]]:
    """Fuse rankings of ids: score(id) = sum over rankings of weight / (k + rank), rank from 1.

    k=60 is Cormack et al.'s (2009) constant: it keeps a first place from dominating,
    so an id ranked well by both retrievers beats one ranked first by only one.
    Ties are broken by first appearance, so the result is deterministic.
    """
    if len(weights) != len(rankings):
        raise ValueError(f"need one weight per ranking, got {len(weights)} for {len(rankings)}")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(dict.fromkeys(i for r in rankings for i in r))}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))


_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,}?)[\"“”]")


def quoted_phrases(query: str) -> list[str]:
    """Phrases the user put in double quotes: 'the "open-ended language" of the pact'."""
    return [" ".join(p.lower().split()) for p in _QUOTED.findall(query) if p.strip()]


def promote_phrases(fused: list[tuple[str, float]], texts: dict[str, str],
                    phrases: Sequence[str]) -> list[tuple[str, float]]:
    """Move passages holding every quoted phrase ahead of the others, keeping each group's order.

    Quotes in a query mean "these exact words", as in every search engine.
    """
    if not phrases:
        return fused

    def holds_all(item: tuple[str, float]) -> bool:
        text = " ".join(texts[item[0]].lower().split())
        return all(phrase in text for phrase in phrases)

    return [i for i in fused if holds_all(i)] + [i for i in fused if not holds_all(i)]
