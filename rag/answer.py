"""From retrieved passages to an answer: the best sentences, quoted and cited.

Nothing here generates text. A quote is one or more whole sentences copied from a
document, and an answer abstains when its best quote does not look like an answer.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources

import numpy as np

from . import entities
from .keywords import tokenize
from .retrieve import Hit, cited_title

NO_WORD_FOUND = "None of the question's words is in the documents."
OTHER_LANGUAGE = ("None of the question's words is in the documents; if it was asked in "
                  "another language, ask in theirs.")
# Words nearly every English question holds: with one of them, the question is English and
# the documents simply do not use its words ("What is the capital of France?").
_ENGLISH = frozenset("""the and what who whom whose which when where why how does did are
were have would could should can this that these those they their there with from
about you your do many much any been our""".split())
"""(Not "a", "of", "in", "is", "was", "has", "had" or "will", which French, Spanish, Dutch or
German questions use.)"""


ASK_IN_THEIRS = "If it was asked in another language, ask in the documents' language."


def no_word_note(question: str, no_word_found: bool = True) -> str:
    """What an abstention adds: that none of the question's words is in the documents
    (`no_word_found`), and that it may be in another language when it does not read as
    English ("Qui est Paul Poast ?" finds the name but none of the rest)."""
    words = re.findall(r"[^\W\d_]+", question.lower())
    english = bool(_ENGLISH.intersection(words))
    if no_word_found:
        # "alert" is too short to tell, as is any question of one or two plain-letter words.
        short = len(words) < 3 and question.isascii()
        return NO_WORD_FOUND if english or short else OTHER_LANGUAGE
    return "" if english or len(words) < 3 else ASK_IN_THEIRS


@dataclass(frozen=True, slots=True)
class Quote:
    """Whole sentences quoted from a passage; `start`/`end` index the document's text.

    `also` holds the same words where another document says them (each a Quote of its
    own, with its own span), to be cited as "also in".
    """

    text: str
    start: int
    end: int
    score: float
    hit: Hit
    also: tuple[Quote, ...] = ()
    pages: tuple[int, int] | None = None
    """The PDF pages the quote starts and ends on (None for other kinds); its passage may
    start on an earlier page."""

    @property
    def doc_id(self) -> str:
        return self.hit.doc_id

    @property
    def page(self) -> int | None:
        """The PDF page the quote starts on."""
        return self.pages[0] if self.pages else self.hit.page

    def citation(self) -> str:
        if self.pages and self.pages[1] > self.pages[0]:
            where = f", pp. {self.pages[0]}-{self.pages[1]}"
        else:
            where = f", p. {self.page}" if self.page else ""
        return f"{cited_title(self.hit.title)}{where}, chars {self.start}-{self.end}"

    def on_pages(self, page_at: Callable[[str, int], int | None]) -> Quote:
        """This quote (and its "also in" copies) with the pages it lies on; `page_at(doc_id,
        offset)` gives the page holding an offset."""
        first = page_at(self.doc_id, self.start)
        pages = None if first is None else (
            first, page_at(self.doc_id, max(self.start, self.end - 1)) or first)
        return replace(self, pages=pages, also=tuple(a.on_pages(page_at) for a in self.also))


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
    no_word_found: bool = False
    """None of the question's words (leaving out "what", "did" and the like) is in the
    documents searched: asked in another language, perhaps."""
    note: str = ""
    """What the quotes are, where they are not an answer's: how the documents open, for a
    question asking for a summary (rag.about)."""

    @property
    def rewritten(self) -> bool:
        return self.query != self.question

    def markdown(self) -> str:
        """The answer as Markdown: quotes with numbered citations, then the sources."""
        lines = []
        if self.rewritten:
            lines.append(f"*Searched for:* {self.query}\n")
        if self.note:
            lines.append(f"*{self.note}*\n")
        if self.abstained:
            note = no_word_note(self.question, self.no_word_found)
            lines.append(f"**The documents don't cover this.** {note} " if note
                         else "**The documents don't cover this.** ")
            lines[-1] += "The closest passages were:\n"
        for number, quote in enumerate(self.quotes, start=1):
            # Every line of a quote is quoted: one spanning two paragraphs stays one quote.
            quoted = "\n".join(f"> {line}".rstrip() for line in quote.text.splitlines())
            lines.append(f"{quoted} [{number}]\n")
        if self.quotes:
            # An outside review read "chars" as positions in the file, which differ for
            # Markdown, HTML and PDF (and a text file with a byte-order mark).
            lines.append("Sources (chars: positions in the text read from each file):")
            for number, quote in enumerate(self.quotes, start=1):
                lines.append(f"[{number}] {quote.citation()} ({quote.hit.source})")
                if not self.abstained:  # a closest passage answers nothing, here or there
                    lines += [f"    also in: {a.citation()} ({a.hit.source})"
                              for a in quote.also]
        elif self.abstained:
            lines.append("(no passage came close)")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        """Plain JSON-ready data: the effective query, abstention, and each quote's citation."""
        return {
            "question": self.question,
            "query": self.query,
            "rewritten": self.rewritten,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "no_word_found": self.no_word_found,
            "note": self.note,
            "quotes": [
                {
                    "text": q.text, "start": q.start, "end": q.end, "score": round(q.score, 4),
                    "doc_id": q.hit.doc_id, "title": q.hit.title, "source": q.hit.source,
                    "page": q.page, "last_page": q.pages[1] if q.pages else q.page,
                    "citation": q.citation(),
                    "passage": {"text": q.hit.text, "start": q.hit.start, "end": q.hit.end,
                                "chunk_id": q.hit.chunk_id},
                    "also": [{"text": a.text, "start": a.start, "end": a.end,
                              "doc_id": a.hit.doc_id, "title": a.hit.title,
                              "source": a.hit.source, "page": a.page,
                              "citation": a.citation()} for a in q.also],
                }
                for q in self.quotes
            ],
            "passages": [
                {"text": h.text, "start": h.start, "end": h.end, "doc_id": h.doc_id,
                 "title": h.title, "source": h.source, "page": h.page, "citation": h.citation(),
                 "chunk_id": h.chunk_id, "score": round(h.score, 6)}
                for h in self.hits
            ],
        }


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    """A candidate sentence: its passage, span, the parts of its score, and its neighbours."""

    hit: Hit
    start: int
    end: int
    dense: float
    lexical: float
    score: float
    terms: tuple[str, ...] = ()
    neighbours: tuple[tuple[int, int], ...] = ()
    typed: bool = True
    """False when the query asks for a number or a time the sentence lacks."""
    penalty: float = 0.0
    """What the answer-type and heading checks took off the score."""
    heading: bool = False
    """A short line that does not end as a sentence: a title, a heading, a dateline."""
    refers_back: bool = False
    """It calls someone the question names "she" or "he" (`referred_terms`): quoted, it
    takes in the sentence before it that gives the name."""

    @property
    def relevance(self) -> float:
        """The score before the answer-type and heading checks: how closely it matches."""
        return self.score + self.penalty


# A people's or language's name and its country's name mean the same place in a question
# ("the Japanese government" is Japan's): the stemmer leaves "japanes" and "japan" apart.
_DEMONYMS = {
    "afghan": "afghanistan", "american": "america", "australian": "australia",
    "belarusian": "belarus", "brazilian": "brazil", "british": "britain", "canadian": "canada",
    "chinese": "china", "cuban": "cuba", "dutch": "netherlands", "egyptian": "egypt",
    "european": "europe", "filipino": "philippines", "french": "france", "german": "germany",
    "greek": "greece", "indian": "india", "indonesian": "indonesia", "iranian": "iran",
    "iraqi": "iraq", "irish": "ireland", "israeli": "israel", "italian": "italy",
    "japanese": "japan", "korean": "korea", "mexican": "mexico", "mongolian": "mongolia",
    "pakistani": "pakistan", "palestinian": "palestine", "russian": "russia",
    "spanish": "spain", "swedish": "sweden",
    "syrian": "syria", "taiwanese": "taiwan", "turkish": "turkey", "ukrainian": "ukraine",
    "vietnamese": "vietnam",
}


@lru_cache(maxsize=1)
def _demonym_stems() -> dict[str, str]:
    stemmed = {}
    for people, country in _DEMONYMS.items():
        (people_stem,), country_stems = tokenize([people]), tokenize([country])[0]
        if people_stem and people_stem[0] != country_stems[-1]:
            stemmed[people_stem[0]] = country_stems[-1]
    return stemmed


# Irregular past forms, which the stemmer leaves apart from their verb: "What did Kamikawa
# say?" is answered by "Kamikawa said".
_IRREGULAR_VERBS = {
    "say": "said", "tell": "told", "speak": "spoke spoken", "write": "wrote written",
    "think": "thought", "give": "gave given", "take": "took taken", "make": "made",
    "come": "came", "go": "went gone", "see": "saw seen", "know": "knew known",
    "find": "found", "hold": "held", "lead": "led", "meet": "met", "pay": "paid",
    "send": "sent", "spend": "spent", "build": "built", "begin": "began begun",
    "bring": "brought", "buy": "bought", "win": "won", "lose": "lost", "leave": "left",
    "keep": "kept", "choose": "chose chosen", "fight": "fought", "grow": "grew grown",
    "rise": "risen", "run": "ran", "sell": "sold", "stand": "stood",
    "strike": "struck", "throw": "threw thrown", "understand": "understood",
    "withdraw": "withdrew withdrawn", "break": "broke broken", "fly": "flew flown",
    "forget": "forgot forgotten", "drive": "drove driven", "fall": "fell fallen",
    "sink": "sank sunk", "swear": "swore sworn", "teach": "taught", "catch": "caught",
    "seek": "sought", "sing": "sang sung", "draw": "drew drawn", "steal": "stole stolen",
    "wear": "wore worn", "feel": "felt", "mean": "meant", "hear": "heard", "sit": "sat",
    "lend": "lent", "bear": "bore borne", "bind": "bound", "undertake": "undertook",
    "overtake": "overtook overtaken", "forbid": "forbade forbidden", "arise": "arose arisen",
}


@lru_cache(maxsize=1)
def _term_forms() -> dict[str, str]:
    """Stemmed term -> the term it is matched as: a people's name as its country's
    ("japanes": "japan"), an irregular verb's past form as the verb ("said": "say")."""
    forms = dict(_demonym_stems())
    for verb, pasts in _IRREGULAR_VERBS.items():
        (base,) = tokenize([verb])[0] or (verb,)
        for past in pasts.split():
            stems = tokenize([past])[0]
            if stems and stems[0] != base:
                forms.setdefault(stems[0], base)
    return forms


_ACRONYM_PLURAL = re.compile(r"\b([A-Z]{2,})['’]?s\b")


def answer_terms(texts: list[str]) -> list[list[str]]:
    """The terms answers are matched on: BM25's (stemmed, no stop words), without accents
    ("Cafe" finds "Café"), an acronym's plural as the acronym ("DVDs" as "DVD"), with each
    people's name read as its country's ("Japanese" as "Japan") and an irregular verb's
    past as the verb ("said" as "say")."""
    forms = _term_forms()
    # Accents go before stemming: "Beyoncé" and "Beyonce" stem alike only then. An
    # acronym's plural is the acronym ("DVDs" is "DVD"), which the stemmer leaves whole.
    plain = [_ACRONYM_PLURAL.sub(r"\1", t if t.isascii() else _fold(t)) for t in texts]
    return [[forms.get(t, t) for t in words] for words in tokenize(plain)]


