"""Load documents from files: decode, extract visible text, and describe each one.

Supported: plain text (.txt), Markdown (.md), HTML (.html, .htm) and PDF (.pdf).
A `Document`'s `text` is what every offset in Briefing refers to.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from html import escape as html_escape
from pathlib import Path

from .errors import DocumentError, FileTooLargeError, UnsupportedFileError

log = logging.getLogger(__name__)


class Kind(str, Enum):
    """The file types Briefing reads, by extension."""

    TEXT = "txt"
    MARKDOWN = "md"
    HTML = "html"
    PDF = "pdf"


_KINDS = {kind.value: kind for kind in Kind}  # Kind(value) is slow: 5 µs a call

EXTENSIONS: dict[str, Kind] = {
    ".txt": Kind.TEXT,
    ".text": Kind.TEXT,
    ".md": Kind.MARKDOWN,
    ".markdown": Kind.MARKDOWN,
    ".html": Kind.HTML,
    ".htm": Kind.HTML,
    ".pdf": Kind.PDF,
}
SUPPORTED = ", ".join(sorted(EXTENSIONS))


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded document.

    `pages` holds `(start, end)` offsets of each PDF page in `text` (empty for other
    kinds); `skipped` holds spans of `text` that answers never quote: repeats of an
    earlier paragraph (a photo caption printed twice) and site boilerplate.
    """

    id: str
    title: str
    source: str
    kind: Kind
    text: str
    checksum: str
    size: int
    pages: tuple[tuple[int, int], ...] = ()
    skipped: tuple[tuple[int, int], ...] = ()
    from_file: bool = False
    """Loaded from the file at `source`, which a refresh mirrors (updates it when the file
    changes, drops it when the file is gone); False for a document added from bytes or
    memory, which stays until removed, whatever its source names."""

    def page_at(self, offset: int) -> int | None:
        """The 1-based page number holding `offset`, or None for documents without pages."""
        for number, (start, end) in enumerate(self.pages, start=1):
            if start <= offset < end or (offset == end and number == len(self.pages)):
                return number
        return None

    def to_record(self) -> dict:
        return {
            "id": self.id, "title": self.title, "source": self.source, "kind": self.kind.value,
            "text": self.text, "checksum": self.checksum, "size": self.size,
            "pages": [list(p) for p in self.pages], "skipped": [list(s) for s in self.skipped],
            "from_file": self.from_file,
        }

    @classmethod
    def from_record(cls, record: dict) -> Document:
        """The document a saved record describes; ValueError for one that is not such a
        record (a field missing or of another kind: damaged, or edited by hand)."""
        if not isinstance(record, dict) or not all(
                isinstance(record.get(key), str) for key in ("id", "title", "source", "text",
                                                             "checksum")):
            raise ValueError(f"not a document record: {str(record)[:80]}")
        if not isinstance(record.get("from_file", False), bool):
            raise ValueError(f"not a document record (from_file is not true or false): "
                             f"{str(record)[:80]}")
        return cls(
            id=record["id"], title=record["title"], source=record["source"],
            kind=_KINDS.get(record["kind"]) or Kind(record["kind"]), text=record["text"],
            checksum=record["checksum"],
            size=record["size"], pages=tuple(tuple(p) for p in record.get("pages", ())),
            skipped=tuple(tuple(s) for s in record.get("skipped", ())),
            # Saved before this was recorded: an absolute source was a file's path.
            from_file=record.get("from_file", Path(record["source"]).is_absolute()),
        )


@dataclass(slots=True)
class LoadReport:
    """What `load_documents` loaded, and each file it could not load with the reason."""

    documents: list[Document] = field(default_factory=list)
    problems: list[DocumentError] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    """Files passed over, unread, because their bytes have the checksum `load_documents`
    was told they have (resolved paths)."""


