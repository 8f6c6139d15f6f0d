"""ui.format: escaping, citation numbering, highlight offsets and the Markdown export.

Answers here are built by hand from rag's dataclasses; no model is loaded.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

import rag
from ui.format import (
    EMPTY_CONVERSATION,
    DocumentRow,
    Turn,
    answer_html,
    cite_button,
    context_windows,
    conversation_html,
    conversation_markdown,
    document_html,
    documents_html,
    escape,
    highlighted_passage,
    human_size,
    paragraph_number,
    place,
    shorten,
    source_name,
    status_html,
    viewer_message,
)

# Offsets:  "Notes <1>\n\n" is 0-11; the passage "The harbour ... went." is 11-64, in which
# the quoted sentence "Ships <b>came</b> & went." is 39-64; "It closed later." is 66-82.
TEXT = "Notes <1>\n\nThe harbour opened in 1850. Ships <b>came</b> & went.\n\nIt closed later.\n"
NOTES = rag.Document(id="notes-1", title="Notes <1>", source="/docs/notes.txt",
                     kind=rag.Kind.TEXT, text=TEXT, checksum="c0ffee", size=len(TEXT))
PASSAGE = rag.Hit(chunk_id="notes-1:11-64", doc_id="notes-1", title="Notes <1>",
                  source="/docs/notes.txt", text=TEXT[11:64], start=11, end=64, score=0.03)
CLOSING = rag.Hit(chunk_id="notes-1:66-82", doc_id="notes-1", title="Notes <1>",
                  source="/docs/notes.txt", text=TEXT[66:82], start=66, end=82, score=0.02)
SHIPS = rag.Quote(text=TEXT[39:64], start=39, end=64, score=0.9, hit=PASSAGE)
CLOSED = rag.Quote(text=TEXT[66:82], start=66, end=82, score=0.5, hit=CLOSING)

BUTTON_1 = ('<button type="button" class="cite" data-doc="notes-1" data-start="39" '
            'data-end="64" data-pstart="11" data-pend="64" '
            'title="Open Notes &lt;1&gt; at this passage" '
            'aria-label="Source 1: Notes &lt;1&gt;">[1]</button>')


def answered(question: str = "When did it open?", query: str = "When did the harbour open?"
             ) -> Turn:
    answer = rag.Answer(question=question, query=query, quotes=(SHIPS, CLOSED), abstained=False,
                        hits=(PASSAGE, CLOSING))
    return Turn(question=question, answer=answer, places=("paragraph 2", "paragraph 3"))


def test_offsets_of_the_fixture_are_what_the_comments_say():
    assert TEXT[11:64] == "The harbour opened in 1850. Ships <b>came</b> & went."
    assert TEXT[39:64] == "Ships <b>came</b> & went."
    assert TEXT[66:82] == "It closed later."


def test_escape_neutralises_markup_and_quotes():
    assert escape('<script>alert("x")</script> & \'q\'') == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;")


def test_highlight_marks_exactly_the_quoted_offsets_inside_the_passage():
    assert highlighted_passage(PASSAGE, 39, 64) == (
        "The harbour opened in 1850. <mark>Ships &lt;b&gt;came&lt;/b&gt; &amp; went.</mark>")
    assert highlighted_passage(PASSAGE, 11, 38, marker="[m]") == (
        "<mark>The harbour opened in 1850.</mark>[m] Ships &lt;b&gt;came&lt;/b&gt; &amp; went.")


def test_highlight_clamps_offsets_outside_the_passage_and_marks_nothing_when_empty():
    assert highlighted_passage(PASSAGE, 0, 22) == (
        "<mark>The harbour</mark> opened in 1850. Ships &lt;b&gt;came&lt;/b&gt; &amp; went.")
    assert highlighted_passage(PASSAGE, 50, 50, marker="[m]") == (
        "The harbour opened in 1850. Ships &lt;b&gt;came&lt;/b&gt; &amp; went.[m]")


# Two passages that overlap by the sentence "B b b." (a chunk overlap of one sentence):
# "A a a. B b b." (0-13) and "B b b. C c c." (7-20).
ABC = "A a a. B b b. C c c."
FIRST = rag.Hit(chunk_id="abc:0-13", doc_id="abc", title="ABC", source="/abc.txt",
                text=ABC[0:13], start=0, end=13, score=0.03)
SECOND = rag.Hit(chunk_id="abc:7-20", doc_id="abc", title="ABC", source="/abc.txt",
                 text=ABC[7:20], start=7, end=20, score=0.02)
ELSEWHERE = rag.Hit(chunk_id="xyz:7-20", doc_id="xyz", title="XYZ", source="/xyz.txt",
                    text=ABC[7:20], start=7, end=20, score=0.01)


def test_a_sentence_is_not_shown_again_as_the_context_of_another_quote():
    # Quote [1] is "A a a." in FIRST; quote [2] is "C c c." in SECOND. "B b b." is context
    # of both: shown with [1], not again with [2].
    assert context_windows([(FIRST, 0, 6), (SECOND, 14, 20)]) == [(0, 13), (14, 20)]
    # Quote [1] is "C c c."; quote [2] is "B b b.", which [1]'s passage holds: [1] does not
    # show it as context, so it appears once, as the quote.
    assert context_windows([(SECOND, 14, 20), (FIRST, 7, 13)]) == [(14, 20), (0, 13)]
    # Other documents are not affected.
    assert context_windows([(FIRST, 0, 6), (ELSEWHERE, 14, 20)]) == [(0, 13), (7, 20)]
    assert highlighted_passage(SECOND, 14, 20, window=(14, 20)) == "<mark>C c c.</mark>"
    assert highlighted_passage(FIRST, 7, 13, marker="[m]", window=(0, 13)) == (
        "A a a. <mark>B b b.</mark>[m]")


def test_cite_button_carries_the_place_and_escapes_its_label():
    assert cite_button(1, PASSAGE, 39, 64) == BUTTON_1
    assert cite_button(2, PASSAGE, 39, 64, label="[2] <x>", css="source") == (
        '<button type="button" class="source" data-doc="notes-1" data-start="39" data-end="64" '
        'data-pstart="11" data-pend="64" title="Open Notes &lt;1&gt; at this passage">'
        "[2] &lt;x&gt;</button>")


def test_answer_numbers_quotes_best_first_and_lists_their_sources():
    html = answer_html(answered())
    assert html == (
        '<div class="turn"><div class="question"><span class="who">You</span>'
        "<p>When did it open?</p></div>"
        '<div class="answer"><p class="searched">Searched for: When did the harbour open?</p>'
        '<ol class="quotes">'
        '<li class="quote"><blockquote>The harbour opened in 1850. '
        f"<mark>Ships &lt;b&gt;came&lt;/b&gt; &amp; went.</mark>{BUTTON_1}</blockquote></li>"
        '<li class="quote"><blockquote><mark>It closed later.</mark>'
        '<button type="button" class="cite" data-doc="notes-1" data-start="66" data-end="82" '
        'data-pstart="66" data-pend="82" title="Open Notes &lt;1&gt; at this passage" aria-label="Source 2: Notes &lt;1&gt;">[2]</button>'
        "</blockquote></li></ol>"
        '<div class="sources"><span class="sources-title">Sources</span><ol>'
        '<li><button type="button" class="source" data-doc="notes-1" data-start="39" '
        'data-end="64" data-pstart="11" data-pend="64" title="Open Notes &lt;1&gt; at this '
        'passage">[1] Notes &lt;1&gt;, paragraph 2</button></li>'
        '<li><button type="button" class="source" data-doc="notes-1" data-start="66" '
        'data-end="82" data-pstart="66" data-pend="82" title="Open Notes &lt;1&gt; at this '
        'passage">[2] Notes &lt;1&gt;, paragraph 3</button></li>'
        "</ol></div></div></div>")


def test_answer_without_rewrite_has_no_searched_for_line():
    assert "Searched for" not in answer_html(answered(query="When did it open?"))


def test_a_note_says_what_the_quotes_are_in_the_chat_and_its_download():
    turn = answered(question="Summarize <it>", query="Summarize <it>")
    turn = replace(turn, answer=replace(turn.answer, note="How each <document> opens."))
    html = answer_html(turn)
    assert '<p class="searched note">How each &lt;document&gt; opens.</p><ol class="quotes">' in html
    assert "\n*How each &lt;document> opens.*\n" in conversation_markdown([turn])
    assert 'class="searched note"' not in answer_html(answered())


def test_abstention_says_so_and_shows_the_closest_passages_unhighlighted():
    answer = rag.Answer(question="What is the boiling point of water?",
                        query="What is the boiling point of water?", quotes=(SHIPS,),
                        abstained=True, hits=(CLOSING,))
    html = answer_html(Turn(question=answer.question, answer=answer, places=("paragraph 3",)))
    assert html == (
        '<div class="turn"><div class="question"><span class="who">You</span>'
        "<p>What is the boiling point of water?</p></div>"
        '<div class="answer abstained"><p class="no-answer">The documents don\'t cover this.</p>'
        '<p class="closest-label">Closest passages, which do not answer it:</p>'
        '<ol class="quotes"><li class="quote"><blockquote>It closed later.'
        '<button type="button" class="cite" data-doc="notes-1" data-start="66" data-end="82" '
        'data-pstart="66" data-pend="82" data-closest="1" title="Open Notes &lt;1&gt; at this passage" aria-label="Source 1: Notes &lt;1&gt;">[1]</button>'
        "</blockquote></li></ol>"
        '<div class="sources"><span class="sources-title">Sources</span><ol>'
        '<li><button type="button" class="source" data-doc="notes-1" data-start="66" '
        'data-end="82" data-pstart="66" data-pend="82" data-closest="1" title="Open Notes &lt;1&gt; at this '
        'passage">[1] Notes &lt;1&gt;, paragraph 3</button></li></ol></div></div></div>')
    assert "<mark>" not in html


def test_an_abstention_says_when_no_word_of_the_question_is_in_the_documents():
    answer = rag.Answer(question="Qui a signé?", query="Qui a signé?", quotes=(),
                        abstained=True, hits=(CLOSING,), no_word_found=True)
    turn = Turn(question="Qui a signé?", answer=answer, places=("paragraph 3",))
    said = ("The documents don't cover this. None of the question's words is in the "
            "documents; if it was asked in another language, ask in theirs.")
    assert f'<p class="no-answer">{said}</p>' in answer_html(turn)
    assert f"**{said}** The closest passages were:" in conversation_markdown([turn])


@pytest.mark.parametrize("question, note", [
    ("What is the capital of France?", "None of the question's words is in the documents."),
    ("Do you use cookies?", "None of the question's words is in the documents."),
    ("Qui a signé le traité ?", "if it was asked in another language, ask in theirs."),
    ("Was ist die Hauptstadt?", "if it was asked in another language, ask in theirs."),
    ("조약에 서명한 사람은?", "if it was asked in another language, ask in theirs."),
    ("¿Qué has hecho con el dinero?", "if it was asked in another language, ask in theirs."),
    ("Wie had de sleutel van het huis?", "if it was asked in another language, ask in theirs."),
    # Too short to tell (a browser review's "alert"), unless not in plain letters.
    ("alert", "None of the question's words is in the documents."),
    ("条约是什么?", "if it was asked in another language, ask in theirs."),
])
def test_the_other_language_hint_is_for_questions_not_in_english(question, note):
    from rag.answer import no_word_note

    assert no_word_note(question).endswith(note)


@pytest.mark.parametrize("question, note", [
    ("Qui est Paul Poast ?", "If it was asked in another language, ask in the documents' "
                             "language."),
    ("Who is Paul Poast's wife?", ""),
    ("Paul Poast?", ""),  # too short to tell
])
def test_a_question_whose_words_are_found_gets_the_hint_only_if_not_english(question, note):
    from rag.answer import no_word_note

    assert no_word_note(question, no_word_found=False) == note


def test_closest_passages_never_show_a_sentence_twice():
    from ui.format import cited

    text = "One. Two. Three. Four. Five."
    def hit(start, end, doc="d"):
        return rag.Hit(chunk_id=f"{doc}:{start}", doc_id=doc, title="D", source="/d.txt",
                       text=text[start:end], start=start, end=end, score=0.1)
    middle, later, earlier, inside = hit(5, 16), hit(10, 28), hit(0, 9), hit(10, 16)
    other = hit(5, 16, doc="e")
    answer = rag.Answer(question="q", query="q", quotes=(), abstained=True,
                        hits=(middle, later, earlier, inside, other))
    shown = [(h.chunk_id, text[a:b]) for h, a, b in cited(answer)]
    assert shown == [("d:5", "Two. Three."), ("d:10", "Four. Five."), ("d:0", "One."),
                     ("e:5", "Two. Three.")]  # "Three." alone was all shown: dropped
    html = answer_html(Turn(question="q", answer=answer))
    assert html.count("Three.") == 2 and "data-start=\"17\" data-end=\"28\"" in html


def test_closest_passages_come_with_the_nearest_sentence_first():
    from ui.format import cited

    text = "One. Two. Three. Four. Five."

    def hit(start, end):
        return rag.Hit(chunk_id=f"d:{start}", doc_id="d", title="D", source="/d.txt",
                       text=text[start:end], start=start, end=end, score=0.1)

    first, second = hit(0, 9), hit(10, 28)
    nearest = rag.Quote(text="Four.", start=17, end=22, score=1.0, hit=second)
    answer = rag.Answer(question="q", query="q", quotes=(nearest,), abstained=True,
                        hits=(first, second))
    assert [h.chunk_id for h, _, _ in cited(answer)] == ["d:10", "d:0"]


def test_an_error_turn_shows_the_message_and_an_empty_question_shows_no_bubble():
    assert answer_html(Turn(question="", error="The question is empty.")) == (
        '<div class="turn unsaved"><div class="answer error" role="alert">The question is '
        "empty.</div></div>")
    assert answer_html(Turn(question="<b>hi</b>", error="Bad & worse")) == (
        '<div class="turn"><div class="question"><span class="who">You</span>'
        '<p>&lt;b&gt;hi&lt;/b&gt;</p></div><div class="answer error" role="alert">'
        "Bad &amp; worse</div></div>")


def test_a_question_on_its_way_shows_as_asked():
    assert answer_html(Turn(question="Who <is> he?", pending=True)) == (
        '<div class="turn"><div class="question"><span class="who">You</span>'
        '<p>Who &lt;is&gt; he?</p></div><div class="pending" role="status">Searching the '
        "documents…</div></div>")


def test_a_huge_question_is_shown_shortened():
    assert shorten("abc", 5) == "abc"
    assert shorten("abcdef ghij", 8) == "abcdef g…"
    assert shorten("abcdef ghij", 7) == "abcdef…"
    html = answer_html(Turn(question="x" * 100_000, error="too long"))
    assert html == ('<div class="turn"><div class="question"><span class="who">You</span>'
                    f'<p>{"x" * 300}…</p></div><div class="answer error" role="alert">too long'
                    "</div></div>")
    # An answered long question can be read whole, on request.
    long = "Given " + "the background, " * 40 + "who is Paul Poast?"
    answer = rag.Answer(question=long, query=long, quotes=(), abstained=True)
    html = answer_html(Turn(question=long, answer=answer))
    assert ('<details class="whole-question"><summary><span class="when-closed">Show the '
            'whole question</span><span class="when-open">Show it shortened</span></summary>'
            f"<p>{long}</p></details>") in html
    assert "whole-question" not in answer_html(Turn(question="Who?", answer=answer))


def test_conversation_is_the_turns_in_order_or_an_invitation():
    assert conversation_html([]) == (
        f'<div class="conversation"><p class="empty">{EMPTY_CONVERSATION}</p></div>')
    first, second = Turn(question="a", error="x"), Turn(question="b", error="y")
    assert conversation_html([first, second]) == (
        f'<div class="conversation">{answer_html(first)}{answer_html(second)}</div>')


def test_markdown_export_has_quotes_with_markers_and_numbered_sources():
    abstained = rag.Answer(question="Boiling point?", query="Boiling point?", quotes=(),
                           abstained=True, hits=(CLOSING,))
    turns = [answered(), Turn(question="Boiling point?", answer=abstained,
                              places=("paragraph 3",)),
             Turn(question="", error="The question is empty.")]
    assert conversation_markdown(turns) == (
        "# Briefing conversation\n"
        "\n"
        "## When did it open?\n"
        "\n"
        "*Searched for:* When did the harbour open?\n"
        "\n"
        "> Ships &lt;b>came&lt;/b> & went. [1]\n"
        "\n"
        "> It closed later. [2]\n"
        "\n"
        "Sources:\n"
        "1. Notes &lt;1>, paragraph 2, chars 39-64 (notes.txt)\n"
        "2. Notes &lt;1>, paragraph 3, chars 66-82 (notes.txt)\n"
        "\n"
        "## Boiling point?\n"
        "\n"
        "**The documents don't cover this.** The closest passages were:\n"
        "\n"
        "> It closed later. [1]\n"
        "\n"
        "Sources:\n"
        "1. Notes &lt;1>, paragraph 3, chars 66-82 (notes.txt)\n"
        "\n"
        "## (empty question)\n"
        "\n"
        "*The question is empty.*\n")


def test_markdown_export_keeps_the_whole_of_a_long_question():
    long = "Why " + "and why " * 60 + "did the harbour close?"
    text = conversation_markdown([Turn(question=long, error="Not answered.")])
    heading = next(line for line in text.splitlines() if line.startswith("## "))
    assert heading.endswith("…") and len(heading) < len(long)
    assert f"*The whole question:* {long}" in text.splitlines()
    assert "The whole question" not in conversation_markdown(
        [Turn(question="Why did it close?", error="Not answered.")])


def test_markdown_export_quotes_every_line_of_a_multi_paragraph_quote():
    hit = rag.Hit(chunk_id="d:0-10", doc_id="d", title="D", source="d.txt", text="One.\n\nTwo.",
                  start=0, end=10, score=1.0)
    quote = rag.Quote(text="One.\n\nTwo.", start=0, end=10, score=1.0, hit=hit)
    answer = rag.Answer(question="q", query="q", quotes=(quote,), abstained=False, hits=(hit,))
    assert conversation_markdown([Turn(question="q", answer=answer)]) == (
        "# Briefing conversation\n\n## q\n\n> One.\n>\n> Two. [1]\n\nSources:\n"
        "1. D, chars 0-10 (d.txt)\n")


def test_a_quote_said_in_other_documents_too_cites_them_as_also_in():
    clip_text = "Clippings\n\nShips <b>came</b> & went."
    clip = rag.Hit(chunk_id="clips:11-36", doc_id="clips", title="Clippings",
                   source="/docs/clips.md", text=clip_text[11:], start=11, end=36, score=0.02)
    copy = rag.Quote(text=clip_text[11:], start=11, end=36, score=0.9, hit=clip)
    answer = rag.Answer(question="q?", query="q?", abstained=False, hits=(PASSAGE,),
                        quotes=(rag.Quote(SHIPS.text, 39, 64, 0.9, PASSAGE, also=(copy,)),))
    turn = Turn(question="q?", answer=answer, places=("paragraph 2",),
                also_places=(("paragraph 2",),))
    html = answer_html(turn)
    also = (' <span class="also-in">also in <button type="button" class="source also" '
            'data-doc="clips" data-start="11" data-end="36" data-pstart="11" data-pend="36" '
            'title="Open Clippings at this passage">Clippings, paragraph 2</button></span>')
    assert also in html
    assert html.index("[1] Notes &lt;1&gt;, paragraph 2") < html.index(also)
    assert conversation_markdown([turn]).endswith(
        "Sources:\n1. Notes &lt;1>, paragraph 2, chars 39-64 (notes.txt)\n"
        "   also in: Clippings, paragraph 2, chars 11-36 (clips.md)\n")


def test_markdown_in_a_question_or_quote_stays_text_in_the_download():
    hit = rag.Hit(chunk_id="d:0-27", doc_id="d", title="D_1", source="d.txt",
                  text="# Not a *heading* [x](y)", start=0, end=24, score=1.0)
    quote = rag.Quote(text=hit.text, start=0, end=24, score=1.0, hit=hit)
    question = "<b>*stars*</b> [link](http://evil) `code` a_b?"
    answer = rag.Answer(question=question, query=question, quotes=(quote,), abstained=False,
                        hits=(hit,))
    assert conversation_markdown([Turn(question=question, answer=answer)]) == (
        "# Briefing conversation\n\n"
        "## &lt;b>\\*stars\\*&lt;/b> \\[link\\](http://evil) \\`code\\` a\\_b?\n\n"
        "> \\# Not a \\*heading\\* \\[x\\](y) [1]\n\n"
        "Sources:\n1. D\\_1, chars 0-24 (d.txt)\n")


BACK = '<button type="button" class="back-to-chat">Back to the answer</button>'


def test_paragraph_numbers_and_places():
    assert [paragraph_number(TEXT, o) for o in (0, 10, 11, 39, 65, 66, 81)] == [1, 1, 2, 2, 2,
                                                                              3, 3]
    assert place(NOTES, 39) == "paragraph 2"
    pdf = rag.Document(id="p", title="P", source="p.pdf", kind=rag.Kind.PDF,
                       text="Page one.\n\nPage two.\n", checksum="x", size=900,
                       pages=((0, 9), (11, 20)))
    assert place(pdf, 12) == "p. 2"
    # A quote that runs on into the next paragraph or page says so.
    assert place(NOTES, 39, 66 + 5) == "paragraphs 2-3" and place(NOTES, 39, 66) == "paragraph 2"
    assert place(pdf, 2, 15) == "pp. 1-2" and place(pdf, 2, 9) == "p. 1"


def test_document_viewer_shades_the_passage_marks_the_sentence_and_escapes():
    html = document_html(NOTES, passage=(11, 64), sentence=(39, 64))
    assert html == (
        '<div class="viewer" data-doc="notes-1"><div class="viewer-head"><h3>Notes &lt;1&gt;</h3>'
        '<p class="meta">TXT · 83 B · paragraph 2, chars 39-64</p>'
        f'{BACK}</div><div class="doc-text">'
        "Notes &lt;1&gt;\n\n"
        '<span class="passage">The harbour opened in 1850. </span>'
        '<mark class="hl">Ships &lt;b&gt;came&lt;/b&gt; &amp; went.</mark>'
        "\n\nIt closed later.\n</div></div>")


def test_document_viewer_marks_a_closest_passage_as_no_answer():
    # Opened from an abstention, the sentence is not marked as an answer is.
    html = document_html(NOTES, passage=(11, 64), sentence=(39, 64), closest=True)
    assert '<mark class="hl closest">Ships &lt;b&gt;came&lt;/b&gt; &amp; went.</mark>' in html
    assert ("paragraph 2, chars 39-64 · the closest passage, which does not answer the "
            "question</p>") in html
    assert '<mark class="hl">' not in html


def test_document_viewer_labels_pdf_pages_even_inside_a_highlight():
    text = "Page one ends here.\n\nPage two starts.\n"
    pdf = rag.Document(id="p-1", title="Report", source="r.pdf", kind=rag.Kind.PDF, text=text,
                       checksum="x", size=2048, pages=((0, 19), (21, 37)))
    html = document_html(pdf, passage=(9, 37), sentence=(14, 30))
    assert html == (
        '<div class="viewer" data-doc="p-1"><div class="viewer-head"><h3>Report</h3>'
        '<p class="meta">PDF · 2.0 KB · pp. 1-2, chars 14-30</p>'
        f'{BACK}</div><div class="doc-text">'
        '<span class="page-label">Page 1</span>Page one '
        '<span class="passage">ends </span><mark class="hl">here.\n\n</mark>'
        '<span class="page-label">Page 2</span><mark class="hl">Page two </mark>'
        '<span class="passage">starts.</span>\n</div></div>')


def test_document_viewer_shows_a_very_long_document_around_the_cited_place(monkeypatch):
    import ui.format

    monkeypatch.setattr(ui.format, "VIEWER_MAX_CHARS", 40)
    text = "".join(f"Line {n:02}. " for n in range(30))  # 270 characters
    long = rag.Document(id="l", title="Long", source="l.txt", kind=rag.Kind.TEXT, text=text,
                        checksum="x", size=270)
    start = text.index("Line 15.")
    html = document_html(long, passage=(start, start + 8), sentence=(start, start + 8))
    shown = re.search(r'<div class="doc-text">(.*)</div></div>', html).group(1)
    # 40 characters centred on the sentence (135-143): 119-159.
    assert shown == 'ne 13. Line 14. <mark class="hl">Line 15.</mark> Line 16. Line 1'
    assert "a long document: characters 119-159 of 270 are shown" in html
    # Near either end, the window stays inside the text; without a citation, the start.
    assert "characters 0-40 of 270" in document_html(long)
    assert "characters 230-270 of 270" in document_html(long, sentence=(260, 270))


def test_document_viewer_without_a_citation_shows_the_plain_text():
    assert document_html(NOTES) == (
        '<div class="viewer" data-doc="notes-1"><div class="viewer-head"><h3>Notes &lt;1&gt;</h3>'
        '<p class="meta">TXT · 83 B</p>'
        f'{BACK}</div><div class="doc-text">'
        "Notes &lt;1&gt;\n\nThe harbour opened in 1850. Ships &lt;b&gt;came&lt;/b&gt; &amp; went."
        "\n\nIt closed later.\n</div></div>")
    assert viewer_message("Gone <now>") == (
        '<div class="viewer"><p class="empty">Gone &lt;now&gt;</p></div>')


def test_documents_table():
    rows = [DocumentRow(id="a", title="A <i>", kind="pdf", size=2048, chunks=7),
            DocumentRow(id="b", title="B", kind="txt", size=12, chunks=1, uploaded=True)]
    assert documents_html(rows) == (
        '<table class="documents"><thead><tr><th>Title</th><th>Type</th><th>Size</th>'
        "<th>Passages</th></tr></thead><tbody>"
        '<tr><td>A &lt;i&gt;</td><td class="n">PDF</td><td class="n">2.0 KB</td>'
        '<td class="n">7</td></tr>'
        '<tr><td>B <span class="tag">uploaded</span></td><td class="n">TXT</td>'
        '<td class="n">12 B</td><td class="n">1</td></tr></tbody></table>')
    assert documents_html([]) == '<p class="empty">No documents are indexed.</p>'


def test_status_messages_are_escaped_and_refusals_stand_out():
    assert status_html([(True, "Added “A & B”."), (False, "Not added: x.exe: <no>")]) == (
        '<div class="status"><p>Added “A &amp; B”.</p>'
        '<p class="bad">Not added: x.exe: &lt;no&gt;</p></div>')
    assert status_html([]) == '<div class="status"></div>'


def test_human_size():
    assert [human_size(n) for n in (0, 1023, 1024, 1536, 50 * 1024 * 1024, 3 * 1024 ** 4)] == [
        "0 B", "1023 B", "1.0 KB", "1.5 KB", "50.0 MB", "3072.0 GB"]


@pytest.mark.parametrize("source, shown", [
    ("/srv/briefing/seeds/a.txt", "a.txt"),
    ("C:/Users/me/b.pdf", "b.pdf"),
    ("notes.md", "notes.md"),
    ("https://example.org/report.html", "https://example.org/report.html"),
    ("upload", "upload"),
])
def test_a_downloaded_conversation_names_the_file_not_its_place_on_the_server(source, shown):
    assert source_name(source) == shown


def test_a_pdf_quote_reads_without_the_page_s_line_wraps():
    from ui.format import highlighted_passage

    text = "The claim was disputed in a\nletter sent to the ministry.\n\nA new paragraph."
    pdf = rag.Hit(chunk_id="r:0", doc_id="r", title="R", source="/docs/r.pdf", text=text,
                  start=0, end=len(text), score=0.1)
    html = highlighted_passage(pdf, 0, 56)
    assert html == ("<mark>The claim was disputed in a letter sent to the ministry.</mark>"
                    "\n\nA new paragraph.")
    plain = replace(pdf, source="/docs/r.txt")
    assert "in a\nletter" in highlighted_passage(plain, 0, 56)  # a text file's lines are its own
    # A line ending at the quote's edge stays a line: a heading over the quoted sentence
    # (a browser review's "Glacier Survey 2025 The Storglaciären glacier lost...").
    text = "Glacier Survey 2025\nThe glacier lost\n1.8 meters of ice.\nIt was measured."
    pdf = replace(pdf, text=text, end=len(text))
    assert highlighted_passage(pdf, text.index("The"), text.index("\nIt")) == (
        "Glacier Survey 2025\n<mark>The glacier lost 1.8 meters of ice.</mark>\nIt was measured.")