MISSPELLING_MIN_CHARS = 6
MISSPELLING_SIMILARITY = 0.8
"""A term of six letters or more counts as found when a candidate passage holds one this
alike (difflib's ratio, accents set aside): "Celeron" for "Céloron", "Bismark" for
"Bismarck". Shorter terms are too easily alike: "india" and "indian"."""


def unmatched_terms(query_terms: set[str], found: set[str]) -> set[str]:
    """The query terms no candidate passage holds, nor a likely misspelling of."""
    missing = query_terms - found
    long_missing = {t for t in missing if len(t) >= MISSPELLING_MIN_CHARS}
    if not long_missing:
        return missing
    by_length: dict[int, list[str]] = {}
    for term in found:
        by_length.setdefault(len(term), []).append(_fold(term))
    for term in long_missing:
        # The ratio is twice the matching letters over both lengths, so reaching r needs
        # the other term's length within r / (2 - r) and (2 - r) / r of this one's.
        r = MISSPELLING_SIMILARITY
        shortest = math.ceil(round(len(term) * r / (2 - r), 6))
        longest = math.floor(round(len(term) * (2 - r) / r, 6))
        near = [t for n in range(shortest, longest + 1) for t in by_length.get(n, ())]
        if difflib.get_close_matches(_fold(term), near, n=1, cutoff=MISSPELLING_SIMILARITY):
            missing.discard(term)
    return missing


def _fold(term: str) -> str:
    """The term without accents: "céloron" -> "celoron"."""
    return "".join(c for c in unicodedata.normalize("NFKD", term) if not unicodedata.combining(c))


def term_weights(query_terms: set[str], sentence_terms: list[list[str]]) -> dict[str, float]:
    """Inverse document frequency of each query term among the candidate sentences.

    A name that occurs in one candidate sentence ("Tongfi") weighs more than one that
    occurs in many ("Kim"); a term found in none weighs most (as if it occurred in half
    a sentence), so missing it costs the most.
    """
    count = max(len(sentence_terms), 1)
    frequency = dict.fromkeys(query_terms, 0)
    for words in sentence_terms:
        for term in query_terms.intersection(words):
            frequency[term] += 1
    return {t: math.log(1 + count / max(f, 0.5)) for t, f in frequency.items()}


def lexical_overlap(weights: dict[str, float], words: Iterable[str]) -> float:
    """The weighted share of the query's content terms (stemmed, no stop words) in `words`."""
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(weights[t] for t in set(words) if t in weights) / total


# A sentence's score adds its cosine to the query (embedded after the sentence before
# it), the share of the query's content terms it holds, and its passage's fused score
# relative to the best passage's. A quote takes in an adjacent sentence that scores
# within QUOTE_MARGIN of it: the answer then spans both. Chosen by grid search on the
# 89 answerable seed questions (bench/seed-questions.jsonl and the dev file), where
# they put the answer in the first quote for 83 (79 without joining sentences); see
# README, Quality.
SENTENCE_WEIGHTS = {"dense": 1.0, "lexical": 0.8, "passage": 0.5}
QUOTE_MARGIN = 0.2
# Later quotes are shown only while they score within QUOTE_DROP of the first: a strong
# answer is not followed by passages that merely come next in the ranking. Of the later
# quotes of the answered seed questions, none of the 81 at 0.4 or more behind the first
# held the answer (8 of the 209 closer did, 7 where the first did not); on 1,500 SQuAD
# tuning-half questions, 4 of the 582 at 0.4 to 0.6 behind held an answer the first quote
# lacked (185 of the 2,133 closer did).
# At 0.6 a review found "Putin ... said Seoul would be making a big mistake" quoted second
# for "Who owns Southmere?".
QUOTE_DROP = 0.4
MIN_QUOTE_WORDS = 3
"""Shorter 'sentences' (a link text, a heading, a caption) are fragments, never quoted."""
HEADING_MAX_WORDS = 10
"""A line that does not end as a sentence is a heading when shorter than this: a heading
repeats a question's names but answers nothing, so it is quoted first or not at all
(unless it holds the number or time asked for: a dateline), never joined to the sentence
beside it, and not read as the sentence closest to the question. Longer lines without a
full stop (list items, table rows) are quoted as sentences."""
_LIST_ITEM = re.compile(r"^\s*([-*+•▪◦‣]|\d+[.)])\s|\w:\s+\S")
_NUMBERED_LINE = re.compile(r"^\s*(\(\d{1,3}\)|\d{1,3}[.)]|\d{1,3}(\.\d{1,3})+\.?)\s+(?=\S)")
"""A list item ("- Geneva", "2) Geneva") or a "Key: value" line, which answers as a sentence
does, though short and without a full stop."""
HEADING_PENALTY = 0.2
"""Taken from the score of a heading (a "sentence" that does not end as one: a title line,
"Commitment to Consult / August 19, 2023") unless it holds the number or time the question
asks for. A heading repeats the names a question uses ("Who issued the Commitment to
Consult?") but says nothing about them; a date line does answer "When was it published?".
Chosen on the seed questions (first quote 147 -> 150 of 162 answerable, none lost); on
SQuAD's tuning half, where headings are rare, 0.7800 -> 0.7797; see README, Quality."""
ANSWER_TYPE_PENALTY = 0.2
"""Taken from the score of a sentence without the number or time the question asks for
(`answer_type_match`): "When was the pledge made?" is answered by the sentence with "1961"
before the one that only names the pledge. Chosen on SQuAD's tuning half (articles 0-23):
answer in the first quote 0.7777 at 0, 0.7793 at 0.1, 0.7797 at 0.2; see README, Quality."""


def score_sentences(hits: list[Hit], sentence_spans: list[tuple[tuple[int, int], ...]],
                    sentence_sims: list[np.ndarray], sentence_terms: list[list[list[str]]],
                    query_terms: set[str], query: str = "", *,
                    alone_sims: list[np.ndarray] | None = None,
                    referred: list[list[list[str]]] | None = None) -> list[ScoredSentence]:
    """Every sentence of the candidate passages, scored and deduplicated, best first.

    A sentence without the number or time the query asks for (`answer_type_match`) loses
    ANSWER_TYPE_PENALTY; a heading loses HEADING_PENALTY unless it holds the number or
    time asked for (a dateline answers "When was it published?")
    """
    if not hits:
        return []
    top = max(h.score for h in hits) or 1.0
    plain = dict.fromkeys(query_terms, 1.0)
    asks_type = not answer_type_match(query, "")  # asks for a number or a time
    asks_where = bool(_ASKS_WHERE.search(query))
    best: dict[tuple[str, int, int], ScoredSentence] = {}
    neighbours: dict[tuple[str, int, int], set[tuple[int, int]]] = {}
    alone_sims = alone_sims if alone_sims is not None else sentence_sims
    referred = referred if referred is not None else [[[]] * len(t) for t in sentence_terms]
    for hit, spans, sims, alone, terms, names in zip(hits, sentence_spans, sentence_sims,
                                                     alone_sims, sentence_terms, referred,
                                                     strict=True):
        passage = hit.score / top
        under = _headings(hit, spans)
        texts = [hit.text[start - hit.start:end - hit.start] for start, end in spans]
        relevance: list[float] = []
        for i, ((start, end), sim, by_itself, words, named) in enumerate(
                zip(spans, sims, alone, terms, names, strict=True)):
            key = (hit.doc_id, start, end)
            neighbours.setdefault(key, set()).update(spans[j] for j in (i - 1, i + 1)
                                                     if 0 <= j < len(spans))
            lexical = lexical_overlap(plain, words)
            # A field the question asks for in other words ("Age:" for "How old...?") ranks
            # as if it held them and the question's asking words ("how", "much", "does"),
            # read with the lines of its record above it ("Patient: Juniper"); as for "she"
            # sentences, the abstention reads its own words only.
            credited = list(named)
            if asked_key := field_asked(query, texts[i]):
                credited += [*asked_key, *(query_terms & question_words()),
                             *(t for j in _record_above(hit, spans, i) for t in terms[j])]
            # Embedded after the sentence before it, or alone: the closer of the two ranks
            # it. (The abstention reads the first, `dense`, as its model was fitted on.)
            # Likewise the names a "she" sentence refers to count in its rank only.
            score = (SENTENCE_WEIGHTS["dense"] * max(float(sim), float(by_itself))
                     + SENTENCE_WEIGHTS["lexical"] * (lexical_overlap(plain,
                                                                      [*words, *credited])
                                                      if credited else lexical)
                     + SENTENCE_WEIGHTS["passage"] * passage)
            relevance.append(score)
            if under[i] is not None:
                # Read with the words of the heading it stands under, up to the heading's
                # own rank: "Hold the Power and Lock buttons..." under "Resetting to factory
                # settings" answers "How do I reset it?", and is quoted where a heading
                # would not be; a heading the question matches better stays above it.
                headed = (SENTENCE_WEIGHTS["dense"] * max(float(sim), float(by_itself))
                          + SENTENCE_WEIGHTS["lexical"] * lexical_overlap(
                              plain, [*words, *credited, *terms[under[i]]])
                          + SENTENCE_WEIGHTS["passage"] * passage)
                score = max(score, headed)
            text = hit.text[start - hit.start:end - hit.start]
            typed = not asks_type or bool(answer_type_match(query, text))
            penalty = 0.0 if typed else ANSWER_TYPE_PENALTY
            # A credit line ("Commissioned by the Transport Board") says who did what, as
            # a sentence does, though set as a line of its own.
            ends_as_sentence = bool(_ENDS_AS_SENTENCE.search(text) or _CREDIT_LINE.match(text))
            # The title line atop a document ("Profile: Dr. Helena Marsh") is a heading,
            # though it reads as a "Key: value" line: it names the subject, says nothing.
            title = not ends_as_sentence and " ".join(text.split()) == " ".join(
                (hit.title or "").split())
            if title or (not ends_as_sentence and not (asks_type and typed)
                         and not _answers_field(text, query_terms, query)):
                # A dateline still answers "When...?"; the document's title line never does
                # ("Minutes of the meeting of 12 February" for "When is the next meeting?").
                penalty += HEADING_PENALTY
            asks = ends_as_sentence and text.rstrip("\"”’') ").endswith("?")
            if asks:
                # A question in the text (an interviewer's, a heading's) asks; the answer
                # is in what follows it. Like a heading, it is no first quote when anything
                # else was found.
                penalty += HEADING_PENALTY
            score -= penalty
            # A sentence read in two passages: a numbered line last in one is told to be a
            # heading in the next, where the text under it follows.
            # A line naming the source ("... | Source: https://... | Date: ...") is quoted
            # first only when nothing else was found, as a heading is; a question about the
            # source is answered by it as a part of the document (rag.about).
            heading = asks or title or (not ends_as_sentence and (
                _is_heading_at(texts, i) or (bool(_SOURCE_LINE.search(text))
                                             and not asks_where))) \
                or (key in best and best[key].heading)
            if key not in best or score > best[key].score:
                best[key] = ScoredSentence(
                    hit, start, end, float(sim), lexical, score, tuple(words), typed=typed,
                    penalty=penalty, refers_back=bool(named),
                    heading=heading)
            elif heading:
                best[key] = replace(best[key], heading=True)
    scored = [replace(s, neighbours=tuple(sorted(neighbours[k]))) for k, s in best.items()]
    scored.sort(key=lambda s: (-s.score, s.hit.doc_id, s.start))
    if not asks_type and (labels := entities.asked_names(query)):
        scored = _check_names(scored, query, labels)
    if asks_only_words(query):
        scored = _check_speaker(scored, query)
    if name := asked_who_named(query):
        scored = _check_described(scored, name)
    return scored


