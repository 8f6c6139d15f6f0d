"""Briefing's browser chat: a thin Gradio layer over rag's public API.

`ui.app.serve` starts it (the `briefing serve` command). `ui.library` keeps the index
with its saved folder and uploads, `ui.conversation` asks questions for one browser
session, `ui.format` renders answers and documents, `ui.blocks` lays out the page and
wires its events, and `ui.assets` holds its CSS and the few lines of JavaScript.
Importing `ui` is cheap: Gradio is imported when the app is built.
"""

from __future__ import annotations
