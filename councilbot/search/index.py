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

Every write replaces documents by ``ref``, so the index never holds a ref twice
however writers overlap. Index files are written in this process only; a large
write analyses its records in worker processes (search/workers.py) that die
with it, so none can outlive it holding a copy of the lock. Both locks are
``flock`` locks, which the kernel releases when their holder dies. Files are
owner-only, like the exports.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

import filelock
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

from councilbot.domain.era import year_from_text
from councilbot.errors import CouncilbotError
from councilbot.fsutil import atomic_write_bytes, make_private_dir, make_private_file
from councilbot.search.analysis import (
    BigramTokenizer,
    MorphTokenizer,
    bigram_terms,
    join_sections,
    morph_terms,
    normalize,
    query_views,
    strip_stock_phrases,
)
from councilbot.search.postings import AnalysedDoc, TermPoolWriter
from councilbot.search.ranking import Ranker
from councilbot.search.workers import parallel_map

# Longer input is cut: the first part of a question carries its topic, and
# analysis cost must stay bounded for a 10,000-character paste.
MAX_QUERY_CHARS = 4000
# A keyword query with more characters than this is treated as free text (similar-question ranking).
KEYWORD_QUERY_MAX_CHARS = 24
WRITE_LOCK_TIMEOUT_S = 60.0

# One field per analysis kind; title and question tokens carry section boosts (see analysis.SECTION_BOOSTS).
MORPH, BIGRAM = "text_m", "text_b"
# Morphological matches are precise; bigram matches catch unknown words and short terms, and mostly
# repeat what the morphological view already counted. 0.3 was chosen on the even half of the dev
# set and checked on the odd half (bench/search_quality.py prints both).
KIND_BOOST = {MORPH: 1.0, BIGRAM: 0.3}
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

    def sync(self, changes: Iterable[tuple[str, IndexDoc | None]]) -> int: ...
    def update(self, docs: Iterable[IndexDoc]) -> int: ...
    def delete(self, refs: Iterable[str]) -> int: ...
    def search(
        self, query: str, *, filters: Filters = ..., limit: int = 10, newest_first: bool = False
    ) -> SearchOutcome: ...
    def similar(
        self,
        text: str,
        *,
        limit: int = 5,
        exclude_refs: Sequence[str] = (),
        filters: Filters = ...,
        characters: bool = False,
    ) -> SearchOutcome: ...
    def rebuild(self, docs: Iterable[IndexDoc], *, progress: Progress | None = None) -> int: ...
    def count(self) -> int: ...


def year_of(doc: IndexDoc) -> int | None:
    if doc.date:
        return doc.date.year
    return year_from_text(doc.session or "")


def _filter_value(value: str | None) -> str:
    return normalize(value or "").replace(" ", "")


def _schema() -> Schema:
    fields: dict[str, Any] = {
        "ref": ID(stored=True, unique=True),
        "date": ID(sortable=True),
        MORPH: TEXT(analyzer=MorphTokenizer(), phrase=False),
        BIGRAM: TEXT(analyzer=BigramTokenizer(), phrase=False),
    }
    for name in FILTER_FIELDS:
        fields[name] = ID()
    return Schema(**fields)


def _analysed(doc: IndexDoc) -> AnalysedDoc:
    """A record as the index writer takes it: plain field values, and the text fields' analysis."""
    year = year_of(doc)
    plain = {
        "ref": doc.ref,
        "date": doc.date.isoformat() if doc.date else "0000-00-00",
        "year": str(year) if year else "",
    }
    for name in ("member", "faction", "department", "session", "answerer"):
        plain[name] = _filter_value(getattr(doc, name))
    text = join_sections(doc.title or "", doc.question or "", doc.answer or "")
    return plain, {name: list(_TEXT_FIELDS[name].index(text)) for name in (MORPH, BIGRAM)}


_TEXT_FIELDS = _schema()


class IndexBusy(CouncilbotError):
    def __init__(self) -> None:
        super().__init__("検索索引を別の処理が更新中です。しばらく待ってから、もう一度お試しください。")


