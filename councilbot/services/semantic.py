"""The semantic search stage (意味検索): past answers as embeddings, fused with the lexical ranking.

Lexical ranking misses a past answer that says the same thing in other words
(課長・室長研修 → 管理職研修). With the stage on (``EMBEDDINGS_PROVIDER=local``,
the default, or an endpoint), each past answer also gets an embedding of its
title, question and the opening of its answer, and similar-question lookups
fuse the two rankings (reciprocal rank fusion). With ``none``, nothing here
runs and search is purely lexical.

Vectors live in the database (``answer_vectors``): they are derived data, but
a model call each, too costly to recompute on every index rebuild. A background
thread writes them after the commit that made an answer final (a failure there
only leaves the answer without a vector); :func:`fill_vectors` writes them in
bulk (``archive import`` and ``index rebuild`` call it); they are dropped with
their answer or when its text changes. Readers keep the matrix in memory and
read only what changed. The matrices, the loaded embedders and the background
thread belong to the application context (``SemanticState``), not to this module.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from councilbot.domain.guard import Guarded, GuardPolicy, guard_text, merge_counts
from councilbot.errors import CouncilbotError
from councilbot.services.audit import acting_user, record_audit
from councilbot.services.context import AppContext, current_context
from councilbot.settings import Settings
from councilbot.storage.db import session_scope, unit_of_work
from councilbot.storage.models import AnswerVector, PastAnswer

if TYPE_CHECKING:  # numpy and the embedders load when the stage first runs, not with every command
    import numpy as np

    from councilbot.services.ports import Embedder

log = logging.getLogger(__name__)

# What a past answer is embedded from: the answer's opening states the city's position; the rest
# is detail that dilutes a small model's vector. 300 was chosen on the even half of the dev set
# (150 and 300 compared) and held on the odd half (bench/search_quality.py).
PASSAGE_ANSWER_CHARS = 300
QUERY_MAX_CHARS = 2000
# Each ranking contributes its top DEPTH; a record's fused score is the sum of 1 / (RRF_K + rank).
# Recall and MRR on the dev set were flat for RRF_K from 5 to 60 and depth 20 or 50.
FUSION_DEPTH = 30
RRF_K = 30
FILL_BATCH = 32


def passage_text(title: str | None, question: str | None, answer: str | None) -> str:
    return f"{title or ''}\n{question or ''}\n{(answer or '')[:PASSAGE_ANSWER_CHARS]}"


def passage_hash(row: PastAnswer) -> str:
    """Names the whole record's text (not only the passage): a marker taken off late in an answer counts."""
    return hashlib.sha256(f"{row.title}\n{row.question}\n{row.answer}".encode()).hexdigest()


def semantic_enabled(settings: Settings) -> bool:
    return settings.embeddings_provider != "none"


def _guard_policy(settings: Settings) -> GuardPolicy:
    """The guard of prompts/rules.yaml, the file General Affairs edits (read anew: edits apply at once)."""
    # Imported when needed (external embedders only): every search loads this module, and the prompt
    # files' reader with its rule tables costs a tenth of a cold `councilbot search`.
    from councilbot.services.prompt_files import load_prompts

    return load_prompts(settings).guard


# ---- reading ------------------------------------------------------------------


def _no_rows() -> np.ndarray:
    import numpy as np

    return np.zeros((0, 0), dtype=np.float32)


@dataclass
class _Matrix:
    """The vectors of one model, in memory: row i belongs to refs[i]."""

    state: tuple[int, ...] = ()  # (count, max id, sum of ids) when loaded
    ids: list[int] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=_no_rows)
    checked: float = 0.0  # monotonic time of the last freshness check


