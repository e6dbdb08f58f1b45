"""Council minutes (会議録) as text → who asked what and which executive answered it.

Minutes are what a city's 会議録検索システム publishes: a header (session, meeting
number, date, 議事日程, attendance lists), then speaker turns, each opened by a mark
at the start of a line::

    ◆１６番（山田　太郎君）　おはようございます。１点目、防災対策について伺います。
    ○議長（鈴木一郎君）　市長。
    〔市長　佐藤次郎君登壇〕
    ◎市長（佐藤次郎君）　お答えいたします。…

House styles differ in the mark (○◯〇◎◆◇△▲), full- or half-width seat numbers, the
suffix (君 / 議員 / さん / none), whether text follows the name on the same line, and
the noise around the turns (hard line wraps, page numbers 「－ 12 －」, stage directions,
separators, times 「午後１時開議」). This module reads all of them and pairs each
member's turn with the executives' turns that answer it. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from councilbot.domain.era import ERA_NAMES, parse_wareki
from councilbot.domain.japanese import nfkc
from councilbot.domain.numbering import kanji_number
from councilbot.errors import InvalidInput

TURN_MARKS = "○◯〇◎◆◇△▲●"
CHAIR_ROLES = frozenset({"議長", "副議長", "仮議長", "臨時議長", "委員長", "副委員長", "座長"})
QUESTION_TYPES = ("代表質問", "一般質問", "緊急質問", "総括質疑", "質疑")
NAME_SUFFIXES = ("議員", "君", "さん", "氏")

# Kinds of turn.
CHAIR, MEMBER, EXECUTIVE, OTHER = "chair", "member", "executive", "other"

_SEAT = re.compile(r"^(\d{1,3})番$")
# An executive's title ends like one of these: 市長, 総務部長, 上下水道事業管理者, 会計管理者, 技監, 理事 …
_EXECUTIVE_END = re.compile(r"(?:長|管理者|監|理事|参事|参与|審議官|委員|局長|会長)$")
# Headings and lists that carry a mark but are no one's turn (出席議員, 議事日程, …).
_LIST_WORDS = re.compile(
    r"出席|欠席|署名|日程|付した事件|付議|事務局職員|説明員|説明のため|職務のため|開議|散会|閉会|諸般|会議録"
)
# The council's own officers: its secretariat, and committee chairs reporting (総務常任委員長).
_PROCEDURAL_ROLE = re.compile(r"^議会|^事務局長$|^書記|^議事|常任委員長$|特別委員長$|運営委員長$")
_NAME = r"[^\s()（）0-9]{1,8}(?:\s[^\s()（）0-9]{1,6})?"
_BRACKETED = re.compile(r"^(?P<role>[^\s()]{1,30}?)\s*\((?P<name>[^()0-9]{1,20})\)\s*(?P<rest>.*)$")
_UNBRACKETED_SUFFIX = re.compile(
    rf"^(?P<role>[^\s()]{{1,30}}?)\s+(?P<name>{_NAME}?)(?P<suffix>君|議員|さん)(?:\s+(?P<rest>.*))?$"
)
_UNBRACKETED_PLAIN = re.compile(
    r"^(?P<role>\d{1,3}番|[^\s()]{1,30}?(?:長|管理者|監))\s+(?P<name>[^\s()0-9]{2,8})(?:\s+(?P<rest>.*))?$"
)
# Name first, as some cities print it: 「◆山田太郎 議員」「◎佐藤次郎 市長」「◎高橋三郎 総務局長」
_NAME_FIRST = re.compile(
    r"^(?P<name>[^\s()0-9]{1,6}(?:\s[^\s()0-9]{1,6})?)\s+"
    r"(?P<role>議員|委員|[^\s()0-9]{0,20}?(?:長|管理者|監|理事|参与))(?:\s+(?P<rest>.*))?$"
)
# Committee style: 「○山田委員　…」「◆山田太郎議員　…」
_NAME_ONLY_MEMBER = re.compile(r"^(?P<name>[^\s()0-9番]{2,8}?)(?P<suffix>議員|委員)(?:\s+(?P<rest>.*))?$")

_DASHES = r"－―‐−ー—–\-"
# Matched on NFKC text (full-width digits and brackets are ASCII by then): 「－ 12 －」「- 12 -」「(12)」「12」
_PAGE_NUMBER = re.compile(rf"^[{_DASHES}(]?\s*\d{{1,4}}\s*[{_DASHES})]?$")
_SEPARATOR = re.compile(r"^[─━―－\-=＝~～・*＊_＿　 ]{4,}$")
_TIME = re.compile(
    r"^[(（〔]?\s*(?:午前|午後)\s*[0-9０-９一二三四五六七八九十〇]+\s*時\s*(?:[0-9０-９一二三四五六七八九十〇]+\s*分)?\s*"
    r"(?P<what>開議|開会|散会|休憩|再開|延会|閉会|閉議|休会)\s*[)）〕]?$"
)
_ENDING_TIMES = ("散会", "延会", "閉会", "閉議", "休会")
_STAGE_LINE = re.compile(
    r"^[〔［\[][^〕］\]]*[〕］\]]$|^[(（][^()（）]*(?:登壇|降壇|拍手|呼ぶ者|発言する者|退場|退席|着席|離席|議場|傍聴)[^()（）]*[)）]$"
)
_STAGE_INLINE = re.compile(
    r"〔[^〕]*〕|[(（][^()（）]*(?:登壇|降壇|拍手|呼ぶ者|発言する者|退場|退席|着席|離席|議場騒然)[^()（）]*[)）]"
)
_HEAD_STAGE = re.compile(r"^(?:登壇|\(登壇\)|〔登壇〕)\s*")
_LIST_HEADING = re.compile(
    r"^[\s　]*[○◯〇◎●■□◇◆・]?\s*(?:出席議員|欠席議員|説明のため|地方自治法第121条|職務のため|議事日程|本日の会議に付した事件|会議録署名議員|出席説明員|事務局職員)"
)
_AGENDA_RESET = re.compile(r"日程第|議題と|提案理由|議案第")
_TOPIC = re.compile(
    r"(?:(?P<n>[0-9０-９]{1,2}|[一二三四五六七八九十]{1,3})点目|(?:大きな|大きく)?(?:第)?(?P<m>[一二三四五六七八九十]{1,3}|[0-9０-９]{1,2})(?:つ目|番目)|まず|最初に|初めに|はじめに|次に|続いて|最後に)"
    r"(?:は|に|として|の質問は|ですが)?[、，,]?\s*(?P<t>[^。、，]{2,40}?(?:について|に関して))"
)
# A 通告 heading read out on a line of its own (matched on NFKC text): 「１　防災対策について」「(2) 避難所の運営について」
_OUTLINE_HEADING = re.compile(
    r"^(?:(?P<n>\d{1,2}|[一二三四五六七八九十]{1,3})[\s.、]+|(?P<p>\(\d{1,2}\)|[\u2460-\u2473])\s*)"
    r"(?P<t>[^\s。、].{0,38}?について)$"
)
_ANSWER_TOPIC = re.compile(r"(?P<n>[0-9０-９]{1,2}|[一二三四五六七八九十]{1,3})点目")
_SESSION = re.compile(
    r"(?P<era>" + ERA_NAMES + r")\s*(?P<year>元|\d+)\s*年\s*(?P<no>第\s*\d+\s*回)?\s*(?P<month>\d+\s*月)?"
    r"[^\s\d年]{0,16}?(?P<kind>定例会|臨時会)"
)
_COMMITTEE = re.compile(r"[^\s()0-9年月会]{1,16}委員会")
_MEETING = re.compile(r"第\s*([0-9０-９一二三四五六七八九十]+)\s*号")
_DATE = re.compile(
    r"(?:" + ERA_NAMES + r")\s*(?:元|[0-9０-９]+|[一二三四五六七八九十]+)\s*年\s*[0-9０-９]+\s*月\s*[0-9０-９]+\s*日"
)


@dataclass(frozen=True)
class Skipped:
    line: int
    reason: str


@dataclass(frozen=True)
class Turn:
    """One speaker's turn; ``text`` has its noise removed and its hard line wraps joined."""

    index: int  # ordinal among the file's turns, from 1
    line: int  # line of the file where the turn starts, from 1
    kind: str  # CHAIR, MEMBER, EXECUTIVE or OTHER
    role: str  # as printed: 16番, 議長, 市長, 総務部長
    name: str  # as printed, suffix removed, one space at most between family and given name
    text: str

    @property
    def seat(self) -> str | None:
        """「16番」 for 「16番」 and 「16番議員」."""
        found = re.match(r"^(\d{1,3})番", self.role)
        return f"{found.group(1)}番" if found else None


