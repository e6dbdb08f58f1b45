"""Earlier commitments in Slack: shown on the assignment card and the division's post, and their
progress updated from a modal by the division, refused for others, audited.

The real app over signed HTTP against the fake Slack Web API.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack import commitments as views
from councilbot.services.archive import import_records
from councilbot.storage.db import session_scope
from councilbot.storage.models import AuditEntry, Commitment
from tests.test_commitments_ledger import MANUAL, SHELTER

QUESTION = "令和8年12月定例会 一般質問 16番 1-(1)-①\n避難所運営について\n避難所における女性や高齢者への配慮について、現状と今後の取組を伺う。"


@pytest.fixture
def promised(slack_cfg):  # type: ignore[no-untyped-def]
    with session_scope(slack_cfg) as db:
        import_records(db, slack_cfg, [SHELTER])
    return slack_cfg


def manual_status(cfg) -> tuple[int, str, str | None]:  # type: ignore[no-untyped-def]
    with session_scope(cfg) as db:
        c = db.scalar(select(Commitment).where(Commitment.statement == MANUAL))
        return c.id, c.status, c.status_note


def test_earlier_commitments_are_shown_and_their_progress_updated_from_chat(promised, bot, fake) -> None:  # type: ignore[no-untyped-def]
    bot.message("UGA1", QUESTION)
    bot.settle()
    card_ts, card = fake.posts("DUGA1")[-1]
    card_text = json.dumps(card["blocks"], ensure_ascii=False)
    assert "前回答弁の約束" in card_text and f"前回答弁（令和7年9月）: {MANUAL}" in card_text
    # The card's own buttons stay last.
    assert (
        card["blocks"][-2]["type"] == "actions"
        and card["blocks"][-2]["elements"][0]["action_id"] == blocks.ASSIGN_CONFIRM
    )

    bot.click("UGA1", "DUGA1", card_ts, blocks.ASSIGN_OPEN)
    bot.settle()
    bot.submit("UGA1", bot.last_view(), {blocks.DEPARTMENT_BLOCK: "危機管理課", blocks.ANSWERER_BLOCK: "市長"})
    bot.settle()
    post_ts, post = fake.posts("C0KIKI")[-1]
    assert "答弁では、その後の進捗を報告してください" in json.dumps(post["blocks"], ensure_ascii=False)

    manual_id, _, _ = manual_status(promised)
    bot.click("UGK1", "C0KIKI", post_ts, views.STATUS_OPEN)  # another division may look, but not update
    bot.settle()
    modal = bot.last_view()
    assert modal["callback_id"] == views.STATUS_VIEW and MANUAL in json.dumps(modal, ensure_ascii=False)
    refused = bot.submit("UGK1", modal, {views.STATUS_BLOCK: "実施済", views.NOTE_BLOCK: "改訂しました"}, view_id="V2")
    assert refused.json() == {
        "response_action": "errors",
        "errors": {views.NOTE_BLOCK: "この約束の進捗は担当課（危機管理課）または総務課が更新します。"},
    }
    assert manual_status(promised) == (manual_id, "未着手", None)

    bot.click("UKK1", "C0KIKI", post_ts, views.STATUS_OPEN)
    bot.settle()
    note = "改訂案を作成し、令和9年2月の防災会議に諮る予定です。"
    done = bot.submit("UKK1", bot.last_view(), {views.STATUS_BLOCK: "検討中", views.NOTE_BLOCK: note}, view_id="V3")
    assert done.body == ""
    assert manual_status(promised) == (manual_id, "検討中", note)
    with session_scope(promised) as db:
        (entry,) = db.scalars(select(AuditEntry).where(AuditEntry.action == "commitment.status"))
        assert (entry.actor, entry.details["old"], entry.details["new"]) == ("UKK1", "未着手", "検討中")

    # Slack delivers the same submission again: nothing is recorded twice.
    bot.submit("UKK1", bot.last_view(), {views.STATUS_BLOCK: "検討中", views.NOTE_BLOCK: note}, view_id="V3")
    with session_scope(promised) as db:
        assert len(db.scalars(select(AuditEntry).where(AuditEntry.action == "commitment.status")).all()) == 1
