"""Which division should answer: votes of similar past answers plus duties (事務分掌) matching.

Suggestions are divisions of the organisation file last loaded (current leaf
departments), never names that only the archive knows. The archive keeps each
answer's division as given, so a past answer can name a division that was
renamed or merged, or another city's (an imported case collection). Such an
answer still votes: its own text and its division's name are matched against
the current duties, and its vote goes to the divisions that would answer it
today. With no organisation loaded, archive names are suggested as given.

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
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.errors import InvalidInput
from councilbot.search.analysis import normalize, query_views, strip_stock_phrases
from councilbot.services.context import current_context
from councilbot.services.search import SearchResult, find_similar
from councilbot.settings import Settings
from councilbot.storage.models import Department

# How many similar past answers vote, and how fast a vote fades with a weaker match. A sharp fade:
# on the dev set (and another city's data, issue 13) the best hit alone beat an even pool.
NEIGHBOURS = 8
VOTE_POWER = 4.0
# Share of the past-answer vote given to the character-bigram view. On the dev set any share from
# 0.15 to 0.6 routed the same on the tuning (even) half; an equal say is the middle of that range.
CHARACTER_VOTE_SHARE = 0.5
# Share of the final score given to duties; past answers are the stronger signal when they exist.
DUTY_WEIGHT = 0.2
# Placing a past answer whose division is not current (see _Organisation.today): the weights of what
# its division's name says, of its own text against the duties and of the archive's answers most like
# it, and the share of the best placement a division needs to get part of the vote. Chosen on the even
# half of the dev set: any name weight from 3 to 4 with the archive at 1.5 and the text at 0.75 to
# 1.25 routed the same there; a name weighed much above the archive sent 水防災・砂防対策室's river
# case to 危機管理課, much below it sent 職員課's attendance case to 市民課.
NAME_WEIGHT = 4.0
TEXT_WEIGHT = 1.0
ARCHIVE_WEIGHT = 1.5
TRANSLATION_FLOOR = 0.8
_DUTY_SPLIT = re.compile(r"[、。,，;；\n]|及び|並びに|および")
_KANJI_PAIR = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff々]{2}$")


@dataclass
class RouteSuggestion:
    department: str
    score: float
    evidence: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _name_key(name: str) -> str:
    return normalize(name).replace(" ", "")


def _terms(text: str) -> Counter[str]:
    """Morphemes plus the kanji bigrams inside content words that no morpheme already is: duties are
    short noun phrases, often compounds (教職員 ~ 職員, 体育館 ~ 体育施設). A word counts once: a
    bigram equal to a morpheme (戦略) or of a katakana word (システム) would count it again."""
    morph, grams = query_views(strip_stock_phrases(normalize(text)))
    terms = Counter(morph)
    terms.update("b:" + b for b in grams if _KANJI_PAIR.match(b) and b not in terms)
    return terms


class _Duties:
    """BM25 of each current division's name and duties against a text."""

    def __init__(self, divisions: tuple[tuple[str, str], ...]) -> None:
        self.duties = dict(divisions)
        self.docs = {name: _terms(f"{name}\n{duties}") for name, duties in divisions}
        self.n = len(self.docs)
        self.df: Counter[str] = Counter()
        for terms in self.docs.values():
            self.df.update(terms.keys())
        self.avg_len = sum(sum(t.values()) for t in self.docs.values()) / max(self.n, 1)

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n - self.df[term] + 0.5) / (self.df[term] + 0.5))

    def coverage(self, query: Counter[str], name: str) -> float:
        """The share of the query's distinctiveness (idf) that ``name``'s duties contain."""
        total = sum(self.idf(t) for t in query)
        return sum(self.idf(t) for t in query if t in self.docs[name]) / total if total else 0.0

    def scores(self, query: Counter[str], among: set[str] | None = None) -> dict[str, float]:
        scores: dict[str, float] = {}
        for name, terms in self.docs.items():
            if among is not None and name not in among:
                continue
            length = sum(terms.values())
            s = 0.0
            for term in query:
                tf = terms.get(term, 0)
                if not tf:
                    continue
                s += self.idf(term) * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self.avg_len))
            if s > 0:
                scores[name] = s
        return scores

    def matched_items(self, name: str, query: Counter[str]) -> list[str]:
        """The (at most two) duty items of ``name`` that share the most distinctive terms with the query."""

        def shared(item: str) -> int:
            return sum(1 for t in _terms(item) if t in query and self.df[t] < self.n)

        items = [i.strip(" ・") for i in _DUTY_SPLIT.split(self.duties[name]) if i.strip(" ・")]
        return [i for i in sorted(items, key=lambda i: -shared(i))[:2] if shared(i)]


