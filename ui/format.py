"""Answers, documents and conversations as HTML for the browser and Markdown for download.

Pure functions: data in, text out. Every piece of document text goes through
`html.escape`, so a document holding `<script>` or `<img onerror=...>` is shown as
text and never runs. Citation buttons carry the cited place in `data-*` attributes;
the page's script (see `ui.assets`) turns a click into a request for that document.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import PurePath

import rag
from rag.answer import no_word_note
from rag.retrieve import cited_title

EMPTY_CONVERSATION = ("Ask a question about your documents. Every answer is quoted from them, "
                      "with its source.")
NO_ANSWER = "The documents don't cover this."
NO_ANSWER_IN_SCOPE = "The documents searched don't cover this."
EMPTY_VIEWER = "Click a citation such as [1] to open its document here."
QUESTION_SHOWN_CHARS = 300
"""A longer question is cut when shown: a pasted 100,000-character text would bury the chat."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange: the question, and its answer or the error that stopped it.

    `places` says where each cited passage sits ("paragraph 4", "p. 2"), one per item
    of `cited(answer)`, and `also_places` where each quote's "also in" copies sit, worked
    out when the question was asked. `scope` holds the titles of the documents searched
    when the search was limited to some ("Search only in").
    """

    question: str
    answer: rag.Answer | None = None
    error: str = ""
    places: tuple[str, ...] = ()
    also_places: tuple[tuple[str, ...], ...] = ()
    scope: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    """The ids of the documents searched when the search was limited to some."""
    pending: bool = False
    """Asked, its answer on the way."""
    changed: str = ""
    """Asked again after a reload, when the answer is not the one shown before: what that
    one was (`ui.conversation.restored`)."""

    def searched_only_in(self) -> str:
        return f"Searched only in: {', '.join(self.scope)}" if self.scope else ""

    def no_answer(self) -> str:
        said = NO_ANSWER_IN_SCOPE if self.scope else NO_ANSWER
        note = no_word_note(self.answer.question, self.answer.no_word_found) \
            if self.answer is not None else ""
        return f"{said} {note}" if note else said


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One line of the documents panel."""

    id: str
    title: str
    kind: str
    size: int
    chunks: int
    uploaded: bool = False


# --- small pieces -------------------------------------------------------------------------

def escape(text: str) -> str:
    """Text made safe to place in HTML content or a quoted attribute."""
    return html.escape(text, quote=True)


def shorten(text: str, limit: int = QUESTION_SHOWN_CHARS) -> str:
    """`text` cut to `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _whole(question: str) -> str:
    """A long question cut in its bubble can still be read whole, on request."""
    if shorten(question) == question:
        return ""
    return ('<details class="whole-question"><summary><span class="when-closed">Show the '
            'whole question</span><span class="when-open">Show it shortened</span></summary>'
            f"<p>{escape(question)}</p></details>")


def human_size(size: int) -> str:
    """1536 -> '1.5 KB': sizes as people read them (1 KB = 1024 bytes, as file managers do)."""
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


@lru_cache(maxsize=64)
def _paragraph_starts(text: str) -> tuple[int, ...]:
    # A paragraph starts at the first non-space character after a blank line (or the start).
    return tuple(m.start(1) for m in re.finditer(r"(?:\A|\n[ \t]*\n)\s*(\S)", text))


def paragraph_number(text: str, offset: int) -> int:
    """The 1-based number of the paragraph (blank-line separated) holding `offset`."""
    return max(1, bisect_right(_paragraph_starts(text), offset))


def place(document: rag.Document, offset: int, end: int | None = None) -> str:
    """Where `offset` (to `end`) sits, as a reader finds it: 'p. 3' in a PDF, else
    'paragraph 4'; 'pp. 3-4' or 'paragraphs 4-5' when the span runs on."""
    last = max(offset, (end if end is not None else offset) - 1)
    page = document.page_at(offset)
    if page is not None:
        last_page = document.page_at(last) or page
        return f"pp. {page}-{last_page}" if last_page > page else f"p. {page}"
    first, final = (paragraph_number(document.text, o) for o in (offset, last))
    return f"paragraphs {first}-{final}" if final > first else f"paragraph {first}"


def cited(answer: rag.Answer) -> list[tuple[rag.Hit, int, int]]:
    """What an answer shows, in order: each quote's passage and the quote's span; when the
    answer abstains, the closest passages, each spanning itself (nothing is highlighted
    as an answer) less what an earlier one already showed, the one holding the sentence
    nearest the question first (the quotes of an abstention come nearest first)."""
    if answer.abstained:
        def nearest_quote(hit: rag.Hit) -> int:
            return next((rank for rank, q in enumerate(answer.quotes)
                         if q.doc_id == hit.doc_id and hit.start <= q.start < hit.end),
                        len(answer.quotes))

        return without_repeats(sorted(answer.hits, key=nearest_quote))
    return [(quote.hit, quote.start, quote.end) for quote in answer.quotes]


def also_in(answer: rag.Answer) -> list[tuple[rag.Quote, ...]]:
    """For each item of `cited(answer)`, the other documents' copies of its quote (an
    abstention's closest passages have none)."""
    if answer.abstained:
        return [() for _ in cited(answer)]
    return [quote.also for quote in answer.quotes]


