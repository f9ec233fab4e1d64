"""The Qdrant side of the index: opening a store (local folder, memory or server), the build lock, collection
layout and the client-side BM25 sparse vectors. `index.py` builds on these; users need not import this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SearchIndexError
from .matryoshka import truncate
from .retrieval import BM25_PARAMETERS, CATALAN, FusionMethod, fuse

#: Sparse vector name, and the name of each Matryoshka cut's dense vector.
SPARSE = "bm25"
FORMAT = 1
METADATA_KEY = "sitges_retriever"
LOCK_FILE = "build.lock"


def dense_name(dim: int) -> str:
    return f"dense-{dim}"


def term_id(term: str) -> int:
    """A stable uint32 id for a BM25 term (the first 4 bytes of its blake2b hash), so queries need no vocabulary."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def _sparse(weights: dict[int, float]) -> Any:
    from qdrant_client import models

    indices = sorted(weights)
    return models.SparseVector(indices=indices, values=[float(weights[i]) for i in indices])


def document_sparse_vectors(
    texts: Sequence[str], *, k1: float = BM25_PARAMETERS["k1"], b: float = BM25_PARAMETERS["b"]
) -> list[Any]:
    """Each text's BM25 document part, tf / (tf + k1 (1 - b + b len / avglen)), over its Catalan terms.

    Qdrant multiplies it by the IDF it keeps per term (the IDF modifier, the same formula as bm25s' "lucene"),
    so a sparse query scores exactly as `retrieval.BM25` does over the same corpus.
    """
    terms = CATALAN.terms(texts)
    average = max(sum(map(len, terms)) / max(len(terms), 1), 1e-9)
    vectors = []
    for words in terms:
        norm = k1 * (1 - b + b * len(words) / average)
        weights: dict[int, float] = {}
        for word, tf in Counter(words).items():  # two terms with one hash (rare) add up
            weights[term_id(word)] = weights.get(term_id(word), 0.0) + tf / (tf + norm)
        vectors.append(_sparse(weights))
    return vectors


def query_sparse_vectors(questions: Sequence[str]) -> list[Any | None]:
    """Each question's terms as a sparse vector (weight: how often the term occurs); None when it has no terms."""
    vectors: list[Any | None] = []
    for words in CATALAN.terms(questions):
        weights: dict[int, float] = {}
        for word in words:
            weights[term_id(word)] = weights.get(term_id(word), 0.0) + 1.0
        vectors.append(_sparse(weights) if weights else None)
    return vectors


def collection_config(dims: Sequence[int]) -> dict[str, Any]:
    """Arguments of `create_collection`: a cosine vector per cut, the BM25 sparse vector (IDF modifier) and int8
    scalar quantisation (a Qdrant server keeps int8 copies in RAM and rescores with the float vectors; local mode
    ignores quantisation)."""
    from qdrant_client import models

    return {
        "vectors_config": {
            dense_name(dim): models.VectorParams(size=dim, distance=models.Distance.COSINE) for dim in dims
        },
        "sparse_vectors_config": {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        "quantization_config": models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
        ),
    }


def where(path: str | Path | None, url: str | None) -> str:
    return url if url else str(path)


def open_client(
    path: str | Path | None = None, *, url: str | None = None, api_key: str | None = None, create: bool = False
) -> Any:
    """A `QdrantClient` for a local folder (or ":memory:") or a server, with Qdrant's errors made one clear line."""
    from qdrant_client import QdrantClient

    if url:
        return QdrantClient(url=url, api_key=api_key or os.environ.get("QDRANT_API_KEY"))
    if path is None:
        raise SearchIndexError("Give an index folder (path=...) or a Qdrant server (url=...).")
    if str(path) == ":memory:":
        return QdrantClient(location=":memory:")
    folder = Path(path)
    if not create and not (folder / "meta.json").is_file():
        what = "is not an index (no meta.json)" if folder.exists() else "does not exist"
        raise SearchIndexError(
            f"{folder} {what}; build one with `sitges-retriever index build --model MODEL --path {folder}`."
        )
    if folder.exists() and not folder.is_dir():
        raise SearchIndexError(f"{folder} is a file, not an index folder; choose another --path.")
    try:
        return QdrantClient(path=str(folder))
    except RuntimeError as error:
        if "already accessed" in str(error):
            raise SearchIndexError(
                f"{folder} is in use by another process (a build or a search); wait for it to finish, or serve the "
                "index from a Qdrant server (--url) for concurrent access."
            ) from None
        raise damaged(folder, error) from error
    except Exception as error:  # qdrant's loader raises whatever a damaged file makes json/pydantic/sqlite raise
        raise damaged(folder, error) from error


def damaged(where: str | Path, error: BaseException | str) -> SearchIndexError:
    detail = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
    return SearchIndexError(
        f"{where} is damaged or half-written ({str(detail).splitlines()[0][:160]}); delete it and run "
        "`sitges-retriever index build` again."
    )