class SemanticState:
    """What the semantic stage keeps in one application context: the vector matrices read so far
    (by database and model), one embedder per configuration (the local model loads once), and
    the background thread that embeds answers after their commit."""

    def __init__(self) -> None:
        self.matrices: dict[tuple[str, str], _Matrix] = {}
        self.matrices_lock = threading.Lock()
        self.embedders: dict[tuple[str | None, ...], Embedder | None] = {}
        self.embedders_lock = threading.Lock()
        self.queue: queue.Queue[tuple[Settings, list[str]] | None] = queue.Queue()  # None: stop
        self.worker: threading.Thread | None = None
        self.worker_lock = threading.Lock()

    def touch(self) -> None:
        """Vectors were written: every cached matrix checks its freshness on the next query."""
        with self.matrices_lock:
            for matrix in self.matrices.values():
                matrix.checked = 0.0

    def wait(self) -> None:
        """Block until every queued answer has been embedded (or has failed)."""
        with self.worker_lock:
            worker, jobs = self.worker, self.queue
        if worker is not None and worker.is_alive():
            jobs.join()

    def close(self) -> None:
        """Finish the queued work and end the thread (an answer queued later starts another)."""
        with self.worker_lock:
            worker, jobs = self.worker, self.queue
            self.worker, self.queue = None, queue.Queue()
        if worker is not None and worker.is_alive():
            jobs.put(None)
            worker.join()


def _state(context: AppContext | None = None) -> SemanticState:
    return (context or current_context()).state(SemanticState)


# The freshness check reads every vector id (tens of ms at 100,000 answers), so a busy process makes
# it at most this often; writes made in this context take effect at once (SemanticState.touch), another
# process's within this time.
FRESHNESS_SECONDS = 2.0


def _load_matrix(db: Session, settings: Settings, model: str) -> _Matrix:
    """The cached matrix, brought up to date. Ids are never reused, so any write changes the
    (count, max id, sum of ids) of the rows; the sum catches a smaller id committed after a larger
    one, which PostgreSQL's sequences allow."""
    state = _state()
    key = (settings.database_url, model)
    now = time.monotonic()
    with state.matrices_lock:
        cached = state.matrices.get(key)
        if cached is not None and now - cached.checked < FRESHNESS_SECONDS:
            return cached
    stored = (AnswerVector.model == model) & (AnswerVector.dim > 0)  # dim 0: withheld, nothing to compare
    counts = tuple(
        db.execute(
            select(
                func.count(), func.coalesce(func.max(AnswerVector.id), 0), func.coalesce(func.sum(AnswerVector.id), 0)
            ).where(stored)
        ).one()
    )
    with state.matrices_lock:
        cached = state.matrices.get(key)
        if cached is not None and cached.state == counts:
            cached.checked = now
            return cached
        fresh = _refreshed(db, stored, cached, counts, now)
        if fresh is None:
            log.warning("vectors of model %s differ in dimension; semantic stage off until index rebuild", model)
            fresh = _Matrix(counts, checked=now)
        state.matrices[key] = fresh
        return fresh


def _refreshed(
    db: Session,
    stored: ColumnElement[bool],
    cached: _Matrix | None,
    state: tuple[int, ...],
    now: float,
) -> _Matrix | None:
    """``cached`` brought up to date: rows still stored are kept in place, only new ones are read
    (a finalised answer costs one vector, not the whole matrix). None if dimensions disagree."""
    import numpy as np

    ids = np.fromiter(db.scalars(select(AnswerVector.id).where(stored)), dtype=np.int64)  # the index alone
    old_ids = np.asarray(cached.ids if cached is not None else [], dtype=np.int64)
    keep = np.isin(old_ids, ids)
    new_ids = np.setdiff1d(ids, old_ids[keep], assume_unique=True)
    new_refs: list[str] = []
    blobs: list[bytes] = []
    dims: set[int] = set()
    for start in range(0, len(new_ids), 5000):
        chunk = [int(i) for i in new_ids[start : start + 5000]]
        found = {
            vid: (ref, dim, blob)
            for vid, ref, dim, blob in db.execute(
                select(AnswerVector.id, PastAnswer.ref, AnswerVector.dim, AnswerVector.vector)
                .join(PastAnswer)
                .where(AnswerVector.id.in_(chunk))
            )
        }
        for vid in chunk:
            ref, dim, blob = found[vid]
            dims.add(dim)
            new_refs.append(ref)
            blobs.append(bytes(blob[: dim * 4]).ljust(dim * 4, b"\0"))  # a damaged row cannot shift the others
    parts = []
    kept_refs: list[str] = []
    if cached is not None and keep.any():
        dims.add(cached.rows.shape[1])
        parts.append(cached.rows[keep])
        kept_refs = [ref for ref, kept in zip(cached.refs, keep) if kept]
    if len(dims) > 1:
        return None
    if blobs:
        # One buffer for all new rows: no per-row arrays, no second copy.
        parts.append(np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dims.pop()))
    rows = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else _no_rows())
    order = [int(i) for i in old_ids[keep]] + [int(i) for i in new_ids]
    return _Matrix(state, order, kept_refs + new_refs, rows, now)


