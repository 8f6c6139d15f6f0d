"""Questions before retrieval: validation, follow-ups resolved from the conversation,
and acronyms spelled out as the documents spell them.

Follow-ups are resolved by rules, without a language model: a person's pronoun ("What
does he research?") is replaced by the name the previous question was about; "What about
Japan?" re-asks the previous question about Japan instead; and a question that leans on
the previous one otherwise ("Why was it renounced?", "By whom?") is searched together
with it. An acronym the
documents write out ("NATO" for "North Atlantic Treaty Organization") gets its long form
beside it, so that words and meaning both match.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence

from .about import asked_part
from .errors import QueryError

_WORD = re.compile(r"[\w’'-]+")
# A singular pronoun is replaced by the name the previous question was about ("What does
# he research?" after "Who is Paul Poast?", "What was it aimed at?" after "What did the
# Camp David pact reaffirm?"). A plural one or a demonstrative stands for a group or an
# event ("the three leaders", "what Putin said"), rarely one name: the previous question
# is searched with the new one instead.
_PERSON_PRONOUNS = {"he", "she", "him", "her", "his", "hers"}
_PRONOUN_FORMS = {"he": "he", "him": "he", "his": "he", "she": "she", "her": "she",
                  "hers": "she"}
_NAMED_PRONOUNS = _PERSON_PRONOUNS | {"it", "its"}
_GROUP_PRONOUNS = {"they", "them", "their", "theirs", "this", "these", "those"}
# "that" points back after a verb or preposition, or at the end ("would that change",
# "after that", "Why is that?"); elsewhere it mostly joins clauses ("said that Seoul...").
_THAT_POINTS_BACK = re.compile(
    r"\b(?:is|was|are|were|would|will|could|can|does|did|do|has|have|had|about|after|before"
    r"|despite|since|besides|caused|causes|mean|means)\s+that\b|\bthat\s*[?.!]*\s*$",
    re.IGNORECASE)
_CONTINUES = {"and", "but", "or"}
_ASKS_WHO = re.compile(r"^\W*(?:\w+\s+)?(?:who|whom|whose)\b", re.IGNORECASE)
"""First words of a question that goes on from the one before it ("And in 2022?")."""
_POSSESSIVES = {"his": "’s", "hers": "’s", "its": "’s"}
MAX_ELLIPSIS_WORDS = 3
"""A follow-up this short with no name of its own ("By whom?") is read with the question
before it."""
_ABOUT = re.compile(r"^\s*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(?P<topic>.+?)\s*[?.!]*\s*$",
                    re.IGNORECASE)
# "What about Japan's foreign minister — how did she say her government feels?": a topic,
# then a question of its own about it, after a dash, colon or semicolon; after a comma
# only when it opens as a question does ("what is its view?", "did it sign?"), not as a
# clause about the topic ("Japan, which signed the treaty?", "2019, when prices fell?").
_AUX = (r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)")
_ABOUT_THEN_ASK = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(?P<topic>[^—–:;,?]+?)\s*"
    r"(?:(?:[—–:;]|\s-{1,2})\s*(?P<ask>(?:who|whom|whose|what|when|where|why|which|how|"
    rf"{_AUX[3:-1]})\b.+)"
    rf"|,\s*(?P<asked>(?:(?:who|whom|whose|what|when|where|why|which|how)\s+{_AUX}|{_AUX})\b.+))$",
    re.IGNORECASE)
# "And Japan?": a bare name after "and" asks the previous question about it, as "What
# about Japan?" does.
_AND_TOPIC = re.compile(r"^\s*(?:and|or)\s+(?P<topic>[^?]+?)\s*[?.!]*\s*$", re.IGNORECASE)
_WH = {"who", "what", "when", "where", "why", "which", "how", "is", "are", "was", "were", "do",
       "does", "did", "has", "have", "had", "can", "could", "will", "would", "should", "according",
       "in", "on", "at", "for", "by", "from", "with", "to", "under", "after", "before", "since",
       "about", "of", "the", "a", "an", "and", "but", "tell", "describe", "explain", "i",
       "whom", "whose", "list", "name", "give", "show", "find", "compare", "define",
       "summarize", "summarise", "please",
       # Question words of other languages: "Qui est Paul Poast ?" names no "Qui".
       "qui", "que", "quoi", "quel", "quelle", "quels", "quelles", "où", "quand", "pourquoi",
       "comment", "combien", "est", "wer", "wen", "wem", "wessen", "wann", "wo", "warum",
       "wie", "welche", "welcher", "welches", "quién", "quiénes", "qué", "dónde", "cuándo",
       "cómo", "cuál", "cuánto", "chi", "cosa", "dove", "quando", "perché", "quale", "quem",
       "onde", "wat", "waar", "wanneer", "waarom", "hoe", "welk", "welke"}
# A name: capitalised words, allowing inner connectors ("Ministry of Defense", "Lee Yong-joon").
_NAME = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:of|the|de|von|van|for|and)?\s*[A-Z][\w’'.-]*)*")

# Three letters or more: two-letter ones are too ambiguous ("AP", "US"); on the seed
# questions, "US (United States)" drew a heading above the sentence that answered.
_ACRONYM = re.compile(r"\b(?P<acronym>[A-Z]{3,8})(?P<possessive>[’']s)?\b")
# A run of capitalised words on one line, joined by single spaces or by "of", "for"...:
# "North Atlantic Treaty Organization", "Democratic People's Republic of Korea".
_CAPITALISED = r"[A-Z][\w’'-]*[\w]"
_LONG_FORM = re.compile(rf"{_CAPITALISED}(?: (?:(?:of|the|for|de|von|van) )*{_CAPITALISED})+")

MAX_HISTORY = 5


def clean_query(text: str, *, max_chars: int, what: str = "The question") -> str:
    """The question with control characters and unpaired surrogates (bytes that were not
    valid text) removed and spaces collapsed.

    Raises QueryError when it is empty, or longer than `max_chars`; `what` names it in
    the message ("history item 2").
    """
    if not isinstance(text, str):
        raise QueryError(f"{what} must be text, got {type(text).__name__}.")
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c
                   for c in text)
    text = " ".join(text.split())
    if not text:
        raise QueryError(f"{what} is empty: type a question about the documents.")
    if len(text) > max_chars:
        raise QueryError(f"{what} is {len(text):,} characters long; the limit is "
                         f"{max_chars:,}. Ask the question itself, not a whole text.")
    if not re.search(r"\w", text):
        raise QueryError(f"{what} has no words in it: type a question about the documents.")
    return text


def clean_history(history: object, *, max_chars: int) -> list[str]:
    """The earlier questions of a conversation, oldest first, each cleaned as a question;
    blank ones are left out. Raises QueryError naming a bad item, or when `history` is
    not a list of strings (one string would otherwise be read letter by letter)."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise QueryError("history must be a list of the earlier questions (oldest first), "
                         f"got {type(history).__name__}.")
    earlier = []
    for number, item in enumerate(history, start=1):
        if isinstance(item, str) and not item.strip():
            continue
        earlier.append(clean_query(item, max_chars=max_chars, what=f"history item {number}"))
    return earlier


