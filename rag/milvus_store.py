"""A store in Milvus: Milvus Lite in a .db file, or a Milvus server or cluster by address.

Three collections per corpus, named `<name>_passages`, `<name>_sentences` and
`<name>_documents` (`name` is 'briefing' unless the URI says `?collection=NAME`):

- passages: one row per chunk, its vector (inner product over unit vectors, as FAISS),
  and its title and text in an analyzed VARCHAR field that Milvus's BM25 function turns
  into a sparse vector, so keyword search runs inside Milvus;
- sentences: one row per sentence vector, keyed `<chunk id>#<position>`;
- documents: the loaded documents (split in parts under Milvus's VARCHAR limit), so
  that bulk ingestion can resume by checksum and other processes can read them.

The passages collection's description holds the facts the vectors depend on (model,
dimension, chunking, analyzer); opening it with other settings raises IndexMismatchError.
"""

from __future__ import annotations

import json
import logging
import string
import time
import warnings
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from .chunk import Chunk
from .errors import IndexMismatchError, StoreError
from .keywords import BM25_B, BM25_K1
from .load import Document
from .store import check_add, ivf_probes

log = logging.getLogger(__name__)

FORMAT = "briefing-milvus"
FORMAT_VERSION = 1
SAVED_FILE = "milvus.json"
DEFAULT_COLLECTION = "briefing"

ANALYZER_VERSION = "english-stop-snowball-1"
"""Named in the facts: a change to `analyzer_params` means re-indexing."""
# Milvus's VARCHAR holds at most 65,535 bytes; a character takes up to 4 bytes in UTF-8.
MAX_VARCHAR_BYTES = 65_535
DOCUMENT_PART_CHARS = 16_000
MAX_ID_BYTES = 1_024
MAX_TOP_K = 16_384  # Milvus refuses a larger limit on one search
MILVUS_IVF_LISTS = 1_024
"""Inverted lists of an IVF_SQ8 collection: Milvus fixes them when the index is made,
before the corpus size is known; 1,024 suits about a million passages."""
WRITE_BATCH = 500  # rows per insert: far below gRPC's 64 MB message limit at 384 dimensions
CHUNK_CACHE = 4_096
FIELDS = ["id", "doc_id", "title", "content", "start", "end", "sentences", "added"]


def analyzer_params() -> dict:
    """Milvus analyzer settings matching rag.keywords.tokenize (bm25s) as closely as Milvus allows.

    bm25s lower-cases, keeps tokens of two or more word characters, drops its English
    stop words, then applies the Snowball English stemmer (PyStemmer). Milvus has no
    minimum token length, so single letters and digits join the stop words. Briefing's
    own index also keeps a digit alone after a word ("Warehouse 7"); Milvus's standard
    tokenizer splits "4.2.0" into digits as well, which would match every other number,
    so on Milvus "Warehouse 7" is searched as "Warehouse".
    """
    from bm25s.stopwords import STOPWORDS_EN

    singles = list(string.ascii_lowercase + string.digits)
    return {"tokenizer": "standard",
            "filter": ["lowercase",
                       {"type": "stop", "stop_words": sorted(set(STOPWORDS_EN)) + singles},
                       {"type": "stemmer", "language": "english"}]}


def client_uri(store: str) -> str:
    """The pymilvus URI for a Settings.store value: a .db path or an http address.

    'milvus:///abs/path/x.db' is Milvus Lite; 'milvus://host:19530' a server.
    """
    parts = urlsplit(store)
    if parts.scheme != "milvus":
        raise ValueError(f"a Milvus store URI starts with milvus://, got {store!r}")
    if parts.netloc.endswith(".db"):
        raise ValueError(f"cannot read the Milvus URI {store!r}: a Milvus Lite file needs an "
                         f"absolute path after three slashes, as in milvus:///abs/path/"
                         f"{parts.netloc}")
    if parts.netloc and not parts.path.strip("/"):
        port = "" if parts.port else ":19530"
        return f"http://{parts.netloc}{port}"
    if not parts.netloc and parts.path.endswith(".db"):
        return parts.path
    raise ValueError(f"cannot read the Milvus URI {store!r}: give milvus:///absolute/path/"
                     "briefing.db (Milvus Lite) or milvus://host:19530 (a Milvus server)")


