"""End to end in Slack: a question posted in the intake channel becomes, through
every click a city hall makes, a stamped, final answer in an uploaded answer book.

The real app runs over HTTP with signed requests; Slack is a local fake that
records every call. Assertions are on what reached Slack and what is in the
database.
"""

from __future__ import annotations

from sqlalchemy import func, select

from councilbot.adapters.slack import blocks
from councilbot.domain.workflow import State
from councilbot.services.common import get_question
from councilbot.storage.db import session_scope
from councilbot.storage.models import ExportRecord, Question
from tests.fake_slack import FakeSlack
from tests.slack_helpers import INTAKE_CHANNEL

QUESTION = """令和8年12月定例会 一般質問 16番 山田太郎議員 1-(1)-①
避難所運営について
避難所における女性や高齢者、障がいのある方への配慮について、現状と課題、今後の取組を伺う。"""


def last_post(fake: FakeSlack, channel: str) -> tuple[str, dict]:
    posts = fake.posts(channel)
    assert posts, f"nothing posted in {channel}"
    return posts[-1]


def test_from_posted_question_to_uploaded_answer_book(archive, bot, fake, org):
    # 質問取り: a plain message in the intake channel.
    ts, response = bot.message("UGA1", QUESTION)
    assert response.status == 200
    bot.settle()
    reply = fake.of("chat.postMessage", channel=INTAKE_CHANNEL, thread_ts=ts)
    assert len(reply) == 1 and "R8-12-16-1-1-1" in reply[0].text
    key = "R8-12-16-1-1-1"

    # 担当決定: General Affairs gets the card with suggestions in a DM, picks the division.
    card_ts, _card = last_post(fake, "DUGA1")
    assert "担当課の候補" in fake.of("chat.postMessage", channel="DUGA1")[-1].text
    bot.click("UGA1", "DUGA1", card_ts, blocks.ASSIGN_OPEN)
    bot.settle()
    modal = bot.last_view()
    assert bot.submit("UGA1", modal, {blocks.DEPARTMENT_BLOCK: "危機管理課", blocks.ANSWERER_BLOCK: "市長"}).body == ""
    bot.settle()
    assert "危機管理課の担当に決定" in fake.messages[("DUGA1", card_ts)]["text"]

    # The division's channel hears of it, with its drafter mentioned and similar past answers.
    post_ts, _post = last_post(fake, "C0KIKI")
    posted = fake.of("chat.postMessage", channel="C0KIKI")[-1]
    assert "<@UKK1>" in posted.text and "類似の過去答弁" in posted.text

    # 答弁作成: the drafter asks for a draft; one message is updated until the draft is in.
    bot.click("UKK1", "C0KIKI", post_ts, blocks.DRAFT)
    bot.settle()
    progress = fake.of("chat.postMessage", channel="C0KIKI", thread_ts=post_ts)
    assert len(progress) == 1
    draft_ts = fake.posts("C0KIKI")[-1][0]
    final = fake.of("chat.update", channel="C0KIKI", ts=draft_ts)[-1]
    assert "答弁案（第1版" in final.text and "確認依頼" in final.text

    # The drafter edits the answer in the modal, prefilled with the draft, and submits it for review.
    bot.click("UKK1", "C0KIKI", draft_ts, blocks.ANSWER_OPEN)
    bot.settle()
    answer_modal = bot.last_view()
    assert answer_modal["blocks"][1]["element"]["initial_value"]  # the draft is there to edit
    edited = (
        "お答えいたします。避難所の運営につきましては、女性や高齢者の視点を取り入れた運営マニュアルを改定いたしました。"
    )
    bot.submit(
        "UKK1", answer_modal, {"answer_0": edited, "answer_1": "", blocks.SUBMIT_BLOCK: ["submit"]}, view_id="V2"
    )
    bot.settle()

    # 答弁検討: each stage holder gets the item in a DM and approves it.
    for approver in ("UKK2", "USB1", "USC1"):  # 課長, 部長, the mayor's secretary
        dm = "D" + approver
        ts_, _ = last_post(fake, dm)
        assert "承認" in fake.of("chat.postMessage", channel=dm)[-1].text
        bot.click(approver, dm, ts_, blocks.APPROVE)
        bot.settle()
        assert "承認しました" in fake.messages[(dm, ts_)]["text"]

    # 校了 by General Affairs.
    fin_ts, _ = last_post(fake, "DUGA1")
    bot.click("UGA1", "DUGA1", fin_ts, blocks.FINALIZE)
    bot.settle()

    # 答弁書: exported and uploaded to the channel where it was asked for.
    response = bot.command("UGA1", "export", channel="C0SOMU")
    assert response.status == 200
    bot.settle()
    assert fake.of("files.getUploadURLExternal")[0].args["filename"].endswith(".docx")
    assert fake.of("upload")[0].args["size"] > 0
    complete = fake.of("files.completeUploadExternal")[0]
    assert complete.args["channel_id"] == "C0SOMU" and "答弁書を作成しました" in complete.args["initial_comment"]

    with session_scope(org) as db:
        q = get_question(db, key)
        assert q.status == State.FINAL
        assert q.latest_revision.answer == edited and q.latest_revision.origin == "human"
        stamps = [(s.action, s.stage, s.user.chat_id) for s in q.stamps]
        assert stamps == [
            ("assign", None, "UGA1"),
            ("submit", "課長", "UKK1"),
            ("approve", "課長", "UKK2"),
            ("approve", "部長", "USB1"),
            ("approve", "市長", "USC1"),
            ("finalize", None, "UGA1"),
        ]
        assert all(s.stamped_at.tzinfo is not None for s in q.stamps)
        assert db.scalar(select(func.count()).select_from(ExportRecord)) == 1
        assert db.scalar(select(func.count()).select_from(Question)) == 1
    # Every Web API call carried the bot token.
    assert all(
        c.headers.get("authorization") == "Bearer xoxb-test-token"
        for c in fake.calls
        if c.method not in ("upload", "response_url", "download")
    )
