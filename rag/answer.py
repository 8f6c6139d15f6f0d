"""From retrieved passages to an answer: the best sentences, quoted and cited.

Nothing here generates text. A quote is one or more whole sentences copied from a
document, and an answer abstains when its best quote does not look like an answer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from .retrieve import Hit


@dataclass(frozen=True, slots=True)
class Quote:
    """Whole sentences quoted from a passage; `start`/`end` index the document's text.

    `also` lists other passages that say the same thing.
    """

    text: str
    start: int
    end: int
    score: float
    hit: Hit
    also: tuple[Hit, ...] = ()

    @property
    def doc_id(self) -> str:
        return self.hit.doc_id

    def citation(self) -> str:
        where = f", p. {self.hit.page}" if self.hit.page else ""
        return f"{self.hit.title}{where}, chars {self.start}-{self.end}"


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to a question: quotes best first, or an abstention with the closest passages."""

    question: str
    query: str
    quotes: tuple[Quote, ...]
    abstained: bool
    hits: tuple[Hit, ...] = ()
    confidence: float = 0.0
    seconds: float = 0.0
    features: dict = field(default_factory=dict, compare=False)

    @property
    def rewritten(self) -> bool:
        return self.query != self.question

    def markdown(self) -> str:
        """The answer as Markdown: quotes with numbered citations, then the sources."""
        lines = []
        if self.rewritten:
            lines.append(f"*Searched for:* {self.query}\n")
        if self.abstained:
            lines.append("**The documents don't cover this.** The closest passages were:\n")
        for number, quote in enumerate(self.quotes, start=1):
            lines.append(f"> {quote.text} [{number}]\n")
        if self.quotes:
            lines.append("Sources:")
            for number, quote in enumerate(self.quotes, start=1):
                lines.append(f"[{number}] {quote.citation()} ({quote.hit.source})")
        elif self.abstained:
            lines.append("(no passage came close)")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        """Plain JSON-ready data: the effective query, abstention, and each quote's citation."""
        return {
            "question": self.question,
            "query": self.query,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "quotes": [
                {
                    "text": q.text, "start": q.start, "end": q.end, "score": round(q.score, 4),
                    "doc_id": q.hit.doc_id, "title": q.hit.title, "source": q.hit.source,
                    "page": q.hit.page, "citation": q.citation(),
                    "passage": {"text": q.hit.text, "start": q.hit.start, "end": q.hit.end,
                                "chunk_id": q.hit.chunk_id},
                    "also": [{"doc_id": h.doc_id, "title": h.title, "start": h.start,
                              "end": h.end} for h in q.also],
                }
                for q in self.quotes
            ],
        }


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    hit: Hit
    start: int
    end: int
    dense: float
    lexical: float
    score: float


def lexical_overlap(query_terms: set[str], sentence_terms: list[str]) -> float:
    """Share of the query's content terms (stemmed, no stop words) found in the sentence."""
    if not query_terms:
        return 0.0
    return len(query_terms.intersection(sentence_terms)) / len(query_terms)


# Weights of a sentence's score: its cosine to the query, the share of query terms it
# holds, and the fused score of its passage relative to the best passage. Fitted on
# the development questions by `briefing eval --tune` (see README, Quality).
SENTENCE_WEIGHTS = {"dense": 1.0, "lexical": 0.35, "passage": 0.25}


def score_sentences(hits: list[Hit], sentence_spans: list[tuple[tuple[int, int], ...]],
                    sentence_sims: list[np.ndarray], sentence_terms: list[list[list[str]]],
                    query_terms: set[str], document_texts: dict[str, str]
                    ) -> list[ScoredSentence]:
    """Every sentence of the candidate passages, scored and deduplicated, best first."""
    if not hits:
        return []
    top = max(h.score for h in hits) or 1.0
    best: dict[tuple[str, int, int], ScoredSentence] = {}
    for hit, spans, sims, terms in zip(hits, sentence_spans, sentence_sims, sentence_terms):
        passage = hit.score / top
        for (start, end), sim, words in zip(spans, sims, terms):
            lexical = lexical_overlap(query_terms, words)
            score = (SENTENCE_WEIGHTS["dense"] * float(sim) + SENTENCE_WEIGHTS["lexical"] * lexical
                     + SENTENCE_WEIGHTS["passage"] * passage)
            key = (hit.doc_id, start, end)
            if key not in best or score > best[key].score:
                best[key] = ScoredSentence(hit, start, end, float(sim), lexical, score)
    return sorted(best.values(), key=lambda s: (-s.score, s.hit.doc_id, s.start))


def pick_quotes(scored: list[ScoredSentence], document_texts: dict[str, str], *,
                limit: int) -> list[Quote]:
    """The best sentences, one quote each; the same words found elsewhere become `also`."""
    quotes: list[Quote] = []
    by_text: dict[str, int] = {}
    for sentence in scored:
        text = document_texts[sentence.hit.doc_id][sentence.start:sentence.end]
        key = " ".join(text.lower().split())
        if key in by_text:
            index = by_text[key]
            kept = quotes[index]
            if sentence.hit.doc_id != kept.hit.doc_id and all(
                    h.doc_id != sentence.hit.doc_id for h in kept.also):
                quotes[index] = Quote(kept.text, kept.start, kept.end, kept.score, kept.hit,
                                      kept.also + (sentence.hit,))
            continue
        if len(quotes) >= limit:
            continue
        by_text[key] = len(quotes)
        quotes.append(Quote(text, sentence.start, sentence.end, sentence.score, sentence.hit))
    return quotes


@lru_cache(maxsize=1)
def abstention_model() -> dict:
    """The fitted abstention model: feature names, weights and bias (rag/abstention.json)."""
    return json.loads(resources.files("rag").joinpath("abstention.json").read_text("utf-8"))


def answer_probability(features: dict[str, float]) -> float:
    """Logistic probability that the best quote answers the question."""
    model = abstention_model()
    z = model["bias"] + sum(model["weights"][name] * features[name]
                            for name in model["features"])
    return 1.0 / (1.0 + math.exp(-z))


def answer_features(scored: list[ScoredSentence], hits: list[Hit]) -> dict[str, float]:
    """What the abstention decision looks at, all from the best sentence and passage."""
    if not scored:
        return {"sentence_dense": 0.0, "sentence_lexical": 0.0, "passage_dense": 0.0,
                "passage_lexical": 0.0}
    best = scored[0]
    passage_lexical = max((s.lexical for s in scored if s.hit.chunk_id == best.hit.chunk_id),
                          default=0.0)
    return {
        "sentence_dense": best.dense,
        "sentence_lexical": best.lexical,
        "passage_dense": max((h.dense or 0.0) for h in hits),
        "passage_lexical": passage_lexical,
    }
