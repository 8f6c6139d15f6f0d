"""Questions asked for one browser session: each gives an answer or a clear message.

A conversation is a tuple of `Turn`s kept in the session's `gr.State`. Its earlier
questions are passed to `Index.ask(history=...)`, so follow-ups ("What does he
research?") are searched for what they mean.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

import rag

from .format import Turn, also_in, cited, place

log = logging.getLogger(__name__)


def history(turns: Sequence[Turn]) -> list[str]:
    """The earlier questions that were answered, oldest first."""
    return [t.question for t in turns if t.answer is not None]


def ask(index: rag.Index, question: str, turns: Sequence[Turn] = (), *,
        doc_ids: Sequence[str] | None = None, names: Mapping[str, str] | None = None) -> Turn:
    """Ask `question` after `turns`; a bad question or a failure becomes the turn's error.

    `doc_ids` restricts the search to those documents (None or empty: all). Ids that are
    no longer indexed are dropped; if none is left the turn says so. `names` tells apart
    documents that share a title (`Library.distinct_names`): a citation of one says it
    before where the quote sits ("report-2024.pdf, paragraph 3").
    """
    question = question if isinstance(question, str) else ""
    wanted, scope = None, ()
    if doc_ids:
        titles = {d.id: d.title for d in index.documents(with_text=False)}
        wanted = [d for d in doc_ids if d in titles]
        if not wanted:
            return Turn(question=question, error="The documents you chose to search are no "
                        "longer indexed. Choose others under “Search only in”, or with none "
                        "ticked ask again to search them all.")
        if len(set(wanted)) < len(titles):  # ticking every document limits nothing
            scope = tuple(titles[d] for d in dict.fromkeys(wanted))
    try:
        answer = index.ask(question, history=history(turns), doc_ids=wanted)
    except rag.BriefingError as error:
        return Turn(question=question, error=str(error))
    except Exception:  # the chat shows a message, never a traceback; the log keeps it
        log.exception("answering %r failed", question[:200])
        return Turn(question=question, error="Something went wrong while answering. The "
                    "details are in the server's log; try again or rephrase the question.")
    names = names or {}

    def where(doc_id: str, start: int, end: int) -> str:
        return ", ".join(p for p in (names.get(doc_id, ""), _place(index, doc_id, start, end))
                         if p)
    places = tuple(where(hit.doc_id, start, end) for hit, start, end in cited(answer))
    also_places = tuple(tuple(where(a.doc_id, a.start, a.end) for a in also)
                        for also in also_in(answer))
    return Turn(question=question, answer=answer, places=places, also_places=also_places,
                scope=scope, doc_ids=tuple(wanted) if scope else ())


SHOWN_CHARS = 300
"""Of the first quote shown, this much is kept to say what it was if a reload's answer
differs."""


def saved(turns: Sequence[Turn]) -> list[dict]:
    """What the page keeps of a conversation to bring it back after a reload: each
    answered question, the documents it was limited to, and what its answer showed (whether
    it abstained, and its first quote: where, from which document, and how it began),
    oldest first (plain JSON)."""
    return [{"question": t.question, "doc_ids": list(t.doc_ids), "shown": _shown(t.answer)}
            for t in turns if t.answer is not None]


def _shown(answer: rag.Answer) -> dict:
    first = answer.quotes[0] if answer.quotes else None
    return {"abstained": answer.abstained,
            "quote": None if first is None else {
                "doc_id": first.doc_id, "start": first.start, "end": first.end,
                "title": first.hit.title, "text": first.text[:SHOWN_CHARS]}}


def restored(index: rag.Index, kept: object, *, limit: int,
             names: Mapping[str, str] | None = None) -> tuple[Turn, ...]:
    """The conversation `saved` kept, asked again in order on the documents as they are
    now (the page holds questions, not answers). A turn whose answer is not the one shown
    before the reload (a document was removed or changed meanwhile) says what that one
    was. Anything that is not such a record (another version's, or edited by hand) is
    passed over."""
    if not isinstance(kept, list):
        return ()
    turns: tuple[Turn, ...] = ()
    for item in kept[-limit:]:
        if not (isinstance(item, dict) and isinstance(item.get("question"), str)
                and item["question"].strip()):
            continue
        ids = item.get("doc_ids")
        ids = [d for d in ids if isinstance(d, str)] if isinstance(ids, list) else []
        turn = ask(index, item["question"], turns, doc_ids=ids or None, names=names)
        if turn.answer is not None and (before := item.get("shown")) is not None:
            turn = replace(turn, changed=_changed(before, turn.answer))
        turns = (*turns, turn)
    return turns


def _changed(before: object, answer: rag.Answer) -> str:
    """What the answer shown before a reload was, if not `answer` ("" when the same, or
    when `before` is not what `_shown` records)."""
    if not isinstance(before, dict) or before == _shown(answer):
        return ""
    quote = before.get("quote")
    if before.get("abstained") is True and answer.abstained:
        return ""  # not answered either way: which passages came closest matters little
    if before.get("abstained") is True:
        return ("Asked again after the page was reloaded, on the documents as they are now: "
                "before, the documents did not cover it.")
    if not (isinstance(quote, dict) and isinstance(quote.get("text"), str)
            and isinstance(quote.get("title"), str)):
        return ""
    now = answer.quotes[0] if answer.quotes else None
    if now is not None and (now.doc_id, now.start, now.end, answer.abstained) == (
            quote.get("doc_id"), quote.get("start"), quote.get("end"), before.get("abstained")):
        return ""
    text = " ".join(quote["text"].split())
    cut = "…" if len(text) >= SHOWN_CHARS else ""
    kind = "the closest passage was" if before.get("abstained") else "it was answered with"
    return ("Asked again after the page was reloaded, on the documents as they are now: "
            f"before, {kind} “{text}{cut}” ({' '.join(quote['title'].split())[:120]}).")


def _place(index: rag.Index, doc_id: str, start: int, end: int) -> str:
    try:
        return place(index.document(doc_id), start, end)
    except rag.UnknownDocumentError:  # removed by another session in the meantime
        return ""


def parse_history(value: object) -> list[str]:
    """Earlier questions given to the API: a list, or its JSON text, of questions or of
    chat messages ({"role": "user", "content": ...}). Raises rag.QueryError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise rag.QueryError("history must be a list of the earlier questions, or its JSON "
                                 'text, e.g. ["Who is Paul Poast?"]') from None
    if not isinstance(value, list):
        raise rag.QueryError(f"history must be a list of the earlier questions, got "
                             f"{type(value).__name__}")
    questions = []
    for item in value:
        if isinstance(item, str):
            questions.append(item)
        elif isinstance(item, dict) and item.get("role") == "user":
            questions.append(str(item.get("content", "")))
        elif not (isinstance(item, dict) and item.get("role") == "assistant"):
            raise rag.QueryError(f"history items must be questions (text) or chat messages "
                                 f"with a role, got {item!r:.80}")
    return questions


def parse_doc_ids(value: object) -> list[str] | None:
    """Document ids given to the API: a list of ids or one id; None or empty means all.

    Raises rag.QueryError for anything else.
    """
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise rag.QueryError(f"doc_ids must be a list of document ids (see `briefing documents`), "
                         f"got {value!r:.80}")
