"""The Gradio page: chat, source viewer and documents panel, and the `/ask` API endpoint.

Only calls to rag's public API (through `Library` and `conversation`) and the
formatting functions; no retrieval logic lives here.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

import rag

from . import conversation
from .assets import CONVERSATION_JS, CSS, HEAD, VIEWER_JS
from .format import (
    EMPTY_VIEWER,
    Turn,
    conversation_html,
    conversation_markdown,
    document_html,
    documents_html,
    human_size,
    status_html,
    viewer_message,
)
from .library import UPLOAD_TYPES, Library

log = logging.getLogger(__name__)

EXAMPLES = (
    "Who is Paul Poast?",
    "What does NATO Article 5 stipulate?",
    "What was the Camp David agreement aimed at?",
)

# Two questions run at once: answering is CPU-bound (one query embedding, then sentence
# scoring) on a 2-core machine, so more would only slow each other down; waiting ones
# are served in well under a second each. The queue is bounded so that a flood of
# requests is refused ("queue full") instead of piling up memory and latency.
ANSWER_CONCURRENCY = 2
QUEUE_SIZE = 64
# Uploads and removals run one at a time: indexing is heavy, and each ends in a save.
DOCUMENT_CHANGES = "documents"
# A question waits at most this long for its answer to start: longer, its answer event was
# lost (refused by a full queue) and it no longer holds the next ones back.
WAIT_LIMIT_S = 600
# A conversation keeps its last 100 turns: each answer re-renders the whole conversation,
# and follow-ups only look back a question or two.
MAX_TURNS = 100
RESTORED_TURNS = 30
"""The questions a reload asks again: each takes an answer's time (15 ms to 150 ms here)."""
# The documents panel shows a session's latest messages, newest first, so that files dropped
# one after another each keep theirs (each upload is its own event, and each event rewrites
# the panel). Kept for the most recent sessions only.
STATUS_NOTES = 10
OUT_OF_THE_BOX = ("Taking a file out of the upload box leaves its document indexed: to remove "
                  "it, choose it under “Remove a document”.")
UPLOAD_LIMIT_SLACK = 4
"""Files up to this many times Settings.max_file_bytes reach the app, which refuses those
over the limit in the panel's own words (the file is read no further than its size)."""
CHOOSE_TO_REMOVE = "Choose a document to remove."
CONFIRM_REMOVAL_S = 60
"""A removal is asked for twice, the second time within this many seconds: it removes the
document for everyone using this Briefing, and there is no undo (a browser review)."""
DOUBLE_CLICK_S = 1.0
"""The same question again within this many seconds is one double-click, asked once."""
STATUS_SESSIONS = 512
# Asking, in the page: the question moves out of the box, which is empty at once (a reply
# from the server to empty it came after the first letters of the next question).
# The question is read as it was when Enter went down (CONVERSATION_JS records it): the
# event runs a few keystrokes later, and what was typed meanwhile stays in the box.
TAKE_QUESTION_JS = """(question) => {
  // The recorded question, if this submit is its Enter (the box then starts with it).
  const recorded = window.briefingAsked;
  window.briefingAsked = null;
  const asked = recorded && question.startsWith(recorded) ? recorded : question;
  const now = document.querySelector('#question textarea')?.value ?? '';
  const rest = now.startsWith(asked) ? now.slice(asked.length).trimStart() : '';
  try {
    // Kept at once, so that a reload before the answer comes asks it again; the saved
    // conversation replaces this list when the answer is given (KEEP_JS).
    const key = 'briefing-conversation';
    const kept = JSON.parse(sessionStorage.getItem(key) || '[]');
    if (asked.trim() && Array.isArray(kept)) {
      kept.push({question: asked, doc_ids: []});
      sessionStorage.setItem(key, JSON.stringify(kept));
    }
    sessionStorage.setItem('briefing-draft', rest);
  } catch (error) {}
  return [asked, rest];
}"""
# What a tab keeps across a reload, in its sessionStorage (per tab, and plain JSON that a
# restarted server still reads); storage that is full or off keeps nothing.
KEEP_JS = """(value) => {
  try { sessionStorage.setItem('%s', JSON.stringify(value ?? [])); } catch (error) {}
}"""
# After the page loads: what the restore brought back, if anything. Nothing restored, the
# storage is left alone: writing the empty list there, when a slow load ended after the
# first question was asked, erased that question, and a reload then brought nothing back.
KEEP_RESTORED_JS = """(value) => {
  if (!Array.isArray(value) || !value.length) return;
  try { sessionStorage.setItem('briefing-conversation', JSON.stringify(value)); } catch (error) {}
}"""
# "New conversation" empties the box in the page as it is clicked: a draft restored after a
# reload (KEPT_JS) that the page's state had not yet taken in stayed in the box when only
# the server's reply emptied it.
FORGET_DRAFT_JS = """() => {
  const box = document.querySelector('#question textarea');
  if (box && box.value) {
    box.value = '';
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }
  try { sessionStorage.removeItem('briefing-draft'); } catch (error) {}
}"""
KEPT_JS = """() => {
  // The question box is named "Question" alone: its label also holds the Ask button.
  const box = document.querySelector('#question textarea');
  box?.setAttribute('aria-label', 'Question');
  // What was typed and not yet asked before the reload (CONVERSATION_JS keeps it).
  let draft = '';
  try { draft = sessionStorage.getItem('briefing-draft') || ''; } catch (error) {}
  if (box && draft && !box.value) {
    box.value = draft;
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }
  return ['briefing-conversation', 'briefing-uploads'].map((key) => {
    try { return JSON.parse(sessionStorage.getItem(key) || '[]'); } catch (error) { return []; }
  });
}"""
# Gradio fills a handler's gr.Progress parameter; the upload reports the embedding itself
# (tracking tqdm showed every library's bars: "0/12.0k text | 3/10 steps | Batches 30%").
UPLOAD_PROGRESS = gr.Progress()


