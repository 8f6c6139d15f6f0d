from __future__ import annotations

import pytest

from rag.errors import QueryError
from rag.query import (
    acronyms_asked,
    acronyms_in,
    clean_query,
    compatible,
    expand_acronyms,
    followup_names,
    names_in,
    resolve_followup,
    without_pleasantries,
)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x01", "?!"])
def test_empty_questions_are_refused(text):
    with pytest.raises(QueryError):
        clean_query(text, max_chars=100)


def test_long_question_names_the_limit():
    with pytest.raises(QueryError, match="100,000 characters long; the limit is 2,000"):
        clean_query("a" * 100_000, max_chars=2000)


def test_control_characters_and_mixed_scripts():
    assert clean_query("Who\x00 is\u200b Пол\tPoast 北京?", max_chars=100) == "Who is Пол Poast 北京?"


def test_names_in_question():
    assert names_in("What did Kamikawa say about North Korea's use of the word?") == [
        "Kamikawa", "North Korea"]
    assert names_in("Who is Lee Yong-joon?") == ["Lee Yong-joon"]
    assert names_in("what is the boiling point of water?") == []


@pytest.mark.parametrize("question, history, expected", [
    ("What does he research?", ["Who is Paul Poast?"], "What does Paul Poast research?"),
    ("What is his job?", ["Who is Paul Poast?"], "What is Paul Poast’s job?"),
    ("What about Japan?", ["How did South Korea react to the treaty?"],
     "How did Japan react to the treaty?"),
    # A bare name after "and" asks the same; a question word after it does not.
    ("And Japan?", ["How did South Korea react to the treaty?"],
     "How did Japan react to the treaty?"),
    ("Or the European Union?", ["How did South Korea react to the treaty?"],
     "How did the European Union react to the treaty?"),
    # A join is made to the question the chain started from, not to every earlier one.
    ("Who signed it?", ["What is the Commitment to Consult?", "When was it signed?"],
     "What is the Commitment to Consult: Who signed it?"),
    # "this article" is the document; "their" after the question's own names is theirs.
    ("Who contributed to this article?", ["What did China say?"],
     "Who contributed to this article?"),
    ("Why won't Russia and North Korea worry about their reputation?",
     ["What did the envoy say?"], "Why won't Russia and North Korea worry about their reputation?"),
    ("What did they say?", ["How did Japan react?"], "How did Japan react: What did they say?"),
    ("What about the Broncos?", ["How many points did the Panthers score?"],
     "How many points did the Broncos score?"),
    # A thing stands in for no date or amount ("Q3"); a quarter does.
    ("What about software and services?", ["What did carts bring in during Q3 2024?"],
     "What did carts bring in during Q3 2024: What about software and services?"),
    ("What about Q4?", ["What did carts bring in during Q3 2024?"],
     "What did carts bring in during Q4 2024?"),
    ("And why?", ["How did South Korea react to the treaty?"],
     "How did South Korea react to the treaty: And why?"),
    ("And then?", ["How did South Korea react to the treaty?"],
     "How did South Korea react to the treaty: And then?"),
    ("Where does he teach?", ["Who is Tongfi Kim?", "What does he study?"],
     "Where does Tongfi Kim teach?"),
    ("Which law governs exports?", ["Who is Paul Poast?"], "Which law governs exports?"),
    ("What does he research?", [], "What does he research?"),
    ("What did they say?", ["what happened next?"], "what happened next: What did they say?"),
    ("What was it aimed at?", ["What did the Camp David pact reaffirm?"],
     "What was Camp David aimed at?"),
    ("Who else was unnerved by it?", ["How did the U.S. react to the pact?"],
     "How did the U.S. react to the pact: Who else was unnerved by it?"),
    ("Why was it renounced?", ["What happened to the 1961 pledge?"],
     "What happened to the 1961 pledge: Why was it renounced?"),
    # A group's pronoun or a demonstrative: the previous question is searched with this one.
    ("How quickly must they do it?", ["What do the three leaders commit to?"],
     "What do the three leaders commit to: How quickly must they do it?"),
    ("Under what condition would that change?", ["What did Putin promise Seoul?"],
     "What did Putin promise Seoul: Under what condition would that change?"),
    ("What did they say?", ["How did Washington, Seoul and Tokyo react?"],
     "How did Washington, Seoul and Tokyo react: What did they say?"),
    # Too short to stand alone, and no name of its own.
    ("By whom?", ["Where have the weapons been used?"],
     "Where have the weapons been used: By whom?"),
    ("And Japan?", ["How did Seoul react?"], "How did Japan react?"),  # see "And Japan?"
    # "What about" a thing with no name: nothing to put in place of the previous name.
    ("What about its diameter?", ["How many moons does Saturn have?"],
     "How many moons does Saturn have: What about its diameter?"),
    ("What about the costs?", ["How did Seoul react?"], "How did Seoul react: What about the costs?"),
    ("what about japan?", ["How did Seoul react?"], "How did japan react?"),  # typed lower case
    # "What about X" and then a question of its own: asked about X, not put into the last one.
    ("What about Japan’s foreign minister — how did she say her government feels?",
     ["How did South Korea’s national security adviser describe the treaty?"],
     "How did Japan’s foreign minister say her government feels?"),
    ("What about Japan: when did they react?", ["How did Seoul react?"], "When did Japan react?"),
    ("How about Tongfi Kim - what does he study?", ["Who is Paul Poast?"],
     "What does Tongfi Kim study?"),
    ("And what about Japan, what is its view?", ["How did Seoul react?"],
     "What is Japan’s view?"),
    ("What about the costs, who pays?", ["How did Seoul react?"], "How did Seoul react: What "
     "about the costs, who pays?"),
    # After a comma, a clause about the topic is no question of its own.
    ("What about Japan, which signed the treaty?", ["Who is the prime minister of Korea?"],
     "Who is the prime minister of Japan, which signed the treaty?"),
    ("What about Japan, did it sign?", ["Who signed?"], "Did Japan sign?"),
    # "that" joining two clauses is no pronoun.
    ("What did Putin say that Seoul would do?", ["Who is Lee?"],
     "What did Putin say that Seoul would do?"),
    # "And X?" stands in for a name of X's kind; with none, it is searched with the question
    # (added to its end, it made "Who is Paul Poast Japan?", a browser review found).
    ("And Japan?", ["What did Putin promise Seoul?"], "What did Putin promise Japan?"),
    ("And Japan?", ["What did the Camp David commitment say about consulting?"],
     "What did the Camp David commitment say about consulting: And Japan?"),
    ("What about Japan?", ["Who is Paul Poast?"], "Who is Paul Poast: What about Japan?"),
    ("And Tongfi Kim?", ["What does Paul Poast research?"], "What does Tongfi Kim research?"),
    # A place stands in for no part of a title the recogniser finds no name in.
    ("What about Japan?", ["When was the Commitment to Consult issued?"],
     "When was the Commitment to Consult issued: What about Japan?"),
    # After "Who managed...?" or "Who is the chief executive of...?", "she" is whoever that
    # is, not a name the question gives (an outside set's "Whom did Tidewater take over
    # from?"); after "Who is Paul Poast?", it is he.
    ("Whom did she take over from?", ["Who managed the Tidewater 4.2.0 release?"],
     "Who managed the Tidewater 4.2.0 release: Whom did she take over from?"),
    ("What revenue does he expect?", ["Who is the chief financial officer of Northwind?"],
     "Who is the chief financial officer of Northwind: What revenue does he expect?"),
    ("What does he research?", ["Who is Paul Poast?"], "What does Paul Poast research?"),
    # "he" or "she" is a person, not a country or a people, to the recogniser.
    ("What did he say?", ["Why did Japan protest?"], "Why did Japan protest: What did he say?"),
    ("Where did he travel next?", ["What did Putin do in Pyongyang?"],
     "Where did Putin travel next?"),
    ("What did she add?", ["What did the Japanese minister Yoko Kamikawa say?"],
     "What did Yoko Kamikawa add?"),
    # ... nor a building or an organisation.
    ("How long did he serve?", ["Who was the first keeper of the Skerry Point Lighthouse?"],
     "Who was the first keeper of the Skerry Point Lighthouse: How long did he serve?"),
    # ... but a person after "the" is still one.
    ("When did he sign it?", ["What did the Russian President Vladimir Putin sign?"],
     "When did Russian President Vladimir Putin sign it?"),
    # A month, a date or a law is no person either.
    ("Why did he resign?", ["Who resigned in March 2024?"],
     "Who resigned in March 2024: Why did he resign?"),
    # With no one named in the question before, the one named in a question before that.
    ("Where does he teach?", ["Who is Tongfi Kim?", "What is the capital of France?"],
     "Where does Tongfi Kim teach?"),
    # "What about" a thing after a question with no name: searched with it, not spliced in.
    ("What about vehicles?", ["What share of demand comes from construction?"],
     "What share of demand comes from construction: What about vehicles?"),
    # ... nor after "Who chaired the meeting?": "she" is then whoever chaired it.
    ("What did she chair?", ["Who is Paul Poast?", "Who chaired the harbour meeting?"],
     "Who chaired the harbour meeting: What did she chair?"),
    # Who speaks is a person, though the recogniser takes "Kamikawa" for a place.
    ("Who is she?", ["What did Kamikawa say?"], "Who is Kamikawa?"),
    # A date that is part of a name is no reason to refuse it: "June" of "June Carter".
    ("Where was she born?", ["Who is June Carter?"], "Where was June Carter born?"),
    # "What about" a thing or a year: no name to put in place of one.
    ("What about vehicles?", ["What share of Acme's demand comes from construction?"],
     "What share of Acme's demand comes from construction: What about vehicles?"),
    ("What about 2022?", ["What was the revenue in 2023?"],
     "What was the revenue in 2023: What about 2022?"),
    # A question opening with "and" goes on from the one before it.
    ("And in the second quarter?", ["What was the copper price in the third quarter?"],
     "What was the copper price in the third quarter: And in the second quarter?"),
    # A browser review: "his" is the person the question itself names before it...
    ("Who is Tongfi Kim and what is his view on reputation?", ["Who is Paul Poast?"],
     "Who is Tongfi Kim and what is his view on reputation?"),
    # ... but a place named before it is no "he".
    ("In Seoul, what did he say?", ["Who is Paul Poast?"], "In Seoul, what did Paul Poast say?"),
    # An acronym is no "she" ("What did NATO Article say about sanctions?").
    ("What did she say about sanctions?", ["What does NATO Article 5 stipulate?"],
     "What does NATO Article 5 stipulate: What did she say about sanctions?"),
    # Another language's question word, or an English request, is no name ("What is
    # Qui's view?").
    ("What is his view?", ["Qui est Paul Poast ?"], "What is Paul Poast’s view?"),
    ("What does he research?", ["Tell me about Paul Poast"], "What does Paul Poast research?"),
    ("Where does she work?", ["List the findings of Dr Ines Varga"],
     "Where does Dr Ines Varga work?"),
    # "it" after a one-word name with the noun it qualifies is both (a browser review's
    # "How much did it cost?" was searched with the earlier question, and refused).
    ("How much did it cost?", ["Who designed the Heron bridge?"],
     "How much did the Heron bridge cost?"),
    # Nor a nationality ("When was South Korean signed?" in the session's last check).
    ("When was it signed?", ["Who is the South Korean national security adviser?"],
     "Who is the South Korean national security adviser: When was it signed?"),
    ("When did it open?", ["Is the Heron bridge open?"], "When did the Heron bridge open?"),
    ("When did it open?", ["Why is the Heron in the news?"],
     "Why is the Heron in the news: When did it open?"),
    # Two people are no "she" (a browser review's "what did she say next?" was searched
    # as "what did Putin and Kim say next?").
    # "he" is whoever sells the house, not the street it stands in (an outside review's
    # "How long has Orchard Lane owned it?").
    ("How long has he owned it?", ["Who is selling 14 Orchard Lane?"],
     "Who is selling 14 Orchard Lane: How long has he owned it?"),
    # "her" before a noun is hers.
    ("What is the title of her talk?", ["Who is Ingrid Solberg?"],
     "What is the title of Ingrid Solberg’s talk?"),
    ("Who hired her in 2020?", ["Who is Ingrid Solberg?"], "Who hired Ingrid Solberg in 2020?"),
    ("What did the council give her?", ["Who is Ingrid Solberg?"],
     "What did the council give Ingrid Solberg?"),
    ("What did she say next?", ["What did Putin and Kim sign?"],
     "What did Putin and Kim sign: What did she say next?"),
    # Nor is "it" two people, or one (a browser review: "When was Putin and Kim signed?").
    ("When was it signed?", ["What did Putin and Kim sign?"],
     "What did Putin and Kim sign: When was it signed?"),
    ("Where was it signed?", ["What did Vladimir Putin sign?"],
     "What did Vladimir Putin sign: Where was it signed?"),
    ("How much did it cost?", ["Who designed the Heron bridge?"],
     "How much did the Heron bridge cost?"),
    # Nor a nationality ("When was South Korean signed?" in the session's last check).
    ("When was it signed?", ["Who is the South Korean national security adviser?"],
     "Who is the South Korean national security adviser: When was it signed?"),
    # A request for a summary, or a question that asks nothing, stands alone: "Summarize
    # the article" was shown as searched for "Who is Paul Poast: Summarize the article".
    ("Summarize the article", ["Who is Paul Poast?"], "Summarize the article"),
    ("What is the headline?", ["Who is Paul Poast?"], "What is the headline?"),
    ("the", ["Is the Camp David pact like NATO's Article 5?"], "the"),
    ("of the", ["Who is Paul Poast?"], "of the"),
    ("Why?", ["Who is Paul Poast?"], "Who is Paul Poast: Why?"),
    ("And?", ["Who is Paul Poast?"], "Who is Paul Poast: And?"),
    # A circumstance is added to the question before, or stands in for its own kind there
    # (a review searched "What are the opening hours of the on Saturdays?").
    ("What about on Saturdays?", ["What are the opening hours of the Local Studies Room?"],
     "What are the opening hours of the Local Studies Room on Saturdays?"),
    ("What about on Saturday?", ["When does the library open on Monday?"],
     "When does the library open on Saturday?"),
    ("What about in the second quarter?", ["What was revenue in the first quarter?"],
     "What was revenue in the second quarter?"),
])
def test_followups(question, history, expected):
    assert resolve_followup(question, history) == expected


