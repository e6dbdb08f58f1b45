"""校了解除 and 取下げ from ``/council``: General Affairs only, always with a reason,
and those concerned are told. Duplicate questions from several members get one
answer: the others are withdrawn.
"""

from __future__ import annotations

import json

from councilbot.domain.workflow import State
from councilbot.services import review
from councilbot.services.common import get_question, get_user
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from tests.slack_helpers import new_question

REASON = "答弁中の数値に誤りが判明したため"


def finalized(cfg: Settings, item_no: str = "1-(1)-①") -> str:
    key = new_question(cfg, item_no=item_no, assign_to="危機管理課", answer="お答えいたします。", submit=True)
    with session_scope(cfg) as db:
        for approver in ("UKK2", "USB1", "USC1"):
            review.approve(db, get_user(db, approver), key)
        review.finalize(db, cfg, get_user(db, "UGA1"), key)
    return key


def state(cfg: Settings, key: str) -> tuple[str, list[tuple[str, str | None]]]:
    with session_scope(cfg) as db:
        q = get_question(db, key)
        return q.status, [(s.action, s.comment) for s in q.stamps[-1:]]


def test_general_affairs_reopens_a_final_answer_with_a_reason(bot, fake, slack_cfg):
    key = finalized(slack_cfg)
    # Not General Affairs; and General Affairs without a reason: refused, nothing changes.
    bot.command("UKK2", f"reopen {key} {REASON}")
    bot.command("UGA1", f"校了解除 {key}")
    bot.settle()
    # The two commands run side by side: their answers may come in either order.
    answers = [c.args["text"] for c in fake.of("response_url")]
    assert len(answers) == 2
    assert any("権限がありません" in a and "総務課" in a for a in answers)
    assert any("理由（コメント）の入力が必要です" in a for a in answers)
    assert state(slack_cfg, key)[0] == State.FINAL

    bot.command("UGA1", f"校了解除 {key} {REASON}")
    bot.settle()
    assert state(slack_cfg, key) == (State.DRAFTING, [("reopen", REASON)])
    done = fake.of("response_url")[-1]
    assert done.args["response_type"] == "ephemeral" and f"{key} を校了解除しました" in done.args["text"]
    told = fake.of("chat.postMessage", channel="DUKK1")[-1].text
    assert "校了が解除されました" in told and REASON in told


def test_general_affairs_withdraws_a_duplicate_question(bot, fake, slack_cfg):
    key = new_question(slack_cfg, item_no="1-(1)-②", assign_to="危機管理課", answer="お答えいたします。")
    reason = "3番議員の質問と同じ趣旨のため、一つの答弁にまとめます"
    bot.command("UKK1", f"withdraw {key} {reason}")
    bot.settle()
    assert "権限がありません" in fake.of("response_url")[-1].args["text"]
    assert state(slack_cfg, key)[0] == State.DRAFTING

    bot.command("UGA1", f"取下げ {key} {reason}")
    bot.settle()
    assert state(slack_cfg, key) == (State.WITHDRAWN, [("withdraw", reason)])
    assert f"{key} を取下げ処理しました" in fake.of("response_url")[-1].args["text"]
    told = fake.of("chat.postMessage", channel="C0KIKI")[-1].text
    assert "取り下げられました" in told and reason in told and "答弁作成と決裁は不要です" in told


def test_reopen_and_withdraw_are_in_the_help_and_ask_for_a_key(bot):
    shown = json.dumps(bot.command("UGA1", "help").json(), ensure_ascii=False)
    assert "/council reopen キー 理由" in shown and "/council withdraw キー 理由" in shown
    missing = bot.command("UGA1", "取下げ").json()["text"]
    assert "質問のキーを指定してください" in missing and "/council 取下げ R8-12-16-1-2-1 理由" in missing
