"""The Store behaviours of tests/test_store.py, on Milvus Lite (a .db file per test)."""

from __future__ import annotations

import importlib
import os
from dataclasses import replace

import numpy as np
import pytest

from rag.chunk import Chunk
from rag.errors import IndexMismatchError
from rag.load import text_document
from rag.settings import Settings
from rag.store import create_store, load_store

from .conftest import DATA
from .helpers import FAKE_MODEL


def require(module: str):
    """The module; skipped when missing on a developer machine, a failure in CI."""
    if os.environ.get("CI") == "true":
        return importlib.import_module(module)
    return pytest.importorskip(module)


require("pymilvus")
require("milvus_lite")

from rag.milvus_store import (  # noqa: E402
    DOCUMENT_PART_CHARS,
    MilvusStore,
    client_uri,
    collection_name,
)


@pytest.fixture
def lite(tmp_path):
    """A Settings.store URI for a fresh Milvus Lite file; its server stops after the test."""
    path = tmp_path / "briefing.db"
    yield f"milvus://{path}"
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(path))


def make_store(uri, n=40, dimension=16, seed=0, model=FAKE_MODEL):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(f"doc{i % 4}", "T", i * 10, i * 10 + 5, f"word{i} shared", ((i * 10, i * 10 + 5),))
              for i in range(n)]
    store = MilvusStore.create(Settings(model=model, store=uri), dimension)
    store.add(chunks, vectors, [v[None, :] for v in vectors])
    return store, vectors, chunks, rng


def test_uris_name_a_lite_file_or_a_server():
    assert client_uri("milvus:///data/x/briefing.db") == "/data/x/briefing.db"
    assert client_uri("milvus://10.0.0.5:19530") == "http://10.0.0.5:19530"
    assert client_uri("milvus://milvus:19530?collection=news") == "http://milvus:19530"
    assert collection_name("milvus://milvus:19530?collection=news") == "news"
    assert collection_name("milvus:///x/briefing.db") == "briefing"
    assert client_uri("milvus://milvus") == "http://milvus:19530"
    for bad in ("milvus://host:19530/db/x", "milvus:///data/x.txt", "milvus://"):
        with pytest.raises(ValueError, match="milvus:///absolute/path/briefing.db"):
            client_uri(bad)
    with pytest.raises(ValueError, match="collection='1-bad'"):
        collection_name("milvus://h:1?collection=1-bad")


def test_dense_search_equals_numpy_brute_force(lite):
    store, vectors, chunks, rng = make_store(lite)
    for _ in range(5):
        query = rng.normal(size=16).astype(np.float32)
        expected = np.argsort(-(vectors @ query), kind="stable")[:7]
        hits = store.dense_search(query, 7)
        assert [h for h, _ in hits] == [chunks[i].id for i in expected]
        assert np.allclose([s for _, s in hits], (vectors @ query)[expected], atol=1e-5)


def test_restricted_search_equals_brute_force_on_the_subset(lite):
    store, vectors, chunks, rng = make_store(lite)
    query = rng.normal(size=16).astype(np.float32)
    rows = [i for i, c in enumerate(chunks) if c.doc_id in ("doc1", "doc3")]
    expected = sorted(rows, key=lambda i: -(vectors[i] @ query))[:5]
    assert [h for h, _ in store.dense_search(query, 5, ["doc1", "doc3"])] == [
        chunks[i].id for i in expected]
    assert store.dense_search(query, 5, []) == []


def test_keyword_search_and_restriction(lite):
    store, *_ = make_store(lite)
    assert [h for h, _ in store.keyword_search("word7", 3)] == ["doc3:70-75"]
    assert store.keyword_search("word7", 3, ["doc1"]) == []
    assert store.keyword_search("word7", 3, []) == []
    assert store.keyword_search("the of and", 3) == []  # only stop words
    assert store.keyword_search("unknownterm", 3) == []