def test_acronyms_are_read_from_long_forms():
    text = ("despite calls from the North Atlantic Treaty Organization for Seoul to act.\n"
            "South Korea’s Defense Acquisition Program Administration reviews exports.\n"
            "The Democratic People's Republic of Korea and the Republic of Korea met.\n"
            "The United\nNations did not.")
    found = acronyms_in(text)
    assert found["NATO"] == "North Atlantic Treaty Organization"
    assert found["DAPA"] == "Defense Acquisition Program Administration"
    assert found["SK"] == "South Korea"
    assert found["DPRK"] == "Democratic People's Republic of Korea"
    assert found["ROK"] == found["RK"] == "Republic of Korea"
    assert "AP" not in found  # "Acquisition Program" is the middle of a name, not a name
    assert "UN" not in found  # a name does not run across lines


def test_acronyms_are_expanded_once_and_only_where_the_passages_spell_them_out():
    context = ("despite calls from the North Atlantic Treaty Organization for Seoul. NATO's "
               "Article 5.\nThe Democratic People's Republic of Korea said.\nThe UMC voted. "
               "The United Methodist Church grew. The UMC split.")
    assert expand_acronyms("What has NATO asked Seoul to do?", context) == \
        "What has NATO (North Atlantic Treaty Organization) asked Seoul to do?"
    assert expand_acronyms("Did NATO, the North Atlantic Treaty Organization, act?",
                           context) == "Did NATO, the North Atlantic Treaty Organization, act?"
    assert expand_acronyms("What did the DPRK’s leader say?", context) == \
        "What did the DPRK’s (Democratic People's Republic of Korea) leader say?"
    # The passages say "UMC" more often than "United Methodist Church": searched as asked.
    assert expand_acronyms("When was the UMC formed?", context) == "When was the UMC formed?"
    assert expand_acronyms("What does the WHO do?", context) == "What does the WHO do?"
    assert acronyms_asked("Is NATO in Asia? Is it a US ally? NATO's aim?") == ["NATO", "NATO"]


