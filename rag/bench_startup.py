"""`briefing bench`'s start-up section: command to answer printed, as a user starts Briefing.

Each case runs as a fresh subprocess, a few times: the floors (`import torch`, and
`import sentence_transformers`, which imports torch, transformers and scikit-learn),
importing `rag`, and `briefing ask` with no saved index and no embedding cache, with the
cache kept, and with a saved index. The UI's `briefing serve` is measured elsewhere.
On Milvus, `ask` gets `--store` with a scratch store that "no index" empties.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import bench_store
from .settings import Settings

REPEATS = 3
QUESTION = "Who is Paul Poast?"
REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 900


def run(workdir: Path, *, settings: Settings,
        progress: Callable[[str], None] = lambda _: None) -> dict:
    """Ready times per case (median, minimum, every run); `workdir/startup` is scratch."""
    briefing = Path(sys.executable).with_name("briefing")
    home = workdir / "startup"
    index_dir, cache_dir = home / "index", home / "cache"
    ask = [str(briefing), "ask", QUESTION, "--index", str(index_dir)]
    if settings.model != Settings().model:
        ask += ["--model", settings.model]
    store = bench_store.scratch(settings.store, "startup")
    if not bench_store.is_faiss(store):
        ask += ["--store", store]

    def no_store() -> None:
        bench_store.discard(store)

    cases = [("python -c 'import torch' (floor)", [sys.executable, "-c", "import torch"], (),
              None),
             ("python -c 'import sentence_transformers' (the library's floor)",
              [sys.executable, "-c", "import sentence_transformers"], (), None),
             ("python -c 'import rag'", [sys.executable, "-c", "import rag"], (), None),
             ("ask, no index, no embedding cache", ask, (index_dir, cache_dir), no_store),
             ("ask, no index, embedding cache kept", ask, (index_dir,), no_store),
             ("ask, saved index", ask, (), None)]
    rows = []
    try:
        for label, command, remove, reset in cases:
            progress(f"startup: {label}")
            runs = [run_once(command, remove, reset=reset) for _ in range(REPEATS)]
            ready = [r["ready_s"] for r in runs if r["ready_s"] is not None]
            rows.append({"case": label, "runs": runs,
                         "ready_median_s": round(statistics.median(ready), 2) if ready else None,
                         "ready_min_s": round(min(ready), 2) if ready else None})
    finally:
        no_store()
    return {"question": QUESTION, "repeats": REPEATS, "store": bench_store.label(store),
            "cases": rows}


def run_once(command: Sequence[str], remove: Sequence[Path], *,
             reset: Callable[[], None] | None = None) -> dict:
    """Seconds to the first line of output (ready: the answer is being printed; for a
    command that prints nothing, its end) and to exit, after removing `remove` and
    calling `reset` (which empties a store kept outside the index folder)."""
    for path in remove:
        shutil.rmtree(path, ignore_errors=True)
    if reset is not None:
        reset()
    # Unbuffered, so the answer reaches the pipe when printed, not when the process exits.
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=REPO)
    process.stdout.readline()  # the answer's first line, or end of output
    ready = time.perf_counter() - started
    try:
        _, errors = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        _, errors = process.communicate()
    exit_s = time.perf_counter() - started
    failed = process.returncode != 0
    return {"ready_s": None if failed else round(ready, 3), "exit_s": round(exit_s, 3),
            "returncode": process.returncode, "error": errors.strip()[-300:] if failed else None}
