"""Split documents into sentences and into passages (chunks) of whole sentences.

Every span is a pair of character offsets into `Document.text`, and
`document.text[start:end] == text` holds for every chunk and sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .load import Document, paragraph_spans

_WORDLIKE = re.compile(r"\w")
_MIN_REPEAT_CHARS = 20
"""Shorter sentences ("Yes.", "Table 1.") may repeat legitimately and are kept."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage: consecutive whole sentences of one document.

    `sentences` holds the `(start, end)` of each sentence in the passage, in order.
    """

    doc_id: str
    title: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"

    def to_record(self) -> dict:
        return {"id": self.id, "doc_id": self.doc_id, "title": self.title,
                "start": self.start, "end": self.end,
                "text": self.text, "sentences": [list(s) for s in self.sentences]}

    @classmethod
    def from_record(cls, record: dict) -> Chunk:
        return cls(doc_id=record["doc_id"], title=record["title"],
                   start=record["start"], end=record["end"],
                   text=record["text"], sentences=tuple(tuple(s) for s in record["sentences"]))


def split_sentences(text: str, start: int = 0, end: int | None = None, *,
                    max_chars: int = 800) -> list[tuple[int, int]]:
    """`(start, end)` of each sentence of `text[start:end]`, trimmed of surrounding space.

    Sentence boundaries come from `sentencex`; a piece with no word character (a
    stray closing quote) joins the sentence before it, and a run longer than
    `max_chars` (a table, text without punctuation) is split at spaces.
    """
    end = len(text) if end is None else end
    # sentencex reads the text after a numbered line ("1. Summary of progress", "(2)
    # Leaders should...") as one list item, up to the next, and does not split it into
    # sentences: each item is split on its own, its number kept on its first sentence.
    items = [m.start() for m in _ITEM_START.finditer(text, start, end) if m.start() > start]
    if items:
        return [span for a, b in zip([start, *items], [*items, end], strict=True)
                for span in split_sentences(text, a, b, max_chars=max_chars)]
    number = _ITEM_START.match(text, start, end) if start == 0 or text[start - 1] == "\n" \
        else None
    if number is None:
        return _segment(text, start, end, max_chars)
    line_end = text.find("\n", number.end(), end)
    if line_end > 0 and _is_heading(text[number.end():line_end]) and (
            _STARTS_SENTENCE.match(text, line_end + 1) or _LIST_MARKER.match(text[line_end + 1:end])):
        # A numbered heading in sentence case ("1. Summary of progress") over its text
        return [_trim(text, start, line_end),
                *split_sentences(text, line_end + 1, end, max_chars=max_chars)]
    spans = _segment(text, number.end(), end, max_chars)
    if spans:
        spans[0] = (_trim(text, start, end)[0], spans[0][1])
    return spans


# A line opening a numbered section or item: "1. Summary", "3.1 Recorder network", "(2)
# Leaders", "4) Press"; what follows starts as a sentence does.
_ITEM_START = re.compile(r"^[ \t]*(\(\d{1,3}\)|\d{1,3}[.)]|\d{1,3}(\.\d{1,3})+\.?)[ \t]+"
                         r"(?=[\"“‘'(\[]?[A-Z])", re.MULTILINE)


def _is_heading(line: str) -> bool:
    """A heading's words after its number, in any case ("Summary of progress"): short, not
    ending as a sentence or clause does, nor on a word that joins it to the next line."""
    line = line.strip()
    words = _TITLE_WORD.findall(line)
    return (0 < len(words) <= TITLE_LINE_MAX_WORDS and "," not in line
            and line[-1] not in ".!?:;,-–—(\"“‘'’" and words[-1].lower() not in _TITLE_JOINTS)


def _segment(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    from sentencex import segment

    spans: list[tuple[int, int]] = []
    cursor = start
    for piece in segment("en", text[start:end]):
        found = text.find(piece, cursor, end)
        if found < 0:  # the splitter altered the text: fall back to what remains
            found, piece = cursor, text[cursor:end]
        s, e = _trim(text, found, found + len(piece))
        cursor = found + len(piece)
        if s >= e:
            continue
        if spans and not _WORDLIKE.search(text[s:e]):
            spans[-1] = (spans[-1][0], e)
        else:
            for line_start, line_end in _split_after_headings(text, s, e):
                spans.extend(_split_long(text, line_start, line_end, max_chars))
        if cursor >= end:
            break
    return spans


# A Markdown heading line ("## Dredging") ends its sentence even without a blank line after.
_MARKDOWN_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t][^\n]*\n", re.MULTILINE)
TITLE_LINE_MAX_WORDS = 10
FIELD_LABEL_MAX_WORDS = 5
# "Budget: 2.4 million euros", "Phone: 555-0199": a name of up to four words, a colon, a value.
_FIELD_LINE = re.compile(r"^[-*•]?\s*[A-Z][\w()/&'’.-]*(?: [\w()/&'’.-]+){0,9}:\s+\S")
"""Up to ten words before the colon: "Presentation of prizes and trophies by the Show
President: 4:30 pm" in a timetable is a field too."""
_TITLE_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_TITLE_JOINTS = frozenset({"a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "at",
                           "by", "with", "from", "into", "de", "del", "van", "von", "vs"})
