from __future__ import annotations

import codecs
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.errors import DocumentError, FileTooLargeError, UnsupportedFileError
from rag.load import Kind, load_bytes, load_documents, load_file, text_document

from .conftest import DATA, SEEDS
from .helpers import make_pdf

MB = 1024 * 1024


def load(data: bytes, name: str = "doc.txt"):
    return load_bytes(data, name=name, source=name, max_bytes=MB)


def test_text_file_title_text_and_checksum():
    doc = load_file(DATA / "harbour.txt", max_bytes=MB)
    assert doc.kind is Kind.TEXT
    assert doc.title == "Harbour report"
    assert doc.text.startswith("Harbour report\n\nThe harbour of Port Alba handles forty ships")
    assert doc.checksum == __import__("hashlib").sha256(
        (DATA / "harbour.txt").read_bytes()).hexdigest()
    assert doc.id.startswith("harbour-")
    assert load_file(DATA / "harbour.txt", max_bytes=MB).id == doc.id  # stable


@pytest.mark.parametrize("text, title", [
    (b"Harbour report 2024\n\nShips came.", "Harbour report 2024"),
    (b"Owls eat mice.\nThey hunt at night.", "Owls eat mice."),  # short: still the title
    (b"The ministry will deploy twelve patrol boats along the northern coast in July, "
     b"officials said.\nMore follows.", "memo.txt"),  # a sentence of prose: the file name
    # A file of one sentence is no exception (two reviews: citations read "[1] The Osprey
    # Club meets on Mondays in Hall 2, chars 0-43"), nor a short line of two sentences.
    (b"One sentence that is the whole of this rather short file, and nothing else.",
     "memo.txt"),
    (b"Hello world. The cat is named Tom", "memo.txt"),
])
def test_a_plain_text_file_whose_first_line_is_prose_is_titled_by_its_name(text, title):
    assert load(text, "memo.txt").title == title


def test_markdown_title_drops_hashes():
    doc = load_file(DATA / "orchard.md", max_bytes=MB)
    assert doc.kind is Kind.MARKDOWN
    assert doc.title == "Orchard notes"


def test_a_two_column_html_table_of_names_reads_one_field_a_line():
    doc = load(b"<table><tr><td>Contact</td><td>Helga Berg</td></tr>"
               b"<tr><td>Phone:</td><td>555-0199</td></tr></table>"
               b"<table><tr><td>Jupiter is the largest planet of all</td><td>95</td></tr></table>",
               "t.html")
    assert doc.text == ("Contact: Helga Berg.\n\nPhone: 555-0199.\n\n"
                        "Jupiter is the largest planet of all 95\n")
    # A page laid out in a table is no list of fields; a web address gets no full stop.
    layout = load(b"<table><tr><td>Menu</td><td><h2>News</h2><p>The pier reopened.</p></td></tr>"
                  b"<tr><td>Side</td><td><p>Pier 1 open</p></td></tr></table>", "l.html")
    assert layout.text == "Menu\n\nNews\n\nThe pier reopened.\n\nSide\n\nPier 1 open\n"
    site = load(b"<table><tr><td>Site</td><td>https://harbor.example/</td></tr>"
                b"<tr><td>Phone</td><td>555</td></tr></table>", "s.html")
    assert site.text == "Site: https://harbor.example/\n\nPhone: 555.\n"


