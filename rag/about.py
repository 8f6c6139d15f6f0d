"""Questions about a document itself: its headline, dateline, byline, or publisher.

"What is the headline?", "Where was the article datelined?", "Who wrote it?", "Which
website carried it?" are answered by where a sentence stands in a news document (its
first line, the capitalised place that opens the story, the credit line, the site's
header or footer), not by what it says, so sentence scoring cannot find them. These
rules recognise such questions and point at that place; the answer still quotes the
document's own words, cited like any other quote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import Enum

from .answer import Quote
from .chunk import split_sentences
from .load import Document, paragraph_spans
from .retrieve import Hit

_PIECE = r"(?:news )?(?:article|story|report|piece|document|page|text|statement|release)"
_THIS = rf"(?:the|this|that) {_PIECE}"
_IT = rf"(?:it|{_THIS})"
_OUTLET = (r"(?:news )?(?:website|web site|site|outlet|newspaper|paper|publication|publisher"
           r"|news organi[sz]ation|media outlet)")
_PUBLISHED = (r"(?:publish(?:ed|es)?|carr(?:y|ied|ies)|r[au]n|runs|post(?:ed|s)?|print(?:ed|s)?"
              r"|appear(?:ed|s)?|from)")


class Part(Enum):
    """The parts of a document a question can ask about."""

    HEADLINE = "headline"
    DATELINE = "dateline"
    BYLINE = "byline"
    PUBLISHER = "publisher"
    OPENING = "opening"
    """Asked for a summary ("Summarize the article", "What is it about?"): Briefing writes
    none, and quotes how each document opens (a news story's lead sums it up)."""


# "The headline" as a noun ("What is the headline?", "the headline of the story", "which
# headline did it run"), not as an adjective ("the headline act", "headline inflation").
_NOT_THE_HEADLINE = (r"(?=\s*(?:[?.!,;:)]|$|(?:of|for|on|in|from|that|which|was|is|were|are"
                     r"|read|reads|say|says|said|run|ran|runs|did|does|do|has|had|have"
                     r"|will|would|mean|means|given|used|chosen)\b))")
_OF_A_DOCUMENT = r"(?:it|them|(?:the|this|that|these|those) [\w’'\- ]{1,50})"
# The ways of asking for each part, one alternative a line.
_WAYS = {
    Part.HEADLINE: (
        rf"\b(?:the|its|this|what|which|{_PIECE}(?:'s|’s)) headline\b{_NOT_THE_HEADLINE}",
        r"\bheadline (?:of|for|on)\b",
        rf"\btitle of {_THIS}\b",
        rf"\b{_PIECE}(?:'s|’s) title\b",
        rf"\bwhat (?:is|was) {_THIS} (?:called|titled|named)\b",
        rf"\bhow is {_THIS} titled\b",
    ),
    Part.DATELINE: (
        r"\bdatelined?\b",
        rf"\bwhere (?:was|is) {_THIS} (?:filed|written|reported)\b",
    ),
    Part.BYLINE: (
        r"\bbyline\b",
        rf"\bwho (?:wrote|authored|reported|contributed to) {_THIS}\b",
        rf"\b(?:authors?|writers?|reporters?|journalists?|correspondents?) (?:of|behind"
        rf"|who (?:wrote|contributed to)) {_THIS}\b",
        r"\bwho (?:else )?contributed\b",
    ),
    # "Which website published it?", "Which newspaper is this story from?": the outlet and
    # the document itself must both be named, or "What newspaper did Tesla write for?"
    # (a question on the content) would ask for the site's footer.
    Part.PUBLISHER: (
        rf"\b(?:which|what) {_OUTLET}\b.*\b(?:{_PUBLISHED}\b.*\b{_IT}|{_IT}\b.*\b{_PUBLISHED})\b",
        rf"\bwho (?:published|publishes|carried|ran) {_IT}\b",
        rf"\bwhere (?:was|is) {_THIS} (?:published|carried|posted|run)\b",
        rf"\b(?:source|publisher) of {_THIS}\b",
    ),
    # The whole question asks for a summary: "Summarize the article", "Give me an overview
    # of the report", "TL;DR?", "What is this document about?", "What are the key points?"
    # (not "Who summarized the findings?", nor "What did the summary judgment decide?").
    Part.OPENING: (
        rf"^\W*(?:please\W+|can you\W+|could you\W+)?(?:summari[sz]e|sum up|recap)"
        rf"(?:\s+(?:{_IT}|them|the (?:documents|articles|stories|reports)|{_PIECE}s?"
        r"|(?:the |this |that )?[\w’'\- ]{1,60}))?\W*$",
        rf"^\W*(?:please\W+)?(?:give|show|tell) me (?:a |an |the )?(?:short |brief |quick )?"
        rf"(?:summary|overview|gist|synopsis|recap)\b(?:\s+of\s+{_OF_A_DOCUMENT})?\W*$",
        rf"^\W*(?:what(?:'s|’s| is| was)|what are) (?:the )?(?:gist|summary|overview"
        rf"|synopsis|main points?|key points?|main takeaways?|key takeaways?|main ideas?)"
        rf"(?:\s+of\s+{_OF_A_DOCUMENT})?\W*$",
        r"^\W*(?:a |the )?(?:summary|overview|synopsis|gist|tl;? ?dr)\W*(?:please\W*)?$",
        rf"^\W*what(?:'s|’s| is| was| are) {_IT}s? (?:all )?about\W*$",
        rf"^\W*what (?:does|did|do) {_IT}s? say\W*$",
    ),
}
_ASKS = {part: re.compile("|".join(ways), re.IGNORECASE) for part, ways in _WAYS.items()}

# A story's opening place in capitals before a dash: "SEOUL—", "WASHINGTON (AP) —",
# "NEW YORK, March 3 --".
_DATELINE = re.compile(
    r"[A-Z][A-Z.'’ -]*[A-Z](?:, [A-Z][\w. ]{0,20})?(?: \([A-Za-z. ]{1,20}\))?"
    r" ?(?:—|–|--| - )")
# A credit line: "By Jane Doe", "Ann Simmons contributed to this article."
_NAME = r"[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]*)+"
_BYLINE = re.compile(
    rf"^(?i:by|written by|reporting by|words by|authors?:) {_NAME}"
    rf"|\b(?i:contributed (?:reporting )?to this) {_PIECE}\b"
    rf"|\b(?i:written|reported) by {_NAME}")
_SOURCE = re.compile(r"\b(?:source|publisher|published by|url):|https?://|\bwww\.",
                     re.IGNORECASE)
HEADLINE_MAX_CHARS = 400
"""A headline, or a header or footer line naming the source, is one short line."""
MIN_WORDS = 3
"""A footer shorter than this ("Advertisement") names no publisher."""
LEAD_PARAGRAPHS = 10
"""A dateline opens one of the first paragraphs (after the headline, deck and captions)."""


def asked_part(question: str) -> Part | None:
    """The part of a document `question` asks about, or None for a question on its content."""
    for part, pattern in _ASKS.items():
        if pattern.search(question):
            return part
    return None


def find_part(document: Document, part: Part) -> tuple[int, int] | None:
    """`(start, end)` of the sentence in `document` that gives `part`, or None."""
    text = document.text
    paragraphs = paragraph_spans(text)
    if not paragraphs:
        return None
    if part is Part.HEADLINE:
        start, end = paragraphs[0]
        line_end = text.find("\n", start, end)
        end = end if line_end < 0 else line_end
        return (start, end) if end - start <= HEADLINE_MAX_CHARS else None
    if part is Part.DATELINE:
        for start, end in paragraphs[:LEAD_PARAGRAPHS]:
            if _DATELINE.match(text, start, end):
                return _first_sentence(text, start, end)
        return None
    if part is Part.OPENING:
        return _opening(document, paragraphs)
    # A byline or credit line stands near the top or at the end.
    ends = list(dict.fromkeys(paragraphs[:LEAD_PARAGRAPHS] + paragraphs[-LEAD_PARAGRAPHS:]))
    if part is Part.BYLINE:
        for start, end in ends:
            for s, e in split_sentences(text, start, end):
                if _BYLINE.search(text[s:e]):
                    return s, e
        return None
    # The publisher: a header or footer line naming the source, else the site's own footer.
    for start, end in (paragraphs[0], paragraphs[-1]):
        if end - start <= HEADLINE_MAX_CHARS and _SOURCE.search(text, start, end):
            return start, end
    skipped = set(document.skipped)
    for start, end in reversed(ends):
        if (start, end) in skipped and not _repeated_before(text, paragraphs, start, end):
            s, e = _first_sentence(text, start, end)
            if len(text[s:e].split()) >= MIN_WORDS:
                return s, e
    return None


SCANNED_DOCUMENTS = 200
"""When none of the retrieved documents has the part asked for, up to this many documents
(those searched) are read for it; a larger corpus is not read through for one question."""


def quote_part(part: Part, hits: Sequence[Hit], document: Callable[[str], Document], *,
               score: float, searched: Sequence[str] = (), limit: int = 1) -> list[Quote]:
    """A quote giving `part` of the best-ranked document in `hits` that has one.

    "Who wrote the story?" shares no word with the story, so the story may not be among
    `hits`: then the `searched` documents (ids, when no more than SCANNED_DOCUMENTS) are
    read, and each that has the part is quoted, up to `limit`: which story was meant is
    not known. None found: []. A quote cites the retrieved passage that holds it, or else
    the paragraph it opens (a site's footer is never a passage, since answers do not quote
    boilerplate).
    """
    if part is Part.OPENING:
        # Each document's opening, the best-ranked first: which one was meant is not known.
        return _each_part(part, [*(h.doc_id for h in hits), *searched], document, hits,
                          score, limit)
    for doc_id in dict.fromkeys(h.doc_id for h in hits):
        found = _part_quote(part, document(doc_id), hits, score)
        if found:
            return [found]
    if len(searched) > SCANNED_DOCUMENTS:
        return []
    return _each_part(part, searched, document, hits, score, limit)


def _each_part(part: Part, doc_ids: Sequence[str], document: Callable[[str], Document],
               hits: Sequence[Hit], score: float, limit: int) -> list[Quote]:
    """`part` quoted from each of the documents `doc_ids` that has it, up to `limit`."""
    quotes = []
    for doc_id in dict.fromkeys(doc_ids):
        try:
            found = _part_quote(part, document(doc_id), hits, score)
        except KeyError:  # removed (by another session) since the list was taken
            continue
        if found:
            quotes.append(found)
            if len(quotes) >= limit:
                break
    return quotes


def _part_quote(part: Part, found: Document, hits: Sequence[Hit], score: float) -> Quote | None:
    span = find_part(found, part)
    if span is None:
        return None
    start, end = span
    doc_id = found.id
    hit = next((h for h in hits if h.doc_id == doc_id and h.start <= start and end <= h.end),
               None)
    if hit is None:
        p_start, p_end = next((s, e) for s, e in paragraph_spans(found.text)
                              if s <= start and end <= e)
        hit = Hit(chunk_id=f"{doc_id}:{p_start}-{p_end}", doc_id=doc_id, title=found.title,
                  source=found.source, text=found.text[p_start:p_end], start=p_start,
                  end=p_end, score=0.0, page=found.page_at(p_start))
    return Quote(found.text[start:end], start, end, score, hit)


OPENINGS_SHOWN = 8
"""How many documents' openings "Summarize the documents" quotes, whatever the number of
quotes asked for (3 by default): a review's four documents were summarised by three."""
OPENING_MIN_WORDS = 12
"""The opening is the first paragraph of prose: not the title, a date or a source line, a
byline or a heading, all shorter than this or not ending as a sentence."""


def _opening(document: Document, paragraphs: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The first sentence of the first paragraph of prose, or None (a table, a list)."""
    text = document.text
    skipped = set(document.skipped)
    for start, end in paragraphs[:LEAD_PARAGRAPHS]:
        if (start, end) in skipped or _SOURCE.search(text, start, end):
            continue
        for s, e in split_sentences(text, start, end):
            sentence = text[s:e].rstrip()
            # A caption printed twice (a photo's, over the story) is no opening.
            if (len(sentence.split()) >= OPENING_MIN_WORDS and sentence[-1:] in '.!?"”’'
                    and not _BYLINE.search(sentence) and text.count(sentence) == 1):
                return s, e
    return None


def _first_sentence(text: str, start: int, end: int) -> tuple[int, int]:
    sentences = split_sentences(text, start, end)
    return sentences[0] if sentences else (start, end)


def _repeated_before(text: str, paragraphs: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether the paragraph at `start` repeats an earlier one (a caption printed twice)."""
    return any(text[s:e] == text[start:end] for s, e in paragraphs if s < start)