def load_documents(paths: Iterable[str | Path], *, max_bytes: int,
                   names: Mapping[Path, str] | None = None,
                   checksums: Mapping[str, str] | None = None) -> LoadReport:
    """Load every supported file under `paths` (files or folders, searched recursively).

    A file that cannot be loaded is reported in `LoadReport.problems`, never dropped
    silently; hidden files and folders (names starting with '.') are not searched.
    `names` gives the name a file is known by where it is stored under another (an upload
    kept as "80af75….txt" is "reservoir-update.txt"), keyed by resolved path: a document
    whose text opens with no title line is titled by that name. A file whose bytes have the
    checksum `checksums` gives for it (keyed by resolved path) is not parsed: it is listed in
    `LoadReport.unchanged` (parsing a large HTML or Markdown file takes seconds, and every
    command opening an index checks its files).
    """
    names = {Path(k).resolve(): v for k, v in (names or {}).items()}
    checksums = checksums or {}
    report = LoadReport()
    seen: set[Path] = set()
    for path in expand_paths(paths, report):
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        known = checksums.get(str(resolved))
        if known is not None and _checksum(resolved, max_bytes) == known:
            report.unchanged.append(str(resolved))
            continue
        try:
            # Its source is recorded whole: a relative one would name another file (or
            # none) once the index is used from another folder.
            # Typed and titled by the name it was found under: a link's target may have
            # none ("ferry.txt" -> "../blobs/9f2c1ab", as git-annex keeps files).
            report.documents.append(load_file(resolved, max_bytes=max_bytes,
                                              name=names.get(resolved) or path.name))
        except DocumentError as error:
            log.warning("skipped %s", error)
            report.problems.append(error)
        except Exception as error:  # a parser bug on one file must not stop the others
            log.exception("unexpected error loading %s", path)
            report.problems.append(DocumentError(
                str(path), f"could not be read ({type(error).__name__}: {error})",
                "check the file; the other documents were loaded"))
    return report