def without_repeats(hits: Sequence[rag.Hit]) -> list[tuple[rag.Hit, int, int]]:
    """Each passage's span less the sentences that an earlier passage of the same document
    shows: passages overlap by a sentence or two, and a reader should not meet the same
    sentence twice. A passage with nothing left is dropped."""
    shown: list[tuple[str, int, int]] = []
    spans = []
    for hit in hits:
        start, end = hit.start, hit.end
        for doc_id, a, b in shown:
            if doc_id == hit.doc_id and a <= start < b:
                start = b  # its beginning was shown
            if doc_id == hit.doc_id and a < end <= b:
                end = a  # its end was shown
        text = hit.text[start - hit.start:end - hit.start] if start < end else ""
        if not any(ch.isalnum() for ch in text):
            continue
        start += len(text) - len(text.lstrip())
        end -= len(text) - len(text.rstrip())
        shown.append((hit.doc_id, start, end))
        spans.append((hit, start, end))
    return spans


def context_windows(items: Sequence[tuple[rag.Hit, int, int]]) -> list[tuple[int, int]]:
    """For each quote (passage, quote start, quote end), the part of its passage to show
    around it: the whole passage, less the sentences before or after the quote that
    another quote is, or that an earlier item already showed. Overlapping passages would
    otherwise show a sentence twice, once as context and once as a quote."""
    windows: list[tuple[int, int]] = []
    for i, (hit, start, end) in enumerate(items):
        left, right = hit.start, hit.end
        taken = [(a, b) for j, (other, a, b) in enumerate(items)
                 if j != i and other.doc_id == hit.doc_id]
        taken += [w for j, w in enumerate(windows) if items[j][0].doc_id == hit.doc_id]
        for a, b in taken:
            if left < b <= start:
                left = b
            if end <= a < right:
                right = a
        text = hit.text[left - hit.start:right - hit.start]
        left += len(text) - len(text.lstrip())
        right -= len(text) - len(text.rstrip())
        windows.append((min(left, start), max(right, end)))
    return windows


def highlighted_passage(hit: rag.Hit, start: int, end: int, *, marker: str = "",
                        window: tuple[int, int] | None = None) -> str:
    """The passage (or its part `window`, document offsets) as HTML with the quoted span
    `start:end` in <mark>, followed by `marker` (HTML, e.g. the citation button). An
    empty span marks nothing."""
    left, right = window or (hit.start, hit.end)
    text = hit.text[max(left - hit.start, 0):max(right - hit.start, 0)]
    base = max(left, hit.start)
    a = min(max(start - base, 0), len(text))
    b = min(max(end - base, a), len(text))

    def shown(part: str) -> str:
        return escape(unwrapped(part, hit.source))

    if a == b:
        return shown(text) + marker
    # A line break at the quote's edge ends a line (a heading over the quote), whatever the
    # document: "Glacier Survey 2025" over the quoted sentence of a PDF ran into it.
    before, after = text[:a], text[b:]
    edge_before = before[len(before.rstrip("\n")):]
    edge_after = after[:len(after) - len(after.lstrip("\n"))]
    return (f"{shown(before[:len(before) - len(edge_before)])}{edge_before}<mark>"
            f"{shown(text[a:b])}</mark>{marker}{edge_after}{shown(after[len(edge_after):])}")


_LINE_WRAP = re.compile(r"(?<![\n-])\n(?!\n)")


