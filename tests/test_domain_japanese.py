"""The one place where times read as staff say them: chat, CLI, pages and reminders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from councilbot.domain.japanese import day_label, local_time, when_label

AT = dt.datetime(2026, 11, 27, 8, 5, 9, tzinfo=dt.UTC)  # 17:05:09 in Tokyo, a Friday


def test_a_deadline_reads_with_its_weekday_to_the_minute():
    assert when_label(AT, ZoneInfo("Asia/Tokyo")) == "11月27日（金）17:05"
    assert when_label(AT, ZoneInfo("Asia/Tokyo"), year=True) == "2026年11月27日（金）17:05"
    assert day_label(AT, "Asia/Tokyo") == "11月27日（金）17:05"
    assert day_label(None, "Asia/Tokyo") == "—"


def test_a_recorded_moment_reads_in_local_time_to_the_minute_or_second():
    assert local_time(AT, "Asia/Tokyo") == "2026-11-27 17:05"
    assert local_time(AT, "Asia/Tokyo", seconds=True) == "2026-11-27 17:05:09"
    assert local_time(AT, "Asia/Tokyo", seconds=True, weekday=True) == "2026-11-27（金）17:05:09"
    assert local_time(None, "Asia/Tokyo") == "—"