# Markup pasted with a question ("<img src=x onerror=...>", "</b>") and emoji ("😀", "👍🏽",
# "☀️") are no words of it: searched, they moved the question's vector and added terms
# found nowhere, enough to turn an answer into "the documents don't cover this".
_MARKUP = re.compile(r"</?[A-Za-z!][^<>]*>")
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
"""A pasted script or style element, whose content is no more a question's words than
its tags are ("<script>alert(1)</script>Who is Paul Poast?")."""
_EMPHASIS = re.compile(r"(?<![\w*_`])[*_`]+(?=\w)|(?<=\w)[*_`]+(?![\w*_`])")
"""Markdown's emphasis and code marks around words, as pasted from notes ("Who is _Poast_?",
"**Kim**"): "_poast_" is no word of any document. Not inside a word ("max_file_bytes")."""
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0E\uFE0F]")


def compatible(query: str) -> str:
    """The query as it is searched: in Unicode's compatibility form (NFKC), where full-width
    letters typed with an Asian keyboard ("Ｐｏａｓｔ"), ligatures ("ﬁ") and the like become
    the plain letters that documents and the embedding model's vocabulary use; without
    markup tags (and scripts), Markdown's emphasis marks or emoji, unless nothing else is
    left."""
    plain = unicodedata.normalize("NFKC", query)
    # An escaped tag ("&lt;b&gt;Kim&lt;/b&gt;") is a tag, and "&amp;" is "&".
    unescaped = html.unescape(plain) if "&" in plain else plain
    stripped = _EMPHASIS.sub(" ", _EMOJI.sub(" ", _MARKUP.sub(" ", _SCRIPT.sub(" ", unescaped))))
    if stripped == plain:
        return plain
    stripped = re.sub(r"\s+(?=[?!.,;:]|$)", "", " ".join(stripped.split()))
    return stripped if re.search(r"\w", stripped) else plain


