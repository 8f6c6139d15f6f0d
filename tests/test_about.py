"""Questions about a document itself: which questions count, and which sentence answers."""

from __future__ import annotations

import pytest

import rag
from rag.about import Part, asked_part, find_part, quote_part
from rag.load import text_document

STORY = """\
Storm floods the valley for a second week

Residents waited on rooftops as the river rose.

By Jane Q. Doe

RIVERTON (AP) — The river crested at nine meters on Tuesday, the highest in a century. \
Officials ordered the lower town evacuated.

By nightfall most roads were closed.

Mark Roe contributed to this report.

Download the Daily Valley App for the latest news on Valley Times.
"""


@pytest.mark.parametrize(("question", "part"), [
    ("What is the headline?", Part.HEADLINE),
    ("What's the article's headline?", Part.HEADLINE),
    ("What is the title of this story?", Part.HEADLINE),
    ("Where was the article datelined?", Part.DATELINE),
    ("What is the dateline?", Part.DATELINE),
    ("Who wrote the story?", Part.BYLINE),
    ("What is the byline?", Part.BYLINE),
    ("Who contributed to the article?", Part.BYLINE),
    ("Which website published it?", Part.PUBLISHER),
    ("On which news website was this version of the article carried?", Part.PUBLISHER),
    ("Which newspaper is this story from?", Part.PUBLISHER),
    ("Summarize the article", Part.OPENING),
    ("Please summarise it.", Part.OPENING),
    ("Can you summarize the treaty?", Part.OPENING),
    ("Give me a short summary of the report", Part.OPENING),
    ("What are the key takeaways of the story?", Part.OPENING),
    ("What's the gist?", Part.OPENING),
    ("TL;DR?", Part.OPENING),
    ("What is this document about?", Part.OPENING),
    ("What does the article say?", Part.OPENING),
])
def test_questions_about_the_document_are_recognised(question, part):
    assert asked_part(question) is part


@pytest.mark.parametrize("question", [
    "Who headlined the Super Bowl 50 halftime show?",  # SQuAD: "headline" as a verb
    "What was the headline act at the River Festival?",  # ... and as an adjective
    "What was the headline inflation rate in May?",
    "What was the headline unemployment rate?",
    "What is the headline-grabbing claim?",
    "Who is the author of the book, \"Knowledge and Decisions\"?",
    "What newspaper did Tesla write for?",
    "Which newspaper published the Pentagon Papers?",
    "What is the full title of the U.S.-Japan security treaty?",
    "Which company makes the artillery shells?",
    "Where was the treaty signed?",
    "Who summarized the findings?",
    "What did the summary judgment decide?",
    "What summary did the court give of the facts?",
    "What does the article say about Japan?",
    "What is the treaty about?",
    "What are the main points of disagreement between Lee and Bang?",
])
def test_questions_on_the_content_are_not(question):
    assert asked_part(question) is None


def _found(document, part):
    span = find_part(document, part)
    return None if span is None else document.text[span[0]:span[1]]


def test_each_part_is_the_sentence_in_its_place():
    story = text_document(STORY, doc_id="story")
    assert _found(story, Part.HEADLINE) == "Storm floods the valley for a second week"
    assert _found(story, Part.DATELINE) == (
        "RIVERTON (AP) — The river crested at nine meters on Tuesday, the highest in a century.")
    # The first credit line; "By nightfall" is a sentence, not a byline.
    assert _found(story, Part.BYLINE) == "By Jane Q. Doe"
    # No header names a source, so the site's promotional footer (never quoted otherwise).
    assert _found(story, Part.PUBLISHER) == (
        "Download the Daily Valley App for the latest news on Valley Times.")


def test_the_opening_is_the_first_sentence_of_prose():
    story = text_document(STORY, doc_id="story")
    # Not the headline, the byline, nor a deck of eight words: the lead's first sentence.
    assert _found(story, Part.OPENING) == (
        "RIVERTON (AP) — The river crested at nine meters on Tuesday, the highest in a century.")
    captioned = text_document(
        "Flood\n\nA man wades through the water of the flooded main street.\n"
        "A man wades through the water of the flooded main street.\n\n"
        "RIVERTON — The river crested at nine meters on Tuesday, the highest in a century.\n",
        doc_id="captioned")
    # A caption printed twice is no opening.
    assert _found(captioned, Part.OPENING).startswith("RIVERTON — The river crested")
    table = text_document("Tide table\n\n| Hour | Height |\n| 1 | 2 |\n", doc_id="table")
    assert _found(table, Part.OPENING) is None