@dataclass(frozen=True)
class MinutesHeader:
    session: str | None = None  # 令和6年6月定例会
    meeting_no: int | None = None  # 第２号 → 2
    date: dt.date | None = None
    question_type: str | None = None  # 一般質問 / 代表質問 when the 日程 says
    committee: str | None = None  # 予算特別委員会 when the title names one (else the plenary, 本会議)


@dataclass(frozen=True)
class MinutesAnswer:
    """One executive's answer turn and the member's turn it answers: one archive record."""

    ref: str
    member: str
    seat: str | None
    question: str
    question_line: int
    answer: str
    answerer: str  # the title as printed
    line: int  # where the answer turn starts
    round: int  # 1 for the first question, 2 for the first 再質問 …
    question_type: str | None
    title: str
    item_no: str | None


@dataclass
class ParsedMinutes:
    header: MinutesHeader
    turns: list[Turn] = field(default_factory=list)
    answers: list[MinutesAnswer] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    noise_lines: int = 0


# ---- encodings --------------------------------------------------------------


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or not) or Shift_JIS/CP932 → text.

    Anything else raises ``InvalidInput`` with one Japanese sentence: guessing wrong
    would import mojibake as past answers.
    """
    unreadable = InvalidInput(
        f"{name} の文字コードを判別できません。UTF-8、Shift_JIS、UTF-16 のいずれかで保存し直してください。"
    )
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates: Iterable[str] = ("utf-8-sig",)
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:  # without a BOM, only the text that comes out tells UTF-16 from CP932
        candidates = ("utf-8", "utf-16-le", "utf-16-be", "cp932")
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _plausible(text):
            return text
    raise unreadable


def _plausible(text: str) -> bool:
    """Japanese text, not a binary file or bytes read in the wrong encoding (EUC-JP read as CP932
    turns into half-width kana; CP932 read as UTF-16 into Hangul and other scripts)."""
    if not text.strip():
        return False
    unusual = len(_UNUSUAL.findall(text))
    halfwidth_kana = len(_HALFWIDTH_KANA.findall(text))
    wide = len(_WIDE.findall(text)) or 1
    return unusual <= 0.02 * len(text) and halfwidth_kana / wide < 0.1


# What Japanese minutes are written with: ASCII, Latin-1, punctuation, symbols and box drawing,
# kana, kanji, full-width forms, Greek and Cyrillic (in JIS).
_UNUSUAL = re.compile(
    "[^\t\n\r\f -~\u00a0-\u00ff\u0391-\u03c9\u0401-\u0451\u2000-\u27bf\u3000-\u30ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]")
_WIDE = re.compile("[^\x00-\x7f]")


# ---- speaker turns ----------------------------------------------------------


def _classify(role: str, suffix: str) -> str:
    if role in CHAIR_ROLES:
        return CHAIR
    if role in ("議員", "委員"):
        return MEMBER
    if _SEAT.match(role) or role.endswith("議員") or (suffix == "議員" and not _EXECUTIVE_END.search(role)):
        return MEMBER
    if _PROCEDURAL_ROLE.search(role):
        return OTHER
    if _EXECUTIVE_END.search(role) or role in ("知事", "副知事"):
        return EXECUTIVE
    return OTHER


def parse_turn_head(line: str) -> tuple[str, str, str, str] | None:
    """A line opening a speaker's turn → (kind, role, name, text after the name), else ``None``."""
    norm = nfkc(line)
    if len(norm) < 3 or norm[0] not in TURN_MARKS:
        return None
    head = norm[1:].strip()
    suffix = ""
    match = _BRACKETED.match(head) or _UNBRACKETED_SUFFIX.match(head) or _UNBRACKETED_PLAIN.match(head)
    if match:
        role, name = match["role"], match["name"].strip()
        suffix = match.groupdict().get("suffix") or ""
        for ending in NAME_SUFFIXES:
            if name.rstrip().endswith(ending) and len(name) > len(ending) + 1:
                name, suffix = name.rstrip()[: -len(ending)].rstrip(), suffix or ending
                break
    elif match := _NAME_ONLY_MEMBER.match(head):
        role, name, suffix = "", match["name"], "議員"  # its suffix is no role: the member is unseated here
    elif match := _NAME_FIRST.match(head):
        role, name = match["role"], match["name"]
    else:
        return None
    if _LIST_WORDS.search(role + name) or re.search(r"\d|名$", name):
        return None
    role = role.replace(" ", "")
    kind = _classify(role, suffix)
    if kind == OTHER and not _PROCEDURAL_ROLE.search(role):
        return None  # 「○○地区（仮称）の…」: a wrapped line of text, not a speaker
    rest = _HEAD_STAGE.sub("", (match["rest"] or "").strip())
    return kind, role, re.sub(r"\s+", " ", name), _original_tail(line, rest)