PREAMBLE_MIN_WORDS = 30
"""A question this long may open with a preamble that is no part of what it asks."""
_LAST_ASK = re.compile(r"[,;:.!?]\s+(?=(?:what|who|whom|whose|when|where|why|which|how)\b)",
                       re.IGNORECASE)


# Greetings before a question and thanks after it ask nothing: "Hello! Quick one please: how
# much is breakfast club? Thanks so much, you're a star" (a review) asks how much it is.
_GREETING = re.compile(
    r"^\W*(?:(?:hi|hello|hey|hiya|greetings|good (?:morning|afternoon|evening)|dear \w+"
    r"|quick (?:one|question)|(?:a )?question(?: for you)?|please|sorry|excuse me)\b"
    r"(?: (?:there|all|everyone|team|please|again))*\s*[!.:,;—–-]+\s*)+", re.IGNORECASE)
_THANKS = re.compile(r"(?<=\?)\s*(?:(?:many |so much |in advance |a lot )*(?:thanks|thank you"
                     r"|cheers|ta|much appreciated)\b[^?]*|(?:please|pls)\W*)$", re.IGNORECASE)


def without_pleasantries(question: str) -> str:
    """The question without a greeting before it or thanks after it, when a question of
    three words or more is left: "Hello! How much is breakfast club? Thanks!" is asked as
    "How much is breakfast club?"."""
    asked = _THANKS.sub("", _GREETING.sub("", question)).strip()
    if asked == question.strip() or len(asked.split()) < 3:
        return question
    return asked[0].upper() + asked[1:]


def without_preamble(question: str) -> str:
    """A long question's last clause that asks something, when everything before it names
    nothing (no name, no number): "I am trying to understand, in as much detail as possible
    and with all relevant context, what did South Korea's adviser say?" (a browser review
    repeated that preamble fifteen times) is searched as "What did South Korea's adviser
    say?", not by the preamble's words. A question under PREAMBLE_MIN_WORDS words, or one
    whose first part names what it is about, is kept whole."""
    if len(question.split()) < PREAMBLE_MIN_WORDS:
        return question
    asks = list(_LAST_ASK.finditer(question))
    if not asks:
        return question
    before, asked = question[:asks[-1].start()], question[asks[-1].end():]
    if len(asked.split()) < 4 or re.search(r"\d", before) or names_in(before):
        return question
    return asked[0].upper() + asked[1:]


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