_WHO_IS_NAMED = re.compile(r"^\W*[Ww]ho(?:['’]s| is| was| are| were)\s+(?P<name>[A-Z][\w.’'-]*"
                           r"(?:\s+[A-Z][\w.’'-]*){0,3})\W*$")
DESCRIBED_CHECKED = 20
"""Sentences, best first, read for one that says who "Who is X?" asks about."""


def asked_who_named(question: str) -> str:
    """The name "Who is Bang?" asks about ("Bang"), or ""."""
    match = _WHO_IS_NAMED.match(question.strip())
    return match.group("name") if match else ""


def describes(name: str, sentence: str) -> bool:
    """Whether `sentence` says who `name` is: "...said Bang Jong-kwan, a former South Korean
    Army major general", "Poast, who researches military alliances", "Lee is a former
    envoy"; not "Bang said.", nor "Kim Jong Un, the leader" for "Tongfi Kim"."""
    given = r"\s+".join(re.escape(w) for w in name.rstrip(".’'").split())
    rest = r"(?:[\s-]+[A-Z][\w’'-]*)*"
    for match in re.finditer(
            rf"\b{given}\b{rest}(?:\s*,\s+(?:an?|the|who|whose|[a-z]+(?:['’]s)? (?:of|at|for|in"
            rf"|with))\b|\s+(?:is|was)\s+(?:an?|the)\b)", sentence):
        # The name opens the name it stands in (a title may come before it): not "the
        # International Frédéric Chopin Piano Competition, the..." for "Who was Frédéric
        # Chopin?" (SQuAD's tuning half).
        before = re.search(r"([^\W\d_][\w’'-]*)\W*$", sentence[:match.start()])
        if not before or not before.group(1)[0].isupper() \
                or before.group(1).lower().rstrip(".") in TITLE_WORDS:
            return True
    return False


def _check_described(scored: list[ScoredSentence], name: str) -> list[ScoredSentence]:
    """`scored` with ANSWER_TYPE_PENALTY taken from each sentence that does not say who
    `name` is, when one of the best DESCRIBED_CHECKED does: "Who is Bang?" was answered by
    '"If South Korea sees Russia's expansion as a bigger threat...," Bang said.' before
    "...said Bang Jong-kwan, a former South Korean Army major general." Only the rank
    changes: whether to answer is decided as before."""
    texts = [s.hit.text[s.start - s.hit.start:s.end - s.hit.start] for s in scored]
    if not any(describes(name, t) for t in texts[:DESCRIBED_CHECKED]):
        return scored
    checked = [s if describes(name, t) else replace(s, score=s.score - ANSWER_TYPE_PENALTY,
                                                     penalty=s.penalty + ANSWER_TYPE_PENALTY)
               for s, t in zip(scored, texts, strict=True)]
    return sorted(checked, key=lambda s: (-s.score, s.hit.doc_id, s.start))


NAME_CHECKED_CLOSEST = 2
"""The abstention feature `answer_type` is 1 when the sentence closest to the question holds
the number or time it asks for, or when either of the two closest holds the name it asks
for. Names are found by a statistical recogniser that misses some ("Doritos"), so the
closest alone would be too strict: on SQuAD's tuning half, answerable questions asking for
a name would be refused 81 times in 384 reading only the closest, 28 reading two. Numbers
and times are found by rule, and reading two closest would let 5 more unanswerable seed
questions through ("How old is Kim Jong Un?"). The second closest counts for a question
about a role ("...South Korea's national security adviser?") only when it names the role
(`entities.asked_role`): "said Lee, a former envoy" names someone else."""

NAMES_CHECKED = 5
"""Sentences, best first, read for the name a question asks for (rag.entities); the others
count as not holding one. On SQuAD's tuning half, its 384 questions asking for a name got
the same first quotes (290) and abstentions (31) reading 20, 10 or 5, and each sentence
read costs a few milliseconds (3 on an idle core)."""


def _check_names(scored: list[ScoredSentence], query: str,
                 labels: frozenset[str]) -> list[ScoredSentence]:
    """`scored` with ANSWER_TYPE_PENALTY taken from each sentence that does not name a
    new thing of the kind the query asks for ("Which company...?")."""
    top = scored[:NAMES_CHECKED]
    named = entities.names_new(query, [s.hit.text[s.start - s.hit.start:s.end - s.hit.start]
                                       for s in top], labels)
    if named is None:
        return scored
    named += [False] * (len(scored) - len(top))
    checked = [s if has else replace(s, score=s.score - ANSWER_TYPE_PENALTY, typed=False,
                                     penalty=s.penalty + ANSWER_TYPE_PENALTY)
               for s, has in zip(scored, named, strict=True)]
    return sorted(checked, key=lambda s: (-s.score, s.hit.doc_id, s.start))


_TITLE_BEFORE_COLON = re.compile(r"^[^:\n]*,[^:\n]*:\s")
"""A title with a comma before its colon ("Staff Handbook, Part 5: Leave and Absence") is no
"Key: value" field: a field's key has none."""


def _is_heading_at(texts: Sequence[str], i: int) -> bool:
    """Whether the i-th sentence of a passage is a heading: a line that does not end as a
    sentence, shorter than HEADING_MAX_WORDS, not a list item or a field ("- Geneva",
    "Budget: 2.4 million") nor a credit line. A numbered line is a heading when what
    follows it is not another item ("7. Inspection team" over "The inspection was led
    by...")."""
    text = texts[i]
    if _ENDS_AS_SENTENCE.search(text) or _words(text) >= HEADING_MAX_WORDS \
            or _CREDIT_LINE.match(text):
        return False
    if not _LIST_ITEM.search(text) or _TITLE_BEFORE_COLON.match(text):
        return True
    return bool(_NUMBERED_LINE.match(text)) and i + 1 < len(texts) and not (
        _LIST_ITEM.search(texts[i + 1]) or _NUMBERED_LINE.match(texts[i + 1]))


def _headings(hit: Hit, spans: Sequence[tuple[int, int]]) -> list[int | None]:
    """For each sentence of the passage, the position of the heading it stands under in the
    passage ("Resetting to factory settings" over "Hold the Power and Lock buttons..."), or
    None. The document's title heads all its sentences alike, and a dateline ("Released 14
    October 2026") heads no section: they tell no sentence apart, and are not counted."""
    under: list[int | None] = []
    current = None
    title = " ".join((hit.title or "").split())
    texts = [hit.text[start - hit.start:end - hit.start] for start, end in spans]
    for i, text in enumerate(texts):
        if _is_heading_at(texts, i):
            heads_all = spans[i][0] == 0 or " ".join(text.split()) == title
            current = None if heads_all or _DATE_EXPRESSION.search(text) else i
            under.append(None)
        else:
            under.append(current)
    return under


def _check_speaker(scored: list[ScoredSentence], query: str) -> list[ScoredSentence]:
    """`scored` with ANSWER_TYPE_PENALTY taken from each sentence that does not give the
    words of the person "What did X say?" names (`gives_the_words_asked`, read in its
    passage): "Putin said Seoul would be making a big mistake" before "Kim said he and
    Putin share an unbreakable relationship" or "Putin used his first trip to...".

    Only for a question asking for nothing else: "What did Ed Sorensen say about the cut to
    Parks?" would be answered by "Sorensen proposed an amendment" when the documents
    give his words on nothing, where the first quote, someone else's words on the cut,
    would have it refused (`lacks_the_speaker`)."""
    checked = [s if gives_the_words_asked(query, s.hit.text, s.start - s.hit.start,
                                          s.end - s.hit.start)
               else replace(s, score=s.score - ANSWER_TYPE_PENALTY,
                            penalty=s.penalty + ANSWER_TYPE_PENALTY)
               for s in scored]
    return sorted(checked, key=lambda s: (-s.score, s.hit.doc_id, s.start))


def _line_apart(text: str, one: ScoredSentence, other: ScoredSentence) -> bool:
    """Whether two neighbouring sentences lie in paragraphs of their own and one of them
    is a line that does not end as a sentence ("Commissioned by the Transport Board" over
    a paragraph): joined, they would read as one sentence that is not in the text."""
    first, second = sorted((one, other), key=lambda s: s.start)
    if "\n\n" not in text[first.end:second.start].replace("\r", ""):
        return False
    return not all(_ENDS_AS_SENTENCE.search(text[s.start:s.end]) for s in (first, second))