def test_html_page_furniture_is_not_text():
    page = (b"<html><body><div id='cookie-banner'>We use cookies. Accept all.</div>"
            b"<article><h1>Tram approved</h1><p>The council voted 9 to 4.</p>"
            b"<aside><h3>Related</h3><ul><li><a href='/a'>Bus fares to rise</a></li>"
            b"<li><a href='/b'>Bridge repairs delayed</a></li></ul></aside>"
            b"<aside><p>The tram line was first proposed in 1998 by a citizens' group.</p></aside>"
            b"<div class='share-tools'>Share on Facebook</div>"
            b"<p class='shareholders'>Shareholders of the operator met in May.</p></article>"
            b"<footer><p>Privacy policy | Terms of use</p></footer></body></html>")
    doc = load(page, "tram.html")
    assert doc.text == ("Tram approved\n\nThe council voted 9 to 4.\n\nThe tram line was first "
                        "proposed in 1998 by a citizens' group.\n\nShareholders of the operator "
                        "met in May.\n\nPrivacy policy | Terms of use\n")
    assert [doc.text[s:e] for s, e in doc.skipped] == ["Privacy policy | Terms of use"]
    # A name is only a hint: whole articles carry such classes (a review's cases).
    long = "The committee met for six hours and agreed on the budget for next year. " * 6
    for opening in ('<div class="post-42 post category-social-policy">', '<div class="has-ads">',
                    '<section id="related-work">', '<div id="consent-form">',
                    '<div class="ad-hoc-committee">'):
        assert load(f"<html><body>{opening}<p>{long}</p></div></body></html>".encode(),
                    "p.html").text.startswith("The committee met")
    table = b"<table class='share-price'><tr><td>Open</td><td>12.5</td></tr>" \
            b"<tr><td>Close</td><td>13.1</td></tr></table>"
    assert load(table, "t.html").text == "Open: 12.5.\n\nClose: 13.1.\n"


def test_html_keeps_visible_text_only():
    doc = load_file(DATA / "library.html", max_bytes=MB)
    assert doc.title == "The Town Library"
    assert "alert" not in doc.text and "color: red" not in doc.text
    assert "Home | About" not in doc.text  # navigation is not content
    assert ("The library opens at nine and closes at six. It lends books, maps and old "
            "newspapers.") in doc.text
    assert "Children read aloud on Saturdays & Sundays." in doc.text


def test_html_text_the_page_hides_is_not_read():
    page = (b'<p>The ferry costs 4 euros.</p><p hidden>The ferry will be free forever.</p>'
            b'<p style="color: red; DISPLAY:none">The captain is named Zorro.</p>'
            b'<p style="visibility: hidden">Draft note.</p>'
            b'<p style="display: block">It sails hourly.</p>')
    doc = load_bytes(page, name="ferry.html", source="ferry.html", max_bytes=MB)
    assert doc.text == "The ferry costs 4 euros.\n\nIt sails hourly.\n"
    markdown = b'The ferry <span style="display:none">is free and</span> sails hourly.\n'
    doc = load_bytes(markdown, name="ferry.md", source="ferry.md", max_bytes=MB)
    assert doc.text == "The ferry sails hourly.\n"
    # Shown after all: aria-hidden (only screen readers skip it), an accordion's folded
    # text, and a body hidden until a script shows it.
    page = (b'<body style="visibility: hidden"><div aria-hidden="true"><p>The budget grows.'
            b'</p></div><div hidden="until-found"><p>Fares rise in May.</p></div></body>')
    doc = load_bytes(page, name="b.html", source="b.html", max_bytes=MB)
    assert doc.text == "The budget grows.\n\nFares rise in May.\n"


def test_a_markdown_image_inside_a_sentence_reads_as_its_alt_text():
    doc = load_bytes(b"See the report and its ![annual chart](c.png) below.\n\n![logo](l.png)"
                     b"\n\nEnd of notes.\n", name="n.md", source="n.md", max_bytes=MB)
    assert doc.text == "See the report and its annual chart below.\n\nEnd of notes.\n"


def test_html_table_rows_name_their_columns():
    page = (b"<table><caption>Moons of the outer planets</caption>"
            b"<tr><th>Planet</th><th>Moons</th></tr>"
            b"<tr><td>Jupiter</td><td>95</td></tr><tr><td>Saturn</td><td>146</td></tr>"
            b"<tr><td>Uranus</td><td></td></tr><tr><td colspan=2>Counts from 2023</td></tr>"
            b"</table><p>Neptune is far.</p>")
    assert load(page, "moons.html").text == (
        "Moons of the outer planets\n\nPlanet: Jupiter; Moons: 95.\n\n"
        "Planet: Saturn; Moons: 146.\n\nPlanet: Uranus.\n\nCounts from 2023.\n\n"
        "Neptune is far.\n")
    # Without a header row (or inside a layout table) cells are read one by one.
    plain = b"<table><tr><td>Jupiter</td><td>95</td></tr></table>"
    assert load(plain, "plain.html").text == "Jupiter 95\n"
    nested = b"<table><tr><th>A</th><th>B</th></tr><tr><td><table><tr><td>x</td></tr>" \
             b"</table></td><td>y</td></tr></table>"
    assert "A: " not in load(nested, "nested.html").text


