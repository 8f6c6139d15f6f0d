"""Test helpers: a deterministic embedder, a tiny PDF writer and a free port."""

from __future__ import annotations

import hashlib
import re
import socket

import numpy as np

FAKE_MODEL = "test-hashing-embedder"


class HashingModel:
    """A deterministic bag-of-words embedder: each lower-cased word adds to one hashed dimension.

    Texts sharing words get similar vectors, so ranks are predictable, and nothing is
    downloaded or slow. It mimics the parts of SentenceTransformer that rag uses.
    """

    def __init__(self, dimension: int = 256) -> None:
        self.dimension = dimension
        self.calls = 0
        self.texts_embedded = 0

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
               show_progress_bar=False, **_):
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension
                out[row, slot] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """A minimal valid PDF with the Helvetica text of each entry of `pages` (a line each
    for the lines of an entry)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for i, text in enumerate(pages):
        shown = " 0 -16 Td ".join(f"{_pdf_string(line)} Tj" for line in text.split("\n"))
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
                       f"{4 + 2 * i} 0 R /Resources << /Font << /F1 {font_id} 0 R >> >> >>"
                       .encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    info_ref = b""
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode("latin-1"))
        info_ref = f" /Info {len(objects)} 0 R".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R".encode() + info_ref
            + f" >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return bytes(out)


def rank_sentences(text: str, spans: tuple[tuple[int, int], ...], sims: list[float],
                   question: str, alone: list[float] | None = None) -> list:
    """`rag.answer.score_sentences` on one passage holding all of `text`, whose sentences
    (`spans`) are as close to `question` as `sims` says (and `alone`, embedded alone)."""
    from rag import answer
    from rag.retrieve import Hit

    hit = Hit(chunk_id=f"doc:0-{len(text)}", doc_id="doc", title="doc", source="doc.txt",
              text=text, start=0, end=len(text), score=1.0, dense=0.5)
    terms = answer.answer_terms([text[a:b] for a, b in spans])
    query_terms = set(answer.answer_terms([question])[0])
    return answer.score_sentences([hit], [spans], [np.array(sims)], [terms], query_terms,
                                  question, alone_sims=None if alone is None
                                  else [np.array(alone)])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
