"""Answer commitments (答弁の約束): what an answer said the city would do, how firmly, and by when.

Pure rules, no I/O. ``extract`` reads an answer sentence by sentence and keeps the
clauses that close on a forward-looking predicate (「〜してまいります」「〜する予定で
ございます」「〜は考えておりません」 …). Each becomes a ``Commitment`` with

- its strength (実施 / 検討 / 調査・研究 / 要望・働きかけ / 現状維持), from the verb
  nearest the predicate (「調査結果を取りまとめる予定」 is 実施; 「研究を進めてまいります」
  is 調査・研究, because 「進める」 only carries the noun before it);
- its timing as written (本年度中, 来年度, 令和9年1月, 次期計画の策定に合わせて) and,
  where the words allow, as a date range resolved against the answer's date
  (Japanese fiscal years run April to March: 本年度 said in 令和8年12月 ends 2027-03-31);
- a short statement in the plain form published in 「議会答弁の進捗状況」 tables.

``compare`` sets a new answer's commitments against earlier ones on the same
topic: a weaker stance, a later date, or an earlier item the new answer drops.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from councilbot.domain.era import to_wareki, to_western_year
from councilbot.domain.japanese import HIRAGANA, nfkc
from councilbot.domain.numbering import kanji_number
from councilbot.domain.rulecheck import sentences

# Strengths, in the order progress tables list them. Only the city's own stances are ranked
# (実施 > 検討 > 調査・研究 > 現状維持): 要望・働きかけ asks someone else to act, so it is
# neither weaker nor stronger than they are and is never compared with them.
IMPLEMENT = "実施"
CONSIDER = "検討"
STUDY = "調査・研究"
REQUEST = "要望・働きかけ"
MAINTAIN = "現状維持"
STRENGTHS = (IMPLEMENT, CONSIDER, STUDY, REQUEST, MAINTAIN)
_RANK = {IMPLEMENT: 3, CONSIDER: 2, STUDY: 1, MAINTAIN: 0}

# Progress of a commitment (進捗状況), set by the division.
NOT_STARTED = "未着手"
IN_PROGRESS = "検討中"
DONE = "実施済"
DROPPED = "見送り"
STATUSES = (NOT_STARTED, IN_PROGRESS, DONE, DROPPED)
OPEN_STATUSES = (NOT_STARTED, IN_PROGRESS)

# A clause is a commitment when it ends on one of these (after 。 is removed).
_FORWARD_ENDING = re.compile(
    r"(?:"
    r"[てで]まい(?:ります|りたい(?:と(?:考えて|思って)(?:おります|います)|と存じます)?)"
    r"|[てで]いき(?:ます|たいと考えて(?:おります|います))|[てで]いく考えで(?:ございます|す)"
    r"|予定(?:で(?:ございます|す)|としております|しております)"
    r"|たいと考えて(?:おります|います)"
    r"|(?:検討|研究)(?:して|を進めて)(?:おります|います)"
    r"|に向けて(?:準備|調整)を進めて(?:おります|います)"
    r"|こと(?:としております|といたします|といたしました|としました)"
    r"|(?:考え|予定|計画)は(?:ございません|ありません)|考えておりません"
    r"|所存で(?:ございます|す)"
    r"|(?<!お答え)(?<!お答え申し上げ)(?<!答弁)(?<!お願い)(?<!報告)いたします"
    r"|(?:取り組み|進め|努め|目指し|図り|行い|設け|実施し|推進し|開始し)ます"
    r")$"
)
_DECLINE = re.compile(r"(?:考え|予定|計画)は(?:ございません|ありません)$|考えておりません$")

# Verbs (and nouns carried by a light verb) that decide the strength, by category.
_STRENGTH_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (REQUEST, re.compile(r"要望|要請|働きかけ|求め(?:て|$)|申し入れ|訴え(?:て|$)|提言")),
    (STUDY, re.compile(r"研究|調査(?!結果)|注視|情報収集|見極め|動向を")),
    (CONSIDER, re.compile(r"検討|協議|判断|精査")),
    (MAINTAIN, re.compile(r"継続し|維持し|見守")),
    (
        IMPLEMENT,
        re.compile(
            r"実施|整備|設置|策定|導入|開始|拡充|拡大|推進|取りまとめ|取り組|作成|配置|改訂|改定|見直|強化|支援|"
            r"周知|充実|確保|活用|創設|着手|展開|完了|対応|設け|進め|行|図|努め|目指|示し|反映|構築|移行|"
            r"開催|増や|広げ|解消|半減|削減|向上|廃止|改善|改修|整え|確認|呼びかけ|位置付け|設定|公表|提供"
        ),
    ),
)
# Light verbs: 「研究を進める」「検討を行う」「支援に努める」 take their strength from the noun before them.
_LIGHT_VERB = re.compile(r"(?:を|に|の)?(?:進め|深め|行い|行っ|行|図り|図っ|重ね|努め|続け)$")
# 「引き続き」「今後とも」「今後も」 put a stance that is already being carried out: the city keeps doing it.
_CONTINUING = re.compile(r"^(?:引き続き|今後とも|今後も|これまでと同様)|、引き続き")

# Openers that carry no content of their own.
_OPENER = re.compile(
    r"^(?:今後は|今後とも|今後も|今後につきましては|また|あわせて|併せて|さらに|加えて|このため|そのため|これにより|"
    r"本市といたしましては|本市としては|市といたしましては|教育委員会といたしましては|いずれにいたしましても|"
    r"いずれにしましても|つきましては|最後に)[、,]?"
)
# A clause describing the present comes before the commitment in the same sentence.
_STATE_PREFIX = re.compile(r"^.*?(?:ところであり|ところでございますが|ており|でおり|ておらず|であり|ましたが|ますが)、")
# Two commitments joined in one sentence: 「Aを拡充するとともに、Bに取り組んでまいります」.
# Only after a verb: 「皆様とともに」 joins people, not two commitments.
_JOINT = re.compile(r"(?:(?<=[うくぐすつぬぶむる])とともに|し、あわせて|し、併せて|し、さらに)、")
_REPORTED = re.compile(r"」と(?:お答え|答弁|申し上げ)")
_PLACEHOLDER = "要確認"
_FRAME = re.compile(r"お答えいたします|お答え申し上げます|答弁いたします|答弁とさせていただきます|御礼申し上げます")

# --- timing --------------------------------------------------------------------------

_ERA_NAMES = "令和|平成"
_NUM = r"(?:元|\d+|[一二三四五六七八九十]+)"
_TIMING = re.compile(
    r"(?P<era_fy>(?:"
    + _ERA_NAMES
    + r")"
    + _NUM
    + r"年度(?P<era_fy_edge>当初|末|中|内|上半期|下半期)?(?:から(?P<era_fy_span>\d+)か年|までに|中に|から|に|を目途に|を目標に)?)"
    r"|(?P<era_month>(?:"
    + _ERA_NAMES
    + r")"
    + _NUM
    + r"年"
    + r"(?P<era_month_m>\d{1,2})月(?:中|末|頃)?(?:までに|から|に|を目途に)?)"
    r"|(?P<era_year>(?:" + _ERA_NAMES + r")" + _NUM + r"年(?P<era_year_edge>中|内|末)?(?:までに|中に|から|に|を目途に))"
    r"|(?P<rel_fy>(?P<rel_fy_word>本年度|今年度|当年度|来年度|次年度|翌年度|再来年度|新年度)(?P<rel_fy_edge>当初|末|中|内|上半期|下半期)?(?:までに|中に|から|に|を目途に)?)"
    r"|(?P<fy_in>年度内に|年度中に|年度末までに)"
    r"|(?P<rel_year>(?:本年|今年|年内|来年)(?P<rel_year_edge>中|内|末)?(?:(?P<rel_month>\d{1,2})月(?:中|末|頃)?)?(?:までに|から|に|を目途に)?)"
    r"|(?P<plan>(?:次期|新たな|次の|第"
    + _NUM
    + r"期)[^、。]{0,24}?(?:計画|戦略|プラン|指針|方針)[^、。]{0,10}?(?:の)?(?:策定|改定|改訂|見直し)(?:に合わせて|に併せて|に向けて|の中で|の際に|時に|までに))"
    r"|(?P<next_plan>次期[^、。]{0,16}?(?:計画|戦略|プラン)(?:では|において|の中で))"
    r"|(?P<vague>早期に|できるだけ早期に|できる限り早期に|速やかに|早急に|可能な限り早く|近いうちに)"
)


@dataclass(frozen=True)
class Timing:
    text: str  # as written
    start: dt.date | None
    end: dt.date | None  # the commitment is due by this day


@dataclass(frozen=True)
class Commitment:
    position: int  # order in the answer, from 0
    statement: str  # short plain form: 「本年度中に調査結果を取りまとめる予定」
    subject: str  # what, without timing or stance: 「調査結果を取りまとめる」
    strength: str
    timing: Timing | None
    sentence: str  # the sentence as answered


def fiscal_year_of(day: dt.date) -> int:
    """The Japanese fiscal year (年度) that ``day`` falls in: April to March."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_range(fy: int) -> tuple[dt.date, dt.date]:
    return dt.date(fy, 4, 1), dt.date(fy + 1, 3, 31)