def test_a_copyright_line_is_boilerplate():
    doc = load(b"<p>Saturn has rings.</p><footer>Copyright 2024 Space Facts</footer>", "s.html")
    assert [doc.text[s:e] for s, e in doc.skipped] == ["Copyright 2024 Space Facts"]


def test_html_event_attributes_and_entities():
    doc = load(b'<p onclick="steal()">Fish &lt;b&gt; chips</p><img src=x onerror="boom()">',
               "x.html")
    assert doc.text == "Fish <b> chips\n"


def test_pdf_pages_and_title():
    doc = load(make_pdf(["First page says hello.", "Second page says goodbye."],
                        title="Greetings"), "g.pdf")
    assert doc.kind is Kind.PDF
    assert doc.title == "Greetings"
    assert doc.text == "First page says hello.\n\nSecond page says goodbye.\n"
    assert doc.pages == ((0, 22), (24, 49))
    assert doc.page_at(0) == 1 and doc.page_at(24) == 2


def test_a_sentence_running_on_over_a_pdf_page_break_stays_one_sentence():
    from rag.chunk import split_sentences

    doc = load(make_pdf(["The treaty was signed in Geneva by twelve\ncountries after talks "
                         "that lasted", "three years and ended in 1999 with a vote.\n\nA new "
                         "page.", "Another paragraph."]), "span.pdf")
    assert doc.text == ("The treaty was signed in Geneva by twelve\ncountries after talks "
                        "that lasted\nthree years and ended in 1999 with a vote.\nA new page."
                        "\n\nAnother paragraph.\n")
    first, second, third = doc.pages
    assert doc.text[first[0]:first[1]].endswith("that lasted")
    assert doc.text[second[0]:second[1]].startswith("three years")
    assert doc.text[third[0]:third[1]] == "Another paragraph."
    sentences = [doc.text[a:b] for a, b in split_sentences(doc.text)]
    assert sentences[0].startswith("The treaty") and sentences[0].endswith("with a vote.")


def test_pdf_running_headers_and_footers_are_dropped():
    printed = ["11/27/26, 7:35 PM\nQuarterly notes\nRevenue grew by a tenth.\n"
               "file:///tmp/notes.html\n1/2",
               "11/27/26, 7:35 PM\nQuarterly notes\nCosts fell.\nThe team grew.\n"
               "file:///tmp/notes.html\n2/2"]
    doc = load(make_pdf(printed, title="notes.html"), "notes.pdf")
    assert doc.text == "Revenue grew by a tenth.\n\nCosts fell.\nThe team grew.\n"
    # A title that is only a file's name is no title: the first line of words is, read
    # before running lines go (a report's title is often its running header).
    assert doc.title == "Quarterly notes"
    assert load(make_pdf(printed, title="/home/bob/notes.docx"), "n.pdf").title == (
        "Quarterly notes")
    assert load(make_pdf(printed, title="Untitled"), "u.pdf").title == "Quarterly notes"
    for printed_from_a_browser in ("about:blank", "https://example.org/notes?id=3"):
        assert load(make_pdf(printed, title=printed_from_a_browser), "b.pdf").title == (
            "Quarterly notes")
    # One page keeps every line: nothing repeats to tell a header from the text.
    assert load(make_pdf([printed[0]]), "one.pdf").text.startswith("11/27/26, 7:35 PM\n")
    # A sentence repeated at the edge of every page is text, and so is a long line.
    rules = ["Always wear a helmet on site.\nThe crane moved.",
             "Always wear a helmet on site.\nThe crane stopped.",
             "Always wear a helmet on site.\nThe crane left."]
    assert load(make_pdf(rules), "rules.pdf").text.count("Always wear a helmet") == 3
    figures = [f"Revenue in Q{n} was {n + 4} million dollars and costs were flat\nEnd."
               for n in (1, 2, 3)]
    assert load(make_pdf(figures), "figures.pdf").text.count("Revenue in Q") == 3
    # A header's numbers are no words of prose (an outside review's grant report): the
    # sentence broken by the page runs on, without the header inside it.
    header = "EWF-2024-1187  |  Year 2 progress report  |  Confidential to the Foundation"
    report = [f"{header}\nOn a held-out test set,\nPage 1 of 2",
              f"{header}\nversion 1 detects otters with a precision of 92.4%.\nPage 2 of 2"]
    assert load(make_pdf(report), "report.pdf").text == (
        "On a held-out test set,\nversion 1 detects otters with a precision of 92.4%.\n")