class IndexUnavailable(CouncilbotError):
    def __init__(self) -> None:
        super().__init__("検索索引を読み込めません。`councilbot index rebuild` で作り直してください。")


class _PrivateStorage(FileStorage):  # type: ignore[misc]
    """Whoosh file storage whose files only their owner can read (0600), like the exports."""

    def create_file(self, name: str, excl: bool = False, mode: str = "wb", **kwargs) -> StructFile:  # type: ignore[no-untyped-def]
        flags = os.O_CREAT | os.O_RDWR | (os.O_EXCL if excl else os.O_TRUNC)
        fd = os.open(self._fpath(name), flags, 0o600)
        return StructFile(os.fdopen(fd, mode), name=name, **kwargs)

    def lock(self, name: str):  # type: ignore[no-untyped-def]
        make_private_file(self._fpath(name))  # Whoosh would create it with the umask's permissions
        return super().lock(name)


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
        return name is not None and bool(whoosh_index.exists_in(self.dir / name))

    def _new_generation(self) -> tuple[str, whoosh_index.Index]:
        name = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
        path = self.dir / name
        make_private_dir(path)
        return name, _PrivateStorage(str(path)).create_index(_schema())

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
            make_private_dir(self.dir)
            self._lock = filelock.FileLock(str(self.dir / "write.lock"), timeout=WRITE_LOCK_TIMEOUT_S, mode=0o600)
        return self._lock

    def _open_for_write(self) -> whoosh_index.Index:
        """Open the live generation, creating the first one if there is none. Caller holds the lock."""
        name = self._current_name()
        if name and whoosh_index.exists_in(self.dir / name):
            return _PrivateStorage(str(self.dir / name)).open_index()
        name, ix = self._new_generation()
        self._activate(name)
        return ix

    # ---- writing -----------------------------------------------------
    def sync(self, changes: Iterable[tuple[str, IndexDoc | None]]) -> int:
        """Make each ref's entry match: a document replaces whatever the index holds under its ref,
        None removes the ref. One commit for all; refs must be distinct within one call.
        """
        try:
            with self.writer_lock():
                ix = self._open_for_write()
                writer = TermPoolWriter(ix, limitmb=POOL_MB)
                try:
                    n = _replace_by_ref(writer, changes)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
        except filelock.Timeout as exc:
            raise IndexBusy() from exc
        return n

    def update(self, docs: Iterable[IndexDoc]) -> int:
        """Add or replace documents by ref (the last of a repeated ref wins)."""
        return self.sync({d.ref: d for d in docs}.items())

    def delete(self, refs: Iterable[str]) -> int:
        return self.sync((ref, None) for ref in dict.fromkeys(refs))

    def rebuild(self, docs: Iterable[IndexDoc], *, progress: Progress | None = None) -> int:
        """Write every document into a fresh generation, then swap it in atomically.

        Callers hold :meth:`writer_lock` around reading the database and calling
        this, so that no concurrent update lands in the generation being replaced.
        ``docs`` are streamed: memory stays bounded by the posting pool (POOL_MB).
        """
        try:
            with self.writer_lock():
                name, ix = self._new_generation()
                try:
                    writer = TermPoolWriter(ix, limitmb=POOL_MB)
                    try:
                        n = 0
                        with parallel_map(_analysed, docs) as analysed:
                            for n, doc in enumerate(analysed, 1):
                                writer.add_analysed(doc)
                                if progress and n % PROGRESS_EVERY == 0:
                                    progress(n)
                    except BaseException:
                        writer.cancel()
                        raise
                    writer.commit()
                except BaseException:
                    shutil.rmtree(self.dir / name, ignore_errors=True)
                    raise
                self._activate(name)
        except filelock.Timeout as exc:
            raise IndexBusy() from exc
        if progress:
            progress(n)  # the last count, whatever the step
        return n

    # ---- reading -----------------------------------------------------
    def _searcher(self) -> tuple[Any, Any]:
        """A per-thread searcher and ranker on the live generation, reopened when a writer has committed."""
        loc = self._local
        name = self._current_name()
        if not name:
            return None, None
        searcher = getattr(loc, "searcher", None)
        if searcher is not None and loc.gen == name and loc.ix.latest_generation() == loc.toc:
            return searcher, loc.ranker
        if searcher is not None:
            searcher.close()
            loc.searcher = None
        try:
            ix = _PrivateStorage(str(self.dir / name), readonly=True).open_index()
        except (whoosh_index.EmptyIndexError, OSError) as exc:
            raise IndexUnavailable() from exc
        loc.ix, loc.gen, loc.toc = ix, name, ix.latest_generation()
        loc.searcher = ix.searcher()
        loc.ranker = Ranker(loc.searcher)
        return loc.searcher, loc.ranker

    def count(self) -> int:
        s, _ = self._searcher()
        return s.doc_count() if s else 0

    def _filter_query(self, searcher: Any, filters: Filters) -> Q.Query | bool | None:
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

    def filter_refs(self, refs: Sequence[str], filters: Filters) -> list[str]:
        """The refs among ``refs`` (in their order) that are indexed and pass ``filters``."""
        searcher, _ = self._searcher()
        if searcher is None:
            return []
        fq = self._filter_query(searcher, filters)
        if fq is False:
            return []
        allowed = set(searcher.docs_for_query(fq)) if fq is not None else None
        out = []
        for ref in refs:
            docnum = searcher.document_number(ref=ref)
            if docnum is not None and (allowed is None or docnum in allowed):
                out.append(ref)
        return out

    def _top(
        self,
        searcher: Any,
        scores: dict[int, float],
        *,
        filters: Filters,
        limit: int,
        newest_first: bool,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        """The best ``limit`` of scored records (global docnums) that pass the filters."""
        fq = self._filter_query(searcher, filters)
        if fq is False:
            return []
        if fq is not None:
            allowed = set(searcher.docs_for_query(fq))
            scores = {d: v for d, v in scores.items() if d in allowed}
        for ref in exclude:
            scores.pop(searcher.document_number(ref=ref), None)
        if newest_first:
            dates = searcher.reader().column_reader("date")
            top = [(d, 0.0) for d in heapq.nlargest(limit, scores, key=lambda d: dates[d])]
        else:
            top = heapq.nlargest(limit, scores.items(), key=itemgetter(1))
        return [Hit(searcher.stored_fields(d)["ref"], float(v)) for d, v in top]

    def search(
        self, query: str, *, filters: Filters = Filters(), limit: int = 10, newest_first: bool = False
    ) -> SearchOutcome:
        """Keyword search; any input is accepted (no query syntax, nothing to break).

        Every word must match (falling back to any word when no record has them
        all). A word matches through its morphological terms, or through its
        character bigrams when it is not a single dictionary word (unknown
        administrative terms, compounds split differently). Long text, and text
        phrased as a council question (「…について伺う」), is ranked as a question
        by :meth:`similar`.
        """
        searcher, ranker = self._searcher()
        text = normalize((query or "")[:MAX_QUERY_CHARS])
        if searcher is None:
            return SearchOutcome([])
        if not text:
            if not filters.active():
                return SearchOutcome([])
            # Filters alone list the matching records, newest first.
            every = {d: 0.0 for d in searcher.docs_for_query(Q.Every())}
            return SearchOutcome(self._top(searcher, every, filters=filters, limit=limit, newest_first=True))
        if reads_as_question(text):
            return self._similar(
                searcher, ranker, text, limit=limit, exclude=(), filters=filters, newest_first=newest_first
            )
        words = [w for w in text.split(" ") if w]
        matched: list[dict[int, float]] = []
        morph_all: list[str] = []
        bigram_all: list[str] = []
        for word in words:
            word_scores, morph, bigrams = self._word_scores(searcher, ranker, word)
            if morph or bigrams:
                matched.append(word_scores)
                morph_all += morph
                bigram_all += bigrams
        terms = QueryTerms(tuple(words), tuple(dict.fromkeys(morph_all)), tuple(dict.fromkeys(bigram_all)))
        # Records with every word; when there are none, those with some of the words.
        scores = _all_of(matched) or _any_of(matched)
        return SearchOutcome(
            self._top(searcher, scores, filters=filters, limit=limit, newest_first=newest_first), terms
        )

    @staticmethod
    def _word_scores(searcher: Any, ranker: Ranker, word: str) -> tuple[dict[int, float], list[str], list[str]]:
        """Records matching one query word, with their scores, and the terms the word was reduced to."""
        morph = list(dict.fromkeys(morph_terms(word)))
        bigrams = list(dict.fromkeys(bigram_terms(word)))
        views: list[dict[int, float]] = []
        if morph:
            views.append(_all_of([ranker.term_scores(MORPH, t) for t in morph]))
        if len(bigrams) == 1 and len(bigrams[0]) == 1:
            # A single character: every bigram that starts with it.
            expanded = [
                t.decode("utf-8") if isinstance(t, bytes) else t
                for t in searcher.reader().expand_prefix(BIGRAM, bigrams[0])
            ]
            views.append(_any_of([ranker.term_scores(BIGRAM, t, KIND_BOOST[BIGRAM]) for t in expanded]))
        elif bigrams and morph != [word]:
            views.append(_all_of([ranker.term_scores(BIGRAM, b, KIND_BOOST[BIGRAM]) for b in _cover(bigrams)]))
        return _any_of(views), morph, bigrams

    def similar(
        self,
        text: str,
        *,
        limit: int = 5,
        exclude_refs: Sequence[str] = (),
        filters: Filters = Filters(),
        characters: bool = False,
    ) -> SearchOutcome:
        """Records most similar to free text of any length, ranked by its informative terms.

        ``characters=True`` ranks by the plain character view instead: every
        character bigram of the text's content, across word boundaries, with
        no morphology and no cap on the number of terms. It is an opinion
        independent of the dictionary's word splits, which routing takes as a
        second voter.
        """
        searcher, ranker = self._searcher()
        norm = normalize((text or "")[:MAX_QUERY_CHARS])
        if searcher is None or not norm:
            return SearchOutcome([])
        if characters:
            return self._similar_characters(searcher, ranker, norm, limit=limit, exclude=exclude_refs, filters=filters)
        return self._similar(
            searcher, ranker, norm, limit=limit, exclude=exclude_refs, filters=filters, newest_first=False
        )

    def _similar(
        self,
        searcher: Any,
        ranker: Ranker,
        norm: str,
        *,
        limit: int,
        exclude: Sequence[str],
        filters: Filters,
        newest_first: bool,
    ) -> SearchOutcome:
        """BM25 over the text's most informative terms of both views (query term frequency counts)."""
        morph, grams = query_views(_content(norm))
        max_df = _similar_max_df(ranker)
        scores: dict[int, float] = {}
        chosen: dict[str, list[str]] = {MORPH: [], BIGRAM: []}
        for fieldname, counts, keep in (
            (MORPH, Counter(morph), SIMILAR_MORPH_TERMS),
            (BIGRAM, Counter(grams), SIMILAR_BIGRAM_TERMS),
        ):
            ranked = []
            for term, tf in counts.items():
                df = ranker.doc_frequency(fieldname, term)
                if 0 < df <= max_df:
                    ranked.append((ranker.idf(df) * (1.0 + math.log(tf)), term))
            for _, term in sorted(ranked, reverse=True)[:keep]:
                chosen[fieldname].append(term)
                weight = KIND_BOOST[fieldname] * (1.0 + math.log(counts[term]))
                _add_scores(scores, ranker.term_scores(fieldname, term, weight))
        terms = QueryTerms(tuple(chosen[MORPH]), tuple(chosen[MORPH]), tuple(chosen[BIGRAM]))
        hits = self._top(searcher, scores, filters=filters, limit=limit, newest_first=newest_first, exclude=exclude)
        return SearchOutcome(hits, terms)

    def _similar_characters(
        self, searcher: Any, ranker: Ranker, norm: str, *, limit: int, exclude: Sequence[str], filters: Filters
    ) -> SearchOutcome:
        """BM25 over every distinct character bigram of the text's content (the plain character view)."""
        max_df = _similar_max_df(ranker)
        scores: dict[int, float] = {}
        chosen = []
        for term in dict.fromkeys(bigram_terms(_content(norm))):
            if 0 < ranker.doc_frequency(BIGRAM, term) <= max_df:
                chosen.append(term)
                _add_scores(scores, ranker.term_scores(BIGRAM, term))
        hits = self._top(searcher, scores, filters=filters, limit=limit, newest_first=False, exclude=exclude)
        return SearchOutcome(hits, QueryTerms((), (), tuple(chosen)))


def reads_as_question(text: str) -> bool:
    """Long text, or text phrased as a council question (「…について伺う」), is ranked as a question."""
    norm = normalize((text or "")[:MAX_QUERY_CHARS])
    content = strip_stock_phrases(norm)
    return len(norm.replace(" ", "")) > KEYWORD_QUERY_MAX_CHARS or (content != norm and bool(content.strip()))


def _content(norm: str) -> str:
    """Normalized text without its council stock phrases (the text itself when nothing else is left)."""
    content = strip_stock_phrases(norm)
    return content if content.strip() else norm


def _similar_max_df(ranker: Ranker) -> float:
    """Terms in more records than this say little about a topic and cost the most to score."""
    return float(max(SIMILAR_MAX_DF_RATIO * ranker.n_docs, SIMILAR_MAX_DF_FLOOR))


def _add_scores(scores: dict[int, float], term_scores: dict[int, float]) -> None:
    for d, v in term_scores.items():
        scores[d] = scores.get(d, 0.0) + v


def _all_of(views: list[dict[int, float]]) -> dict[int, float]:
    """Records in every view, scores summed."""
    if len(views) <= 1:
        return views[0] if views else {}
    views = sorted(views, key=len)
    out = dict(views[0])
    for view in views[1:]:
        out = {d: v + view[d] for d, v in out.items() if d in view}
    return out


def _any_of(views: list[dict[int, float]]) -> dict[int, float]:
    """Records in any view, scores summed."""
    if len(views) <= 1:
        return views[0] if views else {}
    views = sorted(views, key=len, reverse=True)
    out = dict(views[0])
    for view in views[1:]:
        for d, v in view.items():
            out[d] = out.get(d, 0.0) + v
    return out


# A writer sorts its postings in a pool of this size and spills sorted runs to
# disk beyond it. Bulk writes used to keep everything in memory (about 2 GB at
# 100,000 answers); with the analysis worker and Sudachi's dictionary beside it,
# this keeps `archive import` and `index rebuild` under 500 MB at 100,000
# answers, and a larger pool bought no measurable speed (bench/import_memory.py).
POOL_MB = 32
# Callers of long writes hear how far they are every this many documents.
PROGRESS_EVERY = 1000
Progress = Callable[[int], None]


def _replace_by_ref(writer: TermPoolWriter, changes: Iterable[tuple[str, IndexDoc | None]]) -> int:
    """Delete every committed document under each ref (duplicates left by an older version included),
    then add the new document, if any. Counts the refs handled."""
    n = 0
    with writer.searcher() as searcher, parallel_map(_analysed_change, changes) as analysed:
        empty = searcher.doc_count_all() == 0
        for ref, doc in analysed:
            n += 1
            if not empty:
                for docnum in searcher.document_numbers(ref=ref):
                    writer.delete_document(docnum)
            if doc is not None:
                writer.add_analysed(doc)
    return n


def _analysed_change(change: tuple[str, IndexDoc | None]) -> tuple[str, AnalysedDoc | None]:
    ref, doc = change
    return ref, _analysed(doc) if doc is not None else None


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
# A term in more than 5% of the records (and more than the floor, so small archives keep every term) is dropped.
SIMILAR_MAX_DF_RATIO = 0.05
SIMILAR_MAX_DF_FLOOR = 200

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
