"""KeywordIndex: BM25 that follows added and deleted passages without rebuilding."""

from __future__ import annotations

import numpy as np
import pytest

from rag.chunk import Chunk
from rag.keywords import KeywordIndex
from rag.passages import PassageTable

WORDS = ("harbour crane storm ferry grain timber orchard apple library council budget "
         "river bridge school teacher nurse hospital railway station market bakery").split()


def passage(doc_id: str, text: str, start: int = 0) -> Chunk:
    return Chunk(doc_id, f"Title {doc_id}", start, start + len(text), text,
                 ((start, start + len(text)),))


def corpus(n: int, seed: int = 0, prefix: str = "d") -> list[Chunk]:
    rng = np.random.default_rng(seed)
    return [passage(f"{prefix}{i}", " ".join(rng.choice(WORDS, size=rng.integers(5, 30))))
            for i in range(n)]


def keyword_index(chunks: list[Chunk], **options) -> tuple[PassageTable, KeywordIndex]:
    table = PassageTable()
    index = KeywordIndex(table, **options)
    table.append(chunks)
    index.added(len(chunks))
    return table, index


def add(table: PassageTable, index: KeywordIndex, chunks: list[Chunk]) -> None:
    table.append(chunks)
    index.added(len(chunks))


def delete(table: PassageTable, index: KeywordIndex, doc_ids: set[str]) -> None:
    keep = np.ones(len(table), dtype=bool)
    keep[table.rows_of(doc_ids)] = False
    table.keep(keep)
    index.kept(keep)


def ids(table: PassageTable, found) -> list[str]:
    return [table.doc_id(row) for row, _ in found]


QUERIES = [["harbour", "crane"], ["ferri"], ["orchard", "appl", "bakeri"], ["station"],
           ["budget", "council", "council"]]


def test_a_recent_passage_scores_exactly_as_its_twin_in_the_built_index():
    twin_text = "ferry timber ferry harbour crane"
    table, index = keyword_index([*corpus(200), passage("twin", twin_text)])
    index.search(["ferri"], 5)  # builds the main index
    add(table, index, [passage("recent", twin_text)])
    assert index.recent == 1
    for query in (["ferri"], ["harbour", "ferri", "timber"], ["crane", "crane"]):
        scores = dict((table.doc_id(r), s) for r, s in index.search(query, 300))
        assert scores["recent"] == scores["twin"] > 0


def test_deleted_passages_are_never_found_and_recent_ones_are():
    table, index = keyword_index(corpus(300), rebuild_fraction=0.5)
    index.search(["ferri"], 5)
    delete(table, index, {f"d{i}" for i in range(0, 300, 3)})
    add(table, index, corpus(10, seed=9, prefix="new"))
    assert not index._stale()  # 110 changes: under half of 300, so no rebuild
    for query in QUERIES:
        found = ids(table, index.search(query, 50))
        assert not any(d.startswith("d") and int(d[1:]) % 3 == 0 for d in found)
        assert [s for _, s in index.search(query, 50)] == \
            sorted((s for _, s in index.search(query, 50)), reverse=True)
    assert any(d.startswith("new") for q in QUERIES for d in ids(table, index.search(q, 50)))


def test_restricted_search_covers_main_and_recent_passages():
    table, index = keyword_index(corpus(100), rebuild_fraction=0.5)
    index.search(["ferri"], 5)
    add(table, index, corpus(5, seed=4, prefix="new"))
    allowed = table.rows_of({"d7", "new2"})
    found = index.search(["harbour", "ferri", "crane", "storm", "grain"], 10, allowed)
    assert set(ids(table, found)) <= {"d7", "new2"}
    assert index.search(["harbour"], 10, np.zeros(0, dtype=np.int64)) == []


def test_after_a_rebuild_results_equal_a_fresh_index():
    table, index = keyword_index(corpus(100), rebuild_fraction=0.1)
    index.search(["ferri"], 5)
    add(table, index, corpus(30, seed=5, prefix="new"))  # 30% > 10%: rebuilt on search
    delete(table, index, {"d1", "d2"})
    fresh_table, fresh = keyword_index([table.chunk(r) for r in range(len(table))])
    for query in QUERIES:
        assert index.search(query, 20) == fresh.search(query, 20)
    assert index.recent == 0


def test_a_few_recent_passages_rank_as_a_fresh_index_ranks_them():
    base, extra = corpus(2000, seed=1), corpus(60, seed=2, prefix="new")
    table, index = keyword_index(base)
    index.search(["ferri"], 5)
    add(table, index, extra)
    assert index.recent == 60 and not index._stale()
    _, fresh = keyword_index(base + extra)
    overlap = [len({r for r, _ in index.search(q, 10)} & {r for r, _ in fresh.search(q, 10)})
               for q in QUERIES]
    assert sum(overlap) / (10 * len(QUERIES)) >= 0.9, overlap


