from pathlib import Path

import pytest
from sqlalchemy import func, select

from councilbot.errors import InvalidInput, PermissionDenied
from councilbot.services.common import get_user
from councilbot.services.org import city_name, load_org
from councilbot.storage.db import session_scope
from councilbot.storage.models import ApprovalChainConfig, CouncilSession, Department, Member, User
from tests.support import DATA


def test_small_org_loads_everything(org):
    with session_scope(org) as db:
        assert city_name(db) == "試験市"
        kiki = db.scalar(select(Department).where(Department.name == "危機管理課"))
        assert kiki.parent.name == "総務部" and "避難所" in kiki.duties and kiki.channel == "C0KIKI"
        assert db.scalar(select(User).where(User.chat_id == "UGA1")).roles == ["general_affairs"]
        assert db.scalar(select(ApprovalChainConfig).where(ApprovalChainConfig.answerer_kind == "市長")).stages == [
            "課長",
            "部長",
            "市長",
        ]
        session = db.scalar(select(CouncilSession))
        assert session.era_code == "R8-12"
        # 17:00 in Tokyo is 08:00 UTC.
        assert session.answer_deadline.hour == 8 and session.answer_deadline.tzinfo is not None


def test_loading_twice_updates_instead_of_duplicating(org):
    with session_scope(org) as db:
        load_org(db, DATA / "org_small.yaml", actor="test")
    with session_scope(org) as db:
        assert db.scalar(select(func.count()).select_from(Member)) == 3
        assert db.scalar(select(func.count()).select_from(User)) == 10


_ONE_DEPT = "departments:\n  - name: 総務部\n"
_ALIAS_BOMB = (
    "a0: &a0 "
    + "x" * 100
    + "\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 4)}]\n" for i in range(1, 30))
    + "departments:\n  - name: 総務部\n    duties: *a29\n"
)


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        (
            "departments:\n  - name: 総務部\nusers:\n  - id: U1\n    name: 甲\n    department: 財務課\n    position: 係長\n",
            "6行目: 「department」「財務課」は departments にありません",
        ),
        (
            "departments:\n  - name: 総務部\nusers:\n  - id: U1\n    name: 甲\n    department: 総務部\n    position: 部長代理\n",
            "7行目: 「position」「部長代理」は使えません",
        ),
        ("departments:\n  - name: 総務部\nmembers:\n  - seat: 一番\n    name: 甲\n", "4行目: 「seat」は議席番号"),
        ("departments:\n  - name: 総務部\n  - name: 総務部\n", "3行目: 「name」「総務部」が重複"),
        ("departments: [\n", "YAMLの書き方に誤り"),
        ("departments:\n  - name: 総務部\nsessions:\n  - name: 十二月議会\n", "4行目: 「name」を読み取れません"),
        ("- a\n- b\n", "組織ファイルの形式ではありません"),
        ("departments:\n  - name: 総務部\nmembers: [16]\n", "「members」は「- name: …」のような項目の並び"),
        ("departments:\n  - name: 総務部\nusers: [U1]\n", "「users」は「- name: …」のような項目の並び"),
        ("departments:\n  - name: 総務部\nchains: {1: [課長]}\n", "答弁者「1」は役職名"),
        (
            "departments:\n  - name: 総務部\nsessions:\n  - name: 令和8年12月定例会\n    opens: 2026-13-45\n",
            "存在しない値",
        ),
        ("", "組織ファイルが空です"),
        ("# 組織ファイル\n\n", "組織ファイルが空です"),
        (_ONE_DEPT + "chains:\n  市長: [課長, 部長, 課長, 市長]\n", "4行目: 「chains.市長」で「課長」が二度出てきます"),
        (
            _ONE_DEPT + "chains:\n  市長: [市長, 部長, 課長]\n",
            "4行目: 「chains.市長」で「部長」が「市長」の後にあります",
        ),
        (_ONE_DEPT + "chains:\n  部長: [課長, 部長, 課長]\n", "「chains.部長」で「課長」が二度出てきます"),
        (_ONE_DEPT + "chains:\n  市長: [課長, 秘書, 市長]\n", "「秘書」は決裁する役職ではありません"),
        ("departments:\n  - name: 総務部\n    duties: [文書, 議会]\n", "3行目: 「duties」は文字で書いてください"),
        ("departments:\n  - name: {a: 1}\n", "2行目: 「name」は文字で書いてください"),
        ("departments:\n  - name: 総務部\n    general_affairs: はい\n", "3行目: 「general_affairs」は true か false"),
        (
            _ONE_DEPT + "members:\n  - {seat: 3, name: 甲, reading: [こう]}\n",
            "4行目: 「reading」は文字で書いてください",
        ),
        (
            _ONE_DEPT + "users:\n  - {id: U1, name: 甲, department: 総務部, position: 係長, roles: [[admin]]}\n",
            "4行目: 「roles」は",
        ),
        (_ONE_DEPT + "city: [試験市]\n", "3行目: 「city」は文字で書いてください"),
        (
            "departments:\n  - name: 総務部\n    duties: " + "[" * 3000 + "]" * 3000 + "\n",
            "3行目: 「departments[1].duties[1]…」の入れ子が深すぎます",
        ),
        (_ALIAS_BOMB, "別名（*）の展開により内容が大きくなりすぎます"),
        ("departments:\n  - name: 総務部\n    duties: " + "あ" * 6000 + "\n", "3行目: 「duties」が長すぎます"),
    ],
)
def test_errors_name_line_and_field_and_change_nothing(settings, tmp_path, yaml_text, expected):
    path = tmp_path / "org.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        with session_scope(settings) as db:
            load_org(db, path, actor="test")
    assert err.value.message.startswith("org.yaml")
    assert expected in err.value.message
    with session_scope(settings) as db:
        assert db.scalar(select(func.count()).select_from(Department)) == 0


