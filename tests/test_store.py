from __future__ import annotations

import numpy as np

from rag.chunk import Chunk
from rag.store import FaissStore


def make_store(n=40, dimension=16, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(f"doc{i % 4}", "T", i * 10, i * 10 + 5, f"word{i} shared", ((i * 10, i * 10 + 5),))
              for i in range(n)]
    store = FaissStore(dimension)
    store.add(chunks, vectors, [v[None, :] for v in vectors])
    return store, vectors, chunks, rng


def test_faiss_equals_numpy_brute_force():
    store, vectors, chunks, rng = make_store()
    for _ in range(5):
        query = rng.normal(size=16).astype(np.float32)
        expected = np.argsort(-(vectors @ query), kind="stable")[:7]
        hits = store.dense_search(query, 7)
        assert [h for h, _ in hits] == [chunks[i].id for i in expected]
        assert np.allclose([s for _, s in hits], (vectors @ query)[expected], atol=1e-5)


def test_restricted_search_equals_brute_force_on_the_subset():
    store, vectors, chunks, rng = make_store()
    query = rng.normal(size=16).astype(np.float32)
    rows = [i for i, c in enumerate(chunks) if c.doc_id in ("doc1", "doc3")]
    expected = sorted(rows, key=lambda i: -(vectors[i] @ query))[:5]
    assert [h for h, _ in store.dense_search(query, 5, ["doc1", "doc3"])] == [
        chunks[i].id for i in expected]
    assert store.dense_search(query, 5, []) == []


def test_keyword_search_and_restriction():
    store, *_ = make_store()
    assert [h for h, _ in store.keyword_search("word7", 3)] == ["doc3:70-75"]
    assert store.keyword_search("word7", 3, ["doc1"]) == []
    assert store.keyword_search("the of and", 3) == []  # only stop words
    assert store.keyword_search("unknownterm", 3) == []


def test_delete_keeps_sentence_vectors_aligned():
    store, vectors, chunks, _ = make_store(n=8)
    store.delete(["doc1"])
    assert len(store) == 6
    for i, chunk in enumerate(chunks):
        if chunk.doc_id != "doc1":
            assert np.array_equal(store.sentence_vectors(chunk.id)[0], vectors[i])
    assert [h for h, _ in store.dense_search(vectors[1], 1)] != [chunks[1].id]


def test_save_load_round_trip(tmp_path):
    store, vectors, chunks, rng = make_store()
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, 16)
    query = rng.normal(size=16).astype(np.float32)
    assert loaded.dense_search(query, 10) == store.dense_search(query, 10)
    assert loaded.keyword_search("word3 shared", 10) == store.keyword_search("word3 shared", 10)
    assert loaded.chunks == store.chunks
    assert np.array_equal(loaded.sentence_vectors(chunks[5].id), store.sentence_vectors(chunks[5].id))
