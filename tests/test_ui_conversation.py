"""ui.conversation: one session's questions, follow-ups, scope and errors (fake embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rag
from ui.conversation import ask, history, parse_history, restored, saved
from ui.format import Turn, conversation_html, escape

UI_DATA = Path(__file__).parent / "ui_data"


@pytest.fixture
def index(fake_settings) -> rag.Index:
    return rag.Index.build([UI_DATA], settings=fake_settings)


def doc_id(index: rag.Index, title: str) -> str:
    return next(d.id for d in index.documents() if d.title == title)


def rag_message(index: rag.Index, question: str) -> str:
    """What rag itself says about a bad question: the chat must show exactly that."""
    with pytest.raises(rag.QueryError) as caught:
        index.ask(question)
    return str(caught.value)


def test_an_answer_carries_quotes_and_where_each_sits(index):
    turn = ask(index, "Who is Ines Varga?")
    assert turn.error == ""
    # "She inspects..." after it ranks as if it named her, and so is joined to it.
    assert turn.answer.quotes[0].text == (
        "The harbour master, Ines Varga, has run the port since 2019. She inspects the cranes "
        "every Monday.")
    assert turn.places[0] == "paragraph 2"
    assert len(turn.places) == len(turn.answer.quotes)


def test_follow_ups_are_searched_with_the_earlier_questions(index):
    first = ask(index, "Who is Ines Varga?")
    second = ask(index, "What does she inspect?", (first,))
    assert second.answer.query == "What does Ines Varga inspect?"
    assert second.answer.rewritten
    # The test embedder ranks by shared words: the answer's passage, if not its sentence.
    assert "She inspects the cranes every Monday." in second.answer.quotes[0].hit.text


def test_history_skips_questions_that_failed():
    good = Turn(question="Who is Ines Varga?", answer=rag.Answer("q", "q", (), True))
    assert history([good, Turn(question="", error="empty"), good]) == [
        "Who is Ines Varga?", "Who is Ines Varga?"]


def test_bad_questions_become_clear_messages_not_exceptions(index):
    empty = ask(index, "   ")
    assert (empty.answer, empty.error) == (None, rag_message(index, "   "))
    huge = ask(index, "x" * 100_000)
    assert huge.answer is None
    assert huge.error == rag_message(index, "x" * 100_000)
    assert "100,000" in huge.error
    assert ask(index, None).error == rag_message(index, "")


def test_scope_restricts_the_search_and_dropped_documents_are_said(index):
    orchard = doc_id(index, "Orchard notes")
    turn = ask(index, "Who is Ines Varga?", doc_ids=[orchard])
    assert {q.hit.doc_id for q in turn.answer.quotes} == {orchard}
    gone = ask(index, "Who is Ines Varga?", doc_ids=["removed-doc"])
    assert gone.error == ("The documents you chose to search are no longer indexed. Choose "
                          "others under “Search only in”, or with none ticked ask again to "
                          "search them all.")


def test_a_saved_conversation_is_plain_json_and_comes_back_asked_again(index):
    orchard = doc_id(index, "Orchard notes")
    first = ask(index, "Who is Ines Varga?")
    failed = ask(index, "   ")
    second = ask(index, "What does she inspect?", (first,))
    scoped = ask(index, "Who is Ines Varga?", (first, second), doc_ids=[orchard])
    kept = saved((first, failed, second, scoped))
    assert json.loads(json.dumps(kept)) == kept
    assert [(k["question"], k["doc_ids"]) for k in kept] == [
        ("Who is Ines Varga?", []), ("What does she inspect?", []),
        ("Who is Ines Varga?", [orchard])]
    quote = first.answer.quotes[0]
    assert kept[0]["shown"] == {"abstained": False, "quote": {
        "doc_id": quote.doc_id, "start": quote.start, "end": quote.end,
        "title": quote.hit.title, "text": quote.text}}
    back = restored(index, kept, limit=10)
    assert [t.question for t in back] == [t["question"] for t in kept]
    assert [t.changed for t in back] == ["", "", ""]  # the same answers as before
    assert back[1].answer.query == "What does Ines Varga inspect?"  # asked as a follow-up
    assert back[1].answer.quotes[0].text == second.answer.quotes[0].text
    assert {q.hit.doc_id for q in back[2].answer.quotes} == {orchard}
    assert [t.question for t in restored(index, kept, limit=2)] == [
        "What does she inspect?", "Who is Ines Varga?"]


def test_an_answer_that_changed_since_the_reload_says_what_it_was(index):
    """A browser review: a document removed before a reload, the question asked again said
    "The documents don't cover this" where an answer with citations had been, with no note."""
    first = ask(index, "Who is Ines Varga?")
    kept = saved((first,))
    quote = first.answer.quotes[0]
    index.remove(quote.doc_id)
    back = restored(index, kept, limit=10)[0]
    assert back.changed == (
        "Asked again after the page was reloaded, on the documents as they are now: before, "
        f"it was answered with “{' '.join(quote.text.split())}” ({quote.hit.title}).")
    assert escape(back.changed) in conversation_html((back,))
    index.add([UI_DATA / "harbour.txt"])  # back as it was: the same answer, nothing said
    assert restored(index, kept, limit=10)[0].changed == ""
    before = [{**kept[0], "shown": {"abstained": True, "quote": None}}]
    assert restored(index, before, limit=10)[0].changed == (
        "Asked again after the page was reloaded, on the documents as they are now: before, "
        "the documents did not cover it.")
    # Records another version wrote, or edited by hand: asked again, nothing said.
    odd = [{**kept[0], "shown": "yes"}, {**kept[0], "shown": {"abstained": False, "quote": 5}}]
    assert [(t.answer is not None, t.changed) for t in restored(index, odd, limit=10)] == [
        (True, ""), (True, "")]


@pytest.mark.parametrize("kept", [None, "Who is Ines Varga?", {"question": "x"}, [3, None],
                                  [{"question": ""}], [{"q": "Who is Ines Varga?"}]])
def test_a_saved_conversation_that_is_not_one_brings_nothing_back(index, kept):
    assert restored(index, kept, limit=10) == ()


def test_a_saved_record_with_odd_document_ids_searches_what_it_can(index):
    back = restored(index, [{"question": "Who is Ines Varga?", "doc_ids": [4, None]},
                            {"question": "Who is Ines Varga?", "doc_ids": ["gone"]}], limit=10)
    assert back[0].answer is not None and back[0].error == ""
    assert back[1].error.startswith("The documents you chose to search are no longer indexed")


def test_an_unexpected_failure_is_a_message_and_a_log_entry(index, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(index, "ask", broken)
    turn = ask(index, "Who is Ines Varga?")
    assert turn.error == ("Something went wrong while answering. The details are in the "
                          "server's log; try again or rephrase the question.")
    assert "disk on fire" in caplog.text


@pytest.mark.parametrize(("value", "expected"), [
    (None, []),
    ("", []),
    ([], []),
    (["Who is Paul Poast?"], ["Who is Paul Poast?"]),
    ('["a", "b"]', ["a", "b"]),
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "x"}], ["a"]),
])
def test_parse_history_accepts_lists_json_and_chat_messages(value, expected):
    assert parse_history(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("not json", 'history must be a list of the earlier questions, or its JSON text, e.g. '
                 '["Who is Paul Poast?"]'),
    ('{"a": 1}', "history must be a list of the earlier questions, got dict"),
    ([3], "history items must be questions (text) or chat messages with a role, got 3"),
])
def test_parse_history_refuses_other_shapes_clearly(value, message):
    with pytest.raises(rag.QueryError) as caught:
        parse_history(value)
    assert str(caught.value) == message