def resolve_followup(question: str, history: Sequence[str] = (), *,
                     known_as: Callable[[str], str | None] | None = None) -> str:
    """The query to search for `question`, given the earlier questions (oldest first).

    `known_as(name)` says how the documents refer to a person, "he" or "she" (None when
    they do not say): "Where does he work?" is then not about the last person named when
    the documents call her "she" (`rag.entities.known_as`)."""
    # Only the last few questions can be what a follow-up refers to.
    earlier = [h for h in (" ".join(str(h).split()) for h in history) if h][-MAX_HISTORY:]
    if not earlier:
        return question
    previous = resolve_followup(earlier[-1], earlier[:-1], known_as=known_as)
    # Joined to a question that was itself joined to the one before, a follow-up would
    # carry every earlier question ("What is the Commitment: When was it signed: Who
    # signed it?"); it is joined to the question the chain started from.
    anchor = previous.removesuffix(f": {earlier[-1]}") if len(earlier) > 1 else previous
    joined = f"{anchor.rstrip('?.! ')}: {question}"
    if ask := _ABOUT_THEN_ASK.match(question):
        return _ask_about(ask.group("topic"), ask.group("ask") or ask.group("asked"))
    about = _ABOUT.match(question) or _name_after_and(question)
    if about and (when := _CIRCUMSTANCE.match(about.group("topic"))):
        # "What about on Saturdays?" after "What are the opening hours of the Local Studies
        # Room?" asks that on Saturdays: the phrase is added to the question, or stands in
        # for its own kind there ("on Monday" in "When does the library open on Monday?").
        asked = previous.rstrip("?.! ")
        same = re.search(rf"\s{when.group(1)}\s+[^,;:]+$", asked, re.IGNORECASE)
        if same and len(same.group().split()) <= 4:
            asked = asked[:same.start()]
        return f"{asked} {about.group('topic')}?"
    if about and not _names_a_topic(about.group("topic")):
        # "What about its diameter?", "What about the costs?": no name to put in place of
        # another ("How many moons does its diameter have?"); searched with the previous.
        return joined
    if about:
        topic = about.group("topic")
        names = names_in(previous)
        if not names or not _is_a_name(topic):
            # "What about vehicles?" or "What about 2022?": no name to stand in for another
            # ("What share of vehicles's demand...?"), nor to add to a question naming none
            # ("construction vehicles" would be a new subject).
            return joined
        name = _name_to_replace(names, previous, topic)
        if name:
            if re.search(rf"\bthe {re.escape(name)}", previous, re.IGNORECASE):
                topic = re.sub(r"^the\s+", "", topic, flags=re.IGNORECASE)  # not "the the"
            return previous.replace(name, topic, 1)
        # No name of its kind to stand in for ("Who is Paul Poast?", then "What about
        # Japan?"): added to the end, it made "Who is Paul Poast Japan?"; searched with it.
        return joined
    words = [w.lower() for w in _WORD.findall(question)]
    if _asks_nothing(words) or (asked_part(question) and not points_back(question)):
        # "the" asks nothing, whatever came before it; "Summarize the article" asks for a
        # part of the document, not for more about the question before it.
        return question
    if _points_to_a_group(question, words) or _THAT_POINTS_BACK.search(question):
        return joined
    if not any(w in _NAMED_PRONOUNS for w in words):
        # "By whom?", "Why?": too short to stand alone unless it names its subject; "And
        # in the second quarter?" goes on from the question before it.
        if words and words[0] in _CONTINUES:
            return joined
        return joined if len(words) <= MAX_ELLIPSIS_WORDS and not names_in(question) else question
    pronoun = re.search(r"\b(?:he|she|him|her|his|hers|it|its)\b", question, re.IGNORECASE)
    person = bool(pronoun) and pronoun.group(0).lower() in _PERSON_PRONOUNS
    if pronoun and any(not person or not _not_a_person(n, question)
                       for n in names_in(question[:pronoun.start()])):
        # "Who is Tongfi Kim and what is his view?": "his" is the name just given.
        return question
    names = [n for n in names_in(previous) if n.lower() not in question.lower()]
    asked_as = _PRONOUN_FORMS.get(pronoun.group(0).lower()) if pronoun else None

    def may_be(name: str) -> bool:
        """Whether the documents may call `name` what the question does ("he", "she")."""
        return not (asked_as and known_as) or known_as(name) in (None, asked_as)

    if any(w in _PERSON_PRONOUNS for w in words):
        # "NATO" or "NATO Article" is no "she": a person's name is not written in capitals;
        # nor is "Putin and Kim", two people.
        names = [n for n in names if not _not_a_person(n, previous)
                 and not re.fullmatch(r"[A-Z]{2,}", n.split()[0]) and " and " not in n]
        if _ASKS_FOR_SOMEONE.search(previous):
            # "Who managed the Tidewater release?", "Who is the chief financial officer of
            # Northwind?": "she" is whoever that is, not a name the question gives, unless
            # the recogniser knows that name for a person's.
            names = [n for n in names if _a_person(n, previous)]
        names = [n for n in names if may_be(n)]
        if not names and not _ASKS_WHO.search(previous):
            # "Where does she work?" after a question that names no one ("What is the
            # capital of France?"): the person named in a question before it. Not after
            # "Who chaired the meeting?": "she" is then most likely whoever chaired it.
            names = next(([n for n in names_in(q) if n.lower() not in question.lower()
                           and not _not_a_person(n, q) and may_be(n)]
                          for q in reversed(earlier[:-1])
                          if any(not _not_a_person(n, q) and may_be(n) for n in names_in(q))),
                         [])
    if not any(w in _PERSON_PRONOUNS for w in words):
        # "it" is no one: not "Putin and Kim" in "When was it signed?" after "What did
        # Putin and Kim sign?" (a browser review), nor a name the recogniser gives a person.
        names = [n for n in names if " and " not in n and not _a_person(n, previous)
                 and not _a_people(n, previous)]
    thing = None
    if names and " " not in names[0] and not any(w in _PERSON_PRONOUNS for w in words):
        # "it" after "Who designed the Heron bridge?" is the Heron bridge: a one-word name
        # with the noun it qualifies (a browser review's "How much did it cost?" was
        # searched with the earlier question, and refused).
        thing = re.search(rf"\bthe {re.escape(names[0])} (?!{_NOT_A_NOUN}\b)[a-z]+\b",
                          previous)
    if not names or not (any(w in _PERSON_PRONOUNS for w in words) or " " in names[0]
                         or thing):
        # "it" stands for a thing: a name of several words may be one ("the Camp David
        # pact"), a one-word one is more likely an actor ("How did the U.S. react to the
        # pact? Who else was unnerved by it?").
        return joined
    name = thing.group(0) if thing else names[0]

    def substitute(match: re.Match) -> str:
        word = match.group(0)
        if word.lower() in _POSSESSIVES or (word.lower() == "her" and _OWNS.match(
                question, match.end())):
            return name + "’s"
        return name

    return re.sub(r"\b(?:he|she|him|her|his|hers|it|its)\b", substitute, question, count=1,
                  flags=re.IGNORECASE)