def pick_quotes(scored: list[ScoredSentence], document_texts: dict[str, str], *,
                limit: int, names: Iterable[str] = (),
                asked: Iterable[str] | None = None) -> list[Quote]:
    """The best sentences as quotes, best first.

    A quote takes in a neighbouring sentence that scores within QUOTE_MARGIN of it;
    a sentence is quoted once, and the same words in another document become `also`.
    When the first quote's document mentions one of `names` (the names the question
    uses), a later quote from a document that mentions none of them, and holding none of
    the question's terms, is off the subject and left out ("Its chief executive is Hannah
    Berg" for "Who is Paul Poast?", but not "The president promised Kyiv..." for "What did
    Biden promise?"). `asked` holds the question's terms that carry content (not "who":
    "Putin, who traveled..." is not about Southmere); without it, any term counts.
    """
    names = tuple(names)
    asked = None if asked is None else frozenset(asked)

    def holds_a_term(sentence: ScoredSentence) -> bool:
        return bool(sentence.lexical) if asked is None else not asked.isdisjoint(sentence.terms)
    on_subject: dict[str, bool] = {}

    def off_subject(doc_id: str) -> bool:
        if doc_id not in on_subject:
            on_subject[doc_id] = mentions_any(document_texts[doc_id], names)
        return not on_subject[doc_id]

    quotes: list[Quote] = []
    by_text: dict[str, int] = {}
    used: set[tuple[str, int, int]] = set()
    by_key = {(s.hit.doc_id, s.start, s.end): s for s in scored}
    for rank, sentence in enumerate(scored):
        key = (sentence.hit.doc_id, sentence.start, sentence.end)
        if key in used or _words(document_texts[key[0]][key[1]:key[2]]) < MIN_QUOTE_WORDS:
            continue  # quoted already, or a fragment: markup, a link text, a heading
        if quotes and sentence.score < quotes[0].score - QUOTE_DROP:
            break
        if sentence.heading and sentence.penalty and (quotes or any(
                not s.heading for s in scored[rank + 1:])):
            # A heading, unless it holds the number or time asked for (a dateline): only
            # then is a heading's score left whole. It names a subject, says nothing of it
            # ("Profile: Dr. Helena Marsh" for "Who is Helena Marsh?"), so it comes first
            # only when nothing else was found.
            continue
        if quotes and names and not holds_a_term(sentence) and not off_subject(quotes[0].doc_id) \
                and off_subject(sentence.hit.doc_id):
            continue
        used.add(key)
        start, end = sentence.start, sentence.end
        said = _said(document_texts[key[0]][start:end])
        if said in by_text:
            # The same words quoted already, from another document or beside another
            # sentence: cited as "also in" there, never quoted twice.
            kept = quotes[by_text[said]]
            if sentence.hit.doc_id != kept.doc_id and all(
                    a.doc_id != sentence.hit.doc_id for a in kept.also):
                quotes[by_text[said]] = replace(kept, also=(*kept.also, Quote(
                    document_texts[key[0]][start:end], start, end, sentence.score,
                    _covering(sentence.hit, start, end, document_texts[key[0]]))))
            continue
        joined = None
        for other in scored[rank + 1:rank + 3]:
            if sentence.score - other.score > QUOTE_MARGIN:
                break
            other_key = (other.hit.doc_id, other.start, other.end)
            if (other.hit.doc_id == sentence.hit.doc_id and other_key not in used
                    and _said(document_texts[key[0]][other.start:other.end]) not in by_text
                    and not sentence.heading and not other.heading
                    and (other.start, other.end) in sentence.neighbours
                    and not _both_items(document_texts[key[0]], sentence, other)
                    and not _line_apart(document_texts[key[0]], sentence, other)):
                start, end = min(start, other.start), max(end, other.end)
                used.add(other_key)
                joined = other
                break
        if joined is None and sentence.refers_back:
            # "She added that no farm would be left behind." alone leaves the reader asking
            # who: the sentence before it, naming her, comes with it.
            previous = max((n for n in sentence.neighbours if n[1] <= start), default=None)
            before = previous and by_key.get((key[0], *previous))
            text = document_texts[key[0]]
            if (before
                    and (key[0], before.start, before.end) not in used
                    and _said(text[before.start:before.end]) not in by_text
                    and not before.heading and mentions_any(text[before.start:before.end], names)
                    and "\n\n" not in text[before.end:start]):
                start = before.start
                used.add((key[0], before.start, before.end))
                joined = before
        if len(quotes) >= limit:
            continue  # still read: the same words elsewhere are cited as "also in"
        text = document_texts[sentence.hit.doc_id][start:end]
        quote = Quote(text, start, end, sentence.score,
                      _covering(sentence.hit, start, end, document_texts[sentence.hit.doc_id]))
        by_text[said] = len(quotes)
        if joined is not None:
            by_text[_said(document_texts[key[0]][joined.start:joined.end])] = len(quotes)
        quotes.append(quote)
    return quotes


def _said(text: str) -> str:
    """A sentence's words as compared for repeats: case and spacing set aside."""
    return " ".join(text.lower().split())


def _covering(hit: Hit, start: int, end: int, document_text: str) -> Hit:
    """`hit`, widened to cover the quote `start:end` when a neighbour it took in lies
    past the passage."""
    if hit.start <= start and end <= hit.end:
        return hit
    left, right = min(hit.start, start), max(hit.end, end)
    return replace(hit, start=left, end=right, text=document_text[left:right])


def _both_items(text: str, one: ScoredSentence, other: ScoredSentence) -> bool:
    """Whether both are list items or table rows ("Planet: Saturn; Moons: 146."): each
    stands alone, so a quote of one does not take in the next."""
    return all(_LIST_ITEM.search(text[s.start:s.end]) for s in (one, other))


_WORD = re.compile(r"\w+")


def mentions_any(text: str, names: Iterable[str]) -> bool:
    """Whether `text` holds a word of one of `names` ("Poast" of "Paul Poast"), whole and in
    any case; words under three letters ("U", "S") do not count."""
    words = {w for name in names for w in _WORD.findall(name) if len(w) >= 3}
    if not words:
        return True
    pattern = r"\b(" + "|".join(sorted(map(re.escape, words))) + r")\b"
    return re.search(pattern, text, re.IGNORECASE) is not None


def names_any(text: str, names: Iterable[str]) -> bool:
    """Whether `text` holds a term of one of `names`, a people's name counting for its
    country's ("Japanese" names Japan)."""
    wanted = {t for words in answer_terms(list(names)) for t in words}
    # "U.S." leaves no term to look for: it cannot be told missing.
    return not wanted or not wanted.isdisjoint(answer_terms([text])[0])


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def mentions_role(role: str, terms: Iterable[str]) -> bool:
    """Whether a sentence's terms name `role`, in any of its forms: "advisor" for "adviser",
    "spokeswoman" for "spokesman", "chair" for "chairman"."""
    family = re.match(r"(spokes|chair|advis)", role)
    if family:
        return any(t.startswith(family.group(1)) for t in terms)
    wanted = {t for words in answer_terms([role]) for t in words}
    return not wanted.isdisjoint(terms)


@lru_cache(maxsize=2)
def abstention_model(*, reader: bool = False) -> dict:
    """The fitted abstention model: feature names, weights, bias and threshold
    (rag/abstention.json; rag/abstention-reader.json when the reader weighs in)."""
    name = "abstention-reader.json" if reader else "abstention.json"
    return json.loads(resources.files("rag").joinpath(name).read_text("utf-8"))


def answer_probability(features: dict[str, float], model: dict | None = None) -> float:
    """Logistic probability that the best quote answers the question."""
    model = model or abstention_model()
    z = model["bias"] + sum(model["weights"][name] * features[name]
                            for name in model["features"])
    return 1.0 / (1.0 + math.exp(-z))


FEATURES = ("sentence_dense", "sentence_lexical", "sentence_rare_terms", "passage_dense",
            "passage_rare_terms", "answer_type", "keyword_score", "unmatched_terms",
            "unmatched_names")
READER_FEATURES = (*FEATURES, "reader")
"""With Settings.reader: the reading model's score of the best quote (rag.reader)."""


@dataclass(frozen=True, slots=True)
class KeywordEvidence:
    """What BM25 saw of the question across the whole store, not just the best passages.

    `top_score` is the best passage's BM25 score; `unmatched` the question's terms found in
    none of the keyword candidates (in a corpus of a few dozen passages: found nowhere);
    `names` the terms of each name the question holds ("Mount Everest": "mount", "everest").
    """

    top_score: float
    passages: int
    unmatched: set[str]
    names: tuple[tuple[str, ...], ...] = ()

    def score(self) -> float:
        """The best BM25 score on a scale that moves little with corpus size: a term's
        weight (IDF) grows with the log of the number of passages, so divide by it."""
        return math.log1p(max(self.top_score, 0.0) / math.log(2 + self.passages))

    def unmatched_content_terms(self) -> int:
        """Unmatched terms that carry content (not "did", "many", "say"), at most 3."""
        return min(3, len(self.unmatched - question_words()))

    def unmatched_names(self) -> int:
        """Names in the question with a word found in none of the keyword candidates, at
        most 1: a name the documents lack ("India", "Mount Everest") is a subject they do
        not cover, where a missing common word may only be a paraphrase."""
        unmatched = self.unmatched - question_words()
        return min(1, sum(any(t in unmatched for t in name) for name in self.names))


# A year where a question names one: "in 2022", "since 1998", "FY2022"; not a count ("Why
# were 1500 workers laid off?", "up to 2000 people").
_YEAR = re.compile(r"\b(?:in|since|by|from|until|till|before|after|during|between|about"
                   r"|around|circa|year|early|late|mid|of|q[1-4]|h[12]|january|february|march"
                   r"|april|may|june|july|august|september|october|november|december)"
                   r"[\s-]*(1[0-9]{3}|20[0-9]{2})\b(?![,.]\d)(?!\s+(?:people|persons|workers"
                   r"|employees|members|students|staff|jobs|units|cases|deaths|votes|homes"
                   r"|households|participants|patients|visitors|passengers|tonnes|tons"
                   r"|miles|kilometres|kilometers|metres|meters|feet|words|pages)\b)",
                   re.IGNORECASE)


def years_in(question: str) -> list[str]:
    """The years a question names ("in 2022"): a year the documents never give is a
    subject they do not cover, not a paraphrase."""
    return _YEAR.findall(question)


def lacks_a_year(question: str, text: str) -> bool:
    """Whether `text` (the first quote's document) lacks a year `question` names."""
    return any(not re.search(rf"(?<![\d,.]){year}(?!\d|[,.]\d)", text)
               for year in years_in(question))


# "What did Kamikawa say about the treaty?" asks for the words of the person it names: a
# quote that neither names that person nor follows a sentence that does ("Minister Astrid
# Vanhoof said..." for "What did Gregory Lund say about the drought?") gives someone
# else's words.
_ASKS_WHAT_SAID = re.compile(
    r"^\W*what (?:else )?(?:did|does|do|has|have|had|would|will) (?P<speaker>.+?) "
    r"(?-i:say|said|tell|told"
    r"|think|thought|argue|argued|claim|claimed|write|wrote|announce|announced|warn|warned"
    r"|add|added|state|stated|predict|predicted|describe|described|reply|replied|answer"
    r"|answered)\b", re.IGNORECASE)  # the verb in lower case: not "the State Department"
_NAME_WORD = re.compile(r"\b[A-Z][\w.’'-]*")
TITLE_WORDS = frozenset("""mr mrs ms miss dr prof professor president minister councillor
    councilor senator governor mayor deputy chief officer executive general sir dame lord
    lady judge justice secretary chair chairman chairwoman director ambassador
    spokesperson spokesman spokeswoman king queen prince princess pope""".split())
"""Words before a person's name that are no part of it ("Councillor Amara Osei")."""
_SPEECH = (r"(?:said|says|told|tells|added|adds|argued|argues|warned|warns|wrote|writes"
           r"|stated|states|replied|explained|noted|insisted|claimed)")
_SPEAKER_NAMED = re.compile(rf"(?-i:\b([A-Z][\w’'-]+)(?:,\s+(?:who|an?|the)\b[^,;.]{{1,100}},)?\s+"
                            rf"{_SPEECH}\b|\b{_SPEECH}\s+"
                            r"(?:(?:the|a|an)\s+)?(?:[A-Z][\w’'.-]*\s+)*([A-Z][\w’'-]+)"
                            r"(?=\s*[,.;:)”\"]|\s+(?:who|in|at|on|of|from)\b|\s*$))")
"""A speaker the quote itself names: "Nandakumar said", "Putin, who traveled to Vietnam,
said", "said Poast", "said Chief Executive Officer Marisol Etxeberria" (the last
capitalised word of the run)."""
_PRONOUNS = frozenset("""i we you he she they it this that who monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august
    september october november december""".split())
"""Capitalised words beside "said" that name no speaker ("She said", "said Tuesday")."""
SPEAKER_LOOKBACK_SENTENCES = 2
"""A quote may follow the sentence naming its speaker ("He added that..."): the speaker is
looked for in the quote and in up to this many sentences before it."""


def asked_speaker(question: str) -> list[str]:
    """The terms of the person whose words "What did X say...?" asks for, one group per
    capitalised word of X that is not a title ("Councillor Ray Dunmore": ray, dunmore);
    empty when X is no name ("he", "the ambassador")."""
    match = _ASKS_WHAT_SAID.match(question)
    if not match:
        return []
    words = [w.rstrip(".,;:’'") for w in _NAME_WORD.findall(match.group("speaker"))]
    words = [re.sub(r"[’']s$", "", w) for w in words if w.lower() not in TITLE_WORDS]
    return [t for terms in answer_terms(words) for t in terms]


