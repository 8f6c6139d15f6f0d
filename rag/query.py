"""Questions before retrieval: validation, and follow-ups resolved from the conversation.

Follow-ups are resolved by rules, without a language model: a pronoun ("What does
he research?") is replaced by the name the previous question was about, and
"What about Japan?" re-asks the previous question about Japan instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from .errors import QueryError

_WORD = re.compile(r"[\w’'-]+")
_SUBJECT_PRONOUNS = {"he", "she", "they", "him", "her", "them", "it"}
_POSSESSIVES = {"his": "’s", "their": "’s", "its": "’s", "hers": "’s", "theirs": "’s"}
_ABOUT = re.compile(r"^\s*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(?P<topic>.+?)\s*[?.!]*\s*$",
                    re.IGNORECASE)
_WH = {"who", "what", "when", "where", "why", "which", "how", "is", "are", "was", "were", "do",
       "does", "did", "has", "have", "had", "can", "could", "will", "would", "should", "according",
       "in", "on", "at", "for", "the", "a", "an", "and", "but", "tell", "describe", "explain", "i"}
# A name: capitalised words, allowing inner connectors ("Ministry of Defense", "Lee Yong-joon").
_NAME = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:of|the|de|von|van|for|and)?\s*[A-Z][\w’'.-]*)*")


MAX_HISTORY = 5


def clean_query(text: str, *, max_chars: int) -> str:
    """The question with control characters removed and spaces collapsed.

    Raises QueryError when it is empty, or longer than `max_chars`.
    """
    if not isinstance(text, str):
        raise QueryError(f"A question must be text, got {type(text).__name__}.")
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                   for c in text)
    text = " ".join(text.split())
    if not text:
        raise QueryError("The question is empty: type a question about the documents.")
    if len(text) > max_chars:
        raise QueryError(f"The question is {len(text):,} characters long; the limit is "
                         f"{max_chars:,}. Ask the question itself, not a whole text.")
    if not re.search(r"\w", text):
        raise QueryError("The question has no words in it: type a question about the documents.")
    return text


def names_in(question: str) -> list[str]:
    """Capitalised names in a question, leaving out question words at its start."""
    names = []
    for match in _NAME.finditer(question):
        words = match.group(0).split()
        while words and words[0].lower().strip("’'") in _WH:
            words = words[1:]
        name = " ".join(words).rstrip("?.!,;:")
        name = re.sub(r"[’']s$", "", name)
        if name and name.lower() not in _WH:
            names.append(name)
    return names


def resolve_followup(question: str, history: Sequence[str] = ()) -> str:
    """The query to search for `question`, given the earlier questions (oldest first)."""
    # Only the last few questions can be what a follow-up refers to.
    earlier = [h for h in (" ".join(str(h).split()) for h in history) if h][-MAX_HISTORY:]
    if not earlier:
        return question
    previous = resolve_followup(earlier[-1], earlier[:-1])
    about = _ABOUT.match(question)
    if about:
        topic = about.group("topic")
        names = names_in(previous)
        if names:
            return previous.replace(names[0], topic, 1)
        return f"{previous.rstrip('?.! ')} {topic}?"
    words = [w.lower() for w in _WORD.findall(question)]
    if not any(w in _SUBJECT_PRONOUNS or w in _POSSESSIVES for w in words):
        return question
    names = [n for n in names_in(previous) if n.lower() not in question.lower()]
    if not names:
        return f"{previous.rstrip('?.! ')}: {question}"
    name = names[0]

    def substitute(match: re.Match) -> str:
        word = match.group(0)
        lower = word.lower()
        if lower in _POSSESSIVES:
            return name + _POSSESSIVES[lower]
        if lower in _SUBJECT_PRONOUNS:
            return name
        return word

    replaced, count = re.subn(r"\b(?:he|she|they|him|her|them|it|his|their|its|hers|theirs)\b",
                              substitute, question, count=1, flags=re.IGNORECASE)
    return replaced if count else question