def uploaded_name(stored: str) -> str:
    """The name a file was uploaded under, from the one Gradio stored it under (the
    uploader's, made safe): browsers send a '"' in a file name as "%22" (and a line break
    as "%0A"), which a citation would otherwise show ("ferry %22summer%22 timetable.txt")."""
    return stored.replace("%22", '"').replace("%0D", "").replace("%0A", " ")


@dataclass(slots=True)
class PanelSession:
    """What the documents panel keeps of one browser session between its events."""

    notes: list[tuple[bool, str]] = field(default_factory=list)
    """The latest messages, newest first."""
    files: list[str] = field(default_factory=list)
    """The files of the last upload event, as Gradio named them."""
    indexed_files: set[str] = field(default_factory=set)
    """The files of `files` whose document is indexed (not those refused)."""
    uploaded: set[str] = field(default_factory=set)
    """Ids of the documents this session uploaded: only those are replaced by a file
    uploaded again under the same name (another user's notes.txt is theirs)."""
    shown: tuple | None = None
    """The document choices the panel last showed this session: when another session's
    upload or removal changed them, the next answer brings the panel up to date."""
    confirming: tuple[str, float] | None = None
    """The document whose removal was asked for once, and when (time.monotonic)."""


@dataclass(slots=True)
class ChatSession:
    """One browser session's conversation, kept by the server so that questions asked
    one after another are answered in turn, each after the ones before it."""

    turns: tuple[Turn, ...] = ()
    waiting: list[tuple[str, float]] = field(default_factory=list)
    """Questions asked and not yet answered, in the order they were asked, each with the
    time it was asked (time.monotonic)."""
    order: threading.Lock = field(default_factory=threading.Lock)
    """Held while a question is answered: the next one waits for it."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while `turns`, `waiting` and `cleared` are read or changed."""
    cleared: bool = False
    """Set by "New conversation": answers still on their way are dropped."""
    last_asked: tuple[str, float] = ("", -1e9)
    """The question asked last and when (time.monotonic)."""

    def shown(self) -> tuple[Turn, ...]:
        return (*self.turns,
                *(Turn(question=q, pending=True) for q, _ in self.waiting if q.strip()))

    def next_question(self) -> str | None:
        """The oldest waiting question, past those whose answer never came (its event was
        refused, the queue being full): they would hold every later one back."""
        while self.waiting:
            question, asked = self.waiting.pop(0)
            if time.monotonic() - asked <= WAIT_LIMIT_S:
                return question
        return None