def lacks_the_speaker(question: str, text: str, start: int, end: int) -> bool:
    """Whether the quote text[start:end] gives the words of someone other than the person
    "What did X say...?" names: no word of X's name in it, nor in the sentences just
    before it."""
    speaker = asked_speaker(question)
    if not speaker:
        return False
    phrase = _ASKS_WHAT_SAID.match(question).group("speaker")
    if entities.names_a_role(phrase):
        # Named by a role ("Japan's foreign minister"): said by whoever the quote gives
        # that role ("Japan's Foreign Minister Yoko Kamikawa said..."), whatever their
        # name. (Not the sentences before it: "South Korea summoned Russia's ambassador"
        # then "Kamikawa said..." gives no words of the ambassador's.)
        quote = text[start:end]
        return not (_SAYING.search(quote)
                    and set(answer_terms([phrase])[0]) <= set(answer_terms([quote])[0]))
    quoted = [t for name in _SPEAKER_NAMED.findall(text[start:end])
              if (name[0] or name[1]).lower() not in _PRONOUNS
              for t in answer_terms([name[0] or name[1]])[0]]
    if quoted:
        # The quote names who says it: someone else ("Nandakumar said the cut...";
        # "Kim said he and Putin share..." for Putin's words), whoever the sentences
        # before it name, or the person asked about.
        return set(speaker).isdisjoint(quoted)
    if not set(speaker).isdisjoint(answer_terms([text[start:end]])[0]):
        return False
    before = re.split(r"(?<=[.!?\n])\s+", text[max(0, start - 600):start].rstrip())
    window = " ".join(before[-SPEAKER_LOOKBACK_SENTENCES:]) + " " + text[start:end]
    return set(speaker).isdisjoint(answer_terms([window])[0])


_SAYING = re.compile(
    rf"\b(?:{_SPEECH}|say|tell|comment(?:s|ed)?|call(?:s|ed)|describe[sd]|announced?"
    r"|urge[sd]|vow(?:s|ed)|pledge[sd]|denie[sd]|confirm(?:s|ed)|condemn(?:s|ed)"
    r"|critici[sz]e[sd]|rebuke[sd]|respond(?:s|ed)|asks|asked|suggest(?:s|ed)|propose[sd]"
    r"|according to)\b", re.IGNORECASE)
"""Words that give what someone said, or that they said nothing ("China hasn't commented
on the pact")."""


_ONLY_MORE = frozenset("next then later also too again afterwards else".split())


def asks_only_words(question: str) -> bool:
    """Whether `question` asks what a person it names said, and nothing else: "What did
    Putin say?", "What did Putin say next?", "What else did Putin say?", not "What did
    Putin say about Seoul?" nor "What did he say?"."""
    match = _ASKS_WHAT_SAID.match(question)
    rest = question[match.end():] if match else ""
    return bool(match and not _WORD.sub(lambda w: "" if w.group().lower() in _ONLY_MORE
                                        else w.group(), rest).strip(" ?.!,")
                and asked_speaker(question))


def gives_the_words_asked(question: str, text: str, start: int, end: int) -> bool:
    """Whether `question` asks only what someone said ("What did Putin say?", nothing
    after the verb) and the quote text[start:end] gives that person's words: it says
    someone said something, and the speaker it names, if any, is that person. Such a
    question shares one name with its answer and nothing else, so the abstention model,
    fitted on questions that name a topic, finds it too far from any passage."""
    return (asks_only_words(question) and bool(_SAYING.search(text[start:end]))
            and not lacks_the_speaker(question, text, start, end))


def gives_the_field_asked(question: str, text: str, start: int, end: int,
                          title: str = "") -> bool:
    """Whether the quote text[start:end] is a "Key: value" line whose key `question` asks
    for in other words ("Age: 6 years 3 months" for "How old is Juniper?", `field_asked`),
    of a record about what the question names: its other words are in the line, the first
    line of its record ("Patient: Juniper") or the document's title, all but one in three.
    Such a line shares few words with the question, so the abstention model finds it far."""
    quote = text[start:end]
    asked = field_asked(question, quote)
    if not asked or "\n" in quote.strip() or not answer_type_match(question, quote):
        return False
    lines = text[:start].split("\n")[:-1]
    head = ""
    for line in reversed(lines):
        if not line.strip() or not _FIELD.match(line) or _ENDS_AS_SENTENCE.search(line):
            break
        head = line
    wanted = set(answer_terms([question])[0]) - question_words() - set(asked)
    found = {t for words in answer_terms([quote, head, title]) for t in words}
    return len(wanted - found) <= len(wanted) // 3


_PERIOD = re.compile(
    r"\b(?:(?P<nth>first|second|third|fourth|1st|2nd|3rd|4th)[\s-]+(?P<part>quarter|half)"
    r"|(?P<short>[qh][1-4])\b)", re.IGNORECASE)
_NTH = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
        "4th": 4}


def periods_in(text: str) -> set[str]:
    """The quarters and halves of a year `text` names, as "q1" to "q4", "h1" and "h2":
    "the fourth quarter", "Q4", "first-half", "H2"."""
    found = set()
    for match in _PERIOD.finditer(text):
        if match.group("short"):
            short = match.group("short").lower()
            if short[0] == "q" or short[1] in "12":
                found.add(short)
        else:
            found.add(f"{match.group('part')[0].lower()}{_NTH[match.group('nth').lower()]}")
    return {p for p in found if p[0] == "q" or p[1] in "12"}


_PERIOD_OF_A_YEAR = re.compile(
    r"\b(?:(?:first|second|third|fourth|1st|2nd|3rd|4th)[\s-]+(?:quarter|half)"
    r"(?:\s+of)?(?:\s+(?:the\s+)?(?:fiscal|financial|calendar))?(?:\s+year)?\s+(?:fy\s?)?"
    r"(?:1[0-9]|20)[0-9]{2}|[qh][1-4]\b)", re.IGNORECASE)


def lacks_a_period(question: str, text: str) -> bool:
    """Whether `text` (the first quote's document) lacks a quarter or half of a year the
    question names ("revenue in the fourth quarter of 2024", "Q4"), over a third-quarter
    report. The quarter of a game ("in the fourth quarter") is not checked."""
    asked = periods_in(" ".join(m.group() for m in _PERIOD_OF_A_YEAR.finditer(question)))
    return not asked <= periods_in(text)


def first_quote_misses(question: str, document_text: str, start: int, end: int) -> bool:
    """Whether the first quote, document_text[start:end], cannot answer `question` for
    something the question names and it lacks: the year asked about, in its whole
    document (`lacks_a_year`); the person whose words are asked for, in it or just before
    it (`lacks_the_speaker`); the unit asked for, in it (`lacks_the_unit`), or an amount
    of money (`lacks_money`); the numbered thing asked about, where it names another
    (`names_another_number`)."""
    quote = document_text[start:end]
    return (lacks_a_year(question, document_text) or lacks_a_period(question, document_text)
            or lacks_the_speaker(question, document_text, start, end)
            or lacks_the_unit(question, quote) or lacks_money(question, quote)
            or names_another_number(question, quote,
                                    document_text[max(0, start - NEAR_CHARS):start]))


# "Who is the manager of the bakery?" cannot be answered where no passage found by its
# words says "bakery", whoever else is a manager there.
_ROLE_OF = re.compile(r"^\W*who(?:['’]s| is| was| are| were| will be) (?:the|an?) "
                      r"(?:[\w-]+ ){0,3}?(?:of|at|for) (?:the |an? )?(?P<thing>[^?,;]+)",
                      re.IGNORECASE)


def role_of_the_absent(question: str, found: set[str]) -> bool:
    """Whether `question` asks who holds a role of something ("Who is the manager of the
    bakery?") whose words are in none of the passages its words found (their terms,
    `found`)."""
    match = _ROLE_OF.search(question)
    if not match:
        return False
    wanted = set(answer_terms([match.group("thing")])[0]) - question_words()
    return bool(wanted) and wanted.isdisjoint(found)


# "How much will Phase 1 cost?" is not answered by "The cost of Phase 2 is $118 million":
# a name with a number ("Phase 1", "Zone 4", "Warehouse 7") asked about, where the quote
# gives the same name with another number and never the one asked.
_NUMBERED = re.compile(r"(?<![\w.,-])(?!(?:January|February|March|April|May|June|July|August"
                       r"|September|October|November|December|In|On|At|By|Of|The|And|Or|To"
                       r"|From|Since|Until|Before|After|Than|About|For|Over|Under|Between"
                       r"|Around|Top|Last|First|Next|Page|Pages|Figure|Table)\b)"
                       r"([A-Z][a-z]+)\s+(\d{1,3})\b(?![.,:/-]?\d|\s*(?:%|percent|per\b))")


NEAR_CHARS = 300
"""How far before a quote the thing it is about may be named ("Pump Station 2 has a
standby generator. The generator is sized to run the station for 72 hours")."""


def names_another_number(question: str, quote: str, before: str = "") -> bool:
    """Whether `question` names a numbered thing ("Phase 1") that `quote` names with
    another number ("Phase 2") and neither it nor the text just `before` it names as
    asked."""
    for word, number in _NUMBERED.findall(question):
        given = set(re.findall(rf"\b{word}\s+(\d+)\b(?![.,:/-]?\d)", quote, re.IGNORECASE))
        if given and number not in given and not re.search(
                rf"\b{word}\s+{number}\b(?![.,:/-]?\d)", before, re.IGNORECASE):
            return True
    # "the third desk" is not "the second desk" (a browser review's codeword memo).
    for ordinal, noun in _ORDINAL_THING.findall(question):
        if not noun.islower():
            continue  # a name's word: "the first Super Bowl" vs "their second Super Bowl"
        given = {_ordinal_word(o) for o in re.findall(rf"\b({_ORDINALS})\s+{noun}s?\b", quote,
                                                      re.IGNORECASE)}
        named_before = {_ordinal_word(o) for o in re.findall(
            rf"\b({_ORDINALS})\s+{noun}s?\b", before, re.IGNORECASE)}
        if given and _ordinal_word(ordinal) not in given | named_before:
            return True
    return False


_ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
                  "twelfth").split()


def _ordinal_word(ordinal: str) -> str:
    """"5th" and "fifth" alike: "the university's 5th president" is its fifth."""
    ordinal = ordinal.lower()
    number = re.match(r"\d+", ordinal)
    if number and 1 <= int(number.group()) <= len(_ORDINAL_WORDS):
        return _ORDINAL_WORDS[int(number.group()) - 1]
    return ordinal


_ORDINALS = (r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh"
             r"|twelfth|\d{1,3}(?:st|nd|rd|th)")
# Not "the second most abundant" (a rank), nor a game's "fourth quarter" or "first half",
# which a match report names beside the others: on SQuAD's tuning half, checking those
# refused three right answers ("Early in the fourth quarter, the Broncos drove to...").
_ORDINAL_THING = re.compile(
    rf"\b({_ORDINALS})\s+(?!(?:most|least|more|less|best|worst|quarters?|halves|half|periods?"
    r"|rounds?|innings?|sets?|legs?|games?|matches|match|overtime|time|times)\b|[a-z]+est\b)"
    r"([a-z]{3,})\b", re.IGNORECASE)


