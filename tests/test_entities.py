"""The named-thing answer-type check: what a question asks for, which sentences name one."""

import pytest

from rag import entities
from rag.entities import ANY_NAME, ORGANISATION, PERSON, PLACE, asked_names, asked_role

from .helpers import rank_sentences


@pytest.mark.parametrize("question, labels", [
    ("What is the name of the Russian ambassador that South Korea summoned?", PERSON),
    ("What are the names of the officials who signed it?", PERSON),
    ("Who is Russia's ambassador in Seoul?", PERSON),
    ("Who was the first president of the club?", PERSON),
    ("What is the name of Putin's airplane?", ANY_NAME),
    ("What is the formal name of the alliance treaty?", ANY_NAME),
    ("Which company makes the artillery shells?", ORGANISATION),
    ("Which South Korean agency reviews export permits?", ORGANISATION),
    ("Who commissioned the survey?", ORGANISATION),
    # A role a company holds as often as a person (a browser review's "Bolt & Barrel
    # Security Ltd." was refused as no person).
    ("Who is the alarm vendor?", ORGANISATION),
    ("Who is the landlord of the flat?", ORGANISATION),
    ("Who manufactures the shells?", ORGANISATION | PERSON),
    ("Which country was the first to invoke Article 5?", PLACE),
    ("In which Vietnamese city did Putin stop?", PLACE),
    ("What state is Chicago in?", PLACE),
    # Asks for no name:
    ("Who is Paul Poast?", None),                     # a description of a named person
    # "Who" and a verb: checking for a name refused too many of SQuAD's (see README).
    ("Who led the seagrass study?", None),
    ("Which South Korean official called the treaty troubling?", None),  # a role will do
    ("Which University of Chicago professor commented?", None),  # asks for a professor
    ("What freedom do the countries keep under the commitment?", None),  # asks for a freedom
    ("What do the three countries intend to do?", None),
    ("Where does Tongfi Kim work?", None),
    ("How many countries signed?", None),
    ("Why did the company sell its shares?", None),
    # The noun that ends the phrase is what is asked for:
    ("Which university professor commented on the pact?", None),  # a professor
    ("Which city mayor cut the ribbon?", None),
    ("Which country music singer performed?", None),
    ("Which state of emergency was declared?", None),
    ("What company policy was changed?", None),
    ("Which city council voted?", ORGANISATION),
    ("What is the name of the professor's university?", ANY_NAME),
    ("What is the name of the Russian ambassador in Seoul?", PERSON),
    ("What is the ambassador's name?", PERSON),
    ('Who is "Russia\'s ambassador"?', PERSON),
    ("What is the name of the lead engineer?", PERSON),
    # "name" that does not ask for one:
    ("Why was the name of the treaty changed?", None),
    ("In the name of security, what did Seoul do?", None),
    ("Who were the soldiers fighting?", None),
    # A follow-up joined to the question before it keeps that question's kind:
    ("Which company makes the artillery shells: What is the name of it?", ORGANISATION),
])
def test_asked_names(question, labels):
    assert asked_names(question) == labels


@pytest.mark.parametrize("question, role", [
    ("What is the name of South Korea's national security adviser?", "adviser"),
    ("Who is Russia's ambassador in Seoul?", "ambassador"),
    ("What is the Spokesman's name?", "spokesman"),
    ("What is the name of the presidential official who briefed reporters?", "official"),
    ("Who was the first president of the club?", "president"),
    ("Who is the man who shot Liberty Valance?", None),  # fits anyone
    ("What is the name of Putin's airplane?", None),   # asks for no person
    ("Which company makes the artillery shells?", None),
    ("Who is Paul Poast?", None),
    # A compound of a role ("head" + "teacher"), as an outside review's school report has.
    ("Who is the deputy headteacher?", "headteacher"),
    ("Who is the homeowner?", "homeowner"),
    ("Who was the German chancellor?", "chancellor"),
    ("Who is the scholarship for?", None),
    # Four words before the role, or a possessive of two (a browser review's question,
    # answered by a sentence that names no adviser).
    ("Who is the South Korean national security adviser?", "adviser"),
    ("Who is South Korea's national security adviser?", "adviser"),
    ("Who is Kim Jong Un?", None),
    ("Who was the ruling class ahead of the Normans?", None),  # "a" + "head" is no role
])
def test_asked_role(question, role):
    assert asked_role(question) == role


