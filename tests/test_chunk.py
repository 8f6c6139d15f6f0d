from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunk import Chunk, chunk_document, split_sentences
from rag.load import text_document


def spans_text(text, spans):
    return [text[s:e] for s, e in spans]


def test_sentences_are_trimmed_whole_and_offset_exact():
    text = "  Dr. Smith met Mr. Jones in the U.S. yesterday.  He left at 5 p.m. sharp!\n"
    spans = split_sentences(text)
    assert spans_text(text, spans) == ["Dr. Smith met Mr. Jones in the U.S. yesterday.",
                                       "He left at 5 p.m. sharp!"]
    assert spans == [(2, 48), (50, 74)]


def test_stray_closing_quote_joins_its_sentence():
    text = 'He said “all means without delay." Then he left.'
    assert spans_text(text, split_sentences(text)) == ['He said “all means without delay."',
                                                       "Then he left."]


def test_overlong_run_is_split_at_spaces():
    text = " ".join(["word"] * 50)  # 249 characters, no punctuation
    spans = split_sentences(text, max_chars=100)
    assert [e - s for s, e in spans] == [99, 99, 49]
    assert " ".join(spans_text(text, spans)) == text


def doc(text):
    return text_document(text, doc_id="d", title="T")


def test_chunks_group_sentences_with_overlap():
    d = doc("One is here. Two is here. Three is here. Four is here. Five is here.")
    chunks = chunk_document(d, chunk_chars=30, overlap=1)
    assert [c.text for c in chunks] == [
        "One is here. Two is here.", "Two is here. Three is here.",
        "Three is here. Four is here.", "Four is here. Five is here."]
    assert chunks[1].id == "d:13-40"
    assert chunks[1].sentences == ((13, 25), (26, 40))


def test_no_overlap():
    d = doc("One is here. Two is here. Three is here.")
    assert [c.text for c in chunk_document(d, chunk_chars=30, overlap=0)] == [
        "One is here. Two is here.", "Three is here."]


def test_long_sentence_is_its_own_chunk():
    d = doc("Short one. " + "A very long sentence " * 5 + "ends here. Last.")
    chunks = chunk_document(d, chunk_chars=40, overlap=0)
    assert [len(c.sentences) for c in chunks] == [1, 1, 1]
    assert chunks[1].text.startswith("A very long sentence") and chunks[1].text.endswith("here.")


def test_repeated_sentence_and_skipped_paragraph_are_never_in_a_chunk():
    d = doc("The photo caption is long enough.\nThe photo caption is long enough.\n\n"
            "Body text follows here.\n\nDownload the Mint News App to get updates.\n")
    chunks = chunk_document(d, chunk_chars=600)
    texts = [c.text for c in chunks]
    assert texts == ["The photo caption is long enough.", "Body text follows here."]


def test_chunks_do_not_cross_pages():
    from dataclasses import replace
    d = doc("Page one ends. \n\nPage two starts.")
    d = replace(d, pages=((0, 14), (17, 33)))
    assert [c.text for c in chunk_document(d, chunk_chars=600)] == ["Page one ends.",
                                                                   "Page two starts."]


def test_chunk_record_round_trip():
    chunk = chunk_document(doc("Alpha beta. Gamma delta."), chunk_chars=600)[0]
    assert Chunk.from_record(chunk.to_record()) == chunk


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=600), st.integers(20, 300), st.integers(0, 3))
def test_offsets_invariant_on_arbitrary_text(text, chunk_chars, overlap):
    if not text.strip():
        return
    d = doc(text)
    previous_end = -1
    for chunk in chunk_document(d, chunk_chars=chunk_chars, overlap=overlap,
                                max_sentence_chars=200):
        assert d.text[chunk.start:chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.sentences[0][0] == chunk.start and chunk.sentences[-1][1] == chunk.end
        for start, end in chunk.sentences:
            assert chunk.start <= start < end <= chunk.end
            assert d.text[start:end].strip() == d.text[start:end]
        assert chunk.end > previous_end  # passages move forward
        previous_end = chunk.end


def test_a_markdown_heading_line_is_a_sentence_of_its_own():
    text = "Intro line here.\n## Dredging\nThe harbor is dredged every two years.\n# Title only"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Intro line here.", "## Dredging", "The harbor is dredged every two years.",
        "# Title only"]
    # A '#' inside a line is no heading.
    text = "Issue #4 was closed.\nIt came back."
    assert [text[s:e] for s, e in split_sentences(text)] == ["Issue #4 was closed.",
                                                              "It came back."]


def test_a_title_case_line_over_a_sentence_is_a_sentence_of_its_own():
    text = ("Harbor Lighthouse\nThe lighthouse is 30 m tall.\n\n"
            "Annual Report of the Harbor Board\n“The board met twice,” it says.")
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Harbor Lighthouse", "The lighthouse is 30 m tall.",
        "Annual Report of the Harbor Board", "“The board met twice,” it says."]


