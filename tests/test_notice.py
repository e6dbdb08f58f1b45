"""Parsing a question notice (質問通告書) into members and leaf items."""

from __future__ import annotations

from pathlib import Path

import pytest

from councilbot.domain.notice import parse_member_header, parse_notice
from councilbot.errors import InvalidInput

SAMPLE = Path(__file__).resolve().parents[1] / "councilbot" / "sample_data" / "notice.txt"

BASIC = """令和8年12月定例会　質問通告書

【代表質問】16番　山田 太郎（新政会）
1　防災・減災対策について
（1）避難所運営の改善について
①　避難所における女性や高齢者への配慮について、現状と課題を伺う。
②　災害時のトイレ対策について伺う。
（2）地域の防災力向上について
自主防災組織への活動支援について、
市の今後の取組を伺う。
2　物価高騰対策について
事業者支援の実績を伺う。
【一般質問】3番　青木 健一（市民クラブ）
1　公共交通について
"""


def items(notice, index=0):
    return [(i.item_no, i.title, i.body) for i in notice.members[index].items]


def test_outline_leaves_become_items_with_hierarchy():
    notice = parse_notice(BASIC.splitlines())
    assert notice.session_name == "令和8年12月定例会"
    first = notice.members[0]
    assert (first.question_type, first.seat, first.name, first.faction) == ("代表質問", "16番", "山田 太郎", "新政会")
    assert items(notice) == [
        ("1-(1)-①", "避難所運営の改善について", "避難所における女性や高齢者への配慮について、現状と課題を伺う。"),
        ("1-(1)-②", "避難所運営の改善について", "災害時のトイレ対策について伺う。"),
        ("1-(2)", "地域の防災力向上について", "自主防災組織への活動支援について、\n市の今後の取組を伺う。"),
        ("2", "物価高騰対策について", "事業者支援の実績を伺う。"),
    ]
    assert first.items[0].parent_titles == ["防災・減災対策について", "避難所運営の改善について"]
    assert first.items[2].parent_titles == ["防災・減災対策について"]
    # A heading with no question text is its own question.
    assert items(notice, 1) == [("1", "公共交通について", "公共交通について")]


def test_variants_full_width_digits_and_other_markers():
    text = """16番 山田太郎 議員（新政会）代表質問
１．防災について
(１) 避難所について
ア　食料の備蓄について伺う。
(イ) 飲料水の備蓄について伺う。
2.  福祉について
1)介護について
保険料の軽減を求める。
⑵ 障害者福祉について
㉑ 補装具について伺う。
三、教育について
"""
    notice = parse_notice(text.splitlines(), session_name="令和8年12月定例会")
    member = notice.members[0]
    assert (member.question_type, member.name, member.seat, member.faction) == (
        "代表質問",
        "山田太郎",
        "16番",
        "新政会",
    )
    assert notice.session_name == "令和8年12月定例会"
    assert [(i.item_no, i.title) for i in member.items] == [
        ("1-(1)-①", "避難所について"),
        ("1-(1)-②", "避難所について"),
        ("2-(1)", "介護について"),
        ("2-(2)-㉑", "障害者福祉について"),
        ("3", "教育について"),
    ]
    assert member.items[2].body == "保険料の軽減を求める。"


def test_default_question_type_and_blank_lines():
    notice = parse_notice(
        ["", "3番　青木 健一議員（市民クラブ）", "", "1　公共交通について", "  路線バスについて伺う。", ""]
    )
    member = notice.members[0]
    assert member.question_type == "一般質問"
    assert items(notice) == [("1", "公共交通について", "路線バスについて伺う。")]


def test_detail_directly_under_major_stands_in_for_sub_item():
    notice = parse_notice(
        [
            "【一般質問】3番　青木 健一（市民クラブ）",
            "1　交通について",
            "①　バスについて伺う。",
            "②　鉄道について伺う。",
        ]
    )
    assert [i.item_no for i in notice.members[0].items] == ["1-(1)", "1-(2)"]


