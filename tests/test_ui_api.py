"""The app's `/ask` endpoint through gradio_client, over the seeds with the real model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import rag
from ui.blocks import build, launch_options
from ui.library import Library

from .helpers import free_port

gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError, AuthenticationError  # noqa: E402

UI_DATA = Path(__file__).parent / "ui_data"
QUOTE_KEYS = {"text", "start", "end", "score", "doc_id", "title", "source", "page", "last_page", "citation",
              "passage", "also"}


def launched(library: Library, **options) -> Iterator[str]:
    demo, handlers = build(library)
    port = free_port()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                            quiet=True, **launch_options(library), **options)
    try:
        yield url
    finally:
        demo.close()
        handlers.close()


@pytest.fixture(scope="module")
def url(seed_index, tmp_path_factory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("home")
    library = Library(seed_index, index_dir=home / "index", uploads_dir=home / "uploads")
    yield from launched(library)


@pytest.fixture(scope="module")
def client(url):
    return gradio_client.Client(url, verbose=False)


def test_ask_is_the_only_public_endpoint(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert list(endpoints) == ["/ask"]
    assert [p["parameter_name"] for p in endpoints["/ask"]["parameters"]] == [
        "question", "history", "doc_ids"]


def test_ask_returns_the_answer_as_json_with_quotes_and_citations(client, seed_index):
    result = client.predict("Who is Paul Poast?", [], api_name="/ask")
    assert set(result) == {"question", "query", "rewritten", "abstained", "confidence",
                           "no_word_found", "note", "quotes", "passages"}
    assert (result["question"], result["query"]) == ("Who is Paul Poast?", "Who is Paul Poast?")
    first = result["quotes"][0]
    assert set(first) == QUOTE_KEYS
    assert "said Paul Poast, a professor of international relations at the University of " \
           "Chicago." in first["text"]
    document = seed_index.document(first["doc_id"])
    assert document.text[first["start"]:first["end"]] == first["text"]
    passage = first["passage"]
    assert document.text[passage["start"]:passage["end"]] == passage["text"]
    assert passage["start"] <= first["start"] < first["end"] <= passage["end"]
    assert first["citation"] == (f"{document.title}, chars {first['start']}-{first['end']}")
    assert result == seed_index.ask("Who is Paul Poast?").to_dict()


@pytest.mark.parametrize("history", [["Who is Paul Poast?"], '["Who is Paul Poast?"]',
                                     [{"role": "user", "content": "Who is Paul Poast?"}]])
def test_history_as_a_list_or_json_resolves_follow_ups(client, history):
    result = client.predict("What does he research?", history, api_name="/ask")
    assert result["query"] == "What does Paul Poast research?"
    assert any("who researches military alliances" in q["text"] for q in result["quotes"])


def test_an_off_topic_question_abstains(client):
    result = client.predict("What is the boiling point of water?", [], api_name="/ask")
    assert result["abstained"] is True


def test_doc_ids_restrict_the_search(client, seed_index):
    camp_david = next(d.id for d in seed_index.documents() if d.title.startswith("Commitment"))
    result = client.predict("Who is Paul Poast?", [], [camp_david], api_name="/ask")
    assert {q["doc_id"] for q in result["quotes"]} == {camp_david}


@pytest.mark.parametrize("question", ["", "   ", "x" * 100_000])
def test_bad_questions_are_clear_errors(client, seed_index, question):
    with pytest.raises(rag.QueryError) as expected:
        seed_index.ask(question)
    with pytest.raises(AppError) as caught:
        client.predict(question, [], api_name="/ask")
    assert str(caught.value) == str(expected.value)


def test_bad_history_and_unknown_documents_are_clear_errors(client):
    with pytest.raises(AppError) as caught:
        client.predict("Who is Paul Poast?", "not json", api_name="/ask")
    assert str(caught.value) == ('history must be a list of the earlier questions, or its JSON '
                                 'text, e.g. ["Who is Paul Poast?"]')
    with pytest.raises(AppError) as caught:
        client.predict("Who is Paul Poast?", [], ["no-such-doc"], api_name="/ask")
    assert str(caught.value) == ("No document has the id 'no-such-doc'; the ids are listed by "
                                 "Index.documents() (on the command line: briefing documents).")


def test_with_logins_the_app_refuses_clients_without_one(tmp_path, fake_settings):
    index = rag.Index.build([UI_DATA], settings=fake_settings)
    library = Library(index, index_dir=tmp_path / "index", uploads_dir=tmp_path / "uploads")
    for url in launched(library, auth=[("ana", "s3cret:with:colons")]):
        with pytest.raises(AuthenticationError):
            gradio_client.Client(url, verbose=False)
        client = gradio_client.Client(url, auth=("ana", "s3cret:with:colons"), verbose=False)
        result = client.predict("Who is Ines Varga?", json.dumps([]), api_name="/ask")
        assert result["quotes"][0]["text"] == (
            "The harbour master, Ines Varga, has run the port since 2019. She inspects the "
            "cranes every Monday.")