# "How much did the company pay for the site?" asks for an amount of money: "which the
# company bought in 2025" does not answer it, "£2.4 million", "free" or "included in the
# ticket price" do (and "12%" does, for "How much did revenue grow?").
_MONEY_NOUNS = (r"money|cash|funding|funds|revenue|profit|income|capital|tax|taxes|rent"
                r"|interest|compensation|debt|aid|investment|tickets?|damages")
_ASKS_MONEY = re.compile(
    # "How much money (net profit) ...?", "How much did it cost?"; not "How much warning
    # must the tenants get before the rent goes up?", an amount of something else.
    rf"^\W*(how much (?:\w+ )?(?:{_MONEY_NOUNS})\b"
    r"|how much (?=(more |less |extra )?(did|does|do|is|are|was|were|will|would|has|have|had"
    r"|can|could|should|must)\b)(?=.*\b(cost|costs|costing|pay|paid|pays|paying|spend|spent"
    r"|spends|spending|charge|charges|charged|price|priced|fee|fees|fare|fares|worth|earn"
    r"|earned|earns|sell|sold|buy|bought|tickets?|budget|budgeted|funding|funded|grant"
    r"|granted|donate|donated|owe|owed|fined?|invest|invested|investment|salary|wages?|rent"
    r"|interest|awarded|compensation|settlement|revenue|profit)\b)"
    r"|what (did|does|do|will|would|should) (it|\w+( \w+){0,5}) cost\b)",
    re.IGNORECASE)
_MONEY = re.compile(
    r"[$£€¥₹]|\b(dollars?|pounds?|euros?|yen|yuan|renminbi|rupees?|francs?|crowns?|kronor"
    r"|kroner|krona|krone|pesos?|rubles?|roubles?|won|cents?|pence|pennies|shillings?"
    r"|lire|lira|USD|EUR|GBP|NOK|SEK|DKK|CHF|JPY|CNY|AUD|CAD|INR|RUB)\b|\d\s?p\b"
    r"|\bfree\b|\bno (extra |additional |further )?(charge|cost|fee)s?\b|\bincluded\b"
    r"|\bnothing\b|%|\bper ?cent\b"
    # "a break fee of six weeks' rent"
    r"|\b(days?|weeks?|months?|years?)['’]? (rent|pay|salary|wages)\b",
    re.IGNORECASE)


def lacks_money(question: str, quote: str) -> bool:
    """Whether `question` asks for an amount of money ("How much did it cost?") and
    `quote` gives none."""
    return bool(_ASKS_MONEY.search(question)) and not _MONEY.search(quote)


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    """Function words of questions, stemmed as the index stems: scikit-learn's English
    stop words (a longer list than BM25's) and the verbs questions are built around."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = sorted(ENGLISH_STOP_WORDS | {"did", "does", "say", "said", "many", "much"})
    return frozenset(_stem(words))


def _stem(words: list[str]) -> list[str]:
    import Stemmer

    return Stemmer.Stemmer("english").stemWords(words)

# Questions that ask for a number, a time or a frequency can only be answered by a
# sentence holding one: the classic answer-type check of rule-based question answering.
_ASKS_NUMBER = re.compile(
    r"^\W*(how (many|much|old|tall|high|far|big|large|heavy|deep|wide)"
    r"|what (is|was|are|were) the (population|number|size|gdp|rate|exchange rate|price|cost"
    r"|height|age|percentage|amount|total|budget|salary|temperature|distance|speed))\b",
    re.IGNORECASE)
_ASKS_TIME = re.compile(r"^\W*((on|in|at|by|since|until|from|for) )?"
                        r"(when|how long|what (year|date|day|time|month|decade|century)"
                        r"|in which (year|month|decade|century)|which (year|month|day))\b",
                        re.IGNORECASE)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty"
    r"|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?"
    r"|trillions?|dozens?|half)\b|%", re.IGNORECASE)
_TIME = re.compile(
    # "May" and "March" only as names: "may develop" and "march on" hold no time.
    r"\d|(?-i:\b(May|March|MAY|MARCH)\b)"
    r"|\b(january|february|april|june|july|august|september|october|november"
    r"|december|(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend)s?"
    r"|today|yesterday"
    r"|tomorrow|tonight|days?|daytime|hours?|minutes?|weeks?|months?|years?|decades?|century"
    r"|centuries|ago|since|until"
    r"|morning|afternoon|evening|night|midnight|noon|midday|dawn|dusk|spring|summer|autumn"
    r"|winter|earlier|later|recently"
    r"|once|now|before|after)\b", re.IGNORECASE)
# "How often...?" is answered by "every year", "twice a month", "regularly".
_ASKS_FREQUENCY = re.compile(r"^\W*how (often|frequently|regularly)\b", re.IGNORECASE)
_FREQUENCY = re.compile(
    # Not "each other" nor "per cent": no time.
    r"\b(every|each(?! other\b)|per(?! ?cent\b)|annual(ly)?|yearly|biennial(ly)?|(semi|bi)-?annual(ly)?|quarterly"
    r"|monthly|weekly|daily|nightly|hourly|fortnightly|bi-?weekly|bi-?monthly|alternate"
    r"|intervals?|once|twice|thrice|times (an?|per|each|every)"
    r"|at times|regular(ly)?|often|occasions?"
    # "exceeded the limit 14 times", "on several occasions": how often, as a count.
    r"|(\d+|two|three|four|five|six|seven|eight|nine|ten|several|many|multiple|numerous) times"
    # ... but not "five times higher", "three times as many": a multiplier.
    r"(?!\s+(higher|lower|more|less|fewer|larger|smaller|bigger|greater|faster|slower"
    r"|longer|shorter|as|the|over)\b)"
    r"|frequent(ly)?|seldom|rarely|occasional(ly)?|always|never|sometimes|usually"
    r"|periodic(al)?(ly)?|routine(ly)?|a (year|month|week|day)"
    # "The market opens on Sundays."
    r"|(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend)s)\b", re.IGNORECASE)


_CREDIT_LINE = re.compile(
    r"^\W*(commissioned|written|prepared|funded|sponsored|financed|published|edited|compiled"
    r"|produced|authored|photographed|directed|translated|illustrated|designed|presented"
    r"|approved|signed|issued|reviewed|submitted|ordered|organi[sz]ed|hosted|led) by\s+\S",
    re.IGNORECASE)
# A sentence ends in . ! ? (or : ;), perhaps followed by closing quotes or brackets;
# a heading, a title line or a dateline does not.
# "Where was it issued?", "What website published it?": a source line may answer those.
_ASKS_WHERE = re.compile(r"\b(where|sources?|publish\w*|websites?|sites?|web|urls?|links?"
                         r"|online|pages?|posted)\b", re.IGNORECASE)
_SOURCE_LINE = re.compile(r"https?://|\bwww\.|\b(source|publisher|url):", re.IGNORECASE)
_FIELD = re.compile(r"^\W*(?:\d{1,3}(?:\.\d{1,3})*\.?\s+)?(?P<key>[^\W\d_][^:\n]{0,40}?)\s*:\s+\S")
"""A "Key: value" line, after its number in a numbered form ("14.1 UN number: UN 3264")."""


def _answers_field(text: str, query_terms: set[str], query: str = "") -> bool:
    """Whether `text` is a "Key: value" line whose key the question names: "Surveyor:
    Gareth Pryce MRICS" says who the surveyor is, as a sentence would, for "Which surveyor
    carried out the inspection?"; it is no heading. So does a key the question asks for in
    other words ("Age: 6 years" for "How old is she?", `field_asked`)."""
    field = _FIELD.match(text)
    if field and _ASKS_WHY.search(query) and not _REASON_KEY.search(field["key"]):
        return False  # "Recall: BrewMaster 3000 Kettle" names the recall, gives no reason
    key = answer_terms([field["key"]])[0] if field else []
    return bool(key) and (query_terms.issuperset(key) or bool(field_asked(query, text)))


_ASKS_WHY = re.compile(r"^\W*(?:(?:and|but|so)\s+)?(?:why|how come|for what reason)\b",
                       re.IGNORECASE)
_REASON_KEY = re.compile(r"\b(?:reasons?|causes?|why|because|grounds|purpose|rationale"
                         r"|explanation|hazards?|risks?|problems?|issues?|defects?)\b",
                         re.IGNORECASE)


# Keys of "Key: value" lines that questions ask for in other words: "How old is Juniper?" is
# answered by "Age: 6 years 3 months", "How much does the job pay?" by "Salary: £31,500".
# Each: the words of the question that ask for it, and the keys that answer them.
_FIELD_WORDS = (
    (re.compile(r"\bhow old\b|\bage[ds]?\b", re.IGNORECASE), ("age", "aged", "born", "birth")),
    (re.compile(r"\bweigh(?:s|ed|t)?\b|\bhow heavy\b", re.IGNORECASE), ("weight",)),
    (re.compile(r"\b(?:pay|pays|paid|earn|earns|salary|wages?)\b", re.IGNORECASE),
     ("salary", "pay", "wage", "wages", "remuneration", "rate")),
    (re.compile(r"\bhow (?:tall|high)\b", re.IGNORECASE), ("height",)),
    (re.compile(r"\bhow long is\b|\bhow far\b", re.IGNORECASE), ("length", "distance")),
    (re.compile(r"\bhow long (?:does|did|will|do)\b", re.IGNORECASE), ("duration", "length")),
    (re.compile(r"\b(?:cost|costs|price|charge|charges)\b|\bhow much is\b", re.IGNORECASE),
     ("price", "cost", "fee", "fees", "charge", "charges")),
    (re.compile(r"\bdeadline\b|\bclos(?:e|es|ing)\b|\bapply by\b", re.IGNORECASE),
     ("deadline", "closing")),
    (re.compile(r"\b(?:phone|telephone|call|ring)\b", re.IGNORECASE),
     ("telephone", "tel", "phone", "mobile")),
    (re.compile(r"\b(?:responsible|in charge|accountable|owns|runs|manages|looks after)\b",
                re.IGNORECASE),
     ("owner", "lead", "manager", "head", "responsible", "director", "coordinator", "chair")),
    (re.compile(r"\b(?:operated|operates|operate|surgery|operation)\b", re.IGNORECASE),
     ("surgeon",)),
    (re.compile(r"\b(?:wrote|written|writes|sent|author)\b", re.IGNORECASE),
     ("from", "author", "signed", "writer")),
)


def field_asked(query: str, text: str) -> list[str]:
    """The terms of `query` that ask, in other words, for the key of `text`, a "Key: value"
    line ("old" of "How old is Juniper?" for "Age: 6 years"), or []."""
    field = _FIELD.match(text) if query else None
    if not field:
        return []
    key = {w.lower() for w in re.findall(r"[^\W\d_]+", field["key"])}
    return [t for pattern, keys in _FIELD_WORDS if not key.isdisjoint(keys)
            for asked in pattern.finditer(query) for t in answer_terms([asked[0]])[0]]


RECORD_MAX_LINES = 12
"""Lines above a field read as its record's (`_record_above`)."""


