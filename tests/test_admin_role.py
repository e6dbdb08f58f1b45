"""Who may do what at the command line: the operator is named (COUNCILBOT_OPERATOR) and their roles
are checked like anyone's; only an admin loads the organisation file."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from councilbot.domain.workflow import State
from councilbot.services.common import get_question
from councilbot.settings import get_settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import AuditEntry, User
from tests.slack_helpers import new_question
from tests.support import DATA

ORG_FILE = str(DATA / "org_small.yaml")


@pytest.fixture
def as_operator(monkeypatch):  # type: ignore[no-untyped-def]
    def name(chat_id: str) -> None:
        monkeypatch.setenv("COUNCILBOT_OPERATOR", chat_id)
        get_settings.cache_clear()

    return name


def _users(cfg) -> int:  # type: ignore[no-untyped-def]
    with session_scope(cfg) as db:
        return db.scalar(select(func.count()).select_from(User))


def test_only_an_admin_loads_the_organisation_file(org, cli, as_operator):
    run = cli(org)
    before = _users(org)
    as_operator("UGA1")  # General Affairs, not admin
    refused = run("org", "load", ORG_FILE)
    assert refused.returncode == 1
    assert "「組織ファイルの読み込み」はシステム管理者のみ行えます。" in refused.stderr
    assert _users(org) == before
    with session_scope(org) as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.like("org%"), AuditEntry.actor == "UGA1")
            )
            == 0
        )


def test_a_named_operator_acts_with_their_own_roles(org, cli, as_operator):
    run = cli(org)
    key = new_question(org, assign_to="危機管理課", answer="お答えいたします。")
    as_operator("UKK1")  # a drafter: may not withdraw
    refused = run("withdraw", key, "--reason", "重複のため")
    assert refused.returncode == 1 and "権限がありません" in refused.stderr
    as_operator("UGA1")
    assert run("withdraw", key, "--reason", "重複のため").returncode == 0
    with session_scope(org) as db:
        assert get_question(db, key).status == State.WITHDRAWN
        assert db.scalar(select(AuditEntry.actor).where(AuditEntry.action == "question.withdraw")) == "UGA1"
    as_operator("UNOBODY")  # not on the staff list: refused, not run as the server's operator
    assert "職員として登録されていない" in run("reopen", key, "--reason", "誤り").stderr


def test_the_server_operator_holds_every_role_so_the_demo_and_first_load_work(settings, cli):
    run = cli(settings)
    loaded = run("org", "load", ORG_FILE)
    assert loaded.returncode == 0, loaded.stderr
    assert _users(settings) > 1