@pytest.mark.parametrize("question, expected", [
    ("What about Japan?", ["Japan"]),
    ("What about Japan’s foreign minister — how did she say her government feels?", ["Japan"]),
    ("What about its diameter?", []),
    ("Why was it renounced?", []),
])
def test_followup_names(question, expected):
    assert followup_names(question) == expected


@pytest.mark.parametrize(("typed", "searched"), [
    ("What did Kamikawa say? 😀", "What did Kamikawa say?"),
    ("<img src=x onerror=alert(1)> What did Kamikawa say?", "What did Kamikawa say?"),
    ("Who is ☀️ Poast 👍🏽?", "Who is Poast?"),
    ("How hot is 45°C?", "How hot is 45°C?"),
    ("Is 3 < 5 and 7 > 2?", "Is 3 < 5 and 7 > 2?"),
    ("Ｐｏａｓｔ ﬁnds?", "Poast finds?"),
    ("😀", "😀"),  # nothing else: left for the empty-question message
    # A browser review: a script's content was searched, and "_Poast_" was "none of the
    # question's words is in the documents".
    ("<script>alert(1)</script>Who is Paul Poast?", "Who is Paul Poast?"),
    ("<SCRIPT type='x'>alert(1)", "<SCRIPT type='x'>alert(1)"),  # nothing else left
    ("Who is _Poast_?", "Who is Poast?"),
    ("What did **Kim** say about `Article 5`?", "What did Kim say about Article 5?"),
    ("What does max_file_bytes do?", "What does max_file_bytes do?"),
    ("Is 5*3 or 2_000 right?", "Is 5*3 or 2_000 right?"),
    ("&lt;b&gt;Kim&lt;/b&gt; &amp; Putin", "Kim & Putin"),
    ("Tom & Jerry?", "Tom & Jerry?"),
])
def test_markup_and_emoji_are_not_searched(typed, searched):
    assert compatible(typed) == searched