def _month_end(year: int, month: int) -> dt.date:
    return (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)


def _number(raw: str) -> int | None:
    if raw == "元":
        return 1
    return int(raw) if raw.isdigit() else kanji_number(raw)


def _era_year(text: str) -> int | None:
    match = re.match(r"(" + _ERA_NAMES + r")(" + _NUM + r")年", text)
    if not match:
        return None
    year = _number(match.group(2))
    return to_western_year(match.group(1), year) if year else None


def _fy_edge(fy: int, edge: str | None, answered: dt.date | None) -> tuple[dt.date | None, dt.date]:
    start, end = fiscal_year_range(fy)
    if edge == "当初":
        return start, dt.date(fy, 6, 30)
    if edge == "上半期":
        return start, dt.date(fy, 9, 30)
    if edge == "下半期":
        return dt.date(fy, 10, 1), end
    if answered is not None and start <= answered <= end:
        start = answered
    return start, end


def resolve_timing(text: str, answered: dt.date | None) -> Timing:
    """The date range a timing phrase names, seen from the day it was answered.

    「本年度中」 on 2026-12-09 → 2026-12-09..2027-03-31; 「令和9年1月」 → 2027-01-01..2027-01-31;
    「次期計画の策定に合わせて」 or 「早期に」 → no dates (kept as written).
    """
    norm = unicodedata.normalize("NFKC", text)
    match = _TIMING.fullmatch(norm) or _TIMING.search(norm)
    if match is None:
        return Timing(text, None, None)
    g = match.groupdict()
    if g["era_fy"]:
        year = _era_year(g["era_fy"])
        if year is None:
            return Timing(text, None, None)
        edge = g["era_fy_edge"]
        if g["era_fy_span"]:  # 「令和7年度から2か年」: due at the end of the last of those years
            return Timing(text, fiscal_year_range(year)[0], fiscal_year_range(year + int(g["era_fy_span"]) - 1)[1])
        if "までに" in g["era_fy"] and edge != "当初":
            return Timing(text, answered or fiscal_year_range(year)[0], fiscal_year_range(year)[1])
        start, end = _fy_edge(year, edge, answered)
        return Timing(text, start, end)
    if g["era_month"]:
        year = _era_year(g["era_month"])
        month = int(g["era_month_m"])
        if year is None or not 1 <= month <= 12:
            return Timing(text, None, None)
        return Timing(text, dt.date(year, month, 1), _month_end(year, month))
    if g["era_year"]:
        year = _era_year(g["era_year"])
        if year is None:
            return Timing(text, None, None)
        return Timing(text, dt.date(year, 1, 1), dt.date(year, 12, 31))
    if answered is None:
        return Timing(text, None, None)
    if g["rel_fy"]:
        offset = {"来年度": 1, "次年度": 1, "翌年度": 1, "再来年度": 2}.get(g["rel_fy_word"], 0)
        if g["rel_fy_word"] == "新年度" and answered.month <= 3:
            offset = 1  # said in the budget session: the year that begins in April
        start, end = _fy_edge(fiscal_year_of(answered) + offset, g["rel_fy_edge"], answered)
        return Timing(text, start, end)
    if g["fy_in"]:
        return Timing(text, answered, fiscal_year_range(fiscal_year_of(answered))[1])
    if g["rel_year"]:
        year = answered.year + (1 if g["rel_year"].startswith("来年") else 0)
        if g["rel_month"]:
            month = int(g["rel_month"])
            if not 1 <= month <= 12:
                return Timing(text, None, None)
            return Timing(text, dt.date(year, month, 1), _month_end(year, month))
        return Timing(text, max(answered, dt.date(year, 1, 1)), dt.date(year, 12, 31))
    return Timing(text, None, None)  # a plan's schedule, or 「早期に」: as written only