def test_a_request_for_a_summary_is_answered_with_each_documents_opening(fake_settings):
    """A browser review: "Summarize the article" got "The documents don't cover this"."""
    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([
        text_document(STORY, doc_id="story", source="story.txt"),
        text_document("Harbour expansion approved\n\nThe council voted 7 to 2 on Monday to "
                      "expand the harbour by two berths.\n\nWork starts in May.\n",
                      doc_id="harbour")])
    answer = index.ask("Summarize the article")
    assert not answer.abstained
    assert answer.note == rag.index.OPENING_NOTE
    assert sorted(q.text for q in answer.quotes) == [
        "RIVERTON (AP) — The river crested at nine meters on Tuesday, the highest in a century.",
        "The council voted 7 to 2 on Monday to expand the harbour by two berths."]
    assert "writes no summary" in answer.markdown() and answer.to_dict()["note"]
    scoped = index.ask("What is this document about?", doc_ids=["harbour"])
    assert [q.doc_id for q in scoped.quotes] == ["harbour"]
    assert index.ask("When does work start?").note == ""
    # Each document, past the three quotes asked for by default (review 8 had four and
    # saw three).
    index.add_documents([text_document(f"Notice {n}\n\nThe committee number {n} met on "
                                       f"Tuesday to discuss the new parking rules.\n",
                                       doc_id=f"notice-{n}") for n in range(3)])
    assert len(index.ask("Summarize the documents").quotes) == 5


def test_a_header_line_naming_the_source_is_the_publisher():
    memo = text_document("Budget memo | Source: https://example.gov/memo | Date: 2024-01-02\n\n"
                         "The budget grows by 3%.\n", doc_id="memo")
    assert _found(memo, Part.PUBLISHER).startswith("Budget memo | Source: https://example.gov")


def test_a_document_without_the_part_has_none():
    plain = text_document("Notes on owls.\n\nOwls hunt at night. They eat mice.\n",
                          doc_id="owls")
    assert _found(plain, Part.DATELINE) is None
    assert _found(plain, Part.BYLINE) is None
    assert _found(plain, Part.PUBLISHER) is None
    long_first_line = text_document("word " * 100 + "\n\nMore text here.\n", doc_id="long")
    assert _found(long_first_line, Part.HEADLINE) is None


def test_ask_quotes_the_part_first_and_does_not_abstain(fake_settings):
    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([text_document(STORY, doc_id="story", source="story.txt")])
    answer = index.ask("Where was the article datelined?")
    assert not answer.abstained
    assert answer.quotes[0].text.startswith("RIVERTON (AP) —")
    assert answer.features["document_part"] == 1.0
    footer = index.ask("Which website published this story?").quotes[0]
    # The footer is in no passage: the quote cites the paragraph it opens.
    assert footer.text.startswith("Download the Daily Valley App")
    assert (footer.hit.start, footer.hit.end) == (footer.start, footer.end)
    assert STORY[footer.start:footer.end] == footer.text
    assert len(answer.quotes) == 1  # the part alone: other sentences only share its words


def test_a_part_asked_of_stories_that_share_no_word_with_the_question_is_still_found(
        fake_settings):
    """"Who wrote the story?" matches no story's words: the searched documents are read for
    their bylines, each quoted, since which story was meant is not known."""
    index = rag.Index.empty(settings=fake_settings)
    index.add_documents([
        text_document(f"Storm notes\n\n{'Rain fell. ' * 30}\n", doc_id="rain"),
        text_document("Harbour expansion approved\n\nBy Maria Lindqvist\n\nThe council "
                      "voted 7 to 2.\n", doc_id="harbor"),
        text_document("Museum reopens\n\nBy Tomas Novak\n\nThe wing houses a frigate.\n",
                      doc_id="museum"),
        *(text_document(f"Tide table {n}.\n\nHigh water came at {n} o'clock on the "
                        "pier.\n", doc_id=f"tide{n}") for n in range(12))])
    answer = index.ask("Who wrote the story?")
    assert not answer.abstained and not answer.no_word_found
    assert answer.quotes[0].text in ("By Maria Lindqvist", "By Tomas Novak")
    scoped = index.ask("Who wrote the story?", doc_ids=["museum", "rain"])
    assert [q.text for q in scoped.quotes] == ["By Tomas Novak"]
    # None retrieved has a byline: each searched document that has one is quoted.
    found = quote_part(Part.BYLINE, [], index.document, score=0.0, limit=3,
                       searched=["rain", "harbor", "tide0", "museum"])
    assert [(q.doc_id, q.text) for q in found] == [
        ("harbor", "By Maria Lindqvist"), ("museum", "By Tomas Novak")]
    assert quote_part(Part.BYLINE, [], index.document, score=0.0, limit=1,
                      searched=["rain", "harbor", "museum"])[0].doc_id == "harbor"
    # A document removed meanwhile (by another session) is passed over.
    assert [q.doc_id for q in quote_part(Part.BYLINE, [], index.document, score=0.0, limit=3,
                                         searched=["gone", "museum"])] == ["museum"]
    # A question the documents' text answers is answered from it, not with a byline.
    index.add_documents([text_document("Inquiry\n\nJudge Ann Lee wrote the final report "
                                       "over two years.\n", doc_id="inquiry")])
    report = index.ask("Who wrote the final report?")
    assert not report.abstained and "Judge Ann Lee" in report.quotes[0].text
    assert asked_part("Who wrote the final report?") is None


def test_seed_article_meta_questions(seed_index):
    dateline = seed_index.ask("Where was the article datelined?")
    assert "SEOUL" in dateline.quotes[0].text and not dateline.abstained
    headline = seed_index.ask("What is the headline of the news article about the pact?")
    assert headline.quotes[0].text == (
        "Putin and Kim bring back Cold War-era military alliance to tense region")
    credit = seed_index.ask("Who contributed to the article?")
    assert credit.quotes[0].text == "Ann M. Simmons and Peter Landers contributed to this article."
