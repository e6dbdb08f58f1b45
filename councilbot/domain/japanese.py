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