def find_timing(clause: str, answered: dt.date | None) -> Timing | None:
    """The timing nearest the predicate: 「令和3年度から令和7年度までの5か年で」 is due in 令和7年度."""
    matches = list(_TIMING.finditer(unicodedata.normalize("NFKC", clause)))
    if not matches:
        return None
    return resolve_timing(_trim_timing(matches[-1].group()), answered)


def _trim_timing(text: str) -> str:
    """「本年度中に」 → 「本年度中」; 「令和9年度から」 stays (it says when it starts)."""
    for tail in ("を目途に", "を目標に", "中に", "に"):
        if text.endswith(tail) and not text.endswith(("までに",)):
            return text[: -len(tail)] + ("中" if tail == "中に" else "")
    return text


# --- extraction -------------------------------------------------------------------


def _strength(stem: str, clause: str, declined: bool) -> str:
    if declined:
        return MAINTAIN
    core = stem
    while True:  # 「研究を進めて」: the noun before a light verb decides
        stripped = _LIGHT_VERB.sub("", core)
        if stripped == core or not stripped:
            break
        core = stripped
    # The last phrase decides: 「地価の動向を注視し、公平な課税に努める」 is about the taxing, not the watching.
    strength = _nearest_strength(core.rsplit("、", 1)[-1]) or IMPLEMENT
    if strength == IMPLEMENT and _CONTINUING.search(clause):
        return MAINTAIN
    return strength