# "her" before a noun is hers ("the title of her talk"); before anything else it is her
# ("Who hired her?", "What did they give her in 2020?").
_OWNS = re.compile(r"\s+(?!(?:to|in|on|at|for|from|with|by|about|and|or|as|that|than|the|a"
                   r"|an|this|these|those|if|when|after|before|into|over|again|back|up"
                   r"|down|out|off|first|last|now|then|so|too|also)\b)[a-z][\w-]*",
                   re.IGNORECASE)


# Function words that may still ask something after a question ("Why?", "How so?", "And?",
# "More?", "Is that so?"), where "the" or "of the" asks nothing.
_STILL_ASKS = frozenset("""who whom whose what when where why which how and but or more else
    again next then also too so not no yes that""".split())


def _asks_nothing(words: list[str]) -> bool:
    """Whether the words of a question are all function words that ask nothing ("the",
    "in the of"), so that it leans on no earlier question either."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return bool(words) and all(w in ENGLISH_STOP_WORDS and w not in _STILL_ASKS
                               and w not in _NAMED_PRONOUNS | _GROUP_PRONOUNS for w in words)


# Words after "the Heron" that are no noun it qualifies ("the Heron is", "the Heron of").
_NOT_A_NOUN = (r"(?:is|are|was|were|has|have|had|do|does|did|will|would|can|could|should|may"
               r"|might|must|and|or|but|of|in|on|at|to|for|from|with|by|as|that|which|who"
               r"|whom|whose|when|where|why|how|than|then|also|not|said|says|say)")


_DOCUMENT_NOUN = re.compile(r"\b(?:this|these)\s+(?:article|story|stories|report|document"
                            r"|piece|text|page|release|paper|transcript|file|interview)\b",
                            re.IGNORECASE)


def _points_to_a_group(question: str, words: list[str]) -> bool:
    """Whether a "they", "their", "this" or "those" in `question` points back to the
    conversation: not "this article" (the document), nor a "their" after the question's
    own names ("Why won't Russia and North Korea worry about their reputation?")."""
    if not any(w in _GROUP_PRONOUNS for w in words):
        return False
    text = _DOCUMENT_NOUN.sub(" ", question)
    first = re.search(r"\b(?:they|them|their|theirs|this|these|those)\b", text, re.IGNORECASE)
    if not first:
        return False
    return not names_in(text[:first.start()])


def points_back(question: str) -> bool:
    """Whether `question` holds a pronoun or a "that" pointing back to the conversation
    ("When was it signed?", "Why is that?"), not only its brevity ("By whom?")."""
    words = [w.lower() for w in _WORD.findall(question)]
    return (any(w in _NAMED_PRONOUNS for w in words) or _points_to_a_group(question, words)
            or bool(_THAT_POINTS_BACK.search(question)))


def person_called(question: str) -> str | None:
    """"he" or "she", as the question's first personal pronoun calls someone, else None."""
    pronoun = re.search(r"\b(?:he|she|him|her|his|hers)\b", question, re.IGNORECASE)
    return _PRONOUN_FORMS[pronoun.group(0).lower()] if pronoun else None


def asks_about_a_person(question: str) -> bool:
    """Whether `question` leans on the conversation only for a person's pronoun ("When was
    she born?"), not also for a group's or a "that" ("Why did he criticise them?")."""
    words = [w.lower() for w in _WORD.findall(question)]
    return (any(w in _PERSON_PRONOUNS for w in words)
            and not any(w in _GROUP_PRONOUNS for w in words)
            and not _THAT_POINTS_BACK.search(question))


