"""Questions registered from wherever staff see them, and the assignment card they lead to.

A message shortcut used in a private channel the bot was not invited to, or in
a DM, cannot be answered in the thread: the record goes to the person directly
and General Affairs is told all the same. The card's one-click assignment only
ever names a division of the current organisation, though past answers count
under the names divisions had when they gave them.
"""

from __future__ import annotations

import json

import pytest

from councilbot.adapters.slack import blocks
from councilbot.domain.workflow import State
from councilbot.services.archive import import_records
from councilbot.services.assignment import suggest
from councilbot.services.common import get_question
from councilbot.storage.db import session_scope
from councilbot.storage.models import Question
from tests.slack_helpers import count, find_element

QUESTION = (
    "令和8年12月定例会 一般質問 16番 1-(1)-①\n避難所運営について\n避難所における女性や高齢者への配慮について伺う。"
)


@pytest.mark.parametrize(("channel", "error"), [("G0PRIVATE", "not_in_channel"), ("D0OTHERS", "channel_not_found")])
def test_a_question_registered_where_the_bot_may_not_post_is_confirmed_directly_and_announced(
    bot, fake, slack_cfg, channel, error
):
    fake.add_message(channel, "1699999999.000100", QUESTION, "UKK1")
    fake.fail("chat.postMessage", error, channel=channel)
    bot.shortcut("UKK1", channel, "1699999999.000100")
    bot.settle()
    assert count(slack_cfg, Question) == 1
    (confirmation,) = fake.of("chat.postMessage", channel="DUKK1")
    assert "質問を登録しました。キーは `R8-12-16-1-1-1` です。" in confirmation.text
    (card,) = fake.of("chat.postMessage", channel="DUGA1")
    assert "担当課の候補" in card.text
    assert fake.of("response_url") == []

    # Registering the same message again says it is registered, and General Affairs is not told twice.
    bot.shortcut("UKK1", channel, "1699999999.000100")
    bot.settle()
    assert "登録済み" in fake.of("chat.postMessage", channel="DUKK1")[-1].text
    assert len(fake.of("chat.postMessage", channel="DUGA1")) == 1 and count(slack_cfg, Question) == 1


# Past answers on shelters, given when shelters belonged to a division that no longer exists.
FORMER = [
    {
        "ref": f"H30-{i}",
        "session": "平成30年6月定例会",
        "title": f"避難所運営について（{i}）",
        "question": "避難所における女性や高齢者への配慮について伺う。",
        "answer": f"避難所の運営につきましては、女性や高齢者の視点を取り入れてまいります（{i}）。",
        "department": "防災安全課",
        "answerer": "市長",
    }
    for i in range(1, 4)
]


def test_the_one_click_assignment_names_only_a_division_that_exists(bot, fake, slack_cfg):
    with session_scope(slack_cfg) as db:
        import_records(db, slack_cfg, FORMER)
    bot.message("UGA1", QUESTION)
    bot.settle()
    key = "R8-12-16-1-1-1"
    with session_scope(slack_cfg) as db:
        ranked = [s.department for s in suggest(db, slack_cfg, key)]
    # Suggestions are current divisions only; the former name's answers vote for the division that took them over.
    assert ranked[0] == "危機管理課" and "防災安全課" not in ranked

    card_ts, card = fake.posts("DUGA1")[-1]
    confirm = find_element(card["blocks"], blocks.ASSIGN_CONFIRM)
    assert (
        confirm["text"]["text"] == "危機管理課に決定"
        and blocks.parse_value(confirm["value"])["department"] == "危機管理課"
    )
    candidates = next(
        b["text"]["text"]
        for b in card["blocks"]
        if b["type"] == "section" and "担当課の候補" in b.get("text", {}).get("text", "")
    )
    assert "当時の担当: 防災安全課" in candidates and "`H30-1`" in candidates

    bot.click("UGA1", "DUGA1", card_ts, blocks.ASSIGN_CONFIRM)
    bot.settle()
    with session_scope(slack_cfg) as db:
        q = get_question(db, key)
        assert (q.status, q.responsible_department.name) == (State.ASSIGNED, "危機管理課")
    assert "危機管理課" in fake.of("chat.postMessage", channel="C0KIKI")[-1].text
    assert fake.of("response_url") == []


def test_a_long_pasted_question_is_carried_whole_through_the_modal(bot, fake, slack_cfg):
    # 3,500 characters of 質問要旨 and no seat: the shortcut opens the modal to ask for it.
    body = "".join(
        f"避難所における女性や高齢者への配慮について、第{i}の観点から現状と課題を伺う。" for i in range(1, 200)
    )[:3500]
    assert len(body) == 3500
    fake.add_message(
        "C0WORK", "1699999999.000200", f"令和8年12月定例会 一般質問 1-(1)-①\n避難所運営について\n{body}", "UGA1"
    )
    bot.shortcut("UGA1", "C0WORK", "1699999999.000200")
    bot.settle()
    view = bot.last_view()
    inputs = [b for b in view["blocks"] if b.get("type") == "input" and b["block_id"].startswith(blocks.QUESTION_BODY)]
    assert all(len(b["element"].get("initial_value", "")) <= 3000 for b in inputs)
    assert "".join(b["element"].get("initial_value", "") for b in inputs) == body  # nothing cut
    assert "分けて表示しています" in json.dumps(view, ensure_ascii=False)

    bot.submit("UGA1", view, {"seat": "16"})
    bot.settle()
    with session_scope(slack_cfg) as db:
        assert get_question(db, "R8-12-16-1-1-1").body == body
