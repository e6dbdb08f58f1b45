"""Searching past answers: keyword search with filters, similar questions, index rebuild.

The index returns refs and scores; everything shown comes from the database,
which stays the source of truth (a ref the database no longer has is skipped).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from councilbot.domain.era import year_from_text
from councilbot.domain.japanese import is_hiragana
from councilbot.errors import InvalidInput
from councilbot.search.analysis import bigram_terms, normalize, strip_stock_phrases
from councilbot.search.index import (
    Filters,
    Hit,
    SearchOutcome,
    WhooshIndex,
    open_index,
    reads_as_question,
)
from councilbot.search.snippet import make_snippet
from councilbot.services.archive import catch_up_index, rebuild_index
from councilbot.services.semantic import FUSION_DEPTH, fuse, semantic_enabled, semantic_ranking
from councilbot.settings import Settings
from councilbot.storage.models import PastAnswer

MAX_LIMIT = 100
# A keyword that matches nothing is answered only with answers this far above the archive's mean
# similarity to the query (standard deviations). Chosen by eye on short queries against the sample archive: 3 kept
# 野良猫 → 飼い主のいない猫 and 来庁者の暴言 → カスタマーハラスメント, and kept nothing for 熊の出没.
KEYWORD_FILL_MIN_Z = 3.0


@dataclass(frozen=True)
class SearchResult:
    ref: str
    score: float
    title: str
    session: str | None
    member: str | None
    faction: str | None
    department: str | None
    answerer: str | None
    date: dt.date | None
    snippet: str
    question: str
    answer: str


def _index(db: Session, settings: Settings) -> WhooshIndex:
    """The index, rebuilt from the database first if it is missing (a fresh checkout, a deleted folder),
    and caught up with changes a killed process committed but did not index (unless another is writing)."""
    index = open_index(settings.index_dir)
    if not index.exists() and db.scalar(select(func.count()).select_from(PastAnswer)):
        rebuild_index(db, settings)
    else:
        catch_up_index(db.get_bind(), settings, timeout=0)
    return index


def _check_limit(limit: int) -> int:
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidInput(f"表示件数は1から{MAX_LIMIT}までの数で指定してください。")
    return int(limit)


def _year(value: int | str | None) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int):
        return value
    year = year_from_text(str(value))
    if year is None:
        raise InvalidInput(f"年「{value}」を読めません。2024、令和6年、R6 のように指定してください。")
    return year


def _results(db: Session, outcome: SearchOutcome) -> list[SearchResult]:
    refs = [h.ref for h in outcome.hits]
    rows = {r.ref: r for r in db.scalars(select(PastAnswer).where(PastAnswer.ref.in_(refs)))} if refs else {}
    out, seen = [], set()
    for hit in outcome.hits:
        row = rows.get(hit.ref)
        if row is None or hit.ref in seen:
            continue
        seen.add(hit.ref)
        out.append(
            SearchResult(
                ref=row.ref,
                score=round(hit.score, 4),
                title=row.title,
                session=row.session_name,
                member=row.member,
                faction=row.faction,
                department=row.department,
                answerer=row.answerer,
                date=row.date,
                snippet=make_snippet([row.answer, row.question, row.title], outcome.terms),
                question=row.question,
                answer=row.answer,
            )
        )
    return out


def search_archive(
    db: Session,
    settings: Settings,
    query: str,
    *,
    limit: int = 10,
    member: str | None = None,
    faction: str | None = None,
    department: str | None = None,
    session: str | None = None,
    year: int | str | None = None,
    answerer: str | None = None,
    newest_first: bool = False,
) -> list[SearchResult]:
    """Keyword search over past answers. Any text is a valid query; filters match part of a name.

    Text that reads as a question is ranked as one (see ``find_similar``). Keywords keep their
    precise meaning; only when nothing matches does the semantic stage (if on) offer answers that
    stand out in meaning (野良猫 → 飼い主のいない猫), so a search that finds something costs no
    model call.
    """
    filters = Filters(
        member=member, faction=faction, department=department, session=session, answerer=answerer, year=_year(year)
    )
    limit = _check_limit(limit)
    index = _index(db, settings)
    if not newest_first and reads_as_question(query or ""):
        return _results(db, _hybrid(db, settings, index, query, limit=limit, filters=filters, exclude=()))
    outcome = index.search(query or "", filters=filters, limit=limit, newest_first=newest_first)
    if outcome.hits or newest_first or not semantic_enabled(settings) or not (query or "").strip():
        return _results(db, outcome)
    dense = semantic_ranking(
        db, settings, query, depth=limit, min_z=KEYWORD_FILL_MIN_Z, candidates=_candidates(index, filters, ())
    )
    return _results(db, SearchOutcome([Hit(ref, score) for ref, score in dense], outcome.terms))


def find_similar(
    db: Session,
    settings: Settings,
    text: str,
    *,
    limit: int = 5,
    exclude_refs: Sequence[str] = (),
    characters: bool = False,
    semantic: bool = True,
) -> list[SearchResult]:
    """Past answers whose question reads most like ``text`` (any length; its informative terms are used),
    fused with the semantic ranking when that stage is on (and ``semantic`` is left true).

    ``characters=True`` compares plain character bigrams only (see ``WhooshIndex.similar``).
    """
    limit = _check_limit(limit)
    index = _index(db, settings)
    if characters or not semantic:
        return _results(
            db, index.similar(text or "", limit=limit, exclude_refs=tuple(exclude_refs), characters=characters)
        )
    return _results(db, _hybrid(db, settings, index, text, limit=limit, filters=Filters(), exclude=tuple(exclude_refs)))


def _hybrid(
    db: Session,
    settings: Settings,
    index: WhooshIndex,
    text: str,
    *,
    limit: int,
    filters: Filters,
    exclude: tuple[str, ...],
) -> SearchOutcome:
    """The lexical similar-question ranking, fused with the semantic one when the stage is on and has vectors."""
    if not semantic_enabled(settings):
        return index.similar(text or "", limit=limit, exclude_refs=exclude, filters=filters)
    lexical = index.similar(text or "", limit=max(limit, FUSION_DEPTH), exclude_refs=exclude, filters=filters)
    dense = semantic_ranking(db, settings, text or "", candidates=_candidates(index, filters, exclude))
    if not dense:
        return SearchOutcome(lexical.hits[:limit], lexical.terms)
    fused = fuse([[h.ref for h in lexical.hits], [ref for ref, _ in dense]])
    return SearchOutcome([Hit(ref, score) for ref, score in fused[:limit]], lexical.terms)


def _candidates(index: WhooshIndex, filters: Filters, exclude: Sequence[str]):  # type: ignore[no-untyped-def]
    """What narrows the semantic ranking: None when nothing does (looking refs up in the index costs
    tens of milliseconds at 100,000 answers, and answers no longer in the database are dropped anyway)."""
    dropped = set(exclude)
    if filters.active():
        return lambda refs: [r for r in index.filter_refs(refs, filters) if r not in dropped]
    if dropped:
        return lambda refs: [r for r in refs if r not in dropped]
    return None


def _profile(text: str) -> Counter[str]:
    norm = normalize(text)
    content = strip_stock_phrases(norm) or norm
    return Counter(b for b in bigram_terms(content) if not is_hiragana(b))


def text_similarity(a: str, b: str) -> float:
    """Cosine similarity (0–1) of the content bigrams of two texts; cheap enough for every open question."""
    pa, pb = _profile(a), _profile(b)
    if not pa or not pb:
        return 0.0
    dot = sum(v * pb[k] for k, v in pa.items() if k in pb)
    return dot / math.sqrt(sum(v * v for v in pa.values()) * sum(v * v for v in pb.values()))