def test_pdf_ligatures_are_letters():
    # Bytes 0xAE and 0xAF are the fi and fl ligatures in the standard font encoding.
    doc = load(make_pdf(["The \xaenal \xafight."]), "f.pdf")
    assert doc.text == "The final flight.\n"


def test_pdf_without_text_layer_is_explained():
    with pytest.raises(DocumentError, match="no text layer"):
        load(make_pdf([""]), "scan.pdf")


def test_truncated_pdf_is_explained(caplog):
    with pytest.raises(DocumentError, match="damaged or truncated"):
        load(make_pdf(["Some text here."])[:200], "cut.pdf")
    # The error says it once: pypdf's own warnings ("EOF marker not found") stay quiet.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pypdf")] == []
    assert logging.getLogger("pypdf").level == logging.NOTSET


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "latin-1", "cp1252"])
def test_encodings(encoding):
    text = "Café society: naïve résumés of the Zürich déjà vu.\n"
    assert load(text.encode(encoding)).text == text


def test_binary_file_named_txt_is_rejected():
    data = bytes(range(256)) * 40
    with pytest.raises(DocumentError, match="binary"):
        load(data, "photo.txt")


def test_utf8_with_stray_bytes_keeps_its_accents_and_reads_them_as_windows_1252():
    data = "Café crème, naïve résumé.".encode() + b"\xe9\x81" + " Señor Müller.\n".encode()
    assert load(data).text == "Café crème, naïve résumé.é\ufffd Señor Müller.\n"
    # Two correct letters and one stray byte: still UTF-8 (it was read as Shift-JIS).
    short = "The café manager is Zoë Hart. ".encode() + b"The deck chairs cost \x80 5 each.\n"
    assert load(short).text == "The café manager is Zoë Hart. The deck chairs cost € 5 each.\n"
    menu = "Menu of JOSÉ’S, RENÉ’S and ANDRÉ’S. Price: 5 €.\n"  # its "É’" read as UTF-8 is "ɒ"
    assert load(menu.encode("cp1252")).text == menu
    # Windows-1252 whose "É’" happens to be valid UTF-8 is still Windows-1252.
    assert load("Le CAFÉ’S menu: crème brûlée, café, thé.\n".encode("cp1252")).text == \
        "Le CAFÉ’S menu: crème brûlée, café, thé.\n"


def test_a_few_control_characters_do_not_make_text_binary():
    assert load(b"Ring the bell\x07 twice.\x1b Then wait.\n").text == \
        "Ring the bell twice. Then wait.\n"


def test_empty_and_whitespace_files_are_rejected():
    for data in (b"", b"  \n\t\n"):
        with pytest.raises(DocumentError, match="empty"):
            load(data)


def test_unsupported_type_names_the_choices():
    with pytest.raises(UnsupportedFileError, match=r"'\.docx' is not a supported.*\.txt"):
        load(b"hello", "report.docx")


def test_too_large(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1000)
    with pytest.raises(FileTooLargeError, match="5,000 bytes is over the 100-byte limit"):
        load_file(big, max_bytes=100)