def test_keyword_search_stems_like_the_faiss_store(lite):
    dimension = 4
    chunks = [Chunk("a", "Alliance", 0, 30, "Leaders signed the treaties.", ((0, 30),)),
              Chunk("b", "Weather", 0, 20, "It rained in Seoul.", ((0, 20),))]
    vectors = np.eye(dimension, dtype=np.float32)[:2]
    store = MilvusStore.create(Settings(model=FAKE_MODEL, store=lite), dimension)
    store.add(chunks, vectors, [v[None, :] for v in vectors])
    faiss = create_store(Settings(model=FAKE_MODEL), dimension)
    faiss.add(chunks, vectors, [v[None, :] for v in vectors])
    for query in ("treaty signing", "rains", "alliances"):
        assert [h for h, _ in store.keyword_search(query, 2)] == \
            [h for h, _ in faiss.keyword_search(query, 2)]
    assert [h for h, _ in store.keyword_search("treaty signing", 2)] == ["a:0-30"]


def test_delete_keeps_sentence_vectors_aligned(lite):
    store, vectors, chunks, _ = make_store(lite, n=8)
    store.delete(["doc1"])
    assert len(store) == 6
    assert store.passage_counts() == {"doc0": 2, "doc2": 2, "doc3": 2}
    for i, chunk in enumerate(chunks):
        if chunk.doc_id != "doc1":
            # Sentence vectors are kept as float16, as in FaissStore.
            expected = vectors[i].astype(np.float16).astype(np.float32)
            assert np.array_equal(store.sentence_vectors(chunk.id)[0], expected)
    with pytest.raises(KeyError):
        store.get(chunks[1].id)
    assert [h for h, _ in store.dense_search(vectors[1], 1)] != [chunks[1].id]


def test_chunks_come_back_in_the_order_added_and_adding_again_replaces(lite):
    store, vectors, chunks, _ = make_store(lite, n=12)
    store.add(chunks[:3], vectors[:3], [v[None, :] for v in vectors[:3]])
    assert len(store) == 12
    assert store.chunks == chunks[3:] + chunks[:3]
    assert store.get(chunks[5].id) == chunks[5]


def test_sentence_vectors_of_a_many_sentence_passage(lite):
    dimension = 8
    spans = tuple((i * 3, i * 3 + 2) for i in range(5))
    chunk = Chunk("d", "", 0, 14, "a. b. c. d. e.", spans)
    rows = np.arange(5 * dimension, dtype=np.float32).reshape(5, dimension) / 8
    store = MilvusStore.create(Settings(model=FAKE_MODEL, store=lite), dimension)
    store.add([chunk], np.ones((1, dimension), dtype=np.float32), [rows])
    assert np.array_equal(store.sentence_vectors(chunk.id), rows)
    assert store.chunks == [chunk]  # an empty title survives the round trip


def test_save_load_round_trip(lite, tmp_path):
    store, vectors, chunks, rng = make_store(lite)
    folder = tmp_path / "index"
    folder.mkdir()
    store.save(folder)
    loaded = load_store(Settings(model=FAKE_MODEL, store=lite), folder, 16)
    query = rng.normal(size=16).astype(np.float32)
    assert loaded.dense_search(query, 10) == store.dense_search(query, 10)
    assert loaded.keyword_search("word3 shared", 10) == store.keyword_search("word3 shared", 10)
    assert loaded.chunks == store.chunks
    assert np.array_equal(loaded.sentence_vectors(chunks[5].id),
                          store.sentence_vectors(chunks[5].id))


