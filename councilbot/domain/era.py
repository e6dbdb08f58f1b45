"""Japanese era dates (和暦): 令和6年3月 ↔ 2024-03, and session names.

Only the modern eras are needed for council records; 元年 is the first year.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from councilbot.domain.japanese import nfkc
from councilbot.domain.numbering import kanji_number
from councilbot.errors import InvalidInput

# (name, code, first day)
ERAS: tuple[tuple[str, str, dt.date], ...] = (
    ("令和", "R", dt.date(2019, 5, 1)),
    ("平成", "H", dt.date(1989, 1, 8)),
    ("昭和", "S", dt.date(1926, 12, 25)),
)

ERA_NAMES = "|".join(name for name, _code, _start in ERAS)  # for patterns: 令和|平成|昭和
_ERA_RE = re.compile(
    "(" + ERA_NAMES + r"|[RHS])\s*(元|\d+|[一二三四五六七八九十]+)\s*年(?:\s*(\d+)\s*月)?(?:\s*(\d+)\s*日)?"
)


def _era(name_or_code: str) -> tuple[str, str, dt.date]:
    for era in ERAS:
        if name_or_code in (era[0], era[1]):
            return era
    raise InvalidInput(f"元号「{name_or_code}」には対応していません。")


def to_western_year(era: str, era_year: int) -> int:
    return _era(era)[2].year + era_year - 1


_YEAR_IN_TEXT = re.compile("(" + ERA_NAMES + r"|[RHS])\s*(元|\d{1,2})", re.IGNORECASE)
_WESTERN_YEAR = re.compile(r"(19|20)\d\d")


def year_from_text(text: str) -> int | None:
    """Western year from 「令和6年」「R6」「平成30年」「2024」; None when absent."""
    norm = unicodedata.normalize("NFKC", text or "")
    if match := _YEAR_IN_TEXT.search(norm):
        return to_western_year(match.group(1).upper(), 1 if match.group(2) == "元" else int(match.group(2)))
    match = _WESTERN_YEAR.search(norm)
    return int(match.group()) if match else None


def era_of(date: dt.date) -> tuple[str, str, int]:
    """The era name, code and year number of ``date``."""
    for name, code, start in ERAS:
        if date >= start:
            return name, code, date.year - start.year + 1
    raise InvalidInput(f"{date.isoformat()} は対応している元号より前の日付です。")


def era_year(date: dt.date) -> str:
    """2026-12-01 → 「令和8年」 (元年 for the first year)."""
    name, _code, year = era_of(date)
    return f"{name}{'元' if year == 1 else year}年"


def to_wareki(date: dt.date, *, with_day: bool = True) -> str:
    """2026-12-01 → 「令和8年12月1日」 (元年 for the first year)."""
    text = f"{era_year(date)}{date.month}月"
    return text + (f"{date.day}日" if with_day else "")


def parse_wareki(text: str) -> tuple[int, int | None, int | None]:
    """「令和6年3月」→ (2024, 3, None); accepts full-width digits, 元年 and kanji years."""
    norm = unicodedata.normalize("NFKC", text or "")
    match = _ERA_RE.search(norm)
    if not match:
        raise InvalidInput(f"「{text}」から和暦の年月を読み取れません。「令和6年3月」の形で書いてください。")
    era, year_raw, month, day = match.groups()
    year = 1 if year_raw == "元" else (int(year_raw) if year_raw.isdigit() else kanji_number(year_raw))
    if year is None or year < 1:
        raise InvalidInput(f"「{text}」の年を読み取れません。")
    month_i = int(month) if month else None
    if month_i is not None and not 1 <= month_i <= 12:
        raise InvalidInput(f"「{text}」の月が正しくありません。")
    return to_western_year(era, year), month_i, int(day) if day else None


@dataclass(frozen=True)
class SessionName:
    """A parsed session name such as 「令和8年12月定例会」."""

    name: str
    year: int  # western
    month: int
    kind: str  # 定例会 / 臨時会

    @property
    def code(self) -> str:
        """Key prefix: 令和8年12月 → ``R8-12``."""
        _name, code, era_year = era_of(dt.date(self.year, self.month, 28))
        return f"{code}{era_year}-{self.month}"


def parse_session_name(text: str) -> SessionName:
    name = nfkc(text).replace(" ", "")
    year, month, _day = parse_wareki(name)
    if month is None:
        raise InvalidInput(f"会期名「{text}」に月がありません。「令和8年12月定例会」の形で書いてください。")
    kind = "臨時会" if "臨時" in name else "定例会"
    return SessionName(name=name, year=year, month=month, kind=kind)