def semantic_ranking(
    db: Session,
    settings: Settings,
    text: str,
    *,
    depth: int = FUSION_DEPTH,
    candidates: Callable[[list[str]], list[str]] | None = None,
    min_z: float | None = None,
) -> list[tuple[str, float]]:
    """Refs of the past answers nearest in meaning to ``text``, best first, with cosine scores.

    Empty when the stage is off, no vector exists yet, the text may not be sent
    (an external embedder and a confidentiality marker), or the embedder fails:
    search then stays lexical rather than failing. ``candidates`` narrows a
    ranked list of refs (filters, exclusions) and keeps its order. ``min_z``
    keeps only answers that stand out from the whole archive (cosine at least
    ``min_z`` standard deviations above the mean): small models give unrelated
    text a high cosine too, so a raw score says little on its own.
    """
    if not semantic_enabled(settings) or not (text or "").strip():
        return []
    import numpy as np

    try:
        embedder = _embedder(settings)
        matrix = _load_matrix(db, settings, embedder.name) if embedder else None
        if embedder is None or matrix is None or not matrix.refs:
            return []
        # The whole text as typed: the guard sees it before any cut or normalisation (NFKC turns
        # ㊙ into 秘; a cut can split an e-mail address), and only what it lets out is shortened.
        query = text.strip()
        if embedder.external:
            guarded = guard_text(query, _guard_policy(settings))
            if guarded.blocked:
                return []
            query = guarded.text
            record_audit(db, acting_user(), "embedding.query", None, model=embedder.name, masked=dict(guarded.masked))
        vector = embedder.embed([query[:QUERY_MAX_CHARS]], kind="query")[0]
    except CouncilbotError as exc:
        log.warning("semantic stage skipped: %s", exc.message)
        return []
    if vector.shape[0] != matrix.rows.shape[1]:
        log.warning(
            "query vector dimension %s != stored %s; run `councilbot index rebuild`",
            vector.shape[0],
            matrix.rows.shape[1],
        )
        return []
    scores = matrix.rows @ vector
    # Look deeper than asked when a filter may drop candidates.
    k = min(len(scores), depth if candidates is None else max(depth * 10, 500))
    if min_z is not None:  # and never below the cut, whatever the filters drop
        spread = float(scores.std())
        k = min(k, int((scores >= float(scores.mean()) + min_z * spread).sum())) if spread > 0 else 0
        if k == 0:
            return []
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    ordered = [int(i) for i in top[np.argsort(-scores[top])]]
    refs = [matrix.refs[i] for i in ordered]
    if candidates is not None:
        keep = set(candidates(refs))
        ordered = [i for i in ordered if matrix.refs[i] in keep]
    return [(matrix.refs[i], float(scores[i])) for i in ordered[:depth]]


