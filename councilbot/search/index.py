"""The past-answer search index: a small interface and its Whoosh implementation.

The database is the source of truth; this index is derived data. Layout of
``index_dir``::

    CURRENT          name of the live generation (replaced atomically)
    gen-<stamp>/     a complete Whoosh index
    write.lock       cross-process writer lock (filelock)

Incremental writes go into the live generation under the writer lock; Whoosh
commits atomically (a new TOC file), so a crash mid-write leaves the previous
state readable. ``rebuild`` writes a fresh generation and swaps ``CURRENT``,
so a crash during a rebuild leaves the old index in service. Readers open the
generation ``CURRENT`` names and never take the lock.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import filelock
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh import scoring
from whoosh.fields import ID, TEXT, Schema

from councilbot.errors import CouncilbotError
from councilbot.fsutil import atomic_write_bytes
from councilbot.search.analysis import (
    BigramTokenizer,
    MorphTokenizer,
    bigram_terms,
    join_sections,
    morph_terms,
    normalize,
    strip_stock_phrases,
)

# Longer input is cut: the first part of a question carries its topic, and
# analysis cost must stay bounded for a 10,000-character paste.
MAX_QUERY_CHARS = 4000
# A keyword query with more characters than this is treated as free text (similar-question ranking).
KEYWORD_QUERY_MAX_CHARS = 24
WRITE_LOCK_TIMEOUT_S = 60.0

# One field per analysis kind; title and question tokens carry section boosts (see analysis.SECTION_BOOSTS).
MORPH, BIGRAM = "text_m", "text_b"
# Morphological matches are precise; bigram matches catch unknown words and short terms.
KIND_BOOST = {MORPH: 1.0, BIGRAM: 0.6}
FILTER_FIELDS = ("member", "faction", "department", "session", "answerer", "year")


@dataclass(frozen=True)
class IndexDoc:
    ref: str
    title: str
    question: str
    answer: str
    member: str | None = None
    faction: str | None = None
    department: str | None = None
    session: str | None = None
    answerer: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class Filters:
    """Substring filters (after normalization); ``year`` is a western year."""

    member: str | None = None
    faction: str | None = None
    department: str | None = None
    session: str | None = None
    answerer: str | None = None
    year: int | None = None

    def active(self) -> bool:
        return any(getattr(self, f) not in (None, "") for f in FILTER_FIELDS)


@dataclass(frozen=True)
class Hit:
    ref: str
    score: float


@dataclass(frozen=True)
class QueryTerms:
    """What a query was reduced to; used to mark hits in snippets."""

    words: tuple[str, ...]
    morph: tuple[str, ...]
    bigrams: tuple[str, ...]


@dataclass
class SearchOutcome:
    hits: list[Hit]
    terms: QueryTerms = field(default_factory=lambda: QueryTerms((), (), ()))


class SearchIndex(Protocol):
    """What the services need from a search engine; the Whoosh class below is one implementation."""

    def add(self, docs: Iterable[IndexDoc]) -> int: ...
    def update(self, docs: Iterable[IndexDoc]) -> int: ...
    def delete(self, refs: Iterable[str]) -> int: ...
    def search(self, query: str, *, filters: Filters = ..., limit: int = 10, newest_first: bool = False) -> SearchOutcome: ...
    def similar(self, text: str, *, limit: int = 5, exclude_refs: Sequence[str] = (), filters: Filters = ...) -> SearchOutcome: ...
    def rebuild(self, docs: Iterable[IndexDoc]) -> int: ...
    def count(self) -> int: ...


def year_of(doc: IndexDoc) -> int | None:
    if doc.date:
        return doc.date.year
    return year_from_text(doc.session or "")


_ERAS = {"令和": 2018, "平成": 1988, "r": 2018, "h": 1988}


def year_from_text(text: str) -> int | None:
    """Western year from 「令和6年」「R6」「平成30年」「2024」; None when absent."""
    s = normalize(text)
    m = re.search(r"(令和|平成|r|h)\s*(元|\d{1,2})", s)
    if m:
        n = 1 if m.group(2) == "元" else int(m.group(2))
        return _ERAS[m.group(1)] + n
    m = re.search(r"(19|20)\d\d", s)
    return int(m.group()) if m else None


def _filter_value(value: str | None) -> str:
    return normalize(value or "").replace(" ", "")


def _schema() -> Schema:
    fields: dict = {
        "ref": ID(stored=True, unique=True),
        "date": ID(sortable=True),
        MORPH: TEXT(analyzer=MorphTokenizer(), phrase=False),
        BIGRAM: TEXT(analyzer=BigramTokenizer(), phrase=False),
    }
    for name in FILTER_FIELDS:
        fields[name] = ID()
    return Schema(**fields)


def _whoosh_doc(doc: IndexDoc) -> dict:
    year = year_of(doc)
    out = {
        "ref": doc.ref,
        "date": doc.date.isoformat() if doc.date else "0000-00-00",
        "year": str(year) if year else "",
    }
    text = join_sections(doc.title or "", doc.question or "", doc.answer or "")
    out[MORPH] = text
    out[BIGRAM] = text
    for name in ("member", "faction", "department", "session", "answerer"):
        out[name] = _filter_value(getattr(doc, name))
    return out


class IndexBusy(CouncilbotError):
    def __init__(self) -> None:
        super().__init__("検索索引を別の処理が更新中です。しばらく待ってから、もう一度お試しください。")


class IndexUnavailable(CouncilbotError):
    def __init__(self) -> None:
        super().__init__("検索索引を読み込めません。`councilbot index rebuild` で作り直してください。")


class WhooshIndex:
    """Whoosh-backed :class:`SearchIndex` with generation directories (see module docstring)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self._local = threading.local()
        # One lock object per index: filelock is re-entrant per object, while a
        # second object on the same file would block this very process.
        self._lock: filelock.FileLock | None = None

    # ---- generations -------------------------------------------------
    def _current_name(self) -> str | None:
        try:
            name = (self.dir / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def exists(self) -> bool:
        name = self._current_name()
        return bool(name) and whoosh_index.exists_in(self.dir / name)

    def _new_generation(self) -> tuple[str, whoosh_index.Index]:
        name = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
        path = self.dir / name
        path.mkdir(parents=True)
        return name, whoosh_index.create_in(path, _schema())

    def _activate(self, name: str) -> None:
        previous = self._current_name()
        atomic_write_bytes(self.dir / "CURRENT", name.encode("utf-8"))
        # Keep the generation before this one: a reader that opened it a moment ago may still be reading.
        for child in self.dir.glob("gen-*"):
            if child.name not in (name, previous) and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)

    def writer_lock(self) -> filelock.FileLock:
        """The cross-process writer lock (re-entrant); waits up to WRITE_LOCK_TIMEOUT_S, polling."""
        if self._lock is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock = filelock.FileLock(str(self.dir / "write.lock"), timeout=WRITE_LOCK_TIMEOUT_S)
        return self._lock

    def _open_for_write(self) -> whoosh_index.Index:
        """Open the live generation, creating the first one if there is none. Caller holds the lock."""
        name = self._current_name()
        if name and whoosh_index.exists_in(self.dir / name):
            return whoosh_index.open_dir(self.dir / name)
        name, ix = self._new_generation()
        self._activate(name)
        return ix

    # ---- writing -----------------------------------------------------
    def _write(self, docs: Iterable[IndexDoc], *, replace: bool) -> int:
        docs = list(docs)
        n = 0
        try:
            with self.writer_lock():
                ix = self._open_for_write()
                writer = _writer(ix, parallel=not replace and len(docs) >= PARALLEL_MIN_DOCS)
                try:
                    for doc in docs:
                        (writer.update_document if replace else writer.add_document)(**_whoosh_doc(doc))
                        n += 1
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
        except filelock.Timeout as exc:
            raise IndexBusy() from exc
        return n

    def add(self, docs: Iterable[IndexDoc]) -> int:
        """Add documents whose refs are not yet indexed (fast path for fresh records)."""
        return self._write(docs, replace=False)

    def update(self, docs: Iterable[IndexDoc]) -> int:
        """Add or replace documents by ref."""
        return self._write(docs, replace=True)

    def delete(self, refs: Iterable[str]) -> int:
        refs = list(refs)
        try:
            with self.writer_lock():
                ix = self._open_for_write()
                writer = ix.writer()
                n = sum(writer.delete_by_term("ref", r) for r in refs)
                writer.commit()
        except filelock.Timeout as exc:
            raise IndexBusy() from exc
        return n

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        """Write every document into a fresh generation, then swap it in atomically.

        Callers hold :meth:`writer_lock` around reading the database and calling
        this, so that no concurrent update lands in the generation being replaced.
        """
        try:
            with self.writer_lock():
                name, ix = self._new_generation()
                writer = _writer(ix, parallel=True)
                n = 0
                try:
                    for doc in docs:
                        writer.add_document(**_whoosh_doc(doc))
                        n += 1
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    shutil.rmtree(self.dir / name, ignore_errors=True)
                    raise
                self._activate(name)
        except filelock.Timeout as exc:
            raise IndexBusy() from exc
        return n

    # ---- reading -----------------------------------------------------
    def _searcher(self):
        """A per-thread searcher on the live generation, reopened when a writer has committed."""
        loc = self._local
        name = self._current_name()
        if not name:
            return None
        searcher = getattr(loc, "searcher", None)
        if searcher is not None and loc.gen == name and loc.ix.latest_generation() == loc.toc:
            return searcher
        if searcher is not None:
            searcher.close()
            loc.searcher = None
        try:
            ix = whoosh_index.open_dir(self.dir / name)
        except (whoosh_index.EmptyIndexError, OSError) as exc:
            raise IndexUnavailable() from exc
        loc.ix, loc.gen, loc.toc = ix, name, ix.latest_generation()
        loc.searcher = ix.searcher(weighting=scoring.BM25F())
        return loc.searcher

    def count(self) -> int:
        s = self._searcher()
        return s.doc_count() if s else 0

    def _filter_query(self, searcher, filters: Filters) -> Q.Query | None | bool:
        """None: no filter; False: a filter that matches nothing; else the filter query."""
        parts = []
        for name in ("member", "faction", "department", "session", "answerer"):
            needle = _filter_value(getattr(filters, name))
            if not needle:
                continue
            # Substring match over the field's few distinct values: 「青木」 finds 「青木健一」.
            values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in searcher.lexicon(name)]
            matches = [v for v in values if needle in v]
            if not matches:
                return False
            parts.append(Q.Or([Q.Term(name, v) for v in matches]))
        if filters.year:
            parts.append(Q.Term("year", str(filters.year)))
        if not parts:
            return None
        return Q.And(parts)

    def _run(self, searcher, q: Q.Query, *, filters: Filters, limit: int, newest_first: bool,
             exclude: Sequence[str] = ()) -> list[Hit]:
        fq = self._filter_query(searcher, filters)
        if fq is False:
            return []
        mask = Q.Or([Q.Term("ref", r) for r in exclude]) if exclude else None
        kwargs = {"limit": limit, "filter": fq, "mask": mask}
        if newest_first:
            kwargs.update(sortedby="date", reverse=True)
        results = searcher.search(q, **kwargs)
        # Sorted results carry the sort key, not a relevance score.
        return [Hit(h["ref"], 0.0 if newest_first else float(h.score or 0.0)) for h in results]

    def search(self, query: str, *, filters: Filters = Filters(), limit: int = 10,
               newest_first: bool = False) -> SearchOutcome:
        """Keyword search; any input is accepted (no query syntax, nothing to break)."""
        searcher = self._searcher()
        text = normalize((query or "")[:MAX_QUERY_CHARS])
        if searcher is None:
            return SearchOutcome([])
        if not text:
            if not filters.active():
                return SearchOutcome([])
            # Filters alone list the matching records, newest first.
            return SearchOutcome(self._run(searcher, Q.Every(), filters=filters, limit=limit, newest_first=True))
        if len(text.replace(" ", "")) > KEYWORD_QUERY_MAX_CHARS:
            return self._similar(searcher, text, limit=limit, exclude=(), filters=filters, newest_first=newest_first)
        words = [w for w in strip_stock_phrases(text).split(" ") if w] or text.split(" ")
        word_queries, morph_all, bigram_all = [], [], []
        for word in words:
            wq, morph, bigrams = self._word_query(word)
            if wq is not None:
                word_queries.append(wq)
                morph_all += morph
                bigram_all += bigrams
        terms = QueryTerms(tuple(words), tuple(dict.fromkeys(morph_all)), tuple(dict.fromkeys(bigram_all)))
        if not word_queries:
            return SearchOutcome([], terms)
        hits = self._run(searcher, Q.And(word_queries), filters=filters, limit=limit, newest_first=newest_first)
        if not hits and len(word_queries) > 1:
            # No record has every word: rank those that have some of them.
            hits = self._run(searcher, Q.Or(word_queries), filters=filters, limit=limit, newest_first=newest_first)
        return SearchOutcome(hits, terms)

    @staticmethod
    def _word_query(word: str) -> tuple[Q.Query | None, list[str], list[str]]:
        morph = list(dict.fromkeys(morph_terms(word)))
        bigrams = list(dict.fromkeys(bigram_terms(word)))
        alternatives: list[Q.Query] = []
        if len(bigrams) == 1 and len(bigrams[0]) == 1:
            # A single character: every bigram that starts with it.
            alternatives.append(Q.Prefix(BIGRAM, bigrams[0], boost=KIND_BOOST[BIGRAM]))
        elif bigrams:
            alternatives.append(Q.And([Q.Term(BIGRAM, b) for b in _cover(bigrams)], boost=KIND_BOOST[BIGRAM]))
        if morph:
            alternatives.append(Q.And([Q.Term(MORPH, t) for t in morph], boost=KIND_BOOST[MORPH]))
        if not alternatives:
            return None, morph, bigrams
        return Q.Or(alternatives), morph, bigrams

    def similar(self, text: str, *, limit: int = 5, exclude_refs: Sequence[str] = (),
                filters: Filters = Filters()) -> SearchOutcome:
        """Records most similar to free text of any length, ranked by its informative terms."""
        searcher = self._searcher()
        norm = normalize((text or "")[:MAX_QUERY_CHARS])
        if searcher is None or not norm:
            return SearchOutcome([])
        return self._similar(searcher, norm, limit=limit, exclude=exclude_refs, filters=filters, newest_first=False)

    def _similar(self, searcher, norm: str, *, limit: int, exclude: Sequence[str], filters: Filters,
                 newest_first: bool) -> SearchOutcome:
        content = strip_stock_phrases(norm)
        if not content.strip():
            content = norm
        n_docs = max(searcher.doc_count(), 1)
        subqueries: list[Q.Query] = []
        chosen_m: list[str] = []
        chosen_b: list[str] = []
        for fieldname, counts, keep, chosen in (
            (MORPH, Counter(morph_terms(content)), SIMILAR_MORPH_TERMS, chosen_m),
            (BIGRAM, Counter(bigram_terms(content)), SIMILAR_BIGRAM_TERMS, chosen_b),
        ):
            scored = []
            for term, tf in counts.items():
                df = searcher.doc_frequency(fieldname, term)
                if df == 0:
                    continue
                idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
                scored.append((idf * (1.0 + math.log(tf)), term))
            scored.sort(reverse=True)
            top = scored[:keep]
            for weight, term in top:
                chosen.append(term)
                subqueries.append(Q.Term(fieldname, term, boost=KIND_BOOST[fieldname] * weight / top[0][0]))
        terms = QueryTerms(tuple(chosen_m), tuple(chosen_m), tuple(chosen_b))
        if not subqueries:
            return SearchOutcome([], terms)
        hits = self._run(searcher, Q.Or(subqueries), filters=filters, limit=limit, newest_first=newest_first,
                         exclude=exclude)
        return SearchOutcome(hits, terms)