def unwrapped(text: str, source: str) -> str:
    """Text as it reads: a PDF's lines joined where the page merely wrapped them ("in a
    letter", not "in a" over "letter"); paragraph breaks stay. Shown only: citations
    keep the document's offsets."""
    return _LINE_WRAP.sub(" ", text) if source.lower().endswith(".pdf") else text


def cite_button(number: int, hit: rag.Hit, start: int, end: int, *, label: str = "",
                css: str = "cite", closest: bool = False) -> str:
    """A button that opens the document at the cited place; `label` defaults to '[n]'.
    `closest`: the place is a closest passage of an abstention, not an answer."""
    text = label or f"[{number}]"
    # "[1]" alone says nothing to a screen reader: it is named by its source.
    named = "" if label else f' aria-label="Source {number}: {escape(hit.title)}"'
    flag = ' data-closest="1"' if closest else ""
    return (f'<button type="button" class="{css}" data-doc="{escape(hit.doc_id)}" '
            f'data-start="{start}" data-end="{end}" data-pstart="{hit.start}" '
            f'data-pend="{hit.end}"{flag} title="Open {escape(hit.title)} at this passage"'
            f"{named}>{escape(text)}</button>")


# --- answers and conversations ------------------------------------------------------------

def answer_html(turn: Turn) -> str:
    """One turn: the question, then the quotes with their sources, the abstention, or the
    error message."""
    # A blank question's message is shown once and not kept ("unsaved").
    parts = ['<div class="turn">' if turn.question.strip() or turn.answer
             else '<div class="turn unsaved">']
    if turn.question.strip():
        parts.append(f'<div class="question"><span class="who">You</span>'
                     f"<p>{escape(shorten(turn.question))}</p>"
                     # (a question refused as too long is not shown whole)
                     f"{_whole(turn.question) if turn.answer else ''}</div>")
    answer = turn.answer
    if turn.pending:
        parts.append('<div class="pending" role="status">Searching the documents…</div>')
        return "".join(parts) + "</div>"
    if answer is None:
        parts.append(f'<div class="answer error" role="alert">{escape(turn.error)}</div>')
        return "".join(parts) + "</div>"
    parts.append('<div class="answer abstained">' if answer.abstained else '<div class="answer">')
    if answer.rewritten:
        parts.append(f'<p class="searched">Searched for: {escape(shorten(answer.query))}</p>')
    if answer.note:
        parts.append(f'<p class="searched note">{escape(answer.note)}</p>')
    if turn.changed:
        parts.append(f'<p class="searched changed">{escape(turn.changed)}</p>')
    if turn.scope:
        parts.append(f'<p class="searched scope">{escape(shorten(turn.searched_only_in()))}</p>')
    items = cited(answer)
    if answer.abstained:
        parts.append(f'<p class="no-answer">{turn.no_answer()}</p>')  # a constant
        if items:
            parts.append('<p class="closest-label">Closest passages, which do not answer it:</p>')
    parts.append('<ol class="quotes">')
    windows = context_windows(items) if not answer.abstained else []
    for number, (hit, start, end) in enumerate(items, start=1):
        marker = cite_button(number, hit, start, end, closest=answer.abstained)
        # A closest passage is not an answer: nothing in it is highlighted as one.
        if answer.abstained:
            shown = escape(hit.text[start - hit.start:end - hit.start]) + marker
        else:
            shown = highlighted_passage(hit, start, end, marker=marker,
                                        window=windows[number - 1])
        parts.append(f'<li class="quote"><blockquote>{shown}</blockquote></li>')
    parts.append("</ol>")
    if items:
        parts.append('<div class="sources"><span class="sources-title">Sources</span><ol>')
        for number, ((hit, start, end), also) in enumerate(
                zip(items, also_in(answer), strict=True), start=1):
            where = turn.places[number - 1] if number <= len(turn.places) else ""
            label = f"[{number}] {_titled(hit.title, where)}"
            source = cite_button(number, hit, start, end, label=label, css="source",
                                 closest=answer.abstained)
            parts.append(f"<li>{source}")
            if also:
                buttons = ", ".join(
                    cite_button(number, a.hit, a.start, a.end, css="source also",
                                label=_titled(a.hit.title, _also_place(turn, number, i)),
                                closest=answer.abstained)
                    for i, a in enumerate(also))
                # A space, not only a margin: read aloud, "paragraph 2also in" ran together.
                parts.append(f' <span class="also-in">also in {buttons}</span>')
            parts.append("</li>")
        parts.append("</ol></div>")
    return "".join(parts) + "</div></div>"


