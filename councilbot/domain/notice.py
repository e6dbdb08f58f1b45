"""A question notice (質問通告書) as text lines → members and their question items.

A notice is a numbered outline under each member's header::

    令和8年12月定例会　質問通告書
    【代表質問】16番　山田 太郎（新政会）
    1　防災・減災対策について
    （1）避難所運営の改善について
    ①　避難所における女性や高齢者への配慮について、現状と課題を伺う。
    （2）地域の防災力向上について
    自主防災組織への活動支援について伺う。      ← question text of (2), which has no ①

Each question item is a leaf of the outline. Typed by many hands, notices vary:
full-width digits, 「１．」「1.」「一、」 for major items, 「(1)」「（１）」「1)」「⑴」
for sub-items, 「①」「ア」「(ア)」 for details, and headers such as
「16番 山田太郎 議員（新政会）代表質問」. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from councilbot.domain.era import ERA_NAMES
from councilbot.domain.numbering import ItemNumber, kanji_number, uncircle
from councilbot.errors import InvalidInput

DEFAULT_QUESTION_TYPE = "一般質問"
QUESTION_TYPES = ("代表質問", "一般質問", "緊急質問", "委員会質疑", "委員会")

_NARROW = str.maketrans("０１２３４５６７８９（）－ー―‐−‑–—", "0123456789()--------")
_QT = "|".join(QUESTION_TYPES)
_MEMBER = re.compile(
    rf"^[【\[〔]?(?P<qt1>{_QT})?[】\]〕]?\s*(?P<seat>\d+)\s*番\s*"
    rf"(?P<name>[^\s（(、。【].*?)\s*(?P<giin>議員)?\s*(?:\((?P<faction>[^)]+)\))?"
    rf"\s*[【\[〔]?(?P<qt2>{_QT})?[】\]〕]?$"
)
_SESSION = re.compile(
    r"((?:" + ERA_NAMES + r")\s*(?:元|\d+)\s*年\s*(?:第\s*\d+\s*回\s*)?(?:\d+\s*月\s*)?(?:定例会|臨時会))"
)
_KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
_MAJOR = re.compile(r"^(?:第)?(\d{1,2}|[一二三四五六七八九十]{1,3})(?:[.．、]\s*|\s+)(\S.*)$")
_SUB = re.compile(r"^(?:\((\d{1,2})\)|(\d{1,2})\)|([⑴-⒇]))\s*(\S.*)$")
_DETAIL = re.compile(rf"^(?:([①-⑳㉑-㊿])|\(([{_KATAKANA}])\)|([{_KATAKANA}])[\s.．、]+)\s*(\S.*)$")
_HEADER_EXAMPLE = "【一般質問】3番　青木 健一（市民クラブ）"


def narrow(text: str) -> str:
    """Full-width digits, brackets and dashes → ASCII, one character for one."""
    return text.translate(_NARROW)


@dataclass(frozen=True)
class MemberHeader:
    question_type: str  # "" when the header does not say
    seat: str  # "16番"
    name: str
    faction: str
    explicit: bool  # says 議員, a question type or a faction: not just 「3番…」 in a sentence


def parse_member_header(text: str) -> MemberHeader | None:
    """「【代表質問】16番　山田 太郎（新政会）」 and variants; ``None`` for other lines."""
    stripped = text.strip()
    narrowed = narrow(stripped)
    match = _MEMBER.match(narrowed)
    if not match:
        return None
    # Names and factions are taken from the original text: ー is not a dash in ルーシー.
    name = stripped[match.start("name") : match.end("name")].strip()
    if not name or len(name) > 20 or any(c in name for c in "、。「」"):
        return None
    faction = stripped[match.start("faction") : match.end("faction")].strip() if match.group("faction") else ""
    question_type = match.group("qt1") or match.group("qt2") or ""
    return MemberHeader(
        question_type=question_type,
        seat=f"{int(match.group('seat'))}番",
        name=name,
        faction=faction,
        explicit=bool(question_type or match.group("giin") or faction),
    )


def find_session_name(text: str) -> str | None:
    """「令和8年12月定例会　質問通告書」 → 「令和8年12月定例会」."""
    match = _SESSION.search(narrow(text).replace("　", " "))
    return re.sub(r"\s+", "", match.group(1)) if match else None


@dataclass
class NoticeItem:
    item_no: str  # canonical, e.g. "1-(2)-①"
    title: str
    body: str  # the question text
    parent_titles: list[str] = field(default_factory=list)  # major (and sub) item titles above it
    line: int = 0  # line of the notice where the item starts (1-based)


@dataclass
class NoticeMember:
    question_type: str
    seat: str
    name: str
    faction: str
    items: list[NoticeItem] = field(default_factory=list)


@dataclass
class ParsedNotice:
    session_name: str | None
    members: list[NoticeMember]


@dataclass
class _Node:
    number: int
    text: str
    line: int
    body: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)
    stands_in: bool = False  # a detail (①) written directly under a major item


def parse_notice(lines: list[str], *, session_name: str | None = None) -> ParsedNotice:
    """Parse a notice; raise ``InvalidInput`` naming the line (「3行目: …」) when it is malformed."""
    if not any(line.strip() for line in lines):
        raise InvalidInput("通告書が空です。")
    found_session = session_name
    members: list[tuple[NoticeMember, int, list[_Node]]] = []
    majors: list[_Node] = []
    current: _Node | None = None  # the node that continuation text belongs to
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        header = parse_member_header(text)
        if header is not None and header.explicit:
            member = NoticeMember(
                header.question_type or DEFAULT_QUESTION_TYPE, header.seat, header.name, header.faction
            )
            majors, current = [], None
            members.append((member, number, majors))
            continue
        if not members:
            found_session = found_session or find_session_name(text)
            if _outline_marker(text) is None:
                continue  # title lines, addressee, date of submission
            raise InvalidInput(f"{number}行目: 議員の行（例：{_HEADER_EXAMPLE}）より前に質問項目があります。")
        marker = _outline_marker(text)
        if marker is None:
            if current is None:
                raise InvalidInput(f"{number}行目: 最初の項目番号（1、（1）、①など）より前に本文があります。")
            current.body.append(text)
            continue
        level, value, rest = marker
        node = _Node(value, rest, number)
        if level == 1:
            siblings = majors
        elif not majors:
            raise InvalidInput(f"{number}行目: 「{text[:12]}」の前に大項目（1、2…）がありません。")
        elif level == 2:
            siblings = majors[-1].children
        elif not majors[-1].children or majors[-1].children[-1].stands_in:
            # Details directly under a major item stand in for the sub-item level.
            node.stands_in = True
            siblings = majors[-1].children
        else:
            siblings = majors[-1].children[-1].children
        if any(sibling.number == value for sibling in siblings):
            raise InvalidInput(f"{number}行目: 「{text[:12]}」の番号が、同じ階層の前の項目と重複しています。")
        siblings.append(node)
        current = node
    if not members:
        raise InvalidInput(f"議員の行（例：{_HEADER_EXAMPLE}）が見つかりません。")
    result = []
    for member, line, member_majors in members:
        member.items = _leaves(member_majors)
        if not member.items:
            raise InvalidInput(f"{line}行目: {member.name}議員の質問項目がありません。")
        result.append(member)
    return ParsedNotice(session_name=found_session, members=result)


def _outline_marker(text: str) -> tuple[int, int, str] | None:
    """(level 1–3, number, rest of the line) for a numbered line, else ``None``."""
    narrowed = narrow(text)
    if match := _MAJOR.match(narrowed):
        raw = match.group(1)
        value = int(raw) if raw.isdigit() else kanji_number(raw)
        if value:
            return 1, value, text[match.start(2) :].strip()
    if match := _SUB.match(narrowed):
        digits = match.group(1) or match.group(2)
        value = int(digits) if digits else ord(match.group(3)) - ord("⑴") + 1
        return 2, value, text[match.start(4) :].strip()
    if match := _DETAIL.match(narrowed):
        circled, kana = match.group(1), match.group(2) or match.group(3)
        detail = uncircle(circled) if circled else _KATAKANA.index(kana) + 1
        if detail:  # always, as _DETAIL matched a circled digit or a kana
            return 3, detail, text[match.start(4) :].strip()
    return None


def _is_sentence(text: str) -> bool:
    """A question sentence rather than a heading such as 「防災対策について」."""
    return text.endswith(("。", "？", "?")) or "、" in text or "伺" in text


def _leaves(majors: list[_Node]) -> list[NoticeItem]:
    items = []
    for major in majors:
        if not major.children:
            items.append(_item(ItemNumber(major.number), major, []))
        for sub in major.children:
            if not sub.children:
                items.append(_item(ItemNumber(major.number, sub.number), sub, [major.text]))
            for detail in sub.children:
                items.append(_item(ItemNumber(major.number, sub.number, detail.number), detail, [major.text, sub.text]))
    return items


def _item(number: ItemNumber, node: _Node, parents: list[str]) -> NoticeItem:
    if _is_sentence(node.text):
        # Only a question: the heading it sits under names it.
        title = parents[-1] if parents else node.text
        body = "\n".join([node.text, *node.body])
    else:
        title = node.text
        body = "\n".join(node.body) or node.text
    return NoticeItem(item_no=number.format(), title=title, body=body, parent_titles=parents, line=node.line)
