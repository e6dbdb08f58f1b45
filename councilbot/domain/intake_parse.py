"""Reading a question item out of a free chat message (質問取り).

Staff paste what they have: 「令和8年12月定例会 一般質問 16番 山田議員 1-(2)-① 避難所について …」
in any order, with full-width digits. Whatever can be read is filled in;
whatever cannot is listed in ``missing`` so the chat can ask for it in a
pre-filled form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from councilbot.domain.numbering import ItemNumber, nfkc_keep_circled
from councilbot.errors import InvalidInput

QUESTION_TYPES = ("代表質問", "一般質問", "委員会")

_SESSION = re.compile(r"(令和|平成)\s*(元|\d+)\s*年\s*(\d+)\s*月\s*(定例会|臨時会)")
_SEAT = re.compile(r"(?<!\d)(\d{1,2})\s*番")
_ITEM = re.compile(
    r"(?<![\d(])(\d+\s*[-ー－‐−]\s*\(\s*\d+\s*\)(?:\s*[-ー－‐−]\s*(?:\[c\d+\]|\d+))?|\d+\s*[-ー－‐−]\s*\[c\d+\]|\d+\s*\(\s*\d+\s*\)(?:\s*\[c\d+\])?)"
)
_TITLE_LINE = re.compile(r"^(?P<title>.{2,80}?について)\s*$")


@dataclass(frozen=True)
class KnownMember:
    seat: int
    name: str
    faction: str | None = None


@dataclass
class ParsedQuestion:
    session_name: str | None = None
    question_type: str | None = None
    seat: int | None = None
    member_name: str | None = None
    item_no: str | None = None
    title: str | None = None
    body: str | None = None
    missing: list[str] = field(default_factory=list)


def _restore_circled(text: str) -> str:
    return re.sub(r"\[c(\d+)\]", lambda m: ItemNumber(1, 1, int(m.group(1))).format()[-1], text)


def _compact(name: str) -> str:
    return re.sub(r"\s+", "", name)


def parse_question_message(text: str, members: Sequence[KnownMember] = ()) -> ParsedQuestion:
    if not text or not text.strip():
        raise InvalidInput("質問の本文が空です。")
    norm = nfkc_keep_circled(text)
    result = ParsedQuestion()

    if m := _SESSION.search(norm):
        result.session_name = f"{m.group(1)}{m.group(2)}年{m.group(3)}月{m.group(4)}"
    for qt in QUESTION_TYPES:
        if qt in norm:
            result.question_type = qt
            break
    if m := _SEAT.search(norm):
        result.seat = int(m.group(1))
    compact = _compact(norm)
    matched = [m for m in members if _compact(m.name) in compact or result.seat == m.seat]
    if not matched:
        # 「青木議員」: the family name alone, when only one member has it.
        matched = [m for m in members if f"{m.name.split()[0]}議員" in compact] if members else []
    if len(matched) == 1 or (matched and result.seat is not None):
        member = matched[0]
        result.seat, result.member_name = member.seat, member.name
    if m := _ITEM.search(norm):
        try:
            result.item_no = ItemNumber.parse(_restore_circled(m.group(1))).format()
        except InvalidInput:
            result.item_no = None

    # The body is what remains once the header facts are taken out.
    lines = [ln.strip() for ln in norm.splitlines() if ln.strip()]
    body_lines: list[str] = []
    for line in lines:
        rest = line
        for pattern in (_SESSION, _SEAT, _ITEM):
            rest = pattern.sub(" ", rest)
        for qt in QUESTION_TYPES:
            rest = rest.replace(qt, " ")
        if result.member_name:
            family = result.member_name.split()[0]
            rest = rest.replace(result.member_name, " ").replace(_compact(result.member_name), " ")
            rest = re.sub(rf"{re.escape(family)}\s*議員(から|より)?", " ", rest)
        rest = re.sub(r"(議員|質問通告|通告)", " ", rest)
        rest = re.sub(
            r"[（(][^）)]{1,20}[）)]",
            lambda mm: " " if _looks_like_faction(mm.group(0), members) else mm.group(0),
            rest,
        )
        rest = rest.strip(" 　:：・,、。")
        if not rest:
            continue
        if result.title is None and (t := _TITLE_LINE.match(rest)):
            result.title = t.group("title")
            continue
        body_lines.append(rest)
    body = _restore_circled("\n".join(body_lines)).strip()
    if body:
        result.body = body
        if result.title is None:
            topic = re.search(r"([^。、\s]{2,40}?について)", body)
            first = re.split(r"[。\n]", body, maxsplit=1)[0]
            result.title = topic.group(1) if topic else (first if len(first) <= 40 else first[:38] + "…")
    for field_name, label in (
        ("session_name", "会期"),
        ("question_type", "質問の種類"),
        ("member_name", "質問議員"),
        ("item_no", "項目番号"),
        ("body", "質問の本文"),
    ):
        if getattr(result, field_name) is None:
            result.missing.append(label)
    return result


def _looks_like_faction(text: str, members: Sequence[KnownMember]) -> bool:
    inner = text.strip("（()）")
    return any(m.faction and m.faction == inner for m in members)