def test_save_and_load_keep_recent_and_deleted_passages(tmp_path):
    table, index = keyword_index(corpus(300))
    index.search(["ferri"], 5)
    delete(table, index, {"d5", "d6"})
    add(table, index, corpus(8, seed=3, prefix="new"))
    table.save(tmp_path)
    index.save(tmp_path)
    loaded_table = PassageTable.load(tmp_path)
    loaded = KeywordIndex.load(tmp_path, loaded_table)
    assert loaded.recent == 8
    for query in QUERIES:
        assert loaded.search(query, 30) == index.search(query, 30)


def test_an_index_saved_without_row_map_covers_every_row(tmp_path):
    table, index = keyword_index(corpus(50))
    table.save(tmp_path)
    index.save(tmp_path)
    (tmp_path / "bm25_rows.npy").unlink()
    loaded = KeywordIndex.load(tmp_path, PassageTable.load(tmp_path))
    assert loaded.recent == 0 and not loaded.outdated
    assert loaded._main is not None  # read, not built again
    assert loaded.search(["ferri"], 10) == index.search(["ferri"], 10)


@pytest.mark.parametrize("saved", [{"average_length": 12.0}, None],
                         ids=["bm25.json-without-token-pattern", "no-bm25.json"])
def test_an_index_saved_with_other_word_tokens_is_built_again(tmp_path, saved):
    import json

    chunks = [*corpus(50), passage("w6", "Warehouse 6 holds grain"),
              passage("w7", "Warehouse 7 holds timber")]
    table, index = keyword_index(chunks)
    table.save(tmp_path)
    index.save(tmp_path)
    if saved is None:
        (tmp_path / "bm25.json").unlink()
        (tmp_path / "bm25_rows.npy").unlink()
    else:
        (tmp_path / "bm25.json").write_text(json.dumps(saved), "utf-8")
    loaded = KeywordIndex.load(tmp_path, PassageTable.load(tmp_path))
    assert loaded.outdated
    assert ids(table, loaded.search(["warehous", "7"], 2)) == ["w7", "w6"]
    loaded.save(tmp_path)
    assert not loaded.outdated
    saved_again = KeywordIndex.load(tmp_path, PassageTable.load(tmp_path))
    assert not saved_again.outdated and saved_again._main is not None
    assert ids(table, saved_again.search(["warehous", "7"], 2)) == ["w7", "w6"]


def test_index_open_saves_an_index_whose_keyword_index_was_built_again(fake_settings,
                                                                        tmp_path):
    import json

    import rag

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "stores.txt").write_text(
        "Warehouse 6 holds grain from the northern farms.\n\n"
        "Warehouse 7 holds timber for the new bridge.\n", "utf-8")
    rag.Index.open([docs], tmp_path / "ix", settings=fake_settings)
    stats = tmp_path / "ix" / "bm25.json"
    old = json.loads(stats.read_text("utf-8"))
    del old["token_pattern"]  # as an index saved before the pattern was
    stats.write_text(json.dumps(old), "utf-8")
    index, changes = rag.Index.open([docs], tmp_path / "ix", settings=fake_settings)
    assert not any(changes[k] for k in ("added", "updated", "removed"))
    assert "token_pattern" in json.loads(stats.read_text("utf-8"))
    assert index.ask("What does Warehouse 7 hold?").quotes[0].text.startswith("Warehouse 7")


def test_a_row_map_that_disagrees_is_a_value_error(tmp_path):
    table, index = keyword_index(corpus(50))
    table.save(tmp_path)
    index.save(tmp_path)
    np.save(tmp_path / "bm25_rows.npy", np.arange(49, dtype=np.int64))
    with pytest.raises(ValueError, match="bm25_rows.npy"):
        KeywordIndex.load(tmp_path, PassageTable.load(tmp_path))


def test_an_index_adding_and_removing_documents_keeps_bm25_current(fake_settings, tmp_path):
    import rag

    words = [f"{w}{i}" for i, w in enumerate(WORDS * 10)]
    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([rag.text_document(f"Report {i} on the {words[i]} and {words[-i]}.",
                                           doc_id=f"r{i}") for i in range(1, 150)])
    assert index.search("report", k=1)  # builds BM25 over every passage
    index.add_documents([rag.text_document("The zeppelin timetable changed.", doc_id="new")])
    index.remove("r7")
    keywords = index._store._keywords
    assert keywords.recent == 1 and keywords._deleted == 1  # no rebuild: 2 of 149 changed
    assert [(i.split(":")[0]) for i, _ in index._store.keyword_search("zeppelin", 5)] == ["new"]
    assert index._store.keyword_search(words[7], 5) == []
    index.save(tmp_path / "ix")
    loaded = rag.Index.load(tmp_path / "ix")
    assert loaded._store._keywords.recent == 1
    for query in ("zeppelin timetable", f"report {words[9]}", words[7]):
        assert loaded._store.keyword_search(query, 10) == index._store.keyword_search(query, 10)
