"""担当変更 in chat: General Affairs moves an assigned item to another division,
with a reason that travels to the new division and tells the old one.

The real app over signed HTTP; what reached Slack is read from the fake, what
changed from the database.
"""

from __future__ import annotations

import json

from councilbot.adapters.slack import blocks
from councilbot.domain.workflow import State
from councilbot.services.common import get_question
from councilbot.storage.db import session_scope
from tests.slack_helpers import new_question

QUESTION = (
    "令和8年12月定例会 一般質問 16番 1-(1)-①\n避難所運営について\n避難所における女性や高齢者への配慮について伺う。"
)
REASON = "学校の体育館を避難所とする部分が中心のため、施設を所管する学校教育課で答弁します。"


def assigned_in_chat(bot, fake) -> tuple[str, str]:
    """A question posted, and assigned to 危機管理課 by General Affairs from the DM card: (key, card ts)."""
    bot.message("UGA1", QUESTION)
    bot.settle()
    card_ts = fake.posts("DUGA1")[-1][0]
    bot.click("UGA1", "DUGA1", card_ts, blocks.ASSIGN_OPEN)
    bot.settle()
    bot.submit("UGA1", bot.last_view(), {blocks.DEPARTMENT_BLOCK: "危機管理課", blocks.ANSWERER_BLOCK: "市長"})
    bot.settle()
    return "R8-12-16-1-1-1", card_ts


def owner(cfg, key) -> tuple[str, str, str, int, list[tuple[str, str | None]]]:
    with session_scope(cfg) as db:
        q = get_question(db, key)
        return q.responsible_department.name, q.answerer, q.status, q.version, [(s.action, s.comment) for s in q.stamps]


def test_general_affairs_reassigns_from_the_assignment_dm(bot, fake, slack_cfg):
    key, card_ts = assigned_in_chat(bot, fake)
    # The assignment DM, once decided, keeps a 担当変更 button.
    bot.click("UGA1", "DUGA1", card_ts, blocks.REASSIGN_OPEN)
    bot.settle()
    modal = bot.last_view()
    assert modal["callback_id"] == blocks.REASSIGN_VIEW and "現在の担当: 危機管理課・市長" in json.dumps(
        modal, ensure_ascii=False
    )
    answerer = next(b for b in modal["blocks"] if b.get("block_id") == blocks.ANSWERER_BLOCK)
    assert answerer["element"]["initial_option"]["value"] == "市長"  # an executive answerer is kept

    # No reason: refused in the modal, under the reason field, in Japanese; nothing changes.
    before = owner(slack_cfg, key)
    empty = bot.submit("UGA1", modal, {blocks.DEPARTMENT_BLOCK: "学校教育課", blocks.NOTE_BLOCK: "  "}, view_id="V7")
    assert empty.json() == {
        "response_action": "errors",
        "errors": {blocks.NOTE_BLOCK: "「担当変更」には理由（コメント）の入力が必要です。"},
    }
    assert owner(slack_cfg, key) == before

    # The same modal, corrected and submitted again.
    response = bot.submit(
        "UGA1", modal, {blocks.DEPARTMENT_BLOCK: "学校教育課", blocks.NOTE_BLOCK: REASON}, view_id="V7"
    )
    assert response.body == ""
    bot.settle()
    department, answerer_now, status, _, stamps = owner(slack_cfg, key)
    assert (department, answerer_now, status) == ("学校教育課", "市長", State.ASSIGNED)
    assert stamps[-1] == ("reassign", REASON)

    # The DM says what was done, and can be changed again.
    assert "学校教育課に担当変更しました" in fake.messages[("DUGA1", card_ts)]["text"]
    blocks_now = fake.messages[("DUGA1", card_ts)]["blocks"]
    assert any(
        e.get("action_id") == blocks.REASSIGN_OPEN for b in blocks_now if b["type"] == "actions" for e in b["elements"]
    )

    # The new division gets the item with where it came from and why, mentioning its drafter.
    new_post = fake.of("chat.postMessage", channel="C0GAKU")
    assert len(new_post) == 1
    assert (
        "<@UGK1>" in new_post[0].text
        and "危機管理課から学校教育課に変更されました" in new_post[0].text
        and REASON in new_post[0].text
    )
    # The old division is told it no longer has it, with the same reason.
    old_posts = fake.of("chat.postMessage", channel="C0KIKI")
    told = old_posts[-1]
    assert len(old_posts) == 2  # the assignment, then the change
    assert (
        "<@UKK1>" in told.text
        and "担当は、佐藤 花子さんにより危機管理課から学校教育課に変更されました" in told.text
        and REASON in told.text
    )


