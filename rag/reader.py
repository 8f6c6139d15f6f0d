"""A reading model: how likely a sentence answers a question, read together (a cross-encoder).

Cosine and word overlap tell whether a sentence is about the question; a reader sees the
question and the sentence in one pass, so it can tell "names the adviser" from "mentions
the adviser". It is the bundled all-MiniLM-L6-v2 with a one-number head, its six layers
fine-tuned on (question, sentence) pairs from SQuAD v1.1's first 24 dev articles (the
tuning half): the sentence holding the answer against the sentences of the same article
that share the most words with the question. Only the fine-tuned weights ship
(rag/reader.safetensors, float16); the word embeddings come from the bundled model.

With Settings.reader, `rerank` orders the best quotes by their score and the reader's
logit, and the logit of the first is an abstention feature (rag.answer.READER_FEATURES).

`briefing train-reader` rebuilds the weights (about 20 minutes on 2 cores).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from .errors import ModelLoadError

WEIGHTS = "reader.safetensors"
MAX_TOKENS = 128
NEGATIVES = 3
"""Sentences that do not answer, per question, in the training pairs."""
CANDIDATES = 5
"""Quotes the reader reads per question to choose the first."""
WEIGHT = 0.15
"""A quote ranks by its score plus WEIGHT times the reader's logit. Chosen on SQuAD's tuning
half (articles 0-23; the answer in the first quote for 0.778 of questions at 0, 0.829 at
0.15, 0.814 for the reader alone); see README, Quality."""

_lock = threading.Lock()
_reader: Reader | None = None


class Reader:
    """Scores (question, sentence) pairs: a logit, higher when the sentence answers."""

    def __init__(self, weights: Path | None = None) -> None:
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        from .embed import resolve_model
        from .settings import DEFAULT_MODEL

        base = resolve_model(DEFAULT_MODEL)
        path = weights or resources.files("rag").joinpath(WEIGHTS)
        try:
            tuned = {k: v.float() for k, v in load_file(str(path)).items()}
            self._tokenizer = AutoTokenizer.from_pretrained(base)
            model = _untuned_model(base)
        except (OSError, ValueError, RuntimeError, SafetensorError) as error:
            raise ModelLoadError(f"cannot load the reader from {path}: {error}") from error
        missing = set(tuned) - set(model.state_dict())
        if missing:
            raise ModelLoadError(f"{path} holds weights the reader lacks: {sorted(missing)[:3]}")
        model.load_state_dict(tuned, strict=False)
        self._model = model.eval()
        self._torch = torch
        # A fast tokenizer called from two threads at once can fail ("Already borrowed"),
        # and chat sessions ask from several threads.
        self._lock = threading.Lock()

    def score(self, question: str, sentences: Sequence[str]) -> list[float]:
        if not sentences:
            return []
        with self._lock, self._torch.inference_mode():
            encoded = self._tokenizer([question] * len(sentences), list(sentences),
                                      truncation=True, max_length=MAX_TOKENS, padding=True,
                                      return_tensors="pt")
            return self._model(**encoded).logits[:, 0].tolist()


def rerank(reader: Reader, question: str, quotes: Sequence, *, limit: int) -> tuple[list, float]:
    """`quotes` (rag.answer.Quote, best first) ordered by score plus WEIGHT times the reader's
    logit, cut to `limit`, with the reader's logit of the new first quote (0.0 if none)."""
    if not quotes:
        return [], 0.0
    logits = reader.score(question, [q.text for q in quotes])
    order = sorted(range(len(quotes)), key=lambda i: -(quotes[i].score + WEIGHT * logits[i]))
    return [quotes[i] for i in order[:limit]], logits[order[0]]