def _also_place(turn: Turn, number: int, i: int) -> str:
    """Where the `i`th "also in" copy of quote `number` sits, or "" when not known."""
    places = turn.also_places[number - 1] if number <= len(turn.also_places) else ()
    return places[i] if i < len(places) else ""


def _titled(title: str, where: str) -> str:
    return f"{cited_title(title)}, {where}" if where else title


def conversation_html(turns: Sequence[Turn]) -> str:
    """The whole conversation, oldest first, or an invitation to ask when it is empty."""
    if not turns:
        return f'<div class="conversation"><p class="empty">{escape(EMPTY_CONVERSATION)}</p></div>'
    return '<div class="conversation">' + "".join(answer_html(t) for t in turns) + "</div>"


def conversation_markdown(turns: Sequence[Turn], *,
                          name_of: Callable[[str], str] | None = None) -> str:
    """The conversation as Markdown: each question, its quotes with [n] markers, its sources,
    each named by `name_of(source)` (default `source_name`)."""
    name_of = name_of or source_name
    lines = ["# Briefing conversation", ""]
    for turn in turns:
        whole = " ".join(turn.question.split())
        lines += [f"## {_md(shorten(whole)) or '(empty question)'}", ""]
        if shorten(whole) != whole:
            # The heading is cut as the page's bubble is; the record keeps it all.
            lines += [f"*The whole question:* {_md(whole)}", ""]
        answer = turn.answer
        if answer is None:
            lines += [f"*{_md(turn.error)}*", ""]
            continue
        if answer.rewritten:
            lines += [f"*Searched for:* {_md(answer.query)}", ""]
        if answer.note:
            lines += [f"*{_md(answer.note)}*", ""]
        if turn.changed:
            lines += [f"*{_md(turn.changed)}*", ""]
        if turn.scope:
            lines += [f"*Searched only in:* {_md(', '.join(turn.scope))}", ""]
        items = cited(answer)
        if answer.abstained:
            lines += [f"**{turn.no_answer()}**" + (" The closest passages were:" if items else ""),
                      ""]
        for number, (hit, start, end) in enumerate(items, start=1):
            text = unwrapped(hit.text[max(start - hit.start, 0):end - hit.start], hit.source)
            quoted = "\n".join(f"> {line}".rstrip() for line in _md(text).splitlines())
            lines += [f"{quoted} [{number}]", ""]
        if items:
            lines.append("Sources:")
            for number, ((hit, start, end), also) in enumerate(
                    zip(items, also_in(answer), strict=True), start=1):
                where = turn.places[number - 1] + ", " if number <= len(turn.places) else ""
                lines.append(f"{number}. {_md(cited_title(hit.title))}, {where}chars {start}-{end} "
                             f"({_md(name_of(hit.source))})")
                for i, a in enumerate(also):
                    where = _also_place(turn, number, i)
                    lines.append(f"   also in: {_md(cited_title(a.hit.title))}, "
                                 f"{where + ', ' if where else ''}chars {a.start}-{a.end} "
                                 f"({_md(name_of(a.hit.source))})")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def source_name(source: str) -> str:
    """A source as the reader of a downloaded conversation needs it: the file's name, not
    where it lies on the server ("/srv/briefing/seeds/a.txt" is "a.txt"); a URL whole."""
    if "://" in source:
        return source
    return PurePath(source).name or source


_MARKDOWN = re.compile(r"[\\`*_\[\]]|^(?=[#>])", re.MULTILINE)


def _md(text: str) -> str:
    """Text as itself in Markdown: a question's "*stars*" or "[link](http://...)" is not
    emphasis or a link, a line starting "#" no heading; and since renderers pass raw
    HTML through, a '<' kept literal could open a tag."""
    return _MARKDOWN.sub(lambda m: "\\" + m.group(), text).replace("<", "&lt;")


# --- the source viewer and the documents panel ----------------------------------------------

VIEWER_MAX_CHARS = 200_000
"""The most of a document's text the viewer shows at once, around the cited place."""


