"""Bulk ingestion on a local Ray into Milvus Lite: a killed worker and an aborted run
still end with every document stored exactly once."""

from __future__ import annotations

import functools
import importlib
import os
import signal
from pathlib import Path

import pytest

from rag.chunk import chunk_document
from rag.embed import register_model
from rag.load import load_file
from rag.settings import Settings

from .helpers import FAKE_MODEL, HashingModel


def require(module: str):
    """The module; skipped when missing on a developer machine, a failure in CI."""
    if os.environ.get("CI") == "true":
        return importlib.import_module(module)
    return pytest.importorskip(module)


ray = require("ray")
require("ray.data")
require("pymilvus")
require("milvus_lite")

from rag.ingest import ingest  # noqa: E402
from rag.milvus_store import MilvusStore  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = 240


class FailingModel(HashingModel):
    """The fake embedder, failing once (across restarts) at its `fail_at`-th call.

    `how` is 'kill' (SIGKILL of the worker process: Ray restarts the actor and retries
    the batch) or 'raise' (an error in user code: the run stops).
    """

    def __init__(self, marker: Path, fail_at: int, how: str) -> None:
        super().__init__()
        self.marker, self.fail_at, self.how = marker, fail_at, how

    def encode(self, texts, **options):
        if self.calls + 1 == self.fail_at and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("injected failure")
        return super().encode(texts, **options)


def use_model(model_factory=HashingModel) -> None:
    """Worker setup: the fake embedder under FAKE_MODEL in this worker process."""
    register_model(FAKE_MODEL, model_factory())


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (starting one takes ~15 s on two cores); workers import
    `tests` from the repository."""
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")  # 30 s is short when busy
    for attempt in (1, 2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
            break
        except RuntimeError:  # its control process did not start in time: a loaded machine
            ray.shutdown()
            if attempt == 2:
                raise
    yield
    ray.shutdown()


@pytest.fixture
def corpus(tmp_path) -> Path:
    """DOCUMENTS small text files, each with a word no other document has."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(DOCUMENTS):
        (folder / f"note{i:03d}.txt").write_text(
            f"Note {i}\n\nThe harbour log {i} mentions unique{i} cargo. Ships from port "
            f"{i % 7} arrived late. The crew of vessel {i % 11} unloaded grain and timber.\n",
            encoding="utf-8")
    return folder


@pytest.fixture
def store_uri(tmp_path):
    path = tmp_path / "briefing.db"
    yield f"milvus://{path}"
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(path))


def expected_chunks(folder: Path, settings: Settings) -> set[str]:
    return {c.id for path in sorted(folder.iterdir())
            for c in chunk_document(load_file(path, max_bytes=settings.max_file_bytes),
                                    chunk_chars=settings.chunk_chars,
                                    overlap=settings.chunk_overlap,
                                    max_sentence_chars=settings.max_sentence_chars)}


def assert_stored_exactly_once(settings: Settings, corpus: Path, dimension: int) -> None:
    store = MilvusStore.create(settings, dimension)
    expected = expected_chunks(corpus, settings)
    sentences = sum(len(c.sentences) for c in store.chunks)
    assert {c.id for c in store.chunks} == expected
    assert store.counts() == {"briefing_passages": len(expected),
                              "briefing_sentences": sentences,
                              "briefing_documents": DOCUMENTS}
    assert len(store.checksums()) == DOCUMENTS


def test_a_killed_worker_is_replaced_and_every_document_stored_once(
        local_ray, fake_model, corpus, store_uri, tmp_path):
    settings = Settings(model=FAKE_MODEL, store=store_uri)
    marker = tmp_path / "killed"
    setup = functools.partial(use_model, functools.partial(FailingModel, marker, 3, "kill"))
    report = ingest([corpus], settings, tmp_path / "index", worker_setup=setup, write_batch=40)
    assert marker.exists()  # a worker really died part-way
    assert (len(report.added), report.unchanged, report.problems) == (DOCUMENTS, 0, [])
    assert_stored_exactly_once(settings, corpus, fake_model.dimension)


def test_a_stopped_run_resumes_where_it_stopped(local_ray, fake_model, corpus, store_uri,
                                                tmp_path):
    import rag

    settings = Settings(model=FAKE_MODEL, store=store_uri)
    index_dir = tmp_path / "index"
    setup = functools.partial(use_model, functools.partial(
        FailingModel, tmp_path / "failed", 10, "raise"))
    with pytest.raises(Exception, match="injected failure"):
        ingest([corpus], settings, index_dir, workers=1, worker_setup=setup, write_batch=16)
    stored_first = MilvusStore.create(settings, fake_model.dimension).checksums()
    assert 0 < len(stored_first) < DOCUMENTS

    report = ingest([corpus], settings, index_dir, worker_setup=use_model)
    assert report.unchanged == len(stored_first)
    assert len(report.added) == DOCUMENTS - len(stored_first)
    assert not set(report.added) & set(stored_first)
    assert_stored_exactly_once(settings, corpus, fake_model.dimension)

    index = rag.Index.load(index_dir, settings=settings)
    assert len(index.documents()) == DOCUMENTS
    hit = index.search("unique137 cargo", k=1)[0]
    assert (Path(hit.source).name, "unique137" in hit.text.split()) == ("note137.txt", True)