def goes_on(question: str) -> bool:
    """Whether `question` leans on the one before it only by opening with "and", "but" or
    "or" ("And where is the keeper?"), with no pronoun or "that" pointing back."""
    words = [w.lower() for w in _WORD.findall(question)]
    return (bool(words) and words[0] in _CONTINUES
            and not any(w in _GROUP_PRONOUNS | _NAMED_PRONOUNS for w in words)
            and not _THAT_POINTS_BACK.search(question))


def _is_a_name(topic: str) -> bool:
    """Whether the topic of "What about ...?" is a name that can stand in for another:
    capitalised ("Japan", "the U.S."), or one the recogniser knows once capitalised ("japan"
    typed in lower case); not a thing ("vehicles") nor a number ("2022")."""
    if names_in(topic):
        return True
    from . import entities

    labels = entities.name_labels(f"What about {topic.title()}?") or {}
    return any(label not in _AMOUNTS for label in labels.values())


def _ask_about(topic: str, ask: str) -> str:
    """The question `ask` about `topic`: its first pronoun replaced by the topic ("how did
    she say..." about "Japan's foreign minister"), or the topic put before it."""
    pronoun = re.compile(r"\b(?:he|she|him|her|his|hers|it|its|they|them|their|theirs)\b",
                         re.IGNORECASE)
    ask = ask[0].upper() + ask[1:]
    if not pronoun.search(ask):
        return f"{topic}: {ask}"

    def substitute(match: re.Match) -> str:
        word = match.group(0).lower()
        return topic + "’s" if word in ("his", "hers", "its", "their", "theirs") else topic

    return pronoun.sub(substitute, ask, count=1)


# Kinds of name that can stand for one another in "And Japan?": a person for a person; a
# country, a people or an organisation for another ("Or the European Union?").
_NAME_KINDS = ({"PERSON"}, {"GPE", "LOC", "NORP", "ORG"})


def _name_to_replace(names: list[str], previous: str, topic: str) -> str | None:
    """The name of the previous question that "And <topic>?" stands in for: the first of
    the topic's kind to the named-entity recogniser ("Seoul", not "Putin", in "What did
    Putin promise Seoul?" followed by "And Japan?"). None when the recogniser knows the
    names' kinds and none is the topic's ("And Japan?" after a question about the Camp David
    commitment); without it, the first name."""
    if not names:
        return None
    from . import entities

    topic_labels = set((entities.name_labels(topic) or {}).values())
    found = entities.name_labels(previous)
    labels = found or {}
    kind = next((k for k in _NAME_KINDS if topic_labels & k), None)
    if kind is not None and found is not None and not found:
        # "Japan" stands in for no name of "When was the Commitment to Consult issued?",
        # where the recogniser finds none: not "the Japan to Consult".
        return None
    if kind is None and labels and not topic_labels & _AMOUNTS and not re.search(
            r"\d", topic):
        # A topic of no known kind ("software and services") stands in for no date or
        # amount: not for "Q3" in "How much revenue did carts bring in during Q3 2024?".
        return next((n for n in names if not {label for text, label in labels.items()
                                              if n in text or text in n} <= _AMOUNTS), None)
    if kind is None or not labels:
        return names[0]
    for name in names:
        found = {label for text, label in labels.items() if name in text or text in name}
        if found & kind:
            return name
    return None


_SPEAKS = (r"(?:say|says|said|tell|tells|told|think|thinks|thought|argue|argues|argued|warn"
           r"|warns|warned|claim|claims|claimed|believe|believes|believed|write|writes|wrote"
           r"|add|adds|added|mean|meant|explain|explains|explained)")
_AMOUNTS = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})
_NEVER_A_PERSON = _AMOUNTS | {"GPE", "LOC", "NORP", "LAW", "LANGUAGE"}
"""A place, a people, a date ("March" in "Who resigned in March 2024?"), an amount, a law:
labels the recogniser gives no person. (It takes many people for organisations or products:
"Ines Varga" is a PRODUCT to it.)"""


_ASKS_FOR_SOMEONE = re.compile(
    r"^\W*who(?:m)?\s+(?:(?!is\b|was\b|are\b|were\b)\w+|(?:is|was|are|were)\s+(?:the|a|an"
    r"|its|their|his|her|this|that|\w+ing|responsible|accountable|in charge)\b)", re.IGNORECASE)
"""A question asking who someone is by what they did, do or are ("Who chaired the
meeting?", "Who is selling 14 Orchard Lane?", "Who is the chief executive of X?"), not by
name ("Who is Paul Poast?")."""


