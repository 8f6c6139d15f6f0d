"""Two app replicas, each its own process, on one Milvus server: what one adds, the other finds.

The server is the Milvus Lite 2.5 engine served over TCP (one process owns the .db file,
as a Milvus server would); each replica is an `Index` in a separate Python process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import free_port

if not os.environ.get("CI"):
    pytest.importorskip("milvus_lite")
    pytest.importorskip("pymilvus")

ROOT = Path(__file__).parent.parent

SERVER = """
import signal, sys
from milvus_lite.server import Server
server = Server(sys.argv[1], sys.argv[2])
assert server.init() and server.start(), "milvus-lite server did not start"
# Stop the milvus process with this one: terminate() would otherwise leave it running.
signal.signal(signal.SIGTERM, lambda *_: (server.stop(), sys.exit(0)))
print("serving", flush=True)
server._p.wait()
"""

REPLICA = """
import json, sys
sys.path.insert(0, {root!r})
from tests.helpers import FAKE_MODEL, HashingModel
from rag.embed import register_model
import rag
register_model(FAKE_MODEL, HashingModel())
name, uri, folder = sys.argv[1:4]
settings = rag.Settings(model=FAKE_MODEL, store=uri)
index, changes = rag.Index.open([{corpus!r}], folder, settings=settings)
print(json.dumps({{"ready": len(index.documents())}}), flush=True)
for line in sys.stdin:
    command, _, arg = line.strip().partition(" ")
    try:
        if command == "add":
            out = {{"added": index.add_bytes(arg.encode(), name=f"upload-{{name}}.txt").id}}
        elif command == "search":
            out = {{"hits": [h.doc_id for h in index.search(arg, k=3)]}}
        elif command == "ask":
            out = {{"quote": index.ask(arg).quotes[0].text}}
        elif command == "documents":
            out = {{"titles": sorted(d.title for d in index.documents())}}
        elif command == "remove":
            out = {{"removed": index.remove(arg).id}}
    except Exception as error:
        out = {{"error": f"{{type(error).__name__}}: {{error}}"}}
    print(json.dumps(out), flush=True)
"""


class Replica:
    def __init__(self, tmp_path: Path, name: str, uri: str) -> None:
        script = tmp_path / "replica.py"
        script.write_text(REPLICA.format(root=str(ROOT),
                                         corpus=str(ROOT / "tests" / "data" / "corpus")))
        self.process = subprocess.Popen(
            [sys.executable, "-W", "ignore", str(script), name, uri, str(tmp_path / name)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.ready = json.loads(self.process.stdout.readline())

    def __call__(self, line: str) -> dict:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def test_a_document_added_through_one_replica_is_found_by_the_other(tmp_path):
    port = free_port()
    (tmp_path / "server.py").write_text(SERVER)
    server = subprocess.Popen([sys.executable, str(tmp_path / "server.py"),
                               str(tmp_path / "shared.db"), f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    replicas = []
    try:
        assert server.stdout.readline().strip() == "serving"
        uri = f"milvus://127.0.0.1:{port}"
        a = Replica(tmp_path, "A", uri)
        replicas.append(a)
        b = Replica(tmp_path, "B", uri)
        replicas.append(b)
        assert a.ready == b.ready == {"ready": 3}
        added = a("add The zeppelin hangar at Lakehurst held the airship Hindenburg.")["added"]
        assert b("search zeppelin hangar Lakehurst")["hits"][0] == added
        assert b("ask Where was the zeppelin hangar?")["quote"] == (
            "The zeppelin hangar at Lakehurst held the airship Hindenburg.")
        assert "upload-A.txt" in b("documents")["titles"]  # one sentence: titled by its name
        # A replica restarting on its own files keeps what the other one added.
        b.stop()
        replicas.remove(b)
        b = Replica(tmp_path, "B", uri)
        replicas.append(b)
        assert b.ready == {"ready": 4}
        assert b(f"remove {added}") == {"removed": added}
        assert added not in a("search zeppelin hangar Lakehurst")["hits"]
        assert len(a("documents")["titles"]) == 3
    finally:
        for replica in replicas:
            replica.stop()
        server.terminate()
        server.wait(timeout=30)
