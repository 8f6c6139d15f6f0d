"""The store a `briefing bench` run measures: FAISS, or Milvus in scratch stores of its own.

FAISS (the default) keeps each index in the bench's work folder, as ever. With a Milvus
URI every use (one scale size, the corpus sections, the start-up section) gets its own
store, made fresh before and deleted after, so that nothing from an earlier size,
section or run is ever mixed in: beside a Milvus Lite file `NAME.db` the bench makes
`NAME-TAG.db`; on a Milvus server it makes the collections `COLLECTION_bench_TAG_*`.
The file or collections the URI itself names are never touched.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from .bench_report import BenchError
from .milvus_store import client_uri, collection_name

MILVUS_LITE_NAME = re.compile(r"^[a-zA-Z0-9.\-_]{1,36}$")
"""The file names Milvus Lite accepts (milvus_lite.server.Server checks the same)."""


def check(store: str) -> str:
    """`store` when the bench can use it: 'faiss' or a Milvus URI with pymilvus installed."""
    if store == "faiss":
        return store
    try:
        uri = client_uri(store)
        collection_name(store)
    except ValueError as error:
        raise BenchError(f"--store must be 'faiss' or a Milvus URI: {error}") from None
    needed = ["pymilvus"] + (["milvus_lite"] if uri.endswith(".db") else [])
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise BenchError(f"--store {store} needs {' and '.join(missing)}: "
                         "pip install 'pymilvus[milvus_lite]'")
    return store


def is_faiss(store: str) -> bool:
    return store == "faiss"


def label(store: str) -> str:
    """'FAISS', 'Milvus Lite' or 'Milvus server': what the tables call the store."""
    if is_faiss(store):
        return "FAISS"
    return "Milvus Lite" if lite_path(store) else "Milvus server"


def describe(store: str) -> str:
    """The label and where the bench's scratch stores go (a heading line)."""
    if is_faiss(store):
        return "FAISS (in the index folders under the work folder)"
    path = lite_path(store)
    if path:
        return f"Milvus Lite (scratch files {path.stem}-*.db beside {path}, deleted after use)"
    return (f"Milvus server at {urlsplit(store).netloc} (scratch collections "
            f"{collection_name(store)}_bench_*, dropped after use)")


def lite_path(store: str) -> Path | None:
    """The Milvus Lite file of a store URI, or None (FAISS, a Milvus server)."""
    if is_faiss(store):
        return None
    uri = client_uri(store)
    return Path(uri) if uri.endswith(".db") else None


def scratch(store: str, tag: str) -> str:
    """The store URI of one use of the bench (`tag`: 'scale-10000', 'corpus', ...).

    Raises BenchError when Milvus Lite would refuse the file name.
    """
    if is_faiss(store):
        return store
    parts = urlsplit(store)
    path = lite_path(store)
    if path:
        name = f"{path.stem}-{tag}.db"
        if not MILVUS_LITE_NAME.match(name):
            raise BenchError(f"the bench's Milvus Lite file {name!r} is not a name Milvus Lite "
                             "accepts (at most 36 letters, digits, '.', '-', '_'): give "
                             f"--store with a shorter file name, e.g. milvus://{path.parent}"
                             "/bench.db")
        query = f"?{parts.query}" if parts.query else ""
        return f"milvus://{path.with_name(name)}{query}"
    name = f"{collection_name(store)}_bench_{tag.replace('-', '_')}"
    return f"milvus://{parts.netloc}{parts.path}?collection={name}"


def discard(store: str) -> None:
    """Delete a scratch store: its Milvus Lite file (after stopping this process's server
    on it) or its three collections on a Milvus server. FAISS: nothing to do."""
    if is_faiss(store):
        return
    path = lite_path(store)
    if path:
        release(store)
        for leftover in (path, path.with_name(f".{path.name}.lock")):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        return
    from pymilvus import MilvusClient

    client = MilvusClient(uri=client_uri(store))
    try:
        name = collection_name(store)
        for suffix in ("passages", "sentences", "documents"):
            if client.has_collection(f"{name}_{suffix}"):
                client.drop_collection(f"{name}_{suffix}")
    finally:
        client.close()


def release(store: str) -> None:
    """Stop the Milvus Lite server this process runs on the store's file, if any (its
    clients stop working); a Milvus server or FAISS: nothing to do."""
    path = lite_path(store)
    if path is None:
        return
    from milvus_lite.server_manager import server_manager_instance

    # release_server logs a warning for a file it does not serve: look first.
    if str(path.absolute().resolve()) in getattr(server_manager_instance, "_servers", {}):
        server_manager_instance.release_server(str(path))


def disk_bytes(store: str) -> int | None:
    """Bytes the store keeps outside the index folder: 0 for FAISS (all in the folder),
    the Milvus Lite file's size, None for a Milvus server (not measurable from here)."""
    if is_faiss(store):
        return 0
    path = lite_path(store)
    if path is None:
        return None
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def children_peak_rss_mb() -> float | None:
    """Summed peak resident memory (VmHWM, MiB) of this process's child processes (the
    Milvus Lite server runs as one), or None when it has none (FAISS)."""
    me, total, found = os.getpid(), 0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != me:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
                    found = True
        except (OSError, ValueError, IndexError):
            continue  # the process ended while being read
    return round(total / 1024, 1) if found else None
