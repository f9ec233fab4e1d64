"""A persistent search index of procedures on Qdrant: Matryoshka dense vectors, a Catalan BM25 sparse vector
and each row's fields, in a local folder (Qdrant's embedded mode, the default), in memory or on a server.

A build writes a new collection and then moves the index's alias onto it, so an interrupted build leaves the
previous index as it was; unchanged documents keep their embeddings. Hybrid search fuses each question's
candidates exactly as `retrieval.hybrid_scores` does, so the index ranks as the package's evaluation.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import index_store as store
from .corpus import Procedure, load_procedures
from .errors import DataError, SearchIndexError
from .fusion_weights import bm25_weight_for
from .matryoshka import check_dim, truncate
from .retrieval import BM25_PARAMETERS, HYBRID_DEPTH, MODES, FusionMethod, SearchMode

#: The cuts stored by default: 64-d for the first pass, 384-d for rescoring.
DEFAULT_DIMS: tuple[int, ...] = (64, 384)
#: How many first-pass candidates (smallest cut) are rescored at the searched size; 0 searches that size directly.
PREFETCH = 200
COLLECTION = "procedures"
_HASH_KEY = "sitges_hash"  # payload: the embedded text's hash (reuse) and the whole row's (nothing-to-do check)
_ROW_KEY = "sitges_row_hash"
_UPSERT_BATCH = 256


@dataclass(frozen=True)
class IndexHit:
    """One search result: the procedure's id, title and score, and its whole payload (text and other fields)."""

    id: str
    title: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "title": self.title, **self.payload}


@dataclass(frozen=True)
class BuildReport:
    """What a build did: documents now in the index; new and changed ones embedded, unchanged ones reused."""

    documents: int
    new: int
    changed: int
    unchanged: int
    removed: int
    seconds: float
    where: str = ""

    def __str__(self) -> str:
        return (
            f"Indexed {self.documents} documents in {self.where}: {self.new} new and {self.changed} changed "
            f"(embedded), {self.unchanged} unchanged (reused), {self.removed} removed ({self.seconds:.1f} s)."
        )