class DutiesCache:
    """The analysed duties of the organisation last routed for, kept in the application context."""

    def __init__(self) -> None:
        self.divisions: tuple[tuple[str, str], ...] | None = None
        self.duties: _Duties | None = None
        self.lock = threading.Lock()


def _duties(divisions: tuple[tuple[str, str], ...]) -> _Duties:
    """Analysed duties, kept while the organisation stays the same (routing runs for every new question)."""
    cache = current_context().state(DutiesCache)
    with cache.lock:
        if cache.duties is None or cache.divisions != divisions:
            cache.divisions, cache.duties = divisions, _Duties(divisions)
        return cache.duties


_GENERIC_SUFFIX = re.compile(r"(課|係|室|局|部|班|担当|センター|本部|事務局|グループ)$")


def _specific(name: str) -> str:
    """The part of a division name that says what it does (社会体育係 → 社会体育)."""
    key = _name_key(name)
    return _GENERIC_SUFFIX.sub("", key) or key


def _name_likeness(old: str, new: str) -> float:
    """Dice overlap of the characters that make two division names specific (課税課 ~ 税務課: 税)."""
    a, b = set(_specific(old)), set(_specific(new))
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


@dataclass
class _Organisation:
    """Current divisions (leaf departments of the file last loaded) and how archive names reach them."""

    divisions: dict[str, str]  # name key → name
    children: dict[str, set[str]]  # name key of a current 部 → its current divisions
    duties: _Duties
    _by_name: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def load(cls, db: Session) -> _Organisation:
        current = {d.id: d for d in db.scalars(select(Department).where(Department.current.is_(True)))}
        parents = {d.parent_id for d in current.values()}
        leaves = [d for d in current.values() if d.id not in parents]
        children: dict[str, set[str]] = defaultdict(set)
        for d in leaves:
            parent_id = d.parent_id
            while parent_id in current:
                children[_name_key(current[parent_id].name)].add(d.name)
                parent_id = current[parent_id].parent_id
        divisions = tuple(sorted((d.name, d.duties or "") for d in leaves))
        return cls({_name_key(d.name): d.name for d in leaves}, dict(children), _duties(divisions))

    def current(self, given: str | None) -> str | None:
        return self.divisions.get(_name_key(given or ""))

    def by_name(self, given: str) -> dict[str, float]:
        """What a division's name alone says about its successors: shares of a vote worth 0 to 1.

        A name says what the division did: its specific words against the current duties
        (職員課 → 人事課's 「職員の任免…」), and the characters it shares with a current name
        (課税課 ~ 税務課). The vote is worth as much as the best division explains of the name:
        a name half made of words no duty mentions (水防災・砂防対策室) says less than one the
        duties explain whole (総務文書課). A name under a current 部 stays among that 部's divisions.
        """
        key = _name_key(given)
        cached = self._by_name.get(key)
        if cached is None:
            among = self.children.get(key)
            words = _terms(_specific(given))
            duties = self.duties.scores(words, among=among)
            top = max(duties.values(), default=0.0) or 1.0
            names = among or set(self.divisions.values())
            likeness = {n: _name_likeness(given, n) for n in names}
            scored = [(n, duties.get(n, 0.0) / top + likeness[n]) for n in names]
            worth = max((max(self.duties.coverage(words, n), likeness[n]) for n in names), default=0.0)
            shares = _shares([(n, s) for n, s in scored if s > 0])
            cached = self._by_name[key] = {n: worth * share for n, share in shares.items()}
        return cached

    def today(self, answer: SearchResult, neighbours: Callable[[SearchResult], list[SearchResult]]) -> dict[str, float]:
        """Shares of one past answer's vote, by the current division(s) that would answer it today.

        An answer under a name the organisation does not have is placed by three
        kinds of evidence, each as shares of a vote: its division's name (by_name);
        its title and question against the duties; and the past answers most like
        it (what the archive itself says about such questions), theirs placed by
        name where not current. An answer's name and its text can disagree for
        another city's unit (its デジタル戦略課 on e-contracts: 財政課 here); a
        renamed division's name is the surer guide (総務文書課 on the council's
        paperless office: 総務課, though the text reads like 議会事務局).
        """
        given = answer.department or ""
        name = self.current(given)
        if name is not None or not self.divisions:
            return {name or given: 1.0}
        scores: dict[str, float] = defaultdict(float)
        for n, s in self.by_name(given).items():
            scores[n] += NAME_WEIGHT * s
        among = self.children.get(_name_key(given))
        text = self.duties.scores(_terms(f"{answer.title}\n{answer.question}"), among=among)
        for n, s in _shares(list(text.items())).items():
            scores[n] += TEXT_WEIGHT * s
        archive: list[tuple[str, float]] = []
        for r in neighbours(answer):
            successor = self.current(r.department)
            if successor is not None:
                archive.append((successor, r.score))
            elif r.department and _name_key(r.department) != _name_key(given):  # the same name counted above
                archive += [(n, r.score * share) for n, share in self.placed(self.by_name(r.department)).items()]
        for n, share in _shares(archive).items():
            scores[n] += ARCHIVE_WEIGHT * share
        return self.placed(scores)

    @staticmethod
    def placed(scores: dict[str, float]) -> dict[str, float]:
        """Placement scores as shares of a vote: the divisions near the best, sharpened."""
        best = max(scores.values(), default=0.0)
        return _shares([(n, s) for n, s in scores.items() if s >= TRANSLATION_FLOOR * best])


