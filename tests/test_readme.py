"""The README's Python example runs as written (from the repo root)."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_readme_python_example(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(ROOT)
    code = code.replace('".briefing/index"', repr(os.fspath(tmp_path / "index")))
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    answer = namespace["answer"]
    assert "Paul Poast" in answer.quotes[0].text
    assert namespace["follow_up"].query == "What does Paul Poast research?"