def _stem(clause: str) -> str:
    """The clause without its forward-looking ending; 「検討しております」 keeps its 検討."""
    ending = _FORWARD_ENDING.search(clause)
    assert ending is not None
    kept = ending.group()[:2] if ending.group().startswith(("検討", "研究")) else ""
    return clause[: ending.start()] + kept


def _nearest_strength(text: str) -> str | None:
    """The category of the stance word that ends nearest the end of ``text``."""
    best: tuple[int, str] | None = None
    for name, pattern in _STRENGTH_WORDS:
        for m in pattern.finditer(text):
            if best is None or m.end() > best[0]:
                best = (m.end(), name)
    return best[1] if best else None


def _plain(clause: str) -> str:
    """The clause in the plain form of a progress table: 「検討してまいりたいと考えております」 → 「検討する」."""
    text = _FORWARD_ENDING.sub(lambda m: _plain_ending(m.group()), clause)
    return text.rstrip("、, ")


def _plain_ending(ending: str) -> str:
    if ending.startswith(("予定",)):
        return "予定"
    if _DECLINE.search(ending):
        return "考えはない"
    if ending.startswith("こと"):
        return "こととする"
    if ending.startswith("所存"):
        return ""
    if ending.startswith("たいと"):
        return "たい"
    if ending.startswith(("検討", "研究")):
        return ending[:2] + "する"
    if ending.startswith("に向けて"):
        return ending[:6] + "を進める"  # 「提案に向けて準備を進める」
    if ending == "いたします":
        return "する"
    if ending in _MASU_TO_PLAIN:
        return _MASU_TO_PLAIN[ending]
    return ending[0] + "\0"  # a te-form ending: conjugated with the verb before it, below