def document_html(document: rag.Document, *, passage: tuple[int, int] | None = None,
                  sentence: tuple[int, int] | None = None, closest: bool = False) -> str:
    """The whole document, with the cited passage shaded and the cited sentence marked:
    as an answer, or (`closest`) in gray, as a closest passage that does not answer.

    PDF-derived text is labelled with its page numbers. The text is cut into flat runs
    at every boundary (page starts, passage, sentence), so no element ever has to span
    another's edge.
    """
    text = document.text
    spans = [s for s in (passage, sentence) if s is not None]
    # A very long document is shown around the cited place: the whole of a 50 MB file took
    # the page 20 s to draw.
    shown = (0, len(text))
    if len(text) > VIEWER_MAX_CHARS:
        middle = (spans[0][0] + spans[0][1]) // 2 if spans else 0
        first = min(max(middle - VIEWER_MAX_CHARS // 2, 0), len(text) - VIEWER_MAX_CHARS)
        shown = (first, first + VIEWER_MAX_CHARS)
    cuts = set(shown)
    for start, end in spans:
        cuts.update((min(max(start, shown[0]), shown[1]), min(max(end, shown[0]), shown[1])))
    page_starts = {start: number for number, (start, _) in enumerate(document.pages, start=1)}
    cuts.update(p for p in page_starts if shown[0] <= p <= shown[1])
    bounds = sorted(cuts)
    runs = []
    for a, b in pairwise(bounds):
        if a in page_starts:
            runs.append(f'<span class="page-label">Page {page_starts[a]}</span>')
        chunk = escape(text[a:b])
        if sentence and sentence[0] <= a < sentence[1]:
            runs.append(f'<mark class="hl closest">{chunk}</mark>' if closest
                        else f'<mark class="hl">{chunk}</mark>')
        elif passage and passage[0] <= a < passage[1]:
            runs.append(f'<span class="passage">{chunk}</span>')
        else:
            runs.append(chunk)
    where = ""
    if sentence:
        where = f" · {place(document, *sentence)}, chars {sentence[0]}-{sentence[1]}"
        if closest:
            where += " · the closest passage, which does not answer the question"
    if shown != (0, len(text)):
        where += (f" · a long document: characters {shown[0]:,}-{shown[1]:,} of {len(text):,} "
                  "are shown")
    return (f'<div class="viewer" data-doc="{escape(document.id)}">'
            f'<div class="viewer-head"><h3>{escape(document.title)}</h3>'
            f'<p class="meta">{escape(document.kind.value.upper())} · '
            f"{human_size(document.size)}{escape(where)}</p>"
            '<button type="button" class="back-to-chat">Back to the answer</button></div>'
            f'<div class="doc-text">{"".join(runs)}</div></div>')


def viewer_message(message: str) -> str:
    """The source viewer holding a message instead of a document."""
    return f'<div class="viewer"><p class="empty">{escape(message)}</p></div>'


def status_html(notes: Sequence[tuple[bool, str]],
                earlier: Sequence[tuple[bool, str]] = ()) -> str:
    """Messages of the documents panel, one paragraph each; a refusal (False) stands out.

    `earlier` messages (of changes before this one) follow, dimmed.
    """
    def line(ok: bool, text: str, css: str) -> str:
        css = " ".join(c for c in (css, "" if ok else "bad") if c)
        return (f'<p class="{css}">' if css else "<p>") + f"{escape(text)}</p>"

    lines = [line(ok, text, "") for ok, text in notes]
    lines += [line(ok, text, "earlier") for ok, text in earlier]
    return f'<div class="status">{"".join(lines)}</div>'


def documents_html(rows: Sequence[DocumentRow]) -> str:
    """The indexed documents as a table: title, type, size, passages."""
    if not rows:
        return '<p class="empty">No documents are indexed.</p>'
    tag = ' <span class="tag">uploaded</span>'
    body = "".join(
        f"<tr><td>{escape(r.title)}{tag if r.uploaded else ''}</td>"
        f'<td class="n">{escape(r.kind.upper())}</td><td class="n">{human_size(r.size)}</td>'
        f'<td class="n">{r.chunks:,}</td></tr>' for r in rows)
    return ('<table class="documents"><thead><tr><th>Title</th><th>Type</th><th>Size</th>'
            f"<th>Passages</th></tr></thead><tbody>{body}</tbody></table>")
