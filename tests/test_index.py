from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.errors import (
    DocumentError,
    IndexFormatError,
    IndexMismatchError,
    NoDocumentsError,
    QueryError,
    UnknownDocumentError,
)

from .conftest import DATA
from .helpers import rank_sentences


@pytest.fixture
def index(fake_settings):
    return rag.Index.build([DATA], settings=fake_settings)


def doc_id_of(index, title):
    return next(d.id for d in index.documents() if d.title == title)


def test_build_lists_documents_in_path_order(index):
    assert [d.title for d in index.documents()] == ["Harbour report", "The Town Library",
                                                    "Orchard notes"]
    assert index.problems == []


def test_search_ranks_and_offsets(index):
    hits = index.search("harbour master Ines Varga crane", k=2)
    harbour = index.document(doc_id_of(index, "Harbour report"))
    assert hits[0].doc_id == harbour.id
    assert "The harbour master, Ines Varga, has run the port since 2019." in hits[0].text
    for hit in hits:
        assert index.document(hit.doc_id).text[hit.start:hit.end] == hit.text
    assert hits[0].title == "Harbour report" and hits[0].page is None


def test_documents_without_text_read_none_and_list_the_same(index, tmp_path):
    index.save(tmp_path / "ix")
    loaded = rag.Index.load(tmp_path / "ix")
    full, facts = loaded.documents(), loaded.documents(with_text=False)
    assert [d.id for d in facts] == [d.id for d in full] == [d.id for d in index.documents()]
    assert [(d.title, d.checksum, d.source) for d in facts] == \
        [(d.title, d.checksum, d.source) for d in full]
    assert all(d.text == "" for d in facts) and all(d.text for d in full)


def test_search_restricted_to_documents(index):
    orchard = doc_id_of(index, "Orchard notes")
    hits = index.search("harbour master", k=5, doc_ids=[orchard])
    assert {h.doc_id for h in hits} == {orchard}
    with pytest.raises(UnknownDocumentError, match="nope"):
        index.search("x", doc_ids=["nope"])


def test_ask_quotes_the_answering_sentence(index):
    answer = index.ask("When does the apple harvest start?")
    assert answer.quotes[0].text == "The apple harvest starts in September."
    for quote in answer.quotes:
        assert index.document(quote.hit.doc_id).text[quote.start:quote.end] == quote.text
        assert quote.hit.start <= quote.start < quote.end <= quote.hit.end
    assert len({(q.doc_id, q.start) for q in answer.quotes}) == len(answer.quotes)


def test_ask_follow_up_reports_effective_query(index):
    answer = index.ask("When did she start?", history=["Who is Ines Varga?"])
    assert answer.query == "When did Ines Varga start?"
    assert answer.rewritten


def test_a_person_follow_up_with_no_one_named_before_is_not_asked_of_anyone(fake_settings):
    from rag.load import text_document

    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([
        text_document("Council minutes. Councillor Priya Natarajan chaired the meeting.",
                      doc_id="council"),
        text_document("Profile. Helena Marsh was born in Cork in 1971.", doc_id="profile")])
    # "she" is whoever chaired, named by the answer: the minutes do not say when she was
    # born, and Marsh's birth, found by the question alone, is someone else's.
    answer = index.ask("When was she born?", history=["Who chaired the council meeting?"])
    assert answer.query == "When was Priya Natarajan born?"
    assert answer.abstained
    assert not index.ask("When was Helena Marsh born?").abstained


def test_a_follow_up_opening_with_and_about_something_else_is_answered_on_its_own(
        fake_settings):
    from rag.load import text_document

    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([
        text_document("People. Paul Poast is a political scientist in Chicago.", doc_id="p"),
        text_document("Island. The lighthouse keeper lives on the island.", doc_id="i")])
    answer = index.ask("And where is the lighthouse keeper?", history=["Who is Paul Poast?"])
    assert answer.quotes[0].text == "The lighthouse keeper lives on the island."


def test_acronym_is_searched_with_the_long_form_the_documents_use(fake_settings):
    from rag.load import text_document

    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([
        text_document("Seoul had long refused, despite calls from the North Atlantic Treaty "
                      "Organization for Seoul to do more to help Kyiv. The port reopened in May.",
                      doc_id="news"),
        text_document("Orchard notes. The apple harvest starts in September.", doc_id="farm")])
    answer = index.ask("What has NATO asked Seoul to do?")
    assert answer.query == "What has NATO (North Atlantic Treaty Organization) asked Seoul to do?"
    assert "North Atlantic Treaty Organization" in answer.quotes[0].text
    assert index.search("NATO")[0].doc_id == "news"
    # An acronym no passage spells out is searched as asked.
    assert index.ask("What does the WHO say?").query == "What does the WHO say?"


def test_the_same_sentence_in_another_document_is_cited_as_also_in(fake_settings):
    from rag.load import text_document

    said = "South Korea summoned Russia's ambassador in Seoul on Friday."
    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([
        text_document(f"Seoul protested the treaty. {said} The ambassador left.", doc_id="news",
                      title="News"),
        text_document(f"Clippings from the week.\n\n{said}", doc_id="clips",
                      title="Clippings"),
        text_document("The apple harvest starts in September.", doc_id="farm")])
    answer = index.ask("When did South Korea summon Russia's ambassador?")
    first = answer.quotes[0]
    assert first.text == said and len(first.also) == 1
    also = first.also[0]
    other = "clips" if first.doc_id == "news" else "news"
    assert also.doc_id == other and index.document(other).text[also.start:also.end] == said
    assert [q.text for q in answer.quotes].count(said) == 1  # quoted once
    assert f"    also in: {also.citation()} ({also.hit.source})" in answer.markdown()
    [cited] = answer.to_dict()["quotes"][0]["also"]
    assert (cited["doc_id"], cited["start"], cited["end"], cited["text"]) == (
        other, also.start, also.end, said)
    assert cited["citation"] == also.citation()


def test_a_sentence_ranks_by_the_closer_of_its_vectors_with_and_without_context():
    text = "Outcomes included body weight. The trial ran at Uppsala University Hospital."
    spans = ((0, 30), (31, len(text)))
    question = "Where did the trial run?"
    with_context = rank_sentences(text, spans, [1.5, 0.3], question)
    assert with_context[0].start == 0
    alone = rank_sentences(text, spans, [1.5, 0.3], question, alone=[0.5, 1.6])
    assert alone[0].start == 31
    assert alone[0].dense == 0.3  # what the abstention reads: the vector it was fitted on


def test_sentences_embedded_alone_are_remembered(index):
    answer = index.ask("What do owls eat?")
    remembered = len(index._alone)
    assert remembered and answer.quotes
    index.ask("What do owls eat?")
    assert len(index._alone) == remembered  # not embedded again


def test_a_file_name_that_is_not_utf8_is_indexed_and_saved(tmp_path, fake_settings):
    import os

    folder = tmp_path / "d"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.txt")  # a Latin-1 file name: a lone surrogate in Python
    # A sentence of prose: titled by the file's name, read as Windows-1252.
    (folder / name).write_text("The ferry leaves at ten from the north pier, as it has done "
                               "every day.\n", "utf-8")
    index = rag.Index.build([folder], settings=fake_settings)
    index.save(tmp_path / "index")
    reopened = rag.Index.load(tmp_path / "index", settings=fake_settings)
    [document] = reopened.documents(with_text=False)
    assert document.source == str(folder / name)
    assert document.title == "café.txt"
    assert reopened.refresh() == {"added": [], "updated": [], "removed": [],
                                  "unchanged": [document.id]}


def test_a_sentence_is_never_quoted_twice_even_beside_another(fake_settings):
    from rag.answer import ScoredSentence, pick_quotes
    from rag.retrieve import Hit

    said = "Seoul plans to sanction Russian ships."
    texts = {"clips": f"Clippings.\n\n{said}", "news": f"Seoul protested the treaty. {said}"}

    def sentence(doc_id: str, text: str, score: float, neighbours=()) -> ScoredSentence:
        start = texts[doc_id].index(text)
        hit = Hit(chunk_id=f"{doc_id}:0", doc_id=doc_id, title=doc_id, source=f"{doc_id}.txt",
                  text=texts[doc_id], start=0, end=len(texts[doc_id]), score=1.0)
        return ScoredSentence(hit, start, start + len(text), score, 0.5, score, (),
                              neighbours=neighbours)

    news_said = sentence("news", said, 0.9)
    protested = sentence("news", "Seoul protested the treaty.", 0.85,
                         neighbours=((news_said.start, news_said.end),))
    quotes = pick_quotes([sentence("clips", said, 1.0), protested, news_said], texts, limit=3)
    # "Seoul protested the treaty." is not joined to the sentence quoted already, which is cited as
    # also in the news.
    assert [q.text for q in quotes] == [said, "Seoul protested the treaty."]
    assert [a.doc_id for a in quotes[0].also] == ["news"]


def test_text_that_is_not_valid_unicode_is_indexed_saved_and_loaded(index, tmp_path):
    # A lone surrogate (from bytes decoded with surrogateescape) cannot be written to a file.
    document = rag.text_document("The ferry \udc80 timetable changes in June.", doc_id="ferry")
    index.add_documents([document])
    index.save(tmp_path / "ix")
    loaded = rag.Index.load(tmp_path / "ix")
    assert loaded.document("ferry").text == "The ferry \ufffd timetable changes in June.\n"
    assert loaded.search("ferry timetable", k=1)[0].doc_id == "ferry"


@pytest.mark.parametrize("question", ["", "   ", "x" * 100_000])
def test_bad_questions(index, question):
    with pytest.raises(QueryError):
        index.ask(question)


def test_bad_k(index):
    with pytest.raises(QueryError, match="k must be a whole number greater than 0"):
        index.search("harbour", k=0)


def test_save_load_gives_identical_results(index, tmp_path, fake_settings):
    index.save(tmp_path / "ix")
    loaded = rag.Index.load(tmp_path / "ix")
    for query in ("harbour storm", "library opening hours", "codling moths"):
        assert loaded.search(query, k=4) == index.search(query, k=4)
        assert loaded.ask(query).quotes == index.ask(query).quotes
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert manifest["format_version"] == 3 and manifest["model"] == fake_settings.model
    assert manifest["dimension"] == 256 and len(manifest["documents"]) == 3
    assert manifest["settings"]["chunk_chars"] == 600
    assert sorted(p.name for p in (tmp_path / "ix").iterdir()) == [
        "bm25", "bm25.json", "bm25_rows.npy", "dense.faiss", "document_texts.bin",
        "documents.jsonl", "manifest.json",
        "passage_sentence_offsets.npy",
        "passage_sentences.npy", "passage_text_offsets.npy", "passage_texts.bin", "passages.json",
        "passages.npy", "sentence_offsets.npy", "sentence_vectors.npy"]


def test_load_refuses_other_model_and_says_how_to_rebuild(index, tmp_path, fake_settings):
    index.save(tmp_path / "ix")
    other = rag.Settings(model="another-model")
    with pytest.raises(IndexMismatchError, match=r"model is 'test-hashing-embedder' there but "
                                                 r"'another-model' here.*briefing index"):
        rag.Index.load(tmp_path / "ix", settings=other)


def test_load_refuses_other_format_version(index, tmp_path):
    index.save(tmp_path / "ix")
    path = tmp_path / "ix" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 99
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="format version 99; this Briefing reads versions 2 and 3"):
        rag.Index.load(tmp_path / "ix")


@pytest.mark.parametrize("damage", ["truncate-faiss", "garbage-passages", "truncate-texts",
                                    "drop-documents", "truncate-document-texts",
                                    "garbage-manifest"])