def expand_paths(paths: Iterable[str | Path], report: LoadReport) -> list[Path]:
    """Files named directly, plus the supported files found in named folders, sorted."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            own = _briefing_folders(path)
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if any(part.startswith(".") for part in relative) or child.is_dir():
                    continue
                if not child.is_file():
                    if child.suffix.lower() in EXTENSIONS:  # said, not passed over in silence
                        report.problems.append(DocumentError(
                            str(child), "a link to nothing" if child.is_symlink()
                            and not child.exists() else "not a regular file (a pipe, a socket "
                            "or a device)", "point it at a file, or leave it out"))
                    continue
                if own and any(parent in own for parent in child.parents):
                    continue  # an index saved among the documents, and its cache
                if child.parent.name == "cache" and child.name.startswith("embeddings.sqlite"):
                    continue  # the cache of an index being built among them, not yet saved
                if child.suffix.lower() in EXTENSIONS:
                    files.append(child)
                elif child.name.lower() not in ("readme", "license"):
                    report.problems.append(UnsupportedFileError(
                        str(child), f"'{child.suffix or child.name}' files are not read",
                        f"supported types: {SUPPORTED}"))
        elif path.is_file():
            files.append(path)
        elif path.exists():  # reading a pipe named directly would wait for a writer forever
            report.problems.append(DocumentError(
                str(path), "not a regular file (a pipe, a socket or a device)",
                "point it at a file, or leave it out"))
        else:
            report.problems.append(DocumentError(
                str(path), "no such file or folder", "check the path"))
    return files


def _briefing_folders(root: Path) -> set[Path]:
    """Folders under `root` that Briefing wrote, not documents: saved indexes (a
    manifest.json of the index format) and the embedding cache beside each."""
    found = set()
    for manifest in root.rglob("manifest.json"):
        try:
            is_index = '"briefing-index"' in manifest.read_text("utf-8", errors="replace")[:4096]
        except OSError:
            continue
        if is_index:
            found.add(manifest.parent)
            cache = manifest.parent.parent / "cache"
            if (cache / "embeddings.sqlite").is_file():
                found.add(cache)
    return found


def _checksum(path: Path, max_bytes: int) -> str | None:
    """The SHA-256 of a file's bytes, as `Document.checksum` records it; None when it
    cannot be read or is over `max_bytes` (loading it then says why)."""
    try:
        if path.stat().st_size > max_bytes:
            return None
        digest = hashlib.sha256()
        with path.open("rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def load_file(path: str | Path, *, max_bytes: int, name: str | None = None) -> Document:
    """Load one file; `name` (default: the file's) titles a document with no title line.
    Raises `DocumentError` (or a subclass) naming the file and the fix."""
    path = Path(path)
    # The file's own suffix types it; a link's target may have none, and then the name it
    # was found under does ("ferry.txt" -> "blobs/9f2c1ab").
    own = Path(path.name).suffix.lower() in EXTENSIONS
    kind = kind_of(path.name if own or not name else name, source=str(path))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FileTooLargeError(
                str(path), f"{size:,} bytes is over the {max_bytes:,}-byte limit",
                "split the file; from Python, Settings(max_file_bytes=...) raises the limit")
        data = path.read_bytes()
    except OSError as error:
        raise DocumentError(str(path), f"cannot be read: {error.strerror or error}",
                            "check that it exists and is readable") from error
    return load_bytes(data, name=name or path.name, source=str(path), kind=kind,
                      doc_id=document_id(path), max_bytes=max_bytes, from_file=True)


def load_bytes(data: bytes, *, name: str, source: str, max_bytes: int,
               kind: Kind | None = None, doc_id: str | None = None,
               from_file: bool = False) -> Document:
    """Load a document from its bytes; `name` gives the type (by extension) and fallback
    title. `from_file`: the bytes are the file at `source` (Document.from_file)."""
    kind = kind or kind_of(name, source=source)
    if len(data) > max_bytes:
        raise FileTooLargeError(source, f"{len(data):,} bytes is over the {max_bytes:,}-byte limit",
                                "split the file; from Python, Settings(max_file_bytes=...) raises the limit")
    if not data.strip():
        raise DocumentError(source, "the file is empty", "add text to it or leave it out")
    checksum = hashlib.sha256(data).hexdigest()
    pages: tuple[tuple[int, int], ...] = ()
    if kind is Kind.PDF:
        text, pages, title = read_pdf(data, source)
    else:
        raw = decode(data, source)
        if kind is Kind.HTML:
            text, title = read_html(raw)
        elif kind is Kind.MARKDOWN:
            text, title = read_markdown(raw)
            if not _reads_as_title(title):
                title = readable_name(name)  # prose from the first line on
        else:
            text = normalize_text(raw)
            title = first_line_title(text)
            if not _reads_as_title(title):
                title = readable_name(name)  # prose from the first line on
    if not text.strip():
        raise DocumentError(source, "no readable text was found in it",
                            "check that it is not empty or made only of markup")
    stem = Path(name).stem
    return Document(
        id=doc_id or f"{slug(stem)}-{checksum[:8]}",
        title=title or readable_name(name),
        source=source,
        kind=kind,
        text=text,
        checksum=checksum,
        size=len(data),
        pages=pages,
        skipped=skipped_spans(text),
        from_file=from_file,
    )


def text_document(text: str, *, doc_id: str, title: str = "", source: str = "") -> Document:
    """A document from text already in memory (a benchmark corpus, another program's data)."""
    check_document_id(doc_id)
    if not isinstance(text, str) or not text.strip():
        raise DocumentError(source or doc_id, "the text is empty", "give the document some text")
    text = normalize_text(text)
    checksum = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return Document(id=doc_id, title=title or first_line_title(text) or doc_id,
                    source=source or doc_id, kind=Kind.TEXT, text=text, checksum=checksum,
                    size=len(text.encode("utf-8", "surrogatepass")), skipped=skipped_spans(text))


def check_document_id(doc_id: object) -> None:
    """Raise DocumentError unless `doc_id` is text that can name a document: not empty,
    no surrounding spaces, no control characters, tabs or line breaks."""
    if not isinstance(doc_id, str) or not doc_id.strip() or doc_id != doc_id.strip() \
            or _CONTROL.search(doc_id) or any(c in "\t\n\r\v\f\x85\u2028\u2029" for c in doc_id):
        raise DocumentError(repr(doc_id)[:80], "is no document id",
                            "give each document a non-empty text id, such as 'report-2024'")


def kind_of(name: str, *, source: str) -> Kind:
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise UnsupportedFileError(
            source, f"'{suffix or name}' is not a supported file type",
            f"supported types: {SUPPORTED}")
    return EXTENSIONS[suffix]


def document_id(path: Path) -> str:
    """A stable id: readable file stem plus a hash of the absolute path."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{slug(path.stem)}-{digest[:8]}"


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "doc"


# --- decoding -------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def decode(data: bytes, source: str) -> str:
    """Bytes to text: BOMs, then UTF-8, then UTF-16 without BOM, then detection.

    Raises `DocumentError` for bytes that are not text (a binary file named .txt).
    """
    text = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                pass
            break
    if text is None and b"\x00" in data:
        text = _decode_utf16_without_bom(data)
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _mostly_utf8(data) or _detect(data)
    if text is None or _looks_binary(text):
        raise DocumentError(source, "this looks like a binary file, not text",
                            "convert it to UTF-8 text, or give it its real extension")
    return text


def _decode_utf16_without_bom(data: bytes) -> str | None:
    even_zeros = data[0::2].count(0)
    odd_zeros = data[1::2].count(0)
    half = max(len(data) // 2, 1)
    encoding = None
    if odd_zeros > 0.3 * half and even_zeros < 0.05 * half:
        encoding = "utf-16-le"
    elif even_zeros > 0.3 * half and odd_zeros < 0.05 * half:
        encoding = "utf-16-be"
    if encoding is None:
        return None
    try:
        return data[: len(data) // 2 * 2].decode(encoding)
    except UnicodeDecodeError:
        return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few stray bytes (a Windows-1252 "é" pasted into a UTF-8 file, a
    cut file): decoded as UTF-8, each stray byte as Windows-1252 (U+FFFD where that has no
    character), when correct UTF-8 letters outnumber stray bytes. Decoding it all as a
    legacy code page would garble every correct letter ("5 â‚¬", or "Zoﾃｫ" read as
    Shift-JIS); with as many stray bytes or more, the correct letters are more likely
    Windows-1252 pairs that happen to be UTF-8 ("É’"), each accented letter of which
    is a stray byte."""
    text = data.decode("utf-8", errors="replace")
    stray = text.count("\ufffd") - data.count("\ufffd".encode())
    # Phonetic letters, modifiers, combining marks and C1 controls are what Windows-1252
    # pairs decode to by chance ("É’" is "ɒ"), not what UTF-8 text holds: not counted.
    correct = sum(1 for ch in text if ord(ch) > 127 and not 0x80 <= ord(ch) < 0xA0
                  and not 0x250 <= ord(ch) < 0x370) - text.count("\ufffd")
    return data.decode("utf-8", errors=_STRAY_BYTES) if correct > stray else None


def _stray_bytes_as_cp1252(error: UnicodeDecodeError) -> tuple[str, int]:
    stray = error.object[error.start:error.end]
    return stray.decode("cp1252", errors="replace"), error.end


_STRAY_BYTES = "briefing-stray-bytes-as-cp1252"
codecs.register_error(_STRAY_BYTES, _stray_bytes_as_cp1252)


def _detect(data: bytes) -> str | None:
    """Legacy single-byte text: charset-normalizer's guess, but Windows-1252 when it is one
    of the equally plausible decodings (short Western texts fit many code pages equally)."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    least_chaos = min(m.chaos for m in matches)
    for match in matches:
        if match.chaos <= least_chaos + 0.01 and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace")
    return str(min(matches, key=lambda m: m.chaos))


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    sample = text[:65536]
    # A few control characters turn up in real text (pasted from terminals, old editors);
    # binary data has them everywhere.
    return len(_CONTROL.findall(sample)) > max(8, 0.01 * len(sample))


def normalize_text(text: str) -> str:
    """Unify line ends, drop control characters, mark lone surrogates (text that was never
    valid Unicode, which no file can hold) as U+FFFD, and trim trailing space on each line."""
    text = _SURROGATE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text.replace("\f", "\n\n"))
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    return text.strip("\n ") + "\n"


def readable_name(name: str) -> str:
    """A file's name as a title: a name that is not UTF-8 ("caf\\xe9.txt" on disk, a lone
    surrogate in Python, which cannot be saved as text) read as Windows-1252."""
    raw = Path(name).name.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def first_line_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            # "Title | Site name" is how web pages and many exports head a document.
            return line.split(" | ")[0].strip()[:200]
    return ""


TITLE_MAX_WORDS = 20
SHORT_LINE_WORDS = 8
"""A first line this short is the title even when it ends as a sentence ("Owls eat mice.")."""


def _reads_as_title(line: str) -> bool:
    """Whether a plain-text file's first line is its title ("Harbour report 2024"), not
    the first sentence of its prose ("Weapons harbor said shipping report rise...")."""
    words = line.split()
    sentence = ((len(words) > SHORT_LINE_WORDS and bool(re.search(r"[.!;,]$", line)))
                or bool(re.search(r"\b[a-z]{3,}[.!?]\s+[A-Z]", line)))  # "Hello world. The..."
    return 0 < len(words) <= TITLE_MAX_WORDS and not sentence


# --- Markdown -------------------------------------------------------------------------

def read_markdown(raw: str) -> tuple[str, str]:
    """Text of a Markdown file as it reads when rendered, and its first line as title.

    Rendered (CommonMark, with tables) and then read as HTML: quotes carry no `**`, `- ` or
    `|` markup, list items are paragraphs of their own, and a table's rows are spelled
    out with their column names like an HTML table's.
    """
    from markdown_it import MarkdownIt

    raw = _FRONT_MATTER.sub("", raw, count=1)
    markdown = MarkdownIt("commonmark", {"html": True, "maxNesting": 200}).enable(
        ["table", "strikethrough"])
    env: dict = {}
    tokens = markdown.parse(raw, env)
    for token in tokens:
        if token.type == "html_block":
            # A line that is only "<username>" is no HTML either.
            tag = _TAG_NAME.match(token.content.lstrip())
            if tag and tag.group(1).lower() not in _HTML_TAGS:
                token.content = html_escape(token.content)
        children = token.children or ()
        inline_text = any(c.type == "text" and c.content.strip() for c in children)
        for child in children:
            if child.type == "image" and inline_text:
                # An image inside a sentence reads as its alt text ("see the chart below"),
                # not as a gap ("see  below"); one on a line of its own is no text.
                child.type, child.children = "text", None
                continue
            # In a sentence, only formatting is HTML: "Replace <username> with your login",
            # "List<String>", "put it in the <head> section", "<Title>" are text.
            tag = _TAG_NAME.match(child.content) if child.type == "html_inline" else None
            if tag and tag.group(1).lower() not in _INLINE_HTML_TAGS:
                child.type = "text"
    text, _ = read_html(markdown.renderer.render(tokens, markdown.options, env))
    return text, first_line_title(text)


# YAML front matter ("---" lines around "title: ...") opening a Markdown file is metadata.
# It opens on a "key:" line right under the "---": a rule over a paragraph is no metadata.
_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\n[A-Za-z_][\w -]*:.*\n(?:.*\n){0,100}?(?:---|\.\.\.)[ \t]*(?:\n|\Z)")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
_INLINE_HTML_TAGS = frozenset(
    "a abbr b bdi bdo br cite code data del dfn em font i img ins kbd mark q s samp small span "
    "strike strong sub sup time tt u var wbr".split())
_HTML_TAGS = frozenset(
    "a abbr address area article aside audio b base bdi bdo blockquote body br button canvas "
    "caption center cite code col colgroup data datalist dd del details dfn dialog div dl dt em "
    "embed fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html i "
    "iframe img input ins kbd label legend li link main map mark meta meter nav noscript object "
    "ol optgroup option output p param picture pre progress q rp rt ruby s samp script section "
    "select small source span strike strong style sub summary sup svg table tbody td template "
    "textarea tfoot th thead time title tr track tt u ul var video wbr".split())


# --- HTML -----------------------------------------------------------------------------

_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object",
              "embed", "canvas", "button", "select", "input", "textarea", "form", "nav",
              # Struck-out text is what the page no longer says ("the ~~2024~~ 2025 tests").
              "del", "s", "strike")
_BLOCKS = ("p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul",
           "ol", "dl", "dt", "dd", "table", "tr", "blockquote", "pre", "figure", "figcaption",
           "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "details", "summary")


_INDENT = "\ue000"  # a private-use character: no page holds it as text


def read_html(raw: str) -> tuple[str, str]:
    """Visible text of an HTML page, one paragraph per block element, and its <title>."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_INVISIBLE):
        tag.decompose()
    for tag in soup.find_all(_is_hidden):
        tag.decompose()
    for tag in soup.find_all(_is_page_furniture):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all("pre"):
        # Code and configuration keep their indentation, which the spaces collapsed below
        # would lose: held as a character that is no space until then.
        lines = tag.get_text().split("\n")
        tag.string = "\n".join(_INDENT * (len(line) - len(line.lstrip(" \t"))) + line.lstrip(" \t")
                               for line in lines)
    for table in soup.find_all("table"):
        _spell_out_rows(table)
    for tag in soup.find_all(("td", "th")):
        tag.append(" ")
    for tag in soup.find_all(_BLOCKS):
        # Inside the tag, not before it: insert_before looks the tag up among its parent's
        # children, which made a page of 10,000 paragraphs take 20 s to read.
        tag.insert(0, "\n\n")
        tag.append("\n\n")
    paragraphs = []
    for block in re.split(r"\n\s*\n", soup.get_text()):
        lines = [re.sub(r"\s+", " ", line).strip() for line in block.split("\n")]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    text = normalize_text("\n\n".join(paragraphs).replace(_INDENT, " ")) if paragraphs else ""
    if not title and paragraphs and _reads_as_title(first_line_title(paragraphs[0])):
        title = paragraphs[0][:200]  # else titled by its file's name, as a text file is
    return text, first_line_title(title) if title else ""


_HIDING_STYLE = re.compile(r"(^|;)\s*(display\s*:\s*none|visibility\s*:\s*hidden)\b",
                           re.IGNORECASE)


def _is_hidden(tag) -> bool:
    """Whether the page says never to show the element: the `hidden` attribute (not
    "until-found", an accordion's folded text) or an inline style of display: none or
    visibility: hidden. A reader of the page never sees that text, so it is no quote
    ("Invisible: the captain is Zorro"). Not aria-hidden, which only hides from screen
    readers, nor a hidden <html> or <body> (shown by a script once the page has loaded)."""
    if tag.attrs is None or tag.name in ("html", "body"):
        return False
    hidden = tag.get("hidden")
    return ((hidden is not None and str(hidden).lower() != "until-found")
            or bool(_HIDING_STYLE.search(str(tag.get("style", "")))))


# Parts of a page that are not its text, by the names pages give them: cookie notices,
# related-story and newsletter boxes, adverts, breadcrumbs. Only small ones: a name is a
# hint, and "category-social-policy" or "has-ads" may sit on a whole article.
_FURNITURE_NAMES = frozenset({
    "cookie", "cookies", "gdpr", "newsletter", "subscribe", "subscription", "related",
    "promo", "advert", "advertisement", "ads", "breadcrumb", "breadcrumbs", "share",
    "sharing", "social", "skip"})
FURNITURE_MAX_CHARS = 300
"""A box named as furniture is dropped when its text is this short (or mostly links)."""
LINK_LIST_SHARE = 0.5
"""A box, or an <aside>, whose text is mostly link text is a list of links."""
LINK_LIST_MAX_CHARS = 2000


def _is_page_furniture(tag) -> bool:
    if tag.attrs is None or tag.name in ("html", "body", "main", "article", "table"):
        return False
    names = " ".join([tag.get("id") or "", *(tag.get("class") or [])]).lower()
    named = bool(_FURNITURE_NAMES.intersection(re.split(r"[^a-z]+", names)))
    if not named and tag.name != "aside":
        return False
    text = len(tag.get_text(" ", strip=True))
    if text == 0 or (named and text <= FURNITURE_MAX_CHARS):
        return True
    links = sum(len(a.get_text(" ", strip=True)) for a in tag.find_all("a"))
    return text <= LINK_LIST_MAX_CHARS and links / text > LINK_LIST_SHARE


FIELD_NAME_MAX_WORDS = 4
_LAYOUT_BLOCKS = ("p", "div", "section", "article", "ul", "ol", "dl", "blockquote", "pre",
                  "h1", "h2", "h3", "h4", "h5", "h6")


def _spell_out_rows(table) -> None:
    """A table with a header row becomes one line a row, each cell named by its column
    ("Planet: Saturn; Moons: 146."): flattened cell by cell, "Saturn 146" would no longer
    say what 146 counts. A table of two columns with short names on the left and no header
    reads one field a line ("Contact: Helga Berg."). Tables inside tables (page layout) and
    other tables without a header row of <th> cells are left to be read cell by cell."""
    if table.find("table"):
        return
    rows = [[cell.get_text(" ", strip=True) for cell in row.find_all(("th", "td"))]
            for row in table.find_all("tr")]
    first = table.find("tr")
    header = rows[0] if rows and first is not None and first.find("th") else []
    if not header and len(rows) >= 2 and all(len(cells) == 2 and cells[0] for cells in rows) \
            and all(len(cells[0].split()) <= FIELD_NAME_MAX_WORDS for cells in rows) \
            and not table.find(_LAYOUT_BLOCKS):  # a page laid out in a table holds paragraphs
        # Two columns, names on the left ("Contact | Helga Berg"): one field a line.
        lines = [f"{name.rstrip(':')}: {value}" if value else name for name, value in rows]
        table.clear()
        table.append("\n\n".join(_end_as_sentence(line) for line in lines))
        return
    if len(header) < 2 or len(rows) < 2 or not all(header):
        return
    caption = table.find("caption")
    lines = [caption.get_text(" ", strip=True)] if caption else []
    for cells in rows[1:]:
        if len(cells) == len(header):
            named = [f"{name}: {cell}" for name, cell in zip(header, cells, strict=True) if cell]
            line = "; ".join(named)
        else:
            line = " ".join(cell for cell in cells if cell)
        if line:
            lines.append(_end_as_sentence(line))
    table.clear()
    table.append("\n\n".join(lines))


def _end_as_sentence(line: str) -> str:
    """A row read as a sentence ends as one, unless it ends on a web address."""
    return line if line[-1] in ".!?" or re.search(r"(https?://|www\.)\S+$", line) \
        else line + "."


# --- PDF ------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?:;][\"”’')\]]*$")


def _runs_on(page: str, next_page: str) -> bool:
    """Whether a sentence runs on from `page` into `next_page`: the page ends without a
    sentence's end and the next starts in lower case ("...talks that lasted" / "three
    years...")."""
    return bool(page) and not _SENTENCE_END.search(page) and next_page[:1].islower()


def read_pdf(data: bytes, source: str) -> tuple[str, tuple[tuple[int, int], ...], str]:
    """Text of each page, joined by blank lines, with each page's span and the title."""
    if b"%PDF-" not in data[:1024]:  # every PDF says so at its start
        raise DocumentError(source, "this is not a PDF (it does not start with %PDF)",
                            "give it its real extension, or re-download the PDF")
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    # pypdf logs what it repairs ("EOF marker not found") as warnings; a file it cannot
    # read is reported below, as a DocumentError naming the file.
    pypdf_log.setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(source, "the PDF is encrypted with a password",
                                "save an unencrypted copy and add that")
        page_texts = [normalize_text((page.extract_text() or "").translate(_LIGATURES)).strip()
                      for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except DocumentError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError,
            NotImplementedError, RecursionError, AssertionError, IndexError) as error:
        raise DocumentError(source, f"the PDF is damaged or truncated ({error})",
                            "re-export or re-download the PDF") from error
    finally:
        pypdf_log.setLevel(level)
    if not any(page_texts):
        raise DocumentError(source, "the PDF has no text layer (a scan?)",
                            "run OCR on it first, for example with ocrmypdf")
    # The title line is read before running lines go: a report's title is often also its
    # running header. A printed page's date, URL or page number is no title.
    first_line = next((line for line in "\n".join(page_texts).splitlines()
                       if "://" not in line and len(re.findall(r"[^\W\d_]{2,}", line)) >= 2),
                      "")
    first_line = first_line_title(first_line or "\n".join(page_texts))
    page_texts = drop_running_lines(page_texts)
    parts, pages, offset = [], [], 0
    for page_text in page_texts:
        if parts:
            # A page break is a paragraph break, unless a sentence runs on over it.
            parts.append("\n" if _runs_on(parts[-1], page_text) else "\n\n")
            offset += len(parts[-1])
        parts.append(page_text)
        pages.append((offset, offset + len(page_text)))
        offset += len(page_text)
    text = "".join(parts) + "\n"
    meta_title = _WORD_PROCESSOR.sub("", str(meta_title)).strip()
    if _FILE_NAME.match(meta_title) or _NO_TITLE.match(meta_title) or _URL.match(meta_title):
        meta_title = ""  # a file's name, "Untitled", a browser's "about:blank" or a page's URL
    # Prose from the first line on is no title: titled by the file's name, as a text file.
    title = meta_title[:200] or (first_line if _reads_as_title(first_line) else "")
    return text, tuple(pages), title


# PDF text holds typographic ligatures ("ﬁle"), which no one types in a question.
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
                            "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"})
