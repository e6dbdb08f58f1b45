"""Two people hold the same stage (the 市長 and the 秘書): the one who clicks second is told the truth,
who approved first, not that they lack the right or only that something changed."""

from __future__ import annotations

from councilbot.adapters.slack import blocks
from councilbot.services import review
from councilbot.services.common import get_question, get_user
from councilbot.storage.db import session_scope
from tests.slack_helpers import find_element, new_question

TRUTH = "桜井 一郎さんが先に市長として承認しました。この操作は不要です。"


def at_mayor_stage(bot, fake, cfg) -> str:
    """The 部長 approves through Slack, so the 市長 and the 秘書 each get the card in a DM."""
    key = new_question(cfg, assign_to="危機管理課", answer="お答えいたします。", submit=True)
    with session_scope(cfg) as db:
        review.approve(db, get_user(db, "UKK2"), key)
        value = blocks.item_value(get_question(db, key))
    fake.add_message("DUSB1", "1699999999.000001", "確認のお願い", "UBOT")
    bot.click("USB1", "DUSB1", "1699999999.000001", blocks.APPROVE, value=value)
    bot.settle()
    return key


def test_the_secretary_clicking_after_the_mayor_approved_is_told_who_approved(bot, fake, slack_cfg):
    key = at_mayor_stage(bot, fake, slack_cfg)
    ((mayor_ts, _mayor_card),) = fake.posts("DUMY1")
    ((secretary_ts, secretary_card),) = fake.posts("DUSC1")
    seen = find_element(secretary_card["blocks"], blocks.APPROVE)["value"]  # the card as she saw it
    bot.click("UMY1", "DUMY1", mayor_ts, blocks.APPROVE)
    bot.settle()
    bot.click("USC1", "DUSC1", secretary_ts, blocks.APPROVE, value=seen)
    bot.settle()
    told = fake.of("response_url")[-1].args["text"]
    assert TRUTH in told and "権限" not in told
    with session_scope(slack_cfg) as db:
        q = get_question(db, key)
        assert q.status == "approved" and [s.user.chat_id for s in q.stamps if s.stage == "市長"] == ["UMY1"]


def test_an_approval_without_a_version_after_someone_else_approved_is_told_who(org, cli):
    run = cli(org)
    key = new_question(org, assign_to="危機管理課", answer="お答えいたします。", submit=True)
    for approver in ("UKK2", "USB1", "UMY1"):
        assert run("approve", key, "--as", approver).returncode == 0
    late = run("approve", key, "--as", "USC1")
    assert late.returncode != 0 and TRUTH in late.stderr and "できません" not in late.stderr
    # Someone who never held the stage is told what is true for them.
    assert "「校了待ち」の状態のため、「承認」はできません" in run("approve", key, "--as", "UGK2").stderr
