"""`briefing serve`: open the index, start the chat in the browser, and say where it is.

Start-up loads two heavy things, Gradio and the embedding model, side by side: a worker
thread opens the index and warms the model while this thread imports Gradio. The page is
served as soon as the index is open; "ready" is printed once the model has answered a
first question, so from then on every question is answered at full speed.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import rag
from rag import entities
from rag.index import saved_sources

from .library import Library

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


class ServeError(rag.BriefingError, OSError):
    """The app cannot start: a bad login file, or a port that is taken."""


def check_address(host: str, port: int) -> None:
    """Refuse, before the slow start, a port out of range or a host that names no address."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ServeError(f"Cannot listen on port {port}: a port is a number from 1 to 65535.")
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError) as error:
        raise ServeError(f"Cannot listen on {host!r}: it is not an address or a known host "
                         f"name ({error}). Use 127.0.0.1 (this machine only) or 0.0.0.0 "
                         "(every network interface).") from error
    # A port in use is found now, not after the index has been opened.
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise ServeError(f"Cannot listen on {host}:{port} ({error.strerror or error}). "
                             "Stop what uses that port, choose another with --port, or "
                             "check --host.") from error


def serve(*, paths: Sequence[Path] | None = None, index_dir: Path,
          settings: rag.Settings | None = None, host: str = DEFAULT_HOST,
          port: int = DEFAULT_PORT, auth_file: Path | None = None, reader: bool = False) -> int:
    """Serve the chat over the documents under `paths` (default: the seeds) until Ctrl+C.

    The index is loaded from `index_dir` when saved there, refreshed from the files, and
    saved when it changed; without `settings`, a saved index keeps its own model and store.
    `reader` turns the reading model on. `auth_file` holds `user:password` lines; with it,
    the app asks for a login. Returns the exit status. Raises ServeError and
    rag.BriefingError.
    """
    started = time.perf_counter()
    check_address(host, port)
    auth = read_auth_file(auth_file) if auth_file else None
    sources = paths or saved_sources(index_dir)
    _say(f"Briefing: opening the index in {index_dir} (documents: "
         f"{', '.join(map(str, sources)) if sources else 'the seeds'}) ...")
    # One worker opens the index and then warms the model while this thread imports
    # Gradio; the page is served as soon as the index is open, and "ready" is said once a
    # question can be answered at full speed (an earlier question just waits for the model).
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="briefing-start")
    opened = worker.submit(Library.open, paths, Path(index_dir), settings=settings,
                           progress=True, reader=reader)
    warmed = worker.submit(_warm_up, opened)
    worker.shutdown(wait=False)
    # Gradio asks the internet for analytics and version news unless told not to.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from .blocks import build, launch_options

    library, changes = opened.result()
    _report(library, changes)
    demo, handlers = build(library)
    try:
        _, local_url, _ = demo.launch(server_name=host, server_port=port, auth=auth,
                                      prevent_thread_lock=True, quiet=True,
                                      **launch_options(library))
    except OSError as error:
        handlers.close()
        raise ServeError(f"Cannot listen on {host}:{port} ({error}). Stop what uses that port, "
                         "choose another with --port, or check --host.") from error
    try:
        if not warmed.done():
            _say(f"Serving {local_url}; loading the embedding model ...")
        _prepare_first_event()  # while the worker loads the model
        warmed.result()
        _say(f"Briefing is ready: {local_url}  (started in {time.perf_counter() - started:.1f} "
             "s; press Ctrl+C to stop)")
        if host not in ("127.0.0.1", "localhost", "::1"):
            _say(f"Listening on {host}: other machines can reach it"
                 + ("." if auth else " and no login is required (see --auth)."))
        _stop_on_sigterm()
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
        handlers.close()
    return 0


def _stop_on_sigterm() -> None:
    """Make SIGTERM (`kill`, a service manager, `docker stop`) stop the app as Ctrl+C does,
    through the clean-up that deletes the session's conversation downloads."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def _warm_up(opened: Future) -> None:
    library, _ = opened.result()
    # Loads the model, and everything answering touches, now rather than at the first question.
    library.index.ask("warm up")
    entities.warm_up()  # the recogniser for questions that ask for a name


def _prepare_first_event() -> None:
    # Gradio sets matplotlib's backend around every event (gradio.route_utils), importing
    # matplotlib on the first: over half a second that would otherwise fall on the first
    # page or question. Done before "ready": a question asked at once is answered at once.
    try:
        from gradio.utils import MatplotlibBackendMananger
    except ImportError:  # another Gradio version: nothing to prepare
        return
    with MatplotlibBackendMananger():
        pass


def _report(library: Library, changes: dict[str, list[str]]) -> None:
    documents = library.index.documents(with_text=False)
    _say(f"Indexed {len(documents)} documents, {len(library.index)} passages (added "
         f"{len(changes['added'])}, updated {len(changes['updated'])}, removed "
         f"{len(changes['removed'])}, unchanged {len(changes['unchanged'])}).")
    for problem in library.index.problems:
        _say(f"warning: skipped {problem}")


def read_auth_file(path: Path) -> list[tuple[str, str]]:
    """The `user:password` lines of a login file (blank lines and '#' comments skipped).

    Raises ServeError naming the file and line when it cannot be used.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ServeError(f"Cannot read the login file {path} ({error}). Give a UTF-8 text file "
                         "of 'user:password' lines.") from error
    logins = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise ServeError(f"{path}, line {number}: expected 'user:password' with both parts "
                             "filled in.")
        logins.append((user.strip(), password))
    if not logins:
        raise ServeError(f"{path} holds no 'user:password' line; add one, or start without "
                         "--auth.")
    return logins


def _say(message: str) -> None:
    # The terminal is this command's interface: progress and the ready line go there.
    print(message, flush=True)