class Handlers:
    """The event handlers of one app, over one library shared by every session."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.exports = Path(tempfile.mkdtemp(prefix="briefing-exports-"))
        self._sessions: OrderedDict[str, PanelSession] = OrderedDict()
        self._chats: OrderedDict[str, ChatSession] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self._replaced: dict[str, str] = {}
        """Ids of uploads replaced by a newer version of the same name: the newer's title."""

    def close(self) -> None:
        shutil.rmtree(self.exports, ignore_errors=True)

    # --- chat -------------------------------------------------------------------------------

    def show_asked(self, question: str, turns: Sequence[Turn],
                   request: gr.Request | None = None) -> str | dict:
        """The conversation with `question` shown as asked, its answer on the way; the
        question waits its turn to be answered by `respond`."""
        chat = self._chat(request, turns)
        now = time.monotonic()
        with chat.lock:
            if (question or "").strip() and chat.last_asked[0] == question \
                    and now - chat.last_asked[1] < DOUBLE_CLICK_S:
                return gr.skip()  # an example button double-clicked: asked once
            chat.last_asked = (question or "", now)
            chat.waiting.append((question or "", now))
            return conversation_html(chat.shown()) if (question or "").strip() else gr.update()

    def respond(self, question: str, turns: Sequence[Turn], scope: list[str] | None,
                request: gr.Request | None = None) -> tuple:
        """Chat: answer the session's oldest waiting question (`question` when none waits:
        a direct call), re-render the conversation, refresh the download.

        Questions asked while an earlier one is being answered wait for it, so each is
        answered after the ones before it, as their follow-up. A question that fails (too
        long, no words) goes back into the box to be edited; the box is otherwise left as
        the user has it. A blank one (Enter pressed twice) is said to be empty in the chat
        but not kept in the conversation or its download.
        """
        chat = self._chat(request, turns)
        with chat.order:
            with chat.lock:
                waited = chat.next_question()
                if waited is not None:
                    question = waited
                elif getattr(request, "session_hash", None):
                    # Its question went with a cleared conversation ("New conversation").
                    return gr.skip(), gr.skip(), gr.skip(), gr.skip()
                question = question or ""
            turn = conversation.ask(self.library.index, question, chat.turns, doc_ids=scope,
                                    names=self.library.distinct_names())
            with chat.lock:
                if chat.cleared:  # "New conversation" while it was being answered
                    return gr.skip(), gr.skip(), gr.skip(), gr.skip()
                if turn.answer is None and not question.strip():
                    return (chat.turns, conversation_html((*chat.shown(), turn)), gr.update(),
                            gr.update(interactive=bool(chat.turns)))
                chat.turns = (*chat.turns, turn)[-MAX_TURNS:]
                shown, turns = conversation_html(chat.shown()), chat.turns
        box = question if turn.answer is None else gr.update()
        return turns, shown, box, gr.update(value=self._export(turns, request), interactive=True)

    def remember(self, turns: Sequence[Turn]) -> list[dict]:
        """What the page keeps in its browser storage to bring the conversation back."""
        return conversation.saved(turns)

    def restore(self, kept: object, request: gr.Request | None = None) -> tuple:
        """On page load: the conversation the page kept before a reload (its last
        RESTORED_TURNS questions), asked again on the documents as they are now, before
        any question asked since; and what the page keeps now."""
        chat = self._chat(request, ())
        with chat.order:
            turns = conversation.restored(self.library.index, kept, limit=RESTORED_TURNS,
                                          names=self.library.distinct_names())
            with chat.lock:
                if chat.cleared or not turns:
                    return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                # The documents the last question was limited to are ticked again (a
                # browser review: its answer said "Searched only in", the box showed none
                # ticked, and the next question searched them all). Not when a question
                # was asked since the page loaded: the box is then as it was asked with.
                scope = gr.update(value=list(turns[-1].doc_ids)) \
                    if turns[-1].doc_ids and not chat.turns else gr.skip()
                chat.turns = (*turns, *chat.turns)[-MAX_TURNS:]
                shown, turns = conversation_html(chat.shown()), chat.turns
        return (turns, shown, gr.update(value=self._export(turns, request), interactive=True),
                conversation.saved(turns), scope)

    def _chat(self, request: gr.Request | None, turns: Sequence[Turn]) -> ChatSession:
        """The session's conversation as the server last left it; started from `turns` (the
        page's copy) when the server has none (no session: a direct call)."""
        key = getattr(request, "session_hash", None)
        if not key:
            return ChatSession(tuple(turns))
        with self._sessions_lock:
            chat = self._chats.pop(key, None) or ChatSession(tuple(turns))
            self._chats[key] = chat  # most recent last
            while len(self._chats) > STATUS_SESSIONS:
                self._chats.popitem(last=False)
        return chat

    def _export(self, turns: Sequence[Turn], request: gr.Request | None) -> str:
        session = getattr(request, "session_hash", None) or "anonymous"
        folder = self.exports / "".join(c for c in session if c.isalnum())[:64]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "briefing-conversation.md"
        path.write_text(conversation_markdown(turns, name_of=self.library.source_label),
                        encoding="utf-8")
        return str(path)

    def clear(self, request: gr.Request | None = None) -> tuple:
        key = getattr(request, "session_hash", None)
        if key:
            with self._sessions_lock:
                # A fresh record, not none: one rebuilt from a late event's copy of the
                # conversation would bring the cleared turns back.
                chat = self._chats.pop(key, None)
                self._chats[key] = ChatSession()
            if chat is not None:
                with chat.lock:
                    chat.cleared, chat.waiting = True, []
        return ((), conversation_html(()), "", gr.update(value=None, interactive=False),
                viewer_message(EMPTY_VIEWER))

    def open_source(self, event: gr.EventData) -> str:
        """Viewer: the cited document, scrolled to the passage; only indexed documents."""
        data = getattr(event, "_data", None)
        if not isinstance(data, dict):  # only a hand-made request sends anything else
            data = {}
        try:
            document = self.library.index.document(str(data.get("doc", "")))
        except rag.UnknownDocumentError:
            newer = self._replaced.get(str(data.get("doc", "")))
            if newer is not None:
                # An answer given before a file was uploaded again under its name quotes
                # the earlier version, which is gone (a browser review found it unsaid).
                return viewer_message(f"That document was replaced by a newer upload of the "
                                      f"same name (“{newer}”): this answer quotes the earlier "
                                      "version. Ask again to quote the new one.")
            return viewer_message("That document is no longer indexed.")

        def offset(key: str) -> int:
            try:
                return min(max(int(data.get(key, 0)), 0), len(document.text))
            except (TypeError, ValueError):
                return 0

        passage = (offset("pstart"), offset("pend"))
        sentence = (offset("start"), offset("end"))
        return document_html(document, passage=passage if passage[1] > passage[0] else None,
                             sentence=sentence if sentence[1] > sentence[0] else None,
                             closest=data.get("closest") is True)

    # --- documents ----------------------------------------------------------------------------

    def panel_if_stale(self, scope: list[str] | None = None,
                       request: gr.Request | None = None) -> tuple:
        """After a question: the panel, when the documents ticked are no longer all indexed
        (another session removed one; a browser review's picker kept offering it after the
        chat said so) or another session added or removed documents since this one's panel
        was drawn (a browser review's open panel never listed a new upload), else nothing."""
        choices = self.library.choices()
        ids = {value for _, value in choices}
        session = self._session(request)
        drawn = session.shown if session else None
        if all(d in ids for d in scope or []) and drawn in (None, tuple(choices)):
            return gr.skip(), gr.skip(), gr.skip()
        return self.panel(scope, request)

    def panel(self, scope: list[str] | None = None,
              request: gr.Request | None = None) -> tuple:
        """The documents table and both pickers, after a change or on page load."""
        choices = self.library.choices()
        ids = {value for _, value in choices}
        kept = [d for d in scope or [] if d in ids]
        if session := self._session(request):
            session.shown = tuple(choices)
        return (documents_html(self.library.rows()), gr.update(choices=choices, value=kept),
                gr.update(choices=choices, value=None))

    def upload(self, files: list[str] | None, scope: list[str] | None,
               progress: gr.Progress = UPLOAD_PROGRESS,
               request: gr.Request | None = None) -> tuple:
        """Index uploaded files one by one; say what was added and what was refused.

        Each file gets one line: added, already indexed, or not added and why. Nothing
        raised here reaches the page: Gradio would mark the whole panel as failed.
        """
        notes: list[tuple[bool, str]] = []
        session = self._session(request)
        scope = list(scope or [])
        paths = [Path(f) for f in self._new_files(list(files or []), request)]
        for number, path in enumerate(paths):
            name = uploaded_name(path.name)
            progress(number / max(len(paths), 1), desc=f"Indexing {name}")

            def embedded(done: int, total: int, number: int = number, name: str = name) -> None:
                progress((number + done / total) / len(paths),
                         desc=f"Indexing {name}: {done:,} of {total:,} sentences and passages "
                              "read")
            known = {d.id for d in self.library.index.documents(with_text=False)}
            earlier = [d for d in self.library.uploads_named(name)
                       if session is None or d.id in session.uploaded]
            try:
                document = self.library.add_upload(path, name=name, progress=embedded)
            except rag.DocumentError as error:
                notes.append((False, f"Not added: {error}"))
                continue
            except rag.BriefingError as error:  # the model could not be loaded, say
                notes.append((False, f"Not added: {name}: {error}"))
                continue
            except OSError as error:
                log.exception("upload of %s failed", name)
                notes.append((False, f"Not added: {name}: the file could not be stored "
                                     f"({error.strerror or error})"))
                continue
            except Exception:
                log.exception("upload of %s failed", name)
                notes.append((False, f"Not added: {name}: it could not be indexed. The details "
                                     "are in the server's log; try again, or convert the file "
                                     "to another type."))
                continue
            if session is not None:
                session.indexed_files.add(str(path))
            if document.id in known:
                notes.append((True, f"Already indexed: {name} is the same file as "
                                    f"“{document.title}”, so nothing was added."))
                continue
            chunks = self.library.index.passage_counts().get(document.id, 0)
            passages = f"{chunks:,} passage{'s' if chunks != 1 else ''}"
            # A file uploaded again under the same name is a new version: it replaces the
            # earlier one, which would otherwise be cited under the same name.
            if session is not None:
                session.uploaded.add(document.id)
            replaced = [d for d in earlier if self._remove_quietly(d.id)]
            self._replaced.update((d.id, document.title) for d in replaced)
            if session is not None:
                session.uploaded -= {d.id for d in replaced}
            if any(d.id in scope for d in replaced):  # the new version stays ticked
                scope = [d for d in scope if d not in {r.id for r in replaced}] + [document.id]
            named = f"{name}, " if document.title != name else ""  # titled by its name
            if replaced:
                notes.append((True, f"Updated “{document.title}” ({named}{passages}): it "
                                    "replaces the earlier upload of that name."))
            else:
                notes.append((True, f"Added “{document.title}” ({named}{passages}). It is "
                                    "searchable now."))
            # Uploaded before a reload, or in another session: kept, since it may be someone
            # else's file; both would be cited under the same name.
            namesakes = [d for d in self.library.uploads_named(name) if d.id != document.id]
            if namesakes:
                # As the pickers list them: two called "depot.txt" are told apart there.
                labels = {doc_id: label for label, doc_id in self.library.choices()}
                titles = ", ".join(f"“{labels.get(d.id, d.title)}”" for d in namesakes)
                notes.append((False, f"Another upload named {name} is indexed too ({titles}). "
                                     "If this file replaces it, remove the earlier one under "
                                     "Documents, or both will be quoted."))
        return self._status(notes, request), *self.panel(scope, request)

    def remember_uploads(self, request: gr.Request | None = None) -> list[str]:
        """What the page keeps in its browser storage so that a file uploaded again after a
        reload replaces its earlier version: the ids of this session's uploads."""
        session = self._session(request)
        if session is None:
            return []
        indexed = {d.id for d in self.library.index.documents(with_text=False)}
        return sorted(session.uploaded & indexed)

    def restore_uploads(self, kept: object, request: gr.Request | None = None) -> None:
        """On page load: the uploads this browser made before a reload are its own again."""
        session = self._session(request)
        if session is None or not isinstance(kept, list):
            return
        uploads = {d.id for d in self.library.index.documents(with_text=False)
                   if self.library.is_upload(d)}
        session.uploaded |= {d for d in kept if isinstance(d, str) and d in uploads}

    def _remove_quietly(self, doc_id: str) -> bool:
        try:
            self.library.remove(doc_id)
        except rag.UnknownDocumentError:  # removed in another session meanwhile
            return False
        except OSError:
            log.exception("could not remove the earlier upload %s", doc_id)
            return False
        return True

    def remove(self, doc_id: str | None, scope: list[str] | None,
               request: gr.Request | None = None) -> tuple:
        """Remove the picked document, when asked for twice in a row (`CONFIRM_REMOVAL_S`);
        say so, and whether it comes back at the next start."""
        if not doc_id:  # a prompt, not kept among the session's messages
            return (self._status([(False, CHOOSE_TO_REMOVE)], request, keep=False),
                    *self.panel(scope, request))
        # Named as the picker named it: two uploads titled alike are "memo.txt #2" there.
        label = {d: label for label, d in self.library.choices()}.get(doc_id)
        session = self._session(request)
        if session is not None and label is not None:
            asked, session.confirming = session.confirming, None
            if asked is None or asked[0] != doc_id \
                    or time.monotonic() - asked[1] > CONFIRM_REMOVAL_S:
                session.confirming = (doc_id, time.monotonic())
                note = (f"Remove “{label}” for everyone using this Briefing? Press Remove "
                        "again to confirm.")
                # The panel is left as it is: redrawn, the picker lost its choice.
                return (self._status([(False, note)], request, keep=False),
                        gr.skip(), gr.skip(), gr.skip())
        try:
            document = self.library.remove(doc_id)
        except rag.UnknownDocumentError:
            notes = [(False, "That document was already removed.")]
        else:
            notes = [(True, f"Removed “{label or document.title}”.")]
            if not self.library.is_upload(document):
                notes.append((True, "It is one of the documents Briefing was started with, so "
                                    "it comes back at the next start."))
        return self._status(notes, request), *self.panel(scope, request)

    def _session(self, request: gr.Request | None) -> PanelSession | None:
        key = getattr(request, "session_hash", None)
        if not key:
            return None
        with self._sessions_lock:
            session = self._sessions.pop(key, None) or PanelSession()
            self._sessions[key] = session  # most recent last
            while len(self._sessions) > STATUS_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def _new_files(self, files: list[str], request: gr.Request | None) -> list[str]:
        """The files of this upload event that the session's last one did not handle.

        Gradio's file box adds a drop to the files it shows and sends them all, the earlier
        ones first; once the user empties it, all it sends is new.
        """
        session = self._session(request)
        if session is None:
            return files
        held, session.files = session.files, files
        session.indexed_files &= set(files)
        if len(files) > len(held) and files[:len(held)] == held:
            return files[len(held):]
        return files

    def forget_file(self, deleted: gr.DeletedFileData, request: gr.Request | None = None) -> str:
        """A file taken out of the upload box (its ×): the box's next upload sends the files
        left in it with the new ones, and only the new ones are indexed. Its document stays
        indexed, and the panel says so (the × looks like a removal)."""
        session = self._session(request)
        path = getattr(getattr(deleted, "file", None), "path", None)
        indexed = session is None or path in session.indexed_files
        if session is not None and path in session.files:
            session.files.remove(path)
            session.indexed_files.discard(path)
        # A refused file (empty, too big) was never indexed: nothing to say of it.
        return self._status([(True, OUT_OF_THE_BOX)] if indexed else [], request)

    def forget_files(self, request: gr.Request | None = None) -> str:
        """The upload box emptied (its clear button): whatever comes next is new."""
        session = self._session(request)
        indexed = session is None or bool(session.indexed_files)
        if session is not None:
            session.files = []
            session.indexed_files = set()
        return self._status([(True, OUT_OF_THE_BOX)] if indexed else [], request)

    def _status(self, notes: list[tuple[bool, str]], request: gr.Request | None, *,
                keep: bool = True) -> str:
        """The panel's messages: this change's, then the session's earlier ones (dimmed).

        A message repeated (the same file dropped again) moves up instead of showing twice.
        A prompt (`keep=False`) shows once: left below a later "Removed ...", "Choose a
        document to remove." read as if the removal had failed.
        """
        session = self._session(request)
        if session is None:
            return status_html(notes)
        earlier = [note for note in session.notes if note not in notes]
        earlier = earlier[:max(STATUS_NOTES - len(notes), 0)]
        if keep:
            session.notes = notes + earlier
        return status_html(notes, earlier)

    # --- API ----------------------------------------------------------------------------------

    def api_ask(self, question: str, history: list[str] | str | None = None,
                doc_ids: list[str] | None = None) -> dict:
        """Answer a question with quotes from the documents.

        Args:
            question: the question.
            history: earlier questions of the conversation, oldest first (a list or its JSON text).
            doc_ids: search only these documents (ids as listed by `briefing documents`).
        Returns:
            The answer as JSON: question, effective query, abstained, confidence, and quotes
            with text, citation, document offsets, score and passage.
        """
        try:
            # The chat keeps its last MAX_TURNS turns; so does the API, whatever it is sent.
            earlier = conversation.parse_history(history)[-MAX_TURNS:]
            wanted = conversation.parse_doc_ids(doc_ids)
            answer = self.library.index.ask(question, history=earlier, doc_ids=wanted)
        except rag.BriefingError as error:
            raise gr.Error(str(error), print_exception=False) from None
        except Exception:  # a clear message for the client, the traceback for the log
            log.exception("answering %r through the API failed", str(question)[:200])
            raise gr.Error("Something went wrong while answering. The details are in the "
                           "server's log; try again or rephrase the question.",
                           print_exception=False) from None
        return answer.to_dict()


