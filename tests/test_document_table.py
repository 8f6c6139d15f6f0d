"""DocumentTable: document facts in memory, texts on disk, saved and loaded intact."""

import json

import pytest

import rag
from rag.document_table import DocumentTable


def _doc(doc_id: str, text: str) -> rag.Document:
    return rag.text_document(text, doc_id=doc_id, title=f"Title {doc_id}")


def test_documents_come_back_whole_in_the_order_added(tmp_path):
    table = DocumentTable()
    table.put([_doc("a", "Alpha text é ünïcode."), _doc("b", "Bravo text.")])
    table.put([_doc("c", "Charlie.")])
    assert table.ids() == ["a", "b", "c"] and len(table) == 3 and "b" in table
    assert table.get("a") == _doc("a", "Alpha text é ünïcode.")
    assert table.facts("a").title == "Title a" and table.facts("a").text == ""
    assert [d.text for d in table.documents()] == ["Alpha text é ünïcode.\n", "Bravo text.\n",
                                                   "Charlie.\n"]
    assert table.get("zzz") is None and table.facts("zzz") is None


def test_replacing_and_removing_change_only_that_document(tmp_path):
    table = DocumentTable()
    table.put([_doc("a", "Old a."), _doc("b", "Bravo.")])
    assert table.get("a").text == "Old a.\n" and table.get("b").text == "Bravo.\n"  # now kept
    table.put([_doc("a", "New a, longer than before.")])
    table.remove("b")
    assert table.ids() == ["a"] and table.get("a").text == "New a, longer than before.\n"
    assert table.get("b") is None
    with pytest.raises(KeyError):
        table.remove("b")


def test_more_documents_than_are_kept_in_memory_all_read_back(tmp_path):
    from rag.document_table import RECENT_TEXTS

    table = DocumentTable()
    documents = [_doc(str(i), f"Text number {i}.") for i in range(RECENT_TEXTS * 3)]
    table.put(documents)
    for _ in range(2):
        assert [table.get(d.id) for d in reversed(documents)] == documents[::-1]


def test_save_then_load_keeps_every_document_and_appends_after(tmp_path):
    table = DocumentTable()
    documents = [_doc(str(i), f"Document {i} says {'x' * i}.") for i in range(20)]
    table.put(documents)
    table.remove("3")
    table.save(tmp_path)
    loaded = DocumentTable.load(tmp_path)
    assert list(loaded.documents()) == [d for d in documents if d.id != "3"]
    loaded.put([_doc("new", "Added after loading.")])
    assert loaded.get("new").text == "Added after loading.\n" and loaded.get("19") == documents[19]
    records = [json.loads(line) for line in (tmp_path / "documents.jsonl").read_text().splitlines()]
    assert all("text" not in r for r in records)


def test_format_two_documents_with_inline_texts_still_load(tmp_path):
    documents = [_doc("a", "Inline a."), _doc("b", "Inline b.")]
    (tmp_path / "documents.jsonl").write_text(
        "".join(json.dumps(d.to_record()) + "\n" for d in documents))
    assert list(DocumentTable.load(tmp_path).documents()) == documents


@pytest.mark.parametrize("damage", ["short-texts", "long-texts", "no-length", "not-json"])
def test_damaged_files_are_a_value_error_naming_them(tmp_path, damage):
    table = DocumentTable()
    table.put([_doc("a", "Some text."), _doc("b", "More text.")])
    table.save(tmp_path)
    texts, records = tmp_path / "document_texts.bin", tmp_path / "documents.jsonl"
    if damage == "short-texts":
        texts.write_bytes(texts.read_bytes()[:-3])
    elif damage == "long-texts":
        texts.write_bytes(texts.read_bytes() + b"extra")
    elif damage == "no-length":
        lines = records.read_text().splitlines()
        first = json.loads(lines[0])
        del first["text_bytes"]
        records.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    else:
        records.write_text("{oops\n")
    with pytest.raises(ValueError, match="documents.jsonl|document_texts.bin"):
        DocumentTable.load(tmp_path)