def test_staff_left_out_of_the_file_lose_access_and_roles(org, tmp_path):
    text = (DATA / "org_small.yaml").read_text(encoding="utf-8")
    without_ga = "\n".join(line for line in text.splitlines() if "UGA1" not in line)
    path = tmp_path / "org.yaml"
    path.write_text(without_ga, encoding="utf-8")
    with session_scope(org) as db:
        load_org(db, path, actor="test")
    with session_scope(org) as db:
        former = db.scalar(select(User).where(User.chat_id == "UGA1"))
        assert (former.active, former.roles) == (False, [])
        with pytest.raises(PermissionDenied):
            get_user(db, "UGA1")


def test_a_directory_is_not_an_org_file(settings, tmp_path):
    with pytest.raises(InvalidInput) as err:
        with session_scope(settings) as db:
            load_org(db, tmp_path, actor="test")
    assert "読めません" in err.value.message


def test_missing_file_is_a_clear_error(settings):
    with pytest.raises(InvalidInput) as err:
        with session_scope(settings) as db:
            load_org(db, Path("/nonexistent/org.yaml"), actor="test")
    assert "見つかりません" in err.value.message


def test_an_empty_org_file_fails_the_command_with_its_own_line(settings, tmp_path, cli):
    path = tmp_path / "組織.yaml"
    path.write_text("", encoding="utf-8")
    result = cli(settings)("org", "load", str(path))
    assert result.returncode == 1
    assert "組織.yaml: 組織ファイルが空です" in result.stderr


def test_chains_and_departments_left_out_of_the_file_stop_applying(org, tmp_path):
    text = (DATA / "org_small.yaml").read_text(encoding="utf-8")
    reorganised = (
        text.replace("  教育長: [課長, 部長, 教育長]\n", "")
        .replace(
            "      - name: 危機管理課\n        channel: C0KIKI\n", "      - name: 防災課\n        channel: C0KIKI\n"
        )
        .replace("department: 危機管理課", "department: 防災課")
    )
    path = tmp_path / "org.yaml"
    path.write_text(reorganised, encoding="utf-8")
    with session_scope(org) as db:
        load_org(db, path, actor="test")
    with session_scope(org) as db:
        assert {c.answerer_kind for c in db.scalars(select(ApprovalChainConfig))} == {"市長", "部長"}
        current = {d.name: d.current for d in db.scalars(select(Department))}
        assert current["危機管理課"] is False and current["防災課"] is True and current["総務課"] is True


def test_staff_cannot_belong_to_a_department_left_out_of_the_file(org, tmp_path):
    text = (DATA / "org_small.yaml").read_text(encoding="utf-8")
    path = tmp_path / "org.yaml"
    path.write_text(text.replace("      - name: 危機管理課\n", "      - name: 防災課\n"), encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        with session_scope(org) as db:
            load_org(db, path, actor="test")
    assert "「危機管理課」は departments にありません" in err.value.message