@pytest.mark.parametrize("role, sentence, names", [
    ("adviser", "Security Advisor Chang Ho-jin spoke.", True),
    ("spokesman", "The spokeswoman, Mao Ning, spoke.", True),
    ("chairman", "The chair, Lee Jae-myung, spoke.", True),
    ("ambassador", "The envoy, Georgy Zinoviev, spoke.", False),
])
def test_a_role_is_named_in_any_of_its_forms(role, sentence, names):
    from rag.answer import answer_terms, mentions_role

    assert mentions_role(role, answer_terms([sentence])[0]) == names


def test_past_the_closest_sentence_a_name_counts_only_beside_the_role_asked_about():
    from rag import answer as answering

    text = ("South Korea's national security adviser called the treaty troubling. "
            "\"It is broad,\" said Lee Sang-hyun, a former envoy to the talks. "
            "Adviser Chang Ho-jin spoke on Friday.")
    spans = ((0, 68), (69, 131), (132, len(text)))

    def answer_type(question: str, sims: list[float]) -> float:
        ranked = rank_sentences(text, spans, sims, question)
        terms = answering.answer_terms([text[a:b] for a, b in spans])
        return answering.answer_features(ranked, [ranked[0].hit], [terms], set(),
                                         query=question)["answer_type"]

    question = "What is the name of South Korea's national security adviser?"
    # The closest names nobody; the next names Lee, but not as the adviser.
    assert answer_type(question, [0.9, 0.8, 0.1]) == 0.0
    # The next names Chang as an adviser.
    assert answer_type(question, [0.9, 0.1, 0.8]) == 1.0
    # A question about no role takes any new name in the two closest.
    assert answer_type("Who is the man who called the treaty broad?", [0.9, 0.8, 0.1]) == 1.0


def test_names_new_wants_a_name_of_the_asked_kind_that_the_question_lacks():
    assert entities.names_new("Which company makes the shells?", [
        "South Korea has provided artillery shells for Ukraine.",
        "The shells are made by Hanwha Aerospace, a defence firm.",
        "The insulin pen is made by Novo Nordisk, a Danish drug maker.",  # PERSON to spaCy
    ], ORGANISATION) == [False, True, True]
    # Russia's is the question's "Russian": not a new name, and a place is not a person.
    assert entities.names_new("Who is the Russian ambassador?", [
        "South Korea summoned Russia's ambassador in Seoul on Friday.",
        "Russia's ambassador, Georgy Zinoviev, was summoned on Friday.",
    ], PERSON) == [False, True]
    # Not for family, who share a surname (SQuAD: "Đuka Tesla" is Tesla's mother).
    assert entities.names_new("What was Tesla's mother's name?", [
        "Tesla's mother, Đuka Tesla (née Mandić), had a talent for making home craft tools.",
    ], PERSON) == [True]
    # A row's field named as the kind asked for names one, whatever the recogniser makes
    # of "Drama" (review 9: the £3 row was quoted first for "£4 a session").
    assert entities.names_new("Which club costs £4 a session?", [
        "Club: Drama; Day: Thursday; Cost: £4 a session.",
        "The club meets in the hall after school.",
    ], ORGANISATION) == [True, False]
    # A person the question names by surname is named already (review 9).
    assert entities.names_new("Who will take over Mr Fenwick's class?", [
        "We say goodbye this term to Mr Daniel Fenwick, who leads Year 5.",
        "His class will be taught after Easter by Miss Hannah Osei.",
    ], PERSON) == [False, True]
    assert entities.names_new("Which city did Putin visit after Pyongyang?", [
        "Putin visited Pyongyang first.", "Putin then flew to Hanoi."], PLACE) == [False, True]


