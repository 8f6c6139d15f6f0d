from __future__ import annotations

import numpy as np
import pytest

from rag.chunk import Chunk
from rag.passages import PassageTable
from rag.vector_file import VectorFile


def test_vector_file_reads_rows_in_any_order_and_saves_as_npy(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(1000, 8)).astype(np.float32)
    vectors = VectorFile(8)
    vectors.append(data[:600])
    vectors.append(data[600:])
    wanted = np.array([999, 0, 1, 2, 500, 3, 998, 500])  # runs, repeats, reversed order
    assert np.array_equal(vectors.rows(wanted), data[wanted])
    assert np.array_equal(np.concatenate([b for _, b in vectors.blocks(size=300)]), data)
    with pytest.raises(IndexError):
        vectors.rows(np.array([1000]))
    vectors.save(tmp_path / "v.npy")
    assert np.array_equal(np.load(tmp_path / "v.npy"), data)


def test_opened_file_is_copied_before_a_change(tmp_path):
    data = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(tmp_path / "v.npy", data)
    vectors = VectorFile.open(tmp_path / "v.npy")
    assert np.array_equal(vectors.rows(np.array([7, 2])), data[[7, 2]])
    keep = np.arange(10) % 3 != 0
    vectors.keep(keep)
    vectors.append(np.ones((2, 4), dtype=np.float32))
    assert np.array_equal(vectors.rows(np.arange(len(vectors))),
                          np.concatenate([data[keep], np.ones((2, 4))]))
    assert np.array_equal(np.load(tmp_path / "v.npy"), data)  # the saved file is untouched


@pytest.mark.parametrize("bad", ["truncated", "float64", "garbage"])
def test_damaged_vector_file_is_refused(tmp_path, bad):
    path = tmp_path / "v.npy"
    if bad == "float64":
        np.save(path, np.zeros((3, 4)))
    else:
        np.save(path, np.zeros((3, 4), dtype=np.float32))
        data = path.read_bytes()
        path.write_bytes(data[:-8] if bad == "truncated" else b"not an array" + data)
    with pytest.raises(ValueError):
        VectorFile.open(path)


def test_passage_table_finds_ids_and_round_trips(tmp_path):
    chunks = [Chunk("a:b-c", "Tïtle", 0, 12, "Ünïcödé text", ((0, 5), (6, 12))),
              Chunk("other", "T", 5, 9, "abcd", ((5, 9),)),
              Chunk("a:b-c", "Tïtle", 10, 20, "second one", ((10, 20),))]
    table = PassageTable()
    table.append(chunks)
    with pytest.raises(ValueError, match="already in the store"):
        table.append(chunks[:1])
    assert [table.row(c.id) for c in chunks] == [0, 1, 2]
    assert table.row("a:b-c:0-13") is None and table.row("nope") is None
    assert table.row("a:b-c:x-y") is None
    table.keep(np.array([True, False, True]))
    assert table.chunks() == [chunks[0], chunks[2]]
    table.save(tmp_path)
    loaded = PassageTable.load(tmp_path)
    assert loaded.chunks() == [chunks[0], chunks[2]]
    assert loaded.row(chunks[2].id) == 1 and loaded.row(chunks[1].id) is None
    assert list(loaded.texts()) == ["Ünïcödé text", "second one"]
