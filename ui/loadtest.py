"""Load test: many concurrent API sessions against a running `briefing serve` on loopback.

    python -m ui.loadtest [--sessions 32] [--seconds 60] [--docs PATHS]

Starts the app on a free port of 127.0.0.1 over a fresh index folder, waits for it to be
ready, then runs one `gradio_client` session per thread, each asking questions back to
back for a bounded time. Prints requests, errors, latency percentiles and the server's
resident memory after warm-up and at the end. It only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

QUESTIONS = (
    "Who is Paul Poast?", "What does NATO Article 5 stipulate?",
    "What was the Camp David agreement aimed at?", "Which law governs South Korean weapons exports?",
    "What did Putin threaten if Seoul arms Kyiv?", "Who is Lee Yong-joon?",
    "What is the boiling point of water?", "How did China respond to the pact?",
    "What will Seoul reconsider after the treaty?", "Where does Tongfi Kim work?",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds of load before memory is first read")
    parser.add_argument("--docs", nargs="+", default=None)
    parser.add_argument("--json", dest="json_out", type=Path, default=None)
    args = parser.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="briefing-load-") as home:
        command = [sys.executable, "-m", "rag.cli", "serve", "--port", str(port),
                   "--index", str(Path(home) / "index")]
        if args.docs:
            command += ["--docs", *args.docs]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
        try:
            wait_until_ready(server)
            figures = run_load(f"http://127.0.0.1:{port}/", server.pid, sessions=args.sessions,
                               seconds=args.seconds, warmup=args.warmup)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(format_figures(figures))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))
    return 0 if figures["errors"] == 0 else 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(server: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line and server.poll() is not None:
            raise RuntimeError(f"the app exited with status {server.returncode} before ready")
        if "is ready" in line:
            threading.Thread(target=server.stdout.read, daemon=True).start()  # drain
            return
    raise RuntimeError(f"the app was not ready within {timeout:.0f} s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(url: str, pid: int, *, sessions: int, seconds: float, warmup: float) -> dict:
    from gradio_client import Client

    # Loopback HTTP: no certificates to check (loading the CA bundle for each request
    # would make the load generator, not the app, the bottleneck on a small machine).
    clients = [Client(url, verbose=False, ssl_verify=False, analytics_enabled=False)
               for _ in range(sessions)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    stop_at = start + warmup + seconds

    def session(number: int, client) -> None:
        i = number
        while time.monotonic() < stop_at:
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            began = time.monotonic()
            try:
                result = client.predict(question, [], None, api_name="/ask")
                if not isinstance(result, dict) or "quotes" not in result:
                    raise ValueError(f"unexpected reply {str(result)[:80]}")
            except Exception as error:  # every failure counts, whatever its kind
                with lock:
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            if began >= start + warmup:
                with lock:
                    latencies.append(time.monotonic() - began)

    threads = [threading.Thread(target=session, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    rss_after_warmup = rss_mb(pid)
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
    for thread in threads:
        thread.join()
    server_cpu, client_cpu = cpu_seconds(pid) - server_cpu, time.process_time() - client_cpu
    rss_end = rss_mb(pid)
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")

    return {
        "sessions": sessions, "seconds": seconds, "requests": len(latencies),
        "requests_per_second": len(latencies) / seconds, "errors": len(errors),
        "error_samples": errors[:5],
        "p50_ms": percentile(50) * 1000, "p95_ms": percentile(95) * 1000,
        "p99_ms": percentile(99) * 1000,
        "rss_mb_after_warmup": rss_after_warmup, "rss_mb_end": rss_end,
        "rss_growth": (rss_end - rss_after_warmup) / rss_after_warmup,
        # Where the CPU went (client and server share this machine's cores):
        "server_cpu_ms_per_request": 1000 * server_cpu / max(len(latencies), 1),
        "client_cpu_ms_per_request": 1000 * client_cpu / max(len(latencies), 1),
        "cores": os.cpu_count(),
    }


def format_figures(f: dict) -> str:
    return (f"{f['sessions']} sessions for {f['seconds']:.0f} s (after warm-up): "
            f"{f['requests']} requests ({f['requests_per_second']:.1f}/s), {f['errors']} errors\n"
            f"latency p50 {f['p50_ms']:.0f} ms, p95 {f['p95_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms\n"
            f"server RSS {f['rss_mb_after_warmup']:.0f} MB after warm-up, {f['rss_mb_end']:.0f} MB "
            f"at the end ({f['rss_growth']:+.1%})\n"
            f"CPU per request: server {f['server_cpu_ms_per_request']:.0f} ms, load client "
            f"{f['client_cpu_ms_per_request']:.0f} ms ({f['cores']} cores shared by both)"
            + (f"\nerrors: {f['error_samples']}" if f["errors"] else ""))


if __name__ == "__main__":
    sys.exit(main())
