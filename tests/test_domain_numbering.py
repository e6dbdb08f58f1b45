import pytest

from councilbot.domain.numbering import ItemNumber, circled, kanji_number
from councilbot.errors import InvalidInput


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1-(2)-①", "1-(2)-①"),
        ("１－（２）－①", "1-(2)-①"),
        ("1-(2)-1", "1-(2)-①"),
        ("1(2)①", "1-(2)-①"),
        ("１（２）③", "1-(2)-③"),
        ("2-(10)", "2-(10)"),
        ("3", "3"),
        ("１", "1"),
        ("1.2.3", "1-(2)-③"),
        ("1－①", "1-(1)"),
        ("第2問", "2"),
        ("4-(1)-⑫", "4-(1)-⑫"),
    ],
)
def test_parse_variants_to_canonical(text, expected):
    assert ItemNumber.parse(text).format() == expected


@pytest.mark.parametrize("bad", ["", "  ", "あ", "(2)", "1-(2)-①-④", "0", "1-(0)"])
def test_parse_rejects_with_japanese_message(bad):
    with pytest.raises(InvalidInput) as err:
        ItemNumber.parse(bad)
    assert "項目番号" in err.value.message


def test_sort_is_numeric_not_textual():
    items = [ItemNumber.parse(t) for t in ["10", "2-(1)", "1-(10)", "1-(2)-②", "1-(2)-①", "1", "2"]]
    assert [i.format() for i in sorted(items)] == ["1", "1-(2)-①", "1-(2)-②", "1-(10)", "2", "2-(1)", "10"]


def test_key_part_is_ascii():
    assert ItemNumber.parse("１－（２）－③").key_part() == "1-2-3"


def test_circled_and_kanji_numbers():
    assert circled(1) == "①" and circled(20) == "⑳" and circled(21) == "㉑"
    assert kanji_number("十二") == 12 and kanji_number("二十") == 20 and kanji_number("三") == 3
    assert kanji_number("百") is None