def test_folder_reports_every_problem_and_loads_the_rest(tmp_path):
    (tmp_path / "good.txt").write_text("A good document.")
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "notes.docx").write_bytes(b"PK")
    (tmp_path / ".hidden.txt").write_text("hidden")
    report = load_documents([tmp_path, tmp_path / "missing.txt"], max_bytes=MB)
    assert [d.title for d in report.documents] == ["A good document."]
    problems = sorted((p.source.rsplit("/", 1)[-1], p.problem) for p in report.problems)
    assert problems == [
        ("empty.md", "the file is empty"),
        ("missing.txt", "no such file or folder"),
        ("notes.docx", "'.docx' files are not read"),
    ]


def test_seed_article_repeats_and_boilerplate_are_skipped():
    doc = load_file(SEEDS / "putin-kim-military-alliance.txt", max_bytes=MB)
    skipped = [doc.text[s:e] for s, e in doc.skipped]
    assert skipped == [doc.text[doc.text.index("Catch all the Business News"):].strip()]


def test_repeated_paragraph_is_skipped():
    doc = load(b"Intro paragraph here.\n\nCaption of the photo.\n\nBody.\n\nCaption of the photo.\n")
    assert [doc.text[s:e] for s, e in doc.skipped] == ["Caption of the photo."]
    assert doc.skipped[0][0] == doc.text.rindex("Caption")


def test_text_document():
    doc = text_document("  Title line\nBody text.  ", doc_id="d1")
    assert (doc.id, doc.title, doc.text) == ("d1", "Title line", "Title line\nBody text.\n")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["a.txt", "b.md", "c.html", "d.pdf"]))
def test_arbitrary_bytes_load_or_raise_document_error(data, name):
    try:
        doc = load(data, name)
    except DocumentError as error:
        assert error.source == name and error.problem
    else:
        assert doc.text.strip() and doc.checksum


def test_bom_is_not_in_text():
    assert load(codecs.BOM_UTF8 + b"Hello").text == "Hello\n"


def encrypted_pdf(user_password: str) -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret minutes."]))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_encrypted_pdf_with_a_password_is_explained():
    with pytest.raises(DocumentError, match="encrypted with a password.*unencrypted copy"):
        load(encrypted_pdf("hunter2"), "locked.pdf")


def test_encrypted_pdf_without_user_password_opens():
    assert load(encrypted_pdf(""), "open.pdf").text == "Secret minutes.\n"


def test_hundred_megabyte_file_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as handle:  # sparse: no 100 MB written to disk
        handle.truncate(100 * MB)
    with pytest.raises(FileTooLargeError, match="104,857,600 bytes is over the 1,048,576-byte"):
        load_file(huge, max_bytes=MB)


def test_unicode_and_very_long_file_names(tmp_path):
    odd = tmp_path / ("Zürich-報告-" + "x" * 200 + ".txt")
    odd.write_text("Unicode names are fine.")
    doc = load_file(odd, max_bytes=MB)
    assert doc.id.startswith("zurich-x") and len(doc.id) <= 49
    assert doc.source == str(odd)


def test_russian_windows_1251():
    text = "Привет, как дела? Это тест русского текста в кодировке.\n"
    assert load(text.encode("cp1251")).text == text


def test_markdown_reads_as_rendered_without_its_markup_or_scripts():
    doc = load(b"# Note\n\n<script>alert(1)</script>\n\nText <b>bold</b> and **strong**.\n\n"
               b"- first item\n- second item\n\n1. numbered\n\nSee [the map](http://x.org).",
               "n.md")
    assert doc.title == "Note"
    assert doc.text == ("Note\n\nText bold and strong.\n\nfirst item\n\nsecond item\n\n"
                        "numbered\n\nSee the map.\n")
    # Struck-out text is what the document no longer says.
    assert load(b"The ~~2024~~ 2025 tests passed.", "s.md").text == "The 2025 tests passed.\n"