@contextlib.contextmanager
def build_lock(path: str | Path | None) -> Iterator[None]:
    """Hold DIR/build.lock for a build, so a second build of one local index is refused while the first runs."""
    if path is None or str(path) == ":memory:":
        yield
        return
    import portalocker  # qdrant-client's own dependency for its folder lock

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.exceptions.LockException:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise SearchIndexError(
                f"Another build of {folder} is running ({owner}); wait for it to finish before building again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            portalocker.unlock(handle)


def size_on_disk(path: str | Path | None) -> int | None:
    """Bytes under a local index folder (None for memory or a server)."""
    if path is None or str(path) == ":memory:":
        return None
    return sum(file.stat().st_size for file in Path(path).rglob("*") if file.is_file())


class Requests:
    """Qdrant Query API requests for one index and searched size."""

    def __init__(self, dims: Sequence[int], dim: int, prefetch: int):
        self.small, self.dim, self.prefetch = min(dims), dim, prefetch

    def dense(self, query: np.ndarray, limit: int, *, ids: list[Any] | None = None) -> Any:
        from qdrant_client import models

        funnel = None
        if ids is None and self.prefetch and self.dim != self.small:  # the first pass: the smallest cut
            funnel = models.Prefetch(
                query=truncate(query, self.small).tolist(),
                using=dense_name(self.small),
                limit=max(self.prefetch, limit),
            )
        return models.QueryRequest(
            query=truncate(query, self.dim).tolist(),
            using=dense_name(self.dim),
            prefetch=funnel,
            limit=limit,
            filter=only(ids),
        )

    def sparse(self, query: Any, limit: int, *, ids: list[Any] | None = None) -> Any:
        from qdrant_client import models

        return models.QueryRequest(query=query, using=SPARSE, limit=limit, filter=only(ids))


def only(ids: list[Any] | None) -> Any:
    from qdrant_client import models

    return None if ids is None else models.Filter(must=[models.HasIdCondition(has_id=ids)])


def encode(encoder: Any, texts: list[str], batch_size: int) -> np.ndarray:
    prompt = "document" if (getattr(encoder, "prompts", None) or {}).get("document") else None
    return np.asarray(encoder.encode(texts, batch_size=batch_size, prompt_name=prompt, convert_to_numpy=True))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def point_id(procedure_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sitges-retriever:{procedure_id}"))


def embedding_dim(encoder: Any) -> int:
    # sentence-transformers 6 renamed get_sentence_embedding_dimension
    method = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(method())


def hybrid(
    batch: Callable[[list[Any]], list[list[Any]]],
    requests: Requests,
    dense: np.ndarray,
    sparse: Sequence[Any | None],
    top_k: int,
    depth: int,
    method: FusionMethod,
    weight: float,
) -> list[list[tuple[Any, float]]]:
    """Each question's hybrid ranking: both sides' top `depth` candidates, the other side's score looked up for each
    (a query restricted to those ids), fused with `retrieval.fuse`: `retrieval.hybrid_scores` computed by Qdrant."""
    first = batch(
        [
            r
            for q, s in zip(dense, sparse, strict=True)
            for r in (requests.dense(q, depth), requests.sparse(s, depth) if s is not None else None)
            if r is not None
        ]
    )
    found, sides = iter(first), []
    for s in sparse:
        d_scores = {p.id: p.score for p in next(found)}
        s_scores = {p.id: p.score for p in next(found)} if s is not None else {}
        sides.append((d_scores, s_scores))
    # The other side's score of each candidate: a query restricted to those ids. A side that returned fewer than
    # `depth` hits returned all it scores (every document; every one sharing a term), so it needs no lookup.
    lookups = []
    for q, s, (d_scores, s_scores) in zip(dense, sparse, sides, strict=True):
        lookups.append(
            requests.dense(q, len(missing), ids=missing)
            if len(d_scores) >= depth and (missing := [i for i in s_scores if i not in d_scores])
            else None
        )
        lookups.append(
            requests.sparse(s, len(missing), ids=missing)
            if s is not None and len(s_scores) >= depth and (missing := [i for i in d_scores if i not in s_scores])
            else None
        )
    looked = iter(batch([r for r in lookups if r is not None]))
    ranked: list[list[tuple[Any, float]]] = []
    for n, (d_scores, s_scores) in enumerate(sides):
        for request, scores in zip(lookups[2 * n : 2 * n + 2], (d_scores, s_scores), strict=True):
            if request is not None:
                scores.update({p.id: p.score for p in next(looked)})
        candidates = sorted(d_scores.keys() | s_scores.keys())
        if not candidates:
            ranked.append([])
            continue
        fused = fuse(
            np.array([[d_scores[i] for i in candidates]]),
            np.array([[s_scores.get(i, 0.0) for i in candidates]]),
            method=method,
            weight=weight,
        )[0]
        order = np.argsort(-fused, kind="stable")[:top_k]
        ranked.append([(candidates[i], float(fused[i])) for i in order])
    return ranked


def points(procedures: Sequence[Any], vectors: Sequence[dict[str, Any]], hashes: Sequence[dict[str, str]]) -> list[Any]:
    """Qdrant points: an id derived from the procedure's, its vectors, and a payload of the row's fields."""
    from qdrant_client import models

    return [
        models.PointStruct(
            id=point_id(p.id),
            vector=vector,
            payload={**p.extra, "id": p.id, "title": p.title, "text": p.text, **hashed},
        )
        for p, vector, hashed in zip(procedures, vectors, hashes, strict=True)
    ]


def swap_alias(client: Any, alias: str, collection: str, previous: str | None) -> None:
    """Point `alias` at `collection` in one aliases update, then drop the collection it pointed at."""
    from qdrant_client import models

    swap: list[Any] = [
        models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection, alias_name=alias))
    ]
    if previous:
        swap.insert(0, models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    client.update_collection_aliases(change_aliases_operations=swap)
    if previous:
        client.delete_collection(previous)