def test_damaged_index_is_reported_not_crashed(index, tmp_path, damage):
    folder = tmp_path / "ix"
    index.save(folder)
    if damage == "truncate-faiss":
        data = (folder / "dense.faiss").read_bytes()
        (folder / "dense.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "garbage-passages":
        (folder / "passages.json").write_text("{not json\n")
    elif damage == "truncate-texts":
        data = (folder / "passage_texts.bin").read_bytes()
        (folder / "passage_texts.bin").write_bytes(data[: len(data) // 2])
    elif damage == "drop-documents":
        (folder / "documents.jsonl").unlink()
    elif damage == "truncate-document-texts":
        data = (folder / "document_texts.bin").read_bytes()
        (folder / "document_texts.bin").write_bytes(data[: len(data) // 2])
    else:
        (folder / "manifest.json").write_text("\x00\x01")
    with pytest.raises(IndexFormatError, match="briefing index --out"):
        rag.Index.load(folder)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_open_uses_a_saved_index_as_built_unless_told_otherwise(index, tmp_path, fake_settings):
    folder = tmp_path / "ix"
    index.save(folder)
    files = folder_bytes(folder)
    other = replace(fake_settings, chunk_chars=300)
    # Without settings: the saved index's model, store and chunking, not the defaults.
    reopened, changes = rag.Index.open([DATA], folder)
    assert reopened.settings.index_facts() == fake_settings.index_facts()
    assert len(changes["unchanged"]) == 3 and reopened.settings.top_k == rag.Settings().top_k
    # Other settings, and rebuild=False (the query commands): refused, the folder untouched.
    with pytest.raises(IndexMismatchError, match="chunk_chars is 600 there but 300 here"):
        rag.Index.open([DATA], folder, settings=other, rebuild=False)
    assert folder_bytes(folder) == files
    # Asked to, it rebuilds with them.
    rebuilt, _ = rag.Index.open([DATA], folder, settings=other)
    assert rag.Index.load(folder).settings.chunk_chars == 300 == rebuilt.settings.chunk_chars


def test_open_never_rebuilds_an_index_of_a_newer_briefing(index, tmp_path, fake_settings):
    folder = tmp_path / "ix"
    index.save(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    files = folder_bytes(folder)
    with pytest.raises(IndexFormatError, match="written by a newer Briefing .format version "
                                               "99; this one reads 2 and 3., so it is left"):
        rag.Index.open(None, folder, settings=fake_settings)
    assert folder_bytes(folder) == files


@pytest.mark.parametrize("name", ["document_texts.bin", "passage_texts.bin"])
def test_saved_texts_that_are_not_text_are_reported_not_crashed(index, tmp_path, name):
    folder = tmp_path / "ix"
    index.save(folder)
    data = bytearray((folder / name).read_bytes())
    data[::7] = b"\xc6" * len(data[::7])  # same length: only reading the text shows it
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=f"{name} is not the file that was saved"):
        rag.Index.load(folder)
    # Saved before digests were recorded: reading the text shows it.
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["text_digests"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match=f"{name} holds bytes that are not text"):
        loaded = rag.Index.load(folder)
        for document in loaded.documents():
            assert document.text
        loaded.ask("What do owls eat?")
        list(loaded._store.chunks)


def test_an_index_of_uploads_alone_is_opened_as_saved_without_the_seeds(tmp_path, fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    owls = index.add_bytes(b"Owls eat mice at night in the barn.", name="owls.txt")
    index.save(tmp_path / "F")
    opened, changes = rag.Index.open(None, tmp_path / "F", settings=fake_settings)
    assert changes == {"added": [], "updated": [], "removed": [], "unchanged": [owls.id]}
    assert opened.refresh() == changes
    # Every document removed: an empty index stays empty.
    opened.remove(owls.id)
    opened.save(tmp_path / "F")
    emptied, changes = rag.Index.open(None, tmp_path / "F", settings=fake_settings)
    assert changes["added"] == [] and not emptied.documents(with_text=False)
    # A new folder still gets the seeds.
    _, changes = rag.Index.open(None, tmp_path / "new", settings=fake_settings)
    assert len(changes["added"]) == 2


def test_an_empty_path_is_refused_not_read_as_the_current_folder(index, tmp_path,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = [d.id for d in index.documents(with_text=False)]
    for empty in ("", [" "], b"/tmp"):
        with pytest.raises(rag.DocumentError, match="empty path|bytes are not a path"):
            index.refresh(empty)
    assert [d.id for d in index.documents(with_text=False)] == before
    with pytest.raises(rag.DocumentError, match="empty path"):
        rag.Index.build("")


def saved_with_an_upload(tmp_path: Path, settings) -> Path:
    """The folder of an index saved with a file's document and one added from bytes."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbor.txt").write_text("The harbor channel will be dredged to 14 metres.")
    folder = tmp_path / "ix"
    index, _ = rag.Index.open([docs], folder, settings=settings)
    index.add_bytes(b"The harbour master is Ines Varga.", name="notes.txt")
    index.save(folder)
    return folder


def test_documents_added_from_bytes_are_not_dropped_with_a_damaged_list(tmp_path, fake_settings):
    folder = saved_with_an_upload(tmp_path, fake_settings)
    (folder / "documents.jsonl").write_text((folder / "documents.jsonl").read_text()[:40])
    files = folder_bytes(folder)
    with pytest.raises(IndexFormatError, match="the documents it holds cannot be read from it "
                                               "either, so it is left as it is"):
        rag.Index.open(None, folder, settings=fake_settings)
    assert folder_bytes(folder) == files


def test_a_damaged_text_file_is_named_as_the_reason_nothing_is_rebuilt(tmp_path, fake_settings):
    # An outside review: with only document_texts.bin damaged, the refusal said that "its
    # list of documents" could not be read, and named the damage inside a second "Rebuild".
    folder = saved_with_an_upload(tmp_path, fake_settings)
    texts = folder / "document_texts.bin"
    texts.write_bytes(texts.read_bytes().replace(b"Ines", b"Anna"))
    files = folder_bytes(folder)
    with pytest.raises(IndexFormatError) as refused:
        rag.Index.open(None, folder, settings=fake_settings)
    message = str(refused.value)
    assert "document_texts.bin is not the file that was saved" in message
    assert "list of documents" not in message and message.count("Rebuild") == 1
    assert folder_bytes(folder) == files


def test_an_index_of_files_alone_with_damaged_texts_is_rebuilt_from_them(tmp_path,
                                                                         fake_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbor.txt").write_text("The harbor channel will be dredged to 14 metres.")
    folder = tmp_path / "ix"
    rag.Index.open([docs], folder, settings=fake_settings)
    texts = folder / "document_texts.bin"
    texts.write_bytes(texts.read_bytes().replace(b"harbor", b"HARBOR"))
    index, _ = rag.Index.open(None, folder, settings=fake_settings)  # nothing would be lost
    assert "harbor channel" in index.ask("How deep will the channel be dredged?").quotes[0].text
    assert b"harbor channel" in texts.read_bytes()


def test_open_rebuilds_a_damaged_index(index, tmp_path, fake_settings, caplog):
    folder = tmp_path / "ix"
    index.save(folder)
    (folder / "passages.json").write_text("{not json\n")
    reopened, changes = rag.Index.open([DATA], folder, settings=fake_settings)
    # The warning says it was rebuilt; it asked for the rebuild it had just done.
    assert "rebuilt from the 3 documents it held" in caplog.text
    assert "Rebuild" not in caplog.text
    # Rebuilt from the documents it held, which its files have not changed since.
    assert len(changes["unchanged"]) == 3 and not changes["added"] + changes["removed"]
    assert rag.Index.load(folder).search("harbour", k=1) == reopened.search("harbour", k=1)


def test_a_save_never_drops_another_processs_save(index, tmp_path):
    folder = tmp_path / "ix"
    index.save(folder)
    first, second = rag.Index.load(folder), rag.Index.load(folder)
    first.add_bytes(b"Owls hunt at night.", name="owls.txt")
    first.save(folder)
    second.add_bytes(b"Bats hunt at dusk.", name="bats.txt")
    with pytest.raises(rag.IndexSaveError, match="saved by another process or Index object "
                                                  "after this one loaded it"):
        second.save(folder)
    first.add_bytes(b"Moles dig.", name="moles.txt")
    first.save(folder)  # its own saves follow one another
    titles = {d.title for d in rag.Index.load(folder).documents()}
    assert {"Owls hunt at night.", "Moles dig."} <= titles and "Bats hunt at dusk." not in titles
    with pytest.raises(rag.IndexSaveError):  # a view of it checks as it would
        second.configure(top_k=3).save(folder)
    second.save(tmp_path / "elsewhere")  # another folder: nothing to drop
    with pytest.raises(rag.IndexSaveError):
        index.save(folder)  # it saved there first, before the others


def test_saved_texts_overwritten_in_place_are_found_out(index, tmp_path, fake_settings):
    # Bytes changed without changing a file's length: before, the index opened as
    # "unchanged" and quoted the changed words, or failed on every question.
    folder = tmp_path / "ix"
    index.save(folder)
    texts = folder / "passage_texts.bin"
    texts.write_bytes(texts.read_bytes().replace(b"harbour", b"harb0ur"))
    with pytest.raises(IndexFormatError, match="passage_texts.bin is not the file that was saved"):
        rag.Index.load(folder)
    reopened, _ = rag.Index.open(None, folder, settings=fake_settings)  # rebuilt from the texts
    assert "harbour" in reopened.search("harbour", k=1)[0].text

    documents = folder / "document_texts.bin"
    documents.write_bytes(documents.read_bytes().replace(b"harbour", b"harb0ur"))
    with pytest.raises(IndexFormatError, match="document_texts.bin is not the file"):
        rag.Index.load(folder)
    # Its documents all mirror files: rebuilt from those, nothing is lost.
    reopened, changes = rag.Index.open(None, folder, settings=fake_settings)
    assert len(changes["added"]) == 3 and "harb0ur" not in "".join(
        d.text for d in reopened.documents())
    assert "text_digests" in json.loads((folder / "manifest.json").read_text())


def test_a_damaged_manifest_never_turns_the_index_into_the_seeds(tmp_path, fake_settings,
                                                                 monkeypatch):
    """The index is rebuilt from the documents it held (texts added from bytes too), and
    brought up to date with their files; with those unreadable as well, it is refused and
    left as it is."""
    from rag.index import sources_to_open

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbor.txt").write_text("The harbor channel will be dredged to 14 metres.")
    (docs / "museum.txt").write_text("The museum reopens on Saturday after a renovation.")
    folder = tmp_path / "ix"
    index, _ = rag.Index.open([docs], folder, settings=fake_settings)
    note = index.add_bytes(b"The ferry runs every hour.", name="note.txt")
    index.save(folder)
    held = {d.id for d in index.documents(with_text=False)}
    (docs / "museum.txt").write_text("The museum reopens on Sunday after a renovation.")
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text()[:20])
    assert sources_to_open(None, folder) is None  # not the seeds
    reopened, changes = rag.Index.open(None, folder, settings=fake_settings)
    assert {d.id for d in reopened.documents(with_text=False)} == held
    assert changes["updated"] == [d for d in held if d.startswith("museum")]
    assert reopened.document(note.id).text.strip() == "The ferry runs every hour."
    assert rag.Index.load(folder, settings=fake_settings).ask("How deep is the channel?") \
        .quotes[0].doc_id.startswith("harbor")
    # With the documents' records damaged too, nothing is rebuilt and nothing deleted.
    manifest.write_text("{")
    (folder / "documents.jsonl").write_text("[")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(IndexFormatError, match="left as it is. Rebuild it from your "
                                               "documents: briefing index PATHS --out"):
        rag.Index.open(None, folder, settings=fake_settings)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert (folder / "documents.jsonl").read_text() == "["


def test_only_the_chats_uploads_folder_is_indexed_beside_an_index(tmp_path):
    """An outside review: any folder called uploads/ beside the index folder (a web
    project's, with customers' files) was indexed and served. The chat's records its
    uploads' names beside it (uploads.json)."""
    from rag.index import sources_to_open

    docs, uploads = tmp_path / "docs", tmp_path / "uploads"
    docs.mkdir()
    uploads.mkdir()
    (uploads / "customer-17.txt").write_text("Passport scan notes.")
    assert sources_to_open([docs], tmp_path / "idx") == [docs]
    (tmp_path / "uploads.json").write_text("{}")
    assert sources_to_open([docs], tmp_path / "idx") == [docs, uploads]


def test_an_interrupted_swap_is_opened_as_the_index_not_as_the_seeds(tmp_path, fake_settings):
    from rag.index import sources_to_open

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Saturn has 146 moons.")
    folder = tmp_path / "ix"
    rag.Index.open([docs], folder, settings=fake_settings)
    folder.rename(tmp_path / ".ix.previous")  # killed between the save's two renames
    assert sources_to_open(None, folder) is None
    index, _ = rag.Index.open(None, folder, settings=fake_settings)
    assert [Path(d.source).name for d in index.documents(with_text=False)] == ["a.txt"]


def test_names_any_reads_peoples_as_countries_and_cannot_miss_a_name_without_terms():
    from rag.answer import names_any

    assert names_any("The Japanese minister spoke.", ["Japan"])
    assert not names_any("South Korea summoned him.", ["Japan"])
    assert names_any("The U.S. summoned him.", ["U.S"])  # no term to look for


def test_sources_are_recorded_whole_so_any_working_folder_sees_the_same_files(
        tmp_path, fake_settings, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Saturn has 146 moons.")
    (docs / "b.txt").write_text("Jupiter has 95 moons.")
    monkeypatch.chdir(tmp_path)
    index, _ = rag.Index.open(["docs"], tmp_path / "ix", settings=fake_settings)
    assert all(Path(d.source).is_absolute() for d in index.documents(with_text=False))
    (docs / "a.txt").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    reopened, changes = rag.Index.open(None, tmp_path / "ix", settings=fake_settings)
    assert [d.source for d in reopened.documents(with_text=False)] == [str(docs / "b.txt")]
    assert len(changes["removed"]) == 1


def test_interrupted_swap_is_recovered(index, tmp_path):
    folder = tmp_path / "ix"
    index.save(folder)
    # A crash between the two renames of a save leaves only the previous folder.
    shutil.move(folder, tmp_path / ".ix.previous")
    assert rag.Index.load(folder).search("harbour", k=1) == index.search("harbour", k=1)


def test_add_update_remove_and_refresh(tmp_path, fake_settings, fake_model):
    corpus = tmp_path / "docs"
    shutil.copytree(DATA, corpus)
    index = rag.Index.build([corpus], settings=fake_settings)
    embedded = fake_model.texts_embedded

    (corpus / "bees.txt").write_text("Bees make honey in the hive.")
    (corpus / "orchard.md").write_text("# Orchard notes\n\nThe orchard now grows plums only.")
    (corpus / "library.html").unlink()
    changes = index.refresh([corpus])
    # Only the new and the changed document were embedded: bees.txt has 1 passage and 1
    # sentence, orchard.md 1 passage and 2 sentences (its heading is one).
    assert fake_model.texts_embedded - embedded == 5
    assert [len(changes[k]) for k in ("added", "updated", "removed", "unchanged")] == [1, 1, 1, 1]
    assert [d.title for d in index.documents()] == ["Harbour report", "Bees make honey in the hive.",
                                                    "Orchard notes"]
    assert index.ask("What do bees make?").quotes[0].text == "Bees make honey in the hive."
    assert "plums" in index.search("orchard", k=1)[0].text
    assert all("library" not in h.text for h in index.search("library books", k=10))

    removed = index.remove(doc_id_of(index, "Harbour report"))
    assert removed.title == "Harbour report"
    assert all(h.doc_id != removed.id for h in index.search("harbour", k=10))
    with pytest.raises(UnknownDocumentError):
        index.remove(removed.id)


def test_documents_from_bytes_or_memory_outlive_a_refresh(tmp_path, fake_settings):
    corpus = tmp_path / "docs"
    shutil.copytree(DATA, corpus)
    index = rag.Index.build([corpus], settings=fake_settings)
    zebra = index.add_bytes(b"The zebra crossing was painted in 2011.", name="zebra.txt")
    index.add_documents([rag.text_document("Owls hunt at night.", doc_id="owls")])
    (corpus / "harbour.txt").unlink()
    changes = index.refresh()
    assert {zebra.id, "owls"} <= {d.id for d in index.documents(with_text=False)}
    assert [d for d in changes["removed"] if d.startswith("harbour-")] == changes["removed"] != []
    index.save(tmp_path / "index")
    reopened, changes = rag.Index.open(None, tmp_path / "index", settings=fake_settings)
    assert changes["removed"] == []
    assert {zebra.id, "owls"} <= {d.id for d in reopened.documents(with_text=False)}


def test_a_document_from_bytes_outlives_a_refresh_beside_a_file_of_its_name(
        tmp_path, fake_settings, monkeypatch):
    # Its name is no path: a notes.txt in the current folder, or the current folder being
    # the one refreshed, says nothing of the upload.
    corpus = tmp_path / "docs"
    shutil.copytree(DATA, corpus)
    index = rag.Index.build([corpus], settings=fake_settings)
    notes = index.add_bytes(b"The informant met the minister on 4 May.", name="notes.txt")
    (corpus / "notes.txt").write_text("Unrelated notes.", encoding="utf-8")
    monkeypatch.chdir(corpus)
    changes = index.refresh()
    assert notes.id not in changes["removed"]
    assert notes.id in {d.id for d in index.documents(with_text=False)}
    changes = index.refresh([corpus])
    assert notes.id not in changes["removed"]
    assert index.document(notes.id).text.strip() == "The informant met the minister on 4 May."


def test_a_document_from_bytes_named_by_a_files_path_outlives_a_refresh(tmp_path,
                                                                          fake_settings):
    # An outside review: add_bytes(open(p, "rb").read(), name=p) was taken for the file at
    # p, and dropped by the next refresh since p is not among the index's sources.
    corpus, elsewhere = tmp_path / "docs", tmp_path / "elsewhere"
    shutil.copytree(DATA, corpus)
    elsewhere.mkdir()
    path = elsewhere / "kiosk.txt"
    path.write_text("The kiosk at Pier 3 sells ice cream.", encoding="utf-8")
    index = rag.Index.build([corpus], settings=fake_settings)
    kiosk = index.add_bytes(path.read_bytes(), name=str(path))
    memo = str(elsewhere / "memo.txt")
    Path(memo).write_text("Unrelated.", encoding="utf-8")
    index.add_documents([rag.text_document("The ferry leaves at noon.", doc_id="memo",
                                           source=memo)])
    for paths in (None, [corpus]):
        changes = index.refresh(paths)
        assert not {kiosk.id, "memo"} & set(changes["removed"])
    index.save(tmp_path / "ix")
    reopened, changes = rag.Index.open(None, tmp_path / "ix", settings=fake_settings)
    assert not {kiosk.id, "memo"} & set(changes["removed"])
    assert {kiosk.id, "memo"} <= {d.id for d in reopened.documents(with_text=False)}
    assert str(elsewhere) not in reopened.sources


def test_a_file_that_no_longer_loads_takes_its_earlier_text_out_of_the_index(
        tmp_path, fake_settings):
    corpus = tmp_path / "docs"
    shutil.copytree(DATA, corpus)
    (corpus / "kiosk.txt").write_text("The kiosk manager is Yusuf Demir.", encoding="utf-8")
    (corpus / "stall.txt").write_text("The stall manager is Ana Ruiz.", encoding="utf-8")
    index = rag.Index.build([corpus], settings=fake_settings)
    ids = {d.source: d.id for d in index.documents(with_text=False)}
    kiosk, stall = ids[str(corpus / "kiosk.txt")], ids[str(corpus / "stall.txt")]
    (corpus / "kiosk.txt").write_bytes(b"")  # emptied
    (corpus / "stall.txt").write_bytes(bytes(range(256)) * 20)  # overwritten with no text
    changes = index.refresh()
    assert sorted(changes["removed"]) == sorted([kiosk, stall])
    assert {kiosk, stall}.isdisjoint(d.id for d in index.documents(with_text=False))
    said = {p.source: str(p) for p in index.problems}
    assert "the file is empty" in said[str(corpus / "kiosk.txt")]
    assert "what it said before is no longer searched or quoted" in said[str(corpus / "kiosk.txt")]
    assert "no longer searched" in said[str(corpus / "stall.txt")]
    assert all("Demir" not in q.text for q in index.ask("Who manages the kiosk?").quotes)
    (corpus / "kiosk.txt").write_text("The kiosk manager is Lena Fischer.", encoding="utf-8")
    changes = index.refresh()
    assert changes["added"] == [kiosk] and not changes["removed"]


def test_a_document_record_says_whether_it_mirrors_a_file():
    from rag.load import Document

    record = rag.text_document("Owls hunt at night.", doc_id="owls").to_record()
    assert record["from_file"] is False
    assert Document.from_record(record | {"from_file": True}).from_file is True
    # Saved before it was recorded: a file's source is its absolute path.
    old = {k: v for k, v in record.items() if k != "from_file"}
    assert Document.from_record(old | {"source": "/srv/docs/a.txt"}).from_file is True
    assert Document.from_record(old | {"source": "notes.txt"}).from_file is False
    with pytest.raises(ValueError, match="from_file"):
        Document.from_record(record | {"from_file": "yes"})


def test_two_processes_bringing_an_index_up_to_date_alike_is_no_conflict(tmp_path,
                                                                          fake_settings,
                                                                          caplog):
    # An outside review: two questions asked at once after a file changed; the second
    # warned that another process had saved and told the user to redo a change never made.
    from rag.index import _save_opened

    docs = tmp_path / "docs"
    shutil.copytree(DATA, docs)
    folder = tmp_path / "ix"
    rag.Index.open([docs], folder, settings=fake_settings)
    first, second = rag.Index.load(folder), rag.Index.load(folder)
    (docs / "bakery.txt").write_text("The bakery opens at 6 a.m.", encoding="utf-8")
    first.refresh()
    _save_opened(first, folder, must_save=True)
    second.refresh()
    with caplog.at_level(logging.WARNING):
        _save_opened(second, folder, must_save=False)  # the same documents: nothing to redo
        _save_opened(second, folder, must_save=True)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # A change the first save lacks is still refused rather than lost.
    third = rag.Index.load(folder)
    first.add_bytes(b"The ferry leaves at noon.", name="ferry.txt")
    first.save(folder)
    third.add_bytes(b"The tram stops at nine.", name="tram.txt")
    with pytest.raises(rag.SavedSinceError, match="saved by another process"):
        _save_opened(third, folder, must_save=True)
    with caplog.at_level(logging.WARNING):
        _save_opened(third, folder, must_save=False)
    assert "could not be brought up to date on disk" in caplog.text
    assert "ferry.txt" in {Path(d.source).name for d in rag.Index.load(folder).documents()}


def test_an_index_saved_into_a_new_folder_meanwhile_is_not_replaced_unsaid(
        tmp_path, fake_settings, monkeypatch):
    # An outside review: two `briefing index` runs into one new folder both said
    # "Indexed", and the first one's documents were gone.
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "owls.txt").write_text("Owls hunt at night.")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bats.txt").write_text("Bats sleep by day.")
    folder = tmp_path / "ix"
    empty = rag.Index.empty.__func__

    def other_saves_first(cls, **kwargs):  # while this one loads its model
        monkeypatch.setattr(rag.Index, "empty", classmethod(empty))
        rag.Index.open([tmp_path / "b"], folder, settings=fake_settings)
        return empty(cls, **kwargs)

    monkeypatch.setattr(rag.Index, "empty", classmethod(other_saves_first))
    with pytest.raises(rag.SavedSinceError, match="after this one found the folder empty"):
        rag.Index.open([tmp_path / "a"], folder, settings=fake_settings)
    assert [Path(d.source).name for d in rag.Index.load(folder).documents()] == ["bats.txt"]


def test_embedding_cache_skips_known_text(tmp_path, fake_settings, fake_model):
    rag.Index.build([DATA], settings=fake_settings, cache_dir=tmp_path)
    first = fake_model.texts_embedded
    rag.Index.build([DATA], settings=fake_settings, cache_dir=tmp_path)
    assert first > 0 and fake_model.texts_embedded == first


def test_add_bytes_and_problems(index):
    document = index.add_bytes(b"Owls hunt at night.", name="owls.txt")
    assert index.ask("When do owls hunt?").quotes[0].text == "Owls hunt at night."
    assert index.document(document.id).title == "Owls hunt at night."
    with pytest.raises(rag.DocumentError, match="binary"):
        index.add_bytes(bytes(range(256)) * 10, name="x.txt")


def test_build_with_nothing_loadable(tmp_path, fake_settings):
    (tmp_path / "a.docx").write_bytes(b"PK")
    with pytest.raises(NoDocumentsError, match="a.docx"):
        rag.Index.build([tmp_path], settings=fake_settings)


def test_configure_changes_query_settings_only(index):
    assert index.configure(top_k=1).search("harbour") == index.search("harbour", k=1)
    with pytest.raises(IndexMismatchError, match="chunk_chars"):
        index.configure(chunk_chars=100)


def test_a_quote_over_two_paragraphs_is_one_blockquote_in_markdown():
    hit = rag.Hit(chunk_id="d:0-40", doc_id="d", title="Notes", source="notes.txt", start=0,
                  end=40, text="The red spot is a storm.\n\nIt is huge.", score=1.0)
    quote = rag.Quote(hit.text, 0, 40, 1.0, hit)
    answer = rag.Answer(question="q", query="q", quotes=(quote,), abstained=False, hits=(hit,))
    assert answer.markdown().startswith("> The red spot is a storm.\n>\n> It is huge. [1]\n")
    # Positions are in the text read, not the file's bytes (they differ for Markdown, HTML).
    assert "\nSources (chars: positions in the text read from each file):\n[1] Notes, chars " \
        "0-40 (notes.txt)\n" in answer.markdown()


def test_answer_markdown_and_dict(index):
    answer = index.ask("When does the apple harvest start?", k=1)
    quote = answer.quotes[0]
    assert answer.markdown().startswith(("> The apple harvest starts in September. [1]",
                                         "**The documents don't cover this.**"))
    assert f"[1] Orchard notes, chars {quote.start}-{quote.end}" in answer.markdown()
    data = answer.to_dict()
    assert data["quotes"][0]["text"] == "The apple harvest starts in September."
    assert data["quotes"][0]["start"] == quote.start
    json.dumps(data)


def test_sentences_embedded_on_demand_give_the_same_answers(tmp_path, fake_settings, fake_model):
    eager = rag.Index.build([DATA], settings=fake_settings)
    eager_texts = fake_model.texts_embedded
    lazy = rag.Index.build([DATA], settings=replace(fake_settings, embed_sentences=False),
                           cache_dir=tmp_path)
    assert fake_model.texts_embedded - eager_texts == len(lazy.chunks())  # passages only
    for question in ("Who is the harbour master?", "What closed the harbour?"):
        # the same quotes; scores differ only by the float16 rounding of stored vectors
        assert [(q.text, q.citation()) for q in lazy.ask(question).quotes] == \
            [(q.text, q.citation()) for q in eager.ask(question).quotes]
    folder = lazy.save(tmp_path / "index")
    assert rag.Index.load(folder, settings=replace(fake_settings, embed_sentences=False)) \
        .ask("Who runs the port?").quotes == lazy.ask("Who runs the port?").quotes


def test_an_interrupted_embedding_keeps_what_it_embedded(tmp_path, fake_settings, fake_model,
                                                         monkeypatch):
    from rag.embed import Embedder, EmbeddingCache

    embedder = Embedder(fake_settings.model, cache=EmbeddingCache(tmp_path / "cache.sqlite"))
    monkeypatch.setattr(Embedder, "SLICE", 3)
    real, calls = fake_model.encode, []

    def fail_on_third_slice(texts, **kwargs):
        calls.append(len(texts))
        if len(calls) == 3:
            raise MemoryError("simulated")
        return real(texts, **kwargs)

    monkeypatch.setattr(fake_model, "encode", fail_on_third_slice)
    texts = [f"text number {n}" for n in range(8)]
    with pytest.raises(MemoryError):
        embedder.embed_documents(texts)
    monkeypatch.setattr(fake_model, "encode", real)
    before = fake_model.texts_embedded
    embedder.embed_documents(texts)
    assert fake_model.texts_embedded - before == 2  # only the slice that failed


def test_saved_index_is_readable_as_the_umask_allows(index, tmp_path):
    old = os.umask(0o022)
    try:
        folder = index.save(tmp_path / "index")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755


def test_markup_alone_is_never_quoted(tmp_path, fake_settings):
    (tmp_path / "notes.md").write_text("# Notes\n\nOwls hunt at night.\n\n* * *\n\n---\n\n"
                                       "Owls sleep by day.\n", "utf-8")
    answer = rag.Index.build([tmp_path], settings=fake_settings).ask("owls * * * ---", k=5)
    assert answer.quotes and all(any(ch.isalnum() for ch in q.text) for q in answer.quotes)


def test_abstention_sees_question_words_found_nowhere_in_the_documents(index):
    # harbour.txt, orchard.md and library.html say nothing of recipes or airlines.
    known = index.ask("Who is the harbour master?").features
    unknown = index.ask("Which airline flies to the harbour with a recipe?").features
    assert known["unmatched_terms"] == 0.0
    assert unknown["unmatched_terms"] == 3.0  # 'airlin', 'fli', 'recip'; 'which' is no content
    assert known["keyword_score"] > 0.0


def test_keyword_evidence():
    from rag.answer import KeywordEvidence

    small, large = KeywordEvidence(6.0, 25, set()), KeywordEvidence(6.0, 25_000, set())
    assert small.score() > large.score() > 0.0  # the same raw score means less in more passages
    assert KeywordEvidence(0.0, 25, set()).score() == 0.0
    words = KeywordEvidence(1.0, 25, {"did", "mani", "say", "kimchi", "recip", "hotel", "airlin"})
    assert words.unmatched_content_terms() == 3  # capped; 'did', 'mani', 'say' never count


def test_keyword_evidence_counts_names_the_documents_lack():
    from rag.answer import KeywordEvidence

    everest = KeywordEvidence(1.0, 25, {"everest", "tall"}, names=(("mount", "everest"),))
    assert everest.unmatched_names() == 1  # one word of the name is found nowhere
    found = KeywordEvidence(1.0, 25, {"tall"}, names=(("mount", "everest"),))
    assert found.unmatched_names() == 0
    whom = KeywordEvidence(1.0, 25, {"whom"}, names=(("whom",),))
    assert whom.unmatched_names() == 0  # a question word at the start is no name
    two = KeywordEvidence(1.0, 25, {"india", "pope"}, names=(("india",), ("pope",)))
    assert two.unmatched_names() == 1  # capped


def test_abstention_sees_names_found_nowhere_in_the_documents(index):
    assert index.ask("What did Ines Varga say about the crane?").features[
        "unmatched_names"] == 0.0
    assert index.ask("What did Kofi Annan say about the crane?").features[
        "unmatched_names"] == 1.0


def test_full_width_letters_and_ligatures_are_searched_as_plain_letters(index):
    plain = index.ask("Who is the harbour master?")
    wide = index.ask("Ｗｈｏ ｉｓ ｔｈｅ ｈａｒｂｏｕｒ ｍａｓｔｅｒ？")
    assert wide.question == "Ｗｈｏ ｉｓ ｔｈｅ ｈａｒｂｏｕｒ ｍａｓｔｅｒ？"  # as asked
    assert wide.query == "Who is the harbour master?" and wide.rewritten  # as searched
    assert [q.text for q in wide.quotes] == [q.text for q in plain.quotes]
    assert index.search("ﬂood") == index.search("flood")


def test_a_misspelt_term_counts_as_found():
    from rag.answer import unmatched_terms

    found = {"céloron", "bismarck", "french", "indian", "expedit"}
    asked = {"celeron", "bismark", "frensh", "india", "kimchi", "expedit"}
    # Accents aside, one letter off: found. Under six letters ("india") only the term
    # itself counts; "kimchi" is like nothing found.
    assert unmatched_terms(asked, found) == {"india", "kimchi"}
    assert unmatched_terms({"spokesperson"}, {"spokesman"}) == {"spokesperson"}
    assert unmatched_terms({"celeron"}, set()) == {"celeron"}


def test_abstention_forgives_a_misspelt_name(index):
    assert index.ask("What did Ines Varrga say about the crane?").features[
        "unmatched_names"] == 0.0


def test_answers_read_a_people_as_its_country():
    from rag.answer import answer_terms

    assert answer_terms(["The Japanese government", "Japan"]) == [["japan", "govern"], ["japan"]]
    assert answer_terms(["Chinese and Russian officials"]) == [["china", "russia", "offici"]]


def test_answers_read_an_irregular_past_as_its_verb(fake_settings):
    from rag.answer import answer_terms

    assert answer_terms(["What did Kamikawa say?", "Kamikawa said so", "she told him"]) == [
        ["what", "did", "kamikawa", "say"], ["kamikawa", "say", "so"], ["she", "tell", "him"]]
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"The port reopened. The mayor said the port would reopen.", name="p.txt")
    answer = index.ask("What did the mayor say?")
    assert answer.quotes[0].text == "The mayor said the port would reopen."
    assert answer.features["sentence_lexical"] == 0.5  # "mayor" and "say" of 4 terms


def test_a_title_line_is_no_quote_of_its_own_nor_joined_to_the_first_sentence(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    marsh = index.add_bytes(b"Profile: Dr. Helena Marsh\n\nDr. Helena Marsh is a marine "
                            b"biologist at the University of Aberdeen.\n", name="profile.txt")
    assert marsh.title == "Profile: Dr. Helena Marsh"
    for question in ("Who is Helena Marsh?", "Who is Dr. Helena Marsh?"):
        answer = index.ask(question)
        assert answer.quotes[0].text == ("Dr. Helena Marsh is a marine biologist at the "
                                         "University of Aberdeen.")


def test_a_question_in_the_text_is_not_the_answer_to_it(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"Radio interview.\n\nHOST: Your association has opposed the tram route. "
                    b"Why does your association oppose the tram route?\n\nMORETTI: The tram "
                    b"route would cut the market square in two.\n", name="interview.txt")
    answer = index.ask("Why does the association oppose the tram route?")
    assert answer.quotes[0].text != "Why does your association oppose the tram route?"


def test_a_table_row_is_embedded_without_the_row_before_it(fake_settings):
    from rag.index import sentence_texts_of

    index = rag.Index.empty(settings=fake_settings)
    notes = index.add_bytes(b"# Budget\n\nThe budget is 2.5 million dollars.\n\n| Item | Cost |\n"
                            b"|---|---|\n| Roof | 400,000 |\n| Books | 120,000 |\n",
                            name="notes.md")
    (chunk,) = [index._store.get(h.chunk_id) for h in index.search("roof", k=1)]
    texts = sentence_texts_of(chunk, index.document(notes.id).text)
    # "Books" said with "Roof" before it would be found by "What does the roof cost?".
    assert texts[-2:] == ["Item: Roof; Cost: 400,000.", "Item: Books; Cost: 120,000."]
    assert texts[1] == "Budget\n\nThe budget is 2.5 million dollars."  # prose keeps its context


def test_a_credit_line_answers_who_did_it(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"Regional Bus Survey\nCommissioned by the Transport Board\n\nThe survey "
                    b"interviewed 2,300 riders in October 2023.\n", name="survey.txt")
    answer = index.ask("Who commissioned the survey?")
    assert answer.quotes[0].text == "Commissioned by the Transport Board"


def test_a_field_line_answers_the_question_that_names_its_key():
    from rag.answer import _answers_field

    # The bundled model. An outside review's building survey: "Surveyor: Gareth Pryce
    # MRICS" was ranked as a heading, below "It describes the condition of the property on
    # the day of the inspection..." for "Which surveyor carried out the inspection?".
    index = rag.Index.empty()
    index.add_bytes(b"HOME SURVEY REPORT\n\nProperty: 14 Orchard Lane\nClient: Ms Helen Marsh\n"
                    b"Surveyor: Gareth Pryce MRICS\n\nThe client asked us for a full survey of "
                    b"the house. The inspection took three hours.\n", name="survey.txt")
    assert index.ask("Who is the client?").quotes[0].text == "Client: Ms Helen Marsh"
    terms = {"report", "say", "roof"}
    assert not _answers_field("Report reference: PH/26/0917", terms)  # "reference" not asked
    assert _answers_field("Report: PH/26/0917", terms)
    assert not _answers_field("Roof. Fine", terms) and not _answers_field("Roof", terms)


def test_a_field_asked_for_in_other_words_answers_and_is_not_refused():
    from rag.answer import field_asked, gives_the_field_asked

    # The bundled model. An outside review's vet discharge summary and job advert: "How old
    # is Juniper?" was refused and "How much does Juniper weigh?" answered with the bill,
    # though "Age:" and "Weight:" lines said it.
    index = rag.Index.empty()
    index.add_bytes(b"HARTWELL VETERINARY HOSPITAL\n\nDISCHARGE SUMMARY\n\n"
                    b"Patient:        Juniper\nSpecies/breed:  Dog, Border Collie\n"
                    b"Age:            6 years 3 months\n"
                    b"Weight:         17.8 kg on admission, 17.1 kg at discharge\n"
                    b"Owners:         Mr Tunde and Mrs Grace Adebayo\n\n"
                    b"1. WHY JUNIPER CAME IN\n\nJuniper was brought in on Wednesday evening "
                    b"after vomiting seven or eight times since the morning. The total for "
                    b"Juniper's treatment is \xc2\xa33,184.60. It has been a pleasure to look "
                    b"after Juniper.\n", name="juniper.txt")
    for question, line in (("How old is Juniper?", "Age:            6 years 3 months"),
                           ("How much does Juniper weigh?", "Weight:         17.8 kg on "
                                                            "admission, 17.1 kg at discharge")):
        answer = index.ask(question)
        assert answer.quotes[0].text == line and not answer.abstained, question
    # The header lines above a field name what it describes: the owner of review 6's staff
    # handbook answers who is responsible for it.
    handbook = index.add([Path(__file__).parent.parent / "bench" / "outside-6" / "docs"
                          / "tallis-freight-staff-handbook-leave.txt"])
    assert len(handbook.documents) == 1
    answer = index.ask("Who is responsible for the leave and absence part of the staff "
                       "handbook?")
    assert answer.quotes[0].text == "Owner: Mariam Dacosta, Head of People"
    assert field_asked("How much does the job pay?", "Salary: 31,500 a year") == ["pay"]
    assert field_asked("How old is she?", "Salary: 31,500 a year") == []
    assert field_asked("How old is she?", "She is old.") == []
    text = "Patient: Juniper\nAge: 6 years\n"
    start = text.index("Age")
    # Its record's first line names what the question does; nothing names the owner.
    assert gives_the_field_asked("How old is Juniper?", text, start, len(text) - 1)
    assert not gives_the_field_asked("How old is the owner?", text, start, len(text) - 1)
    assert not gives_the_field_asked("How old is Juniper?", "Patient: Juniper\nAge: young",
                                     17, 27)  # "how old" asks for a number


def test_a_numbered_heading_is_no_quote_and_heads_its_section():
    # The bundled model. An outside review's school inspection report: "7. Inspection
    # team" was read as a list item and quoted first.
    index = rag.Index.empty()
    index.add_bytes(b"School inspection report\n\n6. Parents\n\nDuring the inspection, 127 "
                    b"parents responded to the survey.\n\n7. Inspection team\n\nThis inspection "
                    b"was carried out under section 5 of the Education Act 2005. Rosalind "
                    b"Achterberg, His Majesty's Inspector, led the inspection.\n\n"
                    b"8. Next steps\n\n1. Geneva\n2. Paris\n", name="report.txt")
    answer = index.ask("Who was in charge of the inspection team?")
    assert "Rosalind Achterberg, His Majesty's Inspector, led" in answer.quotes[0].text
    from rag.answer import _is_heading_at

    lines = ["7. Inspection team", "This inspection was carried out.", "1. Geneva", "2. Paris"]
    assert [_is_heading_at(lines, i) for i in range(4)] == [True, False, False, False]
    # A title with a comma before its colon is no field (review 8's staff handbook).
    lines = ["Staff Handbook, Part 5: Leave and Absence", "Owner: Mariam Dacosta, Head of People"]
    assert [_is_heading_at(lines, i) for i in range(2)] == [True, False]


def test_a_source_line_answers_only_where_it_was_published(seed_index):
    # The seeds' Commitment opens on "Commitment to Consult Among Japan... | Source:
    # https://kr.usembassy.gov/... | Date: issued at Camp David 2023-08-18", which was
    # quoted first for "Who issued the Commitment to Consult?".
    answer = seed_index.ask("Who issued the Commitment to Consult?")
    assert answer.quotes[0].text.startswith("We, the leaders of Japan, the Republic of Korea")
    for question in ("Where was the Commitment to Consult published?",
                     "What website published the Commitment?"):
        assert "Source: https://kr.usembassy.gov/" in seed_index.ask(question).quotes[0].text


def test_a_year_the_documents_never_give_is_not_answered_by_another(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"Harbor audit. Total operating revenue in 2023 was 412 million dollars.",
                    name="audit.txt")
    assert index.ask("What was the harbor's revenue in 2022?").abstained
    assert index.ask("What was the harbor's revenue in 2023?").features["unmatched_terms"] == 0
    # The year is looked for in the first quote's document: another's does not give it.
    from rag.answer import lacks_a_year

    assert lacks_a_year("What was the revenue in the third quarter of 2022?", "In 2023, 4.")
    assert not lacks_a_year("What was the revenue in Q3 2022?", "Revenue (2022): 4.")
    assert lacks_a_year("What happened in 2022?", "It cost 12022 dollars.")
    assert lacks_a_year("What happened in 2022?", "It cost 2,022 dollars.")
    assert not lacks_a_year("Who led it in early 2012?", "In early 2012, Goodell led it.")
    # A count is no year: "1500 workers" are not asked about the year 1500.
    from rag.answer import years_in

    assert years_in("Why were 1500 workers laid off in 2023?") == ["2023"]


def test_a_quarter_of_a_year_the_document_never_gives_is_not_answered_by_another(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"Results. Revenue for the third quarter of 2024 was 412 million dollars.",
                    name="q3.txt")
    assert index.ask("What was the revenue in the fourth quarter of 2024?").abstained
    from rag.answer import lacks_a_period, periods_in

    assert periods_in("Q3 2024, first-half results, H2, the 2nd quarter, H3") == {
        "q3", "h1", "h2", "q2"}
    assert lacks_a_period("What were sales in Q4?", "In the third quarter, sales rose.")
    assert not lacks_a_period("What were sales in Q4 2024?", "Fourth-quarter sales rose.")
    assert lacks_a_period("Sales in the first half of fiscal 2023?", "H2 2023 sales rose.")
    # The quarter of a game is not a quarter of a year: no check.
    assert not lacks_a_period("Who scored in the fourth quarter?", "Early in the fourth, ...")


def test_what_someone_said_is_not_answered_with_another_persons_words():
    # The bundled model: whether to abstain is fitted on its cosines, not the test embedder's.
    index = rag.Index.empty()
    index.add_bytes(b"Drought relief. Minister Astrid Vanhoof said the package would fund water "
                    b"deliveries. She added that no family farm would be left behind.\n\n"
                    b"Pieter Molenaar called the package too little and too late.",
                    name="release.txt")
    assert index.ask("What did Gregory Lund say about the drought package?").abstained
    assert not index.ask("What did Vanhoof say about family farms?").abstained
    from rag.answer import asked_speaker, lacks_the_speaker

    # Her words may be in a sentence after the one naming her.
    release = "Minister Astrid Vanhoof said it. She added that no farm would be left behind."
    assert not lacks_the_speaker("What did Vanhoof say?", release, 32, len(release))
    assert lacks_the_speaker("What did Molenaar say?", release, 32, len(release))

    assert asked_speaker("What did Councillor Ray Dunmore say about the roof?") == ["ray", "dunmor"]
    assert asked_speaker("What did the State Department spokesperson say?") == ["state", "depart"]
    assert asked_speaker("What did he say about it?") == []
    assert asked_speaker("What did the Chinese spokesperson say?") == ["china"]
    text = "HOST: And the shops? MORETTI: We are not against trams."
    start = text.index("MORETTI")
    assert not lacks_the_speaker("What did Moretti think of it?", text, start, len(text))
    assert lacks_the_speaker("What did Brannigan think of it?", text, start, len(text))
    # A quote that names someone else as its speaker is theirs, whoever comes before it;
    # "She said" and "said Seoul would" name no speaker.
    minutes = ("Councillor Ed Sorensen opposed the cut. Nandakumar said the cut would close "
               "two pools. She said the pools were old.")
    cut = minutes.index("Nandakumar")
    assert lacks_the_speaker("What did Ed Sorensen say about the cut?", minutes, cut,
                             minutes.index(" She"))
    assert not lacks_the_speaker("What did Nandakumar say about the cut?", minutes, cut,
                                 minutes.index(" She"))
    pools = minutes.index("She")
    assert not lacks_the_speaker("What did Nandakumar say about the pools?", minutes, pools,
                                 len(minutes))
    news = "Putin, who went to Hanoi, said Seoul would be making a big mistake."
    assert not lacks_the_speaker("What did Putin say?", news, 0, len(news))
    # Named in someone else's words, he is not the one speaking.
    news = "Kim said he and Putin share an unbreakable relationship."
    assert lacks_the_speaker("What did Putin say?", news, 0, len(news))
    assert not lacks_the_speaker("What did Kim say?", news, 0, len(news))
    news = "Lee, a former envoy, said the language was broad, unlike Putin's."
    assert lacks_the_speaker("What did Putin say?", news, 0, len(news))


def test_what_someone_said_asked_alone_is_answered_with_their_words():
    index = rag.Index.empty()
    index.add_bytes("North Korea’s Kim Jong Un said he and Russian President Vladimir Putin "
                    "share an “unbreakable relationship of comrades-in-arms.”\n\n"
                    "The treaty drew protests from Seoul and Tokyo.\n\n"
                    "Putin, who traveled to Vietnam after his trip, said Seoul would be making "
                    "a “big mistake” if it supplies arms to Kyiv.".encode(), name="news.txt")
    answer = index.ask("What did Putin say?")
    assert not answer.abstained
    assert answer.quotes[0].text.startswith("Putin, who traveled")
    assert index.ask("What did Macron say?").abstained
    from rag.answer import asks_only_words

    assert asks_only_words("What did Vladimir Putin say?")
    assert not asks_only_words("What did Putin say about Seoul?")
    assert not asks_only_words("What did he say?")


def test_an_amount_in_another_unit_does_not_answer_how_many_units(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"Trial results. Body weight in the cold group fell by 3% over eight weeks.",
                    name="trial.txt")
    assert index.ask("How many kilograms did the cold group lose?").abstained
    index.add_bytes(b"Trial follow-up. The cold group lost 2.5 kg over eight weeks.",
                    name="followup.txt")
    answer = index.ask("How many kilograms did the cold group lose?")
    from rag.answer import first_quote_misses, lacks_the_unit

    assert len(answer.quotes) == 2
    for quote in answer.quotes:  # as first quote, only the one in kilograms answers
        assert first_quote_misses(answer.question, index.document(quote.doc_id).text,
                                  quote.start, quote.end) == ("kg" not in quote.text)

    assert not lacks_the_unit("How many miles east of Berlin is it?", "523 km (325 mi) away")
    assert not lacks_the_unit("How many square miles is it?", "8,646 sq mi per year")
    assert not lacks_the_unit("How many tons of carbon?", "absorbs 1.5 gigatons of carbon")
    assert not lacks_the_unit("How many degrees south?", "as far south as 45°.")
    assert not lacks_the_unit("How many megawatts?", "a 700 MW plant")
    assert lacks_the_unit("How many metres tall is it?", "It has 5 floors.")
    assert lacks_the_unit("How many millimetres of rain fell?", "less than half its rain")
    assert not lacks_the_unit("How many members are there?", "There are many.")  # no unit


def test_a_question_for_money_is_not_answered_without_an_amount(fake_settings):
    from rag.answer import lacks_money

    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"Depot plans.\n\nThe depot will be built on the former gasworks site, which "
                    b"the company bought in 2025. Work starts in May.\n", name="depot.txt")
    answer = index.ask("How much did the company pay for the gasworks site?")
    assert answer.abstained and "gasworks" in answer.quotes[0].text
    index.add_bytes(b"Land deals.\n\nThe company paid \xc2\xa34.2 million for the gasworks "
                    b"site.\n", name="deals.txt")
    answer = index.ask("How much did the company pay for the gasworks site?")
    assert not answer.abstained and "4.2 million" in answer.quotes[0].text

    for question, quote in [
            ("How much does the workshop cost?", "The workshop is free for members."),
            ("How much are tickets?", "Entry is included in the ticket price."),
            ("What does it cost to break the lease?", "a break fee of six weeks' rent"),
            ("How much did revenue grow?", "Revenue grew 12% on the year."),
            ("What did the bridge cost?", "The bridge cost NOK 2.4 billion."),
            ("How much rain fell in May?", "It rained on ten days."),  # not money
            ("How much longer is it?", "It is longer."),
            # An amount of something else, though a money word follows (outside-5's).
            ("How much warning must the tenants get before the rent goes up?",
             "the landlord must give at least 60 days' written notice of any rent increase")]:
        assert not lacks_money(question, quote), question
    for question, quote in [
            ("How much did the repairs cost?", "The repairs took 11 weeks."),
            ("What did it cost to repair the linkspan?", "The ferry struck the linkspan."),
            ("How much interest is paid on the bond?", "The bond will be returned."),
            ("How much money will the city hold in reserve?", "The reserve will grow.")]:
        assert lacks_money(question, quote), question


def test_who_holds_a_role_of_something_no_passage_names_is_not_answered():
    # A browser review: "Who is the manager of the bakery?" was answered "Its last manager
    # was Greta Lind." from a depot's history, where no bakery is named. (The bundled
    # model: with the test model, the abstention model abstains on its own.)
    index = rag.Index.empty()
    index.add_bytes(b"Harbour depot\n\nThe depot on Quay Street stored grain until 1990. Its "
                    b"last manager was Greta Lind.\n", name="depot.txt")
    assert index.ask("Who is the manager of the bakery?").abstained
    answer = index.ask("Who was the last manager of the depot?")
    assert not answer.abstained and "Greta Lind" in answer.quotes[0].text


def test_a_numbered_thing_is_not_answered_by_another_of_its_number():
    from rag.answer import names_another_number

    assert names_another_number("How much will Phase 1 cost?", "The cost of Phase 2 is $118m.")
    assert names_another_number("What does Warehouse 7 hold?", "Warehouse 6 holds grain.")
    assert not names_another_number("What does Warehouse 7 hold?",
                                    "Warehouse 7 holds timber, Warehouse 6 grain.")
    # Named just before the quote, which goes on about it ("the station").
    assert not names_another_number(
        "How long can Pump Station 2 run in a power cut?",
        "It can run for 72 hours. Pump Station 7 will close.",
        before="Pump Station 2 has a standby generator. ")
    assert not names_another_number("What happened on May 5?", "On May 6 it rained.")
    assert not names_another_number("What does Warehouse 7 hold?", "It holds timber.")
    # Ordinals too (a browser review: "What is the codeword for the third desk?" was
    # answered by "The codeword for the second desk is BRAVO-NINE.").
    assert names_another_number("What is the codeword for the third desk?",
                                "The codeword for the second desk is BRAVO-NINE.")
    assert names_another_number("When did the 2nd phase start?", "The 1st phase began in May.")
    assert not names_another_number("What is the codeword for the second desk?",
                                    "The codeword for the second desk is BRAVO-NINE.")
    assert not names_another_number("Why was his first trip short?", "It rained all week.")
    # A rank, and a game's periods, named beside each other in a match report.
    assert not names_another_number("What is the second most abundant element?",
                                    "Oxygen is the third most abundant element.")
    assert not names_another_number("Early in the fourth quarter, who scored?",
                                    "In the third quarter, Denver scored a field goal.")
    # "5th" is "fifth" (SQuAD's reporting half: "Who was the university's 5th president?").
    assert not names_another_number("Who was the university's 5th president?",
                                    "He was the fifth president of the university.")
    assert names_another_number("Who was the 5th president?", "He was the fourth president.")
    # A name's word is no thing counted ("Super Bowl XXXVIII was their first Super Bowl").
    assert not names_another_number("What was the first Super Bowl the Panthers played in?",
                                    "It was their second Super Bowl appearance.")


def test_who_is_x_is_answered_first_by_a_sentence_saying_who_x_is(seed_index):
    from rag.answer import asked_who_named, describes

    # A browser review: "Who is Bang?" quoted '"If South Korea sees...," Bang said.' first.
    answer = seed_index.ask("Who is Bang?")
    assert "said Bang Jong-kwan, a former South Korean Army major general" in (
        answer.quotes[0].text)
    assert asked_who_named("Who is Bang?") == "Bang" and not asked_who_named("Who is he?")
    assert describes("Paul Poast", "said Paul Poast, a professor of international relations")
    assert describes("Lee", "Lee is a former envoy.")
    assert not describes("Bang", '"It matters," Bang said.')
    # The name inside another name (SQuAD's tuning half) does not describe the person.
    assert not describes("Frédéric Chopin", "Among the events are: the International "
                                             "Frédéric Chopin Piano Competition, the festival.")
    assert describes("Biden", "President Biden, who took office in 2021, spoke.")
    # The documents name no South Korean national security adviser.
    assert seed_index.ask("Who is the South Korean national security adviser?").abstained


def test_words_asked_by_a_role_are_those_the_quote_gives_that_role(seed_index):
    # A browser review: "What did Japan's foreign minister say?" was refused for naming no
    # "Japan" as the speaker of "Japan's Foreign Minister Yoko Kamikawa said...".
    for question in ("What did Japan's foreign minister say?",
                     "What did the Japanese foreign minister say?"):
        answer = seed_index.ask(question)
        assert not answer.abstained
        assert answer.quotes[0].text.startswith("Japan’s Foreign Minister Yoko Kamikawa said")
    # The sentence before a quote may name the role, and not as its speaker.
    assert seed_index.ask("What did the Russian ambassador say?").abstained


def test_a_question_with_nothing_to_look_for_is_not_answered(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes(b"Paul Poast is a professor at the University of Chicago. It is in Illinois.",
                    name="poast.txt")
    assert index.ask("What is it?").abstained  # no word to look for, and nothing before it
    # Short, and so read with the question before it, unless none of its words is in the
    # documents: then it is asked alone, and said to be so.
    gibberish = index.ask("asdfgh qwerty zxcvb", history=["Who is Paul Poast?"])
    assert gibberish.query == "asdfgh qwerty zxcvb"
    assert gibberish.abstained and gibberish.no_word_found
    assert index.ask("By whom?", history=["Who is Paul Poast?"]).query == \
        "Who is Paul Poast: By whom?"


def test_answers_are_matched_without_accents(fake_settings):
    from rag.answer import answer_terms

    assert answer_terms(["Who runs the Cafe Soleil? Renee"]) == \
        answer_terms(["Who runs the Café Soleil? Renée"]) == [["who", "run", "cafe", "soleil", "rene"]]
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes("The Café Soleil on the pier is run by Renée Dubois.".encode(), name="p.txt")
    plain = index.ask("Who runs the Cafe Soleil?")
    assert plain.features["unmatched_terms"] == 0.0  # "cafe" was found nowhere
    accented = index.ask("Who runs the Café Soleil?").features
    for word_feature in ("sentence_lexical", "sentence_rare_terms", "passage_rare_terms",
                         "unmatched_terms", "unmatched_names"):
        assert plain.features[word_feature] == accented[word_feature]


def test_an_acronym_is_matched_in_its_plural(fake_settings):
    from rag.answer import answer_terms

    assert answer_terms(["DVDs and CEO’s PCs"]) == [["dvd", "ceo", "pc"]]
    index = rag.Index.empty(settings=fake_settings)
    index.add_bytes("DVDs are lent for one week and cost £1.50 each to borrow.".encode(),
                    name="lib.txt")
    features = index.ask("How much does a DVD cost?").features
    assert features["unmatched_terms"] == features["unmatched_names"] == 0.0


def test_a_clear_answer_is_not_followed_by_unrelated_quotes(tmp_path, fake_settings):
    shutil.copytree(DATA, tmp_path / "docs")
    (tmp_path / "docs" / "owls.txt").write_text("Owls hunt at night. They eat mice.\n", "utf-8")
    answer = rag.Index.build([tmp_path / "docs"], settings=fake_settings).ask("What do owls eat?")
    assert [q.text for q in answer.quotes] == ["Owls hunt at night. They eat mice."]


def test_link_texts_and_headings_are_never_quoted(tmp_path, fake_settings):
    (tmp_path / "notice.html").write_text(
        "<html><head><title>Harbour notice</title></head><body><h1>Harbour notice</h1>"
        "<p>Boats dock at the north pier of Quimby harbour.</p><p><a href='x'>click</a></p>"
        "</body></html>", "utf-8")
    answer = rag.Index.build([tmp_path], settings=fake_settings).ask(
        "click harbour notice: where do boats dock?", k=5)
    assert [q.text for q in answer.quotes] == ["Boats dock at the north pier of Quimby harbour."]


def test_a_sentence_without_the_asked_time_ranks_below_one_with_it(monkeypatch):
    from rag import answer as answering
    from rag.retrieve import Hit

    text = "The pact revives an old pledge between the two states. It was first made in 1961."
    hit = Hit(chunk_id="news:0-82", doc_id="news", title="news", source="news.txt", text=text,
              start=0, end=len(text), score=1.0, dense=0.5)
    spans = ((0, 54), (55, 82))
    assert [text[a:b] for a, b in spans][1] == "It was first made in 1961."
    terms = answering.answer_terms([text[a:b] for a, b in spans])
    query = "When was the pledge made?"
    query_terms = set(answering.answer_terms([query])[0])

    def ranked(question: str) -> list[answering.ScoredSentence]:
        return answering.score_sentences([hit], [spans], [np.array([0.7, 0.6])], [terms],
                                         query_terms, question)

    by_score = ranked(query)
    assert [s.start for s in by_score] == [55, 0]
    assert [s.typed for s in by_score] == [True, False]
    # Without a time asked for, or without the penalty, the closer sentence leads.
    assert [s.start for s in ranked("What was the pledge?")] == [0, 55]
    monkeypatch.setattr(answering, "ANSWER_TYPE_PENALTY", 0.0)
    assert [s.start for s in ranked(query)] == [0, 55]
    monkeypatch.undo()
    # Abstention looks at the sentence most like the question, before the reordering.
    features = answering.answer_features(by_score, [hit], [terms], query_terms)
    assert features["answer_type"] == 0.0
    assert features["sentence_dense"] == pytest.approx(0.7)


@pytest.mark.parametrize(("question", "sentence", "holds"), [
    ("When does the walrus sing?", "The walrus sings at midnight.", 1.0),
    ("When does the walrus sing?", "The walrus sings at noon and at dusk.", 1.0),
    ("When does the walrus sing?", "The walrus sings loudly.", 0.0),
    ("How many walruses sing?", "Twelve walruses sing.", 1.0),
    ("How many walruses sing?", "Walruses sing.", 0.0),
    ("How many parties took part?", "Walruses sang at the six-party talks.", 1.0),
    ("How old is the walrus?", "The 30-year-old walrus sings.", 1.0),
    ("Why does the walrus sing?", "The walrus sings loudly.", 1.0),  # asks for neither
    # "may" and "march" the verbs hold no time; May and March the months do.
    ("When did the walrus sing?", "The walrus may sing again.", 0.0),
    ("When did the walrus sing?", "The walruses march to the sea.", 0.0),
    ("When did the walrus sing?", "The walrus sang in May.", 1.0),
    ("When did the walrus sing?", "The walrus sang in March.", 1.0),
    ("When does the walrus sleep?", "The walrus sleeps during the day.", 1.0),
    ("How long does the walrus sleep?", "The walrus sleeps for hours.", 1.0),
    ("How often does the walrus sing?", "The walrus sings twice a year.", 1.0),
    ("How often does the walrus sing?", "The walrus sings every morning.", 1.0),
    ("How frequently does the walrus sing?", "The walrus sings regularly.", 1.0),
    ("How often does the walrus sing?", "The walrus sings in August 2023.", 0.0),
    ("How often does the walrus sing?", "The New York Times reviewed the walrus.", 0.0),
    ("How often does the walrus sing?", "The walrus sings fortnightly.", 1.0),
    ("How often was the limit exceeded?", "It exceeded the limit on 14 occasions.", 1.0),
    # "What year" needs a year: "before the war" answers "When", not "What year".
    ("What year was the pact signed?", "It was signed before the war.", 0.0),
    ("What year was the pact signed?", "It revives a 1961 pledge.", 1.0),
    ("In which year did the port open?", "The port opened in the 1990s.", 1.0),
    ("What year did the port open?", "The port opened last year.", 1.0),
    ("How often was the limit exceeded?", "It exceeded the limit 14 times in 2023.", 1.0),
    # Days in the plural are times, and how often: "closes on Sundays".
    ("When does the library close?", "The library closes on Sundays.", 1.0),
    ("How often does the market open?", "The market opens on Saturdays.", 1.0),
    ("When does the market open?", "The market opens at weekends.", 1.0),
    ("How often does the walrus sing?", "The walrus sings at intervals of four years.", 1.0),
    # A number the question gives is no answer to it.
    ("On what date in 1961 was the pledge signed?", "It revives a 1961 pledge.", 0.0),
    ("When was the 1961 pledge renounced?", "The 1961 pledge was renounced in 1991.", 1.0),
    ("How many of the 300 walruses sing?", "All 300 walruses were counted.", 0.0),
    ("How many of the 300 walruses sing?", "Of the 300 walruses, 12 sing.", 1.0),
    # "What date" wants a date, not "after the summit".
    ("What date was the pact signed?", "The pact was signed after the summit.", 0.0),
    ("What date was the pact signed?", "The pact was signed on June 19.", 1.0),
    ("On what exact date was the pact signed?", "It was signed on Wednesday.", 1.0),
    # "Which article...?" wants a numbered part, not any number.
    ("Which article of the treaty holds the clause?",
     "The treaty includes a clause under which if one country is attacked, the other helps.",
     0.0),
    ("Which article of the treaty holds the clause?", "Article 4 holds the clause.", 1.0),
    ("Which amendment protects free speech?", "The First Amendment protects speech.", 1.0),
    ("Which chapter covers walruses?", "Chapter IV covers walruses.", 1.0),
    ("Which chapter covers walruses?", "Walruses are covered at length.", 0.0),
    # Parts that are no numbered part: "which part of the city", "what article did he write".
    ("Which part of the city was flooded?", "The north was flooded.", 1.0),
    ("What article did the walrus write?", "The walrus wrote about fish.", 1.0),
    # A date, a year or a web address gives no count (a browser review's "How many countries
    # signed the Commitment to Consult?" quoted "August 19, 2023").
    ("How many countries signed it?", "August 19, 2023", 0.0),
    ("How many countries signed it?", "It was issued at Camp David 2023-08-18.", 0.0),
    ("How many countries signed it?", "The pact was signed in March 2023.", 0.0),
    ("How many countries signed it?", "Source: https://example.gov/081923-commitment/", 0.0),
    ("How many countries signed it?", "Three countries signed it on 19 August 2023.", 1.0),
    ("How many soldiers were sent?", "2000 soldiers were sent.", 1.0),
    ("How old is the mayor?", "The mayor was born in 1952.", 1.0),
    # A clock time counts nothing (an outside review: "How old is Alasdair Marlowe?" was
    # answered by "Director Alasdair Marlowe arrived at 03:35").
    ("How old is the director?", "The director arrived at 03:35.", 0.0),
    ("How many radios were taken?", "The list was finished at 10.45 pm.", 0.0),
    ("How many officers came?", "Two officers came at 02:52.", 1.0),
    ("How much does it cost?", "It costs 12.50 pounds.", 1.0),
    # "each other" and "per cent" are no frequency: "How often will the three countries
    # meet?" was answered by "...commit our governments to consult ... with each other".
    ("How often will they meet?", "They commit to consult with each other.", 0.0),
    ("How often will they meet?", "Turnout was 5 per cent.", 0.0),
    ("How often will they meet?", "They meet each year.", 1.0),
    # A telephone number, an email address, a date of birth (review 8: "What is Rhys
    # Penhaligon's phone number?" was answered by the sentence naming him).
    ("What is Rhys Penhaligon's phone number?", "The walk is guided by Rhys Penhaligon.", 0.0),
    ("What is Rhys's phone?", "Call Rhys on 01832 730 946.", 1.0),
    ("What is the hospital's telephone number?", "Case number: HV-27-11-0348", 0.0),
    ("What is the hospital's telephone number?", "Tel +44 (0)1453 207660", 1.0),
    ("Who answered the phone?", "Mary answered.", 1.0),
    ("What is Neil Ashdown's email address?", "Neil Ashdown, 3 Orchard Close, Lowick", 0.0),
    ("What's Neil's email?", "Write to neil@show.example.", 1.0),
    ("What did the email say?", "The email said no.", 1.0),
    ("What is Juniper's date of birth?", "She came in on Wednesday.", 0.0),
    ("What is Juniper's date of birth?", "Born: 03/05/2021", 1.0),
    # A section's number is no date: "1. WHY JUNIPER CAME IN".
    ("What is Juniper's date of birth?", "1. WHY JUNIPER CAME IN", 0.0),
    ("How many people live there?", "3.5 million people live there.", 1.0),
    # Review 9: an identifier's number is no date, a postcode or telephone number no count.
    ("When was the safety data sheet issued?",
     "It complies with Regulation (EC) No 1907/2006 and Regulation (EC) No 1272/2008.", 0.0),
    ("When was it issued?", "Date of issue: 3 February 2027", 1.0),
    ("When was it issued?", "Issued 2024-05-12.", 1.0),
    ("How many pupils are there at Ashcombe?",
     "Ashcombe Primary School, Church Road, AB3 5TR · Telephone 01632 960 251", 0.0),
    ("How many people live there?", "The population is 3 500 000.", 1.0),
    ("How many staff are there?", "Ring +44 1632 960 999 for the 40 staff.", 1.0),
    ("What is the school's phone number?", "Telephone 01632 960 251", 1.0),
])
def test_answer_type_match(question, sentence, holds):
    from rag.answer import answer_type_match

    assert answer_type_match(question, sentence) == holds


def test_a_heading_ranks_below_a_sentence_unless_a_time_or_number_is_asked(monkeypatch):
    from rag import answer as answering

    text = "Harbour Rules\nMay 2, 2020\n\nBoats under the Harbour Rules dock at the north pier."
    spans = ((0, 25), (27, 80))
    assert [text[a:b] for a, b in spans] == [
        "Harbour Rules\nMay 2, 2020", "Boats under the Harbour Rules dock at the north pier."]

    def ranked(question: str) -> list[answering.ScoredSentence]:
        return rank_sentences(text, spans, [0.9, 0.6], question)

    where = ranked("Where do boats go under the Harbour Rules?")
    assert [s.start for s in where] == [27, 0]
    assert [s.penalty for s in where] == [0.0, answering.HEADING_PENALTY]
    # Abstention reads the closeness before the check: the heading is still the closest.
    assert max(where, key=lambda s: s.relevance).start == 0
    # A date line answers a question about a date.
    assert [s.start for s in ranked("When were the Harbour Rules issued?")] == [0, 27]
    monkeypatch.setattr(answering, "HEADING_PENALTY", 0.0)
    assert [s.start for s in ranked("Where do boats go under the Harbour Rules?")] == [0, 27]


def test_a_heading_without_the_number_asked_for_ranks_below_a_sentence_with_it():
    from rag import answer as answering

    text = "The Harbor Lighthouse\n\nIt stands 42 metres tall on the cliff."
    spans = ((0, 21), (23, 61))
    assert [text[a:b] for a, b in spans] == ["The Harbor Lighthouse",
                                             "It stands 42 metres tall on the cliff."]
    ranked = rank_sentences(text, spans, [0.75, 0.6], "How tall is the Harbor Lighthouse?")
    assert [s.start for s in ranked] == [23, 0]
    # The heading lacks the number and is a heading: both penalties.
    assert ranked[1].penalty == answering.ANSWER_TYPE_PENALTY + answering.HEADING_PENALTY


def test_list_items_and_table_rows_are_quoted_one_at_a_time():
    from rag import answer as answering

    text = "Planet: Jupiter; Moons: 95.\n\nPlanet: Saturn; Moons: 146."
    spans = ((0, 27), (29, 56))
    ranked = rank_sentences(text, spans, [0.6, 0.6], "How many moons does Saturn have?")
    quotes = answering.pick_quotes(ranked, {"doc": text}, limit=3)
    assert [q.text for q in quotes] == ["Planet: Saturn; Moons: 146.",
                                        "Planet: Jupiter; Moons: 95."]
    # Two sentences of prose, as close, are one quote.
    prose = "The moons of Saturn are many. Saturn has 146 of them."
    ranked = rank_sentences(prose, ((0, 29), (30, 53)), [0.6, 0.6],
                            "How many moons does Saturn have?")
    assert [q.text for q in answering.pick_quotes(ranked, {"doc": prose}, limit=3)] == [prose]


def test_an_index_opened_without_paths_keeps_the_documents_it_was_built_from(
        tmp_path, fake_settings):
    corpus = tmp_path / "docs"
    shutil.copytree(DATA, corpus)
    extra = tmp_path / "bees.txt"
    extra.write_text("Bees make honey in the hive.")
    folder = tmp_path / "ix"
    index = rag.Index.build([corpus], settings=fake_settings)
    index.add([extra])
    assert index.sources == [str(corpus.resolve()), str(extra.resolve())]
    index.save(folder)

    (corpus / "library.html").unlink()
    reopened, changes = rag.Index.open(None, folder, settings=fake_settings)
    # Brought up to date with its own documents, not replaced by the seeds.
    assert changes["removed"] and not changes["added"]
    assert sorted(d.title for d in reopened.documents()) == [
        "Bees make honey in the hive.", "Harbour report", "Orchard notes"]
    assert rag.Index.load(folder).sources == index.sources
    # Given paths, it mirrors those instead.
    _, changes = rag.Index.open([extra], folder, settings=fake_settings)
    assert len(changes["removed"]) == 2
    assert rag.Index.load(folder).sources == [str(extra.resolve())]
    # A folder more, still empty: no document changes, but it is mirrored from now on.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _, changes = rag.Index.open([extra, inbox], folder, settings=fake_settings)
    assert changes["unchanged"] and not (changes["added"] or changes["removed"])
    assert rag.Index.load(folder).sources == [str(extra.resolve()), str(inbox.resolve())]
    inbox.rmdir()
    # When every file it was built from is gone (moved, unmounted), it is used as saved.
    extra.unlink()
    kept, changes = rag.Index.open(None, folder, settings=fake_settings)
    assert not changes["removed"] and [d.title for d in kept.documents()] == [
        "Bees make honey in the hive."]


def test_command_line_reads_a_custom_index_without_rebuilding_it_from_the_seeds(
        tmp_path, fake_settings, capsys):
    from rag.cli import main

    folder = tmp_path / "index"
    model = ["--model", fake_settings.model]
    assert main(["index", str(DATA), "--index", str(folder), *model]) == 0
    capsys.readouterr()
    assert main(["documents", "--json", "--index", str(folder), *model]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(row["title"] for row in listed) == ["Harbour report", "Orchard notes",
                                                      "The Town Library"]
    assert main(["ask", "What grows in the orchard?", "--json", "--index", str(folder),
                 *model]) == 0
    assert "Orchard" in json.loads(capsys.readouterr().out)["quotes"][0]["title"]


def test_a_heading_is_never_joined_to_a_quote_nor_read_as_the_answer(tmp_path, fake_settings):
    page = tmp_path / "eiffel.md"
    page.write_text("# The Eiffel Tower\n\nThe Eiffel Tower is 330 metres tall. It was "
                    "completed in 1889 for the World Fair. Its company designed and built it.\n")
    index = rag.Index.build([page], settings=fake_settings)
    for question in ("How tall is the Eiffel Tower?", "Who designed the Eiffel Tower?"):
        answer = index.ask(question)
        assert answer.quotes
        assert not any("# The Eiffel Tower" in q.text for q in answer.quotes), question
    # The heading is the closest sentence; the number asked for is in the next.
    assert index.ask("How tall is the Eiffel Tower?").features["answer_type"] == 1.0
    # A dateline that holds the time asked for is quoted.
    dated = tmp_path / "dated.md"
    dated.write_text("# Harbour notes\n\nMarch 3, 2024\n\nThe harbour was dredged. The boats "
                     "came back.\n")
    index = rag.Index.build([dated], settings=fake_settings)
    assert any("March 3, 2024" in q.text for q in index.ask("When were the harbour notes "
                                                              "written?").quotes)


def test_later_quotes_stay_with_the_names_the_question_asks_about():
    from rag import answer as answering
    from rag.retrieve import Hit

    texts = {"poast": "Paul Poast is a professor. He studies alliances.",
             "berg": "Its chief executive is Hannah Berg, who joined in 2015.",
             "pledge": "The professor promised a new book on treaties."}

    def sentence(doc_id: str, start: int, end: int, score: float,
                 lexical: float = 0.0) -> answering.ScoredSentence:
        text = texts[doc_id]
        hit = Hit(chunk_id=f"{doc_id}:0", doc_id=doc_id, title=doc_id, source=doc_id,
                  text=text, start=0, end=len(text), score=1.0)
        return answering.ScoredSentence(hit, start, end, 0.5, lexical, score)

    scored = [sentence("poast", 0, 26, 1.2, 1.0), sentence("berg", 0, 55, 0.9),
              sentence("poast", 27, 48, 0.85), sentence("pledge", 0, 46, 0.8, 0.3)]
    quoted = [q.text for q in answering.pick_quotes(scored, texts, limit=4,
                                                    names=["Paul Poast"])]
    # Berg's document never names Poast and her sentence holds no word of the question;
    # the pledge's holds one ("professor"), so it may be about him.
    assert quoted == ["Paul Poast is a professor.", "He studies alliances.",
                      "The professor promised a new book on treaties."]
    # Without names, or when the first quote's document lacks them, nothing is left out.
    assert len(answering.pick_quotes(scored, texts, limit=4)) == 4
    assert len(answering.pick_quotes(scored, texts, limit=4, names=["Tim Cook"])) == 4

    # A question word it shares ("who") does not make a sentence about the question's names.
    texts["putin"] = "Putin, who traveled to Vietnam, spoke."
    hit = Hit(chunk_id="putin:0", doc_id="putin", title="putin", source="putin",
              text=texts["putin"], start=0, end=39, score=1.0)
    putin = answering.ScoredSentence(hit, 0, 39, 0.5, 0.5, 1.0,
                                     terms=("putin", "who", "travel", "vietnam", "spoke"))
    ranked = [scored[0], putin]
    assert len(answering.pick_quotes(ranked, texts, limit=4, names=["Paul Poast"])) == 2
    assert [q.text for q in answering.pick_quotes(
        ranked, texts, limit=4, names=["Paul Poast"], asked={"paul", "poast"})] == [
        "Paul Poast is a professor."]


def test_a_missing_source_keeps_its_documents_and_stays_recorded(tmp_path, fake_settings):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, text in ((first, "Owls hunt at night."), (second, "Bees make honey.")):
        folder.mkdir()
        (folder / "note.txt").write_text(text)
    saved = tmp_path / "ix"
    rag.Index.open([first, second], saved, settings=fake_settings)
    second.rename(tmp_path / "unmounted")
    index, changes = rag.Index.open(None, saved, settings=fake_settings)
    assert not changes["removed"]
    assert sorted(d.title for d in index.documents()) == ["Bees make honey.", "Owls hunt at night."]
    assert rag.Index.load(saved).sources == [str(first.resolve()), str(second.resolve())]
    (tmp_path / "unmounted").rename(second)
    (second / "more.txt").write_text("Wasps do not make honey.")
    _, changes = rag.Index.open(None, saved, settings=fake_settings)
    assert len(changes["added"]) == 1


def test_an_index_saved_before_sources_were_recorded_keeps_its_documents(tmp_path,
                                                                        fake_settings):
    corpus = tmp_path / "docs"
    shutil.copytree(DATA, corpus)
    saved = tmp_path / "ix"
    rag.Index.open([corpus], saved, settings=fake_settings)
    manifest = json.loads((saved / "manifest.json").read_text())
    for sources in (None, ["ok", 5]):  # an older index; a damaged record
        if sources is None:
            manifest.pop("sources", None)
        else:
            manifest["sources"] = sources
        (saved / "manifest.json").write_text(json.dumps(manifest))
        index, changes = rag.Index.open(None, saved, settings=fake_settings)
        assert not changes["removed"] and not changes["added"]
        assert len(index.documents()) == 3


def test_the_index_folder_may_start_with_a_tilde(tmp_path, fake_settings, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    index, _ = rag.Index.open([DATA], "~/ix", settings=fake_settings)
    assert (tmp_path / "ix" / "manifest.json").exists()
    assert len(rag.Index.load("~/ix", settings=fake_settings)) == len(index)


def test_an_index_folder_that_is_a_file_is_refused_before_indexing(tmp_path, fake_settings,
                                                                   fake_model):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    with pytest.raises(rag.IndexSaveError, match="it is a file"):
        rag.Index.open([DATA], a_file, settings=fake_settings)
    assert fake_model.texts_embedded == 0 and a_file.read_text() == "keep me"


def test_list_items_and_key_value_lines_are_no_headings():
    text = "Alpha Committee facts\n- Headquarters: Geneva, Switzerland\nFounded: 1950\n2) Chair"
    spans = ((0, 21), (22, 57), (58, 71), (72, len(text)))
    ranked = rank_sentences(text, spans, [0.5, 0.5, 0.5, 0.5], "Where is it based?")
    assert {text[s.start:s.end]: s.heading for s in ranked} == {
        "Alpha Committee facts": True, "- Headquarters: Geneva, Switzerland": False,
        "Founded: 1950": False, "2) Chair": False}


def test_an_abstention_shows_the_closest_sentences_first(tmp_path, fake_settings, monkeypatch):
    from rag import answer as answering

    page = tmp_path / "walrus.txt"
    page.write_text("Walrus colony songs are heard on the northern beach. Keepers counted 12 "
                    "seals there.\n")
    index = rag.Index.build([page], settings=fake_settings)
    question = "How many walrus colony songs are heard on the northern beach?"
    # A penalty this large puts the sentence with a number first for an answer...
    monkeypatch.setattr(answering, "ANSWER_TYPE_PENALTY", 5.0)
    monkeypatch.setattr(answering, "answer_probability", lambda features, model: 1.0)
    assert [q.text for q in index.ask(question).quotes] == ["Keepers counted 12 seals there."]
    # ...but shown as the closest passages, the closest comes first.
    monkeypatch.setattr(answering, "answer_probability", lambda features, model: 0.0)
    refused = index.ask(question)
    assert refused.abstained
    assert refused.quotes[0].text == "Walrus colony songs are heard on the northern beach."


def test_an_index_saved_among_its_documents_is_not_read_as_documents(tmp_path, fake_settings):
    """`briefing index ~/pack --out ~/pack/index`: its own files and its cache beside it
    are neither documents nor "files that are not read" at every later refresh."""
    from rag.load import load_documents

    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "note.txt").write_text("The ferry runs every hour.")
    (pack / "notes.json").write_text("{}")  # a user's own file is still reported
    index, _ = rag.Index.open([pack], pack / "index", settings=fake_settings,
                              cache_dir=pack / "cache")
    assert index.problems and [Path(p.source).name for p in index.problems] == ["notes.json"]
    report = load_documents([pack], max_bytes=10**6)
    assert [Path(d.source).name for d in report.documents] == ["note.txt"]
    assert [Path(p.source).name for p in report.problems] == ["notes.json"]
    _, changes = rag.Index.open(None, pack / "index", settings=fake_settings,
                                cache_dir=pack / "cache")
    assert changes["unchanged"] == [d.id for d in index.documents(with_text=False)]


def test_a_quote_cites_the_pdf_page_it_is_on_not_its_passage_s(tmp_path, fake_settings):
    from .helpers import make_pdf

    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(make_pdf([  # a sentence runs on from page 1 to page 2
        "Ferry safety manual. Every crossing carries lifejackets for all",
        "passengers. The safety officer for the fleet is Fiona Grant. Drills are monthly."]))
    index = rag.Index.build([pdf], settings=replace(fake_settings, chunk_chars=2000))
    document = index.documents()[0]
    assert len(document.pages) == 2 and len(index) == 1  # one passage over both pages
    quote = index.ask("Who is the safety officer for the fleet?").quotes[0]
    assert quote.text == "The safety officer for the fleet is Fiona Grant."
    assert quote.hit.page == 1 and quote.page == 2 == document.page_at(quote.start)
    assert quote.citation() == f"{document.title}, p. 2, chars {quote.start}-{quote.end}"
    data = rag.Answer("q", "q", (quote,), False).to_dict()["quotes"][0]
    assert (data["page"], data["last_page"]) == (2, 2)
    # A quote running over a page break cites both pages.
    spanning = replace(quote, start=document.pages[0][0] + 20, end=quote.end)
    assert spanning.on_pages(lambda _, offset: document.page_at(offset)).citation() == (
        f"{document.title}, pp. 1-2, chars {spanning.start}-{spanning.end}")
    # So does a passage found by search.
    (hit,) = index.search("safety officer", k=1)
    assert (hit.page, hit.last_page) == (1, 2)
    assert hit.citation() == f"{document.title}, pp. 1-2, chars {hit.start}-{hit.end}"


def test_refresh_without_paths_keeps_a_source_that_is_gone_and_refreshes_the_rest(
        tmp_path, fake_settings):
    docs, extra = tmp_path / "docs", tmp_path / "extra.txt"
    docs.mkdir()
    (docs / "a.txt").write_text("Saturn has 146 moons.")
    extra.write_text("Jupiter has 95 moons.")
    index = rag.Index.build([docs], settings=fake_settings)
    index.add(extra)
    extra.unlink()
    (docs / "a.txt").write_text("Saturn has 274 moons.")
    changes = index.refresh()
    assert [d.split("-")[0] for d in changes["updated"]] == ["a"] and not changes["removed"]
    assert {d.title for d in index.documents(with_text=False)} == {
        "Saturn has 274 moons.", "Jupiter has 95 moons."}
    assert str(extra) in index.sources
    with pytest.raises(DocumentError, match="no such file"):  # named, it must exist
        index.refresh([extra])


def test_what_about_a_new_subject_is_not_answered_with_the_earlier_one(fake_settings):
    # Without the abstention model (fitted on the real model's scores): this is the rule's.
    index = rag.Index.empty(settings=replace(fake_settings, abstain=False))
    index.add_bytes(b"Marrowby pier\n\nThe Cafe Soleil on the pier is run by Renee Dubois. The "
                    b"ferry leaves at nine.\n\nThe lighthouse at Gull Point was built in 1862. "
                    b"Its last keeper was Walter Brodie, who left in 1971.", name="pier.txt")
    earlier = ["Who runs the Cafe Soleil?"]
    keeper = index.ask("What about the lighthouse keeper?", history=earlier)
    assert not keeper.abstained and "keeper" in keeper.quotes[0].text
    costs = index.ask("What about the costs?", history=earlier)  # the pier text has none
    assert costs.abstained


def test_a_read_only_cache_and_folder_still_answer_from_the_changed_documents(
        tmp_path, fake_settings, monkeypatch, caplog):
    import sqlite3

    from rag.embed import EmbeddingCache
    from rag.errors import IndexSaveError

    docs, folder, cache = tmp_path / "docs", tmp_path / "ix", tmp_path / "cache"
    docs.mkdir()
    (docs / "a.txt").write_text("Saturn has 146 moons.")
    rag.Index.open([docs], folder, settings=fake_settings, cache_dir=cache)
    (docs / "bus.txt").write_text("The bus leaves at noon every day.")
    # The cache and the index folder can be read but not written (a shared install).
    opened = EmbeddingCache.__init__

    def read_only(self, path):
        opened(self, path)
        self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                   check_same_thread=False)

    def refuse(self, folder):
        raise IndexSaveError(f"cannot save the index in {folder}: read-only")

    monkeypatch.setattr(EmbeddingCache, "__init__", read_only)
    monkeypatch.setattr(rag.Index, "save", refuse)
    with pytest.raises(IndexSaveError):
        rag.Index.open([docs], folder, settings=fake_settings, cache_dir=cache)
    index, changes = rag.Index.open([docs], folder, settings=fake_settings, cache_dir=cache,
                                    must_save=False)
    assert [d.split("-")[0] for d in changes["added"]] == ["bus"]
    assert "noon" in index.ask("When does the bus leave?").quotes[0].text
    assert "cannot be written" in caplog.text and "could not be brought up to date" in caplog.text


def test_a_cache_that_cannot_be_made_keeps_the_vectors_in_memory(tmp_path, caplog):
    """An outside review: in a folder the user cannot write to, with no cache yet, nothing
    was answered ("The embedding cache cannot be kept in .briefing/cache")."""
    from rag.embed import EmbeddingCache

    (tmp_path / "file").write_text("not a folder")
    cache = EmbeddingCache(tmp_path / "file" / "cache" / "embeddings.sqlite")
    vector = np.arange(4, dtype=np.float32)
    cache.put("m", {"abc": vector})
    assert np.array_equal(cache.get("m", ["abc"])["abc"], vector)
    assert "vectors are kept in memory for now" in caplog.text


def test_a_busy_embedding_cache_skips_one_write_and_a_read_only_one_stops_trying(tmp_path):
    import sqlite3

    from rag.embed import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    real = cache._db

    class Refusing:
        def __init__(self, code: int) -> None:
            self.code, self.calls = code, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def executemany(self, *args):
            self.calls += 1
            error = sqlite3.OperationalError("refused")
            error.sqlite_errorcode = self.code
            raise error

    vector = {"sha": np.ones(3, dtype=np.float32)}
    cache._db = busy = Refusing(5)  # SQLITE_BUSY: another process is writing
    cache.put("m", vector)
    cache._db = real
    cache.put("m", vector)
    assert busy.calls == 1 and set(cache.get("m", ["sha"])) == {"sha"}  # kept the next time
    cache._db = read_only = Refusing(8)  # SQLITE_READONLY
    cache.put("m", vector)
    cache.put("m", vector)
    assert read_only.calls == 1  # not tried again


def test_a_sentence_that_calls_the_subject_she_holds_her_name():
    from rag.answer import first_named, referent_names, referred_terms, starts_with_pronoun

    biography = ("# Orla Fennimore\n\nOrla Fennimore was born in Cobh. She studied zoology.\n\n"
                 "## Career\n\nIn 1967 she joined the Marine Institute. Her book sold well. "
                 "She retired in 2003.")
    retired = biography.index("She retired")
    # Back past "Her book...", "In 1967 she..." and the heading, to the sentence naming her.
    assert referent_names(biography, retired, ["Orla Fennimore", "Galway"]) == ["Orla Fennimore"]
    assert starts_with_pronoun("In 1967 she joined the Marine Institute.")
    assert starts_with_pronoun("Her book sold well.")
    assert not starts_with_pronoun("Putin said he would visit.")  # he is Putin
    assert not starts_with_pronoun("On Monday, Lee said she would go.")
    # Who the sentence before names first: not whose ("Brightwell's"), not a later name.
    release = ("Dana Whitfield, Brightwell's head of safety, spoke. She said the defect was "
               "traced.")
    assert referent_names(release, release.index("She"), ["Brightwell"]) == []
    assert referent_names(release, release.index("She"), ["Whitfield"]) == ["Whitfield"]
    assert first_named("The claimant, Luis Pereira, worked at the warehouse.") == "Luis Pereira"
    assert first_named("In 1967 she joined the Marine Institute.") == ""
    # A sentence about someone else in between: "he" is not the question's man.
    news = "Kim Jong Un spoke first. Putin then took the floor. He praised the treaty."
    assert referent_names(news, news.index("He"), ["Kim Jong Un"]) == []
    # A shared surname is not the person: "he" after "Kim Jong Un travelled..." is not
    # Tongfi Kim (a browser review: an uploaded memo's "There he met Vladimir Putin" was
    # quoted for "Who is Tongfi Kim?"), though it is "Kim".
    memo = "In 2023 Kim Jong Un travelled to the cosmodrome. There he met Vladimir Putin."
    assert referent_names(memo, memo.index("There"), ["Tongfi Kim"]) == []
    assert referent_names(memo, memo.index("There"), ["Kim"]) == ["Kim"]

    # Read alone, such a sentence has the name in the pronoun's place (when long enough).
    from rag.answer import names_by_pronoun, referred_subject, with_subject

    assert referred_subject(biography, retired) == "Orla Fennimore"
    assert with_subject("In 1967 she joined the Institute.", "Orla Fennimore") == \
        "In 1967 Orla Fennimore joined the Institute."
    assert with_subject("Her book sold well.", "Orla Fennimore") == \
        "Orla Fennimore’s book sold well."
    assert names_by_pronoun("In 1967 she joined the Marine Institute.")
    assert not names_by_pronoun("He was 86.")  # the name alone would make it close
    obituary = ("Teodor Lindqvist died on 2 October. Born in Kiruna, he was the youngest of "
                "five. Colleagues remembered his temper. A footbridge he designed bounced. "
                "He wrote a memoir.")
    assert referred_subject(obituary, obituary.index("He wrote")) == "Teodor Lindqvist"
    assert first_named("Colleagues remembered his temper.", obituary) == ""
    assert first_named("Born in Kiruna, he was the youngest.") == ""
    born = (biography.index("Orla Fennimore was"), biography.index(" She studied"))
    assert referred_terms(biography, [born, (retired, len(biography))],
                          [["orla", "fennimor", "born", "cobh"], ["retir", "2003"]],
                          ["Orla Fennimore"]) == [[], ["orla", "fennimor"]]

    # With the bundled model: before, "Orla Fennimore was born in Cobh." came first, and
    # the question was refused.
    index = rag.Index.empty()
    index.add_bytes(biography.encode(), name="fennimore.md")
    answer = index.ask("When did Orla Fennimore retire?")
    assert answer.quotes[0].text == "She retired in 2003." and not answer.abstained
    # Read alone as "Teodor Lindqvist's daughter, Marta, said...": first, where the
    # sentence naming him came first before.
    index.add_bytes(b"Teodor Lindqvist, whose bridges carry traffic across three continents, "
                    b"died on 2 October at his home in Uppsala. He was 86. His daughter, "
                    b"Marta, said the cause was heart failure.\n\nBorn in Kiruna, he was the "
                    b"youngest of five children.", name="obituary.txt")
    answer = index.ask("What was the cause of Teodor Lindqvist's death?")
    assert "the cause was heart failure" in answer.quotes[0].text


@pytest.mark.parametrize(("field", "value"), [
    ("documents", None), ("documents", [1, 2]), ("documents", [{"id": "x"}]),
    ("documents", [{"id": "x", "checksum": "c", "source": 5}]), ("settings", None),
    ("model", 7), ("dimension", "384"), ("dimension", True)])
def test_a_manifest_with_a_field_of_the_wrong_kind_is_refused_by_name(index, tmp_path, field,
                                                                      value):
    """An outside review: these gave the command line raw TypeErrors and KeyErrors."""
    folder = index.save(tmp_path / "ix")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[field] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match=f"manifest.json is damaged .its '{field}' is not"):
        rag.Index.load(folder)


def test_a_document_record_of_the_wrong_kind_is_damage_not_a_crash_later(index, tmp_path):
    folder = index.save(tmp_path / "ix")
    records = (folder / "documents.jsonl").read_text().splitlines()
    first = json.loads(records[0])
    first["source"] = 123
    (folder / "documents.jsonl").write_text("\n".join([json.dumps(first), *records[1:]]) + "\n")
    with pytest.raises(IndexFormatError, match="is damaged .not a document record"):
        rag.Index.load(folder)


def test_add_bytes_refuses_a_source_that_is_not_text(index):
    """An outside review: source=123 was kept, and every later refresh of the saved index
    failed with a TypeError."""
    with pytest.raises(DocumentError, match="source must be text"):
        index.add_bytes(b"The vault code is 1234.", name="memo.txt", source=123)
    assert "memo" not in " ".join(d.id for d in index.documents(with_text=False))


def test_opening_an_index_parses_only_the_files_that_changed(tmp_path, fake_settings,
                                                             monkeypatch):
    """An outside review: every `briefing ask` parsed every document again before comparing
    checksums, five minutes for a 7 MB corpus of large HTML and Markdown files."""
    import rag.load

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Saturn has 146 moons.")
    (docs / "b.md").write_text("# Jupiter\n\nJupiter has 95 moons.\n")
    folder = tmp_path / "ix"
    rag.Index.open([docs], folder, settings=fake_settings)
    parsed = []
    real = rag.load.load_bytes
    monkeypatch.setattr(rag.load, "load_bytes",
                        lambda data, **kw: parsed.append(kw["name"]) or real(data, **kw))
    _, changes = rag.Index.open([docs], folder, settings=fake_settings)
    assert parsed == [] and len(changes["unchanged"]) == 2
    (docs / "b.md").write_text("# Jupiter\n\nJupiter has 97 moons.\n")
    index, changes = rag.Index.open([docs], folder, settings=fake_settings)
    assert parsed == ["b.md"] and len(changes["updated"]) == 1
    assert "97 moons" in index.ask("How many moons does Jupiter have?").quotes[0].text


def test_a_source_folder_emptied_as_an_unmounted_one_is_leaves_the_index_as_saved(
        tmp_path, fake_settings):
    """An outside review: with the files moved out of the folder (an unmounted mount point
    is an empty folder), every question failed with "No document could be indexed"."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Saturn has 146 moons.")
    folder = tmp_path / "ix"
    rag.Index.open([docs], folder, settings=fake_settings)
    (docs / "a.txt").rename(tmp_path / "a.txt")
    index, changes = rag.Index.open(None, folder, settings=fake_settings)
    assert changes["removed"] == [] and len(changes["unchanged"]) == 1
    assert "146 moons" in index.ask("How many moons does Saturn have?").quotes[0].text
    # Named, the emptied folder is what was asked for: nothing is left to answer from.
    with pytest.raises(rag.NoDocumentsError):
        rag.Index.open([docs], folder, settings=fake_settings)
    assert len(rag.Index.load(folder, settings=fake_settings)) == 1  # the save is untouched


def test_odd_arguments_get_briefings_own_errors(index):
    """An outside review found raw TypeErrors and AttributeErrors for these."""
    from rag.errors import ArgumentError, SettingsError

    with pytest.raises(ArgumentError, match="document takes one document id"):
        index.document(["id"])
    with pytest.raises(DocumentError, match="add_documents needs a list of rag.Document"):
        index.add_documents(None)
    with pytest.raises(SettingsError, match="no such setting: nonexistent .the settings are "
                                            "model, batch_size"):
        rag.Settings(nonexistent=1)
    with pytest.raises(SettingsError, match="settings must be a dict"):
        rag.Settings.from_dict(None)
    with pytest.raises(SettingsError, match="Settings.model must be"):
        rag.Settings(model="  ")
    with pytest.raises(ArgumentError, match="names must map file paths"):
        index.add([DATA], names={123: "x.txt"})
    with pytest.raises(ArgumentError, match="names must map file paths"):
        index.add([DATA], names=["x.txt"])
    one = rag.text_document("The ferry leaves at noon.", doc_id="ferry")
    assert index.add_documents(one) == [] and index.document("ferry").text.startswith("The")


def test_a_sentence_is_read_with_the_heading_it_stands_under():
    # The bundled model: "descale" is in the heading alone (an outside review's manual:
    # "Resetting to factory settings" over "Hold the Power and Lock buttons...").
    index = rag.Index.empty()
    index.add_bytes(b"# Kettle manual\n\n## Descaling\n\nFill the kettle with equal parts water "
                    b"and white vinegar, boil it and leave it for an hour.\n\n## Disposal\n\n"
                    b"Do not put the kettle in household waste; take it to a recycling "
                    b"centre.\n\n## Cleaning the outside\n\nWipe the kettle with a damp "
                    b"cloth.\n", name="kettle.md")
    answer = index.ask("How do I descale the kettle?")
    assert answer.quotes[0].text.startswith("Fill the kettle with equal parts water")
    from rag.answer import _headings
    from rag.retrieve import Hit

    text = "Release notes\n\nReleased 14 October 2026\n\nIt is fast.\n\nSpeed\n\nIt is faster."
    spans = [(m.start(), m.end()) for m in __import__("re").finditer(r"[^\n]+", text)]
    hit = Hit(chunk_id="d-0", doc_id="d", title="Release notes", source="d.md", text=text,
              start=0, end=len(text), score=1.0)
    # The title and a dateline head no section; "Speed" does.
    assert _headings(hit, spans) == [None, None, None, None, 3]


def test_she_after_asking_who_did_something_is_the_person_the_answer_names():
    # The bundled model and recogniser. Outside reviews: "What's the title of her talk?"
    # after "Who is giving the opening keynote?" was searched with the earlier question.
    index = rag.Index.empty()
    index.add_bytes(b"Minutes of the parish council\n\nThe meeting was chaired by Councillor "
                    b"Amara Osei. The clerk read the accounts.\n\nAbout the councillors\n\n"
                    b"Amara Osei was born in Leeds and taught chemistry for twenty years.\n",
                    name="minutes.txt")
    answer = index.ask("Where was she born?", history=["Who chaired the meeting?"])
    assert answer.query == "Where was Amara Osei born?"
    assert not answer.abstained and "Leeds" in answer.quotes[0].text
    # A question naming the person asks nothing of the answer.
    assert index.ask("Where was she born?", history=["Who is Amara Osei?"]).query == \
        "Where was Amara Osei born?"
    # "X, who..." is a person, before a company the small recogniser takes for one (review
    # 8: "Is she a qualified Mountain Leader?" was searched as "Is Larchway a...").
    index.add_bytes(b"The Westerdale Traverse\n\nMost departures are led by Tamsin Okafor, who "
                    b"grew up on a hill farm and has guided walks here for Larchway since "
                    b"2014. She is a qualified Mountain Leader and a trained first-aider.\n",
                    name="walk.txt")
    answer = index.ask("Is she a qualified Mountain Leader?",
                       history=["Who leads the Westerdale Traverse?"])
    assert "Larchway" not in answer.query and "Tamsin Okafor" in answer.query


def test_a_he_follow_up_is_about_the_man_named_before_when_the_last_one_named_is_she(
        fake_settings):
    from rag.load import text_document

    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([text_document(
        "Ines Varga runs the harbour. She started in 2019 and she hires the crews.\n\n"
        "Tomas Brandt sells nets at the market. He works at the east pier.", doc_id="town")])
    answer = index.ask("Where does he work?",
                       history=["Who is Tomas Brandt?", "What does Ines Varga run?"])
    assert answer.query == "Where does Tomas Brandt work?"
    assert index.ask("When did she start?", history=["What does Ines Varga run?"]).query == \
        "When did Ines Varga start?"


def test_she_after_a_who_question_is_never_a_man_its_answer_names():
    from rag.load import text_document

    index = rag.Index.empty()  # the bundled model: the earlier question must be answered
    index.add_documents([text_document(
        "Staff news\n\nWe say goodbye this term to Mr Daniel Fenwick, who leads Year 5. He is "
        "moving to Cornwall to become deputy head of Polmear Primary School.\n\nHis class will "
        "be taught after Easter by Miss Hannah Osei, who joins us from St Botolph's Primary "
        "in Bristol. She is a keen netball coach.", doc_id="news")])
    # The first quote names Mr Fenwick, whom the news calls "he": searched with the
    # question before, which finds Miss Osei (a review had "Where did Daniel Fenwick...").
    answer = index.ask("Where did she teach before?", history=["Who is the new Year 5 teacher?"])
    assert "Fenwick" not in answer.query
    assert "Hannah Osei" in answer.quotes[0].text
    assert index.ask("Where did she work before?",
                     history=["Who will teach Year 5 after Easter?"]).query == \
        "Where did Hannah Osei work before?"
    assert index.ask("Where is he going?", history=["Who is leaving?"]).query == \
        "Where is Daniel Fenwick going?"


@pytest.mark.parametrize("name, text, question, first", [
    # A name wrapped over two lines is one name to the recogniser (review 9).
    ("news.txt", b"School news\n\nThe next PTA meeting is on Tuesday. The PTA chair, Gemma"
                 b"\nWhitlock, is also looking for volunteers to run the tombola.\n",
     "Who is the PTA chair?", "The PTA chair, Gemma\nWhitlock"),
    # A role a company holds as often as a person (a browser review).
    ("memo.txt", b"Security memo\n\nThe alarm vendor is Bolt & Barrel Security Ltd. The "
                 b"system was installed in March.\n\nThe building manager is Carla Diaz.",
     "Who is the alarm vendor?", "The alarm vendor is Bolt & Barrel"),
    # A "Key: value" heading gives no reason (a browser review quoted it first).
    ("recall.html", b"<html><head><title>Kettle Recall Notice</title></head><body>"
                    b"<h1>Recall: BrewMaster 3000 Kettle</h1><p>Acme Appliances is recalling "
                    b"12,400 BrewMaster 3000 kettles sold between January and May 2024.</p>"
                    b"<p>The handle can detach when the kettle is full, posing a burn hazard."
                    b"</p></body></html>",
     "Why is the kettle being recalled?", "Acme Appliances is recalling"),
])
def test_answered_with_the_bundled_model_and_recogniser(name, text, question, first):
    index = rag.Index.empty()
    index.add_bytes(text, name=name)
    answer = index.ask(question)
    assert not answer.abstained
    assert answer.quotes[0].text.startswith(first)



def test_what_about_a_country_falls_back_to_what_the_documents_say_of_it(seed_index):
    # "What did China's foreign minister say?" finds Japan's; the article says of China
    # only that it has not commented (a browser review had it refused).
    for earlier in ("What did Japan's foreign minister say?",
                    "Where does Paul Poast work?"):  # searched with it, quoting Poast
        answer = seed_index.ask("What about China?", history=[earlier])
        assert not answer.abstained
        assert answer.quotes[0].text.startswith("China hasn’t commented")