def test_markdown_keeps_angle_brackets_that_are_no_html_and_drops_front_matter():
    assert load(b"Replace <username> with your login; List<String> too; <b>bold</b>.",
                "a.md").text == "Replace <username> with your login; List<String> too; bold.\n"
    doc = load(b"---\ntitle: Front matter\ntags: [a, b]\n---\n# Real title\n\nBody.\n", "f.md")
    assert (doc.title, doc.text) == ("Real title", "Real title\n\nBody.\n")
    # Tags named in a sentence are text; a rule over the first paragraph is no front matter.
    assert load(b"Paste it into a <script> tag. It runs.\n\nAdd it to <head>. Use <Title>.",
                "t.md").text == ("Paste it into a <script> tag. It runs.\n\nAdd it to <head>. "
                                 "Use <Title>.\n")
    assert load(b"---\n\nIntro.\n\n---\n\nAfter.\n", "r.md").text == "Intro.\n\nAfter.\n"
    assert load(b"<div>\nblock html\n</div>\n\n<script>alert(1)</script>\n\nafter", "b.md"
                ).text == "block html\n\nafter\n"
    deep = "".join("  " * i + f"- item {i}\n" for i in range(12)).encode()
    assert load(deep, "deep.md").text.count("item") == 12  # nesting past 9 levels kept


def test_a_markdown_table_reads_one_row_a_line_named_by_its_columns():
    doc = load(b"# Moons\n\n| Planet | Moons |\n|---|--:|\n| Jupiter | 95 |\n| Saturn | 146 |\n",
               "m.md")
    assert doc.text == "Moons\n\nPlanet: Jupiter; Moons: 95.\n\nPlanet: Saturn; Moons: 146.\n"


def test_markdown_code_keeps_its_lines_and_indentation():
    doc = load(b"Run this:\n\n```\npip install briefing\nbriefing serve\n```\n\n"
               b"    def f():\n        return  1\n", "c.md")
    assert doc.text == ("Run this:\n\npip install briefing\nbriefing serve\n\n"
                        "def f():\n    return 1\n")


def test_folder_with_thousands_of_small_files(tmp_path):
    for i in range(2000):
        (tmp_path / f"note{i:04d}.txt").write_text(f"Note number {i} says hello.")
    report = load_documents([tmp_path], max_bytes=MB)
    assert len(report.documents) == 2000 and report.problems == []
    assert report.documents[1234].text == "Note number 1234 says hello.\n"


def test_a_pipe_or_a_dangling_link_in_a_folder_is_reported_not_passed_over(tmp_path):
    import os

    (tmp_path / "ok.txt").write_text("Owls eat mice at night.\n", "utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "folder.txt").mkdir()  # a folder named like a document is a folder
    report = load_documents([tmp_path], max_bytes=1_000_000)
    assert [d.title for d in report.documents] == ["Owls eat mice at night."]
    problems = {os.path.basename(p.source): p.problem for p in report.problems}
    assert problems == {"gone.txt": "a link to nothing",
                        "pipe.txt": "not a regular file (a pipe, a socket or a device)"}


def test_a_pipe_named_directly_is_reported_not_read(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.txt")  # before, reading it waited for a writer forever
    report = load_documents([tmp_path / "pipe.txt"], max_bytes=1_000_000)
    assert report.documents == []
    assert [p.problem for p in report.problems] == [
        "not a regular file (a pipe, a socket or a device)"]


def test_a_link_is_typed_and_titled_by_its_own_name_not_its_targets(tmp_path):
    """An outside review: "ferry.txt" linking to "../blobs/9f2c1ab" (as git-annex keeps
    files) was refused as "'9f2c1ab' is not a supported file type"."""
    (tmp_path / "blobs").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "blobs" / "9f2c1ab").write_text(
        "The ferry leaves at noon every day from the north pier, weather allowing, and "
        "returns at four.\n\nTickets are sold on board.\n", "utf-8")
    (tmp_path / "docs" / "ferry.txt").symlink_to(tmp_path / "blobs" / "9f2c1ab")
    for path in (tmp_path / "docs", tmp_path / "docs" / "ferry.txt"):
        report = load_documents([path], max_bytes=1_000_000)
        assert report.problems == []
        assert [(d.title, d.kind) for d in report.documents] == [("ferry.txt", Kind.TEXT)]
