"""The reading model: training pairs built exactly, weights written and read back, and the
shipped reader telling an answering sentence from one that is only about the question."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from rag import reader
from rag.errors import ModelLoadError

ARTICLE = {
    "title": "Owls",
    "paragraphs": [
        {"context": "They hunt at night. The barn owl eats mice and voles. "
                    "Owls cannot move their eyes.",
         "qas": [
             {"id": "q1", "question": "What does the barn owl eat?",
              "answers": [{"text": "mice and voles", "answer_start": 38}]},
             # "night. The barn" crosses a sentence boundary: skipped.
             {"id": "q2", "question": "When do owls hunt?",
              "answers": [{"text": "night. The barn", "answer_start": 13}]},
         ]},
        {"context": "A barn owl nests in barns. Snowy owls eat lemmings.",
         "qas": []},
    ],
}


def test_squad_pairs_take_the_answer_sentence_and_the_closest_others():
    pairs = reader.squad_pairs([ARTICLE])
    assert pairs[0] == ("What does the barn owl eat?", "The barn owl eats mice and voles.", 1)
    negatives = [p for p in pairs if p[2] == 0]
    assert len(pairs) == 1 + reader.NEGATIVES
    assert all(q == "What does the barn owl eat?" for q, _, _ in negatives)
    # "A barn owl nests in barns." shares barn and owl; "Snowy owls eat lemmings." shares
    # owl and eat; "Owls cannot move their eyes." shares owl and is in the same paragraph
    # (+0.5), which beats "They hunt at night." (nothing shared, same paragraph).
    assert {t for _, t, _ in negatives} == {"A barn owl nests in barns.",
                                            "Snowy owls eat lemmings.",
                                            "Owls cannot move their eyes."}


def test_squad_pairs_never_use_a_sentence_holding_an_answer_as_negative():
    article = {"title": "T", "paragraphs": [{
        "context": "Paris is the capital. Paris is large. Lyon is a city. Nice is warm.",
        "qas": [{"id": "q", "question": "What is the capital?",
                 "answers": [{"text": "Paris", "answer_start": 0}]}]}]}
    texts = [t for _, t, label in reader.squad_pairs([article]) if label == 0]
    assert "Paris is large." not in texts
    assert texts and all("Paris" not in t for t in texts)


def test_train_writes_half_precision_layers_that_load(tmp_path):
    out = tmp_path / "reader.safetensors"
    pairs = reader.squad_pairs([ARTICLE]) * 2
    reader.train(pairs, out, epochs=1, batch_size=4, progress=lambda line: None)
    weights = load_file(str(out))
    assert any(name.startswith("classifier.") for name in weights)
    assert any(".encoder.layer.5." in name for name in weights)
    assert not any(".embeddings." in name for name in weights)  # those come from the base
    assert {str(w.dtype) for w in weights.values()} == {"torch.float16"}
    scores = reader.Reader(out).score("What does the barn owl eat?",
                                      ["The barn owl eats mice and voles.", "Owls hunt."])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)


def test_weights_that_are_not_a_reader_are_refused(tmp_path):
    bad = tmp_path / "reader.safetensors"
    bad.write_bytes(b"not weights")
    with pytest.raises(ModelLoadError, match="cannot load the reader"):
        reader.Reader(bad)


@pytest.mark.parametrize("question, answering, about", [
    ("Who wrote Hamlet?", "Hamlet was written by William Shakespeare around 1600.",
     "Hamlet is one of the most performed plays in the world."),
    ("How many moons does Mars have?", "Mars has two small moons, Phobos and Deimos.",
     "Mars is the fourth planet from the Sun."),
    ("What does Paul Poast study?",
     "\u201cIt\u2019s sending a clear signal,\u201d said Paul Poast, who researches military "
     "alliances.",
     "Paul Poast spoke at a news conference on Friday."),
])
def test_shipped_reader_ranks_the_answering_sentence_first(question, answering, about):
    right, wrong = reader.shared_reader().score(question, [answering, about])
    assert right > wrong


def test_reader_setting_adds_its_feature_and_uses_its_own_model(seed_index):
    with_reader = seed_index.configure(reader=True)
    answer = with_reader.ask("Who is Paul Poast?")
    assert not answer.abstained
    assert "reader" in answer.features
    assert "reader" not in seed_index.ask("Who is Paul Poast?").features
    assert with_reader.ask("What is the chemical symbol for gold?").abstained


def test_train_reader_command_names_a_file_that_is_not_squad(tmp_path, capsys):
    from rag.cli import main

    bad = tmp_path / "questions.json"
    bad.write_text('{"version": "1.1"}', encoding="utf-8")
    assert main(["train-reader", str(bad), "--write", str(tmp_path / "r.safetensors")]) == 2
    assert "is not a SQuAD v1.1 file" in capsys.readouterr().err
    assert not (tmp_path / "r.safetensors").exists()


def test_reader_scores_the_same_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    shared = reader.shared_reader()
    questions = ["Who wrote Hamlet?", "How many moons does Mars have?"] * 4
    sentences = ["Hamlet was written by William Shakespeare.", "Mars has two moons."]
    alone = [shared.score(q, sentences) for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: shared.score(q, sentences), questions))
    assert [s for pair in together for s in pair] == pytest.approx(
        [s for pair in alone for s in pair])


class _FixedReader:
    """Stands in for the reader: the logit given for each sentence."""

    def __init__(self, logits: dict[str, float]) -> None:
        self.logits = logits

    def score(self, question, sentences):
        return [self.logits[s] for s in sentences]


def _quotes(*scored):
    from types import SimpleNamespace

    return [SimpleNamespace(text=text, score=score) for text, score in scored]


def test_rerank_adds_the_weighted_reader_logit_to_each_score():
    quotes = _quotes(("first", 1.0), ("second", 0.9), ("third", 0.5))
    # 0.9 + WEIGHT * 1.0 beats 1.0 + 0: the reader moves the second quote up.
    ranked, first = reader.rerank(_FixedReader({"first": 0.0, "second": 1.0, "third": 0.0}),
                                  "q", quotes, limit=2)
    assert [q.text for q in ranked] == ["second", "first"] and first == 1.0
    # A smaller lead of the reader (0.9 + WEIGHT * 0.5 < 1.0) leaves the order alone.
    ranked, first = reader.rerank(_FixedReader({"first": 0.0, "second": 0.5, "third": 3.0}),
                                  "q", quotes, limit=3)
    assert [q.text for q in ranked] == ["first", "second", "third"] and first == 0.0
    assert reader.rerank(_FixedReader({}), "q", [], limit=3) == ([], 0.0)


def test_reader_setting_puts_the_answering_sentence_first(seed_index):
    view = seed_index.configure(reader=True)
    answer = view.ask("What does Paul Poast research?")
    assert "researches military alliances" in answer.quotes[0].text
    assert len(answer.quotes) <= view.settings.max_quotes
    assert answer.features["reader"] == pytest.approx(
        reader.shared_reader().score(answer.query, [answer.quotes[0].text])[0], abs=1e-4)