def _original_tail(line: str, rest: str) -> str:
    """The text after the name as the file has it (``rest`` was matched on an NFKC copy)."""
    original = line.strip()
    tail = original[len(original) - len(rest) :] if rest else ""
    return tail.strip() if nfkc(tail) == rest else rest


def _time(norm: str) -> re.Match[str] | None:
    """「午後１時開議」, also spaced out as 「（午後　１時　　開　議）」."""
    return _TIME.match(re.sub(r"\s+", "", norm))


def _is_heading(norm: str) -> bool:
    """「◎日程第２　一般質問」「△散会」: a short marked line that is no one's turn (a wrapped line of
    text beginning 「○○地区では、…」 is longer or has punctuation)."""
    return bool(norm) and norm[0] in TURN_MARKS and len(norm) <= 25 and not re.search(r"[、。,]", norm)


def _is_noise(norm: str) -> bool:
    return bool(_PAGE_NUMBER.match(norm) or _SEPARATOR.match(norm) or _STAGE_LINE.match(norm) or _time(norm))


def _join_wrapped(lines: list[str], width: int, double_spaced: bool) -> str:
    """Hard-wrapped lines → paragraphs: joined without spaces, a new paragraph where a line is
    indented, follows a blank line (unless the whole file is double-spaced) or the one before
    ended a sentence well short of the wrap width."""
    paragraphs: list[str] = []
    previous = ""
    for raw in lines:
        line = _STAGE_INLINE.sub("", raw.rstrip())
        if not line.strip():
            previous = previous if double_spaced else ""
            continue
        indented = line[0] in " \u3000\t"
        text = line.strip()
        ended = (previous.endswith(("。", "」", "？", "?")) and len(previous) < width * 0.85) or bool(
            _OUTLINE_HEADING.match(nfkc(previous))
        )
        if not paragraphs or indented or not previous or ended or _OUTLINE_HEADING.match(nfkc(text)):
            paragraphs.append(text)
        else:
            paragraphs[-1] += text
        previous = line.rstrip()
    return "\n".join(p for p in paragraphs if p)