def build(library: Library) -> tuple[gr.Blocks, Handlers]:
    """The app over `library`. Launch it with `launch_options(library)`."""
    handlers = Handlers(library)
    choices = library.choices()
    # Gradio keeps copies of uploads and downloads in its cache: hourly, drop those a day old.
    with gr.Blocks(title="Briefing", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        turns = gr.State(())
        # The questions of the conversation, kept in the tab's sessionStorage (its own,
        # unlike localStorage, which every tab shares): a reload asks them again.
        kept = gr.JSON([], visible=False)
        # The ids of the documents uploaded from this tab: uploaded again after a reload,
        # a file still replaces its earlier version.
        kept_uploads = gr.JSON([], visible=False)
        # The question on its way: the page moves it here and empties the box at once
        # (TAKE_QUESTION_JS), so that what is typed next is never overwritten.
        asked = gr.Textbox(visible=False)
        gr.HTML('<div id="header"><h1>Briefing</h1><p>Answers quoted from your documents, '
                "each with its source. Nothing is made up.</p></div>", js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340, elem_id="chat-column"):
                chat = gr.HTML(conversation_html(()), js_on_load=CONVERSATION_JS,
                               elem_id="conversation", apply_default_css=False)
                question = gr.Textbox(placeholder="Ask a question about the documents…",
                                      label="Question", show_label=False, lines=1, max_lines=6, submit_btn="Ask",
                                      autofocus=True, elem_id="question")
                # The examples ask about the bundled documents: shown only with them.
                with gr.Row(elem_id="examples", visible=library.holds_seeds()):
                    examples = [gr.Button(text, size="sm", variant="secondary", min_width=0)
                                for text in EXAMPLES]
                with gr.Row():
                    new_chat = gr.Button("New conversation", size="sm", elem_id="new-chat")
                    download = gr.DownloadButton("Download as Markdown", size="sm",
                                                 interactive=False, elem_id="download")
                with gr.Accordion("Documents", open=False, elem_id="documents") as panel:
                    table = gr.HTML(documents_html(library.rows()), js_on_load=None)
                    scope = gr.CheckboxGroup(choices=choices, value=[], elem_id="scope",
                                             label="Search only in (none ticked: all documents)")
                    # No file_types: Gradio's own check refuses some names it should take
                    # ('.txt') by failing the whole event, which marks every output of the
                    # panel "Error". Library.add_upload checks the type and says why.
                    upload = gr.File(label=f"Add documents ({', '.join(UPLOAD_TYPES)}; up to "
                                           f"{human_size(library.max_bytes)} each)",
                                     file_count="multiple", elem_id="upload", height=120)
                    # Under the box: its label runs under the box's icons once a file is in.
                    gr.HTML('<p class="shared-note">Documents added here can be searched '
                            "by everyone using this Briefing.</p>", js_on_load=None)
                    status = gr.HTML("", js_on_load=None, elem_id="doc-status")
                    with gr.Row():
                        pick = gr.Dropdown(choices=choices, value=None, label="Remove a document",
                                           elem_id="remove-pick", scale=3)
                        remove = gr.Button("Remove", variant="stop", elem_id="remove", scale=1,
                                           min_width=90)
            with gr.Column(scale=2, min_width=320, elem_id="viewer-column"):
                viewer = gr.HTML(viewer_message(EMPTY_VIEWER), js_on_load=VIEWER_JS,
                                 elem_id="viewer", apply_default_css=False)

        chat_out = [turns, chat, question, download]
        private = {"api_visibility": "private", "show_progress": "minimal"}
        # An answer's progress shows on the conversation only: drawn on the box as well,
        # its timer covered the Ask button.
        answering = {**private, "show_progress_on": [chat]}
        # A question asked while another is answered is queued behind it ("multiple"):
        # Gradio's default drops it.
        showing = {"queue": False, "api_visibility": "private", "show_progress": "hidden",
                   "trigger_mode": "multiple"}
        keeping = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}
        question.submit(None, [question], [asked, question], js=TAKE_QUESTION_JS,
                        **showing).then(
            handlers.show_asked, [asked, turns], chat, **showing).then(
            handlers.respond, [asked, turns, scope], chat_out, trigger_mode="multiple",
            **answering).then(handlers.remember, [turns], kept, **keeping).then(
            None, [kept], None, js=KEEP_JS % "briefing-conversation", **keeping).then(
            handlers.panel_if_stale, [scope], [table, scope, pick], **keeping)
        for button in examples:
            button.click(handlers.show_asked, [button, turns], chat, **showing).then(
                handlers.respond, [button, turns, scope], chat_out, trigger_mode="multiple",
                **answering).then(handlers.remember, [turns], kept, **keeping).then(
                None, [kept], None, js=KEEP_JS % "briefing-conversation", **keeping).then(
                handlers.panel_if_stale, [scope], [table, scope, pick], **keeping)
        new_chat.click(handlers.clear, None, [turns, chat, question, download, viewer],
                       js=FORGET_DRAFT_JS, **private).then(handlers.remember, [turns], kept, **keeping).then(
            None, [kept], None, js=KEEP_JS % "briefing-conversation", **keeping).then(
            None, None, None, js=FORGET_DRAFT_JS, **keeping)
        chat.cite(handlers.open_source, None, viewer, **private)
        panel_out = [table, scope, pick]
        # Each drop is indexed in turn ("multiple": the default, "once", ignores files dropped
        # while others are being indexed). The box is no output: emptied by an event while
        # a file was on its way to the server, it lost that file.
        # Progress shows in the message area only: drawn over every output, the bars
        # covered the table, the ticks and the remove button.
        upload.upload(handlers.upload, [upload, scope], [status, *panel_out],
                      concurrency_limit=1, concurrency_id=DOCUMENT_CHANGES,
                      trigger_mode="multiple", api_visibility="private",
                      show_progress_on=[status]).then(
            handlers.remember_uploads, None, kept_uploads, **keeping).then(
            None, [kept_uploads], None, js=KEEP_JS % "briefing-uploads", **keeping)
        upload.delete(handlers.forget_file, None, status, queue=False, api_visibility="private",
                      show_progress="hidden")
        upload.clear(handlers.forget_files, None, status, queue=False, api_visibility="private",
                     show_progress="hidden")
        remove.click(handlers.remove, [pick, scope], [status, *panel_out], concurrency_limit=1,
                     concurrency_id=DOCUMENT_CHANGES, api_visibility="private",
                     show_progress_on=[status])
        demo.load(handlers.panel, [scope], panel_out, api_visibility="private",
                  show_progress="hidden")
        # Opened, the panel lists what other sessions added or removed meanwhile.
        panel.expand(handlers.panel, [scope], panel_out, api_visibility="private",
                     show_progress="hidden")
        demo.load(None, None, [kept, kept_uploads], js=KEPT_JS, **keeping).then(
            handlers.restore_uploads, [kept_uploads], None, **keeping).then(
            handlers.restore, [kept], [turns, chat, download, kept, scope], **answering).then(
            None, [kept], None, js=KEEP_RESTORED_JS, **keeping)
        gr.api(handlers.api_ask, api_name="ask")
    demo.queue(default_concurrency_limit=ANSWER_CONCURRENCY, max_size=QUEUE_SIZE)
    return demo, handlers


def launch_options(library: Library) -> dict:
    """What `demo.launch` needs besides host, port and auth: the page's look and safe limits."""
    return {
        "share": False,
        # Gradio refuses a bigger file with a toast that fades, leaving a bare "Error" in
        # the upload box; up to four times the limit, the panel refuses it in words instead,
        # in the upload log like any other file it does not add.
        "max_file_size": UPLOAD_LIMIT_SLACK * library.max_bytes,
        "show_error": False,
        "ssr_mode": False,
        "mcp_server": False,
        "pwa": False,
        "enable_monitoring": False,
        "theme": gr.themes.Soft(primary_hue="blue"),
        "css": CSS,
        "head": HEAD,
        "footer_links": ["api"],
    }