@pytest.mark.parametrize("text", [
    "The report was written\nby the committee in May.",        # next line goes on
    "The treaty was signed by\nVladimir Putin and Kim Jong Un.",  # not title case
    "Signed On Behalf Of The Board,\nJane Smith and Ann Lee.",  # ends as a clause does
    # Hard-wrapped prose whose line happens to be capitalised (a review's cases).
    "Under Article 4 the United States and\nJapan will consult within five days.",
    "Until now, South\nKorea had a longstanding policy.",
    "North Korea’s Kim\nJong Un said he and Putin share a bond.",
    "Download The Mint News App to get\nDaily Market Updates.",
    "The committee listed two priorities for\nEurope: energy security and defence.",
    "Two people spoke at the meeting on\nMonday: Maria Lopez and Tomas Berg.",
    "Energy prices rose sharply across\nEurope: the winter was cold.",
])
def test_a_line_wrapped_mid_sentence_stays_in_its_sentence(text):
    assert [text[s:e] for s, e in split_sentences(text)] == [text]


def test_lines_of_fields_are_sentences_of_their_own():
    text = ("Project Falcon status\nBudget: 2.4 million euros\nDeadline: 30 June 2026\n\n"
            "Note: the meeting moved\nto Tuesday.")
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Project Falcon status", "Budget: 2.4 million euros", "Deadline: 30 June 2026",
        "Note: the meeting moved\nto Tuesday."]


def test_short_lines_and_lists_of_a_hard_wrapped_text_are_sentences_of_their_own():
    # An outside review's show schedule PDF: lines without a full stop ran together into
    # one quote of 800 characters ("Class 17 One foliage pot plant..." to "Class 24").
    prose = ("The show is open to residents of the parishes of Lowick, Sudborough and the\n"
             "villages around them, and to members of the Society wherever they may live.\n")
    text = (prose * 4 + "Entries to: the Show Secretary, by 7 pm on Thursday 19 August\n"
            "Timetable for the day\nStaging of exhibits: 7:00 am to 9:45 am\n"
            "Presentation of prizes and trophies by the Show President: 4:30 pm\n"
            "Section B: Flowers (judge: Mrs Isobel Quayle)\n"
            "Class 11 Three dahlias, one variety, cactus or semi-cactus, shown in a vase\n"
            "Class 12 Three dahlias\nResults of the survey\n"
            "The glacier lost a great deal of ice in the summer, and more than in any\n"
            "Year since the records began.")
    assert [text[s:e] for s, e in split_sentences(text)][4:] == [
        "Entries to: the Show Secretary, by 7 pm on Thursday 19 August",
        "Timetable for the day", "Staging of exhibits: 7:00 am to 9:45 am",
        "Presentation of prizes and trophies by the Show President: 4:30 pm",
        "Section B: Flowers (judge: Mrs Isobel Quayle)",
        "Class 11 Three dahlias, one variety, cactus or semi-cactus, shown in a vase",
        "Class 12 Three dahlias", "Results of the survey",
        # a line as long as the text is wrapped to goes on, whatever the next one starts with
        "The glacier lost a great deal of ice in the summer, and more than in any\n"
        "Year since the records began."]
    # Too few lines to tell the width a text is wrapped to: a short line goes on.
    text = "Until now, South\nKorea had a longstanding policy.\nIt ended."
    assert [text[s:e] for s, e in split_sentences(text)][0] == (
        "Until now, South\nKorea had a longstanding policy.")


def test_numbered_sections_and_items_are_split_into_sentences():
    # sentencex reads the text under "1." as one list item up to "2.": a PDF page with
    # numbered sections was one "sentence" a section long (an outside review's report).
    text = ("Date of report: 30 September 2026\n1. Summary of progress\nThe project aims to "
            "show things. In the second year we did more. We\nare asking for more time.\n"
            "2. Staff\nDr Haddad joined. She leads the work.\n3.1 Recorder network. Callum "
            "deployed 36 recorders.\n(1) Leaders should act. They must plan.\n"
            "8. Plans for Year 3\n- Complete the survey.")
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Date of report: 30 September 2026", "1. Summary of progress",
        "The project aims to show things.", "In the second year we did more.",
        "We\nare asking for more time.", "2. Staff", "Dr Haddad joined.",
        "She leads the work.", "3.1 Recorder network.", "Callum deployed 36 recorders.",
        "(1) Leaders should act.", "They must plan.", "8. Plans for Year 3",
        "- Complete the survey."]
    # A number alone is no sentence: it stays on its item's first one.
    text = "2. The stolen property was worth £23,600. Part of it was recovered."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "2. The stolen property was worth £23,600.", "Part of it was recovered."]
    # A figure starting a wrapped line is no item.
    text = "The town grew to\n2.5 million people by 2020."
    assert [text[s:e] for s, e in split_sentences(text)] == [text]