def collection_name(store: str) -> str:
    """The collection prefix in the URI (`?collection=NAME`), 'briefing' by default."""
    names = parse_qs(urlsplit(store).query).get("collection", [DEFAULT_COLLECTION])
    name = names[0]
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"collection={name!r} in the store URI must start with a letter and "
                         "hold only letters, digits and '_'")
    return name


def facts_of(settings, dimension: int) -> dict:
    """What the stored vectors and keyword index depend on (the URI itself is not one)."""
    facts = {k: v for k, v in settings.index_facts().items() if k != "store"}
    return facts | {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "dimension": dimension, "analyzer": ANALYZER_VERSION,
                    "bm25_k1": BM25_K1, "bm25_b": BM25_B}


def dense_index_type(settings, uri: str) -> str:
    """FLAT (exact), IVF_SQ8 (IVF_FLAT in Milvus Lite), or AUTOINDEX: 'auto' is exact in Milvus Lite and the server's
    own choice on a server (HNSW on Milvus standalone and clusters)."""
    if settings.dense_index == "flat":
        return "FLAT"
    if settings.dense_index == "ivf":  # Milvus Lite has no IVF_SQ8
        return "IVF_FLAT" if uri.endswith(".db") else "IVF_SQ8"
    return "FLAT" if uri.endswith(".db") else "AUTOINDEX"


def id_filter(field: str, values: Iterable[str]) -> str:
    """A Milvus expression `field in [...]`; JSON string literals are Milvus string literals."""
    return f"{field} in {json.dumps(sorted(set(values)), ensure_ascii=False)}"