_MASU_TO_PLAIN = {
    "取り組みます": "取り組む",
    "進めます": "進める",
    "努めます": "努める",
    "目指します": "目指す",
    "図ります": "図る",
    "行います": "行う",
    "設けます": "設ける",
    "実施します": "実施する",
    "推進します": "推進する",
    "開始します": "開始する",
}
_TE_TO_PLAIN = (
    ("して\0", "する"),
    ("んで\0", "む"),
    ("いて\0", "く"),
    ("って\0", "る"),
    ("て\0", "る"),
    ("で\0", "む"),
)


def _conjugate(text: str) -> str:
    for te, plain in _TE_TO_PLAIN:
        if text.endswith(te):
            return text[: -len(te)] + plain
    return text.replace("\0", "")


def _joined_plain(clause: str) -> str:
    """「Aを改訂」 (before 「するとともに」) → 「Aを改訂する」."""
    return clause + "する" if re.search(f"[^{HIRAGANA}]$", clause) else clause


def _strip_openers(text: str) -> str:
    while True:
        stripped = _OPENER.sub("", text).lstrip("、, ")
        if stripped == text:
            return text
        text = stripped


def _clauses(sentence: str) -> list[str]:
    """The sentence's commitment clauses: the part after a description of the present,
    split where two commitments share one predicate."""
    body = _STATE_PREFIX.sub("", sentence)
    return [p for p in _JOINT.split(body) if p.strip()]


def extract(answer: str, answered: dt.date | None = None) -> list[Commitment]:
    """Every commitment in ``answer``, in order; ``answered`` resolves relative timing."""
    text = unicodedata.normalize("NFKC", answer or "").replace("\n", "")
    found: list[Commitment] = []
    for start, end in sentences(text):
        sentence = text[start:end].strip()
        if _PLACEHOLDER in sentence or _REPORTED.search(sentence):
            continue  # a gap left for the drafter, or an earlier answer quoted: not something said now
        body = sentence.rstrip("。!?！？").strip()
        if _FRAME.search(body):
            body = _FRAME.sub("", body).strip("。、 ")
        ending = _FORWARD_ENDING.search(body)
        if not body or ending is None:
            continue
        declined = bool(_DECLINE.search(body))
        parts = _clauses(body)
        # A timing before the sentence's first comma (「令和7年度からは、」) covers all its clauses.
        leading = find_timing(_strip_openers(body).split("、", 1)[0], answered) if len(parts) > 1 else None
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            clause = _strip_openers(part.strip())
            stem = _stem(clause) if last else clause
            stem = re.sub(r"(?:して|て|で|し|する|る)$", "", stem)
            plain = _conjugate(_plain(clause)) if last else _joined_plain(clause)
            timing = (
                find_timing(clause, answered) or leading or (find_timing(body, answered) if len(parts) == 1 else None)
            )
            found.append(
                Commitment(
                    position=len(found),
                    statement=plain,
                    subject=_subject(plain, timing),
                    strength=_strength(stem, part, declined and last),
                    timing=timing,
                    sentence=sentence,
                )
            )
    return found


def _subject(statement: str, timing: Timing | None) -> str:
    subject = statement
    if timing is not None:
        subject = re.sub(re.escape(timing.text) + r"(?:までに|に|から|を目途に|を目標に)?[、,]?", "", subject, count=1)
    subject = re.sub(r"(?:予定|こととする|考えはない)$", "", subject)
    subject = re.sub(r"^(?:には|は|も|に|で)(?=[^" + HIRAGANA + "])", "", subject.strip("、, "))
    return subject.strip("、, ") or statement


# --- the same topic, and what a new answer says about an earlier commitment ----------------

_HIRAGANA_OR_PUNCTUATION = re.compile(f"[{HIRAGANA}]+" + r"|[、。,.\s「」『』()（）・]+")
_TOPIC_TAIL = re.compile(r"(?:について|に関して|に関する|への対応|の考え方|の見解)+(?:伺う|問う)?$")
SAME_TOPIC = 0.5  # share of the shorter topic's content bigrams found in the other
_SAME_ITEM = 0.34  # share of an earlier commitment's content bigrams found in a new clause