def test_reassignment_from_the_division_message_is_for_general_affairs_and_current_versions_only(bot, fake, slack_cfg):
    key = new_question(slack_cfg, assign_to="危機管理課", answer="お答えいたします。")  # drafting in 危機管理課
    with session_scope(slack_cfg) as db:
        q = get_question(db, key)
        fake.add_message("C0KIKI", "2.0", "割当", "UBOT")
        fake.messages[("C0KIKI", "2.0")]["blocks"] = blocks.assigned_post(q, ["UKK1"], []).blocks
    # The drafter can open the modal from the channel, but the change is refused there and then.
    bot.click("UKK1", "C0KIKI", "2.0", blocks.REASSIGN_OPEN)
    bot.settle()
    modal = bot.last_view()
    before = owner(slack_cfg, key)
    refused = bot.submit(
        "UKK1", modal, {blocks.DEPARTMENT_BLOCK: "学校教育課", blocks.NOTE_BLOCK: REASON}, view_id="V6"
    )
    assert refused.json()["errors"] == {
        blocks.DEPARTMENT_BLOCK: "高木 守さんには「担当変更」の権限がありません。総務課（議会担当）が行えます。"
    }
    assert owner(slack_cfg, key) == before

    # General Affairs changes it from the same message: the answer written so far goes with the item.
    bot.click("UGA1", "C0KIKI", "2.0", blocks.REASSIGN_OPEN)
    bot.settle()
    modal = bot.last_view()
    bot.submit(
        "UGA1",
        modal,
        {blocks.DEPARTMENT_BLOCK: "学校教育課", blocks.ANSWERER_BLOCK: "教育長", blocks.NOTE_BLOCK: REASON},
        view_id="V8",
    )
    bot.settle()
    department, answerer, status, _, _ = owner(slack_cfg, key)
    assert (department, answerer, status) == ("学校教育課", "教育長", State.ASSIGNED)
    assert "学校教育課に担当変更しました" in fake.messages[("C0KIKI", "2.0")]["text"]

    # A second submission of the first modal carries the version it was opened on: told to reload.
    stale = bot.submit("UGA1", modal, {blocks.DEPARTMENT_BLOCK: "総務課", blocks.NOTE_BLOCK: "再変更"}, view_id="V9")
    assert "読み込み直して" in stale.json()["errors"][blocks.DEPARTMENT_BLOCK]
    assert owner(slack_cfg, key)[0] == "学校教育課"


def test_the_choose_form_starts_on_the_cards_best_candidate(bot, fake, slack_cfg):
    bot.message("UGA1", QUESTION)
    bot.settle()
    card_ts, card = fake.posts("DUGA1")[-1]
    confirm = next(
        e
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == blocks.ASSIGN_CONFIRM
    )
    top = confirm["text"]["text"].removesuffix("に決定")
    bot.click("UGA1", "DUGA1", card_ts, blocks.ASSIGN_OPEN)
    bot.settle()
    modal = bot.last_view()
    department = next(b for b in modal["blocks"] if b.get("block_id") == blocks.DEPARTMENT_BLOCK)
    assert department["element"]["initial_option"]["value"] == top
    # Adding a related division is then the only choice to make.
    related = next(name for name in ("学校教育課", "危機管理課") if name != top)
    assert bot.submit("UGA1", modal, {blocks.RELATED_BLOCK: [related]}).body == ""
    bot.settle()
    with session_scope(slack_cfg) as db:
        q = get_question(db, "R8-12-16-1-1-1")
        assert q.responsible_department.name == top
        assert [d.name for d in q.related_departments] == [related]
