import datetime as dt

import pytest

from councilbot.domain.era import parse_session_name, parse_wareki, to_wareki
from councilbot.errors import InvalidInput


def test_to_wareki_including_first_year():
    assert to_wareki(dt.date(2026, 12, 1)) == "令和8年12月1日"
    assert to_wareki(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert to_wareki(dt.date(2019, 4, 30)) == "平成31年4月30日"
    assert to_wareki(dt.date(2024, 3, 5), with_day=False) == "令和6年3月"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("令和6年3月", (2024, 3, None)),
        ("令和６年３月", (2024, 3, None)),
        ("令和元年6月", (2019, 6, None)),
        ("平成三十年", (2018, None, None)),
        ("平成30年9月10日", (2018, 9, 10)),
        ("R4年6月", (2022, 6, None)),
    ],
)
def test_parse_wareki(text, expected):
    assert parse_wareki(text) == expected


def test_parse_wareki_rejects_nonsense():
    with pytest.raises(InvalidInput):
        parse_wareki("来年の春")
    with pytest.raises(InvalidInput):
        parse_wareki("令和6年13月")


def test_session_name_code_and_kind():
    s = parse_session_name("令和８年１２月定例会")
    assert (s.name, s.year, s.month, s.kind, s.code) == ("令和8年12月定例会", 2026, 12, "定例会", "R8-12")
    assert parse_session_name("令和7年5月臨時会").kind == "臨時会"
    with pytest.raises(InvalidInput):
        parse_session_name("令和8年定例会")