_WHICH_ONE = re.compile(r"^\W*which\s+(?P<role>(?:[\w’'-]+\s+){0,2}?[\w’'-]+)\s+(?:is|was"
                        r"|are|were|\w+ed|\w+s)\b", re.IGNORECASE)
""""Which vet admitted Juniper?", "Which inspector led the team?": a person by role."""


def asks_for_someone(question: str) -> bool:
    """Whether `question` asks who someone is by what they did or are ("Who is giving the
    opening keynote?", "Which vet admitted Juniper?"), so that a "she" after it stands for
    the answer."""
    from . import entities

    which = _WHICH_ONE.search(question)
    return bool(_ASKS_FOR_SOMEONE.search(question)) or bool(
        which and entities.names_a_role(which["role"]))


def _a_person(name: str, question: str) -> bool:
    """Whether the recogniser takes `name` in `question` for a person's."""
    from . import entities

    labels = entities.name_labels(question) or {}
    return any(label == "PERSON" and (name in text or text in name)
               for text, label in labels.items())


def _a_people(name: str, question: str) -> bool:
    """Whether the recogniser takes `name` in `question` for a people or nationality
    ("South Korean" in "Who is the South Korean national security adviser?"): no "it"."""
    from . import entities

    labels = entities.name_labels(question) or {}
    return any(label == "NORP" and (name in text or text in name)
               for text, label in labels.items())


def _not_a_person(name: str, question: str) -> bool:
    """Whether `name` in `question` is no person: a place or a people to the named-entity
    recogniser (rag.entities), or, after "the", anything but a person. "He" is not "Japan"
    in "What did the Japan commitment say?", nor "the Skerry Point Lighthouse" in "Who was
    its first keeper?", but is "the Russian President Vladimir Putin". (The small
    recogniser takes many people's names for organisations, so "the" is asked for.)"""
    from . import entities

    if re.search(rf"\b{re.escape(name)}\s+{_SPEAKS}\b", question, re.IGNORECASE):
        return False  # "What did Kamikawa say?": a speaker, whatever the recogniser thinks
    labels = entities.name_labels(question) or {}
    found = {label for text, label in labels.items() if name in text or text in name}
    if found and found <= {"GPE", "LOC", "NORP"}:
        return True
    # A date or an amount is no person when it takes in the whole name ("March" of "March
    # 2024"), not when it is part of one ("June" of "June Carter").
    covering = {label for text, label in labels.items() if name in text}
    if covering and covering <= _NEVER_A_PERSON:
        return True
    # After "the", a name the recogniser does not know as a person is a thing.
    return bool(found) and "PERSON" not in found and bool(
        re.search(rf"\bthe\s+{re.escape(name)}\b", question, re.IGNORECASE))


def followup_names(question: str) -> list[str]:
    """The names a "What about Japan?" or "And Japan?" follow-up asks about ("japan" too;
    none for "What about the costs?")."""
    about = (_ABOUT_THEN_ASK.match(question) or _ABOUT.match(question)
             or _name_after_and(question))
    if not about or not _names_a_topic(about.group("topic")):
        return []
    return names_in(about.group("topic")) or [about.group("topic")]


def followup_topic(question: str) -> str:
    """What a "What about ...?" or "And ...?" follow-up asks about ("the lighthouse
    keeper", "Japan"), or "" for any other question."""
    about = (_ABOUT_THEN_ASK.match(question) or _ABOUT.match(question)
             or _name_after_and(question))
    return about.group("topic") if about else ""


_DEFINITE_THING = re.compile(r"\bthe\s+(?P<word>[a-z][a-z-]+)(?:\s+(?P<more>[a-z][a-z-]+))?")