def test_without_the_recogniser_nothing_is_checked(monkeypatch, caplog):
    monkeypatch.setattr(entities, "NER_MODEL", "no_such_spacy_model")
    monkeypatch.setattr(entities, "_loaded", entities._NOT_LOADED)
    assert entities.names_new("Which company?", ["Acme Corp makes it."], ORGANISATION) is None
    assert "did not load" in caplog.text


def test_the_recogniser_loads_once_however_many_threads_ask(monkeypatch):
    import threading
    import time

    import spacy

    loads = []

    def slow_load(name, **options):
        loads.append(name)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(spacy, "load", slow_load)
    monkeypatch.setattr(entities, "_loaded", entities._NOT_LOADED)
    got = []
    threads = [threading.Thread(target=lambda: got.append(entities._recogniser()))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [entities.NER_MODEL]
    assert len(got) == 4 and len({id(g) for g in got}) == 1


def test_a_sentence_naming_what_is_asked_for_ranks_first_and_the_closest_is_kept():
    from rag import answer as answering

    text = ("South Korea has provided artillery shells for Ukraine through the U.S. "
            "The shells are made by Hanwha Aerospace.")

    def ranked(question: str) -> list[answering.ScoredSentence]:
        return rank_sentences(text, ((0, 70), (71, len(text))), [0.9, 0.75], question)

    # ("supplies", not "makes": "made" is "make" to the matching, and would be closer.)
    which = ranked("Which company supplies the shells?")
    assert [s.start for s in which] == [71, 0]
    assert [s.typed for s in which] == [True, False]
    assert which[1].penalty == answering.ANSWER_TYPE_PENALTY
    # The abstention features read the closest sentence before the check, and that it
    # lacks the name asked for.
    closest = max(which, key=lambda s: s.relevance)
    assert closest.start == 0 and not closest.typed
    # Asked for no name, the closer sentence stays first.
    assert [s.start for s in ranked("What happens to the shells?")] == [0, 71]


@pytest.mark.parametrize("name, expected", [
    ("Yoko Kamikawa", "she"),  # "... extremely close, she said" after her name
    ("Kamikawa", "she"),
    ("Hugo Lindqvist", "he"),  # "Mr Hugo Lindqvist"
    ("Grace Adebayo", "she"),  # "Mrs Grace Adebayo"
    ("Tongfi Kim", "he"),  # "Kim Jong Un ... she" is not his mention
    ("Declan Rourke", None),  # "She married Declan Rourke. She..." is Orla's
    ("Paul Poast", None),  # never "he" nor "she"
    ("Nobody Here", None),
])
def test_known_as_reads_how_the_documents_call_a_person(name, expected):
    texts = [
        "Japan’s Foreign Minister Yoko Kamikawa said aid may violate sanctions. North "
        "Korea’s language suggested close ties, she said. Kamikawa added that she was "
        "concerned.",
        "Surgeon: Mr Hugo Lindqvist. Owners: Mr Tunde and Mrs Grace Adebayo.",
        "Tongfi Kim, a professor, said he doubted it. Kim Jong Un met her later; she left.",
        "Orla Fennimore was a poet. She married the painter Declan Rourke in 1969. She "
        "wrote four books.",
        "said Paul Poast, a professor. “It is up to interpretation,” said Poast.",
    ]
    assert entities.known_as(name, texts) == expected


def test_known_as_needs_one_side_to_outnumber_the_other_twice():
    texts = ["Sam Lee spoke first. He was brief.", "Sam Lee spoke again. She was not."]
    assert entities.known_as("Sam Lee", texts) is None  # one each
    assert entities.known_as("Sam Lee", texts + texts[1:] + texts[:1]) is None  # two each
    assert entities.known_as("Sam Lee", texts[:1] * 2 + texts[1:]) == "he"  # two to one
