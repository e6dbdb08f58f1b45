"""How times, durations and highlights read on the pages (Jinja filters)."""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

from councilbot.search.snippet import CLOSE, OPEN


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}日{hours}時間"
    if hours:
        return f"{hours}時間{minutes}分"
    return f"{minutes}分"


def time_left(target: dt.datetime | None, now: dt.datetime) -> str:
    """「あと2日3時間」, or 「1日4時間経過」 once passed."""
    if target is None:
        return "未設定"
    seconds = int((target - now).total_seconds())
    return f"あと{_span(seconds)}" if seconds >= 0 else f"{_span(-seconds)}経過"


def reading_time(seconds: int) -> str:
    """Reading time as spoken of at the meeting: 「約2分30秒」."""
    minutes, rest = divmod(int(seconds), 60)
    return f"約{minutes}分{rest:02d}秒" if minutes else f"約{rest}秒"


def highlight(snippet: str) -> Markup:
    """The search snippet with its 【hits】 marked; everything else escaped."""
    out, rest = [], snippet or ""
    while True:
        start = rest.find(OPEN)
        end = rest.find(CLOSE, start + 1) if start != -1 else -1
        if start == -1 or end == -1:
            out.append(escape(rest))
            return Markup("").join(out)
        out += [escape(rest[:start]), Markup("<mark>"), escape(rest[start + 1 : end]), Markup("</mark>")]
        rest = rest[end + 1 :]