def fuse(rankings: Sequence[Sequence[str]], *, k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each ranking adds 1 / (k + rank) to a ref's score.

    Scores are scaled so that first place in every ranking is 1.0 (first in one of two is 0.5):
    a scale that readers of ``score`` can compare between queries, unlike the raw sums.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, ref in enumerate(ranking, 1):
            scores[ref] = scores.get(ref, 0.0) + 1.0 / (k + rank)
    best = len(rankings) / (k + 1)
    return sorted(((ref, v / best) for ref, v in scores.items()), key=lambda kv: -kv[1])


# ---- writing ------------------------------------------------------------------


def _embedder(settings: Settings, context: AppContext | None = None) -> Embedder | None:
    """One embedder per configuration (the local model loads once per context)."""
    context = context or current_context()
    state = _state(context)
    key = (
        settings.embeddings_provider,
        settings.embeddings_model,
        settings.embeddings_base_url,
        settings.openai_base_url,
        settings.azure_openai_endpoint,
        settings.embeddings_query_prefix,
        settings.embeddings_passage_prefix,
    )
    with state.embedders_lock:
        if key not in state.embedders:
            state.embedders[key] = context.embedder(settings)
        return state.embedders[key]


def drop_stale_vectors(db: Session, rows: Sequence[PastAnswer]) -> None:
    """In the caller's transaction: forget vectors whose answer text has changed (they are embedded again)."""
    by_id = {r.id: passage_hash(r) for r in rows if r.id is not None}
    if not by_id:
        return
    stale = [
        pid
        for pid, h in db.execute(
            select(AnswerVector.past_answer_id, AnswerVector.text_hash).where(
                AnswerVector.past_answer_id.in_(list(by_id))
            )
        )
        if by_id[pid] != h
    ]
    if stale:
        db.execute(delete(AnswerVector).where(AnswerVector.past_answer_id.in_(stale)))
        _state().touch()


def _missing(model: str):  # type: ignore[no-untyped-def]
    """Past answers joined to their vector of ``model``, if any."""
    return select(PastAnswer, AnswerVector.text_hash).outerjoin(
        AnswerVector, (AnswerVector.past_answer_id == PastAnswer.id) & (AnswerVector.model == model)
    )


def pending_count(db: Session, settings: Settings) -> int:
    """How many past answers still lack a vector of the configured model (0 when the stage is off)."""
    embedder = _embedder(settings)
    if embedder is None:
        return 0
    missing = _missing(embedder.name).where(AnswerVector.id.is_(None)).subquery()
    return int(db.scalar(select(func.count()).select_from(missing)) or 0)


def _pending(
    db: Session, model: str, *, refs: Sequence[str] | None, verify: bool
) -> list[tuple[int, str, tuple[str, str, str]]]:
    """(past answer id, text hash, (title, question, answer)) of the answers to embed, in id order."""
    stmt = _missing(model).order_by(PastAnswer.id)
    if refs is not None:
        stmt = stmt.where(PastAnswer.ref.in_(list(refs)))
    if not verify:  # text changes drop their vector when they are written (drop_stale_vectors)
        stmt = stmt.where(AnswerVector.id.is_(None))
    todo = []
    for row, stored in db.execute(stmt.execution_options(yield_per=2000)):
        digest = passage_hash(row)
        if stored != digest:
            todo.append((row.id, digest, (row.title, row.question, row.answer)))
    return todo


@dataclass
class FillReport:
    embedded: int = 0
    withheld: int = 0  # marked confidential: never sent to an external embedder
    masked: dict[str, int] = field(default_factory=dict)


def fill_vectors(
    db: Session,
    settings: Settings,
    *,
    refs: Sequence[str] | None = None,
    verify: bool = False,
    progress: Callable[[int, int], None] | None = None,
    context: AppContext | None = None,
) -> FillReport:
    """Embed every past answer (or those in ``refs``) that has no vector of the configured model.

    ``verify`` also re-embeds answers whose text no longer matches their vector (a full scan;
    ``index rebuild`` uses it). Commits after each batch: an interrupted fill keeps what it did,
    and running it again finishes the rest. ``context``: the application context's (default:
    the installed one).
    """
    report = FillReport()
    embedder = _embedder(settings, context)
    if embedder is None:
        return report
    todo = _pending(db, embedder.name, refs=refs, verify=verify)
    policy = _guard_policy(settings) if embedder.external else None
    for start in range(0, len(todo), FILL_BATCH):
        batch = todo[start : start + FILL_BATCH]
        texts, sendable, withheld, masked = [], [], [], []
        for pid, digest, fields in batch:
            if policy is not None:
                # Every field whole, before the passage is cut: a marker anywhere withholds the
                # record (as for drafting), and a cut cannot split an address the guard would mask.
                guarded = [guard_text(field or "", policy) for field in fields]
                if any(g.blocked for g in guarded):
                    withheld.append((pid, digest))
                    continue
                masked += guarded
                fields = (guarded[0].text, guarded[1].text, guarded[2].text)
            texts.append(passage_text(*fields))
            sendable.append((pid, digest))
        try:
            vectors = embedder.embed(texts, kind="passage") if texts else _no_rows()
        except CouncilbotError:
            _audit_passages(db, embedder, sent=len(texts), stored=0, withheld=0, masked=masked, failed=True)
            raise
        rows = [
            (pid, digest, vec.astype("<f4").tobytes(), int(vec.shape[0]))
            for (pid, digest), vec in zip(sendable, vectors)
        ]
        # A withheld record keeps an empty row (dim 0): it is not pending, and a changed text re-checks it.
        rows += [(pid, digest, b"", 0) for pid, digest in withheld]
        rows = _still_current(db, rows)
        if rows:
            db.execute(delete(AnswerVector).where(AnswerVector.past_answer_id.in_([r[0] for r in rows])))
            db.add_all(
                AnswerVector(past_answer_id=pid, model=embedder.name, text_hash=digest, dim=dim, vector=blob)
                for pid, digest, blob, dim in rows
            )
        stored = sum(1 for r in rows if r[3] > 0)
        _audit_passages(db, embedder, sent=len(texts), stored=stored, withheld=len(withheld), masked=masked)
        try:
            unit_of_work(db).checkpoint()
        except IntegrityError:
            # Another process embedded some of these at the same moment (PostgreSQL reports the
            # clash on the unique answer id); its vectors are as good as ours.
            unit_of_work(db).discard()
            log.info("vectors written concurrently by another process; batch skipped")
            _audit_passages(db, embedder, sent=len(texts), stored=0, withheld=0, masked=masked)
            unit_of_work(db).checkpoint()
        else:
            _state(context).touch()
            report.embedded += stored
            report.withheld += len(withheld)
            report.masked = merge_counts([Guarded("", report.masked), *masked])
        if progress:
            progress(min(start + FILL_BATCH, len(todo)), len(todo))
    return report


def _still_current(db: Session, rows: list[tuple[int, str, bytes, int]]) -> list[tuple[int, str, bytes, int]]:
    """The rows whose answer still has the text that was embedded: an answer changed (or removed)
    meanwhile stays without a vector, so the next fill embeds its new text."""
    current = {
        r.id: passage_hash(r) for r in db.scalars(select(PastAnswer).where(PastAnswer.id.in_([r[0] for r in rows])))
    }
    return [r for r in rows if current.get(r[0]) == r[1]]


def _audit_passages(
    db: Session,
    embedder: Embedder,
    *,
    sent: int,
    stored: int,
    withheld: int,
    masked: Sequence[Guarded],
    failed: bool = False,
) -> None:
    """One audit entry per batch sent outside, in the batch's own transaction (a failed call too)."""
    if not embedder.external or not (sent or withheld):
        return
    details = {
        "model": embedder.name,
        "count": sent,
        "stored": stored,
        "withheld": withheld,
        "masked": merge_counts(masked),
    }
    if failed:
        details["failed"] = True
    record_audit(db, acting_user(), "embedding.passages", None, **details)
    if failed:
        unit_of_work(db).checkpoint()


# ---- embedding after commit -----------------------------------------------------
# A finalised answer is embedded by one background thread per process, so that a slow or
# unreachable embeddings endpoint never holds up the chat reply. A failure only leaves the
# answer without a vector: keyword search finds it, and `index rebuild` embeds it.


def embed_committed(settings: Settings, refs: Sequence[str]) -> None:
    """Queue answers just committed for embedding (no-op when the stage is off)."""
    if not semantic_enabled(settings) or not refs:
        return
    context = current_context()
    state = _state(context)
    with state.worker_lock:
        state.queue.put((settings, list(refs)))
        if state.worker is None or not state.worker.is_alive():
            state.worker = threading.Thread(
                target=_embed_queued, args=(context, state.queue), name="councilbot-embeddings", daemon=True
            )
            state.worker.start()


def _embed_queued(context: AppContext, jobs: queue.Queue[tuple[Settings, list[str]] | None]) -> None:
    while (job := jobs.get()) is not None:
        settings, refs = job
        try:
            with session_scope(settings) as db:
                fill_vectors(db, settings, refs=refs, verify=True, context=context)
        except Exception:
            log.exception(
                "embedding after commit failed for %d answers; `councilbot index rebuild` embeds them", len(refs)
            )
        finally:
            jobs.task_done()
    jobs.task_done()


def wait_for_embeddings() -> None:
    """Block until every answer queued in this context has been embedded (or has failed); for tests."""
    _state().wait()
