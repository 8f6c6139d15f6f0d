"""ui.library: the app's index with its saved folder and uploads (fake embedder, no model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rag
from ui.library import UPLOAD_TYPES, Library

from .helpers import make_pdf

UI_DATA = Path(__file__).parent / "ui_data"


@pytest.fixture
def library(tmp_path, fake_settings) -> Library:
    library, _ = Library.open([UI_DATA], tmp_path / "home" / "index", settings=fake_settings)
    return library


def upload_file(tmp_path: Path, name: str, data: bytes) -> Path:
    # Gradio hands the app a temporary copy named like the user's file.
    folder = tmp_path / "gradio-upload"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def titles(library: Library) -> list[str]:
    return [row.title for row in library.rows()]


def test_open_builds_saves_and_lists_the_documents(tmp_path, fake_settings):
    index_dir = tmp_path / "home" / "index"
    library, changes = Library.open([UI_DATA], index_dir, settings=fake_settings)
    assert len(changes["added"]) == 3
    assert [(r.title, r.kind, r.size, r.chunks, r.uploaded) for r in library.rows()] == [
        ("Harbour report", "txt", 195, 1, False),
        ("Markup sample", "html", 294, 1, False),
        ("Orchard notes", "md", 139, 1, False),
    ]
    assert (index_dir / "manifest.json").exists()
    assert library.uploads_dir == tmp_path / "home" / "uploads"
    _, again = Library.open([UI_DATA], index_dir, settings=fake_settings)
    assert again["added"] == again["updated"] == again["removed"] == []


def test_an_upload_is_stored_under_a_generated_name_searchable_and_saved(tmp_path, library,
                                                                         fake_settings):
    assert titles(library) == ["Harbour report", "Markup sample", "Orchard notes"]
    data = b"Lantern festival\n\nThe lantern festival is held every April in Quimby.\n"
    document = library.add_upload(upload_file(tmp_path, "my notes (final).txt", data),
                                  name="my notes (final).txt")
    stored = Path(document.source)
    assert stored.parent == library.uploads_dir
    assert stored.suffix == ".txt" and len(stored.stem) == 24 and "notes" not in stored.name
    assert stored.read_bytes() == data
    assert document.title == "Lantern festival"
    assert library.index.ask("When is the lantern festival held?").quotes[0].text == (
        "The lantern festival is held every April in Quimby.")
    assert [(r.title, r.uploaded) for r in library.rows()][-1] == ("Lantern festival", True)
    # Saved at once, and kept at the next start: the uploads folder is indexed too.
    reopened, changes = Library.open([UI_DATA], library.index_dir, settings=fake_settings)
    assert titles(reopened)[-1] == "Lantern festival"
    assert changes["added"] == changes["removed"] == changes["updated"] == []


def test_an_upload_with_no_title_line_is_titled_by_the_name_it_was_uploaded_under(
        tmp_path, library, fake_settings):
    # A browser review found "80af75279f0f7d78418bff45.txt", the stored copy's name, as the
    # title in the table, the pickers, the citations and the viewer.
    prose = ("The Lindmark reservoir stood at 23 percent of capacity at the end of February, "
             "the lowest level recorded since measurements began in 1961.\n\nMore later.\n")
    for name in ("reservoir-update.txt", "reservoir notes.md"):
        document = library.add_upload(upload_file(tmp_path, name, prose.encode()), name=name)
        assert document.title == name
        prose = prose.replace("1961", "1962")  # not the same bytes again
    html = f"<html><body><p>{prose.splitlines()[0]}</p></body></html>".encode()
    document = library.add_upload(upload_file(tmp_path, "level.html", html), name="level.html")
    assert document.title == "level.html"
    assert titles(library)[-3:] == ["reservoir-update.txt", "reservoir notes.md", "level.html"]
    reopened, _ = Library.open([UI_DATA], library.index_dir, settings=fake_settings)
    assert titles(reopened)[-3:] == ["reservoir-update.txt", "reservoir notes.md", "level.html"]


def test_a_pdf_upload_keeps_its_pages(tmp_path, library):
    pdf = make_pdf(["Cover page.", "The turnip harvest is blue."], title="Turnips")
    document = library.add_upload(upload_file(tmp_path, "t.pdf", pdf), name="t.pdf")
    assert document.kind is rag.Kind.PDF and len(document.pages) == 2
    assert (document.title, titles(library)[-1]) == ("Turnips", "Turnips")


def test_an_unsupported_type_is_refused_before_anything_is_stored(tmp_path, library):
    with pytest.raises(rag.UnsupportedFileError) as caught:
        library.add_upload(upload_file(tmp_path, "tool.exe", b"MZ\x90\x00"), name="tool.exe")
    assert str(caught.value) == ("tool.exe: '.exe' files cannot be added (upload one of "
                                 f"{', '.join(UPLOAD_TYPES)})")
    assert not library.uploads_dir.exists()


def test_a_file_over_the_size_limit_is_refused(tmp_path, fake_settings):
    settings = rag.Settings(model=fake_settings.model, max_file_bytes=1024)
    library, _ = Library.open([UI_DATA], tmp_path / "index", settings=settings)
    with pytest.raises(rag.FileTooLargeError) as caught:
        library.add_upload(upload_file(tmp_path, "big.txt", b"word " * 400), name="big.txt")
    assert str(caught.value) == ("big.txt: 2.0 KB is over the 1.0 KB limit (split it into "
                                 "smaller files)")
    assert not library.uploads_dir.exists()


def test_an_unreadable_upload_is_reported_under_its_own_name_and_not_kept(tmp_path, library,
                                                                         caplog):
    with pytest.raises(rag.DocumentError) as caught:
        library.add_upload(upload_file(tmp_path, "blank.md", b"  \n\n "), name="blank.md")
    assert caught.value.source == "blank.md"
    # The server's log says which upload the stored copy its loader names was.
    assert any(r.levelname == "WARNING" and r.getMessage().startswith(
        "upload 'blank.md' (stored as ") for r in caplog.records)
    assert str(caught.value).startswith("blank.md: ")
    assert list(library.uploads_dir.iterdir()) == []
    assert titles(library) == ["Harbour report", "Markup sample", "Orchard notes"]
    # Not mirrored either: each start would look for the deleted copy ("not found").
    assert not any(Path(s).parent == library.uploads_dir.resolve() for s in library.index.sources)


def test_removing_an_upload_deletes_its_file_and_saves(tmp_path, library, fake_settings):
    document = library.add_upload(upload_file(tmp_path, "a.txt", b"Alpha note\n\nAlpha.\n"),
                                  name="a.txt")
    assert str(Path(document.source).resolve()) in library.index.sources
    removed = library.remove(document.id)
    assert removed.id == document.id and not Path(document.source).exists()
    # An earlier answer's citation (in the conversation's export) keeps the upload's name.
    assert library.source_label(document.source) == "a.txt"
    assert str(Path(document.source).resolve()) not in library.index.sources
    reopened, _ = Library.open([UI_DATA], library.index_dir, settings=fake_settings)
    assert titles(reopened) == ["Harbour report", "Markup sample", "Orchard notes"]
    with pytest.raises(rag.UnknownDocumentError):
        library.remove(document.id)


def test_removing_a_configured_document_keeps_its_file(library):
    harbour = library.rows()[0]
    document = library.remove(harbour.id)
    assert Path(document.source).resolve() == (UI_DATA / "harbour.txt").resolve()
    assert Path(document.source).exists()
    assert titles(library) == ["Markup sample", "Orchard notes"]


def test_choices_name_documents_and_tell_equal_titles_apart(tmp_path, library):
    first = library.add_upload(upload_file(tmp_path, "x.txt", b"Same title\n\nOne.\n"),
                               name="x.txt")
    second = library.add_upload(upload_file(tmp_path, "y.txt", b"Same title\n\nTwo.\n"),
                                name="y.txt")
    assert library.choices() == [(r.title, r.id) for r in library.rows()]
    assert library.choices()[3:] == [("Same title (x.txt)", first.id),
                                     ("Same title (y.txt)", second.id)]
    # The same title under the same file name (from two folders): numbered in the order
    # they were added (their ids, shown before, were unreadable), in the table too.
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("Same title\n\nThree.\n")
    third = library.index.add([other / "x.txt"]).documents[0]
    assert library.choices()[3:] == [("Same title (x.txt)", first.id),
                                     ("Same title (y.txt)", second.id),
                                     ("Same title (x.txt #2)", third.id)]
    assert library.choices() == [(r.title, r.id) for r in library.rows()]
    assert library.distinct_names() == {first.id: "x.txt", second.id: "y.txt",
                                        third.id: "x.txt #2"}


def test_citations_tell_apart_documents_that_share_a_title(tmp_path, library):
    # An outside review: two uploads titled alike were cited under identical labels.
    from ui.conversation import ask
    from ui.format import answer_html, conversation_markdown

    first = library.add_upload(upload_file(tmp_path, "2023.txt", b"Annual report\n\nThe "
                                           b"ferry carried 41,000 passengers in 2023.\n"),
                               name="2023.txt")
    second = library.add_upload(upload_file(tmp_path, "2024.txt", b"Annual report\n\nThe "
                                            b"ferry carried 52,000 passengers in 2024.\n"),
                                name="2024.txt")
    turn = ask(library.index, "How many passengers did the ferry carry?",
               names=library.distinct_names())
    cited = {q.doc_id: place for q, place in zip(turn.answer.quotes, turn.places, strict=False)}
    assert cited[first.id].startswith("2023.txt") and cited[second.id].startswith("2024.txt")
    html = answer_html(turn)
    assert "Annual report, 2023.txt, paragraph" in html
    assert "Annual report, 2024.txt, paragraph" in html
    assert "Annual report, 2023.txt, paragraph" in conversation_markdown([turn])
    # A title no other document has is cited as before.
    turn = ask(library.index, "What is in the harbour?", names=library.distinct_names())
    assert turn.places and all(p.startswith("paragraph") for p in turn.places)


def test_the_example_questions_show_only_with_the_bundled_documents(tmp_path, library,
                                                                      fake_settings):
    from rag.index import DEFAULT_SEEDS
    from ui.blocks import build

    def examples_shown(library: Library) -> bool:
        demo, _ = build(library)
        row = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "examples")
        return row.visible

    assert not library.holds_seeds() and not examples_shown(library)
    seeded, _ = Library.open([DEFAULT_SEEDS], tmp_path / "seeded" / "index",
                             settings=fake_settings)
    assert seeded.holds_seeds() and examples_shown(seeded)
    # A copy of the seeds elsewhere holds them too (a browser review served one).
    shutil.copytree(DEFAULT_SEEDS, tmp_path / "copy")
    copied, _ = Library.open([tmp_path / "copy"], tmp_path / "copied" / "index",
                             settings=fake_settings)
    assert copied.holds_seeds() and examples_shown(copied)
