from __future__ import annotations

import numpy as np

from rag.chunk import Chunk
from rag.store import FaissStore

from .conftest import SEEDS


def make_store(n=40, dimension=16, seed=0, topics=0, **options):
    """A store of `n` random unit vectors; with `topics`, scattered around that many
    centres, as the embeddings of real text are."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dimension)).astype(np.float32)
    if topics:
        centres = rng.normal(size=(topics, dimension)).astype(np.float32)
        vectors = centres[rng.integers(topics, size=n)] + 0.4 * vectors
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(f"doc{i % 4}", "T", i * 10, i * 10 + 5, f"word{i} shared", ((i * 10, i * 10 + 5),))
              for i in range(n)]
    store = FaissStore(dimension, **options)
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
    assert store.passage_counts() == {"doc0": 2, "doc2": 2, "doc3": 2}
    for i, chunk in enumerate(chunks):
        if chunk.doc_id != "doc1":
            # Sentence vectors are kept as float16.
            expected = vectors[i].astype(np.float16).astype(np.float32)
            assert np.array_equal(store.sentence_vectors(chunk.id)[0], expected)
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


def test_ivf_agrees_with_exact_search():
    exact, vectors, chunks, rng = make_store(n=3000, dimension=32, topics=40, dense_index="flat")
    approximate, *_ = make_store(n=3000, dimension=32, topics=40, approximate_above=1000)
    assert (exact.kind, approximate.kind) == ("flat", "ivf")
    found = 0
    for i in range(50):
        query = vectors[i * 7] + 0.2 * rng.normal(size=32).astype(np.float32)
        truth = exact.dense_search(query, 10)
        hits = approximate.dense_search(query, 10)
        found += len({h for h, _ in truth} & {h for h, _ in hits})
        # Candidates are re-scored exactly: a passage found has its exact cosine.
        exact_scores = dict(exact.dense_search(query, 3000))
        assert all(abs(exact_scores[h] - s) < 1e-5 for h, s in hits)
    assert found / 500 >= 0.98


def test_store_switches_to_ivf_when_it_grows_and_back_when_it_shrinks(tmp_path):
    store, vectors, chunks, rng = make_store(n=50, approximate_above=60)
    query = rng.normal(size=16).astype(np.float32)
    store.dense_search(query, 5)
    assert store.kind == "flat"
    more = rng.normal(size=(20, 16)).astype(np.float32)
    more /= np.linalg.norm(more, axis=1, keepdims=True)
    extra = [Chunk("doc9", "T", 1000 + i, 1001 + i, f"extra{i}", ((1000 + i, 1001 + i),))
             for i in range(20)]
    store.add(extra, more, [m[None, :] for m in more])
    assert store.kind == "ivf"
    assert store.dense_search(more[3], 1)[0][0] == extra[3].id
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, 16, approximate_above=60)
    assert loaded.kind == "ivf"
    assert loaded.dense_search(more[3], 1)[0][0] == extra[3].id
    assert loaded.dense_search(vectors[7], 1)[0][0] == chunks[7].id
    loaded.delete(["doc9"])
    assert loaded.kind == "flat" and len(loaded) == 50
    assert loaded.dense_search(vectors[7], 1)[0][0] == chunks[7].id
    assert loaded.dense_search(more[3], 1)[0][0] != extra[3].id


def test_ivf_store_changes_after_loading(tmp_path):
    """A loaded store's arrays are read-only memory maps: changing it must copy, not fail."""
    store, vectors, chunks, rng = make_store(n=400, dense_index="ivf")
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, 16, dense_index="ivf")
    loaded.delete(["doc1"])
    more = rng.normal(size=(3, 16)).astype(np.float32)
    more /= np.linalg.norm(more, axis=1, keepdims=True)
    extra = [Chunk("doc7", "T", i, i + 1, f"late{i}", ((i, i + 1),)) for i in range(3)]
    loaded.add(extra, more, [m[None, :] for m in more])
    assert len(loaded) == 303
    assert loaded.dense_search(more[2], 1)[0][0] == extra[2].id
    assert loaded.dense_search(vectors[2], 1)[0][0] == chunks[2].id  # doc2 stays
    assert all(loaded.get(h).doc_id != "doc1" for h, _ in loaded.dense_search(vectors[1], 20))
    assert [h for h, _ in loaded.keyword_search("late1", 3)] == [extra[1].id]


def test_tokenize_gives_what_bm25s_gives():
    import bm25s
    import Stemmer

    from rag.keywords import TOKEN_PATTERN, tokenize

    texts = [(SEEDS / "putin-kim-military-alliance.txt").read_text("utf-8"), "", "  ", "a I",
             "Ünïcödé naïve café 東京 ÉCOLE", "don't won't it's U.S. e.g. 3.5% studies STUDYING",
             "Warehouse 7 and Article 5, not Tidewater 4.2.0, 3:30 or 7 people"]
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                              return_ids=False, show_progress=False, token_pattern=TOKEN_PATTERN)
    assert tokenize(texts) == [list(tokens) for tokens in expected]


def test_a_digit_after_a_word_is_a_token_and_a_digit_of_a_number_is_not():
    from rag.keywords import tokenize

    assert tokenize(["Warehouse 7 holds grain; Article 5 of NATO; Zone 4."]) == [
        ["warehous", "7", "hold", "grain", "articl", "5", "nato", "zone", "4"]]
    assert tokenize(["Tidewater 4.2.0 at 3:30, 7 people, in 1,5 days"]) == [
        ["tidewat", "30", "peopl", "day"]]


def test_best_rows_is_a_stable_top_k():
    from rag.store import best_rows

    rng = np.random.default_rng(3)
    for _ in range(50):
        scores = rng.integers(0, 5, size=30).astype(np.float32)  # many ties
        for k in (1, 4, 29, 30, 40):
            assert list(best_rows(scores, k)) == list(np.argsort(-scores, kind="stable")[:k])