def test_a_long_questions_preamble_that_names_nothing_is_not_searched():
    from rag.query import without_preamble

    asked = "what did South Korea's national security adviser say about the treaty?"
    preamble = "I am trying to understand, in as much detail as possible and with all relevant context, "
    assert without_preamble(preamble * 15 + asked) == ("What did South Korea's national security "
                                                       "adviser say about the treaty?")
    assert without_preamble(preamble + asked) == preamble + asked  # short: kept whole
    # A first part that names what it is about is part of the question.
    named = "Thinking about the summit that Putin and Kim held in Pyongyang last June, " * 3
    assert without_preamble(named + asked) == named + asked
    numbered = "Thinking about the summit of 2024 and everything said about it at length, " * 3
    assert without_preamble(numbered + asked) == numbered + asked
    # Nothing asked after it: kept whole.
    assert without_preamble(preamble * 3 + "tell me more.") == preamble * 3 + "tell me more."


def test_what_about_a_thing_swaps_it_for_a_thing_of_the_question_before():
    from rag.query import topic_swaps

    assert topic_swaps("Who is judging the vegetables at the Lowick show?", "the flowers") == [
        "Who is judging the flowers at the Lowick show?"]
    # Shortest first: "the police receive" may be the thing too.
    assert topic_swaps("How much will the police receive in 2025?", "the library") == [
        "How much will the library receive in 2025?", "How much will the library in 2025?"]
    # A name, a thing of its own ("its diameter") or nothing to swap: none.
    assert topic_swaps("How many moons does Saturn have?", "its diameter") == []
    assert topic_swaps("Who is judging at the show?", "Japan") == []
    assert topic_swaps("When does the Harbourside tram start?", "the test runs") == []