def topic_swaps(previous: str, topic: str) -> list[str]:
    """The previous question with one of its things swapped for the topic of "What about
    the flowers?", shortest swap first: "Who is judging the flowers at the show?" for "Who
    is judging the vegetables at the show?". A thing is "the" and a word or two that are
    not function words; [] when the topic is not such a thing."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    topic = " ".join(topic.split())
    if not _DEFINITE_THING.fullmatch(topic) or names_in(topic):
        return []
    swaps = []
    for match in _DEFINITE_THING.finditer(previous):
        if match["word"] in ENGLISH_STOP_WORDS:
            continue
        ends = [match.end("word")]
        if match["more"] and match["more"] not in ENGLISH_STOP_WORDS:
            ends.append(match.end("more"))
        for end in ends:
            if previous[match.start():end].lower() != topic.lower():
                swaps.append(previous[:match.start()] + topic + previous[end:])
    return swaps


# "What about its diameter?", "the costs", "their reaction": a thing, not a name.
_DETERMINER = re.compile(r"^(?:its|his|her|their|the|a|an|this|that|these|those|my|our|your)"
                         r"\b", re.IGNORECASE)


# A topic that opens on a preposition is a circumstance of the question before ("on
# Saturdays", "in 2022", "after the summit"), not a name to put in place of another.
_CIRCUMSTANCE = re.compile(r"^(on|in|at|during|for|from|before|after|since|until|by|over"
                           r"|between|within|outside|inside)\s+\S", re.IGNORECASE)


def _names_a_topic(topic: str) -> bool:
    """Whether the topic of "What about ...?" is a name ("Japan", "japan", "the U.S."), not
    a thing ("its diameter", "the costs")."""
    return bool(names_in(topic)) or not _DETERMINER.match(topic.strip())


def _name_after_and(question: str) -> re.Match | None:
    """The match of "And Japan?" (a short name after "and"), not of "And why?" or "And
    what did he say?"."""
    match = _AND_TOPIC.match(question)
    if not match:
        return None
    words = _WORD.findall(match.group("topic"))
    if (not words or len(words) > MAX_ELLIPSIS_WORDS or words[0].lower() in _WH - {"the"}
            or not names_in(match.group("topic"))):
        return None
    return match


def acronyms_in(text: str) -> dict[str, str]:
    """Acronyms a text may spell out, mapped to the long form first seen: the initials
    of a run of two to eight capitalised words on one line ("North Atlantic Treaty
    Organization": NATO), with or without its connectors ("Republic of Korea": RK, ROK).
    A run's beginning counts too when it has three capitalised words or more ("North
    Atlantic Treaty Organization for Seoul"); other parts of a run would make noise
    ("Acquisition Program" inside "Defense Acquisition Program Administration" is no AP).
    """
    found: dict[str, str] = {}
    for words in _names_of_runs(_LONG_FORM.finditer(text)):
        capitals = [i for i, w in enumerate(words) if w[0].isupper()]
        ends = [capitals[-1]] + [i for n, i in enumerate(capitals[:-1]) if n >= 2]
        for last in ends:
            run = words[:last + 1]
            if 2 <= sum(w[0].isupper() for w in run) <= 8:
                for initials in ("".join(w[0] for w in run if w[0].isupper()),
                                 "".join(w[0] for w in run).upper()):
                    found.setdefault(initials, " ".join(run))
    return found


def _names_of_runs(runs) -> list[list[str]]:
    """The words of each run without a leading article, and of its parts split after a
    possessive: "South Korea’s Defense Acquisition Program Administration" is also "South
    Korea" and "Defense ... Administration" (the whole run stays a name too, for "The
    Democratic People's Republic of Korea")."""
    names = []
    for run in runs:
        words = run.group(0).split(" ")
        if words[0] in ("The", "A", "An"):
            words = words[1:]
        names.append(words)
        part: list[str] = []
        for word in words:
            possessor = re.sub(r"[’']s$", "", word)
            part.append(possessor)
            if possessor != word:
                names.append(part)
                part = []
        if part and len(part) < len(words):
            names.append(part)
    return [n for n in names if n]


def expand_acronyms(query: str, context: str) -> str:
    """The query with each acronym that `context` (the passages nearest the query) spells
    out, and names by its long form at least as often as by the acronym, followed by that
    long form: "What has NATO asked?" -> "What has NATO (North Atlantic Treaty
    Organization) asked?". Where the passages mostly use the acronym itself, BM25 finds it
    as it is: on SQuAD (articles 24-48), expanding "ABC" and "UMC" too, which its
    paragraphs use throughout, cost 27 of 537 first quotes."""
    spelled_out = acronyms_in(context)

    def expand(match: re.Match) -> str:
        acronym = match.group("acronym")
        long_form = spelled_out.get(acronym)
        if long_form is None or long_form.lower() in query.lower() \
                or context.count(long_form) < len(re.findall(rf"\b{acronym}\b", context)):
            return match.group(0)
        return f"{match.group(0)} ({long_form})"

    return _ACRONYM.sub(expand, query)


def acronyms_asked(query: str) -> list[str]:
    """The acronyms in a query (three to eight capital letters)."""
    return [m.group("acronym") for m in _ACRONYM.finditer(query)]