# Whoosh's multi-process writer pays off on big batches (two cores here); small ones stay in-process.
PARALLEL_MIN_DOCS = 500


def _writer(ix: whoosh_index.Index, *, parallel: bool):
    if parallel and (os.cpu_count() or 1) > 1:
        return ix.writer(procs=min(os.cpu_count() or 2, 4), multisegment=True, limitmb=128)
    return ix.writer(limitmb=128)


def _cover(bigrams: list[str]) -> list[str]:
    """Every other bigram plus the last: the same characters, half the posting lists to intersect."""
    if len(bigrams) <= 2:
        return bigrams
    chosen = bigrams[::2]
    if chosen[-1] != bigrams[-1]:
        chosen.append(bigrams[-1])
    return chosen


# Enough terms to describe a question, few enough to keep a lookup fast on 100,000 records.
SIMILAR_MORPH_TERMS = 16
SIMILAR_BIGRAM_TERMS = 24

_instances: dict[str, WhooshIndex] = {}
_instances_lock = threading.Lock()


def open_index(directory: str | os.PathLike[str]) -> WhooshIndex:
    """The process-wide index object for ``directory`` (searchers are reused between calls)."""
    key = str(Path(directory).resolve())
    with _instances_lock:
        ix = _instances.get(key)
        if ix is None:
            ix = _instances[key] = WhooshIndex(key)
        return ix