def _shares(scored: list[tuple[str, float]]) -> dict[str, float]:
    """Scores relative to the best, sharpened by VOTE_POWER, as shares summing to 1."""
    top = max((s for _, s in scored), default=0.0) or 1.0
    weights: dict[str, float] = defaultdict(float)
    for name, s in scored:
        weights[name] += (max(s, 0.0) / top) ** VOTE_POWER
    total = sum(weights.values()) or 1.0
    return {n: w / total for n, w in weights.items()}


def route_question(db: Session, settings: Settings, text: str, *, limit: int = 3) -> list[RouteSuggestion]:
    """Ranked current divisions for a question, each with its evidence (refs) and reasons in Japanese."""
    if not (text or "").strip():
        raise InvalidInput("振り分ける質問の文章が空です。")
    if not 1 <= limit <= 20:
        raise InvalidInput("候補の数は1から20までで指定してください。")

    org = _Organisation.load(db)
    votes: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[str]] = defaultdict(list)
    given_as: dict[str, list[str]] = defaultdict(list)  # names under which the evidence was answered
    translated: dict[str, dict[str, float]] = {}

    def like(answer: SearchResult) -> list[SearchResult]:
        return [
            r
            for r in find_similar(
                db,
                settings,
                f"{answer.title}\n{answer.question}",
                limit=NEIGHBOURS,
                exclude_refs=[answer.ref],
                semantic=False,
            )
            if r.department
        ]

    for characters, share in ((False, 1.0 - CHARACTER_VOTE_SHARE), (True, CHARACTER_VOTE_SHARE)):
        view = [
            r
            for r in find_similar(db, settings, text, limit=NEIGHBOURS, characters=characters, semantic=False)
            if r.department
        ]
        for r in view:
            if r.ref not in translated:
                translated[r.ref] = org.today(r, like)
        top = (view[0].score if view else 0.0) or 1.0
        view_votes: dict[str, float] = defaultdict(float)
        for r in view:
            for name, part in translated[r.ref].items():
                view_votes[name] += part * (max(r.score, 0.0) / top) ** VOTE_POWER
        view_total = sum(view_votes.values()) or 1.0
        for name, v in view_votes.items():
            votes[name] += share * v / view_total
        for r in view:
            given = r.department or ""
            for name in translated[r.ref]:
                if r.ref not in evidence[name]:
                    evidence[name].append(r.ref)
                    if given != name and given not in given_as[name]:
                        given_as[name].append(given)
    query = _terms(text)
    duty = org.duties.scores(query) if org.divisions else {}

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
            former = f"。当時の担当: {'、'.join(given_as[name][:3])}" if given_as.get(name) else ""
            reasons.append(f"類似の過去答弁{len(refs)}件（{shown}{former}）")
        if name in duty:
            reasons += [f"事務分掌に『{item}』" for item in org.duties.matched_items(name, query)]
        suggestions.append(RouteSuggestion(name, round(score, 4), evidence.get(name, []), reasons))
    return suggestions
