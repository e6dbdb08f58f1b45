"""Drafting in chat: one draft per click of 「AIで下書き」 however often it is clicked,
a stale button refused, a failed draft that may be asked for again, findings in
Japanese, and ``/council answer`` for those who may only read.

The real app over signed HTTP, the model an OpenAI-compatible fake that counts
its requests; what reached Slack is read from the fake, what was stored from
the database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from councilbot.adapters.slack import blocks
from councilbot.services import review
from councilbot.services.common import get_question, get_user
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import AnswerRevision
from tests.fake_openai_server import FakeOpenAIServer, Reply
from tests.fake_slack import FakeSlack
from tests.slack_helpers import SlackApp, count, new_question, slack_settings

DRAFT = "お答えいたします。避難所の運営につきましては、必ず○○を実施いたします。\n【参照】なし"


@pytest.fixture
def model() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(default_text=DRAFT) as server:
        yield server


@pytest.fixture
def drafting(org: Settings, fake: FakeSlack, model: FakeOpenAIServer) -> Iterator[tuple[SlackApp, Settings]]:
    """The bot with a remote model, and an item assigned to 危機管理課 whose post carries the draft button (C0KIKI, 1.0)."""
    cfg = slack_settings(
        org, fake, llm_provider="openai", openai_base_url=model.base_url, openai_model="city-llm", llm_max_retries=0
    )
    with SlackApp(cfg, fake) as app:
        yield app, cfg


def posted_item(fake: FakeSlack, cfg: Settings, key: str) -> None:
    """The division's post of ``key`` as the bot renders it now, at (C0KIKI, 1.0)."""
    with session_scope(cfg) as db:
        post = blocks.assigned_post(get_question(db, key), ["UKK1"], [])
    fake.messages[("C0KIKI", "1.0")] = {"ts": "1.0", "text": post.text, "blocks": post.blocks, "user": "UBOT"}


def revisions(cfg: Settings, key: str) -> list[tuple[int, str]]:
    with session_scope(cfg) as db:
        return [(r.number, r.origin) for r in get_question(db, key).revisions]


def test_a_double_click_on_the_draft_button_drafts_once(drafting, fake, model):
    bot, cfg = drafting
    key = new_question(cfg, assign_to="危機管理課")
    posted_item(fake, cfg, key)
    # The first click's progress message is held, so the second click arrives while the first is drafting.
    release = fake.hold("chat.postMessage")
    bot.click("UKK1", "C0KIKI", "1.0", blocks.DRAFT)
    bot.click("UKK1", "C0KIKI", "1.0", blocks.DRAFT)
    fake.wait_for(lambda: bot.executor.pending() == 1)  # the second is done: it found the first's claim
    release.set()
    bot.settle()
    # And once more after the draft is in.
    bot.click("UKK1", "C0KIKI", "1.0", blocks.DRAFT)
    bot.settle()
    assert len(model.requests) == 1
    assert revisions(cfg, key) == [(1, "ai")]
    assert len(fake.of("chat.postMessage", channel="C0KIKI")) == 1
    assert fake.of("response_url") == []  # a repeated click is not an error
    # /council draft KEY carries no version and drafts the item as it is now.
    bot.command("UKK1", f"draft {key}")
    bot.settle()
    assert len(model.requests) == 2 and revisions(cfg, key) == [(1, "ai"), (2, "ai")]


def test_a_click_on_a_button_gone_stale_is_refused_and_drafts_nothing(drafting, fake, model):
    bot, cfg = drafting
    key = new_question(cfg, assign_to="危機管理課")
    posted_item(fake, cfg, key)
    # The drafter writes the answer by hand; the post's button still shows the item as it was.
    with session_scope(cfg) as db:
        review.save_revision(db, get_user(db, "UKK1"), key, answer="お答えいたします。職員が書いた答弁です。")
    bot.click("UKK1", "C0KIKI", "1.0", blocks.DRAFT)
    bot.settle()
    (refusal,) = fake.of("response_url")
    assert refusal.args["response_type"] == "ephemeral" and "読み込み直して" in refusal.args["text"]
    assert model.requests == [] and revisions(cfg, key) == [(1, "human")]
    assert fake.of("chat.postMessage") == []


def test_a_failed_draft_may_be_asked_for_again_with_the_same_button(drafting, fake, model):
    bot, cfg = drafting
    key = new_question(cfg, assign_to="危機管理課")
    posted_item(fake, cfg, key)
    model.queue(Reply(status=500))
    bot.click("UKK1", "C0KIKI", "1.0", blocks.DRAFT)
    bot.settle()
    failed_ts = fake.posts("C0KIKI")[-1][0]
    assert "保存していません" in fake.messages[("C0KIKI", failed_ts)]["text"]
    assert count(cfg, AnswerRevision) == 0
    bot.click("UKK1", "C0KIKI", "1.0", blocks.DRAFT)
    bot.settle()
    assert len(model.requests) == 2 and revisions(cfg, key) == [(1, "ai")]


def test_rule_findings_are_shown_with_japanese_severities(drafting, fake):
    bot, cfg = drafting
    key = new_question(cfg, assign_to="危機管理課")
    bot.command("UKK1", f"draft {key}")
    bot.settle()
    draft_ts = fake.posts("C0KIKI")[-1][0]
    shown = str(fake.messages[("C0KIKI", draft_ts)]["blocks"])
    findings = shown.split("ルール確認の結果")[1].split("参照した過去答弁")[0]
    assert "【要修正】" in findings or "【注意】" in findings
    assert not any(f"[{s}]" in shown for s in ("error", "warning", "info"))


def test_drafting_an_item_without_a_division_says_it_is_not_assigned_yet(bot, fake, slack_cfg):
    key = new_question(slack_cfg)
    bot.command("UGA1", f"draft {key}")
    bot.settle()
    (refusal,) = fake.of("response_url")
    assert "「受付」の状態のため" in refusal.args["text"]
    assert "答弁者が決まっていません" not in refusal.args["text"]
    assert count(slack_cfg, AnswerRevision) == 0


def test_answer_command_shows_the_item_to_read_to_those_who_may_not_edit_it(bot, fake, slack_cfg):
    answer = "お答えいたします。避難所の運営マニュアルを改定いたしました。"
    key = new_question(slack_cfg, assign_to="危機管理課", answer=answer, submit=True)
    with session_scope(slack_cfg) as db:
        get_question(db, key).latest_revision.back_data = "改定は令和8年4月。"
    # The 課長 reviewing it, and a member of another division.
    for reader in ("UKK2", "UGK1"):
        assert bot.command(reader, f"answer {key}").status == 200
        bot.settle()
        view = bot.last_view()
        assert "submit" not in view and not [b for b in view["blocks"] if b["type"] == "input"]
        shown = str(view["blocks"])
        assert "閲覧のみできます" in shown and "避難所における女性や高齢者" in shown
        assert answer in shown and "改定は令和8年4月。" in shown and "確認依頼 高木 守" in shown
    assert fake.of("response_url") == []
    # The drafter gets the editing modal once the item is back with them.
    key2 = new_question(slack_cfg, item_no="1-(1)-②", assign_to="危機管理課", answer=answer)
    bot.command("UKK1", f"answer {key2}")
    bot.settle()
    assert bot.last_view()["callback_id"] == blocks.ANSWER_VIEW
