"""Faults: a failing embedding, concurrent changes during questions, a kill mid-save."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import rag
from rag.embed import register_model

from .conftest import DATA
from .helpers import HashingModel

ROOT = Path(__file__).parent.parent


class PoisonedModel(HashingModel):
    """Fails on any batch holding the word POISON, like a model choking on one text."""

    def encode(self, texts, **options):
        if any("POISON" in t for t in texts):
            raise RuntimeError("the model failed on this text")
        return super().encode(texts, **options)


def test_a_failing_document_leaves_the_rest_indexed(tmp_path):
    register_model("poisoned", PoisonedModel())
    (tmp_path / "good.txt").write_text("Lighthouses guide ships at night.")
    (tmp_path / "bad.txt").write_text("This text holds POISON for the model.")
    (tmp_path / "fine.md").write_text("# Fine\n\nBakers rise early.")
    index = rag.Index.build([tmp_path], settings=rag.Settings(model="poisoned"))
    assert sorted(d.title for d in index.documents()) == ["Fine",
                                                         "Lighthouses guide ships at night."]
    assert [(Path(p.source).name, p.problem) for p in index.problems] == [
        ("bad.txt", "could not be embedded (the model failed on this text)")]
    assert index.ask("What guides ships?").quotes[0].text == "Lighthouses guide ships at night."
    with pytest.raises(rag.DocumentError, match="could not be embedded"):
        index.add_bytes(b"More POISON here.", name="again.txt")
    assert len(index.documents()) == 2


def test_no_torn_reads_while_documents_change(fake_settings):
    index = rag.Index.build([DATA], settings=fake_settings)
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask_repeatedly():
        while not stop.is_set():
            try:
                for question in ("When does the apple harvest start?", "Who runs the port?",
                                 "What do owls eat?"):
                    answer = index.ask(question)
                    for quote in answer.quotes:
                        assert quote.text in quote.hit.text
                        assert quote.hit.text[quote.start - quote.hit.start:][:len(quote.text)] \
                            == quote.text
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                return

    readers = [threading.Thread(target=ask_repeatedly) for _ in range(4)]
    for reader in readers:
        reader.start()
    for round_number in range(40):
        document = index.add_bytes(f"Owls eat mice. Round {round_number}.".encode(),
                                   name=f"owls{round_number}.txt")
        index.remove(document.id)
    stop.set()
    for reader in readers:
        reader.join()
    assert errors == []
    assert [d.title for d in index.documents()] == ["Harbour report", "The Town Library",
                                                    "Orchard notes"]


SAVER = """
import sys, time
sys.path.insert(0, {root!r})
import rag
from rag.embed import register_model
from tests.helpers import HashingModel, FAKE_MODEL
register_model(FAKE_MODEL, HashingModel())
settings = rag.Settings(model=FAKE_MODEL)
folder = sys.argv[1]
index = rag.Index.empty(settings=settings)
index.add_documents([rag.text_document(f"Ship {{i}} carries grain and timber to port {{i}}.",
                                       doc_id=f"d{{i}}") for i in range(3000)])
index.save(folder)
print("saved", flush=True)
while True:  # keep rewriting the index until killed
    index.add_documents([rag.text_document(f"Extra {{time.time()}}", doc_id="extra")])
    index.save(folder)
"""


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.7, 1.1])
def test_kill_during_save_leaves_a_loadable_index(tmp_path, delay, fake_model):
    folder = tmp_path / "ix"
    script = tmp_path / "saver.py"
    script.write_text(SAVER.format(root=str(ROOT)))
    process = subprocess.Popen([sys.executable, str(script), str(folder)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "saved"
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    index = rag.Index.load(folder)
    assert len([d for d in index.documents() if d.id.startswith("d")]) == 3000
    assert index.search("Ship 1234 grain", k=1)[0].doc_id == "d1234"
    index.save(folder)  # the next save clears what the killed one left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix", "saver.py"]


def test_saves_and_loads_of_one_folder_from_several_threads_do_not_collide(tmp_path,
                                                                           fake_settings):
    """Two saves swapping the same folder in at once removed each other's files (a raw
    FileNotFoundError), and a load during a swap could find it half gone."""
    import threading

    folder = tmp_path / "ix"
    index = rag.Index.empty(settings=fake_settings)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(4):
                index.add_bytes(f"Note {n}-{i}: the bridge is red.".encode(), name=f"n{n}{i}.txt")
                index.save(folder)
                rag.Index.load(folder, settings=fake_settings)
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(rag.Index.load(folder, settings=fake_settings).documents(with_text=False)) == 16