def _wrap_width(lines: list[str]) -> int:
    lengths = sorted(len(line.rstrip()) for line in lines if len(line.strip()) > 10)
    return lengths[int(len(lengths) * 0.9)] if lengths else 80


def split_turns(text: str) -> tuple[list[str], list[Turn], list[tuple[int, str]], int]:
    """The header lines before the first turn, the turns, the lines that belonged to no turn
    (line number, text) and the number of noise lines dropped from inside turns."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    width = _wrap_width(lines)
    double_spaced = sum(1 for line in lines if not line.strip()) >= 0.4 * len(lines)  # as PDF copies can be
    header: list[str] = []
    turns: list[Turn] = []
    outside: list[tuple[int, str]] = []
    noise = 0
    # Minutes copied from PDF repeat the title at the top of every page: a header line seen again is noise.
    running_heads: set[str] = set()
    current: tuple[int, str, str, str, list[str]] | None = None  # line, kind, role, name, body lines

    def close() -> None:
        nonlocal current
        if current is not None:
            line, kind, role, name, body = current
            turns.append(Turn(len(turns) + 1, line, kind, role, name, _join_wrapped(body, width, double_spaced)))
            current = None

    for lineno, line in enumerate(lines, 1):
        head = parse_turn_head(line)
        if head is not None:
            close()
            kind, role, name, rest = head
            current = (lineno, kind, role, name, [rest] if rest else [])
            continue
        norm = nfkc(line)
        if current is None:
            if turns:
                outside.append((lineno, line))
            else:
                header.append(line)
                if len(norm) >= 6:
                    running_heads.add(norm)
            continue
        if _LIST_HEADING.match(norm) or _is_heading(norm):
            close()  # an attendance list or a ◎ heading ends the turn before it
            outside.append((lineno, line))
            continue
        time = _time(norm)
        if time and time["what"] in _ENDING_TIMES:
            close()
            noise += 1
            continue
        if norm and (_is_noise(norm) or norm in running_heads):
            noise += 1
            continue
        current[4].append(line)
    close()
    return header, turns, outside, noise


# ---- header -----------------------------------------------------------------


def parse_header(lines: list[str]) -> MinutesHeader:
    text = "\n".join(lines)
    norm = unicodedata.normalize("NFKC", text)
    session = None
    if found := _SESSION.search(norm):
        # 「令和６年６月桜ヶ丘市議会定例会」 → 令和6年6月定例会 (the city's name is not part of it)
        session = re.sub(
            r"\s+",
            "",
            "".join(found.group("era", "year")) + "年" + (found["month"] or found["no"] or "") + found["kind"],
        )
    meeting = _MEETING.search(norm)
    meeting_no = None
    if meeting:
        raw = meeting.group(1)
        meeting_no = int(raw) if raw.isdigit() else kanji_number(raw)
    date = None
    if found := _DATE.search(norm):
        try:
            year, month, day = parse_wareki(found.group(0))
            date = dt.date(year, month or 1, day or 1)
        except (InvalidInput, ValueError):
            date = None
    question_type = next((qt for qt in QUESTION_TYPES if qt in norm), None)
    title = unicodedata.normalize(
        "NFKC", "\n".join([line for line in lines if line.strip()][:3])
    )  # not the attendance lists below
    committee = found.group(0) if (found := _COMMITTEE.search(title)) else None
    return MinutesHeader(session, meeting_no, date, question_type, committee)


# ---- pairing ----------------------------------------------------------------


def _topics(question: str) -> list[tuple[str | None, str]]:
    """(number or None, 件名) of each topic a member's turn announces: 「１点目、…について」, else
    the 通告 headings it reads out as lines of their own: 「１　防災対策について」."""
    found = [
        (_number(m["n"] or m["m"]), m["t"].strip()) for m in _TOPIC.finditer(unicodedata.normalize("NFKC", question))
    ]
    if not found:
        headings = (_OUTLINE_HEADING.match(nfkc(p)) for p in question.split("\n"))
        found = [(_number(h["n"] or h["p"]), h["t"].strip()) for h in headings if h]
    return found


def _number(raw: str | None) -> str | None:
    """「１」「一」「(1)」「①」 → "1"; None when there is no number."""
    if not raw:
        return None
    raw = raw.strip("()")
    if raw.isdigit():
        return str(int(raw))
    if "\u2460" <= raw <= "\u2473":
        return str(ord(raw) - 0x2460 + 1)
    number = kanji_number(raw)
    return str(number) if number else None


def _bigrams(text: str) -> set[str]:
    norm = unicodedata.normalize("NFKC", text)
    return {norm[i : i + 2] for i in range(len(norm) - 1)}


def _title_for(question: str, answer: str, first_round: str) -> tuple[str, str | None]:
    """The 件名 of the part of ``question`` that ``answer`` answers, and its number when stated.

    A 再質問 that names no topic takes it from the member's first-round turn.
    """
    topics = _topics(question) or _topics(first_round)
    if not topics:
        return _first_sentence(question), None
    if len(topics) > 1:
        if said := _ANSWER_TOPIC.search(unicodedata.normalize("NFKC", answer)):
            wanted = _number(said["n"])
            for number, title in topics:
                if number == wanted:
                    return title, number
        words = _bigrams(answer[:300] + question[:200] if question != first_round else answer[:300])
        number, title = max(topics, key=lambda t: len(_bigrams(t[1]) & words) / (len(t[1]) or 1))
        return title, number
    return topics[0][1], topics[0][0]


def _first_sentence(text: str) -> str:
    sentences = [s for s in re.split(r"(?<=[。？?])", text.replace("\n", "")) if s.strip()]
    # Skip greetings: 「おはようございます。」「通告に従い質問します。」
    for sentence in sentences:
        if len(sentence) > 8 and not re.search(
            r"通告|おはよう|こんにちは|ございます。$|^再質問|^再々質問|質問(?:いた)?します。$", sentence
        ):
            return sentence.strip()[:60]
    return (sentences[0] if sentences else text).strip()[:60]


def minutes_ref(header: MinutesHeader, text: str, turn: Turn) -> str:
    """Stable per file and turn: the same minutes imported again give the same refs, and another
    meeting (another day, another committee) never does."""
    where = [
        header.session or "",
        header.committee or "",
        f"第{header.meeting_no}号" if header.meeting_no else "",
        header.date.isoformat() if header.date else "",
    ]
    if not any(where):
        where = [hashlib.sha256(unicodedata.normalize("NFKC", text).encode("utf-8")).hexdigest()[:12]]
    return "minutes:" + ":".join(w for w in where if w) + f":{turn.index:04d}"


def _same_speaker(a: Turn, b: Turn) -> bool:
    return a.name.replace(" ", "") == b.name.replace(" ", "")


def _said_type(text: str) -> str | None:
    return next((qt for qt in QUESTION_TYPES if qt in text), None)


def parse_minutes(text: str) -> ParsedMinutes:
    """Parse minutes; each executive turn that follows a member's turn becomes a :class:`MinutesAnswer`."""
    header_lines, turns, outside, noise = split_turns(text)
    parsed = ParsedMinutes(header=parse_header(header_lines), turns=turns, noise_lines=noise + len(outside))
    pairing = _Pairing(parsed, text)
    # Agenda headings between turns (「◎日程第３　議案第４５号」) move on from the last question too.
    headings = iter([(n, line) for n, line in outside if _AGENDA_RESET.search(line) or _said_type(line)])
    heading = next(headings, None)
    for turn in turns:
        while heading is not None and heading[0] < turn.line:
            pairing.agenda(heading[1])
            heading = next(headings, None)
        if turn.kind == MEMBER:
            pairing.member(turn)
        elif turn.kind == EXECUTIVE:
            pairing.executive(turn)
        else:
            if turn.kind == CHAIR:
                pairing.agenda(turn.text)  # 「日程第２、一般質問を行います」「これより代表質問を行います」
            reason = (
                "議長の発言（議事進行）です。"
                if turn.kind == CHAIR
                else f"「{turn.role}」の発言は質問・答弁ではありません。"
            )
            parsed.skipped.append(Skipped(turn.line, reason))
    pairing.end_question()
    parsed.skipped.sort(key=lambda s: s.line)
    return parsed