def test_other_settings_are_refused_by_name(lite):
    make_store(lite)
    with pytest.raises(IndexMismatchError, match="model is 'test-hashing-embedder' there but "
                                                 "'other-model' here"):
        MilvusStore.create(Settings(model="other-model", store=lite), 16)
    with pytest.raises(IndexMismatchError, match="dimension is 16 there but 32 here"):
        MilvusStore.create(Settings(model=FAKE_MODEL, store=lite), 32)
    with pytest.raises(IndexMismatchError, match="chunk_chars is 600 there but 300 here"):
        MilvusStore.create(Settings(model=FAKE_MODEL, store=lite, chunk_chars=300), 16)
    other = MilvusStore.create(Settings(model="other-model", store=f"{lite}?collection=other"), 16)
    assert len(other) == 0


def test_documents_are_recorded_whole_and_deleted_with_their_passages(lite):
    store, *_ = make_store(lite)
    small = text_document("Kim met Putin.", doc_id="doc1", title="Summit")
    large = text_document("word " * (DOCUMENT_PART_CHARS // 2), doc_id="doc2", title="Long")
    store.put_documents([small, large])
    assert store.documents() == [small, large]
    assert store.documents(["doc2"]) == [large]
    assert store.checksums() == {"doc1": small.checksum, "doc2": large.checksum}
    changed = replace(small, text="Kim met Putin again.", checksum="c2")
    store.put_documents([changed])
    assert store.documents(["doc1"]) == [changed]
    store.delete(["doc2"])
    assert store.checksums() == {"doc1": "c2"}
    assert len(store) == 30


def test_index_on_milvus_answers_like_the_index_on_faiss(fake_settings, lite, tmp_path):
    import rag

    faiss_index = rag.Index.build([DATA], settings=fake_settings)
    milvus_index = rag.Index.build([DATA], settings=replace(fake_settings, store=lite))
    for query in ("Who signed the treaty?", "weather forecast", "capital city"):
        milvus_hits, faiss_hits = milvus_index.search(query, k=5), faiss_index.search(query, k=5)
        # The same passages with the same scores; passages tied on an equal cosine (the
        # hashing embedder gives 0.0 to words it has not seen) may come in either order.
        assert {(h.chunk_id, round(h.dense or 0.0, 5)) for h in milvus_hits} == \
            {(h.chunk_id, round(h.dense or 0.0, 5)) for h in faiss_hits}
    assert [h.chunk_id for h in milvus_index.search("Who signed the treaty?", k=5)] == \
        [h.chunk_id for h in faiss_index.search("Who signed the treaty?", k=5)]  # no ties
    question = "Who signed the treaty?"
    assert milvus_index.ask(question).quotes == faiss_index.ask(question).quotes
    milvus_index.save(tmp_path / "index")
    assert sorted((tmp_path / "index").iterdir()) == [
        tmp_path / "index" / name
        for name in ("document_texts.bin", "documents.jsonl", "manifest.json", "milvus.json")]
    loaded = rag.Index.load(tmp_path / "index", settings=replace(fake_settings, store=lite))
    assert [h.chunk_id for h in loaded.search(question)] == \
        [h.chunk_id for h in milvus_index.search(question)]


def test_the_seeds_on_milvus_rank_like_faiss_for_the_seed_questions(seed_index, lite):
    """Parity with the real model: the same top-3 passages on both stores for every
    question of bench/seed-questions.jsonl (BM25 is Milvus's own function on one side)."""
    import json

    import rag

    from .conftest import SEEDS

    questions = [json.loads(line) for line in
                 (SEEDS.parent / "bench" / "seed-questions.jsonl").read_text("utf-8").splitlines()]
    milvus_index = rag.Index.build([SEEDS], settings=replace(seed_index.settings, store=lite))
    assert isinstance(milvus_index._store, MilvusStore)
    overlaps = []
    for item in questions:
        query = item["question"]
        faiss_top = [h.chunk_id for h in seed_index.search(query, k=3)]
        milvus_top = [h.chunk_id for h in milvus_index.search(query, k=3)]
        overlaps.append(len(set(faiss_top) & set(milvus_top)) / 3)
    assert sum(overlaps) / len(overlaps) == 1.0, overlaps
