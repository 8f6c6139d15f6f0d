"""ui.app: the login file and start-up failures that must read as clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rag
from ui.app import ServeError, read_auth_file, serve

from .helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
UI_DATA = Path(__file__).parent / "ui_data"


def test_login_file_lines_are_user_and_password_split_at_the_first_colon(tmp_path):
    logins = tmp_path / "logins.txt"
    logins.write_text("# who may ask\nana:s3cret:with:colons\n\n  bo :pw \n", encoding="utf-8")
    assert read_auth_file(logins) == [("ana", "s3cret:with:colons"), ("bo", "pw")]


@pytest.mark.parametrize(("text", "message"), [
    ("ana\n", "line 1: expected 'user:password' with both parts filled in."),
    ("ana:pw\n:pw\n", "line 2: expected 'user:password' with both parts filled in."),
    ("ana:\n", "line 1: expected 'user:password' with both parts filled in."),
    ("# nobody\n\n", "holds no 'user:password' line; add one, or start without --auth."),
])
def test_a_bad_login_file_names_the_line_and_the_fix(tmp_path, text, message):
    logins = tmp_path / "logins.txt"
    logins.write_text(text, encoding="utf-8")
    with pytest.raises(ServeError) as caught:
        read_auth_file(logins)
    separator = ", " if message.startswith("line") else " "
    assert str(caught.value) == f"{logins}{separator}{message}"
    assert isinstance(caught.value, rag.BriefingError)  # the CLI prints it without a traceback


def test_a_missing_login_file_is_a_clear_error(tmp_path):
    with pytest.raises(ServeError, match=r"^Cannot read the login file .*missing\.txt"):
        read_auth_file(tmp_path / "missing.txt")


def test_a_taken_port_is_a_clear_error(tmp_path, fake_settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError) as caught:
            serve(paths=[UI_DATA], index_dir=tmp_path / "index", settings=fake_settings,
                  port=port)
    assert str(caught.value).startswith(f"Cannot listen on 127.0.0.1:{port} (")
    assert str(caught.value).endswith(
        "Stop what uses that port, choose another with --port, or check --host.")
    assert not (tmp_path / "index").exists()  # refused before the index was opened


def test_sigterm_stops_the_app_as_ctrl_c_does(tmp_path):
    """`kill`, a service manager or `docker stop` send SIGTERM: the app stops with status 0
    and deletes its temporary folder of conversation downloads, as on Ctrl+C."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(scratch)}
    log_path = tmp_path / "serve.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--docs", str(UI_DATA), "--index",
             str(tmp_path / "index"), "--port", str(free_port())],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while "Briefing is ready: " not in log_path.read_text("utf-8"):
                assert process.poll() is None, log_path.read_text("utf-8")
                assert time.monotonic() < deadline, log_path.read_text("utf-8")
                time.sleep(0.1)
            assert list(scratch.glob("briefing-exports-*"))  # made while serving
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log_path.read_text("utf-8")
        finally:
            if process.poll() is None:
                process.kill()
    assert not list(scratch.glob("briefing-exports-*"))
    assert "Traceback" not in log_path.read_text("utf-8")