_STARTS_SENTENCE = re.compile(r"[\"“‘'(\[]?[A-Z0-9]")


def _split_after_headings(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces = []
    for match in _MARKDOWN_HEADING.finditer(text, start, end):
        if match.end() < end:
            pieces.append(_trim(text, start, match.end()))
            start = match.end()
    line_end = text.find("\n", start, end)
    if line_end > 0 and _is_title_line(text, start, line_end):
        pieces.append(_trim(text, start, line_end))
        start = line_end
    # Lines of fields ("Budget: 2.4 million euros" over "Deadline: 30 June 2026"), and
    # a title line over the first, are sentences of their own, however they end; prose
    # wrapped before "Europe: energy..." goes on.
    line_start = start
    while (line_end := text.find("\n", line_start, end)) > 0:
        next_end = text.find("\n", line_end + 1, end)
        next_end = end if next_end < 0 else next_end
        line = text[line_start:line_end].strip()
        after_end = text.find("\n", next_end + 1, end) if next_end < end else -1
        after = text[next_end + 1:end if after_end < 0 else after_end].strip() \
            if next_end < end else ""
        following = text[line_end + 1:next_end].strip()
        if line and ((_FIELD_LINE.match(following) and (
                _FIELD_LINE.match(line) or _is_title_line(text, line_start, line_end)
                # a label heads two fields or more: "Europe: the winter was cold" under
                # "Energy prices rose sharply across" is one line of wrapped prose
                or (_is_label(line) and _FIELD_LINE.match(after))))
                # a field over the label of the next fields ("Entries to: the Secretary"
                # over "Timetable for the day")
                or (_FIELD_LINE.match(line) and _is_label(following)
                    and _FIELD_LINE.match(after))
                or _between_items(line, following, after)
                or _ends_short(text, line_end, following)):
            pieces.append(_trim(text, start, line_end))
            start = line_end
        line_start = line_end + 1
    pieces.append(_trim(text, start, end))
    return [(s, e) for s, e in pieces if s < e]


# Lines of a list each opening on the same word and a number: "Class 11 Three dahlias",
# "Class 12 ...", as a schedule, a menu or a floor plan sets them out.
_LABELLED_ITEM = re.compile(r"^(?P<label>[A-Z][a-z]{1,15})\s+\d{1,3}[A-Za-z]?\b(?![.,:]\d)")


def _between_items(line: str, following: str, after: str) -> bool:
    """Whether a line break between `line` and `following` (then `after`) separates items
    of a list whose lines open on the same word and a number ("Class 17 One foliage pot
    plant" over "Class 18 A cactus"), or such an item from a field ("Section C: Domestic"),
    or a field or heading from the first of two such items."""
    this, nxt, then = (_LABELLED_ITEM.match(x) for x in (line, following, after))
    if this and nxt:
        return this["label"] == nxt["label"]
    if this:
        return bool(_FIELD_LINE.match(following))
    return bool(nxt and then and nxt["label"] == then["label"])


SHORT_LINE_SHARE = 0.6
"""A line shorter than this share of the text's wrapping width ends where it ends."""
WIDTH_MIN_LINES = 8
"""Lines a text needs for its wrapping width to be told."""


@lru_cache(maxsize=4)
def _wrap_width(text: str) -> int:
    """The width a hard-wrapped text (a PDF page, a plain-text file) is wrapped to: the
    90th percentile of its line lengths; 0 for a text of too few lines to tell."""
    lengths = sorted(len(line.strip()) for line in text.split("\n") if line.strip())
    if len(lengths) < WIDTH_MIN_LINES:
        return 0
    return lengths[int(0.9 * (len(lengths) - 1))]


def _ends_short(text: str, line_end: int, following: str) -> bool:
    """Whether the line ending at `line_end`, followed by the line `following` in the same
    sentence piece, ends there although it does not end as a sentence does: it is far shorter than the lines
    the text is wrapped to ("Class 17 One foliage pot plant" over "Class 18 A cactus or
    succulent", "Glacier Survey 2025" over "The glacier lost..."), does not end on a word
    or mark that joins it to the next line, and the next line starts as a sentence does.
    Prose wrapped at its width has no such line but a paragraph's last."""
    width = _wrap_width(text)
    # The whole line, not only its part in this sentence piece.
    line = text[text.rfind("\n", 0, line_end) + 1:line_end].strip()
    if not width or len(line) >= SHORT_LINE_SHARE * width or not _STARTS_SENTENCE.match(
            following):
        return False
    words = _TITLE_WORD.findall(line)
    return bool(words) and line[-1] not in ",:;-–—(\"“‘'’&/" \
        and words[-1].lower() not in _TITLE_JOINTS


_LIST_MARKER = re.compile(r"^\s*([-*+•▪◦‣]|\d+[.)])\s")
# A table row as the loaders write it: "Item: Roof; Cost: 400,000."
_TABLE_ROW = re.compile(r"^\s*[^:;\n]{1,60}: [^;\n]*; [^:;\n]{1,60}: ")


def is_item(sentence: str) -> bool:
    """Whether a sentence is a table row or a list item ("Item: Roof; Cost: 400,000.",
    "- Geneva", "2) Geneva"), which says nothing of the row or item beside it. (Not a
    "Results: ..." line of an abstract, which goes on from the one before.)"""
    return bool(_TABLE_ROW.match(sentence) or _LIST_MARKER.match(sentence))


def _is_label(line: str) -> bool:
    """A few words heading the fields under them ("Project Falcon status"): at most
    FIELD_LABEL_MAX_WORDS, not ending as a sentence or on a joining word."""
    words = _TITLE_WORD.findall(line)
    return (0 < len(words) <= FIELD_LABEL_MAX_WORDS and "," not in line
            and line[-1] not in ".!?:;,-–—(\"“‘'’" and words[-1].lower() not in _TITLE_JOINTS)


def _is_title_line(text: str, start: int, end: int) -> bool:
    """Whether the line `text[start:end]`, which opens a sentence and is followed by
    another line, is a title of its own ("Harbor Lighthouse" over "The lighthouse is 30 m
    tall."): short, not ending as a sentence or clause does, followed by a line that starts
    as a sentence, and in title case. A line wrapped mid-sentence ("The report was
    signed by" over "Vladimir Putin...") is not: a sentence's words are not all capitalized."""
    line = text[start:end].strip()
    words = _TITLE_WORD.findall(line)
    if not words or len(words) > TITLE_LINE_MAX_WORDS or "," in line \
            or line[-1] in ".!?:;,-–—(\"“‘'’" or re.search(r"[’']s\b", line):
        return False
    if not _STARTS_SENTENCE.match(text, end + 1):
        return False
    # Every word capitalised but the small ones that join a title's words, and the last
    # word no such joint: "...the United States and" over "Japan will consult" goes on.
    return (all(w[0].isupper() or w.lower() in _TITLE_JOINTS for w in words)
            and words[-1].lower() not in _TITLE_JOINTS)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars)
        if cut <= start:
            cut = start + max_chars
        s, e = _trim(text, start, cut)
        if s < e:
            pieces.append((s, e))
        start, _ = _trim(text, cut, end)
    if start < end:
        pieces.append((start, end))
    return pieces