_WORD_PROCESSOR = re.compile(r"^(Microsoft (Word|PowerPoint|Excel) - )")
_URL = re.compile(r"^(about:|data:|blob:|file:|https?://|www\.)\S*$", re.IGNORECASE)
_NO_TITLE = re.compile(r"^(untitled|document|title)\s*-?\s*\d*$", re.IGNORECASE)
_FILE_NAME = re.compile(r"^.*\.(html?|pdf|docx?|odt|rtf|txt|md|pptx?|xlsx?)$", re.IGNORECASE)
RUNNING_LINES = 3
"""Lines at the top and at the bottom of a page read for running headers and footers."""
RUNNING_MAX_WORDS = 10
_ENDS_SENTENCE = re.compile(r"[.!?][\"”’')\]]*$")


def drop_running_lines(pages: list[str]) -> list[str]:
    """Each page without its running headers and footers: a line among the first or last
    RUNNING_LINES of most pages, the same on each but for its digits (a title, a date, a
    URL, "Page 3 of 9"). Only short lines that are not sentences count: "Always wear a
    helmet." repeated on every page is text. A document of one page keeps every line."""
    if len(pages) < 2:
        return pages

    def key(line: str) -> str | None:
        line = " ".join(line.split())
        # Words of letters: a running line's numbers ("EWF-2024-1187 | Year 2 progress
        # report | Confidential to the Foundation") are no sign of prose.
        if (_ENDS_SENTENCE.search(line)
                or len(re.findall(r"[^\W\d_]+", line)) >= RUNNING_MAX_WORDS):
            return None
        return re.sub(r"\d+", "#", line.lower())

    edges = []
    for page in pages:
        lines = [line for line in page.splitlines() if line.strip()]
        edges.append({key(line) for line in lines[:RUNNING_LINES] + lines[-RUNNING_LINES:]}
                     - {None})
    counts: dict[str, int] = {}
    for found in edges:
        for k in found:
            counts[k] = counts.get(k, 0) + 1
    running = {k for k, n in counts.items() if n >= max(2, math.ceil(0.6 * len(pages)))}
    if not running:
        return pages
    kept = []
    for page in pages:
        lines = page.splitlines()
        filled = [i for i, line in enumerate(lines) if line.strip()]
        edge = set(filled[:RUNNING_LINES] + filled[-RUNNING_LINES:])
        kept.append("\n".join(line for i, line in enumerate(lines)
                              if not (i in edge and key(line) in running)).strip())
    return kept if any(kept) else pages