def test_which_and_a_role_asks_for_someone():
    from rag.query import asks_for_someone

    assert asks_for_someone("Which vet admitted Juniper?")
    assert asks_for_someone("Which inspector led the team?")
    assert not asks_for_someone("Which country signed it?")
    assert not asks_for_someone("Which year was it?")


def test_a_he_follow_up_skips_a_person_the_documents_call_she():
    calls = {"Kamikawa": "she", "Paul Poast": None, "Tongfi Kim": "he"}.get
    history = ["Who is Paul Poast?", "What did Kamikawa say?"]
    assert resolve_followup("Where does he work?", history, known_as=calls) == \
        "Where does Paul Poast work?"
    # Without knowing, "he" is the last person named; "she" still is Kamikawa.
    assert resolve_followup("Where does he work?", history) == "Where does Kamikawa work?"
    assert resolve_followup("What did she warn about?", history, known_as=calls) == \
        "What did Kamikawa warn about?"
    # "his" after two people, the last of whom is "she": the one before.
    assert resolve_followup("What is his view?", ["What did Tongfi Kim and Kamikawa say?"],
                            known_as=calls) != "What is Kamikawa’s view?"


@pytest.mark.parametrize("question, expected", [
    ("Hello! Quick one please: how much is breakfast club at Ashcombe? Thanks so much, you're"
     " a star 🙂", "How much is breakfast club at Ashcombe?"),
    ("Hi there, who is Paul Poast?", "Who is Paul Poast?"),
    ("Good morning! When was it signed? Many thanks in advance.", "When was it signed?"),
    ("Hey team — what did Kim say? cheers", "What did Kim say?"),
    # Kept whole: nothing to take away, or too little left to ask anything.
    ("Who said thanks?", "Who said thanks?"),
    ("Hi! Why?", "Hi! Why?"),
    ("Thanks for the answer. What did he say?", "Thanks for the answer. What did he say?"),
])
def test_greetings_and_thanks_are_not_searched(question, expected):
    assert without_pleasantries(question) == expected