def content_bigrams(text: str) -> set[str]:
    """Bigrams within runs of kanji, katakana and alphanumerics: the words that carry content."""
    grams: set[str] = set()
    for run in _HIRAGANA_OR_PUNCTUATION.split(unicodedata.normalize("NFKC", text or "")):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def topic_similarity(title_a: str, title_b: str) -> float:
    """How far two item titles name the same topic (0..1)."""
    a = content_bigrams(_TOPIC_TAIL.sub("", nfkc(title_a)))
    b = content_bigrams(_TOPIC_TAIL.sub("", nfkc(title_b)))
    return _overlap(a, b)


def coverage(subject: str, text: str) -> float:
    """The share of ``subject``'s content bigrams that ``text`` contains."""
    wanted = content_bigrams(subject)
    return len(wanted & content_bigrams(text)) / len(wanted) if wanted else 0.0


@dataclass(frozen=True)
class Earlier:
    """An earlier commitment on the topic, as the new answer is checked against it."""

    ref: str  # the earlier answer's key
    answered: dt.date | None
    commitment: Commitment

    @property
    def label(self) -> str:
        """「前回答弁（令和7年9月）」."""
        when = to_wareki(self.answered, with_day=False) if self.answered else "時期不明"
        return f"前回答弁（{when}）"


@dataclass(frozen=True)
class PriorCommitment:
    """An earlier commitment as a drafter is told it: progress on it must be reported."""

    when: str  # 令和7年9月
    statement: str  # 本年度中に調査結果を取りまとめる予定


@dataclass(frozen=True)
class Conflict:
    kind: str  # weaker / later / dropped
    earlier: Earlier
    new: Commitment | None  # the new answer's clause (None when dropped)


def compare(earlier: Sequence[Earlier], new_answer: str, answered: dt.date | None) -> list[Conflict]:
    """How ``new_answer`` falls short of earlier commitments on its topic."""
    new = extract(new_answer, answered)
    conflicts: list[Conflict] = []
    for before in earlier:
        match = _best_match(before.commitment, new)
        if match is None:
            if coverage(before.commitment.subject, new_answer) < _SAME_ITEM:
                conflicts.append(Conflict("dropped", before, None))
            continue
        if _weaker(match.strength, before.commitment.strength):
            conflicts.append(Conflict("weaker", before, match))
        old_end = before.commitment.timing.end if before.commitment.timing else None
        new_end = match.timing.end if match.timing else None
        if old_end and new_end and new_end > old_end:
            conflicts.append(Conflict("later", before, match))
    return conflicts


def _best_match(commitment: Commitment, candidates: Iterable[Commitment]) -> Commitment | None:
    scored = [(coverage(commitment.subject, c.subject), c) for c in candidates]
    scored = [(s, c) for s, c in scored if s >= _SAME_ITEM]
    return max(scored, key=lambda sc: sc[0])[1] if scored else None


def _weaker(new: str, old: str) -> bool:
    return new in _RANK and old in _RANK and _RANK[new] < _RANK[old]


def is_overdue(due_end: dt.date | None, status: str, today: dt.date) -> bool:
    return due_end is not None and due_end < today and status in OPEN_STATUSES


# --- the weekly reminder of overdue commitments ----------------------------------------

REMINDER_JOB_ID = "commitments_overdue"
REMINDER_WEEKDAY = "mon"  # APScheduler cron day_of_week
REMINDER_TIME = dt.time(8, 45)
REMINDER_LABEL = (
    f"答弁の約束の期限超過通知（毎週月曜{REMINDER_TIME.hour}:{REMINDER_TIME.minute:02d}、各課・総務課あて）"
)


def reminder_slot(now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The latest Monday-morning reminder time at or before ``now``."""
    local = now.astimezone(tz)
    day = local.date() - dt.timedelta(days=local.weekday())
    slot = dt.datetime.combine(day, REMINDER_TIME, tzinfo=tz)
    return slot if slot <= local else slot - dt.timedelta(days=7)
