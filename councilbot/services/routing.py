"""Which division should answer: votes of similar past answers plus duties (事務分掌) matching.

Two independent kinds of evidence, so that routing works in a city whose
archive is thin (duties carry it) and for divisions missing from the
organisation file (archive departments count under the name they were given).

Past answers vote through two retrieval views of the question: the product's
word-level ranking and the plain character-bigram ranking. They err on
different questions (a dictionary split that hides a shared word, a common
word that outweighs a rare compound), so their pooled vote picks the right
division more often than either alone. The semantic stage does not vote: on
the dev set its neighbours, fused or as a third voter, routed no better and
sometimes worse (bench/search_quality.py prints routing with the stage on).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.errors import InvalidInput
from councilbot.search.analysis import bigram_terms, morph_terms, normalize, strip_stock_phrases
from councilbot.services.search import find_similar
from councilbot.settings import Settings
from councilbot.storage.models import Department

# How many similar past answers vote, and how fast a vote fades with a weaker match.
NEIGHBOURS = 8
VOTE_POWER = 2.0
# Share of the past-answer vote given to the character-bigram view. On the dev set any share from
# 0.15 to 0.6 routed the same on the tuning (even) half; an equal say is the middle of that range.
CHARACTER_VOTE_SHARE = 0.5
# Share of the final score given to duties; past answers are the stronger signal when they exist.
DUTY_WEIGHT = 0.35
_DUTY_SPLIT = re.compile(r"[、。,，;；\n]|及び|並びに|および")
_HIRAGANA_ONLY = re.compile(r"^[\u3040-\u309f]+$")


@dataclass
class RouteSuggestion:
    department: str
    score: float
    evidence: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _name_key(name: str) -> str:
    return normalize(name).replace(" ", "")


def _terms(text: str) -> Counter[str]:
    """Morphemes plus content bigrams: duties are short noun phrases, often compounds."""
    norm = strip_stock_phrases(normalize(text))
    terms = Counter(morph_terms(norm))
    terms.update("b:" + b for b in bigram_terms(norm) if len(b) == 2 and not _HIRAGANA_ONLY.match(b))
    return terms


def _duty_scores(db: Session, text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
    """BM25-style score of each division's name and duties against the question, with the matching duty items."""
    divisions = [d for d in db.scalars(select(Department)) if not d.children and (d.duties or "").strip()]
    if not divisions:
        return {}, {}
    query = _terms(text)
    docs = {d.name: _terms(f"{d.name}\n{d.duties}") for d in divisions}
    n = len(docs)
    df: Counter[str] = Counter()
    for terms in docs.values():
        df.update(terms.keys())
    avg_len = sum(sum(t.values()) for t in docs.values()) / n
    scores: dict[str, float] = {}
    for name, terms in docs.items():
        length = sum(terms.values())
        s = 0.0
        for term in query:
            tf = terms.get(term, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg_len))
        if s > 0:
            scores[name] = s
    matched: dict[str, list[str]] = {}
    for d in divisions:
        if d.name not in scores:
            continue
        items = [i.strip(" ・") for i in _DUTY_SPLIT.split(d.duties) if i.strip(" ・")]
        ranked = sorted(items, key=lambda i: -sum(1 for t in _terms(i) if t in query and df[t] < n))
        matched[d.name] = [i for i in ranked[:2] if any(t in query and df[t] < n for t in _terms(i))]
    return scores, matched


def route_question(db: Session, settings: Settings, text: str, *, limit: int = 3) -> list[RouteSuggestion]:
    """Ranked divisions for a question, each with its evidence (refs) and reasons in Japanese."""
    if not (text or "").strip():
        raise InvalidInput("振り分ける質問の文章が空です。")
    if not 1 <= limit <= 20:
        raise InvalidInput("候補の数は1から20までで指定してください。")

    org_names = {_name_key(d.name): d.name for d in db.scalars(select(Department))}
    votes: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[str]] = defaultdict(list)
    for characters, share in ((False, 1.0 - CHARACTER_VOTE_SHARE), (True, CHARACTER_VOTE_SHARE)):
        view = [r for r in find_similar(db, settings, text, limit=NEIGHBOURS, characters=characters, semantic=False)
                if r.department]
        view_votes: dict[str, float] = defaultdict(float)
        top = (view[0].score if view else 0.0) or 1.0
        for r in view:
            name = org_names.get(_name_key(r.department), r.department)
            view_votes[name] += (max(r.score, 0.0) / top) ** VOTE_POWER
            if r.key not in evidence[name]:
                evidence[name].append(r.key)
        view_total = sum(view_votes.values()) or 1.0
        for name, v in view_votes.items():
            votes[name] += share * v / view_total
    duty, duty_items = _duty_scores(db, text)

    vote_total = sum(votes.values()) or 1.0
    duty_top = max(duty.values(), default=0.0) or 1.0
    has_votes, has_duty = bool(votes), bool(duty)
    w_duty = DUTY_WEIGHT if has_votes and has_duty else (1.0 if has_duty else 0.0)
    combined: dict[str, float] = defaultdict(float)
    for name, v in votes.items():
        combined[name] += (1.0 - w_duty) * v / vote_total
    for name, s in duty.items():
        combined[name] += w_duty * s / duty_top

    suggestions = []
    for name, score in sorted(combined.items(), key=lambda kv: -kv[1])[:limit]:
        reasons = []
        if evidence.get(name):
            refs = evidence[name]
            shown = "、".join(refs[:3]) + ("…" if len(refs) > 3 else "")
            reasons.append(f"類似の過去答弁{len(refs)}件（{shown}）")
        for item in duty_items.get(name, []):
            reasons.append(f"事務分掌に『{item}』")
        suggestions.append(RouteSuggestion(name, round(score, 4), evidence.get(name, []), reasons))
    return suggestions