class Index:
    """A procedures index: `Index("my-index")` (local folder), `Index(":memory:")` or `Index(url=...)`.

    `build(model, corpus)` embeds and stores; `search(question)` / `search_many(questions)` answer with the model
    the index records; `info()` describes it. Use it as a context manager, or `close()` it (local mode locks
    its folder while open).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        url: str | None = None,
        api_key: str | None = None,
        collection: str = COLLECTION,
        device: str | None = None,
    ):
        if (path is None) == (url is None):
            raise SearchIndexError("Give either an index folder (path) or a Qdrant server (url), not both or neither.")
        self.path, self.url, self.api_key, self.collection, self.device = path, url, api_key, collection, device
        self.where = store.where(path, url)
        self._client: Any = None
        self._model: Any = None
        self._record: dict[str, Any] | None = None

    # ------------------------------------------------------------------ lifecycle

    def _open(self, *, create: bool = False) -> Any:
        if self._client is None:
            self._client = store.open_client(self.path, url=self.url, api_key=self.api_key, create=create)
        return self._client

    def close(self) -> None:
        """Release the index (and, in local mode, its folder's lock)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current(self) -> tuple[str | None, dict[str, Any] | None]:
        """The collection the index's alias points at, and the record a build left in it (None, None if unbuilt)."""
        client = self._open()
        aliases = {alias.alias_name: alias.collection_name for alias in client.get_aliases().aliases}
        target = aliases.get(self.collection)
        if target is None:
            if client.collection_exists(self.collection):
                raise SearchIndexError(
                    f"{self.where} has a collection {self.collection!r} that sitges-retriever did not build; "
                    "choose another collection name."
                )
            return None, None
        try:
            metadata = client.get_collection(target).config.metadata or {}
        except Exception as error:  # the alias outlived its collection, or the collection cannot be read
            raise store.damaged(self.where, error) from error
        record = metadata.get(store.METADATA_KEY)
        if not isinstance(record, dict) or record.get("format") != store.FORMAT:
            raise store.damaged(self.where, f"collection {target} has no sitges-retriever record")
        return target, record

    def _built(self) -> dict[str, Any]:
        if self._record is None:
            _, record = self._current()
            if record is None:
                raise SearchIndexError(f"{self.where} holds no index yet; run `sitges-retriever index build` first.")
            self._record = record
        return self._record

    # ------------------------------------------------------------------ build

    def build(
        self,
        model: str | Path,
        corpus: Sequence[Procedure] | str | Path | None = None,
        *,
        revision: str | None = None,
        dims: Sequence[int] = DEFAULT_DIMS,
        recreate: bool = False,
        batch_size: int = 32,
    ) -> BuildReport:
        """Index `corpus` (procedures, or a file as `load_procedures` reads it; default: the demo set) with `model`.

        A rebuild follows the corpus: new and changed texts are embedded, unchanged ones keep their vectors, removed
        ids are dropped. Building with another model than the index records is refused unless `recreate`.
        """
        started = time.perf_counter()
        procedures: list[Procedure] = (
            list(corpus) if _is_procedures(corpus) else load_procedures(corpus)  # type: ignore[arg-type]
        )
        if not procedures:
            raise DataError("The corpus holds no procedures; give a file with at least one row with a 'text'.")
        if duplicates := sorted(i for i, n in Counter(p.id for p in procedures).items() if n > 1)[:3]:
            raise DataError(f"The corpus repeats the ids {duplicates}; give every procedure its own id.")
        dims = sorted({check_dim(dim) for dim in dims})
        with store.build_lock(None if self.url else self.path):
            self._open(create=True)
            encoder = self._load(model, revision)
            record = {
                "format": store.FORMAT,
                "model": str(Path(model).resolve()) if Path(model).exists() else str(model),
                "revision": revision,
                "dims": dims,
                "prompts": dict(getattr(encoder, "prompts", None) or {}),
                "embedding_dim": int(store.embedding_dim(encoder)),
                "bm25": dict(BM25_PARAMETERS),
            }
            current, previous = self._current()
            if previous is not None and not recreate and _model_of(previous) != _model_of(record):
                raise SearchIndexError(
                    f"{self.where} was built with {_describe(previous)}, not {_describe(record)}; build with that "
                    "model, or pass --recreate (recreate=True) to rebuild the index with the new one."
                )
            old = self._stored(current, dims if previous is not None and not recreate else None)
            same_bm25 = previous is not None and previous.get("bm25") == record["bm25"]  # else every sparse vector
            report = self._write(procedures, encoder, record, current, old, batch_size, started, same_bm25)
        self._model, self._record = encoder, None
        return report

    def _load(self, model: str | Path, revision: str | None) -> Any:
        from .hub import load

        return load(model, revision=revision, device=self.device)

    def _stored(self, collection: str | None, dims: Sequence[int] | None) -> dict[str, dict[str, Any]]:
        """The current collection's points by procedure id: hashes, and the vectors when they can be reused."""
        if collection is None:
            return {}
        client, stored, offset = self._open(), {}, None
        usable = dims is not None and set(dims) <= set(self._dims_of(collection))
        while True:
            points, offset = client.scroll(
                collection,
                limit=1024,
                offset=offset,
                with_payload=["id", _HASH_KEY, _ROW_KEY],
                with_vectors=[store.dense_name(dim) for dim in dims] if usable and dims else False,
            )
            for point in points:
                stored[str(point.payload["id"])] = {**point.payload, "vectors": point.vector if usable else None}
            if offset is None:
                return stored

    def _dims_of(self, collection: str) -> list[int]:
        vectors = self._open().get_collection(collection).config.params.vectors
        return [params.size for params in vectors.values()]

    def _write(
        self,
        procedures: Sequence[Procedure],
        encoder: Any,
        record: dict[str, Any],
        current: str | None,
        old: dict[str, dict[str, Any]],
        batch_size: int,
        started: float,
        same_bm25: bool = True,
    ) -> BuildReport:
        client, dims = self._open(), record["dims"]
        texts = {p.id: store.digest(p.document) for p in procedures}
        rows = {
            p.id: store.digest(json.dumps([p.title, p.text, p.extra], sort_keys=True, default=str)) for p in procedures
        }
        reuse = {i for i, hashes in old.items() if hashes["vectors"] and texts.get(i) == hashes.get(_HASH_KEY)}
        done: dict[str, Any] = {
            "documents": len(procedures),
            "where": self.where,
            "new": sum(p.id not in old for p in procedures),
            "changed": sum(p.id in old and p.id not in reuse for p in procedures),
            "unchanged": len(reuse & texts.keys()),
            "removed": len(old.keys() - texts.keys()),
        }
        same_rows = all(old.get(i, {}).get(_ROW_KEY) == h for i, h in rows.items())
        if current and same_bm25 and len(reuse) == len(rows) == len(old) and same_rows:
            return BuildReport(seconds=time.perf_counter() - started, **done)  # nothing changed: nothing to write

        todo = [p for p in procedures if p.id not in reuse]
        embedded = store.encode(encoder, [p.document for p in todo], batch_size) if todo else np.zeros((0, 1))
        fresh = {
            p.id: {store.dense_name(d): truncate(embedded[n], d).tolist() for d in dims} for n, p in enumerate(todo)
        }
        sparse = store.document_sparse_vectors([p.document for p in procedures], **record["bm25"])
        staging = f"{self.collection}--{time.time_ns()}"
        for stale in client.get_collections().collections:  # what an interrupted build left behind
            if stale.name.startswith(f"{self.collection}--") and stale.name != current:
                client.delete_collection(stale.name)
        record = {**record, "documents": len(procedures), "built": datetime.now(timezone.utc).isoformat()}
        client.create_collection(staging, **store.collection_config(dims), metadata={store.METADATA_KEY: record})
        vectors = [
            {**(fresh.get(p.id) or old[p.id]["vectors"]), store.SPARSE: v}
            for p, v in zip(procedures, sparse, strict=True)
        ]
        hashes = [{_HASH_KEY: texts[p.id], _ROW_KEY: rows[p.id]} for p in procedures]
        for start in range(0, len(procedures), _UPSERT_BATCH):
            chunk = slice(start, start + _UPSERT_BATCH)
            client.upsert(staging, points=store.points(procedures[chunk], vectors[chunk], hashes[chunk]), wait=True)
        store.swap_alias(client, self.collection, staging, current)  # one step: the old index or the new
        return BuildReport(seconds=time.perf_counter() - started, **done)

    # ------------------------------------------------------------------ search

    def search(self, question: str, **options: Any) -> list[IndexHit]:
        """The best procedures for one question; options as in `search_many`."""
        return self.search_many([question], **options)[0]

    def search_many(
        self,
        questions: Sequence[str],
        *,
        mode: SearchMode = "hybrid",
        dim: int | None = None,
        top_k: int = 5,
        prefetch: int = PREFETCH,
        depth: int = HYBRID_DEPTH,
        method: FusionMethod = "weighted",
        weight: float | None = None,
    ) -> list[list[IndexHit]]:
        """Each question's `top_k` hits, best first.

        "dense": cosine at `dim` (default: the largest stored cut), the first `prefetch` candidates of the smallest
        cut rescored at `dim`; "bm25": Catalan BM25; "hybrid" (default): each side's top `depth` candidates, the
        other side's score looked up for each, fused by `retrieval.fuse` (as `retrieval.hybrid_scores`) with the
        BM25 `weight` (default: the model's own for `dim`, see `fusion_weights`).
        """
        if mode not in MODES:
            raise SearchIndexError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
        record, questions = self._built(), list(questions)
        stored = record["dims"]
        dim = max(stored) if dim is None else check_dim(dim)
        if dim not in stored:
            raise SearchIndexError(
                f"{self.where} stores {stored}-d vectors, not {dim}-d; search with --dim one of them, or rebuild "
                f"with --dims {' '.join(map(str, sorted({*stored, dim})))} --recreate."
            )
        if not questions:
            return []
        dense = self._encode_queries(questions) if mode != "bm25" else np.zeros((len(questions), 0))
        sparse = store.query_sparse_vectors(questions) if mode != "dense" else []
        requests = store.Requests(stored, dim, prefetch)
        if mode == "dense":
            results = self._batch([requests.dense(q, top_k) for q in dense])
            ranked = [[(point.id, point.score) for point in points] for points in results]
        elif mode == "bm25":
            found = iter(self._batch([requests.sparse(q, top_k) for q in sparse if q is not None]))
            ranked = [[(p.id, p.score) for p in next(found)] if q is not None else [] for q in sparse]
        else:
            weight = bm25_weight_for(self._model, dim) if weight is None else weight
            ranked = store.hybrid(self._batch, requests, dense, sparse, top_k, depth, method, weight)
        return self._hits(ranked)

    def _encode_queries(self, questions: list[str]) -> np.ndarray:
        if self._model is None:
            record = self._built()
            self._model = self._load(record["model"], record["revision"])
        prompt = "query" if (getattr(self._model, "prompts", None) or {}).get("query") else None
        return np.asarray(self._model.encode(questions, prompt_name=prompt, convert_to_numpy=True))

    def _batch(self, requests: list[Any]) -> list[list[Any]]:
        if not requests:
            return []
        return [response.points for response in self._open().query_batch_points(self.collection, requests=requests)]

    def _hits(self, ranked: list[list[tuple[Any, float]]]) -> list[list[IndexHit]]:
        ids = list({point_id for hits in ranked for point_id, _ in hits})
        if not ids:
            return [[] for _ in ranked]
        payloads = {p.id: p.payload for p in self._open().retrieve(self.collection, ids=ids, with_payload=True)}
        hidden = (_HASH_KEY, _ROW_KEY)
        return [
            [
                IndexHit(
                    id=str(payloads[i]["id"]),
                    title=str(payloads[i].get("title", "")),
                    score=float(score),
                    payload={k: v for k, v in payloads[i].items() if k not in (*hidden, "id", "title")},
                )
                for i, score in hits
            ]
            for hits in ranked
        ]

    # ------------------------------------------------------------------ info

    def info(self) -> dict[str, Any]:
        """Documents, model (folder or Hub id, revision, prompts), stored dims, BM25's k1 and b, build time, size."""
        record = self._built()
        return {
            "where": self.where,
            "collection": self.collection,
            "documents": self._open().count(self.collection, exact=True).count,
            "model": record["model"],
            "revision": record["revision"],
            "prompts": record["prompts"],
            "dims": record["dims"],
            "bm25": record.get("bm25"),
            "built": record.get("built"),
            "size_on_disk": None if self.url else store.size_on_disk(self.path),
            "quantization": "int8 scalar on a Qdrant server; none in local mode",
        }


def _is_procedures(corpus: Any) -> bool:
    return (
        isinstance(corpus, Sequence) and not isinstance(corpus, str) and all(isinstance(p, Procedure) for p in corpus)
    )


def _model_of(record: dict[str, Any]) -> tuple[Any, ...]:
    return record["model"], record.get("revision"), record.get("prompts") or {}


def _describe(record: dict[str, Any]) -> str:
    return f"{record['model']}" + (f" (revision {record['revision']})" if record.get("revision") else "")