def document_sentences(document: Document, *, max_chars: int = 800
                       ) -> list[list[tuple[int, int]]]:
    """The document's quotable sentences, grouped in runs that no passage may cross.

    A run breaks at each skipped paragraph (repeat or boilerplate), at each page,
    and where a sentence repeats an earlier one word for word (a photo caption
    printed twice): the repeat is left out.
    """
    skipped = set(document.skipped)
    page_starts = {start for start, _ in document.pages[1:]}
    seen: set[str] = set()
    runs: list[list[tuple[int, int]]] = [[]]
    for span in paragraph_spans(document.text):
        if span in skipped:
            runs.append([])
            continue
        if any(span[0] <= p <= span[1] for p in page_starts):
            runs.append([])
        for start, end in split_sentences(document.text, *span, max_chars=max_chars):
            key = " ".join(document.text[start:end].lower().split())
            if len(key) >= _MIN_REPEAT_CHARS and key in seen:
                runs.append([])
                continue
            seen.add(key)
            runs[-1].append((start, end))
    return [run for run in runs if run]


def chunk_document(document: Document, *, chunk_chars: int = 600, overlap: int = 1,
                   max_sentence_chars: int = 800) -> list[Chunk]:
    """Passages of whole sentences up to about `chunk_chars` characters.

    Consecutive passages share `overlap` sentences; a passage never crosses a
    skipped paragraph or a page break, and a single sentence longer than
    `chunk_chars` is a passage of its own.
    """
    chunks = []
    for run in document_sentences(document, max_chars=max_sentence_chars):
        first = 0
        while first < len(run):
            last = first
            while last + 1 < len(run) and run[last + 1][1] - run[first][0] <= chunk_chars:
                last += 1
            start, end = run[first][0], run[last][1]
            chunks.append(Chunk(document.id, document.title, start, end, document.text[start:end],
                                tuple(run[first:last + 1])))
            if last + 1 >= len(run):
                break
            first = max(first + 1, last + 1 - overlap)
    return chunks
