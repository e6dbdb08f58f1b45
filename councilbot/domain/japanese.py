"""Conventions of Japanese text the core shares: width folding, hiragana, and times as staff read them."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

# A character-class range (use inside [...]): the hiragana letters, voicing marks and ゝゞゟ.
HIRAGANA = "\u3041-\u309f"
_HIRAGANA_ONLY = re.compile(f"^[{HIRAGANA}]+$")
WEEKDAYS = "月火水木金土日"


def nfkc(text: str | None) -> str:
    """Typed input folded to one width (ＡＢＣ１２ → ABC12, ｶﾅ → カナ, 　 → space) and trimmed."""
    return unicodedata.normalize("NFKC", text or "").strip()


def is_hiragana(text: str) -> bool:
    """True for text of hiragana only (ている, には): such pairs say nothing of content."""
    return bool(_HIRAGANA_ONLY.match(text))


def when_label(value: dt.datetime, tz: ZoneInfo, *, year: bool = False) -> str:
    """「11月27日（金）17:00」 in local time (「2026年11月27日（金）17:00」 with ``year``)."""
    t = value.astimezone(tz)
    day = f"{t.year}年{t.month}月{t.day}日" if year else f"{t.month}月{t.day}日"
    return f"{day}（{WEEKDAYS[t.weekday()]}）{t.hour}:{t.minute:02d}"


def day_label(value: dt.datetime | None, tz_name: str) -> str:
    """A deadline or a meeting as staff say it, to the minute: 「11月27日（金）17:00」; 「—」 when unknown."""
    return "—" if value is None else when_label(value, ZoneInfo(tz_name))


def local_time(value: dt.datetime | None, tz_name: str, *, seconds: bool = False, weekday: bool = False) -> str:
    """A recorded moment in local time: 「2026-11-30 10:00」, to the second for stamps and comments
    (「2026-11-30 10:00:05」), with the weekday on pages (「2026-11-30（月）10:00:05」); 「—」 when unknown."""
    if value is None:
        return "—"
    t = value.astimezone(ZoneInfo(tz_name))
    day = f"{t:%Y-%m-%d}（{WEEKDAYS[t.weekday()]}）" if weekday else f"{t:%Y-%m-%d} "
    return day + (f"{t:%H:%M:%S}" if seconds else f"{t:%H:%M}")