def test_sample_notice_parses():
    notice = parse_notice(SAMPLE.read_text(encoding="utf-8").splitlines())
    assert [m.name for m in notice.members][:2] == ["山田 太郎", "青木 健一"]
    assert notice.members[0].items[0].item_no == "1-(1)-①"
    assert all(i.body for m in notice.members for i in m.items)


@pytest.mark.parametrize(
    "lines, message",
    [
        ([], "通告書が空です。"),
        (["令和8年12月定例会", "①　避難所について伺う。"], "2行目: 議員の行"),
        (["令和8年12月定例会", "質問通告書"], "議員の行（例："),
        (
            ["【一般質問】3番　青木 健一（市民クラブ）", "（1）避難所について"],
            "2行目: 「（1）避難所について」の前に大項目",
        ),
        (["【一般質問】3番　青木 健一（市民クラブ）", "避難所について伺う。"], "2行目: 最初の項目番号"),
        (
            ["【一般質問】3番　青木 健一（市民クラブ）", "【一般質問】5番　佐藤 花子（新政会）", "1　福祉について"],
            "1行目: 青木 健一議員の質問項目がありません。",
        ),
        (
            ["【一般質問】3番　青木 健一（市民クラブ）", "1　福祉について", "2　教育について", "1　防災について"],
            "4行目: 「1　防災について」の番号が、同じ階層の前の項目と重複しています。",
        ),
        (
            [
                "【一般質問】3番　青木 健一（市民クラブ）",
                "1　福祉について",
                "①　介護について伺う。",
                "（1）障害者福祉について",
            ],
            "4行目: 「（1）障害者福祉について」の番号が",
        ),
    ],
)
def test_malformed_notice_names_the_line(lines, message):
    with pytest.raises(InvalidInput) as info:
        parse_notice(lines)
    assert message in info.value.message


def test_member_header_is_not_mistaken_for_a_sentence():
    assert parse_member_header("3番目の課題として、財源の確保がある。") is None
    header = parse_member_header("【一般質問】２１番　ルーシー 陽子 議員（日本共産党）")
    assert (header.seat, header.name, header.faction) == ("21番", "ルーシー 陽子", "日本共産党")


def test_a_notice_too_long_to_be_one_sessions_is_refused_before_it_is_parsed(tmp_path):
    from councilbot.services.intake import read_notice_lines

    path = tmp_path / "通告書.txt"
    path.write_text("１　防災について\n" + ("避難所の運営について伺う。" * 40 + "\n") * 1200, encoding="utf-8")
    assert path.stat().st_size < 20 * 1024 * 1024
    with pytest.raises(InvalidInput) as err:
        read_notice_lines(path)
    assert err.value.message.startswith("通告書.txt: 通告書が") and "上限の500,000文字" in err.value.message


def test_a_notice_with_more_items_than_a_session_has_is_refused_and_nothing_is_registered(tmp_path):
    from sqlalchemy import func, select

    from councilbot.services.common import cli_user
    from councilbot.services.intake import import_notice
    from councilbot.storage.db import session_scope
    from councilbot.storage.models import Question
    from tests.support import load_small_org, workspace_settings

    cfg = load_small_org(workspace_settings(f"sqlite:///{tmp_path}/c.db", tmp_path))
    items = "".join(f"{i}　項目{i}について\n" for i in range(1, 100))
    members = "".join(f"【一般質問】{seat}番　議員 {seat}（無所属）\n{items}" for seat in range(1, 12))
    path = tmp_path / "通告書.txt"
    path.write_text("令和8年12月定例会\n" + members, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        with session_scope(cfg) as db:
            import_notice(db, cli_user(db), path, session_name="令和8年12月定例会")
    assert "質問項目が1089件あり" in err.value.message
    with session_scope(cfg) as db:
        assert db.scalar(select(func.count()).select_from(Question)) == 0