class _Pairing:
    """Which member's turn the next executive turn answers, and the 再質問 round it is in."""

    def __init__(self, parsed: ParsedMinutes, text: str) -> None:
        self.parsed, self.text = parsed, text
        self.question: Turn | None = None
        self.answered = False
        self.rounds = 0
        self.first_round = ""  # the member's first turn: a 再質問 naming no topic takes its topics
        self.question_type = parsed.header.question_type

    def agenda(self, text: str) -> None:
        self.question_type = _said_type(text) or self.question_type
        if _AGENDA_RESET.search(text):
            self.end_question()
            self.question = None

    def end_question(self) -> None:
        if self.question is not None and not self.answered:
            self.parsed.skipped.append(
                Skipped(self.question.line, "答弁のない議員の発言です（討論・動議・質問の終了など）。")
            )
        self.answered = True

    def member(self, turn: Turn) -> None:
        self.end_question()
        self.rounds = self.rounds + 1 if self.question is not None and _same_speaker(self.question, turn) else 1
        if self.rounds == 1:
            self.first_round = turn.text
        self.question, self.answered = turn, False

    def executive(self, turn: Turn) -> None:
        question = self.question
        if question is None or not turn.text:
            self.parsed.skipped.append(Skipped(turn.line, "議員の質問に続かない発言です（議案の説明など）。"))
            return
        title, item_no = _title_for(question.text, turn.text, self.first_round)
        self.parsed.answers.append(
            MinutesAnswer(
                ref=minutes_ref(self.parsed.header, self.text, turn),
                member=question.name,
                seat=question.seat,
                question=question.text,
                question_line=question.line,
                answer=turn.text,
                answerer=turn.role,
                line=turn.line,
                round=self.rounds,
                question_type=self.question_type,
                title=title,
                item_no=item_no,
            )
        )
        self.answered = True


def looks_like_minutes(text: str) -> bool:
    """Minutes by their content: speaker turns of members and executives, not some other text."""
    kinds = set()
    count = 0
    for line in text.splitlines():
        head = parse_turn_head(line)
        if head is not None and head[0] != OTHER:
            kinds.add(head[0])
            count += 1
    return count >= 2 and (MEMBER in kinds or EXECUTIVE in kinds) and len(kinds) >= 2
