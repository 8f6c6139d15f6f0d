from __future__ import annotations

import pytest

from rag.retrieve import Hit, promote_phrases, quoted_phrases, reciprocal_rank_fusion


def test_rrf_against_hand_computed_table():
    # k = 1 keeps the arithmetic readable:
    #   a: 1/(1+1) + 1/(1+3) = 0.75      b: 1/(1+2) + 1/(1+1) = 0.8333...
    #   c: 1/(1+3)           = 0.25      d: 1/(1+2)           = 0.3333...
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]], weights=[1, 1], k=1)
    assert [i for i, _ in fused] == ["b", "a", "d", "c"]
    assert [round(s, 6) for _, s in fused] == [0.833333, 0.75, 0.333333, 0.25]


def test_rrf_weights_and_zero_weight():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[2, 1], k=0)
    assert fused == [("a", 2.5), ("b", 2.0)]
    dense_only = reciprocal_rank_fusion([["x", "y"], ["y", "x"]], weights=[1, 0], k=60)
    assert [i for i, _ in dense_only] == ["x", "y"]


def test_rrf_ties_keep_first_appearance():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[1, 1], k=60)
    assert [i for i, _ in fused] == ["a", "b"]


def test_rrf_needs_a_weight_per_ranking():
    with pytest.raises(ValueError, match="one weight per ranking"):
        reciprocal_rank_fusion([["a"]], weights=[1, 1])


def test_quoted_phrases():
    assert quoted_phrases('the "Open-ended  language" and “swift rebuke” of it') == [
        "open-ended language", "swift rebuke"]
    assert quoted_phrases("no quotes here") == []


def test_promote_phrases_keeps_order_within_groups():
    fused = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.6)]
    texts = {"a": "nothing", "b": "the Swift\nrebuke came", "c": "other", "d": "a swift rebuke"}
    assert [i for i, _ in promote_phrases(fused, texts, ["swift rebuke"])] == ["b", "d", "a", "c"]
    assert promote_phrases(fused, texts, []) == fused


def test_a_title_that_is_a_sentence_loses_its_full_stop_in_citations():
    from rag.retrieve import cited_title

    assert cited_title("The tide reaches 11 metres during spring tides.") == \
        "The tide reaches 11 metres during spring tides"
    assert cited_title("Results for 2024.") == "Results for 2024"
    assert cited_title("Brightwell Appliances Inc.") == "Brightwell Appliances Inc."
    assert cited_title("The U.S.") == "The U.S."
    hit = Hit(chunk_id="c", doc_id="d", title="The ferry leaves at ten.", source="f.txt",
              text="x", start=0, end=1, score=1.0)
    assert hit.citation() == "The ferry leaves at ten, chars 0-1"