def _untuned_model(base: str):
    """The base model with a fresh one-number head. Its "head newly initialized" report
    is expected here (the head is trained or loaded next), so it is not shown."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    finally:
        hf_logging.set_verbosity(level)


def shared_reader() -> Reader:
    """The reader, loaded once per process."""
    global _reader
    with _lock:
        if _reader is None:
            _reader = Reader()
        return _reader


_WORD = re.compile(r"\w+")


def squad_pairs(data: list[dict], *, seed: int = 0) -> list[tuple[str, str, int]]:
    """(question, sentence, 1 if it holds the answer) from SQuAD v1.1 articles.

    For each question: the sentence holding its answer, and the NEGATIVES sentences of the
    same article, holding none of its answers, that share the most content words with it
    (those of its own paragraph first). Questions whose answer crosses sentences are skipped.
    """
    import Stemmer
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from .chunk import split_sentences

    stemmer, rng = Stemmer.Stemmer("english"), random.Random(seed)

    def terms(text: str) -> set[str]:
        return set(stemmer.stemWords([w for w in _WORD.findall(text.lower())
                                      if w not in ENGLISH_STOP_WORDS]))

    pairs = []
    for article in data:
        sentences = [[(p["context"][s:e], terms(p["context"][s:e]))
                      for s, e in split_sentences(p["context"])] for p in article["paragraphs"]]
        for number, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            spans = split_sentences(context)
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                first, last = answer["answer_start"], answer["answer_start"] + len(answer["text"])
                holding = [i for i, (s, e) in enumerate(spans) if s <= first < e]
                if not holding or spans[holding[0]][1] < last:
                    continue
                question, wanted = qa["question"], terms(qa["question"])
                pairs.append((question, context[slice(*spans[holding[0]])], 1))
                answers = {a["text"] for a in qa["answers"]}
                others = sorted(
                    ((len(wanted & words) + 0.5 * (p == number) + 0.1 * rng.random(), text)
                     for p, paragraph_sentences in enumerate(sentences)
                     for i, (text, words) in enumerate(paragraph_sentences)
                     if not (p == number and i == holding[0])
                     and not any(a in text for a in answers)), reverse=True)
                pairs.extend((question, text, 0) for _, text in others[:NEGATIVES])
    return pairs


def train(pairs: list[tuple[str, str, int]], out: Path, *, epochs: float = 1.0,
          batch_size: int = 32, learning_rate: float = 7e-5, seed: int = 0,
          progress=None) -> None:
    """Fine-tune the bundled MiniLM's layers (not its word embeddings) on `pairs` with
    binary cross-entropy, and write the tuned weights to `out` as float16 safetensors."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from .embed import resolve_model
    from .settings import DEFAULT_MODEL

    progress = progress or (lambda line: print(line, flush=True))
    torch.manual_seed(seed)
    rng = random.Random(seed)
    base = resolve_model(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = _untuned_model(base)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = ".embeddings." not in f".{name}"
    tuned = [p for p in model.parameters() if p.requires_grad]
    # Batches of pairs of similar length pad little: sort within blocks of 50 batches.
    pairs = list(pairs)
    rng.shuffle(pairs)
    batches = []
    block = batch_size * 50
    for at in range(0, len(pairs), block):
        ordered = sorted(pairs[at:at + block], key=lambda p: len(p[0]) + len(p[1]))
        batches += [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]
    rng.shuffle(batches)
    steps = max(1, int(len(batches) * epochs))
    optimizer = torch.optim.AdamW(tuned, lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps))
    loss_of = torch.nn.BCEWithLogitsLoss()
    model.train()
    started, running = time.perf_counter(), None
    for step in range(steps):
        batch = batches[step % len(batches)]
        encoded = tokenizer([p[0] for p in batch], [p[1] for p in batch], truncation=True,
                            max_length=MAX_TOKENS, padding=True, return_tensors="pt")
        loss = loss_of(model(**encoded).logits[:, 0],
                       torch.tensor([float(p[2]) for p in batch]))
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 50 == 0 or step == steps - 1:
            progress(f"step {step + 1}/{steps}: loss {running:.4f}, "
                     f"{time.perf_counter() - started:.0f} s")
    weights = {name: p.detach().to(torch.float16).contiguous()
               for name, p in model.named_parameters() if p.requires_grad}
    save_file(weights, str(out))