def _record_above(hit: Hit, spans: Sequence[tuple[int, int]], i: int) -> list[int]:
    """The sentences of the passage above the i-th, up to a blank line, at most
    RECORD_MAX_LINES: the record a field belongs to ("Patient: Juniper" over "Age: 6 years
    3 months"), or the header lines over a document's fields ("Staff Handbook, Part 5:
    Leave and Absence" over "Owner: Mariam Dacosta"), which name what the field describes."""
    above = []
    for j in range(i - 1, max(-1, i - 1 - RECORD_MAX_LINES), -1):
        between = hit.text[spans[j][1] - hit.start:spans[j + 1][0] - hit.start]
        if "\n" not in between or between.count("\n") > 1:
            break  # the same line, or a blank line between: not the record's
        above.append(j)
    return above


_ENDS_AS_SENTENCE = re.compile(r"[.!?:;][\"”’')\]]*\s*$")


# "What date...?" is answered by a date, not by "after the summit"; "Which article of the
# treaty...?" by a numbered part ("Article 4", "the First Amendment", "Chapter IV").
_ASKS_DATE = re.compile(r"^\W*((on|by|from|until) )?(what|which) (exact |specific |precise )?"
                        r"dates?\b", re.IGNORECASE)
_DATE = re.compile(
    r"\d|(?-i:\b(May|March|MAY|MARCH)\b)|\b(january|february|april|june|july|august"
    r"|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow"
    r"|tonight)\b", re.IGNORECASE)
# "What year...?" is answered by a year ("1961", "in the 1990s", "last year"), not by "before
# the dissolution of the Soviet Union", which answers "When...?".
_ASKS_YEAR = re.compile(r"^\W*((in|by|from|until|since) )?(what|which) years?\b"
                        r"(?!\s+(of|groups?|levels?|students?|pupils?|olds?)\b)", re.IGNORECASE)
_YEAR_GIVEN = re.compile(
    r"\b(1\d{3}|20\d{2})s?\b|\bFY ?\d{2,4}\b|['’]\d\ds?\b|\b\d{1,4} ?(BCE?|AD|CE)\b"
    r"|\b(century|centuries|millenni(um|a)|decades?)\b"
    r"|\b(last|this|next|that|the same|the following|the previous) year\b", re.IGNORECASE)
_ASKS_NUMBERED_PART = re.compile(
    r"^\W*((in|under|from|of|by) )?(what|which) (articles?|chapters?|clauses?|paragraphs?"
    r"|amendments?|verses?|volumes?|annex(es)?|appendix|appendices|schedules?)\b"
    # "Which article of the treaty...", "what chapter says...", not "what article was
    # published" (a newspaper's) nor "what part of France" (no numbered part).
    r"(?=\s+(of|in|contains?|contained|sets?|says?|said|covers?|covered|deals?|dealt|holds?"
    r"|gives?|provides?|states?|stated|includes?|protects?|grants?|allows?|lays?|defines?"
    r"|establish(es)?|guarantees?|forbids?|prohibits?|requires?)\b)",
    re.IGNORECASE)
_PART = (r"(articles?|chapters?|clauses?|paragraphs?|amendments?|verses?|volumes?|annex(es)?"
         r"|appendix|appendices|schedules?|sections?|pages?|parts?|titles?|rules?|provisions?)")
_PART_NUMBER = re.compile(
    rf"\b{_PART}\s+(\d|(?-i:[IVXLC]+\b)|[A-Z]\b|(one|two|three|four|five|six|seven|eight"
    r"|nine|ten)\b)|\b(\d+(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth"
    r"|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth"
    rf"|eighteenth|nineteenth|twentieth|last|final|opening|closing)(\s+\w+)?\s+{_PART}\b"
    r"|\u00a7", re.IGNORECASE)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


# "How many kilograms did the cold group lose?" asks for kilograms: a sentence giving the
# loss in per cent does not answer it. Each unit with its spellings and symbols; a symbol
# counts only after a number ("5 kg", "45°").
_UNIT_FORMS = {
    "millimet": r"millimet(?:er|re)s?|(?<=\d)\s?mm\b",
    "centimet": r"centimet(?:er|re)s?|(?<=\d)\s?cm\b",
    "kilomet": r"kilomet(?:er|re)s?|(?<=\d)\s?km2?s?\b",
    "met": r"\bmet(?:er|re)s?\b|(?<=\d)\s?m\b",
    "mile": r"\bmiles?\b|(?<=\d)\s?(?:mi|mph)\b|\bsq\.? mi\b",
    "feet": r"\b(?:feet|foot)\b|(?<=\d)\s?(?:ft|′)",
    "foot": r"\b(?:feet|foot)\b|(?<=\d)\s?(?:ft|′)",
    "inch": r"\binch(?:es)?\b|(?<=\d)\s?(?:in\b|″)",
    "yard": r"\byards?\b|(?<=\d)\s?yds?\b",
    "kilogram": r"\bkilo(?:gram)?s?\b|(?<=\d)\s?kgs?\b",
    "gram": r"\bgrams?\b|(?<=\d)\s?g\b",
    "pound": r"\bpounds?\b|(?<=\d)\s?lbs?\b|£",
    "tonne": r"tonnes?\b|tons?\b",  # "gigatons" too
    "ton": r"tonnes?\b|tons?\b",
    "lit": r"\blit(?:er|re)s?\b|(?<=\d)\s?m?l\b",
    "gallon": r"\bgallons?\b|(?<=\d)\s?gal\b",
    "hectare": r"\bhectares?\b|(?<=\d)\s?ha\b",
    "acre": r"\bacres?\b",
    "degree": r"\bdegrees?\b|°",
    "calorie": r"calories\b|(?<=\d)\s?k?cal\b",
    "watt": r"watts?\b|(?<=\d)\s?[kMG]?W\b",
    "dollar": r"\bdollars?\b|\$|\bUSD\b",
    "euro": r"\beuros?\b|€|\bEUR\b",
}
_ASKS_UNIT = re.compile(
    r"^\W*how (?:many|much) (?:more |fewer |less |square |cubic )*(?P<unit>millimet|centimet"
    r"|kilomet|met|mile|feet|foot|inch|yard|kilogram|gram|pound|tonne|ton|lit|gallon|hectare"
    r"|acre|degree|calorie|(?:kilo|mega|giga)?watt|dollar|euro)(?:ers?|res?|s|es)?\b",
    re.IGNORECASE)


def lacks_the_unit(question: str, quote: str) -> bool:
    """Whether "How many <unit>...?" is asked and `quote` gives no amount in that unit."""
    asked = _ASKS_UNIT.search(question)
    if not asked:
        return False
    unit = re.sub(r"^(kilo|mega|giga)(?=watt)", "", asked.group("unit").lower())
    return not re.search(_UNIT_FORMS[unit], quote, re.IGNORECASE)


# "How many countries signed it?" is not answered by "August 19, 2023": the numbers of a
# date are no count (of someone's age, they may be). A year alone still counts: on SQuAD's
# tuning half, not counting "in 1946" refused 11 more answerable questions ("won the cup
# twice" beside it) for 3 more held-out ones.
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DATE_EXPRESSION = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}}\b)?"
    rf"|\b{_MONTH}\s+\d{{4}}\b|\b\d{{4}}-\d\d-\d\d\b", re.IGNORECASE)
_WEB_ADDRESS = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_CLOCK_TIME = re.compile(r"\b\d{1,2}:\d{2}\b(\s*[ap]\.?m\b\.?)?|\b\d{1,2}\.\d{2}\s*[ap]\.?m\b\.?",
                         re.IGNORECASE)
_ASKS_AGE = re.compile(r"^\W*how old\b", re.IGNORECASE)
_IDENTIFIER = re.compile(r"\b(?:No|Nr|Ref|Reference|Case|Order|Invoice|Serial)\.?\s*:?\s*\d[\d/.-]*"
                         r"|\b(?-i:[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2})\b", re.IGNORECASE)
_TELEPHONE = re.compile(
    r"\b(?:tel|telephone|phone|fax|mobile|call)\b\W{0,3}\+?\(?\d(?:[ ()-]{0,2}\d){6,}"
    r"|(?<![\w.,-])(?:\+\d|\(?0)(?:[ ()-]{0,2}\d){6,}(?!\w|[.,]\d)", re.IGNORECASE)
"""A telephone number: after a word that says so, or opening on "+" or "0" ("01632 960
251"), which a count or an amount written with spaces ("3 500 000") does not."""


_SECTION_NUMBER = re.compile(r"^\s*(\(\d{1,3}\)|\d{1,3}[.)]|\d{1,3}(\.\d{1,3})+\.?)\s+"
                             r"(?=[\"“‘'(\[]?[A-Z])")
"""A section's or item's number before a capital: "1. WHY", "3.1 Recorder network", not
"3.5 million people"."""


def answer_type_match(question: str, quote: str) -> float:
    """0.0 when the question asks for a number, a time, a date, how often something happens
    or a numbered part ("Which article...?") and `quote` does not hold one, else 1.0.

    A number the question itself gives is no answer: "On what date in 1961 was the pledge
    signed?" is not answered by "revives a 1961 pledge"."""
    quote = _WEB_ADDRESS.sub(" ", quote)  # ".../081923-commitment" gives no number
    # Nor does an identifier's number ("Regulation (EC) No 1907/2006" says when nothing
    # was issued) or a postcode ("AB3 5TR"); nor, as a count, a telephone number ("How many
    # pupils...?" was answered by a school's footer).
    quote = _IDENTIFIER.sub(" ", quote)
    # Nor does a section's number ("1. WHY JUNIPER CAME IN" for "What is her date of birth?").
    quote = _SECTION_NUMBER.sub(" ", quote, count=1)
    given = set(_DIGITS.findall(question))
    if given:
        quote = _DIGITS.sub(lambda m: " " if m.group() in given else m.group(), quote)
    # A clock time ("arrived at 03:35") says how many or how old of nothing; a birth
    # date says how old someone is, where other dates count nothing.
    counted = _TELEPHONE.sub(" ", _CLOCK_TIME.sub(" ", quote))
    if _ASKS_NUMBER.search(question) and not _NUMBER.search(
            counted if _ASKS_AGE.search(question) else _DATE_EXPRESSION.sub(" ", counted)):
        return 0.0
    if _ASKS_TIME.search(question) and not _TIME.search(quote):
        return 0.0
    if _ASKS_DATE.search(question) and not _DATE.search(quote):
        return 0.0
    if _ASKS_YEAR.search(question) and not _YEAR_GIVEN.search(quote):
        return 0.0
    if _ASKS_FREQUENCY.search(question) and not _FREQUENCY.search(quote):
        return 0.0
    if _ASKS_NUMBERED_PART.search(question) and not _PART_NUMBER.search(quote):
        return 0.0
    if any(asks.search(question) and not gives.search(quote)
           for asks, gives in _ASKS_CONTACT):
        return 0.0
    return 1.0