class MilvusStore:
    """Passages, sentence vectors and documents in Milvus collections (see the module doc)."""

    outdated = False  # Milvus keeps the data; nothing local to write again

    def __init__(self, client, *, uri: str, store: str, name: str, dimension: int,
                 index_type: str) -> None:
        self._client = client
        self.uri = uri
        self.store = store
        self.name = name
        self.dimension = dimension
        self.index_type = index_type
        self.passages = f"{name}_passages"
        self.sentences = f"{name}_sentences"
        self.documents_collection = f"{name}_documents"
        # Recently seen passages with the `added` stamp of the write they come from.
        self._chunks: OrderedDict[str, tuple[int, Chunk]] = OrderedDict()

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def create(cls, settings, dimension: int) -> MilvusStore:
        """The store `settings.store` names: its collections are made when missing, and
        refused (IndexMismatchError) when they hold vectors of other settings."""
        return cls.connect(settings.store, facts=facts_of(settings, dimension),
                           index_type=dense_index_type(settings, client_uri(settings.store)))

    @classmethod
    def load(cls, settings, folder: Path, dimension: int) -> MilvusStore:
        """The store whose URI and collection name `save` wrote into `folder`."""
        path = Path(folder) / SAVED_FILE
        try:
            saved = json.loads(path.read_text("utf-8"))
            store, name = saved["store"], saved["collection"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{SAVED_FILE} cannot be read ({error})") from error
        if collection_name(store) != name:
            raise ValueError(f"{SAVED_FILE} names collection {name!r} but its URI {store!r} "
                             f"names {collection_name(store)!r}")
        return cls.connect(store, facts=facts_of(settings, dimension),
                           index_type=dense_index_type(settings, client_uri(store)))

    @classmethod
    def connect(cls, store: str, *, facts: dict, index_type: str) -> MilvusStore:
        with warnings.catch_warnings():
            # milvus-lite 2.5 imports pkg_resources, which warns on every command.
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            try:
                import milvus_lite  # noqa: F401
            except ImportError:  # a Milvus server needs no Milvus Lite
                pass
        from pymilvus import MilvusClient

        # pymilvus warns on each iterator that a local Milvus Lite gives no server timestamp.
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        uri = client_uri(store)
        try:
            if uri.endswith(".db"):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            opened = cls(MilvusClient(uri=uri), uri=uri, store=store,
                         name=collection_name(store), dimension=facts["dimension"],
                         index_type=index_type)
        except Exception as error:  # pymilvus raises its own MilvusException, not OSError
            raise StoreError(f"cannot open the Milvus store {store} ({uri}): "
                             f"{getattr(error, 'message', None) or error}") from error
        opened._open_collections(facts)
        return opened

    def _open_collections(self, facts: dict) -> None:
        if self._client.has_collection(self.passages):
            self._check_facts(facts)
        else:
            self._create_passages(facts)
        for name, make in ((self.sentences, self._create_sentences),
                           (self.documents_collection, self._create_documents)):
            if not self._client.has_collection(name):
                make()
        for name in (self.passages, self.sentences, self.documents_collection):
            self._client.load_collection(name)

    def _check_facts(self, facts: dict) -> None:
        description = self._client.describe_collection(self.passages).get("description", "")
        try:
            stored = json.loads(description)
        except ValueError:
            stored = None
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            raise IndexMismatchError(
                f"The Milvus collection {self.passages!r} at {self.uri} was not made by "
                f"Briefing. Name another collection: {self.store.split('?')[0]}"
                "?collection=NAME")
        differ = {k: (stored.get(k), v) for k, v in facts.items() if stored.get(k) != v}
        if differ:
            detail = ", ".join(f"{k} is {old!r} there but {new!r} here"
                               for k, (old, new) in differ.items())
            raise IndexMismatchError(
                f"The Milvus collection {self.passages!r} at {self.uri} was built with other "
                f"settings ({detail}). Use the settings it was built with, name another "
                f"collection ({self.store.split('?')[0]}?collection=NAME), or drop its three "
                f"collections ({self.name}_passages, _sentences, _documents) and re-index.")

    # --- schemas ------------------------------------------------------------------------

    def _create_passages(self, facts: dict) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False,
                                            description=json.dumps(facts, sort_keys=True))
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
        schema.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        # Title and text, as FaissStore indexes them for BM25; the text is what follows
        # the title's line.
        schema.add_field("content", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES,
                         enable_analyzer=True, analyzer_params=analyzer_params())
        schema.add_field("keywords", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("sentences", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        schema.add_field("added", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["content"],
                                     output_field_names=["keywords"]))
        indexes = self._client.prepare_index_params()
        indexes.add_index("vector", **self._dense_index_params())
        indexes.add_index("keywords", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                          params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        try:
            self._client.create_collection(self.passages, schema=schema, index_params=indexes,
                                           consistency_level="Strong")
        except Exception:
            # A collection left without its indexes could never be searched.
            self._client.drop_collection(self.passages)
            raise

    def _dense_index_params(self) -> dict:
        if self.index_type in ("IVF_SQ8", "IVF_FLAT"):
            return {"index_type": self.index_type, "metric_type": "IP",
                    "params": {"nlist": MILVUS_IVF_LISTS}}
        return {"index_type": self.index_type, "metric_type": "IP"}

    def _create_sentences(self) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
        # float16, as FaissStore keeps them: half the memory, cosines equal to 3 decimals.
        schema.add_field("vector", DataType.FLOAT16_VECTOR, dim=self.dimension)
        indexes = self._client.prepare_index_params()
        indexes.add_index("vector", index_type="FLAT", metric_type="IP")
        self._client.create_collection(self.sentences, schema=schema, index_params=indexes,
                                       consistency_level="Strong")

    def _create_documents(self) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
        schema.add_field("checksum", DataType.VARCHAR, max_length=128)
        schema.add_field("part", DataType.INT64)
        schema.add_field("parts", DataType.INT64)
        schema.add_field("data", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        # Milvus wants a vector field in every collection; documents are never searched.
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        indexes = self._client.prepare_index_params()
        indexes.add_index("unused", index_type="FLAT", metric_type="L2")
        self._client.create_collection(self.documents_collection, schema=schema,
                                       index_params=indexes, consistency_level="Strong")

    # --- changes ------------------------------------------------------------------------

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            sentence_vectors: Sequence[np.ndarray]) -> None:
        """Write passages and their sentence vectors; writing the same chunk id again
        replaces it (upsert), so a retried batch never duplicates a passage."""
        check_add(chunks, vectors, sentence_vectors)
        if not chunks:
            return
        vectors = _as_matrix(vectors, self.dimension)
        added = time.time_ns()
        rows = [passage_row(c, v, added + i)
                for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))]
        sentence_rows = [{"id": f"{c.id}#{i}", "doc_id": c.doc_id, "vector": row}
                         for c, m in zip(chunks, sentence_vectors, strict=True)
                         for i, row in enumerate(_as_matrix(m, self.dimension)
                                                 .astype(np.float16))]
        self._upsert(self.sentences, sentence_rows)
        self._upsert(self.passages, rows)
        for chunk, row in zip(chunks, rows, strict=True):
            self._remember(row["added"], chunk)

    def delete(self, doc_ids: Iterable[str]) -> None:
        """Remove the passages, sentence vectors and document records of these documents."""
        doc_ids = sorted(set(doc_ids))
        if not doc_ids:
            return
        for name in (self.passages, self.sentences, self.documents_collection):
            self._client.delete(name, filter=id_filter("doc_id", doc_ids))
        wanted = set(doc_ids)
        for chunk_id in [k for k, (_, c) in self._chunks.items() if c.doc_id in wanted]:
            del self._chunks[chunk_id]

    def put_documents(self, documents: Sequence[Document]) -> None:
        """Record loaded documents (after their passages: a recorded document is complete)."""
        rows = [row for d in documents for row in document_rows(d)]
        if documents:
            # A document that shrank leaves no stale parts behind.
            self._client.delete(self.documents_collection,
                                filter=id_filter("doc_id", [d.id for d in documents]))
        self._upsert(self.documents_collection, rows)

    def _upsert(self, collection: str, rows: list[dict]) -> None:
        for i in range(0, len(rows), WRITE_BATCH):
            self._client.upsert(collection, rows[i:i + WRITE_BATCH])

    # --- reads --------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count(self.passages)

    @property
    def chunks(self) -> list[Chunk]:
        rows = self._scan(self.passages, FIELDS)
        rows.sort(key=lambda r: (r["added"], r["id"]))
        return [chunk_of(r) for r in rows]

    def passage_counts(self) -> dict[str, int]:
        return dict(Counter(r["doc_id"] for r in self._scan(self.passages, ["doc_id"])))

    def get(self, chunk_id: str) -> Chunk:
        if chunk_id in self._chunks:
            self._chunks.move_to_end(chunk_id)
            return self._chunks[chunk_id][1]
        rows = self._client.get(self.passages, ids=[chunk_id], output_fields=FIELDS)
        if not rows:
            raise KeyError(chunk_id)
        return self._remember(rows[0]["added"], chunk_of(rows[0]))

    def sentence_vectors(self, chunk_id: str) -> np.ndarray:
        count = len(self.get(chunk_id).sentences)
        ids = [f"{chunk_id}#{i}" for i in range(count)]
        rows = {r["id"]: r["vector"] for r in
                self._client.get(self.sentences, ids=ids, output_fields=["id", "vector"])}
        missing = [i for i in ids if i not in rows]
        if len(missing) == count:  # stored without sentence vectors
            return np.zeros((0, self.dimension), dtype=np.float32)
        if missing:
            raise KeyError(f"sentence vectors {missing[0]} missing from {self.sentences}")
        block = np.zeros((count, self.dimension), dtype=np.float32)
        for n, sentence_id in enumerate(ids):
            block[n] = float16_vector(rows[sentence_id])
        return block

    def dense_search(self, vector: np.ndarray, k: int,
                     doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        query = np.asarray(vector, dtype=np.float32).reshape(-1).tolist()
        params = {"metric_type": "IP"}
        if self.index_type in ("IVF_SQ8", "IVF_FLAT"):
            params["params"] = {"nprobe": ivf_probes(MILVUS_IVF_LISTS)}
        return self._search([query], "vector", k, doc_ids, params)

    def keyword_search(self, query: str, k: int,
                       doc_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        hits = self._search([query], "keywords", k, doc_ids, {"metric_type": "BM25"})
        return [(chunk_id, score) for chunk_id, score in hits if score > 0]

    def _search(self, data: list, field: str, k: int, doc_ids: Iterable[str] | None,
                params: dict) -> list[tuple[str, float]]:
        wanted = None if doc_ids is None else sorted(set(doc_ids))
        if wanted == []:  # Milvus fails on `doc_id in []`
            return []
        results = self._client.search(
            self.passages, data=data, anns_field=field, limit=min(k, MAX_TOP_K),
            filter=id_filter("doc_id", wanted) if wanted is not None else "",
            output_fields=["added"], search_params=params)
        hits = [(hit["id"], float(hit["distance"])) for hit in results[0]]
        self._prefetch({hit["id"]: hit["entity"]["added"] for hit in results[0]})
        return hits

    def _prefetch(self, versions: dict[str, int]) -> None:
        """Fetch the passages not cached, or cached from an older write (another process
        may have re-indexed the document), in one call: the index's `get` for each result
        then needs no round trip. pymilvus parses text fields of search results slowly."""
        stale = [i for i, added in versions.items()
                 if i not in self._chunks or self._chunks[i][0] != added]
        if stale:
            for row in self._client.get(self.passages, ids=stale, output_fields=FIELDS):
                self._remember(row["added"], chunk_of(row))

    def documents(self, doc_ids: Iterable[str] | None = None) -> list[Document]:
        """The recorded documents (all, or these ids), in id order."""
        expression = "" if doc_ids is None else id_filter("doc_id", doc_ids)
        if doc_ids is not None and expression.endswith("[]"):
            return []
        rows = self._scan(self.documents_collection, ["doc_id", "part", "parts", "data"],
                          expression)
        return documents_of(rows)

    def checksums(self) -> dict[str, str]:
        """`doc_id -> checksum` of every recorded document (what ingestion may skip)."""
        rows = self._scan(self.documents_collection, ["doc_id", "checksum", "part"],
                          "part == 0")
        return {r["doc_id"]: r["checksum"] for r in rows}

    def counts(self) -> dict[str, int]:
        """Rows in each of the three collections, by collection name."""
        return {name: self._count(name)
                for name in (self.passages, self.sentences, self.documents_collection)}

    def _count(self, collection: str) -> int:
        rows = self._client.query(collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def _scan(self, collection: str, fields: list[str], expression: str = "") -> list[dict]:
        iterator = self._client.query_iterator(collection, batch_size=1000, filter=expression,
                                               output_fields=fields)
        rows: list[dict] = []
        try:
            while batch := iterator.next():
                rows.extend(batch)
        finally:
            iterator.close()
        return rows

    def _remember(self, added: int, chunk: Chunk) -> Chunk:
        self._chunks[chunk.id] = (added, chunk)
        self._chunks.move_to_end(chunk.id)
        while len(self._chunks) > CHUNK_CACHE:
            self._chunks.popitem(last=False)
        return chunk

    # --- files --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write where the collections are (the data itself stays in Milvus)."""
        record = {"format": FORMAT, "format_version": FORMAT_VERSION, "store": self.store,
                  "collection": self.name,
                  "collections": [self.passages, self.sentences, self.documents_collection]}
        (Path(folder) / SAVED_FILE).write_text(json.dumps(record, indent=2), "utf-8")

    def drop(self) -> None:
        """Delete the three collections and everything in them."""
        for name in (self.passages, self.sentences, self.documents_collection):
            self._client.drop_collection(name)
        self._chunks.clear()

    def close(self) -> None:
        self._client.close()


# --- rows --------------------------------------------------------------------------------

def passage_row(chunk: Chunk, vector: np.ndarray, added: int) -> dict:
    """A chunk as a row of the passages collection. Raises ValueError when a field is too long."""
    content = f"{chunk.title}\n{chunk.text}"
    sentences = json.dumps([list(s) for s in chunk.sentences])
    for field, value, limit in (("id", chunk.id, MAX_ID_BYTES),
                                ("title and text", content, MAX_VARCHAR_BYTES),
                                ("sentences", sentences, MAX_VARCHAR_BYTES)):
        if len(value.encode("utf-8", "surrogatepass")) > limit:
            raise ValueError(f"chunk {chunk.id[:80]}: its {field} exceed Milvus's {limit:,}-byte "
                             "VARCHAR limit; lower Settings.chunk_chars or max_sentence_chars")
    return {"id": chunk.id, "doc_id": chunk.doc_id, "title": chunk.title, "content": content,
            "start": chunk.start, "end": chunk.end, "sentences": sentences, "added": added,
            "vector": vector.tolist()}


def chunk_of(row: dict) -> Chunk:
    """The chunk a passages row holds."""
    title = row["title"]
    return Chunk(doc_id=row["doc_id"], title=title, start=int(row["start"]),
                 end=int(row["end"]), text=row["content"][len(title) + 1:],
                 sentences=tuple(tuple(s) for s in json.loads(row["sentences"])))


def document_rows(document: Document) -> list[dict]:
    """A document as rows of at most DOCUMENT_PART_CHARS characters of its JSON record."""
    data = json.dumps(document.to_record(), ensure_ascii=False)
    pieces = [data[i:i + DOCUMENT_PART_CHARS] for i in range(0, len(data), DOCUMENT_PART_CHARS)]
    return [{"id": f"{document.id}#{n}", "doc_id": document.id, "checksum": document.checksum,
             "part": n, "parts": len(pieces), "data": piece, "unused": [0.0, 0.0]}
            for n, piece in enumerate(pieces)]


def documents_of(rows: list[dict]) -> list[Document]:
    """Documents reassembled from their parts; a document missing a part is left out."""
    parts: dict[str, dict[int, str]] = {}
    expected: dict[str, int] = {}
    for row in rows:
        parts.setdefault(row["doc_id"], {})[int(row["part"])] = row["data"]
        expected[row["doc_id"]] = int(row["parts"])
    documents = []
    for doc_id in sorted(parts):
        if len(parts[doc_id]) != expected[doc_id]:
            log.warning("document %s is missing parts in Milvus; skipped", doc_id)
            continue
        data = "".join(parts[doc_id][n] for n in range(expected[doc_id]))
        documents.append(Document.from_record(json.loads(data)))
    return documents


def float16_vector(value) -> np.ndarray:
    """A FLOAT16_VECTOR as pymilvus returns it (raw bytes, alone or in a list) in float32."""
    raw = value[0] if isinstance(value, list) else value
    return np.frombuffer(raw, dtype=np.float16).astype(np.float32)


def _as_matrix(vectors: np.ndarray, dimension: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dimension:
        raise ValueError(f"expected vectors of dimension {dimension}, got shape {matrix.shape}")
    return matrix