# --- repeats and boilerplate ------------------------------------------------------------

_BOILERPLATE = re.compile(
    r"^(catch all the .*news|download the .* app|subscribe (now|to|today)|sign up for"
    r"|follow us on|click here to|read more:|advertisement$|share this (article|story)"
    r"|all rights reserved|copyright( ©| \(c\))? \d{4}|copyright ©|\(c\) \d{4}|© \d{4}"
    r"|we use cookies|this (web)?site uses cookies|share (on|via) |privacy policy\b)",
    re.IGNORECASE,
)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of each paragraph: runs of non-blank lines, trimmed of spaces."""
    spans = []
    for match in re.finditer(r"[^\n]+(?:\n[ \t]*[^\s][^\n]*)*", text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


def skipped_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Paragraphs never to quote: exact repeats of an earlier paragraph, and boilerplate.

    Boilerplate here is the promotional footer news sites append ("Download the ... App",
    "Subscribe to ..."); it is matched only as a short paragraph of its own.
    """
    seen: set[str] = set()
    skipped = []
    for start, end in paragraph_spans(text):
        key = re.sub(r"\s+", " ", text[start:end]).strip().lower()
        if key in seen or (len(key) < 300 and _BOILERPLATE.match(key)):
            skipped.append((start, end))
        seen.add(key)
    return tuple(skipped)