# "What is Rhys Penhaligon's phone number?" is answered by a telephone number, not by the
# sentence that names him (a review's walking-holiday page); an email address by one with
# "@"; a date of birth by a date.
_ASKS_CONTACT = (
    (re.compile(r"\b(?:(?:tele)?phone|mobile|fax|contact) numbers?\b"
                r"|\bnumber (?:to|should I|do I|can I) (?:call|ring|phone)\b"
                r"|\b(?:what|which)(?:'s| is| was)\s+(?:the\s+|his\s+|her\s+|their\s+|its\s+)?"
                r"(?:[\w.’'-]+\s+){0,3}?(?:tele)?phone\W*$", re.IGNORECASE),
     re.compile(r"(?<![\w-])\+?\(?\d(?:[ ()-]{0,2}\d){6,}")),
    (re.compile(r"\be-?mail address(?:es)?\b|\b(?:what|which)(?:'s| is| was)\s+(?:the\s+|his\s+"
                r"|her\s+|their\s+|its\s+)?(?:[\w.’'-]+\s+){0,3}?e-?mail\W*$", re.IGNORECASE),
     re.compile(r"[\w.+-]+@[\w-]+\.\w")),
    (re.compile(r"\b(?:date of birth|birth ?date|birthday)\b", re.IGNORECASE),
     re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov"
                r"|dec)[a-z]*\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
                r"\s+\d{1,2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b(?:1[5-9]|20)\d{2}\b",
                re.IGNORECASE)),
)


def answer_features(scored: list[ScoredSentence], hits: list[Hit],
                    sentence_terms: list[list[list[str]]], query_terms: set[str], *,
                    keyword: KeywordEvidence | None = None, query: str = "") -> dict[str, float]:
    """What the abstention decision looks at: how close the best sentence and passage are
    to the query, in meaning (cosine) and in words (share of query terms, plain and
    weighted by how rare each term is among the candidates), and what BM25 found of the
    question in the whole store (its best score; content words found nowhere), and whether
    the closest sentences hold the number, time or name `query` asks for."""
    keyword = keyword or KeywordEvidence(0.0, 0, set(query_terms))
    if not scored:
        return dict.fromkeys(FEATURES, 0.0) | {
            "unmatched_terms": float(keyword.unmatched_content_terms()),
            "unmatched_names": float(keyword.unmatched_names())}
    # The sentences most like the question, before the answer-type check reorders them:
    # that they lack the number, time or name asked for is itself evidence for abstaining.
    asks_name = answer_type_match(query, "") and entities.asked_names(query)
    # A telephone number or an email address may be in the second closest sentence (the
    # first names the role asked about: "Entries to: the Show Secretary").
    asks_contact = any(asks.search(query) for asks, _ in _ASKS_CONTACT)
    by_relevance = sorted(scored, key=lambda s: -s.relevance)
    # A heading is no answer, however close ("The Bell Rock Lighthouse" for "When was the
    # Bell Rock Lighthouse built?"), unless it holds the number or time asked for.
    answers = [s for s in by_relevance if not (s.heading and s.penalty)] or by_relevance
    closest = answers[:NAME_CHECKED_CLOSEST if asks_name or asks_contact else 1]
    best = closest[0]
    # Past the closest, a name answers a question about a role only beside that role.
    role = asks_name and entities.asked_role(query)
    typed = best.typed or any(s.typed and (not role or mentions_role(role, s.terms))
                              for s in closest[1:])
    weights = term_weights(query_terms, [w for words in sentence_terms for w in words])
    passage = next(i for i, h in enumerate(hits) if h.chunk_id == best.hit.chunk_id)
    return {
        "sentence_dense": best.dense,
        "sentence_lexical": best.lexical,
        "sentence_rare_terms": lexical_overlap(weights, best.terms),
        "passage_dense": max((h.dense or 0.0) for h in hits),
        "passage_rare_terms": lexical_overlap(
            weights, {w for words in sentence_terms[passage] for w in words}),
        "answer_type": float(typed),
        "keyword_score": keyword.score(),
        "unmatched_terms": float(keyword.unmatched_content_terms()),
        "unmatched_names": float(keyword.unmatched_names()),
    }


# "She married the painter Declan Rourke" answers "Who was Orla Fennimore's husband?" in a
# biography where "She" is Fennimore, but shares none of the name's words, so any sentence
# that names her outranks it. A sentence whose first reference to anyone is "he" or "she"
# (or that opens on "His" or "Her") is read as referring to the name the nearest sentence
# before it gives first (`referred_subject`): it ranks as if it held that name
# (`referred_terms`), is embedded alone with the name in the pronoun's place (`with_subject`,
# in rag.index), and is quoted with the sentence before it that gives the name.
_PERSONAL_PRONOUN = frozenset({"he", "she"})
_POSSESSIVE_OPENING = frozenset({"his", "her"})
"""A sentence opening on "His" or "Her" ("Her 1979 book sold...") is about that person too;
inside a sentence they, and "him", are more often an object ("walked him to the door")."""
_NOT_A_NAME = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "i"})
_REFERENCE_WORD = re.compile(r"[^\W\d_][\w’'-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+|\n\s*")
_OPENING_THEN_PRONOUN = re.compile(r"[^,.;:!?\"“”]{0,100},\s+(?:he|she)\b")
"""An opening phrase, then "he" or "she": "Born in the mining town of Kiruna, he was..."."""
_MENTIONS_PERSON = re.compile(r"\b(?:he|she|his|her|him)\b", re.IGNORECASE)
REFERS_BACK_SENTENCES = 20
"""Sentences walked back from a "she" sentence for the name it refers to: a profile may
call its subject "he" for paragraphs on end."""
REFERS_BACK_CHARS = 6000


def starts_with_pronoun(sentence: str) -> bool:
    """Whether the first person `sentence` refers to is "he" or "she", before any
    capitalised word but its first ("In 1967 she joined..."), or it opens on "His" or
    "Her" ("Her book sold...")."""
    if _OPENING_THEN_PRONOUN.match(sentence):
        return True
    for i, match in enumerate(_REFERENCE_WORD.finditer(sentence)):
        word = match.group().lower()
        if word in _PERSONAL_PRONOUN or (i == 0 and word in _POSSESSIVE_OPENING):
            return True
        if match.group()[0].isupper() and word not in _NOT_A_NAME and not (
                i == 0 and word in _stop_words()):
            return False
    return False


def first_named(sentence: str, context: str = "") -> str:
    """The first name `sentence` gives, as its run of capitalised words ("Luis Pereira" of
    "The claimant, Luis Pereira, worked..."), passing over a possessive ("Brightwell's head
    of safety, Dana Whitfield, said": "Dana Whitfield"); empty when "he" or "she" comes
    first, or no name. A lone capitalised word opening the sentence ("Colleagues said...")
    is a name only where `context` (the text around) capitalises it mid-sentence too."""
    if _OPENING_THEN_PRONOUN.match(sentence):
        return ""
    run: list[str] = []
    end = 0
    matches = list(_REFERENCE_WORD.finditer(sentence))
    for i, match in enumerate(matches):
        word = match.group()
        if run and sentence[end:match.start()].strip():  # a comma or bracket ends a name
            break
        end = match.end()
        capitalised = word[0].isupper() and word.lower() not in _NOT_A_NAME and not (
            i == 0 and word.lower() in _stop_words())
        if not run and (word.lower() in _PERSONAL_PRONOUN
                        or (i == 0 and word.lower() in _POSSESSIVE_OPENING)):
            return ""
        if capitalised:
            run.append(word)
            if re.search(r"['’]s?$", word):  # a possessive: the name is whose, not who
                run = []
            continue
        if run:
            break
    if matches and run == [matches[0].group()] and context and not re.search(
            rf"[\w,;:] {re.escape(run[0])}\b", context):
        # "Colleagues", "Born": capitalised only as a sentence's first word.
        return first_named(sentence[matches[0].end():]) if len(matches) > 1 else ""
    return " ".join(run)


def referent_names(text: str, start: int, names: Iterable[str]) -> list[str]:
    """The names of `names` that a "she" sentence starting at `start` of `text` refers to
    (`referred_subject`); empty when it refers to none of them."""
    names = [n for n in names if any(len(w) >= 3 for w in _WORD.findall(n))]
    subject = referred_subject(text, start) if names else ""
    # One name holds the other's words ("Poast" is Paul Poast; "Kim" may be Kim Jong Un),
    # but a shared word is not enough: "Kim Jong Un" is not Tongfi Kim.
    said = {w.lower() for w in _WORD.findall(subject)}
    return [n for n in names if subject and mentions_any(subject, [n]) and (
        {w.lower() for w in _WORD.findall(n)} <= said or said <= {
            w.lower() for w in _WORD.findall(n)})]


def referred_subject(text: str, start: int) -> str:
    """Who a "she" sentence starting at `start` of `text` refers to: the name the nearest
    sentence before it gives first (`first_named`), passing over headings and sentences
    that themselves begin with "he" or "she". Empty when that sentence names no one first,
    or none is found close enough."""
    before = text[max(0, start - REFERS_BACK_CHARS):start]
    around = before + text[start:start + REFERS_BACK_CHARS]  # not a whole long document
    walked = 0
    for piece in reversed([p.strip() for p in _SENTENCE_END.split(before)]):
        if not piece or not _REFERENCE_WORD.search(piece):
            continue
        heading = not _ENDS_AS_SENTENCE.search(piece) and _words(piece) < HEADING_MAX_WORDS
        if not heading:
            # The subject is who it names first. A sentence naming no one ends the search,
            # unless it too speaks of a "he" or "she" ("A footbridge he designed...").
            subject = first_named(piece, around)
            if subject or not _MENTIONS_PERSON.search(piece):
                return subject
        walked += 1
        if walked >= REFERS_BACK_SENTENCES:
            return ""
    return ""


SUBJECT_GIVEN_MIN_WORDS = 6
"""A shorter "he" sentence ("He was 86.") is embedded as it stands: with the name in its
place, the name alone would make it close to any question about that person."""


def names_by_pronoun(sentence: str) -> bool:
    """Whether `sentence` is read alone with the name its "he" or "she" stands for: it
    opens on the pronoun (`starts_with_pronoun`) and says enough besides."""
    return _words(sentence) >= SUBJECT_GIVEN_MIN_WORDS and starts_with_pronoun(sentence)


def with_subject(sentence: str, subject: str) -> str:
    """`sentence` with the "he" or "she" it opens on (or its opening "His"/"Her") given as
    `subject`: "He is succeeded by Amina Rask." -> "Karsten Ølberg is succeeded by Amina
    Rask.", the sentence as it reads on its own."""
    for i, match in enumerate(_REFERENCE_WORD.finditer(sentence)):
        word = match.group().lower()
        if word in _PERSONAL_PRONOUN or (i == 0 and word in _POSSESSIVE_OPENING):
            name = subject if word in _PERSONAL_PRONOUN else f"{subject}’s"
            return sentence[:match.start()] + name + sentence[match.end():]
    return sentence


def referred_terms(text: str, spans: Iterable[tuple[int, int]], terms: list[list[str]],
                   names: list[str]) -> list[list[str]]:
    """For each sentence (its span in `text` and its terms), the terms of the question's
    names it refers to as "she" or "he" without giving them; empty for the others."""
    name_terms = {n: answer_terms([n])[0] for n in names}
    given = {t for ts in name_terms.values() for t in ts}
    return [[t for n in referent_names(text, start, names) for t in name_terms[n]]
            if given and given.isdisjoint(words) and starts_with_pronoun(text[start:end])
            else [] for (start, end), words in zip(spans, terms, strict=True)]


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    """English function words ("From", "After", "During"): a sentence's first word is
    capitalised whether or not it is a name. spaCy's list, which is larger than BM25's."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)
