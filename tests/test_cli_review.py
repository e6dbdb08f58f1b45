"""``councilbot reopen KEY --reason R`` and ``councilbot withdraw KEY --reason R``:
the command line acts as General Affairs, and a reason is always required."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from councilbot.domain.workflow import State
from councilbot.services import review
from councilbot.services.common import get_question, get_user
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from tests.slack_helpers import new_question


@pytest.fixture
def run(org: Settings, cli) -> Callable[..., tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    """``councilbot ARGS…`` on the test organisation's database: (exit code, stdout, stderr)."""
    call = cli(org)

    def as_tuple(*args: str) -> tuple[int, str, str]:
        result = call(*args)
        return result.returncode, result.stdout, result.stderr

    return as_tuple


def status(cfg: Settings, key: str) -> tuple[str, str, str | None]:
    with session_scope(cfg) as db:
        q = get_question(db, key)
        return q.status, q.stamps[-1].action, q.stamps[-1].comment


def test_reopen_a_final_answer(org, run):
    key = new_question(org, assign_to="危機管理課", answer="お答えいたします。", submit=True)
    with session_scope(org) as db:
        for approver in ("UKK2", "USB1", "USC1"):
            review.approve(db, get_user(db, approver), key)
        review.finalize(db, org, get_user(db, "UGA1"), key)

    code, _, err = run("reopen", key)
    assert code == 2 and "--reason" in err and status(org, key)[0] == State.FINAL
    assert run("reopen", key, "--reason", "数値の誤りが判明したため") == (0, f"{key} の校了を解除しました。\n", "")
    assert status(org, key) == (State.DRAFTING, "reopen", "数値の誤りが判明したため")


def test_withdraw_a_question(org, run):
    key = new_question(org, assign_to="危機管理課")
    code, _, err = run("withdraw", key, "--reason", " ")
    assert code == 1 and err == "エラー: 「取下げ」には理由（コメント）の入力が必要です。\n"
    assert status(org, key)[0] == State.ASSIGNED
    assert run("withdraw", key, "--reason", "3番議員の質問と同じ趣旨のため") == (0, f"{key} を取り下げました。\n", "")
    assert status(org, key) == (State.WITHDRAWN, "withdraw", "3番議員の質問と同じ趣旨のため")
    code, _, err = run("withdraw", key, "--reason", "再度")
    assert code == 1 and "「取下げ」の状態のため" in err
